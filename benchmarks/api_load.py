"""Load on the model service: N concurrent clients -> requests/s, p50/p95 latency, errors, memory.

Prints figures; asserts nothing. Three set-ups on this machine, one after the other:
    1 worker      python -m medcore serve --workers 1
    2 workers     python -m medcore serve --workers 2
    Ray Serve     a local Ray instance, 2 replicas per model (python -m medcore serve --ray)

Reproduce with:
    .venv/bin/python benchmarks/api_load.py                       (20 clients x 10 requests each)
    .venv/bin/python benchmarks/api_load.py --clients 40 --requests 5 --setups 1,2

Each client (asyncio + httpx, its own connection) sends its requests back to back, alternating
an image with Grad-CAM (``pneumonia-cxr?explain=true``, a real 224 px validation X-ray) and a
note (``symptom-text``). A request succeeds on a 200 with a result. Memory: the resident memory
of every process of the set-up (the server's process tree; for Ray every ``ray::`` / raylet /
gcs process), sampled every 0.25 s: after warm-up and the peak under load. The served models are
those the requests use (MEDCORE_MODELS_DIR of three bundles), so the figures are per model set.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from tests.appserver import free_port, start_server  # noqa: E402

MODELS = ("pneumonia-cxr", "image-modality", "symptom-text")
NOTE = "For three days I have had a high fever, a cough with yellow phlegm and pain in my chest when I breathe."


def xray_png(data_dir: Path) -> bytes:
    from PIL import Image

    with np.load(data_dir / "medmnist" / "pneumoniamnist_trainval.npz", allow_pickle=False) as archive:
        image = Image.fromarray(archive["val_images"][0]).resize((224, 224), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def one_client(base: str, requests: int, image: bytes, offset: int, latencies: list, errors: list) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for i in range(requests):
            started = time.perf_counter()
            try:
                if (i + offset) % 2 == 0:
                    response = await client.post(
                        "/v1/models/pneumonia-cxr/predict?explain=true", files=[("files", ("x.png", image))]
                    )
                    ok = response.status_code == 200 and "heatmap" in response.text
                else:
                    response = await client.post("/v1/models/symptom-text/predict", json={"texts": [NOTE]})
                    ok = response.status_code == 200 and "probabilities" in response.text
            except httpx.HTTPError as err:
                ok, response = False, err
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors.append(str(getattr(response, "status_code", response)))


def run_load(base: str, clients: int, requests: int, image: bytes) -> dict:
    latencies: list[float] = []
    errors: list[str] = []

    async def everyone():
        await asyncio.gather(*(one_client(base, requests, image, c, latencies, errors) for c in range(clients)))

    started = time.perf_counter()
    asyncio.run(everyone())
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / wall,
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "errors": len(errors),
    }


class Sampler(threading.Thread):
    """Peak resident memory (MB) of what ``measure()`` returns, every 0.25 s until stopped."""

    def __init__(self, measure):
        super().__init__(daemon=True)
        self.measure, self.peak, self.running = measure, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.measure())
            time.sleep(0.25)


def ray_rss_mb() -> float:
    """Resident memory of every Ray process on this machine (workers, raylet, gcs, serve actors)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ")
            if b"ray::" in command or b"raylet" in command or b"gcs_server" in command or b"ray/_private" in command:
                with open(f"/proc/{pid}/status") as handle:
                    total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def warm(base: str, image: bytes) -> None:
    """Every model used, once per worker or replica (a few rounds), before the clock starts."""
    run_load(base, 4, 4, image)


def measure_uvicorn(workers: int, clients: int, requests: int, image: bytes, env: dict) -> dict:
    server = start_server(service=True, env=env, timeout=300, extra_args=("--workers", str(workers)))
    try:
        warm(server.url, image)
        after_warm = server.rss_mb()
        sampler = Sampler(server.rss_mb)
        sampler.start()
        figures = run_load(server.url, clients, requests, image)
        sampler.running = False
        sampler.join()
        return {**figures, "memory_warm": after_warm, "memory_peak": max(sampler.peak, after_warm)}
    finally:
        server.stop()


def measure_ray(replicas: int, clients: int, requests: int, image: bytes, env: dict) -> dict:
    port = free_port()
    code = (
        "import ray\nfrom ray import serve\nfrom medcore.api.ray_app import build_app\n"
        "ray.init(num_cpus=2, include_dashboard=False, _system_config={'automatic_object_spilling_enabled': False})\n"
        f"serve.start(http_options={{'host': '127.0.0.1', 'port': {port}}})\n"
        "serve.run(build_app(), name='medcore', route_prefix='/')\nprint('deployed', flush=True)\n"
        "import time\nwhile True: time.sleep(3600)\n"
    )
    settings = {
        **env,
        "MEDCORE_SERVE_MODELS": ",".join(MODELS),
        "MEDCORE_RAY_MIN_REPLICAS": str(replicas),
        "MEDCORE_RAY_MAX_REPLICAS": str(replicas),
        "MEDCORE_RAY_REPLICA_CPUS": "0.25",
    }
    log = tempfile.NamedTemporaryFile(prefix="medcore-ray-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT, env={**os.environ, **settings}, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"Ray Serve did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(1)
        warm(base, image)
        after_warm = ray_rss_mb()
        sampler = Sampler(ray_rss_mb)
        sampler.start()
        figures = run_load(base, clients, requests, image)
        sampler.running = False
        sampler.join()
        return {**figures, "memory_warm": after_warm, "memory_peak": max(sampler.peak, after_warm)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)
        Path(log.name).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="per client")
    parser.add_argument("--setups", default="1,2,ray", help="comma-separated: 1, 2 (workers), ray")
    parser.add_argument("--data", default=os.environ.get("MEDCORE_DATA_DIR", str(PROJECT.parent / "shared" / "data")))
    args = parser.parse_args()
    image = xray_png(Path(args.data))
    models = Path(tempfile.mkdtemp(prefix="medcore-bench-models-"))
    for name in MODELS:
        (models / name).symlink_to(PROJECT / "models" / name)
    env = {"MEDCORE_MODELS_DIR": str(models), "MEDCORE_AUDIT_LOG": "off"}
    print(f"{args.clients} clients x {args.requests} requests (image with Grad-CAM / note, alternating)")
    print(f"{'set-up':<22} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'errors':>7} {'MB warm':>8} {'MB peak':>8}")
    for setup in args.setups.split(","):
        if setup == "ray":
            label, figures = "Ray Serve, 2 replicas", measure_ray(2, args.clients, args.requests, image, env)
        else:
            workers = int(setup)
            label = f"uvicorn, {workers} worker" + ("s" if workers > 1 else "")
            figures = measure_uvicorn(workers, args.clients, args.requests, image, env)
        print(
            f"{label:<22} {figures['per_s']:>7.1f} {figures['p50']:>7.2f} {figures['p95']:>7.2f} "
            f"{figures['errors']:>7d} {figures['memory_warm']:>8.0f} {figures['memory_peak']:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""The service on Ray Serve: a local Ray instance, one autoscaled deployment per model behind the
same FastAPI app. Skipped where Ray is not installed (requirements-serve.txt; CI installs it)."""

from __future__ import annotations

import httpx
import pytest

import medcore
from tests.appserver import free_port

ray = pytest.importorskip("ray", reason="Ray Serve is an optional extra: pip install -r requirements-serve.txt")
serve = pytest.importorskip("ray.serve")

pytestmark = pytest.mark.slow

DEPLOYED = ("symptom-text", "symptom-checklist")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance with Serve on a free loopback port, the two models deployed (2-3 replicas each)."""
    from medcore.api.ray_app import build_app

    patch = pytest.MonkeyPatch()
    patch.setenv("MEDCORE_SERVE_MODELS", ",".join(DEPLOYED))
    patch.setenv("MEDCORE_RAY_MIN_REPLICAS", "2")
    patch.setenv("MEDCORE_RAY_MAX_REPLICAS", "3")
    patch.setenv("MEDCORE_RAY_REPLICA_CPUS", "0.25")
    ray.init(num_cpus=2, include_dashboard=False, _system_config={"automatic_object_spilling_enabled": False})
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(), name="medcore", route_prefix="/")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()
        patch.undo()


def test_each_model_is_its_own_autoscaled_deployment(cluster):
    deployments = serve.status().applications["medcore"].deployments
    assert set(deployments) == {"Gateway", *(f"model-{name}" for name in DEPLOYED)}
    for name in DEPLOYED:  # MEDCORE_RAY_MIN_REPLICAS=2 reached each model's deployment
        assert deployments[f"model-{name}"].replica_states == {"RUNNING": 2}
    ready = httpx.get(f"{cluster}/readyz").json()
    assert ready["ready"] and ready["models"] == sorted(DEPLOYED)
    assert "not deployed" in ready["unavailable"]["pneumonia-cxr"]


def test_predictions_on_ray_match_the_in_process_model(cluster):
    text = "My skin itches and there are red patches on my elbows"
    (row,) = httpx.post(f"{cluster}/v1/models/symptom-text/predict", json={"texts": [text]}, timeout=60).json()[
        "results"
    ]
    model = medcore.load_model("symptom-text")
    assert [row["probabilities"][label] for label in model.labels] == pytest.approx(
        model.predict_proba([text])[0], abs=1e-6
    )
    answer = httpx.post(f"{cluster}/v1/models/symptom-checklist/predict", json={"symptoms": [["itching"]]}).json()
    assert answer["results"][0]["differential"] == medcore.load_model("symptom-checklist").differential(["itching"])


def test_errors_on_ray_are_the_same_json_without_a_ray_traceback(cluster):
    bad = httpx.post(f"{cluster}/v1/models/symptom-checklist/predict", json={"symptoms": [["no_such_symptom"]]})
    assert bad.status_code == 422 and "Traceback" not in bad.text and "RayTaskError" not in bad.text
    assert "no_such_symptom" in bad.json()["error"]
    missing = httpx.post(f"{cluster}/v1/models/pneumonia-cxr/predict", files=[("files", ("a.png", b"x"))])
    assert missing.status_code == 503 and "not deployed" in missing.json()["error"]
    assert httpx.get(f"{cluster}/v1/models/nope").status_code == 404


def test_settings_come_from_the_environment_and_refuse_nonsense(monkeypatch):
    from medcore.api.ray_app import settings

    monkeypatch.setenv("MEDCORE_SERVE_MODELS", "symptom-text")
    monkeypatch.setenv("MEDCORE_RAY_MIN_REPLICAS", "0")
    monkeypatch.setenv("MEDCORE_RAY_MAX_REPLICAS", "4")
    config = settings()
    assert config["models"] == ["symptom-text"] and (config["min_replicas"], config["max_replicas"]) == (0, 4)
    monkeypatch.setenv("MEDCORE_RAY_MIN_REPLICAS", "5")
    with pytest.raises(medcore.InvalidInputError, match="min"):
        settings()
    monkeypatch.setenv("MEDCORE_SERVE_MODELS", "symptom-text,nope")
    with pytest.raises(medcore.InvalidInputError, match="nope"):
        settings()

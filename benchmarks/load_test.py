"""Load test: many concurrent browser-less sessions against a real `streamlit run app.py`.

Prints figures; asserts nothing (tests/test_load.py asserts on the same run, smaller).
Reproduce with:
    .venv/bin/python benchmarks/load_test.py                  (20 sessions x 5 requests per page)
    .venv/bin/python benchmarks/load_test.py --sessions 40 --requests 3

Each session speaks Streamlit's own websocket protocol (``/_stcore/stream``, protobuf BackMsg
out, ForwardMsg in), as the browser frontend does, over loopback only:

1. GET ``/_stcore/health`` for the ``_streamlit_xsrf`` cookie; open the websocket with the
   subprotocols ``["streamlit", <xsrf token>]`` and the cookie.
2. Open a page: a ``rerun_script`` BackMsg whose ClientState names the page; the deltas of that
   first run carry each widget's element id (selectbox, file uploader, text area).
3. Image page request: ``file_urls_request`` BackMsg -> ``file_urls_response`` ForwardMsg with
   an upload URL; multipart PUT of a PNG to ``/_stcore/upload_file/<session>/<file>`` (header
   ``X-Xsrftoken``); a ``rerun_script`` whose widget states hold the chest X-ray selectbox
   value and a ``file_uploader_state_value`` naming the uploaded file; after the result the
   file is DELETEd, as when a user removes it. Text page request: a ``rerun_script`` whose
   widget states hold the note in the text area.
4. A request is done at the ``script_finished`` ForwardMsg; it counts as a success only if the
   run finished successfully, shows its result (image: the probability chart, the Grad-CAM
   chart and the "Result:" line; text: the ranked-diagnoses chart and the highlighted words)
   and no exception or error element.

Memory: the server's process tree VmRSS is sampled every 0.25 s (peak), after a one-session
warm-up (every model used is loaded then) and at the end, after every session has closed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import requests  # noqa: E402
import websockets  # noqa: E402
from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ClientState_pb2 import ClientState  # noqa: E402
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo  # noqa: E402
from streamlit.proto.Element_pb2 import Element  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates  # noqa: E402

from tests.appserver import running_server, tree_rss_mb  # noqa: E402

IMAGE_PAGE = "Image_Diagnosis"
TEXT_PAGE = "Record_Classification"
NOTES = [
    "I have had an itchy red rash with dry scaly patches on my elbows for weeks.",
    "High fever with chills and shivering every evening, sweating at night and a headache.",
    "It burns when I urinate, I need to go all the time and my lower belly hurts.",
    "My joints are stiff and swollen in the morning, especially the knees and fingers.",
    "Persistent cough with yellow phlegm, chest tightness and shortness of breath.",
]
RUN_TIMEOUT_S = 300.0  # one script run; generous: 2 loaded CPU cores may serve 40 runs at once


class ProtocolError(RuntimeError):
    """The server answered something a browser would not accept (or nothing in time)."""


@dataclass
class RunResult:
    """One script run as the browser would see it: the elements drawn and how it ended."""

    status: int
    elements: dict[tuple[int, ...], Element]

    def kinds(self, kind: str) -> list[Element]:
        """The elements of one kind (``"plotly_chart"``, ``"markdown"``, ...) in delta-path order."""
        return [self.elements[path] for path in sorted(self.elements) if self.elements[path].WhichOneof("type") == kind]

    def widget(self, kind: str, label: str) -> Element:
        """The widget element of ``kind`` whose label starts with ``label`` (raises ProtocolError if absent)."""
        for element in self.kinds(kind):
            if getattr(element, kind).label.startswith(label):
                return element
        raise ProtocolError(f"no {kind} labelled {label!r} in the page")

    def problems(self) -> list[str]:
        """What a user would see as a failure: an unfinished run, exceptions, error boxes."""
        found = []
        if self.status != ForwardMsg.FINISHED_SUCCESSFULLY:
            found.append(f"script finished with status {self.status}")
        found += [f"exception: {e.exception.type}: {e.exception.message}" for e in self.kinds("exception")]
        found += [f"error: {e.alert.body}" for e in self.kinds("alert") if e.alert.format == Alert.ERROR]
        return found


class BrowserlessSession:
    """One app session over Streamlit's websocket protocol, driven like the frontend drives it."""

    def __init__(self, url: str, executor: ThreadPoolExecutor) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only: never through a proxy
        # A fresh connection per request: a pooled one idles past uvicorn's 5 s keep-alive while
        # a script runs, and a PUT sent as the server closes it fails with "connection reset"
        # (browsers silently retry that case; this client would count it as an app error).
        self.http.headers["Connection"] = "close"
        self._executor = executor
        self._ws: websockets.ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._xsrf = ""
        self._run: asyncio.Future[RunResult] | None = None
        self._elements: dict[tuple[int, ...], Element] = {}
        self._file_urls: dict[str, asyncio.Future[list[FileURLs]]] = {}
        self.session_id = ""

    async def _http(self, method: str, path: str, **kwargs) -> requests.Response:
        call = getattr(self.http, method)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: call(f"{self.url}{path}", timeout=60, **kwargs))

    async def connect(self) -> None:
        """Fetch the XSRF cookie and open the websocket (no script runs until a page is opened)."""
        response = await self._http("get", "/_stcore/health")
        response.raise_for_status()
        self._xsrf = self.http.cookies.get("_streamlit_xsrf") or ""
        self._ws = await websockets.connect(
            self.url.replace("http://", "ws://") + "/_stcore/stream",
            subprotocols=["streamlit", self._xsrf] if self._xsrf else ["streamlit"],  # type: ignore[list-item]
            additional_headers={"Cookie": f"_streamlit_xsrf={self._xsrf}"},
            origin=self.url,  # type: ignore[arg-type]
            max_size=None,
            proxy=None,
            open_timeout=60,
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        """Close the websocket (the server keeps the session for its disconnected-session TTL)."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.http.close()

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)  # type: ignore[arg-type]
                self._dispatch(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            error = ProtocolError("the websocket closed")
            for future in [self._run, *self._file_urls.values()]:
                if future is not None and not future.done():
                    future.set_exception(error)

    def _dispatch(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            if msg.new_session.HasField("initialize"):
                self.session_id = msg.new_session.initialize.session_id
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._elements[tuple(msg.metadata.delta_path)] = msg.delta.new_element
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self._elements = {}  # the script asked for a rerun (st.rerun): the answer comes with that run
            elif self._run is not None and not self._run.done():
                self._run.set_result(RunResult(msg.script_finished, dict(self._elements)))
        elif kind == "file_urls_response":
            future = self._file_urls.get(msg.file_urls_response.response_id)
            if future is not None and not future.done():
                if msg.file_urls_response.error_msg:
                    future.set_exception(ProtocolError(msg.file_urls_response.error_msg))
                else:
                    future.set_result(list(msg.file_urls_response.file_urls))

    async def _send(self, msg: BackMsg) -> None:
        assert self._ws is not None, "connect() first"
        await self._ws.send(msg.SerializeToString())

    async def run(self, page: str, widgets: Sequence[WidgetState] = ()) -> RunResult:
        """Rerun ``page`` with these widget states; the run's elements once ``script_finished`` arrives."""
        self._elements = {}
        self._run = asyncio.get_running_loop().create_future()
        state = ClientState(page_name=page, widget_states=WidgetStates(widgets=list(widgets)))
        await self._send(BackMsg(rerun_script=state))
        try:
            return await asyncio.wait_for(self._run, RUN_TIMEOUT_S)
        except TimeoutError as err:
            raise ProtocolError(f"no script_finished within {RUN_TIMEOUT_S:.0f} s") from err

    async def upload(self, name: str, data: bytes, mime: str) -> UploadedFileInfo:
        """Upload one file as the file uploader does: ask for URLs over the websocket, then PUT it."""
        request_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = future
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.append(name)
        await self._send(msg)
        try:
            (urls,) = await asyncio.wait_for(future, RUN_TIMEOUT_S)
        finally:
            del self._file_urls[request_id]
        response = await self._http(
            "put", urls.upload_url, files={"file": (name, data, mime)}, headers={"X-Xsrftoken": self._xsrf}
        )
        if response.status_code != 204:
            raise ProtocolError(f"upload answered HTTP {response.status_code}: {response.text[:200]}")
        return UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls)

    async def delete(self, info: UploadedFileInfo) -> None:
        """Remove an uploaded file from the server, as the uploader's remove button does."""
        response = await self._http("delete", info.file_urls.delete_url, headers={"X-Xsrftoken": self._xsrf})
        if response.status_code != 204:
            raise ProtocolError(f"delete answered HTTP {response.status_code}")


@functools.cache
def _xrays() -> list[bytes]:
    """Real chest X-rays (Kermany JPEGs at 224 px, every 26th file) from MEDCORE_DATA_DIR: the model refuses
    anything that is not one, so a load test needs real ones."""
    folder = Path(os.environ.get("MEDCORE_DATA_DIR", "")) / "chest_xray"
    files = sorted(folder.glob("*/*.jp*g"))[::26]
    if not files:
        raise ProtocolError(f"no chest X-rays in {folder}: set MEDCORE_DATA_DIR to the shared data folder")
    return [file.read_bytes() for file in files]


def _png(seed: int) -> bytes:
    """A real chest X-ray as a PNG, a different one for each seed (cycling through the files)."""
    from PIL import Image

    files = _xrays()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(files[seed % len(files)])).convert("L").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Outcome:
    """What every session saw: latencies per page, errors, and which sessions got every result."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {IMAGE_PAGE: [], TEXT_PAGE: []})
    errors: list[str] = field(default_factory=list)
    complete_sessions: int = 0


async def _image_request(session: BrowserlessSession, page: RunResult, seed: int) -> None:
    # No model choice: the page recognises the chest X-ray and preselects its model, as for a user.
    uploader = page.widget("file_uploader", "Upload one or more images").file_uploader
    info = await session.upload(f"chest-{seed}.png", _png(seed), "image/png")
    files = WidgetState(id=uploader.id)
    files.file_uploader_state_value.uploaded_file_info.append(info)
    result = await session.run(IMAGE_PAGE, [files])
    await session.delete(info)
    problems = result.problems()
    charts = result.kinds("plotly_chart")
    if len(charts) < 2:
        problems.append(f"{len(charts)} charts instead of the probability bars and the Grad-CAM overlay")
    if not any(m.markdown.body.startswith("**Result:") for m in result.kinds("markdown")):
        problems.append("no 'Result:' line")
    if problems:
        raise ProtocolError("; ".join(problems))


async def _text_request(session: BrowserlessSession, page: RunResult, note: str) -> None:
    area = page.widget("text_area", "Paste a clinical text (an abstract or a report)").text_area
    analyse = page.widget("button", "Analyse").button  # the form's submit button: the note and the press go together
    result = await session.run(
        TEXT_PAGE, [WidgetState(id=area.id, string_value=note), WidgetState(id=analyse.id, trigger_value=True)]
    )
    problems = result.problems()
    if not result.kinds("plotly_chart"):
        problems.append("no ranked-diagnoses chart")
    if not result.kinds("html"):
        problems.append("no highlighted words")
    if problems:
        raise ProtocolError("; ".join(problems))


async def _one_session(
    url: str, index: int, requests_per_page: int, outcome: Outcome, executor: ThreadPoolExecutor
) -> None:
    """Open the image page, make its requests, then the text page and its requests."""
    session = BrowserlessSession(url, executor)
    done = 0
    try:
        await session.connect()
        plan: list[tuple[str, Callable[[RunResult, int], Awaitable[None]]]] = [
            (IMAGE_PAGE, lambda page, n: _image_request(session, page, seed=index * 1000 + n)),
            (TEXT_PAGE, lambda page, n: _text_request(session, page, note=NOTES[(index + n) % len(NOTES)])),
        ]
        for page_name, request in plan:
            page = await session.run(page_name)  # the first run, with no widget state: find the widgets
            if page.problems():
                raise ProtocolError(f"opening {page_name}: {'; '.join(page.problems())}")
            for number in range(requests_per_page):
                started = time.perf_counter()
                try:
                    await request(page, number)
                except (ProtocolError, OSError, websockets.WebSocketException) as err:
                    outcome.errors.append(f"session {index} {page_name} request {number}: {err}")
                    continue
                outcome.latencies[page_name].append(time.perf_counter() - started)
                done += 1
    except (ProtocolError, OSError, websockets.WebSocketException) as err:
        outcome.errors.append(f"session {index}: {type(err).__name__}: {err}")
    finally:
        await session.close()
    if done == 2 * requests_per_page:
        outcome.complete_sessions += 1


async def _drive(url: str, sessions: int, requests_per_page: int, first_index: int = 0) -> Outcome:
    outcome = Outcome()
    with ThreadPoolExecutor(max_workers=max(4, sessions), thread_name_prefix="load-http") as executor:
        await asyncio.gather(
            *(_one_session(url, first_index + i, requests_per_page, outcome, executor) for i in range(sessions))
        )
    return outcome


class RssSampler:
    """Samples a process tree's VmRSS in a background thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> float:
        """The current RSS in MB (also counted towards the peak)."""
        value = tree_rss_mb(self.pid)
        self.peak_mb = max(self.peak_mb, value)
        return value

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class LoadReport:
    """Every figure of one load run (``main`` prints them; tests/test_load.py asserts on them)."""

    sessions: int
    requests_per_page: int
    latencies: dict[str, list[float]]
    errors: list[str]
    complete_sessions: int
    wall_s: float
    rss_start_mb: float
    rss_warm_mb: float
    rss_peak_mb: float
    rss_end_mb: float
    audit_records: int | None = None
    audit_invalid_lines: int | None = None

    @property
    def requests_done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def lines(self) -> list[str]:
        """The report as printed lines."""
        total = self.sessions * self.requests_per_page * 2
        out = [
            f"load: {self.sessions} concurrent sessions x {self.requests_per_page} requests per page "
            f"(image: PNG upload -> prediction + Grad-CAM; text: note -> ranked diagnoses), loopback websocket",
            f"requests: {self.requests_done}/{total} completed, errors: {len(self.errors)}, "
            f"sessions with every result: {self.complete_sessions}/{self.sessions}",
        ]
        everything = [x for v in self.latencies.values() for x in v]
        for name, values in [*self.latencies.items(), ("all", everything)]:
            out.append(
                f"latency {name:<22} p50 {_percentile(values, 50):6.2f} s   p95 {_percentile(values, 95):6.2f} s   "
                f"max {max(values, default=float('nan')):6.2f} s   (n={len(values)})"
            )
        out.append(f"wall time of the load: {self.wall_s:.1f} s ({self.requests_done / self.wall_s:.2f} requests/s)")
        out.append(
            f"server RSS: started {self.rss_start_mb:.0f} MB; after warm-up {self.rss_warm_mb:.0f} MB; "
            f"peak during load {self.rss_peak_mb:.0f} MB; at the end {self.rss_end_mb:.0f} MB "
            f"(growth after warm-up {self.rss_end_mb - self.rss_warm_mb:+.0f} MB)"
        )
        if self.audit_records is not None:
            out.append(f"audit log: {self.audit_records} records, {self.audit_invalid_lines} invalid lines")
        out += [f"error: {e}" for e in self.errors[:20]]
        return out


def _audit_counts(path: Path) -> tuple[int, int]:
    """(valid JSON-object lines, invalid lines) of an audit log."""
    valid = invalid = 0
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                valid += isinstance(json.loads(line), dict)
            except ValueError:
                invalid += 1
    return valid, invalid


def run_load(
    url: str,
    pid: int,
    sessions: int = 20,
    requests_per_page: int = 5,
    audit_log: Path | None = None,
    settle_s: float = 2.0,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Warm up with one session, then drive ``sessions`` concurrent sessions against a running server.

    Args:
        url: the server's base URL (loopback).
        pid: the server's process id, for its memory.
        sessions: concurrent sessions.
        requests_per_page: requests each session makes on the image page and on the text page.
        audit_log: the server's audit log file, to count and validate its records after the run.
        settle_s: seconds to wait after warm-up and after the load before reading memory.
        progress: called with a line at each stage (e.g. ``print``).
    """
    say = progress or (lambda line: None)
    with RssSampler(pid) as sampler:
        rss_start = sampler.sample()
        say(f"server RSS before warm-up: {rss_start:.0f} MB; warming up (one session loads every model used)")
        warm = asyncio.run(_drive(url, 1, 1, first_index=10_000))
        if warm.errors:
            raise ProtocolError(f"warm-up failed: {warm.errors}")
        time.sleep(settle_s)
        rss_warm = sampler.sample()
        sampler.peak_mb = rss_warm
        say(f"server RSS after warm-up: {rss_warm:.0f} MB; starting {sessions} sessions")
        started = time.perf_counter()
        outcome = asyncio.run(_drive(url, sessions, requests_per_page))
        wall = time.perf_counter() - started
        time.sleep(settle_s)
        rss_end = sampler.sample()
    valid = invalid = None
    if audit_log is not None:
        valid, invalid = _audit_counts(audit_log)
    return LoadReport(
        sessions=sessions,
        requests_per_page=requests_per_page,
        latencies=outcome.latencies,
        errors=outcome.errors,
        complete_sessions=outcome.complete_sessions,
        wall_s=wall,
        rss_start_mb=rss_start,
        rss_warm_mb=rss_warm,
        rss_peak_mb=sampler.peak_mb,
        rss_end_mb=rss_end,
        audit_records=valid,
        audit_invalid_lines=invalid,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--requests", type=int, default=5, help="requests per session on each page (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medcore-load-") as scratch:
        audit = Path(scratch, "audit.jsonl")
        with running_server(env={"MEDCORE_AUDIT_LOG": str(audit)}, timeout=120) as server:
            print(f"server: {server.url} (pid {server.pid}), {os.cpu_count()} CPU cores")
            report = run_load(server.url, server.pid, args.sessions, args.requests, audit_log=audit, progress=print)
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()

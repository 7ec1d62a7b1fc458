"""Start the app with `streamlit run app.py` on a loopback port, wait until it is healthy, stop it.

One helper for every test and benchmark that needs a real server (tests/test_browser.py,
tests/test_load.py, tests/test_restart.py, tests/api/, benchmarks/app_speed.py,
benchmarks/load_test.py, benchmarks/api_load.py); ``service=True`` starts the model service:

    with running_server() as server:
        ...  # server.url, server.port, server.pid, server.rss_mb()

The server listens on 127.0.0.1 only, runs headless without a file watcher or usage
statistics, and writes its output to a log file (``server.log_tail()`` on failure), never to
an unread pipe that could fill up and block it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "PROJECT",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "AppServer",
    "ServerStartError",
    "free_port",
    "start_server",
    "running_server",
    "tree_rss_mb",
]

PROJECT = Path(__file__).resolve().parent.parent
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
# Debian's Chromium and the flags that keep it off this machine's closed network (README of env).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ServerStartError(RuntimeError):
    """The server exited or did not answer /_stcore/health in time (the message has its log tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children list), [] if it is gone."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` and all its descendants, in MB (Linux /proc); 0 if gone."""
    total_kb, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
        stack.extend(_children(current))
    return total_kb / 1024


@dataclass
class AppServer:
    """A running `streamlit run app.py` process and where it listens."""

    process: subprocess.Popen
    port: int
    log_path: Path
    _log_handle: IO[bytes] | None = field(repr=False, default=None)
    _owns_log: bool = field(repr=False, default=False)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8765``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def rss_mb(self) -> float:
        """Resident memory of the server's process tree, in MB."""
        return tree_rss_mb(self.pid)

    def log_tail(self, chars: int = 2000) -> str:
        """The last ``chars`` characters of the server's output."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server (no clean shutdown, as in a crash) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()

    def stop(self, timeout: float = 10) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._owns_log:  # a temp log of our own: gone with the server
            self.log_path.unlink(missing_ok=True)


def _healthy(url: str, path: str = "/_stcore/health") -> bool:
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(
    port: int | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    poll_interval: float = 0.3,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    service: bool = False,
) -> AppServer:
    """Start `streamlit run app.py` (or, with ``service``, `python -m medcore serve`) from the project
    folder and wait for /_stcore/health (the service: /readyz, every model loaded).

    Args:
        port: the port to listen on (a free one when None; pass the old one to restart).
        env: extra environment variables on top of this process's (TensorFlow is quietened).
        timeout: seconds to wait for a healthy answer.
        poll_interval: seconds between health polls.
        log_path: where the server's stdout and stderr go, appended to (so a restarted server
            can share its predecessor's log); when None, a temp file removed when the server stops.
        extra_args: more ``streamlit run`` options, e.g. ``("--server.maxUploadSize", "10")``
            (``serve`` options for the service, e.g. ``("--workers", "2")``).
        service: start the model service instead of the app.

    Returns:
        The running server.

    Raises:
        ServerStartError: the process exited or stayed unhealthy for ``timeout`` seconds
            (it is killed first; the message ends with its log tail).
    """
    port = port or free_port()
    owns_log = log_path is None
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="medcore-streamlit-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    log = open(log_path, "ab")  # closed by AppServer.stop / kill
    command = (
        [sys.executable, "-m", "medcore", "serve", "--port", str(port), *extra_args]
        if service
        else [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
            *extra_args,
        ]
    )
    health = "/readyz" if service else "/_stcore/health"
    process = subprocess.Popen(
        command, cwd=PROJECT, env={**os.environ, **QUIET_TF, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    server = AppServer(process=process, port=port, log_path=log_path, _log_handle=log, _owns_log=owns_log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise ServerStartError(f"the app exited with code {process.returncode}: {tail}")
        if _healthy(server.url, health):
            return server
        time.sleep(poll_interval)
    tail = server.log_tail()
    server.stop(timeout=1)
    raise ServerStartError(f"the server did not answer {health} within {timeout:.0f} s: {tail}")


@contextmanager
def running_server(port: int | None = None, **options) -> Iterator[AppServer]:
    """``start_server(port, **options)`` as a context manager that always stops the server."""
    server = start_server(port, **options)
    try:
        yield server
    finally:
        server.stop()

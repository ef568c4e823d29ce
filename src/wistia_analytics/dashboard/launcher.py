"""Start the dashboard: `streamlit run app.py` in a child process, reading the lake at `lake_uri`.

`run_dashboard` is the whole life of a served dashboard for the commands: the port is checked first (a busy
port is a one-line error, never a Streamlit child that prints "Port 8501 is not available" and exits 0), then
the child is started and served until Ctrl-C, SIGTERM or SIGHUP, each of which stops the child too: it is
never left behind serving on its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from wistia_analytics.errors import ConfigurationError, ExitCode, UnavailableError

APP = Path(__file__).with_name("app.py")
HEALTH_PATH = "/_stcore/health"


class DashboardStartError(UnavailableError, RuntimeError):
    """The server exited or did not answer its health check in time (exit 4)."""


class DashboardAddressError(DashboardStartError, ConfigurationError):
    """The host/port cannot be listened on (in use, or not an address of this machine): pick another (exit 2)."""

    exit_code = ExitCode.CONFIG


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived while serving (raised in the main thread by `stopping_on_signals`)."""


def _absolute_lake(lake_uri: str) -> str:
    """A local lake path made absolute (the child may not share our idea of `.`); URLs unchanged."""
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        return lake_uri
    return str(Path(lake_uri.removeprefix("file://")).expanduser().resolve())


def command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.runOnSave",
        "false",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "viewer",
    ]


def url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/"


def wait_healthy(proc: subprocess.Popen[bytes], host: str, port: int, timeout: float = 60.0) -> None:
    """Poll Streamlit's health endpoint until it answers 200; raise if the process exits or time runs out."""
    health = url(host, port).rstrip("/") + HEALTH_PATH
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DashboardStartError(f"the dashboard exited with code {proc.returncode} before answering {health}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise DashboardStartError(f"the dashboard did not answer {health} within {timeout:.0f} s")


def check_port_free(host: str, port: int) -> None:
    """Raise `DashboardAddressError` unless `host:port` can be listened on right now (nothing is bound)."""
    try:
        infos = socket.getaddrinfo(host or "0.0.0.0", port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise DashboardAddressError(f"cannot listen on {host}:{port}: unknown host; pass --host 127.0.0.1") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit does: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DashboardAddressError(
                    f"port {port} on {host} is already in use: stop what serves there, or pass --port with a free port"
                ) from None
            raise DashboardAddressError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Stopped` in the main thread (so `finally` stops children)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate the child and reap it (kill it if it does not exit within `timeout`)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_dashboard(host: str, port: int, lake_uri: str, *, on_ready: Callable[[str], None]) -> int:
    """Serve the dashboard until it is stopped; `on_ready(url)` once it answers. 0 when stopped on request.

    A busy port is refused before anything starts (`DashboardAddressError`); a server that dies on its own
    raises `DashboardStartError` with its exit code. The child never outlives this call.
    """
    check_port_free(host, port)
    with stopping_on_signals():
        try:
            proc = serve(host, port, lake_uri)
            try:
                on_ready(url(host, port))
                code = proc.wait()
            finally:
                stop(proc)
        except (KeyboardInterrupt, Stopped):
            return int(ExitCode.OK)
    if code != 0:
        raise DashboardStartError(f"the dashboard server exited with code {code}")
    return int(ExitCode.OK)


def serve(host: str, port: int, lake_uri: str, *, wait: bool = True, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    """Start the dashboard on host:port over the lake at `lake_uri`; with `wait`, return once it is healthy.

    The caller owns the process: `proc.terminate()` then `proc.wait()` to stop it (or `proc.wait()` to serve
    until interrupted).
    """
    env = {**os.environ, "LAKE_URI": _absolute_lake(lake_uri), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen(command(host, port), env=env)  # noqa: S603 - fixed argv, our own interpreter
    if wait:
        try:
            wait_healthy(proc, host, port, timeout)
        except BaseException:
            stop(proc)
            raise
    return proc

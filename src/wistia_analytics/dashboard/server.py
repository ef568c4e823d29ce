"""Start the dashboard: `streamlit run app.py` in a child process, reading the lake at `lake_uri`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

APP = Path(__file__).with_name("app.py")
HEALTH_PATH = "/_stcore/health"


class DashboardStartError(RuntimeError):
    """The server exited or did not answer its health check in time."""


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
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    return proc

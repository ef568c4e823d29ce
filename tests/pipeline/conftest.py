"""Fixtures for scheduling and alerting: a real webhook receiver and the CLI run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from wistia_analytics.crashpoints import ENV as CRASH_ENV
from wistia_analytics.lake.runs import RunRecord, latest_runs
from wistia_analytics.lake.storage import Storage
from wistia_analytics.sandbox import Sandbox

TODAY = "2026-11-25"  # the tiny sandbox's pinned date (tests/conftest.py)
# A Slack-style URL whose path is the secret; it must never show up in any output.
WEBHOOK_PATH = "/services/T0000/B0000/hooksecret9c2f"


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with queued statuses (then 200)."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture()
def webhook() -> Iterator[Receiver]:
    lock = threading.Lock()
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                receiver.paths.append(self.path)
                receiver.content_types.append(self.headers.get("Content-Type", ""))
                receiver.posts.append(json.loads(body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{WEBHOOK_PATH}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def cli_env(lake: Path, sandbox: Sandbox, **settings: str) -> dict[str, str]:
    """The environment of a user pointing the CLI at a sandbox; inherited settings are dropped."""
    own = ("WISTIA_", "LAKE_URI", "ALERT_", "LOG_FORMAT", "INGEST_", "SANDBOX_", CRASH_ENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return env | {
        "WISTIA_API_URL": sandbox.base_url,
        "WISTIA_API_TOKEN": sandbox.token,
        "WISTIA_REQUESTS_PER_MINUTE": "100000",  # a local sandbox: pacing would only slow the test
        "LAKE_URI": str(lake),
        "COLUMNS": "200",
        **settings,
    }


def cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wistia_analytics", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,  # no stray .env file
        timeout=180,
    )


def runs_oldest_first(lake: Path) -> list[RunRecord]:
    return sorted(latest_runs(Storage.from_uri(str(lake)), 100), key=lambda r: r.started_at)


def tick_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "] tick " in line]

"""The sandbox's HTTP layer: a threaded HTTP/1.1 server with rate limiting and fault injection.

The standard library server is enough here and gives the control the faults need (cut a body, drop a
connection, stall past the client's timeout) without a framework in the way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wistia_analytics.sandbox.clock import SandboxClock
from wistia_analytics.sandbox.config import SandboxConfig
from wistia_analytics.sandbox.faults import FaultPlan
from wistia_analytics.sandbox.modern import UNAVAILABLE, VERSION_HEADER, resolve_version
from wistia_analytics.sandbox.ratelimit import SlidingWindowLimiter
from wistia_analytics.sandbox.routes import Response, Routes, json_response
from wistia_analytics.sandbox.truth import SyntheticAccount

log = logging.getLogger("wistia_analytics.sandbox")
CONTROL_PREFIX = "/_sandbox/"


@dataclass
class ServerStats:
    """Counters the tests and benchmarks read from `/_sandbox/stats`."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1

    def count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "throttled": self.throttled,
            }


class SandboxApp:
    """Everything a request needs: config, clock, account, limiter, faults, counters."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config)
        self.account = SyntheticAccount(config)
        self.routes = Routes(config, self.account, self.clock)
        self.limiter = SlidingWindowLimiter(config.rate_limit_per_minute)
        self.faults = FaultPlan(config.faults, config.fault_kinds, config.seed)
        self.stats = ServerStats()

    def control(self, path: str) -> Response:
        """Unauthenticated helpers for tests and tools; not part of Wistia's API."""
        if path == "/_sandbox/health":
            return json_response(200, {"status": "ok"})
        if path == "/_sandbox/stats":
            body = self.stats.as_json() | {"faults": self.faults.counts()}
            if self.routes.bad_input.active:
                body["bad_input"] = self.routes.bad_input.stats()
            return json_response(200, body)
        return json_response(404, {"error": "unknown sandbox control path"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        if parts.path.startswith(CONTROL_PREFIX):
            self._send(app.control(parts.path))
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        app.clock.on_request()
        retry_after = app.limiter.check(_limiter_key(headers, query))
        if retry_after is not None:
            app.stats.count_throttled()
            status = app.config.rate_limit_status
            self._send(Response(status, b"Rate limit exceeded", "text/plain", {"Retry-After": str(retry_after)}))
            return
        fault = app.faults.next(parts.path)
        if fault is not None:
            log.info("injecting fault %s on %s", fault, parts.path)
            if self._fault(fault, method, parts.path, query, headers):
                return
        self._send(app.routes.dispatch(method, parts.path, query, headers))

    def _fault(self, kind: str, method: str, path: str, query: Any, headers: dict[str, str]) -> bool:
        """Apply a fault; True when the request is fully handled (no normal response follows)."""
        app = self.server.app
        if kind == "http_500":
            self._send(json_response(500, {"error": "Internal server error"}))
        elif kind == "http_502":
            self._send(Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"))
        elif kind == "analytics_503" and app.routes.modern.handles(path):
            self._send(json_response(503, {"error": UNAVAILABLE}))  # no Retry-After, as Wistia's analytics
        elif kind in ("http_503", "analytics_503"):  # analytics_503 on a v1 path: a plain 503
            retry_after = {"Retry-After": str(app.config.fault_retry_after_seconds)}
            self._send(Response(503, b"Service Unavailable", "text/plain", retry_after))
        elif kind == "http_429":
            retry_after = {"Retry-After": str(app.config.fault_retry_after_seconds)}
            self._send(Response(429, b"Rate limit exceeded", "text/plain", retry_after))
        elif kind == "slow":
            time.sleep(app.config.fault_slow_seconds)
            return False
        elif kind == "timeout":
            time.sleep(app.config.fault_timeout_seconds)
            self._drop()
        elif kind == "dropped":
            self._drop()
        elif kind in ("truncated", "invalid_json"):
            resp = app.routes.dispatch(method, path, query, headers)
            cut = resp.body[: max(1, len(resp.body) // 2)]
            if kind == "invalid_json":  # a complete HTTP message whose body is not JSON
                self._send(Response(resp.status, cut, resp.content_type, resp.headers))
            else:  # the connection breaks mid-body
                self._send_head(resp, len(resp.body))
                self.wfile.write(cut)
                self._drop()
        if kind in ("timeout", "dropped", "truncated"):
            app.stats.record(0)  # no complete answer went out; the other kinds were counted by _send
        return True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()

    def _send_head(self, resp: Response, length: int) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(length))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if VERSION_HEADER not in resp.headers and self.server.app.routes.modern.handles(urlsplit(self.path).path):
            # Every /modern answer names the release served, throttling and faults included.
            served = resolve_version(self.headers.get(VERSION_HEADER)) or resolve_version(None)
            self.send_header(VERSION_HEADER, str(served))
        self.end_headers()

    def _send(self, resp: Response) -> None:
        self.server.app.stats.record(resp.status)
        self._send_head(resp, len(resp.body))
        self.wfile.write(resp.body)


def _limiter_key(headers: dict[str, str], query: dict[str, list[str]]) -> str:
    """One window per credential (Wistia counts per account); the raw token is never stored as is."""
    cred = headers.get("authorization") or ",".join(query.get("api_password", [])) or "anonymous"
    return hashlib.sha256(cred.encode()).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp, reuse_port: bool = False) -> None:
        self.app = app
        self.allow_reuse_port = reuse_port  # read by server_bind (Python 3.11+)
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, retries) are normal here: log quietly instead of a traceback."""
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class Sandbox:
    """A running sandbox server: `base_url` is what goes in WISTIA_API_URL.

    `reuse_port` (SO_REUSEPORT) lets several sandbox processes with the same config listen on one port, the
    kernel spreading connections among them: same bytes from each (the account is deterministic), more
    CPU to render with. Their rate limiters and counters are per process, so use it with the limit off.
    """

    def __init__(
        self, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False
    ) -> None:
        self.config = config
        self.app = SandboxApp(config)
        self._server = _Server((host, port), self.app, reuse_port)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def modern_url(self) -> str:
        """The modern analytics API's root (what WISTIA_MODERN_API_URL would be)."""
        return f"http://{self.host}:{self.port}/modern"

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def account(self) -> SyntheticAccount:
        return self.app.account

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self.serve_forever, name="wistia-sandbox", daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server thread ends (Ctrl-C interrupts)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stats(self) -> dict[str, Any]:
        return json.loads(self.app.control("/_sandbox/stats").body)  # type: ignore[no-any-return]


@contextmanager
def run_sandbox(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[Sandbox]:
    """Start a sandbox on a free port in a background thread; stop it on exit."""
    sandbox = Sandbox(config or SandboxConfig(), host, port).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()

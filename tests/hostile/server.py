"""A hostile stand-in of the Wistia v1 API: a stdlib threaded HTTP server answering scripted replies per path.

Not the sandbox (no knobs, no synthetic account): each test states exactly what the API returns. By default it
serves a small clean account (`CleanAccount`); a test replaces the routes it wants hostile. Every request's path
and query is logged (`requests`), so a test can assert what was (never) asked for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "hostile-tok-7f3a9c-SECRET"
Query = dict[str, str]


@dataclass
class Reply:
    """One scripted answer: a status, a body (bytes, text, or JSON data), headers, and how to send it."""

    body: bytes | str | Any = b"[]"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    trickle_seconds: float = 0.0  # > 0: send the body one byte at a time, this long apart

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Route = Callable[[Query], Reply]


def paged(records: list[dict[str, Any]]) -> Route:
    """A list endpoint over `records`: ``page``/``per_page`` as Wistia pages (1-based, past the end is [])."""

    def route(query: Query) -> Reply:
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "10"))
        return Reply(records[(page - 1) * per_page : page * per_page])

    return route


def fixed(reply: Reply) -> Route:
    return lambda _query: reply


MEDIA_IDS = ("aaaaaaaaa1", "bbbbbbbbb2", "ccccccccc3")


def media(media_id: str, n: int) -> dict[str, Any]:
    return {
        "id": 1000 + n,
        "hashed_id": media_id,
        "name": f"Media {n}",
        "type": "Video",
        "archived": False,
        "created": "2026-11-01T10:00:00+00:00",
        "updated": "2026-11-02T10:00:00+00:00",
        "duration": 60.0 + n,
        "status": "ready",
        "project": {"id": 77, "name": "Main", "hashed_id": "prj0000001"},
    }


def event(day: date, n: int, media_id: str) -> dict[str, Any]:
    return {
        "received_at": f"{day.isoformat()}T12:{n % 60:02d}:00.000Z",
        "event_key": f"ev_{day:%Y%m%d}_{n:04d}",
        "visitor_key": f"vis_{n % 5}",
        "media_id": media_id,
        "media_name": "Media",
        "percent_viewed": 0.5,
        "embed_url": "https://example.com/watch",
        "conversion_type": "",
        "conversion_data": {},
        "ip": "192.0.2.1",
        "country": "US",
        "region": "CA",
        "city": "Oakland",
        "lat": 37.8,
        "lon": -122.2,
        "org": "Example",
        "email": None,
        "user_agent_details": {"browser": "Firefox", "browser_version": "140", "platform": "linux", "mobile": False},
    }


class CleanAccount:
    """The default routes: one project, three medias, their stats, two visitors, three events a day."""

    def __init__(self) -> None:
        self.medias = [media(m, i) for i, m in enumerate(MEDIA_IDS)]

    def events_of(self, day: date) -> list[dict[str, Any]]:
        return [event(day, i, MEDIA_IDS[i % len(MEDIA_IDS)]) for i in range(3)]

    def routes(self) -> dict[str, Route]:
        out: dict[str, Route] = {
            "/v1/projects.json": paged([{"id": 77, "name": "Main", "hashedId": "prj0000001", "mediaCount": 3}]),
            "/v1/medias.json": lambda q: paged(self.medias)(q),
            "/v1/stats/visitors.json": paged([{"visitor_key": f"vis_{i}", "load_count": 1} for i in range(5)]),
            "/v1/stats/events.json": lambda q: paged(self.events_of(date.fromisoformat(q["start_date"])))(q),
        }
        for m in MEDIA_IDS:
            out[f"/v1/stats/medias/{m}.json"] = fixed(
                Reply({"load_count": 10, "play_count": 5, "play_rate": 0.5, "hours_watched": 0.1, "visitors": 4})
            )
            out[f"/v1/stats/medias/{m}/by_date.json"] = _by_date
            out[f"/v1/stats/medias/{m}/engagement.json"] = fixed(
                Reply({"engagement": 0.5, "engagement_data": [5, 4, 3], "rewatch_data": [0, 0, 0]})
            )
        return out


def _by_date(query: Query) -> Reply:
    start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return Reply([{"date": d.isoformat(), "load_count": 2, "play_count": 1, "hours_watched": 0.01} for d in days])


class HostileAPI:
    """The server's state: routes (path -> reply function) and the log of requests received."""

    def __init__(self) -> None:
        self.account = CleanAccount()
        self.routes: dict[str, Route] = self.account.routes()
        self.requests: list[str] = []  # "path?query" as received (raw, before any decoding)
        self.base_url = ""
        self._lock = threading.Lock()

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.split("?", 1)[0] == path)

    def answer(self, raw_path: str, authorization: str | None) -> Reply:
        with self._lock:
            self.requests.append(raw_path)
        if authorization != f"Bearer {TOKEN}":
            return Reply({"error": "unauthorized"}, status=401)
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route = self.routes.get(parts.path)
        if route is None:
            return Reply({"error": "not found"}, status=404)
        return route(query)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        reply = self.server.api.answer(self.path, self.headers.get("Authorization"))
        body = reply.encoded()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if reply.trickle_seconds > 0:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    if self.server.stopping.wait(reply.trickle_seconds):
                        return
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: HostileAPI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients hanging up mid-trickle
        return None


@contextmanager
def hostile_api() -> Iterator[HostileAPI]:
    """A running hostile API on a free loopback port; `api.base_url` ends in ``/v1``."""
    api = HostileAPI()
    server = _Server(api)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        time.sleep(0)

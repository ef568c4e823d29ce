"""A hostile stand-in of the Wistia API (v1 and the modern analytics): a stdlib threaded HTTP server answering
scripted replies per path.

Not the sandbox (no knobs, no synthetic account): each test states exactly what the API returns. By default it
serves a small clean account (`CleanAccount`); a test replaces the routes it wants hostile. Every request's path
and query is logged (`requests`), with its headers (`headers`), so a test can assert what was (never) asked for.
The modern routes (`/modern/analytics/medias/{id}/...`) echo the `X-Wistia-API-Version` served, like Wistia's.
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


MODERN_RELEASES = ("2026-01", "2026-03")
LEADS_PER_DAY = 3  # form conversions of media 0 on each day it had loads (the others have none)


def loaded(day: date, n: int) -> bool:
    """Media `n` had loads on every other day (so the planner has days to leave out)."""
    return (day.toordinal() + n) % 2 == 0


def _days(query: Query) -> list[date]:
    start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _metrics(days: list[date], n: int) -> dict[str, Any]:
    hits = sum(1 for d in days if loaded(d, n))
    return {
        "unique_loads": hits,
        "unique_plays": hits,
        "plays": hits,
        "play_rate": 1.0 if hits else None,
        "played_time": 30 * hits,
        "unique_visitors": min(hits, 1),
        "engagement_rate": 0.5 if hits else None,
        "cta_impressions": 0,
        "cta_conversions": 0,
        "cta_conversion_rate": None,
        "form_conversions": LEADS_PER_DAY * hits if n == 0 else 0,
    }


class ModernAccount:
    """The modern analytics of `CleanAccount`'s medias: loads on every other day, leads for media 0 only."""

    def leads(self, n: int, days: list[date]) -> list[dict[str, Any]]:
        if n != 0:
            return []
        return [
            {
                "first_name": f"Ann{i}",
                "last_name": "Lee",
                "email": f"ann{i}.{d:%m%d}@example.com",
                "converted_at": f"{d.isoformat()}T1{i}:00:00.000Z",
            }
            for d in days
            if loaded(d, n)
            for i in range(LEADS_PER_DAY)
        ]

    def routes(self) -> dict[str, Route]:
        out: dict[str, Route] = {}
        for n, m in enumerate(MEDIA_IDS):
            root = f"/modern/analytics/medias/{m}"
            out[root] = lambda q, n=n: Reply(_metrics(_days(q), n))
            out[f"{root}/timeseries"] = lambda q, n=n: Reply(
                [{"timestamp": f"{d.isoformat()}T00:00:00.000Z", **_metrics([d], n)} for d in _days(q)]
            )
            out[f"{root}/traffic"] = lambda q, n=n: Reply(
                [{q["group_by"]: "facebook", "loads": 1, "plays": 1, "engagement_rate": 0.5}]
                if any(loaded(d, n) for d in _days(q))
                else []
            )
            out[f"{root}/embed_locations"] = lambda q, n=n: Reply(
                [
                    {
                        "embed_url": "https://example.com/watch",
                        "embed_domain": "example.com",
                        "embed_path": "/watch",
                        "page_title": "Watch",
                        "loads": 1,
                        "unique_loads": 1,
                        "plays": 1,
                        "unique_plays": 1,
                        "play_rate": 1.0,
                        "played_time": 30.0,
                        "engagement_rate": 0.5,
                        "unique_visitors": 1,
                        "cta_conversion_rate": None,
                    }
                ]
                if any(loaded(d, n) for d in _days(q))
                else []
            )
            out[f"{root}/conversions"] = lambda q, n=n: self._conversions(q, n)
            out[f"{root}/languages"] = lambda q, n=n: Reply(
                [
                    {
                        "language": "en",
                        "plays": _metrics(_days(q), n)["plays"],
                        "percent_of_total_plays": 1.0,
                        "captions_support": True,
                    }
                ]
            )
        return out

    def _conversions(self, query: Query, n: int) -> Reply:
        leads = self.leads(n, _days(query))
        per_page = int(query.get("per_page", "25"))
        offset = int(query["cursor"].removeprefix("c")) if "cursor" in query else 0
        page = leads[offset : offset + per_page]
        more = offset + per_page < len(leads)
        info = {
            "has_next_page": more,
            "has_previous_page": offset > 0,
            "end_cursor": f"c{offset + per_page}" if page else None,
            "start_cursor": f"c{offset}" if page else None,
        }
        return Reply({"data": page, "page_info": info})


def _by_date(query: Query) -> Reply:
    start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return Reply([{"date": d.isoformat(), "load_count": 2, "play_count": 1, "hours_watched": 0.01} for d in days])


class HostileAPI:
    """The server's state: routes (path -> reply function) and the log of requests received."""

    def __init__(self) -> None:
        self.account = CleanAccount()
        self.routes: dict[str, Route] = {**self.account.routes(), **ModernAccount().routes()}
        self.requests: list[str] = []  # "path?query" as received (raw, before any decoding)
        self.headers: list[tuple[str, dict[str, str]]] = []  # (path?query, headers by lowercase name), in order
        self.base_url = ""
        self._lock = threading.Lock()

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.split("?", 1)[0] == path)

    def answer(self, raw_path: str, authorization: str | None, headers: dict[str, str] | None = None) -> Reply:
        with self._lock:
            self.requests.append(raw_path)
            self.headers.append((raw_path, {k.lower(): v for k, v in (headers or {}).items()}))
        reply = self._answer(raw_path, authorization)
        if raw_path.startswith("/modern/"):
            sent = {k.lower(): v for k, v in (headers or {}).items()}
            asked = sent.get("x-wistia-api-version", MODERN_RELEASES[-1])
            served = max((r for r in MODERN_RELEASES if r <= asked), default=MODERN_RELEASES[0])
            reply = Reply(
                reply.body, reply.status, {"X-Wistia-API-Version": served, **reply.headers}, reply.trickle_seconds
            )
        return reply

    def _answer(self, raw_path: str, authorization: str | None) -> Reply:
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
        reply = self.server.api.answer(self.path, self.headers.get("Authorization"), dict(self.headers.items()))
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

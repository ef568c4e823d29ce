"""The Wistia API v1 routes of the sandbox, as a pure function from request to response.

Kept free of sockets so the HTTP layer (`server.py`) only deals with transport and faults.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from wistia_analytics.sandbox.clock import SandboxClock
from wistia_analytics.sandbox.config import SandboxConfig
from wistia_analytics.sandbox.corruption import BadInputPlan, Entity
from wistia_analytics.sandbox.keys import decode_event_key, decode_visitor_key
from wistia_analytics.sandbox.media_catalog import Media
from wistia_analytics.sandbox.modern import VERSION_HEADER, ModernApi
from wistia_analytics.sandbox.payloads import Json, Renderer
from wistia_analytics.sandbox.session_facts import SessionFacts
from wistia_analytics.sandbox.truth import SyntheticAccount, day_of

MAX_PER_PAGE = 100
PROJECT_EMBED_PAGE = 500
UNAUTHORIZED: Json = {"code": "unauthorized_credentials", "error": "Invalid credentials."}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode())


class BadParamError(Exception):
    """A malformed query parameter: 422 on stats routes, 400 on data routes."""


Query = dict[str, list[str]]
Handler = Callable[[re.Match[str], Query, int], Response]


def _one(q: Query, name: str) -> str | None:
    values = q.get(name)
    return values[-1] if values else None


def _int(q: Query, name: str, default: int) -> int:
    raw = _one(q, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParamError(f"Invalid value for {name}: {raw!r} (expected an integer)") from None


def _date(q: Query, name: str) -> date | None:
    raw = _one(q, name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise BadParamError(f"Invalid date for {name}: {raw!r} (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParamError(f"Invalid date for {name}: {raw!r} (expected YYYY-MM-DD)") from None


def _paging(q: Query, default_per_page: int) -> tuple[int, int]:
    page = max(1, _int(q, "page", 1))
    per_page = min(MAX_PER_PAGE, max(1, _int(q, "per_page", default_per_page)))
    return (page - 1) * per_page, per_page


def _bool(raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    return raw.lower() in ("1", "true", "yes")


class Routes:
    """Route table and handlers over one synthetic account."""

    def __init__(self, config: SandboxConfig, account: SyntheticAccount, clock: SandboxClock) -> None:
        self.config = config
        self.account = account
        self.catalog = account.catalog
        self.clock = clock
        self.render = Renderer(account)
        self.facts = SessionFacts(account, self.render)
        self.modern = ModernApi(config, account, self.facts)
        self.bad_input = BadInputPlan(config.seed, config.bad_records, config.bad_pages, config.bad_record_kinds)
        ext = r"(?:\.json)?"
        table: list[tuple[str, Handler, bool]] = [
            (rf"/v1/medias{ext}", self.medias_list, False),
            (rf"/v1/medias/(?P<id>[^/]+?)/stats{ext}", self.media_legacy_stats, False),
            (rf"/v1/medias/(?P<id>[^/]+?){ext}", self.media_show, False),
            (rf"/v1/projects{ext}", self.projects_list, False),
            (rf"/v1/projects/(?P<id>[^/]+?){ext}", self.project_show, False),
            (rf"/v1/account{ext}", self.account_show, False),
            (rf"/v1/stats/account{ext}", self.stats_account, True),
            (rf"/v1/stats/account/by_date{ext}", self.stats_account_by_date, True),
            (rf"/v1/stats/projects/(?P<id>[^/]+?)/by_date{ext}", self.stats_project_by_date, True),
            (rf"/v1/stats/projects/(?P<id>[^/]+?){ext}", self.stats_project, True),
            (rf"/v1/stats/medias/(?P<id>[^/]+?)/by_date{ext}", self.stats_media_by_date, True),
            (rf"/v1/stats/medias/(?P<id>[^/]+?)/engagement{ext}", self.stats_media_engagement, True),
            (rf"/v1/stats/medias/(?P<id>[^/]+?){ext}", self.stats_media, True),
            (rf"/v1/stats/visitors{ext}", self.visitors_list, True),
            (rf"/v1/stats/visitors/(?P<id>[^/]+?){ext}", self.visitor_show, True),
            (rf"/v1/stats/events{ext}", self.events_list, True),
            (r"/v1/stats/events/(?P<id>[^/]+?)/iframe\.html", self.event_iframe, True),
            (rf"/v1/stats/events/(?P<id>[^/]+?){ext}", self.event_show, True),
        ]
        self.table = [(re.compile(p + "$"), h, stats) for p, h, stats in table]

    # ---- dispatch
    def authorized(self, headers: dict[str, str], q: Query) -> bool:
        expected = self.config.token.encode()
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value:
            return hmac.compare_digest(value.strip().encode(), expected)
        if self.config.legacy_auth and scheme.lower() == "basic" and value:
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return user == "api" and hmac.compare_digest(password.encode(), expected)
        given = _one(q, "api_password")
        if self.config.legacy_auth and given:
            return hmac.compare_digest(given.encode(), expected)
        return False

    def dispatch(self, method: str, path: str, q: Query, headers: dict[str, str]) -> Response:
        if self.modern.handles(path):
            status, body, version = self.modern.dispatch(method, path, q, headers, self.clock.now_ts())
            resp = json_response(status, body)
            resp.headers[VERSION_HEADER] = version
            return resp
        if not self.authorized(headers, q):
            return json_response(401, UNAUTHORIZED)
        for pattern, handler, is_stats in self.table:
            match = pattern.match(path)
            if match is None:
                continue
            if method != "GET":
                return json_response(405, {"error": f"Method {method} not allowed on the sandbox"})
            try:
                return handler(match, q, self.clock.now_ts())
            except BadParamError as exc:
                return json_response(422 if is_stats else 400, {"error": str(exc)})
        return json_response(404, {"error": f"No route matches {path}"})

    # ---- helpers
    def _list(self, status: int, entity: Entity, records: list[Json]) -> Response:
        """A list payload, with the bad-input corpus applied when it is switched on."""
        if not self.bad_input.active:
            return json_response(status, records)
        return Response(status, self.bad_input.list_body(entity, records))

    def _media(self, key: str) -> Media | None:
        media = self.catalog.media_for(key)
        return None if media is None or media.hashed_id in self.config.gone_medias else media

    def _not_found(self, what: str) -> Response:
        return json_response(404, {"error": f"{what} not found or does not belong to account"})

    def _date_range(self, q: Query, now_ts: int) -> tuple[int, int]:
        today = day_of(now_ts)
        start, end = _date(q, "start_date"), _date(q, "end_date")
        lo = start.toordinal() if start else today - 1
        hi = end.toordinal() if end else today
        return lo, min(hi, today)

    def _by_date_rows(self, medias: list[Media], lo: int, hi: int, now_ts: int) -> list[Json]:
        rows = []
        for day in range(lo, hi + 1):
            loads = plays = 0
            watch = 0.0
            for m in medias:
                s = self.account.cell_stats(m.index, day, now_ts)
                loads, plays, watch = loads + s.loads, plays + s.plays, watch + s.watch_seconds
            rows.append(
                {
                    "date": date.fromordinal(day).isoformat(),
                    "load_count": loads,
                    "play_count": plays,
                    "hours_watched": watch / 3600,
                }
            )
        return rows

    def _lifetime(self, medias: list[Media], now_ts: int) -> Json:
        loads = plays = 0
        watch = 0.0
        for m in medias:
            life = self.account.media_lifetime(m.index, now_ts)
            loads += int(life["loads"])
            plays += int(life["plays"])
            watch += life["watch_seconds"]
        return {"load_count": loads, "play_count": plays, "hours_watched": watch / 3600}

    # ---- data API
    def medias_list(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        offset, per_page = _paging(q, self.config.default_per_page)
        medias = list(self.catalog.medias)
        project = _one(q, "project_id")
        if project:
            p = self.catalog.project_by_key.get(project)
            medias = [m for m in medias if p is not None and m.project == p.index]
        if (name := _one(q, "name")) is not None:
            medias = [m for m in medias if m.name == name]
        if (kind := _one(q, "type")) is not None:
            medias = [m for m in medias if kind == "Video"]
        if (hashed := _one(q, "hashed_id")) is not None:
            medias = [m for m in medias if m.hashed_id == hashed]
        if wanted := q.get("hashed_ids[]"):
            medias = [m for m in medias if m.hashed_id in set(wanted)]
        if (archived := _bool(_one(q, "archived"))) is not None:
            medias = [m for m in medias if m.archived == archived]
        sort_by = _one(q, "sort_by") or "id"
        keys: dict[str, Callable[[Media], Any]] = {
            "id": lambda m: m.id,
            "name": lambda m: (m.name, m.id),
            "created": lambda m: (m.created_ts, m.id),
            "updated": lambda m: (m.updated_ts, m.id),
            "position": lambda m: m.index,
        }
        if sort_by not in keys:
            raise BadParamError(f"Invalid sort_by: {sort_by!r}")
        medias.sort(key=keys[sort_by], reverse=_one(q, "sort_direction") == "0")
        return json_response(200, [self.render.media(m) for m in medias[offset : offset + per_page]])

    def media_show(self, match: re.Match[str], _: Query, now_ts: int) -> Response:
        m = self.catalog.media_by_hashed.get(match["id"])
        if m is None:
            return json_response(404, {"error": f"Media with hashed ID '{match['id']}' not found."})
        return json_response(200, self.render.media(m))

    def media_legacy_stats(self, match: re.Match[str], _: Query, now_ts: int) -> Response:
        m = self.catalog.media_by_hashed.get(match["id"])
        if m is None:
            return json_response(404, {"error": f"Media with hashed ID '{match['id']}' not found."})
        life = self.account.media_lifetime(m.index, now_ts)
        plays, loads = int(life["plays"]), int(life["loads"])
        return json_response(
            200,
            {
                "id": m.id,
                "hashed_id": m.hashed_id,
                "name": m.name,
                "stats": {
                    "pageLoads": loads,
                    "visitors": self.account.media_visitors(m.index, now_ts),
                    "percentOfVisitorsClickingPlay": round(100 * plays / loads) if loads else 0,
                    "plays": plays,
                    "averagePercentWatched": round(100 * life["percent_viewed_sum"] / plays) if plays else 0,
                },
            },
        )

    def projects_list(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        offset, per_page = _paging(q, self.config.default_per_page)
        projects = list(self.catalog.projects)
        if wanted := q.get("hashed_ids[]"):
            projects = [p for p in projects if p.hashed_id in set(wanted)]
        counts = {p.index: sum(1 for m in self.catalog.medias if m.project == p.index) for p in projects}
        sort_by = _one(q, "sort_by") or "id"
        keys: dict[str, Callable[[Any], Any]] = {
            "id": lambda p: p.id,
            "name": lambda p: (p.name, p.id),
            "created": lambda p: (p.created_ts, p.id),
            "updated": lambda p: (p.created_ts, p.id),
            "mediaCount": lambda p: (counts[p.index], p.id),
        }
        if sort_by not in keys:
            raise BadParamError(f"Invalid sort_by: {sort_by!r}")
        projects.sort(key=keys[sort_by], reverse=_one(q, "sort_direction") == "0")
        return json_response(200, [self.render.project(p) for p in projects[offset : offset + per_page]])

    def project_show(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        p = self.catalog.project_by_key.get(match["id"])
        if p is None:
            return json_response(404, {"error": f"Project with ID '{match['id']}' not found."})
        page = max(1, _int(q, "page", 1))
        members = [m for m in self.catalog.medias if m.project == p.index]
        chunk = members[(page - 1) * PROJECT_EMBED_PAGE : page * PROJECT_EMBED_PAGE]
        return json_response(200, self.render.project(p, chunk))

    def account_show(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        return json_response(200, self.render.account_info())

    # ---- stats API
    def stats_account(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        return json_response(200, self._lifetime(self.catalog.medias, now_ts))

    def stats_account_by_date(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        lo, hi = self._date_range(q, now_ts)
        rows = self._by_date_rows(self.catalog.medias, lo, hi, now_ts)
        return json_response(200, rows[::-1])  # the docs show the account series newest first

    def _project_medias(self, key: str) -> list[Media] | None:
        p = self.catalog.project_by_key.get(key)
        return None if p is None else [m for m in self.catalog.medias if m.project == p.index]

    def stats_project(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        medias = self._project_medias(match["id"])
        if medias is None:
            return self._not_found("Project")
        return json_response(200, self._lifetime(medias, now_ts) | {"number_of_videos": len(medias)})

    def stats_project_by_date(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        medias = self._project_medias(match["id"])
        if medias is None:
            return self._not_found("Project")
        lo, hi = self._date_range(q, now_ts)
        return json_response(200, self._by_date_rows(medias, lo, hi, now_ts))

    def stats_media(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        m = self._media(match["id"])
        if m is None:
            return self._not_found("Media")
        life = self.account.media_lifetime(m.index, now_ts)
        loads, plays = int(life["loads"]), int(life["plays"])
        body: Json = {
            "load_count": loads,
            "play_count": plays,
            "play_rate": plays / loads if loads else 0.0,
            "hours_watched": life["watch_seconds"] / 3600,
            "engagement": life["percent_viewed_sum"] / plays if plays else 0.0,
            "visitors": self.account.media_visitors(m.index, now_ts),
        }
        if m.has_actions:
            impressions = int(plays * 0.6)
            actions = int(impressions * 0.12)
            body["actions"] = [
                {
                    "type": "Call to Action",
                    "action_count": actions,
                    "impression_count": impressions,
                    "rate": actions / impressions if impressions else 0.0,
                }
            ]
        return json_response(200, body)

    def stats_media_by_date(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        m = self._media(match["id"])
        if m is None:
            return self._not_found("Media")
        lo, hi = self._date_range(q, now_ts)
        return json_response(200, self._by_date_rows([m], lo, hi, now_ts))

    def stats_media_engagement(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        m = self._media(match["id"])
        if m is None:
            return self._not_found("Media")
        watched, sessions = self.account.engagement_curve(m.index, now_ts)
        life = self.account.media_lifetime(m.index, now_ts)
        n = len(watched)
        peak = (m.id % 60 + 20) / 100  # a media-specific moment people go back to
        pos = np.arange(n) / max(n, 1)
        rewatch_rate = 0.04 + 0.12 * np.exp(-((pos - peak) ** 2) / (2 * 0.05**2))
        rewatch = np.floor(watched * rewatch_rate).astype(np.int64)
        return json_response(
            200,
            {
                "engagement": life["percent_viewed_sum"] / sessions if sessions else 0.0,
                "engagement_data": watched.tolist(),
                "rewatch_data": rewatch.tolist(),
            },
        )

    def visitors_list(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        offset, per_page = _paging(q, self.config.default_per_page)
        table = self.account.visitor_table(now_ts)
        order = table.order
        flt = _one(q, "filter")
        if flt:
            draw = self.account.identified_mask(order)
            limits = {"has_name": 14, "has_email": 12, "identified_by_email_gate": 8}
            if flt not in limits:
                raise BadParamError(f"Invalid filter: {flt!r}")
            order = order[draw < np.uint64(limits[flt])]
        search = _one(q, "search")
        if search:
            identified = order[self.account.identified_mask(order) < np.uint64(14)]
            needle = search.lower()
            matches = []
            for v in identified.tolist():
                prof = self.render.visitor_profile(v)
                if needle in (prof.name or "").lower() or needle in (prof.email or "").lower():
                    matches.append(v)
            order = np.array(matches, dtype=np.int64)
        page = order[offset : offset + per_page].tolist()
        return self._list(200, "visitors", [self.render.visitor(v, table, listing=True) for v in page])

    def visitor_show(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        v = decode_visitor_key(match["id"], self.account.seed)
        table = None if v is None else self.account.visitor_window_stats(v, now_ts)
        if v is None or table is None:
            return json_response(404, {"error": "Visitor not found"})
        return json_response(200, self.render.visitor(v, table, listing=False))

    def events_list(self, _: re.Match[str], q: Query, now_ts: int) -> Response:
        offset, per_page = _paging(q, self.config.default_per_page)
        start, end = _date(q, "start_date"), _date(q, "end_date")
        media: int | None = None
        if media_key := _one(q, "media_id"):
            m = self._media(media_key)
            if m is None:
                return json_response(200, [])
            media = m.index
        visitor: int | None = None
        if visitor_key := _one(q, "visitor_key"):
            visitor = decode_visitor_key(visitor_key, self.account.seed)
            if visitor is None:
                return json_response(200, [])
        refs = self.account.events_page(
            media=media,
            visitor=visitor,
            start=start.toordinal() if start else None,
            end=end.toordinal() if end else None,
            offset=offset,
            limit=per_page,
            now_ts=now_ts,
        )
        return self._list(200, "events", [self.render.event(r) for r in refs])

    def _find_event(self, key: str, now_ts: int) -> Any:
        coords = decode_event_key(key, self.account.seed)
        if coords is None:
            return None
        ref = self.account.event(*coords, now_ts=now_ts)
        if (
            ref is None
            or self.render.key_for_session(int(ref.cell.session_hash[ref.index]), int(ref.cell.received_ts[ref.index]))
            != key
        ):
            return None
        return ref

    def event_show(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        ref = self._find_event(match["id"], now_ts)
        if ref is None:
            return json_response(404, {"error": "Event not found"})
        return json_response(200, self.render.event(ref))

    def event_iframe(self, match: re.Match[str], q: Query, now_ts: int) -> Response:
        if self._find_event(match["id"], now_ts) is None:
            return json_response(404, {"error": "Event not found"})
        html = f"<html><body><h1>Heatmap for {match['id']}</h1></body></html>".encode()
        return Response(200, html, content_type="text/html; charset=utf-8")

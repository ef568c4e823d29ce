"""Wistia's modern analytics API (`/modern/analytics/medias/...`), served from the same sessions as v1.

Shapes and validation follow `wistia-modern-api.md` §2 (2026.03.0) as fixed in the issue 15 spec: Bearer auth
only, the `X-Wistia-API-Version` header (request and response), 422 on bad parameters, 404 on unknown medias,
cursor paging for conversions. The figures come from `session_facts.SessionFacts`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from wistia_analytics.sandbox.config import SandboxConfig
from wistia_analytics.sandbox.media_catalog import Media
from wistia_analytics.sandbox.payloads import Json
from wistia_analytics.sandbox.session_facts import (
    CTA_CONVERSIONS,
    CTA_IMPRESSIONS,
    FORMS,
    LOADS,
    N_DAILY,
    PLAYS,
    PV_SUM,
    UNIQUE_LOADS,
    UNIQUE_PLAYS,
    WATCH,
    CellFacts,
    Lead,
    SessionFacts,
    page_of,
    page_title,
)
from wistia_analytics.sandbox.truth import SyntheticAccount, day_of

PREFIX = "/modern"
VERSION_HEADER = "X-Wistia-API-Version"
RELEASES = ("2026-01", "2026-03")  # the sandbox's releases; both behave the same
MAX_SPAN_YEARS = 2
GROUP_BYS = ("utm_campaign", "utm_source", "utm_medium", "referrer_domain", "viewer_screen_size")
TRAFFIC_SORTS = ("plays", "loads", "engagement_rate")
EMBED_SORTS = ("plays", "loads", "engagement_rate", "play_rate")
GRANULARITIES = ("daily", "weekly", "monthly")
FORBIDDEN = "This API token does not have the 'Read detailed stats' permission."
UNAVAILABLE = "Analytics service is temporarily unavailable"

Query = dict[str, list[str]]
Reply = tuple[int, Any]


class ParamError(Exception):
    """A parameter the API rejects with 422."""


def resolve_version(raw: str | None) -> str | None:
    """The release that serves a requested version: absent → newest; else the newest release not after it.

    None for a malformed version or one before the first release (→ 400).
    """
    if raw is None or not raw.strip():
        return RELEASES[-1]
    m = re.fullmatch(r"(\d{4})-(\d{2})", raw.strip())
    if m is None or not 1 <= int(m[2]) <= 12:
        return None
    eligible = [r for r in RELEASES if r <= raw.strip()]
    return eligible[-1] if eligible else None


def _one(q: Query, name: str) -> str | None:
    values = q.get(name)
    return values[-1] if values else None


def _date(q: Query, name: str) -> date:
    raw = _one(q, name)
    if raw is None or raw == "":
        raise ParamError(f"{name} is required (YYYY-MM-DD)")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ParamError(f"Invalid date for {name}: {raw!r} (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ParamError(f"Invalid date for {name}: {raw!r} (expected YYYY-MM-DD)") from None


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def date_range(q: Query) -> tuple[int, int]:
    """Inclusive (start, end) ordinals; 422 when missing, malformed, reversed or more than 2 years apart."""
    start, end = _date(q, "start_date"), _date(q, "end_date")
    if end < start:
        raise ParamError("end_date must not be before start_date")
    if end > _plus_years(start, MAX_SPAN_YEARS):
        raise ParamError("The date range between start_date and end_date must not exceed 2 years")
    return start.toordinal(), end.toordinal()


def _enum(q: Query, name: str, allowed: tuple[str, ...], default: str | None) -> str:
    raw = _one(q, name)
    if raw is None or raw == "":
        if default is None:
            raise ParamError(f"{name} is required (one of {', '.join(allowed)})")
        return default
    if raw not in allowed:
        raise ParamError(f"Invalid value for {name}: {raw!r} (expected one of {', '.join(allowed)})")
    return raw


def _per_page(q: Query, default: int) -> int:
    raw = _one(q, "per_page")
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d+", raw) or not 1 <= int(raw) <= 100:
        raise ParamError(f"Invalid value for per_page: {raw!r} (expected an integer from 1 to 100)")
    return int(raw)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def iso_ms(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def encode_cursor(ts: int, session_hash: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{ts}:{session_hash}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        tag, ts, h = text.split(":")
        if tag != "c1":
            raise ValueError(tag)
        return int(ts), int(h)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ParamError(f"Invalid cursor: {raw!r}") from None


class ModernApi:
    """Route table and handlers of `/modern`; answers (status, JSON payload, served version)."""

    def __init__(self, config: SandboxConfig, account: SyntheticAccount, facts: SessionFacts) -> None:
        self.config = config
        self.account = account
        self.catalog = account.catalog
        self.facts = facts
        base = r"/modern/analytics/medias/(?P<id>[^/]+)"
        table: list[tuple[str, Callable[[Media, Query, int], Reply]]] = [
            (base, self.media_summary),
            (base + "/timeseries", self.timeseries),
            (base + "/embed_locations", self.embed_locations),
            (base + "/traffic", self.traffic),
            (base + "/conversions", self.conversions),
            (base + "/languages", self.languages),
        ]
        self.table = [(re.compile(p + "/?$"), h) for p, h in table]

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def bearer_ok(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return (
            scheme.lower() == "bearer"
            and bool(value)
            and hmac.compare_digest(value.strip().encode(), self.config.token.encode())
        )

    def dispatch(self, method: str, path: str, q: Query, headers: dict[str, str], now_ts: int) -> tuple[int, Any, str]:
        version = resolve_version(headers.get(VERSION_HEADER.lower()))
        served = version or RELEASES[-1]
        if not self.bearer_ok(headers):
            return 401, {"error": "Invalid credentials."}, served
        if self.config.modern_access == "absent":
            return 404, {"error": f"No route matches {path}"}, served
        if version is None:
            raw = headers.get(VERSION_HEADER.lower())
            return 400, {"error": f"Unsupported {VERSION_HEADER}: {raw!r} (releases: {', '.join(RELEASES)})"}, served
        if self.config.modern_access == "forbidden":
            return 403, {"error": FORBIDDEN}, served
        for pattern, handler in self.table:
            match = pattern.match(path)
            if match is None:
                continue
            if method != "GET":
                return 405, {"error": f"Method {method} not allowed"}, served
            media = self.catalog.media_by_hashed.get(match["id"])
            if media is None or media.hashed_id in self.config.gone_medias:
                return 404, {"error": "Media not found"}, served
            try:
                status, body = handler(media, q, now_ts)
            except ParamError as exc:
                return 422, {"error": str(exc)}, served
            return status, body, served
        return 404, {"error": f"No route matches {path}"}, served

    # ---- helpers
    def _days(self, lo: int, hi: int, now_ts: int) -> tuple[int, int]:
        """The range clipped to today (later days are empty)."""
        return lo, min(hi, day_of(now_ts))

    def _metrics(self, media: Media, rows: npt.NDArray[np.float64], first: int, last: int, now_ts: int) -> Json:
        """The 11 figures of a span of days, from its daily rows."""
        s = rows.sum(axis=0)
        unique_loads, unique_plays, plays = int(s[UNIQUE_LOADS]), int(s[UNIQUE_PLAYS]), int(s[PLAYS])
        impressions, clicks = int(s[CTA_IMPRESSIONS]), int(s[CTA_CONVERSIONS])
        if last < first or s[LOADS] == 0:
            visitors = 0
        elif first == last:
            visitors = unique_loads  # one day: the visitors who loaded it
        else:
            visitors = self.facts.distinct_visitors(media.index, first, last, now_ts)
        return {
            "unique_loads": unique_loads,
            "unique_plays": unique_plays,
            "plays": plays,
            "play_rate": _ratio(unique_plays, unique_loads),
            "played_time": round(float(s[WATCH])),
            "unique_visitors": visitors,
            "engagement_rate": _ratio(float(s[PV_SUM]), plays),
            "cta_impressions": impressions,
            "cta_conversions": clicks,
            "cta_conversion_rate": _ratio(clicks, impressions),
            "form_conversions": int(s[FORMS]),
        }

    def _cells(self, media: Media, lo: int, hi: int, now_ts: int) -> list[CellFacts]:
        """The facts of the range's days that had loads."""
        out = []
        for day in range(lo, hi + 1):
            f = self.facts.facts(media.index, day, now_ts)
            if f is not None and f.n_loads:
                out.append(f)
        return out

    # ---- routes
    def media_summary(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = self._days(*date_range(q), now_ts)
        rows = self.facts.daily(media.index, lo, hi, now_ts) if lo <= hi else np.zeros((0, N_DAILY))
        return 200, self._metrics(media, rows, lo, hi, now_ts)

    def timeseries(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = date_range(q)
        granularity = _enum(q, "granularity", GRANULARITIES, None)
        lo, hi = self._days(lo, hi, now_ts)
        if lo > hi:
            return 200, []
        rows = self.facts.daily(media.index, lo, hi, now_ts)
        out = []
        for start, first, last in _periods(granularity, lo, hi):
            block = rows[first - lo : last - lo + 1]
            ts = int(datetime.combine(date.fromordinal(start), datetime.min.time(), UTC).timestamp())
            out.append({"timestamp": iso_ms(ts)} | self._metrics(media, block, first, last, now_ts))
        return 200, out

    def traffic(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = date_range(q)
        group_by = _enum(q, "group_by", GROUP_BYS, None)
        sort_by = _enum(q, "sort_by", TRAFFIC_SORTS, "plays")
        desc = _enum(q, "sort_direction", ("asc", "desc"), "desc") == "desc"
        per_page = _per_page(q, 100)
        lo, hi = self._days(lo, hi, now_ts)
        groups: dict[str, list[float]] = {}  # value -> [loads, plays, pv_sum]
        for f in self._cells(media, lo, hi, now_ts):
            values = self.facts.attrs(f, now_ts).dimension(group_by)
            for j, value in enumerate(values):
                g = groups.setdefault(value, [0, 0, 0.0])
                g[0] += 1
                if j < f.n_plays:
                    g[1] += 1
                    g[2] += float(f.percent_viewed[j])
        rows = [
            {group_by: value, "loads": int(g[0]), "plays": int(g[1]), "engagement_rate": _ratio(g[2], g[1])}
            for value, g in groups.items()
        ]
        return 200, _sorted(rows, sort_by, desc, group_by)[:per_page]

    def embed_locations(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = date_range(q)
        sort_by = _enum(q, "sort_by", EMBED_SORTS, "plays")
        desc = _enum(q, "sort_direction", ("asc", "desc"), "desc") == "desc"
        per_page = _per_page(q, 10)
        only = _one(q, "embed_url")
        if only is not None and not re.match(r"https?://[^/\s]+", only):
            raise ParamError(f"Invalid embed_url: {only!r} (expected an http or https URL)")
        only_page = page_of(only)[0] if only else None
        lo, hi = self._days(lo, hi, now_ts)
        pages: dict[str, dict[str, Any]] = {}
        for f in self._cells(media, lo, hi, now_ts):
            attrs = self.facts.attrs(f, now_ts)
            day_visitors: dict[str, tuple[set[int], set[int]]] = {}
            for j, url in enumerate(attrs.embed_url):
                page, host, path = page_of(url)
                if only_page is not None and page != only_page:
                    continue
                p = pages.get(page)
                if p is None:
                    p = pages[page] = {
                        "host": host,
                        "path": path,
                        "loads": 0,
                        "unique_loads": 0,
                        "plays": 0,
                        "unique_plays": 0,
                        "watch": 0.0,
                        "pv": 0.0,
                        "visitors": set(),
                        "impressions": 0,
                        "clicks": 0,
                    }
                v = int(f.visitor[j])
                loaders, players = day_visitors.setdefault(page, (set(), set()))
                loaders.add(v)
                p["loads"] += 1
                p["visitors"].add(v)
                if j < f.n_plays:
                    players.add(v)
                    pv = float(f.percent_viewed[j])
                    p["plays"] += 1
                    p["pv"] += pv
                    p["watch"] += pv * media.duration_seconds
                    p["impressions"] += int(f.cta_impression[j])
                    p["clicks"] += int(f.cta_conversion[j])
            for page, (loaders, players) in day_visitors.items():
                pages[page]["unique_loads"] += len(loaders)
                pages[page]["unique_plays"] += len(players)
        rows = [
            {
                "embed_domain": p["host"],
                "embed_path": p["path"],
                "embed_url": page,
                "page_title": page_title(p["host"], p["path"]),
                "loads": p["loads"],
                "unique_loads": p["unique_loads"],
                "plays": p["plays"],
                "unique_plays": p["unique_plays"],
                "play_rate": _ratio(p["unique_plays"], p["unique_loads"]),
                "played_time": p["watch"],
                "engagement_rate": _ratio(p["pv"], p["plays"]),
                "unique_visitors": len(p["visitors"]),
                "cta_conversion_rate": _ratio(p["clicks"], p["impressions"]),
            }
            for page, p in pages.items()
        ]
        return 200, _sorted(rows, sort_by, desc, "embed_url")[:per_page]

    def conversions(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = date_range(q)
        per_page = _per_page(q, 25)
        raw = _one(q, "cursor")
        after = decode_cursor(raw) if raw else None
        lo, hi = self._days(lo, hi, now_ts)
        leads: list[Lead] = []
        first_day = lo if after is None else max(lo, day_of(after[0]))
        for day in range(first_day, hi + 1):
            day_leads = sorted(self.facts.leads(media.index, day, now_ts), key=_lead_key)
            leads.extend(lead for lead in day_leads if after is None or _lead_key(lead) > after)
            if len(leads) > per_page:
                break  # one lead past the page says there is a next page
        page, more = leads[:per_page], len(leads) > per_page
        data = [
            {
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "email": lead.email,
                "converted_at": iso_ms(lead.converted_ts),
            }
            for lead in page
        ]
        return 200, {
            "data": data,
            "page_info": {
                "has_next_page": more,
                "has_previous_page": after is not None,
                "end_cursor": encode_cursor(*_lead_key(page[-1])) if page else None,
                "start_cursor": encode_cursor(*_lead_key(page[0])) if page else None,
            },
        }

    def languages(self, media: Media, q: Query, now_ts: int) -> Reply:
        lo, hi = date_range(q)
        per_page = _per_page(q, 100)
        lo, hi = self._days(lo, hi, now_ts)
        counts: dict[str, int] = {}
        for f in self._cells(media, lo, hi, now_ts):
            for v in f.visitor[: f.n_plays].tolist():
                lang = self.facts.language(v)
                counts[lang] = counts.get(lang, 0) + 1
        total = sum(counts.values())
        captions = self.facts.captions(media.index)
        rows = [
            {
                "language": lang,
                "plays": n,
                "percent_of_total_plays": n / total,
                "captions_support": lang in captions,
            }
            for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return 200, rows[:per_page]


def _lead_key(lead: Lead) -> tuple[int, int]:
    """Leads are ordered by converted_at, then by their session: the cursor's position."""
    return lead.converted_ts, lead.session_hash


def _periods(granularity: str, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """(period start, first day in range, last day in range) of each period intersecting lo..hi."""
    out = []
    day = lo
    while day <= hi:
        d = date.fromordinal(day)
        if granularity == "daily":
            start, nxt = day, day + 1
        elif granularity == "weekly":
            start = day - d.weekday()  # ISO weeks start on Monday
            nxt = start + 7
        else:
            start = d.replace(day=1).toordinal()
            nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1).toordinal()
        out.append((start, day, min(nxt - 1, hi)))
        day = nxt
    return out


def _sorted(rows: list[Json], sort_by: str, desc: bool, tie: str) -> list[Json]:
    """Sorted by the metric (None last either way), ties by the group value ascending: deterministic."""
    rows = sorted(rows, key=lambda r: r[tie])
    present = [r for r in rows if r[sort_by] is not None]
    missing = [r for r in rows if r[sort_by] is None]
    present.sort(key=lambda r: r[sort_by], reverse=desc)  # stable: ties keep the value order
    return present + missing

"""A realistic Bronze lake generated straight from the sandbox's synthetic account (no HTTP), for benchmarks.

`ensure_lake(n_events)` picks the most recent days of the large account that hold about `n_events` viewing
sessions (1M ~ 52 days, 10M ~ the whole 730-day history) and writes what a backfill ingestion of those days
would have written, in the same file layout and JSON shape:

- `projects`, `medias`: snapshot pages of 100 (the sandbox Renderer's payloads), 20 pages per file;
- `media_daily_stats`: one by_date record per media and day (context `media_id`), one page per media, 100
  medias per file; `media_lifetime_stats` and `media_engagement`: one object per media, computed over the
  generated days so they reconcile with the events;
- `events`: each day's sessions newest first (as the API pages them), pages of 100, files of 20 pages.

Events are rendered in 2 worker processes by day ranges, each with its own `SyntheticAccount`, by
`FastRenderer` (the sandbox Renderer with per-visitor and per-media caches and without per-event numpy
scalar calls); a self-check compares its output with `Renderer.event` byte for byte before generating.
Bronze visitors are not generated (the account-wide visitors snapshot is not part of this benchmark).

A "next day" batch sits beside the base lake: the following day's events and by_date rows plus the
per-run snapshots (medias, projects, lifetime stats, engagement) under a later run id and ingestion time,
for the incremental measurement.

Generated lakes are cached under `$WISTIA_BENCH_CACHE` (default /tmp/wistia-bench-cache), keyed by
(size, days, seed), so re-runs skip generation.
"""

from __future__ import annotations

import bisect
import json
import math
import multiprocessing
import os
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wistia_analytics.ingest.load_modes import FLUSH_OBJECTS, FLUSH_PAGES
from wistia_analytics.lake.bronze import BronzeWriter, Lineage, list_bronze_files
from wistia_analytics.lake.layout import bronze_file
from wistia_analytics.lake.storage import Storage
from wistia_analytics.sandbox import SandboxConfig, vocab
from wistia_analytics.sandbox.keys import mix, visitor_hash
from wistia_analytics.sandbox.keys import visitor_key as make_visitor_key
from wistia_analytics.sandbox.media_catalog import DAY_SECONDS, Media, day_start_ts
from wistia_analytics.sandbox.payloads import _COUNTRY_CDF, _DEVICE_CDF, ACCOUNT_SLUG, Json, Renderer, VisitorProfile
from wistia_analytics.sandbox.sessions import Cell
from wistia_analytics.sandbox.truth import EventRef, SyntheticAccount

TODAY = date(2026, 11, 25)  # the last generated day; the next-day batch is the day after
SIZE = "large"
SEED = 42
PER_PAGE = 100
WORKERS = 2
CHUNK_DAYS = 8  # days per worker task (tasks are handed out as workers free up)
INGEST_HOUR = 6  # each batch is ingested at 06:00 UTC the day after its last day
FORMAT = 1  # bump when the generated content changes: cached lakes of older formats are not reused
EVENTS_PATH = "/stats/events.json"
_MAX_FILES_PER_DAY = 100  # part numbers are day_index * 100 + file: room for 200,000 events a day


def cache_root() -> Path:
    return Path(os.environ.get("WISTIA_BENCH_CACHE", "/tmp/wistia-bench-cache"))


def _config() -> SandboxConfig:
    return SandboxConfig(size=SIZE, seed=SEED, today=TODAY, rate_limit_per_minute=0)


# ---- a faster Renderer.event (same JSON, same random draws) -----------------------------------------------
_COUNTRY = [float(x) for x in _COUNTRY_CDF]
_DEVICE = [float(x) for x in _DEVICE_CDF]


class FastRenderer(Renderer):
    """`Renderer.event` with caches: visitor profile, key and user agent per visitor; thumbnail per media."""

    def __init__(self, account: SyntheticAccount) -> None:
        super().__init__(account)
        self._visitors: dict[int, tuple[VisitorProfile, str, Json]] = {}
        self._thumbs: dict[int, Json] = {}
        self._day_prefix: dict[int, str] = {}

    def visitor_profile(self, visitor: int) -> VisitorProfile:
        """As `Renderer.visitor_profile`, with scalar arithmetic instead of one-element numpy calls."""
        seed = self.seed
        h = visitor_hash(visitor, seed)
        r = random.Random(h)
        draw = mix(visitor, seed, 6) % 100  # == identified_mask(np.array([visitor]))[0]
        identified, has_email, gate = draw < 14, draw < 12, draw < 8
        first, last = r.choice(vocab.FIRST_NAMES), r.choice(vocab.LAST_NAMES)
        company = r.choice(vocab.COMPANIES)
        domain = company.lower().replace(" ", "") + ".example"
        legacy = self.is_legacy_visitor(visitor)
        name: str | None = f"{first} {last}" if identified else (None if legacy else "")
        ci = min(bisect.bisect_left(_COUNTRY, r.random() * _COUNTRY[-1]), len(vocab.COUNTRIES) - 1)
        country, _, places = vocab.COUNTRIES[ci]
        region, city, lat, lon = r.choice(places)
        di = min(bisect.bisect_left(_DEVICE, r.random() * _DEVICE[-1]), len(vocab.DEVICES) - 1)
        browser, version, platform, mobile, _ = vocab.DEVICES[di]
        return VisitorProfile(
            name=name,
            email=f"{first}.{last}{h % 97}@{domain}".lower() if has_email else None,
            org_name=company if identified else None,
            org_title=r.choice(vocab.TITLES) if identified else None,
            by_email_gate=gate,
            country=country,
            region=region,
            city=city,
            lat=round(lat + r.uniform(-0.2, 0.2), 4),
            lon=round(lon + r.uniform(-0.2, 0.2), 4),
            ip=f"{r.choice((24, 50, 64, 73, 81, 98, 109, 151, 186, 203))}.{r.randint(0, 255)}."
            f"{r.randint(0, 255)}.{r.randint(1, 254)}",
            isp=r.choice(vocab.ORGS),
            browser=browser,
            browser_version=version,
            platform=platform,
            mobile=mobile,
        )

    def _visitor(self, visitor: int) -> tuple[VisitorProfile, str, Json]:
        hit = self._visitors.get(visitor)
        if hit is None:
            if len(self._visitors) > 400_000:  # visitors are active for 30 days: old ones are not seen again
                self._visitors.clear()
            prof = self.visitor_profile(visitor)
            cohort = self.catalog.cohort_of(visitor) or self.catalog.history_start
            key = make_visitor_key(visitor, day_start_ts(cohort), cohort >= self.catalog.cutover_day, self.seed)
            ua = {
                "browser": prof.browser,
                "browser_version": prof.browser_version,
                "platform": prof.platform,
                "mobile": prof.mobile,
            }
            hit = self._visitors[visitor] = (prof, key, ua)
        return hit

    def _thumbnail(self, m: Media) -> Json:
        thumb = self._thumbs.get(m.id)
        if thumb is None:
            thumb = self._thumbs[m.id] = {
                "url": f"https://embed-ssl.wistia.com/deliveries/{_hex40(m.id)}.bin",
                "width": 640,
                "height": 360,
                "fileSize": 30_000 + m.id % 20_000,
                "contentType": "image/jpeg",
                "type": "StillImageFile",
            }
        return thumb

    def _stamp(self, ts: int, legacy: bool) -> str:
        day, sec = divmod(ts, DAY_SECONDS)
        prefix = self._day_prefix.get(day)
        if prefix is None:
            prefix = self._day_prefix[day] = date.fromordinal(719163 + day).isoformat()
        hms = f"{prefix}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        return f"{hms}Z" if legacy else f"{hms}.000Z"

    def cell_events(self, c: Cell, indices: Sequence[int]) -> Iterator[Json]:
        """`Renderer.event(EventRef(c, i))` for each i, in order."""
        m = self.catalog.medias[c.media]
        legacy = c.day < self.catalog.cutover_day
        media_url = f"https://{ACCOUNT_SLUG}.wistia.com/medias/{m.hashed_id}"
        hashes, stamps = c.session_hash.tolist(), c.received_ts.tolist()
        visitors, pvs, channels = c.visitor.tolist(), c.percent_viewed.tolist(), c.channel.tolist()
        token = self.public_token
        for i in indices:
            h, ts = hashes[i], stamps[i]
            r = random.Random(h)
            prof, vkey, ua = self._visitor(visitors[i])
            key = self.key_for_session(h, ts)
            blank_geo = r.random() < 0.03
            body: Json = {
                "received_at": self._stamp(ts, legacy),
                "event_key": key,
                "ip": prof.ip,
                "country": prof.country,
                "region": prof.region,
                "city": prof.city,
                "lat": "" if blank_geo else prof.lat,
                "lon": "" if blank_geo else prof.lon,
                "org": prof.isp,
                "email": prof.email,
                "percent_viewed": pvs[i],
                "embed_url": self.embed_url(vocab.CHANNELS[channels[i]], m, r),
                "conversion_type": "",
                "conversion_data": {},
            }
            if prof.by_email_gate and r.random() < 0.3 and prof.name:
                first, _, last = prof.name.partition(" ")
                body["conversion_type"] = "pre-roll-email"
                body["conversion_data"] = {"email": prof.email, "first_name": first, "last_name": last}
            elif r.random() < 0.003:
                body["conversion_type"] = 2
            body["iframe_heatmap_url"] = (
                f"https://api.wistia.com/v1/stats/events/{key}/iframe.html?public_token={token}"
            )
            body["visitor_key"] = vkey
            if not legacy:
                body["user_agent_details"] = ua
            body["media_id"] = m.hashed_id
            body["media_name"] = m.name
            body["media_url"] = media_url
            if r.random() < (0.95 if legacy else 0.35):
                body["thumbnail"] = self._thumbnail(m)
            yield body


def _hex40(seed: int) -> str:
    r = random.Random(seed)
    return "".join(r.choice("0123456789abcdef") for _ in range(40))


def self_check(account: SyntheticAccount, days: Sequence[int], per_day: int = 600) -> int:
    """FastRenderer must render exactly what Renderer.event renders (legacy and current formats)."""
    fast, slow = FastRenderer(account), Renderer(account)
    checked = 0
    for day in days:
        for c in _day_cells(account, day):
            idx = list(range(min(c.size, max(1, per_day // 50))))
            for i, body in zip(idx, fast.cell_events(c, idx), strict=True):
                expected = json.dumps(slow.event(EventRef(c, i)))
                if json.dumps(body) != expected:
                    raise AssertionError(f"FastRenderer differs from Renderer.event: {json.dumps(body)} != {expected}")
                checked += 1
    return checked


# ---- per-day work -------------------------------------------------------------------------------------------
def _day_cells(account: SyntheticAccount, day: int) -> list[Cell]:
    return [account.cell(m.index, day) for m in account.catalog.medias if day >= m.created_day]


def _buckets(m: Media) -> int:
    return min(math.ceil(m.duration_seconds), 1000)


@dataclass
class Totals:
    """What a set of days contributes to the per-media snapshots (lifetime stats, engagement)."""

    loads: npt.NDArray[np.int64]
    plays: npt.NDArray[np.int64]
    watch: npt.NDArray[np.float64]
    pv_sum: npt.NDArray[np.float64]
    reach: list[npt.NDArray[np.int64]]  # per media: sessions per number of engagement buckets reached
    visitors: list[list[npt.NDArray[np.int64]]]  # per media: distinct visitors, per chunk

    @classmethod
    def empty(cls, medias: Sequence[Media]) -> Totals:
        n = len(medias)
        return cls(
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            np.zeros(n),
            np.zeros(n),
            [np.zeros(_buckets(m) + 1, dtype=np.int64) for m in medias],
            [[] for _ in medias],
        )

    def add(self, other: Totals, sign: int = 1) -> None:
        self.loads += sign * other.loads
        self.plays += sign * other.plays
        self.watch += sign * other.watch
        self.pv_sum += sign * other.pv_sum
        for mine, theirs in zip(self.reach, other.reach, strict=True):
            mine += sign * theirs
        if sign > 0:
            for mine_v, theirs_v in zip(self.visitors, other.visitors, strict=True):
                mine_v.extend(theirs_v)


def _contribution(account: SyntheticAccount, days: Sequence[int], now_ts: int) -> tuple[Totals, np.ndarray]:
    """Totals of `days` at `now_ts`, and the by_date figures (days x medias x [loads, plays, watch])."""
    medias = account.catalog.medias
    totals = Totals.empty(medias)
    by_date = np.zeros((len(days), len(medias), 3))
    seen: list[list[npt.NDArray[np.int64]]] = [[] for _ in medias]
    for k, day in enumerate(days):
        for m in medias:
            if day < m.created_day:
                continue
            s = account.cell_stats(m.index, day, now_ts)
            by_date[k, m.index] = (s.loads, s.plays, s.watch_seconds)
            totals.loads[m.index] += s.loads
            totals.plays[m.index] += s.plays
            totals.watch[m.index] += s.watch_seconds
            totals.pv_sum[m.index] += s.percent_viewed_sum
            c = account.cell(m.index, day)
            vis = c.visible_mask(now_ts)
            nb = _buckets(m)
            reach = np.minimum(np.ceil(c.percent_viewed[vis] * nb).astype(np.int64), nb)
            totals.reach[m.index] += np.bincount(reach, minlength=nb + 1)
            seen[m.index].append(c.visitor[vis])
    totals.visitors = [[np.unique(np.concatenate(v))] if v else [] for v in seen]
    return totals, by_date


def _day_events(renderer: FastRenderer, cells: list[Cell], now_ts: int) -> list[Json]:
    """The visible sessions of a day, rendered, in the API's order (newest first; ties: event key descending)."""
    parts = [(c, np.nonzero(c.visible_mask(now_ts))[0]) for c in cells]
    parts = [(c, i) for c, i in parts if i.size]
    if not parts:
        return []
    ts = np.concatenate([c.received_ts[i] for c, i in parts])
    hashes = np.concatenate([c.session_hash[i] for c, i in parts])
    order = np.lexsort((hashes, ts))[::-1]
    rendered = [body for c, i in parts for body in renderer.cell_events(c, i.tolist())]
    return [rendered[k] for k in order.tolist()]


@dataclass(frozen=True)
class _Batch:
    """One ingestion run's identity and where its Bronze goes."""

    lake: str
    run_id: str
    ingested_at: str  # ISO
    first_day: int  # ordinal of the batch's first events day (part numbers count from it)

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.ingested_at)

    @property
    def now_ts(self) -> int:
        return int(self.moment.timestamp())


_WORKER: dict[str, Any] = {}


def _worker_init() -> None:
    account = SyntheticAccount(_config())
    _WORKER["account"] = account
    _WORKER["renderer"] = FastRenderer(account)


def _events_day(account: SyntheticAccount, renderer: FastRenderer, batch: _Batch, day: int) -> tuple[int, int, int]:
    """Write one day's events as ingestion would: pages of 100, files of 20 pages. -> (events, files, bytes)."""
    storage = Storage.from_uri(batch.lake)
    writer = BronzeWriter(storage, batch.run_id, batch.moment)
    iso = date.fromordinal(day).isoformat()
    records = _day_events(renderer, _day_cells(account, day), batch.now_ts)
    per_file = PER_PAGE * FLUSH_PAGES
    files = written = 0
    for k, start in enumerate(range(0, len(records), per_file)):
        if k >= _MAX_FILES_PER_DAY:
            raise ValueError(f"more than {_MAX_FILES_PER_DAY * per_file} events on {iso}")
        pages = []
        for offset in range(start, min(start + per_file, len(records)), PER_PAGE):
            number = offset // PER_PAGE + 1
            params = {"start_date": iso, "end_date": iso, "page": number, "per_page": PER_PAGE}
            pages.append((records[offset : offset + PER_PAGE], Lineage(EVENTS_PATH, params, number)))
        data, _ = writer.encode("events", pages)
        part = (day - batch.first_day) * _MAX_FILES_PER_DAY + k + 1
        if not storage.write_bytes_if_absent(bronze_file("events", writer.ingest_date, batch.run_id, part), data):
            raise FileExistsError(f"events part {part} of run {batch.run_id} already exists")
        files += 1
        written += len(data)
    return len(records), files, written


def _worker_chunk(task: tuple[_Batch, list[int]]) -> dict[str, Any]:
    batch, days = task
    account: SyntheticAccount = _WORKER["account"]
    renderer: FastRenderer = _WORKER["renderer"]
    events = files = written = 0
    for day in days:
        n, f, b = _events_day(account, renderer, batch, day)
        events, files, written = events + n, files + f, written + b
    totals, by_date = _contribution(account, days, batch.now_ts)
    return {"days": days, "events": events, "files": files, "bytes": written, "totals": totals, "by_date": by_date}


# ---- snapshots and by_date ------------------------------------------------------------------------------------
def _write_objects(
    writer: BronzeWriter, stream: str, objects: list[tuple[Media, str, dict[str, Any], list[Json]]]
) -> None:
    """Per-media objects, 100 medias per file (FLUSH_OBJECTS), each with its request path and media context."""
    for start in range(0, len(objects), FLUSH_OBJECTS):
        pages = [
            (rows, Lineage(path, params, None, context={"media_id": m.hashed_id}))
            for m, path, params, rows in objects[start : start + FLUSH_OBJECTS]
            if rows
        ]
        if pages:
            writer.write_pages(stream, pages)


def _write_snapshots(account: SyntheticAccount, writer: BronzeWriter, totals: Totals) -> None:
    render = Renderer(account)
    medias = sorted(account.catalog.medias, key=lambda m: m.id)  # the API's default order, as ingestion reads it
    projects = sorted(account.catalog.projects, key=lambda p: p.id)
    for stream, path, items in (
        ("projects", "/projects.json", [render.project(p) for p in projects]),
        ("medias", "/medias.json", [render.media(m) for m in medias]),
    ):
        pages = [
            (
                items[k : k + PER_PAGE],
                Lineage(path, {"page": k // PER_PAGE + 1, "per_page": PER_PAGE}, k // PER_PAGE + 1),
            )
            for k in range(0, len(items), PER_PAGE)
        ]
        for start in range(0, len(pages), FLUSH_PAGES):
            writer.write_pages(stream, pages[start : start + FLUSH_PAGES])
    lifetime, engagement = [], []
    for m in medias:
        i = m.index
        loads, plays = int(totals.loads[i]), int(totals.plays[i])
        visitors = np.unique(np.concatenate(totals.visitors[i])).size if totals.visitors[i] else 0
        body: Json = {
            "load_count": loads,
            "play_count": plays,
            "play_rate": plays / loads if loads else 0.0,
            "hours_watched": float(totals.watch[i]) / 3600,
            "engagement": float(totals.pv_sum[i]) / plays if plays else 0.0,
            "visitors": int(visitors),
        }
        if m.has_actions:  # as the sandbox's stats/medias route
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
        lifetime.append((m, f"/stats/medias/{m.hashed_id}.json", {}, [body]))
        # engagement curve as the sandbox's engagement route computes it, over the generated days
        counts = totals.reach[i]
        sessions = int(counts.sum())
        watched = (sessions - np.cumsum(counts)[:-1]).astype(np.int64)
        n = len(watched)
        peak = (m.id % 60 + 20) / 100
        pos = np.arange(n) / max(n, 1)
        rewatch = np.floor(watched * (0.04 + 0.12 * np.exp(-((pos - peak) ** 2) / (2 * 0.05**2)))).astype(np.int64)
        curve = {
            "engagement": float(totals.pv_sum[i]) / sessions if sessions else 0.0,
            "engagement_data": watched.tolist(),
            "rewatch_data": rewatch.tolist(),
        }
        engagement.append((m, f"/stats/medias/{m.hashed_id}/engagement.json", {}, [curve]))
    _write_objects(writer, "media_lifetime_stats", lifetime)
    _write_objects(writer, "media_engagement", engagement)


def _write_by_date(account: SyntheticAccount, writer: BronzeWriter, days: list[int], by_date: np.ndarray) -> None:
    """One page per media: its by_date rows over the days (from its creation day), as ingestion fetches them."""
    objects = []
    for m in sorted(account.catalog.medias, key=lambda m: m.id):
        first = max(days[0], m.created_day)
        rows = [
            {
                "date": date.fromordinal(day).isoformat(),
                "load_count": int(by_date[k, m.index, 0]),
                "play_count": int(by_date[k, m.index, 1]),
                "hours_watched": float(by_date[k, m.index, 2]) / 3600,
            }
            for k, day in enumerate(days)
            if day >= first
        ]
        params = {"start_date": date.fromordinal(first).isoformat(), "end_date": date.fromordinal(days[-1]).isoformat()}
        objects.append((m, f"/stats/medias/{m.hashed_id}/by_date.json", params, rows))
    _write_objects(writer, "media_daily_stats", objects)


# ---- the lake -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedLake:
    """A cached generated Bronze: `base` and `next_batch` are lake roots holding only `bronze/`."""

    root: str
    size: str
    seed: int
    first_day: str
    last_day: str
    next_day: str
    days: int
    events: int
    events_files: int
    events_bytes: int
    next_events: int
    generation_seconds: float
    checked_events: int
    cached: bool = False

    @property
    def base(self) -> Path:
        return Path(self.root) / "base"

    @property
    def next_batch(self) -> Path:
        return Path(self.root) / "next"

    def bronze_bytes(self, which: str = "base") -> int:
        return sum(p.stat().st_size for p in (Path(self.root) / which).rglob("*.jsonl.gz"))

    def events_paths(self) -> list[str]:
        """Lake-relative paths of the base lake's events files (oldest first)."""
        return list_bronze_files(Storage.from_uri(str(self.base)), "events")


def days_for_events(n_events: int) -> int:
    """How many days ending at TODAY hold about `n_events` expected sessions (at most the whole history)."""
    account = SyntheticAccount(_config())
    start = account.catalog.history_start
    per_day = account.catalog.expected_sessions(start, TODAY.toordinal())[::-1]
    reached = np.nonzero(np.cumsum(per_day) >= n_events * 0.999)[0]
    return int(reached[0]) + 1 if reached.size else len(per_day)


def _batch(lake: Path, last_day: int, first_day: int, suffix: str) -> _Batch:
    moment = datetime.combine(date.fromordinal(last_day + 1), datetime.min.time(), UTC) + timedelta(hours=INGEST_HOUR)
    run_id = f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{suffix}"
    return _Batch(str(lake), run_id, moment.isoformat(), first_day)


def ensure_lake(n_events: int, *, workers: int = WORKERS, log: bool = True) -> GeneratedLake:
    """The cached generated lake for about `n_events` events; generated (once) when missing."""
    days = days_for_events(n_events)
    key = f"{SIZE}-seed{SEED}-days{days}-to{TODAY.isoformat()}-f{FORMAT}"
    root = cache_root() / key
    meta = root / "lake.json"
    if meta.exists():
        return GeneratedLake(**(json.loads(meta.read_text()) | {"root": str(root), "cached": True}))
    work = cache_root() / f".{key}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    account = SyntheticAccount(_config())
    last_day = TODAY.toordinal()
    first_day, next_day = last_day - days + 1, last_day + 1
    all_days = list(range(first_day, last_day + 1))
    checked = self_check(account, [all_days[0], all_days[-1], account.catalog.cutover_day - 1])
    base = _batch(work / "base", last_day, first_day, "000001")
    later = _batch(work / "next", next_day, next_day, "000002")
    if log:
        print(
            f"  generating Bronze: {SIZE} account, {days} days {date.fromordinal(first_day)}..{TODAY} "
            f"(~{n_events:,} events) in {workers} processes into {root} ..."
        )
    # Biggest days first, so that the last tasks handed out are small ones.
    chunks = [all_days[k : k + CHUNK_DAYS] for k in range(0, len(all_days), CHUNK_DAYS)][::-1]
    totals = Totals.empty(account.catalog.medias)
    by_date = np.zeros((days, len(account.catalog.medias), 3))
    events = files = written = 0
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        for done in pool.imap_unordered(_worker_chunk, [(base, c) for c in chunks]):
            events, files, written = events + done["events"], files + done["files"], written + done["bytes"]
            totals.add(done["totals"])
            by_date[done["days"][0] - first_day : done["days"][-1] - first_day + 1] = done["by_date"]
        _worker_init()  # this process renders the small next-day batch itself
        next_events, _, _ = _events_day(_WORKER["account"], _WORKER["renderer"], later, next_day)
    writer = BronzeWriter(Storage.from_uri(base.lake), base.run_id, base.moment)
    _write_by_date(account, writer, all_days, by_date)
    _write_snapshots(account, writer, totals)
    # Next day: its by_date rows; the snapshots move by the new day and by the late arrivals of the last
    # days (visible 20-48 hours after they happened) that the base batch could not see yet.
    tail = all_days[-2:]
    before, _ = _contribution(account, tail, base.now_ts)
    after, next_by_date = _contribution(account, [*tail, next_day], later.now_ts)
    totals.add(before, -1)
    totals.add(after)
    writer = BronzeWriter(Storage.from_uri(later.lake), later.run_id, later.moment)
    _write_by_date(account, writer, [next_day], next_by_date[-1:])
    _write_snapshots(account, writer, totals)
    lake = GeneratedLake(
        root=str(root),
        size=SIZE,
        seed=SEED,
        first_day=date.fromordinal(first_day).isoformat(),
        last_day=TODAY.isoformat(),
        next_day=date.fromordinal(next_day).isoformat(),
        days=days,
        events=events,
        events_files=files,
        events_bytes=written,
        next_events=next_events,
        generation_seconds=time.perf_counter() - started,
        checked_events=checked,
    )
    (work / "lake.json").write_text(json.dumps({k: v for k, v in asdict(lake).items() if k not in ("root", "cached")}))
    if (root / "lake.json").exists():  # another process generated the same lake meanwhile: keep theirs
        shutil.rmtree(work, ignore_errors=True)
    else:
        shutil.rmtree(root, ignore_errors=True)  # a partial leftover without lake.json
        work.rename(root)
    if log:
        print(
            f"  generated {events:,} events in {files:,} files ({written / 1e9:.2f} GB gzip) + next day "
            f"{next_events:,} events in {lake.generation_seconds:.1f} s "
            f"({lake.generation_seconds / max(events, 1) * 1e6 * workers:.0f} us CPU/event); "
            f"FastRenderer checked against Renderer.event on {checked:,} events"
        )
    return lake


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:] or ["1000000"]:
        print(ensure_lake(int(arg)))

"""The synthetic account's single source of truth, queried by every route.

All figures come from the same generated sessions (`sessions.Cell`), seen at the clock's "now": a
session counts once it has happened and arrived (late arrivals show up 20-48 hours after `received_at`).
Per-cell figures of settled cells are cached in dense arrays; everything else is computed on demand,
so the large account (10M sessions) is never materialised.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from wistia_analytics.sandbox.config import EVENT_RETENTION_DAYS, SandboxConfig
from wistia_analytics.sandbox.keys import mix_array
from wistia_analytics.sandbox.media_catalog import COHORT_SPAN_DAYS, DAY_SECONDS, Catalog, Media, day_start_ts
from wistia_analytics.sandbox.sessions import Cell, generate_cell


@dataclass(frozen=True)
class CellStats:
    """What one (media, day) cell contributes to the aggregates at a given now."""

    loads: int
    plays: int
    watch_seconds: float  # sum of percent_viewed * duration
    percent_viewed_sum: float


@dataclass(frozen=True)
class EventRef:
    cell: Cell
    index: int


@dataclass(frozen=True)
class VisitorTable:
    """Per-visitor aggregates over all visible sessions; arrays are indexed by visitor number."""

    plays: npt.NDArray[np.int64]
    first_ts: npt.NDArray[np.int64]
    first_hash: npt.NDArray[np.uint64]
    last_ts: npt.NDArray[np.int64]
    last_hash: npt.NDArray[np.uint64]
    order: npt.NDArray[np.int64]  # visitor numbers with plays > 0, last_active desc then number asc


def day_of(ts: int) -> int:
    """Date ordinal of a unix timestamp (UTC)."""
    return 719163 + ts // DAY_SECONDS  # 719163 == date(1970, 1, 1).toordinal()


class SyntheticAccount:
    """Answers every question the routes ask, from one set of generated sessions."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalog = Catalog(config)
        self.seed = config.seed
        self._lock = threading.RLock()
        n_days = self.catalog.first_sync_today - self.catalog.history_start + 1 + 400
        n = len(self.catalog.medias)
        self._settled = np.zeros((n, n_days), dtype=bool)
        self._loads = np.zeros((n, n_days), dtype=np.int64)
        self._plays = np.zeros((n, n_days), dtype=np.int64)
        self._watch = np.zeros((n, n_days), dtype=np.float64)
        self._pv_sum = np.zeros((n, n_days), dtype=np.float64)
        self._cell = lru_cache(maxsize=20_000)(self._make_cell)
        self._all_medias = tuple(range(n))  # one shared tuple: cheap cache keys below
        self._visitor_base: tuple[int, VisitorTable] | None = None
        self._visitor_cache: tuple[int, VisitorTable] | None = None

    # ---- cells
    def _make_cell(self, media: int, day: int) -> Cell:
        with self._lock:
            self.catalog.ensure_cohorts(day)
        return generate_cell(self.catalog, media, day)

    def cell(self, media: int, day: int) -> Cell:
        return self._cell(media, day)

    def media_days(self, media: Media, first: int, last: int) -> range:
        """Days of `first..last` on which `media` can have sessions."""
        return range(max(first, media.created_day, self.catalog.history_start), last + 1)

    def cell_stats(self, media: int, day: int, now_ts: int) -> CellStats:
        off = day - self.catalog.history_start
        if off < 0 or day > day_of(now_ts) or day < self.catalog.medias[media].created_day:
            return CellStats(0, 0, 0.0, 0.0)
        in_range = off < self._settled.shape[1]
        if in_range and self._settled[media, off]:
            return CellStats(
                int(self._loads[media, off]),
                int(self._plays[media, off]),
                float(self._watch[media, off]),
                float(self._pv_sum[media, off]),
            )
        cell = self.cell(media, day)
        duration = self.catalog.medias[media].duration_seconds
        vis = cell.visible_mask(now_ts)
        pv = cell.percent_viewed[vis]
        plays = int(vis.sum())
        loads = plays + int(np.searchsorted(cell.nonplay_load_ts, now_ts, side="right"))
        stats = CellStats(loads, plays, float((pv * duration).sum()), float(pv.sum()))
        if in_range and cell.is_settled(now_ts):
            with self._lock:
                self._loads[media, off] = stats.loads
                self._plays[media, off] = stats.plays
                self._watch[media, off] = stats.watch_seconds
                self._pv_sum[media, off] = stats.percent_viewed_sum
                self._settled[media, off] = True
        return stats

    # ---- media and account aggregates
    def media_lifetime(self, media: int, now_ts: int) -> dict[str, float]:
        m = self.catalog.medias[media]
        loads = plays = 0
        watch = pv_sum = 0.0
        for day in self.media_days(m, self.catalog.history_start, day_of(now_ts)):
            s = self.cell_stats(media, day, now_ts)
            loads += s.loads
            plays += s.plays
            watch += s.watch_seconds
            pv_sum += s.percent_viewed_sum
        return {"loads": loads, "plays": plays, "watch_seconds": watch, "percent_viewed_sum": pv_sum}

    def media_visitors(self, media: int, now_ts: int) -> int:
        """Distinct visitors among the media's visible sessions."""
        m = self.catalog.medias[media]
        seen = [
            c.visitor[c.visible_mask(now_ts)]
            for c in (self.cell(media, d) for d in self.media_days(m, self.catalog.history_start, day_of(now_ts)))
        ]
        return int(np.unique(np.concatenate(seen)).size) if seen else 0

    def engagement_curve(self, media: int, now_ts: int) -> tuple[npt.NDArray[np.int64], int]:
        """engagement_data: sessions that reached each bucket (1 s each, or 1000 buckets for long videos)."""
        m = self.catalog.medias[media]
        n_buckets = min(int(np.ceil(m.duration_seconds)), 1000)
        counts = np.zeros(n_buckets + 1, dtype=np.int64)
        sessions = 0
        for day in self.media_days(m, self.catalog.history_start, day_of(now_ts)):
            c = self.cell(media, day)
            pv = c.percent_viewed[c.visible_mask(now_ts)]
            sessions += pv.size
            reach = np.minimum(np.ceil(pv * n_buckets).astype(np.int64), n_buckets)
            counts += np.bincount(reach, minlength=n_buckets + 1)
        # A session that reached k buckets watched buckets 0..k-1.
        watched = sessions - np.cumsum(counts)[:-1]
        return watched.astype(np.int64), sessions

    # ---- events
    def retention_first_day(self, now_ts: int) -> int:
        return day_of(now_ts) - EVENT_RETENTION_DAYS + 1

    def event_day_bounds(self, start: int | None, end: int | None, now_ts: int) -> tuple[int, int]:
        lo = max(self.retention_first_day(now_ts), self.catalog.history_start)
        hi = day_of(now_ts)
        if start is not None:
            lo = max(lo, start)
        if end is not None:
            hi = min(hi, end)
        return lo, hi

    @lru_cache(maxsize=1024)  # noqa: B019 - as _day_sorted; paging a day asks for its count on every page
    def _day_count(self, day: int, medias: tuple[int, ...], now_ts: int) -> int:
        return sum(self.cell_stats(m, day, now_ts).plays for m in medias)

    @lru_cache(maxsize=16)  # noqa: B019 - one account per server, the cache lives as long as it does
    def _day_sorted(self, day: int, medias: tuple[int, ...], visitor: int | None, now_ts: int) -> list[EventRef]:
        refs: list[tuple[Cell, npt.NDArray[np.int64]]] = []
        for m in medias:
            if day < self.catalog.medias[m].created_day:
                continue
            c = self.cell(m, day)
            mask = c.visible_mask(now_ts)
            if visitor is not None:
                mask &= c.visitor == visitor
            idx = np.nonzero(mask)[0]
            if idx.size:
                refs.append((c, idx))
        if not refs:
            return []
        ts = np.concatenate([c.received_ts[i] for c, i in refs])
        hashes = np.concatenate([c.session_hash[i] for c, i in refs])
        owner = np.concatenate([np.full(i.size, k) for k, (_, i) in enumerate(refs)])
        index = np.concatenate([i for _, i in refs])
        order = np.lexsort((hashes, ts))[::-1]  # newest first; ties: event key descending
        return [EventRef(refs[int(owner[o])][0], int(index[o])) for o in order]

    def events_page(
        self,
        *,
        media: int | None,
        visitor: int | None,
        start: int | None,
        end: int | None,
        offset: int,
        limit: int,
        now_ts: int,
    ) -> list[EventRef]:
        lo, hi = self.event_day_bounds(start, end, now_ts)
        if visitor is not None:
            cohort = self.catalog.cohort_of(visitor)
            if cohort is None:
                return []
            lo, hi = max(lo, cohort), min(hi, cohort + COHORT_SPAN_DAYS)
        medias = (media,) if media is not None else self._all_medias
        out: list[EventRef] = []
        skip = offset
        for day in range(hi, lo - 1, -1):
            if visitor is None:
                count = self._day_count(day, medias, now_ts)
                if skip >= count:
                    skip -= count
                    continue
            rows = self._day_sorted(day, medias, visitor, now_ts)
            if skip >= len(rows):
                skip -= len(rows)
                continue
            out.extend(rows[skip : skip + limit - len(out)])
            skip = 0
            if len(out) >= limit:
                break
        return out

    def event(self, media: int, day: int, index: int, now_ts: int) -> EventRef | None:
        if not 0 <= media < len(self.catalog.medias):
            return None
        lo, hi = self.event_day_bounds(None, None, now_ts)
        if not lo <= day <= hi or day < self.catalog.medias[media].created_day:
            return None
        c = self.cell(media, day)
        if index >= c.size or not c.visible_mask(now_ts)[index]:
            return None
        return EventRef(c, index)

    # ---- visitors
    def _scan_visitors(self, first_day: int, last_day: int, now_ts: int, into: VisitorTable) -> None:
        for day in range(first_day, last_day + 1):
            for m in range(len(self.catalog.medias)):
                if day < self.catalog.medias[m].created_day:
                    continue
                c = self.cell(m, day)
                vis = c.visible_mask(now_ts)
                v, ts, h = c.visitor[vis], c.received_ts[vis], c.session_hash[vis]
                if not v.size:
                    continue
                np.add.at(into.plays, v, 1)
                later = ts >= into.last_ts[v]
                into.last_ts[v[later]] = ts[later]  # sorted by time: the last write per visitor is the latest
                into.last_hash[v[later]] = h[later]
                earlier = (into.first_ts[v] < 0) | (ts < into.first_ts[v])
                rv, rts, rh = v[earlier][::-1], ts[earlier][::-1], h[earlier][::-1]  # reversed: earliest wins
                into.first_ts[rv] = rts
                into.first_hash[rv] = rh

    def visitor_table(self, now_ts: int) -> VisitorTable:
        """Aggregates for every visitor; settled days are scanned once, recent days at each new now."""
        with self._lock:
            if self._visitor_cache is not None and self._visitor_cache[0] == now_ts:
                return self._visitor_cache[1]
            today = day_of(now_ts)
            self.catalog.ensure_cohorts(today + 1)
            n = self.catalog.n_visitor_slots
            settled_until = day_of(now_ts - DAY_SECONDS - 2 * DAY_SECONDS)  # cells up to here never change
            if self._visitor_base is None or self._visitor_base[0] > settled_until:
                base = _empty_table(n)
                self._scan_visitors(self.catalog.history_start, settled_until, now_ts, base)
                self._visitor_base = (settled_until, base)
            base_until, base = self._visitor_base
            table = _copy_table(base, n)
            self._scan_visitors(base_until + 1, today, now_ts, table)
            active = np.nonzero(table.plays > 0)[0]
            order = active[np.lexsort((active, -table.last_ts[active]))]
            table = VisitorTable(table.plays, table.first_ts, table.first_hash, table.last_ts, table.last_hash, order)
            self._visitor_cache = (now_ts, table)
            return table

    def visitor_window_stats(self, visitor: int, now_ts: int) -> VisitorTable | None:
        """Aggregates of one visitor, scanning only its cohort's active window."""
        cohort = self.catalog.cohort_of(visitor)
        if cohort is None:
            return None
        table = _empty_table(self.catalog.n_visitor_slots)
        last = min(cohort + COHORT_SPAN_DAYS, day_of(now_ts))
        self._scan_visitors(max(cohort, self.catalog.history_start), last, now_ts, table)
        return table if table.plays[visitor] > 0 else None

    def identified_mask(self, visitors: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        """A per-visitor 0..99 draw that decides identity (see payloads.visitor_profile)."""
        return mix_array(visitors.astype(np.uint64), self.seed, 6) % np.uint64(100)

    def day_start(self, day: int) -> int:
        return day_start_ts(day)


def _empty_table(n: int) -> VisitorTable:
    return VisitorTable(
        plays=np.zeros(n, dtype=np.int64),
        first_ts=np.full(n, -1, dtype=np.int64),
        first_hash=np.zeros(n, dtype=np.uint64),
        last_ts=np.full(n, -1, dtype=np.int64),
        last_hash=np.zeros(n, dtype=np.uint64),
        order=np.zeros(0, dtype=np.int64),
    )


def _copy_table(t: VisitorTable, n: int) -> VisitorTable:
    def grow(a: npt.NDArray[np.generic], fill: int) -> npt.NDArray[np.generic]:
        out = np.full(n, fill, dtype=a.dtype)
        out[: a.size] = a
        return out

    return VisitorTable(
        plays=grow(t.plays, 0),  # type: ignore[arg-type]
        first_ts=grow(t.first_ts, -1),  # type: ignore[arg-type]
        first_hash=grow(t.first_hash, 0),  # type: ignore[arg-type]
        last_ts=grow(t.last_ts, -1),  # type: ignore[arg-type]
        last_hash=grow(t.last_hash, 0),  # type: ignore[arg-type]
        order=t.order,
    )


def make_account(config: SandboxConfig) -> SyntheticAccount:
    return SyntheticAccount(config)

"""The dashboard's one data-access module: small, aggregated answers from Gold.

Every figure follows `docs/metrics.md`: filter the rows (`activity_date` in the range, `media_id` in the
selection), sum the additive columns, then divide; unique visitors are a count of distinct `visitor_key` over
`gold_visitor_media_daily`; a channel filter switches plays, watch time and engagement to
`gold_media_channel_daily` (from events) and leaves loads, play rate and unique visitors out, with the reason.
The project filter applies through each media's project (the medias it leaves).

Every query takes bound parameters (`?`) for every value that comes from the reader (dates, ids, channels);
the SQL text is assembled only from the fixed fragments below. Only aggregated rows leave DuckDB.

Speed: a query reads only the Parquet files of the days in its range (the manifests name them per day), and
once per Gold version an in-memory copy of the four date-partitioned tables is built in the background
(`HotCopy`: three small tables in DuckDB, the visitor rows as a NumPy `VisitorIndex`); from then on queries
read the copy. Same rows, same answers. The connection is shared across the dashboard's sessions: each query
runs on its own cursor.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.tables import Manifest, TableStore
from wistia_analytics.query.catalog import open_catalog, read_root
from wistia_analytics.query.lake_status import lake_status

Granularity = Literal["day", "week", "month"]
TrendMetric = Literal["plays", "play_rate", "watch_time", "engagement"]
RankBy = Literal["engagement", "plays", "watch_time"]
KpiKind = Literal["count", "ratio", "seconds"]

log = logging.getLogger(__name__)
HotMode = Literal["background", "later", "now", "off"]

GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
TREND_METRICS: tuple[TrendMetric, ...] = ("plays", "play_rate", "watch_time", "engagement")
RANKINGS: tuple[RankBy, ...] = ("engagement", "plays", "watch_time")

GOLD_TABLES = (
    "gold_media_daily",
    "gold_visitor_media_daily",
    "gold_media_channel_daily",
    "gold_account_daily",
    "gold_media_engagement_curve",
    "gold_reconciliation",
)
DATE_PARTITIONED = ("gold_media_daily", "gold_visitor_media_daily", "gold_media_channel_daily", "gold_account_daily")
OTHER_SERIES = "Other medias"
# Above this many visitor rows the in-memory copy is not built (~90 bytes a row) and queries read Parquet only.
HOT_MAX_VISITOR_ROWS = 40_000_000
# The page's date presets (days; None = all time), all ending on Gold's last day.
PRESET_DAYS: tuple[int | None, ...] = (7, 30, 90, 365, None)
MEMO_SUMS = 6  # per-visitor sums kept from recent queries (2-3 per range and scope: re-ranking re-reads nothing)
# Up to this many candidate visitors, the sums a ranking needs only for tie-breaks are read from their own rows.
CANDIDATES_FROM_ROWS = 50_000

# Why a figure is missing under a channel filter (docs/metrics.md, "Where a filter cannot apply").
NO_LOADS_PER_CHANNEL = (
    "Not available with a channel filter: Wistia reports loads per media and day only, not per channel."
)
NO_PLAY_RATE_PER_CHANNEL = (
    "Not available with a channel filter: Play Rate needs loads, which Wistia reports per media and day only."
)
NO_VISITORS_PER_CHANNEL = (
    "Not available with a channel filter: unique visitors per channel are exact per media, day and channel "
    "only; across days or medias they cannot be computed from Gold."
)
NO_VISITOR_CHANNEL = (
    "Not available with a channel filter: Gold keeps visitors per media and day, not per channel "
    "(gold_visitor_media_daily has no channel)."
)
FROM_EVENTS_WITH_CHANNEL = (
    "With a channel filter, plays and watch time are counted from events (the official figures exist per "
    "media and day only)."
)


class GoldUnavailableError(RuntimeError):
    """The lake has no Gold to show: `kind` is `missing` (nothing published), `empty` or `unreadable`."""

    def __init__(self, kind: Literal["missing", "empty", "unreadable"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


# ---- filters --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the reader selected. Empty selections mean "all"; `end` is inclusive."""

    start: date
    end: date
    media_ids: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        for name in ("media_ids", "project_ids", "channels"):  # one canonical form: stable cache keys
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of equal length just before this one, same selections."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))


# ---- the Gold handle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaInfo:
    media_id: str
    media_name: str
    project_id: str | None
    project_name: str | None
    has_curve: bool


@dataclass(frozen=True)
class Gold:
    """An open catalog over the published Gold plus the small lists every page needs (read once)."""

    con: duckdb.DuckDBPyConnection
    versions: tuple[tuple[str, str], ...]
    first_day: date
    last_day: date
    medias: tuple[MediaInfo, ...]
    channels: tuple[str, ...]
    # date-partitioned table -> ((ISO day, files), ...) of the published version: a query reads only its days
    partitions: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    hot: HotCopy = field(default_factory=lambda: HotCopy(), compare=False)

    def media(self, media_id: str) -> MediaInfo | None:
        return next((m for m in self.medias if m.media_id == media_id), None)

    @property
    def projects(self) -> tuple[tuple[str, str], ...]:
        """(project_id, project_name), by name."""
        seen = {m.project_id: m.project_name or m.project_id for m in self.medias if m.project_id}
        return tuple(sorted(seen.items(), key=lambda p: (p[1].lower(), p[0])))

    def start_hot(self) -> None:
        """Start building the in-memory copy in the background, if not started yet (see `open_gold`)."""
        self.hot.start(self.con)

    def close(self) -> None:
        self.hot.stop()
        self.con.close()


class HotCopy:
    """In-memory copies of the date-partitioned Gold tables, built once per Gold version.

    Reading hundreds of daily Parquet files costs a few hundred milliseconds per query. The three small tables
    are copied into DuckDB sorted by day (a range reads only its blocks); the visitor rows, whose long string
    keys make every grouping and distinct count slow, become a `VisitorIndex` (NumPy columns, visitors numbered
    in key order). Until it is ready (or when it is off), queries read the Parquet files: the answers are the
    same either way.
    """

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.visitors: VisitorIndex | None = None
        self.seconds: float | None = None
        self.error: str | None = None
        self.skipped: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @property
    def max_vid(self) -> int:
        """How many visitors the copy numbered (0 before it is ready)."""
        return self.visitors.visitor_count if self.visitors is not None else 0

    def build(self, con: duckdb.DuckDBPyConnection) -> None:
        started = time.perf_counter()
        cur = self._cursor = con.cursor()
        statements = [
            "CREATE SCHEMA IF NOT EXISTS hot",
            *(
                f"CREATE OR REPLACE TABLE hot.{name} AS SELECT * FROM gold.{name} ORDER BY {order}"
                for name, order in (
                    ("account_daily", "activity_date"),
                    ("media_daily", "activity_date, media_id"),
                    # by channel first: a channel filter reads only that channel's blocks
                    ("media_channel_daily", "channel, activity_date, media_id"),
                )
            ),
            # every media's channels summed per day: the per-channel figures without a media scope read ~10 rows
            # a day instead of ~10 per media and day
            "CREATE OR REPLACE TABLE hot.channel_daily AS SELECT activity_date, channel, sum(plays) AS plays, "
            "sum(watch_time_seconds) AS watch_time_seconds, sum(percent_viewed_sum) AS percent_viewed_sum "
            "FROM gold.media_channel_daily GROUP BY ALL ORDER BY activity_date, channel",
        ]
        try:
            for statement in statements:
                if self._stopping.is_set():
                    return
                cur.execute(statement)
            visitors = VisitorIndex.build(cur, self._stopping)
            if visitors is None:
                return
            last = cur.execute("SELECT max(activity_date) FROM hot.account_daily").fetchone()
            if last and last[0] is not None:
                visitors.pin_presets(last[0])
            self.visitors = visitors
            self.seconds = time.perf_counter() - started
            if not self._stopping.is_set():
                self.ready.set()
                log.info("dashboard: in-memory Gold copy ready in %.1f s", self.seconds)
        except duckdb.Error as exc:  # e.g. interrupted by `stop()`: keep reading Parquet
            self.error = str(exc)
            if not self._stopping.is_set():
                log.warning("dashboard: in-memory Gold copy not built, reading Parquet: %s", exc)
        finally:
            self._cursor = None
            cur.close()

    def start(self, con: duckdb.DuckDBPyConnection) -> None:
        """Build in a background thread (once: later calls do nothing)."""
        with self._lock:
            if self._thread is not None or self.skipped is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self.build, args=(con,), name="gold-hot-copy", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready.is_set()

    def stop(self) -> None:
        """Interrupt a build in progress and wait for it (the connection can only close after)."""
        self._stopping.set()
        self.ready.clear()
        cursor = self._cursor
        if cursor is not None:
            cursor.interrupt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()


@dataclass(frozen=True)
class VisitorTotal:
    """One visitor's sums over a range and scope, as `top_visitors` ranks them."""

    vid: int
    plays: int
    watch: float
    engagement: float | None


class VisitorIndex:
    """`gold_visitor_media_daily` as NumPy columns: exact per-visitor sums and distinct counts in milliseconds.

    Rows are sorted by day (a range is one slice, `day_starts`); `visitor_key` becomes a dense integer `vid`
    numbered in key order (rankings and their tie-breaks are unchanged) and `media_id` a small integer. A
    grouping by visitor is a `bincount` over the slice (recent ones memoised: changing a ranking option re-reads
    nothing), and every preset range over every media is ranked once (`pin_presets`).
    Unique visitors over every media need no grouping at all: a row whose visitor was last seen before the
    range starts (`prev_day`) is that visitor's first row in the range, so counting those rows counts visitors.
    `by_vid` lists each visitor's rows (by `vid_starts`): the few ranked visitors' details read only their rows;
    `by_media` each media's rows (by `media_starts`): a media or project filter reads only its medias' rows.
    """

    def __init__(
        self,
        first_day: date,
        media_ids: tuple[str, ...],
        keys: pa.Array,
        columns: dict[str, np.ndarray],
        names: pa.Array,
        emails: pa.Array,
    ) -> None:
        self.first_day = first_day
        self.media_ids = media_ids
        self._media_index = {m: i for i, m in enumerate(media_ids)}
        self.keys = keys
        self.visitor_count = len(keys)
        self.day: np.ndarray = columns["day"]
        self.vid: np.ndarray = columns["vid"]
        self.media: np.ndarray = columns["media"]
        self.plays: np.ndarray = columns["plays"]
        self.watch: np.ndarray = columns["watch"]
        self.pvs: np.ndarray = columns["pvs"]
        self.identified: np.ndarray = columns["identified"]
        self.prev_day: np.ndarray = columns["prev_day"]
        self.by_vid: np.ndarray = columns["by_vid"]
        self.vid_starts: np.ndarray = columns["vid_starts"]
        self.by_media = np.argsort(self.media, kind="stable").astype(np.int32)  # each media's rows, by day
        self.media_starts = np.searchsorted(self.media[self.by_media], np.arange(len(media_ids) + 2), side="left")
        self.names, self.emails = names, emails
        days = int(self.day[-1]) + 1 if len(self.day) else 0
        self.day_starts = np.searchsorted(self.day, np.arange(days + 1), side="left")
        # every row holds at least one play: a visitor is in a range exactly when its plays there are > 0
        self._plays_mark_presence = bool(len(self.plays) == 0 or self.plays.min() >= 1)
        self._memo: dict[tuple[int, int, tuple[int, ...] | None, str], np.ndarray] = {}
        self._rankings: dict[tuple[int, int, RankBy], np.ndarray] = {}  # pinned ranges, every media: vids in order
        self._memo_lock = threading.Lock()

    @classmethod
    def build(cls, cur: duckdb.DuckDBPyConnection, stopping: threading.Event) -> VisitorIndex | None:
        """Read the visitor rows once (visitors and medias numbered by DuckDB), then index them by day."""
        bounds = cur.execute("SELECT min(activity_date), max(activity_date) FROM gold.visitor_media_daily").fetchone()
        first_day = bounds[0] if bounds and bounds[0] is not None else date(1970, 1, 1)
        statements = [
            "CREATE OR REPLACE TEMP TABLE visitor_ids AS "
            "SELECT visitor_key, CAST(row_number() OVER (ORDER BY visitor_key) - 1 AS INTEGER) AS vid "
            "FROM (SELECT DISTINCT visitor_key FROM gold.visitor_media_daily)",
            "CREATE OR REPLACE TEMP TABLE media_ids AS "
            "SELECT media_id, CAST(row_number() OVER (ORDER BY media_id) - 1 AS INTEGER) AS midx "
            "FROM (SELECT DISTINCT media_id FROM gold.visitor_media_daily)",
        ]
        for statement in statements:
            if stopping.is_set():
                return None
            cur.execute(statement)
        keys = _arrow(cur, "SELECT visitor_key FROM visitor_ids ORDER BY vid").column(0).combine_chunks()
        media_ids = tuple(m for (m,) in cur.execute("SELECT media_id FROM media_ids ORDER BY midx").fetchall())
        if stopping.is_set():
            return None
        rows = _arrow(
            cur,
            """
            SELECT
                CAST(datediff('day', ?::DATE, v.activity_date) AS SMALLINT) AS day,
                k.vid, m.midx AS media, CAST(coalesce(v.plays, 0) AS INTEGER) AS plays,
                CAST(coalesce(v.watch_time_seconds, 0) AS DOUBLE) AS watch,
                CAST(coalesce(v.percent_viewed_sum, 0) AS DOUBLE) AS pvs,
                coalesce(v.is_identified, false) AS identified,
                CASE WHEN v.is_identified THEN v.visitor_name END AS visitor_name,
                CASE WHEN v.is_identified THEN v.visitor_email END AS visitor_email
            FROM gold.visitor_media_daily AS v
            JOIN visitor_ids AS k ON k.visitor_key = v.visitor_key
            JOIN media_ids AS m ON m.media_id = v.media_id
            """,
            [first_day],
        )
        cur.execute("DROP TABLE IF EXISTS visitor_ids")
        cur.execute("DROP TABLE IF EXISTS media_ids")
        if stopping.is_set():
            return None
        fetched = {
            name: rows.column(name).to_numpy()
            for name in ("day", "vid", "media", "plays", "watch", "pvs", "identified")
        }
        # sorted here, not by DuckDB: a 16-bit day sorts in linear time and no string moves
        by_day = np.argsort(fetched["day"], kind="stable")
        by_visitor = by_day[np.argsort(fetched["vid"][by_day], kind="stable")]  # by visitor, then day
        vid, day = fetched["vid"][by_visitor], fetched["day"][by_visitor]
        prev_day = np.full(len(day), -1, dtype=np.int16)  # the visitor's previous row's day (-1: none)
        if len(day):
            prev_day[1:] = day[:-1]
            prev_day[np.flatnonzero(vid[1:] != vid[:-1]) + 1] = -1
        day_row = np.empty(len(by_day), dtype=np.int32)
        day_row[by_day] = np.arange(len(by_day), dtype=np.int32)  # fetched row -> its row in day order
        prev_of_fetched = np.empty_like(prev_day)
        prev_of_fetched[by_visitor] = prev_day
        columns = {name: values[by_day] for name, values in fetched.items()}
        columns["prev_day"] = prev_of_fetched[by_day]
        columns["by_vid"] = day_row[by_visitor]  # the visitor-ordered row i is the day-ordered row by_vid[i]
        columns["vid_starts"] = np.searchsorted(vid, np.arange(len(keys) + 1), side="left")
        taken = pa.array(by_day)
        return cls(
            first_day,
            media_ids,
            keys,
            columns,
            rows.column("visitor_name").take(taken).combine_chunks(),  # one chunk: a lookup is an offset
            rows.column("visitor_email").take(taken).combine_chunks(),
        )

    # ---- ranges and scopes ----------------------------------------------------------------------------

    def _slice(self, start: date, end: date) -> tuple[int, int, int] | None:
        """(first day index, first row, row past the end) of the rows in [start, end]; None when none."""
        days = len(self.day_starts) - 1
        first = max((start - self.first_day).days, 0)
        last = min((end - self.first_day).days, days - 1)
        if first > last:
            return None
        return first, int(self.day_starts[first]), int(self.day_starts[last + 1])

    def _media_codes(self, scope: tuple[str, ...] | None) -> tuple[int, ...] | None:
        if scope is None:
            return None
        return tuple(sorted(self._media_index[m] for m in scope if m in self._media_index))

    def _rows(self, lo: int, hi: int, codes: tuple[int, ...] | None) -> slice | np.ndarray:
        """The rows [lo, hi) in the media scope: a slice for every media, else their indices, read from each
        media's own rows (`by_media`) when the scope holds a small share of the range, else by a mask."""
        if codes is None:
            return slice(lo, hi)
        parts = []
        for code in codes:
            segment = self.by_media[self.media_starts[code] : self.media_starts[code + 1]]  # by day
            first, last = np.searchsorted(segment, [lo, hi])
            parts.append(segment[first:last])
        if sum(len(p) for p in parts) * 4 <= hi - lo:
            picked: np.ndarray = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int32)
            return picked
        wanted = np.zeros(len(self.media_ids) + 1, dtype=bool)
        wanted[list(codes)] = True
        return lo + np.flatnonzero(wanted[self.media[lo:hi]])

    def unique_visitors(self, start: date, end: date, scope: tuple[str, ...] | None) -> int:
        """count(DISTINCT visitor) over the rows in [start, end] and the media scope."""
        span = self._slice(start, end)
        if span is None:
            return 0
        first, lo, hi = span
        codes = self._media_codes(scope)
        if codes is None:  # a visitor's first row in the range: previous row before the range
            return int(np.count_nonzero(self.prev_day[lo:hi] < first))
        seen = np.zeros(self.visitor_count, dtype=bool)
        seen[self.vid[self._rows(lo, hi, codes)]] = True
        return int(np.count_nonzero(seen))

    def _sums(self, lo: int, hi: int, codes: tuple[int, ...] | None, column: str) -> np.ndarray:
        """Per-visitor Σ `column` over rows [lo, hi) in the scope (float64, exact for counts below 2**53)."""
        key = (lo, hi, codes, column)
        with self._memo_lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo[key] = self._memo.pop(key)  # most recent last
                return hit
        rows = self._rows(lo, hi, codes)
        values = getattr(self, column)[rows]
        sums: np.ndarray = np.bincount(self.vid[rows], weights=values, minlength=self.visitor_count)
        with self._memo_lock:
            self._memo[key] = sums
            for old in list(self._memo)[: max(len(self._memo) - MEMO_SUMS, 0)]:
                del self._memo[old]
        return sums

    def pin_presets(self, last_day: date) -> None:
        """Rank every visitor of each preset range over every media, once, by each `RankBy` (`PRESET_DAYS`): top
        visitors of a preset is then a walk down a list, whatever its filters."""
        for days in PRESET_DAYS:
            start = self.first_day if days is None else last_day - timedelta(days=days - 1)
            span = self._slice(start, last_day)
            if span is None or any(key[:2] == span[1:] for key in self._rankings):
                continue
            _, lo, hi = span
            vids = self._present(lo, hi, None)
            plays, pvs, watch = (
                np.bincount(self.vid[lo:hi], weights=getattr(self, c)[lo:hi], minlength=self.visitor_count)[vids]
                for c in ("plays", "pvs", "watch")
            )
            for rank_by in RANKINGS:
                order = _ranking_order(rank_by, vids, plays, pvs, watch)
                self._rankings[(lo, hi, rank_by)] = vids[order].astype(np.int32)

    # ---- top visitors ---------------------------------------------------------------------------------

    def _rows_of(self, vids: np.ndarray, lo: int, hi: int, codes: tuple[int, ...] | None) -> tuple[np.ndarray, ...]:
        """(day-ordered row, position of its visitor in `vids`) of every row of `vids` in the range and scope."""
        starts, ends = self.vid_starts[vids], self.vid_starts[vids + 1]
        lengths = ends - starts
        owner = np.repeat(np.arange(len(vids)), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = self.by_vid[np.repeat(starts, lengths) + offsets]
        keep = (rows >= lo) & (rows < hi)
        if codes is not None:
            wanted = np.zeros(len(self.media_ids) + 1, dtype=bool)
            wanted[list(codes)] = True
            keep &= wanted[self.media[rows]]
        return rows[keep], owner[keep]

    def _column_of(
        self, column: str, vids: np.ndarray, lo: int, hi: int, codes: tuple[int, ...] | None, *, full: bool
    ) -> np.ndarray:
        """Σ `column` of each of `vids`: from the whole range's sums when cheap or asked, else from their rows."""
        if full:
            picked: np.ndarray = self._sums(lo, hi, codes, column)[vids]
            return picked
        rows, owner = self._rows_of(vids, lo, hi, codes)
        sums: np.ndarray = np.bincount(owner, weights=getattr(self, column)[rows], minlength=len(vids))
        return sums

    def _present(self, lo: int, hi: int, codes: tuple[int, ...] | None) -> np.ndarray:
        """The visitors with a row in [lo, hi) and the scope, by vid."""
        if self._plays_mark_presence:
            return np.flatnonzero(self._sums(lo, hi, codes, "plays"))
        return np.flatnonzero(np.bincount(self.vid[self._rows(lo, hi, codes)], minlength=self.visitor_count))

    def top(
        self,
        start: date,
        end: date,
        scope: tuple[str, ...] | None,
        *,
        rank_by: RankBy,
        limit: int,
        min_plays: int,
        identified_only: bool,
    ) -> list[VisitorTotal]:
        """The `top_visitors` ranking: same filters, order and tie-breaks as its SQL (ties by visitor key)."""
        span = self._slice(start, end)
        if span is None or limit <= 0:
            return []
        _, lo, hi = span
        codes = self._media_codes(scope)
        ranking = self._rankings.get((lo, hi, rank_by)) if codes is None else None
        if ranking is not None:  # a preset: walk its ranking, keep those passing the filters
            vids = self._walk(ranking, lo, hi, limit, min_plays, identified_only)
            plays, pvs, watch = (self._column_of(c, vids, lo, hi, None, full=False) for c in ("plays", "pvs", "watch"))
            return _visitor_totals(vids, plays, pvs, watch)
        plays = self._sums(lo, hi, codes, "plays")
        vids = self._present(lo, hi, codes)
        if min_plays > 1:
            vids = vids[plays[vids] >= min_plays]
        if identified_only:
            vids = vids[self._sums(lo, hi, codes, "identified")[vids] > 0]
        if rank_by == "engagement":
            primary = _nulls_last(_engagement(self._sums(lo, hi, codes, "pvs")[vids], plays[vids]))
        elif rank_by == "plays":
            primary = plays[vids]
        else:
            primary = self._sums(lo, hi, codes, "watch")[vids]
        if len(vids) > limit:  # every visitor tied with the last ranked one stays for the tie-breaks
            threshold = np.partition(primary, len(vids) - limit)[len(vids) - limit]
            vids = vids[primary >= threshold]
        full = len(vids) > CANDIDATES_FROM_ROWS
        total_plays = plays[vids]
        pvs = self._column_of("pvs", vids, lo, hi, codes, full=full or rank_by == "engagement")
        watch = self._column_of("watch", vids, lo, hi, codes, full=full or rank_by == "watch_time")
        order = _ranking_order(rank_by, vids, total_plays, pvs, watch)[:limit]
        return _visitor_totals(vids[order], total_plays[order], pvs[order], watch[order])

    def _walk(self, ranking: np.ndarray, lo: int, hi: int, limit: int, min_plays: int, identified: bool) -> np.ndarray:
        """The first `limit` visitors of a precomputed ranking that pass the filters (read in growing chunks, the
        filters' sums from those visitors' own rows)."""
        picked: list[np.ndarray] = []
        found, position, chunk = 0, 0, max(4 * limit, 1024)
        while found < limit and position < len(ranking):
            part = ranking[position : position + chunk]
            position, chunk = position + chunk, chunk * 4
            if min_plays > 1:
                part = part[self._column_of("plays", part, lo, hi, None, full=False) >= min_plays]
            if identified:
                part = part[self._column_of("identified", part, lo, hi, None, full=False) > 0]
            picked.append(part[: limit - found])
            found += len(picked[-1])
        return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)

    def details(
        self, vids: Sequence[int], start: date, end: date, scope: tuple[str, ...] | None
    ) -> dict[int, tuple[str, str | None, str | None, int]]:
        """vid -> (visitor_key, name and email when identified (latest day), medias) over the range and scope."""
        span = self._slice(start, end)
        wanted = np.asarray(vids, dtype=np.int64)
        if span is None or not len(wanted):
            return {}
        _, lo, hi = span
        rows, owner = self._rows_of(wanted, lo, hi, self._media_codes(scope))
        keys = self.keys.take(pa.array(wanted)).to_pylist()
        out: dict[int, tuple[str, str | None, str | None, int]] = {}
        for i, vid in enumerate(wanted.tolist()):
            mine = rows[owner == i]
            identified = mine[self.identified[mine]]
            latest = int(identified.max()) if len(identified) else None  # rows are by day: the latest day
            name = self.names[latest].as_py() if latest is not None else None
            email = self.emails[latest].as_py() if latest is not None else None
            out[vid] = (keys[i], name, email, len(np.unique(self.media[mine])))
        return out


def _arrow(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> Any:
    """A query's rows as an Arrow table (no copy through Python objects)."""
    return cur.sql(sql, params=list(params)).to_arrow_table()


def _nulls_last(values: np.ndarray) -> np.ndarray:
    """NaN (SQL NULL) as -inf: last in a descending order."""
    keyed: np.ndarray = np.where(np.isnan(values), -np.inf, values)
    return keyed


def _ranking_order(
    rank_by: RankBy, vids: np.ndarray, plays: np.ndarray, pvs: np.ndarray, watch: np.ndarray
) -> np.ndarray:
    """The permutation that sorts these visitors as `top_visitors`' SQL does (`_ORDER`, then the key)."""
    engagement = _nulls_last(_engagement(pvs, plays))
    keys: dict[RankBy, tuple[np.ndarray, ...]] = {  # np.lexsort: the last key sorts first
        "engagement": (vids, -watch, -plays, -engagement),
        "plays": (vids, -watch, -engagement, -plays),
        "watch_time": (vids, -engagement, -plays, -watch),
    }
    order: np.ndarray = np.lexsort(keys[rank_by])
    return order


def _visitor_totals(vids: np.ndarray, plays: np.ndarray, pvs: np.ndarray, watch: np.ndarray) -> list[VisitorTotal]:
    engagement = _engagement(pvs, plays)
    return [
        VisitorTotal(int(v), int(p), float(w), None if np.isnan(e) else float(e))
        for v, p, w, e in zip(vids.tolist(), plays.tolist(), watch.tolist(), engagement.tolist(), strict=True)
    ]


def _engagement(pvs: np.ndarray, plays: np.ndarray) -> np.ndarray:
    """Σ percent_viewed_sum / Σ plays, NaN where there are no plays (SQL: / nullif(…, 0))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = np.where(plays != 0, pvs / np.where(plays != 0, plays, 1), np.nan)
    return ratio


def lake_versions(storage: Storage) -> tuple[tuple[str, str], ...]:
    """(table, published version) of every Gold table: changes exactly when Gold is republished."""
    store = TableStore(storage)
    out = []
    for table in GOLD_TABLES:
        manifest = store.current(table)
        if manifest is not None:
            out.append((table, manifest.version))
    return tuple(sorted(out))


def open_gold(storage: Storage, *, hot: HotMode = "background") -> Gold:
    """Open the published Gold; `GoldUnavailableError` when there is none to show (or it cannot be read).

    `hot`: build the in-memory copy (`HotCopy`) in a background thread (queries read Parquet meanwhile), later
    (when the caller calls `Gold.start_hot()`, e.g. once its first page is out, so the two do not compete for
    the cores), now (before returning), or not at all.
    """
    try:
        con, manifests = open_catalog(storage)
        root = read_root(storage)
    except NotImplementedError as exc:
        raise GoldUnavailableError("unreadable", str(exc)) from exc
    missing = [t for t in GOLD_TABLES if t not in manifests]
    if missing:
        con.close()
        raise GoldUnavailableError("missing", f"no published Gold in {storage.uri('')} (missing: {', '.join(missing)})")
    bounds = _day_bounds(con, manifests["gold_account_daily"], root)
    if bounds is None or bounds[0] is None:
        con.close()
        raise GoldUnavailableError("empty", f"Gold in {storage.uri('')} has no activity yet")
    rows = con.execute(
        """
        WITH daily AS (
            SELECT
                media_id,
                arg_max(media_name, activity_date) FILTER (WHERE media_name IS NOT NULL) AS media_name,
                arg_max(project_id, activity_date) FILTER (WHERE project_id IS NOT NULL) AS project_id,
                arg_max(project_name, activity_date) FILTER (WHERE project_id IS NOT NULL) AS project_name
            FROM gold.media_daily
            GROUP BY media_id
        ),
        curve AS (
            SELECT media_id, max(media_name) AS media_name FROM gold.media_engagement_curve GROUP BY media_id
        )
        SELECT
            coalesce(d.media_id, c.media_id) AS media_id,
            coalesce(d.media_name, c.media_name, coalesce(d.media_id, c.media_id)) AS media_name,
            d.project_id,
            d.project_name,
            c.media_id IS NOT NULL AS has_curve
        FROM daily AS d
        FULL OUTER JOIN curve AS c ON c.media_id = d.media_id
        """
    ).fetchall()
    channels = con.execute("SELECT DISTINCT channel FROM gold.media_channel_daily ORDER BY channel").fetchall()
    versions = tuple(sorted((t, m.version) for t, m in manifests.items() if t in GOLD_TABLES))
    partitions = {}
    for table in DATE_PARTITIONED:
        manifest = manifests[table]
        if manifest.partition_by == "activity_date" and all(_is_day(p) for p in manifest.files):
            partitions[table] = tuple(
                (day, tuple(f"{root}/{f}" for f in manifest.files[day])) for day in sorted(manifest.files)
            )
    gold = Gold(
        con=con,
        versions=versions,
        first_day=bounds[0],
        last_day=bounds[1],
        medias=tuple(
            MediaInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in sorted(rows, key=lambda r: (r[1].lower(), r[0]))
        ),
        channels=tuple(c for (c,) in channels),
        partitions=partitions,
    )
    visitor_rows = manifests["gold_visitor_media_daily"].row_count
    if hot == "off":
        gold.hot.skipped = "off"
    elif visitor_rows > HOT_MAX_VISITOR_ROWS:
        gold.hot.skipped = f"{visitor_rows:,} visitor rows (more than {HOT_MAX_VISITOR_ROWS:,})"
    elif hot == "now":
        gold.hot.build(con)
    elif hot == "background":
        gold.hot.start(con)
    return gold


def _day_bounds(con: duckdb.DuckDBPyConnection, manifest: Manifest, root: str) -> tuple[Any, ...] | None:
    """(first, last) activity_date of `gold_account_daily`: read from the files of its first and last day
    partitions only when those hold exactly those days (a scan of every day's file costs ~0.3 s), else all."""
    days = sorted(manifest.files) if manifest.partition_by == "activity_date" else []
    if days and all(_is_day(d) for d in (days[0], days[-1])):
        files = [f"{root}/{f}" for d in {days[0], days[-1]} for f in manifest.files[d]]
        row = con.execute(
            "SELECT min(activity_date), max(activity_date) FROM read_parquet(?, hive_partitioning = false)", [files]
        ).fetchone()
        if row is not None and row[0] is not None and (row[0].isoformat(), row[1].isoformat()) == (days[0], days[-1]):
            return row
    return con.execute("SELECT min(activity_date), max(activity_date) FROM gold.account_daily").fetchone()


def _query(gold: Gold, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    cur = gold.con.cursor()
    try:
        return cur.execute(sql, list(params)).fetchall()
    finally:
        cur.close()


def _scope(gold: Gold, f: Filters) -> tuple[str, ...] | None:
    """The media ids the media and project filters leave (None: no such filter, every media)."""
    if not f.media_ids and not f.project_ids:
        return None
    ids = set(f.media_ids) if f.media_ids else {m.media_id for m in gold.medias}
    if f.project_ids:
        wanted = set(f.project_ids)
        ids &= {m.media_id for m in gold.medias if m.project_id in wanted}
    return tuple(sorted(ids))


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join('?' for _ in values)})" if values else "false"


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _channel_table(gold: Gold, scope: tuple[str, ...] | None) -> str:
    """Per-channel sums over every media come from the in-memory per-day rollup when it is ready."""
    return "gold_channel_daily" if scope is None and gold.hot.ready.is_set() else "gold_media_channel_daily"


def _relation(gold: Gold, table: str, start: date, end: date, hot: bool) -> tuple[str, list[object]]:
    """`table` restricted to the days in [start, end]: its in-memory copy when ready, else only the Parquet
    files of those days (the manifest's partitions); with the parameters it needs."""
    name = table.removeprefix("gold_")
    if table == "gold_channel_daily":  # the in-memory rollup only (`_channel_table`)
        return "hot.channel_daily", []
    if hot and table in DATE_PARTITIONED and table != "gold_visitor_media_daily":  # visitors: `VisitorIndex`
        return f"hot.{name}", []
    view = "gold." + name
    parts = gold.partitions.get(table)
    if parts is None:
        return view, []
    first, last = start.isoformat(), end.isoformat()
    files = [path for day, paths in parts if first <= day <= last for path in paths]
    if not files:
        return f"(SELECT * FROM {view} LIMIT 0)", []
    return "read_parquet(?, hive_partitioning = false)", [files]


def _from_where(
    gold: Gold,
    table: str,
    f: Filters,
    scope: tuple[str, ...] | None,
    *,
    start: date | None = None,
    channel: bool = False,
    hot: bool | None = None,
) -> tuple[str, list[object]]:
    """`FROM <table's days in range> WHERE activity_date BETWEEN ? AND ?` plus the media scope (and the
    channels when the table has them), and the parameters in the order they appear. `hot`: read the in-memory
    copy (default: whenever it is ready)."""
    first = start or f.start
    relation, params = _relation(gold, table, first, f.end, gold.hot.ready.is_set() if hot is None else hot)
    clauses = ["activity_date BETWEEN ? AND ?"]
    params += [first, f.end]
    if scope is not None:
        clauses.append(_in("media_id", scope))
        params += scope
    if channel and f.channels:
        clauses.append(_in("channel", f.channels))
        params += f.channels
    return f"FROM {relation} WHERE {' AND '.join(clauses)}", params


def _ratio(num: float | None, den: float | None) -> float | None:
    return float(num) / float(den) if num is not None and den else None


# ---- KPIs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """One KPI card: the value over the range and over the previous period of equal length."""

    key: str
    label: str
    kind: KpiKind
    value: float | None
    previous: float | None
    unavailable: str | None = None  # why a filter cannot apply to this figure
    note: str | None = None  # e.g. where the figure comes from

    @property
    def change(self) -> float | None:
        """Relative change for counts and durations; difference (in rate units) for ratios; None if unknown."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == "ratio":
            return self.value - self.previous
        if self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous


@dataclass(frozen=True)
class Kpis:
    filters: Filters
    previous: Filters
    plays: Kpi
    loads: Kpi
    play_rate: Kpi
    watch_time: Kpi
    engagement: Kpi
    unique_visitors: Kpi

    def cards(self) -> tuple[Kpi, ...]:
        """In the order the page shows them."""
        return (self.plays, self.loads, self.play_rate, self.watch_time, self.engagement, self.unique_visitors)


def kpis(gold: Gold, f: Filters) -> Kpis:
    """The six KPIs over the range and the previous period (one scan of each table over both periods)."""
    prev = f.previous()
    scope = _scope(gold, f)
    if f.channels:
        table = _channel_table(gold, scope)
        source, params = _from_where(gold, table, f, scope, start=prev.start, channel=True)
        row = _query(
            gold,
            f"""
            SELECT
                sum(plays) FILTER (WHERE activity_date >= ?),
                sum(watch_time_seconds) FILTER (WHERE activity_date >= ?),
                sum(percent_viewed_sum) FILTER (WHERE activity_date >= ?),
                sum(plays) FILTER (WHERE activity_date < ?),
                sum(watch_time_seconds) FILTER (WHERE activity_date < ?),
                sum(percent_viewed_sum) FILTER (WHERE activity_date < ?)
            {source}
            """,
            [f.start] * 6 + params,
        )[0]
        plays, watch, pvs, p_plays, p_watch, p_pvs = row
        note = FROM_EVENTS_WITH_CHANNEL
        return Kpis(
            f,
            prev,
            Kpi("plays", "Plays (from events)", "count", float(plays or 0), float(p_plays or 0), note=note),
            Kpi("loads", "Total Loads", "count", None, None, unavailable=NO_LOADS_PER_CHANNEL),
            Kpi("play_rate", "Play Rate", "ratio", None, None, unavailable=NO_PLAY_RATE_PER_CHANNEL),
            Kpi("watch_time", "Watch Time (from events)", "seconds", float(watch or 0), float(p_watch or 0), note=note),
            Kpi("engagement", "Engagement Rate", "ratio", _ratio(pvs, plays), _ratio(p_pvs, p_plays)),
            Kpi("unique_visitors", "Unique Visitors", "count", None, None, unavailable=NO_VISITORS_PER_CHANNEL),
        )
    table = "gold_account_daily" if scope is None else "gold_media_daily"
    source, params = _from_where(gold, table, f, scope, start=prev.start)
    row = _query(
        gold,
        f"""
        SELECT
            sum(loads) FILTER (WHERE activity_date >= ?),
            sum(plays) FILTER (WHERE activity_date >= ?),
            sum(watch_time_seconds) FILTER (WHERE activity_date >= ?),
            sum(percent_viewed_sum) FILTER (WHERE activity_date >= ?),
            sum(event_plays) FILTER (WHERE activity_date >= ?),
            sum(loads) FILTER (WHERE activity_date < ?),
            sum(plays) FILTER (WHERE activity_date < ?),
            sum(watch_time_seconds) FILTER (WHERE activity_date < ?),
            sum(percent_viewed_sum) FILTER (WHERE activity_date < ?),
            sum(event_plays) FILTER (WHERE activity_date < ?)
        {source}
        """,
        [f.start] * 10 + params,
    )[0]
    loads, plays, watch, pvs, ev, p_loads, p_plays, p_watch, p_pvs, p_ev = row
    visitors = _unique_visitors(gold, f, scope)
    return Kpis(
        f,
        prev,
        Kpi("plays", "Total Plays", "count", float(plays or 0), float(p_plays or 0)),
        Kpi("loads", "Total Loads", "count", float(loads or 0), float(p_loads or 0)),
        Kpi("play_rate", "Play Rate", "ratio", _ratio(plays, loads), _ratio(p_plays, p_loads)),
        Kpi("watch_time", "Total Watch Time", "seconds", float(watch or 0), float(p_watch or 0)),
        Kpi("engagement", "Engagement Rate", "ratio", _ratio(pvs, ev), _ratio(p_pvs, p_ev)),
        Kpi("unique_visitors", "Unique Visitors", "count", float(visitors[0]), float(visitors[1])),
    )


def _unique_visitors(gold: Gold, f: Filters, scope: tuple[str, ...] | None) -> tuple[int, int]:
    """count(DISTINCT visitor_key) over the range and over the previous period.

    On the in-memory copy: `VisitorIndex.unique_visitors` (no key is hashed); on Parquet, one scan of both periods.
    """
    prev = f.previous()
    index = gold.hot.visitors if gold.hot.ready.is_set() else None
    if index is not None:
        return index.unique_visitors(f.start, f.end, scope), index.unique_visitors(prev.start, prev.end, scope)
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, start=prev.start, hot=False)
    sql = f"""
        SELECT
            count(DISTINCT visitor_key) FILTER (WHERE activity_date >= ?),
            count(DISTINCT visitor_key) FILTER (WHERE activity_date < ?)
        {source}
        """
    row = _query(gold, sql, [f.start, f.start, *params])[0]
    return int(row[0]), int(row[1])


# ---- trend ----------------------------------------------------------------------------------------------

_PERIOD_SQL: dict[Granularity, str] = {
    "day": "activity_date",
    "week": "CAST(date_trunc('week', activity_date) AS DATE)",
    "month": "CAST(date_trunc('month', activity_date) AS DATE)",
}


@dataclass(frozen=True)
class TrendPoint:
    period: date  # first day of the day, ISO week (Monday) or month
    series: str  # media name, or OTHER_SERIES
    media_id: str | None  # None for OTHER_SERIES
    value: float | None  # plays, play rate, watch time in hours, or engagement rate


@dataclass(frozen=True)
class Trend:
    granularity: Granularity
    metric: TrendMetric
    points: tuple[TrendPoint, ...]
    series: tuple[str, ...]  # legend order: top medias by plays, then OTHER_SERIES
    unavailable: str | None = None


def trend(gold: Gold, f: Filters, granularity: Granularity, metric: TrendMetric, *, top: int = 8) -> Trend:
    """`metric` per period and media: the `top` medias by plays in the range, the rest as OTHER_SERIES."""
    if granularity not in _PERIOD_SQL or metric not in TREND_METRICS:
        raise ValueError(f"unknown granularity {granularity!r} or metric {metric!r}")
    if f.channels and metric == "play_rate":
        return Trend(granularity, metric, (), (), NO_PLAY_RATE_PER_CHANNEL)
    scope = _scope(gold, f)
    if f.channels:
        table, loads, ev = "gold_media_channel_daily", "0", "plays"
    else:
        table, loads, ev = "gold_media_daily", "loads", "event_plays"
    source, params = _from_where(gold, table, f, scope, channel=True)
    # two small queries instead of one that joins every row to a ranking: the top medias by plays, then the sums
    # per period of each of them and of the rest
    leaders = [
        media_id
        for (media_id,) in _query(
            gold,
            f"SELECT media_id {source} GROUP BY media_id ORDER BY sum(plays) DESC, media_id LIMIT ?",
            [*params, top],
        )
    ]
    series = f"CASE WHEN {_in('media_id', leaders)} THEN media_id END"
    sums = _query(
        gold,
        f"""
        SELECT
            {_PERIOD_SQL[granularity]} AS period,
            {series} AS series_id,
            sum(plays), sum({loads}), sum(watch_time_seconds), sum(percent_viewed_sum), sum({ev})
        {source}
        GROUP BY ALL
        """,
        [*leaders, *params],
    )
    rank = {media_id: i for i, media_id in enumerate(leaders)}
    rows = sorted(((r[0], r[1], rank.get(r[1], len(leaders)), *r[2:]) for r in sums), key=lambda r: (r[2], r[0]))
    names = {m.media_id: m.media_name for m in gold.medias}
    labels: dict[str | None, str] = {None: OTHER_SERIES}
    for media_id in dict.fromkeys(r[1] for r in rows if r[1] is not None):
        name = names.get(media_id, media_id)
        labels[media_id] = f"{name} · {media_id}" if name in labels.values() else name  # two medias, one name
    points = []
    order: list[str] = []
    for period, media_id, _rank, plays, loads_, watch, pvs, ev_ in rows:
        label = labels[media_id]
        if label not in order:
            order.append(label)
        value: float | None
        if metric == "plays":
            value = float(plays or 0)
        elif metric == "watch_time":
            value = float(watch or 0) / 3600
        elif metric == "play_rate":
            value = _ratio(plays, loads_)
        else:
            value = _ratio(pvs, ev_)
        points.append(TrendPoint(period, label, media_id, value))
    return Trend(granularity, metric, tuple(points), tuple(order))


# ---- top media and visitors -----------------------------------------------------------------------------

_ORDER: dict[RankBy, str] = {
    "engagement": "engagement DESC NULLS LAST, plays DESC, watch DESC",
    "plays": "plays DESC, engagement DESC NULLS LAST, watch DESC",
    "watch_time": "watch DESC, plays DESC, engagement DESC NULLS LAST",
}


@dataclass(frozen=True)
class MediaRow:
    media_id: str
    media_name: str
    project_name: str | None
    plays: int
    loads: int | None  # None under a channel filter
    play_rate: float | None
    watch_time_seconds: float
    engagement_rate: float | None


@dataclass(frozen=True)
class TopMedia:
    rows: tuple[MediaRow, ...]
    rank_by: RankBy
    notes: tuple[str, ...] = ()


def top_media(
    gold: Gold, f: Filters, *, rank_by: RankBy = "engagement", limit: int = 25, min_plays: int = 0
) -> TopMedia:
    """Medias ranked by `rank_by` over the range, those with at least `min_plays` plays.

    Engagement is Σ percent_viewed_sum / Σ event_plays (per channel: / Σ plays of that table); ties by plays.
    No unique visitors per media here: over a long range that count costs a scan of every visitor row (it is
    the Unique Visitors card when the media is selected).
    """
    scope = _scope(gold, f)
    if f.channels:
        source, params = _from_where(gold, "gold_media_channel_daily", f, scope, channel=True)
        loads, events = "NULL", "plays"
        notes: tuple[str, ...] = (FROM_EVENTS_WITH_CHANNEL, NO_LOADS_PER_CHANNEL)
    else:
        source, params = _from_where(gold, "gold_media_daily", f, scope)
        loads, events = "sum(loads)", "event_plays"
        notes = ()
    rows = _query(
        gold,
        f"""
        SELECT media_id, sum(plays) AS plays, {loads} AS loads, sum(watch_time_seconds) AS watch,
            sum(percent_viewed_sum) / nullif(sum({events}), 0) AS engagement
        {source}
        GROUP BY media_id
        HAVING sum(plays) >= ?
        ORDER BY {_ORDER[rank_by]}, media_id
        LIMIT ?
        """,
        [*params, min_plays, limit],
    )
    out = []
    for media_id, plays, loads_, watch, engagement in rows:
        info = gold.media(media_id)
        out.append(
            MediaRow(
                media_id=media_id,
                media_name=info.media_name if info else media_id,
                project_name=info.project_name if info else None,
                plays=int(plays or 0),
                loads=None if loads_ is None else int(loads_),
                play_rate=None if loads_ is None else _ratio(plays, loads_),
                watch_time_seconds=float(watch or 0),
                engagement_rate=None if engagement is None else float(engagement),
            )
        )
    return TopMedia(tuple(out), rank_by, notes)


@dataclass(frozen=True)
class VisitorRow:
    visitor_key: str
    name: str | None  # only when the visitor is identified
    email: str | None
    plays: int
    watch_time_seconds: float
    avg_percent_viewed: float | None
    medias: int


@dataclass(frozen=True)
class TopVisitors:
    rows: tuple[VisitorRow, ...]
    rank_by: RankBy
    unavailable: str | None = None


def top_visitors(
    gold: Gold,
    f: Filters,
    *,
    rank_by: RankBy = "engagement",
    limit: int = 25,
    min_plays: int = 1,
    identified_only: bool = False,
) -> TopVisitors:
    """Visitors ranked by Σ percent_viewed_sum / Σ plays (docs/metrics.md); name and email when identified.

    Only visitors with at least `min_plays` plays in the range (and, with `identified_only`, identified ones).
    The in-memory copy answers from its `VisitorIndex` (same sums, order and tie-breaks), else Parquet.
    """
    if f.channels:
        return TopVisitors((), rank_by, NO_VISITOR_CHANNEL)
    scope = _scope(gold, f)
    index = gold.hot.visitors if gold.hot.ready.is_set() else None
    if index is not None:
        return _top_visitors_of_index(index, f, scope, rank_by, limit, min_plays, identified_only)
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, hot=False)
    # 1. rank on sums alone (cheap), 2. identity and medias for the few ranked visitors only
    having, having_params = [], []
    if min_plays > 1:
        having.append("sum(plays) >= ?")
        having_params.append(min_plays)
    if identified_only:
        having.append("bool_or(is_identified)")
    ranked = _query(
        gold,
        f"""
        SELECT
            visitor_key AS visitor,
            sum(plays) AS plays,
            sum(watch_time_seconds) AS watch,
            sum(percent_viewed_sum) / nullif(sum(plays), 0) AS engagement
        {source}
        GROUP BY visitor_key
        {"HAVING " + " AND ".join(having) if having else ""}
        ORDER BY {_ORDER[rank_by]}, visitor
        LIMIT ?
        """,
        [*params, *having_params, limit],
    )
    details = _visitor_details(gold, f, scope, [r[0] for r in ranked]) if ranked else {}
    rows = []
    for visitor, plays, watch, engagement in ranked:
        name, email, medias = details.get(visitor, (None, None, 0))
        rows.append(
            VisitorRow(
                visitor_key=visitor,
                name=name or None,
                email=email or None,
                plays=int(plays or 0),
                watch_time_seconds=float(watch or 0),
                avg_percent_viewed=None if engagement is None else float(engagement),
                medias=int(medias),
            )
        )
    return TopVisitors(tuple(rows), rank_by)


def _top_visitors_of_index(
    index: VisitorIndex,
    f: Filters,
    scope: tuple[str, ...] | None,
    rank_by: RankBy,
    limit: int,
    min_plays: int,
    identified_only: bool,
) -> TopVisitors:
    """`top_visitors` from the in-memory `VisitorIndex`: the ranking, then identity and medias of the ranked few."""
    ranked = index.top(
        f.start, f.end, scope, rank_by=rank_by, limit=limit, min_plays=min_plays, identified_only=identified_only
    )
    details = index.details([r.vid for r in ranked], f.start, f.end, scope)
    rows = []
    for r in ranked:
        key, name, email, medias = details[r.vid]
        rows.append(
            VisitorRow(
                visitor_key=key,
                name=name or None,
                email=email or None,
                plays=r.plays,
                watch_time_seconds=r.watch,
                avg_percent_viewed=r.engagement,
                medias=medias,
            )
        )
    return TopVisitors(tuple(rows), rank_by)


def _visitor_details(
    gold: Gold, f: Filters, scope: tuple[str, ...] | None, wanted: list[Any]
) -> dict[Any, tuple[Any, ...]]:
    """Name and email (when identified) and the number of medias of the `wanted` visitors, over `f`'s range."""
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, hot=False)
    return {
        visitor: tuple(rest)
        for visitor, *rest in _query(
            gold,
            f"""
            SELECT
                visitor_key,
                arg_max(visitor_name, activity_date) FILTER (WHERE is_identified),
                arg_max(visitor_email, activity_date) FILTER (WHERE is_identified),
                count(DISTINCT media_id)
            {source} AND visitor_key = ANY(?)
            GROUP BY visitor_key
            """,
            [*params, wanted],
        )
    }


# ---- retention and channels ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    bucket_index: int
    position_fraction: float | None
    viewers: int
    rewatchers: int
    retention: float | None


def retention_curve(gold: Gold, media_id: str) -> tuple[CurvePoint, ...]:
    """Wistia's lifetime engagement curve of one media (no date: the range and channels cannot apply)."""
    rows = _query(
        gold,
        """
        SELECT bucket_index, position_fraction, viewers, rewatchers, retention
        FROM gold.media_engagement_curve
        WHERE media_id = ?
        ORDER BY bucket_index
        """,
        [media_id],
    )
    return tuple(
        CurvePoint(int(i), None if p is None else float(p), int(v or 0), int(r or 0), None if t is None else float(t))
        for i, p, v, r, t in rows
    )


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    plays: int
    watch_time_seconds: float
    engagement_rate: float | None


def by_channel(gold: Gold, f: Filters) -> tuple[ChannelRow, ...]:
    """Plays, watch time and engagement per channel (from events), by plays; channel filter applies."""
    scope = _scope(gold, f)
    source, params = _from_where(gold, _channel_table(gold, scope), f, scope, channel=True)
    rows = _query(
        gold,
        f"""
        SELECT channel, sum(plays) AS plays, sum(watch_time_seconds),
            sum(percent_viewed_sum) / nullif(sum(plays), 0)
        {source}
        GROUP BY channel
        ORDER BY plays DESC, channel
        """,
        params,
    )
    return tuple(ChannelRow(c, int(p or 0), float(w or 0), None if e is None else float(e)) for c, p, w, e in rows)


# ---- trust ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    command: str
    status: str
    started_at: str
    ended_at: str | None
    errors: int


@dataclass(frozen=True)
class Trust:
    """What a reader needs to decide whether to trust today's numbers."""

    data_as_of: date  # last day with activity in Gold
    newest_event_at: str | None
    last_run: RunInfo | None
    drift_rows: int
    drift_max_plays_diff: int | None
    reconciliation_rows: int
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def level(self) -> Literal["ok", "warning", "error"]:
        if self.last_run is None or self.last_run.status == "failed":
            return "error"
        if self.last_run.status != "success" or self.drift_rows:
            return "warning"
        return "ok"

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def day_in_progress(self) -> date | None:
        """The last day with data when the last run read it before that UTC day was over: its figures are partial
        (a range ending on it reads low against a previous period of whole days)."""
        run = self.last_run
        if run is None or run.started_at[:10] != self.data_as_of.isoformat():
            return None
        return self.data_as_of


def trust(storage: Storage, gold: Gold) -> Trust:
    """Last run, reconciliation drift and quarantine (from `lake_status`), and the newest day in Gold."""
    status = lake_status(storage, runs=1)
    runs = status.get("runs") or []
    last = runs[0] if runs else None
    recon = status.get("reconciliation") or {}
    max_diff = recon.get("max_abs_plays_diff")
    return Trust(
        data_as_of=gold.last_day,
        newest_event_at=(status.get("freshness") or {}).get("newest_event_at"),
        last_run=None
        if last is None
        else RunInfo(
            run_id=last["run_id"],
            command=last["command"],
            status=last["status"],
            started_at=last["started_at"],
            ended_at=last["ended_at"],
            errors=int(last["errors"]),
        ),
        drift_rows=int(recon.get("rows_with_drift") or 0),
        drift_max_plays_diff=None if max_diff is None else int(max_diff),
        reconciliation_rows=int(recon.get("rows") or 0),
        quarantined={k: int(v) for k, v in (status.get("quarantine") or {}).items() if v},
    )


# ---- formatting shared by the page and its tests ---------------------------------------------------------


def format_hours(seconds: float | None) -> str:
    """Watch time for people: minutes under an hour, then hours (docs/metrics.md: Σ seconds / 3600)."""
    if seconds is None or math.isnan(seconds):
        return "—"
    hours = seconds / 3600
    if hours == 0:
        return "0 h"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if hours >= 100:
        return f"{hours:,.0f} h"
    if hours >= 1:
        return f"{hours:,.1f} h"
    return f"{seconds / 60:,.1f} min"


def format_kpi(kpi: Kpi) -> str:
    if kpi.value is None:
        return "—"
    if kpi.kind == "ratio":
        return f"{kpi.value:.1%}"
    if kpi.kind == "seconds":
        return format_hours(kpi.value)
    return f"{kpi.value:,.0f}"


def format_change(kpi: Kpi) -> str | None:
    """`+12.5%` for counts and durations, `-8.3 pp` (percentage points) for rates; None when unknown."""
    change = kpi.change
    if change is None:
        return None
    points = round(change * 100, 1) + 0.0  # + 0.0: no "-0.0"
    return f"{points:+.1f} pp" if kpi.kind == "ratio" else f"{points:+.1f}%"

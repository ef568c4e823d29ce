"""The speed layer: an in-process copy of the date-partitioned Gold tables, built in the background.

Reading hundreds of daily Parquet files costs a few hundred milliseconds per query, so once per Gold version
`HotCopy` copies the three small tables into DuckDB (schema `hot`) and turns the visitor rows into a NumPy
`VisitorIndex`. The metric queries read the copy once it is ready and Parquet until then: same rows, same
answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from wistia_analytics.dashboard.presets import PRESET_DAYS, preset_range
from wistia_analytics.dashboard.rankings import RANKINGS, RankBy, engagement, nulls_last, ranking_order

log = logging.getLogger(__name__)

# Above this many visitor rows the in-memory copy is not built (~90 bytes a row) and queries read Parquet only.
HOT_MAX_VISITOR_ROWS = 40_000_000
MEMO_SUMS = 6  # per-visitor sums kept from recent queries (2-3 per range and scope: re-ranking re-reads nothing)
# Up to this many candidate visitors, the sums a ranking needs only for tie-breaks are read from their own rows.
CANDIDATES_FROM_ROWS = 50_000


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
        for preset in PRESET_DAYS:
            start, _ = preset_range(preset, self.first_day, last_day)
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
                order = ranking_order(rank_by, vids, plays, pvs, watch)
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
            primary = nulls_last(engagement(self._sums(lo, hi, codes, "pvs")[vids], plays[vids]))
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
        order = ranking_order(rank_by, vids, total_plays, pvs, watch)[:limit]
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


def _visitor_totals(vids: np.ndarray, plays: np.ndarray, pvs: np.ndarray, watch: np.ndarray) -> list[VisitorTotal]:
    rates = engagement(pvs, plays)
    return [
        VisitorTotal(int(v), int(p), float(w), None if np.isnan(e) else float(e))
        for v, p, w, e in zip(vids.tolist(), plays.tolist(), watch.tolist(), rates.tolist(), strict=True)
    ]

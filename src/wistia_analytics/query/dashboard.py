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
(`HotCopy`, by SQL inside DuckDB); from then on queries read the copy. Same rows, same answers. The
connection is shared across the dashboard's sessions: each query runs on its own cursor.
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

from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.status import lake_status
from wistia_analytics.query.catalog import open_catalog, read_root
from wistia_analytics.transform.tables import TableStore

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
# The page's date presets (days; None = all time), all ending on Gold's last day. The in-memory copy precomputes
# per-visitor totals and unique-visitor counts for them: over a long range these are the two costly queries
# (millions of visitors to group), and presets are what readers use most.
PRESET_DAYS: tuple[int | None, ...] = (7, 30, 90, 365, None)

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
    """In-memory copies of the date-partitioned Gold tables, built once per Gold version (in DuckDB, by SQL).

    Reading hundreds of daily Parquet files costs a few hundred milliseconds per query, and the visitor table's
    long string keys make distinct counts slow. The copy holds the same rows sorted by day (so a range reads
    only its blocks) and replaces `visitor_key` by a dense integer `vid` (numbered in key order, so every
    ranking and tie-break is the same as on Parquet); unique visitors are then counted exactly with a bitmap
    (`bitstring_agg`). For every preset range (`PRESET_DAYS`) it also holds each visitor's totals
    (`hot.visitor_totals`, one block of rows per preset: top visitors become a scan of one small table) and the
    unique-visitor counts of the range and of its previous period. Until it is ready (or when it is off),
    queries read the Parquet files: the results are identical either way.
    """

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.max_vid = 0
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.windows: dict[date, int] = {}  # start of a preset range (clipped to Gold's days) -> its window id
        self.unique_counts: dict[tuple[date, date], int] = {}  # (start, end), clipped -> exact unique visitors
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
                    ("media_channel_daily", "activity_date, media_id, channel"),
                )
            ),
            "CREATE OR REPLACE TABLE hot.visitors AS "  # stored by vid: a lookup of a few ids reads few blocks
            "SELECT CAST(row_number() OVER (ORDER BY visitor_key) AS UINTEGER) AS vid, visitor_key "
            "FROM (SELECT DISTINCT visitor_key FROM gold.visitor_media_daily) ORDER BY vid",
            """
            CREATE OR REPLACE TABLE hot.visitor_media_daily AS
            SELECT v.activity_date, v.media_id, k.vid, v.visitor_name, v.visitor_email, v.is_identified,
                v.plays, v.watch_time_seconds, v.percent_viewed_sum
            FROM gold.visitor_media_daily AS v
            JOIN hot.visitors AS k ON k.visitor_key = v.visitor_key
            ORDER BY v.activity_date
            """,
        ]
        try:
            for statement in statements:
                if self._stopping.is_set():
                    return
                cur.execute(statement)
            row = cur.execute("SELECT coalesce(max(vid), 0) FROM hot.visitors").fetchone()
            self.max_vid = int(row[0]) if row else 0
            self._precompute_presets(cur)
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

    def clip(self, start: date, end: date) -> tuple[date, date] | None:
        """[start, end] within Gold's days (the same rows), or None when no day of Gold is in it."""
        if self.first_day is None or self.last_day is None:
            return None
        start, end = max(start, self.first_day), min(end, self.last_day)
        return (start, end) if start <= end else None

    def window(self, f: Filters) -> int | None:
        """The precomputed preset range that holds exactly the rows of `f`'s range, if any."""
        clipped = self.clip(f.start, f.end)
        if clipped is None or clipped[1] != self.last_day:
            return None
        return self.windows.get(clipped[0])

    def _precompute_presets(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Per-visitor totals of every preset range, and unique visitors of each and of its previous period."""
        bounds = cur.execute("SELECT min(activity_date), max(activity_date) FROM hot.account_daily").fetchone()
        if bounds is None or bounds[0] is None:
            return
        self.first_day, self.last_day = bounds
        ranges: set[tuple[date, date]] = set()
        for days in PRESET_DAYS:
            first = self.first_day if days is None else self.last_day - timedelta(days=days - 1)
            f = Filters(first, self.last_day)
            for clipped in (self.clip(f.start, f.end), self.clip(f.previous().start, f.previous().end)):
                if clipped is not None:
                    ranges.add(clipped)
            self.windows.setdefault(max(first, self.first_day), len(self.windows))
        # sums only: identity and media counts are looked up for the ranked few (a distinct count of medias per
        # visitor would triple the build time)
        cur.execute(
            "CREATE OR REPLACE TABLE hot.visitor_totals "
            "(window_id INTEGER, vid UINTEGER, plays HUGEINT, watch DOUBLE, pvs DOUBLE, identified BOOLEAN)"
        )
        for start, window_id in sorted(self.windows.items(), key=lambda w: w[1]):  # one block of rows per window
            if self._stopping.is_set():
                return
            cur.execute(
                """
                INSERT INTO hot.visitor_totals
                SELECT ?, vid, sum(plays), sum(watch_time_seconds), sum(percent_viewed_sum), bool_or(is_identified)
                FROM hot.visitor_media_daily
                WHERE activity_date >= ?
                GROUP BY vid
                """,
                [window_id, start],
            )
        ordered = sorted(ranges)
        counts = ", ".join(
            "coalesce(bit_count(bitstring_agg(vid, 1, ?) FILTER (WHERE activity_date BETWEEN ? AND ?)), 0)"
            for _ in ordered
        )
        params: list[object] = [value for start, end in ordered for value in (self.max_vid, start, end)]
        row = cur.execute(f"SELECT {counts} FROM hot.visitor_media_daily", params).fetchone() if self.max_vid else None
        self.unique_counts = {r: int(row[i]) if row else 0 for i, r in enumerate(ordered)}

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
    bounds = con.execute("SELECT min(activity_date), max(activity_date) FROM gold.account_daily").fetchone()
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


def _relation(gold: Gold, table: str, start: date, end: date, hot: bool) -> tuple[str, list[object]]:
    """`table` restricted to the days in [start, end]: its in-memory copy when ready, else only the Parquet
    files of those days (the manifest's partitions); with the parameters it needs."""
    name = table.removeprefix("gold_")
    if hot and table in DATE_PARTITIONED:
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
        source, params = _from_where(gold, "gold_media_channel_daily", f, scope, start=prev.start, channel=True)
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
    """count(DISTINCT visitor_key) over the range and over the previous period (one scan of both).

    On the in-memory copy the keys are dense integers: the exact count is the number of bits set in a bitmap
    of the ids seen (`bitstring_agg`), much cheaper than hashing millions of keys.
    """
    prev = f.previous()
    hot = gold.hot.ready.is_set()
    counts = gold.hot.unique_counts if hot and scope is None else {}
    if counts:  # a preset range over every media: counted when the copy was built
        now, before = gold.hot.clip(f.start, f.end), gold.hot.clip(prev.start, prev.end)
        if (now is None or now in counts) and (before is None or before in counts):
            return (counts[now] if now else 0), (counts[before] if before else 0)
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, start=prev.start, hot=hot)
    if hot and gold.hot.max_vid:
        n = gold.hot.max_vid
        sql = f"""
            SELECT
                coalesce(bit_count(bitstring_agg(vid, 1, ?) FILTER (WHERE activity_date >= ?)), 0),
                coalesce(bit_count(bitstring_agg(vid, 1, ?) FILTER (WHERE activity_date < ?)), 0)
            {source}
            """
        row = _query(gold, sql, [n, f.start, n, f.start, *params])[0]
    else:
        key = "vid" if hot else "visitor_key"
        sql = f"""
            SELECT
                count(DISTINCT {key}) FILTER (WHERE activity_date >= ?),
                count(DISTINCT {key}) FILTER (WHERE activity_date < ?)
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
    # gold_media_daily holds one row per media and day already: by day, its rows are the base (grouping its
    # hundreds of thousands of rows on themselves was most of a long range's cost)
    per_row = granularity == "day" and not f.channels
    sums = "" if per_row else "sum"
    rows = _query(
        gold,
        f"""
        WITH base AS (
            SELECT
                media_id,
                {_PERIOD_SQL[granularity]} AS period,
                {sums}(plays) AS plays,
                {sums}({loads}) AS loads,
                {sums}(watch_time_seconds) AS watch,
                {sums}(percent_viewed_sum) AS pvs,
                {sums}({ev}) AS ev
            {source}
            {"" if per_row else "GROUP BY ALL"}
        ),
        ranked AS (
            SELECT media_id, row_number() OVER (ORDER BY sum(plays) DESC, media_id) AS rank
            FROM base
            GROUP BY media_id
        )
        SELECT
            b.period,
            CASE WHEN r.rank <= ? THEN b.media_id END AS series_id,
            min(r.rank) AS rank,
            sum(b.plays), sum(b.loads), sum(b.watch), sum(b.pvs), sum(b.ev)
        FROM base AS b
        JOIN ranked AS r ON r.media_id = b.media_id
        GROUP BY ALL
        ORDER BY rank, b.period
        """,
        [*params, top],
    )
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
    """
    if f.channels:
        return TopVisitors((), rank_by, NO_VISITOR_CHANNEL)
    scope = _scope(gold, f)
    window = gold.hot.window(f) if gold.hot.ready.is_set() and scope is None else None
    if window is not None:
        return _top_visitors_of_window(gold, f, window, rank_by, limit, min_plays, identified_only)
    hot = gold.hot.ready.is_set()
    key = "vid" if hot else "visitor_key"  # in-memory ids are numbered in key order: same ranking and ties
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, hot=hot)
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
            {key} AS visitor,
            sum(plays) AS plays,
            sum(watch_time_seconds) AS watch,
            sum(percent_viewed_sum) / nullif(sum(plays), 0) AS engagement
        {source}
        GROUP BY {key}
        {"HAVING " + " AND ".join(having) if having else ""}
        ORDER BY {_ORDER[rank_by]}, visitor
        LIMIT ?
        """,
        [*params, *having_params, limit],
    )
    details: dict[Any, tuple[Any, ...]] = {}
    keys: dict[Any, str] = {}
    if ranked:
        wanted = [r[0] for r in ranked]
        details = _visitor_details(gold, f, scope, key, wanted, hot=hot)
        if hot:
            keys = dict(_query(gold, "SELECT vid, visitor_key FROM hot.visitors WHERE vid = ANY(?)", [wanted]))
    rows = []
    for visitor, plays, watch, engagement in ranked:
        name, email, medias = details.get(visitor, (None, None, 0))
        key_text = keys.get(visitor, visitor)
        rows.append(
            VisitorRow(
                visitor_key=key_text,
                name=name or None,
                email=email or None,
                plays=int(plays or 0),
                watch_time_seconds=float(watch or 0),
                avg_percent_viewed=None if engagement is None else float(engagement),
                medias=int(medias),
            )
        )
    return TopVisitors(tuple(rows), rank_by)


def _top_visitors_of_window(
    gold: Gold, f: Filters, window: int, rank_by: RankBy, limit: int, min_plays: int, identified_only: bool
) -> TopVisitors:
    """`top_visitors` of a preset range over every media, ranked on the totals the in-memory copy precomputed
    (the same sums as from the rows; same order and tie-breaks), then identity and medias of the ranked few."""
    where, params = ["window_id = ?"], [window]
    if min_plays > 1:
        where.append("plays >= ?")
        params.append(min_plays)
    if identified_only:
        where.append("identified")
    ranked = _query(
        gold,
        f"""
        SELECT vid AS visitor, plays, watch, pvs / nullif(plays, 0) AS engagement
        FROM hot.visitor_totals
        WHERE {" AND ".join(where)}
        ORDER BY {_ORDER[rank_by]}, visitor
        LIMIT ?
        """,
        [*params, limit],
    )
    if not ranked:
        return TopVisitors((), rank_by)
    wanted = [r[0] for r in ranked]
    keys = dict(_query(gold, "SELECT vid, visitor_key FROM hot.visitors WHERE vid = ANY(?)", [wanted]))
    details = _visitor_details(gold, f, None, "vid", wanted, hot=True)
    rows = tuple(
        VisitorRow(
            visitor_key=keys[vid],
            name=details.get(vid, (None, None, 0))[0] or None,
            email=details.get(vid, (None, None, 0))[1] or None,
            plays=int(plays or 0),
            watch_time_seconds=float(watch or 0),
            avg_percent_viewed=None if engagement is None else float(engagement),
            medias=int(details.get(vid, (None, None, 0))[2]),
        )
        for vid, plays, watch, engagement in ranked
    )
    return TopVisitors(rows, rank_by)


def _visitor_details(
    gold: Gold, f: Filters, scope: tuple[str, ...] | None, key: str, wanted: list[Any], *, hot: bool
) -> dict[Any, tuple[Any, ...]]:
    """Name and email (when identified) and the number of medias of the `wanted` visitors, over `f`'s range."""
    source, params = _from_where(gold, "gold_visitor_media_daily", f, scope, hot=hot)
    return {
        visitor: tuple(rest)
        for visitor, *rest in _query(
            gold,
            f"""
            SELECT
                {key},
                arg_max(visitor_name, activity_date) FILTER (WHERE is_identified),
                arg_max(visitor_email, activity_date) FILTER (WHERE is_identified),
                count(DISTINCT media_id)
            {source} AND {key} = ANY(?)
            GROUP BY {key}
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
    source, params = _from_where(gold, "gold_media_channel_daily", f, _scope(gold, f), channel=True)
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

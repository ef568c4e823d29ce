"""The metric queries: small, aggregated answers from the published Gold tables.

Every figure follows `docs/metrics.md`: filter the rows (`activity_date` in the range, `media_id` in the
selection), sum the additive columns, then divide; unique visitors are a count of distinct `visitor_key` over
`gold_visitor_media_daily`; a channel filter switches plays, watch time and engagement to
`gold_media_channel_daily` (from events) and leaves loads, play rate and unique visitors out, with the reason.
The project filter applies through each media's project (the medias it leaves).

Every query takes bound parameters (`?`) for every value that comes from the reader (dates, ids, channels);
the SQL text is assembled only from the fixed fragments below. Only aggregated rows leave DuckDB.

Speed: a query reads only the Parquet files of the days in its range (the manifests name them per day), or the
speed layer's in-memory copy once it is ready (`speed_layer.py`). Same rows, same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from wistia_analytics.dashboard.gold import DATE_PARTITIONED, Gold
from wistia_analytics.dashboard.rankings import ORDER_SQL, RankBy
from wistia_analytics.dashboard.speed_layer import VisitorIndex

Granularity = Literal["day", "week", "month"]
TrendMetric = Literal["plays", "play_rate", "watch_time", "engagement"]
KpiKind = Literal["count", "ratio", "seconds"]

GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
TREND_METRICS: tuple[TrendMetric, ...] = ("plays", "play_rate", "watch_time", "engagement")
OTHER_SERIES = "Other medias"

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


# ---- reading Gold ---------------------------------------------------------------------------------------


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
        points.append(TrendPoint(period, label, value))
    return Trend(granularity, metric, tuple(points), tuple(order))


# ---- top media and visitors -----------------------------------------------------------------------------


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
        ORDER BY {ORDER_SQL[rank_by]}, media_id
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
    return TopMedia(tuple(out), notes)


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
        return TopVisitors((), NO_VISITOR_CHANNEL)
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
        ORDER BY {ORDER_SQL[rank_by]}, visitor
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
    return TopVisitors(tuple(rows))


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
    return TopVisitors(tuple(rows))


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


# ---- retention and channels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    position_fraction: float | None
    viewers: int
    rewatchers: int
    retention: float | None


def retention_curve(gold: Gold, media_id: str) -> tuple[CurvePoint, ...]:
    """Wistia's lifetime engagement curve of one media (no date: the range and channels cannot apply)."""
    rows = _query(
        gold,
        """
        SELECT position_fraction, viewers, rewatchers, retention
        FROM gold.media_engagement_curve
        WHERE media_id = ?
        ORDER BY bucket_index
        """,
        [media_id],
    )
    return tuple(
        CurvePoint(None if p is None else float(p), int(v or 0), int(r or 0), None if t is None else float(t))
        for p, v, r, t in rows
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

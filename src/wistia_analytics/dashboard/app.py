"""The marketing dashboard: a Streamlit page over Gold (`streamlit run app.py`, or `wistia-analytics dashboard`).

Layout and widgets only: every number comes from the dashboard's data layer (`gold` opens the published Gold,
`metrics` queries it, `trust` says how far to trust it, `formatting` writes figures for people), through
`st.cache_data` (results, keyed by the lake's Gold versions and the filters) and `st.cache_resource` (one DuckDB
catalog per Gold version, shared by every session). The filters live in the URL's query parameters, so a view
can be shared: every control round-trips through them (`URL_CHOICES`, `URL_FLAGS`, `URL_LISTS` below name them;
`docs/dashboard.md` lists them). A parameter at its default is left out, except `range`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, TypeVar

import altair as alt
import streamlit as st

from wistia_analytics.dashboard.formatting import format_change, format_kpi, plain_markdown
from wistia_analytics.dashboard.gold import Gold, GoldUnavailableError, lake_versions, open_gold
from wistia_analytics.dashboard.help import METRICS_MD, kpi_help, section
from wistia_analytics.dashboard.metrics import (
    GRANULARITIES,
    OTHER_SERIES,
    TREND_METRICS,
    ChannelRow,
    CurvePoint,
    Filters,
    Granularity,
    Kpis,
    TopMedia,
    TopVisitors,
    Trend,
    TrendMetric,
    by_channel,
    kpis,
    retention_curve,
    top_media,
    top_visitors,
    trend,
)
from wistia_analytics.dashboard.presets import CUSTOM, DEFAULT_PRESET, PRESET_LABELS, preset_range
from wistia_analytics.dashboard.rankings import RANKINGS, RankBy
from wistia_analytics.dashboard.trust import Trust, trust
from wistia_analytics.lake.storage import Storage
from wistia_analytics.settings import Settings

GRANULARITY_LABELS: dict[Granularity, str] = {"day": "Day", "week": "Week", "month": "Month"}
METRIC_LABELS: dict[TrendMetric, str] = {
    "plays": "Plays",
    "play_rate": "Play rate",
    "watch_time": "Watch time (h)",
    "engagement": "Engagement",
}
RANK_LABELS: dict[RankBy, str] = {"engagement": "Engagement", "plays": "Plays", "watch_time": "Watch time"}
CHANNEL_LABELS = {
    "facebook": "Facebook",
    "youtube": "YouTube",
    "linkedin": "LinkedIn",
    "x": "X (Twitter)",
    "instagram": "Instagram",
    "email": "Email",
    "search": "Search",
    "direct": "Direct",
    "other": "Other",
    "unknown": "Unknown",
}
ROW_CHOICES = (10, 25, 50, 100)  # rows of the top media and top visitors tables
TOP_ROWS = 25
NO_CHANGE = "no data before"  # the delta of a KPI whose previous period has no data

# The URL's query parameters: each is also the key of the widget it sets (start/end: the custom range `dates`).
# Single-choice controls: parameter -> (allowed values, default).
URL_CHOICES: dict[str, tuple[tuple[object, ...], object]] = {
    "range": (tuple(PRESET_LABELS), DEFAULT_PRESET),
    "gran": (GRANULARITIES, "day"),
    "metric": (TREND_METRICS, "plays"),
    "rank_media": (RANKINGS, "engagement"),
    "rows_media": (ROW_CHOICES, TOP_ROWS),
    "rank_visitors": (RANKINGS, "engagement"),
    "rows_visitors": (ROW_CHOICES, TOP_ROWS),
}
# The single-choice controls keep their value in `VIEW_KEY` (plain session state, never dropped by Streamlit) and
# get it back as their `default`/`index` on every run (`choice_control`): a widget whose state was lost (a rerun
# cut short by the next click, a remount in a cold browser) then shows the view's value, not its first option
# (a Rows selectbox) or nothing (a segmented control).
VIEW_KEY = "_view"
URL_FLAGS = ("others", "identified_only")  # toggles: `1` when on
URL_LISTS = ("project", "media", "channel")  # multiselects: the parameter repeated
MIN_PLAYS_MAX = 1_000_000

T = TypeVar("T")


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel.title())


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """A small aggregated result as CSV (header from the first row's keys)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# ---- cached data access ---------------------------------------------------------------------------------
# Every cached function takes the lake's URI and Gold versions first: a republished Gold is a new cache key.

Versions = tuple[tuple[str, str], ...]


@st.cache_data(ttl=15, refresh_mode="background", show_spinner=False)
def gold_versions(lake_uri: str) -> Versions:
    """Re-read at most every 15 s (in the background: nobody waits for it)."""
    return lake_versions(Storage.from_uri(lake_uri))


def _release(gold: Gold) -> None:
    gold.close()


@st.cache_resource(max_entries=2, show_spinner=False, on_release=_release)
def gold_handle(lake_uri: str, versions: Versions) -> Gold:
    """One catalog per Gold version, shared by every session (its in-memory copy starts after the first page)."""
    return open_gold(Storage.from_uri(lake_uri), hot="later")


def _timed(name: str, fn: Callable[[], T]) -> T:
    """Run a query and add its wall time to this render's timings (shown in the footer, read by benchmarks)."""
    started = time.perf_counter()
    try:
        return fn()
    finally:
        timings: dict[str, float] = st.session_state.setdefault("_query_ms", {})
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000


@st.cache_data(max_entries=256, show_spinner=False)
def cached_kpis(lake_uri: str, versions: Versions, f: Filters) -> Kpis:
    return kpis(gold_handle(lake_uri, versions), f)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_trend(lake_uri: str, versions: Versions, f: Filters, granularity: Granularity, metric: TrendMetric) -> Trend:
    return trend(gold_handle(lake_uri, versions), f, granularity, metric)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_top_media(lake_uri: str, versions: Versions, f: Filters, rank_by: RankBy, limit: int) -> TopMedia:
    return top_media(gold_handle(lake_uri, versions), f, rank_by=rank_by, limit=limit)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_top_visitors(
    lake_uri: str,
    versions: Versions,
    f: Filters,
    rank_by: RankBy,
    limit: int,
    min_plays: int,
    identified_only: bool,
) -> TopVisitors:
    return top_visitors(
        gold_handle(lake_uri, versions),
        f,
        rank_by=rank_by,
        limit=limit,
        min_plays=min_plays,
        identified_only=identified_only,
    )


@st.cache_data(max_entries=256, show_spinner=False)
def cached_curve(lake_uri: str, versions: Versions, media_id: str) -> tuple[CurvePoint, ...]:
    return retention_curve(gold_handle(lake_uri, versions), media_id)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_channels(lake_uri: str, versions: Versions, f: Filters) -> tuple[ChannelRow, ...]:
    return by_channel(gold_handle(lake_uri, versions), f)


@st.cache_data(ttl=60, refresh_mode="background", show_spinner=False)
def cached_trust(lake_uri: str, versions: Versions) -> Trust:
    return trust(Storage.from_uri(lake_uri), gold_handle(lake_uri, versions))


# ---- filters and the URL --------------------------------------------------------------------------------


def _clamp(day: date, gold: Gold) -> date:
    return min(max(day, gold.first_day), gold.last_day)


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choice(value: str | None, options: Sequence[object], default: object) -> object:
    """The option whose text is `value` (URL values are text; some options are numbers), else `default`."""
    return next((option for option in options if str(option) == value), default)


def _min_plays(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MIN_PLAYS_MAX)
    except ValueError:
        return 1


def load_url_state(gold: Gold) -> None:
    """Once per session: every widget starts from the URL's query parameters (unknown values are ignored).

    The widgets take their initial values from here only, so an opened URL shows exactly the view that wrote
    it: through their keys, except the single-choice controls, which take theirs as `default`/`index` from
    `VIEW_KEY` (`choice_control`).
    """
    if st.session_state.get("_url_loaded"):
        return
    st.session_state["_url_loaded"] = True
    ss, params = st.session_state, st.query_params
    view = {key: _choice(params.get(key), options, default) for key, (options, default) in URL_CHOICES.items()}
    ss[VIEW_KEY] = view
    start, end = preset_range(DEFAULT_PRESET, gold.first_day, gold.last_day)
    if view["range"] == CUSTOM:
        start = _clamp(_parse_day(params.get("start")) or start, gold)
        end = _clamp(_parse_day(params.get("end")) or end, gold)
        start, end = min(start, end), max(start, end)
    ss["dates"] = (start, end)
    known = _known(gold)
    for key in URL_LISTS:
        ss[key] = list(dict.fromkeys(v for v in params.get_all(key) if v in known[key]))
    for key in URL_FLAGS:
        ss[key] = params.get(key) in ("1", "true")
    ss["min_plays"] = _min_plays(params.get("min_plays"))
    curve = params.get("curve")
    if curve in known["media"]:
        ss["curve"] = curve


def url_state(curve: str | None) -> dict[str, list[str]]:
    """The current view as query parameters (defaults left out, except `range`)."""
    ss = st.session_state
    view = ss.get(VIEW_KEY) or {}
    wanted: dict[str, list[str]] = {"range": [str(view.get("range", DEFAULT_PRESET))]}
    if view.get("range") == CUSTOM:
        start, end = ss["_range"]
        wanted["start"], wanted["end"] = [start.isoformat()], [end.isoformat()]
    for key in URL_LISTS:
        if ss.get(key):
            wanted[key] = [str(v) for v in ss[key]]
    for key, (_, default) in URL_CHOICES.items():
        value = view.get(key, default)
        if key != "range" and value != default:
            wanted[key] = [str(value)]
    for key in URL_FLAGS:
        if ss.get(key):
            wanted[key] = ["1"]
    if int(ss.get("min_plays") or 1) > 1:
        wanted["min_plays"] = [str(int(ss["min_plays"]))]
    if curve:
        wanted["curve"] = [curve]
    return wanted


def save_url_state(curve: str | None) -> None:
    """Write the current view to the URL (only when it changed, so the browser history stays clean)."""
    wanted = url_state(curve)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def choice_control(key: str, widget: Callable[[Any], Any]) -> Any:
    """A single-choice control of `URL_CHOICES`: `widget(current)` draws it with the view's value as its
    `default`/`index`; the value it returns becomes the view's (an empty or unknown one keeps the view's)."""
    view: dict[str, object] = st.session_state.setdefault(VIEW_KEY, {})
    options, default = URL_CHOICES[key]
    current = view.get(key, default)
    if current not in options:
        current = default
    value = widget(current)
    if value not in options:
        value = current
    view[key] = value
    return value


def rows_control(container: Any, key: str) -> int:
    """A Rows selectbox (`choice_control`)."""
    return int(
        choice_control(
            key, lambda current: container.selectbox("Rows", ROW_CHOICES, index=ROW_CHOICES.index(current), key=key)
        )
    )


def _on_range_change(gold: Gold) -> None:
    """Switching to Custom starts from the range shown so far."""
    if st.session_state.get("range") == CUSTOM:
        start, end = st.session_state.get("_range") or preset_range(DEFAULT_PRESET, gold.first_day, gold.last_day)
        st.session_state["dates"] = (_clamp(start, gold), _clamp(end, gold))


def _known(gold: Gold) -> dict[str, set[str]]:
    """What each multiselect can hold in this Gold."""
    return {
        "project": {p for p, _ in gold.projects},
        "media": {m.media_id for m in gold.medias},
        "channel": set(gold.channels),
    }


def _keep_known(gold: Gold) -> None:
    """Drop selections Gold no longer has (it may be republished while a session is open)."""
    for key, options in _known(gold).items():
        selected = st.session_state.get(key) or []
        if any(value not in options for value in selected):
            st.session_state[key] = [value for value in selected if value in options]
    dates = st.session_state.get("dates")
    if isinstance(dates, tuple) and len(dates) == 2 and all(isinstance(d, date) for d in dates):
        clamped = (_clamp(dates[0], gold), _clamp(dates[1], gold))
        if clamped != dates:
            st.session_state["dates"] = clamped


def sidebar_filters(gold: Gold) -> Filters:
    """The filter widgets (sidebar) -> `Filters`."""
    _keep_known(gold)
    sb = st.sidebar
    sb.header("Filters")
    preset = choice_control(
        "range",
        lambda current: sb.segmented_control(
            "Date range",
            list(PRESET_LABELS),
            format_func=PRESET_LABELS.__getitem__,
            key="range",
            default=current,
            required=True,
            on_change=_on_range_change,
            args=(gold,),
            help=f"Presets end on the last day with data ({gold.last_day:%Y-%m-%d}, UTC days).",
        ),
    )
    if preset == CUSTOM:
        picked = sb.date_input(
            "From - to",
            key="dates",
            min_value=gold.first_day,
            max_value=gold.last_day,
            format="YYYY-MM-DD",
        )
        days = [d for d in (picked if isinstance(picked, tuple) else (picked,)) if isinstance(d, date)]
        start, end = (days[0], days[-1]) if days else preset_range(DEFAULT_PRESET, gold.first_day, gold.last_day)
    else:
        start, end = preset_range(preset or DEFAULT_PRESET, gold.first_day, gold.last_day)
    st.session_state["_range"] = (start, end)
    project_names = dict(gold.projects)
    projects = sb.multiselect(
        "Projects",
        list(project_names),
        format_func=lambda p: project_names.get(p, p),
        key="project",
        placeholder="All projects",
    )
    names = {m.media_id: m.media_name for m in gold.medias}
    medias = sb.multiselect(
        "Medias",
        list(names),
        format_func=lambda m: f"{names.get(m, m)} · {m}",
        key="media",
        placeholder="All medias",
        help="Search by name or id. With projects selected too, a media counts only if it is in one of them.",
    )
    channels = sb.multiselect(
        "Channels",
        list(gold.channels),
        format_func=channel_label,
        key="channel",
        placeholder="All channels",
        help=section("Where a filter cannot apply"),
    )
    sb.caption("The address bar keeps these filters: copy the URL to share this view.")
    return Filters(start, end, tuple(medias), tuple(projects), tuple(channels))


# ---- page sections --------------------------------------------------------------------------------------


def describe_scope(gold: Gold, f: Filters) -> str:
    parts = []
    if f.project_ids:
        names = dict(gold.projects)
        parts.append("projects: " + ", ".join(names.get(p, p) for p in f.project_ids))
    if f.media_ids:
        names = {m.media_id: m.media_name for m in gold.medias}
        listed = [names.get(m, m) for m in f.media_ids]
        parts.append("medias: " + ", ".join(listed) if len(listed) <= 3 else f"{len(listed)} medias")
    if f.channels:
        parts.append("channels: " + ", ".join(channel_label(c) for c in f.channels))
    return " · ".join(parts) or "all medias, all channels"


def trust_banner(t: Trust) -> None:
    run = t.last_run
    stamp = f"**Data as of {t.data_as_of:%Y-%m-%d}** (last day with activity, UTC)"
    if t.newest_event_at:
        stamp += f" · newest session {t.newest_event_at[:16].replace('T', ' ')} UTC"
    if run is None:
        run_text = "no run recorded in this lake"
    else:
        when = (run.ended_at or run.started_at)[:16].replace("T", " ")
        run_text = f"last run `{run.command}` **{run.status}** at {when} UTC"
        if run.errors:
            run_text += f" with {run.errors} error(s)"
    drift = (
        f"reconciliation: **{t.drift_rows:,} of {t.reconciliation_rows:,} rows drift** from Wistia's own figures"
        f" (max plays difference {t.drift_max_plays_diff})"
        if t.drift_rows
        else f"reconciliation: no drift ({t.reconciliation_rows:,} rows checked)"
    )
    quarantine = (
        "quarantined records: "
        + ", ".join(f"{n:,} {entity}" for entity, n in sorted(t.quarantined.items()))
        + " (rejected by validation, not counted)"
        if t.quarantined
        else "no quarantined records"
    )
    text = f"{stamp} · {run_text} · {drift} · {quarantine}"
    if t.level == "ok":
        st.success(text, icon=":material/verified:")
    elif t.level == "warning":
        advice = (
            " Some of today's figures may still move: sessions arriving late count in Wistia's daily figures "
            "before the events are fetched again (docs/metrics.md, Reconciliation)."
        )
        st.warning(text + advice, icon=":material/warning:")
    else:
        st.error(text + " Check `wistia-analytics status` before trusting these numbers.", icon=":material/error:")


def partial_day_note(t: Trust, f: Filters) -> None:
    """Say so when the range ends on a day the last run read before it was over (e.g. a run at 00:15 UTC)."""
    day = t.day_in_progress
    if day is None or not f.start <= day <= f.end:
        return
    run = t.last_run
    when = f" at {run.started_at[11:16]} UTC" if run else ""
    st.info(
        f"{day:%Y-%m-%d} was still in progress when the last run read it{when}: its figures are partial, so this "
        f"range's last day and its change against the previous period read low. For whole days only, pick a "
        f"custom range ending {day - timedelta(days=1):%Y-%m-%d}.",
        icon=":material/schedule:",
    )


def kpi_cards(k: Kpis) -> None:
    cards = k.cards()
    columns = [c for _ in range(2) for c in st.columns(3)]  # two rows of three: labels and notes stay readable
    for column, kpi in zip(columns, cards, strict=True):
        with column, st.container(border=True, height="stretch"):
            change = format_change(kpi)
            if kpi.unavailable:
                st.metric(kpi.label, format_kpi(kpi), help=kpi_help(kpi.key))
                st.caption(kpi.unavailable)
                continue
            moved = change is not None and change not in ("+0.0%", "+0.0 pp")
            st.metric(
                kpi.label,
                format_kpi(kpi),
                delta=change or NO_CHANGE,
                delta_color="normal" if moved else "off",
                delta_arrow="auto" if moved else "off",
                help=kpi_help(kpi.key),
            )
            if kpi.note:
                st.caption(kpi.note)
    prev = k.previous
    st.caption(
        f"Changes against the previous {_days(k.filters.days)} ({prev.start:%Y-%m-%d} - {prev.end:%Y-%m-%d}): "
        "relative for counts and watch time, in percentage points (pp) for rates."
    )


def trend_section(lake_uri: str, versions: Versions, f: Filters) -> None:
    st.subheader("Engagement trend by media")
    left, right, last = st.columns([2, 4, 2], vertical_alignment="bottom")
    granularity = choice_control(
        "gran",
        lambda current: left.segmented_control(
            "Granularity",
            list(GRANULARITY_LABELS),
            format_func=GRANULARITY_LABELS.__getitem__,
            key="gran",
            default=current,
            required=True,
        ),
    )
    metric = choice_control(
        "metric",
        lambda current: right.segmented_control(
            "Metric",
            list(METRIC_LABELS),
            format_func=METRIC_LABELS.__getitem__,
            key="metric",
            default=current,
            required=True,
        ),
    )
    others = last.toggle(
        f"Show '{OTHER_SERIES}'",
        key="others",
        help="The medias beyond the top 8, as one line (sums, then ratios). Off: the top medias fill the chart.",
    )
    tr = _timed("trend", lambda: cached_trend(lake_uri, versions, f, granularity or "day", metric or "plays"))
    if tr.unavailable:
        st.info(tr.unavailable)
        return
    if not tr.points:
        st.info("No activity in this range and selection.")
        return
    series = [name for name in tr.series if others or name != OTHER_SERIES]
    frame = alt.InlineData(
        values=[
            {"period": p.period.isoformat(), "media": p.series, "value": p.value}
            for p in tr.points
            if p.value is not None and (others or p.series != OTHER_SERIES)
        ]
    )
    ratio = tr.metric in ("play_rate", "engagement")
    label = METRIC_LABELS[tr.metric]
    chart = (
        alt.Chart(frame)
        .mark_line(point=tr.granularity != "day" or len({p.period for p in tr.points}) <= 14)
        .encode(
            x=alt.X("period:T", title=None),
            y=alt.Y(
                "value:Q",
                title=label,
                axis=alt.Axis(
                    format=".0%" if ratio else ",.1f" if tr.metric == "watch_time" else ",.0f",
                    tickMinStep=0.01 if ratio else 0.1 if tr.metric == "watch_time" else 1,
                ),
            ),
            color=alt.Color(
                "media:N",
                sort=series,
                title="Media (top by plays)",
                scale=alt.Scale(domain=series, range=_palette(series)),
            ),
            strokeDash=alt.condition(
                alt.datum.media == OTHER_SERIES,
                alt.value([4, 3]),
                alt.value([1, 0]),
            ),
            tooltip=[
                alt.Tooltip("period:T", title=f"{GRANULARITY_LABELS[tr.granularity]} starting"),
                alt.Tooltip("media:N", title="Media"),
                alt.Tooltip("value:Q", title=label, format=".1%" if ratio else ",.1f"),
            ],
        )
        .properties(height=320)
    )
    st.altair_chart(chart, width="stretch")
    shown = len(tr.series) - (OTHER_SERIES in tr.series)
    notes = ["The media with the most plays in the range" if shown == 1 else f"The {shown} medias with the most plays"]
    if OTHER_SERIES in tr.series and others:
        notes.append(f"the rest as '{OTHER_SERIES}' (sums, then ratios)")
    elif OTHER_SERIES in tr.series:
        notes.append(f"'{OTHER_SERIES}' hidden")
    if tr.granularity != "day":
        notes.append(f"{tr.granularity}s start on {'Monday' if tr.granularity == 'week' else 'the 1st'} (UTC)")
        notes.append("the first and last may be partial")
    if f.channels:
        notes.append("plays and watch time from events (channel filter)")
    st.caption("; ".join(notes) + ".")


def channel_section(lake_uri: str, versions: Versions, f: Filters) -> None:
    st.subheader("Plays and engagement by channel")
    rows = _timed("by_channel", lambda: cached_channels(lake_uri, versions, f))
    if not rows:
        st.info("No sessions in this range and selection.")
        return
    frame = alt.InlineData(
        values=[
            {
                "channel": channel_label(r.channel),
                "plays": r.plays,
                "engagement": r.engagement_rate,
                "watch_hours": r.watch_time_seconds / 3600,
            }
            for r in rows
        ]
    )
    order = [channel_label(r.channel) for r in rows]
    tooltip = [
        alt.Tooltip("channel:N", title="Channel"),
        alt.Tooltip("plays:Q", title="Plays (from events)", format=","),
        alt.Tooltip("watch_hours:Q", title="Watch time (h)", format=",.1f"),
        alt.Tooltip("engagement:Q", title="Engagement rate", format=".1%"),
    ]
    base = alt.Chart(frame).encode(
        y=alt.Y("channel:N", sort=order, title=None),
        x=alt.X(
            "plays:Q", title="Plays (from events); label: engagement rate", axis=alt.Axis(tickMinStep=1, format=",d")
        ),
        tooltip=tooltip,
    )
    bars = base.mark_bar()
    labels = base.mark_text(align="left", dx=4, color="#333333").encode(text=alt.Text("engagement:Q", format=".0%"))
    st.altair_chart((bars + labels).properties(height=max(120, 30 * len(rows))), width="stretch")
    st.caption(
        "Per channel, plays and watch time come from events; loads and play rate do not exist per channel "
        "(Wistia reports loads per media and day only), and unique visitors per channel cannot be added up "
        "across days or medias."
    )


def retention_section(lake_uri: str, versions: Versions, gold: Gold, f: Filters, default: str | None) -> str | None:
    st.subheader("Retention of a media")
    scope = set(f.media_ids) if f.media_ids else None
    projects = set(f.project_ids)
    options = [
        m.media_id
        for m in gold.medias
        if m.has_curve and (scope is None or m.media_id in scope) and (not projects or m.project_id in projects)
    ]
    if not options:
        st.info("No engagement curve for the selected medias.")
        return None
    if st.session_state.get("curve") not in options:
        st.session_state["curve"] = default if default in options else options[0]
    names = {m.media_id: m.media_name for m in gold.medias}
    media_id = st.selectbox("Media", options, format_func=lambda m: f"{names.get(m, m)} · {m}", key="curve")
    points = _timed("retention", lambda: cached_curve(lake_uri, versions, media_id))
    first = points[0].viewers if points else 0
    frame = alt.InlineData(
        values=[
            {
                "position": p.position_fraction,
                "retention": p.retention,
                "rewatch": p.rewatchers / first if first else None,
                "viewers": p.viewers,
                "rewatchers": p.rewatchers,
            }
            for p in points
        ]
    )
    tooltip = [
        alt.Tooltip("position:Q", title="Position in the video", format=".0%"),
        alt.Tooltip("retention:Q", title="Still watching", format=".1%"),
        alt.Tooltip("viewers:Q", title="Viewers", format=","),
        alt.Tooltip("rewatchers:Q", title="Rewatchers", format=","),
    ]
    x = alt.X("position:Q", title="Position in the video", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1]))
    y_axis = alt.Axis(format=".0%")
    retention = (
        alt.Chart(frame)
        .mark_line(color="#4c78a8")
        .encode(x=x, y=alt.Y("retention:Q", title="% of starting viewers", axis=y_axis), tooltip=tooltip)
    )
    rewatch = (
        alt.Chart(frame)
        .mark_area(color="#f58518", opacity=0.35)
        .encode(x=x, y=alt.Y("rewatch:Q", axis=y_axis), tooltip=tooltip)
    )
    st.altair_chart((rewatch + retention).properties(height=260), width="stretch")
    st.caption(
        "Line: share of the starting viewers still watching (retention). Shaded: rewatches at that point, as a "
        "share of the starting viewers. Wistia gives this curve over the media's lifetime: the date range and "
        "the channel filter do not apply to it."
    )
    return media_id


PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6")


def _palette(series: Sequence[str]) -> list[str]:
    """A color per series; 'Other medias' in grey."""
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    return [("#9a9a9a" if name == OTHER_SERIES else color) for name, color in zip(series, colors, strict=True)]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def top_media_section(lake_uri: str, versions: Versions, f: Filters) -> str | None:
    st.subheader("Top media")
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    rank_by = choice_control(
        "rank_media",
        lambda current: left.segmented_control(
            "Rank by",
            list(RANK_LABELS),
            format_func=RANK_LABELS.__getitem__,
            key="rank_media",
            default=current,
            required=True,
        ),
    )
    limit = rows_control(right, "rows_media")
    top = _timed("top_media", lambda: cached_top_media(lake_uri, versions, f, rank_by or "engagement", limit))
    if not top.rows:
        st.info("No media with activity in this range and selection.")
        return None
    per_channel = bool(f.channels)
    shown: list[dict[str, Any]] = []
    for r in top.rows:
        row: dict[str, Any] = {
            "Media": r.media_name,
            "Media id": r.media_id,
            "Project": r.project_name,
            "Plays": r.plays,
            "Loads": r.loads,
            "Play rate %": _pct(r.play_rate),
            "Watch time (h)": round(r.watch_time_seconds / 3600, 2),
            "Engagement %": _pct(r.engagement_rate),
        }
        if per_channel:  # not available per channel (the notes below say why)
            for column in ("Loads", "Play rate %"):
                del row[column]
        shown.append(row)
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Plays": st.column_config.NumberColumn(format="localized"),
            "Loads": st.column_config.NumberColumn(format="localized"),
            "Play rate %": st.column_config.NumberColumn(format="%.1f%%", help=kpi_help("play_rate")),
            "Engagement %": st.column_config.NumberColumn(format="%.1f%%", help=kpi_help("engagement")),
        },
        height=min(38 + 35 * len(shown), 400),
    )
    export = [asdict(r) for r in top.rows]
    if per_channel:
        export = [{k: v for k, v in r.items() if k not in ("loads", "play_rate")} for r in export]
    st.download_button(
        "Download CSV",
        to_csv(export),
        file_name=f"top-media-{f.start}-{f.end}.csv",
        mime="text/csv",
        key="csv_media",
        icon=":material/download:",
    )
    if top.notes:
        st.caption(" ".join(top.notes))
    return top.rows[0].media_id


def top_visitors_section(lake_uri: str, versions: Versions, f: Filters) -> None:
    st.subheader("Top visitors")
    left, middle, right, last = st.columns([2.6, 1, 1.4, 1], vertical_alignment="bottom")
    rank_by = choice_control(
        "rank_visitors",
        lambda current: left.segmented_control(
            "Rank by",
            list(RANK_LABELS),
            format_func=RANK_LABELS.__getitem__,
            key="rank_visitors",
            default=current,
            required=True,
        ),
    )
    min_plays = int(
        middle.number_input("Minimum plays", min_value=1, max_value=MIN_PLAYS_MAX, step=1, key="min_plays") or 1
    )
    identified = right.toggle("Identified only", key="identified_only", help="Visitors Wistia knows by name or email.")
    limit = rows_control(last, "rows_visitors")
    top = _timed(
        "top_visitors",
        lambda: cached_top_visitors(lake_uri, versions, f, rank_by or "engagement", limit, min_plays, identified),
    )
    if top.unavailable:
        st.info(top.unavailable)
        return
    if not top.rows:
        st.info("No visitor sessions in this range and selection.")
        return
    shown = [
        {
            "Visitor": r.name or r.email or "anonymous",
            "Email": r.email or "",
            "Visitor key": r.visitor_key,
            "Plays": r.plays,
            "Watch time (h)": round(r.watch_time_seconds / 3600, 2),
            "Avg % viewed": _pct(r.avg_percent_viewed),
            "Medias": r.medias,
        }
        for r in top.rows
    ]
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Email": st.column_config.TextColumn(width="medium"),
            "Avg % viewed": st.column_config.NumberColumn(format="%.1f%%"),
        },
        height=min(38 + 35 * len(shown), 400),
    )
    st.download_button(
        "Download CSV",
        to_csv([asdict(r) for r in top.rows]),
        file_name=f"top-visitors-{f.start}-{f.end}.csv",
        mime="text/csv",
        key="csv_visitors",
        icon=":material/download:",
    )
    st.caption(
        "Ranked by average percent viewed = Σ percent viewed / Σ plays per visitor (docs/metrics.md); raise the "
        "minimum plays to rank regular viewers. Name and email only for identified visitors. Sessions without a "
        "visitor key count in plays but not here."
    )


def no_data_page(lake_uri: str, error: GoldUnavailableError) -> None:
    st.title("Video engagement")
    if error.kind == "unreadable":
        st.error(
            f"The lake at `{lake_uri}` cannot be read by the dashboard yet: {plain_markdown(error)}",
            icon=":material/error:",
        )
        st.markdown("Point `LAKE_URI` at a local lake folder (for example `./lake`) and reload this page.")
        return
    st.warning(f"There is nothing to show yet: {plain_markdown(error)}.", icon=":material/hourglass_empty:")
    st.markdown(
        f"""
The dashboard reads the Gold tables of the lake at `{lake_uri}` (setting `LAKE_URI`). Build them first:

1. **Try it on the built-in sandbox** (no Wistia account needed): `make demo`. It ingests a synthetic
   Wistia account into `./lake` and builds Silver and Gold.
2. **On your Wistia account**: set `WISTIA_API_TOKEN` (and `LAKE_URI`), then run
   `.venv/bin/wistia-analytics run` (ingest, then transform).
3. Check what the lake holds with `.venv/bin/wistia-analytics status`, then **reload this page**.
"""
    )


def lake_uri_setting() -> str:
    return Settings().lake_uri


def main() -> None:
    st.set_page_config(page_title="Video engagement · Wistia", page_icon=":material/monitoring:", layout="wide")
    started = time.perf_counter()
    st.session_state["_query_ms"] = {}
    lake_uri = lake_uri_setting()
    try:
        # an empty answer is never trusted from the cache: the pipeline may have just published Gold
        versions = _timed("versions", lambda: gold_versions(lake_uri) or lake_versions(Storage.from_uri(lake_uri)))
        gold = _timed("open", lambda: gold_handle(lake_uri, versions))
    except GoldUnavailableError as exc:
        no_data_page(lake_uri, exc)
        return
    load_url_state(gold)
    f = sidebar_filters(gold)
    st.title("Video engagement")
    # media and project names come from the API: plain text (st.text), never Markdown
    st.text(f"{f.start:%Y-%m-%d} - {f.end:%Y-%m-%d} ({_days(f.days)}, UTC) · {describe_scope(gold, f)}")
    panel = _timed("trust", lambda: cached_trust(lake_uri, versions))
    trust_banner(panel)
    partial_day_note(panel, f)
    kpi_cards(_timed("kpis", lambda: cached_kpis(lake_uri, versions, f)))
    with st.expander("How every figure is defined (docs/metrics.md)", icon=":material/help:"):
        st.markdown(METRICS_MD)
    trend_section(lake_uri, versions, f)
    top_id = top_media_section(lake_uri, versions, f)
    left, right = st.columns(2, gap="large")
    with left:
        channel_section(lake_uri, versions, f)
    with right:
        curve = retention_section(lake_uri, versions, gold, f, top_id)
    top_visitors_section(lake_uri, versions, f)
    save_url_state(curve)
    timings: dict[str, Any] = st.session_state["_query_ms"]
    total = (time.perf_counter() - started) * 1000
    gold.start_hot()  # after the first page of this Gold version is out (no-op afterwards)
    source = "in-memory copy" if gold.hot.ready.is_set() else "Parquet files"
    if gold.hot.skipped is None and not gold.hot.ready.is_set() and gold.hot.error is None:
        source += " (in-memory copy building)"
    st.caption(
        f"Rendered in {total:,.0f} ms (data {sum(timings.values()):,.0f} ms, from the {source}) · lake `{lake_uri}`."
    )


if __name__ == "__main__":
    main()

"""Every query of the dashboard against the hand-computed lake (figures in conftest.py's docstring)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dashboard.conftest import M3, P1, P2
from tests.transform.fixture_lake import M1, M2
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query import dashboard as q

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
ALL = q.Filters(D1, D2)


def approx(expected: object) -> object:
    """`pytest.approx` that also compares tuples inside lists and dicts (floats to 1e-9)."""
    if isinstance(expected, list):
        return [approx(e) for e in expected]
    if isinstance(expected, tuple):
        return tuple(approx(e) for e in expected)
    if isinstance(expected, dict):
        return {k: approx(v) for k, v in expected.items()}
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        return pytest.approx(expected, abs=1e-9)
    return expected


def values(k: q.Kpis) -> dict[str, float | None]:
    return {c.key: c.value for c in k.cards()}


# ---- the handle and filters -----------------------------------------------------------------------------


def test_open_gold_lists_medias_projects_channels_and_dates(gold: q.Gold) -> None:
    assert (gold.first_day, gold.last_day) == (D1, D2)
    assert [(m.media_id, m.media_name, m.project_id, m.project_name, m.has_curve) for m in gold.medias] == [
        (M3, "Demo", P2, "Sales", True),
        (M1, "Launch", P1, "Marketing", True),
        (M2, "Tour", P1, "Marketing", True),
    ]
    assert gold.projects == ((P1, "Marketing"), (P2, "Sales"))
    assert gold.channels == ("direct", "email", "facebook", "linkedin", "search", "youtube")
    assert {t for t, _ in gold.versions} == set(q.GOLD_TABLES)
    assert set(gold.partitions) == set(q.DATE_PARTITIONED)
    assert [day for day, _ in gold.partitions["gold_media_daily"]] == ["2026-11-01", "2026-11-02"]


def test_in_memory_copy_in_the_background(gold_lake: Path) -> None:
    handle = q.open_gold(Storage.from_uri(str(gold_lake)))  # default: built in a background thread
    try:
        assert handle.hot.wait(timeout=30), handle.hot.error
        assert handle.hot.max_vid == 4 and handle.hot.seconds is not None
        assert q.kpis(handle, ALL).unique_visitors.value == 4
    finally:
        handle.close()
    assert not handle.hot.ready.is_set()
    later = q.open_gold(Storage.from_uri(str(gold_lake)), hot="later")  # the page starts it after rendering
    try:
        assert not later.hot.wait(timeout=0) and later.hot.seconds is None
        later.start_hot()
        later.start_hot()  # once only
        assert later.hot.wait(timeout=30), later.hot.error
    finally:
        later.close()


def test_lake_versions_match_the_handle(gold: q.Gold, gold_lake: Path) -> None:
    assert q.lake_versions(Storage.from_uri(str(gold_lake))) == gold.versions


def test_filters_are_canonical_and_know_their_previous_period() -> None:
    f = q.Filters(date(2026, 11, 8), date(2026, 11, 14), media_ids=("b", "a", "a"), channels=("x",))
    assert f.media_ids == ("a", "b") and f.days == 7
    prev = f.previous()
    assert (prev.start, prev.end, prev.media_ids, prev.channels) == (
        date(2026, 11, 1),
        date(2026, 11, 7),
        ("a", "b"),
        ("x",),
    )
    with pytest.raises(ValueError, match="before start"):
        q.Filters(D2, D1)


def test_missing_and_bronze_only_lakes_are_reported(tmp_path: Path) -> None:
    with pytest.raises(q.GoldUnavailableError) as missing:
        q.open_gold(Storage.from_uri(str(tmp_path / "nowhere")))
    assert missing.value.kind == "missing"
    assert q.lake_versions(Storage.from_uri(str(tmp_path / "nowhere"))) == ()


# ---- KPIs -----------------------------------------------------------------------------------------------


def test_kpis_whole_lake(gold: q.Gold) -> None:
    k = q.kpis(gold, ALL)
    assert values(k) == approx(
        {
            "plays": 8,
            "loads": 27,
            "play_rate": 8 / 27,  # Σ plays / Σ loads, not the mean of daily rates (0.3, 0.4, 0.25, 0.25)
            "watch_time": 445,
            "engagement": 4.05 / 8,  # Σ percent_viewed_sum / Σ event_plays
            "unique_visitors": 4,  # v1..v4, each counted once across days and medias
        }
    )
    assert [c.label for c in k.cards()] == [
        "Total Plays",
        "Total Loads",
        "Play Rate",
        "Total Watch Time",
        "Engagement Rate",
        "Unique Visitors",
    ]
    # the previous two days (2026-10-30, 31) have no data: counts 0, ratios unknown, no change
    assert {c.key: c.previous for c in k.cards()} == {
        "plays": 0,
        "loads": 0,
        "play_rate": None,
        "watch_time": 0,
        "engagement": None,
        "unique_visitors": 0,
    }
    assert all(c.change is None and c.unavailable is None for c in k.cards())


def test_kpis_one_day_with_changes_against_the_day_before(gold: q.Gold) -> None:
    k = q.kpis(gold, q.Filters(D2, D2))
    assert values(k) == approx(
        {"plays": 3, "loads": 12, "play_rate": 0.25, "watch_time": 70, "engagement": 1.3 / 3, "unique_visitors": 3}
    )
    assert (k.previous.start, k.previous.end) == (D1, D1)
    assert {c.key: c.change for c in k.cards()} == approx(
        {
            "plays": (3 - 5) / 5,
            "loads": (12 - 15) / 15,
            "play_rate": 0.25 - 5 / 15,  # a difference for rates
            "watch_time": (70 - 375) / 375,
            "engagement": 1.3 / 3 - 2.75 / 5,
            "unique_visitors": (3 - 2) / 2,
        }
    )
    assert [q.format_change(c) for c in k.cards()] == ["-40.0%", "-20.0%", "-8.3 pp", "-81.3%", "-11.7 pp", "+50.0%"]


@pytest.mark.parametrize(
    ("media_ids", "project_ids", "expected"),
    [
        (
            (M2,),
            (),
            {"plays": 2, "loads": 5, "play_rate": 0.4, "watch_time": 200, "engagement": 0.5, "unique_visitors": 2},
        ),
        (
            (M1,),
            (),
            {
                "plays": 4,
                "loads": 14,
                "play_rate": 4 / 14,
                "watch_time": 185,
                "engagement": 1.85 / 4,
                "unique_visitors": 3,
            },
        ),
        (
            (),
            (P2,),
            {"plays": 2, "loads": 8, "play_rate": 0.25, "watch_time": 60, "engagement": 0.6, "unique_visitors": 2},
        ),
        (
            (),
            (P1,),
            {
                "plays": 6,
                "loads": 19,
                "play_rate": 6 / 19,
                "watch_time": 385,
                "engagement": 2.85 / 6,
                "unique_visitors": 3,
            },
        ),
        (
            (M1, M3),
            (P2,),
            {"plays": 2, "loads": 8, "play_rate": 0.25, "watch_time": 60, "engagement": 0.6, "unique_visitors": 2},
        ),
        # a media outside the selected project: nothing left
        (
            (M3,),
            (P1,),
            {"plays": 0, "loads": 0, "play_rate": None, "watch_time": 0, "engagement": None, "unique_visitors": 0},
        ),
    ],
)
def test_kpis_media_and_project_filters(
    gold: q.Gold, media_ids: tuple[str, ...], project_ids: tuple[str, ...], expected: dict[str, float | None]
) -> None:
    assert values(q.kpis(gold, q.Filters(D1, D2, media_ids, project_ids))) == approx(expected)


def test_kpis_channel_filter_switches_to_events_and_says_what_cannot_apply(gold: q.Gold) -> None:
    k = q.kpis(gold, q.Filters(D1, D2, channels=("facebook",)))
    assert values(k) == approx(
        {"plays": 2, "loads": None, "play_rate": None, "watch_time": 90, "engagement": 1.3 / 2, "unique_visitors": None}
    )
    assert k.plays.label == "Plays (from events)" and k.watch_time.label == "Watch Time (from events)"
    assert k.loads.unavailable == q.NO_LOADS_PER_CHANNEL
    assert k.play_rate.unavailable == q.NO_PLAY_RATE_PER_CHANNEL
    assert k.unique_visitors.unavailable == q.NO_VISITORS_PER_CHANNEL
    assert k.plays.unavailable is None and k.engagement.unavailable is None
    both = q.kpis(gold, q.Filters(D1, D2, project_ids=(P1,), channels=("facebook", "youtube")))
    assert (both.plays.value, both.watch_time.value, both.engagement.value) == approx((3, 250, 1.5 / 3))


# ---- trend ----------------------------------------------------------------------------------------------


def points(t: q.Trend) -> list[tuple[str, str, float | None]]:
    return [(p.period.isoformat(), p.series, p.value) for p in t.points]


def test_trend_daily_plays_by_media_in_rank_order(gold: q.Gold) -> None:
    t = q.trend(gold, ALL, "day", "plays")
    assert t.series == ("Launch", "Tour", "Demo")  # by plays (4, 2, 2), ties by media id
    assert points(t) == [
        ("2026-11-01", "Launch", 3),
        ("2026-11-02", "Launch", 1),
        ("2026-11-01", "Tour", 2),
        ("2026-11-02", "Demo", 2),
    ]


def test_trend_groups_the_rest_as_other_medias(gold: q.Gold) -> None:
    t = q.trend(gold, ALL, "day", "engagement", top=1)
    assert t.series == ("Launch", q.OTHER_SERIES)
    assert points(t) == approx(
        [
            ("2026-11-01", "Launch", 1.75 / 3),
            ("2026-11-02", "Launch", 0.1),
            ("2026-11-01", q.OTHER_SERIES, 0.5),
            ("2026-11-02", q.OTHER_SERIES, 0.6),
        ]
    )


def test_trend_week_and_month_granularity(gold: q.Gold) -> None:
    # 2026-11-01 is a Sunday: its ISO week starts on 2026-10-26; 2026-11-02 starts the next week
    week = q.trend(gold, q.Filters(D1, D2, media_ids=(M1,)), "week", "play_rate")
    assert points(week) == approx([("2026-10-26", "Launch", 0.3), ("2026-11-02", "Launch", 0.25)])
    month = q.trend(gold, q.Filters(D1, D2, media_ids=(M1,)), "month", "play_rate")
    assert points(month) == approx([("2026-11-01", "Launch", 4 / 14)])
    hours = q.trend(gold, q.Filters(D1, D2, project_ids=(P2,)), "month", "watch_time")
    assert points(hours) == approx([("2026-11-01", "Demo", 60 / 3600)])


def test_trend_under_a_channel_filter(gold: q.Gold) -> None:
    t = q.trend(gold, q.Filters(D1, D2, channels=("facebook",)), "day", "engagement")
    assert points(t) == approx([("2026-11-01", "Launch", 0.5), ("2026-11-02", "Demo", 0.8)])
    rate = q.trend(gold, q.Filters(D1, D2, channels=("facebook",)), "day", "play_rate")
    assert rate.points == () and rate.unavailable == q.NO_PLAY_RATE_PER_CHANNEL
    with pytest.raises(ValueError, match="unknown granularity"):
        q.trend(gold, ALL, "year", "plays")  # type: ignore[arg-type]


# ---- top media and visitors -----------------------------------------------------------------------------


def test_top_media_by_engagement_with_every_column(gold: q.Gold) -> None:
    top = q.top_media(gold, ALL)
    assert [(r.media_id, r.media_name, r.project_name, r.plays, r.loads, r.watch_time_seconds) for r in top.rows] == [
        (M3, "Demo", "Sales", 2, 8, 60),
        (M2, "Tour", "Marketing", 2, 5, 200),
        (M1, "Launch", "Marketing", 4, 14, 185),
    ]
    assert [(r.play_rate, r.engagement_rate) for r in top.rows] == approx([(0.25, 0.6), (0.4, 0.5), (4 / 14, 0.4625)])
    assert top.notes == ()


def test_top_media_rankings_limit_and_minimum(gold: q.Gold) -> None:
    assert [r.media_id for r in q.top_media(gold, ALL, rank_by="plays").rows] == [M1, M3, M2]  # tie: engagement
    assert [r.media_id for r in q.top_media(gold, ALL, rank_by="watch_time").rows] == [M2, M1, M3]
    assert [r.media_id for r in q.top_media(gold, ALL, limit=1).rows] == [M3]
    assert [r.media_id for r in q.top_media(gold, ALL, min_plays=3).rows] == [M1]
    assert q.top_media(gold, q.Filters(D2, D2, media_ids=(M2,))).rows == ()


def test_top_media_under_a_channel_filter(gold: q.Gold) -> None:
    top = q.top_media(gold, q.Filters(D1, D2, channels=("facebook",)))
    assert [(r.media_id, r.plays, r.watch_time_seconds, r.loads, r.play_rate) for r in top.rows] == [
        (M3, 1, 40, None, None),
        (M1, 1, 50, None, None),
    ]
    assert [r.engagement_rate for r in top.rows] == approx([0.8, 0.5])
    assert top.notes == (q.FROM_EVENTS_WITH_CHANNEL, q.NO_LOADS_PER_CHANNEL)


def test_top_visitors_by_engagement_with_identity_only_when_identified(gold: q.Gold) -> None:
    top = q.top_visitors(gold, ALL)
    assert [(r.visitor_key, r.name, r.email, r.plays, r.watch_time_seconds, r.medias) for r in top.rows] == [
        ("v4", "Bo Chen", "bo@example.com", 1, 40, 1),
        ("v1", "Ada Okafor", "ada@example.com", 4, 270, 3),
        ("v2", None, None, 2, 125, 2),
        ("v3", None, None, 1, 10, 1),  # named "" but not identified
    ]
    assert [r.avg_percent_viewed for r in top.rows] == approx([0.8, 2.4 / 4, 0.75 / 2, 0.1])


def test_top_visitors_options_and_filters(gold: q.Gold) -> None:
    assert [r.visitor_key for r in q.top_visitors(gold, ALL, rank_by="plays").rows] == ["v1", "v2", "v4", "v3"]
    assert [r.visitor_key for r in q.top_visitors(gold, ALL, rank_by="watch_time").rows] == ["v1", "v2", "v4", "v3"]
    assert [r.visitor_key for r in q.top_visitors(gold, ALL, min_plays=2).rows] == ["v1", "v2"]
    assert [r.visitor_key for r in q.top_visitors(gold, ALL, identified_only=True).rows] == ["v4", "v1"]
    assert [r.visitor_key for r in q.top_visitors(gold, ALL, limit=2).rows] == ["v4", "v1"]
    sales = q.top_visitors(gold, q.Filters(D1, D2, project_ids=(P2,))).rows
    assert [(r.visitor_key, r.plays, r.watch_time_seconds) for r in sales] == [("v4", 1, 40), ("v1", 1, 20)]
    day1 = q.top_visitors(gold, q.Filters(D1, D1, media_ids=(M1,))).rows
    assert [(r.visitor_key, r.plays) for r in day1] == [("v1", 2), ("v2", 1)]


def test_top_visitors_cannot_apply_a_channel_filter(gold: q.Gold) -> None:
    top = q.top_visitors(gold, q.Filters(D1, D2, channels=("email",)))
    assert top.rows == () and top.unavailable == q.NO_VISITOR_CHANNEL


# ---- retention, channels, trust -------------------------------------------------------------------------


def test_retention_curve_with_rewatchers(gold: q.Gold) -> None:
    assert q.retention_curve(gold, M1) == (
        q.CurvePoint(0, 0.0, 4, 1, 1.0),
        q.CurvePoint(1, 0.25, 3, 0, 0.75),
        q.CurvePoint(2, 0.5, 2, 1, 0.5),
        q.CurvePoint(3, 0.75, 1, 0, 0.25),
    )
    assert q.retention_curve(gold, M3) == (q.CurvePoint(0, 0.0, 2, 0, 1.0), q.CurvePoint(1, 0.5, 1, 1, 0.5))
    assert q.retention_curve(gold, "nope") == ()


def test_by_channel(gold: q.Gold) -> None:
    rows = q.by_channel(gold, ALL)
    assert [(r.channel, r.plays, r.watch_time_seconds) for r in rows] == [
        ("facebook", 2, 90),
        ("youtube", 2, 200),
        ("direct", 1, 100),
        ("email", 1, 25),
        ("linkedin", 1, 20),
        ("search", 1, 10),
    ]
    assert [r.engagement_rate for r in rows] == approx([0.65, 0.5, 1.0, 0.25, 0.4, 0.1])
    some = q.by_channel(gold, q.Filters(D2, D2, project_ids=(P2,), channels=("facebook", "linkedin", "email")))
    assert [(r.channel, r.plays, r.engagement_rate) for r in some] == [("facebook", 1, 0.8), ("linkedin", 1, 0.4)]


def test_trust(gold: q.Gold, gold_lake: Path) -> None:
    t = q.trust(Storage.from_uri(str(gold_lake)), gold)
    assert t.data_as_of == D2
    assert t.newest_event_at == "2026-11-02T10:00:00+00:00"
    assert t.last_run is not None and (t.last_run.command, t.last_run.status) == ("transform", "success")
    assert (t.drift_rows, t.reconciliation_rows, t.quarantined) == (0, 7, {"event": 2})
    assert t.level == "ok" and t.quarantined_total == 2


@pytest.mark.parametrize(
    ("status", "drift", "level"),
    [("success", 0, "ok"), ("success", 3, "warning"), ("partial", 0, "warning"), ("failed", 0, "error")],
)
def test_trust_levels(status: str, drift: int, level: str) -> None:
    run = q.RunInfo("r", "run", status, "2026-11-02T00:00:00Z", None, 0)
    assert q.Trust(D2, None, run, drift, 1, 10).level == level
    assert q.Trust(D2, None, None, 0, None, 0).level == "error"


def test_a_last_day_read_before_it_was_over_is_in_progress() -> None:
    def run(started_at: str) -> q.RunInfo:
        return q.RunInfo("r", "run", "success", started_at, None, 0)

    assert q.Trust(D2, None, run("2026-11-02T00:15:00Z"), 0, None, 0).day_in_progress == D2
    assert q.Trust(D2, None, run("2026-11-03T00:15:00Z"), 0, None, 0).day_in_progress is None
    assert q.Trust(D2, None, None, 0, None, 0).day_in_progress is None


def test_formatting() -> None:
    assert [q.format_hours(s) for s in (0, 10, 445, 3600 * 1.25, 3600 * 1234.4, None)] == [
        "0 h",
        "10 s",
        "7.4 min",
        "1.2 h",
        "1,234 h",
        "—",
    ]
    assert q.format_change(q.Kpi("engagement", "Engagement Rate", "ratio", 0.5, 0.50001)) == "+0.0 pp"
    assert q.format_change(q.Kpi("plays", "Total Plays", "count", 99999, 100000)) == "+0.0%"
    count = q.Kpi("plays", "Total Plays", "count", 12345, None)
    rate = q.Kpi("play_rate", "Play Rate", "ratio", 0.5, 0.25)
    assert (q.format_kpi(count), q.format_kpi(rate), q.format_change(rate), q.format_change(count)) == (
        "12,345",
        "50.0%",
        "+25.0 pp",
        None,
    )

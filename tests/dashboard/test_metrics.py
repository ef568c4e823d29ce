"""Every metric query of the dashboard against the hand-computed lake (figures in conftest.py's docstring)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dashboard.conftest import M3, P1, P2, approx
from tests.transform.fixture_lake import M1, M2
from wistia_analytics.dashboard.formatting import format_change
from wistia_analytics.dashboard.gold import Gold
from wistia_analytics.dashboard.metrics import (
    FROM_EVENTS_WITH_CHANNEL,
    NO_LOADS_PER_CHANNEL,
    NO_PLAY_RATE_PER_CHANNEL,
    NO_VISITOR_CHANNEL,
    NO_VISITORS_PER_CHANNEL,
    OTHER_SERIES,
    CurvePoint,
    Filters,
    Kpis,
    Trend,
    by_channel,
    kpis,
    retention_curve,
    top_media,
    top_visitors,
    trend,
)

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
ALL = Filters(D1, D2)


def values(k: Kpis) -> dict[str, float | None]:
    return {c.key: c.value for c in k.cards()}


# ---- filters --------------------------------------------------------------------------------------------


def test_filters_are_canonical_and_know_their_previous_period() -> None:
    f = Filters(date(2026, 11, 8), date(2026, 11, 14), media_ids=("b", "a", "a"), channels=("x",))
    assert f.media_ids == ("a", "b") and f.days == 7
    prev = f.previous()
    assert (prev.start, prev.end, prev.media_ids, prev.channels) == (
        date(2026, 11, 1),
        date(2026, 11, 7),
        ("a", "b"),
        ("x",),
    )
    with pytest.raises(ValueError, match="before start"):
        Filters(D2, D1)


# ---- KPIs -----------------------------------------------------------------------------------------------


def test_kpis_whole_lake(gold: Gold) -> None:
    k = kpis(gold, ALL)
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


def test_kpis_one_day_with_changes_against_the_day_before(gold: Gold) -> None:
    k = kpis(gold, Filters(D2, D2))
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
    assert [format_change(c) for c in k.cards()] == ["-40.0%", "-20.0%", "-8.3 pp", "-81.3%", "-11.7 pp", "+50.0%"]


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
    gold: Gold, media_ids: tuple[str, ...], project_ids: tuple[str, ...], expected: dict[str, float | None]
) -> None:
    assert values(kpis(gold, Filters(D1, D2, media_ids, project_ids))) == approx(expected)


def test_kpis_channel_filter_switches_to_events_and_says_what_cannot_apply(gold: Gold) -> None:
    k = kpis(gold, Filters(D1, D2, channels=("facebook",)))
    assert values(k) == approx(
        {"plays": 2, "loads": None, "play_rate": None, "watch_time": 90, "engagement": 1.3 / 2, "unique_visitors": None}
    )
    assert k.plays.label == "Plays (from events)" and k.watch_time.label == "Watch Time (from events)"
    assert k.loads.unavailable == NO_LOADS_PER_CHANNEL
    assert k.play_rate.unavailable == NO_PLAY_RATE_PER_CHANNEL
    assert k.unique_visitors.unavailable == NO_VISITORS_PER_CHANNEL
    assert k.plays.unavailable is None and k.engagement.unavailable is None
    both = kpis(gold, Filters(D1, D2, project_ids=(P1,), channels=("facebook", "youtube")))
    assert (both.plays.value, both.watch_time.value, both.engagement.value) == approx((3, 250, 1.5 / 3))


# ---- trend ----------------------------------------------------------------------------------------------


def points(t: Trend) -> list[tuple[str, str, float | None]]:
    return [(p.period.isoformat(), p.series, p.value) for p in t.points]


def test_trend_daily_plays_by_media_in_rank_order(gold: Gold) -> None:
    t = trend(gold, ALL, "day", "plays")
    assert t.series == ("Launch", "Tour", "Demo")  # by plays (4, 2, 2), ties by media id
    assert points(t) == [
        ("2026-11-01", "Launch", 3),
        ("2026-11-02", "Launch", 1),
        ("2026-11-01", "Tour", 2),
        ("2026-11-02", "Demo", 2),
    ]


def test_trend_groups_the_rest_as_other_medias(gold: Gold) -> None:
    t = trend(gold, ALL, "day", "engagement", top=1)
    assert t.series == ("Launch", OTHER_SERIES)
    assert points(t) == approx(
        [
            ("2026-11-01", "Launch", 1.75 / 3),
            ("2026-11-02", "Launch", 0.1),
            ("2026-11-01", OTHER_SERIES, 0.5),
            ("2026-11-02", OTHER_SERIES, 0.6),
        ]
    )


def test_trend_week_and_month_granularity(gold: Gold) -> None:
    # 2026-11-01 is a Sunday: its ISO week starts on 2026-10-26; 2026-11-02 starts the next week
    week = trend(gold, Filters(D1, D2, media_ids=(M1,)), "week", "play_rate")
    assert points(week) == approx([("2026-10-26", "Launch", 0.3), ("2026-11-02", "Launch", 0.25)])
    month = trend(gold, Filters(D1, D2, media_ids=(M1,)), "month", "play_rate")
    assert points(month) == approx([("2026-11-01", "Launch", 4 / 14)])
    hours = trend(gold, Filters(D1, D2, project_ids=(P2,)), "month", "watch_time")
    assert points(hours) == approx([("2026-11-01", "Demo", 60 / 3600)])


def test_trend_under_a_channel_filter(gold: Gold) -> None:
    t = trend(gold, Filters(D1, D2, channels=("facebook",)), "day", "engagement")
    assert points(t) == approx([("2026-11-01", "Launch", 0.5), ("2026-11-02", "Demo", 0.8)])
    rate = trend(gold, Filters(D1, D2, channels=("facebook",)), "day", "play_rate")
    assert rate.points == () and rate.unavailable == NO_PLAY_RATE_PER_CHANNEL
    with pytest.raises(ValueError, match="unknown granularity"):
        trend(gold, ALL, "year", "plays")  # type: ignore[arg-type]


# ---- top media and visitors -----------------------------------------------------------------------------


def test_top_media_by_engagement_with_every_column(gold: Gold) -> None:
    top = top_media(gold, ALL)
    assert [(r.media_id, r.media_name, r.project_name, r.plays, r.loads, r.watch_time_seconds) for r in top.rows] == [
        (M3, "Demo", "Sales", 2, 8, 60),
        (M2, "Tour", "Marketing", 2, 5, 200),
        (M1, "Launch", "Marketing", 4, 14, 185),
    ]
    assert [(r.play_rate, r.engagement_rate) for r in top.rows] == approx([(0.25, 0.6), (0.4, 0.5), (4 / 14, 0.4625)])
    assert top.notes == ()


def test_top_media_rankings_limit_and_minimum(gold: Gold) -> None:
    assert [r.media_id for r in top_media(gold, ALL, rank_by="plays").rows] == [M1, M3, M2]  # tie: engagement
    assert [r.media_id for r in top_media(gold, ALL, rank_by="watch_time").rows] == [M2, M1, M3]
    assert [r.media_id for r in top_media(gold, ALL, limit=1).rows] == [M3]
    assert [r.media_id for r in top_media(gold, ALL, min_plays=3).rows] == [M1]
    assert top_media(gold, Filters(D2, D2, media_ids=(M2,))).rows == ()


def test_top_media_under_a_channel_filter(gold: Gold) -> None:
    top = top_media(gold, Filters(D1, D2, channels=("facebook",)))
    assert [(r.media_id, r.plays, r.watch_time_seconds, r.loads, r.play_rate) for r in top.rows] == [
        (M3, 1, 40, None, None),
        (M1, 1, 50, None, None),
    ]
    assert [r.engagement_rate for r in top.rows] == approx([0.8, 0.5])
    assert top.notes == (FROM_EVENTS_WITH_CHANNEL, NO_LOADS_PER_CHANNEL)


def test_top_visitors_by_engagement_with_identity_only_when_identified(gold: Gold) -> None:
    top = top_visitors(gold, ALL)
    assert [(r.visitor_key, r.name, r.email, r.plays, r.watch_time_seconds, r.medias) for r in top.rows] == [
        ("v4", "Bo Chen", "bo@example.com", 1, 40, 1),
        ("v1", "Ada Okafor", "ada@example.com", 4, 270, 3),
        ("v2", None, None, 2, 125, 2),
        ("v3", None, None, 1, 10, 1),  # named "" but not identified
    ]
    assert [r.avg_percent_viewed for r in top.rows] == approx([0.8, 2.4 / 4, 0.75 / 2, 0.1])


def test_top_visitors_options_and_filters(gold: Gold) -> None:
    assert [r.visitor_key for r in top_visitors(gold, ALL, rank_by="plays").rows] == ["v1", "v2", "v4", "v3"]
    assert [r.visitor_key for r in top_visitors(gold, ALL, rank_by="watch_time").rows] == ["v1", "v2", "v4", "v3"]
    assert [r.visitor_key for r in top_visitors(gold, ALL, min_plays=2).rows] == ["v1", "v2"]
    assert [r.visitor_key for r in top_visitors(gold, ALL, identified_only=True).rows] == ["v4", "v1"]
    assert [r.visitor_key for r in top_visitors(gold, ALL, limit=2).rows] == ["v4", "v1"]
    sales = top_visitors(gold, Filters(D1, D2, project_ids=(P2,))).rows
    assert [(r.visitor_key, r.plays, r.watch_time_seconds) for r in sales] == [("v4", 1, 40), ("v1", 1, 20)]
    day1 = top_visitors(gold, Filters(D1, D1, media_ids=(M1,))).rows
    assert [(r.visitor_key, r.plays) for r in day1] == [("v1", 2), ("v2", 1)]


def test_top_visitors_cannot_apply_a_channel_filter(gold: Gold) -> None:
    top = top_visitors(gold, Filters(D1, D2, channels=("email",)))
    assert top.rows == () and top.unavailable == NO_VISITOR_CHANNEL


# ---- retention and channels -----------------------------------------------------------------------------


def test_retention_curve_with_rewatchers(gold: Gold) -> None:
    assert retention_curve(gold, M1) == (
        CurvePoint(0.0, 4, 1, 1.0),
        CurvePoint(0.25, 3, 0, 0.75),
        CurvePoint(0.5, 2, 1, 0.5),
        CurvePoint(0.75, 1, 0, 0.25),
    )
    assert retention_curve(gold, M3) == (CurvePoint(0.0, 2, 0, 1.0), CurvePoint(0.5, 1, 1, 0.5))
    assert retention_curve(gold, "nope") == ()


def test_by_channel(gold: Gold) -> None:
    rows = by_channel(gold, ALL)
    assert [(r.channel, r.plays, r.watch_time_seconds) for r in rows] == [
        ("facebook", 2, 90),
        ("youtube", 2, 200),
        ("direct", 1, 100),
        ("email", 1, 25),
        ("linkedin", 1, 20),
        ("search", 1, 10),
    ]
    assert [r.engagement_rate for r in rows] == approx([0.65, 0.5, 1.0, 0.25, 0.4, 0.1])
    some = by_channel(gold, Filters(D2, D2, project_ids=(P2,), channels=("facebook", "linkedin", "email")))
    assert [(r.channel, r.plays, r.engagement_rate) for r in some] == [("facebook", 1, 0.8), ("linkedin", 1, 0.4)]

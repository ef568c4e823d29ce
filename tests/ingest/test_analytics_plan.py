"""The request planner's rules on their own: which media-days have loads when sources agree, disagree or say
null, and the date arithmetic of the 2-year limit."""

from __future__ import annotations

from datetime import date, timedelta

from wistia_analytics.contracts.streams import select_streams
from wistia_analytics.ingest.analytics_plan import AnalyticsPlan, count_of, trailing_start
from wistia_analytics.ingest.windows import split_span
from wistia_analytics.wistia.client import max_end_date

D1, D2, D3, D4 = (date(2026, 11, 20) + timedelta(days=i) for i in range(4))


def bucket(day: date, **figures: object) -> dict[str, object]:
    return {"timestamp": f"{day.isoformat()}T00:00:00.000Z", **figures}


def test_a_day_has_loads_if_any_source_counts_some_and_null_is_asked_for() -> None:
    plan = AnalyticsPlan(("utm_source", "referrer_domain"))
    plan.note_timeseries(
        "m", D1, D4, [bucket(D1, unique_loads=3), bucket(D2, unique_loads=0), bucket(D3, unique_loads=None)]
    )  # D4: no bucket, so nothing that day
    assert plan.days_with_loads("m", D1, D4) == [D1, D3]  # null: nothing rules it out
    plan.note_by_date(
        "m", D1, D4, [{"date": D2.isoformat(), "load_count": 4}, {"date": D3.isoformat(), "load_count": 0}]
    )
    assert plan.days_with_loads("m", D1, D4) == [D1, D2]  # by_date's 4 beats a zero, its 0 beats a null
    assert [r.context for r in plan.traffic_requests("m", D1, D4)] == [
        {"media_id": "m", "date": d.isoformat(), "dimension": dim} for d in (D1, D2) for dim in plan.dimensions
    ]
    assert [r.through for r in plan.traffic_requests("m", D1, D4)] == [None, D1, None, D2]  # a day done at its last
    assert next(r.params for r in plan.embed_requests("m", D1, D4)) == {
        "start_date": D1.isoformat(),
        "end_date": D1.isoformat(),
        "per_page": 100,
        "sort_by": "loads",
    }


def test_what_the_run_does_not_know_is_not_guessed() -> None:
    plan = AnalyticsPlan()
    assert not plan.knows("m", D1, D2) and plan.days_with_loads("m", D1, D2) == []
    plan.note_timeseries(
        "m", D1, D2, [bucket(D1, form_conversions=0, plays=2), bucket(D2, form_conversions=0, plays=0)]
    )
    assert plan.knows("m", D1, D2) and not plan.knows("m", D1, D3) and plan.knows("m", D1, D3, every_day=False)
    assert not plan.had_form_conversions("m", D1, D2)
    assert plan.had_form_conversions("m", D1, D3)  # D3 unknown: asked
    plan.note_timeseries("n", D1, D1, [bucket(D1, form_conversions=None)])
    assert plan.had_form_conversions("n", D1, D1)  # null: asked
    assert plan.had_plays("m", D1, D2) and not plan.had_plays("m", D2, D2)


def test_counts_are_read_leniently() -> None:
    assert [count_of(v) for v in (3, 2.0, "7", True, None, "x", 1.5)] == [3, 2, 7, None, None, None, None]


def test_ranges_stay_within_two_years() -> None:
    start, end = date(2021, 1, 1), date(2026, 11, 25)
    spans = split_span(start, end, max_end_date)
    assert spans[0] == (date(2021, 1, 1), date(2023, 1, 1)) and spans[-1][1] == end
    assert all(b <= max_end_date(a) and a <= b for a, b in spans)
    assert all(spans[i + 1][0] == spans[i][1] + timedelta(days=1) for i in range(len(spans) - 1))
    assert trailing_start(start, end) == date(2024, 11, 25) and max_end_date(date(2024, 11, 25)) == end
    assert trailing_start(D1, D4) == D1


def test_the_default_selection_follows_ingest_analytics() -> None:
    assert any(s.analytics for s in select_streams(None))
    assert not any(s.analytics for s in select_streams(None, analytics=False))
    assert [s.name for s in select_streams(["media_languages"], analytics=False)] == ["media_languages"]
    names = [s.name for s in select_streams(None)]
    assert names.index("media_analytics_daily") == names.index("visitors") + 1  # after v1, timeseries first

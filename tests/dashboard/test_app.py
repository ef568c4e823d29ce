"""The Streamlit page driven through `AppTest`: every filter, the KPI cards against hand-computed figures,
the URL round trip, the help text and the page shown when there is no Gold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import M3, P1, P2, build_gold_lake
from tests.transform.fixture_lake import M1, M2, build
from wistia_analytics.dashboard.help import METRICS_MD, kpi_help
from wistia_analytics.dashboard.launcher import APP
from wistia_analytics.dashboard.metrics import (
    NO_LOADS_PER_CHANNEL,
    NO_PLAY_RATE_PER_CHANNEL,
    NO_VISITOR_CHANNEL,
    NO_VISITORS_PER_CHANNEL,
)
from wistia_analytics.lake.storage import Storage

WHOLE_LAKE = {
    "Total Plays": "8",
    "Total Loads": "27",
    "Play Rate": "29.6%",  # 8 / 27
    "Total Watch Time": "7.4 min",  # 445 s
    "Engagement Rate": "50.6%",  # 4.05 / 8
    "Unique Visitors": "4",
}


@pytest.fixture()
def app(gold_lake: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("LAKE_URI", str(gold_lake))
    yield AppTest.from_file(str(APP), default_timeout=30)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cards(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join([*(c.value for c in at.caption), *(t.value for t in at.text)])


def url(at: AppTest) -> dict[str, Any]:
    return dict(at.query_params)


def test_default_view_is_the_last_30_days_of_the_whole_lake(app: AppTest) -> None:
    at = run(app)
    assert cards(at) == WHOLE_LAKE
    assert set(deltas(at).values()) == {"no data before"}  # 2026-09-04 - 2026-10-03 is empty
    assert "2026-10-04 - 2026-11-02 (30 days, UTC) · all medias, all channels" in captions(at)
    assert url(at) == {"range": "30d", "curve": M3}  # retention defaults to the top media (Demo, 60%)
    help_texts = {m.label: m.help for m in at.metric}
    assert help_texts["Play Rate"] == kpi_help("play_rate")
    assert help_texts["Unique Visitors"] == kpi_help("unique_visitors")
    assert any(md.value.strip() == METRICS_MD.strip() for md in at.markdown)  # the help panel: docs/metrics.md
    success = at.success[0].value
    assert "Data as of 2026-11-02" in success and "`transform` **success**" in success
    assert "no drift (7 rows checked)" in success and "2 event" in success
    assert len(at.get("download_button")) == 2


def test_presets_and_custom_range(app: AppTest) -> None:
    at = run(app)
    at.button_group(key="range").set_value("7d")
    run(at)
    assert "2026-10-27 - 2026-11-02 (7 days, UTC)" in captions(at)
    assert cards(at) == WHOLE_LAKE and url(at)["range"] == "7d"
    at.button_group(key="range").set_value("custom")
    run(at)
    # starts from the range shown (2026-10-27 - 2026-11-02), kept within the days Gold has
    assert at.date_input(key="dates").value == (date(2026, 11, 1), date(2026, 11, 2))
    at.date_input(key="dates").set_value((date(2026, 11, 2), date(2026, 11, 2)))
    run(at)
    assert cards(at) == {
        "Total Plays": "3",
        "Total Loads": "12",
        "Play Rate": "25.0%",
        "Total Watch Time": "1.2 min",  # 70 s
        "Engagement Rate": "43.3%",  # 1.3 / 3
        "Unique Visitors": "3",
    }
    assert deltas(at) == {  # against 2026-11-01
        "Total Plays": "-40.0%",
        "Total Loads": "-20.0%",
        "Play Rate": "-8.3 pp",
        "Total Watch Time": "-81.3%",
        "Engagement Rate": "-11.7 pp",
        "Unique Visitors": "+50.0%",
    }
    assert "previous 1 day (2026-11-01 - 2026-11-01)" in captions(at)
    assert url(at) == {"range": "custom", "start": "2026-11-02", "end": "2026-11-02", "curve": M3}
    at.button_group(key="range").set_value("all")
    run(at)
    assert "2026-11-01 - 2026-11-02 (2 days, UTC)" in captions(at) and cards(at) == WHOLE_LAKE


def test_media_filter(app: AppTest) -> None:
    at = run(app)
    at.multiselect(key="media").set_value([M2])
    run(at)
    assert cards(at) == {
        "Total Plays": "2",
        "Total Loads": "5",
        "Play Rate": "40.0%",
        "Total Watch Time": "3.3 min",
        "Engagement Rate": "50.0%",
        "Unique Visitors": "2",
    }
    assert url(at) == {"range": "30d", "media": M2, "curve": M2}
    assert at.selectbox(key="curve").options == [f"Tour · {M2}"]
    at.multiselect(key="media").set_value([M1, M2])
    run(at)
    assert cards(at)["Total Plays"] == "6" and cards(at)["Unique Visitors"] == "3"
    assert url(at)["media"] == [M1, M2]


def test_project_filter(app: AppTest) -> None:
    at = run(app)
    at.multiselect(key="project").set_value([P2])
    run(at)
    assert cards(at) == {
        "Total Plays": "2",
        "Total Loads": "8",
        "Play Rate": "25.0%",
        "Total Watch Time": "1.0 min",
        "Engagement Rate": "60.0%",
        "Unique Visitors": "2",
    }
    assert "projects: Sales" in captions(at)
    at.multiselect(key="project").set_value([P1])
    at.multiselect(key="media").set_value([M3])  # Demo is not in Marketing: nothing left
    run(at)
    assert cards(at) == {
        "Total Plays": "0",
        "Total Loads": "0",
        "Play Rate": "—",
        "Total Watch Time": "0 h",
        "Engagement Rate": "—",
        "Unique Visitors": "0",
    }
    assert url(at) == {"range": "30d", "project": P1, "media": M3}


def test_channel_filter_says_which_figures_cannot_apply(app: AppTest) -> None:
    at = run(app)
    at.multiselect(key="channel").set_value(["facebook"])
    run(at)
    assert cards(at) == {
        "Plays (from events)": "2",
        "Total Loads": "—",
        "Play Rate": "—",
        "Watch Time (from events)": "1.5 min",  # 90 s
        "Engagement Rate": "65.0%",  # 1.3 / 2
        "Unique Visitors": "—",
    }
    text = captions(at)
    for reason in (NO_LOADS_PER_CHANNEL, NO_PLAY_RATE_PER_CHANNEL, NO_VISITORS_PER_CHANNEL):
        assert reason in text
    assert NO_VISITOR_CHANNEL in [i.value for i in at.info]  # top visitors: no channel in Gold
    assert url(at) == {"range": "30d", "channel": "facebook", "curve": M3}
    at.multiselect(key="project").set_value([P1])
    run(at)
    assert cards(at)["Plays (from events)"] == "1" and cards(at)["Engagement Rate"] == "50.0%"


def test_trend_controls_and_tables(app: AppTest) -> None:
    at = run(app)
    at.button_group(key="gran").set_value("week")
    at.button_group(key="metric").set_value("engagement")
    run(at)
    assert url(at) == {"range": "30d", "gran": "week", "metric": "engagement", "curve": M3}
    assert "weeks start on Monday" in captions(at)
    media_table, visitor_table = (frame.value for frame in at.dataframe)
    assert list(media_table["Media"]) == ["Demo", "Tour", "Launch"]
    assert list(media_table["Engagement %"]) == [60.0, 50.0, 46.2]
    assert list(visitor_table["Visitor"]) == ["Bo Chen", "Ada Okafor", "anonymous", "anonymous"]
    assert list(visitor_table["Email"]) == ["bo@example.com", "ada@example.com", "", ""]
    at.toggle(key="identified_only").set_value(True)
    at.button_group(key="rank_media").set_value("plays")
    run(at)
    media_table, visitor_table = (frame.value for frame in at.dataframe)
    assert list(media_table["Media"]) == ["Launch", "Demo", "Tour"]
    assert list(visitor_table["Visitor key"]) == ["v4", "v1"]


def test_url_query_parameters_set_the_view_and_round_trip(app: AppTest) -> None:
    params = {
        "range": "custom",
        "start": "2026-11-02",
        "end": "2026-11-02",
        "media": M1,
        "channel": "search",
        "gran": "month",
        "metric": "watch_time",
        "curve": M1,
    }
    app.query_params.update(params)
    at = run(app)
    assert at.button_group(key="range").value == "custom"
    assert at.date_input(key="dates").value == (date(2026, 11, 2), date(2026, 11, 2))
    assert at.multiselect(key="media").value == [M1]
    assert at.multiselect(key="channel").value == ["search"]
    assert at.selectbox(key="curve").value == M1
    assert cards(at)["Plays (from events)"] == "1" and cards(at)["Engagement Rate"] == "10.0%"  # e4
    assert url(at) == params


def controls(at: AppTest) -> dict[str, Any]:
    """The value of every control a reader can set."""
    return {
        "range": at.button_group(key="range").value,
        "dates": at.date_input(key="dates").value if at.button_group(key="range").value == "custom" else None,
        "project": at.multiselect(key="project").value,
        "media": at.multiselect(key="media").value,
        "channel": at.multiselect(key="channel").value,
        "gran": at.button_group(key="gran").value,
        "metric": at.button_group(key="metric").value,
        "others": at.toggle(key="others").value,
        "rank_media": at.button_group(key="rank_media").value,
        "rows_media": at.selectbox(key="rows_media").value,
        "rank_visitors": at.button_group(key="rank_visitors").value,
        "min_plays": at.number_input(key="min_plays").value,
        "identified_only": at.toggle(key="identified_only").value,
        "rows_visitors": at.selectbox(key="rows_visitors").value,
        "curve": at.selectbox(key="curve").value,
    }


def tables(at: AppTest) -> list[list[dict[str, Any]]]:
    return [frame.value.to_dict("records") for frame in at.dataframe]


def test_every_control_round_trips_through_the_url(gold_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set every control by hand, open the URL it wrote in a new session: the same controls, figures, tables."""
    monkeypatch.setenv("LAKE_URI", str(gold_lake))
    at = run(AppTest.from_file(str(APP), default_timeout=30))
    at.button_group(key="range").set_value("custom")
    run(at)
    at.date_input(key="dates").set_value((date(2026, 11, 1), date(2026, 11, 2)))
    at.multiselect(key="project").set_value([P1])
    at.multiselect(key="media").set_value([M2, M1])
    at.button_group(key="gran").set_value("week")
    at.button_group(key="metric").set_value("engagement")
    at.toggle(key="others").set_value(True)
    at.button_group(key="rank_media").set_value("plays")
    at.selectbox(key="rows_media").set_value(10)
    at.button_group(key="rank_visitors").set_value("plays")
    at.number_input(key="min_plays").set_value(2)
    at.toggle(key="identified_only").set_value(True)
    at.selectbox(key="rows_visitors").set_value(50)
    at.selectbox(key="curve").set_value(M2)
    run(at)
    shared = url(at)
    assert shared == {
        "range": "custom",
        "start": "2026-11-01",
        "end": "2026-11-02",
        "project": P1,
        "media": [M2, M1],  # in the order picked
        "gran": "week",
        "metric": "engagement",
        "others": "1",
        "rank_media": "plays",
        "rows_media": "10",
        "rank_visitors": "plays",
        "min_plays": "2",
        "identified_only": "1",
        "rows_visitors": "50",
        "curve": M2,
    }
    expected_cards = {
        "Total Plays": "6",
        "Total Loads": "19",
        "Play Rate": "31.6%",  # 6 / 19
        "Total Watch Time": "6.4 min",  # 385 s
        "Engagement Rate": "47.5%",  # 2.85 / 6
        "Unique Visitors": "3",  # v1, v2, v3
    }
    assert cards(at) == expected_cards
    media_table, visitor_table = tables(at)
    assert [r["Media"] for r in media_table] == ["Launch", "Tour"]  # by plays: 4, 2
    assert [(r["Visitor key"], r["Plays"]) for r in visitor_table] == [("v1", 3)]  # v2 has 2 plays, anonymous
    view = controls(at)

    opened = AppTest.from_file(str(APP), default_timeout=30)
    opened.query_params.update(shared)
    opened = run(opened)
    assert controls(opened) == view
    assert view["dates"] == (date(2026, 11, 1), date(2026, 11, 2)) and view["min_plays"] == 2
    assert cards(opened) == expected_cards
    assert tables(opened) == [media_table, visitor_table]
    assert url(opened) == shared


def test_unknown_url_values_are_ignored(app: AppTest) -> None:
    app.query_params.update(
        {
            "range": "forever",
            "media": "nope",
            "channel": "fax",
            "gran": "hour",
            "rank_media": "loudness",
            "rows_media": "7",
            "min_plays": "-3",
            "rows_visitors": "many",
            "others": "maybe",
        }
    )
    at = run(app)
    assert cards(at) == WHOLE_LAKE
    assert url(at) == {"range": "30d", "curve": M3}
    assert at.number_input(key="min_plays").value == 1
    assert at.selectbox(key="rows_media").value == at.selectbox(key="rows_visitors").value == 25
    app2 = AppTest.from_file(str(APP), default_timeout=30)
    app2.query_params.update({"min_plays": "abc", "rank_visitors": "watch_time"})
    at2 = run(app2)
    assert at2.number_input(key="min_plays").value == 1
    assert url(at2) == {"range": "30d", "rank_visitors": "watch_time", "curve": M3}


@pytest.mark.parametrize("bronze", [False, True], ids=["no-lake", "bronze-only"])
def test_no_gold_shows_how_to_run_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bronze: bool) -> None:
    lake = tmp_path / "lake"
    if bronze:
        build(Storage.from_uri(str(lake)))
    monkeypatch.setenv("LAKE_URI", str(lake))
    at = run(AppTest.from_file(str(APP), default_timeout=30))
    assert not at.metric
    assert "nothing to show yet" in at.warning[0].value
    page = "\n".join(m.value for m in at.markdown)
    assert "make demo" in page and "wistia-analytics run" in page and str(lake) in page


def test_gold_published_after_the_empty_page_shows_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(lake))
    at = run(AppTest.from_file(str(APP), default_timeout=30))
    assert "nothing to show yet" in at.warning[0].value
    build_gold_lake(lake)  # the pipeline runs; the reader reloads
    at = run(AppTest.from_file(str(APP), default_timeout=30))
    assert cards(at) == WHOLE_LAKE

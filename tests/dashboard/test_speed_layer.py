"""The speed layer (in-memory copy, `VisitorIndex`) gives the same answers as the Parquet files, for presets and
any other range, and builds in the background.

A tiny sandbox account with 100 days of history, ingested over real HTTP and transformed: long enough for the
presets 7, 30 and 90 days and all time to be four different ranges (365 days is all time here). Every visitor
query (top visitors, unique visitors) is compared between a handle reading Parquet and one reading the in-memory
copy: for every preset, custom ranges (ending before the last day, reaching past Gold's days), every scope
(one media, two, a project), every ranking option, and both ways the index reads tie-break sums (from the
candidates' own rows, or from the whole range's sums).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple, is_dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.dashboard.conftest import approx
from wistia_analytics.dashboard import speed_layer
from wistia_analytics.dashboard.gold import Gold, open_gold
from wistia_analytics.dashboard.metrics import Filters, by_channel, kpis, top_media, top_visitors, trend
from wistia_analytics.dashboard.presets import PRESET_DAYS, preset_range
from wistia_analytics.dashboard.rankings import RANKINGS, RankBy
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

TODAY = date(2026, 11, 25)
HISTORY_DAYS = 100


@pytest.fixture(scope="module")
def sandbox_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("presets") / "lake"
    config = SandboxConfig(
        size="tiny",
        seed=5,
        today=TODAY,
        history_start=TODAY - timedelta(days=HISTORY_DAYS - 1),
        rate_limit_per_minute=0,
    )
    with run_sandbox(config) as sb:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            wistia_api_token=SecretStr(sb.token),
            wistia_api_url=sb.base_url,
            lake_uri=str(lake),
            wistia_requests_per_minute=100_000,
            ingest_backfill_days=HISTORY_DAYS,
        )
        result, _ = run_ingest(settings, IngestOptions(today=TODAY), embedded=open_embedded_sandbox)
        assert result.exit_code == 0
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        assert TransformRunner(storage, engine).run().status == "success"
    finally:
        engine.close()
    return lake


@pytest.fixture(scope="module")
def handles(sandbox_lake: Path) -> Iterator[tuple[Gold, Gold]]:
    parquet = open_gold(Storage.from_uri(str(sandbox_lake)), hot="off")
    memory = open_gold(Storage.from_uri(str(sandbox_lake)), hot="now")
    assert memory.hot.ready.is_set(), memory.hot.error
    yield parquet, memory
    parquet.close()
    memory.close()


def presets(gold: Gold) -> dict[str, Filters]:
    return {preset: Filters(*preset_range(preset, gold.first_day, gold.last_day)) for preset in PRESET_DAYS}


def ranges(gold: Gold) -> dict[str, Filters]:
    """The presets plus ranges that are not presets (the index sums those on request)."""
    last, first = gold.last_day, gold.first_day
    return {
        **presets(gold),
        "custom 14d": Filters(last - timedelta(days=13), last),
        "custom 40d, ends 9 days before": Filters(last - timedelta(days=48), last - timedelta(days=9)),
        "custom 1 day": Filters(last - timedelta(days=50), last - timedelta(days=50)),
        "custom past both ends": Filters(first - timedelta(days=20), last + timedelta(days=5)),
        "custom before Gold": Filters(first - timedelta(days=30), first - timedelta(days=1)),
    }


def scopes(gold: Gold) -> dict[str, dict[str, tuple[str, ...]]]:
    medias = [m.media_id for m in gold.medias]
    project = gold.projects[0][0]
    return {
        "every media": {},
        "one media": {"media_ids": (medias[0],)},
        "two medias": {"media_ids": (medias[1], medias[-1])},
        "a project": {"project_ids": (project,)},
    }


def test_in_memory_copy_in_the_background(gold_lake: Path) -> None:
    """On the hand-computed lake: built in a background thread by default, or once the page asks."""
    handle = open_gold(Storage.from_uri(str(gold_lake)))  # default: built in a background thread
    try:
        assert handle.hot.wait(timeout=30), handle.hot.error
        assert handle.hot.visitors is not None and handle.hot.visitors.visitor_count == 4
        assert handle.hot.seconds is not None
        assert kpis(handle, Filters(handle.first_day, handle.last_day)).unique_visitors.value == 4
    finally:
        handle.close()
    assert not handle.hot.ready.is_set()
    later = open_gold(Storage.from_uri(str(gold_lake)), hot="later")  # the page starts it after rendering
    try:
        assert not later.hot.wait(timeout=0) and later.hot.seconds is None
        later.start_hot()
        later.start_hot()  # once only
        assert later.hot.wait(timeout=30), later.hot.error
    finally:
        later.close()


def test_the_index_numbers_visitors_in_key_order_and_keeps_the_long_presets(handles: tuple[Gold, Gold]) -> None:
    parquet, memory = handles
    index = memory.hot.visitors
    assert index is not None and memory.hot.ready.is_set()
    keys = [k for (k,) in parquet.con.execute("SELECT DISTINCT visitor_key FROM gold.visitor_media_daily").fetchall()]
    assert index.keys.to_pylist() == sorted(keys)  # vid = rank of the key: ties break as on Parquet
    assert index.visitor_count == len(keys) > 100
    rows = parquet.con.execute("SELECT count(*) FROM gold.visitor_media_daily").fetchone()
    assert rows is not None and len(index.vid) == rows[0]
    assert all(index.day[:-1] <= index.day[1:])  # sorted by day: a range is one slice
    # every preset ranked once by each RankBy; 365 days and all time are the same rows here: one ranking for both
    assert len(index._rankings) == 4 * len(RANKINGS)


@pytest.mark.parametrize("rank_by", RANKINGS)
def test_top_visitors_equal_the_rows(
    handles: tuple[Gold, Gold], rank_by: RankBy, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet, memory = handles
    checked = 0
    for from_rows in (True, False):  # tie-break sums from the candidates' rows, or from the whole range
        monkeypatch.setattr(speed_layer, "CANDIDATES_FROM_ROWS", 1_000_000 if from_rows else 0)
        for name, f in ranges(memory).items():
            for scope_name, scope in scopes(memory).items():
                for min_plays, identified_only, limit in (
                    (1, False, 10),
                    (2, False, 10),
                    (1, True, 10),
                    (1, False, 300),
                ):
                    options = {
                        "rank_by": rank_by,
                        "limit": limit,
                        "min_plays": min_plays,
                        "identified_only": identified_only,
                    }
                    scoped = replace(f, **scope)
                    expected = top_visitors(parquet, scoped, **options)  # type: ignore[arg-type]
                    got = top_visitors(memory, scoped, **options)  # type: ignore[arg-type]
                    # the same visitors in the same order; sums of floats in another order agree within 1e-9
                    assert [astuple(r) for r in got.rows] == approx([astuple(r) for r in expected.rows]), (
                        name,
                        scope_name,
                        options,
                    )
                    checked += len(expected.rows)
    assert checked > 5_000  # the comparisons are not of empty tables


def test_unique_visitors_equal_the_rows(handles: tuple[Gold, Gold]) -> None:
    parquet, memory = handles
    for name, f in ranges(memory).items():
        for scope_name, scope in scopes(memory).items():
            scoped = replace(f, **scope)
            expected, got = kpis(parquet, scoped), kpis(memory, scoped)
            assert (got.unique_visitors.value, got.unique_visitors.previous) == (
                expected.unique_visitors.value,
                expected.unique_visitors.previous,
            ), (name, scope_name)
        if not name.endswith("before Gold"):
            assert (kpis(memory, f).unique_visitors.value or 0) > 0
    week = presets(memory)["7d"]
    assert kpis(memory, week).unique_visitors.previous == kpis(parquet, week.previous()).unique_visitors.value


def test_unique_visitors_of_every_range_count_first_rows_exactly(handles: tuple[Gold, Gold]) -> None:
    """Over every media the index counts each visitor's first row in the range: checked against sets of keys
    for ranges starting and ending on every fifth day."""
    parquet, memory = handles
    index = memory.hot.visitors
    assert index is not None
    seen: dict[date, set[str]] = {}
    for day, key in parquet.con.execute("SELECT activity_date, visitor_key FROM gold.visitor_media_daily").fetchall():
        seen.setdefault(day, set()).add(key)
    days = [memory.first_day + timedelta(days=i) for i in range(0, HISTORY_DAYS, 5)]
    for start in days:
        for end in (d for d in days if d >= start):
            expected = set().union(*(keys for day, keys in seen.items() if start <= day <= end))
            assert index.unique_visitors(start, end, None) == len(expected), (start, end)


def plain(result: object) -> object:
    """A query result as nested tuples (what `approx` compares)."""
    if is_dataclass(result) and not isinstance(result, type):
        return astuple(result)
    if isinstance(result, tuple):
        return tuple(plain(r) for r in result)
    return result


def test_every_other_figure_equals_the_parquet_answer(handles: tuple[Gold, Gold]) -> None:
    """KPIs, trend, top media and channels read the in-memory tables (the channel rollup over every media, the
    channel table sorted by channel): the same figures as from Parquet, with and without a channel filter."""
    parquet, memory = handles
    channel = memory.channels[0]
    compared = 0
    for name, f in ranges(memory).items():
        for scope_name, scope in scopes(memory).items():
            for channels in ((), (channel,)):
                scoped = replace(f, channels=channels, **scope)
                for function in (
                    kpis,
                    by_channel,
                    top_media,
                    lambda g, f: trend(g, f, "week", "engagement", top=3),
                    lambda g, f: trend(g, f, "day", "plays", top=3),
                ):
                    expected, got = function(parquet, scoped), function(memory, scoped)
                    # sums of floats in another order agree within 1e-9
                    assert plain(got) == approx(plain(expected)), (name, scope_name, channels)
                    compared += 1
    assert compared == len(ranges(memory)) * len(scopes(memory)) * 2 * 5

"""The in-memory copy's precomputed preset ranges give the same answers as the Parquet files.

A tiny sandbox account with 100 days of history, ingested over real HTTP and transformed: long enough for the
presets 7, 30 and 90 days and all time to be four different ranges (365 days is all time here). Every query
that can use the precomputed totals (top visitors, unique visitors) is compared, for every preset, option and
scope, between a handle reading Parquet and one reading the in-memory copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.dashboard.test_query import approx
from wistia_analytics.ingest.runner import IngestOptions
from wistia_analytics.ingest.service import run_ingest
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query import dashboard as q
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.runner import TransformRunner

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
        result, _ = run_ingest(settings, IngestOptions(today=TODAY))
        assert result.exit_code == 0
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        assert TransformRunner(storage, engine).run().status == "success"
    finally:
        engine.close()
    return lake


@pytest.fixture(scope="module")
def handles(sandbox_lake: Path) -> Iterator[tuple[q.Gold, q.Gold]]:
    parquet = q.open_gold(Storage.from_uri(str(sandbox_lake)), hot="off")
    memory = q.open_gold(Storage.from_uri(str(sandbox_lake)), hot="now")
    assert memory.hot.ready.is_set(), memory.hot.error
    yield parquet, memory
    parquet.close()
    memory.close()


def presets(gold: q.Gold) -> dict[str, q.Filters]:
    out = {
        f"{days}d": q.Filters(gold.last_day - timedelta(days=days - 1), gold.last_day)
        for days in q.PRESET_DAYS
        if days is not None
    }
    out["all"] = q.Filters(gold.first_day, gold.last_day)
    return out


def test_the_copy_precomputes_every_preset_range(handles: tuple[q.Gold, q.Gold]) -> None:
    _, memory = handles
    hot, last = memory.hot, memory.last_day
    assert (memory.last_day - memory.first_day).days + 1 == HISTORY_DAYS
    # 365 days starts before the first day: the same rows as all time, one window for both
    assert sorted(hot.windows) == [
        memory.first_day,
        last - timedelta(days=89),
        last - timedelta(days=29),
        last - timedelta(days=6),
    ]
    for name, f in presets(memory).items():
        assert hot.window(f) is not None, name
        assert hot.clip(f.start, f.end) in hot.unique_counts
    assert hot.window(q.Filters(last - timedelta(days=13), last)) is None  # a custom range: from the rows
    assert (
        hot.window(q.Filters(last - timedelta(days=7), last - timedelta(days=1))) is None
    )  # not ending on the last day
    counted = memory.con.execute("SELECT window_id, count(*) FROM hot.visitor_totals GROUP BY ALL").fetchall()
    assert len(counted) == 4 and all(n > 0 for _, n in counted)


@pytest.mark.parametrize("rank_by", q.RANKINGS)
def test_top_visitors_of_presets_equal_the_rows(handles: tuple[q.Gold, q.Gold], rank_by: q.RankBy) -> None:
    parquet, memory = handles
    checked = 0
    for name, f in presets(memory).items():
        for min_plays in (1, 2):
            for identified_only in (False, True):
                options = {"rank_by": rank_by, "limit": 10, "min_plays": min_plays, "identified_only": identified_only}
                expected = q.top_visitors(parquet, f, **options)  # type: ignore[arg-type]
                got = q.top_visitors(memory, f, **options)  # type: ignore[arg-type]
                # the same visitors in the same order; sums of floats in another order agree within 1e-9
                assert [astuple(r) for r in got.rows] == approx([astuple(r) for r in expected.rows]), (name, options)
                checked += len(expected.rows)
    assert checked > 50  # the comparisons are not of empty tables


def test_unique_visitors_of_presets_equal_the_rows(handles: tuple[q.Gold, q.Gold]) -> None:
    parquet, memory = handles
    media = memory.medias[0].media_id
    for name, f in presets(memory).items():
        for scoped in (f, replace(f, media_ids=(media,))):
            expected, got = q.kpis(parquet, scoped), q.kpis(memory, scoped)
            assert (got.unique_visitors.value, got.unique_visitors.previous) == (
                expected.unique_visitors.value,
                expected.unique_visitors.previous,
            ), name
        assert (q.kpis(memory, f).unique_visitors.value or 0) > 0
    week = presets(memory)["7d"]
    assert q.kpis(memory, week).unique_visitors.previous == q.kpis(parquet, week.previous()).unique_visitors.value

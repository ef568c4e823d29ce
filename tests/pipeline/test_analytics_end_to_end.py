"""Wistia's modern analytics end to end over real HTTP: the sandbox, ingestion, Silver and Gold (issue 15).

One sandbox account ingested with the analytics streams (the suite's 3-day analytics window, two traffic
dimensions: tests/conftest.py), transformed on DuckDB; then one more day ingested and transformed incrementally,
and a copy of the same lake rebuilt in full. The figures Wistia's two APIs give must agree in Gold: zero
modern-vs-v1 drift, traffic by `utm_source` summing to each media-day's loads, leads matched to visitors.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.spark.parity import table_rows
from tests.tables_compare import assert_same_rows
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

DAY1 = date(2026, 11, 20)
ANALYTICS_GOLD = ("gold_media_traffic_daily", "gold_media_embed_daily", "gold_leads")

pytestmark = pytest.mark.timeout(300)


def ingest(lake: Path, today: date) -> None:
    config = SandboxConfig(size="tiny", seed=7, today=today, history_start=date(2026, 10, 20), rate_limit_per_minute=0)
    with run_sandbox(config) as sb:
        settings = Settings(
            _env_file=None,
            wistia_api_token=sb.token,
            wistia_api_url=sb.base_url,  # type: ignore[call-arg]
            lake_uri=str(lake),
            wistia_requests_per_minute=1_000_000,
            ingest_backfill_days=10,
        )
        result, _ = run_ingest(settings, IngestOptions(today=today), timeout=5.0)
    assert result.exit_code == 0, result.record and result.record.errors


def transform(lake: Path, *, full: bool = False) -> TransformResult:
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        result = TransformRunner(storage, engine, full_rebuild=full).run()
    finally:
        engine.close()
    assert result.status == "success", result.error
    return result


def gold(lake: Path, sql: str) -> list[tuple[object, ...]]:
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_modern_analytics_land_in_gold_agree_with_v1_and_an_incremental_day_equals_a_rebuild(
    tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    ingest(lake, DAY1)
    first = transform(lake)
    assert first.mode == "full"
    counts = {t: gold(lake, f"SELECT count(*) FROM gold.{t.removeprefix('gold_')}")[0][0] for t in ANALYTICS_GOLD}
    assert all(n > 0 for n in counts.values()), counts

    # zero modern-vs-v1 drift on every media-day both APIs cover (and some are covered)
    checked, drifting = gold(
        lake,
        "SELECT count(*), count(*) FILTER (WHERE NOT modern_within_tolerance OR plays_modern_diff <> 0) "
        "FROM gold.reconciliation WHERE scope = 'daily' AND plays_modern IS NOT NULL",
    )[0]
    assert checked > 0 and drifting == 0, (checked, drifting)

    # Σ traffic by utm_source of a media-day = that media-day's loads (v1 by_date), for every media-day with traffic
    mismatches = gold(
        lake,
        "WITH t AS (SELECT media_id, activity_date, sum(loads) AS loads, sum(plays) AS plays "
        "FROM gold.media_traffic_daily WHERE dimension = 'utm_source' GROUP BY ALL) "
        "SELECT t.media_id, t.activity_date, t.loads, d.loads, t.plays, d.plays FROM t "
        "LEFT JOIN gold.media_daily d USING (media_id, activity_date) "
        "WHERE d.loads IS DISTINCT FROM t.loads OR d.plays IS DISTINCT FROM t.plays",
    )
    media_days = gold(lake, "SELECT count(DISTINCT (media_id, activity_date)) FROM gold.media_traffic_daily")[0][0]
    assert media_days > 0 and mismatches == [], mismatches

    # every lead is a v1 identified visitor (the sandbox's email gate), and gold_media_daily carries the new columns
    unmatched = gold(lake, "SELECT count(*) FROM gold.leads WHERE visitor_key IS NULL")[0][0]
    assert unmatched == 0
    with_unique = gold(lake, "SELECT count(*) FROM gold.media_daily WHERE unique_loads IS NOT NULL")[0][0]
    assert with_unique > 0

    # one more day, incrementally; a copy of the same lake rebuilt in full holds the same rows in every table
    ingest(lake, DAY1 + timedelta(days=1))
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(lake, rebuilt)
    assert transform(lake).mode == "incremental"
    assert transform(rebuilt, full=True).mode == "full"
    incremental, full = table_rows(Storage.from_uri(str(lake))), table_rows(Storage.from_uri(str(rebuilt)))
    for table in TABLES:
        assert_same_rows(incremental[table], full[table], table)
    assert gold(lake, "SELECT max(activity_date) FROM gold.media_traffic_daily")[0][0] == DAY1 + timedelta(days=1)

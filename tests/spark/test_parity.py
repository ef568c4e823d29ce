"""Both engines on the same Bronze give the same Silver, Gold and quarantine; Spark incremental = Spark full.

Spark's side runs through the real entry points: the Glue job's `main` (plain arguments, the shared local
session) and `wistia-analytics transform --engine spark`.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from tests.spark.bad_records import add_bad_run
from tests.spark.parity import LINEAGE_COLUMNS, assert_same_lakes, table_rows
from tests.tables_compare import assert_same_rows
from tests.transform.analytics_lake import QUARANTINED_A_COUNT, write_run_a, write_run_b
from tests.transform.fixture_lake import M1, build
from wistia_analytics.aws import glue_job
from wistia_analytics.cli import app
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.query.catalog import TABLES
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.processed_files import TransformState
from wistia_analytics.transform.spark_engine import SparkEngine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

START = date(2026, 10, 1)
DAY1 = date(2026, 10, 24)


def duckdb_transform(lake: Path, *, full: bool = False) -> TransformResult:
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine, full_rebuild=full).run()
    finally:
        engine.close()


def spark_transform(lake: Path, spark: SparkSession, *, full: bool = False) -> TransformResult:
    storage = Storage.from_uri(str(lake))
    engine = SparkEngine(storage, session=spark)
    try:
        return TransformRunner(storage, engine, full_rebuild=full).run()
    finally:
        engine.close()


@pytest.mark.timeout(600)  # a full Spark run: well under a minute on a quiet machine, minutes on a loaded one
def test_fixture_lake_same_on_both_engines_via_the_glue_entry(tmp_path: Path, spark: SparkSession) -> None:
    """The hand-built lake plus quarantinable and awkward records, and the modern analytics streams (hostile
    records, a context with braces and quotes, replaced responses): every table identical, quarantine included."""
    spark_lake, duck_lake = tmp_path / "spark", tmp_path / "duckdb"
    storage = Storage.from_uri(str(spark_lake))
    build(storage)
    add_bad_run(storage, "20261104T120000Z-cccccc", datetime(2026, 11, 4, 12, tzinfo=UTC), M1, "2026-11-02")
    write_run_a(storage)
    write_run_b(storage)
    shutil.copytree(spark_lake, duck_lake)

    assert glue_job.main(["--LAKE_URI", str(spark_lake), "--FULL_REBUILD", "true"], spark=spark) == 0
    duck = duckdb_transform(duck_lake)
    assert duck.status == "success", duck.error

    rows = assert_same_lakes(Storage.from_uri(str(duck_lake)), storage)
    # the fixture's two bad events + the 21 bad records of add_bad_run + the analytics streams' bad records
    assert rows["silver_quarantine"] == 2 + 21 + QUARANTINED_A_COUNT
    assert all(rows[t] > 0 for t in TABLES), rows  # the analytics tables too
    assert TransformState.load(storage).engine == "spark"
    quarantine = {(entity, reason) for entity, _, reason, *_ in table_rows(storage)["silver_quarantine"]}
    assert ("media_engagement", "engagement_data not an array of numbers") in quarantine
    assert ("event", "received_at in the future") in quarantine
    events = {r[0]: r for r in table_rows(storage)["silver_events"]}
    assert "q-pvexp" in events and events["q-pvexp"][6] == pytest.approx(1e-05)  # percent_viewed, exponent text
    # No stray files (Spark's _SUCCESS, .crc checksums, _temporary) anywhere in Silver or Gold.
    stray = [
        p for p in spark_lake.rglob("*") if p.is_file() and (p.name.startswith((".", "_S")) or "_temporary" in str(p))
    ]
    assert stray == []


# ---- the sandbox-generated lake: real ingestion, late events, re-fetched duplicates, plus bad records ------------
def ingest(lake: Path, today: date) -> None:
    config = SandboxConfig(
        size="tiny", seed=21, today=today, history_start=START, rate_limit_per_minute=0, late_fraction=0.2
    )
    with run_sandbox(config) as sb:
        settings = Settings(
            _env_file=None,
            wistia_api_token=sb.token,
            wistia_api_url=sb.base_url,  # type: ignore[call-arg]
            lake_uri=str(lake),
            wistia_requests_per_minute=100_000,
            ingest_backfill_days=30,
        )
        result, _ = run_ingest(settings, IngestOptions(today=today), embedded=open_embedded_sandbox)
        assert result.exit_code == 0


def a_sandbox_media(lake: Path) -> str:
    _, line = next(iter_bronze(Storage.from_uri(str(lake)), "medias"))
    return str(line["record"]["hashed_id"])


@pytest.mark.timeout(900)  # three Spark runs and three ingestions: minutes on a loaded 2-core machine
def test_sandbox_lake_parity_incremental_and_rerun(
    tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark_lake, duck_lake = tmp_path / "spark", tmp_path / "duckdb"
    ingest(spark_lake, DAY1)
    add_bad_run(
        Storage.from_uri(str(spark_lake)),
        "20261024T130000Z-dddddd",
        datetime(2026, 10, 24, 13, tzinfo=UTC),
        a_sandbox_media(spark_lake),
        "2026-10-22",
    )
    shutil.copytree(spark_lake, duck_lake)

    # 1. Full build on both engines: identical.
    first = spark_transform(spark_lake, spark)
    assert first.mode == "full" and first.status == "success", first.error
    assert duckdb_transform(duck_lake).status == "success"
    rows = assert_same_lakes(Storage.from_uri(str(duck_lake)), Storage.from_uri(str(spark_lake)))
    assert rows["silver_events"] > 500 and rows["gold_media_daily"] > 50
    assert rows["silver_quarantine"] == 21

    # 2. The next day (new events, late arrivals of earlier days, lookback re-fetches): incremental through the CLI.
    ingest(spark_lake, DAY1 + timedelta(days=1))
    shutil.copytree(spark_lake / "bronze", duck_lake / "bronze", dirs_exist_ok=True)  # the very same Bronze
    monkeypatch.setenv("LAKE_URI", str(spark_lake))
    cli = CliRunner().invoke(app, ["transform", "--engine", "spark"])
    assert cli.exit_code == 0, cli.output
    assert "incremental" in cli.output
    assert duckdb_transform(duck_lake).mode == "incremental"
    assert_same_lakes(Storage.from_uri(str(duck_lake)), Storage.from_uri(str(spark_lake)))

    # 3. Re-running the same window (the same day ingested again: every record re-delivered) adds no row; only
    # the lineage of the winning records moves to the newer delivery.
    incremental = table_rows(Storage.from_uri(str(spark_lake)), LINEAGE_COLUMNS)
    ingest(spark_lake, DAY1 + timedelta(days=1))
    rerun = spark_transform(spark_lake, spark)
    assert rerun.mode == "incremental" and rerun.status == "success", rerun.error
    again = table_rows(Storage.from_uri(str(spark_lake)), LINEAGE_COLUMNS)
    for table in TABLES:
        assert_same_rows(again[table], incremental[table], table)

    # Spark incremental == Spark full rebuild follows: step 2 makes Spark's incremental equal DuckDB's, and the
    # DuckDB suite (tests/transform) makes DuckDB's incremental equal its full rebuild, which step 1 equals
    # Spark's. (A fourth Spark run here cost ~100 s of the suite's budget for no new fact.)

"""On sandbox data: zero reconciliation drift, and an incremental run after a new day equals a full rebuild."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from tests.tables_compare import assert_same_rows
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

START = date(2026, 10, 1)
DAY1 = date(2026, 10, 24)


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


def transform(lake: Path, *, full: bool = False) -> TransformResult:
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine, full_rebuild=full).run()
    finally:
        engine.close()


def snapshot(lake: Path) -> dict[str, list[tuple[object, ...]]]:
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    out = {}
    for table in TABLES:
        layer, name = layer_and_name(table)
        out[table] = sorted(con.execute(f"SELECT * FROM {layer}.{name}").fetchall(), key=repr)
    con.close()
    return out


def test_sandbox_reconciles_and_incremental_equals_full(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, DAY1)
    first = transform(lake)
    assert first.mode == "full" and first.status == "success", first
    assert first.drift_rows == 0
    assert sum(first.quarantined.values()) == 0  # the sandbox serves only valid records
    ingest(lake, DAY1 + timedelta(days=1))
    second = transform(lake)
    assert second.mode == "incremental" and second.status == "success", second
    assert second.drift_rows == 0
    events = next(m for m in second.models if m.name == "silver_events")
    assert 0 < events.partitions_written <= 6  # the new day, today and the lookback days, not the whole history
    incremental = snapshot(lake)
    copy = tmp_path / "copy"
    shutil.copytree(lake, copy)
    rebuilt = transform(copy, full=True)
    assert rebuilt.mode == "full"
    full = snapshot(copy)
    for table in TABLES:
        assert_same_rows(incremental[table], full[table], table)
    assert len(incremental["gold_media_daily"]) > 50

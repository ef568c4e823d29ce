"""The write and publish steps on real DuckDB and real files: written aside first, current only once published."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import UNPARTITIONED, TableStore
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.kept_partitions import KeptPartitions
from wistia_analytics.transform.publish import publish_model_version, write_version

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture()
def storage(tmp_path: Path) -> Storage:
    return Storage.from_uri(str(tmp_path))


@pytest.fixture()
def engine(storage: Storage) -> Iterator[DuckDBEngine]:
    e = DuckDBEngine(storage, threads=1)
    yield e
    e.close()


def daily(engine: DuckDBEngine, name: str, rows: list[tuple[str, str, int]]) -> None:
    values = ", ".join(f"('{m}', DATE '{d}', {p})" for m, d, p in rows)
    engine.materialize(name, f"SELECT * FROM (VALUES {values}) t(media_id, activity_date, plays)")


def test_an_unpartitioned_version_is_written_aside_and_not_yet_current(
    engine: DuckDBEngine, storage: Storage, tmp_path: Path
) -> None:
    daily(engine, "build", [("m1", "2026-11-01", 3), ("m2", "2026-11-01", 4)])
    written = write_version(
        engine, "gold_media_engagement_curve", "build", partition_by=None, run_id="r1", now=lambda: NOW, row_count=2
    )
    manifest = written.manifest
    (only,) = manifest.files[UNPARTITIONED]
    assert only.startswith("gold/media_engagement_curve/v=20261125T120000_000Z-")
    assert (tmp_path / only).is_file() and written.partitions_written == 1
    assert (manifest.row_count, manifest.run_id, manifest.created_at) == (2, "r1", NOW.isoformat())
    assert [c for c, _ in manifest.columns] == ["media_id", "activity_date", "plays"]
    assert TableStore(storage).current("gold_media_engagement_curve") is None  # nobody sees it yet
    engine.register_parquet("readback", manifest.all_files(), manifest.columns)
    assert engine.rows("SELECT media_id, plays FROM readback ORDER BY media_id") == [("m1", 3), ("m2", 4)]


def test_a_partitioned_version_holds_the_kept_partitions_and_those_written(engine: DuckDBEngine) -> None:
    kept = KeptPartitions({"2026-11-01": ["old/a.parquet"], "2026-11-03": ["old/c.parquet"]}, [])
    daily(engine, "build", [("m1", "2026-11-02", 1), ("m2", "2026-11-02", 2), ("m1", "2026-11-04", 5)])
    written = write_version(
        engine,
        "gold_media_daily",
        "build",
        partition_by="activity_date",
        run_id="r2",
        now=lambda: NOW,
        row_count=7,
        kept=kept,
        checks={"key unique (media_id, activity_date)": 0},
    )
    files = written.manifest.files
    assert sorted(files) == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert files["2026-11-01"] == ["old/a.parquet"] and files["2026-11-03"] == ["old/c.parquet"]
    assert all("activity_date=2026-11-02" in f for f in files["2026-11-02"])
    assert written.partitions_written == 2  # the kept ones were not rewritten
    assert written.manifest.checks == {"key unique (media_id, activity_date)": 0}


def test_an_empty_partitioned_version_still_names_its_one_empty_partition(engine: DuckDBEngine) -> None:
    engine.materialize("build", "SELECT 'm1' AS media_id, DATE '2026-11-01' AS activity_date WHERE false")
    written = write_version(
        engine, "gold_account_daily", "build", partition_by="activity_date", run_id="r3", now=lambda: NOW, row_count=0
    )
    assert written.manifest.files == {UNPARTITIONED: []} and written.partitions_written == 0


def test_publish_makes_the_version_current_and_replaces_the_relation_downstream_reads(
    engine: DuckDBEngine, storage: Storage
) -> None:
    daily(engine, "gold_media_daily", [("stale", "2026-10-01", 0)])  # what downstream saw before
    daily(engine, "build", [("m1", "2026-11-01", 3), ("m1", "2026-11-02", 4)])
    written = write_version(
        engine, "gold_media_daily", "build", partition_by="activity_date", run_id="r4", now=lambda: NOW, row_count=2
    )
    publish_model_version(engine, TableStore(storage), written.manifest)
    assert TableStore(storage).current("gold_media_daily") == written.manifest
    assert engine.rows("SELECT media_id, plays FROM gold_media_daily ORDER BY plays") == [("m1", 3), ("m1", 4)]

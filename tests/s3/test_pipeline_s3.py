"""The whole pipeline on an s3:// lake equals the same pipeline on a local folder, table for table.

Bronze is ingested from the tiny sandbox into the S3 lake (lock, Bronze parts, state and run records on S3),
then copied byte for byte into a local lake, so both transforms start from identical files: every Silver and
Gold table must then be identical, after a full run and after one incremental day. The S3 lake is then read the
way users read it: `status` and `query` as subprocesses with `LAKE_URI=s3://...`, the dashboard's query module,
and Athena's symlink manifests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest

from tests.tables_compare import assert_same_rows
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.dashboard.gold import open_gold
from wistia_analytics.dashboard.metrics import Filters, kpis
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.bronze import read_bronze_file
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import LocalStorage, Storage
from wistia_analytics.lake.table_versions import TableStore, symlink_manifest_path
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

pytestmark = pytest.mark.s3

START = date(2026, 10, 5)
DAY1 = date(2026, 10, 24)


@dataclass
class Lakes:
    s3: Storage
    local: LocalStorage  # Bronze copied from the S3 lake: same files, so the same tables
    ingested_locally: LocalStorage  # the same ingests run straight into a folder
    runs: dict[str, list[TransformResult]]


def ingest(lake_uri: str, today: date) -> None:
    config = SandboxConfig(
        size="tiny", seed=21, today=today, history_start=START, rate_limit_per_minute=0, late_fraction=0.2
    )
    with run_sandbox(config) as sb:
        settings = Settings(
            _env_file=None,
            wistia_api_token=sb.token,  # type: ignore[arg-type]
            wistia_api_url=sb.base_url,  # type: ignore[call-arg]
            lake_uri=lake_uri,
            wistia_requests_per_minute=100_000,
            ingest_backfill_days=30,
        )
        result, _ = run_ingest(settings, IngestOptions(today=today), embedded=open_embedded_sandbox)
        assert result.exit_code == 0


def copy_inputs(source: Storage, target: LocalStorage) -> int:
    """Bronze and ingest state of `source`, byte for byte, into the local lake; the number of files copied."""
    wanted = [p for p in source.list("bronze") + source.list("_state") if not target.exists(p)]
    source.download(wanted, target.root)
    return len(wanted)


def transform(storage: Storage) -> TransformResult:
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine).run()
    finally:
        engine.close()


def snapshot(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    con, _ = open_catalog(storage)
    out = {}
    for table in TABLES:
        layer, name = layer_and_name(table)
        out[table] = con.execute(f"SELECT * FROM {layer}.{name}").fetchall()
    con.close()
    return out


@pytest.fixture(scope="module")
def lakes(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Lakes:
    bucket = f"pipeline-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    s3 = Storage.from_uri(f"s3://{bucket}/lake")
    local = LocalStorage(tmp_path_factory.mktemp("s3pipe") / "lake")
    ingested_locally = LocalStorage(local.root.parent / "ingested-locally")
    runs: dict[str, list[TransformResult]] = {"s3": [], "local": []}
    for day in (DAY1, DAY1 + timedelta(days=1)):
        ingest(s3.uri(), day)
        ingest(str(ingested_locally.root), day)
        assert copy_inputs(s3, local) > 0
        runs["s3"].append(transform(s3))
        runs["local"].append(transform(local))
    return Lakes(s3, local, ingested_locally, runs)


def bronze_records(storage: Storage) -> dict[str, list[str]]:
    """Per stream, every record as received (lineage aside: run ids and times differ between two ingests)."""
    out: dict[str, list[str]] = {}
    for path in storage.list("bronze", suffix=".jsonl.gz"):
        stream = path.split("/")[2]
        out.setdefault(stream, []).extend(
            json.dumps(line["record"], sort_keys=True) for line in read_bronze_file(storage, path)
        )
    return {stream: sorted(records) for stream, records in out.items()}


def test_ingest_into_s3_lands_what_a_local_ingest_lands(lakes: Lakes) -> None:
    on_s3 = bronze_records(lakes.s3)
    assert on_s3 == bronze_records(lakes.ingested_locally)
    assert set(on_s3) >= {"medias", "events"} and len(on_s3["events"]) > 100
    assert StateStore(lakes.s3).load("events").values() == StateStore(lakes.ingested_locally).load("events").values()


def test_runs_full_then_incremental_on_both(lakes: Lakes) -> None:
    for kind in ("s3", "local"):
        first, second = lakes.runs[kind]
        assert (first.mode, str(first.status), first.drift_rows) == ("full", "success", 0), (kind, first)
        assert (second.mode, str(second.status), second.drift_rows) == ("incremental", "success", 0), (kind, second)
    s3_rows = [{m.name: m.rows for m in r.models} for r in lakes.runs["s3"]]
    local_rows = [{m.name: m.rows for m in r.models} for r in lakes.runs["local"]]
    assert s3_rows == local_rows
    assert lakes.s3.list("_lock") == []  # released


def test_every_silver_and_gold_table_is_identical(lakes: Lakes) -> None:
    on_s3, on_disk = snapshot(lakes.s3), snapshot(lakes.local)
    for table in TABLES:
        assert_same_rows(on_s3[table], on_disk[table], table)
    assert len(on_s3["gold_media_daily"]) > 50
    s3_tables, local_tables = TableStore(lakes.s3), TableStore(lakes.local)
    for table in TABLES:
        a, b = s3_tables.current(table), local_tables.current(table)
        assert a is not None and b is not None
        assert (a.row_count, sorted(a.files), a.columns) == (b.row_count, sorted(b.files), b.columns), table


def test_symlink_manifests_list_exactly_the_current_files(lakes: Lakes) -> None:
    store = TableStore(lakes.s3)
    bucket_root = lakes.s3.uri()
    for table in TABLES:
        manifest = store.current(table)
        assert manifest is not None
        lines = lakes.s3.read_bytes(symlink_manifest_path(table)).decode().splitlines()
        assert lines == [f"{bucket_root}/{f}" for f in manifest.all_files()], table
        assert all(line.startswith("s3://") and line.endswith(".parquet") for line in lines)
        assert all(lakes.s3.exists(f) for f in manifest.all_files())
        # nothing else in the folder Athena reads
        assert lakes.s3.list(symlink_manifest_path(table).rsplit("/", 1)[0]) == [symlink_manifest_path(table)]


def cli(lake_uri: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: only LAKE_URI and the standard AWS settings (set by the moto fixture)."""
    env = os.environ | {"LAKE_URI": lake_uri, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "wistia_analytics", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_transform_status_and_query_commands_on_s3(lakes: Lakes, tmp_path: Path) -> None:
    again = cli(lakes.s3.uri(), tmp_path, "transform")  # lock, state and run record on S3, from a subprocess
    assert again.returncode == 0, again.stderr
    assert "no new Bronze files" in again.stdout
    assert lakes.s3.list("_lock") == []
    status = cli(lakes.s3.uri(), tmp_path, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["lake"] == lakes.s3.uri()
    local_tables = TableStore(lakes.local)
    expected_rows = {t: m.row_count for t in TABLES if (m := local_tables.current(t)) is not None}
    assert {t: v["rows"] for t, v in doc["tables"].items()} == expected_rows
    assert doc["reconciliation"]["rows_with_drift"] == 0
    assert [r["command"] for r in doc["runs"]][:1] == ["transform"]
    assert doc["watermarks"]["events"]
    sql = "select count(*) as n, sum(plays) as plays, sum(loads) as loads from gold.media_daily"
    answer = cli(lakes.s3.uri(), tmp_path, "query", sql, "--format", "json")
    assert answer.returncode == 0, answer.stderr
    con, _ = open_catalog(lakes.local)
    n, plays, loads = con.execute(sql).fetchone() or (None, None, None)
    con.close()
    assert json.loads(answer.stdout) == [{"n": n, "plays": plays, "loads": loads}]
    assert n and plays


def test_dashboard_reads_the_s3_lake(lakes: Lakes) -> None:
    values = {}
    for kind, storage in (("s3", lakes.s3), ("local", lakes.local)):
        gold = open_gold(storage, hot="off")
        try:
            f = Filters(gold.first_day, gold.last_day)
            k = kpis(gold, f)
            values[kind] = (gold.first_day, gold.last_day, k.plays.value, k.unique_visitors.value, len(gold.medias))
        finally:
            gold.close()
    assert values["s3"] == values["local"]
    assert values["s3"][2] and values["s3"][2] > 0

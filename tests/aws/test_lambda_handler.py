"""The Lambda handlers called directly: a real sandbox over HTTP, the token in Secrets Manager and the lake
on the S3 server (both moto, on 127.0.0.1); the report handler on a lake with a real transform run record."""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from tests.conftest import TODAY
from tests.transform.fixture_lake import build
from wistia_analytics.aws import emf_metrics as metrics
from wistia_analytics.aws import lambda_handler
from wistia_analytics.aws.secrets import TokenNotSetError
from wistia_analytics.lake.runs import RunRecord, RunStatus, finish_run, latest_runs, start_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

pytestmark = [pytest.mark.aws, pytest.mark.s3]

TOKEN = f"wistia-{uuid.uuid4().hex}"  # distinctive: any occurrence in an output is a leak


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A tiny account that accepts only `TOKEN` (the shared tiny sandbox has the documented default token)."""
    config = SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0, token=TOKEN)
    with run_sandbox(config) as sb:
        yield sb


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def emf_lines(stdout: str) -> list[dict[str, Any]]:
    return [doc for line in stdout.splitlines() if line.startswith("{") and "_aws" in (doc := json.loads(line))]


def emf_values(stdout: str) -> dict[str, float]:
    """Metric key (as `MetricPoint.key`) -> value, from the EMF lines printed on stdout."""
    values: dict[str, float] = {}
    for doc in emf_lines(stdout):
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metrics.NAMESPACE
        assert doc["service"] == metrics.SERVICE
        dims = [d for d in directive["Dimensions"][0] if d != "service"]
        for metric in directive["Metrics"]:
            suffix = f"[{','.join(f'{d}={doc[d]}' for d in dims)}]" if dims else ""
            value = doc[metric["Name"]]
            values[metric["Name"] + suffix] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values


def bucket_objects(bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


@pytest.fixture()
def lambda_env(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, s3_lake_uri: str, moto_endpoint: str) -> str:
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint)
    arn = str(secrets.create_secret(Name=f"wistia-token-{uuid.uuid4().hex[:8]}", SecretString=TOKEN)["ARN"])
    monkeypatch.setenv("LAKE_URI", s3_lake_uri)
    monkeypatch.setenv("WISTIA_API_URL", sandbox.base_url)
    monkeypatch.setenv(lambda_handler.SECRET_ARN_ENV, arn)
    monkeypatch.delenv("WISTIA_API_TOKEN", raising=False)
    return arn


def test_ingest_handler_lands_bronze_and_a_run_record_on_s3_and_prints_emf_metrics(
    lambda_env: str, s3_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = lambda_handler.ingest_handler({"today": TODAY.isoformat()}, None)
    out = capsys.readouterr()

    assert summary["status"] == "success" and summary["exit_code"] == 0
    objects = bucket_objects(s3_bucket)
    bronze = {k for k in objects if k.startswith("wistia/bronze/wistia/") and k.endswith(".jsonl.gz")}
    streams_with_files = {k.split("/")[3] for k in bronze}
    assert streams_with_files == {s for s, n in summary["records"].items() if n > 0}
    lines_in_bronze = sum(len(gzip.decompress(objects[k]).splitlines()) for k in bronze)
    assert lines_in_bronze == sum(summary["records"].values()) > 0

    record = RunRecord.from_json(objects[f"wistia/_runs/{summary['run_id']}.json"])
    assert record.status is RunStatus.SUCCESS
    assert record.records == {s: n for s, n in summary["records"].items() if n > 0}
    assert sorted(record.files_written) == sorted(k.removeprefix("wistia/") for k in bronze)
    assert not any(k.startswith("wistia/_lock/lake.lock") for k in objects)  # released

    emitted = emf_values(out.out)
    assert emitted == summary["metrics"]
    assert emitted[metrics.RECORDS_INGESTED] == sum(record.records.values())
    for stream, count in summary["records"].items():
        assert emitted[f"{metrics.RECORDS_INGESTED}[stream={stream}]"] == count
    assert emitted[metrics.API_REQUESTS] == record.requests > 0
    assert (emitted[metrics.API_RETRIES], emitted[metrics.API_THROTTLED], emitted[metrics.API_FAULTS]) == (0, 0, 0)
    assert (emitted[metrics.INGEST_FAILED], emitted[metrics.INGEST_PARTIAL]) == (0, 0)
    assert emitted[metrics.INGEST_DURATION] > 0

    logs = [json.loads(line) for line in out.err.splitlines() if line.startswith("{")]
    assert any(doc["message"] == "ingestion finished" and doc["run_id"] == summary["run_id"] for doc in logs)
    assert TOKEN not in out.out + out.err
    assert not [
        k for k, body in objects.items() if TOKEN.encode() in (gzip.decompress(body) if k.endswith(".gz") else body)
    ]


def test_ingest_handler_refuses_an_empty_secret_and_a_malformed_event(
    lambda_env: str, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, s3_bucket: str
) -> None:
    with pytest.raises(lambda_handler.InvalidEventError, match="unknown event keys"):
        lambda_handler.ingest_handler({"sinse": "2026-11-01"}, None)
    with pytest.raises(lambda_handler.InvalidEventError, match="since must be a date"):
        lambda_handler.ingest_handler({"since": "yesterday"}, None)
    empty = boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
        Name=f"empty-{uuid.uuid4().hex[:8]}"
    )
    monkeypatch.setenv(lambda_handler.SECRET_ARN_ENV, empty["ARN"])
    with pytest.raises(TokenNotSetError):
        lambda_handler.ingest_handler({}, None)
    assert bucket_objects(s3_bucket) == {}  # nothing written without a token


def test_ingest_handler_raises_when_the_run_fails(
    lambda_env: str,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    s3_bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
        Name=f"wrong-{uuid.uuid4().hex[:8]}", SecretString="not-the-token"
    )
    monkeypatch.setenv(lambda_handler.SECRET_ARN_ENV, wrong["ARN"])
    with pytest.raises(lambda_handler.IngestFailedError, match="exit code 2"):
        lambda_handler.ingest_handler({"today": TODAY.isoformat()}, None)
    emitted = emf_values(capsys.readouterr().out)
    assert (emitted[metrics.INGEST_FAILED], emitted[metrics.RECORDS_INGESTED]) == (1, 0)
    (record,) = latest_runs(Storage.from_uri(f"s3://{s3_bucket}/wistia"))
    assert record.status is RunStatus.FAILED


def _transform(storage: Storage) -> None:
    engine = DuckDBEngine(storage)
    try:
        TransformRunner(storage, engine).run()
    finally:
        engine.close()


def test_report_handler_publishes_quarantine_drift_and_freshness_from_the_run_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], s3_lake_uri: str
) -> None:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    ingest = start_run(storage, "20200101T000000Z-aaaaaa", "ingest", datetime.now(UTC))
    ingest.extra["streams"] = {}
    finish_run(storage, ingest, RunStatus.SUCCESS, datetime.now(UTC))
    _transform(storage)
    # The report reads only run records: give it them on the S3 server, where the Lambda finds them.
    s3_lake = Storage.from_uri(s3_lake_uri)
    for path in storage.list("_runs", suffix=".json"):
        s3_lake.write_bytes(path, storage.read_bytes(path))
    monkeypatch.setenv("LAKE_URI", s3_lake_uri)

    summary = lambda_handler.report_handler({"ingest_run_id": ingest.run_id}, None)
    emitted = emf_values(capsys.readouterr().out)

    store = TableStore(storage)
    quarantine = store.current("silver_quarantine")
    reconciliation = store.current("gold_reconciliation")
    assert quarantine is not None and reconciliation is not None
    drift = sum(
        not ok
        for f in reconciliation.all_files()
        for ok in pq.read_table(tmp_path / "lake" / f, columns=["within_tolerance"]).column(0).to_pylist()
    )
    assert summary["transform_status"] == "success"
    assert emitted == summary["metrics"]
    assert emitted[metrics.QUARANTINED] == quarantine.row_count > 0  # first run: all quarantined rows are new
    assert emitted[metrics.DRIFT_ROWS] == drift
    assert emitted[metrics.TRANSFORM_FAILED] == 0
    assert 0 <= emitted[metrics.INGEST_AGE] <= emitted[metrics.FRESHNESS] < 1
    assert emitted[metrics.FRESHNESS] == max(emitted[metrics.INGEST_AGE], emitted[metrics.GOLD_AGE])


def test_report_handler_fails_the_pipeline_on_a_failed_transform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    failed = start_run(storage, "20261125T120000Z-bbbbbb", "transform", datetime(2026, 11, 25, 12, tzinfo=UTC))
    failed.extra["transform"] = {"quarantined": {"events": 2}, "reconciliation_drift_rows": 0}
    failed.add_error("check key_unique failed on silver_events")
    finish_run(storage, failed, RunStatus.FAILED, datetime(2026, 11, 25, 12, 5, tzinfo=UTC))
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))

    with pytest.raises(lambda_handler.TransformFailedError, match="key_unique"):
        lambda_handler.report_handler({}, None)
    emitted = emf_values(capsys.readouterr().out)
    assert emitted == {metrics.TRANSFORM_FAILED: 1, metrics.QUARANTINED: 2, metrics.DRIFT_ROWS: 0}  # no freshness


def test_ingest_metrics_report_the_retries_and_throttling_the_client_met(
    lambda_env: str, monkeypatch: pytest.MonkeyPatch, s3_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sandbox injecting 500s and 503s (throttling, Retry-After: 1) on a seeded share of requests."""
    config = SandboxConfig(
        size="tiny",
        seed=7,
        today=TODAY,
        rate_limit_per_minute=0,
        token=TOKEN,
        faults=0.08,
        fault_kinds=("http_500", "http_503"),
    )
    with run_sandbox(config) as faulty:
        monkeypatch.setenv("WISTIA_API_URL", faulty.base_url)
        summary = lambda_handler.ingest_handler({"today": TODAY.isoformat()}, None)
    emitted = emf_values(capsys.readouterr().out)
    record = RunRecord.from_json(bucket_objects(s3_bucket)[f"wistia/_runs/{summary['run_id']}.json"])
    assert summary["status"] == "success"  # every fault was retried away
    assert emitted[metrics.API_THROTTLED] == record.throttled > 0
    assert emitted[metrics.API_RETRIES] == record.retries >= record.throttled
    assert emitted[metrics.API_FAULTS] == sum(record.extra["faults"].values()) > 0
    assert emitted[metrics.API_REQUESTS] == record.requests


class FakeContext:
    """A Lambda context whose remaining time leaves `budget` seconds after the handler's margin."""

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def get_remaining_time_in_millis(self) -> int:
        return int((lambda_handler.DEADLINE_MARGIN_SECONDS + self.budget) * 1000)


def test_max_duration_is_the_remaining_time_minus_the_margin() -> None:
    assert lambda_handler.max_duration_for(FakeContext(30.0)) == pytest.approx(30.0)
    assert lambda_handler.max_duration_for(FakeContext(-50.0)) == 0.0  # never negative
    assert lambda_handler.max_duration_for(None) is None  # called directly: unbounded


def test_ingest_handler_stops_at_the_remaining_time_and_the_next_call_continues(
    lambda_env: str, s3_bucket: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WISTIA_REQUESTS_PER_MINUTE", "600")  # 0.3 s of budget: a few requests per call
    # The analytics streams too, over a window short enough for a few dozen calls of a few requests each.
    monkeypatch.setenv("INGEST_ANALYTICS_BACKFILL_DAYS", "1")
    monkeypatch.setenv("INGEST_TRAFFIC_DIMENSIONS", "utm_source")
    event = {"today": TODAY.isoformat()}
    calls = [lambda_handler.ingest_handler(event, FakeContext(0.3))]
    first = calls[0]
    assert first["complete"] is False and first["status"] == "incomplete" and first["exit_code"] == 5
    assert first["metrics"][metrics.INGEST_INCOMPLETE] == 1.0
    objects = bucket_objects(s3_bucket)
    record = RunRecord.from_json(objects[f"wistia/_runs/{first['run_id']}.json"])
    assert record.status is RunStatus.INCOMPLETE and record.extra["position"]["stopped"]
    assert not any(k.startswith("wistia/_lock/lake.lock") for k in objects)  # released for the next call
    while not calls[-1]["complete"]:
        assert len(calls) < 60
        calls.append(lambda_handler.ingest_handler(event, FakeContext(0.3)))
    assert calls[-1]["status"] == "success" and calls[-1]["metrics"][metrics.INGEST_INCOMPLETE] == 0.0
    # Nothing lost, nothing doubled beyond what an uninterrupted call lands, stream by stream.
    got = {k: sum(c["records"][k] for c in calls) for k in calls[0]["records"]}
    assert got["events"] > 0 and got["visitors"] > 0
    assert got["media_analytics_daily"] > 0 and got["media_traffic_daily"] > 0
    capsys.readouterr()

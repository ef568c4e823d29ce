"""The metric functions on hand-made results and run records: exact values, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wistia_analytics.aws import emf_metrics as metrics
from wistia_analytics.ingest.ingestor import IngestResult, StreamReport
from wistia_analytics.lake.runs import RunRecord, RunStatus
from wistia_analytics.wistia.counters import StatsSnapshot

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _record(run_id: str, kind: str, status: RunStatus, ended_at: str | None, **extra: object) -> RunRecord:
    record = RunRecord(run_id, kind, "2026-11-25T00:00:00Z", status=status, ended_at=ended_at)
    record.extra = {"streams": {}} if kind == "ingest" else {"transform": dict(extra)}
    return record


def test_ingest_metrics_count_records_per_stream_retries_and_throttling() -> None:
    streams = {"events": StreamReport("events", records=120), "medias": StreamReport("medias", records=4)}
    result = IngestResult("r1", RunStatus.PARTIAL, 3, streams, None)
    stats = StatsSnapshot(requests=40, retries=5, throttled=3, faults={"http_500": 1, "timeout": 1})
    assert metrics.as_dict(metrics.ingest_metrics(result, stats, 12.3456)) == {
        "IngestFailed": 0.0,
        "IngestPartial": 1.0,
        "IngestIncomplete": 0.0,
        "RecordsIngested": 124.0,
        "ApiRequests": 40.0,
        "ApiRetries": 5.0,
        "ApiThrottled": 3.0,
        "ApiFaults": 2.0,
        "IngestDurationSeconds": 12.346,
        "RecordsIngested[stream=events]": 120.0,
        "RecordsIngested[stream=medias]": 4.0,
    }


def test_freshness_is_the_older_of_the_last_good_ingestion_and_transform() -> None:
    records = [
        _record("20261125T110000Z-a", "ingest", RunStatus.FAILED, "2026-11-25T11:10:00Z"),  # ignored: failed
        _record("20261125T103000Z-p", "ingest", RunStatus.PARTIAL, "2026-11-25T10:50:00Z"),  # ignored: partial
        _record("20261125T100000Z-b", "ingest", RunStatus.SUCCESS, "2026-11-25T10:30:00Z"),
        _record("20261125T090000Z-c", "transform", RunStatus.SUCCESS, "2026-11-25T09:00:00Z"),
        _record("20261125T113000Z-d", "transform", RunStatus.RUNNING, None),  # ignored: not finished
    ]
    assert metrics.as_dict(metrics.freshness_metrics(records, NOW)) == {
        "HoursSinceIngest": 1.5,
        "HoursSinceTransform": 3.0,
        "FreshnessHours": 3.0,
    }
    # Never transformed: no FreshnessHours at all, so the staleness alarm sees missing data (breaching).
    assert metrics.as_dict(metrics.freshness_metrics(records[:3], NOW)) == {"HoursSinceIngest": 1.5}


def test_transform_metrics_sum_quarantine_and_take_drift_from_the_latest_finished_run() -> None:
    records = [
        _record("20261125T113000Z-d", "transform", RunStatus.RUNNING, None),
        _record(
            "20261125T100000Z-b",
            "transform",
            RunStatus.SUCCESS,
            "2026-11-25T10:05:00Z",
            quarantined={"events": 3, "medias": 1},
            reconciliation_drift_rows=2,
        ),
    ]
    latest = metrics.latest_finished_transform(records)
    assert latest is not None and latest.run_id == "20261125T100000Z-b"
    assert metrics.as_dict(metrics.transform_metrics(latest)) == {
        "TransformFailed": 0.0,
        "QuarantinedRecords": 4.0,
        "ReconciliationDriftRows": 2.0,
    }

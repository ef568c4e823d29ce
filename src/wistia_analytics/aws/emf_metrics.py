"""CloudWatch metrics of a pipeline run: pure functions from results and run records, then EMF emission.

The figures are computed by plain functions (easy to test, no AWS involved) and printed as CloudWatch
embedded metric format (EMF) lines through powertools: Lambda ships stdout to CloudWatch Logs, which turns
each EMF line into metric data points without a `PutMetricData` call (no extra IAM, no extra latency).
The alarms in `infra/template.yaml` are defined on these names: renaming one is a contract change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wistia_analytics.ingest.ingestor import IngestResult
from wistia_analytics.lake.runs import RunRecord, RunStatus, publisher_of
from wistia_analytics.lake.timestamps import parse_utc
from wistia_analytics.wistia.counters import StatsSnapshot

NAMESPACE = "WistiaAnalytics"
SERVICE = "wistia-analytics"

# Metric names (the template's alarms refer to these).
INGEST_FAILED = "IngestFailed"
INGEST_PARTIAL = "IngestPartial"
INGEST_INCOMPLETE = "IngestIncomplete"  # stopped at the Lambda's remaining time: the state machine calls again
RECORDS_INGESTED = "RecordsIngested"
API_REQUESTS = "ApiRequests"
API_RETRIES = "ApiRetries"
API_THROTTLED = "ApiThrottled"
API_FAULTS = "ApiFaults"
INGEST_DURATION = "IngestDurationSeconds"
TRANSFORM_FAILED = "TransformFailed"
QUARANTINED = "QuarantinedRecords"
DRIFT_ROWS = "ReconciliationDriftRows"
INGEST_AGE = "HoursSinceIngest"
GOLD_AGE = "HoursSinceTransform"
FRESHNESS = "FreshnessHours"

_FINISHED_OK = (RunStatus.SUCCESS,)  # only a success counts as fresh (partial, incomplete: not)
RECONCILIATION_TABLE = "gold_reconciliation"


@dataclass(frozen=True)
class MetricPoint:
    """One value of one metric; `dimensions` narrow it (e.g. to one stream)."""

    name: str
    value: float
    unit: str = "Count"
    dimensions: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``RecordsIngested`` or ``RecordsIngested[stream=events]``: a readable identity for tests and logs."""
        if not self.dimensions:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in self.dimensions)}]"


def as_dict(points: Iterable[MetricPoint]) -> dict[str, float]:
    """Metric key -> value, for assertions and the handler's return value."""
    return {p.key: p.value for p in points}


def ingest_metrics(result: IngestResult, stats: StatsSnapshot, seconds: float) -> list[MetricPoint]:
    """Records per stream and in total, requests, retries, throttling (429/503), faults, duration, outcome."""
    points = [
        MetricPoint(INGEST_FAILED, 1.0 if result.status is RunStatus.FAILED else 0.0),
        MetricPoint(INGEST_PARTIAL, 1.0 if result.status is RunStatus.PARTIAL else 0.0),
        MetricPoint(INGEST_INCOMPLETE, 1.0 if result.status is RunStatus.INCOMPLETE else 0.0),
        MetricPoint(RECORDS_INGESTED, float(sum(r.records for r in result.streams.values()))),
        MetricPoint(API_REQUESTS, float(stats.requests)),
        MetricPoint(API_RETRIES, float(stats.retries)),
        MetricPoint(API_THROTTLED, float(stats.throttled)),
        MetricPoint(API_FAULTS, float(sum(stats.faults.values()))),
        MetricPoint(INGEST_DURATION, round(seconds, 3), "Seconds"),
    ]
    points += [
        MetricPoint(RECORDS_INGESTED, float(report.records), dimensions=(("stream", name),))
        for name, report in sorted(result.streams.items())
    ]
    return points


def is_transform_record(record: RunRecord) -> bool:
    return isinstance(record.extra.get("transform"), dict)


def is_ingest_record(record: RunRecord) -> bool:
    return isinstance(record.extra.get("streams"), dict)


def transform_metrics(record: RunRecord, history: Sequence[RunRecord] = ()) -> list[MetricPoint]:
    """Outcome of one finished transform run, and quarantine and drift of the lake's published state.

    Drift comes from the run that published the current reconciliation table, quarantine from the newest run
    that published anything (`publisher_of`, over `history`): a retry that found nothing new (mode ``noop``)
    must not publish zeros over real drift. Without history, `record`'s own figures.
    """
    drift_doc: dict[str, Any] = _transform_doc(publisher_of([*history, record], RECONCILIATION_TABLE) or record)
    doc: dict[str, Any] = _transform_doc(publisher_of([*history, record]) or record)
    quarantined = doc.get("quarantined") or {}
    return [
        MetricPoint(TRANSFORM_FAILED, 1.0 if record.status is RunStatus.FAILED else 0.0),
        MetricPoint(QUARANTINED, float(sum(int(v) for v in quarantined.values()))),
        MetricPoint(DRIFT_ROWS, float(int(drift_doc.get("reconciliation_drift_rows") or 0))),
    ]


def _transform_doc(record: RunRecord) -> dict[str, Any]:
    doc = record.extra.get("transform")
    return doc if isinstance(doc, dict) else {}


def _hours_since(record: RunRecord | None, now: datetime) -> float | None:
    if record is None or record.ended_at is None:
        return None
    return round(max((now - parse_utc(record.ended_at)).total_seconds(), 0.0) / 3600, 3)


def freshness_metrics(records: Sequence[RunRecord], now: datetime) -> list[MetricPoint]:
    """Hours since the last ingestion and the last transform that finished usefully, and the larger of both.

    `FreshnessHours` is absent, not zero, when either stage never succeeded: the staleness alarm treats
    missing data as breaching, so "never ran" and "stopped running" both alarm.
    """
    newest_first = sorted(records, key=lambda r: r.run_id, reverse=True)
    ingest = next((r for r in newest_first if is_ingest_record(r) and r.status in _FINISHED_OK), None)
    transform = next((r for r in newest_first if is_transform_record(r) and r.status in _FINISHED_OK), None)
    ingest_age, gold_age = _hours_since(ingest, now), _hours_since(transform, now)
    points = []
    if ingest_age is not None:
        points.append(MetricPoint(INGEST_AGE, ingest_age, "None"))
    if gold_age is not None:
        points.append(MetricPoint(GOLD_AGE, gold_age, "None"))
    if ingest_age is not None and gold_age is not None:
        points.append(MetricPoint(FRESHNESS, max(ingest_age, gold_age), "None"))
    return points


def latest_finished_transform(records: Sequence[RunRecord]) -> RunRecord | None:
    """The newest transform run that is no longer running (a crashed one stays `running` forever)."""
    newest_first = sorted(records, key=lambda r: r.run_id, reverse=True)
    return next((r for r in newest_first if is_transform_record(r) and r.status is not RunStatus.RUNNING), None)


def emit(points: Iterable[MetricPoint], *, namespace: str = NAMESPACE, service: str = SERVICE) -> None:
    """Print the points as EMF lines on stdout (one line for the plain metrics, one per dimensioned point)."""
    from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

    metrics = Metrics(namespace=namespace, service=service)
    plain = 0
    for point in points:
        if point.dimensions:
            dims = {"service": service, **dict(point.dimensions)}
            with single_metric(
                name=point.name,
                unit=MetricUnit(point.unit),
                value=point.value,
                namespace=namespace,
                default_dimensions=dims,
            ):
                pass
        else:
            metrics.add_metric(name=point.name, unit=MetricUnit(point.unit), value=point.value)
            plain += 1
    if plain:
        metrics.flush_metrics()

"""Lambda entry points: thin adapters from an AWS event to the package's own ingestion and run records.

`ingest_handler` runs one incremental ingestion into `LAKE_URI`, exactly what `wistia-analytics ingest`
does, with the token read from Secrets Manager at run time. `report_handler` runs after the Glue transform
and publishes quarantine, drift and freshness from the run records (no query engine needed). Both print
JSON logs and EMF metrics; both raise on failure so that Step Functions takes its failure path.

Configuration (environment): `LAKE_URI`, `WISTIA_TOKEN_SECRET_ARN` (the secret's ARN, never the token),
optionally `WISTIA_API_URL` and the other `Settings` variables (the modern analytics' `WISTIA_MODERN_API_URL`,
`WISTIA_API_VERSION`, `INGEST_ANALYTICS`, `INGEST_ANALYTICS_BACKFILL_DAYS`, `INGEST_TRAFFIC_DIMENSIONS` reach the
run through `Settings` and `run_ingest`, as on the command line), `POWERTOOLS_METRICS_NAMESPACE`.
Heavy engines (DuckDB, Spark, pyarrow, Streamlit) are never imported here: the zip does not hold them.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import SecretStr

from wistia_analytics.aws import emf_metrics as metrics
from wistia_analytics.aws.secrets import read_token
from wistia_analytics.errors import ConfigurationError, DataQualityError, UnavailableError
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.runs import RunStatus, latest_runs
from wistia_analytics.lake.storage import Storage
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.settings import Settings

log = logging.getLogger("wistia_analytics.aws")
SECRET_ARN_ENV = "WISTIA_TOKEN_SECRET_ARN"  # noqa: S105 - the name of the variable holding an ARN
REPORT_RUNS_SCANNED = 50  # run records read by the report: enough to find the last ingest and transform
# Seconds of a Lambda's remaining time kept back when an ingestion starts: enough to finish the requests in
# flight (a 30 s request deadline), flush the last Bronze file, write the run record and release the lock.
DEADLINE_MARGIN_SECONDS = 60.0


class IngestFailedError(UnavailableError, RuntimeError):
    """The ingestion ended `failed` (nothing usable was fetched): the state machine must not go on."""


class TransformFailedError(DataQualityError, RuntimeError):
    """The latest transform run ended `failed` (a blocking check, an error): the previous tables stay."""


class InvalidEventError(ConfigurationError, ValueError):
    """The invocation event has an unknown key or a malformed value."""


@dataclass(frozen=True)
class IngestEvent:
    """What an invocation may ask for; the scheduled run sends `{}` (incremental from the watermarks)."""

    since: date | None = None
    until: date | None = None
    streams: list[str] | None = None
    full_refresh: bool = False
    today: date | None = None

    @classmethod
    def parse(cls, event: Any) -> IngestEvent:
        """Strict parsing: a typo in a backfill event must fail loudly, not run a default ingestion."""
        if event is None:
            return cls()
        if not isinstance(event, dict):
            raise InvalidEventError(f"the event must be a JSON object, got {type(event).__name__}")
        unknown = set(event) - {"since", "until", "streams", "full_refresh", "today"}
        if unknown:
            raise InvalidEventError(f"unknown event keys: {sorted(unknown)}")
        streams = event.get("streams")
        if streams is not None and not (isinstance(streams, list) and all(isinstance(s, str) for s in streams)):
            raise InvalidEventError("streams must be a list of stream names")
        full_refresh = event.get("full_refresh", False)
        if not isinstance(full_refresh, bool):
            raise InvalidEventError("full_refresh must be true or false")
        return cls(
            since=_date(event, "since"),
            until=_date(event, "until"),
            streams=streams or None,
            full_refresh=full_refresh,
            today=_date(event, "today"),
        )


def _date(event: dict[str, Any], key: str) -> date | None:
    value = event.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidEventError(f"{key} must be a date like 2026-11-25, got {value!r}") from None


def _settings(token: SecretStr) -> Settings:
    """Settings from the environment (never a `.env` file), with the token passed in, never via the environment."""
    return Settings(_env_file=None, wistia_api_token=token, log_format="json")  # type: ignore[call-arg]


def max_duration_for(context: Any, margin: float = DEADLINE_MARGIN_SECONDS) -> float | None:
    """The run's deadline from the invocation's remaining time minus `margin` (None: no context to ask)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return max(float(remaining()) / 1000.0 - margin, 0.0)


def ingest_handler(event: Any, context: Any) -> dict[str, Any]:
    """Run one ingestion into `LAKE_URI`, bounded by the invocation's remaining time; return its run id, status,
    metrics and `complete` (false: it stopped at the deadline with its position recorded, so the state machine
    calls again and the next call continues); raise if it failed."""
    configure_logging("json")
    request = IngestEvent.parse(event)
    token = read_token(os.environ.get(SECRET_ARN_ENV, ""))
    configure_logging("json", secrets=[token.get_secret_value()])
    settings = _settings(token)
    options = IngestOptions(
        streams=request.streams,
        since=request.since,
        until=request.until,
        full_refresh=request.full_refresh,
        today=request.today,
        command="ingest (lambda)",
        max_duration=max_duration_for(context),
    )
    started = time.monotonic()
    result, client = run_ingest(settings, options)
    points = metrics.ingest_metrics(result, client.stats.snapshot(), time.monotonic() - started)
    metrics.emit(points, namespace=_namespace())
    summary = {
        "run_id": result.run_id,
        "status": str(result.status),
        "exit_code": result.exit_code,
        "complete": result.complete,
        "records": {name: report.records for name, report in result.streams.items()},
        "metrics": metrics.as_dict(points),
    }
    log.info("ingestion finished", extra={"run_id": result.run_id, "status": str(result.status)})
    if result.status is RunStatus.FAILED:
        errors = "; ".join(result.record.errors[:3]) if result.record else ""
        raise IngestFailedError(f"ingestion run {result.run_id} failed (exit code {result.exit_code}): {errors}")
    return summary


def report_handler(event: Any, context: Any) -> dict[str, Any]:
    """Publish quarantine, drift and freshness from the lake's run records; raise if the transform failed."""
    configure_logging("json")
    storage = Storage.from_uri(Settings(_env_file=None).lake_uri)  # type: ignore[call-arg]
    records = latest_runs(storage, REPORT_RUNS_SCANNED)
    points = metrics.freshness_metrics(records, datetime.now(UTC))
    transform = metrics.latest_finished_transform(records)
    if transform is not None:
        points += metrics.transform_metrics(transform, records)  # drift/quarantine: the published state
    metrics.emit(points, namespace=_namespace())
    summary: dict[str, Any] = {
        "transform_run_id": transform.run_id if transform else None,
        "transform_status": str(transform.status) if transform else None,
        "metrics": metrics.as_dict(points),
    }
    log.info("report published", extra=summary)
    if transform is not None and transform.status is RunStatus.FAILED:
        raise TransformFailedError(f"transform run {transform.run_id} failed: {'; '.join(transform.errors[:3])}")
    return summary


def _namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE", metrics.NAMESPACE)

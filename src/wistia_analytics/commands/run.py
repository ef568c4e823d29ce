"""`wistia-analytics run`: ingest then transform under one hold of the lake."""

from __future__ import annotations

from datetime import date

from wistia_analytics.commands.error_report import report_error
from wistia_analytics.commands.ingest import ingest_command
from wistia_analytics.commands.lake_access import writable_lake
from wistia_analytics.commands.transform import transform_command
from wistia_analytics.errors import ExitCode, WistiaAnalyticsError
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.lock import holding_lake_for_stages
from wistia_analytics.lake.runs import new_run_id
from wistia_analytics.lake.timestamps import utc_now
from wistia_analytics.pipeline.transform_stage import check_engine
from wistia_analytics.settings import load_settings


def run_command(
    *, full_rebuild: bool, today: date | None, wait: float, engine: str = "duckdb", max_duration: float | None = None
) -> int:
    """Ingest, then transform; the exit code (the scheduler and the alerting hook loop this very function).

    The transform runs only after a `success` or `partial` ingest: a failed one (exit 2 or 4) or one stopped at
    its deadline (exit 5: the day's increment is not all in yet; the next call continues it) leaves the
    published tables as they are.
    """
    try:
        check_engine(engine)  # refuse before ingesting, not after
        storage = writable_lake(load_settings())
        # One hold of the lake for both stages: a waiting run cannot slip in between and fail this one halfway.
        with holding_lake_for_stages(storage, new_run_id(utc_now()), "run", wait_seconds=wait):
            options = IngestOptions(today=today, command="run", max_duration=max_duration)
            ingest_code = ingest_command(options, None)
            if ingest_code not in (ExitCode.OK, ExitCode.PARTIAL):  # a partial ingest still moves the lake forward
                return ingest_code
            transform_code = transform_command(full_rebuild=full_rebuild, engine=engine, wait=0.0)
    except WistiaAnalyticsError as exc:
        return report_error(exc)
    return transform_code or ingest_code


def run_with_alerts_command(
    *, full_rebuild: bool, today: date | None, wait: float, engine: str = "duckdb", max_duration: float | None = None
) -> int:
    """`wistia-analytics run`: the settings, engine and lake checked first (so a bad one is one line, before the
    alerting hook reads them too), then `run_command` under the alerting hook."""
    from wistia_analytics.pipeline.alerts import run_with_alerts

    check_engine(engine)
    writable_lake(load_settings())
    return run_with_alerts(
        lambda: run_command(full_rebuild=full_rebuild, today=today, wait=wait, engine=engine, max_duration=max_duration)
    )

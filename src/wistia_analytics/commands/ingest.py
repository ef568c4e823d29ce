"""The `ingest` command's presentation: logging, live progress, summary, exit codes, clear errors."""

from __future__ import annotations

import sys
import time

from rich.console import Console

from wistia_analytics.commands.console import (
    ConsoleProgress,
    LogProgress,
    report_console,
    summary_json,
    summary_table,
)
from wistia_analytics.commands.error_report import report_error
from wistia_analytics.commands.lake_access import writable_lake
from wistia_analytics.contracts.streams import STREAMS_BY_NAME
from wistia_analytics.errors import ConfigurationError, ExitCode, WistiaAnalyticsError
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.storage import Storage
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.settings import load_settings


def ingest_command(options: IngestOptions, log_format: str | None) -> int:
    """Run one ingestion; its exit code (every error of ours shown as one line on stderr)."""
    try:
        return _ingest(options, log_format)
    except WistiaAnalyticsError as exc:
        return report_error(exc)


def _ingest(options: IngestOptions, log_format: str | None) -> int:
    err = Console(stderr=True)
    settings = load_settings()
    unknown = sorted(set(options.streams or []) - set(STREAMS_BY_NAME))
    if unknown:
        raise ConfigurationError(f"unknown streams {unknown}; choose from {', '.join(STREAMS_BY_NAME)}")
    storage = Storage.from_uri(settings.lake_uri) if options.dry_run else writable_lake(settings)
    fmt = log_format or settings.log_format
    token = settings.wistia_api_token.get_secret_value() if settings.wistia_api_token else ""
    configure_logging(fmt, "INFO" if fmt == "json" else "WARNING", secrets=[token])
    started = time.monotonic()
    live = fmt == "text" and err.is_terminal
    progress = ConsoleProgress(err) if live else LogProgress()
    if isinstance(progress, ConsoleProgress):
        with progress:
            result, client = run_ingest(
                settings, options, storage=storage, progress=progress, embedded=open_embedded_sandbox
            )
    else:
        result, client = run_ingest(
            settings, options, storage=storage, progress=progress, embedded=open_embedded_sandbox
        )
    if options.dry_run:
        for line in result.plan:
            print(line)
        return int(ExitCode.OK)
    if fmt == "json":
        print(summary_json(result))
    else:
        report_console().print(summary_table(result, client, time.monotonic() - started))
        access = result.record.extra.get("analytics_access") if result.record else None
        reason = access.get("reason") if isinstance(access, dict) else None
        if reason:  # the one line saying why Wistia's analytics were not ingested
            print(reason, file=sys.stderr)
        errors = [e for e in (result.record.errors if result.record else []) if e != reason]
        if errors:
            if result.exit_code == ExitCode.CONFIG:  # the run stopped at its first request: say why, plainly
                print(f"configuration error: {errors[0]}", file=sys.stderr)
            else:
                print(f"{len(errors)} error(s); first: {errors[0]}", file=sys.stderr)
    sys.stdout.flush()
    return result.exit_code

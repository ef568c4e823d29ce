"""The `ingest` command's presentation: logging, live progress, summary, exit codes, clear errors."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape

from wistia_analytics.commands.console import (
    ConsoleProgress,
    LogProgress,
    report_console,
    summary_json,
    summary_table,
)
from wistia_analytics.contracts.streams import STREAMS_BY_NAME
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.lock import LakeLockedError
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.errors import FatalConfigError


def ingest_command(options: IngestOptions, log_format: str | None) -> int:
    err = Console(stderr=True)
    try:
        settings = Settings()
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        return int(ExitCode.CONFIG)
    fmt = log_format or settings.log_format
    token = settings.wistia_api_token.get_secret_value() if settings.wistia_api_token else ""
    configure_logging(fmt, "INFO" if fmt == "json" else "WARNING", secrets=[token])
    unknown = sorted(set(options.streams or []) - set(STREAMS_BY_NAME))
    if unknown:
        err.print(f"[red]unknown streams {unknown}[/red]; choose from {', '.join(STREAMS_BY_NAME)}")
        return int(ExitCode.CONFIG)
    started = time.monotonic()
    live = fmt == "text" and err.is_terminal
    progress = ConsoleProgress(err) if live else LogProgress()
    try:
        if isinstance(progress, ConsoleProgress):
            with progress:
                result, client = run_ingest(settings, options, progress=progress, embedded=open_embedded_sandbox)
        else:
            result, client = run_ingest(settings, options, progress=progress, embedded=open_embedded_sandbox)
    except FatalConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        return int(ExitCode.CONFIG)
    except LakeLockedError as exc:  # one line, never wrapped: scripts and alerts grep it
        err.print(f"[yellow]lake is busy:[/yellow] {escape(str(exc))}", soft_wrap=True, highlight=False)
        return int(ExitCode.UNAVAILABLE)
    if options.dry_run:
        for line in result.plan:
            print(line)
        return int(ExitCode.OK)
    if fmt == "json":
        print(summary_json(result))
    else:
        report_console().print(summary_table(result, client, time.monotonic() - started))
        if result.record and result.record.errors:
            err.print(f"{len(result.record.errors)} error(s); first: {result.record.errors[0]}")
    sys.stdout.flush()
    return result.exit_code

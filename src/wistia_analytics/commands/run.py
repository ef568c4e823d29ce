"""`wistia-analytics run`: ingest then transform under one hold of the lake."""

from __future__ import annotations

from datetime import date

from rich.markup import escape

from wistia_analytics.commands.console import report_console
from wistia_analytics.commands.ingest import ingest_command
from wistia_analytics.commands.transform import transform_command
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.lock import LakeLockedError, holding_lake_for_stages
from wistia_analytics.lake.runs import new_run_id
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_now
from wistia_analytics.pipeline.transform_stage import ENGINES
from wistia_analytics.settings import Settings


def run_command(*, full_rebuild: bool, today: date | None, wait: float, engine: str = "duckdb") -> int:
    if engine not in ENGINES:  # refuse before ingesting, not after
        report_console(stderr=True).print(
            f"[red]configuration error:[/red] unknown engine {engine!r}; available: {', '.join(ENGINES)}"
        )
        return 2
    err = report_console(stderr=True)
    try:
        storage = Storage.from_uri(Settings().lake_uri)
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        return 2
    # One hold of the lake for both stages: a waiting run cannot slip in between and fail this one halfway.
    try:
        with holding_lake_for_stages(storage, new_run_id(utc_now()), "run", wait_seconds=wait):
            ingest_code = ingest_command(IngestOptions(today=today, command="run"), None)
            if ingest_code not in (0, 3):  # a partial ingest still moves the lake forward
                return ingest_code
            transform_code = transform_command(full_rebuild=full_rebuild, engine=engine, wait=0.0)
    except LakeLockedError as exc:
        err.print(f"[yellow]lake is busy:[/yellow] {escape(str(exc))}", soft_wrap=True, highlight=False)
        return 4
    return transform_code or ingest_code

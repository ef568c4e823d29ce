"""Presentation of `transform`, `run`, `status` and `query`: tables for people, JSON/CSV for scripts."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from typing import Any

from rich.markup import escape
from rich.table import Table

from wistia_analytics.ingest.cli import ingest_command
from wistia_analytics.ingest.progress import report_console
from wistia_analytics.ingest.runner import IngestOptions
from wistia_analytics.lake.clock import utc_now
from wistia_analytics.lake.lock import LakeLockedError, holding_lake_for_stages
from wistia_analytics.lake.runs import new_run_id
from wistia_analytics.lake.storage import Storage
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.service import ENGINES, run_transform
from wistia_analytics.pipeline.status import lake_status
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.settings import Settings
from wistia_analytics.transform.runner import TransformResult
from wistia_analytics.transform.spark_engine import SparkUnavailableError


def transform_table(result: TransformResult) -> Table:
    table = Table(
        title=f"transform run {result.run_id}: {result.mode}, {result.status} in {result.seconds:.1f} s",
        title_justify="left",
    )
    for col in ("table", "rows written", "partitions", "quarantined", "seconds", "checks"):
        table.add_column(col, justify="left" if col in ("table", "checks") else "right")
    for m in result.models:
        failed = [c.name for c in m.checks if not c.passed]
        table.add_row(
            m.name,
            f"{m.rows:,}",
            str(m.partitions_written),
            str(m.quarantined),
            f"{m.seconds:.2f}",
            "ok" if not failed else "FAILED: " + "; ".join(failed),
        )
    table.caption = (
        f"quarantined this run: {sum(result.quarantined.values())}; reconciliation rows with drift: {result.drift_rows}"
    )
    return table


def transform_command(*, full_rebuild: bool, engine: str, wait: float, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    configure_logging(settings.log_format, "WARNING")
    err = report_console(stderr=True)
    try:
        result = run_transform(settings, full_rebuild=full_rebuild, engine=engine, lock_wait_seconds=wait)
    except LakeLockedError as exc:  # one line, never wrapped: scripts and alerts grep it
        err.print(f"[yellow]lake is busy:[/yellow] {escape(str(exc))}", soft_wrap=True, highlight=False)
        return 4
    except (ValueError, SparkUnavailableError) as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        return 2
    if result.mode == "noop":
        report_console().print("transform: no new Bronze files; every table is up to date")
        return 0
    report_console().print(transform_table(result))
    if result.error:
        err.print(f"[red]{result.error}[/red]")
    return result.exit_code


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


def status_command(output: str) -> int:
    settings = Settings()
    doc = lake_status(Storage.from_uri(settings.lake_uri))
    if output == "json":
        print(json.dumps(doc, indent=2, default=str))
        return 0
    console = report_console()
    console.print(f"[bold]lake[/bold] {doc['lake']}")
    if "freshness" in doc:
        f = doc["freshness"]
        console.print(f"newest event {f['newest_event_at']} ({f['age_hours']} h ago)")
    if "reconciliation" in doc:
        r = doc["reconciliation"]
        console.print(
            f"reconciliation: {r['rows_with_drift']} of {r['rows']} rows drift (max plays diff "
            f"{r['max_abs_plays_diff']})"
        )
    if "quarantine" in doc:
        console.print(f"quarantine: {doc['quarantine'] or 'empty'}")
    console.print(
        _table("watermarks", ["stream", "watermark"], [[k, json.dumps(v)] for k, v in doc["watermarks"].items()])
    )
    console.print(
        _table(
            "tables",
            ["table", "rows", "version", "published at"],
            [[k, f"{v['rows']:,}", v["version"], v["published_at"]] for k, v in doc["tables"].items()],
        )
    )
    console.print(
        _table(
            "recent runs",
            ["run", "command", "status", "started", "records", "errors"],
            [
                [r["run_id"], r["command"], r["status"], r["started_at"], str(r["records"]), str(r["errors"])]
                for r in doc["runs"]
            ],
        )
    )
    return 0


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*[str(x) for x in row])
    return table


def query_command(sql: str, output: str) -> int:
    settings = Settings()
    con, manifests = open_catalog(Storage.from_uri(settings.lake_uri))
    err = report_console(stderr=True)
    if not manifests:
        err.print("the lake has no published tables yet: run `wistia-analytics run` (or `make demo`) first")
        return 2
    try:
        cursor = con.execute(sql)
    except Exception as exc:  # duckdb raises many error classes; the message is what the user needs
        err.print(f"[red]query error:[/red] {str(exc).splitlines()[0]}")
        return 2
    names = [d[0] for d in cursor.description or []]
    rows = cursor.fetchall()
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif output == "json":
        print(json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str))
    else:
        report_console().print(_table(f"{len(rows)} rows", names, [list(r) for r in rows]))
    return 0

"""`wistia-analytics status`: the lake's report for people, JSON for scripts.

The JSON document is `query.lake_status`'s, with each run given a few more keys (`kind`, `stage`,
`duration_seconds`, `rows_written`, `mode`); no key is ever removed, scripts rely on them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wistia_analytics.commands.console import plain, report_console
from wistia_analytics.commands.lake_access import existing_lake
from wistia_analytics.commands.transform import modern_drift_text
from wistia_analytics.contracts.tables import PUBLISHED_TABLES
from wistia_analytics.errors import ConfigurationError, ExitCode
from wistia_analytics.lake.runs import RunRecord, latest_runs
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore
from wistia_analytics.query.lake_status import lake_status
from wistia_analytics.settings import load_settings

FORMATS = ("table", "json")
RUNS_SHOWN = 5
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def when(value: object) -> str:
    """An ISO instant as ``2026-11-25 12:00 UTC``; a date stays a date; anything else as text."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    if _INSTANT.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return value


def watermark_text(value: Any) -> str:
    """What a stream's watermark means, in words: one date, or the range over many keys (medias)."""
    if isinstance(value, dict) and set(value) == {"keys", "min", "max"}:
        low, high = when(value["min"]), when(value["max"])
        span = low if low == high else f"{low} .. {high}"
        return f"{span} ({value['keys']:,} keys)"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            shown = when(item)
            parts.append(shown if key == "__account__" or len(value) == 1 else f"{key} {shown}")
        return "; ".join(parts)
    return when(value)


def _stage(record: RunRecord) -> str:
    return "transform" if "transform" in record.extra else "ingest"


def _duration(record: RunRecord) -> float | None:
    if not record.ended_at:
        return None
    try:
        start = datetime.fromisoformat(record.started_at.replace("Z", "+00:00"))
        end = datetime.fromisoformat(record.ended_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((end - start).total_seconds(), 1)


def run_details(record: RunRecord) -> dict[str, Any]:
    """The keys `status --format json` adds to each run of `lake_status`."""
    details: dict[str, Any] = {
        "kind": record.command.split(" ")[0] if record.command else "",
        "stage": _stage(record),
        "duration_seconds": _duration(record),
    }
    transform = record.extra.get("transform")
    if isinstance(transform, dict):
        tables = transform.get("tables", {})
        details["rows_written"] = sum(int(t.get("rows", 0)) for t in tables.values() if isinstance(t, dict))
        details["mode"] = transform.get("mode")
    return details


def _output(run: dict[str, Any]) -> str:
    if run.get("stage") == "transform":
        mode = f", {run['mode']}" if run.get("mode") else ""
        return f"{run.get('rows_written', 0):,} rows written{mode}"
    return f"{run['records']:,} records, {run['requests']:,} requests"


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _table(title: str, columns: list[str], rows: list[list[str]], right: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", min_width=len(column))
    for row in rows:
        table.add_row(*map(plain, row))
    return table


def print_report(doc: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]lake[/bold] {escape(doc['lake'])}", highlight=False)
    if "freshness" in doc:
        f = doc["freshness"]
        console.print(f"newest event {when(f['newest_event_at'])} ({f['age_hours']} h ago)", highlight=False)
    if "reconciliation" in doc:
        r = doc["reconciliation"]
        console.print(
            f"reconciliation: {r['rows_with_drift']} of {r['rows']} rows drift (max plays diff "
            f"{r['max_abs_plays_diff']})",
            highlight=False,
        )
    if "modern_reconciliation" in doc:
        m = doc["modern_reconciliation"]
        text = modern_drift_text(int(m["rows_with_drift"] or 0), int(m["rows"] or 0))
        if text and m["rows_with_drift"]:
            text += f" (max plays diff {m['max_abs_plays_diff']})"
        if text:
            console.print(plain(text), highlight=False)
    if "quarantine" in doc:
        q = doc["quarantine"]
        text = ", ".join(f"{n:,} {entity}" for entity, n in q.items()) if q else "empty"
        console.print(plain(f"quarantine: {text}"), highlight=False)
    if "unreadable" in doc:
        console.print(plain(f"tables unreadable ({doc['unreadable']})"), highlight=False)
    runs = doc["runs"]
    console.print(
        _table(
            "recent runs (newest first)",
            ["started", "kind", "stage", "status", "took", "output", "errors", "run"],
            [
                [
                    when(r["started_at"]),
                    r.get("kind", r["command"]),
                    r.get("stage", ""),
                    r["status"],
                    _took(r.get("duration_seconds")),
                    _output(r),
                    str(r["errors"]),
                    r["run_id"],
                ]
                for r in runs
            ],
            right=("took", "errors"),
        )
    )
    if not runs:
        console.print("no runs recorded yet")
    console.print(
        _table(
            "watermarks",
            ["stream", "watermark"],
            [[k, watermark_text(v)] for k, v in doc["watermarks"].items()],
        )
    )
    console.print(
        _table(
            "tables",
            ["table", "rows", "version", "published"],
            [[k, f"{v['rows']:,}", str(v["version"]), when(v["published_at"])] for k, v in doc["tables"].items()],
            right=("rows",),
        )
    )


def verify_lake(storage: Storage) -> dict[str, Any]:
    """Every file of every published table's current version: present, Parquet footer readable; manifests parse."""
    tables = TableStore(storage)
    damaged = [asdict(d) for table in PUBLISHED_TABLES for d in tables.damage(table, read_footers=True)]
    return {"tables_checked": len(PUBLISHED_TABLES), "damaged": damaged, "healthy": not damaged}


def print_verify(result: dict[str, Any], console: Console) -> None:
    if result["healthy"]:
        console.print(f"verify: all {result['tables_checked']} tables readable", highlight=False, markup=False)
        return
    console.print(
        _table(
            "DAMAGED (the next transform rebuilds these from Bronze)",
            ["table", "partition", "file", "problem"],
            [
                [d["table"], "(manifest)" if d["partition"] is None else d["partition"] or "-", d["path"], d["problem"]]
                for d in result["damaged"]
            ],
        )
    )


def status_command(output: str, *, verify: bool = False) -> int:
    if output not in FORMATS:
        raise ConfigurationError(f"unknown --format {output!r}; choose from {', '.join(FORMATS)}")
    storage = existing_lake(load_settings())
    checked = verify_lake(storage) if verify else None
    doc = lake_status(storage, runs=RUNS_SHOWN)
    if checked is not None:
        doc["verify"] = checked
    records = {r.run_id: r for r in latest_runs(storage, RUNS_SHOWN)}
    for run in doc["runs"]:
        record = records.get(run["run_id"])
        if record is not None:
            run.update(run_details(record))
    if output == "json":
        print(json.dumps(doc, indent=2, default=str))
    else:
        console = report_console()
        print_report(doc, console)
        if checked is not None:
            print_verify(checked, console)
    # Damage found: PARTIAL (3), the code a script already reads as "usable, but look".
    return int(ExitCode.PARTIAL) if checked is not None and not checked["healthy"] else int(ExitCode.OK)

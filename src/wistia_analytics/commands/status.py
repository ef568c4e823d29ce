"""`wistia-analytics status`: the lake's report for people, JSON for scripts."""

from __future__ import annotations

import json

from wistia_analytics.commands.console import report_console, simple_table
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.lake_status import lake_status
from wistia_analytics.settings import Settings


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
        simple_table("watermarks", ["stream", "watermark"], [[k, json.dumps(v)] for k, v in doc["watermarks"].items()])
    )
    console.print(
        simple_table(
            "tables",
            ["table", "rows", "version", "published at"],
            [[k, f"{v['rows']:,}", v["version"], v["published_at"]] for k, v in doc["tables"].items()],
        )
    )
    console.print(
        simple_table(
            "recent runs",
            ["run", "command", "status", "started", "records", "errors"],
            [
                [r["run_id"], r["command"], r["status"], r["started_at"], str(r["records"]), str(r["errors"])]
                for r in doc["runs"]
            ],
        )
    )
    return 0

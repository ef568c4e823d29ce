"""`wistia-analytics status`: what is in the lake and whether to trust it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from wistia_analytics.contracts.streams import STREAMS
from wistia_analytics.contracts.tables import PUBLISHED_TABLES
from wistia_analytics.lake.runs import latest_runs
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore
from wistia_analytics.query.catalog import open_catalog


def lake_status(storage: Storage, *, runs: int = 5) -> dict[str, Any]:
    """Watermarks, recent runs, tables (rows, version, age), freshness, quarantine and drift."""
    state = StateStore(storage)
    watermarks = {}
    for stream in STREAMS:
        values = state.load(stream.name).values()
        if values:
            watermarks[stream.name] = (
                values
                if len(values) <= 3
                else {"keys": len(values), "min": min(values.values()), "max": max(values.values())}
            )
    recent = [
        {
            "run_id": r.run_id,
            "command": r.command.split(" ")[0],
            "status": str(r.status),
            "started_at": r.started_at,
            "ended_at": r.ended_at,
            "requests": r.requests,
            "records": sum(r.records.values()),
            "errors": len(r.errors),
        }
        for r in latest_runs(storage, runs)
    ]
    store = TableStore(storage)
    tables = {}
    for name in sorted(PUBLISHED_TABLES):  # the catalog's tables, by name as before
        m = store.current(name)
        if m is not None:
            tables[name] = {"rows": m.row_count, "version": m.version, "published_at": m.created_at}
    out: dict[str, Any] = {"lake": storage.uri(""), "watermarks": watermarks, "runs": recent, "tables": tables}
    # A damaged table (a file deleted) must not crash `status`: its figures are left out and named, and
    # `status --verify` says which files.
    try:
        _contents(storage, out)
    except (duckdb.Error, OSError) as exc:
        out["unreadable"] = f"{type(exc).__name__}: run `wistia-analytics status --verify`"
    return out


def _contents(storage: Storage, out: dict[str, Any]) -> None:
    # Views only for the tables read below: on an object store, only their files are fetched.
    con, manifests = open_catalog(storage, tables=("silver_events", "silver_quarantine", "gold_reconciliation"))
    if "silver_events" in manifests:
        newest = con.execute("SELECT max(received_at) FROM silver.events").fetchone()
        if newest and newest[0] is not None:
            age = datetime.now(UTC) - newest[0]
            out["freshness"] = {
                "newest_event_at": newest[0].isoformat(),
                "age_hours": round(age.total_seconds() / 3600, 1),
            }
    if "silver_quarantine" in manifests:
        out["quarantine"] = dict(
            con.execute("SELECT entity, count(*) FROM silver.quarantine GROUP BY entity ORDER BY entity").fetchall()
        )
    if "gold_reconciliation" in manifests:
        row = con.execute(
            "SELECT count(*) FILTER (WHERE NOT within_tolerance), max(abs(plays_diff)), count(*) "
            "FROM gold.reconciliation"
        ).fetchone()
        if row:
            out["reconciliation"] = {"rows_with_drift": row[0], "max_abs_plays_diff": row[1], "rows": row[2]}
        # Wistia's modern analytics against v1 by_date: only in versions built since issue 15 (an older lake's
        # table has no such column until its next transform), and only media-days where both were ingested.
        if "modern_within_tolerance" in {c for c, _ in manifests["gold_reconciliation"].columns}:
            modern = con.execute(
                "SELECT count(*) FILTER (WHERE NOT modern_within_tolerance), max(abs(plays_modern_diff)), "
                "count(modern_within_tolerance) FROM gold.reconciliation"
            ).fetchone()
            if modern and modern[2]:
                out["modern_reconciliation"] = {
                    "rows_with_drift": modern[0],
                    "max_abs_plays_diff": modern[1],
                    "rows": modern[2],
                }
    con.close()

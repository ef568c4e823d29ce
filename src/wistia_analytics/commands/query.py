"""`wistia-analytics query`: SQL over the published tables, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys

from wistia_analytics.commands.console import report_console, simple_table
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.settings import Settings


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
        report_console().print(simple_table(f"{len(rows)} rows", names, [list(r) for r in rows]))
    return 0

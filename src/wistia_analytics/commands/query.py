"""`wistia-analytics query`: SQL over the published tables, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from wistia_analytics.commands.console import report_console
from wistia_analytics.commands.lake_access import existing_lake
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.errors import ConfigurationError, ExitCode
from wistia_analytics.query.catalog import ReadOnlyError, check_read_only, open_catalog, read_only_message
from wistia_analytics.settings import load_settings

FORMATS = ("table", "csv", "json")
MAX_CELL = 60  # characters of one cell shown in the table format (csv and json are never cut)


class QueryError(ConfigurationError):
    """The SQL does not run on the published tables (a syntax error, an unknown table or column)."""

    label = "query error"


def check_format(output: str) -> str:
    if output not in FORMATS:
        raise ConfigurationError(f"unknown --format {output!r}; choose from {', '.join(FORMATS)}")
    return output


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _title(rows: list[tuple[Any, ...]]) -> str:
    return f"{len(rows):,} row{'' if len(rows) == 1 else 's'}"


def table_width(names: list[str], cells: list[list[str]]) -> int:
    """Characters a full-width table of these cells needs (each column: its widest cell or its name)."""
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(names)]
    return sum(w + 3 for w in widths) + 1


def result_table(names: list[str], rows: list[tuple[Any, ...]]) -> Table:
    """Rows for people, one line each: long cell text is cut at MAX_CELL characters, column names never."""
    table = Table(title=_title(rows), title_justify="left")
    for name in names:
        table.add_column(Text(name), min_width=len(name), overflow="fold")
    for row in rows:
        table.add_row(*[Text(_cell(v)) for v in row])
    return table


def record_tables(names: list[str], rows: list[tuple[Any, ...]]) -> list[Table]:
    """Rows too wide for the screen, one small `column | value` table each (nothing squeezed or cropped)."""
    tables = []
    for number, row in enumerate(rows, start=1):
        table = Table(title=f"row {number} of {len(rows):,}", title_justify="left", show_header=False)
        table.add_column("column", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for name, value in zip(names, row, strict=True):
            table.add_row(Text(name), Text(_cell(value)))
        tables.append(table)
    return tables


def print_rows(names: list[str], rows: list[tuple[Any, ...]]) -> None:
    console = report_console()
    cells = [[_cell(v) for v in row] for row in rows]
    if table_width(names, cells) <= console.width:
        console.print(result_table(names, rows))
        return
    console.print(f"{_title(rows)} ({len(names)} columns, too wide for {console.width} characters: one table each)")
    for table in record_tables(names, rows):
        console.print(table)


def query_command(sql: str, output: str) -> int:
    check_format(output)
    storage = existing_lake(load_settings())
    con, manifests = open_catalog(storage)
    try:
        if not manifests:
            raise ConfigurationError(
                "the lake has no published tables yet: run `wistia-analytics transform` (or `run`) first"
            )
        check_read_only(con, sql)
        try:
            cursor = con.execute(sql)
        except Exception as exc:  # duckdb raises many error classes; the message is what the user needs
            refused = read_only_message(exc)
            if refused is not None:
                raise ReadOnlyError(refused) from None
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if first.startswith("Catalog Error") and "does not exist" in first:
                shown = ", ".join(".".join(layer_and_name(t)) for t in sorted(manifests))
                first = f"{first} Tables: {shown}"
            raise QueryError(first) from None
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    finally:
        con.close()
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif output == "json":
        print(json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str))
    else:
        print_rows(names, rows)
    return int(ExitCode.OK)

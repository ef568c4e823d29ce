"""What a person sees during and after `wistia-analytics ingest`: a live table and a summary.

Text that comes from the API or the lake (ids, names, windows, URLs, a lake's URI) is never Rich markup: table
cells are `plain` Text and interpolated strings go through `rich.markup.escape`, so `[/bold]x` prints as is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wistia_analytics.ingest.ingestor import IngestResult
from wistia_analytics.ingest.progress import StreamReport
from wistia_analytics.wistia.client import WistiaClient

log = logging.getLogger("wistia_analytics.ingest")


def plain(value: object) -> Text:
    """`value` as literal text for a Rich table or `print`: no markup, no emoji codes."""
    return Text(str(value))


def _table(reports: dict[str, StreamReport], client: WistiaClient | None, elapsed: float) -> Table:
    table = Table(title="ingest", title_justify="left")
    for column in ("stream", "status", "pages", "records", "files", "skipped", "errors", "window"):
        table.add_column(column, justify="right" if column not in ("stream", "status", "window") else "left")
    for r in reports.values():
        table.add_row(
            *map(
                plain,
                (
                    r.name,
                    r.status,
                    str(r.pages),
                    f"{r.records:,}",
                    str(r.files),
                    str(r.skipped),
                    str(r.errors),
                    "; ".join(r.windows),
                ),
            )
        )
    if client is not None:
        stats = client.stats
        rpm = stats.requests / elapsed * 60 if elapsed > 0 else 0.0
        table.caption = (
            f"{stats.requests:,} requests ({rpm:,.0f}/min), {stats.retries} retries, "
            f"{stats.throttled} throttled, {elapsed:,.1f} s"
        )
    return table


class ConsoleProgress:
    """A live-updating table on a terminal (rich); refreshes at most a few times a second."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.started = time.monotonic()
        self.reports: dict[str, StreamReport] = {}
        self._client: WistiaClient | None = None
        self._live: Live | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ConsoleProgress:
        self._live = Live(console=self.console, refresh_per_second=4, transient=True)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, report: StreamReport, client: WistiaClient) -> None:
        with self._lock:
            self.reports[report.name] = report
            self._client = client
            if self._live is not None:
                self._live.update(_table(self.reports, client, time.monotonic() - self.started))


class LogProgress:
    """Progress as log lines (for `--log-format json` and non-terminals): one line per stream change."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, int]] = {}

    def update(self, report: StreamReport, client: WistiaClient) -> None:
        key = (report.status, report.files)
        if self._last.get(report.name) != key:
            self._last[report.name] = key
            log.info(
                "stream progress",
                extra={
                    "stream": report.name,
                    "status": report.status,
                    "pages": report.pages,
                    "records": report.records,
                    "files": report.files,
                    "requests": client.stats.requests,
                },
            )


def report_console(stderr: bool = False) -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped or logged."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=140)


def summary_table(result: IngestResult, client: WistiaClient | None, elapsed: float) -> Table:
    table = _table(result.streams, client, elapsed)
    table.title = plain(f"ingest run {result.run_id}: {result.status}")
    return table


def summary_json(result: IngestResult) -> str:
    return json.dumps(
        {
            "run_id": result.run_id,
            "status": str(result.status),
            "exit_code": result.exit_code,
            "streams": {n: {k: v for k, v in vars(r).items() if k != "name"} for n, r in result.streams.items()},
        }
    )


def simple_table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A plain rich table: a title, column names, rows as text."""
    table = Table(title=plain(title), title_justify="left")
    for c in columns:
        table.add_column(plain(c))
    for row in rows:
        table.add_row(*[plain(x) for x in row])
    return table

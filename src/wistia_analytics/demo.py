"""`make demo`: the main job end to end on the embedded default.

It always uses the built-in sandbox (a token in the environment is ignored here: `wistia-analytics ingest`
is the command for a real account) and writes to `LAKE_URI` (default `./lake`). Later stages (transform,
dashboard) join this function as they land.
"""

from __future__ import annotations

import time

from wistia_analytics.ingest.progress import ConsoleProgress, report_console, summary_table
from wistia_analytics.ingest.runner import IngestOptions
from wistia_analytics.ingest.service import run_ingest
from wistia_analytics.logs import configure_logging
from wistia_analytics.settings import REAL_API_URL, Settings


def run_demo(*, size: str) -> int:
    settings = Settings()
    out = report_console()
    if settings.wistia_api_token is not None:
        out.print("[yellow]demo runs on the built-in sandbox; WISTIA_API_TOKEN is ignored here[/yellow]")
    settings = settings.model_copy(
        update={"wistia_api_token": None, "wistia_api_url": REAL_API_URL, "sandbox_size": size}
    )
    configure_logging("text", "WARNING")
    out.print(f"[bold]1/1 ingest[/bold]: built-in sandbox ({size} account) -> Bronze in {settings.lake_uri}")
    started = time.monotonic()
    progress = ConsoleProgress()
    with progress:
        result, client = run_ingest(settings, IngestOptions(command="demo"), progress=progress)
    out.print(summary_table(result, client, time.monotonic() - started))
    out.print(f"Bronze, state and run records are under {settings.lake_uri}; run it again for an incremental run.")
    return result.exit_code

"""`make demo`: the main job end to end on the embedded default: sandbox -> Bronze -> Silver -> Gold.

It always uses the built-in sandbox (a token in the environment is ignored here: `wistia-analytics run` is
the command for a real account), fetches the sandbox account's whole history on the first run, and writes to
`LAKE_URI` (default `./lake`), then serves the dashboard on it.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from wistia_analytics.commands.console import ConsoleProgress, report_console, summary_table
from wistia_analytics.commands.transform import transform_table
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.lake.storage import Storage
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.pipeline.transform_stage import run_transform
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.sandbox import SIZES
from wistia_analytics.sandbox.payloads import SITE
from wistia_analytics.settings import REAL_API_URL, load_settings

DEMO_HOST = "127.0.0.1"


def run_demo(*, size: str, serve: bool = False, port: int = 8501) -> int:
    """The demo's exit code; a bad setting or a busy dashboard port is refused before the pipeline runs."""
    from wistia_analytics.dashboard.launcher import check_port_free

    settings = load_settings()
    storage = Storage.from_uri(settings.lake_uri)  # a bad LAKE_URI first: it is what the user set
    if serve:
        check_port_free(DEMO_HOST, port)  # then the port: not after minutes of pipeline
    storage.ensure_root()
    out = report_console()
    if settings.wistia_api_token is not None:
        out.print("[yellow]demo runs on the built-in sandbox; WISTIA_API_TOKEN is ignored here[/yellow]")
    settings = settings.model_copy(
        update={
            "wistia_api_token": None,
            "wistia_api_url": REAL_API_URL,
            "sandbox_size": size,
            "ingest_backfill_days": min(SIZES[size].history_days, 730),
            "channel_site_hosts": urlsplit(SITE).hostname or "",
        }
    )
    configure_logging("text", "WARNING")
    out.print(f"[bold]1/2 ingest[/bold]: built-in sandbox ({size} account) -> Bronze in {escape(storage.uri(''))}")
    started = time.monotonic()
    progress = ConsoleProgress()
    with progress:
        result, client = run_ingest(
            settings,
            IngestOptions(command="demo ingest"),
            storage=storage,
            progress=progress,
            embedded=open_embedded_sandbox,
        )
    out.print(summary_table(result, client, time.monotonic() - started))
    if result.exit_code not in (ExitCode.OK, ExitCode.PARTIAL):
        return result.exit_code
    out.print("[bold]2/2 transform[/bold]: Bronze -> Silver -> Gold (DuckDB)")
    transformed = run_transform(settings, storage=storage, command="demo transform")
    if transformed.mode == "noop":
        out.print("no new Bronze: Silver and Gold are up to date")
    else:
        out.print(transform_table(transformed))
    con, manifests = open_catalog(storage)
    if "gold_account_daily" in manifests:
        plays, loads, hours = con.execute(
            "SELECT sum(plays), sum(loads), sum(watch_time_seconds) / 3600 FROM gold.account_daily"
        ).fetchone() or (0, 0, 0)
        out.print(f"Gold: {plays:,} plays, {loads:,} loads, {hours:,.0f} hours watched. Try:")
        out.print('  .venv/bin/wistia-analytics query "select * from gold.media_daily order by plays desc limit 5"')
        out.print("  .venv/bin/wistia-analytics status")
    con.close()
    code = transformed.exit_code or result.exit_code
    if serve and code in (ExitCode.OK, ExitCode.PARTIAL):
        return _serve_dashboard(settings.lake_uri, port, out) or code
    return code


def _serve_dashboard(lake_uri: str, port: int, out: Console) -> int:
    """The last step of the demo: the dashboard over the lake just built, until Ctrl-C or SIGTERM."""
    from wistia_analytics.dashboard.launcher import run_dashboard

    def ready(address: str) -> None:
        out.print(f"[bold]Dashboard:[/bold] {escape(address)}  (Ctrl-C to stop)")

    return run_dashboard(DEMO_HOST, port, lake_uri, on_ready=ready)

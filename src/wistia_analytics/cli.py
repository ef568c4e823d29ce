"""The `wistia-analytics` command line. Each command is a thin shell over the package's modules."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import date
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from wistia_analytics import __version__
from wistia_analytics.contracts.sandbox_api import DEFAULT_PORT, DEFAULT_TOKEN
from wistia_analytics.errors import ExitCode, WistiaAnalyticsError
from wistia_analytics.sandbox.config import ALL_FAULT_KINDS, SIZES, SandboxConfig
from wistia_analytics.sandbox.corruption import ALL_BAD_RECORD_KINDS

# Every fault kind a user may pick: the default mix plus the modern API's own 503 (off by default, so the v1
# fault campaigns stay as they were).
PICKABLE_FAULT_KINDS = (*ALL_FAULT_KINDS, "analytics_503")
MODERN_ACCESS = ("full", "forbidden", "absent")


class _ExplainingGroup(TyperGroup):
    """Every error a command lets through becomes one line on stderr and its own exit code.

    Ours (`WistiaAnalyticsError`) say what is wrong and what to do; anything else is a bug, shown as one line
    that asks for `--debug`. With `--debug` the error propagates unchanged, traceback and all.
    """

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        from wistia_analytics.commands.error_report import debugging, error_line

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.TyperException, typer.Abort):  # typer's own: usage errors, exits
            raise
        except WistiaAnalyticsError as exc:
            if debugging():
                raise
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except Exception as exc:
            if debugging():
                raise
            message = " ".join(str(exc).split())[:300]
            typer.echo(f"internal error: {type(exc).__name__}: {message}", err=True)
            typer.echo("this is a bug: run the command again with --debug for the traceback, and report it", err=True)
            raise typer.Exit(int(ExitCode.FAILURE)) from None


# `ingest` and `run` share the run deadline's option.
MaxDuration = Annotated[
    float | None,
    typer.Option(
        "--max-duration",
        min=0,
        help="Stop starting new work after SECONDS, keep what is durable, exit 5 (incomplete); "
        "the next call continues.",
    ),
]

app = typer.Typer(
    name="wistia-analytics",
    help="Wistia video-engagement analytics: API -> Bronze/Silver/Gold lake -> dashboard.",
    cls=_ExplainingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error instead of one line.")
    ] = False,
) -> None:
    """Wistia video-engagement analytics: API -> Bronze/Silver/Gold lake -> dashboard."""
    from wistia_analytics.commands.error_report import set_debug

    set_debug(debug)


def _args_after(command: str) -> list[str]:
    """The command line's arguments after the command's name (global options such as --debug come before it)."""
    argv = sys.argv[1:]
    return argv[argv.index(command) + 1 :] if command in argv else argv


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param_hint=option) from None


def _kinds(value: str, known: tuple[str, ...], what: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown {what} {unknown}; choose from {', '.join(known)}")
    return kinds


def _fraction(value: float, option: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise typer.BadParameter("must be between 0 and 1", param_hint=option)
    return value


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = DEFAULT_PORT,
    token: Annotated[str, typer.Option(help="The one bearer token the sandbox accepts.")] = DEFAULT_TOKEN,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic account: same seed, same data.")] = 42,
    size: Annotated[str, typer.Option(help="Account size: tiny, small, medium or large.")] = "small",
    today: Annotated[
        str | None, typer.Option(help="Pin the sandbox's date (YYYY-MM-DD; the clock then reads 12:00 UTC).")
    ] = None,
    rate_limit: Annotated[
        int,
        typer.Option("--rate-limit", help="Requests per minute per token (sliding 60 s window); 0 = off."),
    ] = 600,
    rate_limit_status: Annotated[int, typer.Option(help="Status when throttling: 429 or 503.")] = 429,
    faults: Annotated[float, typer.Option(help="Fraction of requests answered with an injected fault.")] = 0.0,
    fault_kinds: Annotated[
        str, typer.Option(help=f"Comma-separated fault kinds to draw from: {','.join(PICKABLE_FAULT_KINDS)}.")
    ] = ",".join(ALL_FAULT_KINDS),
    modern_access: Annotated[
        str,
        typer.Option(
            help="The modern analytics API: full, forbidden (403: a token without Read detailed stats) or absent (404)."
        ),
    ] = "full",
    fault_timeout_seconds: Annotated[float, typer.Option(help="How long a 'timeout' fault stalls.")] = 20.0,
    fault_retry_after_seconds: Annotated[
        int, typer.Option(help="Retry-After of injected 429/503 answers, in seconds.")
    ] = 1,
    bad_records: Annotated[
        float, typer.Option(help="Fraction of events/visitors records served malformed (docs/sandbox.md).")
    ] = 0.0,
    bad_record_kinds: Annotated[
        str, typer.Option(help=f"Comma-separated bad-record kinds: {','.join(ALL_BAD_RECORD_KINDS)}.")
    ] = ",".join(ALL_BAD_RECORD_KINDS),
    bad_pages: Annotated[
        float, typer.Option(help="Fraction of list pages served as a 200 that is not JSON (retry-able).")
    ] = 0.0,
    late_fraction: Annotated[
        float, typer.Option(help="Share of sessions that show up 1-2 days after they happened.")
    ] = 0.03,
    history_start: Annotated[
        str | None,
        typer.Option(help="First day with data (YYYY-MM-DD); default: today minus the size's history."),
    ] = None,
    tick_seconds: Annotated[
        float,
        typer.Option(help="Advance the clock this much per request (new events arrive while you page)."),
    ] = 0.0,
    log_level: Annotated[str, typer.Option(help="Log level (INFO shows injected faults).")] = "WARNING",
) -> None:
    """Serve a deterministic synthetic Wistia account over the Wistia API v1 and modern analytics routes."""
    from wistia_analytics.sandbox.server import Sandbox

    if size not in SIZES:
        raise typer.BadParameter(f"choose from {', '.join(SIZES)}", param_hint="--size")
    if modern_access not in MODERN_ACCESS:
        raise typer.BadParameter(f"choose from {', '.join(MODERN_ACCESS)}", param_hint="--modern-access")
    if rate_limit_status not in (429, 503):
        raise typer.BadParameter("must be 429 or 503", param_hint="--rate-limit-status")
    for value, option in ((faults, "--faults"), (bad_records, "--bad-records"), (bad_pages, "--bad-pages")):
        _fraction(value, option)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SandboxConfig(
        seed=seed,
        size=size,  # type: ignore[arg-type]
        today=_parse_day(today, "--today"),
        history_start=_parse_day(history_start, "--history-start"),
        tick_seconds=tick_seconds,
        token=token,
        rate_limit_per_minute=rate_limit,
        rate_limit_status=rate_limit_status,
        faults=faults,
        fault_kinds=_kinds(fault_kinds, PICKABLE_FAULT_KINDS, "fault kinds"),  # type: ignore[arg-type]
        modern_access=modern_access,  # type: ignore[arg-type]
        fault_timeout_seconds=fault_timeout_seconds,
        fault_retry_after_seconds=fault_retry_after_seconds,
        bad_records=bad_records,
        bad_record_kinds=_kinds(bad_record_kinds, ALL_BAD_RECORD_KINDS, "bad-record kinds"),  # type: ignore[arg-type]
        bad_pages=bad_pages,
        late_fraction=late_fraction,
    )
    try:
        server = Sandbox(config, host=host, port=port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(int(ExitCode.CONFIG)) from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    shown = token if token == DEFAULT_TOKEN else "<the value given to --token>"
    typer.echo(
        f"Sandbox ready: {config.profile.name} account, seed {seed}, {len(server.account.catalog.medias)} medias"
    )
    typer.echo(f"WISTIA_API_URL={server.base_url}")
    typer.echo(f"WISTIA_API_TOKEN={shown}")
    typer.echo(f"# modern analytics API at {server.modern_url} (derived from WISTIA_API_URL)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


@app.command()
def ingest(
    since: Annotated[
        str | None, typer.Option(help="Backfill from this UTC day (YYYY-MM-DD); watermarks never move back.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Backfill up to this UTC day (YYYY-MM-DD), inclusive.")] = None,
    streams: Annotated[
        list[str] | None,
        typer.Option("--streams", help="Only these streams (repeat the option); default: all."),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Ignore stored watermarks and fetch the full history again."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be fetched; write nothing.")] = False,
    today: Annotated[
        str | None, typer.Option(help="The run's UTC date (default: now); match a sandbox's --today.")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's lake lock.")] = 0.0,
    max_duration: MaxDuration = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="text or json (default: LOG_FORMAT).")] = None,
) -> None:
    """Pull every stream from the Wistia API (or the sandbox) into Bronze, incrementally."""
    from wistia_analytics.commands.ingest import ingest_command
    from wistia_analytics.ingest.ingestor import IngestOptions

    names = [n for item in streams or [] for n in item.split(",") if n]
    options = IngestOptions(
        streams=names or None,
        since=_parse_day(since, "--since"),
        until=_parse_day(until, "--until"),
        full_refresh=full_refresh,
        dry_run=dry_run,
        today=_parse_day(today, "--today"),
        lock_wait_seconds=wait,
        command=" ".join(["ingest", *_args_after("ingest")]),
        max_duration=max_duration,
    )
    raise typer.Exit(ingest_command(options, log_format))


@app.command()
def transform(
    full_rebuild: Annotated[
        bool, typer.Option("--full-rebuild", help="Recompute every table from all of Bronze (same result).")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="Engine: duckdb (embedded) or spark (PySpark local mode; needs Java 17).")
    ] = "duckdb",
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's lake lock.")] = 0.0,
) -> None:
    """Build Silver and Gold from Bronze (incremental unless --full-rebuild), checked before publishing."""
    from wistia_analytics.commands.transform import transform_command

    raise typer.Exit(transform_command(full_rebuild=full_rebuild, engine=engine, wait=wait))


@app.command()
def run(
    full_rebuild: Annotated[bool, typer.Option("--full-rebuild", help="Rebuild Silver and Gold fully.")] = False,
    today: Annotated[str | None, typer.Option(help="The run's UTC date (default: now).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another run's lake lock.")] = 0.0,
    engine: Annotated[
        str, typer.Option(help="Transform engine: duckdb (embedded) or spark (PySpark local mode; needs Java 17).")
    ] = "duckdb",
    max_duration: MaxDuration = None,
) -> None:
    """Ingest, then transform: the whole pipeline once."""
    from wistia_analytics.commands.run import run_with_alerts_command

    day = _parse_day(today, "--today")
    raise typer.Exit(
        run_with_alerts_command(
            full_rebuild=full_rebuild, today=day, wait=wait, engine=engine, max_duration=max_duration
        )
    )


@app.command()
def schedule(
    every: Annotated[
        str,
        typer.Option(help="Interval: 15m, 1h, 6h, 1d, 1h30m... Ticks fall on UTC multiples of it; the first at start."),
    ] = "1h",
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit with its code (for cron).")] = False,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Stop after this many ticks (a skipped tick counts).")
    ] = None,
    today: Annotated[str | None, typer.Option(help="Every run's UTC date (default: now); match a sandbox's.")] = None,
    engine: Annotated[str, typer.Option(help="Transform engine, as for `run`: duckdb or spark.")] = "duckdb",
) -> None:
    """Run the pipeline (what `run` does) every interval on this machine: never two at once, alerts after each."""
    from wistia_analytics.commands.schedule import schedule_command
    from wistia_analytics.pipeline.scheduler import parse_interval

    try:
        interval = parse_interval(every)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from None
    ticks = 1 if once else max_runs
    raise typer.Exit(
        schedule_command(every=interval, max_ticks=ticks, today=_parse_day(today, "--today"), engine=engine)
    )


@app.command()
def status(
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also check every file of every published table (present, Parquet footer readable, manifest "
            "parses); exit 3 when damage is found.",
        ),
    ] = False,
) -> None:
    """Watermarks, last runs, row counts, freshness, quarantine counts and reconciliation drift."""
    from wistia_analytics.commands.status import status_command

    raise typer.Exit(status_command(output, verify=verify))


@app.command()
def query(
    sql: Annotated[
        str, typer.Argument(help="SQL over the schemas silver and gold, e.g. 'select * from gold.media_daily'.")
    ],
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Ad-hoc SQL over the current published tables (schemas `silver` and `gold`)."""
    from wistia_analytics.commands.query import query_command

    raise typer.Exit(query_command(sql, output))


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
) -> None:
    """Serve the Streamlit dashboard over the lake's Gold tables (LAKE_URI)."""
    from wistia_analytics.commands.dashboard import dashboard_command

    raise typer.Exit(dashboard_command(host, port))


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="Built-in sandbox account size: tiny, small or large.")] = "small",
    serve: Annotated[bool, typer.Option(help="End by serving the dashboard until Ctrl-C.")] = True,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8501,
) -> None:
    """Run the main job end to end on the embedded default: sandbox -> lake -> dashboard."""
    from wistia_analytics.commands.demo import run_demo

    if size not in SIZES:
        raise typer.BadParameter(f"choose from {', '.join(SIZES)}", param_hint="--size")
    raise typer.Exit(run_demo(size=size, serve=serve, port=port))


def main() -> None:
    """Console-script entry point."""
    app()

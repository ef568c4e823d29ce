"""`wistia-analytics transform`: Bronze -> Silver -> Gold, and the table of what each model wrote."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from wistia_analytics.commands.console import report_console
from wistia_analytics.lake.lock import LakeLockedError
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.transform_stage import run_transform
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult
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

"""`wistia-analytics transform`: Bronze -> Silver -> Gold, and the table of what each model wrote."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from wistia_analytics.commands.console import plain, report_console
from wistia_analytics.commands.error_report import report_error
from wistia_analytics.commands.lake_access import existing_lake
from wistia_analytics.errors import ExitCode, WistiaAnalyticsError
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.transform_stage import check_engine, run_transform
from wistia_analytics.settings import Settings, load_settings
from wistia_analytics.transform.build import TransformResult


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
            *map(
                plain,
                (
                    m.name,
                    f"{m.rows:,}",
                    str(m.partitions_written),
                    str(m.quarantined),
                    f"{m.seconds:.2f}",
                    "ok" if not failed else "FAILED: " + "; ".join(failed),
                ),
            )
        )
    table.caption = (
        f"quarantined this run: {sum(result.quarantined.values())}; reconciliation rows with drift: {result.drift_rows}"
    )
    modern = modern_drift_text(result.modern_drift_rows, result.modern_checked)
    if modern:
        table.caption += "\n" + modern
    return table


def modern_drift_text(drifted: int, checked: int) -> str | None:
    """Wistia's modern analytics against v1 by_date, in words; None when nothing was compared (not ingested)."""
    if not checked:
        return None
    if not drifted:
        return f"modern API: no drift ({checked:,} media-days checked)"
    return f"modern API: {drifted:,} of {checked:,} media-days drift from v1 by_date"


def transform_command(*, full_rebuild: bool, engine: str, wait: float, settings: Settings | None = None) -> int:
    """Run one transform; its exit code (every error of ours shown as one line on stderr)."""
    try:
        return _transform(full_rebuild=full_rebuild, engine=engine, wait=wait, settings=settings)
    except WistiaAnalyticsError as exc:
        return report_error(exc)


def _transform(*, full_rebuild: bool, engine: str, wait: float, settings: Settings | None) -> int:
    settings = settings or load_settings()
    check_engine(engine)
    storage = existing_lake(settings)  # before the engine starts: an empty lake is refused, not "transformed"
    configure_logging(settings.log_format, "WARNING")
    err = report_console(stderr=True)
    result = run_transform(settings, full_rebuild=full_rebuild, engine=engine, storage=storage, lock_wait_seconds=wait)
    if result.mode == "noop":
        report_console().print("transform: no new Bronze files; every table is up to date")
        return int(ExitCode.OK)
    report_console().print(transform_table(result))
    if result.error:
        err.print(f"[red]{escape(result.error)}[/red]")
    return result.exit_code

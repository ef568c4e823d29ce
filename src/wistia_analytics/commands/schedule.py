"""`wistia-analytics schedule`: the one-machine scheduler looping the very function `run` calls."""

from __future__ import annotations

from datetime import date, timedelta

from wistia_analytics.commands.lake_access import writable_lake
from wistia_analytics.commands.run import run_command
from wistia_analytics.logs import configure_logging
from wistia_analytics.pipeline.alerts import known_secrets
from wistia_analytics.pipeline.scheduler import Scheduler, describe_interval, finishing_on_signal
from wistia_analytics.settings import load_settings


def schedule_command(*, every: timedelta, max_ticks: int | None, today: date | None, engine: str = "duckdb") -> int:
    """The `schedule` command: settings, logging, signals, then the loop; exit codes as `run`'s."""
    settings = load_settings()
    writable_lake(settings)  # a bad LAKE_URI is refused now, not at the first tick
    level = "INFO" if settings.log_format == "json" else "WARNING"
    configure_logging(settings.log_format, level, secrets=known_secrets(settings))
    scheduler = Scheduler(
        settings,
        lambda: run_command(full_rebuild=False, today=today, wait=0.0, engine=engine),
        every=every,
        max_ticks=max_ticks,
        echo=lambda text: print(text, flush=True),
    )
    with finishing_on_signal(scheduler.stop):
        if max_ticks != 1:
            alerting = "alerts to ALERT_WEBHOOK_URL" if settings.alert_webhook_url else "no ALERT_WEBHOOK_URL set"
            print(
                f"schedule: `run` every {describe_interval(every)} on lake {scheduler.storage.uri('')}, aligned to "
                f"UTC multiples of the interval; {alerting}; Ctrl-C finishes the current run and stops",
                flush=True,
            )
        return scheduler.loop()

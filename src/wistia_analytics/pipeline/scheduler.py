"""`wistia-analytics schedule`: the pipeline every interval on one machine, for users without a cloud account.

Each tick runs exactly what `wistia-analytics run` runs (`commands.run.run_command`, so the same run records),
then the alerting hook (`pipeline.alerts.after_run`). Ticks are aligned on multiples of the interval since the
Unix epoch in UTC (``--every 1h`` runs at every full hour, ``1d`` at midnight UTC) so that restarts and several
machines agree on when runs happen; the first tick runs at start.

Runs never overlap, through the lake lock rather than a process-local guard, so a `run` started by hand or
from cron counts too: a tick that finds the lake held by a live run is skipped (one line says by whom), not
queued, and a run that outlasts its interval makes the scheduler skip the boundaries it missed. SIGINT and
SIGTERM let the current run finish (Bronze, state and tables stay consistent), then the loop exits with 0;
a second signal interrupts at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from wistia_analytics.errors import ExitCode
from wistia_analytics.lake.lock import LakeLock, LakeLockedError
from wistia_analytics.lake.runs import RunStatus, new_run_id
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso, utc_now
from wistia_analytics.pipeline.alerts import AlertOutcome, after_run, known_secrets, records_since
from wistia_analytics.redact import redact_text
from wistia_analytics.settings import Settings

log = logging.getLogger(__name__)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d+)([smhd])")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Worst first: the status a tick reports when its runs ended differently.
_SEVERITY = (RunStatus.FAILED, RunStatus.INCOMPLETE, RunStatus.PARTIAL, RunStatus.SUCCESS)

RunPipeline = Callable[[], int]


def parse_interval(text: str) -> timedelta:
    """``15m``, ``1h``, ``6h``, ``1d``, ``90s`` or combinations like ``1h30m``; at least one second."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _INTERVAL.sub("", compact):
        raise ValueError(f"{text!r} is not an interval; use a number and a unit s, m, h or d, e.g. 15m, 1h, 1d")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _INTERVAL.findall(compact))
    if seconds < 1:
        raise ValueError(f"{text!r}: the interval must be at least 1s")
    return timedelta(seconds=seconds)


def next_tick(now: datetime, every: timedelta) -> datetime:
    """The first multiple of `every` since the Unix epoch (UTC) strictly after `now`."""
    step = int(every.total_seconds())
    elapsed = (now - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=(elapsed // step + 1) * step)


def describe_interval(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    parts = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class Tick:
    """What one tick did: ran the pipeline (status from its run records) or skipped it."""

    number: int
    started_at: datetime
    status: str  # success | partial | failed | skipped
    exit_code: int
    seconds: float
    run_ids: list[str]
    alerts: AlertOutcome
    skipped_because: str | None = None

    def line(self, next_at: datetime | None) -> str:
        head = f"[{utc_iso(self.started_at.replace(microsecond=0))}] tick {self.number}: "
        if self.skipped_because:
            body = f"skipped, {self.skipped_because}"
        else:
            runs = ", ".join(self.run_ids) or "no run record"
            body = f"{self.status} (exit {self.exit_code}) in {self.seconds:.1f} s; runs {runs}"
        tail = f"; next tick {utc_iso(next_at)}" if next_at else ""
        return f"{head}{body}; {self.alerts.describe()}{tail}"

    def to_json(self, next_at: datetime | None) -> str:
        doc: dict[str, Any] = {
            "event": "schedule.tick",
            "tick": self.number,
            "started_at": utc_iso(self.started_at),
            "status": self.status,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "run_ids": self.run_ids,
            "skipped_because": self.skipped_because,
            "alerts": self.alerts.kinds,
            "alerts_posted": self.alerts.posted,
            "next_tick_at": utc_iso(next_at) if next_at else None,
        }
        return json.dumps(doc)


def lake_busy(storage: Storage) -> str | None:
    """Who holds the lake right now (None if nobody alive does), using the lake lock's own rules.

    Probing by taking the lock (and releasing it at once) reuses its staleness rules and takes over a dead
    run's lock, so the run that follows starts on a free lake.
    """
    probe = LakeLock(storage, new_run_id(utc_now()), "schedule (probe)")
    try:
        probe.acquire(wait_seconds=0.0)
    except LakeLockedError as exc:
        return f"lake busy: {exc.holder.describe()}" if exc.holder else "lake busy: its lock file is unreadable"
    probe.release()
    return None


class Scheduler:
    """The tick loop. `run_pipeline`, `clock` and `echo` are injectable; `stop` is set by signals."""

    def __init__(
        self,
        settings: Settings,
        run_pipeline: RunPipeline,
        *,
        every: timedelta,
        max_ticks: int | None = None,
        clock: Callable[[], datetime] = utc_now,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.storage = Storage.from_uri(settings.lake_uri)
        self.run_pipeline = run_pipeline
        self.every = every
        self.max_ticks = max_ticks
        self.clock = clock
        self.echo = echo
        self.stop = threading.Event()

    def tick(self, number: int) -> Tick:
        """One tick: skip if the lake is held, else run the pipeline once; then the alerting hook."""
        started_at = self.clock()
        t0 = time.monotonic()
        busy = lake_busy(self.storage)
        code = int(ExitCode.OK)
        if busy is None:
            code = self._run_guarded(number)
        records = records_since(self.storage, started_at)
        if busy is None and not records and code == int(ExitCode.UNAVAILABLE):
            busy = "lake busy: another run took the lock first"  # lost the race after the probe
        if busy is not None:
            alerts = after_run(self.settings, self.storage, since=started_at)
            return Tick(number, started_at, "skipped", int(ExitCode.OK), time.monotonic() - t0, [], alerts, busy)
        alerts = after_run(self.settings, self.storage, since=started_at, exit_code=code)
        statuses = {r.status for r in records}
        status = next((str(s) for s in _SEVERITY if s in statuses), "failed" if code else "success")
        run_ids = [r.run_id for r in records]
        return Tick(number, started_at, status, code, time.monotonic() - t0, run_ids, alerts)

    def _run_guarded(self, number: int) -> int:
        """Run the pipeline; an unexpected error fails this tick (exit 1, alerted), not the scheduler."""
        try:
            return self.run_pipeline()
        except Exception as exc:
            reason = redact_text(f"{type(exc).__name__}: {exc}", known_secrets(self.settings))
            log.error("tick %d: the run raised %s", number, reason)
            return int(ExitCode.FAILURE)

    def loop(self) -> int:
        """Tick until `max_ticks` or a stop signal; the last tick's exit code, or 0 when stopped by a signal."""
        number, code = 0, int(ExitCode.OK)
        while True:
            number += 1
            result = self.tick(number)
            code = result.exit_code
            last = self.max_ticks is not None and number >= self.max_ticks
            done = last or self.stop.is_set()
            now = self.clock()
            next_at = None if done else next_tick(now, self.every)
            self._report(result, next_at)
            if next_at is None:
                break
            missed = (next_at - next_tick(result.started_at, self.every)) // self.every  # boundaries it ran across
            if missed:
                log.warning(
                    "the run took longer than %s: %d tick(s) skipped, not queued", describe_interval(self.every), missed
                )
            if self._sleep_until(next_at):
                break
        if self.stop.is_set():
            self.echo(f"schedule: stopped by signal after tick {number}")
            return int(ExitCode.OK)
        return code

    def _sleep_until(self, moment: datetime) -> bool:
        """Wait for the wall clock to reach `moment` (waits run on the monotonic clock); True if stopped first."""
        while (remaining := (moment - self.clock()).total_seconds()) > 0:
            if self.stop.wait(remaining):
                return True
        return self.stop.is_set()

    def _report(self, result: Tick, next_at: datetime | None) -> None:
        text = result.to_json(next_at) if self.settings.log_format == "json" else result.line(next_at)
        self.echo(text)


@contextlib.contextmanager
def finishing_on_signal(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` (the current run goes on); a second one interrupts as usual."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

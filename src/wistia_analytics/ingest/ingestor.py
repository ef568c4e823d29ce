"""One ingestion run: lock the lake, pull each stream into Bronze, move watermarks, record the run.

Ordering is what makes a crash at any point safe: Bronze files are written (atomically) first, and a
watermark is committed only for windows whose files are all durable. A run killed in between leaves a
watermark behind its data, so the next run fetches that window again; Silver removes the duplicates by key.
How each stream is fetched is its load mode's class (`load_modes.py`); this module only runs them in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from wistia_analytics.contracts.streams import (
    ANALYTICS_STREAMS,
    STREAMS_BY_NAME,
    TRAFFIC_DIMENSIONS,
    Stream,
    select_streams,
)
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.analytics_access import AccessProblem, probe_analytics
from wistia_analytics.ingest.analytics_plan import AnalyticsPlan
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.load_modes import loader_for
from wistia_analytics.ingest.progress import NullProgress, ProgressSink, StreamReport
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import BronzeWriter, list_bronze_files_of_runs, read_bronze_file
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.runs import (
    RunRecord,
    RunStatus,
    finish_run,
    latest_runs,
    new_run_id,
    save_run,
    start_run,
)
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.wistia.api_errors import AnalyticsAccessError, FatalConfigError, WistiaError
from wistia_analytics.wistia.client import WistiaClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    streams: list[str] | None = None
    since: date | None = None
    until: date | None = None
    full_refresh: bool = False
    dry_run: bool = False
    today: date | None = None  # the run's UTC date; default: now
    lock_wait_seconds: float = 0.0
    command: str = "ingest"
    # The run's deadline in seconds from when it holds the lake (None: unbounded). When it passes, no new page,
    # day, media or stream starts; what is durable is committed and the run ends `incomplete` (exit 5).
    max_duration: float | None = None
    # Wistia's modern analytics (INGEST_ANALYTICS, INGEST_ANALYTICS_BACKFILL_DAYS, INGEST_TRAFFIC_DIMENSIONS;
    # `run_ingest` fills them from the settings). `analytics=False` leaves those streams out of the default set.
    analytics: bool = True
    analytics_backfill_days: int = 30
    traffic_dimensions: tuple[str, ...] = TRAFFIC_DIMENSIONS


@dataclass
class IngestResult:
    run_id: str
    status: RunStatus
    exit_code: int
    streams: dict[str, StreamReport]
    record: RunRecord | None
    plan: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """False when the run stopped at its deadline with work left (call again to continue)."""
        return self.status is not RunStatus.INCOMPLETE


class Ingestor:
    """Runs the streams of one ingestion; one instance per run."""

    def __init__(
        self,
        storage: Storage,
        client: WistiaClient,
        options: IngestOptions,
        *,
        policy: WindowPolicy | None = None,
        concurrency: int = 4,
        progress: ProgressSink | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        source_kind: str = "wistia",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.client = client
        self.options = options
        self.policy = policy or WindowPolicy()
        self.concurrency = concurrency
        self.progress = progress or NullProgress()
        self.now = now
        self.source_kind = source_kind
        self.state = StateStore(storage)
        self.today = options.today or now().date()
        self.reports: dict[str, StreamReport] = {}
        self.carried: dict[str, str] = {}
        self.access: AccessProblem | None = None
        self.chain: list[str] = []  # the earlier bounded calls of the same work this run continues
        self._probed = False
        self.ctx = LoadContext(
            client=client,
            state=self.state,
            policy=self.policy,
            today=self.today,
            since=options.since,
            until=options.until,
            full_refresh=options.full_refresh,
            concurrency=concurrency,
            progress=self.progress,
            now=now,
            clock=clock,
            analytics=AnalyticsPlan(options.traffic_dimensions),
            analytics_policy=WindowPolicy(self.policy.lookback_days, options.analytics_backfill_days),
        )

    # ---- the run ----------------------------------------------------------------------------------
    def run(self) -> IngestResult:
        streams = select_streams(self.options.streams, analytics=self.options.analytics)
        self.reports = {s.name: StreamReport(s.name) for s in streams}
        if self.options.dry_run:
            plan = self.plan(streams)
            return IngestResult("dry-run", RunStatus.SUCCESS, int(ExitCode.OK), self.reports, None, plan)
        started = self.now()
        run_id = new_run_id(started)
        with holding_lake(self.storage, run_id, self.options.command, wait_seconds=self.options.lock_wait_seconds):
            record = start_run(self.storage, run_id, self.options.command, started)
            self.ctx.record = record
            record.extra["source"] = self.source_kind
            # started_at counts any wait for the lock; this is when the run actually had the lake to itself.
            record.extra["lock_acquired_at"] = utc_iso(self.now())
            record.extra["today"] = self.today.isoformat()
            if self.options.max_duration is not None:
                self.ctx.deadline = self.ctx.clock() + max(self.options.max_duration, 0.0)
                record.extra["max_duration_seconds"] = self.options.max_duration
            self.carried = self._carried_over()
            if any(s.analytics for s in streams):
                self._restore_plan()
            writer = BronzeWriter(self.storage, run_id, started)
            try:
                fatal = self._load_all(streams, writer)
            except BaseException as exc:  # a bug: the record must not stay `running`; the lock is released
                record.add_error(f"unexpected {type(exc).__name__}: {exc}")
                self._finish(record, RunStatus.FAILED)
                raise
            status, code = self._outcome(fatal)
            if status is RunStatus.INCOMPLETE:
                record.extra["position"] = {
                    "stopped": sorted(self.ctx.stopped),
                    "not_started": [n for n, r in self.reports.items() if r.status == "pending"],
                    "done": sorted(
                        n for n, r in self.reports.items() if r.status in ("done", "partial") and n not in self.carried
                    ),
                    "work": self._work_key(),
                    "carried": self.carried,
                    "chain": [*self.chain, run_id],
                    **self.ctx.resumed,  # kept for a stream this call did not reach
                    **self.ctx.positions,
                }
            self._finish(record, status)
            return IngestResult(run_id, status, code, self.reports, record)

    def _load_all(self, streams: list[Stream], writer: BronzeWriter) -> BaseException | None:
        """Each stream in order; the fatal error that stopped the run, if any."""
        for stream in streams:
            report = self.reports[stream.name]
            if stream.name in self.carried:  # finished by the incomplete call this one continues
                report.status = "done"
                report.windows.append(f"done by run {self.carried[stream.name]}")
                continue
            if self.ctx.out_of_time():  # stays `pending`: the next run fetches it
                self.ctx.stopped.add(stream.name)
                continue
            if stream.analytics and self._analytics_blocked(report):
                continue
            report.status = "running"
            try:
                loader_for(stream, self.ctx).load(stream, writer, report)
                if stream.name in self.ctx.stopped:
                    report.status = "incomplete"
                else:
                    report.status = "partial" if report.errors or report.skipped else "done"
            except AnalyticsAccessError as exc:  # a 403 after the probe passed: the same verdict, one line
                self._block_analytics(AccessProblem("skipped", f"analytics streams skipped: {exc}"))
                self._analytics_blocked(report)
            except FatalConfigError as exc:
                report.status = "failed"
                self.ctx.error(report, str(exc))
                return exc
            except (WistiaError, OSError) as exc:
                report.status = "failed"
                self.ctx.error(report, f"{type(exc).__name__}: {exc}")
            self.ctx.show(report)
            self._checkpoint()
        return None

    # ---- the modern analytics' access ---------------------------------------------------------------------
    def _analytics_blocked(self, report: StreamReport) -> bool:
        """Probe once, before the first analytics stream; True (and `report` marked) when they cannot run."""
        if not self._probed:
            self._probed = True
            problem = probe_analytics(self.ctx)
            if problem is not None:
                self._block_analytics(problem)
        if self.access is None:
            return False
        report.status = self.access.status
        report.windows.append(  # short: the one line with the reason is the run's error (and stderr)
            "no access to the modern analytics" if self.access.status == "skipped" else "modern analytics unavailable"
        )
        self.ctx.show(report)
        return True

    def _block_analytics(self, problem: AccessProblem) -> None:
        """Record the one line saying why the analytics streams do not run (run record, log, console)."""
        if self.access is not None:
            return
        self._probed = True
        self.access = problem
        log.warning("%s", problem.reason)
        if self.ctx.record is not None:
            with self.ctx.lock:
                self.ctx.record.add_error(problem.reason)
                self.ctx.record.extra["analytics_access"] = {"status": problem.status, "reason": problem.reason}

    def _work_key(self) -> dict[str, Any]:
        """What identifies "the same work" across the calls that continue each other."""
        o = self.options
        return {
            "today": self.today.isoformat(),
            "streams": sorted(o.streams or []),
            "since": str(o.since),
            "until": str(o.until),
            "full_refresh": o.full_refresh,
            "analytics": o.analytics,
        }

    def _carried_over(self) -> dict[str, str]:
        """Streams already finished by the incomplete call(s) this run continues: stream -> the run that did it.

        Only when the newest ingestion stopped at its deadline doing the same work (same day, streams and
        backfill): the per-media snapshots it finished are not fetched again, so repeated bounded calls converge.
        The analytics streams it stopped in continue after the days each media finished (`ctx.resumed`).
        """
        for record in latest_runs(self.storage, 5):
            if record.run_id == (self.ctx.record.run_id if self.ctx.record else None):
                continue
            if not isinstance(record.extra.get("streams"), dict) and record.status is not RunStatus.INCOMPLETE:
                continue  # not an ingestion (a transform, a lock-only record)
            position = record.extra.get("position") or {}
            if record.status is not RunStatus.INCOMPLETE or position.get("work") != self._work_key():
                return {}
            carried = dict(position.get("carried") or {})
            carried.update({name: record.run_id for name in position.get("done") or []})
            self.chain = [str(r) for r in position.get("chain") or [record.run_id]]
            self.ctx.resumed = {
                s.name: position[s.name] for s in ANALYTICS_STREAMS if isinstance(position.get(s.name), dict)
            }
            return carried
        return {}

    def _restore_plan(self) -> None:
        """The planner reads what the earlier calls of this work fetched (by_date, timeseries) from their Bronze."""
        for stream in ("media_daily_stats", "media_analytics_daily"):
            paths = list_bronze_files_of_runs(self.storage, stream, self.chain)
            lines = (line for path in paths for line in read_bronze_file(self.storage, path))
            self.ctx.analytics.note_bronze(stream, lines)

    def _outcome(self, fatal: BaseException | None) -> tuple[RunStatus, int]:
        """Failed beats incomplete beats partial (docs/ingestion.md, "Outcomes").

        A core stream (`Stream.core`) that failed, or fetched nothing while every attempt it made failed, fails
        the run: an API that is down must never read as a partial success.
        """
        if fatal is not None:
            return RunStatus.FAILED, int(ExitCode.CONFIG)
        reports = self.reports
        statuses = [r.status for r in reports.values()]
        core_lost = [
            name
            for name, r in reports.items()
            if STREAMS_BY_NAME[name].core and (r.status == "failed" or (r.errors and not r.records))
        ]
        if core_lost or all(s == "failed" for s in statuses):
            if self.ctx.record is not None and core_lost:
                self.ctx.record.extra["core_streams_lost"] = core_lost
            return RunStatus.FAILED, int(ExitCode.UNAVAILABLE)
        if self.ctx.stopped:
            return RunStatus.INCOMPLETE, int(ExitCode.INCOMPLETE)
        if any(s in ("failed", "partial", "skipped") for s in statuses):
            return RunStatus.PARTIAL, int(ExitCode.PARTIAL)
        return RunStatus.SUCCESS, int(ExitCode.OK)

    def _finish(self, record: RunRecord, status: RunStatus) -> None:
        stats = self.client.stats
        record.requests, record.retries, record.throttled = stats.requests, stats.retries, stats.throttled
        record.extra["streams"] = {
            name: {k: v for k, v in vars(r).items() if k != "name"} for name, r in self.reports.items()
        }
        record.extra["faults"] = dict(stats.snapshot().faults)
        if any(STREAMS_BY_NAME[name].analytics for name in self.reports):
            client = self.client
            record.extra["modern_api"] = {
                "url": client.modern_url,
                "version_requested": client.api_version,
                "version_served": client.served_api_version,  # the release that answered (None: never asked)
                "timeseries_fetched_to_plan": self.ctx.analytics.learnt,
            }
        finish_run(self.storage, record, status, self.now())

    def _checkpoint(self) -> None:
        record = self.ctx.record
        if record is not None:
            with self.ctx.lock:
                record.requests = self.client.stats.requests
                save_run(self.storage, record)

    # ---- dry run ----------------------------------------------------------------------------------
    def plan(self, streams: list[Stream]) -> list[str]:
        """What a run would fetch, stream by stream; reads the media list (and, for the analytics streams, the
        daily timeseries of each media, to know its media-days with loads), writes nothing."""
        lines = []
        for stream in streams:
            report = self.reports[stream.name]
            if stream.analytics and self._analytics_blocked(report):
                lines.append(f"{stream.name}: {report.status}, nothing to plan")
                continue
            try:
                lines.append(loader_for(stream, self.ctx).plan(stream))
            except AnalyticsAccessError as exc:
                self._block_analytics(AccessProblem("skipped", f"analytics streams skipped: {exc}"))
                lines.append(f"{stream.name}: skipped, nothing to plan")
        if self.access is not None:
            lines.append(self.access.reason)  # once, for every analytics stream
        elif any(s.analytics for s in streams):
            fetched = self.ctx.analytics.learnt
            lines.append(
                f"(to plan the per-day analytics this dry run fetched {fetched} daily timeseries: "
                f"{fetched} of the requests above were made now, for planning only; nothing was written)"
            )
        return lines

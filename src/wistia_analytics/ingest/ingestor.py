"""One ingestion run: lock the lake, pull each stream into Bronze, move watermarks, record the run.

Ordering is what makes a crash at any point safe: Bronze files are written (atomically) first, and a
watermark is committed only for windows whose files are all durable. A run killed in between leaves a
watermark behind its data, so the next run fetches that window again; Silver removes the duplicates by key.
How each stream is fetched is its load mode's class (`load_modes.py`); this module only runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from wistia_analytics.contracts.streams import Stream, select_streams
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.load_modes import loader_for
from wistia_analytics.ingest.progress import NullProgress, ProgressSink, StreamReport
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import BronzeWriter
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.runs import RunRecord, RunStatus, finish_run, new_run_id, save_run, start_run
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.wistia.api_errors import FatalConfigError, WistiaError
from wistia_analytics.wistia.client import WistiaClient


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


@dataclass
class IngestResult:
    run_id: str
    status: RunStatus
    exit_code: int
    streams: dict[str, StreamReport]
    record: RunRecord | None
    plan: list[str] = field(default_factory=list)


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
        )

    # ---- the run ----------------------------------------------------------------------------------
    def run(self) -> IngestResult:
        streams = select_streams(self.options.streams)
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
            writer = BronzeWriter(self.storage, run_id, started)
            fatal: BaseException | None = None
            for stream in streams:
                report = self.reports[stream.name]
                report.status = "running"
                try:
                    loader_for(stream, self.ctx).load(stream, writer, report)
                    report.status = "partial" if report.errors or report.skipped else "done"
                except FatalConfigError as exc:
                    report.status = "failed"
                    self.ctx.error(report, str(exc))
                    fatal = exc
                    break
                except (WistiaError, OSError) as exc:
                    report.status = "failed"
                    self.ctx.error(report, f"{type(exc).__name__}: {exc}")
                self.ctx.show(report)
                self._checkpoint()
            status, code = self._outcome(fatal)
            self._finish(record, status)
            return IngestResult(run_id, status, code, self.reports, record)

    def _outcome(self, fatal: BaseException | None) -> tuple[RunStatus, int]:
        if fatal is not None:
            return RunStatus.FAILED, int(ExitCode.CONFIG)
        statuses = [r.status for r in self.reports.values()]
        if all(s == "failed" for s in statuses):
            return RunStatus.FAILED, int(ExitCode.UNAVAILABLE)
        if any(s in ("failed", "partial") for s in statuses):
            return RunStatus.PARTIAL, int(ExitCode.PARTIAL)
        return RunStatus.SUCCESS, int(ExitCode.OK)

    def _finish(self, record: RunRecord, status: RunStatus) -> None:
        stats = self.client.stats
        record.requests, record.retries, record.throttled = stats.requests, stats.retries, stats.throttled
        record.extra["streams"] = {
            name: {k: v for k, v in vars(r).items() if k != "name"} for name, r in self.reports.items()
        }
        record.extra["faults"] = dict(stats.snapshot().faults)
        finish_run(self.storage, record, status, self.now())

    def _checkpoint(self) -> None:
        record = self.ctx.record
        if record is not None:
            with self.ctx.lock:
                record.requests = self.client.stats.requests
                save_run(self.storage, record)

    # ---- dry run ----------------------------------------------------------------------------------
    def plan(self, streams: list[Stream]) -> list[str]:
        """What a run would fetch, stream by stream; reads the media list, writes nothing."""
        return [loader_for(stream, self.ctx).plan(stream) for stream in streams]

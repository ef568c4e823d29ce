"""One ingestion run: lock the lake, pull each stream into Bronze, move watermarks, record the run.

Ordering is what makes a crash at any point safe: Bronze files are written (atomically) first, and a
watermark is committed only for windows whose files are all durable. A run killed in between leaves a
watermark behind its data, so the next run fetches that window again; Silver removes the duplicates by key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from wistia_analytics.contracts.streams import LoadMode, Stream, select_streams
from wistia_analytics.crashpoints import crash_point
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.windows import Window, WindowPolicy, events_floor
from wistia_analytics.lake.bronze import BronzeFile, BronzeWriter, Lineage
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.runs import RunRecord, RunStatus, finish_run, new_run_id, save_run, start_run
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.wistia.client import WistiaClient
from wistia_analytics.wistia.errors import (
    FatalConfigError,
    NotFoundError,
    RequestBugError,
    RetriesExhaustedError,
    WistiaError,
)
from wistia_analytics.wistia.parsing import parse_timestamp

log = logging.getLogger(__name__)
FLUSH_PAGES = 20  # pages buffered per Bronze file: bounds memory whatever the account size
FLUSH_OBJECTS = 100  # per-media objects (stats, curves, by_date series) per Bronze file
ALL_KEY = "__account__"  # watermark key of account-wide streams


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
class StreamReport:
    """What one stream did in this run (shown live and in the summary)."""

    name: str
    pages: int = 0
    records: int = 0
    files: int = 0
    skipped: int = 0
    errors: int = 0
    windows: list[str] = field(default_factory=list)
    status: str = "pending"


@dataclass
class IngestResult:
    run_id: str
    status: RunStatus
    exit_code: int
    streams: dict[str, StreamReport]
    record: RunRecord | None
    plan: list[str] = field(default_factory=list)


class ProgressSink(Protocol):
    """Receives live progress; the console shows it, tests ignore it."""

    def update(self, report: StreamReport, client: WistiaClient) -> None: ...


class _NullProgress:
    def update(self, report: StreamReport, client: WistiaClient) -> None:
        return None


class _Buffer:
    """Pages waiting to become one Bronze file; flushed by count, then on close."""

    def __init__(self, writer: BronzeWriter, stream: str, limit: int, on_file: Callable[[BronzeFile], None]) -> None:
        self.writer, self.stream, self.limit, self.on_file = writer, stream, limit, on_file
        self.pages: list[tuple[list[dict[str, Any]], Lineage]] = []
        self.lock = threading.Lock()

    def add(self, records: list[dict[str, Any]], lineage: Lineage) -> None:
        with self.lock:
            if records:
                self.pages.append((records, lineage))
            if len(self.pages) >= self.limit:
                self._flush()

    def flush(self) -> None:
        with self.lock:
            self._flush()

    def _flush(self) -> None:
        if self.pages:
            pages, self.pages = self.pages, []
            self.on_file(self.writer.write_pages(self.stream, pages))


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
        self.progress = progress or _NullProgress()
        self.now = now
        self.source_kind = source_kind
        self.state = StateStore(storage)
        self.today = options.today or now().date()
        self.reports: dict[str, StreamReport] = {}
        self._record_lock = threading.Lock()
        self._record: RunRecord | None = None
        self._medias: list[dict[str, Any]] | None = None
        self._events_committed: date | None = None  # the events watermark this run last committed

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
            self._record = record
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
                    self._run_stream(stream, writer, report)
                    report.status = "partial" if report.errors or report.skipped else "done"
                except FatalConfigError as exc:
                    report.status = "failed"
                    self._error(stream, str(exc))
                    fatal = exc
                    break
                except (WistiaError, OSError) as exc:
                    report.status = "failed"
                    self._error(stream, f"{type(exc).__name__}: {exc}")
                self.progress.update(report, self.client)
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
        if self._record is not None:
            with self._record_lock:
                self._record.requests = self.client.stats.requests
                save_run(self.storage, self._record)

    def _error(self, stream: Stream, message: str) -> None:
        self.reports[stream.name].errors += 1
        log.warning("%s: %s", stream.name, message)
        if self._record is not None:
            with self._record_lock:
                self._record.add_error(f"{stream.name}: {message}")

    def _on_file(self, stream: Stream) -> Callable[[BronzeFile], None]:
        def record_file(written: BronzeFile) -> None:
            report = self.reports[stream.name]
            with self._record_lock:
                report.files += 1
                if self._record is not None:
                    self._record.add_file(written)

        return record_file

    # ---- streams -----------------------------------------------------------------------------------
    def _run_stream(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        if stream.mode is LoadMode.SNAPSHOT:
            self._snapshot(stream, writer, report)
        elif stream.mode is LoadMode.PER_MEDIA_SNAPSHOT:
            self._per_media(stream, writer, report, lambda media: None)
        elif stream.mode is LoadMode.PER_MEDIA_BY_DATE:
            windows = {m["hashed_id"]: self._media_window(stream, m) for m in self.medias()}
            self._per_media(stream, writer, report, lambda media: windows[media["hashed_id"]])
        else:
            self._events(stream, writer, report)

    def _snapshot(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        buffer = _Buffer(writer, stream.name, FLUSH_PAGES, self._on_file(stream))
        records: list[dict[str, Any]] = []
        for page in self.client.paginate(stream.path):
            buffer.add(page.records, Lineage(page.path, page.params, page.number))
            report.pages += 1
            report.records += len(page.records)
            if stream.name == "medias":
                records.extend(page.records)
            self.progress.update(report, self.client)
        buffer.flush()
        if stream.name == "medias":
            self._medias = records
        self.state.commit(stream.name, {ALL_KEY: self.now().strftime("%Y-%m-%dT%H:%M:%SZ")}, writer.run_id)

    def medias(self) -> list[dict[str, Any]]:
        """The media list of this run (fetched once; from the medias stream when it ran)."""
        if self._medias is None:
            self._medias = [r for page in self.client.paginate("/medias.json") for r in page.records]
        return self._medias

    def _media_window(self, stream: Stream, media: dict[str, Any]) -> Window:
        stored = None if self.options.full_refresh else self.state.load(stream.name).get(media["hashed_id"])
        created = parse_timestamp(media.get("created"))
        return self.policy.window(
            watermark=date.fromisoformat(stored) if stored else None,
            today=self.today,
            since=self.options.since,
            until=self.options.until,
            floor=created.date() if created else None,
        )

    def _per_media(
        self,
        stream: Stream,
        writer: BronzeWriter,
        report: StreamReport,
        window_of: Callable[[dict[str, Any]], Window | None],
    ) -> None:
        """One request per media, run concurrently; by_date watermarks commit after each durable file."""
        buffer = _Buffer(writer, stream.name, FLUSH_OBJECTS, self._on_file(stream))
        pending_marks: dict[str, str] = {}
        marks_lock = threading.Lock()

        def fetch(media: dict[str, Any]) -> None:
            media_id = str(media["hashed_id"])
            window = window_of(media)
            params: dict[str, Any] = {}
            if window is not None:
                if window.empty:
                    return
                params = {"start_date": window.start.isoformat(), "end_date": window.end.isoformat()}
            path = stream.path.format(media_id=media_id)
            try:
                data = self.client.get_json(path, params or None)
            except NotFoundError:
                report.skipped += 1
                self._error(stream, f"media {media_id} not found (deleted since it was listed?); skipped")
                return
            except (RetriesExhaustedError, RequestBugError) as exc:
                self._error(stream, f"media {media_id}: {exc}")
                return
            rows = data if isinstance(data, list) else [data]
            with buffer.lock:
                report.pages += 1
                report.records += len(rows)
            buffer.add(rows, Lineage(path, params, None, context={"media_id": media_id}))
            if window is not None and window.done_through is not None:
                with marks_lock:
                    pending_marks[media_id] = window.done_through.isoformat()
            self.progress.update(report, self.client)

        medias = self.medias()
        for chunk in _chunks(medias, FLUSH_OBJECTS):
            self._parallel(fetch, chunk)
            buffer.flush()  # durable before the watermarks of this chunk move
            with marks_lock:
                marks, pending_marks = dict(pending_marks), {}
            if marks:
                crash_point("ingest.after_bronze_before_state")
                self.state.commit(stream.name, marks, writer.run_id)
        if stream.mode is LoadMode.PER_MEDIA_BY_DATE and medias:
            sample = window_of(medias[0])
            if sample is not None:
                report.windows.append(f"{sample.start}..{sample.end} (first media's)")

    def _events_window(self, stream: Stream) -> Window:
        stored = None if self.options.full_refresh else self.state.load(stream.name).get(ALL_KEY)
        return self.policy.window(
            watermark=date.fromisoformat(stored) if stored else None,
            today=self.today,
            since=self.options.since,
            until=self.options.until,
            floor=events_floor(self.today),
        )

    def _events(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        """Day windows fetched concurrently; the watermark follows the contiguous prefix of done days.

        Memory does not grow with the window: at most `concurrency` days are in flight, each holding one
        Bronze file's worth of pages, and `_DonePrefix` keeps only the days finished ahead of the prefix.
        """
        window = self._events_window(stream)
        report.windows.append(f"{window.start}..{window.end}")
        if window.empty:
            return
        prefix = _DonePrefix(window.start)
        lock = threading.Lock()

        def fetch_day(day: date) -> None:
            buffer = _Buffer(writer, stream.name, FLUSH_PAGES, self._on_file(stream))
            params = {"start_date": day.isoformat(), "end_date": day.isoformat()}
            try:
                for page in self.client.paginate(stream.path, params):
                    buffer.add(page.records, Lineage(page.path, page.params, page.number))
                    with lock:
                        report.pages += 1
                        report.records += len(page.records)
                    self.progress.update(report, self.client)
                buffer.flush()
            except (RetriesExhaustedError, RequestBugError) as exc:
                buffer.flush()  # what was fetched is kept; the day stays behind the watermark
                with lock:
                    prefix.fail(day)
                self._error(stream, f"events of {day}: {exc}")
                return
            with lock:
                last = prefix.finish(day)
                if last is not None and window.done_through is not None:
                    self._advance_events(stream, min(last, window.done_through), writer.run_id)

        self._parallel(fetch_day, window.iter_days())

    def _advance_events(self, stream: Stream, last: date, run_id: str) -> None:
        """Commit the watermark to `last`, the end of the done prefix (the caller holds the events lock)."""
        if last != self._events_committed:
            crash_point("ingest.after_bronze_before_state")
            self.state.commit(stream.name, {ALL_KEY: last.isoformat()}, run_id)
            self._events_committed = last

    def _parallel(self, fn: Callable[[Any], None], items: Iterable[Any]) -> None:
        """`fn` over `items` on `concurrency` threads, pulling items lazily (nothing queued per item).

        The first exception `fn` raises (a FatalConfigError, a bug) stops handing out items, lets the calls in
        flight finish, and is re-raised in the caller's thread.
        """
        if self.concurrency <= 1:
            for item in items:
                fn(item)
            return
        source = iter(items)
        pull = threading.Lock()
        failures: list[BaseException] = []

        def work() -> None:
            while True:
                with pull:
                    if failures:
                        return
                    item = next(source, _END)
                if item is _END:
                    return
                try:
                    fn(item)
                except BaseException as exc:
                    with pull:
                        failures.append(exc)
                    return

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ingest") as pool:
            workers: list[Future[None]] = [pool.submit(work) for _ in range(self.concurrency)]
        for worker in workers:
            worker.result()
        if failures:
            raise failures[0]

    # ---- dry run ----------------------------------------------------------------------------------
    def plan(self, streams: list[Stream]) -> list[str]:
        """What a run would fetch, stream by stream; reads the media list, writes nothing."""
        lines = []
        for stream in streams:
            if stream.mode is LoadMode.SNAPSHOT:
                lines.append(f"{stream.name}: full snapshot of {stream.path}, paged by 100")
            elif stream.mode is LoadMode.PER_MEDIA_SNAPSHOT:
                lines.append(f"{stream.name}: one request per media ({len(self.medias())} medias)")
            elif stream.mode is LoadMode.PER_MEDIA_BY_DATE:
                windows = [self._media_window(stream, m) for m in self.medias()]
                active = [w for w in windows if not w.empty]
                span = f"{min(w.start for w in active)}..{max(w.end for w in active)}" if active else "nothing"
                lines.append(f"{stream.name}: {len(active)} medias, days {span}")
            else:
                w = self._events_window(stream)
                n = 0 if w.empty else len(w.days)
                lines.append(f"{stream.name}: {n} day windows {w.start}..{w.end} (watermark -> {w.done_through})")
        return lines


_END = object()  # marks an exhausted item iterator in `_parallel`


class _DonePrefix:
    """The contiguous run of finished days from a window's first day, in O(days in flight) memory.

    Days finish out of order; those ahead of the prefix wait in a set until the gap before them closes. The
    prefix never reaches a failed day (the watermark must stay behind it), so days after one are not kept.
    """

    def __init__(self, first: date) -> None:
        self.next = first  # the first day not yet in the prefix
        self.ahead: set[date] = set()
        self.stop: date | None = None  # the earliest failed day

    def fail(self, day: date) -> None:
        self.stop = day if self.stop is None else min(self.stop, day)
        self.ahead = {d for d in self.ahead if d < self.stop}

    def finish(self, day: date) -> date | None:
        """Record `day` as done; the prefix's last day if it moved (None if it did not)."""
        if self.stop is not None and day >= self.stop:
            return None
        self.ahead.add(day)
        moved = False
        while self.next in self.ahead:
            self.ahead.remove(self.next)
            self.next += timedelta(days=1)
            moved = True
        return self.next - timedelta(days=1) if moved else None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

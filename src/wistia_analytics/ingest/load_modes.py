"""One small class per load mode (singer-sdk style: one class per stream kind), chosen by `LOAD_MODES`.

Each class loads one stream into Bronze and moves its watermarks, and says what a dry run would fetch. The
order inside each is what makes a crash safe: a watermark commits only after the Bronze files covering it are
written (see `ingestor.py`).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

from wistia_analytics.contracts.streams import LoadMode, Stream
from wistia_analytics.crashpoints import crash_point
from wistia_analytics.ingest.analytics_loads import ANALYTICS_LOADS
from wistia_analytics.ingest.bronze_buffer import PageBuffer
from wistia_analytics.ingest.day_scheduling import DonePrefix, run_bounded
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.progress import StreamReport
from wistia_analytics.ingest.stream_load import (
    ALL_KEY,
    FLUSH_OBJECTS,
    FLUSH_PAGES,
    MEDIA_ID_PATTERN,
    PER_MEDIA_ERRORS,
    StreamLoad,
    chunks,
    count_defects,
    defect_count,
    fetchable,
    media_id_problem,
    media_path,
)
from wistia_analytics.ingest.windows import Window, events_floor
from wistia_analytics.lake.bronze import BronzeWriter, Lineage
from wistia_analytics.lake.state import BACKFILL_CURSOR, SNAPSHOT_CURSOR
from wistia_analytics.wistia.api_errors import NotFoundError
from wistia_analytics.wistia.client import MAX_PER_PAGE
from wistia_analytics.wistia.parsing import parse_timestamp
from wistia_analytics.wistia.payload import as_records, json_type

__all__ = [  # the shared pieces live in `stream_load`; their old home keeps naming them
    "ALL_KEY",
    "FLUSH_OBJECTS",
    "FLUSH_PAGES",
    "LOAD_MODES",
    "MEDIA_ID_PATTERN",
    "PER_MEDIA_ERRORS",
    "EventsByDayLoad",
    "PerMediaByDateLoad",
    "PerMediaSnapshotLoad",
    "SnapshotLoad",
    "StreamLoad",
    "defect_count",
    "fetchable",
    "loader_for",
    "media_id_problem",
    "media_path",
]


class SnapshotLoad(StreamLoad):
    """The whole paged list every run; the watermark is just when it was last taken."""

    mode = LoadMode.SNAPSHOT

    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        """A resumable stream saves its next page every Bronze file and at the deadline; the snapshot is
        complete (cursor cleared, watermark moved) when its last page is reached."""
        ctx = self.ctx
        resumable = stream.resumable and not stream.provides_media_list  # the media list must be whole
        cursor = ctx.state.load_cursor(stream.name, SNAPSHOT_CURSOR) if resumable else None
        if cursor is not None and ctx.full_refresh:
            cursor = None
        first = max(int(cursor.get("next_page", 1)), 1) if cursor else 1
        started_by = str(cursor.get("started_by") or writer.run_id) if cursor else writer.run_id
        if first > 1:
            report.windows.append(f"pages {first}.. (continuing the snapshot begun by run {started_by})")
        buffer = PageBuffer(writer, stream.name, FLUSH_PAGES, ctx.on_file(report))
        records: list[dict[str, Any]] = []

        def save(next_page: int) -> dict[str, Any]:
            buffer.flush()  # durable before the position moves past it
            position = {"next_page": next_page, "started_by": started_by}
            ctx.state.save_cursor(stream.name, SNAPSHOT_CURSOR, position, writer.run_id)
            return position

        for n, page in enumerate(ctx.client.paginate(stream.path, first_page=first), start=1):
            buffer.add(page.records, Lineage(page.path, page.params, page.number))
            ctx.count(report, pages=1, records=len(page.records))
            count_defects(ctx, report, page.records)
            if stream.provides_media_list:
                records.extend(page.records)
            ctx.show(report)
            if resumable and ctx.out_of_time():
                ctx.stop(report, save(page.number + 1))
                return
            if resumable and n % FLUSH_PAGES == 0:
                save(page.number + 1)
        buffer.flush()
        if stream.provides_media_list:
            ctx.provide_medias(records)
        if resumable:
            ctx.state.clear_cursor(stream.name, SNAPSHOT_CURSOR, writer.run_id)
        ctx.state.commit(stream.name, {ALL_KEY: ctx.now().strftime("%Y-%m-%dT%H:%M:%SZ")}, writer.run_id)

    def plan(self, stream: Stream) -> str:
        return f"{stream.name}: full snapshot of {stream.path}, paged by 100"


class PerMediaSnapshotLoad(StreamLoad):
    """One request per media, run concurrently, in chunks of one Bronze file each."""

    mode = LoadMode.PER_MEDIA_SNAPSHOT

    def window_of(self, media: dict[str, Any]) -> Window | None:
        """The date window to ask for (None: the endpoint takes no dates)."""
        return None

    def received(self, media_id: str, window: Window, rows: list[dict[str, Any]]) -> None:
        """A media's dated rows arrived (a hook: by_date tells the analytics planner which days had loads)."""

    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        """Watermarks (by-date only) commit after each chunk's file is durable."""
        ctx = self.ctx
        buffer = PageBuffer(writer, stream.name, FLUSH_OBJECTS, ctx.on_file(report))
        pending_marks: dict[str, str] = {}
        marks_lock = threading.Lock()

        def fetch(media: dict[str, Any]) -> None:
            if ctx.out_of_time():  # left for the next run: its watermark (if any) has not moved
                ctx.stop(report)
                return
            media_id = str(media["hashed_id"])  # checked by `fetchable`
            window = self.window_of(media)
            params: dict[str, Any] = {}
            if window is not None:
                if window.empty:
                    return
                params = {"start_date": window.start.isoformat(), "end_date": window.end.isoformat()}
            path = media_path(stream.path, media_id)
            try:
                data = ctx.client.get_json(path, params or None)
            except NotFoundError:
                ctx.count(report, skipped=1)
                ctx.error(report, f"media {media_id} not found (deleted since it was listed?); skipped")
                return
            except PER_MEDIA_ERRORS as exc:
                ctx.error(report, f"media {media_id}: {exc}")
                return
            expected = "an array" if self.window_of(media) is not None else "an object"
            if json_type(data) != expected:
                ctx.count(report, skipped=1)
                ctx.error(report, f"media {media_id}: the API sent {json_type(data)} where {expected} belongs; skipped")
                return
            rows = as_records(data) if isinstance(data, list) else [data]
            if window is not None:
                self.received(media_id, window, rows)
            ctx.count(report, pages=1, records=len(rows))
            count_defects(ctx, report, rows)
            buffer.add(rows, Lineage(path, params, None, context={"media_id": media_id}))
            if window is not None and window.done_through is not None:
                with marks_lock:
                    pending_marks[media_id] = window.done_through.isoformat()
            ctx.show(report)

        for n, chunk in enumerate(chunks(fetchable(ctx, report, ctx.medias()), FLUSH_OBJECTS)):
            if ctx.out_of_time():
                ctx.stop(report, {"medias_done": n * FLUSH_OBJECTS})
                break
            run_bounded(fetch, chunk, ctx.concurrency)
            buffer.flush()  # durable before the watermarks of this chunk move
            with marks_lock:
                marks, pending_marks = dict(pending_marks), {}
            if marks:
                crash_point("ingest.after_bronze_before_state")
                ctx.state.commit(stream.name, marks, writer.run_id)

    def plan(self, stream: Stream) -> str:
        return f"{stream.name}: one request per media ({len(self.ctx.medias())} medias)"


class PerMediaByDateLoad(PerMediaSnapshotLoad):
    """Per media, an inclusive date window from its own watermark (with lookback, never before its creation)."""

    mode = LoadMode.PER_MEDIA_BY_DATE

    def __init__(self, ctx: LoadContext) -> None:
        super().__init__(ctx)
        self.windows: dict[str, Window] = {}

    def media_window(self, stream: Stream, media: dict[str, Any]) -> Window:
        try:
            created = parse_timestamp(media.get("created"))
        except ValueError:  # Silver quarantines or nulls it; here it only means no floor for the window
            created = None
        return self.ctx.window(stream.name, str(media["hashed_id"]), created.date() if created else None)

    def window_of(self, media: dict[str, Any]) -> Window | None:
        return self.windows[str(media["hashed_id"])]

    def received(self, media_id: str, window: Window, rows: list[dict[str, Any]]) -> None:
        """The days with loads, for the analytics planner (cheaper than the timeseries: already fetched)."""
        self.ctx.analytics.note_by_date(media_id, window.start, window.end, rows)

    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        medias = [m for m in self.ctx.medias() if media_id_problem(m) is None]
        self.windows = {str(m["hashed_id"]): self.media_window(stream, m) for m in medias}
        super().load(stream, writer, report)
        if medias:
            sample = self.window_of(medias[0])
            if sample is not None:
                report.windows.append(f"{sample.start}..{sample.end} (first media's)")

    def plan(self, stream: Stream) -> str:
        windows = [self.media_window(stream, m) for m in self.ctx.medias() if media_id_problem(m) is None]
        active = [w for w in windows if not w.empty]
        span = f"{min(w.start for w in active)}..{max(w.end for w in active)}" if active else "nothing"
        return f"{stream.name}: {len(active)} medias, days {span}"


class EventsByDayLoad(StreamLoad):
    """UTC day windows fetched concurrently; the watermark follows the contiguous prefix of done days.

    Memory does not grow with the window: at most `concurrency` days are in flight, each holding one Bronze
    file's worth of pages, and `DonePrefix` keeps only the days finished ahead of the prefix.
    """

    mode = LoadMode.EVENTS_BY_DAY

    def __init__(self, ctx: LoadContext) -> None:
        super().__init__(ctx)
        self.committed: date | None = None  # the watermark this run last committed

    def window(self, stream: Stream) -> Window:
        """The run's window; a `--since/--until` backfill continues after the last day a previous call of the
        same backfill finished (its cursor), instead of restarting at `since`."""
        ctx = self.ctx
        window = ctx.window(stream.name, ALL_KEY, events_floor(ctx.today))
        cursor = self._backfill_cursor(stream)
        if cursor is not None:
            resume = date.fromisoformat(str(cursor["done_through"])) + timedelta(days=1)
            if resume > window.start:
                done = window.done_through if window.done_through and window.done_through >= resume else None
                window = Window(start=resume, end=window.end, done_through=done)
        return window

    def _backfill(self) -> dict[str, str] | None:
        ctx = self.ctx
        if ctx.since is None and ctx.until is None:
            return None
        return {"since": str(ctx.since), "until": str(ctx.until)}

    def _backfill_cursor(self, stream: Stream) -> dict[str, Any] | None:
        backfill = self._backfill()
        if backfill is None or self.ctx.full_refresh:
            return None
        cursor = self.ctx.state.load_cursor(stream.name, BACKFILL_CURSOR)
        if cursor is None or any(cursor.get(k) != v for k, v in backfill.items()) or not cursor.get("done_through"):
            return None  # another backfill's position: this one starts at its own `since`
        return cursor

    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        ctx = self.ctx
        window = self.window(stream)
        report.windows.append(f"{window.start}..{window.end}")
        if window.empty:
            return
        prefix = DonePrefix(window.start)
        lock = threading.Lock()  # orders the prefix's updates with the watermark commits they cause

        def stop_at(day: date) -> None:
            """The deadline: `day` and the days after it are left for the next run (the prefix stops here)."""
            with lock:
                prefix.fail(day)
                position = {"next_day": str(prefix.stop or day), "watermark": str(self.committed)}
            ctx.stop(report, position)

        def fetch_day(day: date) -> None:
            if ctx.out_of_time():
                stop_at(day)
                return
            buffer = PageBuffer(writer, stream.name, FLUSH_PAGES, ctx.on_file(report))
            params = {"start_date": day.isoformat(), "end_date": day.isoformat()}
            try:
                for page in ctx.client.paginate(stream.path, params):
                    buffer.add(page.records, Lineage(page.path, page.params, page.number))
                    ctx.count(report, pages=1, records=len(page.records))
                    count_defects(ctx, report, page.records)
                    ctx.show(report)
                    if ctx.out_of_time() and len(page.records) == MAX_PER_PAGE:
                        buffer.flush()  # what was fetched is kept; the day is fetched again next run
                        stop_at(day)
                        return
                buffer.flush()
            except PER_MEDIA_ERRORS as exc:
                buffer.flush()  # what was fetched is kept; the day stays behind the watermark
                with lock:
                    prefix.fail(day)
                ctx.error(report, f"events of {day}: {exc}")
                return
            with lock:
                last = prefix.finish(day)
                if last is not None and window.done_through is not None:
                    self._advance(stream, min(last, window.done_through), writer.run_id)
                if last is not None and backfill is not None:
                    self._backfill_done(stream, backfill, last, window.end, writer.run_id)

        backfill = self._backfill()
        run_bounded(fetch_day, window.iter_days(), ctx.concurrency)

    def _backfill_done(self, stream: Stream, backfill: dict[str, str], last: date, end: date, run_id: str) -> None:
        """Move the backfill's cursor to `last`; clear it once the whole backfill is done (the next call with the
        same range is a new backfill)."""
        if last >= end:
            self.ctx.state.clear_cursor(stream.name, BACKFILL_CURSOR, run_id)
        else:
            self.ctx.state.save_cursor(stream.name, BACKFILL_CURSOR, {**backfill, "done_through": str(last)}, run_id)

    def _advance(self, stream: Stream, last: date, run_id: str) -> None:
        """Commit the watermark to `last`, the end of the done prefix (the caller holds the prefix's lock)."""
        if last != self.committed:
            crash_point("ingest.after_bronze_before_state")
            self.ctx.state.commit(stream.name, {ALL_KEY: last.isoformat()}, run_id)
            self.committed = last

    def plan(self, stream: Stream) -> str:
        w = self.window(stream)
        n = 0 if w.empty else len(w.days)
        return f"{stream.name}: {n} day windows {w.start}..{w.end} (watermark -> {w.done_through})"


_V1_LOADS: tuple[type[StreamLoad], ...] = (SnapshotLoad, PerMediaSnapshotLoad, PerMediaByDateLoad, EventsByDayLoad)
LOAD_MODES: dict[LoadMode, type[StreamLoad]] = {cls.mode: cls for cls in (*_V1_LOADS, *ANALYTICS_LOADS)}
if set(LOAD_MODES) != set(LoadMode):  # every mode has its class
    raise AssertionError(f"load modes without a class: {sorted(m.value for m in set(LoadMode) - set(LOAD_MODES))}")


def loader_for(stream: Stream, ctx: LoadContext) -> StreamLoad:
    """The load-mode class of `stream`, for one run."""
    return LOAD_MODES[stream.mode](ctx)

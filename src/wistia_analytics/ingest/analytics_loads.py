"""The load modes of Wistia's modern analytics (`/modern/analytics/medias/{id}/...`): one class per mode.

All four share one engine (`AnalyticsLoad`): per media, under the analytics window policy (the same lookback,
INGEST_ANALYTICS_BACKFILL_DAYS of first-run history, never before the media's creation day), the requests the
planner (`analytics_plan.py`) says are worth making, run media by media on `INGEST_CONCURRENCY` threads; each
response's records go to Bronze as received with the lineage context the transform reads (spec §2); a media's
watermark moves only once all its requests succeeded and their Bronze files are durable. A media that fails
(404: deleted; retries spent; a bad answer) is recorded and skipped, the stream goes on. A 403 is not a
per-media failure: `AnalyticsAccessError` leaves the stream, and the ingestor skips every analytics stream.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, ClassVar

from wistia_analytics.contracts.streams import Api, LoadMode, Stream
from wistia_analytics.crashpoints import crash_point
from wistia_analytics.ingest.analytics_plan import PlannedRequest, trailing_start
from wistia_analytics.ingest.bronze_buffer import PageBuffer
from wistia_analytics.ingest.day_scheduling import run_bounded
from wistia_analytics.ingest.progress import StreamReport
from wistia_analytics.ingest.stream_load import (
    FLUSH_OBJECTS,
    PER_MEDIA_ERRORS,
    StreamLoad,
    chunks,
    count_defects,
    fetchable,
    media_path,
)
from wistia_analytics.ingest.windows import Window, WindowPolicy, split_span
from wistia_analytics.lake.bronze import BronzeWriter, Lineage
from wistia_analytics.wistia.api_errors import NotFoundError, ProtocolError
from wistia_analytics.wistia.client import max_end_date
from wistia_analytics.wistia.parsing import parse_timestamp
from wistia_analytics.wistia.payload import as_records, json_type

Batch = tuple[list[dict[str, Any]], dict[str, Any], int | None]  # records, the query sent, the page number
MEDIAS_PER_COMMIT = 20  # medias whose watermarks commit together (after their Bronze files are flushed)
TIMESERIES_PATH = "/analytics/medias/{media_id}/timeseries"


class Unplannable(Exception):  # noqa: N818 - a signal inside this module, never raised out of it
    """The planner could not learn a media's days (its timeseries failed): the media waits for the next run."""


class AnalyticsLoad(StreamLoad):
    """Per media: plan its requests, fetch them, land them in Bronze, then move its watermark."""

    watermarked: ClassVar[bool] = True  # False: an aggregate re-taken every run (no watermark)

    def media_window(self, stream: Stream, media: dict[str, Any]) -> Window:
        """The media's window under the analytics policy, from its own watermark of this stream."""
        try:
            created = parse_timestamp(media.get("created"))
        except ValueError:
            created = None
        return self.ctx.window(
            stream.name, str(media["hashed_id"]), created.date() if created else None, analytics=True
        )

    @abstractmethod
    def requests(self, stream: Stream, media_id: str, window: Window) -> list[PlannedRequest]:
        """The requests worth making for this media and window (may raise `Unplannable`)."""

    def pages(self, stream: Stream, path: str, request: PlannedRequest) -> Iterator[Batch]:
        """The records of one request (a JSON array) with the query sent and the page number (None: not paged)."""
        params = {**dict(stream.params), **request.params}
        data = self.ctx.client.get_json(path, params, api=Api.MODERN)
        if not isinstance(data, list):
            raise ProtocolError(
                f"GET {path}: {json_type(data)} where the API returns an array", kind="unexpected_shape"
            )
        yield as_records(data), params, None

    def received(self, media_id: str, request: PlannedRequest, records: list[dict[str, Any]]) -> None:
        """Records of one request arrived (a hook: the timeseries teaches the planner)."""

    def learn(self, media_id: str, start: date, end: date) -> None:
        """Make sure the planner knows `start..end` of this media (fetching its timeseries if this run has not)."""
        plan = self.ctx.analytics
        if plan.knows(media_id, start, end):
            return
        try:
            plan.learn(self.ctx.client, media_id, start, end, media_path(TIMESERIES_PATH, media_id))
        except NotFoundError:
            raise
        except PER_MEDIA_ERRORS as exc:
            raise Unplannable(f"its daily timeseries, needed to plan, failed: {exc}") from None

    # ---- the engine ---------------------------------------------------------------------------------------
    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        ctx = self.ctx
        buffer = PageBuffer(writer, stream.name, FLUSH_OBJECTS, ctx.on_file(report))
        marks: dict[str, str] = {}
        marks_lock = threading.Lock()
        spans: list[Window] = []
        # Days done per media by the bounded calls of this work (continued from the call before, if any).
        resumed = {k: str(v) for k, v in dict(ctx.resumed.get(stream.name, {}).get("done") or {}).items()}
        done: dict[str, str] = dict(resumed)

        def fetch(media: dict[str, Any]) -> None:
            if ctx.out_of_time():  # left for the next run: its watermark has not moved
                ctx.stop(report)
                return
            media_id = str(media["hashed_id"])  # checked by `fetchable`
            window = _resume(self.media_window(stream, media), resumed.get(media_id))
            if window.empty:
                return
            with marks_lock:
                spans.append(window)
            path = media_path(stream.path, media_id)
            try:
                for request in self.requests(stream, media_id, window):
                    if ctx.out_of_time():
                        ctx.stop(report)
                        return
                    self._fetch_one(stream, path, media_id, request, buffer, report)
                    if request.through is not None:  # durable at the next flush, before the position is kept
                        with marks_lock:
                            done[media_id] = request.through.isoformat()
            except NotFoundError:
                ctx.count(report, skipped=1)
                ctx.error(report, f"media {media_id} not found (deleted since it was listed?); skipped")
                return
            except Unplannable as exc:
                ctx.count(report, skipped=1)
                ctx.error(report, f"media {media_id}: {exc}; skipped (its watermark stays)")
                return
            except PER_MEDIA_ERRORS as exc:
                ctx.error(report, f"media {media_id}: {exc}")
                return
            with marks_lock:
                done[media_id] = window.end.isoformat()
                if self.watermarked and window.done_through is not None:
                    marks[media_id] = window.done_through.isoformat()

        try:
            for n, chunk in enumerate(chunks(fetchable(ctx, report, ctx.medias()), MEDIAS_PER_COMMIT)):
                if ctx.out_of_time():
                    ctx.stop(report, {"medias_done": n * MEDIAS_PER_COMMIT})
                    break
                run_bounded(fetch, chunk, ctx.concurrency)
                buffer.flush()  # durable before the watermarks of this chunk move
                with marks_lock:
                    committed, marks = dict(marks), {}
                if committed:
                    crash_point("ingest.after_bronze_before_state")
                    ctx.state.commit(stream.name, committed, writer.run_id)
        finally:
            buffer.flush()  # what was fetched is kept, even when a 403 ends the stream
        if stream.name in ctx.stopped:  # where the next bounded call of the same work continues
            with marks_lock, ctx.lock:
                ctx.positions[stream.name] = {"done": dict(done)}
        if spans:
            report.windows.append(f"{min(w.start for w in spans)}..{max(w.end for w in spans)}")

    def _fetch_one(
        self,
        stream: Stream,
        path: str,
        media_id: str,
        request: PlannedRequest,
        buffer: PageBuffer,
        report: StreamReport,
    ) -> None:
        """One planned request into the Bronze buffer (its pages, for the cursor-paged conversions)."""
        ctx = self.ctx
        for records, params, page in self.pages(stream, path, request):
            self.received(media_id, request, records)
            buffer.add(records, Lineage(path, params, page, request.context))
            ctx.count(report, pages=1, records=len(records))
            count_defects(ctx, report, records)
            ctx.show(report)

    # ---- the dry run -------------------------------------------------------------------------------------
    def plan(self, stream: Stream) -> str:
        """Planned requests of this stream (the per-day ones learn the media-days from the timeseries first)."""
        medias = fetchable(self.ctx, StreamReport(stream.name), self.ctx.medias())
        total = asked = 0
        unplanned: list[str] = []
        for media in medias:
            media_id = str(media["hashed_id"])
            window = self.media_window(stream, media)
            if window.empty:
                continue
            try:
                planned = self.requests(stream, media_id, window)
            except (Unplannable, NotFoundError) as exc:
                unplanned.append(f"{media_id}: {exc}")
                continue
            total += len(planned)
            asked += 1 if planned else 0
        line = f"{stream.name}: {total} {self.unit}{'' if total == 1 else 's'} for {asked} of {len(medias)} medias"
        line += f" ({self.rule(stream)})"
        if unplanned:
            line += f"; {len(unplanned)} medias could not be planned (first: {unplanned[0]})"
        return line

    unit: ClassVar[str] = "request"

    def rule(self, stream: Stream) -> str:
        """What decides this stream's requests, for the dry run's line."""
        return self.__doc__.splitlines()[0].rstrip(".") if self.__doc__ else ""


class PerMediaTimeseriesLoad(AnalyticsLoad):
    """One daily timeseries per media over its window (split at 2 years); it teaches the planner the media-days
    with loads, plays and form conversions."""

    mode = LoadMode.PER_MEDIA_TIMESERIES

    def rule(self, stream: Stream) -> str:
        return "one daily timeseries per media over its window; it tells the per-day streams the media-days with loads"

    def requests(self, stream: Stream, media_id: str, window: Window) -> list[PlannedRequest]:
        return [
            PlannedRequest({"start_date": a.isoformat(), "end_date": b.isoformat()}, {"media_id": media_id}, b)
            for a, b in split_span(window.start, window.end, max_end_date)
        ]

    def received(self, media_id: str, request: PlannedRequest, records: list[dict[str, Any]]) -> None:
        start = date.fromisoformat(str(request.params["start_date"]))
        end = date.fromisoformat(str(request.params["end_date"]))
        self.ctx.analytics.note_timeseries(media_id, start, end, records)


class PerMediaDayLoad(AnalyticsLoad):
    """Per media and day with loads: traffic (one request per INGEST_TRAFFIC_DIMENSIONS dimension) or embeds."""

    mode = LoadMode.PER_MEDIA_DAY

    def rule(self, stream: Stream) -> str:
        dims = self.ctx.analytics.dimensions
        per = f" x {len(dims)} dimensions ({', '.join(dims) or 'none'})" if _is_traffic(stream) else ""
        return f"one per media-day with loads{per}; media-days from the daily timeseries"

    def requests(self, stream: Stream, media_id: str, window: Window) -> list[PlannedRequest]:
        self.learn(media_id, window.start, window.end)
        plan = self.ctx.analytics
        if _is_traffic(stream):
            return plan.traffic_requests(media_id, window.start, window.end)
        return plan.embed_requests(media_id, window.start, window.end)


def _resume(window: Window, done: str | None) -> Window:
    """`window` after the days an earlier bounded call of the same work finished (they are not asked again)."""
    if done is None or window.empty:
        return window
    after = date.fromisoformat(done) + timedelta(days=1)
    if after <= window.start:
        return window
    return Window(after, window.end, window.done_through)


def _is_traffic(stream: Stream) -> bool:
    """Traffic is the per-day stream whose records are keyed by a `group_by` dimension."""
    return "dimension" in stream.key


class PerMediaCursorLoad(AnalyticsLoad):
    """Per media with form conversions in its window: the leads, paged by cursor (split at 2 years)."""

    mode = LoadMode.PER_MEDIA_CURSOR
    unit = "first-page request"  # the cursor pages after the first are not known in advance

    def rule(self, stream: Stream) -> str:
        return "medias with form conversions in their window, by the daily timeseries"

    def requests(self, stream: Stream, media_id: str, window: Window) -> list[PlannedRequest]:
        self.learn(media_id, window.start, window.end)
        if not self.ctx.analytics.had_form_conversions(media_id, window.start, window.end):
            return []
        return [
            PlannedRequest({"start_date": a.isoformat(), "end_date": b.isoformat()}, {"media_id": media_id}, b)
            for a, b in split_span(window.start, window.end, max_end_date)
        ]

    def pages(self, stream: Stream, path: str, request: PlannedRequest) -> Iterator[Batch]:
        per_page = stream.per_page or 100
        for page in self.ctx.client.paginate_cursor(path, dict(request.params), per_page=per_page):
            yield page.records, page.params, page.number


class PerMediaRangeLoad(AnalyticsLoad):
    """Per media with plays in its trailing analytics window: one aggregate over that window, every run.

    No watermark: the aggregate is re-taken whole (Silver keeps each media's newest). A media without plays in
    the days this run knows keeps its previous snapshot."""

    mode = LoadMode.PER_MEDIA_RANGE
    watermarked = False

    def rule(self, stream: Stream) -> str:
        return "one aggregate over the trailing analytics window per media with plays in it"

    def media_window(self, stream: Stream, media: dict[str, Any]) -> Window:
        try:
            created = parse_timestamp(media.get("created"))
        except ValueError:
            created = None
        ctx = self.ctx
        days = ctx.analytics_policy.backfill_days if ctx.analytics_policy else 30
        trailing = WindowPolicy(ctx.policy.lookback_days, days).window(
            watermark=None, today=ctx.today, since=ctx.since, until=ctx.until, floor=created.date() if created else None
        )
        if trailing.empty:
            return trailing
        return Window(trailing_start(trailing.start, trailing.end), trailing.end, None)

    def requests(self, stream: Stream, media_id: str, window: Window) -> list[PlannedRequest]:
        plan = self.ctx.analytics
        if not plan.knows(media_id, window.start, window.end, every_day=False):
            self.learn(media_id, window.start, window.end)
        if not plan.had_plays(media_id, window.start, window.end):
            return []
        dates = {"start_date": window.start.isoformat(), "end_date": window.end.isoformat()}
        return [
            PlannedRequest({**dates, "per_page": stream.per_page or 100}, {"media_id": media_id, **dates}, window.end)
        ]


ANALYTICS_LOADS: tuple[type[AnalyticsLoad], ...] = (
    PerMediaTimeseriesLoad,
    PerMediaDayLoad,
    PerMediaCursorLoad,
    PerMediaRangeLoad,
)

"""What the load modes of one run share: the client, the watermarks, the run's dates and its bookkeeping.

Every update of something shared between threads (a stream's counters, the run record) happens here, under
the one `lock`. Lock order: a Bronze buffer's lock may be held while taking this one, never the reverse.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from wistia_analytics.contracts.streams import MEDIA_LIST_STREAM
from wistia_analytics.ingest.analytics_plan import AnalyticsPlan
from wistia_analytics.ingest.progress import ProgressSink, StreamReport
from wistia_analytics.ingest.windows import Window, WindowPolicy
from wistia_analytics.lake.bronze import BronzeFile
from wistia_analytics.lake.runs import RunRecord
from wistia_analytics.lake.state import StateStore
from wistia_analytics.wistia.client import WistiaClient

log = logging.getLogger(__name__)


@dataclass
class LoadContext:
    """One run's shared state; the load modes read settings from it and report through it."""

    client: WistiaClient
    state: StateStore
    policy: WindowPolicy
    today: date
    since: date | None
    until: date | None
    full_refresh: bool
    concurrency: int
    progress: ProgressSink
    now: Callable[[], datetime]
    record: RunRecord | None = None  # set once the run holds the lake (None in a dry run)
    deadline: float | None = None  # `clock()` value after which no new work starts (None: unbounded)
    clock: Callable[[], float] = time.monotonic
    stopped: set[str] = field(default_factory=set)  # streams that stopped at the deadline with work left
    positions: dict[str, Any] = field(default_factory=dict)  # where each stopped stream's next run continues
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The modern analytics: what this run knows of the media-days (the planner), and their windows' policy (the
    # same lookback, INGEST_ANALYTICS_BACKFILL_DAYS of first-run history; None: the core policy's lookback, 30).
    analytics: AnalyticsPlan = field(default_factory=AnalyticsPlan)
    analytics_policy: WindowPolicy | None = None
    # Positions of the analytics streams where the incomplete call this run continues stopped (stream -> position).
    resumed: dict[str, dict[str, Any]] = field(default_factory=dict)
    _medias: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    # ---- bookkeeping, under the lock --------------------------------------------------------------------
    def count(self, report: StreamReport, *, pages: int = 0, records: int = 0, skipped: int = 0) -> None:
        with self.lock:
            report.pages += pages
            report.records += records
            report.skipped += skipped

    def error(self, report: StreamReport, message: str) -> None:
        """Count and record one error of a stream; the run goes on."""
        log.warning("%s: %s", report.name, message)
        with self.lock:
            report.errors += 1
            if self.record is not None:
                self.record.add_error(f"{report.name}: {message}")

    def on_file(self, report: StreamReport) -> Callable[[BronzeFile], None]:
        """The callback a Bronze buffer calls for each file it wrote."""

        def record_file(written: BronzeFile) -> None:
            with self.lock:
                report.files += 1
                if self.record is not None:
                    self.record.add_file(written)

        return record_file

    def show(self, report: StreamReport) -> None:
        self.progress.update(report, self.client)

    # ---- the run deadline -------------------------------------------------------------------------------
    def out_of_time(self) -> bool:
        """True once the run's deadline has passed: start no new request, page, day or media."""
        return self.deadline is not None and self.clock() >= self.deadline

    def stop(self, report: StreamReport, position: dict[str, Any] | None = None) -> None:
        """Record that `report`'s stream stopped at the deadline with work left, and where it was."""
        with self.lock:
            self.stopped.add(report.name)
            if position is not None:
                self.positions[report.name] = position

    # ---- the media list ---------------------------------------------------------------------------------
    def medias(self) -> list[dict[str, Any]]:
        """The media list of this run (fetched once; from the stream that provides it when that one ran)."""
        if self._medias is None:
            self._medias = [r for page in self.client.paginate(MEDIA_LIST_STREAM.path) for r in page.records]
        return self._medias

    def provide_medias(self, records: list[dict[str, Any]]) -> None:
        self._medias = records

    # ---- windows ----------------------------------------------------------------------------------------
    def window(self, stream: str, key: str, floor: date | None, *, analytics: bool = False) -> Window:
        """The window of one watermark key of `stream` (a media, or the whole account); `analytics`: under the
        analytics policy (its own first-run history)."""
        stored = None if self.full_refresh else self.state.load(stream).get(key)
        policy = self.policy
        if analytics:
            policy = self.analytics_policy or WindowPolicy(self.policy.lookback_days, 30)
        return policy.window(
            watermark=date.fromisoformat(stored) if stored else None,
            today=self.today,
            since=self.since,
            until=self.until,
            floor=floor,
        )

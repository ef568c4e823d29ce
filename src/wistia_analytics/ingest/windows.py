"""Which days each incremental stream fetches in a run.

Windows are frozen inclusive UTC date ranges. A day counts as done (and can become the watermark) only
once it is over (before the run's today): today is always re-fetched next run. A lookback re-fetches the
last few done days for late arrivals; the duplicates that causes are removed downstream by key. Events are
never asked for beyond the API's 730-day retention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

EVENT_RETENTION_DAYS = 730


@dataclass(frozen=True)
class Window:
    """An inclusive range of UTC days; `done_through` is what the watermark may become once it is fetched."""

    start: date
    end: date
    done_through: date | None

    @property
    def days(self) -> list[date]:
        return list(self.iter_days())

    def iter_days(self) -> Iterator[date]:
        """The window's days in order, one at a time."""
        for i in range((self.end - self.start).days + 1):
            yield self.start + timedelta(days=i)

    @property
    def empty(self) -> bool:
        return self.end < self.start


@dataclass(frozen=True)
class WindowPolicy:
    """Lookback and first-run history, in days."""

    lookback_days: int = 3
    backfill_days: int = 90

    def window(
        self,
        *,
        watermark: date | None,
        today: date,
        since: date | None = None,
        until: date | None = None,
        floor: date | None = None,
    ) -> Window:
        """The window for one key; `since`/`until` (a backfill) override the stored watermark for this run.

        `floor` is the earliest day worth asking for (retention, or the media's creation day).
        """
        if since is not None:
            start = since
        elif watermark is not None:
            start = watermark + timedelta(days=1) - timedelta(days=self.lookback_days)
        else:
            start = today - timedelta(days=self.backfill_days - 1)
        end = min(until, today) if until is not None else today
        if floor is not None:
            start = max(start, floor)
        done = min(end, today - timedelta(days=1))
        return Window(start=start, end=end, done_through=done if done >= start else None)


def split_span(start: date, end: date, last_end: Callable[[date], date]) -> list[tuple[date, date]]:
    """`start..end` as consecutive inclusive ranges, each ending no later than `last_end(its start)` (the modern
    analytics refuse ranges over 2 years: a `--since` backfill longer than that becomes several requests)."""
    out: list[tuple[date, date]] = []
    while start <= end:
        stop = min(end, last_end(start))
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out


def events_floor(today: date) -> date:
    """The oldest day the events API still returns."""
    return today - timedelta(days=EVENT_RETENTION_DAYS - 1)

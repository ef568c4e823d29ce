"""How work is handed to threads and which finished days may become the watermark.

A 730-day backfill must not hold per-day state for the whole window: `run_bounded` hands items (days, medias)
to a standard thread pool lazily, never more than `workers` at once, and `DonePrefix` keeps only the days
finished ahead of the contiguous prefix that decides the events watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date, timedelta
from typing import TypeVar

T = TypeVar("T")


def run_bounded(fn: Callable[[T], None], items: Iterable[T], workers: int) -> None:
    """`fn` over `items` on `workers` threads, submitting the next item only when a slot frees up.

    The first exception `fn` raises (a FatalConfigError, a bug) stops handing out items, lets the calls in
    flight finish, and is re-raised in the caller's thread.
    """
    if workers <= 1:
        for item in items:
            fn(item)
        return
    source = iter(items)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        in_flight: set[Future[None]] = set()
        exhausted = False
        while True:
            while failure is None and not exhausted and len(in_flight) < workers:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                in_flight.add(pool.submit(fn, item))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None and failure is None:
                    failure = error
    if failure is not None:
        raise failure


class DonePrefix:
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

"""How the events stream schedules its day windows: bounded state whatever the window's length.

A 730-day backfill must not hold per-day state for the whole window: days are handed to the threads lazily,
and the done prefix (which decides the watermark) keeps only the days finished ahead of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from wistia_analytics.ingest.day_scheduling import DonePrefix, run_bounded
from wistia_analytics.wistia.api_errors import FatalConfigError

D0 = date(2026, 1, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def test_prefix_follows_out_of_order_days_and_keeps_only_those_ahead() -> None:
    prefix = DonePrefix(D0)
    assert prefix.finish(day(2)) is None and prefix.finish(day(1)) is None
    assert prefix.ahead == {day(1), day(2)}
    assert prefix.finish(day(0)) == day(2)  # the gap closed: three days at once
    assert prefix.ahead == set()
    assert prefix.finish(day(3)) == day(3)
    assert prefix.finish(day(5)) is None and prefix.ahead == {day(5)}


def test_prefix_stops_before_a_failed_day_but_earlier_days_still_count() -> None:
    prefix = DonePrefix(D0)
    assert prefix.finish(day(3)) is None
    prefix.fail(day(2))
    assert prefix.ahead == set()  # day 3 can never join the prefix: not kept
    assert prefix.finish(day(4)) is None and prefix.ahead == set()
    assert prefix.finish(day(1)) is None
    assert prefix.finish(day(0)) == day(1)  # finished after the failure, still before it
    prefix.fail(day(7))  # a later failure does not move the stop forward
    assert prefix.stop == day(2)


def test_a_long_window_keeps_state_bounded_by_the_days_in_flight() -> None:
    """730 days finishing in a shuffled order within a sliding band of 4 (the threads): the set stays small."""
    prefix = DonePrefix(D0)
    order = [n for base in range(0, 732, 4) for n in (base + 3, base + 1, base + 2, base) if n < 730]
    largest, last = 0, None
    for n in order:
        moved = prefix.finish(day(n))
        last = moved or last
        largest = max(largest, len(prefix.ahead))
    assert last == day(729) and prefix.ahead == set()
    assert largest == 3


WORKERS = 4


def test_items_are_pulled_lazily_and_none_start_after_a_failure() -> None:
    pulled: list[int] = []
    ran: list[int] = []
    lock = threading.Lock()

    def items() -> Iterator[int]:
        for n in range(10_000):
            with lock:
                pulled.append(n)
            yield n

    def fn(n: int) -> None:
        if n == 50:
            raise FatalConfigError("WISTIA_API_TOKEN was refused")
        with lock:
            ran.append(n)

    with pytest.raises(FatalConfigError, match="WISTIA_API_TOKEN"):
        run_bounded(fn, items(), WORKERS)
    assert sorted(ran)[:50] == list(range(50))  # everything before the failure ran
    assert len(pulled) <= 50 + 1 + WORKERS  # no more handed out after it
    assert 50 not in ran


def test_every_item_runs_once() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def fn(n: int) -> None:
        with lock:
            seen.append(n)

    run_bounded(fn, iter(range(1000)), WORKERS)
    assert sorted(seen) == list(range(1000))


def test_never_more_than_the_window_in_flight() -> None:
    """The bounded submission window: at most `workers` calls run at once, and items wait to be pulled."""
    lock = threading.Lock()
    running, peak, pulled_ahead = 0, 0, 0
    pulled = 0
    finished = 0

    def items() -> Iterator[int]:
        nonlocal pulled, pulled_ahead
        for n in range(200):
            with lock:
                pulled += 1
                pulled_ahead = max(pulled_ahead, pulled - finished)
            yield n

    def fn(n: int) -> None:
        nonlocal running, peak, finished
        with lock:
            running += 1
            peak = max(peak, running)
        with lock:
            running -= 1
            finished += 1

    run_bounded(fn, items(), WORKERS)
    assert finished == 200
    assert peak <= WORKERS
    assert pulled_ahead <= WORKERS  # an item is pulled only when a slot is free


def test_one_worker_runs_in_order_on_the_callers_thread() -> None:
    seen: list[tuple[int, str]] = []
    run_bounded(lambda n: seen.append((n, threading.current_thread().name)), range(5), 1)
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert {name for _, name in seen} == {threading.current_thread().name}


def test_a_failure_with_one_worker_stops_at_once() -> None:
    ran: list[int] = []

    def fn(n: int) -> None:
        if n == 3:
            raise FatalConfigError("refused")
        ran.append(n)

    with pytest.raises(FatalConfigError):
        run_bounded(fn, range(10), 1)
    assert ran == [0, 1, 2]

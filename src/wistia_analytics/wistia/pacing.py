"""Client-side pacing: stay under the account's request budget so a normal run never sees a 429.

Wistia counts every request of an account in a sliding 60-second window (600 by default; the sandbox
does the same: a request is refused when the window ending at its arrival already holds the budget).
The pacer spaces request *starts* evenly at `utilization` x the budget, with a small burst allowance so
short runs start at once. It is a GCRA (the "virtual scheduling" form of a token bucket):

* any two starts i < j satisfy ``t_j - t_i >= (j - i) * interval - (burst - 1) * interval``, so a window
  of length W holds fewer than ``burst + W / interval`` starts;
* `burst` is chosen so that bound stays within the budget for ``W = 60 s + safety_seconds``. The extra
  second absorbs network jitter: the server counts arrivals, we schedule departures, and two requests can
  arrive closer together than they left.

An even schedule, rather than "send the whole budget then wait", is also safe if the real limiter turns
out to be a token bucket or a fixed per-minute window. With the defaults (97 %, 1 s) a steady run uses
97 % of the budget and any 61 s window stays below it. One pacer is shared by every stream of a client;
`acquire` is thread-safe and sleeps outside its lock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MIN_WAIT = 1e-6  # shorter waits are float residue of the schedule arithmetic, not worth a sleep

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Pacer:
    """Schedules request starts below `requests_per_minute` in any sliding window of 60 s."""

    def __init__(
        self,
        requests_per_minute: int,
        *,
        utilization: float = 0.97,
        safety_seconds: float = 1.0,
        burst: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be >= 1")
        if safety_seconds < 0:
            raise ValueError("safety_seconds must be >= 0")
        window = WINDOW_SECONDS + safety_seconds
        if not 0.0 < utilization * window / WINDOW_SECONDS <= 1.0:
            limit = WINDOW_SECONDS / window
            raise ValueError(f"utilization must be in (0, {limit:.4f}] for safety_seconds={safety_seconds:g}")
        self.requests_per_minute = requests_per_minute
        self.utilization = utilization
        self.safety_seconds = safety_seconds
        self.interval = WINDOW_SECONDS / (requests_per_minute * utilization)
        # Largest burst keeping "fewer than burst + window/interval starts" within the budget.
        max_burst = max(1, math.floor(requests_per_minute + 1 - window / self.interval - 1e-9))
        if burst is not None and not 1 <= burst <= max_burst:
            raise ValueError(f"burst must be in [1, {max_burst}] for this budget")
        self.burst = burst if burst is not None else max_burst
        self._tolerance = (self.burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat: float | None = None  # theoretical arrival time of the next request (GCRA state)

    def reserve(self) -> float:
        """Book the next start slot without waiting; returns its time on the pacer's clock."""
        with self._lock:
            now = self._clock()
            tat = now if self._tat is None else max(self._tat, now)
            start = max(now, tat - self._tolerance)
            self._tat = tat + self.interval
            return start

    def acquire(self) -> float:
        """Wait until this caller may start a request; returns the seconds waited."""
        start = self.reserve()
        delay = start - self._clock()
        if delay > MIN_WAIT:
            self._sleep(delay)
            return delay
        return 0.0

    def defer(self, seconds: float) -> None:
        """Hold every caller for `seconds` from now (after a throttling answer), then resume evenly.

        The burst allowance is not refilled by the pause: after a 429 the pacer restarts at its steady rate.
        """
        if seconds <= 0:
            return
        with self._lock:
            resume = self._clock() + seconds
            floor = resume + self._tolerance
            self._tat = floor if self._tat is None else max(self._tat, floor)

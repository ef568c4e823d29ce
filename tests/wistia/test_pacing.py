"""Pacing on a fake clock: below the budget in every 60 s window, yet using at least 95 % of it.

The server side of the contract is the sandbox's own sliding-window limiter, driven by the same fake
clock, so "no 429" is checked against the algorithm the sandbox (and, we assume, Wistia) applies.
"""

from __future__ import annotations

import bisect
import random
import threading

import httpx
import pytest

from wistia_analytics.sandbox.ratelimit import SlidingWindowLimiter
from wistia_analytics.wistia import Pacer, WistiaClient


class FakeClock:
    """Monotonic seconds that only move when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(pacer: Pacer, clock: FakeClock, n: int) -> list[float]:
    """Start times of `n` back-to-back requests (the client is never the bottleneck)."""
    times = []
    for _ in range(n):
        pacer.acquire()
        times.append(clock.now)
    return times


def max_in_window(times: list[float], width: float) -> int:
    """The most starts in any half-open window [t, t + width)."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


BUDGETS = [1, 5, 60, 100, 600, 1000, 6000]


@pytest.mark.parametrize("budget", BUDGETS)
def test_never_over_budget_in_any_window_and_uses_95_percent(budget: int) -> None:
    clock = FakeClock()
    pacer = Pacer(budget, clock=clock, sleep=clock.sleep)
    minutes = 5
    times = run(pacer, clock, budget * minutes + 1)
    start = times[0]
    assert max_in_window(times, 60.0) <= budget
    assert max_in_window(times, 61.0) <= budget  # the safety second for network jitter
    first_minute = sum(t < start + 60 for t in times)
    assert first_minute >= 0.95 * budget
    span = [t for t in times if t < start + minutes * 60]
    for minute in range(minutes):  # steady state too, not only the initial burst
        in_minute = sum(start + 60 * minute <= t < start + 60 * (minute + 1) for t in span)
        assert in_minute >= 0.95 * budget, (minute, in_minute)


@pytest.mark.parametrize("budget", [5, 600])
def test_the_sandbox_limiter_never_refuses_the_paced_schedule(budget: int) -> None:
    clock = FakeClock()
    server = SlidingWindowLimiter(budget, clock=clock)
    pacer = Pacer(budget, clock=clock, sleep=clock.sleep)
    for _ in range(budget * 4):
        pacer.acquire()
        assert server.check("account") is None


@pytest.mark.parametrize("seed", range(5))
def test_arrival_jitter_under_a_second_does_not_trip_the_server(seed: int) -> None:
    """The server counts arrivals; latency between 0 and 1 s reorders and squeezes them."""
    budget = 600
    clock = FakeClock()
    pacer = Pacer(budget, clock=clock, sleep=clock.sleep)
    rng = random.Random(seed)
    departures = run(pacer, clock, budget * 3)
    arrivals = sorted(t + rng.uniform(0.0, 0.999) for t in departures)
    now = [0.0]
    server = SlidingWindowLimiter(budget, clock=lambda: now[0])
    for t in arrivals:
        now[0] = t
        assert server.check("account") is None


def test_without_pacing_the_same_traffic_is_throttled() -> None:
    """Control for the tests above: the oracle does refuse an over-budget burst."""
    clock = FakeClock()
    server = SlidingWindowLimiter(600, clock=clock)
    assert [server.check("a") for _ in range(601)][-1] is not None


def test_short_runs_start_at_once() -> None:
    clock = FakeClock()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)
    run(pacer, clock, pacer.burst)
    assert clock.sleeps == []
    assert pacer.burst >= 2


def test_threads_share_one_schedule() -> None:
    """Concurrent callers get distinct slots, exactly the schedule one caller would get."""
    budget = 600
    frozen = FakeClock()
    shared = Pacer(budget, clock=frozen, sleep=lambda s: None)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [shared.reserve() for _ in range(150)]
        with lock:
            slots.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alone = Pacer(budget, clock=frozen, sleep=lambda s: None)
    expected = [alone.reserve() for _ in range(len(slots))]
    assert sorted(slots) == pytest.approx(expected)
    assert max_in_window(slots, 61.0) <= budget


def test_defer_holds_everyone_then_resumes_at_the_steady_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.defer(30.0)
    waited = pacer.acquire()
    assert waited == pytest.approx(30.0)
    assert pacer.acquire() == pytest.approx(pacer.interval)  # no fresh burst after a throttle
    pacer.defer(0.0)  # no-op


def test_the_client_paces_every_attempt() -> None:
    clock = FakeClock()
    server = SlidingWindowLimiter(60, clock=clock)

    def handler(request: httpx.Request) -> httpx.Response:
        if server.check("account") is not None:
            return httpx.Response(429, headers={"Retry-After": "60"})
        return httpx.Response(200, json=[])

    with WistiaClient(
        "https://api.example.test/v1",
        "t0ken",
        requests_per_minute=60,
        clock=clock,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
    ) as client:
        start = clock.now
        for _ in range(150):
            client.get_json("/account")
        assert client.stats.throttled == 0
        assert client.stats.requests == 150
    elapsed = clock.now - start
    assert 150 / (elapsed / 60) >= 0.95 * 60  # requests per simulated minute


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"requests_per_minute": 600, "utilization": 0.99}, "utilization"),
        ({"requests_per_minute": 600, "burst": 100}, "burst"),
        ({"requests_per_minute": 600, "safety_seconds": -1}, "safety_seconds"),
    ],
)
def test_rejects_settings_that_could_exceed_the_budget(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Pacer(**kwargs)  # type: ignore[arg-type]

"""The retry policy: the pure decision function, and the client's loop driven by it (sleep recorded).

The loop tests use an in-memory httpx transport so the delays and attempt counts are exact; the same
behaviour over real HTTP is covered in test_client_http.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wistia_analytics.errors import ExitCode, exit_code_for
from wistia_analytics.wistia import Action, InvalidJSONError, RetriesExhaustedError, RetryPolicy, WistiaClient, decide
from wistia_analytics.wistia.retry import DEFAULT_RETRY_POLICY, backoff_delay, parse_retry_after, unreachable

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
NO_JITTER = RetryPolicy(jitter=0.0)  # waits exactly the cap: deterministic delays


def response(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body)


# ---- decide: the pure function -----------------------------------------------------------------------


def test_default_policy_is_the_documented_one() -> None:
    p = DEFAULT_RETRY_POLICY
    assert p.retry_statuses == frozenset({500, 502, 504})
    assert p.throttle_statuses == frozenset({429, 503})
    assert p.max_attempts >= 3
    assert p.jitter == 1.0  # full jitter


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_back_off_exponentially_and_cap(status: int) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=5.0, jitter=0.0)
    delays = [decide(policy, n, response(status)).delay for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert all(decide(policy, n, response(status)).action is Action.RETRY for n in range(1, 10))


@given(attempt=st.integers(1, 40), r=st.floats(0.0, 1.0, exclude_max=True), jitter=st.floats(0.0, 1.0))
def test_jitter_stays_within_bounds(attempt: int, r: float, jitter: float) -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=30.0, jitter=jitter)
    cap = policy.backoff_cap(attempt)
    delay = backoff_delay(policy, attempt, rand=lambda: r)
    assert cap * (1 - jitter) - 1e-12 <= delay <= cap
    assert cap <= 30.0


def test_full_jitter_spans_zero_to_cap() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=30.0, jitter=1.0)
    assert decide(policy, 3, response(500), rand=lambda: 0.0).delay == 8.0
    assert decide(policy, 3, response(500), rand=lambda: 0.5).delay == 4.0
    assert decide(policy, 3, response(500), rand=lambda: 0.999999).delay == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_honours_retry_after_seconds(status: int) -> None:
    d = decide(DEFAULT_RETRY_POLICY, 1, response(status, {"Retry-After": "17"}), rand=lambda: 0.0)
    assert (d.action, d.delay, d.throttled) == (Action.RETRY, 17.0, True)
    assert "Retry-After 17" in d.reason


def test_throttling_honours_retry_after_http_date() -> None:
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)  # "Wed, 25 Nov 2026 12:00:42 GMT"
    d = decide(DEFAULT_RETRY_POLICY, 2, response(429, {"Retry-After": when}), now=NOW)
    assert (d.action, d.delay, d.throttled) == (Action.RETRY, 42.0, True)


def test_retry_after_in_the_past_means_now() -> None:
    when = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert decide(DEFAULT_RETRY_POLICY, 1, response(503, {"Retry-After": when}), now=NOW).delay == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "-3", "nan"])
def test_throttling_without_usable_retry_after_backs_off(header: str | None) -> None:
    headers = {} if header is None else {"Retry-After": header}
    d = decide(NO_JITTER, 3, response(429, headers))
    assert (d.action, d.delay, d.throttled) == (Action.RETRY, 4.0, True)


def test_retry_after_longer_than_the_bound_gives_up() -> None:
    policy = RetryPolicy(max_retry_after=120.0)
    d = decide(policy, 1, response(429, {"Retry-After": "3600"}))
    assert d.action is Action.GIVE_UP
    assert "max_retry_after" in d.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 422, 501, 301])
def test_non_transient_statuses_are_fatal(status: int) -> None:
    assert decide(DEFAULT_RETRY_POLICY, 1, response(status)).action is Action.FATAL


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        InvalidJSONError("GET", "/x", status=200, content_type="application/json", size=3),
    ],
)
def test_transient_exceptions_retry(exc: BaseException) -> None:
    d = decide(NO_JITTER, 1, exc)
    assert (d.action, d.delay, d.throttled) == (Action.RETRY, 1.0, False)


@pytest.mark.parametrize("exc", [ValueError("bug"), httpx.UnsupportedProtocol("ftp"), KeyError("x")])
def test_other_exceptions_are_fatal(exc: BaseException) -> None:
    assert decide(DEFAULT_RETRY_POLICY, 1, exc).action is Action.FATAL


def test_last_attempt_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert decide(policy, 2, response(500)).action is Action.RETRY
    assert decide(policy, 3, response(500)).action is Action.GIVE_UP
    assert decide(policy, 3, httpx.ReadTimeout("t")).action is Action.GIVE_UP
    assert decide(policy, 3, response(429, {"Retry-After": "1"})).action is Action.GIVE_UP


def test_retry_sets_are_data() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({500}), retry_exceptions=(httpx.ReadTimeout,))
    assert decide(policy, 1, response(502)).action is Action.FATAL
    assert decide(policy, 1, httpx.ConnectError("x")).action is Action.FATAL
    assert decide(policy, 1, httpx.ReadTimeout("x")).action is Action.RETRY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_attempts": 0}, "max_attempts"), ({"jitter": 1.5}, "jitter"), ({"base_delay": -1}, "delays")],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Wed, 25 Nov 2026 12:01:00 GMT", 60.0),
        ("Wed, 25 Nov 2026 12:01:00 -0000", 60.0),
        (None, None),
        ("", None),
        ("-1", None),
        ("inf", None),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


# ---- the client's loop: attempts and delays with sleep recorded -------------------------------------------


class Script:
    """An httpx handler that plays a list of responses/exceptions, one per request."""

    def __init__(self, steps: list[httpx.Response | Exception | Callable[[], httpx.Response]]) -> None:
        self._steps: Iterator[httpx.Response | Exception | Callable[[], httpx.Response]] = iter(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        return step() if callable(step) else step


def ok(body: bytes = b'{"ok": true}') -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


def make_client(script: Script, policy: RetryPolicy, sleeps: list[float]) -> WistiaClient:
    """A client on a fake clock that advances by each recorded sleep (so pacing never needs to wait)."""
    now = [1000.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    return WistiaClient(
        "https://api.example.test/v1",
        "unit-test-token",
        retry=policy,
        sleep=sleep,
        clock=lambda: now[0],
        transport=httpx.MockTransport(script),
        rand=lambda: 0.0,
    )


def test_client_retries_with_the_policy_delays_then_succeeds() -> None:
    script = Script(
        [
            response(503, {"Retry-After": "2"}, b"Service Unavailable"),
            response(500, body=b'{"error":"Internal server error"}'),
            httpx.ReadTimeout("timed out"),
            ok(b"not json"),
            ok(),
        ]
    )
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0, jitter=1.0)
    with make_client(script, policy, sleeps) as client:
        assert client.get_json("/account") == {"ok": True}
        stats = client.stats.snapshot()
    # Retry-After for the 503 (attempt 1); rand=0 with full jitter waits the full cap 2^(n-1) after attempt n.
    assert sleeps == [2.0, 2.0, 4.0, 8.0]
    assert len(script.requests) == 5
    assert (stats.requests, stats.retries, stats.throttled) == (5, 4, 1)
    assert stats.faults == {"http_500": 1, "read_timeout": 1, "invalid_json": 1}


def test_client_gives_up_after_max_attempts() -> None:
    script = Script([response(502, body=b"<html>502</html>")] * 4)
    sleeps: list[float] = []
    client = make_client(script, RetryPolicy(max_attempts=4, jitter=0.0), sleeps)
    with client, pytest.raises(RetriesExhaustedError) as info:
        client.get_json("/stats/events", {"page": 2})
    err = info.value
    assert err.attempts == 4
    assert getattr(err.last_cause, "status", None) == 502
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(script.requests) == 4
    assert str(err).startswith("GET /stats/events?page=2: gave up after 4 attempts")
    assert exit_code_for(err) == ExitCode.UNAVAILABLE


def test_exhaustion_keeps_the_last_exception_as_cause() -> None:
    script = Script([httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed")])
    sleeps: list[float] = []
    client = make_client(script, RetryPolicy(max_attempts=2, jitter=0.0), sleeps)
    with client, pytest.raises(RetriesExhaustedError) as info:
        client.get_json("/account")
    assert isinstance(info.value.last_cause, httpx.RemoteProtocolError)
    assert info.value.__cause__ is info.value.last_cause
    assert sleeps == [1.0]


def test_fatal_status_is_not_retried() -> None:
    script = Script([response(422, {"content-type": "application/json"}, b'{"error":"bad date"}')])
    sleeps: list[float] = []
    with make_client(script, DEFAULT_RETRY_POLICY, sleeps) as client, pytest.raises(Exception) as info:
        client.get_json("/stats/events", {"start_date": "2026-13-45"})
    assert type(info.value).__name__ == "RequestBugError"
    assert sleeps == [] and len(script.requests) == 1


def test_throttle_holds_the_shared_pacer() -> None:
    """After a 429 the pacer itself is pushed back, so other streams wait too (not only the retrying one)."""
    now = [100.0]
    script = Script([response(429, {"Retry-After": "30"}), ok()])
    client = WistiaClient(
        "https://api.example.test/v1",
        "unit-test-token",
        sleep=lambda s: None,  # time stands still: the pacer must still schedule past the hold
        clock=lambda: now[0],
        transport=httpx.MockTransport(script),
    )
    with client:
        client.get_json("/account")
        assert client.pacer.reserve() >= 130.0


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    """A ConnectError as httpx raises it: the socket error on its chain (httpcore's error in between)."""
    try:
        try:
            raise cause
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
    except httpx.ConnectError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("cause", "why"),
    [
        (socket.gaierror(-2, "Name or service not known"), "dns"),
        (socket.gaierror(-3, "Temporary failure in name resolution"), "dns"),  # no network at all
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
    ],
)
def test_an_unreachable_host_is_not_retried_by_the_client_policy(cause: OSError, why: str) -> None:
    exc = _connect_error(cause)
    assert unreachable(exc) == why
    decision = decide(DEFAULT_RETRY_POLICY, 1, exc)
    assert decision.action is Action.UNREACHABLE and why in decision.reason
    # a policy without the switch (the alert webhook's) keeps retrying it as a transient failure
    assert decide(RetryPolicy(), 1, exc).action is Action.RETRY


def test_other_connect_errors_timeouts_and_5xx_keep_their_retries() -> None:
    assert unreachable(_connect_error(ConnectionResetError(104, "reset"))) is None
    assert decide(DEFAULT_RETRY_POLICY, 1, _connect_error(ConnectionResetError(104, "reset"))).action is Action.RETRY
    assert decide(DEFAULT_RETRY_POLICY, 1, httpx.ConnectTimeout("timed out")).action is Action.RETRY
    assert decide(DEFAULT_RETRY_POLICY, 1, response(503)).action is Action.RETRY
    assert decide(DEFAULT_RETRY_POLICY, 1, response(429)).action is Action.RETRY

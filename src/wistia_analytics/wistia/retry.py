"""The one retry policy of the client, declared as data, and the pure function that applies it.

Which failures are worth another attempt, and how long to wait, is decided here and nowhere else, so it
can be read in one screen and tested without a network: `decide` takes the attempt number and what that
attempt produced (a response or an exception) and returns a `Decision`. The client owns the loop and the
(injectable) sleep.

Waits: 429 and 503 are Wistia's throttling answers (§5 of the API reference) and honour ``Retry-After``
(seconds or an HTTP-date); everything else retriable uses exponential backoff with full jitter, capped,
so that many clients failing together do not retry in lockstep. A 503 without a usable ``Retry-After`` (the
modern API's "Analytics service is temporarily unavailable") is a fault, not throttling: it backs off the same
way but does not hold the other streams' pacing, and is counted as `http_503`.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

import httpx

from wistia_analytics.wistia.api_errors import RetriableError

TOO_MANY_REQUESTS = 429  # throttling by definition, with or without Retry-After
Outcome = httpx.Response | BaseException

# Transport failures worth another attempt: timeouts (connect/read/write/pool), connections refused,
# reset or dropped (NetworkError: ConnectError, ReadError, WriteError, CloseError), a peer that closed
# mid-message (RemoteProtocolError: no response, or a body shorter than its Content-Length), and the
# client's own transient errors (RetriableError, e.g. InvalidJSONError for a body that is not JSON).
DEFAULT_RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    RetriableError,
)


def unreachable(outcome: Outcome) -> str | None:
    """``"dns"`` or ``"refused"`` when an attempt failed before reaching any server, else None.

    A host name that does not resolve (`socket.gaierror`: a typo in the URL, or no network at all) and a
    connection refused (nothing listens on that port) are not transient the way a timeout or a 503 is:
    retrying them for minutes only hides a wrong setting. httpx wraps both in `ConnectError`; the original
    error is on the exception chain.
    """
    if not isinstance(outcome, httpx.ConnectError):
        return None
    seen: set[int] = set()
    cause: BaseException | None = outcome
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return "dns"
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
        cause = cause.__cause__ or cause.__context__
    return None


class Action(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"  # wait `Decision.delay` seconds, then try again
    GIVE_UP = "give_up"  # transient, but the retry budget is spent: raise RetriesExhaustedError
    FATAL = "fatal"  # retrying cannot help (401, 404, 422, an unknown exception): raise at once
    UNREACHABLE = "unreachable"  # the host does not resolve or refuses connections: raise at once, name the host


@dataclass(frozen=True)
class Decision:
    """The outcome of `decide`: an action, the wait before the next attempt, and a loggable reason."""

    action: Action
    delay: float = 0.0
    reason: str = ""
    throttled: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and which failures are transient.

    `jitter` is the randomised share of each backoff delay: 1.0 is "full jitter" (uniform in
    ``[0, cap]``), 0.0 waits exactly the cap. `max_retry_after` bounds how long a ``Retry-After`` may
    make us wait; a server asking for more ends the request (``GIVE_UP``) instead of stalling the run.
    `fail_fast_unreachable`: a host that does not resolve or refuses the connection ends the request at once
    (``UNREACHABLE``) instead of being retried like a dropped connection; the API client's policy sets it.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 1.0
    retry_statuses: frozenset[int] = frozenset({500, 502, 504})
    throttle_statuses: frozenset[int] = frozenset({429, 503})
    retry_exceptions: tuple[type[BaseException], ...] = DEFAULT_RETRY_EXCEPTIONS
    max_retry_after: float = 300.0
    fail_fast_unreachable: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must be >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    def backoff_cap(self, attempt: int) -> float:
        """The upper bound of the wait after failed attempt `attempt` (1-based): base * 2^(n-1), capped."""
        exponent = min(attempt - 1, 62)  # avoid float overflow on absurd attempt numbers
        return min(self.max_delay, self.base_delay * math.pow(2.0, exponent))


# The API client's policy. Other users of `decide` (the alert webhook) build their own and keep retrying an
# unreachable host, as a transient failure.
DEFAULT_RETRY_POLICY = RetryPolicy(fail_fast_unreachable=True)


def backoff_delay(policy: RetryPolicy, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: a value in ``[cap * (1 - jitter), cap]``."""
    cap = policy.backoff_cap(attempt)
    return cap * (1.0 - policy.jitter * rand())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def describe(outcome: Outcome) -> str:
    """A short, credential-free name for what an attempt produced, for logs and counters."""
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    kind = getattr(outcome, "kind", None)
    return kind if isinstance(kind, str) and kind else type(outcome).__name__


def decide(
    policy: RetryPolicy,
    attempt: int,
    outcome: Outcome,
    *,
    rand: Callable[[], float] = random.random,
    now: datetime | None = None,
) -> Decision:
    """What to do after failed attempt number `attempt` (1-based) whose result was `outcome`.

    `outcome` is the non-2xx response or the exception the attempt raised. Only `rand` (jitter) and
    `now` (to read an HTTP-date ``Retry-After``) come from outside; pass them to make this deterministic.
    """
    reason = describe(outcome)
    throttled = False
    delay: float
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        if status in policy.throttle_statuses:
            header = outcome.headers.get("Retry-After")
            retry_after = parse_retry_after(header, now)
            throttled = retry_after is not None or status == TOO_MANY_REQUESTS
            if retry_after is not None:
                reason = f"{reason} (throttled, Retry-After {header.strip() if header else ''})"
                if retry_after > policy.max_retry_after:
                    return Decision(
                        Action.GIVE_UP,
                        reason=f"{reason}: longer than max_retry_after={policy.max_retry_after:g}s",
                        throttled=True,
                    )
                delay = retry_after
            else:
                reason = f"{reason} ({'throttled, ' if throttled else ''}no usable Retry-After)"
                delay = backoff_delay(policy, attempt, rand)
        elif status in policy.retry_statuses:
            delay = backoff_delay(policy, attempt, rand)
        else:
            return Decision(Action.FATAL, reason=reason)
    elif policy.fail_fast_unreachable and unreachable(outcome) is not None:
        return Decision(Action.UNREACHABLE, reason=f"{reason} ({unreachable(outcome)})")
    elif isinstance(outcome, policy.retry_exceptions):
        delay = backoff_delay(policy, attempt, rand)
    else:
        return Decision(Action.FATAL, reason=reason)
    if attempt >= policy.max_attempts:
        return Decision(Action.GIVE_UP, reason=reason, throttled=throttled)
    return Decision(Action.RETRY, delay=delay, reason=reason, throttled=throttled)

"""The client over real HTTP against the sandbox: paging edges, error mapping, throttling, every fault.

Nothing in the client is patched. Sleeps are recorded instead of slept (the constructor takes `sleep`),
and for throttling the sandbox's limiter and the client share one fake clock that moves when the client
sleeps, so a 60-second Retry-After costs no wall time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from tests.conftest import api_client
from wistia_analytics.errors import DataQualityError, ExitCode, exit_code_for
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.sandbox.ratelimit import SlidingWindowLimiter
from wistia_analytics.settings import Settings
from wistia_analytics.wistia import (
    FatalConfigError,
    HostUnreachableError,
    NotFoundError,
    RequestBugError,
    RetriesExhaustedError,
    RetryPolicy,
    WistiaClient,
    WistiaError,
)
from wistia_analytics.wistia.client import _MAYBE_DEFECTIVE, DEFECTS_FIELD, _checked_object

TODAY = date(2026, 11, 25)
TOKEN = "tok-9f3c1a7e5b2d4c6e8a0b"  # distinctive, so a leak is easy to spot
SEED = 25  # tiny account with exactly 200 visitors (an exact multiple of 100) and 538 events
FAST = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05)
FAST_RPM = 1_000_000  # the pacing budget is not under test here (see test_pacing.py)


def config(**kwargs: Any) -> SandboxConfig:
    base: dict[str, Any] = {
        "size": "tiny",
        "seed": SEED,
        "today": TODAY,
        "token": TOKEN,
        "rate_limit_per_minute": 0,
        "faults": 0.0,
    }
    return SandboxConfig(**(base | kwargs))


class SharedClock:
    """One fake monotonic clock for the sandbox's limiter and the client; it moves only on sleep."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def client_for(sb: Sandbox, token: str | None = None, **kwargs: Any) -> WistiaClient:
    """A client whose sleeps only move a fake clock (no wall time spent waiting)."""
    clock = SharedClock()
    options: dict[str, Any] = {
        "requests_per_minute": FAST_RPM,
        "retry": FAST,
        "sleep": clock.sleep,
        "clock": clock,
    }
    return WistiaClient(sb.base_url, token or sb.token, **(options | kwargs))


def records(client: WistiaClient, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [r for page in client.paginate(path, params) for r in page.records]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(config()) as sb:
        yield sb


@pytest.fixture(scope="module")
def truth(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    """What a fault-free run returns; faulty sandboxes with the same seed must end with the same data."""
    with client_for(sandbox) as client:
        return {"events": records(client, "/stats/events"), "medias": client.get_json("/medias.json")}


@pytest.fixture()
def leak_watch(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every log record (all loggers, DEBUG) and fail if any contains the token."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    leaked = [r.getMessage() for r in caplog.records if TOKEN in r.getMessage()]
    assert leaked == []


def assert_no_token(exc: BaseException) -> None:
    chain: BaseException | None = exc
    while chain is not None:
        assert TOKEN not in str(chain) and TOKEN not in repr(chain)
        chain = chain.__cause__ or chain.__context__


# ---- paging -------------------------------------------------------------------------------------------


def test_exact_multiple_of_100_needs_one_empty_page() -> None:
    with run_sandbox(config()) as sb, client_for(sb) as client:
        pages = list(client.paginate("/stats/visitors"))
        assert [(p.number, len(p.records)) for p in pages] == [(1, 100), (2, 100)]
        assert sb.stats()["requests"] == 3  # page 3 came back [] and ended the loop
        assert all(p.params["per_page"] == 100 for p in pages)
        assert [p.params["page"] for p in pages] == [1, 2]
        assert len({v["visitor_key"] for p in pages for v in p.records}) == 200


def test_stops_on_a_short_page() -> None:
    with run_sandbox(config()) as sb, client_for(sb) as client:
        pages = list(client.paginate("/stats/events"))
        assert [len(p.records) for p in pages] == [100] * 5 + [38]
        assert sb.stats()["requests"] == 6  # no request for page 7
        assert client.stats.requests == 6 and client.stats.retries == 0


def test_empty_result_yields_no_pages() -> None:
    with run_sandbox(config()) as sb, client_for(sb) as client:
        window = {"start_date": "2020-01-01", "end_date": "2020-01-02"}
        assert list(client.paginate("/stats/events", window)) == []
        assert sb.stats()["requests"] == 1


def test_per_page_is_always_sent(sandbox: Sandbox) -> None:
    """The API's default page size is 10; a client that forgot per_page would see 10-record pages."""
    with client_for(sandbox) as client:
        first = next(iter(client.paginate("/medias", {"sort_by": "name"})))
        assert first.params == {"sort_by": "name", "page": 1, "per_page": 100}
        assert len(first.records) == 4 and first.path == "/medias"
        with pytest.raises(ValueError):
            list(client.paginate("/medias", {"per_page": 10}))


def test_records_come_back_as_received(sandbox: Sandbox, truth: dict[str, list[dict[str, Any]]]) -> None:
    event = truth["events"][0]
    assert isinstance(event["received_at"], str) and event["received_at"].endswith(".000Z")
    assert {"event_key", "visitor_key", "media_id", "percent_viewed"} <= set(event)


# ---- error mapping ------------------------------------------------------------------------------------


def test_bad_token_is_a_config_error_naming_the_setting(leak_watch: pytest.LogCaptureFixture) -> None:
    wrong = "wrong-" + TOKEN[::-1]
    with run_sandbox(config()) as sb, client_for(sb, token=wrong) as client:
        with pytest.raises(FatalConfigError) as info:
            client.get_json("/account")
        assert sb.stats()["requests"] == 1  # not retried
    message = str(info.value)
    assert "WISTIA_API_TOKEN" in message and "Check" in message and "401" in message
    assert wrong not in message and wrong not in repr(info.value)
    assert TOKEN not in message
    assert exit_code_for(info.value) == ExitCode.CONFIG
    assert all(wrong not in r.getMessage() for r in leak_watch.records)


def test_unknown_media_is_not_found(sandbox: Sandbox, leak_watch: pytest.LogCaptureFixture) -> None:
    with client_for(sandbox) as client, pytest.raises(NotFoundError) as info:
        client.get_json("/stats/medias/nosuchmedia")
    assert info.value.status == 404
    assert "/stats/medias/nosuchmedia" in str(info.value)
    assert "Media not found" in str(info.value)
    assert exit_code_for(info.value) == ExitCode.PARTIAL
    assert_no_token(info.value)


def test_malformed_parameter_is_a_request_bug_showing_the_params(
    sandbox: Sandbox, leak_watch: pytest.LogCaptureFixture
) -> None:
    with client_for(sandbox) as client, pytest.raises(RequestBugError) as info:
        list(client.paginate("/stats/events", {"start_date": "2026-13-45", "media_id": "abc"}))
    err = info.value
    message = str(err)
    assert err.status == 422
    assert "GET /stats/events?" in message
    assert "start_date=2026-13-45" in message and "media_id=abc" in message and "page=1" in message
    assert "Invalid date" in message  # the server's own explanation
    assert err.params["start_date"] == "2026-13-45"
    assert exit_code_for(err) == ExitCode.FAILURE
    assert_no_token(err)


def test_bug_reports_redact_credentials() -> None:
    """Even if a secret reaches an error's params, the message shows ``***`` in its place."""
    err = RequestBugError(
        method="GET",
        path="/stats/events",
        params={"api_password": TOKEN, "ACCESS_TOKEN": TOKEN, "media_id": "abc"},
        status=422,
        detail="bad",
    )
    assert TOKEN not in str(err) and TOKEN not in repr(err)
    assert "api_password=***" in str(err) and "media_id=abc" in str(err)
    assert err.params["access_token".upper()] == "***"


def test_exit_codes_separate_config_errors_from_partial_failures() -> None:
    assert exit_code_for(None) == 0
    assert exit_code_for(FatalConfigError("x")) == ExitCode.CONFIG
    assert exit_code_for(NotFoundError(method="GET", path="/x")) == ExitCode.PARTIAL
    assert exit_code_for(DataQualityError("x")) == ExitCode.PARTIAL
    assert exit_code_for(RetriesExhaustedError("GET", "/x", attempts=3, last_cause=OSError())) == 4
    assert exit_code_for(RequestBugError(method="GET", path="/x", status=400)) == ExitCode.FAILURE
    assert exit_code_for(ValueError("unexpected")) == ExitCode.FAILURE
    assert len({int(c) for c in ExitCode}) == len(ExitCode)


def test_credentials_never_go_into_the_url(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        for key in ("api_password", "access_token", "API_PASSWORD"):
            with pytest.raises(ValueError, match=key) as info:
                client.get_json("/account", {key: TOKEN})
            assert TOKEN not in str(info.value)
        with pytest.raises(ValueError):
            client.get_json("https://evil.example/v1/account")
        with pytest.raises(ValueError):
            client.get_json("/account?api_password=x")


def test_the_client_and_its_repr_hide_the_token(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        assert TOKEN not in repr(client) and TOKEN not in str(client)
        assert TOKEN not in repr(client.stats)


@pytest.mark.parametrize("bad", ["", "   ", "tok en", "tok\nen", "tökén"])
def test_unusable_tokens_are_config_errors_without_the_value(bad: str) -> None:
    with pytest.raises(FatalConfigError, match="WISTIA_API_TOKEN") as info:
        WistiaClient("http://127.0.0.1:1/v1", bad)
    assert (bad.strip() or "<empty>") not in str(info.value)


def test_from_settings(sandbox: Sandbox) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        wistia_api_token=SecretStr(TOKEN),
        wistia_api_url=sandbox.base_url,
        wistia_requests_per_minute=1200,
    )
    with WistiaClient.from_settings(settings) as client:
        assert client.pacer.requests_per_minute == 1200
        assert client.get_json("/account")["name"]
    with pytest.raises(FatalConfigError, match="WISTIA_API_TOKEN"):
        WistiaClient.from_settings(Settings(_env_file=None, wistia_api_token=None))  # type: ignore[call-arg]
    with pytest.raises(FatalConfigError, match="WISTIA_API_URL"):
        WistiaClient("api.wistia.com/v1", TOKEN)


# ---- throttling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retried_after_retry_after(status: int, leak_watch: pytest.LogCaptureFixture) -> None:
    clock = SharedClock()
    with run_sandbox(config(rate_limit_per_minute=5, rate_limit_status=status)) as sb:
        sb.app.limiter = SlidingWindowLimiter(5, clock=clock)  # the sandbox's own limiter, on our clock
        with WistiaClient(sb.base_url, sb.token, clock=clock, sleep=clock.sleep) as client:
            answers = [client.get_json("/account") for _ in range(8)]
            stats = client.stats.snapshot()
        server = sb.stats()
    assert all(a["name"] == answers[0]["name"] for a in answers)
    assert server["throttled"] == 1 and server["statuses"] == {"200": 8, str(status): 1}
    assert (stats.throttled, stats.retries, stats.requests) == (1, 1, 9)
    assert 60.0 in clock.sleeps  # five requests at t0 fill the window: Retry-After is the full 60 s
    retry_logs = [r.getMessage() for r in leak_watch.records if r.name == "wistia_analytics.wistia"]
    assert any(f"HTTP {status}" in m and "Retry-After 60" in m for m in retry_logs)


def test_a_paced_client_is_never_throttled() -> None:
    """Client budget equal to the server's: the pacer alone keeps every request under the limit."""
    clock = SharedClock()
    with run_sandbox(config(rate_limit_per_minute=30)) as sb:
        sb.app.limiter = SlidingWindowLimiter(30, clock=clock)
        with WistiaClient(sb.base_url, sb.token, requests_per_minute=30, clock=clock, sleep=clock.sleep) as client:
            for _ in range(100):
                client.get_json("/account")
        assert sb.stats()["throttled"] == 0
    assert client.stats.throttled == 0
    assert 100 / ((clock.now - 5000.0) / 60) >= 0.95 * 30


# ---- faults -------------------------------------------------------------------------------------------

FAULT_KINDS = ["http_500", "http_502", "http_503", "slow", "timeout", "truncated", "invalid_json", "dropped"]


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_ends_with_correct_data(
    kind: str, truth: dict[str, list[dict[str, Any]]], leak_watch: pytest.LogCaptureFixture
) -> None:
    faulty = config(
        faults=0.5,
        fault_kinds=(kind,),
        fault_slow_seconds=0.2,
        fault_timeout_seconds=1.0,
    )
    timeout = 0.5 if kind == "timeout" else 5.0  # "slow" (0.2 s) must stay well inside the timeout
    with run_sandbox(faulty) as sb, client_for(sb, timeout=timeout) as client:
        events = records(client, "/stats/events")
        medias = client.get_json("/medias.json")
        injected = sb.stats()["faults"].get(kind, 0)
        stats = client.stats.snapshot()
    assert events == truth["events"]
    assert medias == truth["medias"]
    assert injected >= 1
    retry_logs = [r.getMessage() for r in leak_watch.records if r.name == "wistia_analytics.wistia"]
    assert len(retry_logs) == stats.retries
    if kind == "slow":  # slower than usual, still inside the client's timeout: nothing to retry
        assert stats.retries == 0
    else:
        assert stats.retries >= 1
        assert stats.throttled + sum(stats.faults.values()) == stats.retries
        assert stats.requests == 7 + stats.retries  # 6 pages + 1 list, each retried attempt on top
    if kind == "http_503":  # Wistia's older throttling status: honours the sandbox's Retry-After: 1
        assert stats.throttled == stats.retries
        assert all("Retry-After 1)" in m for m in retry_logs)


def test_persistent_faults_exhaust_the_retries(leak_watch: pytest.LogCaptureFixture) -> None:
    with run_sandbox(config(faults=1.0, fault_kinds=("http_500",))) as sb:
        retry = RetryPolicy(max_attempts=3, base_delay=0.0)
        with client_for(sb, retry=retry) as client, pytest.raises(RetriesExhaustedError) as info:
            client.get_json("/stats/account")
        assert sb.stats()["faults"] == {"http_500": 3}
    assert info.value.attempts == 3
    assert str(info.value) == (
        "GET /stats/account: gave up after 3 attempts; last error: HTTP 500: Internal server error"
    )
    assert exit_code_for(info.value) == ExitCode.UNAVAILABLE
    assert_no_token(info.value)


def test_connection_refused_is_retried_then_reported() -> None:
    with run_sandbox(config()) as sb:
        url = sb.base_url
    # the sandbox is stopped: nothing listens on that port any more
    with (
        WistiaClient(url, TOKEN, retry=RetryPolicy(max_attempts=2, base_delay=0.0), sleep=lambda s: None) as c,
        pytest.raises(RetriesExhaustedError) as info,
    ):
        c.get_json("/account")
    assert info.value.attempts == 2
    assert isinstance(info.value, WistiaError)
    assert_no_token(info.value)


def test_connection_refused_fails_fast_under_the_default_policy_naming_the_host() -> None:
    with run_sandbox(config()) as sb:
        url = sb.base_url
    host = url.split("//", 1)[1].split("/", 1)[0]
    with WistiaClient(url, TOKEN, sleep=lambda s: None) as c, pytest.raises(HostUnreachableError) as info:
        c.get_json("/account")
    assert c.stats.requests == 1 and c.stats.retries == 0  # not retried
    assert info.value.host == host and info.value.why == "refused"
    assert str(info.value).startswith(f"the API host {host} refused the connection")
    assert "WISTIA_API_URL" in str(info.value) and exit_code_for(info.value) == ExitCode.CONFIG
    assert_no_token(info.value)


def test_threads_share_one_client(sandbox: Sandbox, truth: dict[str, list[dict[str, Any]]]) -> None:
    with client_for(sandbox) as client:
        results: list[list[dict[str, Any]]] = []
        lock = threading.Lock()

        def work() -> None:
            got = records(client, "/stats/events")
            with lock:
                results.append(got)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [truth["events"]] * 4
        assert client.stats.requests == 4 * 6


# ---- decoding: the fast path for clean bodies ------------------------------------------------------------


@pytest.mark.parametrize("kinds", [(), ("duplicate_key",), ("invalid_unicode",), ("unicode_oddity",)])
def test_every_page_decodes_as_the_fully_checked_decode(kinds: tuple[str, ...]) -> None:
    """Bodies with no suspicious bytes skip the per-value scan; what comes back must not change.

    The client's result is compared, page by page, with the same bytes decoded by `_checked_object` on every
    object; duplicate keys are still caught on the fast path, bad characters force the full scan.
    """
    options: dict[str, Any] = {"bad_records": 0.3, "bad_record_kinds": kinds} if kinds else {}
    with run_sandbox(config(**options)) as sb, client_for(sb) as client, api_client(sb) as raw:
        pages: list[tuple[bool, list[str]]] = []  # (full scan, defects) per page
        for day in range(5, 25):
            params = {"start_date": f"2026-11-{day:02d}", "end_date": f"2026-11-{day:02d}", "per_page": 100}
            body = raw.get("/stats/events", params=params).content  # a served body is the same every time
            expected = json.loads(body, object_pairs_hook=_checked_object)
            assert client.get_json("/stats/events", params) == expected
            defects = [d for record in expected for d in record.get(DEFECTS_FIELD, [])]
            pages.append((_MAYBE_DEFECTIVE.search(body) is not None, defects))
    all_defects = [d for _, found in pages for d in found]
    if kinds == ("invalid_unicode",):
        assert all_defects and set(all_defects) == {"city: invalid characters"}
        assert all(scan == bool(found) for scan, found in pages)  # scanned exactly where it was needed
        return
    if kinds == ("unicode_oddity",):  # valid text; an emoji's escaped surrogate pair forces the scan, harmlessly
        assert all_defects == [] and any(scan for scan, _ in pages)
        return
    assert not any(scan for scan, _ in pages)
    if kinds == ("duplicate_key",):
        assert all_defects and set(all_defects) == {"percent_viewed: duplicate key with different values"}
    else:
        assert all_defects == []

"""The Wistia API client: one paced, retried, credential-safe way to GET JSON and to page through lists.

Modelled on dlt's REST client: a thin layer over ``httpx`` whose only jobs are auth, pacing
(`pacing.Pacer`), retries (`retry.decide`), paging (``page``/``per_page`` until a short page) and turning
HTTP answers into the errors of `errors`. It returns records exactly as received (unknown fields kept);
parsing and checking them is left to later stages.

The token is sent only as an ``Authorization: Bearer`` header (never in a URL), is refused in query
parameters, and is scrubbed from any server text that reaches a log line or an exception.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from wistia_analytics import __version__
from wistia_analytics.redact import format_query, is_secret_name, redact_params, redact_text
from wistia_analytics.wistia.api_errors import (
    FatalConfigError,
    HostUnreachableError,
    InvalidJSONError,
    RequestBugError,
    RetriableError,
    RetriesExhaustedError,
    WistiaError,
    error_for_status,
)
from wistia_analytics.wistia.counters import ClientStats
from wistia_analytics.wistia.pacing import Clock, Pacer, Sleep
from wistia_analytics.wistia.retry import (
    DEFAULT_RETRY_POLICY,
    Action,
    Outcome,
    RetryPolicy,
    decide,
    describe,
    unreachable,
)

if TYPE_CHECKING:
    from wistia_analytics.settings import Settings

log = logging.getLogger("wistia_analytics.wistia")

MAX_PER_PAGE = 100  # Wistia caps per_page at 100 and defaults to 10 (§4 of the API reference)
DETAIL_LIMIT = 300  # characters of a server error body kept in an exception message

ParamValue = str | int | float | bool | None | Sequence[str | int]
Params = Mapping[str, ParamValue]


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: its 1-based number, its records, and the request that produced it."""

    number: int
    records: list[dict[str, Any]]
    path: str
    params: dict[str, Any]  # the query sent, secrets removed (includes page and per_page)


class WistiaClient:
    """A Wistia API v1 client; use it as a context manager, or call `close()`.

    Every HTTP attempt (retries included) waits for the shared `Pacer`; failures go through the
    `RetryPolicy`. `sleep` and `clock` are used by both, so tests can run both on a fake clock.
    Thread-safe: streams may share one client.
    """

    def __init__(
        self,
        base_url: str,
        token: str | SecretStr,
        *,
        requests_per_minute: int = 600,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        secret = _check_token(secret)
        self.base_url = _check_base_url(base_url)
        parts = urlsplit(self.base_url)
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)  # no user:password
        self.retry = retry
        self.stats = ClientStats()
        self.pacer = Pacer(requests_per_minute, clock=clock, sleep=sleep)
        self._token = SecretStr(secret)
        self._sleep = sleep
        self._rand = rand
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/json",
                "User-Agent": f"wistia-analytics/{__version__}",
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WistiaClient:
        """A client for `settings` (token, URL, request budget); `kwargs` go to the constructor."""
        if settings.wistia_api_token is None:
            raise FatalConfigError("WISTIA_API_TOKEN is not set")
        kwargs.setdefault("requests_per_minute", settings.wistia_requests_per_minute)
        return cls(settings.wistia_api_url, settings.wistia_api_token, **kwargs)

    # ---- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WistiaClient(base_url={self.base_url!r}, requests_per_minute={self.pacer.requests_per_minute})"

    # ---- public API -----------------------------------------------------------------------------
    def get_json(self, path: str, params: Params | None = None) -> Any:
        """GET `path` (relative to the base URL) and return the decoded JSON: one logical request."""
        return self._request("GET", path, _prepare(path, params))

    def paginate(
        self, path: str, params: Params | None = None, per_page: int = MAX_PER_PAGE, *, first_page: int = 1
    ) -> Iterator[Page]:
        """Yield the non-empty pages of a list endpoint, from page 1 until a short or empty page.

        Sends ``per_page`` explicitly (the API's default is 10). A page past the end is ``[]``, so a list
        whose size is an exact multiple of `per_page` costs one extra request; an empty list yields nothing.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be within [1, {MAX_PER_PAGE}]")
        base = _prepare(path, params)
        if "page" in base or "per_page" in base:
            raise ValueError("paginate() sets page and per_page itself; do not pass them in params")
        if first_page < 1:
            raise ValueError("first_page must be at least 1")
        previous: list[Any] | None = None
        number = first_page  # > 1: a resumed snapshot continues where a bounded run stopped
        while True:
            query = {**base, "page": number, "per_page": per_page}
            data = self._request("GET", path, query)
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise RequestBugError(
                    method="GET",
                    path=path,
                    params=query,
                    status=200,
                    detail="expected a JSON array of objects from a list endpoint",
                )
            if data and data == previous:
                raise RequestBugError(
                    method="GET",
                    path=path,
                    params=query,
                    status=200,
                    detail=f"page {number} repeats page {number - 1}; the endpoint seems to ignore `page`",
                )
            if data:
                yield Page(number=number, records=data, path=path, params=redact_params(query))
            if len(data) < per_page:
                return
            previous = data
            number += 1

    # ---- one logical request --------------------------------------------------------------------
    def _request(self, method: str, path: str, query: dict[str, ParamValue]) -> Any:
        target = _target(method, path, query)
        attempt = 0
        while True:
            attempt += 1
            self.pacer.acquire()
            self.stats.record_request()
            outcome: Outcome
            try:
                response = self._http.request(method, path, params=query)
            except Exception as exc:  # classified by the retry policy below
                outcome = exc
            else:
                self.stats.record_bytes(len(response.content))
                if response.is_success:
                    try:
                        return _decode(response, method, path)
                    except InvalidJSONError as exc:
                        outcome = exc
                else:
                    outcome = response
            decision = decide(self.retry, attempt, outcome, rand=self._rand)
            if decision.action is Action.UNREACHABLE:
                self.stats.record_fault(_fault_kind(outcome))
                raise HostUnreachableError(self._host, unreachable(outcome) or "refused") from None
            if decision.action is Action.FATAL:
                self._raise_fatal(outcome, method, path, query)
            if decision.throttled:
                self.stats.record_throttled()
            else:
                self.stats.record_fault(_fault_kind(outcome))
            reason = self._reason(outcome, decision.reason)
            if decision.action is Action.GIVE_UP:
                cause = self._safe_cause(outcome)
                where = target.removeprefix(f"{method} ")
                raise RetriesExhaustedError(method, where, attempts=attempt, last_cause=cause) from (
                    cause if isinstance(outcome, BaseException) else None
                )
            log.warning(
                "Retrying %s in %.2fs (attempt %d of %d failed: %s)",
                target,
                decision.delay,
                attempt,
                self.retry.max_attempts,
                reason,
            )
            self.stats.record_retry()
            if decision.throttled:
                self.pacer.defer(decision.delay)  # hold the other streams too
            if decision.delay > 0:
                self._sleep(decision.delay)

    def _raise_fatal(self, outcome: Outcome, method: str, path: str, query: dict[str, ParamValue]) -> NoReturn:
        if isinstance(outcome, httpx.Response):
            detail = self._scrub(_error_detail(outcome))
            raise error_for_status(outcome.status_code, method=method, path=path, params=query, detail=detail)
        if isinstance(outcome, WistiaError):
            raise outcome
        target = _target(method, path, query)
        safe = self._safe_cause(outcome)
        if safe is not outcome:  # the text held the token: do not chain the original
            raise WistiaError(f"{target}: {safe}") from None
        if isinstance(outcome, httpx.HTTPError):  # e.g. UnsupportedProtocol: a setup problem, not transient
            raise WistiaError(f"{target}: {describe(outcome)}: {outcome}") from outcome
        raise outcome  # a programming error: keep its type

    def _safe_cause(self, outcome: Outcome) -> BaseException:
        """The failure as an exception whose text is free of the token (a new one if needed)."""
        if isinstance(outcome, httpx.Response):
            status = outcome.status_code
            detail = self._scrub(_error_detail(outcome))
            message = f"HTTP {status}" + (f": {detail}" if detail else "")
            return RetriableError(message, status=status, kind=f"http_{status}")
        text = str(outcome)
        clean = self._scrub(text)
        if clean == text:
            return outcome
        return RetriableError(f"{type(outcome).__name__}: {clean}", kind=_fault_kind(outcome))

    def _reason(self, outcome: Outcome, reason: str) -> str:
        if isinstance(outcome, BaseException) and not isinstance(outcome, WistiaError):
            message = self._scrub(str(outcome))
            return f"{reason}: {message}" if message else reason
        return reason

    def _scrub(self, text: str) -> str:
        return redact_text(text, [self._token.get_secret_value()])


# ---- helpers -----------------------------------------------------------------------------------
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")


def _check_token(token: str) -> str:
    """The stripped token; refuses values that would break (and be echoed by) the HTTP header layer."""
    token = token.strip()
    if not token:
        raise FatalConfigError("WISTIA_API_TOKEN is empty")
    if not _TOKEN_CHARS.fullmatch(token):
        raise FatalConfigError("WISTIA_API_TOKEN contains spaces or non-printable characters")
    return token


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FatalConfigError(
            f"WISTIA_API_URL must be an http(s) URL such as https://api.wistia.com/v1, got {base_url!r}",
            setting="WISTIA_API_URL",
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        log.warning("WISTIA_API_URL uses plain http on a non-local host; the token travels unencrypted")
    return base_url.strip().rstrip("/")


def _prepare(path: str, params: Params | None) -> dict[str, ParamValue]:
    """Checked query parameters: no credentials, no None values; `path` must be relative and query-free."""
    if "://" in path or path.startswith("//"):
        raise ValueError("path must be relative to the client's base URL, not a full URL")
    if "?" in path or "#" in path:
        raise ValueError("pass query parameters through `params`, not in the path")
    query: dict[str, ParamValue] = {}
    for key, value in (params or {}).items():
        if is_secret_name(key):
            raise ValueError(f"do not pass credentials as query parameters ({key!r}); the client sends a header")
        if value is not None:
            query[key] = list(value) if isinstance(value, list | tuple) else value
    return query


def _target(method: str, path: str, query: Mapping[str, Any]) -> str:
    text = format_query(query)
    return f"{method} {path}" + (f"?{text}" if text else "")


DEFECTS_FIELD = "__defects__"  # added to an object the API sent malformed; Silver quarantines it
_BAD_CHARS = re.compile("[\ud800-\udfff\x00]")  # lone surrogates (not encodable) and NUL


def _checked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, noting defects json.loads would hide: duplicate keys, lone surrogates, NUL."""
    out: dict[str, Any] = {}
    defects: list[str] = []
    for key, value in pairs:
        if isinstance(value, str) and _BAD_CHARS.search(value):
            value = _BAD_CHARS.sub("\ufffd", value)
            defects.append(f"{key}: invalid characters")
        elif isinstance(value, list) and any(isinstance(v, str) and _BAD_CHARS.search(v) for v in value):
            value = [_BAD_CHARS.sub("\ufffd", v) if isinstance(v, str) else v for v in value]
            defects.append(f"{key}: invalid characters")
        elif isinstance(value, dict) and DEFECTS_FIELD in value:
            defects.extend(f"{key}.{d}" for d in value.pop(DEFECTS_FIELD))  # "visitor_identity.name: ..."
        if key in out and out[key] != value:
            defects.append(f"{key}: duplicate key with different values")
        out[key] = value
    if defects:
        out[DEFECTS_FIELD] = defects
    return out


def _unique_keys_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`_checked_object` for bodies known to hold no bad characters: only duplicate keys are left to catch."""
    out = dict(pairs)
    return out if len(out) == len(pairs) else _checked_object(pairs)


# What in a body's bytes can decode to a character `_BAD_CHARS` matches (a \u0000 or surrogate escape, a UTF-8
# encoded surrogate, or any NUL byte, which also covers UTF-16/32 bodies), or carry a defects field. A body
# without any of these skips `_checked_object`'s per-value scan (measured: ~17 -> ~11 us per event record).
_MAYBE_DEFECTIVE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])|\xed[\xa0-\xbf]|\x00|" + DEFECTS_FIELD.encode())


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    try:
        content = response.content
        hook = _checked_object if _MAYBE_DEFECTIVE.search(content) else _unique_keys_object
        return json.loads(content, object_pairs_hook=hook, parse_constant=_no_constants)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidJSONError(
            method,
            path,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            size=len(response.content),
        ) from None


def _error_detail(response: httpx.Response) -> str:
    """The server's own words about an error: ``{"error": ...}``/``{"errors": ...}`` or a short text body."""
    content_type = response.headers.get("content-type", "")
    detail = ""
    if response.is_redirect:
        detail = f"redirected to {response.headers.get('location', '?')} (check WISTIA_API_URL)"
    elif "json" in content_type:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict):
            found = body.get("error", body.get("errors"))
            detail = found if isinstance(found, str) else json.dumps(found) if found is not None else ""
    elif content_type.startswith("text/plain"):
        detail = response.text
    detail = " ".join(detail.split())
    return detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 3] + "..."


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _fault_kind(outcome: Outcome) -> str:
    """Counter key: ``http_<status>``, the error's `kind`, or the exception class in snake_case."""
    if isinstance(outcome, httpx.Response):
        return f"http_{outcome.status_code}"
    kind = getattr(outcome, "kind", None)
    if isinstance(kind, str) and kind:
        return kind
    return _CAMEL.sub("_", type(outcome).__name__).lower()

"""The Wistia API client: one paced, retried, credential-safe way to GET JSON and to page through lists.

Modelled on dlt's REST client: a thin layer over ``httpx`` whose only jobs are auth, pacing
(`pacing.Pacer`), retries (`retry.decide`), paging (``page``/``per_page`` until a short page) and turning
HTTP answers into the errors of `errors`. It returns records exactly as received (unknown fields kept);
parsing and checking them is left to later stages.

The token is sent only as an ``Authorization: Bearer`` header (never in a URL), is refused in query
parameters, and is scrubbed from any server text that reaches a log line or an exception.

Two roots, one client: the frozen v1 API (`base_url`) and the modern, date-versioned Data API (`modern_url`,
every request with ``X-Wistia-API-Version``); a request names its root with `api=Api.MODERN`. Both share the
pacing budget (Wistia's 600/min is per account), the retry policy and the counters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from wistia_analytics import __version__
from wistia_analytics.contracts.streams import Api
from wistia_analytics.redact import format_query, is_secret_name, redact_params, redact_text
from wistia_analytics.settings import NEWEST_API_VERSION, modern_url_for
from wistia_analytics.wistia import payload
from wistia_analytics.wistia.api_errors import (
    EndlessListError,
    FatalConfigError,
    HostUnreachableError,
    InvalidJSONError,
    ProtocolError,
    RequestDeadlineError,
    ResponseTooLargeError,
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
REQUEST_DEADLINE = 120.0  # seconds one attempt may take from sending to the body's last byte
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # decompressed bytes of one response body
MAX_PAGES = 100_000  # pages of one paged list (10M records at 100 a page) before it counts as endless
VERSION_HEADER = "X-Wistia-API-Version"  # sent on every modern request (and only there); echoed with the served one
_VERSION = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_SPAN_YEARS = 2  # the modern analytics' start_date..end_date may span at most 2 years (reference §2)
DEFECTS_FIELD = payload.DEFECTS_FIELD
_checked_object = payload.checked_object  # kept under their old names for the tests that compare decoders
_MAYBE_DEFECTIVE = payload.MAYBE_DEFECTIVE

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
    """A Wistia API client (v1 and the modern Data API); use it as a context manager, or call `close()`.

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
        request_deadline: float = REQUEST_DEADLINE,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_pages: int = MAX_PAGES,
        modern_url: str | None = None,
        api_version: str = NEWEST_API_VERSION,
    ) -> None:
        if not _VERSION.fullmatch(api_version):
            raise FatalConfigError(
                f"WISTIA_API_VERSION must look like 2026-03, got {api_version!r}", setting="WISTIA_API_VERSION"
            )
        if request_deadline <= 0 or max_response_bytes < 1 or max_pages < 1:
            raise ValueError("request_deadline, max_response_bytes and max_pages must be positive")
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        secret = _check_token(secret)
        self.base_url = _check_base_url(base_url)
        self.modern_url = _check_base_url(modern_url or modern_url_for(self.base_url), "WISTIA_MODERN_API_URL")
        self.api_version = api_version
        self._served: str | None = None  # the X-Wistia-API-Version of the last modern answer
        self._served_lock = threading.Lock()
        parts = urlsplit(self.base_url)
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)  # no user:password
        self.retry = retry
        self.stats = ClientStats()
        self.pacer = Pacer(requests_per_minute, clock=clock, sleep=sleep)
        self._token = SecretStr(secret)
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self.request_deadline = request_deadline
        self.max_response_bytes = max_response_bytes
        self.max_pages = max_pages
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/json",
                "User-Agent": f"wistia-analytics/{__version__}",
                "Accept-Encoding": "gzip, deflate",  # what `_BodyDecoder` undoes (with a size limit)
            },
            timeout=httpx.Timeout(min(timeout, request_deadline)),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WistiaClient:
        """A client for `settings` (token, URL, request budget); `kwargs` go to the constructor."""
        if settings.wistia_api_token is None:
            raise FatalConfigError("WISTIA_API_TOKEN is not set")
        kwargs.setdefault("requests_per_minute", settings.wistia_requests_per_minute)
        return cls(settings.wistia_api_url, settings.wistia_api_token, **{**limits_from_settings(settings), **kwargs})

    @property
    def served_api_version(self) -> str | None:
        """The release of the modern API that answered last (its response header; None: no modern answer yet)."""
        with self._served_lock:
            return self._served

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
    def get_json(self, path: str, params: Params | None = None, *, api: Api = Api.V1) -> Any:
        """GET `path` (relative to the root of `api`) and return the decoded JSON: one logical request."""
        query = _prepare(path, params)
        if api is Api.MODERN:
            _check_span(path, query)
        return self._fetch("GET", path, query, api)[0]

    def paginate_cursor(
        self, path: str, params: Params | None = None, per_page: int = MAX_PER_PAGE, max_pages: int | None = None
    ) -> Iterator[Page]:
        """Yield the non-empty pages of a modern cursor-paged list (``{"data": [...], "page_info": {...}}``).

        Follows ``page_info.end_cursor`` while ``has_next_page`` is true. Never pages forever: a cursor seen
        before, or a page past `max_pages` (default: the client's), raises `EndlessListError` after the pages
        before it were yielded; a body of another shape raises `ProtocolError`. Page numbers count from 1.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be within [1, {MAX_PER_PAGE}]")
        limit = self.max_pages if max_pages is None else max_pages
        base = _prepare(path, params)
        if "cursor" in base or "per_page" in base:
            raise ValueError("paginate_cursor() sets cursor and per_page itself; do not pass them in params")
        _check_span(path, base)
        seen: set[str] = set()
        cursor: str | None = None
        number = 1
        while True:
            if number > limit:
                raise EndlessListError(path, f"more than {limit} pages (the bound for this list)")
            query = {**base, "per_page": per_page, **({"cursor": cursor} if cursor else {})}
            data = self._fetch("GET", path, query, Api.MODERN)[0]
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise ProtocolError(
                    f"GET {path}: page {number} is {payload.json_type(data)} without a `data` array",
                    kind="unexpected_shape",
                )
            if rows:
                yield Page(number=number, records=payload.as_records(rows), path=path, params=redact_params(query))
            info = data.get("page_info")
            if not isinstance(info, dict) or info.get("has_next_page") is not True:
                return
            following = info.get("end_cursor")
            if not isinstance(following, str) or not following:
                raise ProtocolError(
                    f"GET {path}: page {number} has a next page but no end_cursor", kind="unexpected_shape"
                )
            if following in seen or following == cursor:
                raise EndlessListError(path, f"page {number} points back to a cursor already followed")
            seen.add(following)
            cursor = following
            number += 1

    def paginate(
        self,
        path: str,
        params: Params | None = None,
        per_page: int = MAX_PER_PAGE,
        max_pages: int | None = None,
        *,
        first_page: int = 1,
    ) -> Iterator[Page]:
        """Yield the non-empty pages of a list endpoint, from `first_page` (default 1) until a short or empty page.

        Sends ``per_page`` explicitly (the API's default is 10). A page past the end is ``[]``, so a list
        whose size is an exact multiple of `per_page` costs one extra request; an empty list yields nothing.

        Never pages forever: a page whose body repeats an earlier page's, or a page past `max_pages` (default:
        the client's), raises `EndlessListError` after the pages before it were yielded. A body that is not an
        array raises `ProtocolError`; elements that are not objects become raw-with-defect records.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be within [1, {MAX_PER_PAGE}]")
        limit = self.max_pages if max_pages is None else max_pages
        base = _prepare(path, params)
        if "page" in base or "per_page" in base:
            raise ValueError("paginate() sets page and per_page itself; do not pass them in params")
        if first_page < 1:
            raise ValueError("first_page must be at least 1")
        seen: dict[bytes, int] = {}
        number = first_page  # > 1: a resumed snapshot continues where a bounded run stopped
        while True:
            if number > limit:
                raise EndlessListError(path, f"more than {limit} pages (the bound for this list)")
            query = {**base, "page": number, "per_page": per_page}
            data, body = self._fetch("GET", path, query)
            if not isinstance(data, list):
                raise ProtocolError(
                    f"GET {path}: page {number} is {payload.json_type(data)} where the API returns an array",
                    kind="unexpected_shape",
                )
            if data:
                digest = hashlib.blake2b(body, digest_size=16).digest()
                if digest in seen:
                    raise EndlessListError(path, f"page {number} repeats page {seen[digest]}")
                seen[digest] = number
                yield Page(number=number, records=payload.as_records(data), path=path, params=redact_params(query))
            if len(data) < per_page:
                return
            number += 1

    # ---- one logical request --------------------------------------------------------------------
    def _request(self, method: str, path: str, query: dict[str, ParamValue]) -> Any:
        return self._fetch(method, path, query)[0]

    def _fetch(self, method: str, path: str, query: dict[str, ParamValue], api: Api = Api.V1) -> tuple[Any, bytes]:
        """The decoded JSON of one logical request and the body it came from."""
        target = _target(method, path, query)
        attempt = 0
        while True:
            attempt += 1
            self.pacer.acquire()
            self.stats.record_request()
            outcome: Outcome
            try:
                response = self._exchange(method, path, query, api)
            except Exception as exc:  # classified by the retry policy below
                outcome = exc
            else:
                self.stats.record_bytes(len(response.content))
                if response.is_success:
                    try:
                        return _decode(response, method, path), response.content
                    except InvalidJSONError as exc:
                        outcome = exc
                else:
                    outcome = response
            decision = decide(self.retry, attempt, outcome, rand=self._rand)
            if decision.action is Action.UNREACHABLE:
                self.stats.record_fault(_fault_kind(outcome))
                raise HostUnreachableError(self._host, unreachable(outcome) or "refused") from None
            if decision.action is Action.FATAL:
                self._raise_fatal(outcome, method, path, query, modern=api is Api.MODERN)
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

    def _exchange(self, method: str, path: str, query: dict[str, ParamValue], api: Api = Api.V1) -> httpx.Response:
        """One attempt, bounded: the whole exchange within `request_deadline` seconds (checked as each chunk of
        the body arrives; a single read waits at most the socket timeout, itself capped by the deadline), and the
        decoded body within `max_response_bytes`. Returns the response with its (decoded) body read."""
        deadline = self._clock() + self.request_deadline
        url, headers = path, {}
        if api is Api.MODERN:  # an absolute URL: httpx leaves it as is instead of joining it to base_url
            url, headers = self.modern_url + path, {VERSION_HEADER: self.api_version}
        with self._http.stream(method, url, params=query, headers=headers) as response:
            if api is Api.MODERN:
                self._note_served(response)
            if response.is_stream_consumed:  # an in-memory transport (tests) hands over a body already read
                if len(response.content) > self.max_response_bytes:
                    raise ResponseTooLargeError(method, path, limit=self.max_response_bytes)
                return response
            decoder = _BodyDecoder(response.headers.get("content-encoding", ""), self.max_response_bytes)
            for chunk in response.iter_raw():
                if not decoder.feed(chunk):
                    raise ResponseTooLargeError(method, path, limit=self.max_response_bytes)
                if self._clock() > deadline:
                    raise RequestDeadlineError(method, path, deadline=self.request_deadline, received=decoder.size)
            body = decoder.body()
            if decoder.size > self.max_response_bytes:
                raise ResponseTooLargeError(method, path, limit=self.max_response_bytes)
        response._content = body  # what `Response.read()` would have set, decoded under our limits
        return response

    def _note_served(self, response: httpx.Response) -> None:
        served = response.headers.get(VERSION_HEADER, "").strip()
        if _VERSION.fullmatch(served):  # anything else is not a version worth recording
            with self._served_lock:
                self._served = served

    def _raise_fatal(
        self, outcome: Outcome, method: str, path: str, query: dict[str, ParamValue], *, modern: bool = False
    ) -> NoReturn:
        if isinstance(outcome, httpx.Response):
            detail = self._scrub(_error_detail(outcome))
            raise error_for_status(
                outcome.status_code, method=method, path=path, params=query, detail=detail, modern=modern
            )
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
def limits_from_settings(settings: Settings) -> dict[str, Any]:
    """The client's bounds and modern API options as the settings give them (constructor keyword arguments).

    `modern_url` is WISTIA_MODERN_API_URL only when set: unset, the client derives it from the v1 root it is
    given, which may be an embedded sandbox's rather than WISTIA_API_URL."""
    modern = (settings.wistia_modern_api_url or "").strip()
    return {
        "request_deadline": settings.wistia_request_deadline_seconds,
        "max_response_bytes": settings.wistia_max_response_bytes,
        "max_pages": settings.wistia_max_pages,
        "modern_url": modern.rstrip("/") or None,
        "api_version": settings.wistia_api_version,
    }


_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")


def _check_token(token: str) -> str:
    """The stripped token; refuses values that would break (and be echoed by) the HTTP header layer."""
    token = token.strip()
    if not token:
        raise FatalConfigError("WISTIA_API_TOKEN is empty")
    if not _TOKEN_CHARS.fullmatch(token):
        raise FatalConfigError("WISTIA_API_TOKEN contains spaces or non-printable characters")
    return token


def _check_base_url(base_url: str, setting: str = "WISTIA_API_URL") -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        example = "https://api.wistia.com/modern" if setting != "WISTIA_API_URL" else "https://api.wistia.com/v1"
        raise FatalConfigError(f"{setting} must be an http(s) URL such as {example}, got {base_url!r}", setting=setting)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        log.warning("%s uses plain http on a non-local host; the token travels unencrypted", setting)
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


def max_end_date(start: date) -> date:
    """The last `end_date` the modern analytics accept for `start` (2 calendar years on; 29 Feb -> 28 Feb)."""
    try:
        return start.replace(year=start.year + MAX_SPAN_YEARS)
    except ValueError:
        return start.replace(year=start.year + MAX_SPAN_YEARS, day=28)


def _check_span(path: str, query: Mapping[str, Any]) -> None:
    """Refuse (as a bug of the caller, never sent) a modern date range over 2 years: callers split windows."""
    start, end = query.get("start_date"), query.get("end_date")
    if start is None or end is None:
        return
    first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    if last > max_end_date(first):
        raise ValueError(f"GET {path}: {first}..{last} spans more than {MAX_SPAN_YEARS} years; split the range")


def _target(method: str, path: str, query: Mapping[str, Any]) -> str:
    text = format_query(query)
    return f"{method} {path}" + (f"?{text}" if text else "")


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return payload.decode(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidJSONError(
            method,
            path,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            size=len(response.content),
        ) from None


class _BodyDecoder:
    """Undoes a body's ``Content-Encoding`` while it streams in, never producing more than `limit` bytes.

    httpx's own decoders inflate a whole network chunk at once (a 64 KB chunk of a gzip bomb is ~500 MB), so the
    client reads raw bytes and inflates them here with zlib's ``max_length``.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.chunks: list[bytes] = []
        coding = encoding.strip().lower()
        if coding in ("", "identity"):
            self._zlib: Any = None
        elif coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise RetriableError(f"unsupported Content-Encoding {coding[:40]!r}", kind="bad_encoding")
        self._raw_deflate_tried = coding != "deflate"

    def feed(self, data: bytes) -> bool:
        """Add raw bytes; False once the decoded body would exceed the limit (reading should stop)."""
        if self._zlib is None:
            return self._keep(data)
        while data:
            try:
                out = self._zlib.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                if not self._raw_deflate_tried and self.size == 0:  # "deflate" sent without its zlib header
                    self._raw_deflate_tried = True
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise RetriableError(f"the body could not be decompressed: {exc}", kind="bad_encoding") from None
            if not self._keep(out):
                return False
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:
                break
        return True

    def _keep(self, data: bytes) -> bool:
        self.size += len(data)
        if self.size > self.limit:
            return False
        self.chunks.append(data)
        return True

    def body(self) -> bytes:
        if self._zlib is not None and not self._zlib.eof:
            self._keep(self._zlib.flush())
        return b"".join(self.chunks)


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

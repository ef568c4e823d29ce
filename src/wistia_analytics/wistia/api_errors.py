"""Errors of the Wistia client, named for what the caller should do about them.

Modelled on singer-sdk's ``FatalAPIError``/``RetriableAPIError`` split: the class tells the caller how
to recover (fix the config, retry later, skip one item, file a bug), so callers catch by recovery, not
by HTTP status. No message built here ever contains a credential: the client scrubs server text before
it reaches these classes, and request parameters are shown redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wistia_analytics.errors import ConfigurationError, ExitCode, UnavailableError, WistiaAnalyticsError
from wistia_analytics.redact import format_query, redact_params

TOKEN_SETTING = "WISTIA_API_TOKEN"  # noqa: S105 - the name of the setting, not a secret


class WistiaError(WistiaAnalyticsError):
    """Base class of every error the Wistia client raises on purpose (under the product's one root)."""


class FatalConfigError(WistiaError, ConfigurationError):
    """The credentials or settings are wrong (401/403, missing token): stop the run, fix the config."""

    exit_code = ExitCode.CONFIG

    def __init__(self, reason: str, *, status: int | None = None, setting: str = TOKEN_SETTING) -> None:
        self.status = status
        self.setting = setting
        super().__init__(f"{reason.rstrip('.')}. Check the {setting} setting (environment variable or .env).")


ANALYTICS_PERMISSION = "Read detailed stats"  # what Wistia's modern analytics endpoints require of a token


class AnalyticsAccessError(FatalConfigError):
    """403 from the modern Data API: the token lacks the "Read detailed stats" permission.

    Fatal for the analytics streams only: the ingestor catches it and skips them (the v1 streams, which need no
    such permission, are not affected). Still a `FatalConfigError`, so anything else that meets it stops.
    """

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        reason = (
            "Wistia's modern analytics API refused this API token (HTTP 403"
            + (f": {detail}" if detail else "")
            + f"): give the token the '{ANALYTICS_PERMISSION}' permission (Wistia: Account Settings -> API), "
            "or set INGEST_ANALYTICS=false to ingest the v1 streams only"
        )
        super().__init__(reason, status=403)


class HostUnreachableError(FatalConfigError):
    """The API host does not resolve (a wrong URL, or no network) or refuses connections: not retried.

    A configuration error (exit 2) since it stops the run at its first request; the message names the host
    (never the token) and the setting to check.
    """

    def __init__(self, host: str, why: str) -> None:
        self.host = host
        self.why = why
        reason = (
            f"cannot resolve the API host {host} (DNS lookup failed: a wrong URL, or no network)"
            if why == "dns"
            else f"the API host {host} refused the connection (nothing listens there: a wrong URL or port, "
            "or the server is not running)"
        )
        super().__init__(reason, setting="WISTIA_API_URL")


class RetriableError(WistiaError, UnavailableError):
    """A transient failure (5xx, throttling, broken connection, unreadable body): trying again may work."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, status: int | None = None, kind: str | None = None) -> None:
        self.status = status
        self.kind = kind
        super().__init__(message)


class InvalidJSONError(RetriableError):
    """A complete response whose body is not JSON (cut by a proxy, an HTML error page with status 200)."""

    def __init__(self, method: str, path: str, *, status: int, content_type: str, size: int) -> None:
        self.method = method
        self.path = path
        super().__init__(
            f"{method} {path}: HTTP {status} body is not valid JSON ({content_type or 'no content type'}, "
            f"{size} bytes)",
            status=status,
            kind="invalid_json",
        )


class RequestDeadlineError(RetriableError):
    """One attempt ran past its total deadline (a body trickling in, a server that never finishes): retried."""

    def __init__(self, method: str, path: str, *, deadline: float, received: int) -> None:
        self.method = method
        self.path = path
        super().__init__(
            f"{method} {path}: no complete answer within the {deadline:g}s request deadline "
            f"({received} bytes received)",
            kind="request_deadline",
        )


class ProtocolError(WistiaError):
    """The API answered 200 with something a well-behaved API never sends: its fault, not ours (no bug report).

    A JSON object where a list endpoint returns an array, a body over the size limit, a list that never ends
    (repeated pages, more pages than the bound). Not retried: the same request would get the same answer. The
    stream (or the one media) fails with the reason recorded; the run goes on and ends `partial` (exit 3).
    """

    exit_code = ExitCode.PARTIAL

    def __init__(self, message: str, *, kind: str) -> None:
        self.kind = kind
        super().__init__(message)


class ResponseTooLargeError(ProtocolError):
    """A response whose (decompressed) body exceeds the size limit; reading stopped at the limit."""

    def __init__(self, method: str, path: str, *, limit: int) -> None:
        self.method = method
        self.path = path
        super().__init__(
            f"{method} {path}: the response body exceeds {limit} bytes (decompressed); reading stopped there",
            kind="response_too_large",
        )


class EndlessListError(ProtocolError):
    """A paged list that does not end: a page repeating an earlier one, or more pages than its bound."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"GET {path}: {reason}; stopped paging", kind="endless_list")


class RetriesExhaustedError(WistiaError, UnavailableError):
    """The bounded retries for one request were all used up; `last_cause` is the final failure."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, method: str, path: str, *, attempts: int, last_cause: BaseException) -> None:
        self.method = method
        self.path = path
        self.attempts = attempts
        self.last_cause = last_cause
        cause = str(last_cause) or type(last_cause).__name__
        super().__init__(f"{method} {path}: gave up after {attempts} attempts; last error: {cause}")


class _RequestError(WistiaError):
    """Shared shape of errors about one request: method, path, redacted params, status, server detail."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        status: int | None,
        detail: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.params = redact_params(params)
        self.status = status
        self.detail = detail
        super().__init__(self._message())

    @property
    def target(self) -> str:
        """``METHOD path?query`` with secrets removed, for messages and logs."""
        query = format_query(self.params)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")

    def _message(self) -> str:
        return f"{self.target}: HTTP {self.status}" + (f": {self.detail}" if self.detail else "")


class NotFoundError(_RequestError):
    """404 on one resource (a deleted media, an expired event): record it and skip that item."""

    exit_code = ExitCode.PARTIAL

    def __init__(self, *, method: str, path: str, params: Mapping[str, Any] | None = None, detail: str = "") -> None:
        super().__init__(method=method, path=path, params=params, status=404, detail=detail)

    def _message(self) -> str:
        return f"{self.target}: not found (HTTP 404)" + (f": {self.detail}" if self.detail else "")


class RequestBugError(_RequestError):
    """422 or another unexpected answer: the request we built is wrong. The message is a bug report."""

    exit_code = ExitCode.FAILURE

    def _message(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else "an unexpected answer"
        return (
            f"Wistia answered {what} to {self.target}"
            + (f": {self.detail}" if self.detail else "")
            + ". The client built a request the API does not accept; please report this message as a bug."
        )


def error_for_status(
    status: int, *, method: str, path: str, params: Mapping[str, Any] | None, detail: str, modern: bool = False
) -> WistiaError:
    """The error to raise for a non-retriable HTTP status (`detail` must already be scrubbed); `modern`: the
    request went to the modern Data API, where a 403 means the missing analytics permission."""
    if status == 403 and modern:
        return AnalyticsAccessError(detail)
    if status in (401, 403):
        what = "rejected the API token" if status == 401 else "refused the request for this API token"
        reason = f"Wistia {what} (HTTP {status}" + (f": {detail}" if detail else "") + ")"
        return FatalConfigError(reason, status=status)
    if status == 404:
        return NotFoundError(method=method, path=path, params=params, detail=detail)
    return RequestBugError(method=method, path=path, params=params, status=status, detail=detail)

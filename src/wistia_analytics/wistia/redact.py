"""Removing credentials from anything the client shows: error messages, log lines, page metadata.

Kept in one place so every output path (exceptions, logs, `Page.params`) uses the same list of secret
names; a secret that reaches a message through a new path is then a one-line fix here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

REDACTED = "***"

# Query parameters Wistia accepts as credentials (legacy forms, §2.2 of the API reference).
SECRET_PARAMS = frozenset({"api_password", "access_token"})
# Headers that carry credentials.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def is_secret_param(name: str) -> bool:
    """True for query parameter names that carry a credential (case-insensitive)."""
    return name.lower() in SECRET_PARAMS


def redact_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `params` with credential values replaced by ``***`` (other values unchanged)."""
    if not params:
        return {}
    return {k: (REDACTED if is_secret_param(k) else v) for k, v in params.items()}


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of `headers` with ``Authorization`` (and similar) values replaced by ``***``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in items}


def format_query(params: Mapping[str, Any] | None) -> str:
    """A readable, redacted query string (``a=1&b=x``) for messages; lists repeat the key."""
    safe = redact_params(params)
    pairs: list[tuple[str, str]] = []
    for key, value in safe.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs, safe="[]/:,*")


def scrub(text: str, *secrets: str) -> str:
    """`text` with every occurrence of each non-empty secret replaced by ``***``.

    Used on text that comes from outside (server error bodies, transport error messages) before it is
    put into an exception or a log line, in case a server or proxy ever echoes a credential.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text

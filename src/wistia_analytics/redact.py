"""Keeping credentials out of every output: error messages, log lines, page metadata and the lake.

One list of secret names and one ``***`` marker for the Wistia client (exceptions, logs, `Page.params`)
and the lake (Bronze lineage, run records, lock files). The lake is kept for years and read by many
people, so a token written once is leaked for good; a secret that reaches an output through a new path
is then a one-line fix here.

Two ways to clean a mapping exist on purpose:

- `redact_params` keeps every key and masks credential *values* with ``***``. Used in error messages,
  where seeing that a credential was passed (and under which name) helps debugging.
- `drop_secret_keys` removes credential *keys* altogether, recursively. Used for what the lake stores
  (Bronze lineage, run records): a stored ``***`` carries no information and only invites questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

REDACTED = "***"

# Names (query params, mapping keys, headers) that carry a credential, lower case with ``_`` for ``-``:
# Wistia's legacy credential query params (api_password, access_token, §2.2 of the API reference),
# the credential headers, and common generic names.
SECRET_NAMES = frozenset(
    {
        "api_password",
        "access_token",
        "api_token",
        "wistia_api_token",
        "token",
        "password",
        "authorization",
        "proxy_authorization",
        "cookie",
    }
)

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\"?\s*[:=]\s*\"?)(?!\s*\"?bearer\b)([^\r\n\"',}]+)")
_KEY_VALUE = re.compile(
    r"(?i)\b(api_password|access_token|api_token|wistia_api_token|password)"
    r"(\"?\s*[:=]\s*\"?)([^\s&\"',;}]+)"
)
_CLI_FLAG = re.compile(r"(?i)(--[a-z-]*(?:token|password)(?:=|\s+))(\S+)")


def is_secret_name(name: str) -> bool:
    """True for param / key / header names that carry a credential (case-insensitive, ``-`` = ``_``)."""
    return name.lower().replace("-", "_") in SECRET_NAMES


def redact_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `params` with credential values replaced by ``***`` (keys and other values unchanged).

    For messages; to store params, use `drop_secret_keys` (see the module docstring).
    """
    if not params:
        return {}
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in params.items()}


def drop_secret_keys(value: Any) -> Any:
    """A copy of `value` with credential keys removed from every mapping inside it.

    For what the lake stores; to show params in a message, use `redact_params` (see the module docstring).
    """
    if isinstance(value, Mapping):
        return {k: drop_secret_keys(v) for k, v in value.items() if not is_secret_name(str(k))}
    if isinstance(value, list | tuple):
        return [drop_secret_keys(v) for v in value]
    return value


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of `headers` with ``Authorization`` (and similar) values replaced by ``***``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in items}


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


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values and credential-looking fragments replaced by ``***``.

    Every occurrence of each non-empty value in `secrets` is replaced: pass the actual secret values
    when you have them, that is the reliable part. Also catches ``access_token=...`` in URLs,
    ``Authorization: Bearer ...`` and ``--token ...`` flags. Used on free-form text before it reaches an
    exception, a log line or the lake (server error bodies, transport errors, commands, run errors), in
    case a server, proxy or caller ever echoes a credential.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{REDACTED}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _CLI_FLAG.sub(lambda m: f"{m[1]}{REDACTED}", text)

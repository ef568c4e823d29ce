"""Keeping credentials out of everything the lake stores (Bronze lineage, run records, lock files).

The lake is kept for years and read by many people; a token written once is leaked for good. So every
writer passes free-form input (request params, error messages, commands, extra metadata) through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"

# Wistia's credential query params (api_password, access_token) plus common generic names.
SECRET_KEYS = frozenset(
    {"api_password", "access_token", "api_token", "wistia_api_token", "token", "password", "authorization"}
)

_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\"?\s*[:=]\s*\"?)(?!\s*\"?bearer\b)([^\r\n\"',}]+)")
_KEY_VALUE = re.compile(
    r"(?i)\b(api_password|access_token|api_token|wistia_api_token|password)"
    r"(\"?\s*[:=]\s*\"?)([^\s&\"',;}]+)"
)
_CLI_FLAG = re.compile(r"(?i)(--[a-z-]*(?:token|password)(?:=|\s+))(\S+)")


def is_secret_key(key: str) -> bool:
    """True for mapping keys / query params that carry a credential (case-insensitive)."""
    return key.lower().replace("-", "_") in SECRET_KEYS


def drop_secret_keys(value: Any) -> Any:
    """A copy of `value` with credential keys removed from every mapping inside it."""
    if isinstance(value, Mapping):
        return {k: drop_secret_keys(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list | tuple):
        return [drop_secret_keys(v) for v in value]
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values and credential-looking fragments replaced by ``***``.

    Catches ``access_token=...`` in URLs, ``Authorization: Bearer ...`` and ``--token ...`` flags;
    pass the actual secret values too when you have them, that is the reliable part.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{REDACTED}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _CLI_FLAG.sub(lambda m: f"{m[1]}{REDACTED}", text)

"""Which API a run talks to: the real Wistia API, a sandbox you started, or an embedded one the caller provides.

- `WISTIA_API_TOKEN` set: that token against `WISTIA_API_URL` (the real API unless overridden).
- No token, `WISTIA_API_URL` pointing elsewhere: a sandbox you run, with its documented default token.
- No token, default URL: the embedded default, if the entry point offers one (`embedded`): the command line
  and the demo pass `pipeline.embedded_sandbox.open_embedded_sandbox`; the ingest Lambda passes nothing, so it
  never loads the sandbox, and a missing token there is a configuration error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date

from pydantic import SecretStr

from wistia_analytics.contracts.sandbox_api import DEFAULT_TOKEN
from wistia_analytics.lake.storage import Storage
from wistia_analytics.settings import REAL_API_URL, Settings
from wistia_analytics.wistia.api_errors import FatalConfigError


@dataclass(frozen=True)
class Source:
    """Where to send requests and with which token; `kind` says which of the three cases it is."""

    base_url: str
    token: SecretStr
    kind: str  # "wistia" | "sandbox" | "embedded-sandbox"
    requests_per_minute: int


# (settings, storage, today) -> a running embedded API for the duration of the run
EmbeddedSource = Callable[[Settings, Storage, date | None], AbstractContextManager[Source]]


@contextmanager
def open_source(
    settings: Settings, storage: Storage, *, today: date | None = None, embedded: EmbeddedSource | None = None
) -> Iterator[Source]:
    """Yield the source for this run, starting (and later stopping) the embedded one if needed."""
    if settings.wistia_api_token is not None:
        kind = "wistia" if settings.uses_real_api else "sandbox"
        yield Source(settings.wistia_api_url, settings.wistia_api_token, kind, settings.wistia_requests_per_minute)
        return
    if settings.wistia_api_url.rstrip("/") != REAL_API_URL:
        yield Source(settings.wistia_api_url, SecretStr(DEFAULT_TOKEN), "sandbox", settings.wistia_requests_per_minute)
        return
    if embedded is None:
        raise FatalConfigError("no API token is set, and this entry point has no built-in sandbox")
    with embedded(settings, storage, today) as source:
        yield source

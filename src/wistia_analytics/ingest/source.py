"""Which API a run talks to: the real Wistia API, a sandbox you started, or the built-in one.

- `WISTIA_API_TOKEN` set: that token against `WISTIA_API_URL` (the real API unless overridden).
- No token, `WISTIA_API_URL` pointing elsewhere: a sandbox you run, with its documented default token.
- No token, default URL: the embedded default. A sandbox starts in-process on a free port. Its account is
  anchored on a first day stored in the lake (`_state/sandbox.json`), so runs on later days see the same
  account grown by new days, as a real account would.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import SecretStr

from wistia_analytics.lake.storage import Storage
from wistia_analytics.sandbox import DEFAULT_TOKEN, SIZES, SandboxConfig, run_sandbox
from wistia_analytics.settings import REAL_API_URL, Settings

log = logging.getLogger(__name__)
SANDBOX_ANCHOR = "_state/sandbox.json"


@dataclass(frozen=True)
class Source:
    """Where to send requests and with which token; `kind` says which of the three cases it is."""

    base_url: str
    token: SecretStr
    kind: str  # "wistia" | "sandbox" | "embedded-sandbox"
    requests_per_minute: int


def _anchor(storage: Storage, size: str, seed: int, today: date) -> date:
    """The embedded sandbox's first day: stored on first use, reused afterwards."""
    if storage.exists(SANDBOX_ANCHOR):
        doc = json.loads(storage.read_bytes(SANDBOX_ANCHOR))
        if doc.get("size") == size and doc.get("seed") == seed:
            return date.fromisoformat(doc["history_start"])
    start = today - timedelta(days=SIZES[size].history_days - 1)
    doc = {"size": size, "seed": seed, "history_start": start.isoformat()}
    storage.write_bytes(SANDBOX_ANCHOR, json.dumps(doc, indent=2).encode())
    return start


@contextmanager
def open_source(settings: Settings, storage: Storage, *, today: date | None = None) -> Iterator[Source]:
    """Yield the source for this run, starting (and later stopping) the embedded sandbox if needed."""
    if settings.wistia_api_token is not None:
        kind = "wistia" if settings.uses_real_api else "sandbox"
        yield Source(settings.wistia_api_url, settings.wistia_api_token, kind, settings.wistia_requests_per_minute)
        return
    if settings.wistia_api_url.rstrip("/") != REAL_API_URL:
        yield Source(settings.wistia_api_url, SecretStr(DEFAULT_TOKEN), "sandbox", settings.wistia_requests_per_minute)
        return
    run_today = today or date.today()
    start = _anchor(storage, settings.sandbox_size, settings.sandbox_seed, run_today)
    config = SandboxConfig(
        seed=settings.sandbox_seed,
        size=settings.sandbox_size,  # type: ignore[arg-type]
        today=today,
        history_start=start,
        rate_limit_per_minute=0,
    )
    with run_sandbox(config) as sandbox:
        log.info("no WISTIA_API_TOKEN set: using the built-in sandbox at %s", sandbox.base_url)
        # A local sandbox answers in milliseconds and has no account budget: pacing would only slow the demo.
        yield Source(sandbox.base_url, SecretStr(sandbox.token), "embedded-sandbox", 100_000)

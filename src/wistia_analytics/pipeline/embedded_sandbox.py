"""The embedded default: no token, no cloud, so a sandbox starts in-process on a free port for the run.

Its account is anchored on a first day stored in the lake (`_state/sandbox.json`), so runs on later days see
the same account grown by new days, as a real account would. Only entry points that offer the embedded default
import this module (the command line, the demo); the ingest Lambda does not, so its zip holds no sandbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from pydantic import SecretStr

from wistia_analytics.ingest.source import Source
from wistia_analytics.lake.storage import Storage
from wistia_analytics.sandbox.config import SIZES, SandboxConfig
from wistia_analytics.sandbox.server import run_sandbox
from wistia_analytics.settings import Settings

log = logging.getLogger(__name__)
SANDBOX_ANCHOR = "_state/sandbox.json"


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
def open_embedded_sandbox(settings: Settings, storage: Storage, today: date | None) -> Iterator[Source]:
    """Start the built-in sandbox for one run (stopped when the run ends)."""
    start = _anchor(storage, settings.sandbox_size, settings.sandbox_seed, today or date.today())
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

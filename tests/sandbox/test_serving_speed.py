"""The sandbox's serving caches change no byte: pinned bodies, cold and warm, and fresh payloads every time.

The hashes were taken from the sandbox before it cached thumbnails and day counts and drew visitor profiles
with scalar arithmetic; a change to the draws (sessions.py, payloads.py) changes every account and must update
them on purpose.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from tests.conftest import api_client
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.sandbox.truth import EventRef

TODAY = date(2026, 11, 25)
PINNED: list[tuple[str, dict[str, Any], str]] = [
    ("/stats/events.json", {"start_date": "2026-11-20", "end_date": "2026-11-20", "page": 1}, "7515c8dea2f21ff5"),
    ("/stats/events.json", {"start_date": "2026-11-20", "end_date": "2026-11-20", "page": 3}, "353a9787a62b1e37"),
    ("/stats/events.json", {"start_date": "2026-06-10", "end_date": "2026-06-10", "page": 2}, "ec9804946bcfb366"),
    ("/stats/events.json", {"page": 1}, "2e172ccf6764676e"),
    ("/stats/visitors.json", {"page": 2}, "385b5f91e50cfbd8"),
    ("/stats/visitors.json", {"filter": "has_email"}, "1424dd423584fef8"),
]


def test_bodies_are_the_pinned_bytes_cold_and_warm() -> None:
    config = SandboxConfig(size="small", seed=42, today=TODAY, rate_limit_per_minute=0)
    with run_sandbox(config) as sb, api_client(sb) as api:
        for round_ in ("cold", "warm"):
            for path, params, digest in PINNED:
                body = api.get(path, params=params | {"per_page": 100}).content
                assert hashlib.sha256(body).hexdigest()[:16] == digest, (round_, path, params)
        assert len(sb.app.routes.render._thumbnails) == 20  # the warm round used the cached thumbnails


def test_every_event_payload_is_a_fresh_object() -> None:
    """Fault injection edits payloads in place: a cached part must never leak an edit into the next one."""
    config = SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0)
    with run_sandbox(config) as sb:
        account, render = sb.account, sb.app.routes.render
        cells = (
            account.cell(m.index, d)
            for d in range(TODAY.toordinal() - 5, TODAY.toordinal())
            for m in account.catalog.medias
        )
        cell = next(c for c in cells if c.size and c.day >= account.catalog.medias[c.media].created_day)
        first = render.event(EventRef(cell, 0))
        expected = repr(first)
        for value in first.values():
            if isinstance(value, dict):
                value["edited"] = True
        first["city"] = "edited"
        assert repr(render.event(EventRef(cell, 0))) == expected

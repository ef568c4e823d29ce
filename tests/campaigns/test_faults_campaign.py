"""API-fault campaign, reduced: every fault kind (429 included) over real HTTP, zero lost, zero duplicated."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from benchmarks.campaign_faults import campaign

from tests.conftest import api_client
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
from wistia_analytics.sandbox.config import ALL_FAULT_KINDS

pytestmark = pytest.mark.slow
TODAY = date(2026, 11, 25)


def test_http_429_fault_carries_the_configured_retry_after() -> None:
    config = SandboxConfig(
        size="tiny",
        today=TODAY,
        rate_limit_per_minute=0,
        faults=1.0,
        fault_kinds=("http_429",),
        fault_retry_after_seconds=2,
    )
    with run_sandbox(config) as sb, api_client(sb) as api:
        resp = api.get("/medias.json")
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "2"
        assert resp.text == "Rate limit exceeded"
        assert sb.stats()["faults"] == {"http_429": 1}


def test_fault_campaign_loses_and_duplicates_nothing() -> None:
    # Medias and 60 days of events of the small account (~370 requests, 4 in flight) at a 22% fault rate:
    # ~100 faults of 9 kinds. (The visitors snapshot pages one by one: the full campaign covers it.)
    result = campaign(size="small", seed=11, faults=0.22, days=60, streams=["medias", "events"])
    print("\n".join(result.lines()))
    assert set(result.faults_by_kind) == set(ALL_FAULT_KINDS), result.faults_by_kind
    assert result.faults_total >= 80
    assert result.faults_by_kind["http_429"] > 0 and result.client_throttled > 0
    assert result.ingest_status == "success" and result.transform_status == "success"
    assert result.truth_events > 30_000
    assert (result.lost_events, result.unexpected_events, result.changed_events) == (0, 0, 0)
    assert result.silver_events == result.truth_events
    assert result.duplicate_event_keys == 0
    result.check(min_faults=80)


def test_fault_campaign_is_seeded() -> None:
    """The same seed replays the same faults on the same request numbers (so a failure can be replayed)."""

    def first_statuses(seed: int) -> list[int]:
        config = SandboxConfig(
            size="tiny",
            seed=seed,
            today=TODAY,
            rate_limit_per_minute=0,
            faults=0.5,
            fault_kinds=("http_500", "http_429", "http_503"),
        )
        with (
            run_sandbox(config) as sb,
            httpx.Client(base_url=sb.base_url, timeout=10, headers={"Authorization": f"Bearer {sb.token}"}) as api,
        ):
            return [api.get("/projects.json").status_code for _ in range(40)]

    first, again = first_statuses(3), first_statuses(3)
    assert first == again
    assert {429, 500, 503, 200} <= set(first)

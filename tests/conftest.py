"""Shared fixtures: sandboxes on free ports, serving real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox

TODAY = date(2026, 11, 25)


def api_client(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30)


@pytest.fixture(scope="session")
def tiny_sandbox() -> Iterator[Sandbox]:
    """A tiny account with a pinned clock and no rate limit, shared by read-only tests."""
    with run_sandbox(SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0)) as sb:
        yield sb


@pytest.fixture()
def tiny_api(tiny_sandbox: Sandbox) -> Iterator[httpx.Client]:
    with api_client(tiny_sandbox) as client:
        yield client

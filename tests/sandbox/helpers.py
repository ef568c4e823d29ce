"""Small helpers for talking to a sandbox in tests (plain httpx, no product client)."""

from __future__ import annotations

from typing import Any

import httpx


def fetch_all(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Page with per_page=100 until a short page."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        resp = client.get(path, params={**(params or {}), "page": page, "per_page": 100})
        resp.raise_for_status()
        rows = resp.json()
        out.extend(rows)
        if len(rows) < 100:
            return out
        page += 1


def modern_client(sandbox: Any, **headers: str) -> httpx.Client:
    """A client of the sandbox's modern analytics API (Bearer auth, no version header unless given)."""
    return httpx.Client(
        base_url=sandbox.modern_url, headers={"Authorization": f"Bearer {sandbox.token}", **headers}, timeout=30
    )

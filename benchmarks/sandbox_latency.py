"""Sandbox page latency over real HTTP at the small and the large account size.

Measures what an ingestion run sees: the first (cold) request for a day generates that day's sessions
for every media; later pages of the same day are served from the cell cache.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx

from wistia_analytics.sandbox import SandboxConfig, run_sandbox

TODAY = date(2026, 11, 25)


def _timed(fn: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    resp = fn()
    elapsed = (time.perf_counter() - started) * 1000
    resp.raise_for_status()
    return elapsed


def _summary(label: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    print(f"  {label:<52} n={len(samples):>4}  p50={statistics.median(samples):7.1f} ms  p95={p95:7.1f} ms")


def bench_size(size: str) -> None:
    config = SandboxConfig(size=size, seed=42, today=TODAY, rate_limit_per_minute=0)  # type: ignore[arg-type]
    started = time.perf_counter()
    with run_sandbox(config) as sb:
        print(
            f"{size}: sandbox ready in {(time.perf_counter() - started) * 1000:.0f} ms, "
            f"{len(sb.account.catalog.medias)} medias, {config.profile.history_days} days, "
            f"~{config.profile.target_events:,} sessions"
        )
        with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.token}"}, timeout=120) as api:
            medias = [m["hashed_id"] for m in api.get("/medias", params={"per_page": 100}).json()]
            cold, warm = [], []
            for back in range(1, 11):
                day = (TODAY - timedelta(days=back * 17)).isoformat()
                params = {"start_date": day, "end_date": day, "per_page": 100}
                cold.append(_timed(lambda p=params: api.get("/stats/events", params=p | {"page": 1})))
                for page in range(2, 6):
                    warm.append(_timed(lambda p=params, n=page: api.get("/stats/events", params=p | {"page": n})))
            _summary("events, one day, all medias, first page (cold)", cold)
            _summary("events, one day, all medias, next pages (warm)", warm)
            per_media = [
                _timed(lambda m=m: api.get("/stats/events", params={"media_id": m, "per_page": 100}))
                for m in medias[:20]
            ]
            _summary("events, one media, newest page", per_media)
            by_date = [
                _timed(
                    lambda m=m: api.get(
                        f"/stats/medias/{m}/by_date",
                        params={"start_date": "2026-10-26", "end_date": "2026-11-25"},
                    )
                )
                for m in medias[:20]
            ]
            _summary("by_date, one media, 31 days", by_date)
            lifetime = [_timed(lambda m=m: api.get(f"/stats/medias/{m}")) for m in medias[:20]]
            _summary("stats/medias lifetime (cold)", lifetime)
            _summary(
                "medias list page",
                [_timed(lambda: api.get("/medias", params={"per_page": 100})) for _ in range(20)],
            )


def run() -> None:
    for size in ("small", "large"):
        bench_size(size)

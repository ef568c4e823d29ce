"""What the modern analytics streams cost a daily incremental run, in requests and in time at 600/min (issue 15).

For each account size (WISTIA_BENCH_SIZES, default "small,large"): a lake is primed with the day before
(today minus one, backfill = the lookback window), then copied; the daily run of `today` is ingested once with
the analytics streams and once without (INGEST_ANALYTICS=false) from the same primed state. Requests are
counted by the client; the time at Wistia's 600 requests/minute is the pacing floor (requests / 10 per
second), next to the time measured here with pacing off (what the sandbox on this machine could serve).

The large account's visitors snapshot (~38,000 pages of 3.8M visitors) cannot be served here in minutes on 2
cores, so the large run leaves the `visitors` stream out and the report adds its known page count to the v1
figure (as benchmarks/large_account_calls.py does).

    .venv/bin/python -m benchmarks.analytics_requests
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from wistia_analytics.contracts.streams import STREAMS
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import DEFAULT_TOKEN, SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings

TODAY = date(2026, 11, 25)
REAL_RATE = 600  # requests per minute (Wistia's account limit)
LARGE_VISITOR_PAGES = 38_000  # the large account's visitors snapshot, 100 a page (not served here)
LAMBDA_REQUESTS = REAL_RATE * 14  # one ingest Lambda call: ~14 minutes of requests at 600/min


@dataclass
class Daily:
    size: str
    analytics: bool
    requests: int
    seconds: float
    pages: dict[str, int]
    added_requests: int = 0  # not served here, added from the account's known size (large visitors)

    @property
    def total_requests(self) -> int:
        return self.requests + self.added_requests

    @property
    def minutes_at_600(self) -> float:
        return self.total_requests / REAL_RATE


def _settings(url: str, lake: Path, analytics: bool) -> Settings:
    values: dict[str, Any] = {
        "wistia_api_token": DEFAULT_TOKEN,
        "wistia_api_url": url,
        "lake_uri": str(lake),
        "wistia_requests_per_minute": 1_000_000,  # pacing off: the sandbox's own speed is measured
        "ingest_backfill_days": 4,  # the first window is the daily increment: today and the 3 lookback days
        "ingest_analytics_backfill_days": 4,
        "ingest_lookback_days": 3,
        "ingest_analytics": analytics,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _streams(size: str, analytics: bool) -> list[str]:
    return [
        s.name for s in STREAMS if (analytics or not s.analytics) and not (size == "large" and s.name == "visitors")
    ]


def _ingest(url: str, lake: Path, size: str, today: date, analytics: bool) -> tuple[int, float, dict[str, int]]:
    started = time.monotonic()
    result, client = run_ingest(
        _settings(url, lake, analytics), IngestOptions(today=today, streams=_streams(size, analytics))
    )
    seconds = time.monotonic() - started
    if result.exit_code != 0:
        raise RuntimeError(f"{size} ingest of {today} ended {result.status} (exit {result.exit_code})")
    return client.stats.requests, seconds, {n: r.pages for n, r in result.streams.items()}


def measure(size: str) -> list[Daily]:
    config = SandboxConfig(size=size, seed=42, today=TODAY, rate_limit_per_minute=0)  # type: ignore[arg-type]
    out = []
    with run_sandbox(config) as sb, tempfile.TemporaryDirectory() as tmp:
        primed = Path(tmp) / "primed"
        _ingest(sb.base_url, primed, size, TODAY - timedelta(days=1), analytics=True)
        for analytics in (False, True):
            lake = Path(tmp) / f"daily-{analytics}"
            shutil.copytree(primed, lake)
            requests, seconds, pages = _ingest(sb.base_url, lake, size, TODAY, analytics)
            added = LARGE_VISITOR_PAGES if size == "large" else 0
            out.append(Daily(size, analytics, requests, seconds, pages, added))
    return out


def run() -> None:
    sizes = [s for s in os.environ.get("WISTIA_BENCH_SIZES", "small,large").split(",") if s]
    print(f"daily incremental run of {TODAY} (lookback 3 days), requests and time at {REAL_RATE}/min")
    for size in sizes:
        rows = measure(size)
        for d in rows:
            label = "with analytics" if d.analytics else "v1 only"
            extra = f" (+{d.added_requests:,} visitors pages not served here)" if d.added_requests else ""
            print(
                f"  {size:<6} {label:<15} {d.total_requests:>7,} requests{extra}: {d.minutes_at_600:6.1f} min at "
                f"600/min ({d.total_requests / LAMBDA_REQUESTS:.1f} Lambda calls); measured here unpaced "
                f"{d.seconds:.1f} s for {d.requests:,} requests ({d.requests / max(d.seconds, 1e-9):.0f}/s)"
            )
        v1, both = rows
        analytics_pages = {n: p for n, p in both.pages.items() if n not in v1.pages}
        print(f"  {size:<6} analytics requests by stream (pages): {analytics_pages}")
        print(
            f"  {size:<6} ratio with/without analytics: {both.total_requests / max(v1.total_requests, 1):.2f}x "
            f"requests (+{both.total_requests - v1.total_requests:,})"
        )


if __name__ == "__main__":
    run()

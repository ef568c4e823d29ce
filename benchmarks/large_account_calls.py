"""A large account's daily increment through bounded calls, as the ingest Lambda does it (issue 14).

A Lambda gets 15 minutes; with its 60 s margin, ~14 minutes of requests at Wistia's 600/min is ~8,400 requests
per call. Here the deadline is scaled down (WISTIA_BENCH_CALL_SECONDS, default 20 s per call) and the request
rate scaled up by the same factor (14 min / 20 s = 42, so 600 * 42 = 25,200/min), so a call holds as many
requests as a real one would relative to the account... as far as this machine can serve them: the request rate
actually reached is measured and reported, and the calls a real account needs are computed from the request
count, not from the wall time.

The run: a lake whose first window is the daily increment (today plus the 3 lookback days), ingested once
uninterrupted (lake A) and once through repeated bounded calls until a call completes (lake B). Then every
stream's Bronze keys of B must equal A's (nothing lost), and Silver, which dedupes by key, gets the same rows
(duplicates in Bronze are re-fetched pages of a day or a snapshot page at a stop: counted and reported).

Size: WISTIA_BENCH_SIZE (default medium: the large sandbox's 3.8M-visitor snapshot cannot be served here in
minutes on 2 shared cores; the figures for a real large account are extrapolated from the request counts).

    .venv/bin/python -m benchmarks.large_account_calls
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from wistia_analytics.contracts.streams import STREAMS
from wistia_analytics.ingest.ingestor import IngestOptions, IngestResult
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunStatus
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import DEFAULT_TOKEN, SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings

TODAY = date(2026, 11, 25)
LAMBDA_BUDGET_SECONDS = 15 * 60 - 60  # a Lambda's 15 minutes minus the handler's margin
REAL_RATE = 600  # requests per minute (Wistia's account limit)
# A real large account's daily increment, in requests: the visitors snapshot (~3.8M visitors, 100 a page),
# 500 medias x 3 per-media streams, ~13,700 events a day over 4 days (100 a page), medias and projects.
LARGE_REQUESTS = {"visitors": 38_000, "per_media": 500 * 3, "events": 4 * 137 + 4, "medias": 5, "projects": 1}


@dataclass
class Simulation:
    size: str
    call_seconds: float
    rate: int
    calls: list[dict[str, Any]] = field(default_factory=list)
    uninterrupted_requests: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)
    bronze_duplicates: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.calls) and self.calls[-1]["status"] == str(RunStatus.SUCCESS)


def _settings(url: str, lake: Path, rate: int) -> Settings:
    values: dict[str, Any] = {
        "wistia_api_token": DEFAULT_TOKEN,
        "wistia_api_url": url,
        "lake_uri": str(lake),
        "wistia_requests_per_minute": rate,
        "ingest_backfill_days": 4,  # the first window is the daily increment: today and the 3 lookback days
        "ingest_lookback_days": 3,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _call(url: str, lake: Path, rate: int, max_duration: float | None) -> tuple[IngestResult, int]:
    result, client = run_ingest(_settings(url, lake, rate), IngestOptions(today=TODAY, max_duration=max_duration))
    return result, client.stats.requests


def bronze_keys(lake: Path) -> dict[str, Counter[str]]:
    storage = Storage.from_uri(str(lake))
    out: dict[str, Counter[str]] = {}
    for stream in STREAMS:
        counts: Counter[str] = Counter()
        for _, line in iter_bronze(storage, stream.name):
            record = line["record"]
            if all(k in record for k in stream.key):
                counts["|".join(str(record[k]) for k in stream.key)] += 1
            else:  # per-media objects carry their media id in the lineage, not the record: the record is its key
                counts[json.dumps(record, sort_keys=True)] += 1
        out[stream.name] = counts
    return out


def simulate(size: str = "medium", call_seconds: float = 20.0, max_calls: int = 40) -> Simulation:
    rate = int(REAL_RATE * LAMBDA_BUDGET_SECONDS / call_seconds)
    sim = Simulation(size, call_seconds, rate)
    config = SandboxConfig(size=size, seed=42, today=TODAY, rate_limit_per_minute=0)  # type: ignore[arg-type]
    with run_sandbox(config) as sb, tempfile.TemporaryDirectory() as tmp:
        whole, bounded = Path(tmp) / "whole", Path(tmp) / "bounded"
        _, sim.uninterrupted_requests = _call(sb.base_url, whole, rate, None)
        for _ in range(max_calls):
            started = time.monotonic()
            result, requests = _call(sb.base_url, bounded, rate, call_seconds)
            seconds = time.monotonic() - started
            sim.calls.append(
                {
                    "status": str(result.status),
                    "seconds": round(seconds, 1),
                    "requests": requests,
                    "requests_per_minute": round(requests / seconds * 60),
                    "records": {n: r.records for n, r in result.streams.items() if r.records},
                    "stopped": (result.record.extra.get("position") or {}).get("stopped") if result.record else None,
                }
            )
            if result.status is not RunStatus.INCOMPLETE:
                break
        a, b = bronze_keys(whole), bronze_keys(bounded)
    for stream in a:
        sim.keys[stream] = len(a[stream])
        sim.lost[stream] = len(set(a[stream]) - set(b[stream]))
        sim.extra[stream] = len(set(b[stream]) - set(a[stream]))
        sim.bronze_duplicates[stream] = sum(b[stream].values()) - len(b[stream])
    return sim


def large_account_calls(budget_seconds: float = LAMBDA_BUDGET_SECONDS) -> dict[str, float]:
    requests = sum(LARGE_REQUESTS.values())
    per_call = REAL_RATE / 60 * budget_seconds
    return {"requests": requests, "requests_per_call": per_call, "calls": requests / per_call}


def run() -> None:
    size = os.environ.get("WISTIA_BENCH_SIZE", "medium")
    call_seconds = float(os.environ.get("WISTIA_BENCH_CALL_SECONDS", "20"))
    sim = simulate(size, call_seconds)
    real = large_account_calls()
    total_bounded = sum(c["requests"] for c in sim.calls)
    print(f"large-account simulation: {size} sandbox, {call_seconds:g} s per call, client budget {sim.rate}/min")
    for n, call in enumerate(sim.calls, 1):
        print(f"  call {n}: {json.dumps(call)}")
    print(f"  complete: {sim.complete} after {len(sim.calls)} call(s)")
    print(f"  requests: uninterrupted {sim.uninterrupted_requests}, bounded calls {total_bounded}")
    print(f"  Bronze keys per stream: {sim.keys}")
    print(f"  lost: {sim.lost}  extra: {sim.extra}  Bronze duplicates (Silver dedupes): {sim.bronze_duplicates}")
    print(
        f"real large account: ~{real['requests']:,.0f} requests a day / {real['requests_per_call']:,.0f} per call "
        f"(600/min x {LAMBDA_BUDGET_SECONDS / 60:.0f} min) = {real['calls']:.1f} -> {int(-(-real['calls'] // 1))} calls"
    )


if __name__ == "__main__":
    run()

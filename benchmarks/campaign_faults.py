"""API-fault campaign: a full ingestion through >= 1,000 injected faults loses no event and duplicates none.

The sandbox injects every fault kind it has (429 and 503 with a short `Retry-After`, 500, 502, stalls past the
client's timeout, slow answers, bodies cut mid-transfer, 200s whose body is not JSON, dropped connections),
seeded by request number. The real client (its one retry policy, unchanged) ingests the whole history of the
account, then the transform builds Silver and Gold. The campaign asserts, and prints:
- faults injected by kind (from `/_sandbox/stats`), requests and retries seen by the client;
- events in Silver == events in the sandbox's truth for the window (same keys and values): zero lost;
- zero duplicate `event_key` in Silver, nothing quarantined, ingestion and transform both `success`.

    python -m benchmarks.campaign_faults [--seed N] [--size medium] [--faults 0.15]

The harness (`ingest_and_transform`, `truth_events`, `silver_rows`) is shared with `campaign_bad_input.py`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from wistia_analytics.ingest.ingestor import IngestOptions, IngestResult
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.sandbox.config import ALL_FAULT_KINDS, SIZES
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.wistia.counters import StatsSnapshot

TODAY = date(2026, 11, 25)
CLIENT_TIMEOUT_SECONDS = 2.0  # the `timeout` fault stalls longer than this, so the client gives up on it
FAULT_TIMEOUT_SECONDS = 3.0
FAULT_SLOW_SECONDS = 0.4  # slower than usual, still under the client's timeout: must simply succeed
MIN_FAULTS = 1_000
EVENT_COLUMNS = ("event_key", "received_at", "media_id", "visitor_key", "percent_viewed")


@dataclass
class PipelineRun:
    """What one ingest + transform against a sandbox produced, with the sandbox's counters at the end."""

    ingest: IngestResult
    transform: TransformResult
    client: StatsSnapshot
    sandbox: dict[str, Any]
    since: date
    ingest_seconds: float
    transform_seconds: float
    lake: Path
    now_ts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def ingest_and_transform(
    sb: Sandbox, lake: Path, *, timeout: float = 30.0, days: int | None = None, streams: list[str] | None = None
) -> PipelineRun:
    """The last `days` (default: the whole history) of `streams` (default: all) into Bronze, then Silver and Gold."""
    history = days or SIZES[sb.config.size].history_days
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        wistia_api_token=sb.token,  # type: ignore[arg-type]
        wistia_api_url=sb.base_url,
        lake_uri=str(lake),
        wistia_requests_per_minute=1_000_000,  # no client-side pacing: the faults are the point
        ingest_backfill_days=min(history, 730),
        ingest_concurrency=4,
    )
    started = time.perf_counter()
    result, client = run_ingest(settings, IngestOptions(today=TODAY, streams=streams), timeout=timeout)
    ingest_seconds = time.perf_counter() - started
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    started = time.perf_counter()
    try:
        transformed = TransformRunner(storage, engine, full_rebuild=True).run()
    finally:
        engine.close()
    return PipelineRun(
        ingest=result,
        transform=transformed,
        client=client.stats.snapshot(),
        sandbox=sb.stats(),
        since=TODAY - timedelta(days=min(history, 730) - 1),
        ingest_seconds=ingest_seconds,
        transform_seconds=time.perf_counter() - started,
        lake=lake,
        now_ts=sb.app.clock.now_ts(),
    )


def truth_events(sb: Sandbox, since: date, now_ts: int) -> list[dict[str, Any]]:
    """Every event the account shows for [since, today] at `now_ts`, rendered exactly as the API renders it."""
    refs = sb.account.events_page(
        media=None,
        visitor=None,
        start=since.toordinal(),
        end=TODAY.toordinal(),
        offset=0,
        limit=1 << 40,
        now_ts=now_ts,
    )
    return [sb.app.routes.render.event(ref) for ref in refs]


def silver_rows(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query over the published `silver.*`/`gold.*` views (the one read path)."""
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def event_tuple(record: dict[str, Any]) -> tuple[str, str, str, str, float]:
    """The comparable core of an event: key, received_at (UTC, second precision), media, visitor, percent."""
    received = str(record["received_at"]).replace(".000Z", "Z").replace("Z", "")
    return (
        str(record["event_key"]),
        received,
        str(record["media_id"]),
        str(record["visitor_key"]),
        round(float(record["percent_viewed"]), 9),
    )


def silver_event_tuples(lake: Path) -> list[tuple[str, str, str, str, float]]:
    rows = silver_rows(
        lake,
        "SELECT event_key, strftime(received_at, '%Y-%m-%dT%H:%M:%S'), media_id, visitor_key, percent_viewed "
        "FROM silver.events",
    )
    return [(str(k), str(t), str(m), str(v), round(float(p), 9)) for k, t, m, v, p in rows]


@contextmanager
def fault_sandbox(size: str, seed: int, faults: float) -> Iterator[Sandbox]:
    config = SandboxConfig(
        size=size,  # type: ignore[arg-type]
        seed=seed,
        today=TODAY,
        rate_limit_per_minute=0,
        faults=faults,
        fault_kinds=ALL_FAULT_KINDS,
        fault_slow_seconds=FAULT_SLOW_SECONDS,
        fault_timeout_seconds=FAULT_TIMEOUT_SECONDS,
        fault_retry_after_seconds=1,
    )
    with run_sandbox(config) as sb:
        yield sb


@dataclass
class FaultCampaign:
    """The campaign's figures; `check()` raises AssertionError naming what broke."""

    size: str
    seed: int
    fault_rate: float
    faults_by_kind: dict[str, int]
    server_requests: int
    client_requests: int
    client_retries: int
    client_throttled: int
    truth_events: int
    silver_events: int
    lost_events: int
    unexpected_events: int
    changed_events: int
    duplicate_event_keys: int
    quarantined: dict[str, int]
    ingest_status: str
    transform_status: str
    ingest_seconds: float
    transform_seconds: float

    @property
    def faults_total(self) -> int:
        return sum(self.faults_by_kind.values())

    def check(self, min_faults: int) -> None:
        missing = sorted(set(ALL_FAULT_KINDS) - {k for k, n in self.faults_by_kind.items() if n > 0})
        assert self.faults_total >= min_faults, f"only {self.faults_total} faults injected (< {min_faults})"
        assert not missing, f"fault kinds never injected: {missing}"
        assert self.ingest_status == "success", f"ingestion ended {self.ingest_status}"
        assert self.transform_status == "success", f"transform ended {self.transform_status}"
        assert self.client_retries >= self.faults_total - self.faults_by_kind.get("slow", 0), (
            f"{self.client_retries} retries for {self.faults_total} faults: some failure was not retried"
        )
        assert self.lost_events == 0, f"{self.lost_events} events of the truth missing from Silver"
        assert self.unexpected_events == 0, f"{self.unexpected_events} events in Silver not in the truth"
        assert self.changed_events == 0, f"{self.changed_events} events in Silver differ from the truth"
        assert self.duplicate_event_keys == 0, f"{self.duplicate_event_keys} duplicate event_key in Silver"
        assert self.silver_events == self.truth_events
        assert sum(self.quarantined.values()) == 0, f"faults produced quarantined rows: {self.quarantined}"

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.faults_by_kind.items()))
        return [
            f"account: {self.size}, seed {self.seed}, fault rate {self.fault_rate}",
            f"faults injected: {self.faults_total} ({kinds})",
            f"requests: {self.server_requests} reached the sandbox; client: {self.client_requests} attempts, "
            f"{self.client_retries} retries, {self.client_throttled} throttled answers honoured",
            f"events: truth {self.truth_events:,}, Silver {self.silver_events:,}, lost {self.lost_events}, "
            f"unexpected {self.unexpected_events}, changed {self.changed_events}, "
            f"duplicate keys {self.duplicate_event_keys}",
            f"quarantined: {sum(self.quarantined.values())}; ingestion {self.ingest_status} "
            f"({self.ingest_seconds:.0f} s), transform {self.transform_status} ({self.transform_seconds:.0f} s)",
        ]


def campaign(
    size: str = "medium",
    seed: int = 8,
    faults: float = 0.15,
    days: int | None = None,
    streams: list[str] | None = None,
) -> FaultCampaign:
    """Run the campaign once (`days`: the last days only, `streams`: only those; default everything)."""
    with tempfile.TemporaryDirectory(prefix="campaign-faults-") as tmp, fault_sandbox(size, seed, faults) as sb:
        lake = Path(tmp) / "lake"
        run = ingest_and_transform(sb, lake, timeout=CLIENT_TIMEOUT_SECONDS, days=days, streams=streams)
        truth = {t[0]: t for t in (event_tuple(e) for e in truth_events(sb, run.since, run.now_ts))}
        silver = silver_event_tuples(run.lake)
    keys = [t[0] for t in silver]
    silver_by_key = {t[0]: t for t in silver}
    return FaultCampaign(
        size=size,
        seed=seed,
        fault_rate=faults,
        faults_by_kind=dict(run.sandbox["faults"]),
        server_requests=int(run.sandbox["requests"]),
        client_requests=run.client.requests,
        client_retries=run.client.retries,
        client_throttled=run.client.throttled,
        truth_events=len(truth),
        silver_events=len(silver),
        lost_events=len(truth.keys() - silver_by_key.keys()),
        unexpected_events=len(silver_by_key.keys() - truth.keys()),
        changed_events=sum(1 for k, t in silver_by_key.items() if k in truth and truth[k] != t),
        duplicate_event_keys=len(keys) - len(set(keys)),
        quarantined=dict(run.transform.quarantined),
        ingest_status=run.ingest.status.value,
        transform_status=run.transform.status.value,
        ingest_seconds=run.ingest_seconds,
        transform_seconds=run.transform_seconds,
    )


def run(size: str = "medium", seed: int = 8, faults: float = 0.15) -> FaultCampaign:
    """Benchmark entry point: run, print the figures, then assert (a broken promise fails loudly)."""
    result = campaign(size, seed, faults)
    for line in result.lines():
        print(line)
    result.check(MIN_FAULTS)
    print("fault campaign: OK (zero lost, zero duplicates, run completed)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--size", default="medium", choices=[s for s in SIZES if s != "empty"])
    parser.add_argument("--faults", type=float, default=0.15, help="fraction of requests given a fault")
    args = parser.parse_args()
    run(args.size, args.seed, args.faults)


if __name__ == "__main__":
    main()

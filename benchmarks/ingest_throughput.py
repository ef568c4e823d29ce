"""Ingestion against the sandbox over real HTTP: throughput, request-budget use, and memory as accounts grow.

1. Throughput with no rate limit (events, 30 days, small account), and where the time goes: the same pages
   fetched by a bare httpx loop (no JSON decode; then with it) against ingestion (paging, lineage, gzip
   JSON lines, state). The sandbox runs in its own process so the client's CPU is measured alone.
2. Budget use with the sandbox's limit on (600 requests/minute) and the client's budget at 600: the whole
   history of the small account (visitors, then events over 180 days, ~150 s). Requests that reached the
   server per minute over the steady part, as a share of 600, and the throttling answers.
3. Peak memory of the ingester from ~1M to ~10M events (issue 8: "flat from 1M to 10M"): the events stream
   of the large account over the most recent whole days holding each size (1M ~ 50 days, 10M ~ all 729), no
   rate limit, in a fresh process whose VmHWM is read at the end and whose RSS and Python heap
   (`sys.getallocatedblocks`, no tracemalloc) are sampled every second: shown at 10/50/90% of the events,
   with the RSS slope over the second half. The sandbox runs in its own processes (2 by default, sharing one
   port through SO_REUSEPORT), so the client talks real HTTP and only its own memory is measured.

Environment: WISTIA_BENCH_INGEST_PARTS (default 1,2,3), WISTIA_BENCH_INGEST_EVENTS (default 1000000,10000000),
WISTIA_BENCH_SANDBOX_PROCESSES (default 2). For example, the memory part alone at 1M and 10M events:

    WISTIA_BENCH_INGEST_PARTS=3 .venv/bin/python -m benchmarks.ingest_throughput
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from wistia_analytics.ingest.ingestor import IngestOptions, StreamReport
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import DEFAULT_TOKEN, Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.sandbox.media_catalog import Catalog
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.client import WistiaClient

TODAY = date(2026, 11, 25)
UNLIMITED = 1_000_000  # client budget that never makes the pacer wait
CONCURRENCY = 4
BUDGET = 600
ROUNDS = 3  # of each throughput measurement
REPO = Path(__file__).resolve().parents[1]


def _settings(url: str, token: str, lake: str, requests_per_minute: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        wistia_api_token=token,  # type: ignore[arg-type]
        wistia_api_url=url,
        lake_uri=lake,
        wistia_requests_per_minute=requests_per_minute,
        ingest_concurrency=CONCURRENCY,
    )


def _ingest(url: str, token: str, days: int, streams: list[str], rpm: int = UNLIMITED) -> dict[str, Any]:
    """One ingestion run into a fresh temporary lake; wall and CPU seconds, records, requests."""
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as lake:
        options = IngestOptions(streams=streams, since=TODAY - timedelta(days=days - 1), today=TODAY)
        cpu, started = time.process_time(), time.perf_counter()
        result, client = run_ingest(_settings(url, token, lake, rpm), options)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        bronze = sum(p.stat().st_size for p in Path(lake, "bronze").rglob("*") if p.is_file())
    if result.status.value != "success":
        raise RuntimeError(f"ingestion ended {result.status}: {result.streams}")
    stats = client.stats.snapshot()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "records": sum(r.records for r in result.streams.values()),
        "pages": sum(r.pages for r in result.streams.values()),
        "requests": stats.requests,
        "bytes": stats.bytes,
        "bronze_bytes": bronze,
        "throttled": stats.throttled,
    }


@contextmanager
def _sandbox_process(size: str, rate_limit: int = 0) -> Iterator[tuple[str, str]]:
    """`python -m wistia_analytics sandbox` on a free port; yields (base URL, token)."""
    cmd = [sys.executable, "-m", "wistia_analytics", "sandbox", "--port", "0", "--size", size]
    cmd += ["--today", TODAY.isoformat(), "--rate-limit", str(rate_limit)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        url = token = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("WISTIA_API_URL="):
                url = line.strip().split("=", 1)[1]
            elif line.startswith("WISTIA_API_TOKEN="):
                token = line.strip().split("=", 1)[1]
                break
        if url is None or token is None:
            raise RuntimeError(f"sandbox did not start (exit code {proc.wait(timeout=10)})")
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- 1. throughput and cost split ----------------------------------------------------------------------
def _bare_fetch(url: str, token: str, days: int, decode: bool) -> dict[str, float]:
    """The pages ingestion asks for (per day, 100 per page until a short page), 4 days at a time."""
    day_list = [TODAY - timedelta(days=i) for i in range(days - 1, -1, -1)]
    counts = {"requests": 0, "records": 0, "bytes": 0}
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as api:

        def fetch_day(day: date) -> None:
            page = 1
            while True:
                params = {"start_date": day.isoformat(), "end_date": day.isoformat()}
                resp = api.get("/stats/events.json", params=params | {"page": page, "per_page": 100})
                resp.raise_for_status()
                # Without decoding, records are counted by a byte scan for their key field.
                n = len(json.loads(resp.content)) if decode else resp.content.count(b'"event_key"')
                with lock:
                    counts["requests"] += 1
                    counts["records"] += n
                    counts["bytes"] += len(resp.content)
                if n < 100:
                    return
                page += 1

        cpu, started = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            list(pool.map(fetch_day, day_list))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, **counts}


def _best(runs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["seconds"])


def bench_throughput() -> None:
    days = 30
    print(f"1. throughput, no rate limit: events, {days} days, small account, concurrency {CONCURRENCY}")
    with _sandbox_process("small") as (url, token):
        cold = _bare_fetch(url, token, days, decode=True)  # also fills the sandbox's cell cache
        rounds = [  # interleaved, best of 3 each: a burst of load elsewhere on the machine hits all three
            (
                _ingest(url, token, days, ["events"]),
                _bare_fetch(url, token, days, decode=False),
                _bare_fetch(url, token, days, decode=True),
            )
            for _ in range(ROUNDS)
        ]
    ing, fetch, decoded = (_best(r[i] for r in rounds) for i in range(3))
    print(
        f"  ingest (best of {ROUNDS})     records={ing['records']:,}  requests={ing['requests']:,}  "
        f"seconds={ing['seconds']:.2f}  records/s={ing['records'] / ing['seconds']:,.0f}  "
        f"requests/s={ing['requests'] / ing['seconds']:.1f}"
    )
    print(
        f"  ingest wire/lake       received={ing['bytes'] / 1e6:.1f} MB  "
        f"bronze written={ing['bronze_bytes'] / 1e6:.2f} MB (gzip)  "
        f"client CPU={ing['cpu']:.2f} s ({ing['cpu'] / ing['records'] * 1e6:.0f} us/record)"
    )
    print(
        f"  first pass, cold sandbox cache (bare fetch + json): {cold['seconds']:.2f} s, {cold['requests']:,} requests"
    )
    for label, r in (("bare fetch, no decode", fetch), ("bare fetch + json.loads", decoded)):
        print(
            f"  {label:<24}seconds={r['seconds']:.2f}  requests={r['requests']:,}  "
            f"requests/s={r['requests'] / r['seconds']:.1f}  client CPU={r['cpu']:.2f} s"
        )
    print(
        f"  cost split (wall)      HTTP+server {fetch['seconds']:.2f} s, "
        f"+ JSON decode {decoded['seconds'] - fetch['seconds']:+.2f} s, "
        f"+ paging/lineage/gzip/state {ing['seconds'] - decoded['seconds']:+.2f} s; "
        f"ingest / bare fetch = {ing['seconds'] / fetch['seconds']:.2f}x, "
        f"ingest / (fetch+decode) = {ing['seconds'] / decoded['seconds']:.2f}x"
    )
    print(
        "  (wall time is bound by the sandbox process, which the client's own work overlaps; "
        "client CPU shows that work)"
    )
    print(
        f"  cost split (client CPU) bare {fetch['cpu']:.2f} s, +json {decoded['cpu']:.2f} s, "
        f"ingest {ing['cpu']:.2f} s; ingest / (fetch+decode) = {ing['cpu'] / decoded['cpu']:.2f}x"
    )


# ---- 2. budget use with the limit on --------------------------------------------------------------------
@dataclass
class _Phases:
    """First and last progress time of each stream (the sink the CLI uses for its live display)."""

    started: float = field(default_factory=time.perf_counter)
    spans: dict[str, list[float]] = field(default_factory=dict)

    def update(self, report: StreamReport, client: WistiaClient) -> None:
        now = time.perf_counter() - self.started
        span = self.spans.setdefault(report.name, [now, now])
        span[1] = now


def _rate(samples: list[tuple[float, int]], lo: float, hi: float) -> float:
    """Requests per minute between the samples nearest to `lo` and `hi` (seconds)."""
    a = min(samples, key=lambda s: abs(s[0] - lo))
    b = min(samples, key=lambda s: abs(s[0] - hi))
    return (b[1] - a[1]) / (b[0] - a[0]) * 60 if b[0] > a[0] else 0.0


def bench_budget() -> None:
    days = 180
    print(
        f"\n2. budget use: sandbox limit {BUDGET}/min (sliding 60 s), client budget {BUDGET}/min, "
        f"concurrency {CONCURRENCY}; small account, visitors + events over {days} days"
    )
    config = SandboxConfig(size="small", seed=42, today=TODAY, rate_limit_per_minute=BUDGET)
    with run_sandbox(config) as sb, tempfile.TemporaryDirectory(prefix="bench-lake-") as lake:
        phases = _Phases()
        samples: list[tuple[float, int]] = [(0.0, 0)]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.25):
                samples.append((time.perf_counter() - phases.started, sb.stats()["requests"]))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        options = IngestOptions(streams=["visitors", "events"], since=TODAY - timedelta(days=days - 1), today=TODAY)
        try:
            settings = _settings(sb.base_url, sb.token, lake, BUDGET)
            result, client = run_ingest(settings, options, progress=phases)
        finally:
            stop.set()
            sampler.join()
        elapsed = time.perf_counter() - phases.started
        server = sb.stats()
    samples.append((elapsed, server["requests"]))
    records = sum(r.records for r in result.streams.values())
    print(
        f"  run: status={result.status.value}  records={records:,}  seconds={elapsed:.1f}  "
        f"requests sent={client.stats.requests:,} (server saw {server['requests']:,})  "
        f"pacer interval={client.pacer.interval * 1000:.1f} ms, burst={client.pacer.burst}"
    )
    whole = server["requests"] / elapsed * 60
    lo, hi = 10.0, elapsed - 5.0
    steady = _rate(samples, lo, hi)
    print(f"  whole run              {whole:6.1f} requests/min = {whole / BUDGET:6.1%} of {BUDGET}")
    print(
        f"  steady part ({lo:.0f}..{hi:.0f} s)  {steady:6.1f} requests/min = {steady / BUDGET:6.1%} "
        f"of {BUDGET}   (goal: >= 95% with zero 429s; the pacer aims at 97%)"
    )
    for name, (first, last) in phases.spans.items():
        a, b = max(first, lo), min(last, hi)
        if b - a > 5:
            r = _rate(samples, a, b)
            print(f"    {name:<10} ({a:5.1f}..{b:5.1f} s)  {r:6.1f} requests/min = {r / BUDGET:6.1%}")
    peak = 0
    for t, n in samples:
        before = [m for s, m in samples if s <= t - 60]
        peak = max(peak, n - (before[-1] if before else 0))
    print(f"  busiest 60 s window (0.25 s samples): ~{peak} requests (limit {BUDGET})")
    print(
        f"  throttling: sandbox throttled={server['throttled']}, "
        f"status 429={server['statuses'].get('429', 0)}, "
        f"client throttled={client.stats.throttled}, retries={client.stats.retries}; "
        f"statuses={server['statuses']}"
    )


# ---- 3. peak memory of the ingester from ~1M to ~10M events -----------------------------------------------
EVENTS_ENV = "WISTIA_BENCH_INGEST_EVENTS"  # comma-separated event counts, e.g. 1000000,10000000
DEFAULT_EVENTS = "1000000,10000000"  # issue 8's target: peak memory flat from 1M to 10M events
PROCESSES_ENV = "WISTIA_BENCH_SANDBOX_PROCESSES"  # sandbox processes behind the one port (SO_REUSEPORT)
DEFAULT_PROCESSES = 2
SAMPLE_SECONDS = 1.0
POINTS = (0.1, 0.5, 0.9)  # where in the run (share of its events) RSS is shown


def _days_for_events(n_events: int) -> int:
    """Whole days ending yesterday that hold about `n_events` expected sessions of the large account."""
    catalog = Catalog(SandboxConfig(size="large", seed=42, today=TODAY, rate_limit_per_minute=0))
    yesterday = TODAY.toordinal() - 1
    per_day = catalog.expected_sessions(catalog.history_start, yesterday)[::-1]
    reached = np.nonzero(np.cumsum(per_day) >= n_events * 0.999)[0]
    return int(reached[0]) + 1 if reached.size else len(per_day)


def _status_kib(field_name: str, pid: int | str = "self") -> int:
    """A VmRSS/VmHWM figure of a process in KiB (0 where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _vm(field_name: str) -> int:
    return _status_kib(field_name)


@dataclass
class _RecordCount:
    """Progress sink: the events ingested so far, read by the RSS sampler."""

    records: int = 0

    def update(self, report: StreamReport, client: WistiaClient) -> None:
        self.records = report.records


def _child(spec: dict[str, Any]) -> None:
    """In a fresh process: one events ingestion with RSS sampled every second; figures as one JSON line."""
    gc.collect()
    base, blocks_base, objects_base = _vm("VmRSS"), sys.getallocatedblocks(), len(gc.get_objects())
    count = _RecordCount()
    samples: list[tuple[float, int, int, int]] = []  # seconds, events so far, VmRSS KiB, allocated blocks
    stop = threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            samples.append((time.perf_counter() - started, count.records, _vm("VmRSS"), sys.getallocatedblocks()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu = time.process_time()
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as lake:
        options = IngestOptions(
            streams=["events"],
            since=date.fromisoformat(spec["since"]),
            until=date.fromisoformat(spec["until"]),
            today=TODAY,
        )
        result, client = run_ingest(_settings(spec["url"], spec["token"], lake, UNLIMITED), options, progress=count)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        stop.set()
        sampler.join()
        bronze = sum(p.stat().st_size for p in Path(lake, "bronze").rglob("*") if p.is_file())
    if result.status.value != "success":
        raise RuntimeError(f"ingestion ended {result.status}: {result.streams}")
    del result
    gc.collect()
    stats = client.stats.snapshot()
    print(
        json.dumps(
            {
                "records": count.records,
                "requests": stats.requests,
                "seconds": seconds,
                "cpu": cpu,
                "bronze_bytes": bronze,
                "throttled": stats.throttled,
                "rss_base_kib": base,
                # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it can report the parent's peak.
                "rss_peak_kib": _vm("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "blocks_base": blocks_base,
                "blocks_end": sys.getallocatedblocks(),
                "objects_base": objects_base,
                "objects_end": len(gc.get_objects()),
                "samples": samples,
            }
        )
    )


def _serve_sandbox(spec: dict[str, Any]) -> None:
    """In a fresh process: one large-account sandbox on `spec["port"]` (0: a free one), SO_REUSEPORT on."""
    config = SandboxConfig(size="large", seed=42, today=TODAY, rate_limit_per_minute=0)
    sandbox = Sandbox(config, port=int(spec["port"]), reuse_port=True)
    print(f"PORT={sandbox.port}", flush=True)
    sandbox.serve_forever()


@contextmanager
def _sandbox_pool(processes: int) -> Iterator[tuple[str, str, list[int]]]:
    """`processes` large-account sandboxes on one port; yields (base URL, token, their pids)."""
    procs: list[subprocess.Popen[str]] = []
    port = 0
    try:
        for _ in range(processes):
            cmd = [sys.executable, "-m", "benchmarks.ingest_throughput", "--sandbox", json.dumps({"port": port})]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
            procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("PORT="):
                raise RuntimeError(f"sandbox did not start (exit code {proc.wait(timeout=10)})")
            port = int(line.strip().split("=", 1)[1])
        yield f"http://127.0.0.1:{port}/v1", DEFAULT_TOKEN, [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _measure_memory(n_events: int, processes: int) -> dict[str, Any]:
    days = _days_for_events(n_events)
    until = TODAY - timedelta(days=1)
    since = until - timedelta(days=days - 1)
    with _sandbox_pool(processes) as (url, token, pids):
        spec = json.dumps({"url": url, "token": token, "since": since.isoformat(), "until": until.isoformat()})
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.ingest_throughput", "--child", spec],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        sandbox_peak = [_status_kib("VmHWM", pid) for pid in pids]
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures | {"days": days, "since": since, "until": until, "sandbox_peak_kib": sandbox_peak}


def _at(samples: list[list[float]], records: int, share: float) -> list[float]:
    """The sample nearest to `share` of the run's events."""
    return min(samples, key=lambda s: abs(s[1] - share * records))


def _slope_kib_per_million(samples: list[list[float]]) -> float:
    """Least-squares slope of RSS against events over the second half of the run (KiB per 1M events)."""
    half = [s for s in samples if s[1] >= samples[-1][1] / 2]
    if len(half) < 3 or half[-1][1] == half[0][1]:
        return 0.0
    slope = np.polyfit([s[1] for s in half], [s[2] for s in half], 1)[0]
    return float(slope) * 1e6


def _event_sizes() -> list[int]:
    return [int(float(s)) for s in os.environ.get(EVENTS_ENV, DEFAULT_EVENTS).split(",") if s.strip()]


def bench_memory() -> None:
    sizes = _event_sizes()
    processes = int(os.environ.get(PROCESSES_ENV, DEFAULT_PROCESSES))
    print(
        f"\n3. peak memory of the ingester (own process) from ~1M to ~10M events: large account, events stream, "
        f"no rate limit, concurrency {CONCURRENCY}; {processes} sandbox process(es) on one port; "
        f"sizes from {EVENTS_ENV}={','.join(map(str, sizes))}"
    )
    runs: dict[int, dict[str, Any]] = {}
    for n in sizes:
        f = runs[n] = _measure_memory(n, processes)
        mib = 1024
        points = "  ".join(
            f"{int(share * 100)}%: {_at(f['samples'], f['records'], share)[2] / mib:.1f}" for share in POINTS
        )
        blocks = " / ".join(f"{_at(f['samples'], f['records'], share)[3] / 1e3:.0f}k" for share in POINTS)
        print(
            f"  ~{n:>10,} wanted: {f['days']} days {f['since']}..{f['until']}  events={f['records']:,}  "
            f"requests={f['requests']:,}  seconds={f['seconds']:.0f}  events/s={f['records'] / f['seconds']:,.0f}  "
            f"client CPU={f['cpu']:.0f} s ({f['cpu'] / max(f['records'], 1) * 1e6:.0f} us/event)"
        )
        print(
            f"      RSS before={f['rss_base_kib'] / mib:.1f} MiB  peak (VmHWM)={f['rss_peak_kib'] / mib:.1f} MiB "
            f"(+{(f['rss_peak_kib'] - f['rss_base_kib']) / mib:.1f})  RSS MiB at {points} of the events  "
            f"slope over the second half: {_slope_kib_per_million(f['samples']):+,.0f} KiB per 1M events"
        )
        print(
            f"      Python heap (sys.getallocatedblocks) before={f['blocks_base'] / 1e3:.0f}k, at 10/50/90%: {blocks}, "
            f"after={f['blocks_end'] / 1e3:.0f}k; gc objects before={f['objects_base']:,} after={f['objects_end']:,}; "
            f"bronze={f['bronze_bytes'] / 1e6:,.0f} MB; sandbox peak RSS "
            + ", ".join(f"{k / mib:.0f}" for k in f["sandbox_peak_kib"])
            + " MiB"
        )
    if len(runs) > 1:
        lo, hi = runs[min(runs)], runs[max(runs)]
        print(
            f"  growth {max(runs):,}/{min(runs):,}: events x{hi['records'] / lo['records']:.1f}, "
            f"peak RSS x{hi['rss_peak_kib'] / lo['rss_peak_kib']:.2f} "
            f"({lo['rss_peak_kib'] / 1024:.1f} -> {hi['rss_peak_kib'] / 1024:.1f} MiB; above the RSS before "
            f"ingesting +{(lo['rss_peak_kib'] - lo['rss_base_kib']) / 1024:.1f} -> "
            f"+{(hi['rss_peak_kib'] - hi['rss_base_kib']) / 1024:.1f} MiB)   (goal: flat)"
        )


PARTS_ENV = "WISTIA_BENCH_INGEST_PARTS"  # e.g. "3" for the memory part only


def run() -> None:
    parts = {p.strip() for p in os.environ.get(PARTS_ENV, "1,2,3").split(",")}
    for part, bench in (("1", bench_throughput), ("2", bench_budget), ("3", bench_memory)):
        if part in parts:
            bench()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(json.loads(sys.argv[2]))
    elif sys.argv[1:2] == ["--sandbox"]:
        _serve_sandbox(json.loads(sys.argv[2]))
    else:
        run()

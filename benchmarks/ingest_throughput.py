"""Ingestion against the sandbox over real HTTP: throughput, request-budget use, and memory as accounts grow.

1. Throughput with no rate limit (events, 30 days, small account), and where the time goes: the same pages
   fetched by a bare httpx loop (no JSON decode; then with it) against ingestion (paging, lineage, gzip
   JSON lines, state). The sandbox runs in its own process so the client's CPU is measured alone.
2. Budget use with the sandbox's limit on (600 requests/minute) and the client's budget at 600: the whole
   history of the small account (visitors, then events over 180 days, ~150 s). Requests that reached the
   server per minute over the steady part, as a share of 600, and the throttling answers.
3. Peak memory of the ingester (events, 14 days, no rate limit) in a fresh process, for the small and for
   the large account; the sandbox runs in another process. Memory should stay flat as the account grows.
"""

from __future__ import annotations

import json
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

from wistia_analytics.ingest.runner import IngestOptions, StreamReport
from wistia_analytics.ingest.service import run_ingest
from wistia_analytics.sandbox import SandboxConfig, run_sandbox
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


# ---- 3. peak memory at two account sizes ---------------------------------------------------------------
def _vm(field_name: str) -> int:
    """A VmRSS/VmHWM figure of this process in KiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _child(spec: dict[str, Any]) -> None:
    """In a fresh process: one ingestion, then its figures and peak RSS as one JSON line on stdout."""
    base = _vm("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = _ingest(spec["url"], spec["token"], spec["days"], ["events"])
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it can report the parent's peak.
    peak = _vm("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(figures | {"rss_base_kib": base, "rss_peak_kib": peak}))


def _measure_memory(size: str, days: int) -> dict[str, Any]:
    with _sandbox_process(size) as (url, token):
        spec = json.dumps({"url": url, "token": token, "days": days})
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.ingest_throughput", "--child", spec],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _growth(figures: dict[str, Any]) -> int:
    return int(figures["rss_peak_kib"] - figures["rss_base_kib"])


def bench_memory() -> None:
    print(
        "\n3. peak memory of the ingester (own process; sandbox in another): events, no rate limit, "
        f"concurrency {CONCURRENCY}"
    )
    runs = {(size, days): _measure_memory(size, days) for size, days in (("small", 14), ("large", 7), ("large", 14))}
    for (size, days), f in runs.items():
        print(
            f"  {size:<5} {days:>2} days  records={f['records']:>8,}  requests={f['requests']:>5,}  "
            f"seconds={f['seconds']:5.1f}  records/s={f['records'] / f['seconds']:>6,.0f}  "
            f"RSS before={f['rss_base_kib'] / 1024:5.1f} MiB  "
            f"peak={f['rss_peak_kib'] / 1024:5.1f} MiB (+{_growth(f) / 1024:.1f} MiB)"
        )
    small, large, half = runs["small", 14], runs["large", 14], runs["large", 7]
    print(
        f"  large/small (14 days): records x{large['records'] / small['records']:.1f}, "
        f"peak RSS x{large['rss_peak_kib'] / small['rss_peak_kib']:.2f} "
        f"(+{_growth(small) / 1024:.1f} -> +{_growth(large) / 1024:.1f} MiB above the RSS before ingesting)"
    )
    print(
        f"  large 14 days / 7 days: records x{large['records'] / half['records']:.1f}, "
        f"peak RSS x{large['rss_peak_kib'] / half['rss_peak_kib']:.2f}"
    )


def run() -> None:
    bench_throughput()
    bench_budget()
    bench_memory()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(json.loads(sys.argv[2]))
    else:
        run()

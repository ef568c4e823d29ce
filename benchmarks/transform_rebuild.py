"""Transform at scale: full rebuild and incremental daily run of Silver and Gold over generated Bronze.

For each size in `$WISTIA_BENCH_SIZES` (events; default "1000000,10000000") on the sandbox's large account
(Bronze generated once by `benchmarks.bronze_generator` and cached):

1. the floor: DuckDB reading every Bronze events file once (same `read_json` options as
   `DuckDBEngine.register_bronze`), counting rows and distinct event keys; best of 2 (the first also warms
   the page cache for what follows);
2. full rebuild: TransformRunner(full_rebuild=True) on a fresh lake holding the cached Bronze (hard links),
   with the seconds and rows of each model;
3. incremental: the next day's Bronze (one more day of events and by_date rows, plus that run's snapshots of
   medias, projects, lifetime stats and engagement) added, then an ordinary run;
4. peak memory: each step runs in its own process; VmHWM from /proc/self/status (and the most DuckDB
   spilled to its temp directory, sampled every 0.2 s).

Ratios printed: full / floor (goal: under 2x) and incremental / full (goal: under 5%). The engine gets all
cores (DuckDB threads = cpu count) and `$WISTIA_BENCH_MEMORY_LIMIT` as its memory limit (default: none, i.e.
DuckDB's own default of 80% of RAM).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.bronze_generator import GeneratedLake, cache_root, ensure_lake
from wistia_analytics.lake.bronze import list_bronze_files
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine, _quote

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = "1000000,10000000"
FLOOR_ROUNDS = 2


# ---- in the child process -------------------------------------------------------------------------------------
def _vm(field_name: str) -> int:
    """A VmRSS/VmHWM figure of this process in KiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _SpillSampler:
    """The largest total size of DuckDB's temp (spill) directory seen while running."""

    def __init__(self, directory: str) -> None:
        self.directory, self.peak, self._stop = Path(directory), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                size = sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())
            except OSError:
                continue
            self.peak = max(self.peak, size)

    def __enter__(self) -> _SpillSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def floor_sql(root: str, files: list[str]) -> str:
    """Rows and distinct event keys of the events files, read with register_bronze's read_json options."""
    paths = "[" + ", ".join(_quote(f"{root}/{f}") for f in files) + "]"
    return (
        "SELECT count(*), count(DISTINCT json_extract_string(record, '$.event_key')) "
        f"FROM read_json({paths}, format = 'newline_delimited', compression = 'gzip', filename = true, "
        "columns = {'run_id': 'VARCHAR', 'ingested_at': 'VARCHAR', 'request': 'JSON', 'record': 'JSON', "
        "'context': 'JSON'})"
    )


def _child(spec: dict[str, Any]) -> None:
    """One measured step in a fresh process; its figures as one JSON line on stdout."""
    base = _vm("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    storage = Storage.from_uri(spec["lake"])
    engine = DuckDBEngine(storage, memory_limit=spec.get("memory_limit"))
    out: dict[str, Any] = {"threads": engine.con.execute("SELECT current_setting('threads')").fetchone()[0]}  # type: ignore[index]
    try:
        with _SpillSampler(engine._spill) as spill:
            load = os.getloadavg()[0]
            cpu, started = time.process_time(), time.perf_counter()
            if spec["step"] == "floor":
                files = list_bronze_files(storage, "events")
                rows, keys = engine.con.execute(floor_sql(engine.root, files)).fetchone()  # type: ignore[misc]
                out |= {"rows": rows, "keys": keys}
            else:
                result = TransformRunner(storage, engine, full_rebuild=spec["step"] == "full").run()
                out |= {
                    "mode": result.mode,
                    "status": str(result.status),
                    "error": result.error,
                    "runner_seconds": result.seconds,
                    "models": [[m.name, m.seconds, m.rows, m.partitions_written] for m in result.models],
                }
            out["seconds"] = time.perf_counter() - started
            out["cpu"] = time.process_time() - cpu
            out["load_before"] = load
        out["spill_peak_bytes"] = spill.peak
    finally:
        engine.close()
        shutil.rmtree(engine._spill, ignore_errors=True)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it can report the parent's peak.
    peak = _vm("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out | {"rss_base_kib": base, "rss_peak_kib": peak}))


# ---- in the benchmark process ---------------------------------------------------------------------------------
def _step(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.transform_rebuild", "--child", json.dumps(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{spec['step']} step failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _link_tree(src: Path, dst: Path) -> int:
    """Hard-link every file of `src` under `dst` (Bronze files are immutable); copies across file systems."""
    n = 0
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
            n += 1
    return n


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def _check(step: dict[str, Any], mode: str) -> None:
    if step.get("mode") != mode or step.get("status") not in ("success", "partial"):
        raise RuntimeError(f"expected a successful {mode} run, got {step.get('mode')} {step.get('status')}: {step}")


def bench_size(n_events: int, memory_limit: str | None) -> dict[str, Any]:
    lake = ensure_lake(n_events)
    if lake.cached:
        print(
            f"  Bronze (cached, generated in {lake.generation_seconds:.0f} s): {lake.root}",
        )
    files = lake.events_paths()
    print(
        f"  events={lake.events:,} over {lake.days} days {lake.first_day}..{lake.last_day}  "
        f"events files={len(files):,}  events Bronze={lake.events_bytes / 1e9:.2f} GB gzip  "
        f"all Bronze={lake.bronze_bytes() / 1e9:.2f} GB  next day: {lake.next_events:,} events"
    )
    floors = [
        _step({"step": "floor", "lake": str(lake.base), "memory_limit": memory_limit}) for _ in range(FLOOR_ROUNDS)
    ]
    floor = min(floors, key=lambda f: f["seconds"])
    rounds = ", ".join(f"{f['seconds']:.1f}" for f in floors)
    print(
        f"  floor (read_json of all events files once, count + count distinct event_key): "
        f"{floor['seconds']:.1f} s, CPU {floor['cpu']:.1f} s (rounds: {rounds})  "
        f"rows={floor['rows']:,} keys={floor['keys']:,}  peak RSS={_mib(floor['rss_peak_kib'])}  "
        f"DuckDB threads={floor['threads']}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-transform-", dir=cache_root()) as tmp:
        work = Path(tmp) / "lake"
        _link_tree(lake.base, work)
        full = _step({"step": "full", "lake": str(work), "memory_limit": memory_limit})
        _check(full, "full")
        silver_gold = _dir_bytes(work / "silver") + _dir_bytes(work / "gold")
        _link_tree(lake.next_batch, work)
        incr = _step({"step": "incremental", "lake": str(work), "memory_limit": memory_limit})
        _check(incr, "incremental")
    _report(lake, floor, full, incr, silver_gold)
    return {"floor": floor, "full": full, "incremental": incr}


def _report(
    lake: GeneratedLake, floor: dict[str, Any], full: dict[str, Any], incr: dict[str, Any], silver_gold: int
) -> None:
    for label, step in (("full rebuild", full), ("incremental (next day)", incr)):
        print(
            f"  {label:<23} {step['seconds']:7.1f} s (runner {step['runner_seconds']:.1f} s), CPU {step['cpu']:.1f} s  "
            f"status={step['status']}  peak RSS={_mib(step['rss_peak_kib'])}  "
            f"DuckDB spill peak={step['spill_peak_bytes'] / 1e9:.2f} GB"
        )
    print(f"  Silver+Gold written by the full rebuild: {silver_gold / 1e9:.2f} GB parquet")
    print(f"  {'model':<30}{'full s':>9}{'rows':>13}{'incr s':>9}{'rows':>11}{'parts':>7}")
    incr_models = {m[0]: m for m in incr["models"]}
    for name, seconds, rows, _ in full["models"]:
        _, i_seconds, i_rows, i_parts = incr_models.get(name, (name, 0.0, 0, 0))
        print(f"  {name:<30}{seconds:9.2f}{rows:13,}{i_seconds:9.2f}{i_rows:11,}{i_parts:7}")
    spent = sum(m[1] for m in full["models"])
    print(f"  {'(all models)':<30}{spent:9.2f}{'':13}{sum(m[1] for m in incr['models']):9.2f}")
    ratio, share = full["seconds"] / floor["seconds"], incr["seconds"] / full["seconds"]
    print(
        f"  full / floor = {ratio:.2f}x (goal: under 2x)   incremental / full = {share:.1%} (goal: under 5%)   "
        f"full: {lake.events / full['seconds']:,.0f} events/s"
    )
    print(
        f"  in CPU seconds: full / floor = {full['cpu'] / floor['cpu']:.2f}x   "
        f"incremental / full = {incr['cpu'] / full['cpu']:.1%}   (1-minute load average before each step: "
        f"floor {floor['load_before']:.1f}, full {full['load_before']:.1f}, incremental {incr['load_before']:.1f})"
    )


def run() -> None:
    sizes = [int(s) for s in os.environ.get("WISTIA_BENCH_SIZES", DEFAULT_SIZES).split(",") if s.strip()]
    memory_limit = os.environ.get("WISTIA_BENCH_MEMORY_LIMIT") or None
    free = shutil.disk_usage(cache_root().parent if not cache_root().exists() else cache_root()).free
    print(
        f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
        f"DuckDB {duckdb.__version__}, memory_limit={memory_limit or 'default'}, "
        f"cache {cache_root()} ({free / 1e9:.0f} GB free), {platform.python_implementation()}"
    )
    for n in sizes:
        print(f"\n{n:,} events")
        bench_size(n, memory_limit)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(json.loads(sys.argv[2]))
    else:
        run()

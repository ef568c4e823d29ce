"""DuckDB against Spark: the same full rebuild of Silver and Gold over the same generated Bronze, in one run.

For `$WISTIA_BENCH_ENGINE_EVENTS` events (default 1,000,000; Bronze from `benchmarks.bronze_generator`, cached),
each engine rebuilds a fresh lake (hard links of the cached Bronze) in its own process:

- DuckDB: `DuckDBEngine` with all cores and DuckDB's default memory limit;
- Spark: `SparkEngine` on a local-mode session (`local[*]`, 8 shuffle partitions, driver heap
  `$SPARK_DRIVER_MEMORY`, default 2g), the session start included in the time and reported apart.

Printed: wall seconds, CPU seconds of the Python process, peak memory of the whole process tree (the Spark
JVM is a child process; sampled every 0.2 s from /proc), rows per table (they must agree), and the ratio
Spark / DuckDB. Figures, never thresholds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bronze_generator import cache_root, ensure_lake
from benchmarks.transform_rebuild import _link_tree
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.build import TransformRunner

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVENTS = 1_000_000


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants, in KiB (0 where /proc is missing)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class _PeakSampler:
    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss_kib(os.getpid()))

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _child(spec: dict[str, Any]) -> None:
    storage = Storage.from_uri(spec["lake"])
    out: dict[str, Any] = {}
    with _PeakSampler() as sampler:
        cpu, started = time.process_time(), time.perf_counter()
        if spec["engine"] == "spark":
            from wistia_analytics.transform.spark_engine import SparkEngine, local_session

            session = local_session(shuffle_partitions=8)
            out["session_seconds"] = time.perf_counter() - started
            engine: Any = SparkEngine(storage, session=session)
        else:
            from wistia_analytics.transform.duckdb_engine import DuckDBEngine

            engine = DuckDBEngine(storage)
        try:
            result = TransformRunner(storage, engine, full_rebuild=True).run()
        finally:
            engine.close()
            if spec["engine"] == "spark":
                session.stop()
        out |= {
            "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu,
            "status": str(result.status),
            "error": result.error,
            "rows": {m.name: m.rows for m in result.models},
            "model_seconds": {m.name: m.seconds for m in result.models},
        }
    out["peak_kib"] = sampler.peak
    print(json.dumps(out))


def _step(engine: str, lake: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.engine_compare",
            "--child",
            json.dumps({"engine": engine, "lake": str(lake)}),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} rebuild failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> None:
    n_events = int(os.environ.get("WISTIA_BENCH_ENGINE_EVENTS", DEFAULT_EVENTS))
    lake = ensure_lake(n_events)
    print(f"{n_events:,} events requested: {lake.events:,} events over {lake.days} days, {os.cpu_count()} cores")
    results: dict[str, dict[str, Any]] = {}
    for engine in ("duckdb", "spark"):
        with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-", dir=cache_root()) as tmp:
            work = Path(tmp) / "lake"
            _link_tree(lake.base, work)
            load = os.getloadavg()[0]
            results[engine] = step = _step(engine, work)
            extra = f" (session start {step['session_seconds']:.1f} s)" if "session_seconds" in step else ""
            print(
                f"  {engine:<7} full rebuild {step['seconds']:7.1f} s{extra}, CPU (Python) {step['cpu']:.1f} s, "
                f"peak memory {step['peak_kib'] / 1024:,.0f} MiB, status {step['status']}, load before {load:.1f}"
            )
            if step["error"]:
                print(f"    error: {step['error']}")
    duck, spark = results["duckdb"], results["spark"]
    print(f"  {'model':<30}{'duckdb s':>10}{'spark s':>10}{'rows':>12}")
    for name, rows in duck["rows"].items():
        same = "" if spark["rows"].get(name) == rows else f"  (spark: {spark['rows'].get(name)} rows)"
        print(f"  {name:<30}{duck['model_seconds'][name]:10.2f}{spark['model_seconds'][name]:10.2f}{rows:12,}{same}")
    print(
        f"  Spark / DuckDB = {spark['seconds'] / duck['seconds']:.1f}x wall time, "
        f"{spark['peak_kib'] / max(duck['peak_kib'], 1):.1f}x peak memory"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(json.loads(sys.argv[2]))
    else:
        run()

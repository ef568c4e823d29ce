"""Run every benchmark (or those named on the command line) and print their figures."""

from __future__ import annotations

import importlib
import platform
import sys
import time

BENCHMARKS = [
    "sandbox_latency",
    "ingest_throughput",
    "analytics_requests",
    "transform_rebuild",
    "engine_compare",
    "dashboard_queries",
    "campaign_faults",
    "campaign_bad_input",
    "campaign_crash",
    "campaign_idempotence",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== {name} ===")
        started = time.perf_counter()
        module.run()
        print(f"({name} took {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

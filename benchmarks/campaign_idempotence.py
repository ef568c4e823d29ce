"""Idempotence, concurrency and secrets campaign: the same inputs always give the same lake, one run at a time.

Why: D4 and D9 promise that re-running a window changes nothing and that `--full-rebuild` equals the incremental
result; D6 promises one run per lake with a clear answer to the second; the token must never reach the lake.
1. Idempotence: `run` three times on the same day (one sandbox, pinned clock): one content hash.
2. Incremental days: `run` once per day over five days (a sandbox per day, same account), then
   `transform --full-rebuild` and `run --full-rebuild` on copies: both equal the incremental lake; a single
   run on the last day (fresh lake) is compared too.
3. Concurrency: two `run` processes started at once on one lake, `rounds` times without `--wait` (exactly one
   proceeds: one exits 0, the other exits 4 with a one-line "lake is busy" message naming the holder, and the
   lake holds one ingest and one transform record) and with `--wait 60` (both exit 0, lock holds never
   overlap, the tables equal one run's). The order of the stages is reported: `run` takes the lock for ingest,
   then again for the transform, so a waiting run can slip in between.
4. Secrets: every file of every lake (gzip decompressed, Parquet as bytes and values), every captured output,
   the run records and the sandbox logs: zero hits for the token.

    python -m benchmarks.campaign_idempotence [--rounds 4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from benchmarks.campaign_support import (
    TODAY,
    Finished,
    ScanResult,
    Workspace,
    all_runs,
    copy_lake,
    differing_tables,
    lake_digests,
    lock_present,
    new_token,
    run_args,
    sandbox_process,
    scan_for_token,
)
from wistia_analytics.lake.runs import RunRecord, RunStatus

DAYS = 5
BUSY_EXIT = 4


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class IdempotenceReport:
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    scan: ScanResult = field(default_factory=ScanResult)
    seconds: float = 0.0

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def transform_mode(finished: Finished) -> str:
    """full | incremental | noop, from the transform's own summary line."""
    if "no new Bronze files" in finished.stdout:
        return "noop"
    for mode in ("incremental", "full"):
        if f": {mode}," in finished.stdout:
            return mode
    return "?"


def busy_lines(finished: Finished) -> list[str]:
    return [line for line in finished.stderr.splitlines() if "lake is busy" in line]


def stage_order(records: list[RunRecord]) -> str:
    """`I1 T1 I2 T2`-style order of the lake's run records by start (I ingest, T transform)."""
    return " ".join("T" if r.command == "transform" else "I" for r in sorted(records, key=lambda r: r.started_at))


def overlapping(records: list[RunRecord]) -> bool:
    """Whether two records held the lake at once (an ingest's `started_at` includes its wait for the lock)."""
    spans = sorted((str(r.extra.get("lock_acquired_at", r.started_at)), r.ended_at or "9999") for r in records)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


@contextmanager
def day_sandboxes(token: str, root: Path, days: int) -> Iterator[dict[int, str]]:
    """One sandbox per day (same account: same seed and first day), `{days_before_today: url}`."""
    with ExitStack() as stack:
        urls = {
            back: stack.enter_context(
                sandbox_process(token, root / f"sandbox-minus{back}.log", today=TODAY - timedelta(days=back))
            ).url
            for back in range(days)
        }
        yield urls


def idempotence(ws: Workspace, report: IdempotenceReport) -> dict[str, str]:
    lake = ws.lake("same-window")
    digests, modes = [], []
    for i in range(3):
        done = ws.run(lake, *run_args(), label=f"same-window-{i + 1}")
        report.check(f"same window run {i + 1} exits 0", done.returncode == 0, done.stderr[-300:])
        digests.append(lake_digests(lake))
        modes.append(transform_mode(done))
    report.figures["same window, transform modes"] = ", ".join(modes)
    diff = sorted({t for d in digests[1:] for t in differing_tables(d, digests[0])})
    report.check("same window three times: identical tables", not diff, ", ".join(diff))
    return digests[0]


def incremental_days(ws: Workspace, urls: dict[int, str], one_shot: dict[str, str], report: IdempotenceReport) -> None:
    lake = ws.lake("daily")
    modes = []
    for back in sorted(urls, reverse=True):
        day = TODAY - timedelta(days=back)
        done = ws.run(lake, *run_args(day), label=f"daily-{day}", api_url=urls[back])
        report.check(f"daily run {day} exits 0", done.returncode == 0, done.stderr[-300:])
        modes.append(transform_mode(done))
    report.figures["daily runs, transform modes"] = ", ".join(modes)
    incremental = lake_digests(lake)
    rebuilt = copy_lake(lake, ws.lake("daily-transform-full-rebuild"))
    done = ws.run(rebuilt, "transform", "--full-rebuild", label="transform-full-rebuild")
    report.check("transform --full-rebuild exits 0", done.returncode == 0, done.stderr[-300:])
    diff = differing_tables(lake_digests(rebuilt), incremental)
    report.check("transform --full-rebuild equals the incremental lake", not diff, ", ".join(diff))
    rerun = copy_lake(lake, ws.lake("daily-run-full-rebuild"))
    done = ws.run(rerun, *run_args(TODAY, "--full-rebuild"), label="run-full-rebuild")
    report.check(
        "run --full-rebuild exits 0 and rebuilds fully",
        done.returncode == 0 and transform_mode(done) == "full",
        done.stderr[-300:],
    )
    diff = differing_tables(lake_digests(rerun), incremental)
    report.check("run --full-rebuild equals the incremental lake", not diff, ", ".join(diff))
    diff = differing_tables(incremental, one_shot)
    report.check(f"{DAYS} daily runs equal one run on the last day", not diff, ", ".join(diff))


def concurrent_pair(ws: Workspace, name: str, *extra: str) -> tuple[Path, Finished, Finished]:
    lake = ws.lake(name)
    first = ws.start(lake, *run_args(TODAY, *extra), label=f"{name}-a")
    second = ws.start(lake, *run_args(TODAY, *extra), label=f"{name}-b")
    return lake, first.wait(), second.wait()


def concurrency(ws: Workspace, reference: dict[str, str], rounds: int, report: IdempotenceReport) -> None:
    orders = []
    for i in range(rounds):
        lake, a, b = concurrent_pair(ws, f"at-once-{i}")
        codes = sorted((a.returncode, b.returncode))
        loser = a if a.returncode == BUSY_EXIT else b
        lines = busy_lines(loser)
        records = all_runs(lake)
        report.check(
            f"at once #{i}: one exits 0, the other {BUSY_EXIT}", codes == [0, BUSY_EXIT], f"exit codes {codes}"
        )
        report.check(
            f"at once #{i}: the loser says so in one line naming the holder",
            len(lines) == 1 and "is locked by run" in lines[0] and "pid" in lines[0] and "Wait for" in lines[0],
            repr(loser.stderr[-400:]),
        )
        report.check(
            f"at once #{i}: only the winner wrote (one ingest and one transform record)",
            sorted(r.command for r in records) == ["run", "transform"],
            stage_order(records),
        )
        diff = differing_tables(lake_digests(lake), reference)
        report.check(f"at once #{i}: tables equal one uninterrupted run", not diff, ", ".join(diff))
        report.check(f"at once #{i}: lock released", not lock_present(lake))
        if i == 0:
            report.figures["busy message"] = lines[0] if lines else "(none)"
    for i in range(rounds):
        lake, a, b = concurrent_pair(ws, f"waiting-{i}", "--wait=60")
        records = all_runs(lake)
        orders.append(stage_order(records))
        report.check(
            f"with --wait #{i}: both exit 0",
            (a.returncode, b.returncode) == (0, 0),
            f"{a.returncode}, {b.returncode}: {a.stderr[-200:]} {b.stderr[-200:]}",
        )
        report.check(
            f"with --wait #{i}: lock holds never overlap, every record finished",
            not overlapping(records) and all(r.status is RunStatus.SUCCESS for r in records),
            stage_order(records),
        )
        modes = sorted((transform_mode(a), transform_mode(b)))
        report.check(f"with --wait #{i}: one full transform, the other after it", modes[0] == "full", str(modes))
        diff = differing_tables(lake_digests(lake), reference)
        report.check(f"with --wait #{i}: tables equal one uninterrupted run", not diff, ", ".join(diff))
    interleaved = sum(o != "I T I T" for o in orders)
    report.figures["with --wait, stage orders (I ingest, T transform)"] = "; ".join(orders)
    report.figures["with --wait, the second run's ingest slipped between the first's stages"] = (
        f"{interleaved} of {rounds}"
    )


def campaign(root: Path, *, rounds: int = 4) -> IdempotenceReport:
    started = time.monotonic()
    report = IdempotenceReport()
    token = new_token()
    root.mkdir(parents=True, exist_ok=True)
    with day_sandboxes(token, root, DAYS) as urls:
        ws = Workspace(root, urls[0], token)
        reference = idempotence(ws, report)
        incremental_days(ws, urls, reference, report)
        concurrency(ws, reference, rounds, report)
    report.scan = scan_for_token(root, token)  # lakes, logs, run records, sandbox logs
    report.check(
        "secrets: no lake file, output, run record or sandbox log holds the token",
        not report.scan.hits and report.scan.files > 0,
        "; ".join(report.scan.hits[:5]),
    )
    report.seconds = time.monotonic() - started
    return report


def print_report(report: IdempotenceReport) -> None:
    for c in report.checks:
        print(f"  {'ok  ' if c.passed else 'FAIL'} {c.name}" + (f"  [{c.detail}]" if not c.passed and c.detail else ""))
    for name, value in report.figures.items():
        print(f"{name}: {value}")
    s = report.scan
    print(f"token scan: {s.files} files ({s.gzip_files} gzip, {s.parquet_files} Parquet): {len(s.hits)} hits")
    print(f"checks: {len(report.checks) - len(report.failures)}/{len(report.checks)} passed; {report.seconds:.1f} s")


def run(rounds: int = 4, keep: Path | None = None) -> IdempotenceReport:
    """Entry point for `python -m benchmarks` and the command line."""
    if keep is not None:
        report = campaign(keep, rounds=rounds)
    else:
        with tempfile.TemporaryDirectory(prefix="campaign-idempotence-") as tmp:
            report = campaign(Path(tmp), rounds=rounds)
    print_report(report)
    return report


def main(argv: list[str]) -> int:
    doc = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.campaign_idempotence", description=doc)
    parser.add_argument("--rounds", type=int, default=4, help="concurrent pairs, with and without --wait")
    parser.add_argument("--keep", type=Path, help="keep lakes and logs in this folder")
    args = parser.parse_args(argv)
    return 1 if run(args.rounds, args.keep).failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

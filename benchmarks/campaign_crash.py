"""Crash campaign: `wistia-analytics run` killed with SIGKILL at random moments, then re-run normally.

Why: the lake promises that a crash anywhere costs time, never data (D4, D6, D8). Each trial starts `run` as a
subprocess on a fresh lake or on a lake with two days of history (so incremental runs are killed too), kills it
after a seeded random delay drawn over a normal run's measured duration (or at a named crash point: between
Bronze and state, before a publish, before the transform state), then runs `run --wait 60` once. The re-run
must succeed by itself (the dead holder's lock taken over, never "lake is busy") and the lake's content hash
(every Silver and Gold table and the quarantine, `campaign_support.lake_digests`) must equal an uninterrupted
run's. The phase a run died in is read from the records it left. Every trial lake and every captured output is
scanned for the API token.

    python -m benchmarks.campaign_crash [--runs 50] [--seed 8] [--jobs 2] [--no-named] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from benchmarks.campaign_support import (
    PHASES,
    TODAY,
    Finished,
    ScanResult,
    Workspace,
    copy_lake,
    differing_tables,
    killed_phase,
    lake_digests,
    lock_present,
    new_token,
    run_args,
    run_ids,
    sandbox_process,
    scan_for_token,
)
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore
from wistia_analytics.transform.models import MODELS, QUARANTINE_TABLE

PRIOR_DAY = TODAY - timedelta(days=2)
STARTUP_SHARE = 0.1
RERUN_WAIT_SECONDS = 60
# Exact moments the random delays may miss. Ingest commits a watermark once for daily stats (fresh and history
# lakes) and once per finished events day; the transform passes `before_publish` once per model.
NAMED_POINTS = (
    ("fresh", "ingest.after_bronze_before_state:1"),
    ("history", "ingest.after_bronze_before_state:2"),
    ("fresh", "ingest.after_bronze_before_state:12"),
    ("history", "transform.before_publish:1"),
    ("fresh", "transform.before_publish:7"),
    ("history", f"transform.before_publish:{len(MODELS)}"),
    ("fresh", "transform.before_state"),
    ("history", "transform.before_state"),
)


@dataclass(frozen=True)
class Trial:
    index: int
    lake_kind: str  # fresh | history
    delay: float | None  # seconds after the start; None: a named crash point
    crash_at: str | None = None

    @property
    def label(self) -> str:
        how = f"kill at {self.delay:.2f}s" if self.delay is not None else f"crash at {self.crash_at}"
        return f"trial {self.index:02d} ({self.lake_kind}, {how})"


@dataclass
class TrialResult:
    trial: Trial
    killed: bool
    phase: str
    lock_left: bool
    rerun_code: int
    rerun_seconds: float
    took_over: bool
    differing: list[str]
    scan: ScanResult
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class CrashReport:
    results: list[TrialResult]
    spans: dict[str, Span]  # fresh | history: a normal run's timing
    references_agree: bool  # a fresh run and two days of history plus one run give the same tables
    seconds: float
    scan: ScanResult
    quarantined: int = 0  # rows of silver_quarantine in the fresh reference lake

    @property
    def failures(self) -> list[TrialResult]:
        return [r for r in self.results if not r.ok]

    def phase_counts(self) -> dict[str, int]:
        counts = Counter(r.phase for r in self.results)
        return {p: counts.get(p, 0) for p in PHASES}


def timed_run(ws: Workspace, lake: Path, *args: str, label: str, api_url: str | None = None) -> tuple[Finished, Span]:
    """Run once, noting when the run's first record appeared in the lake (before that: interpreter start-up)."""
    runs_dir = lake / "_runs"
    existing = set(runs_dir.iterdir()) if runs_dir.exists() else set()
    started = ws.start(lake, *args, label=label, api_url=api_url)
    first_write: float | None = None
    while started.process.poll() is None:
        if first_write is None and runs_dir.exists() and set(runs_dir.iterdir()) - existing:
            first_write = time.monotonic() - started.started
        time.sleep(0.005)
    done = started.wait()
    return done, Span(first_write if first_write is not None else done.seconds, done.seconds)


@dataclass(frozen=True)
class Span:
    """A normal run's timing: seconds until its first lake write, and in all."""

    first_write: float
    total: float


def plan_trials(runs: int, seed: int, spans: dict[str, Span], *, named: bool = True) -> list[Trial]:
    """`runs` seeded random kill delays over the measured run durations, then the named crash points.

    A share `STARTUP_SHARE` of the delays falls in the start-up (nothing written yet: proves a run killed there
    is harmless); the rest uniformly between the first write and the end, where the lake can be hurt. On a
    loaded 2-core machine start-up is more than half of a tiny run: uniform over the whole run would spend
    most trials there.
    """
    rng = random.Random(seed)
    trials = []
    for i in range(runs):
        kind = rng.choice(("fresh", "history"))
        span = spans[kind]
        low, high = (0.0, span.first_write) if rng.random() < STARTUP_SHARE else (span.first_write, span.total)
        trials.append(Trial(i, kind, round(rng.uniform(low, high), 3)))
    if named:
        trials += [Trial(runs + j, kind, None, point) for j, (kind, point) in enumerate(NAMED_POINTS)]
    return trials


def run_trial(ws: Workspace, trial: Trial, prior: Path, want: dict[str, dict[str, str]], *, keep: bool) -> TrialResult:
    """Kill one `run`, re-run it once with `--wait`, and list every way the lake differs from the promise."""
    lake = ws.lake(f"trial-{trial.index:02d}")
    if trial.lake_kind == "history":
        copy_lake(prior, lake)
    before = run_ids(lake) if lake.exists() else set()
    started = ws.start(lake, *run_args(), label=f"trial{trial.index:02d}-killed", crash_at=trial.crash_at)
    if trial.delay is not None:
        first, killed = started.kill_after(trial.delay)
    else:
        first = started.wait()
        killed = first.returncode == -9
    problems = []
    if trial.crash_at and not killed:
        problems.append(f"named crash point did not fire (exit {first.returncode})")
    if not killed and first.returncode != 0:
        problems.append(f"uninterrupted run failed (exit {first.returncode}): {first.stderr[-300:]}")
    phase = killed_phase(lake, before) if killed else "finished"
    lock_left = lock_present(lake)
    rerun = ws.run(lake, *run_args(TODAY, f"--wait={RERUN_WAIT_SECONDS}"), label=f"trial{trial.index:02d}-rerun")
    if rerun.returncode != 0:
        problems.append(f"re-run exit {rerun.returncode}: {rerun.stderr[-400:]}")
    if "lake is busy" in rerun.stderr:
        problems.append("re-run reported the lake busy")
    if lock_present(lake):
        problems.append("lock left behind by the re-run")
    took_over = "took over stale lake lock" in rerun.stderr
    if lock_left and killed and not took_over:
        problems.append("the dead run's lock was there but the re-run did not say it took it over")
    differing = differing_tables(lake_digests(lake), want[trial.lake_kind])
    if differing:
        problems.append(f"tables differ from the uninterrupted run: {', '.join(differing)}")
    scan = scan_for_token(lake, ws.token)
    if scan.hits:
        problems.append(f"token found: {scan.hits[:3]}")
    if not problems and not keep:
        shutil.rmtree(lake)
    return TrialResult(
        trial, killed, phase, lock_left, rerun.returncode, rerun.seconds, took_over, differing, scan, problems
    )


def campaign(
    root: Path,
    *,
    runs: int = 50,
    seed: int = 8,
    jobs: int = 2,
    named: bool = True,
    keep: bool = False,
    progress: bool = True,
    bad_records: float = 0.0,
) -> CrashReport:
    """The whole campaign in `root` (lakes, logs); returns every trial's result and the scan of everything."""
    started = time.monotonic()
    token = new_token()
    root.mkdir(parents=True, exist_ok=True)
    with (
        sandbox_process(token, root / "sandbox-today.log", bad_records=bad_records) as today_sb,
        sandbox_process(token, root / "sandbox-prior.log", today=PRIOR_DAY, bad_records=bad_records) as prior_sb,
    ):
        ws = Workspace(root, today_sb.url, token)
        prior = ws.lake("prior")
        made = ws.run(prior, *run_args(PRIOR_DAY), label="prior", api_url=prior_sb.url)
        if made.returncode != 0:
            raise RuntimeError(f"could not build the lake with history: {made.stderr[-500:]}")
        ref_fresh, fresh_span = timed_run(ws, ws.lake("reference-fresh"), *run_args(), label="reference-fresh")
        history_lake = copy_lake(prior, ws.lake("reference-history"))
        ref_history, history_span = timed_run(ws, history_lake, *run_args(), label="reference-history")
        for ref in (ref_fresh, ref_history):
            if ref.returncode != 0:
                raise RuntimeError(f"reference run failed: {ref.stderr[-500:]}")
        want = {"fresh": lake_digests(ws.lake("reference-fresh")), "history": lake_digests(history_lake)}
        spans = {"fresh": fresh_span, "history": history_span}
        trials = plan_trials(runs, seed, spans, named=named)
        results: list[TrialResult] = []

        def one(trial: Trial) -> TrialResult:
            result = run_trial(ws, trial, prior, want, keep=keep)
            if progress:
                verdict = "ok" if result.ok else "FAILED: " + "; ".join(result.problems)
                print(f"  {trial.label}: {result.phase}, lock left {result.lock_left}, {verdict}", flush=True)
            return result

        with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
            results = list(pool.map(one, trials))
    scan = ScanResult()
    for folder in (ws.logs, ws.lake("prior"), ws.lake("reference-fresh"), ws.lake("reference-history")):
        scan.add(scan_for_token(folder, token))
    for log in root.glob("sandbox-*.log"):
        scan.hits += [f"{log}"] if token in log.read_text(errors="replace") else []
    for r in results:
        scan.add(r.scan)
    quarantine = TableStore(Storage.from_uri(str(ws.lake("reference-fresh")))).current(QUARANTINE_TABLE)
    return CrashReport(
        results,
        spans,
        want["fresh"] == want["history"],
        time.monotonic() - started,
        scan,
        quarantine.row_count if quarantine else 0,
    )


def print_report(report: CrashReport) -> None:
    results = report.results
    timed = [r for r in results if r.trial.delay is not None]
    named = [r for r in results if r.trial.delay is None]
    fresh, history = report.spans["fresh"], report.spans["history"]
    print(
        f"normal run: {fresh.total:.2f} s on a fresh lake (first write at {fresh.first_write:.2f} s), "
        f"{history.total:.2f} s with two days of history (first write at {history.first_write:.2f} s); "
        f"the two references agree: {report.references_agree}"
    )
    print(f"trials: {len(results)} ({len(timed)} at random moments, {len(named)} at named crash points)")
    print("killed during: " + ", ".join(f"{p} {n}" for p, n in report.phase_counts().items() if p != "finished"))
    print(f"ended before the kill (or killed while exiting): {report.phase_counts()['finished']}")
    print(
        f"killed: {sum(r.killed for r in results)}; lock left behind: {sum(r.lock_left for r in results)}; "
        f"taken over by the re-run: {sum(r.took_over for r in results)}"
    )
    reruns = sorted(r.rerun_seconds for r in results)
    print(f"re-run: median {reruns[len(reruns) // 2]:.2f} s, max {reruns[-1]:.2f} s")
    print(f"Gold and Silver identical to the uninterrupted run: {sum(not r.differing for r in results)}/{len(results)}")
    print(
        f"token scan: {report.scan.files} files ({report.scan.gzip_files} gzip, {report.scan.parquet_files} "
        f"Parquet) and every output: {len(report.scan.hits)} hits"
    )
    for r in report.failures:
        print(f"FAILED {r.trial.label}: {'; '.join(r.problems)}")
    print(f"quarantine rows in the reference lake: {report.quarantined}")
    print(f"campaign time: {report.seconds:.1f} s")


def run(
    runs: int = 50,
    seed: int = 8,
    jobs: int = 2,
    named: bool = True,
    keep: Path | None = None,
    bad_records: float = 0.0,
) -> CrashReport:
    """Entry point for `python -m benchmarks` and the command line."""
    with tempfile.TemporaryDirectory(prefix="campaign-crash-") as tmp:
        root = keep or Path(tmp)
        report = campaign(
            root, runs=runs, seed=seed, jobs=jobs, named=named, keep=keep is not None, bad_records=bad_records
        )
    print_report(report)
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.campaign_crash", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="trials killed at random moments")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2, help="trials in flight at once")
    parser.add_argument("--no-named", action="store_true", help="skip the named crash points")
    parser.add_argument("--keep", type=Path, help="keep lakes and logs in this folder")
    parser.add_argument("--bad-records", type=float, default=0.0, help="share of malformed records the sandbox serves")
    args = parser.parse_args(argv)
    report = run(args.runs, args.seed, args.jobs, not args.no_named, args.keep, args.bad_records)
    return 1 if report.failures or report.scan.hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

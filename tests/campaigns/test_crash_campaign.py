"""Reduced crash campaign: `run` killed (SIGKILL) at seeded moments and at named points, then re-run normally.

Each trial must leave, after one plain re-run, the tables of an uninterrupted run (content hash of every Silver
and Gold table and the quarantine), with the dead run's lock taken over by the re-run itself and no token in
the lake. `python -m benchmarks.campaign_crash` is the full version (50+ trials).
"""

from __future__ import annotations

import pytest
from benchmarks.campaign_crash import Span, Trial, plan_trials, run_trial
from benchmarks.campaign_support import Workspace

from tests.campaigns.conftest import References
from wistia_analytics.transform.models import MODELS

pytestmark = pytest.mark.slow

NAMED = [
    # (lake, crash point, phase the records must show)
    ("fresh", "ingest.after_bronze_before_state:2", "ingest"),
    ("history", "transform.before_publish:1", "transform"),
    ("fresh", f"transform.before_publish:{len(MODELS) // 2}", "publish"),
    ("history", "transform.before_state", "publish"),
]


@pytest.mark.parametrize(("lake_kind", "crash_at", "phase"), NAMED)
def test_run_killed_at_a_named_point_recovers_to_the_uninterrupted_tables(
    workspace: Workspace, references: References, lake_kind: str, crash_at: str, phase: str
) -> None:
    index = 100 + NAMED.index((lake_kind, crash_at, phase))
    result = run_trial(
        workspace, Trial(index, lake_kind, None, crash_at), references.prior, references.digests, keep=False
    )
    assert result.problems == []
    assert result.killed and result.phase == phase
    assert result.lock_left and result.took_over  # the dead holder's lock, taken over without waiting for a TTL
    assert result.rerun_code == 0 and result.differing == []
    assert result.scan.parquet_files > 0 and result.scan.hits == []


def test_plan_draws_seeded_delays_over_the_measured_run() -> None:
    spans = {"fresh": Span(1.5, 4.0), "history": Span(1.0, 2.0)}
    plan = plan_trials(200, 8, spans)
    assert plan == plan_trials(200, 8, spans)  # seeded: same trials every time
    delays = [(t.lake_kind, t.delay) for t in plan if t.delay is not None]
    assert len(delays) == 200 and {kind for kind, _ in delays} == {"fresh", "history"}
    assert all(0.0 <= d <= spans[kind].total for kind, d in delays)
    in_startup = sum(d < spans[kind].first_write for kind, d in delays)
    assert 0 < in_startup < 50  # ~10%: most kills land where the run writes
    assert [t.crash_at for t in plan if t.delay is None] != []


@pytest.mark.parametrize("index", [0, 1])
def test_run_killed_at_a_random_moment_recovers_to_the_uninterrupted_tables(
    workspace: Workspace, references: References, index: int
) -> None:
    trial = plan_trials(2, 20261125, references.spans, named=False)[index]
    result = run_trial(workspace, trial, references.prior, references.digests, keep=False)
    assert result.problems == []
    assert result.rerun_code == 0 and result.differing == []
    assert result.phase in ("startup", "ingest", "between", "transform", "publish", "finished")
    assert result.lock_left <= result.took_over  # a lock left behind was always taken over by the re-run

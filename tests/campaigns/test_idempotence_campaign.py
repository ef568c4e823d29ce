"""Same window three times gives one lake; `--full-rebuild` after incremental days equals the incremental lake.

Reduced from `python -m benchmarks.campaign_idempotence` (five days there, two here).
"""

from __future__ import annotations

import pytest
from benchmarks.campaign_crash import PRIOR_DAY
from benchmarks.campaign_idempotence import transform_mode
from benchmarks.campaign_support import SandboxProcess, Workspace, copy_lake, differing_tables, lake_digests, run_args

from tests.campaigns.conftest import References

pytestmark = pytest.mark.slow


def test_the_same_window_three_times_gives_identical_tables(workspace: Workspace, references: References) -> None:
    lake = workspace.lake("three-times")
    modes, digests = [], []
    for i in range(3):
        done = workspace.run(lake, *run_args(), label=f"three-times-{i}")
        assert done.returncode == 0, done.stderr[-1000:]
        modes.append(transform_mode(done))
        digests.append(lake_digests(lake))
    assert modes == ["full", "incremental", "incremental"]  # the re-runs re-fetch the lookback days
    assert digests[0] == digests[1] == digests[2] == references.digests["fresh"]


def test_full_rebuild_after_incremental_days_equals_the_incremental_lake(
    workspace: Workspace, references: References, prior_sandbox: SandboxProcess
) -> None:
    lake = workspace.lake("two-days")
    first = workspace.run(lake, *run_args(PRIOR_DAY), label="two-days-1", api_url=prior_sandbox.url)
    second = workspace.run(lake, *run_args(), label="two-days-2")
    assert (first.returncode, second.returncode) == (0, 0), (first.stderr[-1000:], second.stderr[-1000:])
    assert (transform_mode(first), transform_mode(second)) == ("full", "incremental")
    incremental = lake_digests(lake)
    assert incremental == references.digests["history"]

    rebuilt = copy_lake(lake, workspace.lake("two-days-rebuilt"))
    done = workspace.run(rebuilt, "transform", "--full-rebuild", label="two-days-full-rebuild")
    assert done.returncode == 0 and transform_mode(done) == "full", done.stderr[-1000:]
    assert differing_tables(lake_digests(rebuilt), incremental) == []

    rerun = copy_lake(lake, workspace.lake("two-days-run-rebuilt"))
    done = workspace.run(rerun, *run_args(PRIOR_DAY.replace(day=25), "--full-rebuild"), label="two-days-run-rebuild")
    assert done.returncode == 0 and transform_mode(done) == "full", done.stderr[-1000:]
    assert differing_tables(lake_digests(rerun), incremental) == []
    assert differing_tables(incremental, references.digests["fresh"]) == []  # = one run on the last day

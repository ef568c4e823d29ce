"""Two `run` processes on one lake: exactly one proceeds; the other exits 4 in one clear line, or waits.

Reduced from `python -m benchmarks.campaign_idempotence` (which repeats each case and reports stage orders).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from benchmarks.campaign_idempotence import BUSY_EXIT, busy_lines, concurrent_pair, overlapping, transform_mode
from benchmarks.campaign_support import Workspace, all_runs, differing_tables, lake_digests, lock_present, run_args

from tests.campaigns.conftest import References
from wistia_analytics.lake.lock import LakeLock
from wistia_analytics.lake.runs import RunStatus
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso, utc_now

pytestmark = pytest.mark.slow


def test_two_runs_at_once_one_proceeds_the_other_exits_4_in_one_line(
    workspace: Workspace, references: References
) -> None:
    lake, a, b = concurrent_pair(workspace, "pair-no-wait")
    assert sorted((a.returncode, b.returncode)) == [0, BUSY_EXIT]
    loser = a if a.returncode == BUSY_EXIT else b
    lines = busy_lines(loser)
    assert len(lines) == 1, loser.stderr  # the whole message on one line, never wrapped
    assert lines[0].startswith("lake is busy: lake ") and f"{lake} is locked by run " in lines[0]
    assert "('run'), pid " in lines[0] and "Wait for that run to finish (or pass a wait)" in lines[0]
    assert "Traceback" not in loser.stderr
    assert sorted(r.command for r in all_runs(lake)) == ["run", "transform"]  # the loser wrote nothing
    assert differing_tables(lake_digests(lake), references.digests["fresh"]) == []
    assert not lock_present(lake)


def test_two_waiting_runs_take_turns_and_give_one_runs_tables(workspace: Workspace, references: References) -> None:
    lake, a, b = concurrent_pair(workspace, "pair-wait", "--wait=60")
    assert (a.returncode, b.returncode) == (0, 0), (a.stderr[-800:], b.stderr[-800:])
    records = all_runs(lake)
    assert len(records) == 4 and all(r.status is RunStatus.SUCCESS for r in records)
    assert not overlapping(records)  # never two holders at once
    assert sorted((transform_mode(a), transform_mode(b)))[0] == "full"
    assert differing_tables(lake_digests(lake), references.digests["fresh"]) == []
    assert not lock_present(lake)


def test_a_waiting_contender_cannot_slip_between_the_stages_of_a_run(workspace: Workspace, tmp_path: Path) -> None:
    """A contender polling every 5 ms (a real one polls every second) takes the lake the moment it is free.

    `run` must hold it from ingest to the end of its transform: the contender gets it only after, and `run`
    never fails halfway with "lake is busy" after having ingested.
    """
    lake = workspace.lake("contender")
    started = workspace.start(lake, *run_args(), label="contended-run")
    deadline = time.monotonic() + 60
    while not lock_present(lake):  # the run holds the lake: now contend
        assert started.process.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    got: list[str] = []

    def contend() -> None:
        lock = LakeLock(Storage.from_uri(str(lake)), "20261125T000000Z-c0c0c0", "contender", poll_seconds=0.005)
        lock.acquire(wait_seconds=120)
        got.append(utc_iso(utc_now()))
        time.sleep(1.0)  # hold it long enough for a transform that wants it to give up
        lock.release()

    thread = threading.Thread(target=contend)
    thread.start()
    done = started.wait()
    thread.join()
    assert done.returncode == 0, done.stderr[-800:]
    transforms = [r for r in all_runs(lake) if r.command == "transform"]
    assert len(transforms) == 1 and transforms[0].ended_at is not None
    assert got[0] >= transforms[0].ended_at  # the contender had the lake only once the whole run was over

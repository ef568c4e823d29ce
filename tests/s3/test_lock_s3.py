"""The lake lock's contention cases on a real conditional-PUT server (the backend-neutral lock, state, run
record and Bronze tests run on S3 from tests/lake)."""

from __future__ import annotations

import pytest

from tests.lake.contention import contend
from tests.lake.test_lock import dead_pid, plant
from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.lock import LakeLock, LockInfo
from wistia_analytics.lake.storage import Storage

pytestmark = pytest.mark.s3


def test_two_holders_one_wins(s3_lake_uri: str) -> None:
    """Two runs (separate storage objects, as two processes would have) start together: exactly one holds."""
    first = LakeLock(Storage.from_uri(s3_lake_uri), "run-a", "ingest")
    second = LakeLock(Storage.from_uri(s3_lake_uri), "run-b", "transform")
    outcome = contend([first, second])
    winners = [run for run, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    loser = "run-b" if winners == ["run-a"] else "run-a"
    assert f"locked by run {winners[0]}" in outcome[loser]
    winner_lock = first if winners == ["run-a"] else second
    assert LockInfo.from_json(winner_lock.storage.read_bytes(LOCK_PATH)).run_id == winners[0]
    assert winner_lock.release() is True
    late = first if winner_lock is second else second
    late.acquire()  # free again: the loser gets it now
    assert late.held
    late.release()
    assert late.storage.list("_lock") == []


@pytest.mark.parametrize("round_", range(4))
def test_threads_contending_for_a_stale_lock_one_wins(s3_lake_uri: str, round_: int) -> None:
    storage = Storage.from_uri(s3_lake_uri)
    plant(storage, pid=dead_pid())
    outcome = contend([LakeLock(Storage.from_uri(s3_lake_uri), f"run-{i}", "ingest") for i in range(5)])
    winners = [run for run, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)).run_id == winners[0]
    assert storage.list("_lock") == [LOCK_PATH]  # claims cleaned up

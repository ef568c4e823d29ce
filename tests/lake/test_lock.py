from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.lake.contention import contend
from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.lock import LakeLock, LakeLockedError, LakeLockLostError, LockInfo
from wistia_analytics.lake.storage import LocalStorage, Storage

from .conftest import NOW

HOST = socket.gethostname()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    return proc.pid


def plant(storage: Storage, **overrides: Any) -> LockInfo:
    """Put a lock file on the lake as some other run would have left it."""
    info = LockInfo("old-run", os.getpid(), HOST, "ingest", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z", "t0")
    info = replace(info, **overrides)
    storage.write_bytes(LOCK_PATH, info.to_json())
    return info


def lock_files(storage: Storage) -> list[str]:
    return storage.list("_lock")


def test_acquire_writes_holder_and_release_removes(any_storage: Storage) -> None:
    lock = LakeLock(any_storage, "run-1", "ingest --since 2026-11-01", clock=lambda: NOW)
    lock.acquire()
    doc = json.loads(any_storage.read_bytes(LOCK_PATH))
    assert {k: doc[k] for k in ("run_id", "pid", "host", "command", "acquired_at", "heartbeat_at")} == {
        "run_id": "run-1",
        "pid": os.getpid(),
        "host": HOST,
        "command": "ingest --since 2026-11-01",
        "acquired_at": "2026-11-25T17:45:12Z",
        "heartbeat_at": "2026-11-25T17:45:12Z",
    }
    assert lock.held
    assert lock.release() is True
    assert lock_files(any_storage) == []
    assert lock.release() is False


def test_second_acquire_names_the_holder(any_storage: Storage) -> None:
    with LakeLock(any_storage, "run-1", "ingest", clock=lambda: NOW):
        other = LakeLock(any_storage, "run-2", "backfill")
        with pytest.raises(LakeLockedError) as caught:
            other.acquire()
        message = str(caught.value)
        for part in ("run-1", f"pid {os.getpid()}", HOST, "since 2026-11-25T17:45:12Z", "delete"):
            assert part in message
        assert caught.value.holder is not None and caught.value.holder.run_id == "run-1"
        assert not other.held
    assert lock_files(any_storage) == []


def test_stale_lock_of_dead_process_is_taken_over(storage: LocalStorage) -> None:
    stale = plant(storage, pid=dead_pid())
    lock = LakeLock(storage, "run-2", "ingest")
    lock.acquire()
    assert lock.taken_over == stale
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)).run_id == "run-2"
    assert lock_files(storage) == [LOCK_PATH]  # no tombstone left behind


def test_live_process_on_this_host_is_never_stale(storage: LocalStorage) -> None:
    plant(storage, pid=os.getpid(), heartbeat_at="2000-01-01T00:00:00Z")
    with pytest.raises(LakeLockedError, match="old-run"):
        LakeLock(storage, "run-2", "ingest", ttl_seconds=1).acquire()


def test_other_host_is_stale_only_after_ttl(storage: LocalStorage) -> None:
    heartbeat = NOW - timedelta(seconds=600)
    plant(storage, host="elsewhere", pid=1, heartbeat_at=heartbeat.isoformat())
    with pytest.raises(LakeLockedError, match="elsewhere"):
        LakeLock(storage, "run-2", "ingest", ttl_seconds=601, clock=lambda: NOW).acquire()
    lock = LakeLock(storage, "run-2", "ingest", ttl_seconds=599, clock=lambda: NOW)
    lock.acquire()
    assert lock.taken_over is not None and lock.taken_over.host == "elsewhere"


def test_unreadable_lock_is_not_taken_over(storage: LocalStorage) -> None:
    storage.write_bytes(LOCK_PATH, b"garbage")
    with pytest.raises(LakeLockedError, match="unreadable"):
        LakeLock(storage, "run-2", "ingest").acquire()
    assert storage.read_bytes(LOCK_PATH) == b"garbage"


def test_heartbeat_refreshes_and_detects_loss(storage: LocalStorage) -> None:
    now = [NOW]
    lock = LakeLock(storage, "run-1", "ingest", clock=lambda: now[0])
    lock.acquire()
    now[0] = NOW + timedelta(minutes=5)
    lock.heartbeat()
    doc = json.loads(storage.read_bytes(LOCK_PATH))
    assert (doc["acquired_at"], doc["heartbeat_at"]) == ("2026-11-25T17:45:12Z", "2026-11-25T17:50:12Z")
    thief = plant(storage, run_id="thief")
    with pytest.raises(LakeLockLostError):
        lock.heartbeat()
    assert not lock.held
    assert lock.release() is False
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)) == thief


def test_release_only_if_ours(storage: LocalStorage) -> None:
    lock = LakeLock(storage, "run-1", "ingest")
    lock.acquire()
    other = plant(storage, run_id="run-9")  # e.g. taken over while we were stalled
    assert lock.release() is False
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)) == other


def test_same_run_id_twice_in_one_process_is_still_exclusive(storage: LocalStorage) -> None:
    with LakeLock(storage, "run-1", "ingest"), pytest.raises(LakeLockedError):
        LakeLock(storage, "run-1", "ingest").acquire()


def test_wait_until_holder_releases(storage: LocalStorage) -> None:
    holder = LakeLock(storage, "run-1", "ingest")
    holder.acquire()
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            holder.release()

    waiter = LakeLock(storage, "run-2", "ingest", poll_seconds=0.5, sleep=fake_sleep, monotonic=lambda: 0.0)
    waiter.acquire(wait_seconds=30)
    assert waiter.held and sleeps == [0.5, 0.5, 0.5]


def test_wait_gives_up_after_deadline(storage: LocalStorage) -> None:
    clock = [0.0]

    def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    with LakeLock(storage, "run-1", "ingest"):
        waiter = LakeLock(storage, "run-2", "x", poll_seconds=2, sleep=fake_sleep, monotonic=lambda: clock[0])
        with pytest.raises(LakeLockedError, match="run-1"):
            waiter.acquire(wait_seconds=5)
    assert clock[0] == 5.0  # slept 2 + 2 + 1, then gave up


def test_late_contender_with_an_old_view_removes_nothing(storage: LocalStorage) -> None:
    """A contender that judged an old lock stale, but was overtaken, must not remove the new holder."""
    stale = plant(storage, pid=dead_pid())
    stale_bytes = storage.read_bytes(LOCK_PATH)
    winner = LakeLock(storage, "winner", "ingest")
    winner.acquire()
    fresh = storage.read_bytes(LOCK_PATH)
    late = LakeLock(storage, "late", "ingest")
    assert late._take_over(stale_bytes, stale) is False
    assert storage.read_bytes(LOCK_PATH) == fresh
    assert lock_files(storage) == [LOCK_PATH]
    winner.heartbeat()
    assert winner.release() is True


def claim_path(raw: bytes, generation: int = 1) -> str:
    return f"{LOCK_PATH}.takeover-{hashlib.sha256(raw).hexdigest()[:16]}-{generation:03d}"


def test_claim_left_by_a_dead_claimer_does_not_block(storage: LocalStorage) -> None:
    plant(storage, pid=dead_pid())
    raw = storage.read_bytes(LOCK_PATH)
    storage.write_bytes(claim_path(raw), plant(LocalStorage(storage.root / "x"), pid=dead_pid()).to_json())
    lock = LakeLock(storage, "run-2", "ingest")
    lock.acquire()
    assert lock.taken_over is not None and lock.taken_over.run_id == "old-run"
    assert lock_files(storage) == [LOCK_PATH]  # both claims swept


def test_live_claimer_is_left_to_finish(storage: LocalStorage) -> None:
    """While another contender (alive) holds the claim, we neither remove the lock nor spin."""
    plant(storage, pid=dead_pid())
    raw = storage.read_bytes(LOCK_PATH)
    busy = LockInfo("claimer", os.getpid(), HOST, "ingest", "t", "t", "other")
    storage.write_bytes(claim_path(raw), busy.to_json())
    with pytest.raises(LakeLockedError, match="taking its lock over"):
        LakeLock(storage, "run-2", "ingest").acquire()
    assert storage.read_bytes(LOCK_PATH) == raw


def test_secrets_not_in_lock_file(storage: LocalStorage) -> None:
    with LakeLock(storage, "run-1", "ingest --token tok-SECRET-1"):
        assert b"tok-SECRET" not in storage.read_bytes(LOCK_PATH)


@pytest.mark.parametrize("round_", range(25))
def test_threads_contending_for_stale_lock_one_wins(storage: LocalStorage, round_: int) -> None:
    plant(storage, pid=dead_pid())
    outcome = contend([LakeLock(storage, f"run-{i}", "ingest") for i in range(6)])
    winners = [run for run, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)).run_id == winners[0]
    assert lock_files(storage) == [LOCK_PATH]


def _contend_in_process(root: str, run_id: str, barrier: Any, results: Any) -> None:
    storage = LocalStorage(Path(root))
    barrier.wait()
    try:
        LakeLock(storage, run_id, "ingest").acquire()  # exits holding it: the lock names this pid
        results.put((run_id, "won"))
    except LakeLockedError:
        results.put((run_id, "locked"))
    barrier.wait()  # the winner stays alive until everyone has tried (else its lock is stale)


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork")
def test_processes_contending_for_stale_lock_one_wins(storage: LocalStorage) -> None:
    plant(storage, pid=dead_pid())
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_contend_in_process, args=(str(storage.root), f"proc-{i}", barrier, results))
        for i in range(4)
    ]
    for p in procs:
        p.start()
    outcome = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    winners = [run for run, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    assert LockInfo.from_json(storage.read_bytes(LOCK_PATH)).run_id == winners[0]
    # The winner exited without releasing: its lock is now stale and is taken over in turn.
    follower = LakeLock(storage, "next", "ingest")
    follower.acquire()
    assert follower.taken_over is not None and follower.taken_over.run_id == winners[0]


def test_rejects_naive_or_bad_settings(storage: LocalStorage) -> None:
    with pytest.raises(ValueError, match="ttl"):
        LakeLock(storage, "run-1", "x", ttl_seconds=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        LakeLock(storage, "run-1", "x", clock=lambda: datetime(2026, 11, 25)).acquire()

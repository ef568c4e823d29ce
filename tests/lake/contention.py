"""Start several lock holders at one barrier and report who won: shared by the local and S3 lock tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from wistia_analytics.lake.lock import LakeLock, LakeLockedError


def contend(locks: Sequence[LakeLock]) -> dict[str, str]:
    """run id -> "won", or the `LakeLockedError` message the loser saw; every thread released together."""
    barrier = threading.Barrier(len(locks))
    outcome: dict[str, str] = {}

    def attempt(lock: LakeLock) -> None:
        barrier.wait()
        try:
            lock.acquire()
            outcome[lock.run_id] = "won"
        except LakeLockedError as exc:
            outcome[lock.run_id] = str(exc)

    threads = [threading.Thread(target=attempt, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome

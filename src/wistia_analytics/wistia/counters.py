"""Counters of what the client did on the wire, for run reports and tests.

They answer "how much of the budget did this run use, and how unhealthy was the API": every HTTP attempt
(retries included) is a request, throttling answers are counted apart from other faults, and faults are
keyed by kind (``http_500``, ``timeout``, ``invalid_json``, ...). Shared by threads, hence the lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent, immutable copy of `ClientStats` at one moment."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    bytes: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "bytes": self.bytes,
            "faults": dict(self.faults),
        }


class ClientStats:
    """Thread-safe counters; read them through the properties or `snapshot()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._throttled = 0
        self._bytes = 0
        self._faults: Counter[str] = Counter()

    def record_request(self) -> None:
        """One HTTP attempt was sent (whatever came back)."""
        with self._lock:
            self._requests += 1

    def record_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    def record_retry(self) -> None:
        with self._lock:
            self._retries += 1

    def record_throttled(self) -> None:
        """A 429/503 throttling answer."""
        with self._lock:
            self._throttled += 1

    def record_fault(self, kind: str) -> None:
        """A transient failure other than throttling (5xx, timeout, dropped connection, bad body)."""
        with self._lock:
            self._faults[kind] += 1

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def retries(self) -> int:
        with self._lock:
            return self._retries

    @property
    def throttled(self) -> int:
        with self._lock:
            return self._throttled

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    @property
    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=self._requests,
                retries=self._retries,
                throttled=self._throttled,
                bytes=self._bytes,
                faults=dict(self._faults),
            )

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"ClientStats(requests={s.requests}, retries={s.retries}, throttled={s.throttled}, "
            f"bytes={s.bytes}, faults={s.faults})"
        )

"""Seeded fault injection: which request gets which fault depends only on (seed, request number)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from wistia_analytics.sandbox.config import FaultKind


@dataclass
class FaultPlan:
    """Decides, per request, whether to inject a fault; keeps a replayable log of what it injected."""

    rate: float
    kinds: tuple[FaultKind, ...]
    seed: int
    injected: list[tuple[int, FaultKind, str]] = field(default_factory=list)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, path: str) -> FaultKind | None:
        with self._lock:
            self._counter += 1
            n = self._counter
        if self.rate <= 0 or not self.kinds:
            return None
        r = random.Random(f"{self.seed}:{n}")
        if r.random() >= self.rate:
            return None
        kind = self.kinds[r.randrange(len(self.kinds))]
        with self._lock:
            self.injected.append((n, kind, path))
        return kind

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for _, kind, _ in self.injected:
                out[kind] = out.get(kind, 0) + 1
            return out

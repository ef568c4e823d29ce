"""The sandbox's notion of "now": the real clock, or a pinned day that can tick forward per request."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from wistia_analytics.sandbox.config import SandboxConfig


class SandboxClock:
    """Pinned (`--today`) clocks are deterministic; `tick_seconds` lets events arrive during paging."""

    def __init__(self, config: SandboxConfig) -> None:
        self._pinned = config.today is not None
        base = datetime.combine(config.resolved_today(), config.time_of_day, tzinfo=UTC)
        self._base_ts = int(base.timestamp())
        self._tick = config.tick_seconds
        self._requests = 0
        self._lock = threading.Lock()

    def on_request(self) -> None:
        with self._lock:
            self._requests += 1

    def now_ts(self) -> int:
        """Unix seconds, UTC."""
        if not self._pinned:
            return int(datetime.now(UTC).timestamp() + self._requests * self._tick)
        return int(self._base_ts + self._requests * self._tick)

    def today(self) -> date:
        return datetime.fromtimestamp(self.now_ts(), tz=UTC).date()

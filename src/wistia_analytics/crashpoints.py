"""Named points where a test can kill the process (SIGKILL) to prove a crash there loses nothing.

`crash_point("ingest.after_bronze_before_state")` does nothing unless the environment variable
`WISTIA_ANALYTICS_CRASH_AT` names that point (optionally `name:N` to die on its N-th pass). Used by the
crash tests and the crash campaign; costs one dictionary lookup in production.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "WISTIA_ANALYTICS_CRASH_AT"
_passes: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        count = _passes[name]
    if count >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)

"""How a command shows an error: one line on stderr and the error's own exit code; `--debug` shows the traceback.

A command raises the product's errors (`wistia_analytics.errors`); the command line shows each as one line on
stderr and exits with the error's own `exit_code`. Commands that other code calls for their exit code (`ingest`,
`transform`, `run`: the scheduler and the alerting hook loop them) catch their errors with `report_error`, which
prints the same line and returns the same code. `--debug` turns that off: the error propagates with its traceback.
"""

from __future__ import annotations

import sys

from wistia_analytics.errors import ConfigurationError, NoLakeError, WistiaAnalyticsError
from wistia_analytics.lake.lock import LakeLockedError

_debug = False


def set_debug(enabled: bool) -> None:
    """`--debug`: let errors propagate with their traceback instead of one line each."""
    global _debug
    _debug = enabled


def debugging() -> bool:
    return _debug


def error_line(exc: WistiaAnalyticsError) -> str:
    """The one line a person sees for `exc`: a label saying what kind of problem, then the message."""
    label = getattr(exc, "label", None)
    if isinstance(label, str):
        pass  # the error names its own kind (e.g. "query error")
    elif isinstance(exc, LakeLockedError):
        label = "lake is busy"  # scripts and alerts grep this label
    elif isinstance(exc, ConfigurationError) and not isinstance(exc, NoLakeError):
        label = "configuration error"
    else:
        label = "error"
    message = " ".join(str(exc).split()) or type(exc).__name__
    return f"{label}: {message}"


def report_error(exc: WistiaAnalyticsError) -> int:
    """Print `exc` as one line on stderr and return its exit code (re-raise it under `--debug`)."""
    if _debug:
        raise exc
    print(error_line(exc), file=sys.stderr, flush=True)
    return int(exc.exit_code)

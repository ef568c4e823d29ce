"""What every command shares: the settings, the lake (checked before any work), and how an error is shown.

A command raises the product's errors (`wistia_analytics.errors`); the command line shows each as one line on
stderr and exits with the error's own `exit_code`. Commands that other code calls for their exit code (`ingest`,
`transform`, `run`: the scheduler and the alerting hook loop them) catch their errors with `report_error`, which
prints the same line and returns the same code. `--debug` turns that off: the error propagates with its traceback.

When does a lake exist? When it holds Bronze files or run records (`bronze/`, `_runs/`): anything a run leaves
behind. An empty folder, a missing one, or a folder with only a stray `_lock/` is "no lake": the reading
commands (`transform`, `status`, `query`, `dashboard`) refuse it with `NoLakeError` and create nothing there.
"""

from __future__ import annotations

import sys

from wistia_analytics.errors import ConfigurationError, NoLakeError, WistiaAnalyticsError
from wistia_analytics.lake.layout import BRONZE_ROOT, RUNS_ROOT
from wistia_analytics.lake.lock import LakeLockedError
from wistia_analytics.lake.storage import LocalStorage, Storage
from wistia_analytics.settings import Settings

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


def lake_exists(storage: Storage) -> bool:
    """True when the lake holds Bronze files or run records (see the module docstring); reads only."""
    if isinstance(storage, LocalStorage) and not storage.root.is_dir():
        return False
    return bool(storage.list(RUNS_ROOT) or storage.list(BRONZE_ROOT))


def existing_lake(config: Settings) -> Storage:
    """The lake `LAKE_URI` names, which must exist already (`NoLakeError` otherwise; nothing is created)."""
    storage = Storage.from_uri(config.lake_uri)
    if not lake_exists(storage):
        raise NoLakeError(storage.uri(""))
    return storage


def writable_lake(config: Settings) -> Storage:
    """The lake `LAKE_URI` names, created if missing; a `LakeUriError` when it cannot be (before any work)."""
    storage = Storage.from_uri(config.lake_uri)
    storage.ensure_root()
    return storage

"""Which lake a command works on, checked before any work: an existing one to read, or one it may create.

When does a lake exist? When it holds Bronze files or run records (`bronze/`, `_runs/`): anything a run leaves
behind. An empty folder, a missing one, or a folder with only a stray `_lock/` is "no lake": the reading
commands (`transform`, `status`, `query`, `dashboard`) refuse it with `NoLakeError` and create nothing there.
"""

from __future__ import annotations

from wistia_analytics.errors import NoLakeError
from wistia_analytics.lake.layout import BRONZE_ROOT, RUNS_ROOT
from wistia_analytics.lake.storage import LocalStorage, Storage
from wistia_analytics.settings import Settings


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

"""The lake layer: atomic storage, Bronze files, incremental state, run records and the lake lock."""

from wistia_analytics.lake.bronze import (
    BronzeFile,
    BronzeWriter,
    Lineage,
    iter_bronze,
    list_bronze_files,
    read_bronze_file,
)
from wistia_analytics.lake.lock import LakeLock, LakeLockedError, LakeLockLostError, LockInfo
from wistia_analytics.lake.runs import (
    RunRecord,
    RunStatus,
    finish_run,
    latest_runs,
    load_run,
    new_run_id,
    save_run,
    start_run,
)
from wistia_analytics.lake.state import StateStore, StreamState, Watermark
from wistia_analytics.lake.storage import FsspecStorage, LakePathError, LocalStorage, Storage

__all__ = [
    "BronzeFile",
    "BronzeWriter",
    "FsspecStorage",
    "LakeLock",
    "LakeLockLostError",
    "LakeLockedError",
    "LakePathError",
    "Lineage",
    "LocalStorage",
    "LockInfo",
    "RunRecord",
    "RunStatus",
    "StateStore",
    "Storage",
    "StreamState",
    "Watermark",
    "finish_run",
    "iter_bronze",
    "latest_runs",
    "list_bronze_files",
    "load_run",
    "new_run_id",
    "read_bronze_file",
    "save_run",
    "start_run",
]

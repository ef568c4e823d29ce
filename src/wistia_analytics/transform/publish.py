"""The write and publish steps of write-audit-publish: a version is written aside, then made current.

Writing puts the version's files in a new version folder that no reader sees; publishing is one atomic
manifest write. Until then the previous version stays current, so a crash in between loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wistia_analytics.crashpoints import crash_point
from wistia_analytics.lake.table_versions import UNPARTITIONED, Manifest, TableStore, new_version, version_dir
from wistia_analytics.transform.engine import Engine
from wistia_analytics.transform.kept_partitions import KeptPartitions


@dataclass(frozen=True)
class WrittenVersion:
    """A version on disk but not yet current: its manifest, and how many partitions this run wrote."""

    manifest: Manifest
    partitions_written: int


def write_version(
    engine: Engine,
    table: str,
    relation: str,
    *,
    partition_by: str | None,
    run_id: str,
    now: Callable[[], datetime],
    row_count: int,
    kept: KeptPartitions | None = None,
    checks: dict[str, Any] | None = None,
) -> WrittenVersion:
    """Write `relation` as a new version of `table`; its files are the kept partitions' plus those written."""
    version = new_version(now())
    written = engine.write_parquet(relation, version_dir(table, version), partition_by)
    files = kept.files | written if kept is not None else dict(written)
    manifest = Manifest(
        table=table,
        version=version,
        run_id=run_id,
        created_at=now().isoformat(),
        partition_by=partition_by,
        files=files or {UNPARTITIONED: []},
        row_count=row_count,
        columns=engine.columns(relation),
        checks=checks or {},
    )
    return WrittenVersion(manifest, len(written))


def publish_model_version(engine: Engine, tables: TableStore, manifest: Manifest) -> None:
    """Make a model's version current, then expose it under the table's name to the models downstream."""
    crash_point("transform.before_publish")
    tables.publish(manifest)
    engine.drop(manifest.table)
    engine.register_parquet(manifest.table, manifest.all_files(), manifest.columns)

"""Table versions and atomic publishing (write-audit-publish) for Silver and Gold.

A table is a set of Parquet files under ``<layer>/<name>/v=<version>/`` plus one manifest,
``<layer>/<name>/_manifest.json``, naming the current version's files by partition. A new version is
written aside, checked, and becomes current when its manifest is written, in one atomic write (a rename
locally, one PUT on object stores). Readers resolve the manifest first, so they never see a half-written
table; a failed check simply never writes the manifest. An incremental run's version reuses the files of the
partitions it did not touch.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from wistia_analytics.lake.storage import Storage

UNPARTITIONED = ""
KEEP_VERSIONS = 3  # older versions' files are deleted after this many newer ones (a grace period)


def layer_and_name(table: str) -> tuple[str, str]:
    """``silver_events`` -> (``silver``, ``events``)."""
    layer, _, name = table.partition("_")
    if layer not in ("silver", "gold") or not name:
        raise ValueError(f"not a Silver/Gold table name: {table!r}")
    return layer, name


def table_dir(table: str) -> str:
    layer, name = layer_and_name(table)
    return f"{layer}/{name}"


def manifest_path(table: str) -> str:
    return f"{table_dir(table)}/_manifest.json"


def new_version(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def version_dir(table: str, version: str) -> str:
    return f"{table_dir(table)}/v={version}"


@dataclass
class Manifest:
    """The current version of one table: where its files are and what was checked."""

    table: str
    version: str
    run_id: str
    created_at: str
    partition_by: str | None
    files: dict[str, list[str]]  # partition value (or "" when unpartitioned) -> lake-relative paths
    row_count: int
    columns: list[list[str]]  # [name, type]
    checks: dict[str, Any] = field(default_factory=dict)

    def all_files(self) -> list[str]:
        return [f for part in sorted(self.files) for f in self.files[part]]

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))


class TableStore:
    """Reads and publishes manifests through the one storage module."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def current(self, table: str) -> Manifest | None:
        path = manifest_path(table)
        return Manifest.from_json(self.storage.read_bytes(path)) if self.storage.exists(path) else None

    def publish(self, manifest: Manifest) -> None:
        """Make `manifest` current: one atomic write, after its files are in place and checked."""
        self.storage.write_bytes(manifest_path(manifest.table), manifest.to_json())

    def collect_garbage(self, table: str, keep: int = KEEP_VERSIONS) -> int:
        """Delete files of versions older than the last `keep` that the current manifest no longer uses."""
        current = self.current(table)
        if current is None:
            return 0
        in_use = set(current.all_files())
        versions = sorted({p.split("/")[2] for p in self.storage.list(table_dir(table)) if "/v=" in p})
        stale = set(versions[:-keep]) if len(versions) > keep else set()
        removed = 0
        for path in self.storage.list(table_dir(table)):
            parts = path.split("/")
            if len(parts) > 3 and parts[2] in stale and path not in in_use:
                removed += int(self.storage.delete(path))
        return removed

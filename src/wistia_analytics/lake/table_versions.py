"""Table versions and atomic publishing (write-audit-publish) for Silver and Gold.

A table is a set of Parquet files under ``<layer>/<name>/v=<version>/`` plus one manifest,
``<layer>/<name>/_manifest.json``, naming the current version's files by partition. A new version is
written aside, checked, and becomes current when its manifest is written, in one atomic write (a rename
locally, one PUT on object stores). Readers resolve the manifest first, so they never see a half-written
table; a failed check simply never writes the manifest. An incremental run's version reuses the files of the
partitions it did not touch.

Athena: right after ``_manifest.json``, `publish` writes ``<layer>/<name>/_symlink_format_manifest/manifest``,
one full location (``s3://...``) per line of the current version's files, so a Glue table declared with
``SymlinkTextInputFormat`` and the Parquet SerDe over that folder reads exactly the current version. Our
manifest is the truth and is written first; a crash between the two writes leaves Athena on the previous
version (still whole: its files are kept, see below) until the next publish or garbage collection rewrites
the symlink file from the manifest.

Old versions: a reader that resolved the previous manifest (a `query`, the dashboard, an Athena query that
read the previous symlink file) may still be reading its files. A version's files are deleted only when it is
neither among the newest `KEEP_VERSIONS` nor superseded less than `GRACE_SECONDS` ago (the next version's
name carries the time it was written), and never while the current manifest or the symlink file names them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.lake.ids import id_time, sortable_id
from wistia_analytics.lake.storage import Storage

UNPARTITIONED = ""
KEEP_VERSIONS = 3  # older versions' files are deleted after this many newer ones...
GRACE_SECONDS = 3600.0  # ...and once superseded this long ago (Athena's default query timeout is 30 min)
SYMLINK_DIR = "_symlink_format_manifest"


def table_dir(table: str) -> str:
    layer, name = layer_and_name(table)
    return f"{layer}/{name}"


def manifest_path(table: str) -> str:
    return f"{table_dir(table)}/_manifest.json"


def symlink_manifest_path(table: str) -> str:
    """Athena's symlink manifest of `table`: the SAM template's Glue tables point at its folder."""
    return f"{table_dir(table)}/{SYMLINK_DIR}/manifest"


def new_version(now: datetime | None = None) -> str:
    """``20261125T174512_123Z-000-a3f0c2e19b5d7e46``: versions sort by write time (`wistia_analytics.lake.ids`)."""
    return sortable_id(now)


def version_written_at(version: str) -> datetime | None:
    """When a version was written, from its name (to the second for an older release's name); None for a
    name that is not ours."""
    return id_time(version)


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


class DamagedManifestError(ValueError):
    """A table's manifest exists but cannot be parsed."""


@dataclass(frozen=True)
class Damage:
    """One damaged piece of a published table: its manifest (`partition` None) or one file of a partition."""

    table: str
    partition: str | None  # None: the manifest itself; "" : the file of an unpartitioned table
    path: str
    problem: str


def parquet_defect(storage: Storage, path: str) -> str | None:
    """Why the Parquet file `path` is unreadable (None: its footer reads)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # only `status --verify` reads footers

    try:
        with storage.open_read(path) as handle:
            pq.read_metadata(handle)
    except FileNotFoundError:
        return "missing"
    except Exception as exc:  # any failure to read the footer is the damage looked for
        return f"unreadable Parquet footer ({type(exc).__name__})"
    return None


class TableStore:
    """Reads and publishes manifests through the one storage module."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def current(self, table: str) -> Manifest | None:
        """The current version, or None when the table has none or its manifest cannot be read.

        An unreadable manifest (overwritten, truncated) is a table to rebuild, not a crash of every reader:
        the transform then rebuilds it whole and publishes a new manifest; `status --verify` names it.
        """
        try:
            return self.read(table)
        except DamagedManifestError:
            return None

    def read(self, table: str) -> Manifest | None:
        """The current version; None when there is none; `DamagedManifestError` when it cannot be parsed."""
        try:  # one GET, no existence check first (a round trip each on object stores)
            data = self.storage.read_bytes(manifest_path(table))
        except FileNotFoundError:
            return None
        try:
            manifest = Manifest.from_json(data)
            if not isinstance(manifest.files, dict) or manifest.table != table:
                raise ValueError("not this table's manifest")
            return manifest
        except (ValueError, TypeError, AttributeError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            raise DamagedManifestError(f"{manifest_path(table)}: unreadable manifest ({type(exc).__name__})") from exc

    def damage(self, table: str, *, read_footers: bool = True) -> list[Damage]:
        """What is wrong with `table`'s current version: an unreadable manifest, or each file missing or unreadable.

        One listing of the table's folder finds missing files; `read_footers` also reads each file's Parquet
        footer (one small read per file: `status --verify`; the transform checks presence only).
        """
        try:
            manifest = self.read(table)
        except DamagedManifestError as exc:
            return [Damage(table, None, manifest_path(table), str(exc).split(": ", 1)[1])]
        if manifest is None:
            return []
        present = set(self.storage.list(table_dir(table)))
        found = []
        for part in sorted(manifest.files):
            for path in manifest.files[part]:
                if path not in present:
                    found.append(Damage(table, part, path, "missing"))
                elif read_footers:
                    problem = parquet_defect(self.storage, path)
                    if problem is not None:
                        found.append(Damage(table, part, path, problem))
        return found

    def publish(self, manifest: Manifest) -> None:
        """Make `manifest` current: one atomic write, after its files are in place and checked; then point
        Athena's symlink manifest at the same files."""
        self.storage.write_bytes(manifest_path(manifest.table), manifest.to_json())
        self._write_symlink(manifest)

    def symlink_targets(self, table: str) -> list[str] | None:
        """The locations Athena's symlink manifest of `table` lists (None when there is none)."""
        try:
            text = self.storage.read_bytes(symlink_manifest_path(table)).decode()
        except FileNotFoundError:
            return None
        return [line for line in text.splitlines() if line]

    def _symlink_body(self, manifest: Manifest) -> bytes:
        return "".join(f"{self.storage.uri(f)}\n" for f in manifest.all_files()).encode()

    def _write_symlink(self, manifest: Manifest) -> None:
        self.storage.write_bytes(symlink_manifest_path(manifest.table), self._symlink_body(manifest))

    def collect_garbage(
        self,
        table: str,
        keep: int = KEEP_VERSIONS,
        *,
        grace_seconds: float = GRACE_SECONDS,
        now: datetime | None = None,
    ) -> int:
        """Delete the files of versions older than the last `keep` and superseded more than `grace_seconds`
        ago, except those the current manifest still uses. First repairs a symlink manifest left behind by a
        crash after a publish, so Athena never lists a deleted file."""
        current = self.current(table)
        if current is None:
            return 0
        in_use = set(current.all_files())
        linked = self.symlink_targets(table)
        if linked != [self.storage.uri(f) for f in current.all_files()]:
            self._write_symlink(current)
        files = self.storage.list(table_dir(table))
        versions = sorted({p.split("/")[2] for p in files if p.split("/")[2].startswith("v=")})
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=grace_seconds)
        stale = set()
        for i, older in enumerate(versions[: max(len(versions) - keep, 0)]):
            superseded_at = version_written_at(versions[i + 1].removeprefix("v="))
            if superseded_at is not None and superseded_at <= cutoff:
                stale.add(older)
        removed = 0
        for path in files:
            parts = path.split("/")
            if len(parts) > 3 and parts[2] in stale and path not in in_use:
                removed += int(self.storage.delete(path))
        return removed

"""Table versions on S3: the symlink manifest follows `_manifest.json`, and old versions outlive their readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.tables import (
    GRACE_SECONDS,
    KEEP_VERSIONS,
    Manifest,
    TableStore,
    manifest_path,
    new_version,
    symlink_manifest_path,
    version_dir,
    version_written_at,
)

pytestmark = pytest.mark.s3

TABLE = "gold_media_daily"
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def publish_version(store: TableStore, written_at: datetime, reuse: Sequence[str] = ()) -> Manifest:
    """A version with one new file (plus `reuse`d files of older versions, as incremental runs do)."""
    version = new_version(written_at)
    new_file = f"{version_dir(TABLE, version)}/activity_date=2026-11-01/data_0.parquet"
    store.storage.write_bytes(new_file, b"PAR1")
    files = {"2026-11-01": [new_file], **({"2026-10-31": list(reuse)} if reuse else {})}
    manifest = Manifest(TABLE, version, "run", written_at.isoformat(), "activity_date", files, 1, [["x", "INT"]])
    store.publish(manifest)
    return manifest


def test_version_names_carry_their_write_time() -> None:
    assert version_written_at(new_version(T0)) == T0
    assert version_written_at("not-a-version") is None


def test_symlink_manifest_follows_each_publish(s3_storage: Storage) -> None:
    store = TableStore(s3_storage)
    first = publish_version(store, T0)
    second = publish_version(store, T0 + timedelta(hours=1), reuse=first.all_files())
    lines = s3_storage.read_bytes(symlink_manifest_path(TABLE)).decode().splitlines()
    assert lines == [s3_storage.uri(f) for f in second.all_files()]
    assert lines[0].startswith(f"{s3_storage.uri()}/gold/media_daily/v=") and len(lines) == 2
    assert symlink_manifest_path(TABLE) == "gold/media_daily/_symlink_format_manifest/manifest"


def test_gc_keeps_the_last_versions_and_those_superseded_within_the_grace(s3_storage: Storage) -> None:
    store = TableStore(s3_storage)
    hour = timedelta(hours=1)
    base = publish_version(store, T0)  # its file is reused by every later version
    versions = [base] + [publish_version(store, T0 + (i + 1) * hour, reuse=base.all_files()) for i in range(5)]
    last = versions[-1].version
    # Right after the last publish: versions 1..2 were superseded hours ago, beyond the last KEEP_VERSIONS.
    now = version_written_at(last)
    assert now is not None
    removed = store.collect_garbage(TABLE, now=now)
    left = {p.split("/")[2] for p in s3_storage.list("gold/media_daily") if "/v=" in p}
    assert left == {f"v={m.version}" for m in versions[0:1] + versions[-KEEP_VERSIONS:]}
    assert removed == 5 - KEEP_VERSIONS  # the base's file stays: the current manifest still uses it
    assert all(s3_storage.exists(f) for f in versions[-1].all_files())


def test_gc_never_deletes_a_version_superseded_less_than_the_grace_ago(s3_storage: Storage) -> None:
    store = TableStore(s3_storage)
    quick = [publish_version(store, T0 + timedelta(seconds=10 * i)) for i in range(6)]  # six runs in a minute
    assert store.collect_garbage(TABLE, now=T0 + timedelta(minutes=5)) == 0  # a reader may still hold any
    assert all(s3_storage.exists(f) for m in quick for f in m.all_files())
    later = T0 + timedelta(seconds=GRACE_SECONDS + 60)
    assert store.collect_garbage(TABLE, now=later) == 6 - KEEP_VERSIONS
    assert [s3_storage.exists(m.all_files()[0]) for m in quick] == [False] * 3 + [True] * 3


def test_gc_repairs_a_symlink_manifest_left_stale_by_a_crash(s3_storage: Storage) -> None:
    """Crash after `_manifest.json`, before the symlink file: Athena reads the previous (whole) version, and
    the next garbage collection points it at the current one before deleting anything."""
    store = TableStore(s3_storage)
    old = publish_version(store, T0)
    stale_symlink = s3_storage.read_bytes(symlink_manifest_path(TABLE))
    new = publish_version(store, T0 + timedelta(hours=1))
    s3_storage.write_bytes(symlink_manifest_path(TABLE), stale_symlink)  # as if the crash hit in between
    assert store.symlink_targets(TABLE) == [s3_storage.uri(f) for f in old.all_files()]
    assert Manifest.from_json(s3_storage.read_bytes(manifest_path(TABLE))).version == new.version
    store.collect_garbage(TABLE, now=T0 + timedelta(days=1))
    assert store.symlink_targets(TABLE) == [s3_storage.uri(f) for f in new.all_files()]

"""Table versions on every backend: the symlink manifest follows `_manifest.json`, and old versions outlive
their readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import (
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

TABLE = "gold_media_daily"
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def publish_version(
    store: TableStore, written_at: datetime, reuse: Sequence[str] = (), *, version: str | None = None
) -> Manifest:
    """A version with one new file (plus `reuse`d files of older versions, as incremental runs do)."""
    version = version or new_version(written_at)
    new_file = f"{version_dir(TABLE, version)}/activity_date=2026-11-01/data_0.parquet"
    store.storage.write_bytes(new_file, b"PAR1")
    files = {"2026-11-01": [new_file], **({"2026-10-31": list(reuse)} if reuse else {})}
    manifest = Manifest(TABLE, version, "run", written_at.isoformat(), "activity_date", files, 1, [["x", "INT"]])
    store.publish(manifest)
    return manifest


def test_version_names_carry_their_write_time() -> None:
    assert version_written_at(new_version(T0)) == T0
    assert version_written_at(new_version(T0 + timedelta(milliseconds=7))) == T0 + timedelta(milliseconds=7)
    assert version_written_at("20261120T060000-1a2b3c") == T0  # an older release's name: to the second
    assert version_written_at("not-a-version") is None


def test_gc_on_a_lake_of_older_releases_names_then_new_ones(any_storage: Storage) -> None:
    """Old names (``20261120T060000-1a2b3c``) sort before new ones and still date the version they follow."""
    store = TableStore(any_storage)
    hour = timedelta(hours=1)
    old = [publish_version(store, T0 + i * hour, version=f"{T0 + i * hour:%Y%m%dT%H%M%S}-ffffff") for i in range(3)]
    new = [publish_version(store, T0 + (3 + i) * hour) for i in range(3)]
    names = sorted({p.split("/")[2] for p in any_storage.list("gold/media_daily") if "/v=" in p})
    assert names == [f"v={m.version}" for m in old + new]
    half = timedelta(minutes=30)
    assert store.collect_garbage(TABLE, now=T0 + 3 * hour + half) == 2  # superseded by old names over 1 h ago
    assert store.collect_garbage(TABLE, now=T0 + 4 * hour + half) == 1  # the last old one: dated by new[0]
    assert all(any_storage.exists(f) for m in new for f in m.all_files())


def test_symlink_manifest_follows_each_publish(any_storage: Storage) -> None:
    store = TableStore(any_storage)
    first = publish_version(store, T0)
    second = publish_version(store, T0 + timedelta(hours=1), reuse=first.all_files())
    lines = any_storage.read_bytes(symlink_manifest_path(TABLE)).decode().splitlines()
    assert lines == [any_storage.uri(f) for f in second.all_files()]
    assert lines[0].startswith(f"{any_storage.uri()}/gold/media_daily/v=") and len(lines) == 2
    assert symlink_manifest_path(TABLE) == "gold/media_daily/_symlink_format_manifest/manifest"


def test_gc_keeps_the_last_versions_and_those_superseded_within_the_grace(any_storage: Storage) -> None:
    store = TableStore(any_storage)
    hour = timedelta(hours=1)
    base = publish_version(store, T0)  # its file is reused by every later version
    versions = [base] + [publish_version(store, T0 + (i + 1) * hour, reuse=base.all_files()) for i in range(5)]
    last = versions[-1].version
    # Right after the last publish: versions 1..2 were superseded hours ago, beyond the last KEEP_VERSIONS.
    now = version_written_at(last)
    assert now is not None
    removed = store.collect_garbage(TABLE, now=now)
    left = {p.split("/")[2] for p in any_storage.list("gold/media_daily") if "/v=" in p}
    assert left == {f"v={m.version}" for m in versions[0:1] + versions[-KEEP_VERSIONS:]}
    assert removed == 5 - KEEP_VERSIONS  # the base's file stays: the current manifest still uses it
    assert all(any_storage.exists(f) for f in versions[-1].all_files())


def test_gc_never_deletes_a_version_superseded_less_than_the_grace_ago(any_storage: Storage) -> None:
    store = TableStore(any_storage)
    quick = [publish_version(store, T0 + timedelta(seconds=10 * i)) for i in range(6)]  # six runs in a minute
    assert store.collect_garbage(TABLE, now=T0 + timedelta(minutes=5)) == 0  # a reader may still hold any
    assert all(any_storage.exists(f) for m in quick for f in m.all_files())
    later = T0 + timedelta(seconds=GRACE_SECONDS + 60)
    assert store.collect_garbage(TABLE, now=later) == 6 - KEEP_VERSIONS
    assert [any_storage.exists(m.all_files()[0]) for m in quick] == [False] * 3 + [True] * 3


def test_gc_repairs_a_symlink_manifest_left_stale_by_a_crash(any_storage: Storage) -> None:
    """Crash after `_manifest.json`, before the symlink file: Athena reads the previous (whole) version, and
    the next garbage collection points it at the current one before deleting anything."""
    store = TableStore(any_storage)
    old = publish_version(store, T0)
    stale_symlink = any_storage.read_bytes(symlink_manifest_path(TABLE))
    new = publish_version(store, T0 + timedelta(hours=1))
    any_storage.write_bytes(symlink_manifest_path(TABLE), stale_symlink)  # as if the crash hit in between
    assert store.symlink_targets(TABLE) == [any_storage.uri(f) for f in old.all_files()]
    assert Manifest.from_json(any_storage.read_bytes(manifest_path(TABLE))).version == new.version
    store.collect_garbage(TABLE, now=T0 + timedelta(days=1))
    assert store.symlink_targets(TABLE) == [any_storage.uri(f) for f in new.all_files()]

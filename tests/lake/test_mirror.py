"""The local mirror of immutable lake files: fetched once, in place for local lakes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from wistia_analytics.lake.mirror import LakeMirror, shared_mirror
from wistia_analytics.lake.storage import LocalStorage, Storage


def test_object_store_files_are_fetched_once(tmp_path: Path) -> None:
    storage = Storage.from_uri(f"memory://mirror-{uuid.uuid4().hex}")
    storage.write_bytes("silver/t/v=1/a.parquet", b"a")
    storage.write_bytes("silver/t/v=1/b.parquet", b"b")
    mirror = LakeMirror(storage, tmp_path / "m")
    paths = mirror.fetch(["silver/t/v=1/a.parquet", "silver/t/v=1/b.parquet"])
    assert paths == [f"{tmp_path}/m/silver/t/v=1/a.parquet", f"{tmp_path}/m/silver/t/v=1/b.parquet"]
    assert [Path(p).read_bytes() for p in paths] == [b"a", b"b"]
    storage.delete("silver/t/v=1/a.parquet")  # immutable files: the copy stays valid, no second request
    assert mirror.fetch(["silver/t/v=1/a.parquet"]) == paths[:1]
    (tmp_path / "w.parquet").write_bytes(b"w")
    storage.upload({"silver/t/v=2/w.parquet": tmp_path / "w.parquet"})
    mirror.adopt(["silver/t/v=2/w.parquet"])  # written by the caller into the mirror: never downloaded
    assert mirror.fetch(["silver/t/v=2/w.parquet"]) == [f"{tmp_path}/m/silver/t/v=2/w.parquet"]
    assert not Path(f"{tmp_path}/m/silver/t/v=2/w.parquet").exists()
    with pytest.raises(ValueError, match="local folder"):
        LakeMirror(storage)


def test_local_lake_is_its_own_mirror(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "lake")
    storage.write_bytes("gold/x/v=1/a.parquet", b"a")
    mirror = shared_mirror(storage)
    assert mirror.root == storage.root and not mirror.copies
    assert mirror.fetch(["gold/x/v=1/a.parquet"]) == [storage.uri("gold/x/v=1/a.parquet")]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.parquet"]  # nothing copied


def test_one_shared_mirror_per_object_store_lake() -> None:
    uri = f"memory://shared-{uuid.uuid4().hex}"
    first, second = shared_mirror(Storage.from_uri(uri)), shared_mirror(Storage.from_uri(uri))
    assert first is second and first.copies and first.root.is_dir()
    assert shared_mirror(Storage.from_uri(uri + "-other")) is not first

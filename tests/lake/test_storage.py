from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from wistia_analytics.lake.storage import FsspecStorage, LakePathError, LocalStorage, Storage


def all_files(root: Path) -> list[str]:
    """Every file on disk under root, hidden ones included (what `list` would hide)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_round_trip_list_delete(any_storage: Storage) -> None:
    s = any_storage
    s.write_bytes("b/x/2.txt", b"two")
    s.write_bytes("b/x/1.txt", b"one")
    s.write_bytes("b/y.json", b"{}")
    s.write_bytes("bb/z.txt", b"z")
    assert s.read_bytes("b/x/1.txt") == b"one"
    assert s.exists("b/x/2.txt") and not s.exists("b/x/3.txt") and not s.exists("b/x")
    assert s.list() == ["b/x/1.txt", "b/x/2.txt", "b/y.json", "bb/z.txt"]
    assert s.list("b") == ["b/x/1.txt", "b/x/2.txt", "b/y.json"]  # folder, not string prefix
    assert s.list("b/", suffix=".txt") == ["b/x/1.txt", "b/x/2.txt"]
    assert s.list("nope") == []
    with s.open_read("b/x/2.txt") as stream:
        assert stream.read() == b"two"
    assert s.delete("b/x/1.txt") is True
    assert s.delete("b/x/1.txt") is False
    assert s.list("b/x") == ["b/x/2.txt"]
    with pytest.raises(FileNotFoundError):
        s.read_bytes("b/x/1.txt")


def test_write_is_idempotent_and_replaces(any_storage: Storage) -> None:
    any_storage.write_bytes("a/f.json", b"v1")
    any_storage.write_bytes("a/f.json", b"v1")
    assert any_storage.list() == ["a/f.json"]
    assert any_storage.read_bytes("a/f.json") == b"v1"
    any_storage.write_bytes("a/f.json", b"v2")
    assert any_storage.read_bytes("a/f.json") == b"v2"


def test_write_if_absent_never_overwrites(any_storage: Storage) -> None:
    assert any_storage.write_bytes_if_absent("a/f", b"first") is True
    assert any_storage.write_bytes_if_absent("a/f", b"second") is False
    assert any_storage.read_bytes("a/f") == b"first"
    assert any_storage.list() == ["a/f"]


@pytest.mark.parametrize(
    "bad", ["", "/abs", "../x", "a/../../x", "a/./b", "a//b", "a/", ".hidden", "a/.tmp", "a\\b", "a\x00b"]
)
def test_paths_cannot_escape_or_hide(storage: LocalStorage, bad: str) -> None:
    with pytest.raises(LakePathError):
        storage.write_bytes(bad, b"x")
    with pytest.raises(LakePathError):
        storage.read_bytes(bad)
    assert not (storage.root.parent / "x").exists()


def test_list_rejects_escaping_prefix(storage: LocalStorage) -> None:
    with pytest.raises(LakePathError):
        storage.list("..")


def test_failed_replace_leaves_nothing_visible(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.write_bytes("d/keep.json", b"old")

    def boom(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk gone"):
        storage.write_bytes("d/new.json", b"new")
    with pytest.raises(OSError, match="disk gone"):
        storage.write_bytes("d/keep.json", b"half")
    assert storage.list() == ["d/keep.json"]
    assert all_files(storage.root) == ["d/keep.json"]  # no temp file left behind either
    assert storage.read_bytes("d/keep.json") == b"old"


def test_failure_mid_write_leaves_nothing(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(fd: int) -> None:
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="fsync failed"):
        storage.write_bytes("d/f", b"data")
    with pytest.raises(OSError, match="fsync failed"):
        storage.write_bytes_if_absent("d/g", b"data")
    assert storage.list() == []
    assert all_files(storage.root) == []


def test_failed_link_leaves_nothing(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: object, dst: object) -> None:
        raise OSError("link failed")

    monkeypatch.setattr(os, "link", boom)
    with pytest.raises(OSError, match="link failed"):
        storage.write_bytes_if_absent("d/f", b"data")
    assert all_files(storage.root) == []


def test_temp_files_of_a_killed_writer_are_invisible(storage: LocalStorage) -> None:
    storage.write_bytes("d/f", b"x")
    (storage.root / "d" / ".g.0123abcd.tmp").write_bytes(b"partial")
    (storage.root / ".hidden-dir").mkdir()
    (storage.root / ".hidden-dir" / "h").write_bytes(b"x")
    assert storage.list() == ["d/f"]


def test_concurrent_create_exactly_one_wins(storage: LocalStorage) -> None:
    barrier = threading.Barrier(8)
    results: dict[int, bool] = {}

    def contend(i: int) -> None:
        barrier.wait()
        results[i] = storage.write_bytes_if_absent("race/f", f"writer {i}".encode())

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, won in results.items() if won]
    assert len(winners) == 1
    assert storage.read_bytes("race/f") == f"writer {winners[0]}".encode()
    assert all_files(storage.root) == ["race/f"]


def test_from_uri_and_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    local = Storage.from_uri("./lake")
    assert isinstance(local, LocalStorage)
    assert local.uri() == str(tmp_path / "lake")
    assert local.uri("a/b.json") == str(tmp_path / "lake" / "a" / "b.json")
    assert isinstance(Storage.from_uri(f"file://{tmp_path}/l2"), LocalStorage)
    mem = Storage.from_uri("memory://bucket/prefix")
    assert isinstance(mem, FsspecStorage)
    assert mem.uri("a/b.json") == "memory://bucket/prefix/a/b.json"
    assert "memory://bucket/prefix" in repr(mem)


def test_download_and_upload_copy_whole_files(
    any_storage: Storage, raw_keys: Callable[[], list[str]], tmp_path: Path
) -> None:
    """The batch copies engines use to read and write many immutable files at local-disk speed."""
    sources = {f"t/v=1/d={i}/part-0.parquet": tmp_path / "src" / f"{i}.bin" for i in range(30)}
    for i, path in enumerate(sources.values()):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(f"content {i}".encode() * 100)
    any_storage.upload(sources)
    assert any_storage.list("t") == sorted(sources)
    assert raw_keys() == sorted(sources)  # exactly these objects on the backend: no temp files, no folder markers
    mirror = tmp_path / "mirror"
    any_storage.download(sorted(sources), mirror)
    assert all_files(mirror) == sorted(sources)
    for rel, path in sources.items():
        assert (mirror / rel).read_bytes() == path.read_bytes() == any_storage.read_bytes(rel)
    any_storage.download([], mirror)  # nothing to do, nothing touched
    assert all_files(mirror) == sorted(sources)
    with pytest.raises(FileNotFoundError):
        any_storage.download(["t/missing"], tmp_path / "other")
    assert not (tmp_path / "other").exists() or all_files(tmp_path / "other") == []  # no partial copy left

from __future__ import annotations

import gzip
import os
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from wistia_analytics.lake.bronze import (
    BronzeWriter,
    Lineage,
    iter_bronze,
    list_bronze_files,
    list_bronze_files_of_runs,
    read_bronze_file,
)
from wistia_analytics.lake.runs import new_run_id
from wistia_analytics.lake.storage import LocalStorage, Storage

from .conftest import NOW

RUN = "20261125T174512Z-abc123"
MEDIAS: list[dict[str, Any]] = [
    {"hashed_id": "m1", "name": "Intro", "duration": 12.5},
    {"name": "Second", "hashed_id": "m2"},
]
LINEAGE = Lineage("/medias.json", {"page": 1, "per_page": 100, "api_password": "s3cret"}, page=1)


def test_round_trip_with_lineage(any_storage: Storage) -> None:
    written = BronzeWriter(any_storage, RUN, NOW).write("medias", MEDIAS, LINEAGE)
    assert written.path == f"bronze/wistia/medias/ingest_date=2026-11-25/{RUN}-00001.jsonl.gz"
    assert (written.stream, written.run_id, written.part, written.record_count) == ("medias", RUN, 1, 2)
    assert written.byte_count == len(any_storage.read_bytes(written.path))
    lines = list(iter_bronze(any_storage, "medias"))
    assert [path for path, _ in lines] == [written.path, written.path]
    first = lines[0][1]
    assert first == {
        "run_id": RUN,
        "ingested_at": "2026-11-25T17:45:12Z",
        "stream": "medias",
        "request": {"path": "/medias.json", "params": {"page": 1, "per_page": 100}},
        "page": 1,
        "record": MEDIAS[0],
    }
    assert list(lines[1][1]["record"]) == ["name", "hashed_id"]  # key order kept as received


def test_secrets_never_reach_bronze(storage: LocalStorage) -> None:
    params = {"api_password": "pw-123456", "ACCESS_TOKEN": "tok-987654", "filter": {"access_token": "x-1"}}
    written = BronzeWriter(storage, RUN, NOW).write("medias", MEDIAS, Lineage("/medias.json", params, 1))
    raw = gzip.decompress(storage.read_bytes(written.path))
    for secret in (b"pw-123456", b"tok-987654", b"x-1", b"api_password", b"access_token"):
        assert secret not in raw


def test_identical_input_gives_identical_bytes(tmp_path: Path) -> None:
    a = BronzeWriter(LocalStorage(tmp_path / "a"), RUN, NOW).write("medias", MEDIAS, LINEAGE)
    b = BronzeWriter(LocalStorage(tmp_path / "b"), RUN, NOW).write("medias", MEDIAS, LINEAGE)
    data = (tmp_path / "a" / a.path).read_bytes()
    assert data == (tmp_path / "b" / b.path).read_bytes()
    assert a.sha256 == b.sha256
    assert data[4:8] == b"\x00\x00\x00\x00"  # gzip mtime field


def test_same_instant_in_another_timezone_is_the_same_file(tmp_path: Path) -> None:
    other = NOW.astimezone(timezone(timedelta(hours=-8)))
    a = BronzeWriter(LocalStorage(tmp_path / "a"), RUN, NOW).write("medias", MEDIAS, LINEAGE)
    b = BronzeWriter(LocalStorage(tmp_path / "b"), RUN, other).write("medias", MEDIAS, LINEAGE)
    assert (a.path, a.sha256) == (b.path, b.sha256)


def test_parts_increase_and_never_overwrite(any_storage: Storage) -> None:
    writer = BronzeWriter(any_storage, RUN, NOW)
    assert [writer.write("medias", MEDIAS, LINEAGE).part for _ in range(3)] == [1, 2, 3]
    assert writer.write("events", MEDIAS, LINEAGE).part == 1  # per (run, stream)
    # Someone else created the next part meanwhile: it is skipped, not overwritten.
    taken = f"bronze/wistia/medias/ingest_date=2026-11-25/{RUN}-00004.jsonl.gz"
    any_storage.write_bytes(taken, b"not mine")
    assert writer.write("medias", MEDIAS, LINEAGE).part == 5
    assert any_storage.read_bytes(taken) == b"not mine"
    # A resumed run (new writer, same run id) continues after the highest existing part.
    assert BronzeWriter(any_storage, RUN, NOW).write("medias", MEDIAS, LINEAGE).part == 6
    assert BronzeWriter(any_storage, "other-run", NOW).write("medias", MEDIAS, LINEAGE).part == 1


def test_concurrent_writes_of_one_run_get_distinct_parts(storage: LocalStorage) -> None:
    writer = BronzeWriter(storage, RUN, NOW)
    parts: list[int] = []

    def work() -> None:
        for _ in range(5):
            parts.append(writer.write("events", MEDIAS, LINEAGE).part)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(parts) == list(range(1, 21))
    assert len(list_bronze_files(storage, "events")) == 20


def test_failed_write_leaves_no_file_and_next_write_works(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = BronzeWriter(storage, RUN, NOW)

    def boom(src: object, dst: object) -> None:
        raise OSError("crash during publish")

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", boom)
        with pytest.raises(OSError, match="crash during publish"):
            writer.write("medias", MEDIAS, LINEAGE)
    assert storage.list() == []
    written = writer.write("medias", MEDIAS, LINEAGE)
    assert [line["record"] for line in read_bronze_file(storage, written.path)] == MEDIAS


def test_batch_of_pages_in_one_file(storage: LocalStorage) -> None:
    pages = [
        (MEDIAS[:1], Lineage("/medias.json", {"page": 1}, 1)),
        ([], Lineage("/medias.json", {"page": 2}, 2)),
        (MEDIAS[1:], Lineage("/medias.json", {"page": 3}, 3)),
    ]
    written = BronzeWriter(storage, RUN, NOW).write_pages("medias", pages)
    assert written.record_count == 2
    lines = list(read_bronze_file(storage, written.path))
    assert [(line["page"], line["request"]["params"]) for line in lines] == [
        (1, {"page": 1}),
        (3, {"page": 3}),
    ]


def test_listing_filters_and_orders(storage: LocalStorage) -> None:
    day1 = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    for run, when in (("r2", NOW), ("r1", day1), ("r1", day1)):
        BronzeWriter(storage, run, when).write("medias", MEDIAS, LINEAGE)
    BronzeWriter(storage, "r3", NOW).write("events", MEDIAS, LINEAGE)
    names = [p.rsplit("/", 2)[-2:] for p in list_bronze_files(storage, "medias")]
    assert names == [
        ["ingest_date=2026-11-24", "r1-00001.jsonl.gz"],
        ["ingest_date=2026-11-24", "r1-00002.jsonl.gz"],
        ["ingest_date=2026-11-25", "r2-00001.jsonl.gz"],
    ]
    assert len(list_bronze_files(storage, "medias", since=date(2026, 11, 25))) == 1
    assert len(list_bronze_files(storage, "medias", until=date(2026, 11, 24))) == 2
    assert len(list_bronze_files(storage, "medias", run_id="r1")) == 2
    assert sum(1 for _ in iter_bronze(storage, "medias", run_id="r2")) == 2


def test_files_of_runs_list_only_the_days_the_runs_started(storage: LocalStorage) -> None:
    """The bounded calls of one piece of work read back what their chain landed: only those runs' partitions."""
    day1 = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    r1, r2, other = new_run_id(day1), new_run_id(NOW), new_run_id(NOW)
    for run, when in ((r1, day1), (r2, NOW), (other, NOW), (r1, day1)):
        BronzeWriter(storage, run, when).write("medias", MEDIAS, LINEAGE)
    listed: list[str] = []
    real_list = storage.list
    storage.list = lambda prefix="", suffix=None: listed.append(prefix) or real_list(prefix, suffix)  # type: ignore[method-assign]
    got = list_bronze_files_of_runs(storage, "medias", [r2, r1])
    assert [p.rsplit("/", 1)[-1].split("-0000")[0] for p in got] == [r1, r1, r2]  # oldest first, `other` left out
    assert sorted(listed) == [
        "bronze/wistia/medias/ingest_date=2026-11-24",
        "bronze/wistia/medias/ingest_date=2026-11-25",
    ]
    assert list_bronze_files_of_runs(storage, "medias", ["not-a-dated-id"]) == []  # falls back to a full listing


@pytest.mark.parametrize(
    ("stream", "records", "error"),
    [("medias", [], ValueError), ("Medias", MEDIAS, ValueError), ("medias", [["not", "a dict"]], TypeError)],
)
def test_rejects_bad_input(storage: LocalStorage, stream: str, records: list[object], error: type) -> None:
    with pytest.raises(error):
        BronzeWriter(storage, RUN, NOW).write(stream, records, LINEAGE)  # type: ignore[arg-type]
    assert storage.list() == []


def test_rejects_naive_time_and_bad_run_id(storage: LocalStorage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BronzeWriter(storage, RUN, datetime(2026, 11, 25))
    with pytest.raises(ValueError, match="run id"):
        BronzeWriter(storage, "../evil", NOW)

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from wistia_analytics.lake.bronze import BronzeWriter, Lineage
from wistia_analytics.lake.runs import (
    MAX_ERRORS,
    RunStatus,
    finish_run,
    latest_runs,
    load_run,
    new_run_id,
    save_run,
    start_run,
)
from wistia_analytics.lake.storage import LocalStorage, Storage

from .conftest import NOW


def test_run_ids_sort_by_time() -> None:
    run_id = new_run_id(NOW)
    assert re.fullmatch(r"20261125T174512_000Z-[0-9a-f]{3}-[0-9a-f]{16}", run_id)
    later = [new_run_id(NOW + timedelta(milliseconds=ms)) for ms in (1, 1000, 60_000, 3_600_000, 86400_000 * 40)]
    assert sorted([*later, run_id]) == [run_id, *later]
    assert new_run_id(NOW) != new_run_id(NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        new_run_id(datetime(2026, 11, 25))


def test_lifecycle(any_storage: Storage) -> None:
    record = start_run(any_storage, "run-1", "ingest --since 2026-11-01", NOW)
    assert load_run(any_storage, "run-1").status is RunStatus.RUNNING
    written = BronzeWriter(any_storage, "run-1", NOW).write("medias", [{"id": 1}, {"id": 2}], Lineage("/m"))
    record.add_file(written)
    record.requests, record.retries, record.throttled = 5, 2, 1
    record.extra["silver"] = {"rows": 10}
    save_run(any_storage, record)  # checkpoint
    finish_run(any_storage, record, RunStatus.PARTIAL, NOW + timedelta(minutes=3))
    loaded = load_run(any_storage, "run-1")
    assert loaded == record
    assert loaded.status is RunStatus.PARTIAL
    assert (loaded.started_at, loaded.ended_at) == ("2026-11-25T17:45:12Z", "2026-11-25T17:48:12Z")
    assert loaded.records == {"medias": 2}
    assert loaded.files_written == [written.path]
    assert json.loads(any_storage.read_bytes("_runs/run-1.json"))["status"] == "partial"
    with pytest.raises(ValueError, match="final status"):
        finish_run(any_storage, record, RunStatus.RUNNING, NOW)


def test_secrets_never_written(storage: LocalStorage) -> None:
    record = start_run(storage, "run-1", "ingest --api-token=tok-SECRET-1 --since 2026-11-01", NOW)
    record.add_error("GET /v1/medias.json?access_token=tok-SECRET-2&page=3 -> 500")
    record.add_error("Authorization: Bearer tok-SECRET-3 rejected")
    record.add_error("server echoed tok-SECRET-4 back", known_secrets=["tok-SECRET-4"])
    record.extra["request"] = {"params": {"api_password": "tok-SECRET-5", "page": 3}}
    finish_run(storage, record, RunStatus.FAILED, NOW)
    raw = storage.read_bytes("_runs/run-1.json").decode()
    assert "tok-SECRET" not in raw
    assert "--since 2026-11-01" in raw and "page=3" in raw


def test_errors_are_capped(storage: LocalStorage) -> None:
    record = start_run(storage, "run-1", "ingest", NOW)
    for i in range(MAX_ERRORS + 7):
        record.add_error(f"media {i} failed " + "x" * 5000)
    assert len(record.errors) == MAX_ERRORS and record.errors_dropped == 7
    assert max(len(e) for e in record.errors) <= 2000


def test_latest_runs_newest_first(storage: LocalStorage) -> None:
    ids = [new_run_id(NOW + timedelta(hours=h)) for h in (2, 0, 1)]
    for run_id in ids:
        start_run(storage, run_id, "ingest", datetime.now(UTC))
    assert [r.run_id for r in latest_runs(storage, 2)] == [ids[0], ids[2]]
    assert len(latest_runs(storage, 10)) == 3
    assert latest_runs(storage, 0) == []
    assert latest_runs(LocalStorage(storage.root / "empty"), 5) == []


def test_latest_runs_orders_runs_of_one_millisecond_in_creation_order(storage: LocalStorage) -> None:
    """Run ids carry the millisecond and a per-process counter: runs of one second (even of one millisecond)
    come newest first by their id alone, whatever their random part."""
    second = NOW.replace(microsecond=0)
    first_id, later_id = (
        new_run_id(second + timedelta(microseconds=1_000)),
        new_run_id(second + timedelta(microseconds=1_000)),
    )
    last_id = new_run_id(second + timedelta(microseconds=900_000))
    for run_id in (last_id, first_id, later_id):
        start_run(storage, run_id, "ingest", second)
    start_run(storage, new_run_id(second - timedelta(seconds=1)), "ingest", second - timedelta(seconds=1))
    assert [r.run_id for r in latest_runs(storage, 1)] == [last_id]
    assert [r.run_id for r in latest_runs(storage, 3)] == [last_id, later_id, first_id]
    assert len(latest_runs(storage, 4)) == 4


def test_old_run_ids_still_load_and_come_before_new_ones(storage: LocalStorage) -> None:
    """Lakes written by older releases keep ``20261125T174512Z-1a2b3c`` ids (the second, a random suffix)."""
    old_ids = ["20261125T174512Z-ffffff", "20261125T174511Z-000000"]
    for run_id in old_ids:
        start_run(storage, run_id, "ingest", NOW)
    new_id = new_run_id(NOW)  # the same second as the newest old id: still newer
    start_run(storage, new_id, "ingest", NOW)
    assert [r.run_id for r in latest_runs(storage, 3)] == [new_id, *old_ids]
    assert load_run(storage, old_ids[0]).run_id == old_ids[0]

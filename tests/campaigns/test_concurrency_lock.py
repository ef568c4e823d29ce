"""`holding_lake_for_stages`: one hold of the lake shared by the stages of one command, and by nothing else."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.lock import LakeLockedError, holding_lake, holding_lake_for_stages
from wistia_analytics.lake.storage import Storage

RUN, INGEST, TRANSFORM = "20261125T120000Z-aaaaaa", "20261125T120001Z-bbbbbb", "20261125T120002Z-cccccc"


def test_stages_share_the_commands_hold_and_the_lake_stays_locked_between_them(tmp_path: Path) -> None:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    with holding_lake_for_stages(storage, RUN, "run") as outer:
        with holding_lake(storage, INGEST, "run") as stage:
            assert stage is outer
        held_between = storage.read_bytes(LOCK_PATH)  # the stage's exit did not release the command's hold
        with holding_lake(storage, TRANSFORM, "transform") as stage:
            assert stage is outer
    assert b'"run_id": "20261125T120000Z-aaaaaa"' in held_between
    assert not storage.exists(LOCK_PATH)  # released once, by the command


def test_a_stage_outside_the_block_or_on_another_lake_is_not_shared(tmp_path: Path) -> None:
    lake, other = Storage.from_uri(str(tmp_path / "lake")), Storage.from_uri(str(tmp_path / "other"))
    with holding_lake_for_stages(lake, RUN, "run"):
        with holding_lake(other, INGEST, "ingest") as separate:
            assert separate.run_id == INGEST and other.exists(LOCK_PATH)
        assert not other.exists(LOCK_PATH)
        errors: list[BaseException] = []

        def another_thread() -> None:  # a new thread starts with a fresh context: it is another run
            try:
                with holding_lake(lake, TRANSFORM, "transform"):
                    pass
            except LakeLockedError as exc:
                errors.append(exc)

        thread = threading.Thread(target=another_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and "is locked by run 20261125T120000Z-aaaaaa ('run')" in str(errors[0])
    with holding_lake(lake, TRANSFORM, "transform") as after:  # the block is over: a normal acquisition
        assert after.run_id == TRANSFORM


def test_a_busy_lake_refuses_the_whole_command(tmp_path: Path) -> None:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    with (
        holding_lake(storage, INGEST, "ingest"),
        pytest.raises(LakeLockedError, match="is locked by run"),
        holding_lake_for_stages(storage, RUN, "run"),
    ):
        pass
    assert not storage.exists(LOCK_PATH)

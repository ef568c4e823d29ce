from __future__ import annotations

import json
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wistia_analytics.lake.state import StateStore, is_ahead
from wistia_analytics.lake.storage import LocalStorage, Storage

from .conftest import NOW


def test_empty_then_commit_and_load(any_storage: Storage) -> None:
    store = StateStore(any_storage)
    assert store.load("events").values() == {}
    store.commit("events", {"m1": "2026-11-20", "m2": "2026-11-21"}, "run-1", now=NOW)
    state = StateStore(any_storage).load("events")
    assert state.values() == {"m1": "2026-11-20", "m2": "2026-11-21"}
    assert (state.run_id, state.updated_at) == ("run-1", "2026-11-25T17:45:12Z")
    assert state.watermarks["m1"].run_id == "run-1"
    assert any_storage.list() == ["_state/events.json"]


def test_never_moves_backwards(storage: LocalStorage) -> None:
    store = StateStore(storage)
    store.commit("events", {"m1": "2026-11-20", "m2": "2026-11-20"}, "run-1", now=NOW)
    state = store.commit("events", {"m1": "2026-11-19", "m2": "2026-11-22", "m3": "2026-01-01"}, "run-2", now=NOW)
    assert state.values() == {"m1": "2026-11-20", "m2": "2026-11-22", "m3": "2026-01-01"}
    assert state.watermarks["m1"].run_id == "run-1"
    assert store.load("events").values() == state.values()


def test_nothing_written_when_nothing_moves(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(storage)
    store.commit("events", {"m1": "2026-11-20"}, "run-1", now=NOW)
    before = storage.read_bytes("_state/events.json")
    monkeypatch.setattr(storage, "write_bytes", lambda *a: pytest.fail("should not write"))
    store.commit("events", {"m1": "2026-11-20"}, "run-2", now=NOW)
    store.commit("events", {"m1": "2026-11-01"}, "run-2", now=NOW)
    assert storage.read_bytes("_state/events.json") == before


def test_timestamps_compare_by_instant() -> None:
    assert is_ahead("2026-11-25T10:00:00Z", "2026-11-25T09:59:59+00:00")
    assert not is_ahead("2026-11-25T10:00:00+02:00", "2026-11-25T09:00:00Z")  # 08:00Z
    assert is_ahead("2026-11-25T10:00:00", "2026-11-25T09:00:00Z")  # naive = UTC
    assert not is_ahead("2026-11-25T10:00:00.5Z", "2026-11-25T10:00:00.5Z")


def test_invalid_or_mixed_values_write_nothing(storage: LocalStorage) -> None:
    store = StateStore(storage)
    store.commit("events", {"m1": "2026-11-20"}, "run-1", now=NOW)
    before = storage.read_bytes("_state/events.json")
    with pytest.raises(ValueError, match="ISO"):
        store.commit("events", {"m2": "2026-11-30", "m3": "yesterday"}, "run-2", now=NOW)
    with pytest.raises(ValueError, match="date"):
        store.commit("events", {"m2": "2026-11-30", "m1": "2026-11-21T00:00:00Z"}, "run-2", now=NOW)
    assert storage.read_bytes("_state/events.json") == before


def test_crash_while_writing_keeps_previous_state(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(storage)
    store.commit("events", {"m1": "2026-11-20"}, "run-1", now=NOW)

    def boom(src: object, dst: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="killed"):
        store.commit("events", {"m1": "2026-11-24"}, "run-2", now=NOW)
    assert store.load("events").values() == {"m1": "2026-11-20"}
    assert json.loads(storage.read_bytes("_state/events.json"))["version"] == 1
    assert storage.list() == ["_state/events.json"]


def test_rejects_bad_stream(storage: LocalStorage) -> None:
    with pytest.raises(ValueError, match="slug"):
        StateStore(storage).load("../x")


KEYS = st.sampled_from(["m1", "m2", "m3"])
DAYS = st.integers(min_value=0, max_value=60).map(lambda n: (date(2026, 10, 1) + timedelta(days=n)).isoformat())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(KEYS, DAYS, max_size=3), max_size=8))
def test_watermarks_are_the_running_maximum(commits: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(LocalStorage(Path(tmp)))
        expected: dict[str, str] = {}
        for i, updates in enumerate(commits):
            before = store.load("events").values()
            after = store.commit("events", updates, f"run-{i}", now=NOW).values()
            for key, value in updates.items():
                expected[key] = max(expected.get(key, value), value)
            assert after == expected
            assert all(after[k] >= v for k, v in before.items())
        assert store.load("events").values() == expected

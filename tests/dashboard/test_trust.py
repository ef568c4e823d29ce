"""The trust panel's answer: freshness, last run, reconciliation drift and quarantine, and its level."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from wistia_analytics.dashboard.gold import Gold
from wistia_analytics.dashboard.trust import RunInfo, Trust, trust
from wistia_analytics.lake.storage import Storage

D2 = date(2026, 11, 2)


def test_trust(gold: Gold, gold_lake: Path) -> None:
    t = trust(Storage.from_uri(str(gold_lake)), gold)
    assert t.data_as_of == D2
    assert t.newest_event_at == "2026-11-02T10:00:00+00:00"
    assert t.last_run is not None and (t.last_run.command, t.last_run.status) == ("transform", "success")
    assert (t.drift_rows, t.reconciliation_rows, t.quarantined) == (0, 7, {"event": 2})
    assert t.level == "ok"


@pytest.mark.parametrize(
    ("status", "drift", "level"),
    [("success", 0, "ok"), ("success", 3, "warning"), ("partial", 0, "warning"), ("failed", 0, "error")],
)
def test_trust_levels(status: str, drift: int, level: str) -> None:
    run = RunInfo("run", status, "2026-11-02T00:00:00Z", None, 0)
    assert Trust(D2, None, run, drift, 1, 10).level == level
    assert Trust(D2, None, None, 0, None, 0).level == "error"


def test_a_last_day_read_before_it_was_over_is_in_progress() -> None:
    def run(started_at: str) -> RunInfo:
        return RunInfo("run", "success", started_at, None, 0)

    assert Trust(D2, None, run("2026-11-02T00:15:00Z"), 0, None, 0).day_in_progress == D2
    assert Trust(D2, None, run("2026-11-03T00:15:00Z"), 0, None, 0).day_in_progress is None
    assert Trust(D2, None, None, 0, None, 0).day_in_progress is None

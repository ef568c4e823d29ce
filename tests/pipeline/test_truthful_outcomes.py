"""Outcomes tell the truth (issue 14): a no-op transform does not hide drift, incomplete runs and crashes alert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.pipeline.conftest import Receiver
from tests.pipeline.test_alerts import NOW, settings, write_run
from wistia_analytics.aws import emf_metrics as metrics
from wistia_analytics.lake.runs import RunStatus, finish_run, latest_runs
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline import alerts
from wistia_analytics.pipeline.alerts import after_run


@pytest.fixture()
def storage(tmp_path: Path) -> Storage:
    return Storage.from_uri(str(tmp_path / "lake"))


def published(**tables: bool) -> dict[str, dict[str, bool]]:
    return {name: {"published": flag} for name, flag in tables.items()}


def test_a_retry_that_finds_nothing_new_keeps_the_published_drift(
    tmp_path: Path, storage: Storage, webhook: Receiver
) -> None:
    tick = NOW - timedelta(minutes=30)
    write_run(storage, "ingest", RunStatus.SUCCESS, tick)
    real = write_run(
        storage,
        "transform",
        RunStatus.SUCCESS,
        tick + timedelta(minutes=2),
        reconciliation_drift_rows=14,
        quarantined={"events": 3},
        tables=published(gold_reconciliation=True, silver_events=True),
    )
    retry = NOW - timedelta(minutes=5)
    noop = write_run(storage, "transform", RunStatus.SUCCESS, retry, mode="noop", reconciliation_drift_rows=0)
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=retry, now=NOW)
    assert outcome.kinds == ["drift", "quarantine"]
    (message,) = webhook.posts
    assert message["conditions"][0]["value"] == 14 and message["conditions"][0]["run_id"] == real.run_id
    assert message["conditions"][1]["value"] == 3
    # The report Lambda's metrics: the same published state, not the no-op's zeros.
    records = latest_runs(storage, 50)
    points = metrics.as_dict(metrics.transform_metrics(noop, records))
    assert points[metrics.DRIFT_ROWS] == 14 and points[metrics.QUARANTINED] == 3


def test_an_incomplete_run_alerts_and_is_not_fresh(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    tick = NOW - timedelta(minutes=10)
    run = write_run(storage, "ingest", RunStatus.INCOMPLETE, tick)
    run.extra["position"] = {"stopped": ["visitors"]}
    finish_run(storage, run, RunStatus.INCOMPLETE, tick + timedelta(minutes=1))
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=tick, now=NOW, exit_code=5)
    assert outcome.kinds == ["incomplete_run", "stale"]
    assert "visitors" in webhook.posts[0]["conditions"][0]["summary"]


def test_a_crashing_run_still_alerts_then_exits_1(
    tmp_path: Path, storage: Storage, webhook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKE_URI", str(tmp_path))
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)

    def crash() -> int:
        raise ZeroDivisionError("a bug")

    assert alerts.run_with_alerts(crash) == 1
    (message,) = webhook.posts
    assert message["exit_code"] == 1
    assert "failed_run" in [c["kind"] for c in message["conditions"]]

"""The alerting hook on real lakes and a real webhook receiver: each condition, its message, delivery and failure.

Run records are the hook's only input, so most tests write them as runs do (`start_run`/`finish_run`) with the
figures a condition needs; quarantine comes from a real transform of the hand-built fixture lake.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.pipeline.conftest import WEBHOOK_PATH, Receiver, cli_env
from tests.transform.fixture_lake import build
from wistia_analytics.lake.runs import (
    RunRecord,
    RunStatus,
    finish_run,
    latest_runs,
    load_run,
    new_run_id,
    start_run,
)
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.pipeline.alerts import WEBHOOK_RETRY_POLICY, after_run, last_pipeline_run, records_since
from wistia_analytics.pipeline.transform_stage import run_transform
from wistia_analytics.sandbox import Sandbox
from wistia_analytics.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOKEN = "tok-5ecr3t-91ab"


def settings(lake: Path, url: str | None, **more: Any) -> Settings:
    return Settings(
        lake_uri=str(lake),
        wistia_api_token=SecretStr(TOKEN),
        alert_webhook_url=SecretStr(url) if url else None,
        **more,
    )


def write_run(
    storage: Storage, kind: str, status: RunStatus, started: datetime, minutes: float = 1.0, **extra: Any
) -> RunRecord:
    """A finished run record as the ingester (``source``) or the transform (``transform``) writes it."""
    record = start_run(storage, new_run_id(started), "run" if kind == "ingest" else "transform", started)
    record.extra = {"source": "sandbox"} if kind == "ingest" else {"transform": {"mode": "incremental", **extra}}
    finish_run(storage, record, status, started + timedelta(minutes=minutes))
    return record


@pytest.fixture()
def storage(tmp_path: Path) -> Storage:
    return Storage.from_uri(str(tmp_path / "lake"))


def test_healthy_run_posts_nothing_and_is_marked(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    tick = NOW - timedelta(minutes=10)
    ingest = write_run(storage, "ingest", RunStatus.SUCCESS, tick)
    transform = write_run(
        storage, "transform", RunStatus.SUCCESS, tick + timedelta(minutes=2), reconciliation_drift_rows=0
    )
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=tick, now=NOW)
    assert outcome.conditions == [] and not outcome.posted and outcome.run_ids == [ingest.run_id, transform.run_id]
    assert webhook.posts == []
    assert load_run(storage, transform.run_id).extra["alerts"]["conditions"] == []
    assert "alerts" not in load_run(storage, ingest.run_id).extra  # the last record of the run carries it


def test_stale_lake_is_posted_with_its_age(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    """The cloud's freshness: the older of the last finished ingestion (8 h) and transform (7 h) counts."""
    last_ingest = write_run(storage, "ingest", RunStatus.SUCCESS, NOW - timedelta(hours=8, minutes=1))  # ends -8h
    last_transform = write_run(storage, "transform", RunStatus.SUCCESS, NOW - timedelta(hours=7, minutes=1))
    tick = NOW - timedelta(minutes=5)
    failed = write_run(storage, "ingest", RunStatus.FAILED, tick)
    lake = tmp_path / "lake"
    outcome = after_run(settings(lake, webhook.url), storage, since=tick, now=NOW)
    assert outcome.posted and outcome.kinds == ["failed_run", "stale"]
    (message,) = webhook.posts
    stale = message["conditions"][1]
    assert stale == {
        "kind": "stale",
        "summary": f"data is 8.0 h old (threshold 6 h): last ingestion ended {last_ingest.ended_at}; "
        f"last transform ended {last_transform.ended_at}",
        "run_id": None,
        "value": 8.0,
    }
    assert message["run_ids"] == [failed.run_id]
    assert message["evaluated_at"] == utc_iso(NOW)
    assert message["host"] == socket.gethostname()
    assert message["lake"] == str(lake)
    assert message["exit_code"] is None


def test_a_lake_that_never_transformed_is_stale(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    write_run(storage, "ingest", RunStatus.SUCCESS, NOW - timedelta(minutes=30))
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=NOW, now=NOW)
    assert outcome.kinds == ["stale"]
    assert outcome.conditions[0].summary == ("no transform has finished in the newest 200 run records (threshold 6 h)")


def test_staleness_threshold_is_a_setting(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    write_run(storage, "ingest", RunStatus.SUCCESS, NOW - timedelta(hours=5, minutes=2))  # ended 5h01 ago
    write_run(storage, "transform", RunStatus.SUCCESS, NOW - timedelta(hours=5, minutes=1))  # ended 5 h ago
    lake = tmp_path / "lake"
    assert after_run(settings(lake, webhook.url), storage, since=NOW, now=NOW).conditions == []
    strict = settings(lake, webhook.url, alert_stale_after_hours=4)
    assert after_run(strict, storage, since=NOW, now=NOW).kinds == ["stale"]  # no run in the window: staleness only
    assert [c["value"] for c in webhook.posts[0]["conditions"]] == [5.02]


def test_drift_and_partial_are_posted_from_the_run_records(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    tick = NOW - timedelta(minutes=10)
    ingest = write_run(storage, "ingest", RunStatus.PARTIAL, tick)
    ingest.add_error("events: media abc skipped after HTTP 500")
    ingest.extra["source"] = "sandbox"
    finish_run(storage, ingest, RunStatus.PARTIAL, tick + timedelta(minutes=1))
    transform = write_run(
        storage, "transform", RunStatus.SUCCESS, tick + timedelta(minutes=2), reconciliation_drift_rows=3
    )
    write_run(storage, "ingest", RunStatus.SUCCESS, tick - timedelta(minutes=30))  # fresh: partial does not count
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=tick, now=NOW, exit_code=3)
    assert outcome.posted
    (message,) = webhook.posts
    assert message["conditions"] == [
        {
            "kind": "partial_run",
            "summary": f"ingestion run {ingest.run_id} was partial: events: media abc skipped after HTTP 500",
            "run_id": ingest.run_id,
            "value": None,
        },
        {
            "kind": "drift",
            "summary": f"3 reconciliation row(s) outside tolerance after transform run {transform.run_id}",
            "run_id": transform.run_id,
            "value": 3,
        },
    ]
    assert message["exit_code"] == 3


def test_quarantined_records_of_a_real_transform_are_posted(
    tmp_path: Path, storage: Storage, webhook: Receiver
) -> None:
    """The fixture lake holds one event out of range and one without a key: the transform quarantines both."""
    build(storage)
    ingest = write_run(storage, "ingest", RunStatus.SUCCESS, datetime.now(UTC) - timedelta(minutes=1))
    lake = tmp_path / "lake"
    result = run_transform(settings(lake, None), storage=storage)
    assert result.status is RunStatus.SUCCESS and sum(result.quarantined.values()) == 2
    outcome = after_run(settings(lake, webhook.url), storage)  # no start given: the newest ingestion onwards
    assert outcome.run_ids == [ingest.run_id, result.run_id]
    (message,) = webhook.posts
    assert message["conditions"] == [
        {
            "kind": "quarantine",
            "summary": "2 record(s) quarantined in this run (event 2)",
            "run_id": result.run_id,
            "value": 2,
        }
    ]


def test_a_run_is_posted_once_even_if_both_run_and_schedule_ask(
    tmp_path: Path, storage: Storage, webhook: Receiver
) -> None:
    tick = NOW - timedelta(minutes=10)
    write_run(storage, "ingest", RunStatus.FAILED, tick)
    lake = tmp_path / "lake"
    first = after_run(settings(lake, webhook.url), storage, now=NOW)
    second = after_run(settings(lake, webhook.url), storage, since=tick, now=NOW)
    assert first.posted and not first.already_evaluated
    assert second.already_evaluated and second.posted  # the stored outcome, for the tick line
    assert second.kinds == first.kinds == ["failed_run", "stale"]
    assert len(webhook.posts) == 1


def test_a_command_that_wrote_no_record_still_alerts(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    write_run(storage, "ingest", RunStatus.SUCCESS, NOW - timedelta(hours=1))
    write_run(storage, "transform", RunStatus.SUCCESS, NOW - timedelta(minutes=59))
    lake = tmp_path / "lake"
    config_error = after_run(settings(lake, webhook.url), storage, since=NOW, now=NOW, exit_code=2)
    assert config_error.kinds == ["failed_run"]
    assert webhook.posts[0]["conditions"][0]["summary"] == "the run exited with code 2 and wrote no run record"
    busy = after_run(settings(lake, webhook.url), storage, since=NOW, now=NOW, exit_code=4)
    assert busy.conditions == [] and len(webhook.posts) == 1  # the lake was busy: not a failure


def test_a_failing_webhook_is_retried_counted_and_never_raises(
    tmp_path: Path, storage: Storage, webhook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    tick = NOW - timedelta(minutes=10)
    failed = write_run(storage, "ingest", RunStatus.FAILED, tick)
    webhook.statuses = [500, 502, 500]
    waits: list[float] = []
    with caplog.at_level(logging.DEBUG):
        outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, since=tick, now=NOW, sleep=waits.append)
    assert not outcome.posted
    assert (outcome.webhook_attempts, outcome.webhook_failures, outcome.webhook_error) == (3, 3, "HTTP 500")
    assert len(webhook.posts) == 3 and webhook.posts[0] == webhook.posts[2]  # the same message each time
    assert len(waits) == 2 and 0 <= waits[0] <= 1.0 and 0 <= waits[1] <= 2.0  # the policy's backoff caps
    recorded = load_run(storage, failed.run_id).extra["alerts"]
    assert (recorded["posted"], recorded["webhook_attempts"], recorded["webhook_failures"]) == (False, 3, 3)
    assert recorded["webhook_error"] == "HTTP 500"
    assert "alert webhook failed after 3 attempt(s) (HTTP 500); the run itself is unaffected" in caplog.text
    assert "FAILED after 3 attempt(s): HTTP 500" in outcome.describe()
    for secret in (TOKEN, WEBHOOK_PATH, webhook.url):
        assert secret not in caplog.text


def test_throttled_webhook_is_retried_then_delivered(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    write_run(storage, "ingest", RunStatus.FAILED, NOW - timedelta(minutes=10))
    webhook.statuses = [503]
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, now=NOW, sleep=lambda _: None)
    assert outcome.posted and (outcome.webhook_attempts, outcome.webhook_failures) == (2, 1)
    assert len(webhook.posts) == 2


def test_a_rejected_or_unreachable_webhook_is_not_retried_forever(tmp_path: Path, storage: Storage) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    write_run(storage, "ingest", RunStatus.FAILED, NOW - timedelta(minutes=10))
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    outcome = after_run(settings(tmp_path / "lake", url), storage, now=NOW, sleep=lambda _: None)
    assert not outcome.posted
    assert outcome.webhook_attempts == WEBHOOK_RETRY_POLICY.max_attempts and outcome.webhook_error == "ConnectError"


def test_a_gone_webhook_fails_at_once(tmp_path: Path, storage: Storage, webhook: Receiver) -> None:
    write_run(storage, "ingest", RunStatus.FAILED, NOW - timedelta(minutes=10))
    webhook.statuses = [404]
    outcome = after_run(settings(tmp_path / "lake", webhook.url), storage, now=NOW, sleep=lambda _: None)
    assert (outcome.posted, outcome.webhook_attempts, outcome.webhook_error) == (False, 1, "HTTP 404")


def test_without_a_webhook_conditions_are_logged_and_recorded(
    tmp_path: Path, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    failed = write_run(storage, "ingest", RunStatus.FAILED, NOW - timedelta(minutes=10))
    with caplog.at_level(logging.WARNING):
        outcome = after_run(settings(tmp_path / "lake", None), storage, now=NOW)
    assert outcome.kinds == ["failed_run", "stale"] and not outcome.webhook_configured and not outcome.posted
    assert outcome.describe() == "alerts: failed_run, stale (no ALERT_WEBHOOK_URL set)"
    assert f"alert condition failed_run: ingestion run {failed.run_id} failed" in caplog.text
    assert load_run(storage, failed.run_id).extra["alerts"]["webhook_configured"] is False


def test_windows_of_a_run_follow_start_times(storage: Storage) -> None:
    """Run ids order runs to the second only; the window and 'the last run' use the recorded start times."""
    second = NOW.replace(microsecond=0)
    ingest = write_run(storage, "ingest", RunStatus.SUCCESS, second + timedelta(microseconds=100))
    transform = write_run(storage, "transform", RunStatus.SUCCESS, second + timedelta(microseconds=900))
    assert [r.run_id for r in records_since(storage, second)] == [ingest.run_id, transform.run_id]
    assert [r.run_id for r in last_pipeline_run(storage)] == [ingest.run_id, transform.run_id]
    assert [r.run_id for r in records_since(storage, second + timedelta(microseconds=500))] == [transform.run_id]
    running = start_run(storage, new_run_id(NOW + timedelta(minutes=1)), "run", NOW + timedelta(minutes=1))
    assert running.run_id not in [r.run_id for r in records_since(storage, second)]  # unfinished: not evaluated


def test_webhook_setting_is_secret_and_blank_means_unset(tmp_path: Path, webhook: Receiver) -> None:
    configured = settings(tmp_path, webhook.url)
    assert WEBHOOK_PATH not in repr(configured) and WEBHOOK_PATH not in str(configured.model_dump())
    assert Settings(alert_webhook_url="  ").alert_webhook_url is None  # type: ignore[arg-type]
    assert Settings().alert_stale_after_hours == 6.0
    assert json.loads(json.dumps(configured.model_dump(mode="json")))["alert_webhook_url"] == "**********"


def test_run_with_alerts_is_how_run_gets_its_hook(tmp_path: Path, tiny_sandbox: Sandbox, webhook: Receiver) -> None:
    """The wiring proposed for `wistia-analytics run`, in a subprocess: a run refused by the API is posted once."""
    lake = tmp_path / "lake"
    wrong_token = "wrong-token-for-run-77c1"
    code = (
        "from wistia_analytics.pipeline.alerts import run_with_alerts\n"
        "from wistia_analytics.commands.run import run_command\n"
        "raise SystemExit(run_with_alerts(lambda: run_command(full_rebuild=False, today=None, wait=0.0)))\n"
    )
    env = cli_env(lake, tiny_sandbox, WISTIA_API_TOKEN=wrong_token, ALERT_WEBHOOK_URL=webhook.url)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2, done.stderr  # `run`'s own exit code, unchanged by the hook
    (ingest,) = sorted(latest_runs(Storage.from_uri(str(lake))), key=lambda r: r.started_at)
    (message,) = webhook.posts
    assert [c["kind"] for c in message["conditions"]] == ["failed_run", "stale"]
    assert message["run_ids"] == [ingest.run_id] and message["exit_code"] == 2
    assert load_run(Storage.from_uri(str(lake)), ingest.run_id).extra["alerts"]["posted"] is True
    assert "alert condition failed_run" in done.stderr  # the conditions are logged too
    for secret in (wrong_token, WEBHOOK_PATH):
        assert secret not in done.stdout + done.stderr

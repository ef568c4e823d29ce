"""`wistia-analytics schedule` as a user runs it: real subprocesses, real HTTP against the tiny sandbox, a real lake.

Each tick must run what `run` runs (an ingestion record with command ``run``, then a transform record), never
overlap another holder of the lake lock (skip, not queue), finish its run on SIGTERM, and alert the webhook.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.pipeline.conftest import TODAY, WEBHOOK_PATH, Receiver, cli, cli_env, runs_oldest_first, tick_lines
from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.lock import LakeLock
from wistia_analytics.lake.runs import RunStatus
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import parse_utc
from wistia_analytics.pipeline.scheduler import Scheduler, describe_interval, next_tick, parse_interval
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.sandbox import Sandbox
from wistia_analytics.settings import Settings


# ---- intervals and aligned ticks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h", 3600), ("6h", 21600), ("1d", 86400), ("1s", 1), ("90s", 90), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "0m", "1w", "1.5h", "-1h", "1h x", "every hour"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


def test_describe_interval_round_trips() -> None:
    for text in ("15m", "1h", "1d", "1h30m", "1d6h", "45s"):
        assert describe_interval(parse_interval(text)) == text


def test_ticks_fall_on_utc_multiples_of_the_interval() -> None:
    at = datetime(2026, 11, 26, 0, 17, 3, 250_000, tzinfo=UTC)
    assert next_tick(at, timedelta(hours=1)) == datetime(2026, 11, 26, 1, tzinfo=UTC)
    assert next_tick(at, timedelta(minutes=15)) == datetime(2026, 11, 26, 0, 30, tzinfo=UTC)
    assert next_tick(at, timedelta(hours=6)) == datetime(2026, 11, 26, 6, tzinfo=UTC)
    assert next_tick(at, timedelta(days=1)) == datetime(2026, 11, 27, tzinfo=UTC)
    assert next_tick(at, timedelta(seconds=1)) == datetime(2026, 11, 26, 0, 17, 4, tzinfo=UTC)
    on_the_hour = datetime(2026, 11, 26, 1, tzinfo=UTC)
    assert next_tick(on_the_hour, timedelta(hours=1)) == datetime(2026, 11, 26, 2, tzinfo=UTC)  # strictly after


def test_bad_interval_is_a_usage_error(tmp_path: Path, tiny_sandbox: Sandbox) -> None:
    done = cli(tmp_path, cli_env(tmp_path / "lake", tiny_sandbox), "schedule", "--every", "often", "--once")
    assert done.returncode == 2
    assert "--every" in done.stderr and "15m" in done.stderr
    assert not (tmp_path / "lake").exists()


def test_engine_is_passed_to_the_run(tmp_path: Path, tiny_sandbox: Sandbox) -> None:
    done = cli(tmp_path, cli_env(tmp_path / "lake", tiny_sandbox), "schedule", "--once", "--engine", "nope")
    assert done.returncode == 2  # `run` refuses an unknown engine before ingesting...
    assert "unknown engine 'nope'" in done.stderr
    (line,) = tick_lines(done.stdout)
    assert "tick 1: failed (exit 2)" in line and "no run record" in line  # ...and the tick says so
    assert runs_oldest_first(tmp_path / "lake") == []


# ---- ticks against the sandbox -----------------------------------------------------------------------------
def test_every_second_twice_runs_two_aligned_ticks(tmp_path: Path, tiny_sandbox: Sandbox) -> None:
    lake = tmp_path / "lake"
    done = cli(
        tmp_path,
        cli_env(lake, tiny_sandbox, LOG_FORMAT="json"),
        "schedule",
        "--every",
        "1s",
        "--max-runs",
        "2",
        "--today",
        TODAY,
    )
    assert done.returncode == 0, done.stderr
    runs = runs_oldest_first(lake)
    assert [(r.command, r.status) for r in runs] == [
        ("run", RunStatus.SUCCESS),
        ("transform", RunStatus.SUCCESS),
        ("run", RunStatus.SUCCESS),
        ("transform", RunStatus.SUCCESS),
    ]
    assert runs[1].extra["transform"]["mode"] == "full"
    assert runs[3].extra["transform"]["mode"] == "incremental"  # the second tick builds on the first
    ticks = [json.loads(line) for line in done.stdout.splitlines() if '"schedule.tick"' in line]
    assert [t["tick"] for t in ticks] == [1, 2]
    assert [t["status"] for t in ticks] == ["success", "success"]
    assert ticks[0]["run_ids"] == [runs[0].run_id, runs[1].run_id]
    assert ticks[1]["run_ids"] == [runs[2].run_id, runs[3].run_id]
    assert ticks[1]["next_tick_at"] is None
    boundary = parse_utc(ticks[0]["next_tick_at"])
    assert boundary.microsecond == 0  # aligned on a whole second
    assert parse_utc(runs[2].started_at) >= boundary  # the second run waited for its tick
    assert parse_utc(runs[2].started_at) >= parse_utc(str(runs[1].ended_at))  # and never overlapped the first


def test_a_tick_is_skipped_while_another_run_holds_the_lake(tmp_path: Path, tiny_sandbox: Sandbox) -> None:
    lake = tmp_path / "lake"
    storage = Storage.from_uri(str(lake))
    other = LakeLock(storage, "20261126T000000Z-aaaaaa", "ingest --full-refresh")
    other.acquire()  # a live holder: this very test process
    try:
        done = cli(tmp_path, cli_env(lake, tiny_sandbox), "schedule", "--once", "--today", TODAY)
        assert done.returncode == 0, done.stderr  # skipping is the design, not a failure
        (line,) = tick_lines(done.stdout)
        assert "tick 1: skipped, lake busy: run 20261126T000000Z-aaaaaa ('ingest --full-refresh')" in line
        assert "alerts: stale (no ALERT_WEBHOOK_URL set)" in line  # a lake that never ingested is stale
        assert runs_oldest_first(lake) == []  # nothing ran, nothing queued
        assert not list((lake / "bronze").glob("**/*.gz"))
        holder = other.read_holder()
        assert holder is not None and holder.run_id == "20261126T000000Z-aaaaaa"
    finally:
        assert other.release()  # still ours: the skipped tick never touched it


def test_sigterm_lets_the_current_run_finish_then_exits_cleanly(
    tmp_path: Path, tiny_sandbox: Sandbox, webhook: Receiver
) -> None:
    """Also the healthy case: the run records of `run`, nothing posted, no secret anywhere."""
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wistia_analytics", "schedule", "--every", "1h", "--today", TODAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(lake, tiny_sandbox, ALERT_WEBHOOK_URL=webhook.url),
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()  # printed once the signal handlers are in place, just before tick 1
        assert header.startswith("schedule: `run` every 1h"), header
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("schedule: stopped by signal after tick 1")
    assert not (lake / LOCK_PATH).exists()  # the lock was released, not left for a takeover
    ingest, transform = runs_oldest_first(lake)  # tick 1 ran to its end; there was no tick 2
    assert (ingest.command, ingest.status) == ("run", RunStatus.SUCCESS)  # the very records `run` writes
    assert ingest.extra["today"] == TODAY and sum(ingest.records.values()) > 0
    assert (transform.command, transform.status) == ("transform", RunStatus.SUCCESS)
    assert transform.extra["transform"]["mode"] == "full"
    assert transform.extra["transform"]["reconciliation_drift_rows"] == 0
    assert sum(transform.extra["transform"]["quarantined"].values()) == 0
    assert transform.extra["alerts"] == {
        "conditions": [],
        "webhook_configured": True,
        "posted": False,
        "webhook_attempts": 0,
        "webhook_failures": 0,
        "webhook_error": None,
    }
    assert webhook.posts == []  # healthy: nothing posted
    (line,) = tick_lines(out)
    assert "tick 1: success (exit 0)" in line and "next tick" not in line
    assert f"runs {ingest.run_id}, {transform.run_id}; alerts: none" in line
    for secret in (tiny_sandbox.token, WEBHOOK_PATH, webhook.url):
        assert secret not in out + err
        assert secret not in (lake / "_runs" / f"{transform.run_id}.json").read_text()


def test_drift_from_a_real_run_is_posted(tmp_path: Path, tiny_sandbox: Sandbox, webhook: Receiver) -> None:
    """A 7-day first backfill leaves each media's lifetime plays (Wistia's) above the events' sum: real drift."""
    lake = tmp_path / "lake"
    env = cli_env(lake, tiny_sandbox, ALERT_WEBHOOK_URL=webhook.url, INGEST_BACKFILL_DAYS="7")
    done = cli(tmp_path, env, "schedule", "--once", "--today", TODAY)
    assert done.returncode == 0, done.stderr
    ingest, transform = runs_oldest_first(lake)
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    drifting = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE scope = 'lifetime') "
        "FROM gold.reconciliation WHERE NOT within_tolerance"
    ).fetchone()
    con.close()
    assert drifting is not None and drifting[0] == drifting[1] == 4  # the 4 medias' lifetime rows, nothing daily

    (message,) = webhook.posts
    assert message["run_ids"] == [ingest.run_id, transform.run_id]
    assert message["exit_code"] == 0
    assert message["conditions"] == [
        {
            "kind": "drift",
            "summary": f"4 reconciliation row(s) outside tolerance after transform run {transform.run_id}",
            "run_id": transform.run_id,
            "value": 4,
        }
    ]
    (line,) = tick_lines(done.stdout)
    assert "tick 1: success (exit 0)" in line and "alerts: drift (posted)" in line


def test_a_failed_run_is_posted_to_the_webhook_without_secrets(
    tmp_path: Path, tiny_sandbox: Sandbox, webhook: Receiver
) -> None:
    lake = tmp_path / "lake"
    wrong_token = "wrong-token-5ecr3t-7f1d"
    env = cli_env(lake, tiny_sandbox, WISTIA_API_TOKEN=wrong_token, ALERT_WEBHOOK_URL=webhook.url)
    done = cli(tmp_path, env, "schedule", "--once", "--today", TODAY)
    assert done.returncode == 2  # the run's own exit code: configuration error
    (ingest,) = runs_oldest_first(lake)  # the run stopped after ingestion
    assert (ingest.command, ingest.status) == ("run", RunStatus.FAILED)
    (line,) = tick_lines(done.stdout)
    assert "tick 1: failed (exit 2) in" in line and f"runs {ingest.run_id};" in line
    assert "alerts: failed_run, stale (posted)" in line

    (message,) = webhook.posts
    assert webhook.paths == [WEBHOOK_PATH] and webhook.content_types == ["application/json"]
    assert message["source"] == "wistia-analytics"
    assert message["lake"] == str(lake)
    assert message["exit_code"] == 2
    assert message["run_ids"] == [ingest.run_id]
    assert [c["kind"] for c in message["conditions"]] == ["failed_run", "stale"]
    failed = message["conditions"][0]
    assert failed["run_id"] == ingest.run_id
    assert failed["summary"].startswith(f"ingestion run {ingest.run_id} failed: ")
    assert "WISTIA_API_TOKEN" in failed["summary"]  # the error says which setting to fix...
    assert message["text"].splitlines() == [
        f"wistia-analytics: 2 alert(s) on lake {lake}",
        f"- [failed_run] {failed['summary']}",
        f"- [stale] {message['conditions'][1]['summary']}",
    ]
    alerts = json.loads((lake / "_runs" / f"{ingest.run_id}.json").read_text())["extra"]["alerts"]
    assert alerts["posted"] is True and alerts["webhook_attempts"] == 1 and alerts["webhook_failures"] == 0
    for secret in (wrong_token, WEBHOOK_PATH):  # ...but never its value, nor the webhook's
        assert secret not in done.stdout + done.stderr
        assert secret not in json.dumps(message)
        assert secret not in (lake / "_runs" / f"{ingest.run_id}.json").read_text()


def test_ctrl_c_while_waiting_for_the_next_tick_exits_at_once(tmp_path: Path, tiny_sandbox: Sandbox) -> None:
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wistia_analytics", "schedule", "--every", "1d", "--today", TODAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(lake, tiny_sandbox),
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        while "] tick 1: " not in lines[-1]:  # the run's own tables come first
            lines.append(proc.stdout.readline())
            assert lines[-1], "".join(lines)
        assert "tick 1: success (exit 0)" in lines[-1]
        next_at = parse_utc(lines[-1].rsplit("next tick ", 1)[1].strip())
        assert (next_at.hour, next_at.minute, next_at.second) == (0, 0, 0)  # 1d ticks fall on midnight UTC
        proc.send_signal(signal.SIGINT)  # the loop is now waiting for that tick, up to a day
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("schedule: stopped by signal after tick 1")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [r.status for r in runs_oldest_first(lake)] == [RunStatus.SUCCESS, RunStatus.SUCCESS]


def test_a_run_that_raises_fails_its_tick_not_the_scheduler(
    tmp_path: Path, webhook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """In process: the pipeline is replaced by one that raises (with the token in its message), twice."""
    token = "tok-in-an-error-3f9a"
    settings = Settings(
        lake_uri=str(tmp_path / "lake"), wistia_api_token=SecretStr(token), alert_webhook_url=SecretStr(webhook.url)
    )
    calls: list[int] = []

    def boom() -> int:
        calls.append(1)
        raise OSError(f"disk full while writing with token {token}")

    lines: list[str] = []
    scheduler = Scheduler(settings, boom, every=timedelta(seconds=1), max_ticks=2, echo=lines.append)
    assert scheduler.loop() == 1  # the last tick's exit code
    assert len(calls) == 2  # the first failure did not stop the loop
    assert len(lines) == 2 and all("failed (exit 1)" in line and "no run record" in line for line in lines)
    assert "alerts: failed_run, stale (posted)" in lines[0]
    assert len(webhook.posts) == 2
    assert webhook.posts[0]["conditions"][0]["summary"] == "the run exited with code 1 and wrote no run record"
    assert "tick 1: the run raised OSError: disk full while writing with token ***" in caplog.text
    assert token not in caplog.text and token not in "".join(lines)


def test_a_run_longer_than_its_interval_skips_the_missed_ticks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In process, on a fake clock: a 90-minute run started at 10:59:50 with --every 1h runs next at 13:00, once."""
    now = [datetime(2026, 11, 26, 10, 59, 50, tzinfo=UTC)]
    runs: list[datetime] = []

    def long_run() -> int:
        runs.append(now[0])
        now[0] += timedelta(minutes=90)
        return 0

    def echo(line: str) -> None:
        lines.append(line)
        if "next tick" in line:  # stand in for the wait: the clock reaches the next tick
            now[0] = parse_utc(line.rsplit("next tick ", 1)[1])

    lines: list[str] = []
    settings = Settings(lake_uri=str(tmp_path / "lake"))
    scheduler = Scheduler(settings, long_run, every=timedelta(hours=1), max_ticks=2, clock=lambda: now[0], echo=echo)
    with caplog.at_level(logging.WARNING):
        assert scheduler.loop() == 0
    assert "next tick 2026-11-26T13:00:00Z" in lines[0]  # 11:00 and 12:00 were crossed by the run
    assert "the run took longer than 1h: 2 tick(s) skipped, not queued" in caplog.text
    assert runs == [
        datetime(2026, 11, 26, 10, 59, 50, tzinfo=UTC),
        datetime(2026, 11, 26, 13, tzinfo=UTC),  # the next run: at the 13:00 tick, once
    ]

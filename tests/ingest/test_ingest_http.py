"""Ingestion end to end over real HTTP against the sandbox: incremental windows, late events, crashes,
errors, faults, and the token never written anywhere."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import api_client
from tests.sandbox.helpers import fetch_all
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions
from wistia_analytics.ingest.load_modes import ALL_KEY
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunStatus, latest_runs
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings

START = date(2026, 10, 1)
DAY1 = date(2026, 10, 25)
TOKEN = "tok-4f9c1e-SECRET-do-not-leak"


def sandbox_config(today: date, **extra: object) -> SandboxConfig:
    values: dict[str, object] = {
        "size": "tiny",
        "seed": 13,
        "today": today,
        "history_start": START,
        "token": TOKEN,
        "rate_limit_per_minute": 0,
        "late_fraction": 0.2,
    }
    return SandboxConfig(**(values | extra))  # type: ignore[arg-type]


def settings_for(sb: Sandbox, lake: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "wistia_api_token": TOKEN,
        "wistia_api_url": sb.base_url,
        "lake_uri": str(lake),
        "wistia_requests_per_minute": 100_000,
        "ingest_backfill_days": 30,
        "ingest_lookback_days": 3,
        # Wistia's analytics run too (their own tests: test_analytics_*.py), over a short window: cheap here
        "ingest_analytics_backfill_days": 2,
        "ingest_traffic_dimensions": "utm_source",
    }
    return Settings(_env_file=None, **(values | extra))  # type: ignore[arg-type]


def ingest(sb: Sandbox, lake: Path, today: date, **options: object) -> tuple[object, object]:
    return run_ingest(
        settings_for(sb, lake), IngestOptions(today=today, **options), timeout=5.0, embedded=open_embedded_sandbox
    )  # type: ignore[arg-type]


def bronze_events(lake: Path) -> Counter[str]:
    storage = Storage.from_uri(str(lake))
    return Counter(line["record"]["event_key"] for _, line in iter_bronze(storage, "events"))


def truth_events(sb: Sandbox, first: date, last: date) -> set[str]:
    with api_client(sb) as api:
        rows = fetch_all(api, "/stats/events", {"start_date": first.isoformat(), "end_date": last.isoformat()})
    return {r["event_key"] for r in rows}


def events_watermark(lake: Path) -> str | None:
    return StateStore(Storage.from_uri(str(lake))).load("events").get(ALL_KEY)


def test_first_run_backfills_then_second_run_fetches_only_the_lookback(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        result, _ = ingest(sb, tmp_path, DAY1)
        assert result.status is RunStatus.SUCCESS  # type: ignore[attr-defined]
        first_truth = truth_events(sb, START, DAY1)
        assert set(bronze_events(tmp_path)) == first_truth
        assert events_watermark(tmp_path) == (DAY1 - timedelta(days=1)).isoformat()
        before = sb.stats()["requests"]
        second, _ = ingest(sb, tmp_path, DAY1, streams=["events"])
        report = second.streams["events"]  # type: ignore[attr-defined]
        assert report.windows == [f"{DAY1 - timedelta(days=3)}..{DAY1}"]
        lookback_truth = truth_events(sb, DAY1 - timedelta(days=3), DAY1)
        assert report.records == len(lookback_truth)
        assert sb.stats()["requests"] - before < 20
    runs = latest_runs(Storage.from_uri(str(tmp_path)), 5)
    assert [r.status for r in runs] == [RunStatus.SUCCESS, RunStatus.SUCCESS]
    assert runs[1].records["events"] == len(first_truth)  # newest first: runs[1] is the first run
    assert runs[0].records["events"] == len(lookback_truth)


def test_next_day_picks_up_the_new_day_and_the_late_events(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        ingest(sb, tmp_path, DAY1)
        seen_day1 = set(bronze_events(tmp_path))
    day2 = DAY1 + timedelta(days=1)
    with run_sandbox(sandbox_config(day2)) as sb:
        truth = truth_events(sb, START, day2)
        late = truth_events(sb, START, DAY1) - seen_day1  # arrived after the first run
        assert late, "the sandbox should have produced late arrivals for this test to mean anything"
        ingest(sb, tmp_path, day2)
    assert set(bronze_events(tmp_path)) == truth  # nothing missing, late events included
    assert late <= set(bronze_events(tmp_path))
    assert events_watermark(tmp_path) == DAY1.isoformat()


def test_a_watermark_in_the_future_fetches_nothing_new(tmp_path: Path) -> None:
    storage = Storage.from_uri(str(tmp_path))
    StateStore(storage).commit("events", {ALL_KEY: "2027-01-31"}, "20261101T000000Z-abcdef")
    with run_sandbox(sandbox_config(DAY1)) as sb:
        result, _ = ingest(sb, tmp_path, DAY1, streams=["events"])
    assert result.streams["events"].records == 0  # type: ignore[attr-defined]
    assert events_watermark(tmp_path) == "2027-01-31"  # and it never moves back


def test_backfill_window_does_not_move_the_watermark_back(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        ingest(sb, tmp_path, DAY1, streams=["events"])
        mark = events_watermark(tmp_path)
        result, _ = ingest(sb, tmp_path, DAY1, streams=["events"], since=START, until=START + timedelta(days=2))
        assert result.streams["events"].records == len(truth_events(sb, START, START + timedelta(days=2)))  # type: ignore[attr-defined]
    assert events_watermark(tmp_path) == mark


def test_sigkill_between_bronze_and_state_leaves_no_gap(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        env = os.environ | {
            "WISTIA_API_TOKEN": TOKEN,
            "WISTIA_API_URL": sb.base_url,
            "LAKE_URI": str(tmp_path),
            "WISTIA_REQUESTS_PER_MINUTE": "100000",
            "INGEST_BACKFILL_DAYS": "25",
            "WISTIA_ANALYTICS_CRASH_AT": "ingest.after_bronze_before_state:3",
        }
        cmd = [
            sys.executable,
            "-m",
            "wistia_analytics",
            "ingest",
            "--streams",
            "events",
            "--today",
            DAY1.isoformat(),
        ]
        killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert killed.returncode == -9
        partial = bronze_events(tmp_path)
        assert partial  # some Bronze was written before the kill
        del env["WISTIA_ANALYTICS_CRASH_AT"]
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)  # stale lock taken over
        assert rerun.returncode == 0, rerun.stderr
        truth = truth_events(sb, START, DAY1)
    after = bronze_events(tmp_path)
    assert set(after) == truth  # no gap
    assert any(n > 1 for n in after.values())  # duplicates are allowed; Silver removes them by key


def test_bad_token_stops_at_once_naming_the_setting(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        settings = settings_for(sb, tmp_path, wistia_api_token="wrong-token-value")
        result, _ = run_ingest(settings, IngestOptions(today=DAY1), embedded=open_embedded_sandbox)
        assert result.exit_code == ExitCode.CONFIG
        assert sb.stats()["requests"] <= 2  # no retries on 401
    record = latest_runs(Storage.from_uri(str(tmp_path)), 1)[0]
    assert record.status is RunStatus.FAILED
    assert any("WISTIA_API_TOKEN" in e for e in record.errors)
    assert all("wrong-token-value" not in e for e in record.errors)


def test_a_media_gone_after_listing_is_skipped_and_recorded(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        gone = sb.account.catalog.medias[1].hashed_id
    with run_sandbox(sandbox_config(DAY1, gone_medias=frozenset({gone}))) as sb:
        result, _ = ingest(sb, tmp_path, DAY1)
    assert result.status is RunStatus.PARTIAL  # type: ignore[attr-defined]
    assert result.exit_code == ExitCode.PARTIAL  # type: ignore[attr-defined]
    assert result.streams["media_lifetime_stats"].skipped == 1  # type: ignore[attr-defined]
    assert result.streams["media_lifetime_stats"].records == 3  # type: ignore[attr-defined]
    record = latest_runs(Storage.from_uri(str(tmp_path)), 1)[0]
    assert any(gone in e and "not found" in e for e in record.errors)


def test_injected_faults_lose_nothing(tmp_path: Path) -> None:
    config = sandbox_config(DAY1, faults=0.15, fault_timeout_seconds=2.0, fault_slow_seconds=0.1)
    with run_sandbox(config) as sb:
        settings = settings_for(sb, tmp_path)
        result, client = run_ingest(settings, IngestOptions(today=DAY1), timeout=1.0, embedded=open_embedded_sandbox)
        faults = sb.stats()["faults"]
    with run_sandbox(sandbox_config(DAY1)) as clean:  # the same account, asked without faults
        truth = truth_events(clean, START, DAY1)
    assert result.status is RunStatus.SUCCESS, result.record.errors  # type: ignore[attr-defined,union-attr]
    assert sum(faults.values()) >= 10 and len(faults) >= 6
    assert client.stats.retries >= sum(faults.values()) - faults.get("slow", 0)  # type: ignore[attr-defined]
    assert set(bronze_events(tmp_path)) == truth


def test_client_pacing_keeps_a_run_free_of_429(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1, rate_limit_per_minute=300)) as sb:
        settings = settings_for(sb, tmp_path, wistia_requests_per_minute=300, ingest_backfill_days=3)
        result, _ = run_ingest(
            settings, IngestOptions(today=DAY1, streams=["events", "media_daily_stats"]), embedded=open_embedded_sandbox
        )
        stats = sb.stats()
    assert result.status is RunStatus.SUCCESS  # type: ignore[attr-defined]
    assert stats["throttled"] == 0 and "429" not in stats["statuses"]


def test_the_token_is_written_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with run_sandbox(sandbox_config(DAY1, faults=0.1, fault_kinds=("http_500", "invalid_json"))) as sb:
        ingest(sb, tmp_path, DAY1)
        run_ingest(
            settings_for(sb, tmp_path, wistia_api_token="x" + TOKEN),
            IngestOptions(today=DAY1),
            embedded=open_embedded_sandbox,
        )
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                import gzip

                data = gzip.decompress(data)
            assert TOKEN.encode() not in data, path
    assert TOKEN not in caplog.text


def test_cli_exit_codes_and_json_summary(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1)) as sb:
        env = os.environ | {
            "WISTIA_API_TOKEN": TOKEN,
            "WISTIA_API_URL": sb.base_url,
            "LAKE_URI": str(tmp_path),
            "WISTIA_REQUESTS_PER_MINUTE": "100000",
        }
        base = [sys.executable, "-m", "wistia_analytics", "ingest", "--today", DAY1.isoformat()]
        ok = subprocess.run(
            [*base, "--log-format", "json", "--streams", "medias"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ok.returncode == 0, ok.stderr
        summary = json.loads(ok.stdout.strip().splitlines()[-1])
        assert summary["streams"]["medias"]["records"] == 4
        assert all(json.loads(line) for line in ok.stderr.strip().splitlines())  # JSON logs only
        bad = subprocess.run([*base, "--streams", "nope"], env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == ExitCode.CONFIG and "unknown streams" in bad.stderr
        denied = subprocess.run(
            base, env=env | {"WISTIA_API_TOKEN": "nope"}, capture_output=True, text=True, timeout=60
        )
        assert denied.returncode == ExitCode.CONFIG
        assert "WISTIA_API_TOKEN" in denied.stderr and "Traceback" not in denied.stderr
        dry = subprocess.run([*base, "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0 and "events:" in dry.stdout
    assert not (tmp_path / "bronze" / "wistia" / "events").exists()  # dry run wrote nothing


def test_a_second_run_on_a_locked_lake_exits_naming_the_holder_or_waits(tmp_path: Path) -> None:
    import threading

    from wistia_analytics.lake.lock import LakeLock, LakeLockedError

    storage = Storage.from_uri(str(tmp_path))
    holder = LakeLock(storage, "20261125T120000Z-aaaaaa", "ingest (other run)")
    holder.acquire()
    with run_sandbox(sandbox_config(DAY1)) as sb:
        with pytest.raises(LakeLockedError) as info:
            ingest(sb, tmp_path, DAY1, streams=["medias"])
        assert "20261125T120000Z-aaaaaa" in str(info.value) and str(os.getpid()) in str(info.value)
        threading.Timer(1.0, holder.release).start()
        result, _ = ingest(sb, tmp_path, DAY1, streams=["medias"], lock_wait_seconds=30)
    assert result.status is RunStatus.SUCCESS  # type: ignore[attr-defined]

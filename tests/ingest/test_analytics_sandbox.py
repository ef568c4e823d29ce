"""Ingesting Wistia's modern analytics end to end over real HTTP against the sandbox (tiny account, pinned
clock, short windows): Bronze and lineage per stream, the planner against the v1 truth, a v1-only account
(403 and 404 on /modern), INGEST_ANALYTICS=false, the dry run, and an incremental re-run."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from wistia_analytics.commands.ingest import ingest_command
from wistia_analytics.contracts.streams import ANALYTICS_STREAMS, STREAMS
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions, Ingestor, IngestResult
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunStatus, load_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.client import WistiaClient

TODAY = date(2026, 11, 25)
TOKEN = "tok-modern-5e1d-SECRET"
BACKFILL = 3  # analytics days of the first run: TODAY-2..TODAY
DIMENSIONS = "utm_source,referrer_domain"
V1 = [s.name for s in STREAMS if not s.analytics]
ANALYTICS = [s.name for s in ANALYTICS_STREAMS]


def config(today: date = TODAY, **extra: Any) -> SandboxConfig:
    # 00:40 UTC: today has barely begun, so some media-days have no loads yet (the planner must leave them out)
    values: dict[str, Any] = {
        "size": "tiny",
        "seed": 13,
        "today": today,
        "history_start": date(2026, 11, 1),
        "time_of_day": time(0, 40),
        "token": TOKEN,
        "rate_limit_per_minute": 0,
    }
    return SandboxConfig(**(values | extra))


def settings_for(sb: Sandbox, lake: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "wistia_api_token": TOKEN,
        "wistia_api_url": sb.base_url,
        "lake_uri": str(lake),
        "wistia_requests_per_minute": 1_000_000,
        "ingest_backfill_days": BACKFILL,
        "ingest_lookback_days": 1,
        "ingest_analytics_backfill_days": BACKFILL,
        "ingest_traffic_dimensions": DIMENSIONS,
    }
    return Settings(_env_file=None, **(values | extra))  # type: ignore[arg-type]


def ingest(sb: Sandbox, lake: Path, today: date = TODAY, **extra: Any) -> IngestResult:
    result, _ = run_ingest(settings_for(sb, lake, **extra), IngestOptions(today=today), timeout=5.0)
    return result


def lines(lake: Path, stream: str, run_id: str | None = None) -> list[dict[str, Any]]:
    found = (line for _, line in iter_bronze(Storage.from_uri(str(lake)), stream))
    return [line for line in found if run_id is None or line["run_id"] == run_id]


def test_a_run_lands_every_analytics_stream_planned_from_the_v1_truth_and_a_rerun_asks_only_new_days(
    tmp_path: Path,
) -> None:
    with run_sandbox(config()) as sb:
        first = ingest(sb, tmp_path)
    assert (first.status, first.exit_code) == (RunStatus.SUCCESS, ExitCode.OK), first.record and first.record.errors
    assert all(first.streams[s].status == "done" for s in ANALYTICS)
    window = [TODAY - timedelta(days=i) for i in range(BACKFILL)]
    by_date = {
        (r["context"]["media_id"], r["record"]["date"]): r["record"]["load_count"]
        for r in lines(tmp_path, "media_daily_stats")
    }
    medias = {m for m, _ in by_date}
    with_loads = {(m, d) for (m, d), n in by_date.items() if n > 0 and date.fromisoformat(d) in window}
    assert with_loads and len(with_loads) < len(medias) * len(window)  # the clock left some media-days empty

    timeseries = lines(tmp_path, "media_analytics_daily")
    assert all(set(r["context"]) == {"media_id"} for r in timeseries)
    days_ts = {(r["context"]["media_id"], r["record"]["timestamp"][:10]): r["record"] for r in timeseries}
    assert {k for k, v in days_ts.items() if v["unique_loads"]} == with_loads  # timeseries and by_date agree
    assert all(
        days_ts[k]["plays"] == r["record"]["play_count"]
        for r in lines(tmp_path, "media_daily_stats")
        if (k := (r["context"]["media_id"], r["record"]["date"])) in days_ts
    )

    traffic = lines(tmp_path, "media_traffic_daily")
    assert {(r["context"]["media_id"], r["context"]["date"]) for r in traffic} == with_loads
    assert {r["context"]["dimension"] for r in traffic} == set(DIMENSIONS.split(","))
    assert first.streams["media_traffic_daily"].pages == 2 * len(with_loads)  # no request for a day without loads
    for (m, d), n in Counter(
        (r["context"]["media_id"], r["context"]["date"]) for r in traffic if r["context"]["dimension"] == "utm_source"
    ).items():
        loads = sum(
            r["record"]["loads"]
            for r in traffic
            if r["context"] == {"media_id": m, "date": d, "dimension": "utm_source"}
        )
        assert loads == by_date[(m, d)] and n >= 1  # Σ traffic by utm_source = that media-day's v1 loads

    embeds = lines(tmp_path, "media_embed_locations_daily")
    assert {(r["context"]["media_id"], r["context"]["date"]) for r in embeds} == with_loads
    assert first.streams["media_embed_locations_daily"].pages == len(with_loads)

    forms = Counter()
    for (m, _), bucket in days_ts.items():
        forms[m] += bucket["form_conversions"] or 0
    leads = lines(tmp_path, "media_conversions")
    assert Counter(r["context"]["media_id"] for r in leads) == +forms  # the conversions list holds form_conversions
    assert first.streams["media_conversions"].pages >= len(+forms)

    languages = lines(tmp_path, "media_languages")
    with_plays = {m for (m, _), v in days_ts.items() if v["plays"]}
    assert {r["context"]["media_id"] for r in languages} == with_plays
    assert {(r["context"]["start_date"], r["context"]["end_date"]) for r in languages} == {
        (window[-1].isoformat(), TODAY.isoformat())
    }
    record = load_run(Storage.from_uri(str(tmp_path)), first.run_id)
    assert record.extra["modern_api"]["version_served"] == "2026-03"

    later = TODAY + timedelta(days=2)
    with run_sandbox(config(later)) as sb:
        second = ingest(sb, tmp_path, today=later)
    assert second.exit_code == ExitCode.OK
    asked = {
        (r["request"]["params"]["start_date"], r["request"]["params"]["end_date"])
        for r in lines(tmp_path, "media_analytics_daily", second.run_id)
    }
    since = TODAY - timedelta(days=1)  # watermark TODAY-1 (the last finished day), lookback 1: from it again
    assert asked == {(since.isoformat(), later.isoformat())}
    new_days = {r["context"]["date"] for r in lines(tmp_path, "media_traffic_daily", second.run_id)}
    assert new_days and new_days <= {(since + timedelta(days=i)).isoformat() for i in range(4)}


@pytest.mark.parametrize("access", ["forbidden", "absent"])
def test_a_v1_only_account_completes_v1_and_skips_the_analytics_with_one_line(tmp_path: Path, access: str) -> None:
    with run_sandbox(config(modern_access=access)) as sb:
        result = ingest(sb, tmp_path)
    assert (result.status, result.exit_code) == (RunStatus.PARTIAL, ExitCode.PARTIAL)
    assert all(result.streams[s].status == "done" for s in V1)
    assert all(result.streams[s].status == "skipped" for s in ANALYTICS)
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert len(record.errors) == 1
    assert ("Read detailed stats" if access == "forbidden" else "has no modern Data API") in record.errors[0]
    assert TOKEN not in str(record.errors)


def test_ingest_analytics_false_runs_v1_only_and_exits_0(tmp_path: Path) -> None:
    with run_sandbox(config(modern_access="forbidden")) as sb:
        result = ingest(sb, tmp_path, ingest_analytics=False)
    assert (result.status, result.exit_code) == (RunStatus.SUCCESS, ExitCode.OK)
    assert sorted(result.streams) == sorted(V1)


def test_the_dry_run_prints_the_planned_requests_per_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_sandbox(config()) as sb:
        env = {
            "WISTIA_API_TOKEN": TOKEN,
            "WISTIA_API_URL": sb.base_url,
            "LAKE_URI": str(tmp_path),
            "INGEST_ANALYTICS_BACKFILL_DAYS": str(BACKFILL),
            "INGEST_TRAFFIC_DIMENSIONS": DIMENSIONS,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)  # no .env of the repository
        code = ingest_command(IngestOptions(today=TODAY, dry_run=True, streams=ANALYTICS), None)
    out = capsys.readouterr().out.splitlines()
    assert code == ExitCode.OK
    assert [line.split(":")[0] for line in out[:5]] == ANALYTICS
    assert "x 2 dimensions (utm_source, referrer_domain)" in out[1]
    assert out[-1].startswith("(to plan the per-day analytics this dry run fetched 4 daily timeseries")
    assert not (tmp_path / "bronze").exists()


def counted_ingest(sb: Sandbox, lake: Path, ticks: int) -> IngestResult:
    """One run whose deadline passes at the `ticks`-th look at the clock (each look is one tick)."""
    clock = itertools.count().__next__
    options = IngestOptions(
        today=TODAY,
        max_duration=float(ticks),
        analytics_backfill_days=BACKFILL,
        traffic_dimensions=tuple(DIMENSIONS.split(",")),
    )
    with WistiaClient(sb.base_url, TOKEN, requests_per_minute=1_000_000, timeout=5.0) as client:
        storage = Storage.from_uri(str(lake))
        return Ingestor(
            storage, client, options, policy=WindowPolicy(1, BACKFILL), concurrency=1, clock=lambda: float(clock())
        ).run()


def test_bounded_calls_continue_the_analytics_where_they_stopped_and_land_what_one_run_lands(tmp_path: Path) -> None:
    def keys(lake: Path, stream: str) -> Counter[tuple[str, ...]]:
        return Counter((*sorted(r["context"].items()), str(r["record"])) for r in lines(lake, stream))

    with run_sandbox(config()) as sb:
        whole = ingest(sb, tmp_path / "whole")
        calls = []
        while not calls or calls[-1].status is RunStatus.INCOMPLETE:
            assert len(calls) < 40, "the bounded calls never finished the work"
            calls.append(counted_ingest(sb, tmp_path / "bounded", ticks=12))
    assert whole.exit_code == ExitCode.OK and calls[-1].status is RunStatus.SUCCESS and len(calls) > 3
    assert any(c.streams["media_traffic_daily"].status == "incomplete" for c in calls)  # stopped inside a stream
    for stream in ANALYTICS:
        assert set(keys(tmp_path / "bounded", stream)) == set(keys(tmp_path / "whole", stream)), stream
    responses = {
        (r["run_id"], *sorted(r["context"].items())) for r in lines(tmp_path / "bounded", "media_traffic_daily")
    }
    asked = Counter(response[1:] for response in responses)  # requests per (media, day, dimension), over the calls
    stops = sum(1 for c in calls if c.streams["media_traffic_daily"].status == "incomplete")
    assert sum(asked.values()) - len(asked) <= stops  # only a day half done at a deadline is asked again
    planned = sum(c.record.extra["modern_api"]["timeseries_fetched_to_plan"] for c in calls if c.record)
    assert planned == 0  # each call planned from what the calls before it had landed in Bronze

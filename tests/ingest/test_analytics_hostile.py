"""Ingesting Wistia's modern analytics over real HTTP against the hostile stand-in (exact, scripted answers):
Bronze and its lineage context per stream, the planner asking only media-days with loads, the access probe,
INGEST_ANALYTICS=false, the dry run, watermarks, and one deleted media."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.server import LEADS_PER_DAY, MEDIA_IDS, TOKEN, HostileAPI, Query, Reply, hostile_api, loaded
from wistia_analytics.contracts.streams import ANALYTICS_STREAMS, STREAMS
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions, Ingestor, IngestResult
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunStatus, load_run
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.wistia.client import WistiaClient
from wistia_analytics.wistia.retry import RetryPolicy

TODAY = date(2026, 11, 25)
BACKFILL = 6  # analytics days of the first run: 2026-11-20..25
DAYS = [TODAY - timedelta(days=i) for i in range(BACKFILL)][::-1]
FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, fail_fast_unreachable=True)
V1 = [s.name for s in STREAMS if not s.analytics]
ANALYTICS = [s.name for s in ANALYTICS_STREAMS]
DIMENSIONS = ("utm_source", "referrer_domain")


@pytest.fixture()
def api() -> Iterator[HostileAPI]:
    with hostile_api() as running:
        for n, m in enumerate(MEDIA_IDS):  # v1 by_date agrees with the modern timeseries: loads every other day
            running.routes[f"/v1/stats/medias/{m}/by_date.json"] = lambda q, n=n: _by_date(q, n)
        yield running


def _by_date(query: Query, n: int) -> Reply:
    start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return Reply(
        [{"date": d.isoformat(), "load_count": 2 * loaded(d, n), "play_count": 1 * loaded(d, n)} for d in days]
    )


def ingest(api: HostileAPI, lake: Path, *, today: date = TODAY, **options: Any) -> IngestResult:
    settings: dict[str, Any] = {"analytics_backfill_days": BACKFILL, "traffic_dimensions": DIMENSIONS}
    with WistiaClient(api.base_url, TOKEN, requests_per_minute=1_000_000, timeout=5.0, retry=FAST_RETRY) as client:
        opts = IngestOptions(today=today, **(settings | options))
        return Ingestor(
            Storage.from_uri(str(lake)), client, opts, policy=WindowPolicy(2, BACKFILL + 1), concurrency=2
        ).run()


def bronze(lake: Path, stream: str) -> list[dict[str, Any]]:
    return [line for _, line in iter_bronze(Storage.from_uri(str(lake)), stream)]


def modern_asked(api: HostileAPI, endpoint: str) -> list[str]:
    return [p for p in api.requests if p.startswith("/modern/") and p.split("?")[0].endswith(endpoint)]


def loaded_days(n: int, days: list[date] = DAYS) -> list[date]:
    return [d for d in days if loaded(d, n)]


def test_a_run_lands_every_analytics_stream_with_its_lineage_and_asks_only_media_days_with_loads(
    api: HostileAPI, tmp_path: Path
) -> None:
    result = ingest(api, tmp_path)
    assert (result.status, result.exit_code) == (RunStatus.SUCCESS, ExitCode.OK)
    assert all(result.streams[s].status == "done" for s in ANALYTICS)
    with_loads = {(m, d) for n, m in enumerate(MEDIA_IDS) for d in loaded_days(n)}

    timeseries = bronze(tmp_path, "media_analytics_daily")
    assert {(line["context"]["media_id"], line["record"]["timestamp"][:10]) for line in timeseries} == {
        (m, d.isoformat()) for m in MEDIA_IDS for d in DAYS
    }
    assert all(line["request"]["params"]["granularity"] == "daily" for line in timeseries)

    traffic = bronze(tmp_path, "media_traffic_daily")
    contexts = {(c["media_id"], c["date"], c["dimension"]) for c in (line["context"] for line in traffic)}
    assert contexts == {(m, d.isoformat(), dim) for m, d in with_loads for dim in DIMENSIONS}
    assert all(line["record"][line["context"]["dimension"]] == "facebook" for line in traffic)
    assert len(modern_asked(api, "/traffic")) == len(with_loads) * len(DIMENSIONS)  # no request for a day without
    assert all("sort_by=loads" in p and "per_page=100" in p for p in modern_asked(api, "/traffic"))

    embeds = bronze(tmp_path, "media_embed_locations_daily")
    assert {(line["context"]["media_id"], line["context"]["date"]) for line in embeds} == {
        (m, d.isoformat()) for m, d in with_loads
    }
    assert len(modern_asked(api, "/embed_locations")) == len(with_loads)

    leads = bronze(tmp_path, "media_conversions")  # only media 0 has form conversions: only it is asked
    assert {line["context"]["media_id"] for line in leads} == {MEDIA_IDS[0]}
    assert len(leads) == LEADS_PER_DAY * len(loaded_days(0))
    assert {p.split("?")[0].split("/")[-2] for p in modern_asked(api, "/conversions")} == {MEDIA_IDS[0]}

    languages = bronze(tmp_path, "media_languages")
    assert {tuple(line["context"].items()) for line in languages} == {
        (("media_id", m), ("start_date", DAYS[0].isoformat()), ("end_date", TODAY.isoformat())) for m in MEDIA_IDS
    }
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert record.extra["modern_api"]["version_served"] == "2026-03"
    assert record.extra["modern_api"]["timeseries_fetched_to_plan"] == 0  # the timeseries stream told the planner
    assert len(modern_asked(api, "/timeseries")) == len(MEDIA_IDS)


def test_the_planner_reads_by_date_when_the_timeseries_is_not_in_the_run(api: HostileAPI, tmp_path: Path) -> None:
    result = ingest(api, tmp_path, streams=["media_daily_stats", "media_embed_locations_daily"])
    assert result.exit_code == ExitCode.OK
    assert not modern_asked(api, "/timeseries")  # by_date (load_count > 0) was enough
    assert len(modern_asked(api, "/embed_locations")) == sum(len(loaded_days(n)) for n in range(len(MEDIA_IDS)))


def test_without_by_date_or_timeseries_the_planner_fetches_the_timeseries_itself(
    api: HostileAPI, tmp_path: Path
) -> None:
    result = ingest(api, tmp_path, streams=["media_traffic_daily"])
    assert result.exit_code == ExitCode.OK
    assert len(modern_asked(api, "/timeseries")) == len(MEDIA_IDS)
    assert not bronze(tmp_path, "media_analytics_daily")  # learnt for planning only
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert record.extra["modern_api"]["timeseries_fetched_to_plan"] == len(MEDIA_IDS)


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (403, {"error": "This API token does not have the 'Read detailed stats' permission."}, "Read detailed stats"),
        (404, {"error": "No route matches /modern/analytics/medias/x"}, "has no modern Data API"),
    ],
)
def test_no_modern_access_skips_the_analytics_with_one_line_and_exits_partial(
    api: HostileAPI, tmp_path: Path, status: int, body: dict[str, str], words: str
) -> None:
    for path in [p for p in api.routes if p.startswith("/modern/")]:
        api.routes[path] = lambda q: Reply(body, status=status)
    result = ingest(api, tmp_path)
    assert (result.status, result.exit_code) == (RunStatus.PARTIAL, ExitCode.PARTIAL)
    assert all(result.streams[s].status == "done" for s in V1)
    assert all(result.streams[s].status == "skipped" for s in ANALYTICS)
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert len(record.errors) == 1 and words in record.errors[0] and "INGEST_ANALYTICS=false" in record.errors[0]
    assert record.extra["analytics_access"]["status"] == "skipped"
    probes = [p for p in api.requests if p.startswith("/modern/")]
    assert len(probes) == (1 if status == 403 else len(MEDIA_IDS))  # 403 is decisive; 404 asks up to 3 medias
    assert all(not bronze(tmp_path, s) for s in ANALYTICS)


def test_a_403_after_the_probe_skips_the_rest_with_the_same_one_line(api: HostileAPI, tmp_path: Path) -> None:
    for path in [p for p in api.routes if p.startswith("/modern/") and p.endswith("/traffic")]:
        api.routes[path] = lambda q: Reply({"error": "forbidden"}, status=403)
    result = ingest(api, tmp_path)
    assert result.exit_code == ExitCode.PARTIAL
    assert result.streams["media_analytics_daily"].status == "done"
    assert [result.streams[s].status for s in ANALYTICS[1:]] == ["skipped"] * 4
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert len(record.errors) == 1 and "Read detailed stats" in record.errors[0]
    assert not StateStore(Storage.from_uri(str(tmp_path))).load("media_traffic_daily").watermarks  # none moved


def test_ingest_analytics_false_selects_no_analytics_stream(api: HostileAPI, tmp_path: Path) -> None:
    result = ingest(api, tmp_path, analytics=False)
    assert (result.status, result.exit_code) == (RunStatus.SUCCESS, ExitCode.OK)
    assert sorted(result.streams) == sorted(V1)
    assert not [p for p in api.requests if p.startswith("/modern/")]


def test_a_media_deleted_since_the_listing_is_skipped_for_that_media_only(api: HostileAPI, tmp_path: Path) -> None:
    gone = MEDIA_IDS[1]
    for path in [p for p in api.routes if p.startswith(f"/modern/analytics/medias/{gone}/")]:
        api.routes[path] = lambda q: Reply({"error": "Media not found"}, status=404)
    result = ingest(api, tmp_path)
    assert result.exit_code == ExitCode.PARTIAL
    report = result.streams["media_analytics_daily"]
    assert (report.status, report.skipped, report.records) == ("partial", 1, 2 * BACKFILL)
    marks = StateStore(Storage.from_uri(str(tmp_path))).load("media_analytics_daily").watermarks
    assert set(marks) == {MEDIA_IDS[0], MEDIA_IDS[2]}


def test_the_dry_run_prints_planned_requests_per_stream_and_writes_nothing(api: HostileAPI, tmp_path: Path) -> None:
    result = ingest(api, tmp_path, dry_run=True)
    lines = {line.split(":")[0]: line for line in result.plan}
    loads = sum(len(loaded_days(n)) for n in range(len(MEDIA_IDS)))
    assert lines["media_analytics_daily"].startswith(f"media_analytics_daily: {len(MEDIA_IDS)} requests for 3 of 3")
    assert lines["media_traffic_daily"].startswith(f"media_traffic_daily: {loads * len(DIMENSIONS)} requests")
    assert "x 2 dimensions (utm_source, referrer_domain)" in lines["media_traffic_daily"]
    assert lines["media_embed_locations_daily"].startswith(f"media_embed_locations_daily: {loads} requests")
    assert lines["media_conversions"].startswith("media_conversions: 1 first-page request for 1 of 3 medias")
    assert lines["media_languages"].startswith("media_languages: 3 requests")
    assert "this dry run fetched 3 daily timeseries" in result.plan[-1]
    assert not modern_asked(api, "/traffic") and not (tmp_path / "bronze").exists()


def test_an_incremental_run_asks_only_the_new_days_and_the_lookback(api: HostileAPI, tmp_path: Path) -> None:
    ingest(api, tmp_path)
    first = len(api.requests)
    later = TODAY + timedelta(days=2)
    result = ingest(api, tmp_path, today=later)
    assert result.exit_code == ExitCode.OK
    asked = [p for p in api.requests[first:] if p.startswith("/modern/")]
    # watermark = TODAY - 1, lookback 2: from TODAY - 2 to the new today
    again = [TODAY - timedelta(days=2) + timedelta(days=i) for i in range(5)]
    timeseries = [p for p in asked if "/timeseries" in p]
    assert all(f"start_date={again[0]}&end_date={later}" in p for p in timeseries) and len(timeseries) == 3
    traffic_days = Counter(p.split("start_date=")[1][:10] for p in asked if "/traffic" in p)
    expected = Counter(
        {
            d.isoformat(): len(DIMENSIONS) * sum(loaded(d, n) for n in range(3))
            for d in again
            if any(loaded(d, n) for n in range(3))
        }
    )
    assert traffic_days == expected
    marks = StateStore(Storage.from_uri(str(tmp_path))).load("media_traffic_daily").watermarks
    assert {w.value for w in marks.values()} == {(later - timedelta(days=1)).isoformat()}


def test_a_dry_run_without_modern_access_says_so_once(api: HostileAPI, tmp_path: Path) -> None:
    for path in [p for p in api.routes if p.startswith("/modern/")]:
        api.routes[path] = lambda q: Reply({"error": "forbidden"}, status=403)
    result = ingest(api, tmp_path, dry_run=True)
    assert [line for line in result.plan if line.split(":")[0] in ANALYTICS] == [
        f"{name}: skipped, nothing to plan" for name in ANALYTICS
    ]
    assert "Read detailed stats" in result.plan[-1]
    assert sum("Read detailed stats" in line for line in result.plan) == 1


def test_without_a_media_list_the_analytics_fail_like_the_v1_per_media_streams(api: HostileAPI, tmp_path: Path) -> None:
    api.routes["/v1/medias.json"] = lambda q: Reply({"error": "down"}, status=500)
    result = ingest(api, tmp_path)
    assert (result.status, result.exit_code) == (RunStatus.FAILED, ExitCode.UNAVAILABLE)  # medias is a core stream
    assert all(result.streams[s].status == "failed" for s in ANALYTICS)
    assert not [p for p in api.requests if p.startswith("/modern/")]

"""Each load-mode class on its own, over real HTTP against the sandbox, into a real Bronze lake on disk."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TODAY, api_client
from tests.sandbox.helpers import fetch_all
from wistia_analytics.contracts.streams import STREAMS, STREAMS_BY_NAME, LoadMode
from wistia_analytics.ingest.analytics_loads import (
    PerMediaCursorLoad,
    PerMediaDayLoad,
    PerMediaRangeLoad,
    PerMediaTimeseriesLoad,
)
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.load_modes import (
    ALL_KEY,
    LOAD_MODES,
    EventsByDayLoad,
    PerMediaByDateLoad,
    PerMediaSnapshotLoad,
    SnapshotLoad,
    loader_for,
)
from wistia_analytics.ingest.progress import NullProgress, StreamReport
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import BronzeWriter, iter_bronze, list_bronze_files
from wistia_analytics.lake.runs import new_run_id, start_run
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.wistia.client import WistiaClient

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)


class Run:
    """A load context, a Bronze writer and a run record over one lake, as the ingestor would make them."""

    def __init__(self, storage: Storage, client: WistiaClient, *, concurrency: int = 4, **dates: date) -> None:
        self.storage = storage
        self.client = client
        self.ctx = LoadContext(
            client=client,
            state=StateStore(storage),
            policy=WindowPolicy(lookback_days=3, backfill_days=10),
            today=TODAY,
            since=dates.get("since"),
            until=dates.get("until"),
            full_refresh=False,
            concurrency=concurrency,
            progress=NullProgress(),
            now=lambda: NOW,
        )
        self.run_id = new_run_id(NOW)
        self.ctx.record = start_run(storage, self.run_id, "ingest", NOW)
        self.writer = BronzeWriter(storage, self.run_id, NOW)

    def load(self, stream_name: str) -> StreamReport:
        stream = STREAMS_BY_NAME[stream_name]
        report = StreamReport(stream.name)
        loader_for(stream, self.ctx).load(stream, self.writer, report)
        return report

    def bronze_records(self, stream: str) -> list[dict[str, object]]:
        return [line["record"] for _, line in iter_bronze(self.storage, stream)]

    def marks(self, stream: str) -> dict[str, str]:
        return StateStore(self.storage).load(stream).values()


@pytest.fixture()
def run(tmp_path: Path, tiny_sandbox: Sandbox) -> Iterator[Run]:
    with WistiaClient(tiny_sandbox.base_url, tiny_sandbox.token) as client:
        yield Run(Storage.from_uri(str(tmp_path)), client)


def truth(sb: Sandbox, path: str, params: dict[str, str] | None = None) -> list[dict[str, object]]:
    with api_client(sb) as api:
        return fetch_all(api, path, params)


def test_every_load_mode_has_exactly_one_class_chosen_by_the_stream_mode() -> None:
    assert set(LOAD_MODES) == set(LoadMode)
    assert {
        LoadMode.SNAPSHOT: SnapshotLoad,
        LoadMode.PER_MEDIA_SNAPSHOT: PerMediaSnapshotLoad,
        LoadMode.PER_MEDIA_BY_DATE: PerMediaByDateLoad,
        LoadMode.EVENTS_BY_DAY: EventsByDayLoad,
        LoadMode.PER_MEDIA_TIMESERIES: PerMediaTimeseriesLoad,
        LoadMode.PER_MEDIA_DAY: PerMediaDayLoad,
        LoadMode.PER_MEDIA_CURSOR: PerMediaCursorLoad,
        LoadMode.PER_MEDIA_RANGE: PerMediaRangeLoad,
    } == LOAD_MODES
    assert [s.name for s in STREAMS if s.provides_media_list] == ["medias"]  # listed before the per-media ones


def test_snapshot_of_the_media_list_serves_it_to_the_per_media_streams(run: Run, tiny_sandbox: Sandbox) -> None:
    medias = truth(tiny_sandbox, "/medias.json")
    report = run.load("medias")
    assert [r["hashed_id"] for r in run.bronze_records("medias")] == [m["hashed_id"] for m in medias]
    assert (report.records, report.files) == (len(medias), len(list_bronze_files(run.storage, "medias")))
    assert run.marks("medias") == {ALL_KEY: "2026-11-25T12:00:00Z"}
    before = run.client.stats.requests
    assert [m["hashed_id"] for m in run.ctx.medias()] == [m["hashed_id"] for m in medias]
    assert run.client.stats.requests == before  # no second listing


def test_a_snapshot_that_is_not_the_media_list_leaves_it_to_be_fetched(run: Run, tiny_sandbox: Sandbox) -> None:
    projects = truth(tiny_sandbox, "/projects.json")
    report = run.load("projects")
    assert report.records == len(projects) and report.pages >= 1
    assert sorted(r["id"] for r in run.bronze_records("projects")) == sorted(p["id"] for p in projects)  # type: ignore[type-var]
    before = run.client.stats.requests
    assert len(run.ctx.medias()) == len(truth(tiny_sandbox, "/medias.json"))
    assert run.client.stats.requests > before  # fetched now, once


def test_per_media_snapshot_asks_once_per_media_and_moves_no_watermark(run: Run, tiny_sandbox: Sandbox) -> None:
    media_ids = sorted(str(m["hashed_id"]) for m in truth(tiny_sandbox, "/medias.json"))
    run.ctx.medias()
    before = run.client.stats.requests
    report = run.load("media_lifetime_stats")
    assert run.client.stats.requests - before == len(media_ids)
    assert (report.pages, report.records, report.errors) == (len(media_ids), len(media_ids), 0)
    contexts = sorted(line["context"]["media_id"] for _, line in iter_bronze(run.storage, "media_lifetime_stats"))
    assert contexts == media_ids
    assert run.marks("media_lifetime_stats") == {}
    assert report.windows == []


def test_per_media_by_date_fetches_each_media_window_and_commits_its_watermark(run: Run, tiny_sandbox: Sandbox) -> None:
    medias = truth(tiny_sandbox, "/medias.json")
    report = run.load("media_daily_stats")
    first_day = TODAY - timedelta(days=9)  # backfill_days=10, unless the media is younger
    assert report.errors == 0 and report.windows[0].endswith(f"..{TODAY} (first media's)")
    lines = [line for _, line in iter_bronze(run.storage, "media_daily_stats")]
    for line in lines:
        start = date.fromisoformat(line["request"]["params"]["start_date"])
        assert start >= first_day and line["request"]["params"]["end_date"] == TODAY.isoformat()
    assert run.marks("media_daily_stats") == {str(m["hashed_id"]): YESTERDAY.isoformat() for m in medias}


def test_per_media_by_date_plan_spans_the_windows_without_writing(run: Run) -> None:
    stream = STREAMS_BY_NAME["media_daily_stats"]
    line = PerMediaByDateLoad(run.ctx).plan(stream)
    assert line.startswith("media_daily_stats: ") and line.endswith(f"..{TODAY}")
    assert list_bronze_files(run.storage, "media_daily_stats") == []


def test_events_by_day_ask_one_window_per_day_and_the_watermark_follows(run: Run, tiny_sandbox: Sandbox) -> None:
    first = TODAY - timedelta(days=9)
    expected = truth(tiny_sandbox, "/stats/events.json", {"start_date": str(first), "end_date": str(TODAY)})
    report = run.load("events")
    assert report.windows == [f"{first}..{TODAY}"]
    keys = sorted(str(r["event_key"]) for r in run.bronze_records("events"))
    assert keys == sorted(str(e["event_key"]) for e in expected) and report.records == len(keys)
    days = {line["request"]["params"]["start_date"] for _, line in iter_bronze(run.storage, "events")}
    assert days <= {str(first + timedelta(days=n)) for n in range(10)}
    assert run.marks("events") == {ALL_KEY: YESTERDAY.isoformat()}
    assert run.ctx.record is not None and len(run.ctx.record.files_written) == report.files


def test_events_plan_counts_the_day_windows(run: Run) -> None:
    StateStore(run.storage).commit("events", {ALL_KEY: str(TODAY - timedelta(days=5))}, run.run_id)
    line = EventsByDayLoad(run.ctx).plan(STREAMS_BY_NAME["events"])
    start = TODAY - timedelta(days=7)  # the watermark, then 3 days of lookback
    assert line == f"events: 8 day windows {start}..{TODAY} (watermark -> {YESTERDAY})"


def test_a_media_gone_since_the_listing_is_skipped_and_counted(tmp_path: Path) -> None:
    with run_sandbox(SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0)) as probe:
        gone = str(truth(probe, "/medias.json")[0]["hashed_id"])
    config = SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0, gone_medias=frozenset({gone}))
    with run_sandbox(config) as sb, WistiaClient(sb.base_url, sb.token) as client:
        run = Run(Storage.from_uri(str(tmp_path)), client)
        total = len(run.ctx.medias())
        report = run.load("media_engagement")
    assert (report.skipped, report.errors, report.pages) == (1, 1, total - 1)
    assert run.ctx.record is not None
    assert [e for e in run.ctx.record.errors if gone in e] == [
        f"media_engagement: media {gone} not found (deleted since it was listed?); skipped"
    ]


def test_counters_and_errors_from_many_threads_add_up_exactly(run: Run) -> None:
    report = StreamReport("events")

    def bump() -> None:
        for n in range(500):
            run.ctx.count(report, pages=1, records=3, skipped=n % 2)
            if n % 100 == 0:
                run.ctx.error(report, f"day {n}: gave up")

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (report.pages, report.records, report.skipped, report.errors) == (4000, 12_000, 2000, 40)
    assert run.ctx.record is not None and len(run.ctx.record.errors) == 40

"""Outcomes that tell the truth, and runs bounded by a deadline that the next run continues (issue 14).

Real HTTP against the sandbox; the deadline is either real (`max_duration` with the client paced at 600/min, so a
fraction of a second is a few requests) or a counting clock (one tick per check), to stop at an exact point.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import api_client
from tests.ingest.test_ingest_http import DAY1, TOKEN, bronze_events, sandbox_config, settings_for, truth_events
from tests.sandbox.helpers import fetch_all
from wistia_analytics.contracts.streams import STREAMS, STREAMS_BY_NAME
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions, Ingestor, IngestResult
from wistia_analytics.ingest.load_modes import ALL_KEY
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunStatus, load_run
from wistia_analytics.lake.state import BACKFILL_CURSOR, SNAPSHOT_CURSOR, StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
from wistia_analytics.pipeline.ingest_stage import run_ingest
from wistia_analytics.sandbox import Sandbox, run_sandbox
from wistia_analytics.wistia.client import WistiaClient


def ingest(sb: Sandbox, lake: Path, **options: Any) -> IngestResult:
    settings = settings_for(  # a short analytics window: the calls are a handful of requests each
        sb,
        lake,
        wistia_requests_per_minute=600,
        ingest_backfill_days=10,
        ingest_analytics_backfill_days=2,
        ingest_traffic_dimensions="utm_source,referrer_domain",
    )
    result, _ = run_ingest(settings, IngestOptions(today=DAY1, **options), timeout=5.0, embedded=open_embedded_sandbox)
    return result


def counted_ingest(sb: Sandbox, lake: Path, ticks: int, **options: Any) -> IngestResult:
    """One run whose deadline passes at the `ticks`-th check of the clock (each check is one tick)."""
    clock = itertools.count().__next__
    with WistiaClient(sb.base_url, TOKEN, requests_per_minute=100_000) as client:
        ingestor = Ingestor(
            Storage.from_uri(str(lake)),
            client,
            IngestOptions(today=DAY1, max_duration=float(ticks), **options),
            policy=WindowPolicy(3, 10),
            concurrency=1,
            clock=lambda: float(clock()),
        )
        return ingestor.run()


def lock_is_free(lake: Path) -> bool:
    return not Storage.from_uri(str(lake)).exists("_lock/lake.lock")


def test_core_streams_are_declared_as_data() -> None:
    assert {s.name for s in STREAMS if s.core} == {"medias", "events"}
    assert {s.name for s in STREAMS if s.resumable} == {"visitors"}
    names = [s.name for s in STREAMS]
    assert names.index("events") < names.index("visitors")  # events are never starved by the snapshot
    assert all(names.index(s.name) > names.index("medias") for s in STREAMS if "{media_id}" in s.path)


def test_an_api_that_is_down_fails_the_run_with_exit_4(tmp_path: Path) -> None:
    config = sandbox_config(DAY1, faults=1.0, fault_kinds=("http_503",), fault_retry_after_seconds=0)
    with run_sandbox(config) as sb:
        result = ingest(sb, tmp_path, streams=["medias", "media_lifetime_stats", "events"])
    assert result.status is RunStatus.FAILED and result.exit_code == ExitCode.UNAVAILABLE == 4
    record = load_run(Storage.from_uri(str(tmp_path)), result.run_id)
    assert record.status is RunStatus.FAILED
    assert set(record.extra["core_streams_lost"]) == {"medias", "events"}
    assert lock_is_free(tmp_path)


def test_a_tiny_deadline_ends_incomplete_frees_the_lock_and_the_next_calls_finish_the_day(tmp_path: Path) -> None:
    """Real deadline (0.4 s at 600 requests/min: a handful of requests per call), real HTTP."""
    with run_sandbox(sandbox_config(DAY1, rate_limit_per_minute=0)) as sb:
        first = ingest(sb, tmp_path, max_duration=0.4)
        assert first.status is RunStatus.INCOMPLETE and first.exit_code == ExitCode.INCOMPLETE == 5
        record = load_run(Storage.from_uri(str(tmp_path)), first.run_id)
        assert record.status is RunStatus.INCOMPLETE and record.ended_at
        assert record.extra["position"]["stopped"]  # where it stopped, for the next call
        assert lock_is_free(tmp_path)
        calls = [first]
        while calls[-1].status is RunStatus.INCOMPLETE:
            assert len(calls) < 60, "the calls never completed the day"
            calls.append(ingest(sb, tmp_path, max_duration=0.4))
            assert lock_is_free(tmp_path)
        assert calls[-1].status is RunStatus.SUCCESS and len(calls) > 2
        expected = truth_events(sb, DAY1 - timedelta(days=9), DAY1)
    assert set(bronze_events(tmp_path)) == expected
    state = StateStore(Storage.from_uri(str(tmp_path)))
    assert state.load("events").get(ALL_KEY) == (DAY1 - timedelta(days=1)).isoformat()
    assert state.load_cursor("visitors", SNAPSHOT_CURSOR) is None  # the snapshot completed


def test_the_visitors_snapshot_continues_from_its_checkpointed_page(tmp_path: Path) -> None:
    with run_sandbox(sandbox_config(DAY1, rate_limit_per_minute=0)) as sb:
        with api_client(sb) as api:
            truth = {r["visitor_key"] for r in fetch_all(api, "/stats/visitors", {})}
        assert len(truth) > 100  # more than one page of 100
        # tick 1: before the stream; tick 2: after page 1 -> stop with page 2 next.
        first = counted_ingest(sb, tmp_path, 2, streams=["visitors"])
        assert first.status is RunStatus.INCOMPLETE
        assert first.streams["visitors"].pages == 1
        state = StateStore(Storage.from_uri(str(tmp_path)))
        cursor = state.load_cursor("visitors", SNAPSHOT_CURSOR)
        assert cursor is not None and cursor["next_page"] == 2 and cursor["started_by"] == first.run_id
        assert state.load("visitors").get(ALL_KEY) is None  # not complete: no watermark yet
        rest = counted_ingest(sb, tmp_path, 10_000, streams=["visitors"])
    assert rest.status is RunStatus.SUCCESS
    assert rest.streams["visitors"].windows[0].startswith("pages 2..")
    keys = Counter(
        line["record"]["visitor_key"] for _, line in iter_bronze(Storage.from_uri(str(tmp_path)), "visitors")
    )
    assert set(keys) == truth and max(keys.values()) == 1  # nothing lost, nothing fetched twice
    assert state.load_cursor("visitors", SNAPSHOT_CURSOR) is None
    assert state.load("visitors").get(ALL_KEY) is not None


def test_a_backfill_continues_where_the_last_call_stopped(tmp_path: Path) -> None:
    since, until = date(2026, 10, 5), date(2026, 10, 14)
    with run_sandbox(sandbox_config(DAY1, rate_limit_per_minute=0)) as sb:
        # ticks: 1 before the stream, then one per day started (one page a day on the tiny account).
        first = counted_ingest(sb, tmp_path, 4, streams=["events"], since=since, until=until)
        assert first.status is RunStatus.INCOMPLETE
        state = StateStore(Storage.from_uri(str(tmp_path)))
        cursor = state.load_cursor("events", BACKFILL_CURSOR)
        assert cursor is not None and cursor["since"] == str(since)
        done = date.fromisoformat(cursor["done_through"])
        assert since <= done < until
        second = counted_ingest(sb, tmp_path, 10_000, streams=["events"], since=since, until=until)
        assert second.status is RunStatus.SUCCESS
        assert second.streams["events"].windows == [f"{done + timedelta(days=1)}..{until}"]  # not from `since`
        assert state.load_cursor("events", BACKFILL_CURSOR) is None  # the backfill is done
        expected = truth_events(sb, since, until)
    assert set(bronze_events(tmp_path)) == expected


def test_stream_flags_are_only_declared_for_known_streams() -> None:
    assert STREAMS_BY_NAME["visitors"].resumable and not STREAMS_BY_NAME["medias"].resumable

"""Issue 14: nothing the API sends crashes a run, and every request and list is bounded.

Each test scripts what the hostile API (`server.py`, real HTTP on 127.0.0.1) returns, runs the real `Ingestor`
(and the transform where Silver must quarantine), and asserts: the run ends within its bound, with the documented
exit code (docs/ingestion.md), its run record is final (not `running`), the bad item is recorded with its reason
(run record, Bronze, `silver_quarantine`), and the rest of the data arrived.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.server import MEDIA_IDS, TOKEN, HostileAPI, Reply, event, fixed, hostile_api, media
from wistia_analytics.errors import ExitCode
from wistia_analytics.ingest.ingestor import IngestOptions, Ingestor, IngestResult
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.bronze import iter_bronze
from wistia_analytics.lake.runs import RunRecord, RunStatus, load_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.pipeline.transform_stage import run_transform
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.client import WistiaClient
from wistia_analytics.wistia.retry import RetryPolicy

TODAY = date(2026, 11, 25)
DAYS = [date(2026, 11, 24), date(2026, 11, 25)]  # backfill 2 days (today included, never the watermark)
FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05, fail_fast_unreachable=True)
CORE = ["medias", "media_lifetime_stats", "events"]


@pytest.fixture()
def api() -> Iterator[HostileAPI]:
    with hostile_api() as running:
        yield running


def ingest(api: HostileAPI, lake: Path, streams: list[str] | None = CORE, **limits: Any) -> tuple[IngestResult, float]:
    """One real ingestion against the hostile API: the result and how long it took."""
    storage = Storage.from_uri(str(lake))
    started = time.monotonic()
    with WistiaClient(
        api.base_url, TOKEN, requests_per_minute=100_000, timeout=5.0, retry=FAST_RETRY, **limits
    ) as client:
        options = IngestOptions(streams=streams, today=TODAY)
        result = Ingestor(storage, client, options, policy=WindowPolicy(3, 2), concurrency=2).run()
    return result, time.monotonic() - started


def final_record(lake: Path, result: IngestResult) -> RunRecord:
    record = load_run(Storage.from_uri(str(lake)), result.run_id)
    assert record.status != RunStatus.RUNNING
    assert record.status == result.status
    return record


def transform(lake: Path) -> None:
    result = run_transform(Settings(_env_file=None, lake_uri=str(lake)), storage=Storage.from_uri(str(lake)))  # type: ignore[call-arg]
    assert result.error is None and result.status in ("success", "partial"), result  # partial: drift vs stats


def query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def quarantine(lake: Path) -> list[tuple[str, str]]:
    return [(str(e), str(r)) for e, r in query(lake, "SELECT entity, reject_reason FROM silver.quarantine")]


def event_keys(lake: Path) -> set[str]:
    return {k for (k,) in query(lake, "SELECT event_key FROM silver.events")}


def clean_event_keys() -> set[str]:
    return {event(day, i, "")["event_key"] for day in DAYS for i in range(3)}


def bronze_records(lake: Path, stream: str) -> list[dict[str, Any]]:
    return [line["record"] for _, line in iter_bronze(Storage.from_uri(str(lake)), stream)]


def events_body_with(day_records: list[dict[str, Any]], marker: str, raw: str) -> str:
    """The JSON text of `day_records` with the string value ``"<marker>"`` replaced by `raw` (any JSON text)."""
    return json.dumps(day_records).replace(json.dumps(marker), raw)


def poison_first_day_event(api: HostileAPI, raw: str) -> None:
    """The first event of DAYS[0] gets ``percent_viewed: <raw>``; every other event is clean."""
    clean = api.routes["/v1/stats/events.json"]

    def route(q: dict[str, str]) -> Reply:
        if q["start_date"] != DAYS[0].isoformat() or q.get("page", "1") != "1":
            return clean(q)
        records = api.account.events_of(DAYS[0])
        records[0]["percent_viewed"] = "@@POISON@@"
        return Reply(events_body_with(records, "@@POISON@@", raw))

    api.routes["/v1/stats/events.json"] = route


# ---- poison values: a defect on the record, never a crash --------------------------------------------------------
def test_a_non_finite_number_is_a_defect_kept_as_text_and_quarantined(api: HostileAPI, tmp_path: Path) -> None:
    poison_first_day_event(api, "1e999")
    result, took = ingest(api, tmp_path)
    assert took < 20
    assert result.exit_code == ExitCode.OK  # a defect is data quality, quarantined in Silver, not a failed run
    record = final_record(tmp_path, result)
    assert record.extra["streams"]["events"]["defects"] == 1
    bad = [r for r in bronze_records(tmp_path, "events") if "__defects__" in r]
    assert len(bad) == 1 and bad[0]["percent_viewed"] == "1e999"  # the raw text, as received
    transform(tmp_path)
    reasons = [r for e, r in quarantine(tmp_path) if e == "event"]
    assert len(reasons) == 1 and "percent_viewed: number 1e999 is not finite" in reasons[0]
    assert event_keys(tmp_path) == clean_event_keys() - {"ev_20261124_0000"}


def test_json_nested_past_the_limit_is_kept_as_raw_text_and_quarantined(api: HostileAPI, tmp_path: Path) -> None:
    depth = 5000  # far past the interpreter's recursion limit
    poison_first_day_event(api, "[" * depth + "]" * depth)
    result, took = ingest(api, tmp_path)
    assert took < 20
    assert result.exit_code == ExitCode.OK
    record = final_record(tmp_path, result)
    assert record.extra["streams"]["events"]["defects"] == 1
    bad = [r for r in bronze_records(tmp_path, "events") if "__defects__" in r]
    assert len(bad) == 1 and bad[0]["__raw__"].startswith('{"received_at"')
    transform(tmp_path)
    reasons = [r for e, r in quarantine(tmp_path) if e == "event"]
    assert len(reasons) == 1 and "nested deeper than 64 levels" in reasons[0]
    assert event_keys(tmp_path) == clean_event_keys() - {"ev_20261124_0000"}  # its page-mates all arrived


def test_nesting_deeper_than_the_limit_but_parseable_is_a_defect_too(api: HostileAPI, tmp_path: Path) -> None:
    poison_first_day_event(api, '{"a":' * 100 + "1" + "}" * 100)
    result, _ = ingest(api, tmp_path, streams=["events"])
    assert result.exit_code == ExitCode.OK
    bad = [r for r in bronze_records(tmp_path, "events") if "__defects__" in r]
    assert len(bad) == 1 and "nested deeper than 64 levels" in bad[0]["__defects__"][0]


@pytest.mark.parametrize("stats", [None, "not stats", [1, 2], {"nested": "ok"}])
def test_per_media_stats_of_the_wrong_type_skip_that_media_with_the_reason(
    api: HostileAPI, tmp_path: Path, stats: Any
) -> None:
    api.routes[f"/v1/stats/medias/{MEDIA_IDS[0]}.json"] = fixed(Reply(json.dumps(stats)))
    api.routes[f"/v1/stats/medias/{MEDIA_IDS[1]}/by_date.json"] = fixed(Reply({"not": "a list"}))
    result, took = ingest(api, tmp_path, streams=["medias", "media_lifetime_stats", "media_daily_stats", "events"])
    assert took < 20
    record = final_record(tmp_path, result)
    if isinstance(stats, dict):  # an object is the right type for lifetime stats: stored as received
        assert record.extra["streams"]["media_lifetime_stats"]["skipped"] == 0
    else:
        assert any(f"media {MEDIA_IDS[0]}: the API sent" in e and "where an object belongs" in e for e in record.errors)
    assert any(f"media {MEDIA_IDS[1]}: the API sent an object where an array belongs" in e for e in record.errors)
    assert result.exit_code == ExitCode.PARTIAL and record.status == RunStatus.PARTIAL
    lifetime = {
        line["context"]["media_id"] for _, line in iter_bronze(Storage.from_uri(str(tmp_path)), "media_lifetime_stats")
    }
    assert lifetime == set(MEDIA_IDS) - ({MEDIA_IDS[0]} if not isinstance(stats, dict) else set())
    transform(tmp_path)
    assert event_keys(tmp_path) == clean_event_keys()


def test_invalid_media_ids_are_skipped_never_requested_and_quarantined(api: HostileAPI, tmp_path: Path) -> None:
    bad = [
        {k: v for k, v in media("x", 7).items() if k != "hashed_id"},  # no hashed_id
        media("a?b", 8),
        media("c#d", 9),
        media("../../etc", 10),
        media("%2e%2e", 11),
        {"hashed_id": 12345, "name": "numeric id"},
    ]
    api.account.medias = api.account.medias + bad
    result, took = ingest(api, tmp_path, streams=["medias", "media_lifetime_stats", "media_engagement", "events"])
    assert took < 20
    record = final_record(tmp_path, result)
    assert result.exit_code == ExitCode.PARTIAL
    for stream in ("media_lifetime_stats", "media_engagement"):
        assert record.extra["streams"][stream]["skipped"] == len(bad)
    assert any("a media without hashed_id: skipped" in e for e in record.errors)
    assert any("media id '../../etc' does not match" in e for e in record.errors)
    # only the valid medias were requested, and nothing outside /v1/stats/medias/<id>...
    asked = [r.split("?", 1)[0] for r in api.requests if r.startswith("/v1/stats/medias/")]
    assert {p.split("/")[4].split(".")[0] for p in asked} == {*MEDIA_IDS, "12345"}  # numeric ids are ids (404 here)
    assert not any(r.startswith("/v1/etc") for r in api.requests)
    assert len(bronze_records(tmp_path, "medias")) == len(MEDIA_IDS) + len(bad)  # every record as received
    transform(tmp_path)
    reasons = sorted(r for e, r in quarantine(tmp_path) if e == "media")
    assert reasons == ["invalid media_id"] * 4 + ["missing media_id"]
    assert {m for (m,) in query(tmp_path, "SELECT media_id FROM silver.medias")} == {*MEDIA_IDS, "12345"}
    assert event_keys(tmp_path) == clean_event_keys()


def test_ids_are_percent_encoded_in_paths() -> None:
    from wistia_analytics.ingest.load_modes import media_id_problem, media_path

    assert media_path("/stats/medias/{media_id}.json", "../../etc") == "/stats/medias/..%2F..%2Fetc.json"
    assert media_path("/stats/medias/{media_id}.json", "a?b#c") == "/stats/medias/a%3Fb%23c.json"
    assert media_id_problem({"hashed_id": "abc_DEF-09"}) is None
    assert media_id_problem({"hashed_id": "x" * 65}) is not None


def test_an_object_where_an_array_belongs_is_the_api_s_fault_not_a_bug_report(api: HostileAPI, tmp_path: Path) -> None:
    api.routes["/v1/medias.json"] = fixed(Reply({"medias": []}))
    result, took = ingest(api, tmp_path)
    assert took < 20
    record = final_record(tmp_path, result)
    # medias is a core stream: losing it fails the run (docs/ingestion.md, Outcomes), not a bug report; the events
    # it fetched are durable in Bronze all the same
    assert (result.exit_code, record.status) == (ExitCode.UNAVAILABLE, RunStatus.FAILED)
    assert record.extra["streams"]["medias"]["status"] == "failed"
    errors = " ".join(record.errors)
    assert "is an object where the API returns an array" in errors
    assert "report this message as a bug" not in errors
    assert api.hits("/v1/medias.json") <= 2  # not retried: once for medias, once for the per-media stream
    transform(tmp_path)
    assert event_keys(tmp_path) == clean_event_keys()


def test_list_elements_that_are_not_objects_become_defect_records(api: HostileAPI, tmp_path: Path) -> None:
    clean = api.routes["/v1/stats/events.json"]

    def route(q: dict[str, str]) -> Reply:
        reply = clean(q)
        if q["start_date"] == DAYS[0].isoformat() and q.get("page", "1") == "1":
            return Reply([*reply.body, None, "text", [1]])
        return reply

    api.routes["/v1/stats/events.json"] = route
    result, _ = ingest(api, tmp_path, streams=["events"])
    assert result.exit_code == ExitCode.OK
    assert final_record(tmp_path, result).extra["streams"]["events"]["defects"] == 3
    transform(tmp_path)
    reasons = sorted(r for e, r in quarantine(tmp_path) if e == "event")
    assert len(reasons) == 3 and all("expected a JSON object" in r for r in reasons)
    assert event_keys(tmp_path) == clean_event_keys()


# ---- bounded requests ----------------------------------------------------------------------------------------
def test_a_trickling_body_hits_the_total_request_deadline(api: HostileAPI, tmp_path: Path) -> None:
    api.routes["/v1/medias.json"] = fixed(Reply(b"[" + b" " * 200 + b"]", trickle_seconds=0.2))
    result, took = ingest(api, tmp_path, request_deadline=1.0)
    # 2 attempts for medias + 2 for the per-media stream's own media list, each cut at ~1 s (+ one read)
    assert took < 4 * (1.0 + 0.2) + 6
    record = final_record(tmp_path, result)
    assert (result.exit_code, record.status) == (ExitCode.UNAVAILABLE, RunStatus.FAILED)  # medias is a core stream
    assert record.extra["streams"]["medias"]["status"] == "failed"
    assert "request deadline" in " ".join(record.errors)
    assert record.extra["faults"].get("request_deadline", 0) >= 2
    transform(tmp_path)
    assert event_keys(tmp_path) == clean_event_keys()


def test_a_gzip_bomb_stops_at_the_size_limit_and_is_not_retried(api: HostileAPI, tmp_path: Path) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)  # ~64 KB -> 64 MiB
    api.routes["/v1/medias.json"] = fixed(Reply(bomb, headers={"Content-Encoding": "gzip"}))
    result, took = ingest(api, tmp_path, max_response_bytes=1024 * 1024)
    assert took < 20
    record = final_record(tmp_path, result)
    assert (result.exit_code, record.status) == (ExitCode.UNAVAILABLE, RunStatus.FAILED)  # medias is a core stream
    assert "exceeds 1048576 bytes" in " ".join(record.errors)
    assert api.hits("/v1/medias.json") <= 2  # no retries (the same answer would come back)
    transform(tmp_path)
    assert event_keys(tmp_path) == clean_event_keys()


def test_a_gzip_body_within_the_limit_decodes(api: HostileAPI, tmp_path: Path) -> None:
    body = gzip.compress(json.dumps(api.account.medias).encode())
    api.routes["/v1/medias.json"] = lambda q: Reply(
        body if q.get("page") == "1" else b"[]", headers={"Content-Encoding": "gzip"} if q.get("page") == "1" else {}
    )
    result, _ = ingest(api, tmp_path, streams=["medias"])
    assert result.exit_code == ExitCode.OK
    assert len(bronze_records(tmp_path, "medias")) == len(MEDIA_IDS)


# ---- lists that never end ------------------------------------------------------------------------------------
def full_page(day: date, start: int) -> list[dict[str, Any]]:
    return [event(day, start + i, MEDIA_IDS[0]) for i in range(100)]


def test_alternating_pages_stop_the_stream_with_a_recorded_error(api: HostileAPI, tmp_path: Path) -> None:
    clean = api.routes["/v1/stats/events.json"]
    pages = [full_page(DAYS[0], 0), full_page(DAYS[0], 100)]

    def route(q: dict[str, str]) -> Reply:
        if q["start_date"] != DAYS[0].isoformat():
            return clean(q)
        return Reply(pages[(int(q["page"]) - 1) % 2])

    api.routes["/v1/stats/events.json"] = route
    result, took = ingest(api, tmp_path)
    assert took < 20
    record = final_record(tmp_path, result)
    assert result.exit_code == ExitCode.PARTIAL and record.status == RunStatus.PARTIAL
    assert any("page 3 repeats page 1; stopped paging" in e for e in record.errors)
    assert api.hits("/v1/stats/events.json") < 10
    transform(tmp_path)
    assert event_keys(tmp_path) >= {e["event_key"] for p in pages for e in p}  # what came is kept
    assert {k for k in event_keys(tmp_path) if k.startswith("ev_20261125")} == {
        k for k in clean_event_keys() if k.startswith("ev_20261125")
    }


def test_a_list_bringing_new_records_on_every_page_stops_at_the_page_cap(api: HostileAPI, tmp_path: Path) -> None:
    clean = api.routes["/v1/stats/events.json"]

    def route(q: dict[str, str]) -> Reply:
        if q["start_date"] != DAYS[0].isoformat():
            return clean(q)
        return Reply(full_page(DAYS[0], 100 * int(q["page"])))  # always full, always new

    api.routes["/v1/stats/events.json"] = route
    result, took = ingest(api, tmp_path, max_pages=5)
    assert took < 20
    record = final_record(tmp_path, result)
    assert result.exit_code == ExitCode.PARTIAL
    assert any("more than 5 pages" in e for e in record.errors)
    assert api.hits("/v1/stats/events.json") <= 5 + 2  # five pages of the endless day, the other day's pages


# ---- the CLI: exit code and no token anywhere -------------------------------------------------------------------
def test_the_cli_survives_a_hostile_account_and_never_prints_the_token(api: HostileAPI, tmp_path: Path) -> None:
    api.account.medias = [*api.account.medias, media("../../etc", 20)]
    poison_first_day_event(api, "-1e999")
    env = {
        **os.environ,
        "WISTIA_API_TOKEN": TOKEN,
        "WISTIA_API_URL": api.base_url,
        "LAKE_URI": str(tmp_path / "lake"),
        "INGEST_BACKFILL_DAYS": "2",
        "WISTIA_REQUEST_DEADLINE_SECONDS": "5",
        "WISTIA_MAX_PAGES": "50",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "wistia_analytics", "ingest", "--today", TODAY.isoformat(), "--streams", ",".join(CORE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == ExitCode.PARTIAL, done.stderr[-2000:]
    assert TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lake = tmp_path / "lake"
    for path in lake.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".gz"):
            data = path.read_bytes()
            assert TOKEN.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data)

"""DuckDB's parse-once rewrite gives the same relation as the model SQL as written, and the incremental audit
still catches a key that a new partition shares with a kept one."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.transform.analytics_lake import write_run_a
from tests.transform.fixture_lake import build
from wistia_analytics.lake.bronze import list_bronze_files
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.build import ChecksFailedError, ModelReport, TransformRunner
from wistia_analytics.transform.channel_sql import render_model_sql
from wistia_analytics.transform.dialect import FIELDS_COLUMN, parse_json_once
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.models import MODELS, MODELS_BY_NAME

AWKWARD_EVENTS = [
    {
        "event_key": "k1",
        "received_at": "2026-11-01T10:00:00Z",
        "media_id": "m1",
        "percent_viewed": 0.5,
        "embed_url": "https://a.example/?utm_source=fb",
        "user_agent_details": {"browser": "Firefox", "mobile": True},
    },
    {
        "event_key": "k2",
        "received_at": "not a time",
        "media_id": "m1",
        "percent_viewed": "0.25",
        "lat": "",
        "email": "Ünïcode@example.com",
        "conversion_type": 3,
    },
    {"event_key": "", "media_id": None, "percent_viewed": 2, "user_agent_details": None},
    {
        "event_key": "k3",
        "received_at": "2026-11-01T10:00:00Z",
        "media_id": "m2",
        "percent_viewed": 0.1,
        "__defects__": "duplicate key: media_id",
        "lat": 51.51,
        "lon": -0.13,
    },
    {
        "event_key": "k1",
        "received_at": "2026-11-02T10:00:00Z",
        "media_id": "m1",
        "percent_viewed": 1,
        "user_agent_details": {"platform": "iOS"},
        "city": 'São Paulo "quoted" \\ back',
    },
    {},
]


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = [
        (f"bronze/f{i % 2}.jsonl.gz", "r1", f"2026-11-0{1 + i % 3}T12:00:00Z", json.dumps(r))
        for i, r in enumerate(AWKWARD_EVENTS)
    ]
    con.execute(
        "CREATE TEMP TABLE bronze_events (source_file VARCHAR, run_id VARCHAR, ingested_at TIMESTAMPTZ, "
        "request_path VARCHAR, context_media_id VARCHAR, record VARCHAR)"
    )
    con.executemany(
        "INSERT INTO bronze_events VALUES (?, ?, CAST(? AS TIMESTAMPTZ), '/v1/stats/events.json', NULL, ?)", rows
    )
    con.execute("CREATE TEMP TABLE silver_medias AS SELECT 'm1' AS media_id, 100.0 AS duration_seconds")
    return con


def test_silver_events_rewritten_equals_as_written() -> None:
    sql = render_model_sql(MODELS_BY_NAME["silver_events"].sql(), hash_identity=False)
    rewritten = parse_json_once(sql)
    assert rewritten.count(f"{FIELDS_COLUMN}[") >= 18, "each field read from the one parse"
    assert "'$.event_key'" in rewritten and rewritten.count("json_extract_string") + rewritten.count("->>") <= 3
    con = _connection()
    order = " ORDER BY ALL"
    expected = con.execute(f"SELECT * FROM ({sql}){order}").fetchall()
    got = con.execute(f"SELECT * FROM ({rewritten}){order}").fetchall()
    assert got == expected
    assert len(expected) == 5  # k1 deduplicated to its latest; four records quarantined
    reasons = sorted(str(r[-3]) for r in expected if r[-3] is not None)  # reject_reason
    assert reasons == [
        "malformed JSON: duplicate key: media_id",
        "missing event_key",
        "missing event_key",
        "received_at not a timestamp",
    ]
    (good,) = [r for r in expected if r[-3] is None]
    assert good[0] == "k1" and str(good[1]) == "2026-11-02" and good[19] == "iOS"  # the later delivery wins
    assert good[13] == 'São Paulo "quoted" \\ back' and good[8] == 100.0  # watch_seconds = 1 * 100


def test_every_silver_model_gives_the_same_rows_rewritten(tmp_path: Path) -> None:
    """On the hand-built fixture lake (both runs' Bronze, and the analytics streams'), each Silver model's rows equal
    its SQL as written."""
    storage = Storage.from_uri(str(tmp_path))
    build(storage)
    write_run_a(storage)
    engine = DuckDBEngine(storage)
    try:
        for model in (m for m in MODELS if m.quarantine_entity):
            sql = render_model_sql(model.sql(), hash_identity=False)
            rewritten = parse_json_once(sql)
            assert rewritten != sql, model.name
            stream = model.inputs[0].removeprefix("bronze_")
            engine.register_bronze(stream, list_bronze_files(storage, stream))
            expected = engine.rows(f"SELECT * FROM ({sql}) ORDER BY ALL")
            assert expected, model.name
            assert engine.con.execute(f"SELECT * FROM ({rewritten}) ORDER BY ALL").fetchall() == expected, model.name
            if model.name == "silver_medias":
                engine.materialize("silver_medias", f"SELECT * FROM ({sql}) WHERE reject_reason IS NULL")
    finally:
        engine.close()


def test_rewrite_leaves_single_paths_and_joins_alone() -> None:
    one = "SELECT json_extract_string(record, '$.a') AS a FROM t"
    assert parse_json_once(one) == one
    joined = (
        "SELECT json_extract_string(record, '$.a') AS a, json_extract_string(record, '$.b') AS b "
        "FROM t JOIN u ON t.id = u.id"
    )
    assert parse_json_once(joined) == joined
    two = "SELECT json_extract_string(record, '$.a') AS a, json_extract_string(record, '$.b.c') AS b FROM t AS x"
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT '{"a": "1", "b": {"c": [2]}}' AS record UNION ALL SELECT '{}'""")
    assert con.execute(parse_json_once(two) + " ORDER BY a").fetchall() == con.execute(two + " ORDER BY a").fetchall()
    assert con.execute(two + " ORDER BY a").fetchall() == [("1", "[2]"), (None, None)]


def test_incremental_audit_catches_a_key_shared_with_a_kept_partition(tmp_path: Path) -> None:
    storage = Storage.from_uri(str(tmp_path))
    build(storage)
    engine = DuckDBEngine(storage)
    try:
        runner = TransformRunner(storage, engine)
        assert runner.run().status == "success"
        current = runner.tables.current("silver_events")
        assert current is not None and len(current.files) >= 2
        kept_date, *_ = sorted(current.files)
        other_date = sorted(current.files)[-1]
        engine.register_parquet("events_now", current.all_files(), current.columns)
        key = engine.rows(f"SELECT event_key FROM events_now WHERE event_date = DATE '{kept_date}' LIMIT 1")[0][0]
        # A candidate for `other_date` that repeats a key the kept partition `kept_date` already holds.
        engine.materialize(
            "candidate",
            f"SELECT * REPLACE (CAST('{other_date}' AS DATE) AS event_date) FROM events_now WHERE event_key = '{key}'",
        )
        engine.materialize("silver_events__raw", "SELECT NULL::VARCHAR AS reject_reason")  # Bronze had good rows
        runner.run_id, runner.quarantined = "test", {}
        with pytest.raises(ChecksFailedError, match=r"key unique \(event_key\): 1 rows"):
            runner._finish(
                MODELS_BY_NAME["silver_events"],
                "candidate",
                ModelReport("silver_events"),
                partitions={other_date},
                previous=current,
            )
        assert runner.tables.current("silver_events") == current  # nothing published
    finally:
        engine.close()

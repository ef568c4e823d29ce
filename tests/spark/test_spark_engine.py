"""The Spark engine's own duties: Bronze columns equal DuckDB's, temp-table semantics, files and types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.spark.bad_records import add_bad_run
from tests.transform.analytics_lake import write_run_a, write_run_b
from tests.transform.fixture_lake import M1, build
from wistia_analytics.contracts.streams import ANALYTICS_STREAMS
from wistia_analytics.lake.bronze import list_bronze_files
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.build import merge_sql
from wistia_analytics.transform.channel_sql import render_model_sql
from wistia_analytics.transform.dialect import NotPortableError, to_spark
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.models import MODELS
from wistia_analytics.transform.spark_engine import (
    SparkEngine,
    duckdb_float_text,
    duckdb_json_text,
    duckdb_type_name,
    spark_type,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

BRONZE_SQL = (
    "SELECT source_file, run_id, CAST(ingested_at AS VARCHAR) AS ingested_at, request_path, context_media_id, "
    "context_date, context_dimension, context_start_date, context_end_date, record, md5(record) AS record_md5 "
    "FROM bronze_{stream}"
)


@pytest.fixture()
def lake(tmp_path: Path) -> Storage:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    add_bad_run(storage, "20261104T120000Z-cccccc", datetime(2026, 11, 4, 12, tzinfo=UTC), M1, "2026-11-02")
    return storage


def test_bronze_views_are_byte_equal_to_duckdbs(lake: Storage, spark: SparkSession) -> None:
    """Same rows in every column, `record` text (and so md5(record)) included, for every stream; the analytics
    streams' context columns too (a media id with braces, a quote and a backslash among them)."""
    write_run_a(lake)
    write_run_b(lake)
    duck, sparkling = DuckDBEngine(lake), SparkEngine(lake, session=spark)
    try:
        for stream in (
            "events",
            "media_engagement",
            "media_daily_stats",
            "medias",
            *(s.name for s in ANALYTICS_STREAMS),
        ):
            files = list_bronze_files(lake, stream)
            duck.register_bronze(stream, files)
            sparkling.register_bronze(stream, files)
            sql = BRONZE_SQL.format(stream=stream)
            left = sorted(duck.rows(sql), key=repr)
            right = sorted(sparkling.rows(sql), key=repr)
            assert len(left) > 0
            assert [r[:2] + r[3:] for r in left] == [r[:2] + r[3:] for r in right], stream
            # ingested_at: the same instant (each engine prints it its own way)
            assert {datetime.fromisoformat(str(r[2])) for r in left} == {
                datetime.fromisoformat(str(r[2])).replace(tzinfo=UTC) for r in right
            }
        assert sparkling.columns("bronze_events") == duck.columns("bronze_events")
        duck.register_bronze("media_languages", [])
        sparkling.register_bronze("media_languages", [])
        assert sparkling.columns("bronze_media_languages") == duck.columns("bronze_media_languages")
    finally:
        duck.close()
        sparkling.close()


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -0.0,
        1.0,
        100.0,
        0.1,
        2.5,
        1e-4,
        1e-5,
        -2.5e-6,
        1e-6,
        1.234e-7,
        5e-324,
        1e15,
        1.5e16,
        1e20,
        1e21,
        1.5e25,
        1.7976931348623157e308,
        123456789012345678.0,
        175 / 3600,
    ],
)
def test_float_text_matches_duckdbs_json_reader(value: float, tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"a": value, "b": [value]}))
    con = duckdb.connect()
    (text,) = con.execute(f"SELECT CAST(a AS VARCHAR) FROM read_json('{path}', columns = {{'a': 'JSON'}})").fetchone()  # type: ignore[misc]
    assert duckdb_float_text(value) == text
    assert duckdb_json_text(json.dumps({"x": 'é\u2028\t"', "v": value}, ensure_ascii=False, separators=(",", ":"))) == (
        '{"x":"é\u2028\\t\\"","v":' + text + "}"
    )


def test_materialize_is_bound_to_its_inputs_like_a_temp_table(lake: Storage, spark: SparkSession) -> None:
    engine = SparkEngine(lake, session=spark)
    try:
        engine.materialize("src", "SELECT 1 AS n UNION ALL SELECT 2")
        engine.materialize("derived", "SELECT sum(n) AS total FROM src")
        engine.materialize("src", "SELECT 100 AS n")  # the runner re-registers names such as silver_events
        assert engine.scalar("SELECT total FROM derived") == 3
        engine.drop("derived")
        assert not spark.catalog.tableExists("derived")
    finally:
        engine.close()


def test_a_group_merge_replaces_whole_groups_on_both_engines(lake: Storage, spark: SparkSession) -> None:
    """The incremental merge by a multi-column group (a media-day-dimension's traffic response) on both engines."""
    rows = "SELECT CAST(m AS VARCHAR) AS media_id, CAST(d AS DATE) AS stat_date, CAST(x AS VARCHAR) AS dimension, "
    rows += "CAST(v AS VARCHAR) AS value, CAST(n AS BIGINT) AS loads FROM (VALUES {}) AS t(m, d, x, v, n)"
    current = "('m1', '2026-11-01', 'utm_source', '(none)', 3), ('m1', '2026-11-01', 'utm_source', 'fb', 5), "
    current += "('m1', '2026-11-01', 'referrer_domain', 'l.fb', 5), ('m2', '2026-11-01', 'utm_source', 'fb', 1)"
    new = "('m1', '2026-11-01', 'utm_source', 'fb', 6), ('m2', '2026-11-02', 'utm_source', 'yt', 2)"
    sql = merge_sql(
        "media_id, stat_date, dimension, value, loads",
        "cur",
        "new",
        key=("media_id", "stat_date", "dimension", "value"),
        group=("media_id", "stat_date", "dimension"),
    )
    got = []
    for engine in (DuckDBEngine(lake), SparkEngine(lake, session=spark)):
        try:
            engine.materialize("cur", rows.format(current))
            engine.materialize("new", rows.format(new))
            engine.materialize("merged", sql)
            got.append(
                sorted((str(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4]) for r in engine.rows("SELECT * FROM merged"))
            )
        finally:
            engine.close()
    assert (
        got[0]
        == got[1]
        == [
            ("m1", "2026-11-01", "referrer_domain", "l.fb", 5),  # another dimension: another group, kept
            ("m1", "2026-11-01", "utm_source", "fb", 6),  # the group's new response; "(none)" left with the old one
            ("m2", "2026-11-01", "utm_source", "fb", 1),
            ("m2", "2026-11-02", "utm_source", "yt", 2),
        ]
    )


def test_partitioned_write_keeps_the_column_in_every_file_and_only_touched_partitions(
    lake: Storage, spark: SparkSession
) -> None:
    engine = SparkEngine(lake, session=spark)
    try:
        engine.materialize(
            "t",
            "SELECT CAST(d AS DATE) AS activity_date, CAST(n AS BIGINT) AS plays, CAST(n AS DOUBLE) / 3 AS rate, "
            "CAST('2026-11-01 10:00:00+00:00' AS TIMESTAMPTZ) AS seen_at, n > 1 AS many "
            "FROM (VALUES ('2026-11-01', 1), ('2026-11-01', 2), ('2026-11-03', 5)) AS v(d, n)",
        )
        written = engine.write_parquet("t", "gold/test/v=1", "activity_date")
        assert sorted(written) == ["2026-11-01", "2026-11-03"]
        folder = Path(lake.uri("gold/test/v=1"))
        assert sorted(p.name for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".parquet")) == []
        for day, files in written.items():
            assert len(files) == 1
            table = pq.read_table(lake.uri(files[0]))
            assert table.column_names == ["activity_date", "plays", "rate", "seen_at", "many"]
            assert {str(v) for v in table.column("activity_date").to_pylist()} == {day}
            assert str(table.schema.field("seen_at").type) == "timestamp[us, tz=UTC]"
        assert pq.ParquetFile(lake.uri(written["2026-11-03"][0])).metadata.row_group(0).column(0).compression == "ZSTD"
        expected = [
            ["activity_date", "DATE"],
            ["plays", "BIGINT"],
            ["rate", "DOUBLE"],
            ["seen_at", "TIMESTAMP WITH TIME ZONE"],
            ["many", "BOOLEAN"],
        ]
        assert engine.columns("t") == expected
        # The manifest's types bring an empty table back with the same columns (no files at all).
        engine.register_parquet("empty", [], expected)
        assert engine.columns("empty") == expected and engine.scalar("SELECT count(*) FROM empty") == 0
        duck = DuckDBEngine(lake)
        try:
            duck.register_parquet("t", [f for fs in written.values() for f in fs], [])
            assert duck.columns("t") == expected
        finally:
            duck.close()
    finally:
        engine.close()


def test_types_round_trip() -> None:
    for name in ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "DATE", "BOOLEAN", "TIMESTAMP WITH TIME ZONE", "BIGINT[]"):
        assert duckdb_type_name(spark_type(name)) == name


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * EXCLUDE (a) FROM t",
        "SELECT epoch_ms(a) FROM t",
        "SELECT quantile_cont(a, 0.5) FROM t",
        "SELECT list(a ORDER BY b) FROM t",
        "SELECT dayofweek(a) FROM t",
        "SELECT extract(dow FROM a) FROM t",
        "SELECT date_part('isodow', a) FROM t",
        "SELECT a FROM t QUALIFY row_number() OVER (ORDER BY a) = 1",
    ],
)
def test_constructs_that_mean_something_else_on_spark_are_refused(sql: str) -> None:
    with pytest.raises(NotPortableError):
        to_spark(sql)


@pytest.mark.parametrize("hash_identity", [False, True])
def test_every_model_passes_the_portability_gate(hash_identity: bool) -> None:
    for model in MODELS:
        sql = render_model_sql(model.sql(), hash_identity=hash_identity, site_hosts=("example.com",))
        assert "SELECT" in to_spark(sql).upper(), model.name

"""The Gold SQL on hand-made Silver tables: exact values computed by hand, Spark portability, partition safety.

The data: 2 medias (m1, m2) over 3 days (D1..D3) and 8 events.
- m1 D2 has by_date figures but no events; m2 D3 has events but no by_date row; m2 D2 is an all-zero by_date row.
- v1 and v2 are in silver_visitors, v3 only in the events; e8 has no visitor and e7 no channel.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

import wistia_analytics.transform as transform_pkg

SQL_DIR = Path(transform_pkg.__file__).parent / "sql"
MODELS_DOC = Path(__file__).parents[2] / "docs" / "models.md"

GOLD = (
    "gold_media_daily",
    "gold_visitor_media_daily",
    "gold_media_channel_daily",
    "gold_account_daily",
    "gold_media_engagement_curve",
    "gold_reconciliation",
)
PARTITIONED = {  # partitioned by activity_date: model -> its key
    "gold_media_daily": ("media_id", "activity_date"),
    "gold_visitor_media_daily": ("visitor_key", "media_id", "activity_date"),
    "gold_media_channel_daily": ("media_id", "activity_date", "channel"),
    "gold_account_daily": ("activity_date",),
}
COUNT_COLUMNS = {  # BIGINT in every Gold table
    *("loads", "plays", "event_plays", "unique_visitors", "active_medias", "viewers", "rewatchers"),
    *("plays_official", "plays_from_events", "plays_diff", "plays_modern", "plays_modern_diff"),
    *("unique_loads", "unique_plays", "unique_visitors_wistia", "cta_impressions", "cta_conversions"),
    "form_conversions",
}
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)

SILVER_DDL = {
    "silver_medias": """media_id VARCHAR, media_numeric_id BIGINT, media_name VARCHAR, media_type VARCHAR,
        media_status VARCHAR, project_id VARCHAR, project_name VARCHAR, duration_seconds DOUBLE,
        is_archived BOOLEAN, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, ingested_at TIMESTAMPTZ,
        run_id VARCHAR""",
    "silver_visitors": """visitor_key VARCHAR, visitor_name VARCHAR, visitor_email VARCHAR,
        visitor_org_name VARCHAR, visitor_org_title VARCHAR, is_identified BOOLEAN, first_seen_at TIMESTAMPTZ,
        last_active_at TIMESTAMPTZ, last_event_key VARCHAR, load_count BIGINT, play_count BIGINT,
        browser VARCHAR, browser_version VARCHAR, platform VARCHAR, is_mobile BOOLEAN,
        ingested_at TIMESTAMPTZ, run_id VARCHAR""",
    "silver_events": """event_key VARCHAR, event_date DATE, received_at TIMESTAMPTZ, media_id VARCHAR,
        media_name VARCHAR, visitor_key VARCHAR, percent_viewed DOUBLE, duration_seconds DOUBLE,
        watch_seconds DOUBLE, embed_url VARCHAR, channel VARCHAR, country VARCHAR, region VARCHAR,
        city VARCHAR, lat_approx DOUBLE, lon_approx DOUBLE, visitor_email VARCHAR, conversion_type VARCHAR,
        browser VARCHAR, platform VARCHAR, is_mobile BOOLEAN, ingested_at TIMESTAMPTZ, run_id VARCHAR,
        source_file VARCHAR""",
    "silver_media_daily_stats": """media_id VARCHAR, stat_date DATE, load_count BIGINT, play_count BIGINT,
        hours_watched DOUBLE, watch_time_seconds DOUBLE, ingested_at TIMESTAMPTZ, run_id VARCHAR""",
    "silver_media_lifetime_stats": """media_id VARCHAR, load_count BIGINT, play_count BIGINT,
        play_rate DOUBLE, hours_watched DOUBLE, watch_time_seconds DOUBLE, engagement DOUBLE,
        visitor_count BIGINT, ingested_at TIMESTAMPTZ, run_id VARCHAR""",
    "silver_media_engagement": """media_id VARCHAR, bucket_index INTEGER, bucket_count INTEGER,
        viewers BIGINT, rewatchers BIGINT, engagement DOUBLE, ingested_at TIMESTAMPTZ, run_id VARCHAR""",
    # Wistia's own analytics (issue 15): empty here, as on a lake that does not ingest them (their values are in
    # test_analytics_models.py).
    "silver_media_analytics_daily": """media_id VARCHAR, stat_date DATE, unique_loads BIGINT, unique_plays BIGINT,
        plays BIGINT, play_rate DOUBLE, played_time_seconds DOUBLE, unique_visitors BIGINT, engagement_rate DOUBLE,
        cta_impressions BIGINT, cta_conversions BIGINT, cta_conversion_rate DOUBLE, form_conversions BIGINT,
        ingested_at TIMESTAMPTZ, run_id VARCHAR, source_file VARCHAR""",
}

MEDIAS = (
    ("media_id", "media_name", "project_id", "project_name", "duration_seconds"),
    ("m1", "Intro", "p1", "Alpha", 100.0),
    ("m2", "Demo", "p2", "Beta", 200.0),
)
VISITORS = (
    ("visitor_key", "visitor_name", "visitor_email", "is_identified"),
    ("v1", "Ann", "ann@example.com", True),
    ("v2", None, "bob@example.com", True),
)
EVENTS = (
    (
        "event_key",
        "event_date",
        "media_id",
        "media_name",
        "visitor_key",
        "percent_viewed",
        "duration_seconds",
        "watch_seconds",
        "channel",
        "visitor_email",
    ),
    ("e1", D1, "m1", "Intro", "v1", 0.5, 100.0, 50.0, "direct", "ann@example.com"),
    ("e2", D1, "m1", "Intro", "v2", 1.0, 100.0, 100.0, "facebook", "bob.old@example.com"),
    ("e3", D1, "m1", "Intro", "v1", 0.25, 100.0, 25.0, "direct", "ann@example.com"),
    ("e4", D1, "m2", "Demo", "v3", 0.1, 200.0, 20.0, "google", "cy@example.com"),
    ("e5", D3, "m2", "Demo", "v1", 0.75, 200.0, 150.0, "facebook", "ann@example.com"),
    ("e6", D3, "m2", "Demo", "v2", 0.5, 200.0, 100.0, "facebook", "bob.old@example.com"),
    ("e7", D3, "m1", "Intro (old name)", "v2", 0.2, 100.0, 20.0, None, "bob.old@example.com"),
    ("e8", D3, "m1", "Intro", None, 0.4, 100.0, 40.0, "direct", None),
)
DAILY_STATS = (
    ("media_id", "stat_date", "load_count", "play_count", "watch_time_seconds"),
    ("m1", D1, 10, 3, 175.0),
    ("m1", D2, 6, 2, 80.0),
    ("m1", D3, 4, 2, 60.0000001),
    ("m2", D1, 4, 2, 60.0),
    ("m2", D2, 0, 0, 0.0),
)
LIFETIME_STATS = (
    ("media_id", "play_count", "watch_time_seconds"),
    ("m1", 7, 315.0000001),
    ("m2", 3, 270.0001),
    ("m3", 0, 0.000002),
)
ENGAGEMENT = (
    ("media_id", "bucket_index", "bucket_count", "viewers", "rewatchers"),
    ("m1", 0, 4, 10, 0),
    ("m1", 1, 4, 8, 1),
    ("m1", 2, 4, 5, 2),
    ("m1", 3, 4, 0, 0),
    ("m2", 0, 2, 0, 0),
    ("m2", 1, 2, 0, 0),
)


NO_ANALYTICS = (None,) * 6  # gold_media_daily's analytics columns: not ingested here
NO_MODERN = (None,) * 5  # gold_reconciliation's modern-vs-v1 columns: not ingested here


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: tuple[tuple[Any, ...], ...]) -> None:
    columns, *values = rows
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values)


def silver(only_date: date | None = None) -> duckdb.DuckDBPyConnection:
    """The hand-made Silver tables; `only_date` restricts the partitioned inputs as an incremental run does."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for table, ddl in SILVER_DDL.items():
        con.execute(f"CREATE TABLE {table} ({ddl})")
    _insert(con, "silver_medias", MEDIAS)
    _insert(con, "silver_visitors", VISITORS)
    _insert(con, "silver_events", EVENTS)
    _insert(con, "silver_media_daily_stats", DAILY_STATS)
    _insert(con, "silver_media_lifetime_stats", LIFETIME_STATS)
    _insert(con, "silver_media_engagement", ENGAGEMENT)
    con.execute("UPDATE silver_events SET received_at = CAST(event_date AS TIMESTAMPTZ) + INTERVAL 9 HOUR")
    con.execute("UPDATE silver_media_daily_stats SET hours_watched = watch_time_seconds / 3600")
    if only_date is not None:
        con.execute("DELETE FROM silver_events WHERE event_date <> ?", [only_date])
        con.execute("DELETE FROM silver_media_daily_stats WHERE stat_date <> ?", [only_date])
    return con


def sql_of(model: str) -> str:
    return (SQL_DIR / f"{model}.sql").read_text()


def run(con: duckdb.DuckDBPyConnection, model: str, sql: str | None = None) -> list[dict[str, Any]]:
    if model == "gold_reconciliation":
        con.execute(f"CREATE OR REPLACE TABLE gold_media_daily AS {sql_of('gold_media_daily')}")
    cursor = con.execute(sql if sql is not None else sql_of(model))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_key(rows: list[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: tuple((r[k] is None, r[k] if r[k] is not None else 0) for k in key))


def expect(header: str, *rows: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Rows as dicts; `header` names the columns, separated by spaces."""
    return [dict(zip(header.split(), row, strict=True)) for row in rows]


def assert_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Same rows in the same order; floats equal within 1e-12, everything else (NULLs, bools, dates) exactly."""
    assert len(actual) == len(expected), actual
    for got, want in zip(actual, expected, strict=True):
        assert list(got) == list(want)
        for column, value in want.items():
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-12, abs=1e-12), (column, got, want)
            else:
                assert type(got[column]) is type(value) and got[column] == value, (column, got, want)


def contract_columns() -> dict[str, list[str]]:
    """Gold table -> its columns, from the table in docs/models.md."""
    columns = {}
    for line in MODELS_DOC.read_text().splitlines():
        match = re.match(r"\| `(gold_\w+)` \| [^|]+ \| (.+) \|$", line)
        if match:
            columns[match[1]] = [re.sub(r"\s*\(.*?\)", "", c).strip() for c in match[2].split(", ")]
    return columns


# --- the contract's shape -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", GOLD)
def test_columns_and_types_follow_the_contract(model: str) -> None:
    con = silver()
    if model == "gold_reconciliation":
        run(con, model)
    relation = con.sql(sql_of(model))
    assert relation.columns == contract_columns()[model]
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    assert "HUGEINT" not in types.values()
    for column, type_ in types.items():
        if column in COUNT_COLUMNS:
            assert type_ == "BIGINT", (column, type_)
        elif column.endswith(("_rate", "_seconds", "_sum", "_fraction", "_diff", "retention", "_percent_viewed")):
            assert type_ == "DOUBLE", (column, type_)
        elif column.endswith("_date"):
            assert type_ == "DATE", (column, type_)


@pytest.mark.parametrize("model", GOLD)
def test_transpiles_to_spark(model: str) -> None:
    spark = sqlglot.transpile(sql_of(model), read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    assert len(spark) == 1
    for duckdb_only in ("EXCLUDE", "QUALIFY", "EPOCH_MS", "QUANTILE_CONT", "::", "->"):
        assert duckdb_only not in spark[0].upper()


@pytest.mark.parametrize("model", GOLD)
def test_spark_text_keeps_the_results(model: str) -> None:
    """The Spark text, read back into DuckDB, gives the same rows (no semantics lost in transpilation)."""
    spark = sqlglot.transpile(sql_of(model), read="duckdb", write="spark")[0]
    back = sqlglot.transpile(spark, read="spark", write="duckdb")[0]
    con = silver()
    direct = run(con, model)
    # the models have no ORDER BY: DuckDB's parallel aggregation returns groups in any order
    assert sorted(map(repr, run(con, model, back))) == sorted(map(repr, direct))


# --- values by hand -----------------------------------------------------------------------------------------


def test_media_daily() -> None:
    rows = by_key(run(silver(), "gold_media_daily"), "media_id", "activity_date")
    header = (
        "media_id activity_date media_name project_id project_name loads plays play_rate "
        "watch_time_seconds event_plays event_watch_seconds percent_viewed_sum engagement_rate "
        "unique_visitors unique_loads unique_plays unique_visitors_wistia cta_impressions cta_conversions "
        "form_conversions"
    )
    assert_rows(
        rows,
        expect(
            header,
            ("m1", D1, "Intro", "p1", "Alpha", 10, 3, 0.3, 175.0, 3, 175.0, 1.75, 1.75 / 3, 2, *NO_ANALYTICS),
            # by_date but no events: zeros from events, engagement unknown
            ("m1", D2, "Intro", "p1", "Alpha", 6, 2, 2 / 6, 80.0, 0, 0.0, 0.0, None, 0, *NO_ANALYTICS),
            # silver_medias' name wins over the name an event carried; e8 (no visitor) counts in plays, not visitors
            ("m1", D3, "Intro", "p1", "Alpha", 4, 2, 0.5, 60.0000001, 2, 60.0, 0.6, 0.3, 1, *NO_ANALYTICS),
            ("m2", D1, "Demo", "p2", "Beta", 4, 2, 0.5, 60.0, 1, 20.0, 0.1, 0.1, 1, *NO_ANALYTICS),
            # an all-zero by_date day: no play rate
            ("m2", D2, "Demo", "p2", "Beta", 0, 0, None, 0.0, 0, 0.0, 0.0, None, 0, *NO_ANALYTICS),
            # events but no by_date row: official figures are zeros, not NULLs
            ("m2", D3, "Demo", "p2", "Beta", 0, 0, None, 0.0, 2, 250.0, 1.25, 0.625, 2, *NO_ANALYTICS),
        ),
    )


def test_visitor_media_daily() -> None:
    rows = by_key(run(silver(), "gold_visitor_media_daily"), "visitor_key", "media_id", "activity_date")
    header = (
        "visitor_key media_id activity_date media_name visitor_name visitor_email is_identified "
        "plays watch_time_seconds percent_viewed_sum avg_percent_viewed"
    )
    assert_rows(
        rows,
        expect(
            header,
            ("v1", "m1", D1, "Intro", "Ann", "ann@example.com", True, 2, 75.0, 0.75, 0.375),
            ("v1", "m2", D3, "Demo", "Ann", "ann@example.com", True, 1, 150.0, 0.75, 0.75),
            # silver_visitors' email wins over the one the events carried
            ("v2", "m1", D1, "Intro", None, "bob@example.com", True, 1, 100.0, 1.0, 1.0),
            ("v2", "m1", D3, "Intro", None, "bob@example.com", True, 1, 20.0, 0.2, 0.2),
            ("v2", "m2", D3, "Demo", None, "bob@example.com", True, 1, 100.0, 0.5, 0.5),
            # not in silver_visitors: identity from the events
            ("v3", "m2", D1, "Demo", None, "cy@example.com", True, 1, 20.0, 0.1, 0.1),
        ),
    )


def test_media_channel_daily() -> None:
    rows = by_key(run(silver(), "gold_media_channel_daily"), "media_id", "activity_date", "channel")
    header = (
        "media_id activity_date channel plays watch_time_seconds percent_viewed_sum engagement_rate unique_visitors"
    )
    assert_rows(
        rows,
        expect(
            header,
            ("m1", D1, "direct", 2, 75.0, 0.75, 0.375, 1),
            ("m1", D1, "facebook", 1, 100.0, 1.0, 1.0, 1),
            ("m1", D3, "direct", 1, 40.0, 0.4, 0.4, 0),
            ("m1", D3, "unknown", 1, 20.0, 0.2, 0.2, 1),
            ("m2", D1, "google", 1, 20.0, 0.1, 0.1, 1),
            ("m2", D3, "facebook", 2, 250.0, 1.25, 0.625, 2),
        ),
    )


def test_account_daily() -> None:
    rows = by_key(run(silver(), "gold_account_daily"), "activity_date")
    header = (
        "activity_date loads plays play_rate watch_time_seconds event_plays percent_viewed_sum "
        "engagement_rate unique_visitors active_medias"
    )
    assert_rows(
        rows,
        expect(
            header,
            (D1, 14, 5, 5 / 14, 235.0, 4, 1.85, 1.85 / 4, 3, 2),
            # m2's all-zero by_date row is not an active media
            (D2, 6, 2, 2 / 6, 80.0, 0, 0.0, None, 0, 1),
            # v2 watched m1 and m2 on D3: 2 distinct visitors, not 1 + 2
            (D3, 4, 2, 0.5, 60.0000001, 4, 1.85, 1.85 / 4, 2, 2),
        ),
    )


def test_media_engagement_curve() -> None:
    rows = by_key(run(silver(), "gold_media_engagement_curve"), "media_id", "bucket_index")
    header = "media_id media_name bucket_index bucket_count position_fraction viewers rewatchers retention"
    assert_rows(
        rows,
        expect(
            header,
            ("m1", "Intro", 0, 4, 0.0, 10, 0, 1.0),
            ("m1", "Intro", 1, 4, 0.25, 8, 1, 0.8),
            ("m1", "Intro", 2, 4, 0.5, 5, 2, 0.5),
            ("m1", "Intro", 3, 4, 0.75, 0, 0, 0.0),
            ("m2", "Demo", 0, 2, 0.0, 0, 0, None),  # no viewers at the start: retention undefined
            ("m2", "Demo", 1, 2, 0.5, 0, 0, None),
        ),
    )


def test_reconciliation() -> None:
    rows = by_key(run(silver(), "gold_reconciliation"), "scope", "media_id", "activity_date")
    header = (
        "media_id scope activity_date plays_official plays_from_events plays_diff "
        "watch_seconds_official watch_seconds_from_events watch_seconds_diff within_tolerance "
        "plays_modern played_seconds_modern plays_modern_diff played_seconds_modern_diff modern_within_tolerance"
    )
    assert_rows(
        rows,
        expect(
            header,
            ("m1", "daily", D1, 3, 3, 0, 175.0, 175.0, 0.0, True, *NO_MODERN),
            ("m1", "daily", D2, 2, 0, -2, 80.0, 0.0, -80.0, False, *NO_MODERN),
            # 1e-7 s off on 60 s: inside 1e-6 x 60
            ("m1", "daily", D3, 2, 2, 0, 60.0000001, 60.0, 60.0 - 60.0000001, True, *NO_MODERN),
            ("m2", "daily", D1, 2, 1, -1, 60.0, 20.0, -40.0, False, *NO_MODERN),
            ("m2", "daily", D2, 0, 0, 0, 0.0, 0.0, 0.0, True, *NO_MODERN),
            ("m2", "daily", D3, 0, 2, 2, 0.0, 250.0, 250.0, False, *NO_MODERN),
            # lifetime: sums of every day in gold_media_daily against stats/medias
            ("m1", "lifetime", None, 7, 5, -2, 315.0000001, 235.0, 235.0 - 315.0000001, False, *NO_MODERN),
            # 1e-4 s off on 270 s: inside 1e-6 x 270
            ("m2", "lifetime", None, 3, 3, 0, 270.0001, 270.0, 270.0 - 270.0001, True, *NO_MODERN),
            # no daily rows at all; 2e-6 s off is outside the floor of 1e-6 x max(1, official)
            ("m3", "lifetime", None, 0, 0, 0, 0.000002, 0.0, -0.000002, False, *NO_MODERN),
        ),
    )


def test_tables_agree_with_each_other() -> None:
    """account_daily sums media_daily; visitor and channel tables split media_daily's event figures."""
    con = silver()
    for model in ("gold_media_daily", "gold_visitor_media_daily", "gold_media_channel_daily"):
        con.execute(f"CREATE TABLE {model} AS {sql_of(model)}")
    summed = con.execute(
        """SELECT activity_date, sum(loads), sum(plays), sum(watch_time_seconds), sum(event_plays),
                  sum(percent_viewed_sum), count(*) FILTER (WHERE plays > 0 OR event_plays > 0)
           FROM gold_media_daily GROUP BY activity_date ORDER BY activity_date"""
    ).fetchall()
    account = con.execute(
        f"""SELECT activity_date, loads, plays, watch_time_seconds, event_plays, percent_viewed_sum, active_medias
            FROM ({sql_of("gold_account_daily")}) ORDER BY activity_date"""
    ).fetchall()
    assert [r[:3] + r[4:5] + r[6:] for r in account] == [r[:3] + r[4:5] + r[6:] for r in summed]
    for got, want in zip(account, summed, strict=True):
        assert got[3] == pytest.approx(want[3]) and got[5] == pytest.approx(want[5])
    per_channel = con.execute(
        """SELECT media_id, activity_date, sum(plays), sum(watch_time_seconds) FROM gold_media_channel_daily
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    assert (
        per_channel
        == con.execute(
            """SELECT media_id, activity_date, event_plays, event_watch_seconds FROM gold_media_daily
           WHERE event_plays > 0 ORDER BY ALL"""
        ).fetchall()
    )
    distinct_visitors = con.execute(
        """SELECT media_id, activity_date, count(DISTINCT visitor_key) FROM gold_visitor_media_daily
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    assert (
        distinct_visitors
        == con.execute(
            """SELECT media_id, activity_date, unique_visitors FROM gold_media_daily
           WHERE unique_visitors > 0 ORDER BY ALL"""
        ).fetchall()
    )


# --- incremental runs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(PARTITIONED))
@pytest.mark.parametrize("day", [D1, D2, D3])
def test_partition_is_the_same_when_only_its_date_is_seen(model: str, day: date) -> None:
    key = PARTITIONED[model]
    full = [r for r in run(silver(), model) if r["activity_date"] == day]
    alone = run(silver(only_date=day), model)
    assert by_key(alone, *key) == by_key(full, *key)

"""Silver SQL models on hand-written Bronze lines (API quirks included), checked against hand-computed rows.

Each model runs in an in-memory DuckDB (UTC) after `render_model_sql`, over `bronze_<stream>` tables shaped
like the engine's views (docs/models.md). `silver_events` reads `silver_medias`, which is built from the
`silver_medias` model the way the runner does (good rows, helper columns dropped).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import duckdb
import pytest
import sqlglot

from wistia_analytics.transform.channel_sql import render_model_sql

SITES = ("northwind-example.com",)
R1, R2 = "run-2026-11-20", "run-2026-11-21"
T1 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
HELPERS = ("reject_reason", "record_key", "source_file", "run_id", "ingested_at", "record")

# The Silver columns of docs/models.md, in order.
CONTRACT: dict[str, list[str]] = {
    "silver_projects": [
        "project_id",
        "project_numeric_id",
        "project_name",
        "project_description",
        "media_count",
        "is_public",
        "created_at",
        "updated_at",
        "ingested_at",
        "run_id",
    ],
    "silver_medias": [
        "media_id",
        "media_numeric_id",
        "media_name",
        "media_type",
        "media_status",
        "project_id",
        "project_name",
        "duration_seconds",
        "is_archived",
        "created_at",
        "updated_at",
        "ingested_at",
        "run_id",
    ],
    "silver_visitors": [
        "visitor_key",
        "visitor_name",
        "visitor_email",
        "visitor_org_name",
        "visitor_org_title",
        "is_identified",
        "first_seen_at",
        "last_active_at",
        "last_event_key",
        "load_count",
        "play_count",
        "browser",
        "browser_version",
        "platform",
        "is_mobile",
        "ingested_at",
        "run_id",
    ],
    "silver_events": [
        "event_key",
        "event_date",
        "received_at",
        "media_id",
        "media_name",
        "visitor_key",
        "percent_viewed",
        "duration_seconds",
        "watch_seconds",
        "embed_url",
        "channel",
        "country",
        "region",
        "city",
        "lat_approx",
        "lon_approx",
        "visitor_email",
        "conversion_type",
        "browser",
        "platform",
        "is_mobile",
        "ingested_at",
        "run_id",
        "source_file",
    ],
    "silver_media_daily_stats": [
        "media_id",
        "stat_date",
        "load_count",
        "play_count",
        "hours_watched",
        "watch_time_seconds",
        "ingested_at",
        "run_id",
    ],
    "silver_media_lifetime_stats": [
        "media_id",
        "load_count",
        "play_count",
        "play_rate",
        "hours_watched",
        "watch_time_seconds",
        "engagement",
        "visitor_count",
        "ingested_at",
        "run_id",
    ],
    "silver_media_engagement": [
        "media_id",
        "bucket_index",
        "bucket_count",
        "viewers",
        "rewatchers",
        "engagement",
        "ingested_at",
        "run_id",
    ],
}
STREAM = {
    "silver_projects": "projects",
    "silver_medias": "medias",
    "silver_visitors": "visitors",
    "silver_events": "events",
    "silver_media_daily_stats": "media_daily_stats",
    "silver_media_lifetime_stats": "media_lifetime_stats",
    "silver_media_engagement": "media_engagement",
}


def line(run: str, record: Any, media: str | None = None, part: int = 0) -> dict[str, Any]:
    """One Bronze line as the engine's view shows it; `record` may be a dict or raw JSON text."""
    ingested = T1 if run == R1 else T2
    return {
        "source_file": f"bronze/wistia/x/ingest_date={ingested.date()}/{run}-{part:05d}.jsonl.gz",
        "run_id": run,
        "ingested_at": ingested,
        "request_path": f"/stats/medias/{media}.json" if media else "/x.json",
        "context_media_id": media,
        "record": record if isinstance(record, str) else json.dumps(record),
    }


PROJECT = {
    "id": 22570,
    "name": "Webinars",
    "description": "All webinars",
    "mediaCount": 2,
    "created": "2025-01-02T03:04:05+00:00",
    "updated": "2026-11-01T00:00:00+00:00",
    "hashedId": "proj1aaaaa",
    "anonymousCanUpload": False,
    "anonymousCanDownload": False,
    "public": False,
    "publicId": None,
}
MEDIA1 = {
    "id": 377249,
    "name": "Product Tour",
    "type": "Video",
    "archived": False,
    "created": "2025-05-26T00:04:25+00:00",
    "updated": "2025-05-27T00:00:00+00:00",
    "duration": 120.5,
    "hashed_id": "med1aaaaaa",
    "description": "<p>x</p>",
    "progress": 1.0,
    "status": "ready",
    "thumbnail": {"url": "https://embed-ssl.wistia.com/d/1.jpg", "width": 200, "height": 120},
    "project": {"id": 22570, "name": "Webinars", "hashed_id": "proj1aaaaa"},
    "assets": [],
    "tags": [{"name": "launch"}],
    "subfolder": None,
}
VISITOR_JIM = {
    "visitor_key": "E4E7613B5C24CB0F1F7C0A1E4E874635E752263E",
    "created_at": "2012-12-12T01:51:36Z",
    "last_active_at": "2012-12-12T03:15:56Z",
    "last_event_key": "1355282055737f0.4801975437439978",
    "load_count": 3,
    "play_count": 2,
    "identifying_event_key": None,
    "visitor_identity": {"name": "Jim", "email": "Jim@Example.com", "org": {"name": "Lemonade", "title": "CTO"}},
    "user_agent_details": {"browser": "Chrome", "browser_version": "45", "platform": "mac", "mobile": False},
}
VISITOR_ANON = {
    "visitor_key": "1760645_0a81a338-0000-abca",
    "created_at": "2025-10-16T20:07:48.000Z",
    "last_active_at": "2025-10-16T20:07:48.000Z",
    "last_event_key": "1760645_ev",
    "load_count": 1,
    "play_count": 1,
    "visitor_identity": {"name": "", "email": None, "org": {"name": None, "title": None}},
    "user_agent_details": {
        "browser": "Unknown Browser",
        "browser_version": "0",
        "platform": "iOS (iPhone)",
        "mobile": True,
    },
}
EVENT_OLD = {  # Wistia's documented example: old key and timestamp formats, thumbnail, no user_agent_details
    "received_at": "2014-01-27T22:42:53Z",
    "event_key": "1390862572596e0.8447021404281259",
    "ip": "64.95.172.26",
    "country": "US",
    "region": "WA",
    "city": "Seattle",
    "lat": 47.6103,
    "lon": -122.334,
    "org": "Onvia.com",
    "email": None,
    "percent_viewed": 0.25,
    "embed_url": "https://www.northwind-example.com/blog/?utm_source=facebook&utm_medium=paid_social",
    "conversion_type": "",
    "conversion_data": {"email": "test@wistia.com", "first_name": "Jeff"},
    "iframe_heatmap_url": "https://api.wistia.com/v1/stats/events/x/iframe.html?public_token=t",
    "visitor_key": "B6D1F47963577AF26697138FAB75BD1B7086697B",
    "media_id": "med1aaaaaa",
    "media_name": "Product Tour",
    "media_url": "https://northwind-media.wistia.com/medias/med1aaaaaa",
    "thumbnail": {"url": "http://embed.wistia.com/d/1.bin", "width": 640, "height": 360, "fileSize": 1},
}


def event(key: str | None, received_at: str, percent: Any, **extra: Any) -> dict[str, Any]:
    """A 2025-format event (no thumbnail, user_agent_details present)."""
    body: dict[str, Any] = {
        "received_at": received_at,
        "event_key": key,
        "ip": "1.2.3.4",
        "country": "GB",
        "region": "England",
        "city": "London",
        "lat": 51.5072,
        "lon": -0.1276,
        "org": "BT",
        "email": None,
        "percent_viewed": percent,
        "embed_url": "https://www.northwind-example.com/",
        "conversion_type": "",
        "conversion_data": {},
        "visitor_key": "1760645_0a81a338-0000-abca",
        "user_agent_details": {"browser": "Chrome", "browser_version": "141", "platform": "mac", "mobile": False},
        "media_id": "med1aaaaaa",
        "media_name": "Product Tour",
        "media_url": "https://northwind-media.wistia.com/medias/med1aaaaaa",
    }
    if key is None:
        del body["event_key"]
    body.update(extra)
    return body


BRONZE: dict[str, list[dict[str, Any]]] = {
    "projects": [
        line(R1, PROJECT),
        line(R2, {**PROJECT, "name": "Webinars 2026", "mediaCount": 3}),  # newer snapshot wins
        line(R2, {k: v for k, v in PROJECT.items() if k != "hashedId"}),  # missing key
        line(R1, {**PROJECT, "hashedId": "proj2bbbbb", "mediaCount": -1}),  # negative count
    ],
    "medias": [
        line(R1, MEDIA1),
        line(R2, {**MEDIA1, "name": "Product Tour v2", "duration": 100.0, "updated": "2026-11-20T10:00:00+00:00"}),
        line(
            R1,
            {  # no thumbnail, project with the OpenAPI's camelCase `hashedId`, unknown fields
                **{k: v for k, v in MEDIA1.items() if k != "thumbnail"},
                "id": 377250,
                "hashed_id": "med2bbbbbb",
                "name": "Launch Teaser",
                "archived": True,
                "duration": 60,
                "project": {"id": 22570, "name": "Webinars", "hashedId": "proj1aaaaa"},
                "brand_new_field": {"x": 1},
            },
        ),
        line(R2, {k: v for k, v in MEDIA1.items() if k != "hashed_id"}),  # missing key
    ],
    "visitors": [
        line(R1, VISITOR_JIM),
        line(R1, VISITOR_ANON),
        line(R2, {**VISITOR_ANON, "load_count": 4, "play_count": 3, "last_active_at": "2026-11-20T09:00:00.000Z"}),
        line(R1, {**VISITOR_ANON, "visitor_key": "1760645_neg", "play_count": -2}),
    ],
    "events": [
        line(R1, EVENT_OLD),
        # the same session in two runs: the later ingestion wins; "" lat/lon and an integer conversion_type
        line(
            R1,
            event(
                "1760721_aaaa",
                "2026-11-19T17:24:53.000Z",
                0.5,
                lat="",
                lon="",
                conversion_type=2,
                email="Ada@X.example",
                embed_url="https://www.northwind-example.com/pricing/?gclid=abc",
            ),
        ),
        line(
            R2,
            event(
                "1760721_aaaa",
                "2026-11-19T17:24:53.000Z",
                0.75,
                lat="",
                lon="",
                conversion_type=2,
                email="Ada@X.example",
                embed_url="https://www.northwind-example.com/pricing/?gclid=abc",
            ),
        ),
        # the same line twice in one run (page overlap): one row
        line(R2, event("1760721_dup", "2026-11-20T08:00:00.000Z", 0.1), part=1),
        line(R2, event("1760721_dup", "2026-11-20T08:00:00.000Z", 0.1), part=2),
        # an older good row beats a newer bad one (the bad one is quarantined)
        line(R1, event("1760721_hhhh", "2026-11-19T10:00:00.000Z", 0.1)),
        line(R2, event("1760721_hhhh", "2026-11-19T10:00:00.000Z", 1.5)),
        # unknown media (duration unknown), percent as a numeric string, partner page, late but < 1 day ahead
        line(
            R2,
            event(
                "1760721_ffff",
                "2026-11-22T05:00:00Z",
                "0.4",
                media_id="unknownmed",
                media_name="Gone",
                embed_url="https://partner-example.org/reviews/unknownmed",
                user_agent_details=None,
            ),
        ),
        # quarantined
        line(R1, event("1760721_bbbb", "2026-11-19T10:00:00.000Z", 1.7)),
        line(R1, event(None, "2026-11-19T10:00:00.000Z", 0.3)),
        line(R2, event("1760721_cccc", "2026-11-22T06:00:01.000Z", 0.3)),  # > ingested_at + 1 day
        line(R2, event("1760721_dddd", "yesterday", 0.3)),
        line(R2, event("1760721_eeee", "1999-12-31T23:59:59Z", 0.3)),
        line(R2, event("1760721_gggg", "2026-11-19T10:00:00.000Z", "abc")),
        line(R2, event("1760721_iiii", "2026-11-19T10:00:00.000Z", -0.01)),
        line(R2, event("1760721_jjjj", "2026-11-19T10:00:00.000Z", None)),
        line(R2, event("1760721_kkkk", "2026-11-19T10:00:00.000Z", 0.3, media_id="")),
    ],
    "media_daily_stats": [
        line(R1, {"date": "2026-11-19", "load_count": 10, "play_count": 4, "hours_watched": 0.5}, "med1aaaaaa"),
        line(R2, {"date": "2026-11-19", "load_count": 12, "play_count": 5, "hours_watched": 0.75}, "med1aaaaaa"),
        line(R2, {"date": "2026-11-20", "load_count": 0, "play_count": 0, "hours_watched": 0}, "med1aaaaaa"),
        line(R2, {"date": "2026-11-20", "load_count": 3, "play_count": -1, "hours_watched": 0.1}, "med2bbbbbb"),
        line(R2, {"date": "2026-11-20", "load_count": 3, "play_count": 1, "hours_watched": 0.1}, None),
        line(R2, {"date": "2026-13-45", "load_count": 3, "play_count": 1, "hours_watched": 0.1}, "med2bbbbbb"),
        line(R2, {"load_count": 3, "play_count": 1, "hours_watched": 0.1}, "med2bbbbbb"),
    ],
    "media_lifetime_stats": [
        line(
            R1,
            {
                "load_count": 100,
                "play_count": 80,
                "play_rate": 0.8,
                "hours_watched": 21.9,
                "engagement": 0.89,
                "visitors": 94,
                "actions": [{"type": "Call to Action", "action_count": 24, "impression_count": 84, "rate": 0.286}],
            },
            "med1aaaaaa",
        ),
        line(  # no `actions`
            R2,
            {
                "load_count": 110,
                "play_count": 88,
                "play_rate": 0.8,
                "hours_watched": 24.5,
                "engagement": 0.5,
                "visitors": 99,
            },
            "med1aaaaaa",
        ),
        line(
            R2,
            {
                "load_count": 5,
                "play_count": 1,
                "play_rate": 0.2,
                "hours_watched": 0.1,
                "engagement": 0.5,
                "visitors": -3,
            },
            "med2bbbbbb",
        ),
    ],
    "media_engagement": [
        line(R1, {"engagement": 0.5, "engagement_data": [5, 4, 3], "rewatch_data": [1, 0, 0]}, "med1aaaaaa"),
        line(R2, {"engagement": 0.6, "engagement_data": [6, 5], "rewatch_data": [2]}, "med1aaaaaa"),
        line(R2, {"engagement": 0.1, "engagement_data": [3, -1], "rewatch_data": [0, 0]}, "med2bbbbbb"),
        line(R2, {"engagement": 0.1, "engagement_data": "abc", "rewatch_data": []}, "med3cccccc"),
        line(R2, {"engagement": 0.1}, "med4dddddd"),
        line(R2, {"engagement": 0.0, "engagement_data": [], "rewatch_data": []}, "med5eeeeee"),
        line(R2, {"engagement": 0.2, "engagement_data": [2, 1]}, "med6ffffff"),  # no rewatch_data
    ],
}


def sql_text(model: str) -> str:
    return resources.files("wistia_analytics.transform").joinpath(f"sql/{model}.sql").read_text()


def load_bronze(con: duckdb.DuckDBPyConnection, bronze: dict[str, list[dict[str, Any]]]) -> None:
    for stream, lines in bronze.items():
        con.execute(
            f"CREATE OR REPLACE TABLE bronze_{stream} (source_file VARCHAR, run_id VARCHAR, "
            "ingested_at TIMESTAMPTZ, request_path VARCHAR, context_media_id VARCHAR, record VARCHAR)"
        )
        con.executemany(
            f"INSERT INTO bronze_{stream} VALUES (?, ?, ?, ?, ?, ?)",
            [
                (x["source_file"], x["run_id"], x["ingested_at"], x["request_path"], x["context_media_id"], x["record"])
                for x in lines
            ],
        )


def run(con: duckdb.DuckDBPyConnection, model: str, *, hash_identity: bool = False) -> list[dict[str, Any]]:
    sql = render_model_sql(sql_text(model), hash_identity=hash_identity, site_hosts=SITES)
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def good(rows: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """The runner's view of good rows: contract columns only, sorted by the key columns."""
    out = [{c: r[c] for c in CONTRACT[model]} for r in rows if r["reject_reason"] is None]
    return sorted(out, key=lambda r: tuple(str(v) for v in r.values()))


def rejected(rows: list[dict[str, Any]]) -> list[tuple[Any, str, str]]:
    out = [(r["record_key"], r["reject_reason"], r["run_id"]) for r in rows if r["reject_reason"]]
    return sorted(out, key=lambda t: tuple("" if v is None else str(v) for v in t))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    load_bronze(c, BRONZE)
    medias = run(c, "silver_medias")
    cols = ", ".join(CONTRACT["silver_medias"])
    medias_sql = render_model_sql(sql_text("silver_medias"), hash_identity=False)
    c.execute(f"CREATE TABLE silver_medias AS SELECT {cols} FROM ({medias_sql}) WHERE reject_reason IS NULL")
    assert len(good(medias, "silver_medias")) == 2
    yield c
    c.close()


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


@pytest.mark.parametrize("model", sorted(CONTRACT))
def test_columns_follow_the_contract(con: duckdb.DuckDBPyConnection, model: str) -> None:
    sql = render_model_sql(sql_text(model), hash_identity=False)
    names = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]
    assert [n for n in names if n in CONTRACT[model]] == list(CONTRACT[model])
    assert set(names) == set(CONTRACT[model]) | set(HELPERS)


@pytest.mark.parametrize("model", sorted(CONTRACT))
@pytest.mark.parametrize("hash_identity", [False, True])
def test_models_transpile_to_spark(model: str, hash_identity: bool) -> None:
    sql = render_model_sql(sql_text(model), hash_identity=hash_identity, site_hosts=SITES)
    [spark] = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert "json_extract" not in spark.lower()
    assert f"bronze_{STREAM[model]}" in spark
    sqlglot.transpile(sql_text(model), read="duckdb", write="spark")  # the raw file parses too


def test_silver_projects(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_projects")
    assert good(rows, "silver_projects") == [
        {
            "project_id": "proj1aaaaa",
            "project_numeric_id": 22570,
            "project_name": "Webinars 2026",
            "project_description": "All webinars",
            "media_count": 3,
            "is_public": False,
            "created_at": ts("2025-01-02T03:04:05+00:00"),
            "updated_at": ts("2026-11-01T00:00:00+00:00"),
            "ingested_at": T2,
            "run_id": R2,
        }
    ]
    assert rejected(rows) == [(None, "missing project_id", R2), ("proj2bbbbb", "negative media_count", R1)]
    bad = next(r for r in rows if r["record_key"] is None)
    assert json.loads(bad["record"])["name"] == "Webinars"
    assert bad["source_file"].endswith(f"{R2}-00000.jsonl.gz")


def test_silver_medias(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_medias")
    common = {"media_type": "Video", "media_status": "ready", "project_id": "proj1aaaaa", "project_name": "Webinars"}
    assert good(rows, "silver_medias") == [
        {
            "media_id": "med1aaaaaa",
            "media_numeric_id": 377249,
            "media_name": "Product Tour v2",
            **common,
            "duration_seconds": 100.0,
            "is_archived": False,
            "created_at": ts("2025-05-26T00:04:25+00:00"),
            "updated_at": ts("2026-11-20T10:00:00+00:00"),
            "ingested_at": T2,
            "run_id": R2,
        },
        {
            "media_id": "med2bbbbbb",
            "media_numeric_id": 377250,
            "media_name": "Launch Teaser",
            **common,
            "duration_seconds": 60.0,
            "is_archived": True,
            "created_at": ts("2025-05-26T00:04:25+00:00"),
            "updated_at": ts("2025-05-27T00:00:00+00:00"),
            "ingested_at": T1,
            "run_id": R1,
        },
    ]
    assert rejected(rows) == [(None, "missing media_id", R2)]


def test_silver_visitors(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_visitors")
    assert good(rows, "silver_visitors") == [
        {
            "visitor_key": "1760645_0a81a338-0000-abca",
            "visitor_name": "",  # mirrors the source; not identified
            "visitor_email": None,
            "visitor_org_name": None,
            "visitor_org_title": None,
            "is_identified": False,
            "first_seen_at": ts("2025-10-16T20:07:48+00:00"),
            "last_active_at": ts("2026-11-20T09:00:00+00:00"),
            "last_event_key": "1760645_ev",
            "load_count": 4,
            "play_count": 3,
            "browser": "Unknown Browser",
            "browser_version": "0",
            "platform": "iOS (iPhone)",
            "is_mobile": True,
            "ingested_at": T2,
            "run_id": R2,
        },
        {
            "visitor_key": "E4E7613B5C24CB0F1F7C0A1E4E874635E752263E",
            "visitor_name": "Jim",
            "visitor_email": "Jim@Example.com",
            "visitor_org_name": "Lemonade",
            "visitor_org_title": "CTO",
            "is_identified": True,
            "first_seen_at": ts("2012-12-12T01:51:36+00:00"),
            "last_active_at": ts("2012-12-12T03:15:56+00:00"),
            "last_event_key": "1355282055737f0.4801975437439978",
            "load_count": 3,
            "play_count": 2,
            "browser": "Chrome",
            "browser_version": "45",
            "platform": "mac",
            "is_mobile": False,
            "ingested_at": T1,
            "run_id": R1,
        },
    ]
    assert rejected(rows) == [("1760645_neg", "negative play_count", R1)]


def test_silver_visitors_hashes_identity_on_request(con: duckdb.DuckDBPyConnection) -> None:
    rows = {r["visitor_key"]: r for r in good(run(con, "silver_visitors", hash_identity=True), "silver_visitors")}
    jim = rows["E4E7613B5C24CB0F1F7C0A1E4E874635E752263E"]
    assert jim["visitor_name"] == hashlib.md5(b"jim").hexdigest()
    assert jim["visitor_email"] == hashlib.md5(b"jim@example.com").hexdigest()
    assert jim["is_identified"] is True
    assert rows["1760645_0a81a338-0000-abca"]["visitor_name"] == ""  # nothing to hash
    assert rows["1760645_0a81a338-0000-abca"]["visitor_email"] is None


def test_silver_events(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_events")
    base = {
        "media_id": "med1aaaaaa",
        "media_name": "Product Tour",
        "visitor_key": "1760645_0a81a338-0000-abca",
        "duration_seconds": 100.0,  # from the winning silver_medias row
        "embed_url": "https://www.northwind-example.com/",
        "channel": "direct",
        "country": "GB",
        "region": "England",
        "city": "London",
        "lat_approx": 51.5,
        "lon_approx": -0.1,
        "visitor_email": None,
        "conversion_type": None,
        "browser": "Chrome",
        "platform": "mac",
        "is_mobile": False,
    }
    src = "bronze/wistia/x/ingest_date={}/{}-{:05d}.jsonl.gz"
    expected = [
        {
            **base,
            "event_key": "1390862572596e0.8447021404281259",
            "event_date": date(2014, 1, 27),
            "received_at": ts("2014-01-27T22:42:53+00:00"),
            "visitor_key": "B6D1F47963577AF26697138FAB75BD1B7086697B",
            "percent_viewed": 0.25,
            "watch_seconds": 25.0,
            "embed_url": EVENT_OLD["embed_url"],
            "channel": "facebook",
            "country": "US",
            "region": "WA",
            "city": "Seattle",
            "lat_approx": 47.6,
            "lon_approx": -122.3,
            "browser": None,
            "platform": None,
            "is_mobile": None,
            "ingested_at": T1,
            "run_id": R1,
            "source_file": src.format("2026-11-20", R1, 0),
        },
        {
            **base,
            "event_key": "1760721_aaaa",
            "event_date": date(2026, 11, 19),
            "received_at": ts("2026-11-19T17:24:53+00:00"),
            "percent_viewed": 0.75,
            "watch_seconds": 75.0,
            "embed_url": "https://www.northwind-example.com/pricing/?gclid=abc",
            "channel": "search",
            "lat_approx": None,
            "lon_approx": None,
            "visitor_email": "Ada@X.example",
            "conversion_type": "2",
            "ingested_at": T2,
            "run_id": R2,
            "source_file": src.format("2026-11-21", R2, 0),
        },
        {
            **base,
            "event_key": "1760721_dup",
            "event_date": date(2026, 11, 20),
            "received_at": ts("2026-11-20T08:00:00+00:00"),
            "percent_viewed": 0.1,
            "watch_seconds": pytest.approx(10.0),
            "ingested_at": T2,
            "run_id": R2,
            "source_file": src.format("2026-11-21", R2, 2),  # ties on ingested_at: source_file DESC
        },
        {
            **base,
            "event_key": "1760721_ffff",
            "event_date": date(2026, 11, 22),
            "received_at": ts("2026-11-22T05:00:00+00:00"),
            "media_id": "unknownmed",
            "media_name": "Gone",
            "percent_viewed": 0.4,
            "duration_seconds": None,
            "watch_seconds": None,
            "embed_url": "https://partner-example.org/reviews/unknownmed",
            "channel": "other",
            "browser": None,
            "platform": None,
            "is_mobile": None,
            "ingested_at": T2,
            "run_id": R2,
            "source_file": src.format("2026-11-21", R2, 0),
        },
        {
            **base,
            "event_key": "1760721_hhhh",
            "event_date": date(2026, 11, 19),
            "received_at": ts("2026-11-19T10:00:00+00:00"),
            "percent_viewed": 0.1,
            "watch_seconds": pytest.approx(10.0),
            "ingested_at": T1,
            "run_id": R1,
            "source_file": src.format("2026-11-20", R1, 0),
        },
    ]
    assert good(rows, "silver_events") == expected
    assert rejected(rows) == [
        (None, "missing event_key", R1),
        ("1760721_bbbb", "percent_viewed out of [0, 1]", R1),
        ("1760721_cccc", "received_at in the future", R2),
        ("1760721_dddd", "received_at not a timestamp", R2),
        ("1760721_eeee", "received_at before 2000-01-01", R2),
        ("1760721_gggg", "percent_viewed not a number", R2),
        ("1760721_hhhh", "percent_viewed out of [0, 1]", R2),
        ("1760721_iiii", "percent_viewed out of [0, 1]", R2),
        ("1760721_jjjj", "percent_viewed not a number", R2),
        ("1760721_kkkk", "missing media_id", R2),
    ]
    assert len(rows) == len(expected) + 10


def test_silver_events_hashes_email_on_request(con: duckdb.DuckDBPyConnection) -> None:
    rows = {r["event_key"]: r for r in run(con, "silver_events", hash_identity=True) if r["reject_reason"] is None}
    md5 = hashlib.md5(b"ada@x.example").hexdigest()
    assert rows["1760721_aaaa"]["visitor_email"] == md5
    assert rows["1760721_dup"]["visitor_email"] is None


def test_silver_media_daily_stats(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_media_daily_stats")
    assert good(rows, "silver_media_daily_stats") == [
        {
            "media_id": "med1aaaaaa",
            "stat_date": date(2026, 11, 19),
            "load_count": 12,
            "play_count": 5,
            "hours_watched": 0.75,
            "watch_time_seconds": 2700.0,
            "ingested_at": T2,
            "run_id": R2,
        },
        {
            "media_id": "med1aaaaaa",
            "stat_date": date(2026, 11, 20),
            "load_count": 0,
            "play_count": 0,
            "hours_watched": 0.0,
            "watch_time_seconds": 0.0,
            "ingested_at": T2,
            "run_id": R2,
        },
    ]
    assert rejected(rows) == [
        ("/2026-11-20", "missing media_id", R2),
        ("med2bbbbbb/", "missing stat_date", R2),
        ("med2bbbbbb/2026-11-20", "negative play_count", R2),
        ("med2bbbbbb/2026-13-45", "stat_date not a date", R2),
    ]


def test_silver_media_lifetime_stats(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_media_lifetime_stats")
    assert good(rows, "silver_media_lifetime_stats") == [
        {
            "media_id": "med1aaaaaa",
            "load_count": 110,
            "play_count": 88,
            "play_rate": 0.8,
            "hours_watched": 24.5,
            "watch_time_seconds": 88200.0,
            "engagement": 0.5,
            "visitor_count": 99,
            "ingested_at": T2,
            "run_id": R2,
        }
    ]
    assert rejected(rows) == [("med2bbbbbb", "negative visitor_count", R2)]


def test_silver_media_engagement(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "silver_media_engagement")
    assert good(rows, "silver_media_engagement") == [
        # med1: the R2 curve wins as a whole (2 buckets, not R1's 3); rewatch_data shorter -> NULL
        {
            "media_id": "med1aaaaaa",
            "bucket_index": 0,
            "bucket_count": 2,
            "viewers": 6,
            "rewatchers": 2,
            "engagement": 0.6,
            "ingested_at": T2,
            "run_id": R2,
        },
        {
            "media_id": "med1aaaaaa",
            "bucket_index": 1,
            "bucket_count": 2,
            "viewers": 5,
            "rewatchers": None,
            "engagement": 0.6,
            "ingested_at": T2,
            "run_id": R2,
        },
        # med5: empty curve -> no rows, not quarantined; med6: no rewatch_data at all
        {
            "media_id": "med6ffffff",
            "bucket_index": 0,
            "bucket_count": 2,
            "viewers": 2,
            "rewatchers": None,
            "engagement": 0.2,
            "ingested_at": T2,
            "run_id": R2,
        },
        {
            "media_id": "med6ffffff",
            "bucket_index": 1,
            "bucket_count": 2,
            "viewers": 1,
            "rewatchers": None,
            "engagement": 0.2,
            "ingested_at": T2,
            "run_id": R2,
        },
    ]
    assert rejected(rows) == [
        ("med2bbbbbb", "negative engagement_data", R2),
        ("med3cccccc", "engagement_data not an array of numbers", R2),
        ("med4dddddd", "missing engagement_data", R2),
    ]


def test_engagement_buckets_keep_their_order_on_long_curves() -> None:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    data = list(range(1000, 0, -1))
    load_bronze(
        c,
        {"media_engagement": [line(R1, {"engagement": 0.5, "engagement_data": data, "rewatch_data": data}, "m")]},
    )
    rows = sorted(good(run(c, "silver_media_engagement"), "silver_media_engagement"), key=lambda r: r["bucket_index"])
    assert [r["bucket_index"] for r in rows] == list(range(1000))
    assert [r["viewers"] for r in rows] == data
    assert [r["rewatchers"] for r in rows] == data
    assert {r["bucket_count"] for r in rows} == {1000}

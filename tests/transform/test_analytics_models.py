"""Wistia's modern analytics (issue 15) through the real runner: hand-made Bronze (`analytics_lake.py`) to Silver
and Gold, by hand-computed values; quarantine reasons; NULL where not ingested; modern-vs-v1 drift in the run
summary and `status`; an incremental run after the next day's Bronze equals a full rebuild.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.tables_compare import assert_same_rows
from tests.transform.analytics_lake import (
    HOSTILE_MEDIA,
    QUARANTINED_A,
    QUARANTINED_A_COUNT,
    write_run_a,
    write_run_b,
)
from tests.transform.fixture_lake import M1, M2, build
from wistia_analytics.commands.status import print_report
from wistia_analytics.commands.transform import transform_table
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.query.lake_status import lake_status
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

D31, D1, D2, D3 = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
NEW_TABLES = (
    "silver_media_analytics_daily",
    "silver_media_traffic_daily",
    "silver_media_embed_locations_daily",
    "silver_media_conversions",
    "silver_media_languages",
    "gold_media_traffic_daily",
    "gold_media_embed_daily",
    "gold_leads",
)
LINEAGE = ("ingested_at", "run_id", "source_file")


def transform(lake: Path, *, full: bool = False, hash_identity: bool = False) -> TransformResult:
    storage = Storage.from_uri(str(lake))
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine, full_rebuild=full, hash_identity=hash_identity).run()
    finally:
        engine.close()


def rows(lake: Path, table: str, where: str = "") -> list[dict[str, Any]]:
    """Rows of a published table as dicts without the lineage columns, sorted by their values."""
    con, _ = open_catalog(Storage.from_uri(str(lake)), tables=(table,))
    try:
        layer, name = layer_and_name(table)
        cursor = con.execute(f"SELECT * FROM {layer}.{name} {where}")
        names = [d[0] for d in cursor.description]
        out = [{k: v for k, v in zip(names, r, strict=True) if k not in LINEAGE} for r in cursor.fetchall()]
    finally:
        con.close()
    return sorted(out, key=lambda r: repr(list(r.values())))


def snapshot(lake: Path) -> dict[str, list[tuple[object, ...]]]:
    con, _ = open_catalog(Storage.from_uri(str(lake)))
    try:
        return {t: con.execute("SELECT * FROM {}.{}".format(*layer_and_name(t))).fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The fixture lake with run A (full build), then run B (incremental build), and a full rebuild of a copy."""
    lake = tmp_path_factory.mktemp("analytics") / "lake"
    storage = Storage.from_uri(str(lake))
    build(storage, second=False)
    write_run_a(storage)
    first = transform(lake)
    after_a = {t: rows(lake, t) for t in ("gold_reconciliation", "silver_media_traffic_daily")}
    write_run_b(storage)
    build_second = transform(lake)
    copy = lake.parent / "copy"
    shutil.copytree(lake, copy)
    rebuilt = transform(copy, full=True)
    yield {"lake": lake, "copy": copy, "first": first, "second": build_second, "rebuilt": rebuilt, "a": after_a}


def test_runs_succeed_and_quarantine_with_reasons(lakes: dict[str, Any]) -> None:
    first, second = lakes["first"], lakes["second"]
    assert (first.mode, first.status, second.mode, second.status) == ("full", "success", "incremental", "success")
    for entity, reasons in QUARANTINED_A.items():
        assert first.quarantined[entity] == len(reasons), entity
        assert second.quarantined[entity] == 0, entity  # run B is clean
    quarantine = rows(lakes["lake"], "silver_quarantine")
    got = sorted((r["entity"], r["reject_reason"]) for r in quarantine if r["entity"] in QUARANTINED_A)
    assert got == sorted((e, reason) for e, reasons in QUARANTINED_A.items() for reason in reasons)
    assert len(got) == QUARANTINED_A_COUNT
    hostile = next(r for r in quarantine if r["reject_reason"].startswith(f"media_id {HOSTILE_MEDIA}"))
    assert hostile["record"] == '{"utm_source":"facebook","loads":1,"plays":1,"engagement_rate":0.5}'


def test_incremental_after_the_next_day_equals_a_full_rebuild(lakes: dict[str, Any]) -> None:
    assert lakes["rebuilt"].mode == "full"
    incremental, full = snapshot(lakes["lake"]), snapshot(lakes["copy"])
    for table in TABLES:
        assert_same_rows(incremental[table], full[table], table)
    touched = {m.name: m.partitions_written for m in lakes["second"].models}
    assert touched["gold_media_traffic_daily"] == 2  # the replaced 11-01 response and the new day
    assert touched["gold_media_embed_daily"] == 2  # 11-01 (M1 renamed) and the new day


def test_silver_analytics_daily(lakes: dict[str, Any]) -> None:
    got = {(r["media_id"], r["stat_date"]): r for r in rows(lakes["lake"], "silver_media_analytics_daily")}
    assert sorted(got) == [(M1, D31), (M1, D1), (M1, D2), (M1, D3), (M2, D1), (M2, D3)]
    assert got[M1, D1] == {
        "media_id": M1,
        "stat_date": D1,
        "unique_loads": 8,
        "unique_plays": 3,
        "plays": 3,
        "play_rate": 0.375,
        "played_time_seconds": 175.0,
        "unique_visitors": 7,
        "engagement_rate": 0.5833,
        "cta_impressions": 2,
        "cta_conversions": 1,
        "cta_conversion_rate": 0.5,
        "form_conversions": 1,
    }
    assert (got[M1, D2]["plays"], got[M1, D2]["unique_plays"]) == (1, 1)  # run B's re-delivery wins
    assert got[M2, D1]["played_time_seconds"] == 200.4 and got[M2, D1]["play_rate"] is None  # null stays NULL


def test_silver_traffic_replaces_a_response_as_a_whole(lakes: dict[str, Any]) -> None:
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["media_id"], r["stat_date"], r["dimension"], r["value"], r["loads"], r["plays"])

    before = sorted(key(r) for r in lakes["a"]["silver_media_traffic_daily"])
    after = sorted(key(r) for r in rows(lakes["lake"], "silver_media_traffic_daily"))
    assert (M1, D1, "utm_source", "(none)", 3, 1) in before and (M1, D1, "utm_source", "facebook", 5, 2) in before
    assert after == [
        (M1, D1, "referrer_domain", "(none)", 3, 1),  # "" is the group without a referrer
        (M1, D1, "referrer_domain", "l.facebook.com", 5, 2),
        (M1, D1, "utm_source", "facebook", 6, 3),  # the newer response: "(none)" left it
        (M2, D1, "utm_source", "(none)", 2, 0),  # null is "(none)"; "2" and "0" read as numbers
        (M2, D3, "utm_source", "youtube", 4, 2),
    ]


def test_silver_embed_conversions_languages(lakes: dict[str, Any]) -> None:
    embed = rows(lakes["lake"], "silver_media_embed_locations_daily")
    assert [(r["media_id"], r["stat_date"], r["embed_url"], r["unique_loads"]) for r in embed] == [
        (M1, D1, "https://partner.example.org/p", None),
        (M1, D1, "https://www.example.com/page/", 7),
        (M2, D3, "https://www.example.com/page/", 1),
    ]
    leads = rows(lakes["lake"], "silver_media_conversions")
    assert sorted((r["first_name"], r["email"], r["conversion_date"]) for r in leads) == [
        ("Ada", "ADA@Example.com", D1),  # delivered twice, one lead
        ("Ada", "ada@example.com", D3),
        ("Zed", "zed@example.net", D1),
    ]
    assert len({r["lead_key"] for r in leads}) == 3
    languages = rows(lakes["lake"], "silver_media_languages")
    assert languages == [
        {
            "media_id": M1,
            "language": "en",
            "plays": 4,
            "percent_of_total_plays": 1.0,
            "captions_support": True,
            "window_start": date(2026, 10, 4),
            "window_end": D2,
        }
    ]  # the newest snapshot replaced the media's languages (de is gone)


def test_gold_media_daily_gains_the_analytics_columns(lakes: dict[str, Any]) -> None:
    columns = ("unique_loads", "unique_plays", "unique_visitors_wistia", "cta_impressions", "cta_conversions")
    got = {
        (r["media_id"], r["activity_date"]): (r["loads"], r["plays"], *(r[c] for c in columns), r["form_conversions"])
        for r in rows(lakes["lake"], "gold_media_daily")
    }
    assert got == {
        (M1, D1): (10, 3, 8, 3, 7, 2, 1, 1),
        (M1, D2): (4, 1, 4, 1, 0, 0, 0, 0),  # unique_loads sent as the string "4"
        (M2, D1): (5, 2, 5, 2, 0, 0, 0, 0),
        # neither by_date nor events, but plays in the analytics: a row of its own (the zero buckets of 10-31
        # and 11-03 for M1 are not)
        (M2, D3): (0, 0, 1, 1, 0, 0, 0, 0),
    }


def test_gold_traffic_embed_and_leads(lakes: dict[str, Any]) -> None:
    traffic = {
        (r["media_id"], r["activity_date"], r["dimension"], r["value"]): r
        for r in rows(lakes["lake"], "gold_media_traffic_daily")
    }
    facebook = traffic[M1, D1, "utm_source", "facebook"]
    assert facebook["media_name"] == "Launch v2"  # the rename of run B reached the untouched-by-traffic day too
    assert (facebook["loads"], facebook["plays"], facebook["play_rate"]) == (6, 3, 0.5)
    assert facebook["played_time_seconds"] == pytest.approx(3 * 0.5 * 100.0)  # plays x engagement x duration
    assert facebook["percent_viewed_sum"] == pytest.approx(1.5)
    no_engagement = traffic[M1, D1, "referrer_domain", "(none)"]
    assert no_engagement["play_rate"] == pytest.approx(1 / 3) and no_engagement["played_time_seconds"] is None
    assert traffic[M2, D1, "utm_source", "(none)"]["played_time_seconds"] == 0.0  # no plays: no watch time
    assert traffic[M2, D3, "utm_source", "youtube"]["played_time_seconds"] == pytest.approx(2 * 0.25 * 200.0)

    embed = {
        (r["media_id"], r["activity_date"], r["page_url"]): r for r in rows(lakes["lake"], "gold_media_embed_daily")
    }
    page = embed[M1, D1, "https://www.example.com/page/"]
    assert (page["embed_domain"], page["page_title"], page["loads"], page["plays"]) == (
        "www.example.com",
        "Page page/",
        8,
        3,
    )
    assert page["play_rate"] == pytest.approx(3 / 7)  # unique_plays / unique_loads, not Wistia's 0.375
    assert (page["played_time_seconds"], page["unique_visitors"]) == (175.0, 8)
    assert embed[M1, D1, "https://partner.example.org/p"]["play_rate"] == 0.0  # no unique counts: Wistia's own

    leads = {(r["first_name"], r["email"]): r for r in rows(lakes["lake"], "gold_leads")}
    assert leads["Ada", "ADA@Example.com"]["visitor_key"] == "v1"  # ada@example.com, case-insensitively
    assert leads["Ada", "ada@example.com"]["visitor_key"] == "v1"
    assert leads["Zed", "zed@example.net"]["visitor_key"] is None  # no visitor with that email
    assert leads["Zed", "zed@example.net"]["media_name"] == "Launch v2"
    assert leads["Zed", "zed@example.net"]["converted_at"] == datetime.fromisoformat("2026-11-01T10:00:00+00:00")


def test_reconciliation_compares_the_modern_api_with_v1(lakes: dict[str, Any]) -> None:
    def modern(recon: list[dict[str, Any]]) -> dict[tuple[Any, Any], tuple[Any, ...]]:
        return {
            (r["media_id"], r["activity_date"]): (
                r["plays_modern"],
                r["plays_modern_diff"],
                None if r["played_seconds_modern_diff"] is None else round(r["played_seconds_modern_diff"], 6),
                r["modern_within_tolerance"],
            )
            for r in recon
        }

    after_a = modern(lakes["a"]["gold_reconciliation"])
    assert after_a == {
        (M1, D1): (3, 0, 0.0, True),
        (M1, D2): (2, 1, 0.0, False),  # 2 plays against by_date's 1
        (M2, D1): (2, 0, 0.4, True),  # 0.4 s off: within 0.5 s
        (M2, D3): (1, 1, 50.0, False),
        (M1, None): (None, None, None, None),  # lifetime rows: no modern figures
        (M2, None): (None, None, None, None),
    }
    assert (lakes["first"].modern_drift_rows, lakes["first"].modern_checked) == (2, 4)
    after_b = modern(rows(lakes["lake"], "gold_reconciliation"))
    assert after_b[M1, D2] == (1, 0, 0.0, True)  # the corrected bucket
    assert (lakes["second"].modern_drift_rows, lakes["second"].modern_checked) == (1, 4)
    assert lakes["second"].drift_rows == lakes["rebuilt"].drift_rows  # the v1 drift count is unchanged in kind


def test_run_summary_and_status_report_modern_drift(lakes: dict[str, Any]) -> None:
    caption = str(transform_table(lakes["second"]).caption)
    assert "reconciliation rows with drift: " in caption  # the existing wording stays
    assert caption.endswith("\nmodern API: 1 of 4 media-days drift from v1 by_date")
    doc = lake_status(Storage.from_uri(str(lakes["lake"])))
    assert doc["modern_reconciliation"] == {"rows_with_drift": 1, "max_abs_plays_diff": 1, "rows": 4}
    console = Console(record=True, width=200)
    print_report(doc, console)
    text = console.export_text()
    assert "modern API: 1 of 4 media-days drift from v1 by_date (max plays diff 1)" in text
    assert "reconciliation: " in text


def test_without_analytics_the_tables_are_empty_and_the_columns_null(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    build(Storage.from_uri(str(lake)))
    result = transform(lake)
    assert result.status == "success" and result.modern_checked == 0
    counts = {m.name: m.rows for m in result.models}
    assert all(counts[t] == 0 for t in NEW_TABLES), counts
    daily = rows(lake, "gold_media_daily")
    assert daily and all(r["unique_loads"] is None and r["form_conversions"] is None for r in daily)
    assert all(r["modern_within_tolerance"] is None for r in rows(lake, "gold_reconciliation"))
    assert "modern API" not in str(transform_table(result).caption)  # nothing compared: nothing said
    assert "modern_reconciliation" not in lake_status(Storage.from_uri(str(lake)))


def test_hash_identity_hashes_leads_and_still_matches_visitors(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    storage = Storage.from_uri(str(lake))
    build(storage, second=False)
    write_run_a(storage)
    assert transform(lake, hash_identity=True).status == "success"

    def md5(s: str) -> str:
        return hashlib.md5(s.lower().encode()).hexdigest()

    leads = {r["email"]: r for r in rows(lake, "gold_leads")}
    ada = leads[md5("ADA@Example.com")]
    assert (ada["first_name"], ada["last_name"], ada["visitor_key"]) == (md5("Ada"), md5("Okafor"), "v1")
    assert leads[md5("zed@example.net")]["visitor_key"] is None


def test_published_columns_are_the_ones_docs_models_md_lists(lakes: dict[str, Any]) -> None:
    """Every new table, and the two extended ones, as docs/models.md lists its columns (in order)."""
    doc = (Path(__file__).parents[2] / "docs" / "models.md").read_text()
    listed = {}
    for line in doc.splitlines():
        match = re.match(r"\| `((?:silver|gold)_\w+)` \| [^|]+ \| (.+) \|$", line)
        if match:
            listed[match[1]] = [re.sub(r"\s*\(.*?\)", "", c).strip() for c in match[2].split(", ")]
    _, manifests = open_catalog(Storage.from_uri(str(lakes["lake"])), tables=())
    for table in (*NEW_TABLES, "gold_media_daily", "gold_reconciliation"):
        assert [c for c, _ in manifests[table].columns] == listed[table], table

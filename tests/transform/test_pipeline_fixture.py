"""The hand-built Bronze fixture through the real runner and engine; expected Gold values computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transform.fixture_lake import M1, M2, build
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine


def transform(storage: Storage, *, full: bool = False) -> object:
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine, full_rebuild=full).run()
    finally:
        engine.close()


@pytest.fixture()
def lake(tmp_path: Path) -> Storage:
    storage = Storage.from_uri(str(tmp_path))
    build(storage)
    result = transform(storage)
    assert result.status == "success", result  # type: ignore[attr-defined]
    return storage


def q(storage: Storage, sql: str) -> list[tuple[object, ...]]:
    con, _ = open_catalog(storage)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_media_daily_by_hand(lake: Storage) -> None:
    rows = q(
        lake,
        "SELECT media_id, CAST(activity_date AS VARCHAR), loads, plays, play_rate, watch_time_seconds, "
        "event_plays, percent_viewed_sum, engagement_rate, unique_visitors, media_name, project_name "
        "FROM gold.media_daily ORDER BY 1, 2",
    )
    expected = [
        (M1, "2026-11-01", 10, 3, 0.3, 175.0, 3, 1.75, 1.75 / 3, 2, "Launch", "Marketing"),
        (M1, "2026-11-02", 4, 1, 0.25, 10.0, 1, 0.1, 0.1, 1, "Launch", "Marketing"),
        (M2, "2026-11-01", 5, 2, 0.4, 200.0, 2, 1.0, 0.5, 2, "Tour", "Marketing"),
    ]
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got[:2] == want[:2]
        assert got[2:4] == want[2:4]
        assert got[4:6] == pytest.approx(want[4:6], abs=1e-9)
        assert got[6] == want[6]
        assert got[7:9] == pytest.approx(want[7:9], abs=1e-9)
        assert got[9:] == want[9:]


def test_account_channel_visitor_tables_by_hand(lake: Storage) -> None:
    account = q(
        lake,
        "SELECT CAST(activity_date AS VARCHAR), loads, plays, watch_time_seconds, engagement_rate, "
        "unique_visitors, active_medias FROM gold.account_daily ORDER BY 1",
    )
    assert account[0][:3] == ("2026-11-01", 15, 5)
    assert account[0][3:5] == pytest.approx((375.0, 2.75 / 5), abs=1e-9)
    assert account[0][5:] == (2, 2)
    assert account[1][:3] == ("2026-11-02", 4, 1) and account[1][5:] == (1, 1)
    channels = q(
        lake,
        "SELECT media_id, channel, plays, watch_time_seconds, unique_visitors FROM gold.media_channel_daily "
        "WHERE activity_date = DATE '2026-11-01' ORDER BY 1, 2",
    )
    assert channels == [
        (M1, "direct", 1, 100.0, 1),
        (M1, "email", 1, 25.0, 1),
        (M1, "facebook", 1, 50.0, 1),
        (M2, "youtube", 2, 200.0, 2),
    ]
    visitors = q(
        lake,
        "SELECT visitor_key, media_id, plays, watch_time_seconds, avg_percent_viewed, visitor_name, "
        "visitor_email, is_identified FROM gold.visitor_media_daily ORDER BY 1, 2, activity_date",
    )
    assert visitors == [
        ("v1", M1, 2, 150.0, 0.75, "Ada Okafor", "ada@example.com", True),
        ("v1", M2, 1, 100.0, 0.5, "Ada Okafor", "ada@example.com", True),
        ("v2", M1, 1, 25.0, 0.25, None, None, False),
        ("v2", M2, 1, 100.0, 0.5, None, None, False),
        ("v3", M1, 1, 10.0, 0.1, "", None, False),
    ]


def test_reconciliation_quarantine_and_curve(lake: Storage) -> None:
    drift = q(lake, "SELECT count(*) FROM gold.reconciliation WHERE NOT within_tolerance")
    assert drift == [(0,)]
    lifetime = q(
        lake,
        "SELECT media_id, plays_official, plays_from_events FROM gold.reconciliation "
        "WHERE scope = 'lifetime' ORDER BY 1",
    )
    assert lifetime == [(M1, 4, 4), (M2, 2, 2)]
    quarantine = q(lake, "SELECT entity, reject_reason FROM silver.quarantine ORDER BY reject_reason")
    assert [e for e, _ in quarantine] == ["event", "event"]
    assert any("percent_viewed" in r for _, r in quarantine) and any("event_key" in r for _, r in quarantine)
    curve = q(
        lake,
        f"SELECT bucket_index, viewers, rewatchers, retention FROM gold.media_engagement_curve "
        f"WHERE media_id = '{M1}' ORDER BY 1",
    )
    assert curve == [(0, 4, 1, 1.0), (1, 3, 0, 0.75), (2, 2, 1, 0.5), (3, 1, 0, 0.25)]


def test_personal_data_does_not_pass_bronze(lake: Storage) -> None:
    columns = {c for (c,) in q(lake, "SELECT column_name FROM (DESCRIBE silver.events)")}
    assert "ip" not in columns and "lat" not in columns
    assert q(lake, "SELECT DISTINCT lat_approx FROM silver.events") == [(47.6,)]


def test_rerun_changes_nothing_and_full_rebuild_is_identical(lake: Storage, tmp_path: Path) -> None:
    tables = [
        "gold.media_daily",
        "gold.visitor_media_daily",
        "gold.media_channel_daily",
        "gold.account_daily",
        "gold.reconciliation",
        "silver.events",
        "silver.quarantine",
    ]

    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        return {
            t: sorted(
                q(lake, f"SELECT * EXCLUDE (run_id) FROM {t}" if t.startswith("silver") else f"SELECT * FROM {t}"),
                key=repr,
            )
            for t in tables
        }

    before = snapshot()
    assert transform(lake).mode == "noop"  # type: ignore[attr-defined]
    full = transform(lake, full=True)
    assert full.mode == "full"  # type: ignore[attr-defined]
    assert snapshot() == before

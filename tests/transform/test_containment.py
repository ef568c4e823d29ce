"""Bad data is contained (issue 14): a bad row holds back only what depends on it; systemic failure fails loudly."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.transform.fixture_lake import M1, M2, first_run_pages, write_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import open_catalog
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)
RUN = "20261102T120000Z-aaaaaa"


def transform(storage: Storage, *, full: bool = False, **kwargs: Any) -> TransformResult:
    engine = DuckDBEngine(storage)
    try:
        return TransformRunner(storage, engine, full_rebuild=full, **kwargs).run()
    finally:
        engine.close()


def q(storage: Storage, sql: str) -> list[tuple[object, ...]]:
    con, _ = open_catalog(storage)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def pages_with(stream: str, change: Any) -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    pages = copy.deepcopy(first_run_pages())
    for s, records, _, _ in pages:
        if s == stream:
            for r in records:
                change(r)
    return pages


def test_negative_duration_quarantines_the_media_and_its_stats_only(tmp_path: Path) -> None:
    storage = Storage.from_uri(str(tmp_path / "lake"))

    def negative_m2(media: dict[str, Any]) -> None:
        if media["hashed_id"] == M2:
            media["duration"] = -5

    write_run(storage, RUN, AT, pages_with("medias", negative_m2))
    result = transform(storage)
    assert all(m.published for m in result.models), result.error
    # M2's events still name it: Gold's non-blocking reference check reports them (partial), nothing blocks
    failed = {(m.name, c.name) for m in result.models for c in m.checks if not c.passed}
    assert failed == {("gold_media_daily", "media_id references silver_medias.media_id")}
    assert result.exit_code == 3
    assert q(storage, "SELECT media_id FROM silver.medias") == [(M1,)]
    for table in ("media_daily_stats", "media_lifetime_stats", "media_engagement"):
        assert {r[0] for r in q(storage, f"SELECT media_id FROM silver.{table}")} == {M1}, table
    reasons = q(
        storage,
        "SELECT entity, reject_reason FROM silver.quarantine WHERE entity LIKE 'media%' ORDER BY entity, record_key",
    )
    dependent = f"media_id {M2} is quarantined (silver_medias: negative duration_seconds)"
    assert ("media", "negative duration_seconds") in reasons
    assert ("media_daily_stats", dependent) in reasons
    assert ("media_lifetime_stats", dependent) in reasons
    assert ("media_engagement", dependent) in reasons
    # Gold still has M1's day
    assert q(storage, f"SELECT count(*) FROM gold.media_daily WHERE media_id = '{M1}'")[0][0] > 0


def _gold(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    from wistia_analytics.contracts.tables import TABLES

    return {
        t.name: q(storage, f"SELECT * FROM gold.{t.name.removeprefix('gold_')}")
        for t in TABLES
        if t.name.startswith("gold_")
    }


def assert_same_gold(a: Storage, b: Storage) -> None:
    from tests.tables_compare import assert_same_rows

    left, right = _gold(a), _gold(b)
    for table in left:
        assert_same_rows(left[table], right[table], table)


def _truncate(storage: Storage, path: str) -> None:
    data = storage.read_bytes(path)
    storage.write_bytes(path, data[: len(data) // 2])


def test_truncated_bronze_file_is_quarantined_as_a_file_and_the_rest_builds(tmp_path: Path) -> None:
    from tests.transform.fixture_lake import build
    from wistia_analytics.lake.bronze import list_bronze_files

    clean = Storage.from_uri(str(tmp_path / "clean"))
    build(clean, second=False)
    assert transform(clean).exit_code == 0
    damaged = Storage.from_uri(str(tmp_path / "damaged"))
    build(damaged)  # the second run re-delivers two events: without it Gold is the same
    second = next(f for f in list_bronze_files(damaged, "events") if "bbbbbb" in f)
    _truncate(damaged, second)
    for full in (False, True):  # a first build, then a full rebuild: neither raises, both quarantine the file
        result = transform(damaged, full=full)
        assert result.exit_code == 0, result.error
        assert result.quarantined["bronze_file"] == 1
        rows = q(damaged, "SELECT record_key, reject_reason FROM silver.quarantine WHERE entity = 'bronze_file'")
        assert rows == [(second, "unreadable Bronze file: truncated gzip stream")]
        assert_same_gold(damaged, clean)


def test_a_new_truncated_file_is_quarantined_by_an_incremental_run(tmp_path: Path) -> None:
    from tests.transform.fixture_lake import build, second_run_pages
    from wistia_analytics.lake.bronze import list_bronze_files

    clean = Storage.from_uri(str(tmp_path / "clean"))
    build(clean, second=False)
    assert transform(clean).exit_code == 0
    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage, second=False)
    assert transform(storage).exit_code == 0
    write_run(storage, "20261103T120000Z-bbbbbb", datetime(2026, 11, 3, 12, tzinfo=UTC), second_run_pages())
    second = next(f for f in list_bronze_files(storage, "events") if "bbbbbb" in f)
    _truncate(storage, second)
    result = transform(storage)
    assert (result.mode, result.exit_code, result.quarantined.get("bronze_file")) == ("incremental", 0, 1)
    assert_same_gold(storage, clean)
    again = transform(storage)  # counted once: the file is not new any more
    assert again.mode == "noop"
    assert q(storage, "SELECT count(*) FROM silver.quarantine WHERE entity = 'bronze_file'") == [(1,)]


def test_renamed_field_fails_the_run_as_schema_drift_and_keeps_the_previous_version(tmp_path: Path) -> None:
    from tests.transform.fixture_lake import SITE, build, event
    from wistia_analytics.lake.runs import load_run
    from wistia_analytics.pipeline.alerts import evaluate

    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    assert transform(storage).exit_code == 0
    before = q(storage, "SELECT * FROM silver.events ORDER BY event_key")
    renamed = []
    for i in range(30):
        body = event(f"n{i}", M1, "v1", "2026-11-03T09:00:00.000Z", 0.5, SITE)
        body["eventKey"] = body.pop("event_key")
        renamed.append(body)
    write_run(
        storage,
        "20261104T120000Z-cccccc",
        datetime(2026, 11, 4, 12, tzinfo=UTC),
        [("events", renamed, "/stats/events.json", None)],
    )
    result = transform(storage)
    assert result.exit_code == 6
    assert "silver_events" in str(result.error) and "event_key" in str(result.error)
    assert q(storage, "SELECT * FROM silver.events ORDER BY event_key") == before
    record = load_run(storage, result.run_id)
    drift = record.extra["transform"]["schema_drift"]
    assert (drift["table"], drift["missing_fields"], drift["records"]) == ("silver_events", ["event_key"], 30)
    conditions = evaluate(storage, [record], stale_after_hours=1e6, now=datetime(2026, 11, 4, 13, tzinfo=UTC))
    drifted = [c for c in conditions if c.kind == "schema_drift"]
    assert len(drifted) == 1 and "event_key" in drifted[0].summary
    assert transform(storage).exit_code == 6  # every run fails loudly until the stream is fixed
    # (the next run is a full rebuild: 39 records); below the minimum number of records the share does not apply
    assert transform(storage, quarantine_min_records=100).exit_code in (0, 3)


def _all_tables(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    from wistia_analytics.contracts.tables import TABLES, layer_and_name

    out = {}
    for t in TABLES:
        layer, name = layer_and_name(t.name)
        out[t.name] = q(storage, f"SELECT * FROM {layer}.{name}")
    return out


def assert_same_tables(a: Storage, b: Storage) -> None:
    from tests.tables_compare import assert_same_rows

    left, right = _all_tables(a), _all_tables(b)
    for table in left:
        left_rows = [r for r in left[table]]
        right_rows = [r for r in right[table]]
        assert_same_rows(_no_lineage(table, left_rows), _no_lineage(table, right_rows), table)


def _no_lineage(table: str, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(v for v in r if not (isinstance(v, str) and v.startswith("2026120"))) for r in rows]


def test_status_verify_names_damage_and_the_next_run_repairs_it(tmp_path: Path) -> None:
    from tests.transform.fixture_lake import build
    from wistia_analytics.commands.status import verify_lake
    from wistia_analytics.lake.table_versions import TableStore, manifest_path

    clean = Storage.from_uri(str(tmp_path / "clean"))
    build(clean)
    assert transform(clean).exit_code == 0
    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    assert transform(storage).exit_code == 0
    assert verify_lake(storage)["healthy"]
    store = TableStore(storage)
    events = store.current("silver_events")
    gold = store.current("gold_media_daily")
    assert events is not None and gold is not None
    lost_event_file = events.files["2026-11-02"][0]
    lost_gold_file = gold.files["2026-11-01"][0]
    storage.delete(lost_event_file)
    storage.delete(lost_gold_file)
    found = verify_lake(storage)
    assert not found["healthy"]
    assert {(d["table"], d["partition"], d["path"], d["problem"]) for d in found["damaged"]} == {
        ("silver_events", "2026-11-02", lost_event_file, "missing"),
        ("gold_media_daily", "2026-11-01", lost_gold_file, "missing"),
    }
    result = transform(storage)
    assert (result.mode, result.exit_code) == ("incremental", 0)
    # exactly the damaged partitions (and, downstream, those dates) were rewritten
    assert {m.name: m.partitions_written for m in result.models if m.partitions_written}["silver_events"] == 1
    assert verify_lake(storage)["healthy"]
    assert_same_tables(storage, clean)

    # a manifest overwritten with garbage, and a Parquet file whose footer is gone
    storage.write_bytes(manifest_path("gold_account_daily"), b"\x00garbage{")
    curve = store.current("gold_media_engagement_curve")
    assert curve is not None
    storage.write_bytes(curve.all_files()[0], b"PAR1 not really")
    found = verify_lake(storage)
    assert {(d["table"], d["partition"]) for d in found["damaged"]} == {
        ("gold_account_daily", None),
        ("gold_media_engagement_curve", ""),
    }
    result = transform(storage)
    assert result.exit_code == 0
    assert verify_lake(storage)["healthy"]
    assert_same_tables(storage, clean)


def test_status_verify_command_exits_3_on_damage(tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from tests.transform.fixture_lake import build
    from wistia_analytics.cli import app
    from wistia_analytics.lake.table_versions import TableStore

    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    assert transform(storage).exit_code == 0
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.delenv("WISTIA_API_TOKEN", raising=False)
    assert CliRunner().invoke(app, ["status", "--verify"]).exit_code == 0
    events = TableStore(storage).current("silver_events")
    assert events is not None
    storage.delete(events.files["2026-11-01"][0])
    plain = CliRunner().invoke(app, ["status"])  # status alone no longer crashes on the damage
    assert plain.exit_code == 0, plain.output
    result = CliRunner().invoke(app, ["status", "--verify", "--format", "json"])
    assert result.exit_code == 3, result.output
    assert '"silver_events"' in result.output and events.files["2026-11-01"][0] in result.output

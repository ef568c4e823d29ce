"""The audit step on real DuckDB relations and real Parquet files: which checks run, what they count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wistia_analytics.errors import DataQualityError, ExitCode
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.audit import AuditResult, ChecksFailedError, audit
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.kept_partitions import KeptPartitions
from wistia_analytics.transform.models import MODELS_BY_NAME

EVENTS = MODELS_BY_NAME["silver_events"]  # key event_key, partitioned by event_date, non-empty if Bronze is
MEDIA_DAILY = MODELS_BY_NAME["gold_media_daily"]  # its partition column is part of its key


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    e = DuckDBEngine(Storage.from_uri(str(tmp_path)), threads=1)
    yield e
    e.close()


def events(engine: DuckDBEngine, name: str, rows: list[tuple[str | None, str, float, float]]) -> None:
    values = (
        ", ".join(f"({'NULL' if k is None else repr(k)}, DATE '{d}', {pv}, {ws})" for k, d, pv, ws in rows)
        or "(NULL, NULL, NULL, NULL)"
    )
    where = "" if rows else " WHERE false"
    engine.materialize(
        name,
        "SELECT CAST(k AS VARCHAR) AS event_key, CAST(d AS DATE) AS event_date, CAST(pv AS DOUBLE) AS "
        f"percent_viewed, CAST(ws AS DOUBLE) AS watch_seconds FROM (VALUES {values}) t(k, d, pv, ws){where}",
    )


def raw(engine: DuckDBEngine, good: int, bad: int) -> str:
    engine.materialize(
        "silver_events__raw",
        f"SELECT CAST(NULL AS VARCHAR) AS reject_reason FROM range({good}) "
        f"UNION ALL SELECT 'bad json' FROM range({bad})",
    )
    return "silver_events__raw"


def by_name(result: AuditResult) -> dict[str, int]:
    return {r.name: r.violations for r in result.checks}


def test_a_clean_version_passes_every_check(engine: DuckDBEngine) -> None:
    events(engine, "candidate", [("e1", "2026-11-01", 0.5, 10), ("e2", "2026-11-02", 1.0, 30)])
    result = audit(engine, EVENTS, "candidate", rows=2, kept=None, raw=raw(engine, good=2, bad=0))
    assert by_name(result) == {
        "percent_viewed in [0, 1]": 0,
        "watch_seconds in [0, ]": 0,
        "key not null (event_key)": 0,
        "key unique (event_key)": 0,
        "non-empty (since bronze_events has valid rows)": 0,
    }
    assert result.total_rows == 2 and result.failed == []
    result.require_passed("silver_events")  # does not raise


def test_failed_checks_are_counted_and_stop_the_publish(engine: DuckDBEngine) -> None:
    events(
        engine,
        "candidate",
        [("e1", "2026-11-01", 1.5, 10), ("e1", "2026-11-01", 0.2, -1), (None, "2026-11-02", 0.1, 1)],
    )
    result = audit(engine, EVENTS, "candidate", rows=3, kept=None, raw=raw(engine, good=1, bad=0))
    counts = by_name(result)
    assert (counts["percent_viewed in [0, 1]"], counts["watch_seconds in [0, ]"]) == (1, 1)
    assert (counts["key not null (event_key)"], counts["key unique (event_key)"]) == (1, 1)
    with pytest.raises(ChecksFailedError, match=r"silver_events failed checks \(.*key unique \(event_key\): 1 rows"):
        result.require_passed("silver_events")
    assert issubclass(ChecksFailedError, DataQualityError) and ChecksFailedError.exit_code is ExitCode.FAILURE


def test_an_empty_table_is_a_bug_only_when_some_input_was_valid(engine: DuckDBEngine) -> None:
    events(engine, "candidate", [])
    empty = audit(engine, EVENTS, "candidate", rows=0, kept=None, raw=raw(engine, good=1, bad=3))
    assert by_name(empty)["non-empty (since bronze_events has valid rows)"] == 1
    all_rejected = audit(engine, EVENTS, "candidate", rows=0, kept=None, raw=raw(engine, good=0, bad=3))
    assert "non-empty (since bronze_events has valid rows)" not in by_name(all_rejected)
    assert all_rejected.failed == []


def test_a_new_key_already_in_a_kept_partition_is_a_duplicate(engine: DuckDBEngine) -> None:
    events(engine, "previous", [("e1", "2026-11-01", 0.5, 1), ("e2", "2026-11-01", 0.5, 1), ("e3", "2026-11-02", 0, 0)])
    written = engine.write_parquet("previous", "silver_events/v=old", "event_date")
    kept = KeptPartitions({"2026-11-01": written["2026-11-01"]}, engine.columns("previous"))
    # 2026-11-02 is re-derived: e2 moved there, e4 is new; e2 is still in the kept 2026-11-01.
    events(engine, "candidate", [("e2", "2026-11-02", 0.5, 1), ("e4", "2026-11-02", 0.5, 1)])
    result = audit(engine, EVENTS, "candidate", rows=2, kept=kept, raw=raw(engine, good=2, bad=0))
    assert by_name(result)["key unique (event_key)"] == 1
    assert result.total_rows == 4  # the two rebuilt rows plus the two kept
    with pytest.raises(ChecksFailedError):
        result.require_passed("silver_events")


def test_no_cross_partition_check_when_the_partition_is_part_of_the_key(engine: DuckDBEngine) -> None:
    engine.materialize(
        "previous",
        "SELECT 'm1' AS media_id, DATE '2026-11-01' AS activity_date, 3 AS plays, 5 AS loads, 0.5 AS engagement_rate",
    )
    written = engine.write_parquet("previous", "gold_media_daily/v=old", "activity_date")
    kept = KeptPartitions(written, engine.columns("previous"))
    engine.materialize(
        "candidate",
        "SELECT 'm1' AS media_id, DATE '2026-11-02' AS activity_date, 1 AS plays, 2 AS loads, 0.5 AS engagement_rate",
    )
    engine.materialize("silver_medias", "SELECT 'm1' AS media_id")
    result = audit(engine, MEDIA_DAILY, "candidate", rows=1, kept=kept, raw="unused__raw")
    assert by_name(result)["key unique (media_id, activity_date)"] == 0
    assert result.total_rows == 2 and result.failed == []

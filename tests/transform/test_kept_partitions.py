"""Which partitions of the current version an incremental run keeps."""

from __future__ import annotations

from wistia_analytics.lake.table_versions import Manifest
from wistia_analytics.transform.kept_partitions import KeptPartitions

COLUMNS = [["event_key", "VARCHAR"], ["event_date", "DATE"]]
PREVIOUS = Manifest(
    table="silver_events",
    version="v1",
    run_id="r1",
    created_at="2026-11-25T00:00:00+00:00",
    partition_by="event_date",
    files={"2026-11-01": ["a.parquet", "b.parquet"], "2026-11-02": ["c.parquet"], "2026-11-03": ["d.parquet"]},
    row_count=9,
    columns=COLUMNS,
)


def test_the_partitions_not_rebuilt_are_kept_with_their_files() -> None:
    kept = KeptPartitions.of(PREVIOUS, {"2026-11-02", "2026-11-09"})
    assert kept == KeptPartitions({"2026-11-01": ["a.parquet", "b.parquet"], "2026-11-03": ["d.parquet"]}, COLUMNS)
    assert kept.all_files() == ["a.parquet", "b.parquet", "d.parquet"]


def test_nothing_is_kept_on_a_whole_rebuild_or_a_first_version() -> None:
    assert KeptPartitions.of(PREVIOUS, None) is None
    assert KeptPartitions.of(None, {"2026-11-02"}) is None
    assert KeptPartitions.of(PREVIOUS, set(PREVIOUS.files)) == KeptPartitions({}, COLUMNS)

"""The model registry's declarations that the runner relies on instead of model names."""

from __future__ import annotations

from wistia_analytics.transform.models import MODELS, MODELS_BY_NAME


def test_every_partitioned_input_is_read_by_the_column_its_dates_come_from() -> None:
    for model in MODELS:
        for table, column in model.partitioned_inputs.items():
            source = MODELS_BY_NAME[table]
            assert (source.partition_by or source.touched_dates) == column, (model.name, table)


def test_only_unpartitioned_tables_declare_touched_dates() -> None:
    declared = {m.name: m.touched_dates for m in MODELS if m.touched_dates}
    assert declared == {
        "silver_media_daily_stats": "stat_date",
        "silver_media_analytics_daily": "stat_date",
        "silver_media_traffic_daily": "stat_date",
        "silver_media_embed_locations_daily": "stat_date",
    }
    assert all(MODELS_BY_NAME[name].partition_by is None for name in declared)

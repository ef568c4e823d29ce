"""Every Silver and Gold table as a contract: name, layer, key and partition column, declared once as data.

The transform builds each table to this contract (its SQL and checks live in `transform/models.py`), the lake
publishes it under this name, and readers (`query`, `status`, the dashboard, Athena) find it by this name. The
columns of each table are the contract in docs/models.md and are recorded with each published version.
"""

from __future__ import annotations

from dataclasses import dataclass

QUARANTINE_TABLE = "silver_quarantine"
LAYERS = ("silver", "gold")


@dataclass(frozen=True)
class TableContract:
    """One published table: `key` identifies a row (unique, not null but for `nullable_key`)."""

    name: str
    key: tuple[str, ...]
    partition_by: str | None = None  # a date column: one folder per day, the unit of incremental rebuilds
    nullable_key: tuple[str, ...] = ()  # key columns allowed to be NULL (still part of uniqueness)

    @property
    def layer(self) -> str:
        return layer_and_name(self.name)[0]


def layer_and_name(table: str) -> tuple[str, str]:
    """``silver_events`` -> (``silver``, ``events``)."""
    layer, _, name = table.partition("_")
    if layer not in LAYERS or not name:
        raise ValueError(f"not a Silver/Gold table name: {table!r}")
    return layer, name


TABLES: tuple[TableContract, ...] = (
    TableContract("silver_projects", ("project_id",)),
    TableContract("silver_medias", ("media_id",)),
    TableContract("silver_visitors", ("visitor_key",)),
    TableContract("silver_media_lifetime_stats", ("media_id",)),
    TableContract("silver_media_daily_stats", ("media_id", "stat_date")),
    TableContract("silver_media_engagement", ("media_id", "bucket_index")),
    TableContract("silver_events", ("event_key",), partition_by="event_date"),
    # Wistia's own analytics (the modern Data API): one table per stream, unpartitioned like the v1 stats.
    TableContract("silver_media_analytics_daily", ("media_id", "stat_date")),
    TableContract("silver_media_traffic_daily", ("media_id", "stat_date", "dimension", "value")),
    TableContract("silver_media_embed_locations_daily", ("media_id", "stat_date", "embed_url")),
    TableContract("silver_media_conversions", ("lead_key",)),
    TableContract("silver_media_languages", ("media_id", "language")),
    TableContract("gold_media_daily", ("media_id", "activity_date"), partition_by="activity_date"),
    TableContract(
        "gold_visitor_media_daily", ("visitor_key", "media_id", "activity_date"), partition_by="activity_date"
    ),
    TableContract("gold_media_channel_daily", ("media_id", "activity_date", "channel"), partition_by="activity_date"),
    TableContract("gold_account_daily", ("activity_date",), partition_by="activity_date"),
    TableContract("gold_media_engagement_curve", ("media_id", "bucket_index")),
    TableContract(
        "gold_media_traffic_daily", ("media_id", "activity_date", "dimension", "value"), partition_by="activity_date"
    ),
    TableContract("gold_media_embed_daily", ("media_id", "activity_date", "page_url"), partition_by="activity_date"),
    TableContract("gold_leads", ("lead_key",)),
    TableContract("gold_reconciliation", ("media_id", "scope", "activity_date"), nullable_key=("activity_date",)),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}
# Every table a reader can find: the models' tables and the quarantine they write beside them.
PUBLISHED_TABLES: tuple[str, ...] = (*(t.name for t in TABLES), QUARANTINE_TABLE)

"""The model registry: every Silver and Gold table, its SQL, inputs, key, partitioning and checks.

The SQL (in `sql/<name>.sql`, DuckDB dialect) is the one definition of each table; engines run it as is
(DuckDB) or transpiled (Spark). `docs/models.md` is the contract the SQL follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from wistia_analytics.contracts.tables import QUARANTINE_TABLE, TABLES_BY_NAME, TableContract
from wistia_analytics.quality.checks import Check, range_check, references


@dataclass(frozen=True)
class Dimension:
    """A non-partitioned input whose changed rows invalidate the partitions where their keys appear."""

    table: str  # e.g. silver_medias
    key: str  # e.g. media_id
    watched: tuple[str, ...]  # the columns the model uses
    fact: str  # partitioned input that locates the key, e.g. silver_events
    fact_date: str  # its date column, e.g. event_date


@dataclass(frozen=True)
class Model:
    """How one table of `contracts/tables.py` is built: its SQL, inputs and checks (key and partition: the contract)."""

    name: str
    inputs: tuple[str, ...]
    quarantine_entity: str | None = None  # Silver models that validate: entity name in silver_quarantine
    # Rows that come as one record (a media's whole curve): an incremental merge replaces the whole group.
    merge_group: tuple[str, ...] = ()
    # An unpartitioned table that partitioned Gold reads by date: an incremental run rebuilds, downstream, the
    # dates this column holds in the new rows (partitioned tables say it with their partitions).
    touched_dates: str | None = None
    partitioned_inputs: dict[str, str] = field(default_factory=dict)  # input -> its date column
    dimensions: tuple[Dimension, ...] = ()
    checks: tuple[Check, ...] = ()
    nonempty_if: str | None = None  # this input has rows => the table must have rows
    # JSON fields of the record without which a row is rejected: when a run's quarantine share is systemic
    # (schema drift), the run names those absent from most rejected records.
    required_fields: tuple[str, ...] = ()

    @property
    def contract(self) -> TableContract:
        return TABLES_BY_NAME[self.name]

    @property
    def key(self) -> tuple[str, ...]:
        return self.contract.key

    @property
    def partition_by(self) -> str | None:
        return self.contract.partition_by

    @property
    def nullable_key(self) -> tuple[str, ...]:
        return self.contract.nullable_key

    def sql(self) -> str:
        return resources.files("wistia_analytics.transform.sql").joinpath(f"{self.name}.sql").read_text()


_MEDIA_DIM = Dimension(
    "silver_medias", "media_id", ("media_name", "project_id", "project_name"), "silver_events", "event_date"
)
_DURATION_DIM = Dimension("silver_medias", "media_id", ("duration_seconds",), "silver_events", "event_date")
_MEDIA_DIM_BY_DATE = Dimension(
    "silver_medias",
    "media_id",
    ("media_name", "project_id", "project_name"),
    "silver_media_daily_stats",
    "stat_date",
)
_MEDIA_DIM_BY_ANALYTICS = Dimension(
    "silver_medias",
    "media_id",
    ("media_name", "project_id", "project_name"),
    "silver_media_analytics_daily",
    "stat_date",
)
# Traffic and embed Gold read a media's name (and traffic its duration) for the days of their own Silver.
_MEDIA_DIM_BY_TRAFFIC = Dimension(
    "silver_medias", "media_id", ("media_name", "duration_seconds"), "silver_media_traffic_daily", "stat_date"
)
_MEDIA_DIM_BY_EMBED = Dimension(
    "silver_medias", "media_id", ("media_name",), "silver_media_embed_locations_daily", "stat_date"
)
_MEDIA_REF = references("media_id", "silver_medias", "media_id", blocking=False)
_VISITOR_DIM = Dimension(
    "silver_visitors",
    "visitor_key",
    ("visitor_name", "visitor_email", "is_identified"),
    "silver_events",
    "event_date",
)

MODELS: tuple[Model, ...] = (
    Model(
        "silver_projects",
        ("bronze_projects",),
        required_fields=("hashedId",),
        quarantine_entity="project",
        nonempty_if="bronze_projects",
    ),
    Model(
        "silver_medias",
        ("bronze_medias",),
        required_fields=("hashed_id",),
        quarantine_entity="media",
        checks=(range_check("duration_seconds", low=0),),
        nonempty_if="bronze_medias",
    ),
    Model(
        "silver_visitors",
        ("bronze_visitors",),
        required_fields=("visitor_key",),
        quarantine_entity="visitor",
        checks=(range_check("play_count", low=0), range_check("load_count", low=0)),
    ),
    Model(
        "silver_media_lifetime_stats",
        ("bronze_media_lifetime_stats",),
        quarantine_entity="media_lifetime_stats",
        checks=(range_check("play_count", low=0), references("media_id", "silver_medias", "media_id", blocking=False)),
    ),
    Model(
        "silver_media_daily_stats",
        ("bronze_media_daily_stats",),
        required_fields=("date",),
        quarantine_entity="media_daily_stats",
        touched_dates="stat_date",
        checks=(
            range_check("play_count", low=0),
            range_check("load_count", low=0),
            references("media_id", "silver_medias", "media_id", blocking=False),
        ),
    ),
    Model(
        "silver_media_engagement",
        ("bronze_media_engagement",),
        required_fields=("engagement_data",),
        quarantine_entity="media_engagement",
        merge_group=("media_id",),
        checks=(range_check("viewers", low=0), references("media_id", "silver_medias", "media_id", blocking=False)),
    ),
    Model(
        "silver_events",
        ("bronze_events", "silver_medias"),
        required_fields=("event_key", "media_id", "received_at", "percent_viewed"),
        quarantine_entity="event",
        dimensions=(_DURATION_DIM,),
        checks=(range_check("percent_viewed", 0, 1), range_check("watch_seconds", low=0)),
        nonempty_if="bronze_events",
    ),
    # ---- Wistia's own analytics (the modern Data API, issue 15): empty until the streams are ingested
    Model(
        "silver_media_analytics_daily",
        ("bronze_media_analytics_daily",),
        required_fields=("timestamp",),
        quarantine_entity="media_analytics_daily",
        touched_dates="stat_date",
        checks=(
            range_check("plays", low=0),
            range_check("unique_loads", low=0),
            range_check("play_rate", 0, 1),
            range_check("engagement_rate", 0, 1),
            _MEDIA_REF,
        ),
    ),
    Model(
        "silver_media_traffic_daily",
        ("bronze_media_traffic_daily",),
        quarantine_entity="media_traffic_daily",
        merge_group=("media_id", "stat_date", "dimension"),
        touched_dates="stat_date",
        checks=(
            range_check("loads", low=0),
            range_check("plays", low=0),
            range_check("engagement_rate", 0, 1),
            _MEDIA_REF,
        ),
    ),
    Model(
        "silver_media_embed_locations_daily",
        ("bronze_media_embed_locations_daily",),
        required_fields=("embed_url",),
        quarantine_entity="media_embed_locations_daily",
        merge_group=("media_id", "stat_date"),
        touched_dates="stat_date",
        checks=(
            range_check("loads", low=0),
            range_check("plays", low=0),
            range_check("play_rate", 0, 1),
            range_check("engagement_rate", 0, 1),
            _MEDIA_REF,
        ),
    ),
    Model(
        "silver_media_conversions",
        ("bronze_media_conversions",),
        required_fields=("converted_at",),
        quarantine_entity="media_conversions",
        checks=(_MEDIA_REF,),
    ),
    Model(
        "silver_media_languages",
        ("bronze_media_languages",),
        required_fields=("language",),
        quarantine_entity="media_languages",
        merge_group=("media_id",),
        checks=(range_check("plays", low=0), range_check("percent_of_total_plays", 0, 1), _MEDIA_REF),
    ),
    Model(
        "gold_media_daily",
        ("silver_events", "silver_media_daily_stats", "silver_media_analytics_daily", "silver_medias"),
        partitioned_inputs={
            "silver_events": "event_date",
            "silver_media_daily_stats": "stat_date",
            "silver_media_analytics_daily": "stat_date",
        },
        dimensions=(_MEDIA_DIM, _MEDIA_DIM_BY_DATE, _MEDIA_DIM_BY_ANALYTICS),
        checks=(
            range_check("plays", low=0),
            range_check("loads", low=0),
            range_check("engagement_rate", 0, 1),
            # events can name a media deleted before the first snapshot: report, do not block
            references("media_id", "silver_medias", "media_id", blocking=False),
        ),
    ),
    Model(
        "gold_visitor_media_daily",
        ("silver_events", "silver_medias", "silver_visitors"),
        partitioned_inputs={"silver_events": "event_date"},
        dimensions=(_MEDIA_DIM, _VISITOR_DIM),
        checks=(range_check("avg_percent_viewed", 0, 1),),
    ),
    Model(
        "gold_media_channel_daily",
        ("silver_events",),
        partitioned_inputs={"silver_events": "event_date"},
        checks=(range_check("engagement_rate", 0, 1),),
    ),
    Model(
        "gold_account_daily",
        ("silver_events", "silver_media_daily_stats"),
        partitioned_inputs={"silver_events": "event_date", "silver_media_daily_stats": "stat_date"},
        checks=(range_check("plays", low=0), range_check("engagement_rate", 0, 1)),
    ),
    Model(
        "gold_media_engagement_curve",
        ("silver_media_engagement", "silver_medias"),
        checks=(range_check("retention", low=0),),
    ),
    Model(
        "gold_media_traffic_daily",
        ("silver_media_traffic_daily", "silver_medias"),
        partitioned_inputs={"silver_media_traffic_daily": "stat_date"},
        dimensions=(_MEDIA_DIM_BY_TRAFFIC,),
        checks=(range_check("loads", low=0), range_check("plays", low=0), range_check("engagement_rate", 0, 1)),
    ),
    Model(
        "gold_media_embed_daily",
        ("silver_media_embed_locations_daily", "silver_medias"),
        partitioned_inputs={"silver_media_embed_locations_daily": "stat_date"},
        dimensions=(_MEDIA_DIM_BY_EMBED,),
        checks=(range_check("loads", low=0), range_check("plays", low=0), range_check("engagement_rate", 0, 1)),
    ),
    Model(
        "gold_leads",
        ("silver_media_conversions", "silver_medias", "silver_visitors"),
        # a lead's visitor is a match, not a foreign key: a lead whose email no visitor has keeps a NULL
    ),
    Model(
        "gold_reconciliation",
        ("gold_media_daily", "silver_media_lifetime_stats", "silver_media_analytics_daily"),
    ),
)
MODELS_BY_NAME = {m.name: m for m in MODELS}
if set(MODELS_BY_NAME) != set(TABLES_BY_NAME):  # one contract per model, one model per contract
    raise AssertionError(f"models and table contracts differ: {sorted(set(MODELS_BY_NAME) ^ set(TABLES_BY_NAME))}")


def _date_column_of(table: str) -> str | None:
    model = MODELS_BY_NAME[table]
    return model.partition_by or model.touched_dates


# A partitioned input's dates are found by its partitions or its declared `touched_dates`: both must be the
# column the reading model restricts it by, or an incremental run would rebuild the wrong dates.
_MISMATCHED = sorted(
    f"{m.name} reads {table} by {column}"
    for m in MODELS
    for table, column in m.partitioned_inputs.items()
    if _date_column_of(table) != column
)
if _MISMATCHED:
    raise AssertionError(f"partitioned inputs without matching dates: {_MISMATCHED}")
__all__ = ["MODELS", "MODELS_BY_NAME", "QUARANTINE_TABLE", "Dimension", "Model"]

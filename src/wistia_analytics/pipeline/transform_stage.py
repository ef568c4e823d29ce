"""The transform stage as one call for every entry point (CLI, demo, schedule, the Glue job): engine by setting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wistia_analytics.errors import ConfigurationError
from wistia_analytics.lake.storage import Storage
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import TransformResult, TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.engine import Engine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")


def check_engine(name: str) -> None:
    """Refuse an unknown engine, or Spark without pyspark or Java, before any work (`ConfigurationError`)."""
    if name not in ENGINES:
        raise ConfigurationError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    if name == "spark":
        from wistia_analytics.transform.spark_engine import require_spark

        require_spark()


def make_engine(name: str, storage: Storage, settings: Settings, *, spark: SparkSession | None = None) -> Engine:
    """The engine called `name`: embedded DuckDB, or Spark (local mode, or the given session on Glue).

    Raises `ValueError` for an unknown name and `SparkUnavailableError` when pyspark or Java is missing.
    """
    if name == "duckdb":
        return DuckDBEngine(storage, memory_limit=settings.duckdb_memory_limit)
    if name == "spark":
        from wistia_analytics.transform.spark_engine import SparkEngine

        return SparkEngine(storage, session=spark)
    raise ValueError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")


def run_transform(
    settings: Settings,
    *,
    full_rebuild: bool = False,
    engine: str = "duckdb",
    storage: Storage | None = None,
    command: str = "transform",
    lock_wait_seconds: float = 0.0,
    spark: SparkSession | None = None,
) -> TransformResult:
    storage = storage or Storage.from_uri(settings.lake_uri)
    built = make_engine(engine, storage, settings, spark=spark)
    try:
        runner = TransformRunner(
            storage,
            built,
            full_rebuild=full_rebuild,
            hash_identity=settings.hash_visitor_identity,
            site_hosts=tuple(h.strip().lower() for h in settings.channel_site_hosts.split(",") if h.strip()),
            command=command,
            lock_wait_seconds=lock_wait_seconds,
            max_quarantine_share=settings.transform_max_quarantine_share,
            quarantine_min_records=settings.transform_quarantine_min_records,
        )
        return runner.run()
    finally:
        built.close()

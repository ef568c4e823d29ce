"""Stage entry points shared by the CLI, the demo and (later) the cloud handlers."""

from __future__ import annotations

from wistia_analytics.lake.storage import Storage
from wistia_analytics.settings import Settings
from wistia_analytics.transform.duckdb_engine import DuckDBEngine
from wistia_analytics.transform.engine import Engine
from wistia_analytics.transform.runner import TransformResult, TransformRunner


def make_engine(name: str, storage: Storage, settings: Settings) -> Engine:
    """Engines are chosen by one setting; only the embedded one exists for now."""
    if name == "duckdb":
        return DuckDBEngine(storage, memory_limit=settings.duckdb_memory_limit)
    raise ValueError(f"unknown engine {name!r}; available: duckdb")


def run_transform(
    settings: Settings,
    *,
    full_rebuild: bool = False,
    engine: str = "duckdb",
    storage: Storage | None = None,
    command: str = "transform",
    lock_wait_seconds: float = 0.0,
) -> TransformResult:
    storage = storage or Storage.from_uri(settings.lake_uri)
    built = make_engine(engine, storage, settings)
    try:
        runner = TransformRunner(
            storage,
            built,
            full_rebuild=full_rebuild,
            hash_identity=settings.hash_visitor_identity,
            site_hosts=tuple(h.strip().lower() for h in settings.channel_site_hosts.split(",") if h.strip()),
            command=command,
            lock_wait_seconds=lock_wait_seconds,
        )
        return runner.run()
    finally:
        built.close()

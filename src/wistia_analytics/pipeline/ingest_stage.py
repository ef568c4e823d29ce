"""The ingest stage as one call for every entry point (CLI, demo, schedule, the ingest Lambda): source by setting."""

from __future__ import annotations

from dataclasses import replace

from wistia_analytics.ingest.ingestor import IngestOptions, Ingestor, IngestResult
from wistia_analytics.ingest.progress import ProgressSink
from wistia_analytics.ingest.source import EmbeddedSource, open_source
from wistia_analytics.ingest.windows import WindowPolicy
from wistia_analytics.lake.storage import Storage
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.client import WistiaClient, limits_from_settings


def run_ingest(
    settings: Settings,
    options: IngestOptions,
    *,
    storage: Storage | None = None,
    progress: ProgressSink | None = None,
    timeout: float = 30.0,
    embedded: EmbeddedSource | None = None,
) -> tuple[IngestResult, WistiaClient]:
    """Resolve the source, build the client and run one ingestion; raises on fatal config or a held lock.

    `embedded`: the built-in API to start when no token is set (None: a missing token is a config error).
    """
    storage = storage or Storage.from_uri(settings.lake_uri)
    options = replace(  # the modern analytics' settings travel with the run's options
        options,
        analytics=settings.ingest_analytics,
        analytics_backfill_days=settings.ingest_analytics_backfill_days,
        traffic_dimensions=settings.traffic_dimensions,
    )
    with (
        open_source(settings, storage, today=options.today, embedded=embedded) as source,
        WistiaClient(
            source.base_url,
            source.token,
            requests_per_minute=source.requests_per_minute,
            timeout=timeout,
            **limits_from_settings(settings),
        ) as client,
    ):
        ingestor = Ingestor(
            storage,
            client,
            options,
            policy=WindowPolicy(settings.ingest_lookback_days, settings.ingest_backfill_days),
            concurrency=settings.ingest_concurrency,
            progress=progress,
            source_kind=source.kind,
        )
        return ingestor.run(), client

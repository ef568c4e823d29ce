"""The streams ingestion pulls, declared as data: endpoint, how it is loaded, and its record key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class LoadMode(Enum):
    """How a stream is loaded; decides its windows and its watermarks."""

    SNAPSHOT = "snapshot"  # the whole list every run
    PER_MEDIA_SNAPSHOT = "per_media_snapshot"  # one object per media every run
    PER_MEDIA_BY_DATE = "per_media_by_date"  # per media, an inclusive date window with lookback
    EVENTS_BY_DAY = "events_by_day"  # UTC day windows with lookback, within the 730-day retention
    # The modern Data API (`/modern/analytics/...`), planned from the media-days that had loads:
    PER_MEDIA_TIMESERIES = "per_media_timeseries"  # per media, one daily timeseries over its date window
    PER_MEDIA_DAY = "per_media_day"  # per media and day with loads (and per `group_by` for traffic)
    PER_MEDIA_CURSOR = "per_media_cursor"  # per media with conversions, a date window paged by cursor
    PER_MEDIA_RANGE = "per_media_range"  # per media with plays, one aggregate over the trailing analytics window


class Api(Enum):
    """Which Wistia API a stream reads: the frozen v1 (`WISTIA_API_URL`) or the modern, date-versioned Data API
    (`WISTIA_MODERN_API_URL`, header `X-Wistia-API-Version`)."""

    V1 = "v1"
    MODERN = "modern"


@dataclass(frozen=True)
class Stream:
    name: str
    path: str  # `{media_id}` is filled per media
    mode: LoadMode
    paged: bool
    key: tuple[str, ...]  # what identifies a record downstream (dedup key)
    description: str
    # Its records are the media list the per-media streams iterate (read from this stream when it runs first).
    provides_media_list: bool = False
    # A core stream is one the lake cannot do without: when it fetches nothing it should have (the API down,
    # every day of its window failing), the run is `failed`, not `partial`, and nothing downstream runs on it.
    core: bool = False
    # A snapshot too large for one bounded call (a Lambda's 15 minutes) checkpoints its next page in the lake
    # state at a deadline, and the next run continues from there (a resumable full refresh).
    resumable: bool = False
    api: Api = Api.V1
    # Fixed query parameters of every request (e.g. the timeseries' granularity).
    params: tuple[tuple[str, str], ...] = ()
    per_page: int | None = None  # the documented maximum, sent explicitly (the API's defaults are smaller)

    @property
    def analytics(self) -> bool:
        """A stream of the modern analytics API: skipped (not failed) when the token has no access to it."""
        return self.api is Api.MODERN


# Order matters: see `select_streams`.
STREAMS: tuple[Stream, ...] = (
    Stream("projects", "/projects.json", LoadMode.SNAPSHOT, True, ("id",), "projects (dimension)"),
    Stream(
        "medias",
        "/medias.json",
        LoadMode.SNAPSHOT,
        True,
        ("hashed_id",),
        "medias (dimension)",
        provides_media_list=True,
        core=True,
    ),
    Stream(
        "media_lifetime_stats",
        "/stats/medias/{media_id}.json",
        LoadMode.PER_MEDIA_SNAPSHOT,
        False,
        ("media_id",),
        "lifetime totals per media, to reconcile against",
    ),
    Stream(
        "media_daily_stats",
        "/stats/medias/{media_id}/by_date.json",
        LoadMode.PER_MEDIA_BY_DATE,
        False,
        ("media_id", "date"),
        "Wistia's official daily loads, plays and hours per media",
    ),
    Stream(
        "media_engagement",
        "/stats/medias/{media_id}/engagement.json",
        LoadMode.PER_MEDIA_SNAPSHOT,
        False,
        ("media_id",),
        "engagement and rewatch curves per media",
    ),
    Stream(
        "events",
        "/stats/events.json",
        LoadMode.EVENTS_BY_DAY,
        True,
        ("event_key",),
        "viewing sessions, by UTC day of received_at",
        core=True,
    ),
    Stream(
        "visitors",
        "/stats/visitors.json",
        LoadMode.SNAPSHOT,
        True,
        ("visitor_key",),
        "visitors, account-wide and lifetime (never per media or day)",
        resumable=True,
    ),
    # ---- the modern Data API's analytics (reference: wistia-modern-api.md §2); docs/ingestion.md, "Analytics"
    Stream(
        "media_analytics_daily",
        "/analytics/medias/{media_id}/timeseries",
        LoadMode.PER_MEDIA_TIMESERIES,
        False,
        ("media_id", "date"),
        "Wistia's own daily analytics per media: unique loads, plays and visitors, CTA and form conversions",
        api=Api.MODERN,
        params=(("granularity", "daily"),),
    ),
    Stream(
        "media_traffic_daily",
        "/analytics/medias/{media_id}/traffic",
        LoadMode.PER_MEDIA_DAY,
        False,
        ("media_id", "date", "dimension", "value"),
        "loads, plays and engagement per media and day by traffic source (utm_*, referrer, screen size)",
        api=Api.MODERN,
        per_page=100,
    ),
    Stream(
        "media_embed_locations_daily",
        "/analytics/medias/{media_id}/embed_locations",
        LoadMode.PER_MEDIA_DAY,
        False,
        ("media_id", "date", "embed_url"),
        "the pages a media is embedded on, per day, with loads, plays and engagement",
        api=Api.MODERN,
        per_page=100,
    ),
    Stream(
        "media_conversions",
        "/analytics/medias/{media_id}/conversions",
        LoadMode.PER_MEDIA_CURSOR,
        True,
        ("media_id", "converted_at", "email"),
        "form (email gate) conversions: one lead per submission, incremental on converted_at",
        api=Api.MODERN,
        per_page=100,
    ),
    Stream(
        "media_languages",
        "/analytics/medias/{media_id}/languages",
        LoadMode.PER_MEDIA_RANGE,
        False,
        ("media_id", "language"),
        "plays per viewer browser language over the trailing analytics window, with caption support",
        api=Api.MODERN,
        per_page=100,
    ),
)
STREAMS_BY_NAME = {s.name: s for s in STREAMS}
MEDIA_LIST_STREAM = next(s for s in STREAMS if s.provides_media_list)  # what per-media streams iterate
ANALYTICS_STREAMS: tuple[Stream, ...] = tuple(s for s in STREAMS if s.analytics)
# The group_by dimensions of /analytics/medias/{id}/traffic (reference §2); INGEST_TRAFFIC_DIMENSIONS picks some.
TRAFFIC_DIMENSIONS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer_domain",
    "viewer_screen_size",
)
# The value of a traffic group whose sessions lack the attribute (no utm_source, no referrer).
NO_VALUE = "(none)"


def select_streams(names: list[str] | None, *, analytics: bool = True) -> list[Stream]:
    """Streams in canonical order: medias first (per-media streams need the media list), then the per-media
    streams and events, the visitors snapshot, and the modern analytics streams last, so that neither a large
    account's ~38,000-page snapshot nor the analytics requests ever starve the core streams within a bounded run
    (docs/ingestion.md, "Bounded and resumable runs"). Within the analytics streams the daily timeseries comes
    first: it says which media-days had loads, which is all the per-day streams request.

    `analytics=False` (INGEST_ANALYTICS=false) leaves the analytics streams out of the default set; streams
    named explicitly are always taken."""
    if not names:
        return [s for s in STREAMS if analytics or not s.analytics]
    unknown = sorted(set(names) - set(STREAMS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; choose from {', '.join(STREAMS_BY_NAME)}")
    return [s for s in STREAMS if s.name in names]

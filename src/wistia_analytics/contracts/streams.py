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
)
STREAMS_BY_NAME = {s.name: s for s in STREAMS}
MEDIA_LIST_STREAM = next(s for s in STREAMS if s.provides_media_list)  # what per-media streams iterate


def select_streams(names: list[str] | None) -> list[Stream]:
    """Streams in canonical order: medias first (per-media streams need the media list), then the per-media
    streams and events, and the visitors snapshot last, so that a large account's ~38,000-page snapshot never
    starves events within a bounded run (docs/ingestion.md, "Bounded and resumable runs")."""
    if not names:
        return list(STREAMS)
    unknown = sorted(set(names) - set(STREAMS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; choose from {', '.join(STREAMS_BY_NAME)}")
    return [s for s in STREAMS if s.name in names]

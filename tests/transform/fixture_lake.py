"""A small hand-built Bronze lake whose Gold figures are computed by hand in the tests (not by the code)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from wistia_analytics.lake.bronze import BronzeWriter, Lineage
from wistia_analytics.lake.storage import Storage

M1, M2 = "m1aaaaaaaa", "m2bbbbbbbb"
P1 = "p1pppppppp"
SITE = "https://www.example.com/page/"


def project() -> dict[str, Any]:
    return {
        "id": 11,
        "name": "Marketing",
        "description": "",
        "mediaCount": 2,
        "created": "2025-01-01T00:00:00+00:00",
        "updated": "2025-01-02T00:00:00+00:00",
        "hashedId": P1,
        "anonymousCanUpload": False,
        "anonymousCanDownload": False,
        "public": False,
        "publicId": None,
    }


def media(hashed: str, numeric: int, name: str, duration: float) -> dict[str, Any]:
    return {
        "id": numeric,
        "name": name,
        "type": "Video",
        "archived": False,
        "created": "2026-10-01T10:00:00+00:00",
        "updated": "2026-10-02T10:00:00+00:00",
        "duration": duration,
        "hashed_id": hashed,
        "description": "",
        "progress": 1.0,
        "status": "ready",
        "thumbnail": {"url": "https://x/t.jpg", "width": 200, "height": 120},
        "project": {"id": 11, "name": "Marketing", "hashed_id": P1},
        "assets": [],
    }


def event(key: str | None, media_id: str, visitor: str, at: str, pv: Any, url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "received_at": at,
        "ip": "203.0.113.9",
        "country": "US",
        "region": "WA",
        "city": "Seattle",
        "lat": 47.6103,
        "lon": "",
        "org": "Example ISP",
        "email": None,
        "percent_viewed": pv,
        "embed_url": url,
        "conversion_type": "",
        "conversion_data": {},
        "iframe_heatmap_url": "https://x",
        "visitor_key": visitor,
        "media_id": media_id,
        "media_name": {M1: "Launch", M2: "Tour"}[media_id],
        "media_url": "https://x",
        "user_agent_details": {"browser": "Chrome", "browser_version": "141", "platform": "mac", "mobile": False},
    }
    if key is not None:
        body = {"event_key": key, **body}
    return body


def visitor(key: str, name: str | None, email: str | None, plays: int) -> dict[str, Any]:
    return {
        "visitor_key": key,
        "created_at": "2026-10-30T00:00:00.000Z",
        "last_active_at": "2026-11-02T00:00:00.000Z",
        "last_event_key": "e1",
        "load_count": plays + 1,
        "play_count": plays,
        "identifying_event_key": None,
        "visitor_identity": {"name": name, "email": email, "org": {"name": None, "title": None}},
        "user_agent_details": {"browser": "Chrome", "browser_version": "141", "platform": "mac", "mobile": False},
    }


def first_run_pages() -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    """(stream, records, request path, context) of the first ingestion run."""
    return [
        ("projects", [project()], "/projects.json", None),
        ("medias", [media(M1, 101, "Launch", 100.0), media(M2, 102, "Tour", 200.0)], "/medias.json", None),
        (
            "media_daily_stats",
            [
                {"date": "2026-11-01", "load_count": 10, "play_count": 3, "hours_watched": 175 / 3600},
                {"date": "2026-11-02", "load_count": 4, "play_count": 1, "hours_watched": 10 / 3600},
            ],
            f"/stats/medias/{M1}/by_date.json",
            {"media_id": M1},
        ),
        (
            "media_daily_stats",
            [
                {"date": "2026-11-01", "load_count": 5, "play_count": 2, "hours_watched": 200 / 3600},
            ],
            f"/stats/medias/{M2}/by_date.json",
            {"media_id": M2},
        ),
        (
            "media_lifetime_stats",
            [
                {
                    "load_count": 14,
                    "play_count": 4,
                    "play_rate": 4 / 14,
                    "hours_watched": 185 / 3600,
                    "engagement": 1.85 / 4,
                    "visitors": 3,
                }
            ],
            f"/stats/medias/{M1}.json",
            {"media_id": M1},
        ),
        (
            "media_lifetime_stats",
            [
                {
                    "load_count": 5,
                    "play_count": 2,
                    "play_rate": 0.4,
                    "hours_watched": 200 / 3600,
                    "engagement": 0.5,
                    "visitors": 2,
                }
            ],
            f"/stats/medias/{M2}.json",
            {"media_id": M2},
        ),
        (
            "media_engagement",
            [{"engagement": 0.4625, "engagement_data": [4, 3, 2, 1], "rewatch_data": [1, 0, 1, 0]}],
            f"/stats/medias/{M1}/engagement.json",
            {"media_id": M1},
        ),
        (
            "media_engagement",
            [{"engagement": 0.5, "engagement_data": [2, 2], "rewatch_data": [0, 0]}],
            f"/stats/medias/{M2}/engagement.json",
            {"media_id": M2},
        ),
        (
            "visitors",
            [
                visitor("v1", "Ada Okafor", "ada@example.com", 3),
                visitor("v2", None, None, 2),
                visitor("v3", "", None, 1),
            ],
            "/stats/visitors.json",
            None,
        ),
        (
            "events",
            [
                event(
                    "e1",
                    M1,
                    "v1",
                    "2026-11-01T09:00:00.000Z",
                    0.5,
                    SITE + "?utm_source=facebook&utm_medium=paid_social",
                ),
                event(
                    "e2", M1, "v2", "2026-11-01T10:00:00.000Z", 0.25, SITE + "?utm_source=newsletter&utm_medium=email"
                ),
                event("e3", M1, "v1", "2026-11-01T11:00:00Z", 1.0, SITE),
                event("e5", M2, "v1", "2026-11-01T12:00:00.000Z", 0.5, SITE + "?utm_source=youtube&utm_medium=video"),
                event("e6", M2, "v2", "2026-11-01T13:00:00.000Z", 0.5, SITE + "?utm_source=youtube"),
                event("e7", M1, "v2", "2026-11-01T14:00:00.000Z", 1.7, SITE),  # out of range: quarantined
                event(None, M1, "v2", "2026-11-01T15:00:00.000Z", 0.3, SITE),  # no key: quarantined
            ],
            "/stats/events.json",
            None,
        ),
        (
            "events",
            [
                event("e4", M1, "v3", "2026-11-02T08:00:00.000Z", 0.1, SITE + "?gclid=abc123"),
            ],
            "/stats/events.json",
            None,
        ),
    ]


def second_run_pages() -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    """A re-fetch (lookback) that re-delivers e2 and e4 unchanged: duplicates must not change any KPI."""
    return [
        (
            "events",
            [
                event(
                    "e2", M1, "v2", "2026-11-01T10:00:00.000Z", 0.25, SITE + "?utm_source=newsletter&utm_medium=email"
                ),
                event("e4", M1, "v3", "2026-11-02T08:00:00.000Z", 0.1, SITE + "?gclid=abc123"),
            ],
            "/stats/events.json",
            None,
        ),
    ]


def write_run(
    storage: Storage,
    run_id: str,
    at: datetime,
    pages: Iterable[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]],
) -> None:
    writer = BronzeWriter(storage, run_id, at)
    for stream, records, path, context in pages:
        writer.write(stream, records, Lineage(path, {}, 1, context=context or {}))


def build(storage: Storage, *, second: bool = True) -> None:
    write_run(storage, "20261102T120000Z-aaaaaa", datetime(2026, 11, 2, 12, tzinfo=UTC), first_run_pages())
    if second:
        write_run(storage, "20261103T120000Z-bbbbbb", datetime(2026, 11, 3, 12, tzinfo=UTC), second_run_pages())

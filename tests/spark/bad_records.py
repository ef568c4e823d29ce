"""Quarantinable and awkward Bronze records, appended to a lake as one more ingestion run.

The sandbox serves only valid records; these add what the real API (or a bug) can send: missing keys,
out-of-range and non-numeric values, unparseable dates, arrays with non-numbers, plus valid records whose
JSON text is awkward for a second engine (floats in exponent form, non-ASCII text, escapes, a duplicate
key with different content inside one file, where only md5(record) breaks the tie).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.transform.fixture_lake import write_run
from wistia_analytics.lake.storage import Storage


def _event(key: str | None, media_id: str | None, at: Any, pv: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "received_at": at,
        "ip": "203.0.113.9",
        "country": "DE",
        "region": "Bayern",
        "city": "München",
        "lat": 48.1371,
        "lon": 11.5754,
        "email": None,
        "percent_viewed": pv,
        "embed_url": "https://example.org/p?utm_source=LinkedIn&utm_medium=social",
        "conversion_type": "",
        "visitor_key": "vq-" + (key or "none"),
        "media_id": media_id,
        "media_name": 'Ünïcödé ✓ "quoted" \\ slash/tab\t',
        "user_agent_details": {"browser": "Firefox", "platform": "linux", "mobile": True},
    }
    if key is not None:
        body["event_key"] = key
    return body | extra


def bad_pages(media_id: str, day: str) -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    """Pages of one run: every stream gets some quarantinable records and some awkward valid ones."""
    at = f"{day}T08:30:00.250Z"
    return [
        (
            "projects",
            [{"hashedId": "", "id": 1, "name": "no key"}, {"hashedId": "pbad", "mediaCount": -1}],
            "/projects.json",
            None,
        ),
        (
            "medias",
            [{"hashed_id": None, "name": "no key"}, {"hashed_id": "mneg", "duration": -5.5}],
            "/medias.json",
            None,
        ),
        (
            "visitors",
            [{"visitor_key": "", "play_count": 1}, {"visitor_key": "vneg", "play_count": -3}],
            "/stats/visitors.json",
            None,
        ),
        (
            "media_daily_stats",
            [
                {"date": "2026-13-45", "load_count": 1, "play_count": 1, "hours_watched": 0.5},
                {"date": day, "load_count": 1, "play_count": -1, "hours_watched": 1e-05},
                {"date": "", "load_count": 1, "play_count": 1, "hours_watched": 0.1},
            ],
            f"/stats/medias/{media_id}/by_date.json",
            {"media_id": media_id},
        ),
        (
            "media_lifetime_stats",
            [{"load_count": 5, "play_count": -2, "hours_watched": 2.5e-07, "visitors": 1}],
            "/stats/medias/mneg.json",
            {"media_id": "mneg"},
        ),
        (
            "media_engagement",
            [{"engagement": 0.5, "engagement_data": ["a", 1], "rewatch_data": [0, 0]}],
            "/stats/medias/mbad1/engagement.json",
            {"media_id": "mbad1"},
        ),
        (
            "media_engagement",
            [{"engagement": 0.5, "engagement_data": [3, -1], "rewatch_data": [0, 0]}],
            "/stats/medias/mbad2/engagement.json",
            {"media_id": "mbad2"},
        ),
        (
            "media_engagement",
            [{"engagement": 0.5, "engagement_data": [3, 2], "rewatch_data": "none"}],
            "/stats/medias/mbad3/engagement.json",
            {"media_id": "mbad3"},
        ),
        (
            "events",
            [
                _event(None, media_id, at, 0.5),
                _event("q-nomedia", None, at, 0.5),
                _event("q-nodate", media_id, "", 0.5),
                _event("q-baddate", media_id, "yesterday", 0.5),
                _event("q-future", media_id, "2031-01-01T00:00:00Z", 0.5),
                _event("q-old", media_id, "1999-12-31T23:59:59Z", 0.5),
                _event("q-pvtext", media_id, at, "half"),
                _event("q-pvhigh", media_id, at, 1.5),
                _event("q-pvexp", media_id, at, 1e-05, lat=1e-07, lon=-2.5e-06),  # valid, exponent floats
                _event("q-tie", media_id, at, 0.25),  # the same key twice in one file: md5(record) decides
                _event("q-tie", media_id, at, 0.75, city="Zürich"),
            ],
            "/stats/events.json",
            None,
        ),
    ]


def add_bad_run(storage: Storage, run_id: str, at: datetime, media_id: str, day: str) -> None:
    write_run(storage, run_id, at, bad_pages(media_id, day))

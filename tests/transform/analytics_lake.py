"""Hand-made Bronze of Wistia's modern analytics streams for the fixture lake (`fixture_lake.py`'s medias M1, M2),
in the shapes of /work/spec15.md §1-§2, hostile records included; the expected figures are written by hand in
the tests, not computed by the code.

Run A (2026-11-02 13:00) lands with the fixture's first run; run B (2026-11-03 12:00) is the next day: it
re-delivers some records (duplicates, a corrected bucket, a replaced traffic response, a new languages snapshot),
adds the day 2026-11-03 and renames M1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.transform.fixture_lake import M1, M2, media, write_run
from wistia_analytics.lake.storage import Storage

RUN_A, AT_A = "20261102T130000Z-eeeeee", datetime(2026, 11, 2, 13, tzinfo=UTC)
RUN_B, AT_B = "20261103T120000Z-ffffff", datetime(2026, 11, 3, 12, tzinfo=UTC)
HOSTILE_MEDIA = 'm{x}"q\\'  # a media id with braces, a quote and a backslash in the line's context object
TS = "/analytics/medias/{}/timeseries"
TRAFFIC = "/analytics/medias/{}/traffic"
EMBED = "/analytics/medias/{}/embed_locations"
CONVERSIONS = "/analytics/medias/{}/conversions"
LANGUAGES = "/analytics/medias/{}/languages"

Page = tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]


def bucket(day: str, plays: Any, played: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timestamp": f"{day}T00:00:00.000Z",
        "unique_loads": 0,
        "unique_plays": 0,
        "plays": plays,
        "play_rate": None,
        "played_time": played,
        "unique_visitors": 0,
        "engagement_rate": None,
        "cta_impressions": 0,
        "cta_conversions": 0,
        "cta_conversion_rate": None,
        "form_conversions": 0,
    }
    return body | extra


def group(dimension: str, value: Any, loads: Any, plays: Any, engagement: Any) -> dict[str, Any]:
    return {dimension: value, "loads": loads, "plays": plays, "engagement_rate": engagement}


def location(url: str, loads: Any, plays: Any, **extra: Any) -> dict[str, Any]:
    host, _, path = url.removeprefix("https://").partition("/")
    body: dict[str, Any] = {
        "embed_domain": host,
        "embed_path": "/" + path,
        "embed_url": url,
        "page_title": "Page " + path,
        "loads": loads,
        "unique_loads": loads,
        "plays": plays,
        "unique_plays": plays,
        "play_rate": None,
        "played_time": 0.0,
        "engagement_rate": None,
        "unique_visitors": loads,
        "cta_conversion_rate": None,
    }
    return body | extra


def lead(first: Any, last: Any, email: Any, at: Any) -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "email": email, "converted_at": at}


def language(code: Any, plays: Any, share: Any, captions: Any) -> dict[str, Any]:
    return {"language": code, "plays": plays, "percent_of_total_plays": share, "captions_support": captions}


def run_a_pages() -> list[Page]:
    d1 = {"media_id": M1, "date": "2026-11-01"}
    return [
        (
            "media_analytics_daily",
            [
                bucket("2026-10-31", 0, 0),  # a zero bucket: no Gold row of its own
                bucket(
                    "2026-11-01",
                    3,
                    175,
                    unique_loads=8,
                    unique_plays=3,
                    play_rate=0.375,
                    unique_visitors=7,
                    engagement_rate=0.5833,
                    cta_impressions=2,
                    cta_conversions=1,
                    cta_conversion_rate=0.5,
                    form_conversions=1,
                ),
                bucket("2026-11-02", 2, 10, unique_loads="4", unique_plays=2),  # plays 2 != official 1: drift
                bucket("2026-10-28", -1, 0),  # negative plays
                bucket("2026-10-27", 2.5, 0),  # a fractional count
                bucket("2026-10-26", "abc", 0),  # not a number
                bucket("2026-10-25", 1, 1, play_rate=1.5),  # a rate outside [0, 1]
                {**bucket("2026-10-24", 0, 0), "timestamp": "not a date"},
            ],
            TS.format(M1),
            {"media_id": M1},
        ),
        (
            "media_analytics_daily",
            [
                bucket("2026-11-01", 2, 200.4, unique_loads=5, unique_plays=2),  # 0.4 s off: within tolerance
                bucket("2026-11-03", 1, 50, unique_loads=1, unique_plays=1),  # neither by_date nor events
            ],
            TS.format(M2),
            {"media_id": M2},
        ),
        ("media_analytics_daily", [bucket("2026-11-01", 1, 1)], TS.format(""), {}),  # no media
        (
            "media_traffic_daily",
            [
                group("utm_source", "facebook", 5, 2, 0.5),
                group("utm_source", "(none)", 3, 1, 0.75),
                {"loads": 1, "plays": 0, "engagement_rate": None},  # without its dimension's field
                group("utm_source", "linkedin", -2, 0, None),  # negative loads
            ],
            TRAFFIC.format(M1),
            {**d1, "dimension": "utm_source"},
        ),
        (
            "media_traffic_daily",
            [group("referrer_domain", "l.facebook.com", 5, 2, 0.5), group("referrer_domain", "", 3, 1, None)],
            TRAFFIC.format(M1),
            {**d1, "dimension": "referrer_domain"},
        ),
        ("media_traffic_daily", [group("utm_source", "x", 1, 1, 0.5)], TRAFFIC.format(M1), d1),  # no dimension
        (
            "media_traffic_daily",
            [group("browser", "Chrome", 1, 1, 0.5)],
            TRAFFIC.format(M1),
            {**d1, "dimension": "browser"},
        ),
        (
            "media_traffic_daily",
            [group("utm_source", None, "2", "0", None)],  # a null value is "(none)"; numbers as strings
            TRAFFIC.format(M2),
            {"media_id": M2, "date": "2026-11-01", "dimension": "utm_source"},
        ),
        (
            "media_traffic_daily",
            [group("utm_source", "facebook", 1, 1, 0.5)],  # an unknown media, with a hostile id
            TRAFFIC.format("x"),
            {"media_id": HOSTILE_MEDIA, "date": "2026-11-01", "dimension": "utm_source"},
        ),
        (
            "media_embed_locations_daily",
            [
                location(
                    "https://www.example.com/page/",
                    8,
                    3,
                    unique_loads=7,
                    play_rate=0.375,
                    played_time=175.0,
                    engagement_rate=0.5833,
                ),
                # no unique counts (the stable response): Wistia's play_rate stands
                location("https://partner.example.org/p", 2, 0, unique_loads=None, unique_plays=None, play_rate=0.0),
                location("", 1, 1),  # no embed_url
            ],
            EMBED.format(M1),
            d1,
        ),
        (
            "media_conversions",
            [
                lead("Ada", "Okafor", "ADA@Example.com", "2026-11-01T09:00:00.000Z"),  # visitor v1, any case
                lead("Zed", "Nobody", "zed@example.net", "2026-11-01T10:00:00.000Z"),  # no such visitor
                lead("Bad", "Date", "bad@example.net", "yesterday"),
            ],
            CONVERSIONS.format(M1),
            {"media_id": M1},
        ),
        (
            "media_languages",
            [
                language("en", 3, 0.75, True),
                language("de", 1, 0.25, False),
                language("fr", 1, 1.5, True),  # share outside [0, 1]
                language("es", 1, 0.1, "yes"),  # not a JSON boolean
            ],
            LANGUAGES.format(M1),
            {"media_id": M1, "start_date": "2026-10-03", "end_date": "2026-11-01"},
        ),
    ]


def run_b_pages() -> list[Page]:
    d1 = {"media_id": M1, "date": "2026-11-01"}
    return [
        ("medias", [media(M1, 101, "Launch v2", 100.0), media(M2, 102, "Tour", 200.0)], "/medias.json", None),
        (
            "media_analytics_daily",
            [
                bucket("2026-11-02", 1, 10, unique_loads=4, unique_plays=1),  # the corrected day: no more drift
                bucket("2026-11-03", 0, 0),
            ],
            TS.format(M1),
            {"media_id": M1},
        ),
        (
            "media_traffic_daily",
            [group("utm_source", "facebook", 6, 3, 0.5)],  # replaces the whole response: "(none)" is gone
            TRAFFIC.format(M1),
            {**d1, "dimension": "utm_source"},
        ),
        (
            "media_traffic_daily",
            [group("utm_source", "youtube", 4, 2, 0.25)],
            TRAFFIC.format(M2),
            {"media_id": M2, "date": "2026-11-03", "dimension": "utm_source"},
        ),
        (
            "media_embed_locations_daily",
            [location("https://www.example.com/page/", 1, 1, played_time=50.0, engagement_rate=0.25)],
            EMBED.format(M2),
            {"media_id": M2, "date": "2026-11-03"},
        ),
        (
            "media_conversions",
            [
                lead("Ada", "Okafor", "ADA@Example.com", "2026-11-01T09:00:00.000Z"),  # re-delivered: one lead
                lead("Ada", "Okafor", "ada@example.com", "2026-11-03T08:00:00.000Z"),  # a second submission
            ],
            CONVERSIONS.format(M1),
            {"media_id": M1},
        ),
        (
            "media_languages",
            [language("en", 4, 1.0, True)],  # the newest snapshot replaces the media's languages
            LANGUAGES.format(M1),
            {"media_id": M1, "start_date": "2026-10-04", "end_date": "2026-11-02"},
        ),
    ]


# Records of run A that Silver quarantines (by model), and the reasons.
QUARANTINED_A = {
    "media_analytics_daily": [
        "negative plays",
        "plays not an integer",
        "plays not a number",
        "play_rate out of [0, 1]",
        "timestamp not a timestamp",
        "missing media_id",
    ],
    "media_traffic_daily": [
        "missing utm_source field",
        "negative loads",
        "missing dimension",
        "unknown dimension",
        f"media_id {HOSTILE_MEDIA} not in silver_medias",
    ],
    "media_embed_locations_daily": ["missing embed_url"],
    "media_conversions": ["converted_at not a timestamp"],
    "media_languages": ["percent_of_total_plays out of [0, 1]", "captions_support not a boolean"],
}
QUARANTINED_A_COUNT = sum(len(v) for v in QUARANTINED_A.values())


def write_run_a(storage: Storage) -> None:
    write_run(storage, RUN_A, AT_A, run_a_pages())


def write_run_b(storage: Storage) -> None:
    write_run(storage, RUN_B, AT_B, run_b_pages())

"""A small Gold lake whose every figure is computed by hand in the tests.

The hand-built Bronze of `tests/transform/fixture_lake.py` (project Marketing: medias Launch and Tour, events on
2026-11-01 and 2026-11-02, two quarantined events) plus a third run adding a second project, Sales, with one
media, Demo (m3), two sessions on 2026-11-02 (LinkedIn and Facebook) and an identified visitor v4. Then the
real transform builds Silver and Gold.

Hand figures of the whole lake, per media and day (loads, plays, watch seconds, Σ percent viewed, events):
  2026-11-01  Launch (m1): 10, 3, 175, 1.75, 3   Tour (m2): 5, 2, 200, 1.0, 2
  2026-11-02  Launch (m1):  4, 1,  10, 0.10, 1   Demo (m3): 8, 2,  60, 1.2, 2
Sessions (visitor, media, day, percent viewed, watch seconds, channel):
  v1 m1 11-01 0.5 50 facebook | v2 m1 11-01 0.25 25 email | v1 m1 11-01 1.0 100 direct
  v1 m2 11-01 0.5 100 youtube | v2 m2 11-01 0.5 100 youtube | v3 m1 11-02 0.1 10 search
  v1 m3 11-02 0.4 20 linkedin | v4 m3 11-02 0.8 40 facebook
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.transform.fixture_lake import M1, SITE, build, event, media, project, visitor, write_run
from wistia_analytics.dashboard.gold import Gold, open_gold
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

M3 = "m3cccccccc"
P1, P2 = "p1pppppppp", "p2qqqqqqqq"


def _sales_project() -> dict[str, Any]:
    return {**project(), "id": 12, "name": "Sales", "hashedId": P2, "mediaCount": 1}


def _demo_media() -> dict[str, Any]:
    return {**media(M3, 103, "Demo", 50.0), "project": {"id": 12, "name": "Sales", "hashed_id": P2}}


def _demo_event(key: str, visitor_key: str, at: str, pv: float, url: str) -> dict[str, Any]:
    return {**event(key, M1, visitor_key, at, pv, url), "media_id": M3, "media_name": "Demo"}


def third_run_pages() -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    return [
        ("projects", [_sales_project()], "/projects.json", None),
        ("medias", [_demo_media()], "/medias.json", None),
        (
            "media_daily_stats",
            [{"date": "2026-11-02", "load_count": 8, "play_count": 2, "hours_watched": 60 / 3600}],
            f"/stats/medias/{M3}/by_date.json",
            {"media_id": M3},
        ),
        (
            "media_lifetime_stats",
            [
                {
                    "load_count": 8,
                    "play_count": 2,
                    "play_rate": 0.25,
                    "hours_watched": 60 / 3600,
                    "engagement": 0.6,
                    "visitors": 2,
                }
            ],
            f"/stats/medias/{M3}.json",
            {"media_id": M3},
        ),
        (
            "media_engagement",
            [{"engagement": 0.6, "engagement_data": [2, 1], "rewatch_data": [0, 1]}],
            f"/stats/medias/{M3}/engagement.json",
            {"media_id": M3},
        ),
        ("visitors", [visitor("v4", "Bo Chen", "bo@example.com", 1)], "/stats/visitors.json", None),
        (
            "events",
            [
                _demo_event("e8", "v1", "2026-11-02T09:00:00.000Z", 0.4, SITE + "?utm_source=linkedin"),
                _demo_event("e9", "v4", "2026-11-02T10:00:00.000Z", 0.8, SITE + "?utm_source=facebook"),
            ],
            "/stats/events.json",
            None,
        ),
    ]


def approx(expected: object) -> object:
    """`pytest.approx` that also compares tuples inside lists and dicts (floats to 1e-9)."""
    if isinstance(expected, list):
        return [approx(e) for e in expected]
    if isinstance(expected, tuple):
        return tuple(approx(e) for e in expected)
    if isinstance(expected, dict):
        return {k: approx(v) for k, v in expected.items()}
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        return pytest.approx(expected, abs=1e-9)
    return expected


def build_gold_lake(root: Path, *, hostile_name: str | None = None) -> Storage:
    """The hand-computed lake and its third run; with `hostile_name`, one more run naming everything that."""
    storage = Storage.from_uri(str(root))
    build(storage)
    write_run(storage, "20261104T120000Z-cccccc", datetime(2026, 11, 4, 12, tzinfo=UTC), third_run_pages())
    if hostile_name is not None:
        pages = hostile_run_pages(hostile_name)
        write_run(storage, "20261105T120000Z-dddddd", datetime(2026, 11, 5, 12, tzinfo=UTC), pages)
    engine = DuckDBEngine(storage)
    try:
        result = TransformRunner(storage, engine).run()
    finally:
        engine.close()
    assert result.status == "success", result
    return storage


@pytest.fixture(scope="session")
def gold_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-computed Gold lake (built once per session; tests only read it)."""
    root = tmp_path_factory.mktemp("dashboard-lake")
    build_gold_lake(root)
    return root


@pytest.fixture(scope="session", params=["parquet", "in-memory"])
def gold(gold_lake: Path, request: pytest.FixtureRequest) -> Iterator[Gold]:
    """The lake opened twice: queries on the Parquet files, and on the in-memory copy (same answers)."""
    handle = open_gold(Storage.from_uri(str(gold_lake)), hot="off" if request.param == "parquet" else "now")
    assert handle.hot.ready.is_set() == (request.param == "in-memory"), handle.hot.error
    yield handle
    handle.close()


def hostile_run_pages(name: str) -> list[tuple[str, list[dict[str, Any]], str, dict[str, Any] | None]]:
    """A later snapshot naming media Launch (m1), project Marketing and visitor v1 with `name` (API text)."""
    return [
        ("projects", [{**project(), "name": name}], "/projects.json", None),
        (
            "medias",
            [{**media(M1, 101, name, 100.0), "project": {"id": 11, "name": name, "hashed_id": P1}}],
            "/medias.json",
            None,
        ),
        ("visitors", [visitor("v1", name, "v1@example.com", 3)], "/stats/visitors.json", None),
    ]


def build_hostile_lake(root: Path, name: str) -> Storage:
    """The hand-computed lake, then a run whose media, project and visitor names are `name`; Gold rebuilt."""
    return build_gold_lake(root, hostile_name=name)

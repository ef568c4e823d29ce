"""The modern analytics API over real HTTP: routes, shapes, validation, sorting, paging, version header, access."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest

from tests.conftest import TODAY, api_client
from tests.sandbox.helpers import modern_client
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.sandbox.media_catalog import Catalog

BASE = SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0)
GONE = Catalog(BASE).medias[3].hashed_id
WEEK = {"start_date": (TODAY - timedelta(days=6)).isoformat(), "end_date": TODAY.isoformat()}
METRICS = {
    "unique_loads",
    "unique_plays",
    "plays",
    "play_rate",
    "played_time",
    "unique_visitors",
    "engagement_rate",
    "cta_impressions",
    "cta_conversions",
    "cta_conversion_rate",
    "form_conversions",
}
GROUP_BYS = ("utm_campaign", "utm_source", "utm_medium", "referrer_domain", "viewer_screen_size")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(replace(BASE, gone_medias=frozenset({GONE}))) as sb:
        yield sb


@pytest.fixture(scope="module")
def modern(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with modern_client(sandbox) as client:
        yield client


@pytest.fixture(scope="module")
def media(sandbox: Sandbox) -> str:
    """The media with the most plays over the week (so every route has rows)."""
    with api_client(sandbox) as api:
        ids = [m["hashed_id"] for m in api.get("/medias").json() if m["hashed_id"] != GONE]
        plays = {
            m: sum(r["play_count"] for r in api.get(f"/stats/medias/{m}/by_date", params=WEEK).json()) for m in ids
        }
    return max(plays, key=lambda m: plays[m])


def _get(client: httpx.Client, path: str, **params: Any) -> httpx.Response:
    return client.get(f"/analytics/medias/{path}", params=params)


def test_every_route_answers_with_its_documented_shape(modern: httpx.Client, media: str) -> None:
    summary = _get(modern, media, **WEEK)
    assert summary.status_code == 200
    assert summary.headers["x-wistia-api-version"] == "2026-03"
    assert set(summary.json()) == METRICS
    buckets = _get(modern, f"{media}/timeseries", granularity="daily", **WEEK).json()
    assert [b["timestamp"] for b in buckets] == [f"{TODAY - timedelta(days=6 - k)}T00:00:00.000Z" for k in range(7)]
    assert all(set(b) == METRICS | {"timestamp"} for b in buckets)
    for group_by in GROUP_BYS:
        rows = _get(modern, f"{media}/traffic", group_by=group_by, **WEEK).json()
        assert rows and all(set(r) == {group_by, "loads", "plays", "engagement_rate"} for r in rows)
    locations = _get(modern, f"{media}/embed_locations", **WEEK).json()
    assert locations and set(locations[0]) == {
        "embed_domain",
        "embed_path",
        "embed_url",
        "page_title",
        "loads",
        "unique_loads",
        "plays",
        "unique_plays",
        "play_rate",
        "played_time",
        "engagement_rate",
        "unique_visitors",
        "cta_conversion_rate",
    }
    loc = locations[0]
    assert loc["embed_url"] == f"https://{loc['embed_domain']}{loc['embed_path']}" and "?" not in loc["embed_url"]
    assert isinstance(loc["played_time"], float)
    conversions = _get(modern, f"{media}/conversions", **WEEK).json()
    assert set(conversions) == {"data", "page_info"}
    assert set(conversions["page_info"]) == {"has_next_page", "has_previous_page", "end_cursor", "start_cursor"}
    languages = _get(modern, f"{media}/languages", **WEEK).json()
    assert languages and set(languages[0]) == {"language", "plays", "percent_of_total_plays", "captions_support"}
    assert any(r["language"] == "en" and r["captions_support"] for r in languages)  # every media has en captions
    assert [(-r["plays"], r["language"]) for r in languages] == sorted((-r["plays"], r["language"]) for r in languages)


@pytest.mark.parametrize(
    ("asked", "served"),
    [(None, "2026-03"), ("2026-03", "2026-03"), ("2026-01", "2026-01"), ("2026-02", "2026-01"), ("2027-05", "2026-03")],
)
def test_version_header_resolves_to_a_release(sandbox: Sandbox, media: str, asked: str | None, served: str) -> None:
    headers = {} if asked is None else {"X-Wistia-API-Version": asked}
    with modern_client(sandbox, **headers) as client:
        resp = _get(client, f"{media}/timeseries", granularity="daily", **WEEK)
        assert resp.status_code == 200
        assert resp.headers["x-wistia-api-version"] == served
        error = _get(client, f"{media}/timeseries", **WEEK)  # errors carry the header too
        assert error.status_code == 422 and error.headers["x-wistia-api-version"] == served


@pytest.mark.parametrize("asked", ["2025-12", "2026-13", "2026-3", "v2", "2026-03-01"])
def test_unsupported_version_is_400(sandbox: Sandbox, media: str, asked: str) -> None:
    with modern_client(sandbox, **{"X-Wistia-API-Version": asked}) as client:
        resp = _get(client, media, **WEEK)
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("Unsupported X-Wistia-API-Version")
    assert resp.headers["x-wistia-api-version"] == "2026-03"


def test_only_bearer_auth_is_accepted(sandbox: Sandbox, media: str) -> None:
    url = f"{sandbox.modern_url}/analytics/medias/{media}"
    basic = httpx.get(url, params=WEEK, auth=("api", sandbox.token))
    password = httpx.get(url, params=WEEK | {"api_password": sandbox.token})
    wrong = httpx.get(url, params=WEEK, headers={"Authorization": "Bearer nope"})
    for resp in (basic, password, wrong):
        assert resp.status_code == 401
        assert resp.json() == {"error": "Invalid credentials."}
        assert resp.headers["x-wistia-api-version"] == "2026-03"
    with api_client(sandbox) as api:  # v1 keeps its legacy auth
        assert api.get(f"/stats/medias/{media}", auth=("api", sandbox.token)).status_code == 200


def test_unknown_and_gone_medias_are_404(modern: httpx.Client, sandbox: Sandbox) -> None:
    for media in ("nosuchmedia", GONE, str(Catalog(BASE).medias[0].id)):  # hashed ids only
        for suffix in ("", "/timeseries", "/traffic", "/conversions"):
            resp = _get(modern, f"{media}{suffix}", **WEEK)
            assert resp.status_code == 404, (media, suffix)
            assert resp.json() == {"error": "Media not found"}
    assert modern.get("/analytics/nothing").status_code == 404
    with api_client(sandbox) as api:
        assert GONE in {m["hashed_id"] for m in api.get("/medias").json()}  # still listed, as on v1


@pytest.mark.parametrize(
    ("suffix", "params"),
    [
        ("", {"end_date": "2026-11-25"}),
        ("", {"start_date": "2026-11-01"}),
        ("", {"start_date": "2026-11-1", "end_date": "2026-11-25"}),
        ("", {"start_date": "2026-02-30", "end_date": "2026-11-25"}),
        ("", {"start_date": "2026-11-25", "end_date": "2026-11-24"}),
        ("", {"start_date": "2024-11-24", "end_date": "2026-11-25"}),  # 2 years and a day
        ("/timeseries", WEEK),
        ("/timeseries", WEEK | {"granularity": "hourly"}),
        ("/traffic", WEEK),
        ("/traffic", WEEK | {"group_by": "country"}),
        ("/traffic", WEEK | {"group_by": "utm_source", "sort_by": "play_rate"}),
        ("/traffic", WEEK | {"group_by": "utm_source", "sort_direction": "up"}),
        ("/traffic", WEEK | {"group_by": "utm_source", "per_page": "101"}),
        ("/embed_locations", WEEK | {"per_page": "0"}),
        ("/embed_locations", WEEK | {"per_page": "ten"}),
        ("/embed_locations", WEEK | {"sort_by": "unique_visitors"}),
        ("/embed_locations", WEEK | {"embed_url": "not a url"}),
        ("/conversions", WEEK | {"cursor": "bm90LWEtY3Vyc29y"}),
        ("/conversions", WEEK | {"cursor": "%%%"}),
        ("/languages", WEEK | {"per_page": "-1"}),
    ],
)
def test_bad_parameters_are_422(modern: httpx.Client, media: str, suffix: str, params: dict[str, str]) -> None:
    resp = _get(modern, f"{media}{suffix}", **params)
    assert resp.status_code == 422, resp.text
    assert set(resp.json()) == {"error"}


def test_two_years_exactly_is_accepted_and_later_days_are_empty(modern: httpx.Client, media: str) -> None:
    start = date(2024, 11, 25)
    resp = _get(modern, f"{media}/timeseries", granularity="daily", start_date=start, end_date="2026-11-25")
    assert resp.status_code == 200
    assert len(resp.json()) == (TODAY - start).days + 1 == 731
    assert resp.json()[0]["plays"] == 0 and resp.json()[0]["play_rate"] is None  # before the history
    future = _get(modern, f"{media}/timeseries", granularity="daily", start_date="2026-12-01", end_date="2026-12-05")
    assert future.json() == []
    clipped = _get(modern, f"{media}/timeseries", granularity="daily", start_date="2026-11-24", end_date="2026-12-24")
    assert len(clipped.json()) == 2  # through today only
    empty = _get(modern, f"{media}/traffic", group_by="utm_source", start_date="2026-12-01", end_date="2026-12-01")
    assert empty.json() == []
    assert _get(modern, media, start_date="2026-12-01", end_date="2026-12-01").json()["plays"] == 0


def test_weekly_and_monthly_buckets_add_up_the_days(modern: httpx.Client, media: str) -> None:
    span = {"start_date": "2026-11-08", "end_date": "2026-11-25"}  # a Sunday .. a Wednesday
    daily = _get(modern, f"{media}/timeseries", granularity="daily", **span).json()
    weekly = _get(modern, f"{media}/timeseries", granularity="weekly", **span).json()
    monthly = _get(modern, f"{media}/timeseries", granularity="monthly", **span).json()
    summary = _get(modern, media, **span).json()
    assert [b["timestamp"][:10] for b in weekly] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert [b["timestamp"][:10] for b in monthly] == ["2026-11-01"]
    additive = ("unique_loads", "unique_plays", "plays", "cta_impressions", "cta_conversions", "form_conversions")
    for key in additive:
        assert sum(b[key] for b in weekly) == sum(b[key] for b in daily) == monthly[0][key] == summary[key]
    assert weekly[0]["plays"] == daily[0]["plays"]  # the first week counts only the range's Sunday
    assert abs(monthly[0]["played_time"] - sum(b["played_time"] for b in daily)) <= len(daily) / 2
    assert summary["unique_visitors"] == monthly[0]["unique_visitors"]
    assert max(b["unique_loads"] for b in daily) <= summary["unique_visitors"] <= summary["unique_loads"]
    for b in weekly:
        assert b["unique_visitors"] <= b["unique_loads"]


@pytest.mark.parametrize("sort_by", ["plays", "loads", "engagement_rate"])
def test_traffic_sorting_and_per_page(modern: httpx.Client, media: str, sort_by: str) -> None:
    full = _get(modern, f"{media}/traffic", group_by="utm_source", sort_by=sort_by, **WEEK).json()
    asc = _get(modern, f"{media}/traffic", group_by="utm_source", sort_by=sort_by, sort_direction="asc", **WEEK).json()
    top = _get(modern, f"{media}/traffic", group_by="utm_source", sort_by=sort_by, per_page=3, **WEEK).json()
    assert len(full) > 3 and top == full[:3]
    present = [r for r in full if r[sort_by] is not None]
    assert [r[sort_by] for r in present] == sorted((r[sort_by] for r in present), reverse=True)
    assert all(r[sort_by] is None for r in full[len(present) :])  # groups without plays: no engagement, last
    for a, b in pairwise(present):
        if a[sort_by] == b[sort_by]:
            assert a["utm_source"] < b["utm_source"]  # ties by value
    assert sorted(map(str, asc)) == sorted(map(str, full))
    asc_present = [r[sort_by] for r in asc if r[sort_by] is not None]
    assert asc_present == sorted(asc_present)


@pytest.mark.parametrize("sort_by", ["plays", "loads", "engagement_rate", "play_rate"])
def test_embed_locations_sorting_per_page_and_filter(modern: httpx.Client, media: str, sort_by: str) -> None:
    full = _get(modern, f"{media}/embed_locations", sort_by=sort_by, per_page=100, **WEEK).json()
    default = _get(modern, f"{media}/embed_locations", sort_by=sort_by, **WEEK).json()
    assert default == full[:10]
    values = [r[sort_by] for r in full if r[sort_by] is not None]
    assert values == sorted(values, reverse=True)
    one = full[0]["embed_url"]
    only = _get(modern, f"{media}/embed_locations", embed_url=one + "?utm_source=x", **WEEK).json()
    assert only == [full[0]]


def test_access_modes(media: str) -> None:
    for access, status in (("forbidden", 403), ("absent", 404)):
        config = replace(BASE, modern_access=access)
        with run_sandbox(config) as sb, modern_client(sb) as modern, api_client(sb) as api:
            for suffix in ("", "/timeseries", "/traffic", "/conversions"):
                resp = _get(modern, f"{media}{suffix}", **WEEK)
                assert resp.status_code == status, (access, suffix)
                assert resp.headers["x-wistia-api-version"] == "2026-03"
            if access == "forbidden":
                assert resp.json() == {"error": "This API token does not have the 'Read detailed stats' permission."}
            else:
                assert resp.json()["error"].startswith("No route matches /modern/")
            assert api.get(f"/stats/medias/{media}/by_date", params=WEEK).status_code == 200  # v1 unaffected


def test_analytics_503_fault() -> None:
    config = replace(BASE, faults=1.0, fault_kinds=("analytics_503",))
    with run_sandbox(config) as sb, modern_client(sb, **{"X-Wistia-API-Version": "2026-02"}) as modern:
        resp = _get(modern, "anything", **WEEK)
        assert resp.status_code == 503
        assert resp.json() == {"error": "Analytics service is temporarily unavailable"}
        assert "retry-after" not in resp.headers
        assert resp.headers["x-wistia-api-version"] == "2026-01"
        with api_client(sb) as api:
            v1 = api.get("/stats/account")
        assert v1.status_code == 503 and v1.text == "Service Unavailable" and v1.headers["retry-after"] == "1"
        assert "x-wistia-api-version" not in v1.headers
        assert sb.stats()["faults"] == {"analytics_503": 2}


def test_post_is_405(modern: httpx.Client, media: str) -> None:
    assert modern.post(f"/analytics/medias/{media}").status_code == 405


def test_modern_requests_share_the_rate_limit_and_throttling_names_the_version(media: str) -> None:
    with run_sandbox(replace(BASE, rate_limit_per_minute=2)) as sb, modern_client(sb) as modern:
        with api_client(sb) as api:
            assert api.get("/stats/account").status_code == 200
        assert _get(modern, media, **WEEK).status_code == 200
        throttled = _get(modern, media, **WEEK)
    assert throttled.status_code == 429 and "retry-after" in throttled.headers
    assert throttled.headers["x-wistia-api-version"] == "2026-03"

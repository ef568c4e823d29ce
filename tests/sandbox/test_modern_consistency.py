"""One truth across both APIs: the modern analytics agree with v1's by_date, events and visitors.

The relations are the ones docs/sandbox.md ("The modern analytics API") writes down; each is checked over real
HTTP on several medias and days: settled days, yesterday (late arrivals still coming) and today (partial).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.conftest import TODAY, api_client
from tests.sandbox.helpers import fetch_all, modern_client
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox

CONFIG = SandboxConfig(size="small", seed=42, today=TODAY, rate_limit_per_minute=0)
GROUP_BYS = ("utm_campaign", "utm_source", "utm_medium", "referrer_domain", "viewer_screen_size")
DAYS = (TODAY, TODAY - timedelta(days=1), date(2026, 10, 3), date(2026, 8, 20))
EPS = 1e-9
Json = dict[str, Any]


@dataclass
class Clients:
    sandbox: Sandbox
    v1: httpx.Client
    modern: httpx.Client
    medias: list[Json]


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    with run_sandbox(CONFIG) as sb, api_client(sb) as v1, modern_client(sb) as modern:
        medias = v1.get("/medias", params={"per_page": 100}).json()
        yield Clients(sb, v1, modern, medias)


def _one_day(day: date) -> dict[str, str]:
    return {"start_date": day.isoformat(), "end_date": day.isoformat()}


def _utm(url: str, key: str) -> str:
    """Wistia's reading of a UTM parameter: the lowercase key only, the first non-empty value as sent."""
    for k, v in parse_qsl(url.partition("?")[2], keep_blank_values=True):
        if k == key and v:
            return v
    return "(none)"


def _picked(c: Clients) -> list[Json]:
    """Three medias: the first, and two with a call to action (v1 `actions`), so CTA figures are exercised."""
    with_cta = [m for m in c.medias if "actions" in c.v1.get(f"/stats/medias/{m['hashed_id']}").json()]
    return [c.medias[0], *with_cta[:2]]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_every_endpoint_agrees_with_v1_on_a_media_day(clients: Clients, day: date) -> None:
    c = clients
    for media in _picked(c):
        mid, duration = media["hashed_id"], media["duration"]
        params = _one_day(day)
        official = c.v1.get(f"/stats/medias/{mid}/by_date", params=params).json()[0]
        events = fetch_all(c.v1, "/stats/events", {"media_id": mid, **params})
        has_cta = "actions" in c.v1.get(f"/stats/medias/{mid}").json()
        (bucket,) = c.modern.get(f"/analytics/medias/{mid}/timeseries", params=params | {"granularity": "daily"}).json()
        summary = c.modern.get(f"/analytics/medias/{mid}", params=params).json()
        assert {k: v for k, v in bucket.items() if k != "timestamp"} == summary

        loads, plays = official["load_count"], official["play_count"]
        assert plays > 0, (mid, day)  # the chosen days have traffic: the relations below are not vacuous
        assert bucket["plays"] == plays == len(events)
        assert bucket["played_time"] == round(official["hours_watched"] * 3600)
        assert abs(bucket["played_time"] - sum(e["percent_viewed"] * duration for e in events)) <= 0.5 + EPS
        assert bucket["unique_plays"] == len({e["visitor_key"] for e in events})
        assert bucket["unique_plays"] <= bucket["unique_loads"] <= loads and bucket["unique_plays"] <= plays
        assert bucket["unique_visitors"] == bucket["unique_loads"]  # one day
        assert bucket["play_rate"] == bucket["unique_plays"] / bucket["unique_loads"]
        assert abs(bucket["engagement_rate"] - sum(e["percent_viewed"] for e in events) / plays) < EPS
        assert bucket["form_conversions"] == sum(e["conversion_type"] == "pre-roll-email" for e in events)
        assert bucket["cta_conversions"] <= bucket["cta_impressions"] <= plays
        if not has_cta:
            assert bucket["cta_impressions"] == 0 and bucket["cta_conversion_rate"] is None

        for group_by in GROUP_BYS:
            rows = c.modern.get(f"/analytics/medias/{mid}/traffic", params=params | {"group_by": group_by}).json()
            assert sum(r["loads"] for r in rows) == loads, group_by
            assert sum(r["plays"] for r in rows) == plays, group_by
            assert all(r["plays"] <= r["loads"] for r in rows)
            assert len({r[group_by] for r in rows}) == len(rows)
            if group_by.startswith("utm_"):  # read from the v1 events' embed URLs, the way Wistia reads them
                by_value: defaultdict[str, list[float]] = defaultdict(list)
                for e in events:
                    by_value[_utm(e["embed_url"], group_by)].append(e["percent_viewed"])
                played = {r[group_by]: r for r in rows if r["plays"]}
                assert {v: r["plays"] for v, r in played.items()} == {v: len(p) for v, p in by_value.items()}
                for value, pvs in by_value.items():
                    assert abs(played[value]["engagement_rate"] - sum(pvs) / len(pvs)) < EPS

        locations = c.modern.get(f"/analytics/medias/{mid}/embed_locations", params=params | {"per_page": 100}).json()
        assert sum(r["loads"] for r in locations) == loads
        per_page_plays = Counter(e["embed_url"].partition("?")[0] for e in events)
        assert {r["embed_url"]: r["plays"] for r in locations if r["plays"]} == dict(per_page_plays)
        for r in locations:
            assert r["unique_plays"] <= r["unique_loads"] <= r["loads"] and r["unique_plays"] <= r["plays"]
            assert r["unique_visitors"] == r["unique_loads"]  # one day
            assert r["play_rate"] == r["unique_plays"] / r["unique_loads"]
        assert abs(sum(r["played_time"] for r in locations) - official["hours_watched"] * 3600) < 1e-6

        languages = c.modern.get(f"/analytics/medias/{mid}/languages", params=params).json()
        assert sum(r["plays"] for r in languages) == plays
        assert abs(sum(r["percent_of_total_plays"] for r in languages) - 1) < EPS


def test_ranges_add_up_to_the_days(clients: Clients) -> None:
    c = clients
    media = c.medias[1]["hashed_id"]
    span = {"start_date": (TODAY - timedelta(days=200)).isoformat(), "end_date": TODAY.isoformat()}
    official = c.v1.get(f"/stats/medias/{media}/by_date", params=span).json()
    buckets = c.modern.get(f"/analytics/medias/{media}/timeseries", params=span | {"granularity": "daily"}).json()
    assert [b["plays"] for b in buckets] == [r["play_count"] for r in official]
    assert [b["played_time"] for b in buckets] == [round(r["hours_watched"] * 3600) for r in official]
    assert all(b["unique_loads"] <= r["load_count"] for b, r in zip(buckets, official, strict=True))
    summary = c.modern.get(f"/analytics/medias/{media}", params=span).json()
    assert summary["plays"] == sum(r["play_count"] for r in official)
    assert summary["unique_loads"] == sum(b["unique_loads"] for b in buckets)
    assert max(b["unique_visitors"] for b in buckets) <= summary["unique_visitors"] <= summary["unique_loads"]
    lifetime = c.v1.get(f"/stats/medias/{media}").json()
    assert summary["plays"] == lifetime["play_count"]  # the range covers the whole history
    traffic = c.modern.get(f"/analytics/medias/{media}/traffic", params=span | {"group_by": "viewer_screen_size"})
    assert {r["viewer_screen_size"] for r in traffic.json()} <= {"small", "medium", "large"}
    assert sum(r["loads"] for r in traffic.json()) == lifetime["load_count"]
    cta_media = _picked(c)[1]["hashed_id"]
    cta = c.modern.get(f"/analytics/medias/{cta_media}", params=span).json()
    assert 0 < cta["cta_conversions"] < cta["cta_impressions"] < cta["plays"]
    assert cta["cta_conversion_rate"] == cta["cta_conversions"] / cta["cta_impressions"]


def test_conversions_are_v1_email_gate_events_paged_by_cursor_to_the_end(clients: Clients) -> None:
    c = clients
    span = {"start_date": (TODAY - timedelta(days=60)).isoformat(), "end_date": TODAY.isoformat()}
    counts = {
        m["hashed_id"]: c.modern.get(f"/analytics/medias/{m['hashed_id']}", params=span).json()["form_conversions"]
        for m in c.medias
    }
    media = max(counts, key=lambda m: counts[m])
    pages: list[Json] = []
    cursor: str | None = None
    while True:
        params = span | {"per_page": 3} | ({"cursor": cursor} if cursor else {})
        body = c.modern.get(f"/analytics/medias/{media}/conversions", params=params).json()
        pages.append(body)
        assert body["page_info"]["has_previous_page"] == (cursor is not None)
        if not body["page_info"]["has_next_page"]:
            break
        assert len(body["data"]) == 3
        cursor = body["page_info"]["end_cursor"]
        assert len(pages) < 200
    leads = [lead for p in pages for lead in p["data"]]
    assert len(leads) == counts[media] > 6
    assert [lead["converted_at"] for lead in leads] == sorted(lead["converted_at"] for lead in leads)
    split_days = [
        a["data"][-1]["converted_at"][:10]
        for a, b in pairwise(pages)
        if b["data"] and a["data"][-1]["converted_at"][:10] == b["data"][0]["converted_at"][:10]
    ]
    assert split_days, "no page boundary fell inside a day"
    after_end = c.modern.get(
        f"/analytics/medias/{media}/conversions", params=span | {"cursor": pages[-1]["page_info"]["end_cursor"]}
    ).json()
    assert after_end["data"] == [] and after_end["page_info"]["end_cursor"] is None
    assert not after_end["page_info"]["has_next_page"]

    events = fetch_all(c.v1, "/stats/events", {"media_id": media, **span})
    gated = [e for e in events if e["conversion_type"] == "pre-roll-email"]
    assert Counter((lead["email"], lead["converted_at"][:19]) for lead in leads) == Counter(
        (e["conversion_data"]["email"], e["received_at"][:19]) for e in gated
    )
    names = {(e["conversion_data"]["first_name"], e["conversion_data"]["last_name"]) for e in gated}
    assert {(lead["first_name"], lead["last_name"]) for lead in leads} == names
    visitors = fetch_all(c.v1, "/stats/visitors", {"filter": "identified_by_email_gate"})
    assert {lead["email"] for lead in leads} <= {v["visitor_identity"]["email"] for v in visitors}


def test_a_settled_day_never_changes_as_today_advances() -> None:
    start, day = date(2026, 10, 1), date(2026, 10, 12)
    seen = []
    for today in (date(2026, 10, 12), date(2026, 10, 15), date(2026, 10, 19)):
        config = SandboxConfig(size="tiny", seed=5, today=today, history_start=start, rate_limit_per_minute=0)
        with run_sandbox(config) as sb, modern_client(sb) as modern, api_client(sb) as v1:
            media = v1.get("/medias").json()[0]["hashed_id"]
            params = _one_day(day)
            seen.append(
                [
                    modern.get(
                        f"/analytics/medias/{media}/timeseries", params=params | {"granularity": "daily"}
                    ).json(),
                    modern.get(f"/analytics/medias/{media}/traffic", params=params | {"group_by": "utm_source"}).json(),
                    modern.get(f"/analytics/medias/{media}/embed_locations", params=params).json(),
                ]
            )
    assert seen[1] == seen[2]  # settled: three days on, late arrivals are in
    assert seen[0][0][0]["plays"] <= seen[1][0][0]["plays"]  # the same day seen at noon: fewer sessions so far

"""One underlying truth: every aggregate endpoint agrees with the events, at any point in time.

The relations asserted here are the ones `docs/sandbox.md` promises and the reconciliation relies on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import TODAY, api_client
from tests.sandbox.helpers import fetch_all
from wistia_analytics.sandbox import SandboxConfig, run_sandbox

EPS = 1e-9


def _durations(api: httpx.Client) -> dict[str, float]:
    return {m["hashed_id"]: m["duration"] for m in api.get("/medias", params={"per_page": 100}).json()}


def test_by_date_lifetime_engagement_and_events_agree(tiny_api: httpx.Client) -> None:
    durations = _durations(tiny_api)
    events = fetch_all(tiny_api, "/stats/events")
    plays: Counter[tuple[str, str]] = Counter()
    watch: defaultdict[tuple[str, str], float] = defaultdict(float)
    for e in events:
        key = (e["media_id"], e["received_at"][:10])
        plays[key] += 1
        watch[key] += e["percent_viewed"] * durations[e["media_id"]]
    first = min(d for _, d in plays)
    for media, duration in durations.items():
        rows = tiny_api.get(
            f"/stats/medias/{media}/by_date", params={"start_date": first, "end_date": TODAY.isoformat()}
        ).json()
        assert len(rows) == (TODAY - date.fromisoformat(first)).days + 1  # every day, zero days included
        for row in rows:
            key = (media, row["date"])
            assert row["play_count"] == plays[key], key
            assert row["load_count"] >= row["play_count"]
            assert row["hours_watched"] == pytest.approx(watch[key] / 3600, abs=EPS)
        life = tiny_api.get(f"/stats/medias/{media}").json()
        assert life["play_count"] == sum(r["play_count"] for r in rows)
        assert life["load_count"] == sum(r["load_count"] for r in rows)
        assert life["hours_watched"] == pytest.approx(sum(r["hours_watched"] for r in rows), abs=EPS)
        assert life["play_rate"] == pytest.approx(life["play_count"] / life["load_count"], abs=EPS)
        mine = [e for e in events if e["media_id"] == media]
        mean_pv = sum(e["percent_viewed"] for e in mine) / len(mine)
        assert life["engagement"] == pytest.approx(mean_pv, abs=EPS)
        assert life["visitors"] == len({e["visitor_key"] for e in mine})
        curve = tiny_api.get(f"/stats/medias/{media}/engagement").json()
        assert curve["engagement"] == pytest.approx(mean_pv, abs=EPS)
        assert curve["engagement_data"][0] == len(mine)  # everyone who played saw the first second
        assert len(curve["engagement_data"]) == min(int(-(-duration // 1)), 1000)
        assert all(r <= w for r, w in zip(curve["rewatch_data"], curve["engagement_data"], strict=True))
        assert curve["engagement_data"] == sorted(curve["engagement_data"], reverse=True)


def test_account_and_project_totals_are_sums_of_medias(tiny_api: httpx.Client) -> None:
    medias = tiny_api.get("/medias", params={"per_page": 100}).json()
    lifetimes = {m["hashed_id"]: tiny_api.get(f"/stats/medias/{m['hashed_id']}").json() for m in medias}
    account = tiny_api.get("/stats/account").json()
    assert account["play_count"] == sum(s["play_count"] for s in lifetimes.values())
    assert account["load_count"] == sum(s["load_count"] for s in lifetimes.values())
    assert account["hours_watched"] == pytest.approx(sum(s["hours_watched"] for s in lifetimes.values()), abs=EPS)
    for project in tiny_api.get("/projects").json():
        members = [m["hashed_id"] for m in medias if m["project"]["hashed_id"] == project["hashedId"]]
        stats = tiny_api.get(f"/stats/projects/{project['hashedId']}").json()
        assert stats["number_of_videos"] == project["mediaCount"] == len(members)
        assert stats["play_count"] == sum(lifetimes[m]["play_count"] for m in members)
    by_day = tiny_api.get(
        "/stats/account/by_date", params={"start_date": "2026-11-01", "end_date": "2026-11-25"}
    ).json()
    assert sum(r["play_count"] for r in by_day) == account["play_count"]


def test_visitors_agree_with_events(tiny_api: httpx.Client) -> None:
    events = fetch_all(tiny_api, "/stats/events")
    visitors = fetch_all(tiny_api, "/stats/visitors")
    per_visitor = Counter(e["visitor_key"] for e in events)
    assert {v["visitor_key"]: v["play_count"] for v in visitors} == dict(per_visitor)
    latest = {}
    for e in events:  # newest first
        latest.setdefault(e["visitor_key"], e)
    for v in visitors[:25]:
        assert v["last_event_key"] == latest[v["visitor_key"]]["event_key"]
        assert v["last_active_at"][:19] == latest[v["visitor_key"]]["received_at"][:19]
        assert v["load_count"] >= v["play_count"]
        assert v["created_at"] <= v["last_active_at"]
        shown = tiny_api.get(f"/stats/events/{v['last_event_key']}").json()
        assert shown == latest[v["visitor_key"]]
    identified = [e for e in events if e["email"]]
    assert identified and all(
        e["email"] == next(v for v in visitors if v["visitor_key"] == e["visitor_key"])["visitor_identity"]["email"]
        for e in identified[:20]
    )


def test_late_events_appear_later_and_all_endpoints_follow() -> None:
    start = date(2026, 10, 1)
    day = date(2026, 10, 18)

    def snapshot(today: date) -> tuple[int, int, int]:
        config = SandboxConfig(
            size="tiny", seed=11, today=today, history_start=start, late_fraction=0.3, rate_limit_per_minute=0
        )
        with run_sandbox(config) as sb, api_client(sb) as api:
            events = fetch_all(api, "/stats/events", {"start_date": day.isoformat(), "end_date": day.isoformat()})
            by_date = api.get(
                "/stats/account/by_date", params={"start_date": day.isoformat(), "end_date": day.isoformat()}
            ).json()
            return len(events), by_date[0]["play_count"], sum(1 for _ in events)

    same_day = snapshot(day)
    next_day = snapshot(day + timedelta(days=1))
    settled = snapshot(day + timedelta(days=3))
    later = snapshot(day + timedelta(days=30))
    assert same_day[0] == same_day[1] < next_day[0] == next_day[1] < settled[0] == settled[1]
    assert settled == later  # once settled, a day never changes


def test_advancing_today_grows_the_same_account() -> None:
    start = date(2026, 10, 1)
    seen = {}
    for today in (date(2026, 10, 20), date(2026, 10, 21)):
        config = SandboxConfig(size="tiny", seed=5, today=today, history_start=start, rate_limit_per_minute=0)
        with run_sandbox(config) as sb, api_client(sb) as api:
            seen[today] = fetch_all(api, "/stats/events", {"end_date": "2026-10-15"})
            assert api.get("/medias").json() == seen.setdefault(("medias", 0), api.get("/medias").json())
    assert seen[date(2026, 10, 20)] == seen[date(2026, 10, 21)]


def test_retention_hides_events_older_than_730_days_but_not_their_stats() -> None:
    start = date(2024, 11, 1)
    today = start + timedelta(days=735)
    config = SandboxConfig(size="tiny", seed=3, today=today, history_start=start, rate_limit_per_minute=0)
    with run_sandbox(config) as sb, api_client(sb) as api:
        old_day = start + timedelta(days=2)
        rows = api.get(
            "/stats/account/by_date",
            params={"start_date": old_day.isoformat(), "end_date": old_day.isoformat()},
        ).json()
        events = api.get(
            "/stats/events", params={"start_date": old_day.isoformat(), "end_date": old_day.isoformat()}
        ).json()
        assert rows[0]["play_count"] > 0
        assert events == []
        oldest = fetch_all(api, "/stats/events", {"end_date": (today - timedelta(days=729)).isoformat()})
        assert oldest and min(e["received_at"][:10] for e in oldest) == (today - timedelta(days=729)).isoformat()


def test_tick_makes_events_arrive_while_paging() -> None:
    config = SandboxConfig(size="tiny", seed=9, today=TODAY, tick_seconds=4 * 3600, rate_limit_per_minute=0)
    with run_sandbox(config) as sb, api_client(sb) as api:
        first = api.get("/stats/events", params={"per_page": 5}).json()
        again = api.get("/stats/events", params={"per_page": 5}).json()
    assert first != again  # newer sessions pushed the list down
    assert first[0]["event_key"] in {e["event_key"] for e in again} or again[0]["received_at"] > first[0]["received_at"]

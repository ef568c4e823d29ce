"""Every route over real HTTP: shapes, auth, paging edges, parameter errors, 404s and filters."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import TODAY, api_client
from tests.sandbox.helpers import fetch_all
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox


def _first_media(api: httpx.Client) -> dict:
    return api.get("/medias.json").json()[0]


@pytest.mark.parametrize("suffix", ["", ".json"])
def test_every_route_answers_with_and_without_json_suffix(tiny_api: httpx.Client, suffix: str) -> None:
    media = _first_media(tiny_api)
    project = tiny_api.get("/projects.json").json()[0]
    event = tiny_api.get("/stats/events.json", params={"per_page": 1}).json()[0]
    paths = {
        f"/medias{suffix}": list,
        f"/medias/{media['hashed_id']}{suffix}": dict,
        f"/projects{suffix}": list,
        f"/projects/{project['hashedId']}{suffix}": dict,
        f"/projects/{project['id']}{suffix}": dict,
        f"/account{suffix}": dict,
        f"/stats/account{suffix}": dict,
        f"/stats/account/by_date{suffix}": list,
        f"/stats/projects/{project['hashedId']}{suffix}": dict,
        f"/stats/medias/{media['hashed_id']}{suffix}": dict,
        f"/stats/medias/{media['id']}{suffix}": dict,
        f"/stats/medias/{media['hashed_id']}/by_date{suffix}": list,
        f"/stats/medias/{media['hashed_id']}/engagement{suffix}": dict,
        f"/stats/visitors{suffix}": list,
        f"/stats/visitors/{event['visitor_key']}{suffix}": dict,
        f"/stats/events{suffix}": list,
        f"/stats/events/{event['event_key']}{suffix}": dict,
    }
    for path, kind in paths.items():
        resp = tiny_api.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("application/json"), path
        assert isinstance(resp.json(), kind), path


def test_payload_shapes_follow_the_reference(tiny_api: httpx.Client) -> None:
    media = _first_media(tiny_api)
    assert {"id", "hashed_id", "name", "type", "created", "updated", "duration", "project", "assets"} <= set(media)
    assert media["created"].endswith("+00:00")
    assert {"id", "name", "hashed_id"} == set(media["project"])
    project = tiny_api.get("/projects.json").json()[0]
    assert {"hashedId", "mediaCount", "anonymousCanUpload", "publicId"} <= set(project)  # camelCase
    stats = tiny_api.get(f"/stats/medias/{media['hashed_id']}").json()
    assert {"load_count", "play_count", "play_rate", "hours_watched", "engagement", "visitors"} <= set(stats)
    event = tiny_api.get("/stats/events", params={"per_page": 1}).json()[0]
    assert list(event)[:3] == ["received_at", "event_key", "ip"]
    assert event["received_at"].endswith(".000Z")
    assert event["media_id"] == tiny_api.get(f"/medias/{event['media_id']}").json()["hashed_id"]
    visitor = tiny_api.get("/stats/visitors", params={"per_page": 1}).json()[0]
    assert "identifying_event_key" in visitor
    shown = tiny_api.get(f"/stats/visitors/{visitor['visitor_key']}").json()
    assert "identifying_event_key" not in shown  # list only, as in the docs
    assert {k: v for k, v in visitor.items() if k != "identifying_event_key"} == shown


def test_quirks_appear_in_a_realistic_fraction(tiny_api: httpx.Client) -> None:
    events = fetch_all(tiny_api, "/stats/events")
    n = len(events)
    assert n > 300
    no_thumb = sum("thumbnail" not in e for e in events)
    blank_geo = sum(e["lat"] == "" for e in events)
    empty_conv = sum(e["conversion_type"] == "" for e in events)
    assert 0.05 < no_thumb / n < 0.9
    assert 0 < blank_geo / n < 0.1
    assert empty_conv / n > 0.8
    assert any(e["received_at"].endswith(":00Z") or not e["received_at"].endswith(".000Z") for e in events)
    assert any("e0." in e["event_key"] for e in events) and any("_" in e["event_key"] for e in events)
    medias = tiny_api.get("/medias").json()
    with_actions = [("actions" in tiny_api.get(f"/stats/medias/{m['hashed_id']}").json()) for m in medias]
    assert any(with_actions) or not all(with_actions)


def test_auth_failures_are_401_json(tiny_sandbox: Sandbox) -> None:
    url = tiny_sandbox.base_url + "/medias.json"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Token x"}):
        resp = httpx.get(url, headers=headers)
        assert resp.status_code == 401
        assert resp.json() == {"code": "unauthorized_credentials", "error": "Invalid credentials."}
    basic = base64.b64encode(f"api:{tiny_sandbox.token}".encode()).decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert httpx.get(url, params={"api_password": tiny_sandbox.token}).status_code == 200
    assert httpx.get(url, params={"api_password": "nope"}).status_code == 401


def test_paging_defaults_caps_and_past_the_end(tiny_api: httpx.Client) -> None:
    assert len(tiny_api.get("/stats/events").json()) == 10  # default per_page is 10
    assert len(tiny_api.get("/stats/events", params={"per_page": 500}).json()) == 100  # capped
    everything = fetch_all(tiny_api, "/stats/events")
    pages = -(-len(everything) // 100)
    assert tiny_api.get("/stats/events", params={"per_page": 100, "page": pages + 1}).json() == []
    assert tiny_api.get("/stats/events", params={"page": 0, "per_page": 5}).json() == everything[:5]
    # Pages are disjoint slices of one ordering.
    glued = [e for p in (1, 2, 3) for e in tiny_api.get("/stats/events", params={"page": p, "per_page": 7}).json()]
    assert glued == everything[:21]


def test_exact_multiple_of_per_page_ends_with_an_empty_page(tiny_api: httpx.Client) -> None:
    day_counts = {}
    for row in tiny_api.get(
        "/stats/account/by_date", params={"start_date": "2026-11-05", "end_date": "2026-11-24"}
    ).json():
        day_counts[row["date"]] = row["play_count"]
    day, count = next((d, c) for d, c in day_counts.items() if c > 3)
    per_page = next(p for p in range(min(count, 50), 0, -1) if count % p == 0 and p < count)
    params = {"start_date": day, "end_date": day, "per_page": per_page}
    pages = [tiny_api.get("/stats/events", params=params | {"page": p}).json() for p in range(1, count // per_page + 2)]
    assert [len(p) for p in pages] == [per_page] * (count // per_page) + [0]


def test_empty_account_lists_are_empty() -> None:
    with (
        run_sandbox(SandboxConfig(size="empty", today=TODAY, rate_limit_per_minute=0)) as sb,
        api_client(sb) as api,
    ):
        assert api.get("/medias").json() == []
        assert api.get("/stats/events").json() == []
        assert api.get("/stats/visitors").json() == []
        assert api.get("/stats/account").json() == {"load_count": 0, "play_count": 0, "hours_watched": 0.0}


def test_malformed_parameters_are_422_on_stats_and_400_on_data(tiny_api: httpx.Client) -> None:
    media = _first_media(tiny_api)["hashed_id"]
    for path, params in (
        ("/stats/events", {"start_date": "2026-13-45"}),
        ("/stats/events", {"end_date": "yesterday"}),
        ("/stats/events", {"page": "two"}),
        (f"/stats/medias/{media}/by_date", {"start_date": "20261101"}),
        ("/stats/visitors", {"filter": "has_phone"}),
    ):
        resp = tiny_api.get(path, params=params)
        assert resp.status_code == 422, (path, params)
        assert "error" in resp.json()
    assert tiny_api.get("/medias", params={"sort_by": "colour"}).status_code == 400


def test_unknown_ids_are_404(tiny_api: httpx.Client) -> None:
    for path in (
        "/medias/doesnotexi",
        "/projects/nope",
        "/stats/medias/nope",
        "/stats/medias/nope/by_date",
        "/stats/medias/nope/engagement",
        "/stats/projects/nope",
        "/stats/visitors/1760645_00000000-0000-0000-0000-000000000000",
        "/stats/events/1760721_00000000-0000-0000-0000-000000000000",
        "/stats/events/not-a-key",
        "/no/such/route",
    ):
        assert tiny_api.get(path).status_code == 404, path


def test_events_filters_and_order(tiny_api: httpx.Client) -> None:
    everything = fetch_all(tiny_api, "/stats/events")
    stamps = [(e["received_at"][:19], e["event_key"]) for e in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first, ties by key descending
    assert len({e["event_key"] for e in everything}) == len(everything)
    media = everything[0]["media_id"]
    mine = fetch_all(tiny_api, "/stats/events", {"media_id": media})
    assert mine == [e for e in everything if e["media_id"] == media]
    day = everything[len(everything) // 2]["received_at"][:10]
    on_day = fetch_all(tiny_api, "/stats/events", {"start_date": day, "end_date": day})
    assert on_day == [e for e in everything if e["received_at"][:10] == day]
    visitor = everything[3]["visitor_key"]
    theirs = fetch_all(tiny_api, "/stats/events", {"visitor_key": visitor})
    assert theirs == [e for e in everything if e["visitor_key"] == visitor]
    assert tiny_api.get("/stats/events", params={"media_id": "unknownid0"}).json() == []


def test_by_date_defaults_to_yesterday_and_today(tiny_api: httpx.Client) -> None:
    media = _first_media(tiny_api)["hashed_id"]
    rows = tiny_api.get(f"/stats/medias/{media}/by_date").json()
    assert [r["date"] for r in rows] == [(TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()]
    account = tiny_api.get("/stats/account/by_date").json()
    assert [r["date"] for r in account] == [TODAY.isoformat(), (TODAY - timedelta(days=1)).isoformat()]
    future = tiny_api.get(
        f"/stats/medias/{media}/by_date", params={"start_date": "2026-11-24", "end_date": "2026-12-31"}
    )
    assert [r["date"] for r in future.json()] == ["2026-11-24", "2026-11-25"]  # nothing after today
    early = tiny_api.get(
        f"/stats/medias/{media}/by_date", params={"start_date": "2020-01-01", "end_date": "2020-01-02"}
    )
    assert [r["play_count"] for r in early.json()] == [0, 0]


def test_visitors_ignore_media_id_and_filter_by_identity(tiny_api: httpx.Client) -> None:
    everyone = fetch_all(tiny_api, "/stats/visitors")
    media = _first_media(tiny_api)["hashed_id"]
    assert fetch_all(tiny_api, "/stats/visitors", {"media_id": media}) == everyone  # quirk: ignored
    stamps = [v["last_active_at"] for v in everyone]
    assert stamps == sorted(stamps, reverse=True)
    with_email = fetch_all(tiny_api, "/stats/visitors", {"filter": "has_email"})
    assert with_email and all(v["visitor_identity"]["email"] for v in with_email)
    assert {v["visitor_key"] for v in with_email} == {
        v["visitor_key"] for v in everyone if v["visitor_identity"]["email"]
    }
    gated = fetch_all(tiny_api, "/stats/visitors", {"filter": "identified_by_email_gate"})
    assert all(v["identifying_event_key"] for v in gated)
    name = with_email[0]["visitor_identity"]["name"].split()[0]
    found = fetch_all(tiny_api, "/stats/visitors", {"search": name.upper()})
    assert found and all(
        name.lower() in (v["visitor_identity"]["name"] or "").lower()
        or name.lower() in (v["visitor_identity"]["email"] or "")
        for v in found
    )


def test_medias_list_filters_and_sorting(tiny_api: httpx.Client) -> None:
    medias = tiny_api.get("/medias", params={"per_page": 100}).json()
    assert [m["id"] for m in medias] == sorted(m["id"] for m in medias)
    by_name = tiny_api.get("/medias", params={"sort_by": "name", "sort_direction": 0}).json()
    assert [m["name"] for m in by_name] == sorted((m["name"] for m in medias), reverse=True)
    project = medias[0]["project"]["hashed_id"]
    assert {m["project"]["hashed_id"] for m in tiny_api.get("/medias", params={"project_id": project}).json()} == {
        project
    }
    wanted = [medias[0]["hashed_id"], medias[-1]["hashed_id"]]
    assert {m["hashed_id"] for m in tiny_api.get("/medias", params={"hashed_ids[]": wanted}).json()} == set(wanted)


def test_dates_are_not_in_the_future(tiny_api: httpx.Client) -> None:
    events = fetch_all(tiny_api, "/stats/events")
    assert max(e["received_at"][:19] for e in events) <= f"{TODAY.isoformat()}T12:00:00"
    assert min(date.fromisoformat(e["received_at"][:10]) for e in events) >= TODAY - timedelta(days=20)

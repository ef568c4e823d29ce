"""The client against the modern Data API over real HTTP (the hostile stand-in server): the version header, the
modern root, cursor paging, the 2-year span, the 503 of the analytics service, the 403 of a token without
"Read detailed stats", and the token kept out of every error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.hostile.server import LEADS_PER_DAY, MEDIA_IDS, TOKEN, HostileAPI, Query, Reply, hostile_api, loaded
from wistia_analytics.contracts.streams import Api
from wistia_analytics.errors import ExitCode
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.api_errors import AnalyticsAccessError, EndlessListError, FatalConfigError
from wistia_analytics.wistia.client import WistiaClient, limits_from_settings, max_end_date
from wistia_analytics.wistia.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02, jitter=0.0, fail_fast_unreachable=True)
MEDIA = MEDIA_IDS[0]
ROOT = f"/analytics/medias/{MEDIA}"
WEEK = {"start_date": "2026-11-19", "end_date": "2026-11-25"}


@pytest.fixture()
def api() -> Iterator[HostileAPI]:
    with hostile_api() as running:
        yield running


def client_for(api: HostileAPI, **kwargs: Any) -> WistiaClient:
    sleeps: list[float] = []
    client = WistiaClient(
        api.base_url, TOKEN, requests_per_minute=1_000_000, timeout=5.0, retry=FAST, sleep=sleeps.append, **kwargs
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def sent_version(api: HostileAPI, prefix: str) -> list[str | None]:
    return [h.get("x-wistia-api-version") for path, h in api.headers if path.startswith(prefix)]


def test_the_version_header_goes_on_modern_requests_only_and_the_served_release_is_recorded(api: HostileAPI) -> None:
    with client_for(api) as client:
        assert client.served_api_version is None
        client.get_json("/medias.json")
        totals = client.get_json(ROOT, WEEK, api=Api.MODERN)
        assert client.served_api_version == "2026-03"
    assert totals["unique_loads"] == sum(1 for d in range(19, 26) if loaded(date(2026, 11, d), 0))
    assert sent_version(api, "/v1/") == [None]  # v1 never sees it
    assert sent_version(api, "/modern/") == ["2026-03"]  # the default: the newest our reference describes
    with client_for(api, api_version="2026-02") as client:
        client.get_json(ROOT, WEEK, api=Api.MODERN)
        assert client.served_api_version == "2026-01"  # the release before an unknown month answered
    assert sent_version(api, "/modern/")[-1] == "2026-02"


def test_the_modern_root_is_derived_from_the_v1_url_unless_set() -> None:
    with WistiaClient("http://127.0.0.1:9/v1", TOKEN) as client:
        assert client.modern_url == "http://127.0.0.1:9/modern"
    with WistiaClient("https://api.wistia.com/v1/", TOKEN, modern_url="https://proxy.example/wistia/modern/") as client:
        assert client.modern_url == "https://proxy.example/wistia/modern"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, wistia_api_token=TOKEN, wistia_api_url="http://127.0.0.1:9/v1", wistia_api_version="2026-01"
    )
    with WistiaClient.from_settings(settings) as client:
        assert (client.modern_url, client.api_version) == ("http://127.0.0.1:9/modern", "2026-01")
    assert limits_from_settings(settings)["modern_url"] is None  # derived from whichever v1 root the run uses
    custom = settings.model_copy(update={"wistia_modern_api_url": "http://127.0.0.1:8/modern"})
    with WistiaClient.from_settings(custom) as client:
        assert client.modern_url == "http://127.0.0.1:8/modern"
    with pytest.raises(FatalConfigError, match="WISTIA_MODERN_API_URL"):
        WistiaClient("http://127.0.0.1:9/v1", TOKEN, modern_url="ftp://nowhere")
    with pytest.raises(FatalConfigError, match="WISTIA_API_VERSION"):
        WistiaClient("http://127.0.0.1:9/v1", TOKEN, api_version="2026-3")


def test_cursor_paging_reaches_the_end_with_page_boundaries_inside_a_day(api: HostileAPI) -> None:
    days = [date(2026, 11, d) for d in range(19, 26)]
    expected = [f"ann{i}.{d:%m%d}@example.com" for d in days if loaded(d, 0) for i in range(LEADS_PER_DAY)]
    with client_for(api) as client:
        pages = list(client.paginate_cursor(f"{ROOT}/conversions", WEEK, per_page=2))
    assert [r["email"] for p in pages for r in p.records] == expected  # in order, none lost, none twice
    assert len(pages) == -(-len(expected) // 2)  # 3 leads a day, 2 a page: boundaries fall inside days
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    asked = [p for p in api.requests if "/conversions" in p]
    assert len(asked) == len(pages) and "cursor" not in asked[0] and all("cursor=c" in p for p in asked[1:])
    assert all("per_page=2" in p for p in asked)
    assert pages[1].params["cursor"] == "c2"  # the lineage of each page names the cursor it was asked with


def test_a_cursor_that_comes_back_is_an_endless_list_and_max_pages_bounds_the_rest(api: HostileAPI) -> None:
    def looping(query: Query) -> Reply:
        return Reply({"data": [{"email": "a@example.com"}], "page_info": {"has_next_page": True, "end_cursor": "same"}})

    api.routes[f"/modern{ROOT}/conversions"] = looping
    with client_for(api) as client:
        got = []
        with pytest.raises(EndlessListError, match="cursor already followed"):
            for page in client.paginate_cursor(f"{ROOT}/conversions", WEEK):
                got.append(page)
        assert len(got) == 2  # the pages before the repeat were yielded
    counter = iter(range(1000))
    api.routes[f"/modern{ROOT}/conversions"] = lambda q: Reply(
        {"data": [{"n": 1}], "page_info": {"has_next_page": True, "end_cursor": f"c{next(counter)}"}}
    )
    with client_for(api, max_pages=3) as client, pytest.raises(EndlessListError, match="more than 3 pages"):
        list(client.paginate_cursor(f"{ROOT}/conversions", WEEK))


def test_a_range_over_two_years_is_refused_before_anything_is_sent(api: HostileAPI) -> None:
    assert max_end_date(date(2024, 2, 29)) == date(2026, 2, 28)
    with client_for(api) as client:
        client.get_json(ROOT, {"start_date": "2024-01-01", "end_date": "2026-01-01"}, api=Api.MODERN)  # exactly 2 years
        with pytest.raises(ValueError, match="spans more than 2 years"):
            client.get_json(ROOT, {"start_date": "2024-01-01", "end_date": "2026-01-02"}, api=Api.MODERN)
        with pytest.raises(ValueError, match="spans more than 2 years"):
            next(client.paginate_cursor(f"{ROOT}/conversions", {"start_date": "2020-01-01", "end_date": "2026-01-01"}))
    assert len([p for p in api.requests if p.startswith("/modern/")]) == 1


def test_the_analytics_503_is_retried_with_backoff_and_counted_as_a_fault_not_throttling(api: HostileAPI) -> None:
    answers = iter([503, 503])

    def flaky(query: Query) -> Reply:
        status = next(answers, 200)
        if status == 503:
            return Reply({"error": "Analytics service is temporarily unavailable"}, status=503)
        return Reply([{"timestamp": "2026-11-25T00:00:00.000Z", "unique_loads": None, "plays": None}])

    api.routes[f"/modern{ROOT}/timeseries"] = flaky
    with client_for(api) as client:
        buckets = client.get_json(f"{ROOT}/timeseries", {**WEEK, "granularity": "daily"}, api=Api.MODERN)
        stats = client.stats.snapshot()
        sleeps = client.sleeps  # type: ignore[attr-defined]
    assert buckets == [{"timestamp": "2026-11-25T00:00:00.000Z", "unique_loads": None, "plays": None}]  # nulls kept
    assert (stats.requests, stats.retries, stats.throttled, stats.faults) == (3, 2, 0, {"http_503": 2})
    assert sleeps == [0.01, 0.02]  # exponential backoff (no Retry-After to honour)
    api.routes[f"/modern{ROOT}"] = lambda q: Reply({"error": "busy"}, status=503, headers={"Retry-After": "0"})
    with client_for(api) as client, pytest.raises(Exception, match="gave up after 4 attempts"):
        client.get_json(ROOT, WEEK, api=Api.MODERN)
    assert client.stats.throttled == 4  # with Retry-After, a 503 is throttling (and holds the pacing)


def test_a_403_names_the_permission_and_the_token_setting_and_never_the_token(api: HostileAPI) -> None:
    echo = f"This API token ({TOKEN}) does not have the 'Read detailed stats' permission."
    api.routes[f"/modern{ROOT}"] = lambda q: Reply({"error": echo}, status=403)
    api.routes["/v1/account.json"] = lambda q: Reply({"error": "Forbidden"}, status=403)
    with client_for(api) as client:
        with pytest.raises(AnalyticsAccessError) as modern:
            client.get_json(ROOT, WEEK, api=Api.MODERN)
        with pytest.raises(FatalConfigError) as v1:
            client.get_json("/account.json")
    message = str(modern.value)
    assert "'Read detailed stats' permission" in message and "WISTIA_API_TOKEN" in message
    assert "INGEST_ANALYTICS=false" in message and modern.value.exit_code == ExitCode.CONFIG
    assert TOKEN not in message and TOKEN not in repr(modern.value.args)
    assert not isinstance(v1.value, AnalyticsAccessError)  # a v1 403 stays the plain configuration error
    assert all(TOKEN not in path for path in api.requests)  # never in a URL

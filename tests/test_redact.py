"""The one module that keeps credentials out of messages, logs and the lake."""

from __future__ import annotations

import pytest

from wistia_analytics.redact import (
    REDACTED,
    SECRET_NAMES,
    drop_secret_keys,
    format_query,
    is_secret_name,
    redact_headers,
    redact_params,
    redact_text,
)

TOKEN = "tok-9f3c1a7e5b2d4c6e8a0b"  # distinctive, so a leak is easy to spot


def test_one_list_covers_params_keys_and_headers() -> None:
    for name in ("api_password", "access_token", "api_token", "wistia_api_token", "token", "password"):
        assert name in SECRET_NAMES
    for name in ("authorization", "proxy_authorization", "cookie"):
        assert name in SECRET_NAMES
    assert REDACTED == "***"


@pytest.mark.parametrize(
    "name",
    [
        "api_password",
        "API_PASSWORD",
        "Access_Token",
        "api-token",
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
    ],
)
def test_secret_names_match_case_and_dash_insensitively(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["page", "per_page", "media_id", "start_date", "Accept", "tokens_used"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_params_masks_values_and_keeps_keys() -> None:
    params = {"api_password": TOKEN, "ACCESS_TOKEN": TOKEN, "media_id": "abc", "page": 3}
    assert redact_params(params) == {
        "api_password": "***",
        "ACCESS_TOKEN": "***",
        "media_id": "abc",
        "page": 3,
    }
    assert params["api_password"] == TOKEN  # a copy: the input is untouched
    assert redact_params(None) == {}
    assert redact_params({}) == {}


def test_redact_headers_masks_credential_headers() -> None:
    headers = redact_headers({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    assert headers == {"Authorization": "***", "Accept": "application/json"}
    pairs = [("Cookie", "session=abc"), ("proxy-authorization", "Basic xyz"), ("X-Id", "1")]
    assert redact_headers(pairs) == {"Cookie": "***", "proxy-authorization": "***", "X-Id": "1"}


def test_format_query_is_redacted_and_readable() -> None:
    text = format_query({"api_password": TOKEN, "media_id": "abc", "sort": None, "ids": [1, 2]})
    assert TOKEN not in text
    assert text == "api_password=***&media_id=abc&ids=1&ids=2"
    assert format_query(None) == ""


def test_drop_secret_keys_removes_keys_at_any_depth() -> None:
    value = {
        "page": 3,
        "api_password": TOKEN,
        "nested": {"Access-Token": TOKEN, "keep": [{"token": TOKEN, "x": 1}, (TOKEN,)]},
    }
    assert drop_secret_keys(value) == {"page": 3, "nested": {"keep": [{"x": 1}, [TOKEN]]}}
    assert value["api_password"] == TOKEN  # a copy: the input is untouched
    assert drop_secret_keys("plain") == "plain"


def test_redact_text_replaces_known_secret_values() -> None:
    assert redact_text(f"server echoed {TOKEN} twice: {TOKEN}", [TOKEN]) == "server echoed *** twice: ***"
    assert redact_text("nothing to hide", [""]) == "nothing to hide"
    assert redact_text("a b c", ["a", "c"]) == "*** b ***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /v1/medias.json?access_token=tok-1&page=3 -> 500",
            "GET /v1/medias.json?access_token=***&page=3 -> 500",
        ),
        ("Authorization: Bearer tok-2 rejected", "Authorization: Bearer *** rejected"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: ***"),
        ('{"api_password": "tok-3"}', '{"api_password": "***"}'),
        ("ingest --token tok-4 --since 2026-11-01", "ingest --token *** --since 2026-11-01"),
        ("ingest --api-token=tok-5", "ingest --api-token=***"),
        ("Invalid date for start_date", "Invalid date for start_date"),
    ],
)
def test_redact_text_catches_credential_looking_fragments(text: str, expected: str) -> None:
    assert redact_text(text) == expected

"""Lenient parsing of the value shapes documented in the API reference (§3, §6.10, §8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wistia_analytics.wistia.parsing import (
    dig,
    format_query_date,
    format_timestamp,
    is_blank,
    parse_bool,
    parse_conversion_type,
    parse_date,
    parse_float,
    parse_int,
    parse_str,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-01-27T22:42:53Z", datetime(2014, 1, 27, 22, 42, 53, tzinfo=UTC)),  # Stats API docs
        ("2025-10-17T17:24:53.000Z", datetime(2025, 10, 17, 17, 24, 53, tzinfo=UTC)),  # live 2025
        ("2025-10-16T13:08:36.380Z", datetime(2025, 10, 16, 13, 8, 36, 380000, tzinfo=UTC)),
        ("2013-09-19T15:05:15+00:00", datetime(2013, 9, 19, 15, 5, 15, tzinfo=UTC)),  # Data API
        ("2013-09-19T17:05:15+02:00", datetime(2013, 9, 19, 15, 5, 15, tzinfo=UTC)),
        ("2013-09-19 15:05:15+00:00", datetime(2013, 9, 19, 15, 5, 15, tzinfo=UTC)),
        ("2012-10-09", datetime(2012, 10, 9, tzinfo=UTC)),  # by_date rows
        ("2012-10-09T00:00:00", datetime(2012, 10, 9, tzinfo=UTC)),  # no offset: UTC
        (" 2014-01-27T22:42:53z ", datetime(2014, 1, 27, 22, 42, 53, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


def test_timestamp_objects_and_blanks() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert parse_timestamp(naive) == naive.replace(tzinfo=UTC)
    plus_one = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert parse_timestamp(plus_one) == naive.replace(tzinfo=UTC)
    assert parse_timestamp(date(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)
    for blank in (None, "", "   "):
        assert parse_timestamp(blank) is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45", "2026-02-30T00:00:00Z", 1700000000, [], {}])
def test_bad_timestamps_raise(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(bad)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_timestamp_round_trip(moment: datetime) -> None:
    aware = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    text = format_timestamp(aware)
    assert text.endswith("Z") and len(text) == len("2025-10-17T17:24:53.000Z")
    assert parse_timestamp(text) == aware
    assert parse_timestamp(aware.isoformat()) == aware


def test_format_timestamp_needs_aware() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 1, 1))


def test_dates() -> None:
    assert parse_date("2012-10-21") == date(2012, 10, 21)
    assert parse_date("2025-10-17T23:59:59.000Z") == date(2025, 10, 17)
    assert parse_date("2025-10-17T23:30:00-02:00") == date(2025, 10, 18)  # the UTC date
    assert parse_date(datetime(2025, 10, 17, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == date(2025, 10, 18)
    assert parse_date(date(2025, 1, 1)) == date(2025, 1, 1)
    assert parse_date("") is None and parse_date(None) is None
    with pytest.raises(ValueError):
        parse_date("2012-02-30")
    assert format_query_date(date(2012, 11, 25)) == "2012-11-25"
    assert format_query_date(datetime(2012, 11, 25, 23, 0, tzinfo=timezone(timedelta(hours=-3)))) == "2012-11-26"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (47.6103, 47.6103),
        (-122, -122.0),
        ("47.61", 47.61),
        (" -34.5875 ", -34.5875),
        (0, 0.0),
        ("", None),
        (None, None),
    ],
)
def test_floats(value: object, expected: float | None) -> None:
    assert parse_float(value) == expected


@pytest.mark.parametrize("bad", ["<redacted>", "nan", "inf", True, [1.0], {"x": 1}])
def test_bad_floats_raise(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_float(bad)


def test_ints() -> None:
    assert parse_int(12) == 12
    assert parse_int(12.0) == 12
    assert parse_int("12") == 12
    assert parse_int("") is None and parse_int(None) is None
    for bad in (12.5, "12.5", "twelve", False):
        with pytest.raises(ValueError):
            parse_int(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), (None, None), (3, "3"), (3.0, "3"), ("lead", "lead"), (" email_gate ", "email_gate")],
)
def test_conversion_type_string_or_int(value: object, expected: str | None) -> None:
    assert parse_conversion_type(value) == expected


@pytest.mark.parametrize("bad", [True, 1.5, {"type": 1}, ["x"]])
def test_bad_conversion_types_raise(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_conversion_type(bad)


def test_bools_and_strings() -> None:
    assert [parse_bool(v) for v in (True, False, 1, 0, "true", "FALSE", "1", "0", "", None)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        None,
        None,
    ]
    with pytest.raises(ValueError):
        parse_bool("maybe")
    assert parse_str("") is None and parse_str(None) is None and parse_str("Jim") == "Jim"
    assert parse_str(42) == "42"
    with pytest.raises(ValueError):
        parse_str({"name": "x"})
    assert is_blank("  ") and not is_blank(0)


def test_dig_into_optional_nesting() -> None:
    visitor: dict[str, Any] = {
        "visitor_identity": {"name": "", "email": None, "org": {"name": None, "title": "CEO"}},
        "actions": [{"type": "Call to Action"}],
    }
    assert dig(visitor, "visitor_identity", "org", "title") == "CEO"
    assert dig(visitor, "visitor_identity", "org", "name") is None
    assert dig(visitor, "thumbnail", "url") is None  # absent in 2025 payloads
    assert dig(visitor, "thumbnail", "url", default="") == ""
    assert dig(visitor, "actions", 0, "type") == "Call to Action"
    assert dig(visitor, "actions", 5, "type") is None
    assert dig(visitor, "visitor_identity", "name", "first") is None  # not a container


def test_documented_event_parses_with_unknown_fields_kept() -> None:
    """The live 2025 event shape: ms timestamps, empty conversion_type, no thumbnail, an extra field."""
    event = {
        "received_at": "2025-10-17T17:24:53.000Z",
        "event_key": "1760721_0a81a338-abca",
        "lat": "",
        "lon": None,
        "percent_viewed": 0.010824053124908178,
        "conversion_type": "",
        "conversion_data": {},
        "user_agent_details": {"browser": "Chrome", "mobile": True},
        "brand_new_field": {"anything": 1},
    }
    assert parse_timestamp(event["received_at"]) == datetime(2025, 10, 17, 17, 24, 53, tzinfo=UTC)
    assert parse_float(event["lat"]) is None and parse_float(event["lon"]) is None
    assert parse_float(event["percent_viewed"]) == pytest.approx(0.0108, abs=1e-4)
    assert parse_conversion_type(event["conversion_type"]) is None
    assert dig(event, "conversion_data", "email") is None
    assert dig(event, "user_agent_details", "mobile") is True

"""Lenient readers for the value shapes Wistia is known to send (§3 and §8 of the API reference).

The client returns records untouched; the transform uses these helpers to turn the documented variations
into one typed value each: three timestamp spellings and bare dates become aware UTC datetimes, numbers
that arrive as ``""`` or ``null`` become None, ``conversion_type`` may be a string or an int. Missing or
empty means None; a value that is present but cannot mean what the field says raises ``ValueError``, so
the caller can count it as a data-quality problem instead of silently storing garbage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_blank(value: object) -> bool:
    """True for the ways Wistia says "no value": None, ``""`` (or only whitespace)."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from ``2014-01-27T22:42:53Z``, ``2025-10-17T17:24:53.000Z``,
    ``2013-09-19T15:05:15+00:00`` or a bare ``YYYY-MM-DD`` (midnight UTC).

    Offsets other than UTC are converted; a timestamp without any offset is taken as UTC (the API's
    only time zone). Blank -> None; anything else unparseable -> ValueError.
    """
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if " " in text and "T" not in text:  # "2013-09-19 15:05:15+00:00"
        text = text.replace(" ", "T", 1)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a timestamp: {value!r}") from None
    return _utc(parsed)


def _utc(value: datetime) -> datetime:
    """Naive means UTC; aware is converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """A calendar date from ``YYYY-MM-DD`` (``by_date`` rows) or the UTC date of a timestamp."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return _utc(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    stamp = parse_timestamp(value)
    return None if stamp is None else stamp.date()


def format_timestamp(value: datetime) -> str:
    """An aware datetime as UTC ISO-8601 with millisecond precision and ``Z`` (Wistia's 2025 style)."""
    if value.tzinfo is None:
        raise ValueError("format_timestamp needs an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_query_date(value: date) -> str:
    """A date as the API's query parameters want it: ``YYYY-MM-DD`` (a datetime uses its UTC date)."""
    if isinstance(value, datetime):
        return _utc(value).date().isoformat()
    return value.isoformat()


def parse_float(value: object) -> float | None:
    """A finite float from a number or a numeric string; blank -> None (``lat``/``lon`` may be ``""``)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if not math.isfinite(result):
        raise ValueError(f"not a finite number: {value!r}")
    return result


def parse_int(value: object) -> int | None:
    """An int from an int, an integral float (``12.0``) or a numeric string; blank -> None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = parse_float(value)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(f"not an integer: {value!r}")
    return int(number)


def parse_bool(value: object) -> bool | None:
    """A bool from ``true``/``false``, ``1``/``0``, ``"true"``/``"false"``/``"1"``/``"0"``; blank -> None."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_conversion_type(value: object) -> str | None:
    """``conversion_type`` as a string: ``""``/null -> None, ints -> their decimal text (``3`` -> ``"3"``)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a conversion type: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"not a conversion type: {value!r}")


def parse_str(value: object) -> str | None:
    """A non-empty string or None (``email: null``, ``visitor_identity.name: ""``)."""
    if is_blank(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        raise ValueError(f"not a string: {value!r}")
    return str(value)


def dig(record: Mapping[str, Any], *keys: str | int, default: Any = None) -> Any:
    """``record[k1][k2]...`` or `default` when a level is missing or not a container (optional nesting
    such as ``visitor_identity.org.name`` or ``thumbnail.url``, which may be absent)."""
    current: Any = record
    for key in keys:
        if isinstance(current, Mapping) and isinstance(key, str):
            if key not in current:
                return default
            current = current[key]
        elif isinstance(current, list) and isinstance(key, int) and -len(current) <= key < len(current):
            current = current[key]
        else:
            return default
    return current

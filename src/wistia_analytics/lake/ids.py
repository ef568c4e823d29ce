"""Sortable ids for run records and table versions: a UUIDv7 (RFC 9562) written out readably.

``20261203T170720_123Z-000-a3f0c2e19b5d7e46``: the creation time in UTC to the millisecond, then the UUID's
12-bit counter (3 hex digits: it orders the ids one process makes within one millisecond), then its 62 random
bits with the variant (16 hex digits: ids of different processes never collide). Letters, digits, ``_`` and
``-`` only, so an id is a valid run id (`wistia_analytics.lake.layout.check_run_id`) and a safe path segment,
and as text the ids sort in creation order.

Ids of older releases, ``20261125T174512Z-1a2b3c`` (runs) and ``20261125T174512-1a2b3c`` (table versions),
carry the second only; they still parse (`id_time`), and sort before every new id: the character after the
seconds is ``Z`` or ``-`` there and ``_`` here, which sorts after both.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_COUNTER = 0xFFF
# A clock that steps back this little, or a counter that overflowed, keeps the previous millisecond (ids stay
# monotonic); a time given further back (a backdated id, a test clock) is used as given.
_REWIND_TOLERANCE_MS = 1000
_NEW_RE = re.compile(r"^(\d{8}T\d{6})_(\d{3})Z-[0-9a-f]{3}-[0-9a-f]{16}$")
_OLD_RE = re.compile(r"^(\d{8}T\d{6})Z?(?:-[A-Za-z0-9_-]*)?$")

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def _tick(ms: int) -> tuple[int, int]:
    """The (millisecond, counter) of the next id: strictly increasing within one process."""
    global _last_ms, _counter
    with _lock:
        if ms > _last_ms or _last_ms - ms > _REWIND_TOLERANCE_MS:
            _last_ms, _counter = ms, 0
        elif _counter < _MAX_COUNTER:
            _counter += 1
        else:  # 4096 ids in one millisecond: borrow the next one
            _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def uuid7(now: datetime | None = None) -> uuid.UUID:
    """A version-7 UUID for `now` (default: the clock), with a monotonic counter in the 12 ``rand_a`` bits."""
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {moment!r}")
    ms, counter = _tick((moment - _EPOCH) // _MS)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | secrets.randbits(62))


def sortable_id(now: datetime | None = None) -> str:
    """A readable UUIDv7 (see the module's docstring) made at `now` (default: the clock)."""
    value = uuid7(now)
    ms = value.int >> 80
    moment = _EPOCH + ms * _MS
    return f"{moment:%Y%m%dT%H%M%S}_{ms % 1000:03d}Z-{value.hex[13:16]}-{value.hex[16:]}"


def id_time(text: str) -> datetime | None:
    """When an id was made, from its text (to the millisecond; to the second for an older release's id);
    None for a name that is not such an id."""
    if match := _NEW_RE.match(text):
        second, millis = match[1], int(match[2])
    elif match := _OLD_RE.match(text):
        second, millis = match[1], 0
    else:
        return None
    try:
        return datetime.strptime(second, "%Y%m%dT%H%M%S").replace(tzinfo=UTC) + millis * _MS
    except ValueError:
        return None

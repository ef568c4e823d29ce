"""Opaque-looking, collision-free keys for events and visitors.

Wistia keys are opaque strings (two formats over time). The sandbox derives them from the session's
coordinates through an invertible 64-bit mix, so any key can be decoded back to the session it names
without a lookup table, which keeps the large account out of memory.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

MASK64 = (1 << 64) - 1
_K1 = 0xFF51AFD7ED558CCD
_K2 = 0xC4CEB9FE1A85EC53
_K1_INV = pow(_K1, -1, 1 << 64)
_K2_INV = pow(_K2, -1, 1 << 64)

MEDIA_BITS, DAY_BITS, INDEX_BITS = 20, 20, 24
DAY_EPOCH = 730120  # date(2000, 1, 1).toordinal(); day offsets count from here
_EVENT_NEW = re.compile(r"^(\d+)_([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$")
_EVENT_OLD = re.compile(r"^(\d+)e0\.(\d{20})$")
_VISITOR_NEW = _EVENT_NEW
_VISITOR_OLD = re.compile(r"^[0-9A-F]{40}$")


def _salt(seed: int, purpose: int) -> int:
    return (seed * 0x9E3779B97F4A7C15 + purpose * 0xD1B54A32D192ED03) & MASK64


def mix_array(x: npt.NDArray[np.uint64], seed: int, purpose: int) -> npt.NDArray[np.uint64]:
    """Vectorised invertible mix (murmur3 finaliser on x xor salt)."""
    with np.errstate(over="ignore"):
        y = x ^ np.uint64(_salt(seed, purpose))
        y ^= y >> np.uint64(33)
        y *= np.uint64(_K1)
        y ^= y >> np.uint64(33)
        y *= np.uint64(_K2)
        y ^= y >> np.uint64(33)
    return y


def mix(x: int, seed: int, purpose: int) -> int:
    y = (x ^ _salt(seed, purpose)) & MASK64
    y ^= y >> 33
    y = (y * _K1) & MASK64
    y ^= y >> 33
    y = (y * _K2) & MASK64
    y ^= y >> 33
    return y


def unmix(y: int, seed: int, purpose: int) -> int:
    y ^= y >> 33
    y = (y * _K2_INV) & MASK64
    y ^= y >> 33
    y = (y * _K1_INV) & MASK64
    y ^= y >> 33
    return y ^ _salt(seed, purpose)


def pack_session(media: int, day_ordinal: int, index: int) -> int:
    return (media << (DAY_BITS + INDEX_BITS)) | ((day_ordinal - DAY_EPOCH) << INDEX_BITS) | index


def unpack_session(x: int) -> tuple[int, int, int]:
    index = x & ((1 << INDEX_BITS) - 1)
    day = ((x >> INDEX_BITS) & ((1 << DAY_BITS) - 1)) + DAY_EPOCH
    media = x >> (DAY_BITS + INDEX_BITS)
    return media, day, index


def session_hashes(media: int, day_ordinal: int, n: int, seed: int) -> npt.NDArray[np.uint64]:
    """The scrambled ids of the n sessions of one (media, day) cell, in cell order."""
    base = np.uint64(pack_session(media, day_ordinal, 0))
    return mix_array(base + np.arange(n, dtype=np.uint64), seed, purpose=1)


def _uuid(hi: int, lo: int) -> str:
    h = f"{hi:016x}{lo:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_key(session_hash: int, received_ts: int, new_format: bool, seed: int) -> str:
    """`1760721_<uuid>` (2025 format) or `1390862572596e0.<digits>` (older format)."""
    if new_format:
        return f"{received_ts // 1000}_{_uuid(session_hash, mix(session_hash, seed, 2))}"
    return f"{received_ts * 1000}e0.{session_hash:020d}"


def decode_event_key(key: str, seed: int) -> tuple[int, int, int] | None:
    """(media, day ordinal, index) of a key this sandbox issued, else None."""
    m = _EVENT_NEW.match(key)
    if m:
        hexes = "".join(m.groups()[1:])
        hi, lo = int(hexes[:16], 16), int(hexes[16:], 16)
        if mix(hi, seed, 2) != lo:
            return None
        return unpack_session(unmix(hi, seed, 1))
    m = _EVENT_OLD.match(key)
    if m:
        h = int(m.group(2))
        return unpack_session(unmix(h, seed, 1)) if h <= MASK64 else None
    return None


def visitor_hash(visitor: int, seed: int) -> int:
    return mix(visitor, seed, 3)


def visitor_key(visitor: int, cohort_ts: int, new_format: bool, seed: int) -> str:
    """`1760645_<uuid>` (2025 format) or 40 upper-case hex characters (older format)."""
    h = visitor_hash(visitor, seed)
    c = mix(h, seed, 4)
    if new_format:
        return f"{cohort_ts // 1000}_{_uuid(h, c)}"
    return f"{h:016X}{c:016X}{mix(c, seed, 5) >> 32:08X}"


def decode_visitor_key(key: str, seed: int) -> int | None:
    """The visitor index of a key this sandbox issued, else None."""
    m = _VISITOR_NEW.match(key)
    if m:
        hexes = "".join(m.groups()[1:])
        h, c = int(hexes[:16], 16), int(hexes[16:], 16)
        return unmix(h, seed, 3) if mix(h, seed, 4) == c else None
    if _VISITOR_OLD.match(key):
        h, c = int(key[:16], 16), int(key[16:32], 16)
        return unmix(h, seed, 3) if mix(h, seed, 4) == c else None
    return None

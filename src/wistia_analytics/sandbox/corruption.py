"""Seeded bad-input corpus: malformed records inside list payloads, and whole pages that are not JSON.

Why: the pipeline promises that every bad record ends in quarantine with a reason, every good one in Silver,
and that nothing crashes. To prove it, the sandbox serves records broken in every way a real feed breaks.

- Which record is broken, and how, depends only on `(seed, entity, record key)`: a record is broken the same
  way every time it is served (retries, re-fetches), so the good version of a broken record never reaches the
  client and "good" means exactly the truth's record.
- Whole-page corruptions (`page_invalid_json`, `page_truncated_json`) are drawn per request, like faults:
  a retry gets a fresh draw, so a client that retries them loses nothing.
- Kinds in `TOLERATED_KINDS` are odd but valid (extra fields, unusual Unicode): they must reach Silver intact.
  Every other kind must end in `silver_quarantine`.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

BadRecordKind = Literal[
    "wrong_type",
    "missing_key",
    "negative_count",
    "percent_out_of_range",
    "far_future",
    "pre_epoch",
    "duplicate_key",
    "huge_string",
    "invalid_unicode",
    "unknown_fields",
    "unicode_oddity",
]
BadPageKind = Literal["page_invalid_json", "page_truncated_json"]
Entity = Literal["events", "visitors"]

ALL_BAD_RECORD_KINDS: tuple[BadRecordKind, ...] = (
    "wrong_type",
    "missing_key",
    "negative_count",
    "percent_out_of_range",
    "far_future",
    "pre_epoch",
    "duplicate_key",
    "huge_string",
    "invalid_unicode",
    "unknown_fields",
    "unicode_oddity",
)
TOLERATED_KINDS: frozenset[str] = frozenset({"unknown_fields", "unicode_oddity"})
PAGE_KINDS: tuple[BadPageKind, ...] = ("page_invalid_json", "page_truncated_json")
KEY_FIELD: dict[Entity, str] = {"events": "event_key", "visitors": "visitor_key"}
# Kinds that make sense for each entity (events carry no counts; visitors no percentage).
ENTITY_KINDS: dict[Entity, frozenset[str]] = {
    "events": frozenset(ALL_BAD_RECORD_KINDS) - {"negative_count"},
    "visitors": frozenset(ALL_BAD_RECORD_KINDS) - {"percent_out_of_range"},
}
HUGE_STRING_CHARS = 300_000
FAR_FUTURE_AT = ("2999-12-31T23:59:59.000Z", "9999-01-01T00:00:00.000Z")
PRE_EPOCH_AT = ("1969-07-20T20:17:40.000Z", "0001-01-01T00:00:00.000Z")
ODD_UNICODE = (
    "Zu\u0308rich \U0001f3ac",  # combining diaeresis (NFD) and an emoji outside the BMP
    "\u202eevil\u202c caf\u00e9",  # right-to-left override
    "zero\u200bwidth\u200djoin\ufeff",  # zero-width space, joiner, BOM inside the text
    "\u6771\u4eac \u0928\u092e\u0938\u094d\u0924\u0947 \u05e9\u05dc\u05d5\u05dd",  # CJK, Devanagari, Hebrew
)
INVALID_UNICODE = ("bad\ud800half", "nul\u0000byte", "\udfffreversed\ud800")  # lone surrogates, NUL


@dataclass(frozen=True)
class BrokenRecord:
    """One served malformation: the JSON text sent and what it was made from."""

    kind: BadRecordKind
    variant: str  # which field or way, e.g. "percent_viewed:string"
    key: str  # the truth's key of the record (even when the payload drops it)
    keyless: bool  # True when the served payload has no usable key
    text: str  # the JSON object as served (may hold duplicate keys)


def _dumps(record: Any, ascii_only: bool = True) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=ascii_only)


def _with_field(text: str, name: str, value: Any) -> str:
    """Append `"name": value` to a JSON object text: a duplicate key when the object already has it."""
    return f"{text[:-1]},{_dumps(name)}:{_dumps(value)}}}"


Mutator = Callable[[dict[str, Any], random.Random], tuple[str, str, bool]]


def _event_mutators() -> dict[str, Mutator]:
    def wrong_type(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        choice = r.randrange(3)
        if choice == 0:
            rec["percent_viewed"] = "about half"
            return "percent_viewed:string", _dumps(rec), False
        if choice == 1:
            rec["percent_viewed"] = {"value": rec["percent_viewed"]}
            return "percent_viewed:object", _dumps(rec), False
        rec["received_at"] = 1764072000  # epoch seconds instead of an ISO string
        return "received_at:integer", _dumps(rec), False

    def missing_key(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        name = ("event_key", "media_id", "received_at")[r.randrange(3)]
        del rec[name]
        return f"{name}:missing", _dumps(rec), name == "event_key"

    def percent_out_of_range(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        high = r.random() < 0.5
        rec["percent_viewed"] = round(1 + r.uniform(0.01, 4), 4) if high else round(-r.uniform(0.01, 1), 4)
        return f"percent_viewed:{'above_1' if high else 'negative'}", _dumps(rec), False

    def far_future(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["received_at"] = FAR_FUTURE_AT[r.randrange(len(FAR_FUTURE_AT))]
        return "received_at:" + rec["received_at"][:4], _dumps(rec), False

    def pre_epoch(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["received_at"] = PRE_EPOCH_AT[r.randrange(len(PRE_EPOCH_AT))]
        return "received_at:" + rec["received_at"][:4], _dumps(rec), False

    def duplicate_key(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        other = round((float(rec["percent_viewed"]) + 0.37) % 1.0, 6)  # valid, but a different value
        return "percent_viewed:twice", _with_field(_dumps(rec), "percent_viewed", other), False

    def huge_string(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["embed_url"] = f"{rec['embed_url']}#{'x' * HUGE_STRING_CHARS}"
        return f"embed_url:{HUGE_STRING_CHARS}_chars", _dumps(rec), False

    def invalid_unicode(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        i = r.randrange(len(INVALID_UNICODE))
        rec["city"] = INVALID_UNICODE[i]
        return f"city:invalid_{i}", _dumps(rec), False

    def unknown_fields(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["x_sandbox_unknown"] = {"nested": [1, "two", None], "flag": True}
        rec["zz_new_metric"] = 3.5
        return "extra:2_fields", _dumps(rec), False

    def unicode_oddity(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        i = r.randrange(len(ODD_UNICODE))
        rec["city"] = ODD_UNICODE[i]
        return f"city:odd_{i}", _dumps(rec, ascii_only=r.random() < 0.5), False

    return {
        "wrong_type": wrong_type,
        "missing_key": missing_key,
        "percent_out_of_range": percent_out_of_range,
        "far_future": far_future,
        "pre_epoch": pre_epoch,
        "duplicate_key": duplicate_key,
        "huge_string": huge_string,
        "invalid_unicode": invalid_unicode,
        "unknown_fields": unknown_fields,
        "unicode_oddity": unicode_oddity,
    }


def _visitor_mutators() -> dict[str, Mutator]:
    def identity(rec: dict[str, Any]) -> dict[str, Any]:
        found = rec.get("visitor_identity")
        return found if isinstance(found, dict) else {}

    def wrong_type(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        if r.random() < 0.5:
            rec["play_count"] = "many"
            return "play_count:string", _dumps(rec), False
        rec["last_active_at"] = 1764072000
        return "last_active_at:integer", _dumps(rec), False

    def missing_key(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        del rec["visitor_key"]
        return "visitor_key:missing", _dumps(rec), True

    def negative_count(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        name = "play_count" if r.random() < 0.5 else "load_count"
        rec[name] = -1 - int(rec[name])
        return f"{name}:negative", _dumps(rec), False

    def far_future(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["last_active_at"] = FAR_FUTURE_AT[r.randrange(len(FAR_FUTURE_AT))]
        return "last_active_at:" + rec["last_active_at"][:4], _dumps(rec), False

    def pre_epoch(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["created_at"] = PRE_EPOCH_AT[r.randrange(len(PRE_EPOCH_AT))]
        return "created_at:" + rec["created_at"][:4], _dumps(rec), False

    def duplicate_key(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        return "play_count:twice", _with_field(_dumps(rec), "play_count", int(rec["play_count"]) + 7), False

    def huge_string(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        identity(rec)["name"] = "N" * HUGE_STRING_CHARS
        return f"visitor_identity.name:{HUGE_STRING_CHARS}_chars", _dumps(rec), False

    def invalid_unicode(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        i = r.randrange(len(INVALID_UNICODE))
        identity(rec)["name"] = INVALID_UNICODE[i]
        return f"visitor_identity.name:invalid_{i}", _dumps(rec), False

    def unknown_fields(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        rec["x_sandbox_unknown"] = [{"a": 1}, {"b": [True, None]}]
        return "extra:1_field", _dumps(rec), False

    def unicode_oddity(rec: dict[str, Any], r: random.Random) -> tuple[str, str, bool]:
        i = r.randrange(len(ODD_UNICODE))
        identity(rec)["name"] = ODD_UNICODE[i]
        return f"visitor_identity.name:odd_{i}", _dumps(rec, ascii_only=r.random() < 0.5), False

    return {
        "wrong_type": wrong_type,
        "missing_key": missing_key,
        "negative_count": negative_count,
        "far_future": far_future,
        "pre_epoch": pre_epoch,
        "duplicate_key": duplicate_key,
        "huge_string": huge_string,
        "invalid_unicode": invalid_unicode,
        "unknown_fields": unknown_fields,
        "unicode_oddity": unicode_oddity,
    }


MUTATORS: dict[Entity, dict[str, Mutator]] = {"events": _event_mutators(), "visitors": _visitor_mutators()}


@dataclass
class _Served:
    keys: set[str] = field(default_factory=set)
    keyless: set[str] = field(default_factory=set)
    variants: Counter[str] = field(default_factory=Counter)
    servings: int = 0


@dataclass
class BadInputPlan:
    """Decides which records and pages are served broken; counts what it served (for `/_sandbox/stats`)."""

    seed: int
    record_rate: float = 0.0
    page_rate: float = 0.0
    kinds: tuple[BadRecordKind, ...] = ALL_BAD_RECORD_KINDS
    _served: dict[tuple[str, str], _Served] = field(default_factory=dict)
    _pages: Counter[str] = field(default_factory=Counter)
    _page_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return self.record_rate > 0 or self.page_rate > 0

    def kind_for(self, entity: Entity, key: str) -> BadRecordKind | None:
        """The malformation of this record, or None: a pure function of (seed, entity, key)."""
        allowed = [k for k in self.kinds if k in ENTITY_KINDS[entity]]
        if self.record_rate <= 0 or not allowed:
            return None
        r = random.Random(f"{self.seed}:bad:{entity}:{key}")
        if r.random() >= self.record_rate:
            return None
        return allowed[r.randrange(len(allowed))]

    def break_record(self, entity: Entity, record: dict[str, Any]) -> BrokenRecord | None:
        """The broken form of a truth record, or None when it is served as is."""
        key = str(record[KEY_FIELD[entity]])
        kind = self.kind_for(entity, key)
        if kind is None:
            return None
        r = random.Random(f"{self.seed}:variant:{entity}:{key}")
        copy = json.loads(json.dumps(record))  # deep copy; the truth's dict is never touched
        variant, text, keyless = MUTATORS[entity][kind](copy, r)
        return BrokenRecord(kind, variant, key, keyless, text)

    def list_body(self, entity: Entity, records: list[dict[str, Any]]) -> bytes:
        """A list payload with this plan's broken records in place, then maybe a whole-page corruption."""
        parts: list[str] = []
        for record in records:
            broken = self.break_record(entity, record)
            if broken is None:
                parts.append(_dumps(record))
                continue
            parts.append(broken.text)
            self._count(entity, broken)
        body = ("[" + ",".join(parts) + "]").encode()
        return self._maybe_break_page(body)

    def _count(self, entity: str, broken: BrokenRecord) -> None:
        with self._lock:
            served = self._served.setdefault((entity, broken.kind), _Served())
            (served.keyless if broken.keyless else served.keys).add(broken.key)
            served.variants[broken.variant] += 1
            served.servings += 1

    def _maybe_break_page(self, body: bytes) -> bytes:
        with self._lock:
            self._page_requests += 1
            n = self._page_requests
        if self.page_rate <= 0:
            return body
        r = random.Random(f"{self.seed}:page:{n}")
        if r.random() >= self.page_rate:
            return body
        kind = PAGE_KINDS[r.randrange(len(PAGE_KINDS))]
        with self._lock:
            self._pages[kind] += 1
        if kind == "page_invalid_json":
            return body[:-1] + b",}" if len(body) > 2 else b"[,]"  # a syntax error at the very end
        return body[: max(1, r.randrange(1, max(2, len(body) - 1)))]  # a complete 200 cut short

    def stats(self, *, with_keys: bool = True) -> dict[str, Any]:
        """What was served broken, by entity and kind, with the truth's keys of the records."""
        with self._lock:
            records: dict[str, dict[str, Any]] = {}
            for (entity, kind), served in sorted(self._served.items()):
                entry: dict[str, Any] = {
                    "records": len(served.keys) + len(served.keyless),
                    "keyless": len(served.keyless),
                    "servings": served.servings,
                    "tolerated": kind in TOLERATED_KINDS,
                    "variants": dict(sorted(served.variants.items())),
                }
                if with_keys:
                    entry["keys"] = sorted(served.keys)
                    entry["keyless_keys"] = sorted(served.keyless)
                records.setdefault(entity, {})[kind] = entry
            return {
                "record_rate": self.record_rate,
                "page_rate": self.page_rate,
                "records": records,
                "pages": dict(sorted(self._pages.items())),
                "list_requests": self._page_requests,
            }

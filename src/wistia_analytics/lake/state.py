"""Incremental state: how far each stream (and each key, e.g. each media) has been ingested.

Contract (what makes a crash at any point safe): commit a watermark only after the Bronze files
covering everything up to it are written. `BronzeWriter.write` returns only once its file is durably in
place, so "write, then commit" is enough. A crash between the two just means the next run fetches that
window again (duplicates are removed in Silver), never that data is skipped. Watermarks never move
backwards, so a late or repeated commit cannot rewind the state. One writer per lake at a time (the
lake lock) is assumed: `commit` is read-modify-write.

Values are ISO-8601 dates (``2026-11-25``) or timestamps (``2026-11-25T17:45:12Z``); naive timestamps
are taken as UTC. A key keeps one kind of value.

Cursors (``_state/<stream>.<kind>.json``) are the position a bounded run stopped at, for the next run to
continue from: the next page of a snapshot (`SNAPSHOT_CURSOR`), the last finished day of a `--since/--until`
backfill (`BACKFILL_CURSOR`). Same contract as watermarks: saved only after the Bronze files up to that position
are durable; a crash before the save re-fetches from the previous position (Silver dedupes by key).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from wistia_analytics.lake.layout import check_run_id, check_stream, state_file
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import parse_utc, utc_iso, utc_now

log = logging.getLogger(__name__)
STATE_VERSION = 1
SNAPSHOT_CURSOR = "snapshot"  # {"next_page": int, "started_by": run_id, "started_at": iso}
BACKFILL_CURSOR = "backfill"  # {"since": iso, "until": iso, "done_through": iso}
CURSOR_KINDS = (SNAPSHOT_CURSOR, BACKFILL_CURSOR)


def cursor_file(stream: str, kind: str) -> str:
    if kind not in CURSOR_KINDS:
        raise ValueError(f"unknown cursor kind {kind!r}")
    return state_file(stream).removesuffix(".json") + f".{kind}.json"


def watermark_order(value: str) -> date | datetime:
    """The comparable form of a watermark value; `ValueError` if it is not an ISO date/timestamp."""
    if not isinstance(value, str):
        raise ValueError(f"watermark must be an ISO date or timestamp string, got {value!r}")
    try:
        return parse_utc(value) if "T" in value or " " in value else date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"watermark must be an ISO date or timestamp, got {value!r}") from None


def is_ahead(new: str, old: str) -> bool:
    """True if `new` is strictly later than `old`; both must be the same kind (date or timestamp)."""
    a, b = watermark_order(new), watermark_order(old)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a > b
    if not isinstance(a, datetime) and not isinstance(b, datetime):
        return a > b
    raise ValueError(f"cannot compare watermark {new!r} with {old!r}: one is a date, one a timestamp")


@dataclass(frozen=True)
class Watermark:
    value: str
    updated_at: str
    run_id: str


@dataclass
class StreamState:
    """Watermarks of one stream by key, plus when and by which run the state last changed."""

    stream: str
    watermarks: dict[str, Watermark] = field(default_factory=dict)
    updated_at: str | None = None
    run_id: str | None = None

    def get(self, key: str) -> str | None:
        mark = self.watermarks.get(key)
        return mark.value if mark else None

    def values(self) -> dict[str, str]:
        return {key: mark.value for key, mark in self.watermarks.items()}

    def to_json(self) -> bytes:
        doc = {
            "version": STATE_VERSION,
            "stream": self.stream,
            "updated_at": self.updated_at,
            "run_id": self.run_id,
            "watermarks": {
                key: {"value": m.value, "updated_at": m.updated_at, "run_id": m.run_id}
                for key, m in sorted(self.watermarks.items())
            },
        }
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> StreamState:
        doc = json.loads(data)
        marks = {key: Watermark(m["value"], m["updated_at"], m["run_id"]) for key, m in doc["watermarks"].items()}
        return cls(doc["stream"], marks, doc.get("updated_at"), doc.get("run_id"))


class StateStore:
    """Load and commit per-stream watermarks in ``_state/<stream>.json`` (atomic replace)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def load(self, stream: str) -> StreamState:
        """The stream's state; empty if nothing was ever committed."""
        try:
            return StreamState.from_json(self.storage.read_bytes(state_file(stream)))
        except FileNotFoundError:
            return StreamState(check_stream(stream))

    def commit(
        self, stream: str, updates: Mapping[str, str], run_id: str, *, now: datetime | None = None
    ) -> StreamState:
        """Move watermarks forward; values behind the current ones are ignored (never rewinds).

        All values are validated before anything is written; nothing is written if nothing moved.
        Call only after the Bronze files covering `updates` are written (see the module docstring).
        """
        check_run_id(run_id)
        for value in updates.values():
            watermark_order(value)
        state = self.load(stream)
        stamp = utc_iso(now or utc_now())
        moved = False
        for key, value in updates.items():
            current = state.get(key)
            if current is not None and not is_ahead(value, current):
                if value != current:
                    log.debug("state %s/%s: ignoring %s, behind %s", stream, key, value, current)
                continue
            state.watermarks[key] = Watermark(value, stamp, run_id)
            moved = True
        if moved:
            state.updated_at, state.run_id = stamp, run_id
            self.storage.write_bytes(state_file(stream), state.to_json())
        return state

    # ---- cursors: where a bounded run stopped ---------------------------------------------------------------
    def load_cursor(self, stream: str, kind: str) -> dict[str, Any] | None:
        """The position saved by the last run that stopped early (None: start from the beginning)."""
        try:
            doc = json.loads(self.storage.read_bytes(cursor_file(stream, kind)))
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("state %s: unreadable %s cursor ignored (starting over)", stream, kind)
            return None
        return doc if isinstance(doc, dict) and not doc.get("cleared") else None

    def save_cursor(self, stream: str, kind: str, position: Mapping[str, Any], run_id: str) -> None:
        """Save `position`; call only once the Bronze files up to it are durable."""
        doc = {**position, "run_id": check_run_id(run_id), "updated_at": utc_iso(utc_now())}
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
        self.storage.write_bytes(cursor_file(stream, kind), data)

    def clear_cursor(self, stream: str, kind: str, run_id: str) -> None:
        """The work the cursor tracked is complete: the next run starts over.

        Overwritten with a tombstone, never deleted: on AWS the roles may not delete anything under `_state/`.
        """
        if self.load_cursor(stream, kind) is not None:
            self.save_cursor(stream, kind, {"cleared": True}, run_id)

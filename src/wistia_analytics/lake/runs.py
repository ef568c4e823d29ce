"""Run records: one JSON file per run in ``_runs/<run_id>.json``, the lake's own audit trail.

Written when a run starts (status ``running``), optionally checkpointed, and rewritten when it ends, each
time atomically. A record left at ``running`` with no live lake lock is a run that crashed. Everything
free-form (command, errors, extra) is passed through `wistia_analytics.redact` first: secrets are never
written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wistia_analytics.lake.bronze import BronzeFile
from wistia_analytics.lake.ids import sortable_id
from wistia_analytics.lake.layout import RUNS_ROOT, check_run_id, run_file
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.redact import drop_secret_keys, redact_text

MAX_ERRORS = 100  # a run failing on every media must not produce a huge record
MAX_ERROR_CHARS = 2000


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    INCOMPLETE = "incomplete"  # stopped at its deadline; the next run continues from the recorded position
    FAILED = "failed"


def new_run_id(now: datetime) -> str:
    """``20261125T174512_123Z-000-a3f0c2e19b5d7e46``: sorts by start time (to the millisecond, then in the
    order one process made them), unique across processes (`wistia_analytics.lake.ids`)."""
    return sortable_id(now)


@dataclass
class RunRecord:
    """What one run did. Counters are plain fields: the caller increments them as it goes."""

    run_id: str
    command: str
    started_at: str
    status: RunStatus = RunStatus.RUNNING
    ended_at: str | None = None
    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 / 503 answers
    records: dict[str, int] = field(default_factory=dict)
    files_written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    errors_dropped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def add_file(self, written: BronzeFile) -> None:
        self.records[written.stream] = self.records.get(written.stream, 0) + written.record_count
        self.files_written.append(written.path)

    def add_error(self, message: str, *, known_secrets: Iterable[str] = ()) -> None:
        """Keep a redacted, truncated message (pass the actual secret values in `known_secrets`)."""
        if len(self.errors) >= MAX_ERRORS:
            self.errors_dropped += 1
            return
        self.errors.append(redact_text(message, known_secrets)[:MAX_ERROR_CHARS])

    def to_json(self) -> bytes:
        doc = asdict(self)
        doc["status"] = str(self.status)
        doc["command"] = redact_text(self.command)
        doc["errors"] = [redact_text(e) for e in self.errors]
        doc["extra"] = drop_secret_keys(self.extra)
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> RunRecord:
        doc = json.loads(data)
        doc["status"] = RunStatus(doc["status"])
        known = {name: doc[name] for name in cls.__dataclass_fields__ if name in doc}
        return cls(**known)


def save_run(storage: Storage, record: RunRecord) -> None:
    """Write (or checkpoint) the record atomically."""
    storage.write_bytes(run_file(record.run_id), record.to_json())


def start_run(storage: Storage, run_id: str, command: str, started_at: datetime) -> RunRecord:
    """Create the record with status ``running`` and write it."""
    record = RunRecord(check_run_id(run_id), command, utc_iso(started_at))
    save_run(storage, record)
    return record


def finish_run(storage: Storage, record: RunRecord, status: RunStatus, ended_at: datetime) -> None:
    """Set the final status and end time, and write the record."""
    if status is RunStatus.RUNNING:
        raise ValueError("a finished run needs a final status, not 'running'")
    record.status, record.ended_at = status, utc_iso(ended_at)
    save_run(storage, record)


def load_run(storage: Storage, run_id: str) -> RunRecord:
    return RunRecord.from_json(storage.read_bytes(run_file(run_id)))


def latest_runs(storage: Storage, n: int = 10) -> list[RunRecord]:
    """The `n` most recent run records, newest first (run ids sort by start time; see `new_run_id`)."""
    if n <= 0:
        return []
    paths = sorted(storage.list(RUNS_ROOT, suffix=".json"), reverse=True)
    return [RunRecord.from_json(storage.read_bytes(p)) for p in paths[:n]]


def publisher_of(records: Iterable[RunRecord], table: str | None = None) -> RunRecord | None:
    """The newest finished transform run that published `table` (None: any table), among `records`.

    What the lake serves now is what that run published, so drift and quarantine figures are read from it,
    never from a later run that found nothing new (mode ``noop``: it publishes nothing and counts zero).
    """
    for record in sorted(records, key=lambda r: r.run_id, reverse=True):
        doc = record.extra.get("transform")
        if record.status is RunStatus.RUNNING or not isinstance(doc, dict):
            continue
        tables = doc.get("tables") or {}
        published = [name for name, t in tables.items() if isinstance(t, dict) and t.get("published")]
        if (table is None and published) or (table is not None and table in published):
            return record
    return None

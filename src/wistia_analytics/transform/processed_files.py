"""What the transform has already read: processed Bronze files, and the event dates each events file holds.

Kept in `_state/transform.json` and written only after every table of a run is published, so a crash
before that makes the next run treat the same files as new again (the result is the same; only time is lost).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from wistia_analytics.lake.storage import Storage

STATE_PATH = "_state/transform.json"
VERSION = 1


@dataclass
class TransformState:
    processed: dict[str, list[str]] = field(default_factory=dict)  # stream -> Bronze files already read
    file_dates: dict[str, list[str]] = field(default_factory=dict)  # events file -> event dates it holds
    engine: str | None = None
    run_id: str | None = None

    @classmethod
    def load(cls, storage: Storage) -> TransformState:
        if not storage.exists(STATE_PATH):
            return cls()
        doc = json.loads(storage.read_bytes(STATE_PATH))
        return cls(doc.get("processed", {}), doc.get("file_dates", {}), doc.get("engine"), doc.get("run_id"))

    def save(self, storage: Storage) -> None:
        doc = {
            "version": VERSION,
            "engine": self.engine,
            "run_id": self.run_id,
            "processed": self.processed,
            "file_dates": self.file_dates,
        }
        storage.write_bytes(STATE_PATH, json.dumps(doc, sort_keys=True).encode())

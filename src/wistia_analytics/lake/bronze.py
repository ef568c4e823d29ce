"""Bronze: the API's answers kept exactly as received, append-only, with where each record came from.

Bronze is the lake's memory of what the API said, so later stages can be rebuilt from it at any time.
Files are never edited or overwritten: every write creates a new gzip JSON-lines part file

    bronze/wistia/<stream>/ingest_date=YYYY-MM-DD/<run_id>-<part>.jsonl.gz

and each line wraps one record with its lineage (run, ingestion time, request path and params without
credentials, page). Duplicates across runs (e.g. a re-run after a crash) are expected here and are
removed in Silver by record key. The gzip header carries no timestamp, so the same input gives the same
bytes (handy for tests and for spotting identical re-fetches by checksum).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from wistia_analytics.lake.layout import (
    BRONZE_SUFFIX,
    bronze_file,
    bronze_partition,
    bronze_stream_prefix,
    check_run_id,
    check_stream,
    parse_bronze_file,
)
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import utc_iso
from wistia_analytics.redact import drop_secret_keys

GZIP_LEVEL = 6


@dataclass(frozen=True)
class Lineage:
    """The request that produced a page of records; params are stripped of credentials on write."""

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    page: int | None = None
    context: Mapping[str, Any] = field(default_factory=dict)  # what the path names, e.g. {"media_id": ...}


@dataclass(frozen=True)
class BronzeFile:
    """One written Bronze part file (what run records and later stages need to know about it)."""

    path: str
    stream: str
    run_id: str
    part: int
    record_count: int
    byte_count: int
    sha256: str


BronzePage = tuple[Sequence[Mapping[str, Any]], Lineage]  # one API page's records and where they came from


class BronzeWriter:
    """Writes Bronze part files for one run; safe to share between threads of that run.

    `write` returns only after the file is durably in place (atomic create), which is what lets
    callers commit incremental state right after it.
    """

    def __init__(self, storage: Storage, run_id: str, ingested_at: datetime) -> None:
        self.storage = storage
        self.run_id = check_run_id(run_id)
        self.ingested_at = utc_iso(ingested_at)
        self.ingest_date: date = ingested_at.astimezone(UTC).date()
        self._next_part: dict[str, int] = {}
        self._lock = threading.Lock()

    def write(self, stream: str, records: Sequence[Mapping[str, Any]], lineage: Lineage) -> BronzeFile:
        """One page of records -> one new part file."""
        return self.write_pages(stream, [(records, lineage)])

    def write_pages(self, stream: str, pages: Sequence[BronzePage]) -> BronzeFile:
        """Several pages (each with its own lineage) -> one new part file. Empty pages add no lines."""
        check_stream(stream)
        data, count = self.encode(stream, pages)
        if count == 0:
            raise ValueError(f"no records to write for stream {stream!r}; skip empty pages")
        digest = hashlib.sha256(data).hexdigest()
        while True:
            part = self._claim_part(stream)
            path = bronze_file(stream, self.ingest_date, self.run_id, part)
            if self.storage.write_bytes_if_absent(path, data):
                return BronzeFile(path, stream, self.run_id, part, count, len(data), digest)

    def encode(self, stream: str, pages: Sequence[BronzePage]) -> tuple[bytes, int]:
        """The gzip bytes and line count for `pages` (deterministic: no mtime in the gzip header)."""
        lines: list[str] = []
        for records, lineage in pages:
            request = {"path": lineage.path, "params": drop_secret_keys(dict(lineage.params))}
            for record in records:
                if not isinstance(record, Mapping):
                    raise TypeError(f"Bronze records must be JSON objects, got {type(record).__name__}")
                line: dict[str, Any] = {
                    "run_id": self.run_id,
                    "ingested_at": self.ingested_at,
                    "stream": stream,
                    "request": request,
                    "page": lineage.page,
                    "record": record,
                }
                if lineage.context:
                    line["context"] = dict(lineage.context)
                lines.append(_dumps_total(line))
        raw = "".join(f"{line}\n" for line in lines).encode("utf-8")
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0), len(lines)

    def _claim_part(self, stream: str) -> int:
        """Next unused part number for (run, stream); starts after any part already on storage."""
        with self._lock:
            part = self._next_part.get(stream)
            if part is None:
                existing = [
                    key.part
                    for key in map(parse_bronze_file, self.storage.list(bronze_partition(stream, self.ingest_date)))
                    if key is not None and key.run_id == self.run_id
                ]
                part = max(existing, default=0) + 1
            self._next_part[stream] = part + 1
            return part


DEFECTS_FIELD = "__defects__"  # the client's field for what arrived malformed (`wistia.payload`); Silver quarantines
RAW_LIMIT = 65_536


def _dumps_total(line: dict[str, Any]) -> str:
    """One Bronze line; a record JSON cannot hold as it is (a non-finite number, nesting past the recursion limit)
    is stored as its defect and its text instead, so one bad value never stops a write (parsing is total)."""
    try:
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError, TypeError) as exc:
        try:
            raw = repr(line["record"])[:RAW_LIMIT]
        except RecursionError:
            raw = ""
        reason = f"could not be stored as received ({type(exc).__name__}: {str(exc)[:200]}); kept as raw text"
        line = {**line, "record": {DEFECTS_FIELD: [reason], "__raw__": raw}}
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def list_bronze_files(
    storage: Storage,
    stream: str,
    *,
    since: date | None = None,
    until: date | None = None,
    run_id: str | None = None,
) -> list[str]:
    """Bronze files of `stream`, oldest first (ingest date, run id, part), optionally filtered.

    `since` / `until` are inclusive ingest dates.
    """
    keyed = []
    for path in storage.list(bronze_stream_prefix(stream), suffix=BRONZE_SUFFIX):
        key = parse_bronze_file(path)
        if key is None or key.stream != stream:
            continue
        if (since and key.ingest_date < since) or (until and key.ingest_date > until):
            continue
        if run_id is not None and key.run_id != run_id:
            continue
        keyed.append((key, path))
    return [path for _, path in sorted(keyed)]


def list_bronze_files_of_runs(storage: Storage, stream: str, run_ids: Collection[str]) -> list[str]:
    """Bronze files of `stream` written by `run_ids`, oldest first, listing only the ingest dates those runs
    started on (their ids begin with it): a bounded call reading what the earlier calls of its work landed
    lists a few partitions, not the stream's whole history, however long the chain of calls grows."""
    wanted = set(run_ids)
    days = {_run_day(r) for r in wanted}
    if None in days:  # an id that does not start with its date: list the whole stream
        return [p for p in list_bronze_files(storage, stream) if _run_of(p) in wanted]
    keyed = []
    for day in sorted(d for d in days if d is not None):
        for path in storage.list(bronze_partition(stream, day), suffix=BRONZE_SUFFIX):
            key = parse_bronze_file(path)
            if key is not None and key.stream == stream and key.run_id in wanted:
                keyed.append((key, path))
    return [path for _, path in sorted(keyed)]


def _run_day(run_id: str) -> date | None:
    try:
        return date(int(run_id[:4]), int(run_id[4:6]), int(run_id[6:8]))
    except ValueError:
        return None


def _run_of(path: str) -> str | None:
    key = parse_bronze_file(path)
    return None if key is None else key.run_id


def read_bronze_file(storage: Storage, path: str) -> Iterator[dict[str, Any]]:
    """The lines of one Bronze file, streamed (a file is never held in memory whole)."""
    with storage.open_read(path) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def iter_bronze(
    storage: Storage,
    stream: str,
    *,
    since: date | None = None,
    until: date | None = None,
    run_id: str | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file path, line) for every line of the selected Bronze files of `stream`, oldest first."""
    for path in list_bronze_files(storage, stream, since=since, until=until, run_id=run_id):
        for line in read_bronze_file(storage, path):
            yield path, line

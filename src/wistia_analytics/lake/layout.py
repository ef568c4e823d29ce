"""Where things live in the lake, and which names are allowed there.

One module for the path conventions so that writers and readers (and later stages) cannot drift
apart, and so that stream names and run ids are checked before they become path segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

BRONZE_ROOT = "bronze/wistia"
BRONZE_SUFFIX = ".jsonl.gz"
STATE_ROOT = "_state"
RUNS_ROOT = "_runs"
LOCK_DIR = "_lock"
LOCK_PATH = f"{LOCK_DIR}/lake.lock"
PART_DIGITS = 5

_STREAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_BRONZE_FILE_RE = re.compile(
    r"^bronze/wistia/(?P<stream>[a-z][a-z0-9_]*)/ingest_date=(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<run_id>[A-Za-z0-9][A-Za-z0-9_-]*)-(?P<part>\d+)\.jsonl\.gz$"
)


def check_stream(stream: str) -> str:
    """A stream name is a lowercase slug (``medias``, ``media_stats``, ``events``)."""
    if not _STREAM_RE.match(stream):
        raise ValueError(f"stream must be a lowercase slug like 'media_stats', got {stream!r}")
    return stream


def check_run_id(run_id: str) -> str:
    """Run ids become file names: letters, digits, ``_`` and ``-`` only."""
    if not _RUN_ID_RE.match(run_id):
        raise ValueError(f"run id must be letters, digits, '_' or '-', got {run_id!r}")
    return run_id


def bronze_stream_prefix(stream: str) -> str:
    return f"{BRONZE_ROOT}/{check_stream(stream)}"


def bronze_partition(stream: str, ingest_date: date) -> str:
    return f"{bronze_stream_prefix(stream)}/ingest_date={ingest_date.isoformat()}"


def bronze_file(stream: str, ingest_date: date, run_id: str, part: int) -> str:
    if part < 1:
        raise ValueError(f"part numbers start at 1, got {part}")
    name = f"{check_run_id(run_id)}-{part:0{PART_DIGITS}d}{BRONZE_SUFFIX}"
    return f"{bronze_partition(stream, ingest_date)}/{name}"


@dataclass(frozen=True, order=True)
class BronzeKey:
    """What a Bronze file name encodes; ordering is chronological (date, run, part)."""

    ingest_date: date
    run_id: str
    part: int
    stream: str


def parse_bronze_file(rel_path: str) -> BronzeKey | None:
    """The key of a Bronze file path, or None if the path is not a Bronze data file."""
    match = _BRONZE_FILE_RE.match(rel_path)
    if match is None:
        return None
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        return None
    return BronzeKey(day, match["run_id"], int(match["part"]), match["stream"])


def state_file(stream: str) -> str:
    return f"{STATE_ROOT}/{check_stream(stream)}.json"


def run_file(run_id: str) -> str:
    return f"{RUNS_ROOT}/{check_run_id(run_id)}.json"

"""What every load mode shares: the base class, the per-media id checks and the small helpers.

A module of its own so that the v1 load modes (`load_modes.py`) and the modern analytics ones
(`analytics_loads.py`) both build on it, and `load_modes.LOAD_MODES` can name them all without a cycle.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

from wistia_analytics.contracts.streams import LoadMode, Stream
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.progress import StreamReport
from wistia_analytics.lake.bronze import BronzeWriter
from wistia_analytics.wistia.api_errors import ProtocolError, RequestBugError, RetriesExhaustedError
from wistia_analytics.wistia.payload import DEFECTS_FIELD, json_type

FLUSH_PAGES = 20  # pages buffered per Bronze file: bounds memory whatever the account size
FLUSH_OBJECTS = 100  # per-media objects (stats, curves, by_date series) per Bronze file
ALL_KEY = "__account__"  # watermark key of account-wide streams
# A media's hashed id as it may appear in a request path (Wistia's are 10 lowercase alphanumerics; this is
# generous). A media whose id does not match is skipped by the per-media streams with the reason recorded; its
# record still lands in Bronze and Silver quarantines it (silver_medias: 'invalid media_id').
MEDIA_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
PER_MEDIA_ERRORS = (RetriesExhaustedError, RequestBugError, ProtocolError)  # one media fails, the stream goes on


def media_id_problem(media: Any) -> str | None:
    """Why `media` cannot be fetched per media (None: its ``hashed_id`` is a usable id)."""
    if not isinstance(media, dict):
        return "a media record that is not an object"
    if DEFECTS_FIELD in media and "hashed_id" not in media:
        return f"a media record kept only as raw text ({'; '.join(map(str, media[DEFECTS_FIELD]))[:200]})"
    media_id = media.get("hashed_id")
    if media_id is None:
        return "a media without hashed_id"
    if isinstance(media_id, int) and not isinstance(media_id, bool):
        media_id = str(media_id)  # a numeric id is a valid path id (§ media endpoints) and what Silver reads
    if not isinstance(media_id, str):
        return f"a media whose hashed_id is {json_type(media_id)}"
    if not MEDIA_ID_PATTERN.fullmatch(media_id):
        return f"media id {media_id[:80]!a} does not match {MEDIA_ID_PATTERN.pattern}"
    return None


def media_path(template: str, media_id: str) -> str:
    """`template` with `media_id` percent-encoded into it (already validated; encoded anyway, so an id can never
    climb the path or start a query)."""
    return template.format(media_id=quote(media_id, safe=""))


def defect_count(records: list[dict[str, Any]]) -> int:
    return sum(1 for r in records if DEFECTS_FIELD in r)


class StreamLoad(ABC):
    """How streams of one load mode are fetched; one instance per stream per run."""

    mode: ClassVar[LoadMode]

    def __init__(self, ctx: LoadContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def load(self, stream: Stream, writer: BronzeWriter, report: StreamReport) -> None:
        """Fetch `stream` into Bronze and commit its watermarks as its files become durable."""

    @abstractmethod
    def plan(self, stream: Stream) -> str:
        """One line saying what `load` would fetch (a dry run: reads the media list, writes nothing)."""


def fetchable(ctx: LoadContext, report: StreamReport, medias: list[Any]) -> list[dict[str, Any]]:
    """The medias a per-media stream can request; each other one is skipped with its reason recorded."""
    out = []
    for media in medias:
        problem = media_id_problem(media)
        if problem is None:
            out.append(media)
        else:
            ctx.count(report, skipped=1)
            ctx.error(report, f"{problem}: skipped (its record is in Bronze; Silver quarantines it)")
    return out


def count_defects(ctx: LoadContext, report: StreamReport, records: list[dict[str, Any]]) -> None:
    """Records that arrived with a defect (kept in Bronze as received, quarantined by Silver), in the run record."""
    found = defect_count(records)
    if found:
        with ctx.lock:
            report.defects += found


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

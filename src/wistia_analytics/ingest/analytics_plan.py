"""The request planner of the modern analytics: spend the request budget only where the account had data.

Wistia's per-day analytics cost one request per media and day (and per `group_by` for traffic): 500 medias x 30
days x 5 dimensions would be 75,000 requests, two hours of the account's 600/min, mostly for days nobody loaded
the media. So the planner learns which media-days had loads from what this run already fetched (the daily
timeseries' `unique_loads`, v1 by_date's `load_count`), and the per-day streams ask only for those. A day some
source counts as positive has loads; one every source counts as zero has none; a day whose figures are all null
(every modern metric is nullable) is asked for, since nothing rules it out. Days nobody fetched this run are
learnt by fetching the media's daily timeseries (one request; the dry run does this for every media).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from wistia_analytics.contracts.streams import STREAMS_BY_NAME, TRAFFIC_DIMENSIONS, Api
from wistia_analytics.ingest.windows import split_span
from wistia_analytics.wistia.client import WistiaClient, max_end_date

TIMESERIES = STREAMS_BY_NAME["media_analytics_daily"]
# What a source says about one day's figure; merging keeps the strongest (positive > zero > null).
_NULL, _ZERO, _POSITIVE = 0, 1, 2


def count_of(value: Any) -> int | None:
    """A count as the API may send it (an int, an integral float, digits), None for null or anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def day_of(value: Any) -> date | None:
    """The UTC day of a by_date `date` (`2026-11-30`) or a bucket `timestamp` (`2026-11-30T00:00:00.000Z`)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def days_between(start: date, end: date) -> Iterable[date]:
    for i in range((end - start).days + 1):
        yield start + timedelta(days=i)


@dataclass
class _Media:
    """What this run knows about one media, day by day: loads, plays and form conversions."""

    loads: dict[date, int] = field(default_factory=dict)  # _NULL/_ZERO/_POSITIVE; a key: the day is known
    plays: dict[date, int] = field(default_factory=dict)
    forms: dict[date, int] = field(default_factory=dict)


def _merge(into: dict[date, int], day: date, value: int | None) -> None:
    seen = _NULL if value is None else _POSITIVE if value > 0 else _ZERO
    into[day] = max(into.get(day, _NULL), seen)


@dataclass(frozen=True)
class PlannedRequest:
    """One request of an analytics stream: its query and the Bronze lineage context (docs: spec §2)."""

    params: Mapping[str, str | int]
    context: Mapping[str, str]
    # Once this request and every one before it (of the same media) are done, the media's days are done through
    # this day (None: it leaves a day half done, e.g. one dimension of several). How a bounded run resumes.
    through: date | None = None


class AnalyticsPlan:
    """The media-days this run knows to have had loads (shared by the analytics streams of one run)."""

    def __init__(self, dimensions: tuple[str, ...] = TRAFFIC_DIMENSIONS) -> None:
        self.dimensions = dimensions
        self._medias: dict[str, _Media] = {}
        self._lock = threading.Lock()
        self.learnt = 0  # timeseries requests the planner made itself (outside the timeseries stream)

    def _media(self, media_id: str) -> _Media:
        return self._medias.setdefault(media_id, _Media())

    # ---- what the run fetched ----------------------------------------------------------------------------
    def note_by_date(self, media_id: str, start: date, end: date, records: Iterable[Any]) -> None:
        """v1 by_date rows of `start..end`: a day without a row had nothing (the API lists every day it has)."""
        self._note(media_id, start, end, records, "date", loads="load_count", plays="play_count")

    def note_timeseries(self, media_id: str, start: date, end: date, records: Iterable[Any]) -> None:
        """Daily timeseries buckets of `start..end` (a day without a bucket had nothing)."""
        self._note(
            media_id, start, end, records, "timestamp", loads="unique_loads", plays="plays", forms="form_conversions"
        )

    def _note(
        self,
        media_id: str,
        start: date,
        end: date,
        records: Iterable[Any],
        day_field: str,
        *,
        loads: str,
        plays: str,
        forms: str | None = None,
    ) -> None:
        rows = [(day_of(r.get(day_field)), r) for r in records if isinstance(r, dict)]
        with self._lock:
            known = self._media(media_id)
            fields = [(known.loads, loads), (known.plays, plays)] + ([(known.forms, forms)] if forms else [])
            for figures, name in fields:
                values: dict[date, int | None] = dict.fromkeys(days_between(start, end), 0)  # answered: known
                for day, row in rows:
                    if day in values:
                        values[day] = count_of(row.get(name))
                for day, value in values.items():
                    _merge(figures, day, value)

    def note_bronze(self, stream: str, lines: Iterable[Mapping[str, Any]]) -> None:
        """What earlier bounded calls of the same work fetched (their Bronze lines of by_date or the timeseries),
        so that a call continuing them does not fetch the timeseries again to plan."""
        note = {"media_daily_stats": self.note_by_date, TIMESERIES.name: self.note_timeseries}.get(stream)
        if note is None:
            return
        groups: dict[tuple[str, date, date], list[Any]] = {}
        for line in lines:
            media_id = (line.get("context") or {}).get("media_id")
            params = (line.get("request") or {}).get("params") or {}
            first, last = day_of(params.get("start_date")), day_of(params.get("end_date"))
            if isinstance(media_id, str) and first and last:
                groups.setdefault((media_id, first, last), []).append(line.get("record"))
        for (media_id, first, last), records in groups.items():
            note(media_id, first, last, records)

    def learn(self, client: WistiaClient, media_id: str, start: date, end: date, path: str) -> None:
        """Fetch `media_id`'s daily timeseries over `start..end` to know its days (nothing goes to Bronze)."""
        for first, last in split_span(start, end, max_end_date):
            params = {**dict(TIMESERIES.params), "start_date": first.isoformat(), "end_date": last.isoformat()}
            data = client.get_json(path, params, api=Api.MODERN)
            with self._lock:
                self.learnt += 1
            self.note_timeseries(media_id, first, last, data if isinstance(data, list) else [])

    # ---- what the per-day streams ask for ------------------------------------------------------------------
    def knows(self, media_id: str, start: date, end: date, *, every_day: bool = True) -> bool:
        """Whether this run knows the loads of every day (or of any day) of `start..end`."""
        with self._lock:
            known = self._medias.get(media_id)
            days = list(days_between(start, end))
            if known is None:
                return not days
            hits = [d in known.loads for d in days]
        return all(hits) if every_day else any(hits) or not days

    def days_with_loads(self, media_id: str, start: date, end: date) -> list[date]:
        """The days of `start..end` that had (or may have had: null figures) loads."""
        return self._days(media_id, start, end, "loads")

    def had_plays(self, media_id: str, start: date, end: date) -> bool:
        return bool(self._days(media_id, start, end, "plays"))

    def had_form_conversions(self, media_id: str, start: date, end: date) -> bool:
        """True when some known day counts form conversions, or a day's count is null or unknown."""
        with self._lock:
            known = self._medias.get(media_id)
            forms = known.forms if known else {}
            return any(forms.get(d, _NULL) != _ZERO for d in days_between(start, end))

    def _days(self, media_id: str, start: date, end: date, what: str) -> list[date]:
        with self._lock:
            known = self._medias.get(media_id)
            figures: dict[date, int] = getattr(known, what) if known else {}
            return [d for d in days_between(start, end) if d in figures and figures[d] != _ZERO]

    def traffic_requests(self, media_id: str, start: date, end: date) -> list[PlannedRequest]:
        """One request per day with loads and per dimension of INGEST_TRAFFIC_DIMENSIONS."""
        last = self.dimensions[-1] if self.dimensions else None
        return [
            PlannedRequest(
                {**_one_day(day), "group_by": dimension, "per_page": 100, "sort_by": "loads"},
                {"media_id": media_id, "date": day.isoformat(), "dimension": dimension},
                day if dimension == last else None,
            )
            for day in self.days_with_loads(media_id, start, end)
            for dimension in self.dimensions
        ]

    def embed_requests(self, media_id: str, start: date, end: date) -> list[PlannedRequest]:
        """One request per day with loads."""
        return [
            PlannedRequest(
                {**_one_day(day), "per_page": 100, "sort_by": "loads"},
                {"media_id": media_id, "date": day.isoformat()},
                day,
            )
            for day in self.days_with_loads(media_id, start, end)
        ]


def _one_day(day: date) -> dict[str, str]:
    return {"start_date": day.isoformat(), "end_date": day.isoformat()}


def trailing_start(start: date, end: date) -> date:
    """`start`, or later so that `start..end` is a range the modern API accepts (at most 2 years)."""
    if end <= max_end_date(start):
        return start
    try:
        return end.replace(year=end.year - 2)
    except ValueError:  # 29 February
        return date(end.year - 2, 3, 1)

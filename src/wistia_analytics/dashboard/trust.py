"""The trust panel: whether a reader can trust today's numbers (freshness, last run, reconciliation, quarantine).

Everything comes from `lake_status` (the same answer `wistia-analytics status` gives) plus Gold's last day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from wistia_analytics.dashboard.gold import Gold
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.lake_status import lake_status


@dataclass(frozen=True)
class RunInfo:
    command: str
    status: str
    started_at: str
    ended_at: str | None
    errors: int


@dataclass(frozen=True)
class Trust:
    """What a reader needs to decide whether to trust today's numbers."""

    data_as_of: date  # last day with activity in Gold
    newest_event_at: str | None
    last_run: RunInfo | None
    drift_rows: int
    drift_max_plays_diff: int | None
    reconciliation_rows: int
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def level(self) -> Literal["ok", "warning", "error"]:
        if self.last_run is None or self.last_run.status == "failed":
            return "error"
        if self.last_run.status != "success" or self.drift_rows:
            return "warning"
        return "ok"

    @property
    def day_in_progress(self) -> date | None:
        """The last day with data when the last run read it before that UTC day was over: its figures are partial
        (a range ending on it reads low against a previous period of whole days)."""
        run = self.last_run
        if run is None or run.started_at[:10] != self.data_as_of.isoformat():
            return None
        return self.data_as_of


def trust(storage: Storage, gold: Gold) -> Trust:
    """Last run, reconciliation drift and quarantine (from `lake_status`), and the newest day in Gold."""
    status = lake_status(storage, runs=1)
    runs = status.get("runs") or []
    last = runs[0] if runs else None
    recon = status.get("reconciliation") or {}
    max_diff = recon.get("max_abs_plays_diff")
    return Trust(
        data_as_of=gold.last_day,
        newest_event_at=(status.get("freshness") or {}).get("newest_event_at"),
        last_run=None
        if last is None
        else RunInfo(
            command=last["command"],
            status=last["status"],
            started_at=last["started_at"],
            ended_at=last["ended_at"],
            errors=int(last["errors"]),
        ),
        drift_rows=int(recon.get("rows_with_drift") or 0),
        drift_max_plays_diff=None if max_diff is None else int(max_diff),
        reconciliation_rows=int(recon.get("rows") or 0),
        quarantined={k: int(v) for k, v in (status.get("quarantine") or {}).items() if v},
    )

"""What a stream did in this run, and where live progress goes: shared by the run and its load modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from wistia_analytics.wistia.client import WistiaClient


@dataclass
class StreamReport:
    """What one stream did in this run (shown live and in the summary)."""

    name: str
    pages: int = 0
    records: int = 0
    files: int = 0
    skipped: int = 0
    errors: int = 0
    defects: int = 0  # records kept in Bronze with a defect (Silver quarantines them)
    windows: list[str] = field(default_factory=list)
    status: str = "pending"


class ProgressSink(Protocol):
    """Receives live progress; the console shows it, tests ignore it."""

    def update(self, report: StreamReport, client: WistiaClient) -> None: ...


class NullProgress:
    """The sink of runs nobody watches."""

    def update(self, report: StreamReport, client: WistiaClient) -> None:
        return None

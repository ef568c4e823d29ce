"""Sandbox knobs: account size profiles and the server's behaviour switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from wistia_analytics.contracts.sandbox_api import DEFAULT_TOKEN
from wistia_analytics.sandbox.corruption import ALL_BAD_RECORD_KINDS, BadRecordKind

SizeName = Literal["empty", "tiny", "small", "medium", "large"]
FaultKind = Literal[
    "http_500",
    "http_502",
    "http_503",
    "http_429",
    "slow",
    "timeout",
    "truncated",
    "invalid_json",
    "dropped",
    "analytics_503",
]
ModernAccess = Literal["full", "forbidden", "absent"]

ALL_FAULT_KINDS: tuple[FaultKind, ...] = (
    "http_500",
    "http_502",
    "http_503",
    "slow",
    "timeout",
    "truncated",
    "invalid_json",
    "dropped",
    "http_429",
)
# "analytics_503" (the modern API's "Analytics service is temporarily unavailable"; an http_503 on v1 paths) is
# left out on purpose: fault campaigns over ALL_FAULT_KINDS keep drawing exactly the faults they always drew.
EVENT_RETENTION_DAYS = 730  # events list/show only return the last two years


@dataclass(frozen=True)
class SizeProfile:
    """How big a synthetic account is; `target_events` is the expected number of viewing sessions."""

    name: SizeName
    n_projects: int
    n_medias: int
    history_days: int
    target_events: int


SIZES: dict[str, SizeProfile] = {
    "empty": SizeProfile("empty", n_projects=1, n_medias=0, history_days=7, target_events=0),
    "tiny": SizeProfile("tiny", n_projects=2, n_medias=4, history_days=21, target_events=600),
    "small": SizeProfile("small", n_projects=4, n_medias=20, history_days=180, target_events=100_000),
    "medium": SizeProfile("medium", n_projects=8, n_medias=50, history_days=365, target_events=500_000),
    "large": SizeProfile("large", n_projects=25, n_medias=500, history_days=730, target_events=10_000_000),
}


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that decides what the sandbox serves. Same config (with a pinned `today`), same bytes."""

    seed: int = 42
    size: SizeName = "small"
    today: date | None = None  # None: the real UTC date and time
    history_start: date | None = None  # first day with data; default: today - history_days + 1
    time_of_day: time = time(12, 0, 0)  # the clock's time of day when `today` is pinned
    tick_seconds: float = 0.0  # the clock advances this much per request (events arrive while you page)
    token: str = DEFAULT_TOKEN
    rate_limit_per_minute: int = 600  # 0 disables the limiter
    rate_limit_status: int = 429  # 429 (current docs) or 503 (older docs)
    faults: float = 0.0  # fraction of requests answered with an injected fault
    fault_kinds: tuple[FaultKind, ...] = ALL_FAULT_KINDS
    fault_slow_seconds: float = 1.5
    fault_timeout_seconds: float = 20.0
    fault_retry_after_seconds: int = 1  # Retry-After of the injected 503 and 429 answers
    bad_records: float = 0.0  # fraction of list records served malformed (sandbox/corruption.py)
    bad_record_kinds: tuple[BadRecordKind, ...] = ALL_BAD_RECORD_KINDS
    bad_pages: float = 0.0  # fraction of list pages served as a 200 that is not JSON (retry-able)
    late_fraction: float = 0.03  # share of sessions that become visible 1-2 days after received_at
    default_per_page: int = 10
    gone_medias: frozenset[str] = frozenset()  # listed by /medias but 404 on stats (deleted meanwhile)
    legacy_auth: bool = True  # also accept Basic api:<token> and ?api_password=<token> (v1 only)
    # The modern analytics API (/modern): "full"; "forbidden" (a token without "Read detailed stats": 403);
    # "absent" (an account or URL without it: 404 on every /modern path).
    modern_access: ModernAccess = "full"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def profile(self) -> SizeProfile:
        return SIZES[self.size]

    def resolved_today(self) -> date:
        return self.today if self.today is not None else datetime.now(UTC).date()

    def resolved_history_start(self) -> date:
        if self.history_start is not None:
            return self.history_start
        return self.resolved_today() - timedelta(days=self.profile.history_days - 1)

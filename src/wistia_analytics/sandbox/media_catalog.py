"""The account's dimensions: projects, medias and the visitor cohorts, all drawn from the seed.

Everything here is small (at most a few thousand rows) and computed once; viewing sessions, which are
large, are generated per (media, day) cell on demand by `sessions.py`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from wistia_analytics.sandbox import vocab
from wistia_analytics.sandbox.config import SandboxConfig

DAY_SECONDS = 86_400
WEEKDAY_FACTOR = np.array([1.10, 1.15, 1.12, 1.05, 0.95, 0.68, 0.62])  # Monday .. Sunday
# Hour-of-day weights (UTC): audiences in the Americas and Europe.
HOUR_WEIGHTS = np.array(
    [2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4, 5, 5.5, 6, 6.5, 7, 8, 9, 9, 8.5, 8, 7, 6, 5, 4, 3], dtype=float
)
HOUR_CDF = np.cumsum(HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
VISITORS_PER_SESSION = 0.45  # cohort sizing: about 2.2 sessions per visitor
COHORT_SPAN_DAYS = 30  # a visitor is active from its cohort day for at most this many days
_ALNUM = string.ascii_lowercase + string.digits


def day_start_ts(day_ordinal: int) -> int:
    return int(datetime.combine(date.fromordinal(day_ordinal), datetime.min.time(), UTC).timestamp())


def _hashed_id(rng: np.random.Generator) -> str:
    return "".join(_ALNUM[i] for i in rng.integers(0, len(_ALNUM), 10))


@dataclass(frozen=True)
class Project:
    index: int
    id: int
    hashed_id: str
    name: str
    description: str
    created_ts: int
    public: bool


@dataclass(frozen=True)
class Media:
    index: int
    id: int
    hashed_id: str
    name: str
    project: int  # project index
    duration_seconds: float
    created_ts: int
    updated_ts: int
    archived: bool
    play_rate: float  # probability that a load turns into a play
    beta_a: float  # percent_viewed ~ Beta(a, b)
    beta_b: float
    base_loads: float  # expected loads on a weekday right after release
    decay_days: float
    has_actions: bool
    tags: tuple[str, ...]

    @property
    def created_day(self) -> int:
        return datetime.fromtimestamp(self.created_ts, tz=UTC).date().toordinal()


class Catalog:
    """Projects, medias, channel mixes and visitor cohorts of one synthetic account."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.seed = config.seed
        profile = config.profile
        self.history_start = config.resolved_history_start().toordinal()
        # Everything below depends on (seed, size, history_start) only, never on today: advancing the clock
        # grows the same account by new days instead of drawing another one.
        self.first_sync_today = config.resolved_today().toordinal()
        self.nominal_last_day = self.history_start + profile.history_days - 1
        rng = np.random.default_rng([self.seed, 0xCA7A])
        start_ts = day_start_ts(self.history_start)
        span = max(1, profile.history_days - 6)

        self.projects: list[Project] = []
        for p in range(profile.n_projects):
            name = vocab.PROJECT_NAMES[p % len(vocab.PROJECT_NAMES)]
            if p >= len(vocab.PROJECT_NAMES):
                name = f"{name} {p // len(vocab.PROJECT_NAMES) + 1}"
            self.projects.append(
                Project(
                    index=p,
                    id=int(2_000_000 + rng.integers(0, 900_000)) * 10 + p,
                    hashed_id=_hashed_id(rng),
                    name=name,
                    description=f"{name} videos",
                    created_ts=start_ts - int(rng.integers(0, 400)) * DAY_SECONDS,
                    public=bool(rng.random() < 0.3),
                )
            )

        medias: list[Media] = []
        for m in range(profile.n_medias):
            # A third of the library predates the history window's first day; the rest is released over it.
            created_day_offset = 0 if rng.random() < 0.35 else int(rng.integers(0, span))
            created_ts = start_ts + created_day_offset * DAY_SECONDS + int(rng.integers(0, DAY_SECONDS))
            duration = float(np.clip(rng.lognormal(np.log(150), 0.9), 15, 3600))
            mean_pv = float(rng.uniform(0.22, 0.82))
            concentration = float(rng.uniform(1.5, 5.0))
            topic = vocab.MEDIA_TOPICS[m % len(vocab.MEDIA_TOPICS)]
            suffix = "" if m < len(vocab.MEDIA_TOPICS) else f" (part {m // len(vocab.MEDIA_TOPICS) + 1})"
            medias.append(
                Media(
                    index=m,
                    id=int(30_000_000 + m * 7919 + rng.integers(0, 7000)),
                    hashed_id=_hashed_id(rng),
                    name=f"{topic}{suffix}",
                    project=m if m < profile.n_projects else int(rng.integers(0, profile.n_projects)),
                    duration_seconds=round(duration, 2),
                    created_ts=created_ts,
                    updated_ts=min(
                        created_ts + int(rng.integers(0, 30 * DAY_SECONDS)),
                        day_start_ts(self.nominal_last_day - 1),
                    ),
                    archived=bool(rng.random() < 0.08),
                    play_rate=float(rng.uniform(0.18, 0.72)),
                    beta_a=mean_pv * concentration,
                    beta_b=(1 - mean_pv) * concentration,
                    base_loads=float(rng.lognormal(0, 0.8)),
                    decay_days=float(rng.uniform(15, 150)),
                    has_actions=bool(rng.random() < 0.4),
                    tags=tuple(
                        sorted(
                            {
                                str(t)
                                for t in rng.choice(
                                    ["demo", "social", "launch", "evergreen", "webinar", "sales"], size=2
                                )
                            }
                        )
                    ),
                )
            )
        self.channel_p = rng.dirichlet(np.array(vocab.CHANNEL_BASE_WEIGHTS) * 12, size=profile.n_medias)
        self.channel_cdf = np.cumsum(self.channel_p, axis=1)
        # Scale base loads so the expected sessions over the history match the profile's target.
        self._scale = 1.0
        self.medias = medias
        expected = self.expected_sessions(self.history_start, self.nominal_last_day).sum()
        self._scale = profile.target_events / max(expected, 1e-9)
        self.media_by_hashed = {m.hashed_id: m for m in medias}
        self.media_by_id = {str(m.id): m for m in medias}
        self.project_by_key = {p.hashed_id: p for p in self.projects} | {str(p.id): p for p in self.projects}
        self.cutover_day = self.history_start + int(0.3 * profile.history_days)  # older key/timestamp format before
        self._cohort_cum = np.zeros(1, dtype=np.int64)
        self._cohort_until = self.history_start - 1
        self.ensure_cohorts(max(self.first_sync_today, self.nominal_last_day) + 2)

    # ---- expected volume
    def expected_loads(self, media: int, days: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Expected loads of `media` on each day ordinal (0 before its release day)."""
        m = self.medias[media]
        age = days - m.created_day
        weekday = WEEKDAY_FACTOR[(days - 1) % 7]  # ordinal 1 (0001-01-01) was a Monday
        trend = 1 + 0.3 * np.clip((days - self.history_start) / max(self.config.profile.history_days, 1), 0, 2)
        decay = 0.35 + 0.65 * np.exp(-np.clip(age, 0, None) / m.decay_days)
        lam = self._scale * m.base_loads * weekday * trend * decay
        return np.where(age >= 0, lam, 0.0)

    def expected_sessions(self, first_day: int, last_day: int) -> npt.NDArray[np.float64]:
        """Expected sessions per day (account-wide) for the ordinals first_day..last_day."""
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        total = np.zeros(len(days))
        for m in self.medias:
            total += self.expected_loads(m.index, days) * m.play_rate
        return total

    # ---- visitor cohorts
    def ensure_cohorts(self, last_day: int) -> None:
        """Visitors are numbered by cohort (the day they first appear); extend the numbering to last_day."""
        if last_day <= self._cohort_until:
            return
        sizes = np.maximum(3, np.round(self.expected_sessions(self.history_start, last_day) * VISITORS_PER_SESSION))
        self._cohort_cum = np.concatenate([[0], np.cumsum(sizes.astype(np.int64))])
        self._cohort_until = last_day

    def cohort_bounds(self, day: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """First visitor index and size of the cohort of each day ordinal."""
        off = day - self.history_start
        return self._cohort_cum[off], self._cohort_cum[off + 1] - self._cohort_cum[off]

    def cohort_of(self, visitor: int) -> int | None:
        """The cohort day ordinal of a visitor index, or None if out of range."""
        if visitor < 0 or visitor >= self._cohort_cum[-1]:
            return None
        return self.history_start + int(np.searchsorted(self._cohort_cum, visitor, side="right")) - 1

    @property
    def n_visitor_slots(self) -> int:
        return int(self._cohort_cum[-1])

    def media_for(self, key: str) -> Media | None:
        """Stats paths take the hashed id or the numeric id."""
        return self.media_by_hashed.get(key) or self.media_by_id.get(key)


def history_dates(catalog: Catalog, last_day: int) -> list[date]:
    return [date.fromordinal(d) for d in range(catalog.history_start, last_day + 1)]


def ts_to_date(ts: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=ts)).date()

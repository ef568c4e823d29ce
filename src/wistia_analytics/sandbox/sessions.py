"""Viewing sessions of one (media, UTC day) cell, generated deterministically from the seed.

A cell is the unit of truth: every endpoint (events, by_date, lifetime stats, engagement, visitors) is
computed from cells, so they agree with each other by construction. A cell depends only on the seed,
the media and the day, never on what was asked before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wistia_analytics.sandbox.keys import session_hashes
from wistia_analytics.sandbox.media_catalog import COHORT_SPAN_DAYS, DAY_SECONDS, HOUR_CDF, Catalog, day_start_ts

MAX_LATE_SECONDS = 2 * DAY_SECONDS
_MIN_LATE_SECONDS = 20 * 3600


@dataclass(frozen=True)
class Cell:
    """Sessions (plays) of one media on one day, sorted by received time; plus the loads without a play."""

    media: int
    day: int  # date ordinal
    received_ts: npt.NDArray[np.int64]
    visible_ts: npt.NDArray[np.int64]  # when the session shows up in the API (late arrivals: 20-48 h later)
    percent_viewed: npt.NDArray[np.float64]
    visitor: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int8]
    session_hash: npt.NDArray[np.uint64]  # scrambled (media, day, index): the event key's payload
    nonplay_load_ts: npt.NDArray[np.int64]  # sorted

    @property
    def size(self) -> int:
        return len(self.received_ts)

    def visible_mask(self, now_ts: int) -> npt.NDArray[np.bool_]:
        return (self.received_ts <= now_ts) & (self.visible_ts <= now_ts)

    def is_settled(self, now_ts: int) -> bool:
        """True once nothing in the cell can still change (the day is over and late arrivals are in)."""
        return now_ts >= day_start_ts(self.day) + DAY_SECONDS + MAX_LATE_SECONDS


def generate_cell(catalog: Catalog, media: int, day: int) -> Cell:
    """Draw the sessions of `media` on day ordinal `day`; the draw order below is part of the contract."""
    m = catalog.medias[media]
    rng = np.random.Generator(np.random.PCG64([catalog.seed, media, day]))
    lam = float(catalog.expected_loads(media, np.array([day], dtype=np.int64))[0])
    n_loads = int(rng.poisson(lam)) if lam > 0 else 0
    start = day_start_ts(day)
    hours = np.minimum(np.searchsorted(HOUR_CDF, rng.random(n_loads), side="right"), 23)
    ts = start + hours * 3600 + rng.integers(0, 3600, size=n_loads)
    played = rng.random(n_loads) < m.play_rate
    keep = ts >= m.created_ts  # nothing before the media existed
    play_ts = np.sort(ts[played & keep])
    nonplay = np.sort(ts[~played & keep])
    n = len(play_ts)
    pv = np.clip(rng.beta(m.beta_a, m.beta_b, size=n), 0.0, 1.0)
    back = np.minimum(rng.geometric(0.22, size=n) - 1, COHORT_SPAN_DAYS)
    cohort_day = np.maximum(day - back, catalog.history_start)
    first, size = catalog.cohort_bounds(cohort_day)
    visitor = first + np.minimum((size * rng.random(n) ** 1.6).astype(np.int64), size - 1)
    cdf = catalog.channel_cdf[media]
    channel = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(np.int8)
    late = rng.random(n) < catalog.config.late_fraction
    delay = rng.integers(_MIN_LATE_SECONDS, MAX_LATE_SECONDS + 1, size=n)
    return Cell(
        media=media,
        day=day,
        received_ts=play_ts.astype(np.int64),
        visible_ts=(play_ts + np.where(late, delay, 0)).astype(np.int64),
        percent_viewed=pv,
        visitor=visitor.astype(np.int64),
        channel=channel,
        session_hash=session_hashes(media, day, n, catalog.seed),
        nonplay_load_ts=nonplay.astype(np.int64),
    )

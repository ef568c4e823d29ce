"""The three orders of the top media and top visitors tables, written once as SQL and once as NumPy.

The SQL order (`ORDER_SQL`) ranks on Parquet; `ranking_order` ranks the speed layer's NumPy sums. Both must
give the same rows in the same order, ties included (last tie-break: the key), so they live side by side.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

RankBy = Literal["engagement", "plays", "watch_time"]
RANKINGS: tuple[RankBy, ...] = ("engagement", "plays", "watch_time")

# the ORDER BY of each ranking over columns `plays`, `watch` and `engagement` (then the key, by the caller)
ORDER_SQL: dict[RankBy, str] = {
    "engagement": "engagement DESC NULLS LAST, plays DESC, watch DESC",
    "plays": "plays DESC, engagement DESC NULLS LAST, watch DESC",
    "watch_time": "watch DESC, plays DESC, engagement DESC NULLS LAST",
}


def engagement(pvs: np.ndarray, plays: np.ndarray) -> np.ndarray:
    """Σ percent_viewed_sum / Σ plays, NaN where there are no plays (SQL: / nullif(…, 0))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = np.where(plays != 0, pvs / np.where(plays != 0, plays, 1), np.nan)
    return ratio


def nulls_last(values: np.ndarray) -> np.ndarray:
    """NaN (SQL NULL) as -inf: last in a descending order."""
    keyed: np.ndarray = np.where(np.isnan(values), -np.inf, values)
    return keyed


def ranking_order(
    rank_by: RankBy, vids: np.ndarray, plays: np.ndarray, pvs: np.ndarray, watch: np.ndarray
) -> np.ndarray:
    """The permutation that sorts these visitors as `ORDER_SQL[rank_by]` then the visitor key does (vids are
    numbered in key order)."""
    rate = nulls_last(engagement(pvs, plays))
    keys: dict[RankBy, tuple[np.ndarray, ...]] = {  # np.lexsort: the last key sorts first
        "engagement": (vids, -watch, -plays, -rate),
        "plays": (vids, -watch, -rate, -plays),
        "watch_time": (vids, -rate, -plays, -watch),
    }
    order: np.ndarray = np.lexsort(keys[rank_by])
    return order

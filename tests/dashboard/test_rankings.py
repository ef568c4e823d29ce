"""The NumPy ranking order is the SQL one: same rows, same order, ties and NULL engagement included."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from wistia_analytics.dashboard.rankings import ORDER_SQL, RANKINGS, RankBy, ranking_order


@pytest.mark.parametrize("rank_by", RANKINGS)
def test_numpy_order_equals_the_sql_order(rank_by: RankBy) -> None:
    rng = np.random.default_rng(7)
    n = 500
    vids = np.arange(n)
    plays = rng.integers(0, 4, n).astype(np.float64)  # few values: many ties; 0 plays: NULL engagement
    pvs = np.round(rng.integers(0, 3, n) * 0.5, 2) * (plays > 0)
    watch = rng.integers(0, 3, n).astype(np.float64) * 10
    got = vids[ranking_order(rank_by, vids, plays, pvs, watch)].tolist()
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE v (visitor INTEGER, plays DOUBLE, pvs DOUBLE, watch DOUBLE)")
        rows = list(zip(vids.tolist(), plays.tolist(), pvs.tolist(), watch.tolist(), strict=True))
        con.executemany("INSERT INTO v VALUES (?, ?, ?, ?)", rows)
        expected = [
            r[0]
            for r in con.execute(
                f"SELECT visitor FROM (SELECT visitor, plays, watch, pvs / nullif(plays, 0) AS engagement FROM v) "
                f"ORDER BY {ORDER_SQL[rank_by]}, visitor"
            ).fetchall()
        ]
    finally:
        con.close()
    assert got == expected

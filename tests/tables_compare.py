"""Comparing table contents across runs or engines: exact for everything but floats (summation order)."""

from __future__ import annotations

import math


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def assert_same_rows(left: list[tuple[object, ...]], right: list[tuple[object, ...]], table: str) -> None:
    """Same number of rows and, after sorting by the non-float columns, the same values (floats within 1e-9)."""

    def key(row: tuple[object, ...]) -> str:
        return repr(tuple(v for v in row if not isinstance(v, float)))

    a, b = sorted(left, key=key), sorted(right, key=key)
    assert len(a) == len(b), f"{table}: {len(a)} rows != {len(b)} rows"
    for x, y in zip(a, b, strict=True):
        assert len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y, strict=True)), f"{table}: {x} != {y}"

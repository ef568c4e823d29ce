"""Checks run on a table version before publishing (the "audit" of write-audit-publish).

Each check is a SQL query returning the number of offending rows, so every engine runs it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class QueryEngine(Protocol):
    def scalar(self, sql: str) -> int: ...


@dataclass(frozen=True)
class Check:
    """`violations_sql` counts offending rows of `{table}`; zero means the check passes."""

    name: str
    violations_sql: str
    blocking: bool = True  # False: reported in the run record, does not stop publishing
    # (column, parent, parent_column) of a referential check: a Silver model quarantines the offending rows
    # before its audit (their reason names the parent's quarantine reason), so the check itself then counts
    # only what the quarantine could not explain (kept rows of an earlier version).
    reference: tuple[str, str, str] | None = None

    def run(self, engine: QueryEngine, table: str) -> int:
        return engine.scalar(self.violations_sql.format(table=table))


def key_checks(key: tuple[str, ...], nullable: tuple[str, ...] = ()) -> list[Check]:
    """Key not null (but for `nullable` columns) and unique."""
    cols = ", ".join(key)
    nulls = " OR ".join(f"{c} IS NULL" for c in key if c not in nullable)
    checks = [Check(f"key not null ({cols})", f"SELECT count(*) FROM {{table}} WHERE {nulls}")] if nulls else []
    return [
        *checks,
        Check(
            f"key unique ({cols})",
            f"SELECT count(*) FROM (SELECT {cols} FROM {{table}} GROUP BY {cols} HAVING count(*) > 1) d",
        ),
    ]


def range_check(column: str, low: float | None = None, high: float | None = None) -> Check:
    """Values of `column` within [low, high] (NULL allowed)."""
    conditions = []
    if low is not None:
        conditions.append(f"{column} < {low}")
    if high is not None:
        conditions.append(f"{column} > {high}")
    bounds = f"[{'' if low is None else low}, {'' if high is None else high}]"
    return Check(f"{column} in {bounds}", f"SELECT count(*) FROM {{table}} WHERE {' OR '.join(conditions)}")


def references(column: str, parent: str, parent_column: str, *, blocking: bool = True) -> Check:
    """Every non-null `column` value exists in `parent.parent_column` (referential integrity).

    On a Silver model the rows that fail it are quarantined, not published (`transform/build.py`)."""
    return Check(
        f"{column} references {parent}.{parent_column}",
        f"SELECT count(*) FROM {{table}} t WHERE t.{column} IS NOT NULL AND t.{column} NOT IN "
        f"(SELECT {parent_column} FROM {parent} WHERE {parent_column} IS NOT NULL)",
        blocking,
        reference=(column, parent, parent_column),
    )


@dataclass
class CheckResult:
    name: str
    violations: int
    blocking: bool = True

    @property
    def passed(self) -> bool:
        return self.violations == 0


def run_checks(engine: QueryEngine, table: str, checks: list[Check]) -> list[CheckResult]:
    return [CheckResult(c.name, c.run(engine, table), c.blocking) for c in checks]

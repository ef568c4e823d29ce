"""DuckDB SQL -> Spark SQL: the one translation step that lets Spark run the same model definitions.

Model SQL (``transform/sql/*.sql``), the SQL the runner composes and the check SQL are written once, in
DuckDB's dialect. Spark runs them through `to_spark`: sqlglot's DuckDB -> Spark transpiler. Constructs that
cannot transpile correctly are kept out of the model SQL (the models are written portably, see
docs/models.md and docs/engines.md), never special-cased here by model.

Fix-ups: none of sqlglot's output needs a textual change for our SQL today (the parity tests in tests/spark
would show one). What `to_spark` adds is a gate: it refuses the constructs known to transpile into SQL that
runs but means something else (`epoch_ms`, `quantile_cont`, `* EXCLUDE`, `list(...)`, `dayofweek`/`dow`,
`QUALIFY`), so a model using one fails loudly instead of giving other numbers on Spark
(tests/spark/test_spark_engine.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

# DuckDB constructs sqlglot turns into Spark SQL that runs but means something else (or fails late).
_REFUSED_FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.UnixToTime: "epoch_ms/to_timestamp (unit differs on Spark)",
    exp.PercentileCont: "quantile_cont (Spark's percentile differs)",
    exp.ArrayAgg: "list()/array_agg (element order is not kept on Spark)",
    exp.DayOfWeek: "dayofweek/dow (Spark numbers days 1-7 from Sunday, DuckDB 0-6)",
    exp.Qualify: "QUALIFY (filter a ROW_NUMBER subquery instead)",
}
_EXCLUDE = re.compile(r"\*\s+EXCLUDE\b", re.IGNORECASE)
_DOW_PART = re.compile(r"\b(dow|isodow)\b", re.IGNORECASE)  # extract(dow ...), date_part('dow', ...)


class NotPortableError(ValueError):
    """The SQL uses a DuckDB construct that does not mean the same on Spark."""


def refuse_unportable(tree: exp.Expr, sql: str) -> None:
    """Raise `NotPortableError` for the constructs known to transpile to different results."""
    if _EXCLUDE.search(sql):
        raise NotPortableError("* EXCLUDE is DuckDB-only: list the columns")
    if _DOW_PART.search(sql):
        raise NotPortableError("not portable to Spark: dow (Spark numbers days 1-7 from Sunday, DuckDB 0-6)")
    for node in tree.walk():
        for kind, why in _REFUSED_FUNCTIONS.items():
            if isinstance(node, kind):
                raise NotPortableError(f"not portable to Spark: {why}")


@lru_cache(maxsize=1024)
def to_spark(sql: str) -> str:
    """The Spark SQL text for one DuckDB statement (cached: the runner sends the same SQL many times)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    refuse_unportable(tree, sql)
    return tree.sql(dialect="spark")

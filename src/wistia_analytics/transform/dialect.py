"""DuckDB SQL -> Spark SQL, and DuckDB's parse-once plan: the steps between a model's SQL and an engine.

Model SQL (``transform/sql/*.sql``), the SQL the runner composes and the check SQL are written once, in
DuckDB's dialect. Spark runs them through `to_spark`: sqlglot's DuckDB -> Spark transpiler. Constructs that
cannot transpile correctly are kept out of the model SQL (the models are written portably, see
docs/models.md and docs/engines.md), never special-cased here by model.

Fix-ups: none of sqlglot's output needs a textual change for our SQL today (the parity tests in tests/spark
would show one). What `to_spark` adds is a gate: it refuses the constructs known to transpile into SQL that
runs but means something else (`epoch_ms`, `quantile_cont`, `* EXCLUDE`, `list(...)`, `dayofweek`/`dow`,
`QUALIFY`), so a model using one fails loudly instead of giving other numbers on Spark
(tests/spark/test_spark_engine.py).

`parse_json_once` is the DuckDB side: DuckDB parses a JSON text again for every `json_extract_string` call, so
a model reading 20 fields of each Bronze record parsed it 20 times. The rewrite extracts all of a SELECT's
paths with one call (a list of paths, one parse) and reads the fields from that list; same values, one parse.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

from wistia_analytics.errors import InternalError

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


class NotPortableError(InternalError):
    """The SQL uses a DuckDB construct that does not mean the same on Spark: our SQL is wrong, not the setup."""


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


FIELDS_COLUMN = "__record_fields"


@lru_cache(maxsize=256)
def parse_json_once(sql: str) -> str:
    """`sql` with each SELECT's `json_extract_string(record, '<path>')` calls served by one parse of `record`.

    Applies to a SELECT reading one relation (no join) with at least two distinct literal paths on the column
    `record`; anything else is returned unchanged (same meaning, the old cost).
    """
    if "json_extract_string" not in sql:
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")
    changed = False
    for select in list(tree.find_all(exp.Select)):
        source = select.args.get("from_")
        if source is None or select.args.get("joins") or not isinstance(source.this, exp.Table):
            continue
        calls = [
            node
            for node in select.find_all(exp.JSONExtractScalar)
            if node.parent_select is select
            and isinstance(node.this, exp.Column)
            and node.this.name == "record"
            and not node.this.table
            and isinstance(node.expression, exp.JSONPath)
        ]
        node_paths = [node.expression.sql(dialect="duckdb") for node in calls]
        paths = list(dict.fromkeys(node_paths))
        if len(paths) < 2:
            continue
        table = source.this
        alias = table.alias_or_name
        inner = sqlglot.parse_one(
            f"SELECT *, json_extract_string(record, [{', '.join(paths)}]) AS {FIELDS_COLUMN} "
            f"FROM {table.sql(dialect='duckdb')}",
            read="duckdb",
        )
        fields = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        for node, path in zip(calls, node_paths, strict=True):
            index = paths.index(path) + 1  # DuckDB lists are 1-based
            node.replace(sqlglot.parse_one(f"{FIELDS_COLUMN}[{index}]", read="duckdb"))
        source.set("this", fields)
        changed = True
    return tree.sql(dialect="duckdb") if changed else sql

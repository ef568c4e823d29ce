"""The channel rules (`contracts/channels.py`) rendered as one portable SQL `CASE`, and the model SQL's placeholders.

`channel_sql(expr)` uses only `lower`, `coalesce`, `regexp_extract`, `IN` and `<>`, so it runs on DuckDB and,
transpiled by sqlglot, on Spark; `channel_of` in the contracts is its oracle. `render_model_sql` expands the
placeholders of the model SQL files: `__CHANNEL_CASE__(<expr>)` and `__HASH_IDENTITY__`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wistia_analytics.contracts.channels import (
    DEFAULT_CHANNEL,
    HOST_RE,
    QUERY_PARAM_RE,
    UTM_VALUE_RE,
    Rule,
    host_in_re,
    rules_for,
)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _condition(rule: Rule, u: str) -> str:
    if rule.kind in ("utm_source", "utm_medium"):
        value = f"regexp_extract({u}, {_quote(UTM_VALUE_RE.format(param=rule.kind))}, 1)"
        return f"{value} IN ({', '.join(_quote(p) for p in rule.patterns)})"
    if rule.kind == "query_param":
        pattern = QUERY_PARAM_RE.format(params="|".join(rule.patterns))
        return f"regexp_extract({u}, {_quote(pattern)}, 1) <> ''"
    if rule.kind == "any_host":
        return f"regexp_extract({u}, {_quote(HOST_RE)}, 1) <> ''"
    return f"regexp_extract({u}, {_quote(host_in_re(rule.patterns))}, 1) <> ''"


def _gate_class(rule: Rule) -> str:
    return {"utm_source": "param", "utm_medium": "param", "query_param": "param", "host": "host"}.get(rule.kind, "")


def _gate(kind: str, rules: Sequence[Rule], u: str) -> str:
    """One regular expression that every rule of `rules` implies: when it fails, none of them can match."""
    if kind == "param":
        params = [p for r in rules for p in (r.patterns if r.kind == "query_param" else (r.kind,))]
        pattern = "[?&](" + "|".join(dict.fromkeys(params)) + ")="
    else:
        pattern = host_in_re([h for r in rules for h in r.patterns])
    return f"regexp_extract({u}, {_quote(pattern)}, 0) <> ''"


def _case(rules: Sequence[Rule], u: str) -> str:
    """First match wins. Each run of rules of one class (URL parameters, hosts) sits behind its gate, so a URL
    with no marketing parameter pays two regular expressions, not twenty (measured: the channel was a third of
    `silver_events`' CPU); the order of the rules, hence every result, is unchanged."""
    if not rules:
        return _quote(DEFAULT_CHANNEL)
    kind = _gate_class(rules[0])
    n = next((i for i, r in enumerate(rules) if _gate_class(r) != kind), len(rules))
    rest = _case(rules[n:], u)
    whens = " ".join(f"WHEN {_condition(rule, u)} THEN {_quote(rule.channel)}" for rule in rules[:n])
    if not kind:
        return f"(CASE {whens} ELSE {rest} END)"
    return f"(CASE WHEN {_gate(kind, rules[:n], u)} THEN (CASE {whens} ELSE {rest} END) ELSE {rest} END)"


def channel_sql(url_expr: str, *, site_hosts: Sequence[str] = ()) -> str:
    """A portable SQL `CASE` expression giving the channel of the URL `url_expr` (lower-cased inside)."""
    return _case(rules_for(site_hosts), f"lower(coalesce({url_expr}, ''))")


# ---- model SQL placeholders

CHANNEL_PLACEHOLDER = "__CHANNEL_CASE__"
HASH_IDENTITY_PLACEHOLDER = "__HASH_IDENTITY__"
_CHANNEL_CALL = re.compile(rf"\b{CHANNEL_PLACEHOLDER}\s*\(")
_HASH_IDENTITY = re.compile(rf"\b{HASH_IDENTITY_PLACEHOLDER}\b")


def _closing_paren(sql: str, start: int) -> int:
    """Index of the `)` closing the `(` just before `start`; quoted strings and identifiers are skipped."""
    depth, i, n = 1, start, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = sql.find(c, i + 1)
            while end != -1 and sql.startswith(c * 2, end):  # doubled quote inside a literal
                end = sql.find(c, end + 2)
            if end == -1:
                break
            i = end
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced parentheses after {CHANNEL_PLACEHOLDER} at offset {start}")


def render_model_sql(sql: str, *, hash_identity: bool, site_hosts: Sequence[str] = ()) -> str:
    """Expand `__CHANNEL_CASE__(<expr>)` into `channel_sql(<expr>)` and `__HASH_IDENTITY__` into TRUE/FALSE."""
    out: list[str] = []
    pos = 0
    while (m := _CHANNEL_CALL.search(sql, pos)) is not None:
        close = _closing_paren(sql, m.end())
        expr = sql[m.end() : close].strip()
        if not expr:
            raise ValueError(f"{CHANNEL_PLACEHOLDER}() needs a URL expression")
        out += [sql[pos : m.start()], channel_sql(expr, site_hosts=site_hosts)]
        pos = close + 1
    out.append(sql[pos:])
    return _HASH_IDENTITY.sub("TRUE" if hash_identity else "FALSE", "".join(out))

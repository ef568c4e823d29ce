"""Marketing channel of a viewing session, derived from its embed URL: the one place for channel rules.

The URL is lower-cased first; rules are tried in order and the first match wins.

| # | channel   | kind        | matches                                                                   |
|---|-----------|-------------|---------------------------------------------------------------------------|
| 1 | facebook  | utm_source  | facebook, fb, meta, facebook.com, m./l./lm.facebook.com                   |
| 2 | youtube   | utm_source  | youtube, yt, youtube.com, m.youtube.com, youtu.be                         |
| 3 | linkedin  | utm_source  | linkedin, li, linkedin.com, lnkd.in                                       |
| 4 | x         | utm_source  | twitter, x, t.co, twitter.com, x.com                                      |
| 5 | instagram | utm_source  | instagram, ig, instagram.com, l.instagram.com                             |
| 6 | email     | utm_medium  | email, e-mail, e_mail, mail, newsletter                                   |
| 7 | search    | utm_source  | google, bing, yahoo, duckduckgo, baidu, yandex, ecosia, adwords, ...      |
| 8 | email     | utm_source  | newsletter, email, hubspot, marketo, mailchimp, pardot, klaviyo, ...      |
| 9 | facebook  | query_param | fbclid                                                                    |
|10 | linkedin  | query_param | li_fat_id                                                                 |
|11 | x         | query_param | twclid                                                                    |
|12 | instagram | query_param | igshid, igsh                                                              |
|13 | email     | query_param | mc_cid, mc_eid (Mailchimp), _hsenc, _hsmi (HubSpot), mkt_tok (Marketo)    |
|14 | search    | query_param | gclid, gbraid, wbraid, dclid (Google), msclkid (Bing), yclid (Yandex)     |
|15 | other     | query_param | any other utm_* parameter, ref, referrer, ref_src, via, ttclid, ...      |
|16 | facebook, youtube, linkedin, x, instagram | host | the network's own host (a page on facebook.com)  |
|17 | direct    | host        | wistia.com, wistia.net, wi.st (the share page `<account>.wistia.com/medias/...`) |
|18 | direct    | host        | the customer's own sites (`site_hosts`, only when configured)             |
|19 | other     | any_host    | any other host (a partner page), only when `site_hosts` is configured     |
| - | direct    | (default)   | no marketing parameter: the customer's own page, or an empty/NULL URL     |

A `utm_source`/`utm_medium` rule compares the parameter's whole value (`utm_source=facebook_ads` is not
facebook: it falls to rule 15, `other`); a `query_param` rule needs the parameter with a non-empty value; a
`host` rule matches the host or any subdomain of it. Explicit UTM tags beat click ids (`?utm_source=newsletter
&utm_medium=email&fbclid=...` is email).

Own sites versus partner pages: an embed URL does not say whose site it is. Without `site_hosts` every
untagged URL is `direct` (a partner page then counts as direct); with `site_hosts` (e.g. the account's
`northwind-example.com`), untagged pages on those hosts or on Wistia are `direct` and any other host is
`other`. An empty or NULL URL carries no attribution at all, which analytics tools count as direct: `direct`.

Two implementations of the same rules, both generated from `RULES` and the same regular expressions:
`channel_sql(expr)` (a portable SQL `CASE` using only `lower`, `coalesce`, `regexp_extract`, `IN` and `<>`, so it
runs on DuckDB and, transpiled by sqlglot, on Spark) and `channel_of(url)` (pure Python, the tests' oracle).
`render_model_sql` expands the placeholders of the model SQL files: `__CHANNEL_CASE__(<expr>)` and
`__HASH_IDENTITY__`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

RuleKind = Literal["utm_source", "utm_medium", "query_param", "host", "any_host"]

CHANNELS: tuple[str, ...] = (
    "facebook",
    "youtube",
    "linkedin",
    "x",
    "instagram",
    "email",
    "search",
    "direct",
    "other",
)
DEFAULT_CHANNEL = "direct"


@dataclass(frozen=True)
class Rule:
    """One channel rule: `channel` when the URL's `kind` part equals one of `patterns`."""

    channel: str
    kind: RuleKind
    patterns: tuple[str, ...] = ()


WISTIA_HOSTS: tuple[str, ...] = ("wistia.com", "wistia.net", "wi.st")
OTHER_MARKETING_PARAMS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "utm_id",
    "ref",
    "referrer",
    "ref_src",
    "via",
    "ttclid",
    "rdt_cid",
    "epik",
)

RULES: tuple[Rule, ...] = (
    Rule(
        "facebook",
        "utm_source",
        ("facebook", "fb", "meta", "facebook.com", "m.facebook.com", "l.facebook.com", "lm.facebook.com"),
    ),
    Rule("youtube", "utm_source", ("youtube", "yt", "youtube.com", "m.youtube.com", "youtu.be")),
    Rule("linkedin", "utm_source", ("linkedin", "li", "linkedin.com", "lnkd.in")),
    Rule("x", "utm_source", ("twitter", "x", "t.co", "twitter.com", "x.com")),
    Rule("instagram", "utm_source", ("instagram", "ig", "instagram.com", "l.instagram.com")),
    Rule("email", "utm_medium", ("email", "e-mail", "e_mail", "mail", "newsletter")),
    Rule(
        "search",
        "utm_source",
        (
            "google",
            "bing",
            "yahoo",
            "duckduckgo",
            "baidu",
            "yandex",
            "ecosia",
            "adwords",
            "googleads",
            "google_ads",
        ),
    ),
    Rule(
        "email",
        "utm_source",
        (
            "newsletter",
            "email",
            "hubspot",
            "marketo",
            "mailchimp",
            "pardot",
            "klaviyo",
            "sendgrid",
            "braze",
            "activecampaign",
        ),
    ),
    Rule("facebook", "query_param", ("fbclid",)),
    Rule("linkedin", "query_param", ("li_fat_id",)),
    Rule("x", "query_param", ("twclid",)),
    Rule("instagram", "query_param", ("igshid", "igsh")),
    Rule("email", "query_param", ("mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok")),
    Rule("search", "query_param", ("gclid", "gbraid", "wbraid", "dclid", "msclkid", "yclid")),
    Rule("other", "query_param", OTHER_MARKETING_PARAMS),
    Rule("facebook", "host", ("facebook.com", "fb.com", "fb.me")),
    Rule("youtube", "host", ("youtube.com", "youtu.be")),
    Rule("linkedin", "host", ("linkedin.com", "lnkd.in")),
    Rule("x", "host", ("twitter.com", "x.com", "t.co")),
    Rule("instagram", "host", ("instagram.com",)),
    Rule("direct", "host", WISTIA_HOSTS),
)

# The regular expressions both implementations use (RE2 in DuckDB, java.util.regex in Spark, `re` here);
# `regexp_extract(url, re, 1)` is '' when nothing matches, in all three. No backslashes (Spark string literals
# would need them doubled): a literal dot is `[.]`.
UTM_VALUE_RE = "[?&]{param}=([^&#]*)"
QUERY_PARAM_RE = "[?&]({params})=[^&#]"
HOST_RE = "^[a-z][a-z0-9+.-]*://([^/?#:]*)"
HOST_IN_RE = "^[a-z][a-z0-9+.-]*://(?:[^/?#:]*[.])?({hosts})(?:[/?#:]|$)"  # the host or a subdomain of it

_VALUE_OK = re.compile(r"[a-z0-9._+-]+")
_PARAM_OK = re.compile(r"[a-z0-9_]+")
_HOST_OK = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")


def _check(rule: Rule) -> Rule:
    if rule.channel not in CHANNELS:
        raise ValueError(f"unknown channel {rule.channel!r}")
    ok = {"utm_source": _VALUE_OK, "utm_medium": _VALUE_OK, "query_param": _PARAM_OK, "host": _HOST_OK}
    pattern = ok.get(rule.kind)
    if rule.kind == "any_host":
        if rule.patterns:
            raise ValueError("an any_host rule takes no patterns")
    elif pattern is None:
        raise ValueError(f"unknown rule kind {rule.kind!r}")
    elif not rule.patterns or not all(pattern.fullmatch(p) for p in rule.patterns):
        raise ValueError(f"rule {rule} has an empty or unsafe pattern (allowed: {pattern.pattern})")
    return rule


for _rule in RULES:
    _check(_rule)


def rules_for(site_hosts: Sequence[str] = ()) -> tuple[Rule, ...]:
    """The ordered rules; with the customer's own hosts, untagged pages elsewhere become `other`."""
    hosts = tuple(h.strip().lower().removeprefix("www.") for h in site_hosts if h.strip())
    if not hosts:
        return RULES
    return (*RULES, _check(Rule("direct", "host", hosts)), Rule("other", "any_host"))


# ---- Python implementation (the oracle)


def _host_in_re(hosts: Sequence[str]) -> str:
    return HOST_IN_RE.format(hosts="|".join(h.replace(".", "[.]") for h in hosts))


def _search(pattern: str, url: str) -> str:
    m = re.search(pattern, url)
    return m.group(1) if m else ""


def _matches(rule: Rule, url: str) -> bool:
    if rule.kind in ("utm_source", "utm_medium"):
        return _search(UTM_VALUE_RE.format(param=rule.kind), url) in rule.patterns
    if rule.kind == "query_param":
        return _search(QUERY_PARAM_RE.format(params="|".join(rule.patterns)), url) != ""
    if rule.kind == "any_host":
        return _search(HOST_RE, url) != ""
    return _search(_host_in_re(rule.patterns), url) != ""


def channel_of(url: str | None, *, site_hosts: Sequence[str] = ()) -> str:
    """The channel of one embed URL (same rules and result as `channel_sql`)."""
    u = (url or "").lower()
    for rule in rules_for(site_hosts):
        if _matches(rule, u):
            return rule.channel
    return DEFAULT_CHANNEL


# ---- SQL implementation


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
    return f"regexp_extract({u}, {_quote(_host_in_re(rule.patterns))}, 1) <> ''"


def _gate_class(rule: Rule) -> str:
    return {"utm_source": "param", "utm_medium": "param", "query_param": "param", "host": "host"}.get(rule.kind, "")


def _gate(kind: str, rules: Sequence[Rule], u: str) -> str:
    """One regular expression that every rule of `rules` implies: when it fails, none of them can match."""
    if kind == "param":
        params = [p for r in rules for p in (r.patterns if r.kind == "query_param" else (r.kind,))]
        pattern = "[?&](" + "|".join(dict.fromkeys(params)) + ")="
    else:
        pattern = _host_in_re([h for r in rules for h in r.patterns])
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

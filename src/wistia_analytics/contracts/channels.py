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
`channel_of(url)` here (pure Python, the tests' oracle) and `transform/channel_sql.py`'s `channel_sql(expr)` (a
portable SQL `CASE` for DuckDB and, transpiled, Spark). This module is a core contract: the sandbox draws its
traffic from `CHANNELS`, the transform renders the rules into SQL; it imports nothing of ours.
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


def host_in_re(hosts: Sequence[str]) -> str:
    """The host-or-subdomain pattern for `hosts` (dots made literal)."""
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
    return _search(host_in_re(rule.patterns), url) != ""


def channel_of(url: str | None, *, site_hosts: Sequence[str] = ()) -> str:
    """The channel of one embed URL (same rules and result as `channel_sql`)."""
    u = (url or "").lower()
    for rule in rules_for(site_hosts):
        if _matches(rule, u):
            return rule.channel
    return DEFAULT_CHANNEL

"""Channel rules: every sandbox traffic variant maps to its channel, in Python and in SQL (DuckDB), identically."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

import duckdb
import pytest
import sqlglot

from wistia_analytics.contracts.channels import CHANNELS, RULES, Rule, channel_of, rules_for
from wistia_analytics.sandbox import payloads, vocab
from wistia_analytics.transform.channel_sql import channel_sql, render_model_sql

SITE_HOST = urlsplit(payloads.SITE).hostname or ""
SITES = (SITE_HOST,)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    yield c
    c.close()


def sql_channels(
    con: duckdb.DuckDBPyConnection, urls: list[str | None], site_hosts: tuple[str, ...] = SITES
) -> list[str]:
    """channel_sql evaluated by DuckDB over `urls`, in order."""
    con.execute("CREATE OR REPLACE TEMP TABLE urls (i INTEGER, embed_url VARCHAR)")
    con.executemany("INSERT INTO urls VALUES (?, ?)", list(enumerate(urls)))
    expr = channel_sql("embed_url", site_hosts=site_hosts)
    return [r[0] for r in con.execute(f"SELECT {expr} FROM urls ORDER BY i").fetchall()]


def variant_urls() -> list[tuple[str, str]]:
    """(expected channel, URL) for every query variant of every channel, on every site path, plus partner
    hosts and the Wistia share page, built the way the sandbox builds them."""
    r = random.Random(7)
    out: list[tuple[str, str]] = []
    for channel, variants in vocab.CHANNEL_QUERY_VARIANTS.items():
        for variant in variants:
            for path in vocab.SITE_PATHS:
                page = f"{payloads.SITE}/{path}".rstrip("/") + "/"
                query = variant.replace("{campaign}", quote(r.choice(vocab.CAMPAIGNS))).replace(
                    "{token}", "".join(r.choice("abcdefXYZ0123456789") for _ in range(12))
                )
                out.append((channel, f"{page}?{query}" if query else page))
    for host in vocab.PARTNER_HOSTS:
        out.append(("other", f"{host}/abc123defg"))
    out.append(("direct", f"https://{payloads.ACCOUNT_SLUG}.wistia.com/medias/abc123defg"))
    return out


def sandbox_urls(n_per_channel: int = 150) -> list[tuple[str, str]]:
    """(channel, URL) drawn by the sandbox's own `Renderer.embed_url`."""
    renderer: Any = object.__new__(payloads.Renderer)  # embed_url only uses its arguments
    media = SimpleNamespace(hashed_id="abc123defg")
    return [
        (channel, renderer.embed_url(channel, media, random.Random(i * 31 + k)))
        for k, channel in enumerate(vocab.CHANNELS)
        for i in range(n_per_channel)
    ]


def test_channel_vocabulary_matches_the_sandbox() -> None:
    assert CHANNELS == vocab.CHANNELS
    assert {r.channel for r in RULES} <= set(CHANNELS)


@pytest.mark.parametrize(("expected", "url"), variant_urls())
def test_every_sandbox_variant_maps_to_its_channel_in_python(expected: str, url: str) -> None:
    assert channel_of(url, site_hosts=SITES) == expected


def test_every_sandbox_variant_maps_to_its_channel_in_sql(con: duckdb.DuckDBPyConnection) -> None:
    cases = variant_urls() + sandbox_urls()
    got = sql_channels(con, [u for _, u in cases])
    wrong = [(e, g, u) for (e, u), g in zip(cases, got, strict=True) if e != g]
    assert wrong == []


def test_sandbox_drawn_urls_map_to_the_intended_channel_in_python() -> None:
    wrong = [(e, u) for e, u in sandbox_urls() if channel_of(u, site_hosts=SITES) != e]
    assert wrong == []


EDGE_CASES: list[tuple[str | None, str, str]] = [
    # url, channel without site_hosts, channel with site_hosts=(northwind-example.com,)
    ("HTTPS://WWW.NORTHWIND-EXAMPLE.COM/PRICING/?UTM_SOURCE=FACEBOOK", "facebook", "facebook"),
    ("https://www.northwind-example.com/?utm_source=YouTube&utm_medium=social", "youtube", "youtube"),
    ("https://www.northwind-example.com/?fbclid=IwAR0abc", "facebook", "facebook"),
    ("https://www.northwind-example.com/?foo=1&FBCLID=IwAR0abc#top", "facebook", "facebook"),
    ("https://www.northwind-example.com/?fbclid=", "direct", "direct"),  # empty click id: no signal
    ("https://www.northwind-example.com/?utm_source=t.co", "x", "x"),
    ("https://t.co/abc123", "x", "x"),  # the network's own host
    ("https://www.northwind-example.com/?utm_source=x&utm_medium=social", "x", "x"),
    ("https://www.northwind-example.com/?utm_source=xing", "other", "other"),  # whole value, not prefix
    ("https://www.northwind-example.com/?utm_source=facebook_ads", "other", "other"),
    ("https://www.northwind-example.com/?utm_source=newsletter&utm_medium=email&fbclid=1", "email", "email"),
    ("https://www.northwind-example.com/?utm_source=google&utm_medium=email", "email", "email"),
    ("https://www.northwind-example.com/?utm_source=google&utm_medium=cpc", "search", "search"),
    ("https://www.northwind-example.com/?utm_campaign=spring", "other", "other"),
    ("https://www.northwind-example.com/?utm_source=&utm_medium=", "direct", "direct"),
    ("https://www.northwind-example.com/", "direct", "direct"),  # no query at all
    ("https://www.northwind-example.com", "direct", "direct"),
    ("https://www.northwind-example.com:8443/x", "direct", "direct"),
    ("https://shop.northwind-example.com/checkout?step=2", "direct", "direct"),  # unknown params ignored
    ("https://partner-example.org/reviews/abc123defg", "direct", "other"),  # partner host
    ("https://community.example.net/threads/video/abc123defg?page=2", "direct", "other"),
    ("https://northwind-example.com.evil.example/", "direct", "other"),  # not a subdomain of the site
    ("https://notfacebook.com/page", "direct", "other"),
    ("https://northwind-media.wistia.com/medias/abc123defg", "direct", "direct"),  # Wistia share page
    ("https://fast.wistia.net/embed/iframe/abc123defg", "direct", "direct"),
    ("https://northwind-media.wistia.com/medias/abc?utm_source=linkedin", "linkedin", "linkedin"),
    ("http://wistia.github.io/demobin/post-roll-video-play/", "direct", "other"),
    ("https://www.northwind-example.com/?li_fat_id=abc", "linkedin", "linkedin"),
    ("https://www.northwind-example.com/?utm_source=ig&utm_medium=paid_social", "instagram", "instagram"),
    ("https://www.northwind-example.com/?mc_cid=a&mc_eid=b", "email", "email"),
    ("https://www.northwind-example.com/?msclkid=abc", "search", "search"),
    ("https://www.northwind-example.com/?ref=producthunt", "other", "other"),
    ("https://www.northwind-example.com/?preference=1", "direct", "direct"),  # `ref` only as a whole name
    ("not a url at all", "direct", "direct"),
    ("", "direct", "direct"),  # no URL: no attribution, counted as direct
    (None, "direct", "direct"),
]


@pytest.mark.parametrize(("url", "plain", "with_sites"), EDGE_CASES)
def test_edge_cases_in_python(url: str | None, plain: str, with_sites: str) -> None:
    assert channel_of(url) == plain
    assert channel_of(url, site_hosts=SITES) == with_sites


def test_edge_cases_in_sql(con: duckdb.DuckDBPyConnection) -> None:
    urls = [u for u, _, _ in EDGE_CASES]
    assert sql_channels(con, urls, site_hosts=()) == [p for _, p, _ in EDGE_CASES]
    assert sql_channels(con, urls, site_hosts=SITES) == [w for _, _, w in EDGE_CASES]


def test_sql_and_python_agree_on_random_urls(con: duckdb.DuckDBPyConnection) -> None:
    r = random.Random(11)
    schemes = ["https://", "http://", "HTTP://", "", "//", "ftp://"]
    hosts = [
        "www.northwind-example.com",
        "northwind-example.com",
        "a.facebook.com",
        "facebook.com.example",
        "t.co",
        "lnkd.in",
        "x.wistia.net",
        "partner-example.org",
        "",
    ]
    params = [
        "utm_source=facebook",
        "utm_source=FB",
        "utm_source=x",
        "utm_source=google",
        "utm_source=newsletter",
        "utm_source=partner",
        "utm_medium=email",
        "utm_medium=cpc",
        "utm_medium=",
        "utm_campaign=a",
        "fbclid=1",
        "gclid=2",
        "twclid=",
        "igshid=z",
        "ref=ph",
        "mc_eid=e",
        "x=1",
        "",
    ]
    urls: list[str | None] = [None]
    for _ in range(1500):
        query = "&".join(r.sample(params, r.randint(0, 3)))
        sep = r.choice(["?", "#", "/?", "/page?", "&"])
        urls.append(f"{r.choice(schemes)}{r.choice(hosts)}{sep if query else r.choice(['', '/'])}{query}")
    for sites in ((), SITES):
        assert sql_channels(con, urls, site_hosts=sites) == [channel_of(u, site_hosts=sites) for u in urls]


def test_channel_sql_transpiles_to_spark() -> None:
    sql = f"SELECT {channel_sql('embed_url', site_hosts=SITES)} AS channel FROM t"
    out = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    assert "REGEXP_EXTRACT" in out
    assert "\\" not in out  # Spark string literals would need escaped backslashes


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="unsafe"):
        rules_for(["bad'host.com"])
    with pytest.raises(ValueError, match="unknown channel"):
        from wistia_analytics.contracts.channels import _check

        _check(Rule("tiktok", "utm_source", ("tiktok",)))
    assert rules_for(["  WWW.Northwind-Example.com "])[-2] == Rule("direct", "host", ("northwind-example.com",))
    assert rules_for([]) == RULES


def test_render_model_sql_expands_placeholders() -> None:
    sql = (
        "SELECT __CHANNEL_CASE__(coalesce(e.embed_url, ')(')) AS channel,\n"
        "  CASE WHEN __HASH_IDENTITY__ THEN md5(lower(email)) ELSE email END AS visitor_email,\n"
        "  __CHANNEL_CASE__ ( lower(x) ) AS c2\nFROM t AS e"
    )
    out = render_model_sql(sql, hash_identity=True)
    assert "__CHANNEL_CASE__" not in out
    assert "__HASH_IDENTITY__" not in out
    assert channel_sql("coalesce(e.embed_url, ')(')") in out
    assert channel_sql("lower(x)") in out
    assert "CASE WHEN TRUE THEN" in out
    assert "CASE WHEN FALSE THEN" in render_model_sql(sql, hash_identity=False)
    with duckdb.connect() as c:
        c.execute("CREATE TABLE t (embed_url VARCHAR, email VARCHAR, x VARCHAR)")
        c.execute("INSERT INTO t VALUES ('https://a.example/?utm_source=fb', 'Ada@X.example', 'https://T.CO/')")
        row = c.execute(out).fetchone()
        assert row is not None
        assert row[0] == "facebook"
        assert row[1] == hashlib.md5(b"ada@x.example").hexdigest()
        assert row[2] == "x"


def test_render_model_sql_rejects_unbalanced_or_empty_calls() -> None:
    with pytest.raises(ValueError, match="unbalanced"):
        render_model_sql("SELECT __CHANNEL_CASE__(lower(x) FROM t", hash_identity=False)
    with pytest.raises(ValueError, match="needs a URL"):
        render_model_sql("SELECT __CHANNEL_CASE__( ) FROM t", hash_identity=False)
    assert render_model_sql("SELECT 1", hash_identity=False) == "SELECT 1"

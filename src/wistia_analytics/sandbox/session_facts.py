"""Per-session facts the modern analytics API needs, drawn from the same cells as v1 (one truth).

A cell's plays are v1's events; its non-play loads (until now only a count) become sessions here: a visitor, a
channel and an embed URL each. Every play gains a referrer, a screen size, a language and a CTA impression or
conversion; its form conversion is its v1 event's `pre-roll-email`. Every new draw comes from an RNG stream of
its own (new `mix` purposes, `PCG64([seed, media, day, NONPLAY_TAG])`), so no v1 byte changes.

Two levels, because a client asks a 730-day timeseries per media but the string facts (URL, referrer...) only
per day: `CellFacts` is numeric and vectorised (what the timeseries needs); `SessionAttrs` is the per-session
Python part (replaying v1's `random.Random` draws where the URL must be the event's). Daily figures of settled
cells are cached in dense arrays like `truth.py`'s.
"""

from __future__ import annotations

import random
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import numpy.typing as npt

from wistia_analytics.sandbox import vocab
from wistia_analytics.sandbox.keys import MASK64, mix, mix_array, pack_session
from wistia_analytics.sandbox.media_catalog import COHORT_SPAN_DAYS, Media
from wistia_analytics.sandbox.payloads import ACCOUNT_SLUG, SITE, Renderer
from wistia_analytics.sandbox.truth import SyntheticAccount, day_of

NONPLAY_TAG = 0x4E504C  # the non-play loads' PCG64 stream: [seed, media, day, NONPLAY_TAG]
# `mix` purposes 1-6 are v1's (keys.py, truth.py); the modern facts use their own.
_P_NONPLAY_HASH, _P_CTA_MEDIA, _P_CTA_CLICK, _P_SESSION, _P_LANGUAGE, _P_CAPTIONS = 21, 22, 23, 24, 25, 26
CTA_CONVERSION_PROBABILITY = 0.12
GATE_DRAW = 8  # `identified_mask` < 8: the visitor came through an email gate (payloads.visitor_profile)
SCREEN_SIZES = ("small", "medium", "large")
LANGUAGE_OF_COUNTRY = {
    "US": "en",
    "GB": "en",
    "CA": "en",
    "AU": "en",
    "IN": "en",
    "DE": "de",
    "FR": "fr",
    "BR": "pt",
    "AR": "es",
    "JP": "ja",
    "NL": "nl",
}
CAPTION_EXTRAS = ("es", "de", "fr", "pt", "ja", "nl")
PAGE_TITLES = {
    "/": "Northwind - Video platform for modern teams",
    "/blog/how-we-ship/": "How we ship | Northwind Blog",
    "/product/tour/": "Product tour | Northwind",
    "/customers/": "Customer stories | Northwind",
    "/pricing/": "Pricing | Northwind",
    "/webinars/replay/": "Webinar replays | Northwind",
    "/resources/guide/": "The video marketing guide | Northwind",
}
NONE = "(none)"

# Daily figures, one column each (dense cache of settled cells).
LOADS, UNIQUE_LOADS, PLAYS, UNIQUE_PLAYS, WATCH, PV_SUM, CTA_IMPRESSIONS, CTA_CONVERSIONS, FORMS = range(9)
N_DAILY = 9


@dataclass(frozen=True)
class CellFacts:
    """The loads of one (media, day) visible at a given now: plays first (v1's cell order), then non-play loads."""

    media: int
    day: int
    n_plays: int
    visitor: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int8]
    session_hash: npt.NDArray[np.uint64]  # plays: v1's session hash; non-play loads: their own
    received_ts: npt.NDArray[np.int64]
    percent_viewed: npt.NDArray[np.float64]  # 0 for non-play loads
    cta_impression: npt.NDArray[np.bool_]
    cta_conversion: npt.NDArray[np.bool_]
    form: npt.NDArray[np.bool_]

    @property
    def n_loads(self) -> int:
        return len(self.visitor)

    @property
    def played(self) -> npt.NDArray[np.bool_]:
        out = np.zeros(self.n_loads, dtype=bool)
        out[: self.n_plays] = True
        return out

    def daily(self, duration: float) -> npt.NDArray[np.float64]:
        """The cell's row of the daily figures (column constants above)."""
        out = np.zeros(N_DAILY)
        pv = self.percent_viewed[: self.n_plays]
        out[LOADS] = self.n_loads
        out[UNIQUE_LOADS] = np.unique(self.visitor).size
        out[PLAYS] = self.n_plays
        out[UNIQUE_PLAYS] = np.unique(self.visitor[: self.n_plays]).size
        out[WATCH] = float((pv * duration).sum())  # the same expression and order as truth.cell_stats
        out[PV_SUM] = float(pv.sum())
        out[CTA_IMPRESSIONS] = int(self.cta_impression.sum())
        out[CTA_CONVERSIONS] = int(self.cta_conversion.sum())
        out[FORMS] = int(self.form.sum())
        return out


@dataclass(frozen=True)
class SessionAttrs:
    """The string facts of each load of a `CellFacts`, in the same order."""

    embed_url: list[str]
    utm_source: list[str]
    utm_medium: list[str]
    utm_campaign: list[str]
    referrer_domain: list[str]
    viewer_screen_size: list[str]

    def dimension(self, name: str) -> list[str]:
        values: list[str] = getattr(self, name)
        return values


@dataclass(frozen=True)
class Lead:
    """One form (email gate) conversion: a play whose v1 event has `conversion_type == "pre-roll-email"`."""

    converted_ts: int
    session_hash: int
    first_name: str
    last_name: str
    email: str | None


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small thread-safe LRU (functools' cannot skip caching the unsettled cells)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._d.get(key)
            if value is not None:
                self._d.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


def utm_params(url: str) -> tuple[str, str, str]:
    """utm_source, utm_medium, utm_campaign as Wistia reads them: lowercase keys only, values as sent."""
    found = {"utm_source": NONE, "utm_medium": NONE, "utm_campaign": NONE}
    query = url.partition("?")[2]
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in found and found[key] == NONE and value:
            found[key] = value
    return found["utm_source"], found["utm_medium"], found["utm_campaign"]


def page_of(url: str) -> tuple[str, str, str]:
    """(embed_url without its query, host, path): a location is a page."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}{path}", parts.netloc, path


def page_title(host: str, path: str) -> str:
    """A title per page path (the same for every media)."""
    if host == SITE.partition("://")[2]:
        return PAGE_TITLES.get(path, "Northwind")
    if host.endswith(".wistia.com"):
        return "Northwind Media on Wistia"
    if host == "partner-example.org":
        return "Video reviews | Partner Example"
    return "Community threads | Example Community"


class SessionFacts:
    """Computes and caches the facts of cells; the modern routes ask only this."""

    def __init__(self, account: SyntheticAccount, render: Renderer) -> None:
        self.account = account
        self.catalog = account.catalog
        self.render = render
        self.seed = account.seed
        n = len(self.catalog.medias)
        n_days = self.catalog.first_sync_today - self.catalog.history_start + 1 + 400
        self._settled = np.zeros((n, n_days), dtype=bool)
        self._daily = np.zeros((n, n_days, N_DAILY), dtype=np.float64)
        self._lock = threading.Lock()
        self._facts: _Lru[tuple[int, int, int], CellFacts] = _Lru(4096)
        # Strings weigh more; a client asks a media-day's five traffic views and its embeds one after the other.
        self._attrs: _Lru[tuple[int, int, int], SessionAttrs] = _Lru(1024)
        self._leads: dict[tuple[int, int], list[Lead]] = {}  # settled cells only (small: ~1% of plays)
        self._cta = [self._cta_position(m) for m in self.catalog.medias]
        self._captions = [self._caption_languages(m) for m in self.catalog.medias]

    # ---- per media
    def _cta_position(self, m: Media) -> float | None:
        """Where the media's call to action shows (fraction of the video), None without one.

        A media has a CTA exactly when v1 shows `actions` for it (`Media.has_actions`): one truth for both APIs.
        """
        if not m.has_actions:
            return None
        return 0.3 + 0.6 * mix(m.id, self.seed, _P_CTA_MEDIA) / MASK64

    def _caption_languages(self, m: Media) -> frozenset[str]:
        r = random.Random(mix(m.id, self.seed, _P_CAPTIONS))
        return frozenset({"en", *r.sample(CAPTION_EXTRAS, r.randint(0, 3))})

    def captions(self, media: int) -> frozenset[str]:
        return self._captions[media]

    # ---- cells
    def _key(self, media: int, day: int, now_ts: int) -> tuple[int, int, int]:
        """Cache key: a settled cell is the same at every later now."""
        cell = self.account.cell(media, day)
        return (media, day, -1 if cell.is_settled(now_ts) else now_ts)

    def exists(self, media: int, day: int, now_ts: int) -> bool:
        m = self.catalog.medias[media]
        return self.catalog.history_start <= day <= day_of(now_ts) and day >= m.created_day

    def facts(self, media: int, day: int, now_ts: int) -> CellFacts | None:
        """The cell's loads visible at now; None when the media cannot have any that day."""
        if not self.exists(media, day, now_ts):
            return None
        key = self._key(media, day, now_ts)
        got = self._facts.get(key)
        if got is None:
            got = self._make_facts(media, day, now_ts)
            self._facts.put(key, got)
        return got

    def _make_facts(self, media: int, day: int, now_ts: int) -> CellFacts:
        cat = self.catalog
        m = cat.medias[media]
        cell = self.account.cell(media, day)  # also extends the cohorts to `day`
        vis = np.nonzero(cell.visible_mask(now_ts))[0]
        # Non-play loads: drawn for the whole cell in a fixed order, so the visible prefix never changes.
        n_all = len(cell.nonplay_load_ts)
        rng = np.random.Generator(np.random.PCG64([self.seed, media, day, NONPLAY_TAG]))
        back = np.minimum(rng.geometric(0.22, size=n_all) - 1, COHORT_SPAN_DAYS)
        cohort_day = np.maximum(day - back, cat.history_start)
        first, size = cat.cohort_bounds(cohort_day)
        np_visitor = first + np.minimum((size * rng.random(n_all) ** 1.6).astype(np.int64), size - 1)
        cdf = cat.channel_cdf[media]
        np_channel = np.minimum(np.searchsorted(cdf, rng.random(n_all), side="right"), len(cdf) - 1)
        k = int(np.searchsorted(cell.nonplay_load_ts, now_ts, side="right"))
        np_hash = mix_array(
            np.uint64(pack_session(media, day, 0)) + np.arange(k, dtype=np.uint64), self.seed, _P_NONPLAY_HASH
        )

        p_hash = cell.session_hash[vis]
        p_visitor = cell.visitor[vis]
        pv = cell.percent_viewed[vis]
        cta = self._cta[media]
        impression = pv >= cta if cta is not None else np.zeros(len(vis), dtype=bool)
        click = mix_array(p_hash, self.seed, _P_CTA_CLICK) % np.uint64(10_000) < np.uint64(
            int(CTA_CONVERSION_PROBABILITY * 10_000)
        )
        gate = self.account.identified_mask(p_visitor) < np.uint64(GATE_DRAW)
        form = np.zeros(len(vis), dtype=bool)
        for j in np.nonzero(gate)[0].tolist():
            form[j] = self._replays_form(int(p_hash[j]), vocab.CHANNELS[int(cell.channel[vis[j]])], m)
        n_np = k
        return CellFacts(
            media=media,
            day=day,
            n_plays=len(vis),
            visitor=np.concatenate([p_visitor, np_visitor[:k]]).astype(np.int64),
            channel=np.concatenate([cell.channel[vis], np_channel[:k].astype(np.int8)]),
            session_hash=np.concatenate([p_hash, np_hash]),
            received_ts=np.concatenate([cell.received_ts[vis], cell.nonplay_load_ts[:k]]),
            percent_viewed=np.concatenate([pv, np.zeros(n_np)]),
            cta_impression=np.concatenate([impression, np.zeros(n_np, dtype=bool)]),
            cta_conversion=np.concatenate([impression & click, np.zeros(n_np, dtype=bool)]),
            form=np.concatenate([form, np.zeros(n_np, dtype=bool)]),
        )

    def _event_random(self, session_hash: int, channel: str, m: Media) -> tuple[random.Random, str]:
        """v1's event draws up to the embed URL (payloads.Renderer.event): the generator and the URL."""
        r = random.Random(session_hash)
        r.random()  # blank_geo
        return r, self.render.embed_url(channel, m, r)

    def _replays_form(self, session_hash: int, channel: str, m: Media) -> bool:
        """Whether v1 renders this (email-gate) visitor's event as `pre-roll-email` (its next draw < 0.3)."""
        r, _ = self._event_random(session_hash, channel, m)
        return r.random() < 0.3

    # ---- daily figures
    def daily(self, media: int, first: int, last: int, now_ts: int) -> npt.NDArray[np.float64]:
        """Rows of the daily figures for days first..last (zeros where the media had no loads)."""
        out = np.zeros((last - first + 1, N_DAILY))
        hs = self.catalog.history_start
        duration = self.catalog.medias[media].duration_seconds
        for day in range(first, last + 1):
            if not self.exists(media, day, now_ts):
                continue
            off = day - hs
            cached = off < self._settled.shape[1] and self._settled[media, off]
            if cached:
                out[day - first] = self._daily[media, off]
                continue
            facts = self.facts(media, day, now_ts)
            assert facts is not None
            row = facts.daily(duration)
            out[day - first] = row
            if off < self._settled.shape[1] and self.account.cell(media, day).is_settled(now_ts):
                with self._lock:
                    self._daily[media, off] = row
                    self._settled[media, off] = True
        return out

    def distinct_visitors(self, media: int, first: int, last: int, now_ts: int) -> int:
        """Distinct visitors that loaded the media over days first..last (not additive over days)."""
        seen = [f.visitor for d in range(first, last + 1) if (f := self.facts(media, d, now_ts)) is not None]
        return int(np.unique(np.concatenate(seen)).size) if seen else 0

    # ---- strings
    def attrs(self, facts: CellFacts, now_ts: int) -> SessionAttrs:
        key = self._key(facts.media, facts.day, now_ts)
        got = self._attrs.get(key)
        if got is None:
            got = self._make_attrs(facts)
            self._attrs.put(key, got)
        return got

    def _make_attrs(self, facts: CellFacts) -> SessionAttrs:
        m = self.catalog.medias[facts.media]
        urls, sources, mediums, campaigns, referrers, screens = [], [], [], [], [], []
        for j in range(facts.n_loads):
            h = int(facts.session_hash[j])
            channel = vocab.CHANNELS[int(facts.channel[j])]
            if j < facts.n_plays:
                _, url = self._event_random(h, channel, m)  # exactly the v1 event's embed_url
            else:
                url = self.render.embed_url(channel, m, random.Random(h))
            r = random.Random(mix(h, self.seed, _P_SESSION))
            mobile = self.render.visitor_profile(int(facts.visitor[j])).mobile
            source, medium, campaign = utm_params(url)
            urls.append(url)
            sources.append(sys.intern(source))  # a few dozen distinct values: share them
            mediums.append(sys.intern(medium))
            campaigns.append(sys.intern(campaign))
            referrers.append(referrer_domain(channel, url, mobile, r))
            screens.append(screen_size(mobile, r))
        return SessionAttrs(urls, sources, mediums, campaigns, referrers, screens)

    def language(self, visitor: int) -> str:
        """A visitor's browser language: their country's, with some English and some French-Canadian browsers."""
        country = self.render.visitor_profile(visitor).country
        draw = mix(visitor, self.seed, _P_LANGUAGE) % 100
        if country == "CA" and draw < 25:
            return "fr"
        lang = LANGUAGE_OF_COUNTRY.get(country, "en")
        return "en" if lang != "en" and draw >= 75 else lang

    # ---- leads
    def leads(self, media: int, day: int, now_ts: int) -> list[Lead]:
        """The form conversions of one cell, with the v1 event's conversion_data."""
        facts = self.facts(media, day, now_ts)
        if facts is None or not facts.form.any():
            return []
        settled = self.account.cell(media, day).is_settled(now_ts)
        if settled and (cached := self._leads.get((media, day))) is not None:
            return cached
        out = []
        for j in np.nonzero(facts.form)[0].tolist():
            prof = self.render.visitor_profile(int(facts.visitor[j]))
            first, _, last = (prof.name or "").partition(" ")
            out.append(Lead(int(facts.received_ts[j]), int(facts.session_hash[j]), first, last, prof.email))
        if settled:
            with self._lock:
                self._leads[(media, day)] = out
        return out


def referrer_domain(channel: str, url: str, mobile: bool, r: random.Random) -> str:
    """The referring host a browser would send for a session of `channel` landing on `url`."""
    u = r.random()
    query = url.partition("?")[2].lower()
    if channel == "facebook":
        return "m.facebook.com" if mobile else "l.facebook.com"
    if channel == "youtube":
        return "www.youtube.com"
    if channel == "linkedin":
        return "lnkd.in" if u < 0.3 else "www.linkedin.com"
    if channel == "x":
        return "t.co"
    if channel == "instagram":
        return "l.instagram.com"
    if channel == "email":
        return NONE if u < 0.7 else ("mail.google.com" if u < 0.9 else "outlook.live.com")
    if channel == "search":
        return "www.bing.com" if "msclkid" in query or "bing" in query else "www.google.com"
    if channel == "other":
        host = urlsplit(url).netloc
        if host not in (SITE.partition("://")[2], f"{ACCOUNT_SLUG}.wistia.com"):
            return host  # a partner page: the page itself is the referrer's site
        if "g2" in query:
            return "www.g2.com"
        if "producthunt" in query:
            return "www.producthunt.com"
        return NONE
    return NONE  # direct


def screen_size(mobile: bool, r: random.Random) -> str:
    """small (< 768 px) / medium / large (>= 1280 px): phones mostly small, desktops mostly large."""
    u = r.random()
    if mobile:
        return "small" if u < 0.85 else "medium"
    return "large" if u < 0.6 else ("medium" if u < 0.95 else "small")

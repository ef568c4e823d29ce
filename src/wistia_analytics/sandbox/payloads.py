"""JSON shapes of the Wistia API v1, filled from the synthetic account.

Field names, casing, order and timestamp formats follow the reference (`wistia-api.md`), quirks included:
projects are camelCase, stats are snake_case, `lat`/`lon` are sometimes `""`, `thumbnail` and `actions`
are sometimes missing, `conversion_type` is `""` (rarely an integer), and older sessions use the older key
and timestamp formats.

Rendering is the sandbox's hot path when a client pages through millions of events: a visitor's profile is
drawn with scalar arithmetic (no one-element numpy calls) and a media's thumbnail digits are computed once.
Only plain values are cached; every payload is a fresh dict (fault injection edits them). A per-visitor cache
was measured and left out: ~10% faster for ~35 MB at the large size (visitors recur over a month).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import numpy as np

from wistia_analytics.sandbox import vocab
from wistia_analytics.sandbox.keys import event_key, mix, visitor_hash, visitor_key
from wistia_analytics.sandbox.media_catalog import Media, Project
from wistia_analytics.sandbox.truth import EventRef, SyntheticAccount, VisitorTable, day_of

Json = dict[str, Any]
ACCOUNT_SLUG = "northwind-media"
SITE = "https://www.northwind-example.com"


def iso_stats(ts: int, legacy: bool = False) -> str:
    """Stats API timestamps: `2025-10-17T17:24:53.000Z` (legacy: `2014-01-27T22:42:53Z`)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ" if legacy else "%Y-%m-%dT%H:%M:%S.000Z")


def iso_data(ts: int) -> str:
    """Data API timestamps: `2013-09-19T15:05:15+00:00`."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _token(r: random.Random, n: int = 12) -> str:
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))


def _hex(r: random.Random, n: int = 40) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


@dataclass(frozen=True)
class VisitorProfile:
    """Who a visitor is: stable across all their sessions."""

    name: str | None
    email: str | None
    org_name: str | None
    org_title: str | None
    by_email_gate: bool
    country: str
    region: str
    city: str
    lat: float
    lon: float
    ip: str
    isp: str
    browser: str
    browser_version: str
    platform: str
    mobile: bool


_COUNTRY_CDF = np.cumsum([w for _, w, _ in vocab.COUNTRIES])
_DEVICE_CDF = np.cumsum([d[4] for d in vocab.DEVICES])
# The same cumulative weights as Python floats: bisect_left on them is np.searchsorted(side="left") on a scalar.
_COUNTRY_CUM = [float(x) for x in _COUNTRY_CDF]
_DEVICE_CUM = [float(x) for x in _DEVICE_CDF]


class Renderer:
    """Turns account facts into API payloads."""

    def __init__(self, account: SyntheticAccount) -> None:
        self.account = account
        self.catalog = account.catalog
        self.seed = account.seed
        self.public_token = _hex(random.Random(self.seed * 7 + 1), 32)
        self._thumbnails: dict[int, str] = {}

    # ---- data API
    def project_ref(self, p: Project) -> Json:
        return {"id": p.id, "name": p.name, "hashed_id": p.hashed_id}

    def media(self, m: Media, *, with_assets: bool = True) -> Json:
        r = random.Random(m.id)
        thumb = _hex(r)  # then more draws from r for the assets: not the cached thumbnail_hex
        body: Json = {
            "id": m.id,
            "name": m.name,
            "type": "Video",
            "archived": m.archived,
            "created": iso_data(m.created_ts),
            "updated": iso_data(m.updated_ts),
            "duration": m.duration_seconds,
            "hashed_id": m.hashed_id,
            "description": f"<p>{m.name}</p>",
            "progress": 1.0,
            "status": "ready",
            "thumbnail": {
                "url": f"https://embed-ssl.wistia.com/deliveries/{thumb}.jpg?image_crop_resized=200x120",
                "width": 200,
                "height": 120,
            },
        }
        if with_assets:
            body["project"] = self.project_ref(self.catalog.projects[m.project])
            body["assets"] = [
                {
                    "url": f"https://embed-ssl.wistia.com/deliveries/{_hex(r)}.bin",
                    "width": w,
                    "height": h,
                    "fileSize": int(m.duration_seconds * rate),
                    "contentType": ctype,
                    "type": kind,
                }
                for kind, ctype, w, h, rate in (
                    ("OriginalFile", "video/quicktime", 1920, 1080, 620_000),
                    ("Mp4VideoFile", "video/mp4", 1280, 720, 180_000),
                    ("IphoneVideoFile", "video/mp4", 640, 360, 90_000),
                    ("StillImageFile", "image/jpeg", 1280, 720, 0),
                )
            ]
            body["tags"] = [{"name": t} for t in m.tags]
            body["subfolder"] = None
        return body

    def project(self, p: Project, medias: list[Media] | None = None) -> Json:
        members = [m for m in self.catalog.medias if m.project == p.index]
        updated = max([p.created_ts, *(m.updated_ts for m in members)])
        body: Json = {
            "id": p.id,
            "name": p.name,
            "description": p.description,
            "mediaCount": len(members),
            "created": iso_data(p.created_ts),
            "updated": iso_data(updated),
            "hashedId": p.hashed_id,
            "anonymousCanUpload": False,
            "anonymousCanDownload": False,
            "public": p.public,
            "publicId": p.hashed_id if p.public else None,
        }
        if medias is not None:
            body["medias"] = [self.media(m, with_assets=False) for m in medias]
        return body

    def account_info(self) -> Json:
        return {
            "id": 900_000 + self.seed % 100_000,
            "name": "Northwind Media (sandbox)",
            "url": f"https://{ACCOUNT_SLUG}.wistia.com",
            "mediaCount": len(self.catalog.medias),
            "videoLimit": 10_000,
            "projectCount": len(self.catalog.projects),
            "channelCount": 0,
        }

    # ---- visitors
    def visitor_profile(self, visitor: int) -> VisitorProfile:
        return self._draw_profile(visitor, self.catalog.cohort_of(visitor))

    def _visitor_parts(self, visitor: int) -> tuple[VisitorProfile, str]:
        """Profile and key of a visitor (one cohort lookup for both)."""
        cohort = self.catalog.cohort_of(visitor)
        return self._draw_profile(visitor, cohort), self._visitor_key(visitor, cohort)

    def _draw_profile(self, visitor: int, cohort: int | None) -> VisitorProfile:
        h = visitor_hash(visitor, self.seed)
        r = random.Random(h)
        draw = mix(visitor, self.seed, 6) % 100  # == account.identified_mask([visitor])[0], without numpy
        identified, has_email, gate = draw < 14, draw < 12, draw < 8
        first, last = r.choice(vocab.FIRST_NAMES), r.choice(vocab.LAST_NAMES)
        company = r.choice(vocab.COMPANIES)
        domain = company.lower().replace(" ", "") + ".example"
        legacy = cohort is not None and cohort < self.catalog.cutover_day  # is_legacy_visitor
        name: str | None = f"{first} {last}" if identified else (None if legacy else "")
        ci = min(bisect.bisect_left(_COUNTRY_CUM, r.random() * _COUNTRY_CUM[-1]), len(vocab.COUNTRIES) - 1)
        country, _, places = vocab.COUNTRIES[ci]
        region, city, lat, lon = r.choice(places)
        di = min(bisect.bisect_left(_DEVICE_CUM, r.random() * _DEVICE_CUM[-1]), len(vocab.DEVICES) - 1)
        browser, version, platform, mobile, _ = vocab.DEVICES[di]
        return VisitorProfile(
            name=name,
            email=f"{first}.{last}{h % 97}@{domain}".lower() if has_email else None,
            org_name=company if identified else None,
            org_title=r.choice(vocab.TITLES) if identified else None,
            by_email_gate=gate,
            country=country,
            region=region,
            city=city,
            lat=round(lat + r.uniform(-0.2, 0.2), 4),
            lon=round(lon + r.uniform(-0.2, 0.2), 4),
            ip=f"{r.choice((24, 50, 64, 73, 81, 98, 109, 151, 186, 203))}.{r.randint(0, 255)}."
            f"{r.randint(0, 255)}.{r.randint(1, 254)}",
            isp=r.choice(vocab.ORGS),
            browser=browser,
            browser_version=version,
            platform=platform,
            mobile=mobile,
        )

    def is_legacy_visitor(self, visitor: int) -> bool:
        cohort = self.catalog.cohort_of(visitor)
        return cohort is not None and cohort < self.catalog.cutover_day

    def visitor_key(self, visitor: int) -> str:
        return self._visitor_key(visitor, self.catalog.cohort_of(visitor))

    def _visitor_key(self, visitor: int, cohort: int | None) -> str:
        day = cohort or self.catalog.history_start
        return visitor_key(visitor, self.account.day_start(day), day >= self.catalog.cutover_day, self.seed)

    def thumbnail_hex(self, m: Media) -> str:
        """The 40 hex digits of a media's still image (the first draws of `Random(media id)`), cached."""
        thumb = self._thumbnails.get(m.id)
        if thumb is None:
            thumb = self._thumbnails[m.id] = _hex(random.Random(m.id))
        return thumb

    def key_for_session(self, session_hash: int, received_ts: int) -> str:
        return event_key(session_hash, received_ts, day_of(received_ts) >= self.catalog.cutover_day, self.seed)

    def visitor(self, visitor: int, table: VisitorTable, *, listing: bool) -> Json:
        prof = self.visitor_profile(visitor)
        h = visitor_hash(visitor, self.seed)
        legacy = self.is_legacy_visitor(visitor)
        plays = int(table.plays[visitor])
        first_ts, last_ts = int(table.first_ts[visitor]), int(table.last_ts[visitor])
        body: Json = {
            "visitor_key": self.visitor_key(visitor),
            "created_at": iso_stats(first_ts - h % 7200, legacy),
            "last_active_at": iso_stats(last_ts, legacy),
            "last_event_key": self.key_for_session(int(table.last_hash[visitor]), last_ts),
            "load_count": plays + (h >> 8) % 3,
            "play_count": plays,
        }
        if listing:
            body["identifying_event_key"] = (
                self.key_for_session(int(table.first_hash[visitor]), first_ts) if prof.by_email_gate else None
            )
        body["visitor_identity"] = {
            "name": prof.name,
            "email": prof.email,
            "org": {"name": prof.org_name, "title": prof.org_title},
        }
        body["user_agent_details"] = {
            "browser": prof.browser,
            "browser_version": prof.browser_version,
            "platform": prof.platform,
            "mobile": prof.mobile,
        }
        return body

    # ---- events
    def embed_url(self, channel: str, m: Media, r: random.Random) -> str:
        if channel == "other" and r.random() < 0.4:
            return f"{r.choice(vocab.PARTNER_HOSTS)}/{m.hashed_id}"
        if channel == "direct" and r.random() < 0.25:
            return f"https://{ACCOUNT_SLUG}.wistia.com/medias/{m.hashed_id}"
        page = f"{SITE}/{r.choice(vocab.SITE_PATHS)}".rstrip("/") + "/"
        query = r.choice(vocab.CHANNEL_QUERY_VARIANTS[channel])
        if not query:
            return page
        query = query.replace("{campaign}", quote(r.choice(vocab.CAMPAIGNS))).replace("{token}", _token(r))
        return f"{page}?{query}"

    def event(self, ref: EventRef) -> Json:
        c, i = ref.cell, ref.index
        m = self.catalog.medias[c.media]
        h = int(c.session_hash[i])
        ts = int(c.received_ts[i])
        legacy = c.day < self.catalog.cutover_day
        r = random.Random(h)
        visitor = int(c.visitor[i])
        prof, visitor_key_ = self._visitor_parts(visitor)
        key = self.key_for_session(h, ts)
        blank_geo = r.random() < 0.03
        body: Json = {
            "received_at": iso_stats(ts, legacy),
            "event_key": key,
            "ip": prof.ip,
            "country": prof.country,
            "region": prof.region,
            "city": prof.city,
            "lat": "" if blank_geo else prof.lat,
            "lon": "" if blank_geo else prof.lon,
            "org": prof.isp,
            "email": prof.email,
            "percent_viewed": float(c.percent_viewed[i]),
            "embed_url": self.embed_url(vocab.CHANNELS[int(c.channel[i])], m, r),
            "conversion_type": "",
            "conversion_data": {},
        }
        if prof.by_email_gate and r.random() < 0.3 and prof.name:
            first, _, last = prof.name.partition(" ")
            body["conversion_type"] = "pre-roll-email"
            body["conversion_data"] = {"email": prof.email, "first_name": first, "last_name": last}
        elif r.random() < 0.003:
            body["conversion_type"] = 2  # the spec allows an integer here
        body["iframe_heatmap_url"] = (
            f"https://api.wistia.com/v1/stats/events/{key}/iframe.html?public_token={self.public_token}"
        )
        body["visitor_key"] = visitor_key_
        if not legacy:
            body["user_agent_details"] = {
                "browser": prof.browser,
                "browser_version": prof.browser_version,
                "platform": prof.platform,
                "mobile": prof.mobile,
            }
        body["media_id"] = m.hashed_id
        body["media_name"] = m.name
        body["media_url"] = f"https://{ACCOUNT_SLUG}.wistia.com/medias/{m.hashed_id}"
        if r.random() < (0.95 if legacy else 0.35):
            body["thumbnail"] = {
                "url": f"https://embed-ssl.wistia.com/deliveries/{self.thumbnail_hex(m)}.bin",
                "width": 640,
                "height": 360,
                "fileSize": 30_000 + m.id % 20_000,
                "contentType": "image/jpeg",
                "type": "StillImageFile",
            }
        return body

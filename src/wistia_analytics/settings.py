"""Settings from the environment and an optional ``.env`` file.

One object, read once per command. The token is a ``SecretStr`` so that printing the settings, logging
them or putting them in an exception never shows it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wistia_analytics.errors import ConfigurationError, PlaceholderSettingError

REAL_API_URL = "https://api.wistia.com/v1"
# The newest version of the modern Data API our reference describes (wistia-modern-api.md: 2026.03.0 stable).
NEWEST_API_VERSION = "2026-03"
# The group_by dimensions of the modern traffic endpoint (repeated from contracts/streams.py, which sits below
# this module and is what ingestion uses; a test keeps the two equal).
TRAFFIC_DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign", "referrer_domain", "viewer_screen_size")
# The built-in sandbox's sizes (`sandbox.config.SizeName`; the sandbox sits above this module, so they are
# repeated here and a test keeps the two equal).
SANDBOX_SIZES = ("empty", "tiny", "small", "medium", "large")
# What a value copied unchanged from `.env.example` (or a tutorial) looks like: `<...>`, `your-...`, `changeme`.
_PLACEHOLDER = re.compile(r"^\s*(<.*>|your[-_ ].*|change[-_ ]?me|xxx+|todo|replace[-_ ]?me)\s*$", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """True for values that are obviously a template's placeholder rather than a real setting."""
    return bool(_PLACEHOLDER.match(value))


class Settings(BaseSettings):
    """Every setting the product reads; `.env.example` lists them all."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    wistia_api_token: SecretStr | None = Field(
        default=None, description="Wistia API token (Account Settings -> API). Unset: use the sandbox."
    )
    wistia_api_url: str = Field(default=REAL_API_URL, description="Base URL of the Wistia API v1.")
    wistia_modern_api_url: str | None = Field(
        default=None,
        description="Root of Wistia's modern Data API; unset: WISTIA_API_URL with its /v1 replaced by /modern.",
    )
    wistia_api_version: str = Field(
        default=NEWEST_API_VERSION,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="X-Wistia-API-Version (YYYY-MM) sent on every modern API request.",
    )
    ingest_analytics: bool = Field(
        default=True,
        description="Ingest the modern API analytics streams (false: v1 only, for tokens lacking Read detailed stats).",
    )
    ingest_analytics_backfill_days: int = Field(
        default=30,
        ge=1,
        le=730,
        description="History the first run fetches for the per-day analytics streams (traffic, embeds, timeseries).",
    )
    ingest_traffic_dimensions: str = Field(
        default=",".join(TRAFFIC_DIMENSIONS),
        description="Comma-separated group_by dimensions of the traffic stream; each costs one request per media-day.",
    )
    lake_uri: str = Field(default="./lake", description="Root of the lake: a local folder or s3://bucket/prefix.")
    wistia_requests_per_minute: int = Field(
        default=600, ge=1, description="Client-side pacing budget; Wistia allows 600 requests/minute/account."
    )
    wistia_request_deadline_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Total time one API request attempt may take, from sending to the body's last byte (retried).",
    )
    wistia_max_response_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest decompressed API response body; a bigger one fails that request (not retried).",
    )
    wistia_max_pages: int = Field(
        default=100_000,
        ge=1,
        description="Most pages of one paged list before it counts as endless (the stream fails, never loops).",
    )
    log_format: str = Field(default="text", pattern="^(text|json)$", description="Log output: text or json.")
    ingest_lookback_days: int = Field(
        default=3, ge=0, description="Days re-fetched before each watermark, for late-arriving events."
    )
    ingest_backfill_days: int = Field(
        default=90, ge=1, le=730, description="History the first run fetches (events and daily stats)."
    )
    ingest_concurrency: int = Field(
        default=4, ge=1, le=16, description="Requests in flight at once (all share the pacing budget)."
    )
    sandbox_size: str = Field(
        default="small",
        pattern=f"^({'|'.join(SANDBOX_SIZES)})$",
        description="Account size of the built-in sandbox.",
    )
    sandbox_seed: int = Field(default=42, description="Seed of the built-in sandbox's synthetic account.")
    hash_visitor_identity: bool = Field(
        default=False, description="Replace visitor names and emails by md5 hashes in Silver and Gold."
    )
    channel_site_hosts: str = Field(
        default="",
        description="Comma-separated hosts of your own site: untagged views there count as direct, elsewhere as other.",
    )
    duckdb_memory_limit: str | None = Field(
        default=None, description="Memory cap for the embedded engine, e.g. 4GB (DuckDB spills to disk beyond it)."
    )
    transform_max_quarantine_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A stream whose share of quarantined records in one transform run exceeds this fails the run "
        "as schema drift (exit 6): nothing of that table is published.",
    )
    transform_quarantine_min_records: int = Field(
        default=20, ge=1, description="The schema-drift share applies only to runs reading at least this many records."
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="Where alerts are POSTed (Slack-compatible JSON); a secret, since webhook URLs embed one.",
    )
    alert_stale_after_hours: float = Field(
        default=6.0, gt=0, description="Alert when the last finished ingestion or transform is older than this."
    )

    @field_validator("wistia_api_token", mode="before")
    @classmethod
    def _no_placeholder_token(cls, value: object) -> object:
        """`.env.example` copied to `.env` unchanged must not make `<your-wistia-api-token>` a token."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and is_placeholder(value):
            raise PlaceholderSettingError(
                "WISTIA_API_TOKEN",
                "put your Wistia API token there (Wistia: Account Settings -> API), or delete the line to run "
                "on the built-in sandbox",
            )
        return value

    @field_validator("ingest_traffic_dimensions")
    @classmethod
    def _known_dimensions(cls, value: str) -> str:
        names = [v.strip() for v in value.split(",") if v.strip()]
        unknown = sorted(set(names) - set(TRAFFIC_DIMENSIONS))
        if unknown:
            raise ValueError(f"unknown dimensions {unknown}; choose from {', '.join(TRAFFIC_DIMENSIONS)}")
        return ",".join(dict.fromkeys(names))

    @property
    def traffic_dimensions(self) -> tuple[str, ...]:
        """INGEST_TRAFFIC_DIMENSIONS as a tuple, in the order given (may be empty: no traffic requests)."""
        return tuple(v for v in self.ingest_traffic_dimensions.split(",") if v)

    @property
    def modern_api_url(self) -> str:
        """WISTIA_MODERN_API_URL, or the v1 URL's root with `/modern` (`http://h:p/v1` -> `http://h:p/modern`)."""
        if self.wistia_modern_api_url:
            return self.wistia_modern_api_url.strip().rstrip("/")
        return modern_url_for(self.wistia_api_url)

    @field_validator("alert_webhook_url", mode="before")
    @classmethod
    def _blank_webhook_is_unset(cls, value: object) -> object:
        """`ALERT_WEBHOOK_URL=` (as copied from `.env.example`) means no webhook, not an empty URL."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def uses_real_api(self) -> bool:
        """True when a token is set and the URL is Wistia's own."""
        return self.wistia_api_token is not None and self.wistia_api_url.rstrip("/") == REAL_API_URL


def modern_url_for(v1_url: str) -> str:
    """The modern Data API's root beside a v1 root: a trailing `/v1` becomes `/modern` (else `/modern` is added)."""
    base = v1_url.strip().rstrip("/")
    return (base.removesuffix("/v1") if base.endswith("/v1") else base) + "/modern"


def load_settings(**overrides: Any) -> Settings:
    """`Settings()` for a command: a bad value becomes one `ConfigurationError` naming the variable.

    Input values are never echoed (some settings are secrets); the message says which variable is wrong and why.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, ConfigurationError):
                problems.append(str(cause))
            else:
                problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError("; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build `Settings(...)` directly instead)."""
    return Settings()

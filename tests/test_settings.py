"""Settings: sandbox sizes agree with the sandbox's, placeholders are refused, bad values name their variable."""

from __future__ import annotations

from typing import get_args

import pytest

from wistia_analytics.contracts.streams import TRAFFIC_DIMENSIONS
from wistia_analytics.errors import ConfigurationError, PlaceholderSettingError
from wistia_analytics.sandbox.config import SIZES, SizeName
from wistia_analytics.settings import SANDBOX_SIZES, Settings, is_placeholder, load_settings
from wistia_analytics.settings import TRAFFIC_DIMENSIONS as SETTINGS_DIMENSIONS


def test_sandbox_sizes_are_the_sandbox_s() -> None:
    assert get_args(SizeName) == SANDBOX_SIZES
    assert set(SANDBOX_SIZES) == set(SIZES)
    for size in SANDBOX_SIZES:
        assert Settings(sandbox_size=size).sandbox_size == size


@pytest.mark.parametrize(
    "value", ["<your-wistia-api-token>", "<token>", "your-token", "YOUR_TOKEN", "changeme", "change-me", "xxxx"]
)
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)
    with pytest.raises(PlaceholderSettingError, match="WISTIA_API_TOKEN still holds a placeholder"):
        Settings(wistia_api_token=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["tok-9f3c1a7e5b2d4c6e8a0b", "sandbox-token", "abc", "yourstoken1"])
def test_real_looking_tokens_pass(value: str) -> None:
    assert not is_placeholder(value)
    assert Settings(wistia_api_token=value).wistia_api_token is not None  # type: ignore[arg-type]


def test_a_bad_value_names_its_variable_and_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_CONCURRENCY", "many-secret-ish")
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith("INGEST_CONCURRENCY: ")
    assert "many-secret-ish" not in str(info.value)


def test_the_analytics_defaults_a_user_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs with a shorter analytics window (tests/conftest.py); a user's defaults are these."""
    for name in ("INGEST_ANALYTICS_BACKFILL_DAYS", "INGEST_TRAFFIC_DIMENSIONS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.ingest_analytics is True
    assert settings.ingest_analytics_backfill_days == 30
    assert settings.traffic_dimensions == TRAFFIC_DIMENSIONS == SETTINGS_DIMENSIONS
    assert settings.wistia_api_version == "2026-03"
    assert settings.modern_api_url == "https://api.wistia.com/modern"


@pytest.mark.parametrize(
    ("v1", "modern"),
    [
        ("http://127.0.0.1:8765/v1", "http://127.0.0.1:8765/modern"),
        ("http://127.0.0.1:8765/v1/", "http://127.0.0.1:8765/modern"),
        ("https://proxy.example.com/wistia", "https://proxy.example.com/wistia/modern"),
    ],
)
def test_the_modern_root_is_derived_from_the_v1_root_unless_set(v1: str, modern: str) -> None:
    assert Settings(_env_file=None, wistia_api_url=v1).modern_api_url == modern  # type: ignore[call-arg]
    given = Settings(_env_file=None, wistia_api_url=v1, wistia_modern_api_url="https://m.example.com/modern/")  # type: ignore[call-arg]
    assert given.modern_api_url == "https://m.example.com/modern"


def test_traffic_dimensions_and_version_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_TRAFFIC_DIMENSIONS", " utm_source , utm_source,referrer_domain")
    assert load_settings(_env_file=None).traffic_dimensions == ("utm_source", "referrer_domain")
    monkeypatch.setenv("INGEST_TRAFFIC_DIMENSIONS", "utm_source,device")
    with pytest.raises(ConfigurationError, match=r"INGEST_TRAFFIC_DIMENSIONS: .*unknown dimensions \['device'\]"):
        load_settings(_env_file=None)
    monkeypatch.delenv("INGEST_TRAFFIC_DIMENSIONS")
    monkeypatch.setenv("WISTIA_API_VERSION", "2026-3")
    with pytest.raises(ConfigurationError, match="WISTIA_API_VERSION"):
        load_settings(_env_file=None)

"""Settings: sandbox sizes agree with the sandbox's, placeholders are refused, bad values name their variable."""

from __future__ import annotations

from typing import get_args

import pytest

from wistia_analytics.errors import ConfigurationError, PlaceholderSettingError
from wistia_analytics.sandbox.config import SIZES, SizeName
from wistia_analytics.settings import SANDBOX_SIZES, Settings, is_placeholder, load_settings


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

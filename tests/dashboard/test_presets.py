"""The date presets: defined once, ending on Gold's last day, offered by the page and pre-ranked by the speed layer."""

from __future__ import annotations

from datetime import date

import pytest

from wistia_analytics.dashboard import app
from wistia_analytics.dashboard.presets import CUSTOM, DEFAULT_PRESET, PRESET_DAYS, PRESET_LABELS, preset_range

FIRST, LAST = date(2025, 1, 1), date(2026, 11, 25)


@pytest.mark.parametrize(
    ("preset", "start"),
    [
        ("7d", date(2026, 11, 19)),
        ("30d", date(2026, 10, 27)),
        ("90d", date(2026, 8, 28)),
        ("365d", date(2025, 11, 26)),
        ("all", FIRST),
    ],
)
def test_every_preset_ends_on_the_last_day_with_data(preset: str, start: date) -> None:
    assert preset_range(preset, FIRST, LAST) == (start, LAST)


def test_custom_and_unknown_presets_fall_back_to_the_default() -> None:
    default = preset_range(DEFAULT_PRESET, FIRST, LAST)
    assert preset_range(CUSTOM, FIRST, LAST) == default
    assert preset_range("13d", FIRST, LAST) == default
    assert default == (date(2026, 10, 27), LAST)


def test_the_page_offers_every_preset_then_custom() -> None:
    assert list(PRESET_LABELS) == [*PRESET_DAYS, CUSTOM]
    assert DEFAULT_PRESET in PRESET_DAYS
    options, default = app.URL_CHOICES["range"]
    assert options == tuple(PRESET_LABELS) and default == DEFAULT_PRESET

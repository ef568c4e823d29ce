"""The page's date presets, defined once: the sidebar offers them and the speed layer pre-ranks them.

Every preset ends on Gold's last day with data (not the wall clock), so a shared view stays stable and its last
day is whole when Gold is.
"""

from __future__ import annotations

from datetime import date, timedelta

# preset -> days it covers, ending on the last day (None: all time)
PRESET_DAYS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
CUSTOM = "custom"  # a range the reader picks: not a preset, but one of the page's choices
PRESET_LABELS: dict[str, str] = {
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "365d": "365 days",
    "all": "All time",
    CUSTOM: "Custom",
}
DEFAULT_PRESET = "30d"


def preset_range(preset: str, first_day: date, last_day: date) -> tuple[date, date]:
    """The days a preset covers in a Gold spanning [first_day, last_day] (an unknown one: the default's)."""
    days = PRESET_DAYS.get(preset, PRESET_DAYS[DEFAULT_PRESET])
    if days is None:
        return first_day, last_day
    return last_day - timedelta(days=days - 1), last_day

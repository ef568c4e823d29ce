"""How the page writes figures: watch time, KPI values and their changes."""

from __future__ import annotations

import string

from wistia_analytics.dashboard.formatting import format_change, format_hours, format_kpi, plain_markdown
from wistia_analytics.dashboard.metrics import Kpi


def test_formatting() -> None:
    assert [format_hours(s) for s in (0, 10, 445, 3600 * 1.25, 3600 * 1234.4, None)] == [
        "0 h",
        "10 s",
        "7.4 min",
        "1.2 h",
        "1,234 h",
        "—",
    ]
    assert format_change(Kpi("engagement", "Engagement Rate", "ratio", 0.5, 0.50001)) == "+0.0 pp"
    assert format_change(Kpi("plays", "Total Plays", "count", 99999, 100000)) == "+0.0%"
    count = Kpi("plays", "Total Plays", "count", 12345, None)
    rate = Kpi("play_rate", "Play Rate", "ratio", 0.5, 0.25)
    assert (format_kpi(count), format_kpi(rate), format_change(rate), format_change(count)) == (
        "12,345",
        "50.0%",
        "+25.0 pp",
        None,
    )


def test_plain_markdown_escapes_every_punctuation_character_and_breaks_autolinks() -> None:
    name = "[click](http://evil.example/x) ![img](http://127.0.0.1:9/p.png) <b>bold</b> *em*\n# head | x"
    escaped = plain_markdown(name)
    assert "\n" not in escaped
    unescaped = escaped.replace("\u2060", "")
    chars = iter(unescaped)
    for char in chars:  # every punctuation character escaped, none left bare
        assert char not in string.punctuation or (char == "\\" and next(chars) in string.punctuation), char
    assert "http\u2060\\:" in escaped and "www\u2060\\." in plain_markdown("www.evil.example")
    assert "a\u2060\\@b" in plain_markdown("a@b.example")
    assert plain_markdown("Launch 2026") == "Launch 2026"

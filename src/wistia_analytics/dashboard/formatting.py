"""Display formatting of the page's figures: counts, durations, rates and their changes, one way everywhere.

And `plain_markdown`: text from the API (media, project and visitor names, emails, URLs) or the lake is hostile;
it is shown by widgets that show plain text (`st.text`, dataframe cells, selectbox/multiselect options: only
their labels are Markdown; Altair legends and tooltips), and wherever text must enter Markdown (`st.caption`,
`st.markdown`, `st.info`...) it goes through this one helper, so a link, an image, HTML or emphasis shows as
the literal text.
"""

from __future__ import annotations

import math
import re
import string

from wistia_analytics.dashboard.metrics import Kpi

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"\s+")
# GFM turns bare URLs and emails into links after escapes are resolved: a word joiner (U+2060, invisible) after
# the scheme or `www` and before `@` keeps them text
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www|xmpp)(?=\\?[:.])|(?=\\@)")


def plain_markdown(text: object) -> str:
    """`text` as Markdown that renders literally: every ASCII punctuation character backslash-escaped (CommonMark
    allows each; this covers links, images, HTML, emphasis, code, tables, headings, lists and Streamlit's
    `:color[...]` and `$math$`), line breaks folded into spaces (no new block starts inside it), and bare URLs
    and emails kept from becoming links by an invisible word joiner (the one character added)."""
    escaped = _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(text)))
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + "\u2060", escaped)


def format_hours(seconds: float | None) -> str:
    """Watch time for people: minutes under an hour, then hours (docs/metrics.md: Σ seconds / 3600)."""
    if seconds is None or math.isnan(seconds):
        return "—"
    hours = seconds / 3600
    if hours == 0:
        return "0 h"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if hours >= 100:
        return f"{hours:,.0f} h"
    if hours >= 1:
        return f"{hours:,.1f} h"
    return f"{seconds / 60:,.1f} min"


def format_kpi(kpi: Kpi) -> str:
    if kpi.value is None:
        return "—"
    if kpi.kind == "ratio":
        return f"{kpi.value:.1%}"
    if kpi.kind == "seconds":
        return format_hours(kpi.value)
    return f"{kpi.value:,.0f}"


def format_change(kpi: Kpi) -> str | None:
    """`+12.5%` for counts and durations, `-8.3 pp` (percentage points) for rates; None when unknown."""
    change = kpi.change
    if change is None:
        return None
    points = round(change * 100, 1) + 0.0  # + 0.0: no "-0.0"
    return f"{points:+.1f} pp" if kpi.kind == "ratio" else f"{points:+.1f}%"

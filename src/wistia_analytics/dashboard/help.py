"""KPI definitions for the dashboard, word for word from `docs/metrics.md`.

`METRICS_MD` below is the text of `docs/metrics.md`, generated (a test checks they are identical; after
editing the doc, run `python -m wistia_analytics.dashboard.help` from the repository root to regenerate it).
The tooltips and the help panel quote its cells and sections; nothing here is written by hand.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# ruff: noqa: RUF001 - the generated text keeps the doc's mathematical symbols as they are

# KPI key used by the query module -> the KPI's name in docs/metrics.md
KPI_NAMES: dict[str, str] = {
    "plays": "Total Plays",
    "loads": "Total Loads",
    "play_rate": "Play Rate",
    "watch_time": "Total Watch Time",
    "engagement": "Engagement Rate",
    "unique_visitors": "Unique Visitors",
}

# --- generated from docs/metrics.md by `python -m wistia_analytics.dashboard.help`; do not edit ---
METRICS_MD = (
    "# Metrics: every KPI, defined once\n"
    "\n"
    "The dashboard, Athena queries and the Gold SQL "
    "(`src/wistia_analytics/transform/sql/gold_*.sql`) follow these\n"
    "definitions; the tables and columns are specified in `docs/models.md`. A day is a UTC calendar "
    "day\n"
    "(`activity_date`): for an event, the UTC date of `received_at`; for an official figure, the "
    "`date` of Wistia's\n"
    "`by_date` row.\n"
    "\n"
    "## Two sources, and why each KPI uses the one it does\n"
    "- **Official** — Wistia's own daily counters, `GET /stats/medias/{id}/by_date` "
    "(`silver_media_daily_stats`). The\n"
    "  only source of loads (a load without a play leaves no event); they match what Wistia shows "
    "its users and keep\n"
    "  counting sessions the events list no longer returns (older than 730 days). They exist **per "
    "media and day\n"
    "  only**.\n"
    "- **Events** — one row per viewing session that started playback, `GET /stats/events` "
    "(`silver_events`). The\n"
    "  only source that carries a visitor, a channel (from `embed_url`) and the percent viewed of "
    "each session, so the\n"
    "  only source of engagement, unique visitors and every per-visitor or per-channel view. Figures "
    "derived from\n"
    '  events are labelled "(from events)" wherever an official figure of the same name exists.\n'
    "\n"
    "## KPIs\n"
    "\n"
    "| KPI | definition (one day, one media) | Gold column | source |\n"
    "|---|---|---|---|\n"
    "| **Total Loads** | times the player loaded | `loads` | official: `by_date.load_count` |\n"
    "| **Total Plays** | sessions that started playback | `plays` | official: `by_date.play_count` |\n"
    "| **Play Rate** | Total Plays / Total Loads; NULL when Total Loads = 0 | `play_rate` | official "
    "|\n"
    "| **Total Watch Time** | time watched, in seconds | `watch_time_seconds` | official: "
    "`by_date.hours_watched` × 3600 |\n"
    "| **Engagement Rate** | mean fraction of the video viewed per session = `percent_viewed_sum` / "
    "`event_plays`; NULL when there are no events | `engagement_rate` | events: `percent_viewed` |\n"
    "| **Unique Visitors** | distinct `visitor_key` among the sessions | `unique_visitors` | events: "
    "`visitor_key` |\n"
    "\n"
    "Event-derived companions (same slice, from events): `event_plays` = number of events,\n"
    "`event_watch_seconds` = Σ `watch_seconds`, `percent_viewed_sum` = Σ `percent_viewed`. In\n"
    "`gold_visitor_media_daily` and `gold_media_channel_daily`, `plays` and `watch_time_seconds` are "
    "these\n"
    "event-derived figures (the official ones do not exist per visitor or channel), and "
    "`avg_percent_viewed` is the\n"
    "Engagement Rate of one visitor. `gold_account_daily.active_medias` = medias with `plays` > 0 or\n"
    "`event_plays` > 0 that day.\n"
    "\n"
    "**Retention** (`gold_media_engagement_curve`, from `GET /stats/medias/{id}/engagement`, "
    "lifetime only, no date):\n"
    "`retention` = `viewers` of a bucket / `viewers` of the media's first bucket (NULL when that is "
    "0), at\n"
    "`position_fraction` = `bucket_index` / `bucket_count` of the video.\n"
    "\n"
    "## Over a date range and a media selection\n"
    "Filter the rows (`activity_date` in the range, `media_id` in the selection), sum the additive "
    "columns, then\n"
    "divide. A ratio is never averaged across days, medias, channels or visitors.\n"
    "\n"
    "| KPI | over a range and selection | table |\n"
    "|---|---|---|\n"
    "| Total Loads, Total Plays, Total Watch Time | Σ `loads`, Σ `plays`, Σ `watch_time_seconds` | "
    "`gold_media_daily` (`gold_account_daily` for all medias) |\n"
    "| Play Rate | Σ `plays` / Σ `loads` (NULL when Σ `loads` = 0) — never the mean of daily rates | "
    "same |\n"
    "| Engagement Rate | Σ `percent_viewed_sum` / Σ `event_plays` (NULL when Σ `event_plays` = 0); "
    "per channel or visitor Σ `percent_viewed_sum` / Σ `plays` of that table | the table of the view "
    "|\n"
    "| Unique Visitors | count(DISTINCT `visitor_key`) over the filtered rows of "
    "`gold_visitor_media_daily` — never a sum of daily or per-media counts | "
    "`gold_visitor_media_daily` |\n"
    "\n"
    "- Total Watch Time is stored in seconds and displayed in hours: Σ `watch_time_seconds` / 3600.\n"
    "- The stored `unique_visitors` columns are exact only for their own row's slice (one media-day, "
    "one\n"
    "  media-day-channel, one account-day). A visitor seen on two days or two medias counts once "
    "over the range.\n"
    "- Top visitors by engagement: group `gold_visitor_media_daily` by `visitor_key`, rank by\n"
    "  Σ `percent_viewed_sum` / Σ `plays`.\n"
    "- Events without a `visitor_key` count in plays and engagement but have no "
    "`gold_visitor_media_daily` row;\n"
    "  events without a channel are in channel `unknown`.\n"
    "\n"
    "## Where a filter cannot apply\n"
    "- Loads, Play Rate and the official Plays and Watch Time exist per media and day only: not per "
    "channel,\n"
    "  visitor, country or device. A view filtered by any of these shows plays and watch time from "
    "events and no\n"
    "  loads or play rate. The one exception is Wistia's own traffic breakdown (below): loads, plays "
    "and play rate\n"
    "  per traffic source (`utm_source`, `utm_medium`, `utm_campaign`, `referrer_domain`, "
    "`viewer_screen_size`) as\n"
    "  Wistia counts them, which is not our `channel` (that comes from our rules over the events' "
    "`embed_url`).\n"
    "- Unique visitors per channel are exact per media, day and channel only: across days or medias "
    "they cannot be\n"
    "  computed from Gold (`gold_media_channel_daily` has no `visitor_key`).\n"
    "- Retention has no date: Wistia gives the curve over the media's lifetime.\n"
    "\n"
    "## Wistia's own analytics (modern Data API)\n"
    "A third source: Wistia's modern, date-versioned Data API (`/modern/analytics/medias/{id}/...`), "
    "ingested per\n"
    "media and day (docs/ingestion.md). Where it was not ingested for a media-day its columns are "
    "NULL, never 0.\n"
    "\n"
    "| KPI | definition (one day, one media) | Gold column | source |\n"
    "|---|---|---|---|\n"
    "| **Unique Loads (Wistia)** | distinct visitors that loaded the media that day | `unique_loads` "
    "| timeseries `unique_loads` |\n"
    "| **Unique Plays (Wistia)** | distinct visitors that played the media that day | `unique_plays` "
    "| timeseries `unique_plays` |\n"
    "| **Unique Visitors (Wistia)** | distinct visitors that loaded the media, as Wistia counts them "
    "(not our `visitor_key` count) | `unique_visitors_wistia` | timeseries `unique_visitors` |\n"
    "| **Play Rate (Wistia)** | Unique Plays / Unique Loads; NULL when Unique Loads = 0 | — "
    "(computed) | timeseries |\n"
    "| **CTA Impressions, CTA Conversions** | plays that reached the media's call to action; clicks "
    "on it | `cta_impressions`, `cta_conversions` | timeseries |\n"
    "| **CTA Conversion Rate** | CTA Conversions / CTA Impressions; NULL when CTA Impressions = 0 | "
    "— (computed) | timeseries |\n"
    "| **Form Conversions** | email-gate (form) submissions | `form_conversions` | timeseries |\n"
    "| **Leads** | one row per form submission: who (first and last name, email), when, on which "
    "media, and the visitor whose email it is | `gold_leads` | conversions |\n"
    "| **Traffic Loads, Traffic Plays** | loads and plays of the media that day whose session had "
    "that traffic-source value (`(none)`: without it) | `gold_media_traffic_daily.loads`, `.plays` | "
    "traffic |\n"
    "| **Traffic Play Rate** | Traffic Plays / Traffic Loads; NULL when loads = 0 | "
    "`gold_media_traffic_daily.play_rate` | traffic |\n"
    "| **Traffic Engagement Rate** | mean fraction of the video viewed per play of that source = "
    "`percent_viewed_sum` / `plays` | `gold_media_traffic_daily.engagement_rate` | traffic |\n"
    "| **Traffic Watch Time** | plays × engagement rate × the media's duration, in seconds | "
    "`gold_media_traffic_daily.played_time_seconds` | traffic + `silver_medias` |\n"
    "| **Page Loads, Page Plays, Page Watch Time** | the same per page the media is embedded on "
    "(`page_url`); watch time is Wistia's `played_time` | `gold_media_embed_daily` | embed locations "
    "|\n"
    "| **Page Play Rate** | Unique Plays / Unique Loads of that page (Wistia's own `play_rate` where "
    "the unique counts are absent) | `gold_media_embed_daily.play_rate` | embed locations |\n"
    "\n"
    "Why two play rates: Wistia defines a media's (and a page's) play rate over unique viewers, "
    "`unique_plays` /\n"
    "`unique_loads`, and the modern API reports exactly that. Its traffic groups carry only total "
    "`loads` and\n"
    "`plays`, no unique counts, so a traffic source's play rate can only be `plays` / `loads` — the "
    "same formula as\n"
    "our official Play Rate from `by_date`. The two are not comparable: a visitor who loads twice "
    "and plays once counts\n"
    "0.5 in the total-based rate and 1.0 in the unique-based one.\n"
    "\n"
    "Over a date range and a media selection (filter, sum, then divide; never an average of daily or "
    "per-media rates):\n"
    "\n"
    "| KPI | over a range and selection | table |\n"
    "|---|---|---|\n"
    "| Unique Loads, Unique Plays (Wistia), CTA Impressions, CTA Conversions, Form Conversions | Σ "
    "of the column (Wistia counts a visitor once per media-day, so these sum over days) | "
    "`gold_media_daily` |\n"
    "| Play Rate (Wistia) | Σ `unique_plays` / Σ `unique_loads` over the rows where both are not "
    "NULL | `gold_media_daily` |\n"
    "| CTA Conversion Rate | Σ `cta_conversions` / Σ `cta_impressions` | `gold_media_daily` |\n"
    "| Unique Visitors (Wistia) | not additive: a visitor seen on two days counts on both rows; Σ "
    "over days is an upper bound, and the exact figure over a range exists only in Wistia (or, for "
    "our own visitors, `gold_visitor_media_daily`) | `gold_media_daily` |\n"
    "| Leads | count of rows of `gold_leads` with `conversion_date` in the range | `gold_leads` |\n"
    "| Traffic Loads, Plays, Watch Time | Σ `loads`, Σ `plays`, Σ `played_time_seconds` per "
    "`dimension` and `value` | `gold_media_traffic_daily` |\n"
    "| Traffic Play Rate | Σ `plays` / Σ `loads` per `dimension` and `value` | "
    "`gold_media_traffic_daily` |\n"
    "| Traffic Engagement Rate | Σ `percent_viewed_sum` / Σ `plays` (plays-weighted, over the rows "
    "with an engagement rate) | `gold_media_traffic_daily` |\n"
    "| Page Loads, Plays, Watch Time; Page Play Rate; Page Engagement | Σ `loads`, Σ `plays`, Σ "
    "`played_time_seconds`; Σ `unique_plays` / Σ `unique_loads`; Σ `percent_viewed_sum` / Σ `plays` "
    "| `gold_media_embed_daily` |\n"
    "\n"
    "- Sum one `dimension` at a time: each dimension's groups partition the same loads and plays "
    "(sessions without\n"
    "  the attribute are in `(none)`), so summing across dimensions counts every load several times.\n"
    "- `gold_media_embed_daily.unique_visitors` is exact for its page-day only, like "
    "`unique_visitors_wistia`.\n"
    "- Wistia's traffic and embed responses hold at most their top 100 groups or pages per "
    "media-day; a media-day\n"
    "  with more has its smallest ones left out, so their sum can fall short of the media's loads.\n"
    "\n"
    "## Reconciliation (`gold_reconciliation`)\n"
    "Compares figures derived from events with Wistia's own; `*_diff` = from events − official.\n"
    "- `daily`, per media and day: `plays` vs `event_plays`, `watch_time_seconds` vs "
    "`event_watch_seconds`\n"
    "  (from `gold_media_daily`).\n"
    "- `lifetime`, per media (`activity_date` NULL): `stats/medias/{id}` `play_count` and "
    "`hours_watched` × 3600\n"
    "  vs Σ `event_plays` and Σ `event_watch_seconds` over every day in `gold_media_daily`.\n"
    "- **Tolerance**: `within_tolerance` when plays are equal exactly and\n"
    "  |`watch_seconds_diff`| ≤ 1e-6 × max(1, `watch_seconds_official`) — one part per million, for "
    "float sums\n"
    "  taken in a different order; anything larger is drift.\n"
    "- **Modern API vs v1** (daily rows): `plays_modern` and `played_seconds_modern` are the modern "
    "timeseries'\n"
    "  `plays` and `played_time` for the media-day, against the same official `plays` and "
    "`watch_time_seconds`;\n"
    "  `*_modern_diff` = modern − official. `modern_within_tolerance` when plays are equal and\n"
    "  |`played_seconds_modern_diff`| ≤ 0.5 + 1e-6 × max(1, `watch_seconds_official`): the modern "
    "API gives whole\n"
    "  seconds where by_date gives hours as a float. NULL where the analytics were not ingested for "
    "the media-day;\n"
    '  the run summary and `status` report the media-days outside it ("modern API: no drift (N '
    "media-days\n"
    '  checked)").\n'
    "- Expected drift: sessions arriving late (by_date counts them before the events are fetched "
    "again), events\n"
    "  older than 730 days, and, for `lifetime`, days before the first ingested day. The run summary "
    "reports the rows\n"
    "  outside the tolerance.\n"
)
# --- end of generated text ---


def section(title: str, text: str | None = None) -> str:
    """The body of the `## title` section, verbatim (without its heading)."""
    text = METRICS_MD if text is None else text
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if match is None:
        raise KeyError(f"no section {title!r} in docs/metrics.md")
    return match.group(1).strip("\n")


def _table_rows(body: str) -> list[list[str]]:
    """Cells of the first Markdown table in `body`, header and rule excluded."""
    rows: list[list[str]] = []
    for line in body.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows[2:]


def kpi_table() -> dict[str, tuple[str, str, str]]:
    """KPI name -> (definition for one day and media, Gold column, source), from the section 'KPIs'."""
    return {row[0].strip("*"): (row[1], row[2], row[3]) for row in _table_rows(section("KPIs"))}


def range_table() -> dict[str, tuple[str, str]]:
    """KPI name -> (how it aggregates over a range and selection, table)."""
    out: dict[str, tuple[str, str]] = {}
    table = ""
    for row in _table_rows(section("Over a date range and a media selection")):
        table = table if row[2] == "same" else row[2]  # "same": the table of the row above
        for name in row[0].split(","):
            out[name.strip()] = (row[1], table)
    return out


def kpi_help(key: str) -> str:
    """The tooltip of one KPI card: its definition, how it aggregates over a range, its source."""
    name = KPI_NAMES[key]
    definition, column, source = kpi_table()[name]
    over_range, table = range_table()[name]
    return (
        f"**{name}**: {definition} (Gold column {column}; source: {source}).\n\n"
        f"**Over a range**: {over_range} (table: {table}).\n\n"
        "Change: against the previous period of equal length. Definitions: docs/metrics.md."
    )


def _quote(chunk: str) -> str:
    """A Python literal for `chunk` in the style `ruff format` keeps (double quotes unless that escapes)."""
    if '"' in chunk and "'" not in chunk:
        return repr(chunk)
    return json.dumps(chunk, ensure_ascii=False)


def _chunks(line: str, width: int = 96) -> list[str]:
    """Split one line (with its newline) into pieces of at most about `width` characters, at spaces."""
    pieces, rest = [], line
    while len(rest) > width:
        cut = rest.rfind(" ", 0, width)
        cut = width if cut <= 0 else cut + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def render_constant(text: str) -> str:
    """The source of the generated block for `text`."""
    lines = [piece for line in text.splitlines(keepends=True) for piece in _chunks(line)]
    body = "\n".join(f"    {_quote(piece)}" for piece in lines)
    return f"METRICS_MD = (\n{body}\n)\n"


def regenerate(doc: Path, module: Path) -> bool:
    """Rewrite the generated block of `module` from `doc`; True if it changed."""
    source = module.read_text(encoding="utf-8")
    start = source.index("# --- generated from")
    start = source.index("\n", start) + 1
    end = source.index("# --- end of generated text ---")
    updated = source[:start] + render_constant(doc.read_text(encoding="utf-8")) + source[end:]
    if updated == source:
        return False
    module.write_text(updated, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    doc = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/metrics.md")
    changed = regenerate(doc, Path(__file__))
    print(f"{Path(__file__).name}: {'regenerated' if changed else 'already up to date'} from {doc}")

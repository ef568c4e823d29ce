"""The dashboard's handle on the published Gold: one DuckDB catalog plus the small lists every page needs.

`open_gold` opens it once per Gold version (`lake_versions` says when that changes) and starts the speed
layer's copy; the metric queries and the trust panel take the handle. The connection is shared across the
dashboard's sessions: each query runs on its own cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import duckdb

from wistia_analytics.dashboard.speed_layer import HOT_MAX_VISITOR_ROWS, HotCopy
from wistia_analytics.errors import ConfigurationError
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import Manifest, TableStore
from wistia_analytics.query.catalog import open_catalog, read_root

HotMode = Literal["background", "later", "now", "off"]

GOLD_TABLES = (
    "gold_media_daily",
    "gold_visitor_media_daily",
    "gold_media_channel_daily",
    "gold_account_daily",
    "gold_media_engagement_curve",
    "gold_reconciliation",
)
DATE_PARTITIONED = ("gold_media_daily", "gold_visitor_media_daily", "gold_media_channel_daily", "gold_account_daily")


class GoldUnavailableError(ConfigurationError):
    """The lake has no Gold to show: build it (or point `LAKE_URI` at a lake that has it), then reload.

    `kind` is `missing` (nothing published), `empty` (no activity yet) or `unreadable`: the page says which.
    """

    def __init__(self, kind: Literal["missing", "empty", "unreadable"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class MediaInfo:
    media_id: str
    media_name: str
    project_id: str | None
    project_name: str | None
    has_curve: bool


@dataclass(frozen=True)
class Gold:
    """An open catalog over the published Gold plus the small lists every page needs (read once)."""

    con: duckdb.DuckDBPyConnection
    first_day: date
    last_day: date
    medias: tuple[MediaInfo, ...]
    channels: tuple[str, ...]
    # date-partitioned table -> ((ISO day, files), ...) of the published version: a query reads only its days
    partitions: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    hot: HotCopy = field(default_factory=lambda: HotCopy(), compare=False)

    def media(self, media_id: str) -> MediaInfo | None:
        return next((m for m in self.medias if m.media_id == media_id), None)

    @property
    def projects(self) -> tuple[tuple[str, str], ...]:
        """(project_id, project_name), by name."""
        seen = {m.project_id: m.project_name or m.project_id for m in self.medias if m.project_id}
        return tuple(sorted(seen.items(), key=lambda p: (p[1].lower(), p[0])))

    def start_hot(self) -> None:
        """Start building the in-memory copy in the background, if not started yet (see `open_gold`)."""
        self.hot.start(self.con)

    def close(self) -> None:
        self.hot.stop()
        self.con.close()


def lake_versions(storage: Storage) -> tuple[tuple[str, str], ...]:
    """(table, published version) of every Gold table: changes exactly when Gold is republished."""
    store = TableStore(storage)
    out = []
    for table in GOLD_TABLES:
        manifest = store.current(table)
        if manifest is not None:
            out.append((table, manifest.version))
    return tuple(sorted(out))


def open_gold(storage: Storage, *, hot: HotMode = "background") -> Gold:
    """Open the published Gold; `GoldUnavailableError` when there is none to show (or it cannot be read).

    `hot`: build the in-memory copy (`HotCopy`) in a background thread (queries read Parquet meanwhile), later
    (when the caller calls `Gold.start_hot()`, e.g. once its first page is out, so the two do not compete for
    the cores), now (before returning), or not at all.
    """
    try:
        con, manifests = open_catalog(storage)
        root = read_root(storage)
    except NotImplementedError as exc:
        raise GoldUnavailableError("unreadable", str(exc)) from exc
    missing = [t for t in GOLD_TABLES if t not in manifests]
    if missing:
        con.close()
        raise GoldUnavailableError("missing", f"no published Gold in {storage.uri('')} (missing: {', '.join(missing)})")
    bounds = _day_bounds(con, manifests["gold_account_daily"], root)
    if bounds is None or bounds[0] is None:
        con.close()
        raise GoldUnavailableError("empty", f"Gold in {storage.uri('')} has no activity yet")
    rows = con.execute(
        """
        WITH daily AS (
            SELECT
                media_id,
                arg_max(media_name, activity_date) FILTER (WHERE media_name IS NOT NULL) AS media_name,
                arg_max(project_id, activity_date) FILTER (WHERE project_id IS NOT NULL) AS project_id,
                arg_max(project_name, activity_date) FILTER (WHERE project_id IS NOT NULL) AS project_name
            FROM gold.media_daily
            GROUP BY media_id
        ),
        curve AS (
            SELECT media_id, max(media_name) AS media_name FROM gold.media_engagement_curve GROUP BY media_id
        )
        SELECT
            coalesce(d.media_id, c.media_id) AS media_id,
            coalesce(d.media_name, c.media_name, coalesce(d.media_id, c.media_id)) AS media_name,
            d.project_id,
            d.project_name,
            c.media_id IS NOT NULL AS has_curve
        FROM daily AS d
        FULL OUTER JOIN curve AS c ON c.media_id = d.media_id
        """
    ).fetchall()
    channels = con.execute("SELECT DISTINCT channel FROM gold.media_channel_daily ORDER BY channel").fetchall()
    partitions = {}
    for table in DATE_PARTITIONED:
        manifest = manifests[table]
        if manifest.partition_by == "activity_date" and all(_is_day(p) for p in manifest.files):
            partitions[table] = tuple(
                (day, tuple(f"{root}/{f}" for f in manifest.files[day])) for day in sorted(manifest.files)
            )
    gold = Gold(
        con=con,
        first_day=bounds[0],
        last_day=bounds[1],
        medias=tuple(
            MediaInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in sorted(rows, key=lambda r: (r[1].lower(), r[0]))
        ),
        channels=tuple(c for (c,) in channels),
        partitions=partitions,
    )
    visitor_rows = manifests["gold_visitor_media_daily"].row_count
    if hot == "off":
        gold.hot.skipped = "off"
    elif visitor_rows > HOT_MAX_VISITOR_ROWS:
        gold.hot.skipped = f"{visitor_rows:,} visitor rows (more than {HOT_MAX_VISITOR_ROWS:,})"
    elif hot == "now":
        gold.hot.build(con)
    elif hot == "background":
        gold.hot.start(con)
    return gold


def _day_bounds(con: duckdb.DuckDBPyConnection, manifest: Manifest, root: str) -> tuple[Any, ...] | None:
    """(first, last) activity_date of `gold_account_daily`: read from the files of its first and last day
    partitions only when those hold exactly those days (a scan of every day's file costs ~0.3 s), else all."""
    days = sorted(manifest.files) if manifest.partition_by == "activity_date" else []
    if days and all(_is_day(d) for d in (days[0], days[-1])):
        files = [f"{root}/{f}" for d in {days[0], days[-1]} for f in manifest.files[d]]
        row = con.execute(
            "SELECT min(activity_date), max(activity_date) FROM read_parquet(?, hive_partitioning = false)", [files]
        ).fetchone()
        if row is not None and row[0] is not None and (row[0].isoformat(), row[1].isoformat()) == (days[0], days[-1]):
            return row
    return con.execute("SELECT min(activity_date), max(activity_date) FROM gold.account_daily").fetchone()


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True

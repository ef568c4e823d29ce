"""A DuckDB connection whose schemas `silver` and `gold` hold one view per published table.

Views are built from each table's manifest, so a reader sees exactly the current published versions,
whatever the file layout underneath: the local counterpart of Athena over the Glue catalog. On an object
store (``s3://``) the views read the process's local mirror of the lake (`lake/mirror.py`): the current
versions' files are fetched in one concurrent batch when the catalog opens (immutable files, so never
stale), through the storage module (standard AWS settings; DuckDB needs no httpfs).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from wistia_analytics.contracts.tables import PUBLISHED_TABLES as TABLES
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.lake.mirror import shared_mirror
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import Manifest, TableStore


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_root(storage: Storage) -> str:
    """Where a connection from `open_catalog` reads lake files: ``<root>/<lake path>`` of any file of a view."""
    return str(shared_mirror(storage).root)


def open_catalog(
    storage: Storage, *, read_only_threads: int | None = None, tables: Iterable[str] | None = None
) -> tuple[duckdb.DuckDBPyConnection, dict[str, Manifest]]:
    """A connection with `silver.<table>` and `gold.<table>` views, and the manifests behind them.

    `tables`: the views to create (default: every published table); on an object store only their files are
    fetched. The manifests of every published table are returned either way.
    """
    wanted = set(TABLES if tables is None else tables)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if read_only_threads:
        con.execute(f"SET threads = {int(read_only_threads)}")
    con.execute("CREATE SCHEMA IF NOT EXISTS silver")
    con.execute("CREATE SCHEMA IF NOT EXISTS gold")
    mirror = shared_mirror(storage)
    store = TableStore(storage)
    manifests: dict[str, Manifest] = {}
    for table in TABLES:
        manifest = store.current(table)
        if manifest is None:
            continue
        manifests[table] = manifest
    mirror.fetch(f for table in manifests if table in wanted for f in manifests[table].all_files())
    for table, manifest in manifests.items():
        if table not in wanted:
            continue
        layer, name = layer_and_name(table)
        files = manifest.all_files()
        if files:
            paths = "[" + ", ".join(_quote(mirror.local_path(f)) for f in files) + "]"
            body = f"SELECT * FROM read_parquet({paths}, hive_partitioning = false)"
        else:
            cols = ", ".join(f"NULL::{t} AS {c}" for c, t in manifest.columns) or "NULL AS empty"
            body = f"SELECT * FROM (SELECT {cols}) WHERE false"
        con.execute(f"CREATE OR REPLACE VIEW {layer}.{name} AS {body}")
    return con, manifests

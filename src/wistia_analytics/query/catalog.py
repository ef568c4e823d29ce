"""A DuckDB connection whose schemas `silver` and `gold` hold one view per published table.

Views are built from each table's manifest, so a reader sees exactly the current published versions,
whatever the file layout underneath: the local counterpart of Athena over the Glue catalog.
"""

from __future__ import annotations

import duckdb

from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.models import MODELS, QUARANTINE_TABLE
from wistia_analytics.transform.tables import Manifest, TableStore, layer_and_name

TABLES = (*(m.name for m in MODELS), QUARANTINE_TABLE)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def local_root(storage: Storage) -> str:
    root = storage.uri("")
    if "://" in root and not root.startswith("file://"):
        raise NotImplementedError("querying an s3:// lake comes with the S3 issue")
    return root.removeprefix("file://").rstrip("/")


def open_catalog(
    storage: Storage, *, read_only_threads: int | None = None
) -> tuple[duckdb.DuckDBPyConnection, dict[str, Manifest]]:
    """A connection with `silver.<table>` and `gold.<table>` views, and the manifests behind them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if read_only_threads:
        con.execute(f"SET threads = {int(read_only_threads)}")
    con.execute("CREATE SCHEMA IF NOT EXISTS silver")
    con.execute("CREATE SCHEMA IF NOT EXISTS gold")
    root = local_root(storage)
    store = TableStore(storage)
    manifests: dict[str, Manifest] = {}
    for table in TABLES:
        manifest = store.current(table)
        if manifest is None:
            continue
        manifests[table] = manifest
        layer, name = layer_and_name(table)
        files = manifest.all_files()
        if files:
            paths = "[" + ", ".join(_quote(f"{root}/{f}") for f in files) + "]"
            body = f"SELECT * FROM read_parquet({paths}, hive_partitioning = false)"
        else:
            cols = ", ".join(f"NULL::{t} AS {c}" for c, t in manifest.columns) or "NULL AS empty"
            body = f"SELECT * FROM (SELECT {cols}) WHERE false"
        con.execute(f"CREATE OR REPLACE VIEW {layer}.{name} AS {body}")
    return con, manifests

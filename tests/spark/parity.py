"""Comparing two lakes built from the same Bronze by different engines: rows, manifest columns, Parquet schemas."""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.tables_compare import assert_same_rows
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore
from wistia_analytics.query.catalog import TABLES, open_catalog

# Columns that name the run or version that wrote a row: equal only within one lake.
RUN_COLUMNS = ("run_id",)
# Lineage of a row: which ingestion delivered the winning record (changes when a record is re-delivered).
LINEAGE_COLUMNS = ("run_id", "ingested_at", "source_file")


def table_rows(storage: Storage, exclude: tuple[str, ...] = RUN_COLUMNS) -> dict[str, list[tuple[object, ...]]]:
    """Every published table's rows (without the `exclude` columns), read through the one DuckDB read path."""
    con, manifests = open_catalog(storage)
    try:
        out: dict[str, list[tuple[object, ...]]] = {}
        for table in TABLES:
            layer, name = layer_and_name(table)
            cols = [c for c, _ in manifests[table].columns if c not in exclude]
            out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {layer}.{name}").fetchall()
        return out
    finally:
        con.close()


def parquet_schemas(storage: Storage) -> dict[str, list[tuple[str, str]]]:
    """Column names and Arrow types of every Parquet file of each table (all files of a table must agree)."""
    store = TableStore(storage)
    out: dict[str, list[tuple[str, str]]] = {}
    for table in TABLES:
        manifest = store.current(table)
        assert manifest is not None, table
        schemas = {
            tuple((f.name, str(f.type)) for f in pq.read_schema(storage.uri(rel))) for rel in manifest.all_files()
        }
        if not schemas:  # an empty partitioned table has no files (e.g. the analytics before they are ingested)
            out[table] = []
            continue
        assert len(schemas) == 1, f"{table}: files disagree on the schema: {schemas}"
        out[table] = list(schemas.pop())
    return out


def manifest_columns(storage: Storage) -> dict[str, list[list[str]]]:
    store = TableStore(storage)
    return {t: store.current(t).columns for t in TABLES}  # type: ignore[union-attr]


def assert_same_lakes(left: Storage, right: Storage) -> dict[str, int]:
    """Same tables, columns, column types (manifests and Parquet), rows (floats within 1e-9); rows per table."""
    assert manifest_columns(left) == manifest_columns(right)
    assert parquet_schemas(left) == parquet_schemas(right)
    a, b = table_rows(left), table_rows(right)
    for table in TABLES:
        assert_same_rows(a[table], b[table], table)
    return {t: len(rows) for t, rows in a.items()}

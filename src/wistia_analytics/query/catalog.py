"""A DuckDB connection whose schemas `silver` and `gold` hold one view per published table.

Views are built from each table's manifest, so a reader sees exactly the current published versions,
whatever the file layout underneath: the local counterpart of Athena over the Glue catalog. On an object
store (``s3://``) the views read the process's local mirror of the lake (`lake/mirror.py`): the current
versions' files are fetched in one concurrent batch when the catalog opens (immutable files, so never
stale), through the storage module (standard AWS settings; DuckDB needs no httpfs).

Readers only read. Once the views exist the connection is locked (`lock_reads`): external access off, the only
files it may open are the published files of its views (on an object store: the process's mirror folder), and
its configuration locked, so no SQL turns any of that back on (`SET`, `ATTACH`, `INSTALL`/`LOAD` fail, as does
`read_text('/etc/passwd')`). The in-memory database stays writable: the dashboard's speed layer copies Gold into
in-memory `hot.*` tables, nothing of which reaches a file. SQL from people (`query`) is also held to reading
statements (`check_read_only`): DuckDB would still let a `COPY ... TO` overwrite an allowed (published) file.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from wistia_analytics.contracts.tables import PUBLISHED_TABLES as TABLES
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.errors import ConfigurationError
from wistia_analytics.lake.mirror import shared_mirror
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import Manifest, TableStore

# The statements a reader may run: queries (SELECT, FROM ..., WITH, DESCRIBE, SHOW, SUMMARIZE) and their plans.
READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
READ_ONLY_MESSAGE = "the query may only read the lake's published tables (silver.*, gold.*)"


class ReadOnlyError(ConfigurationError):
    """SQL that writes, changes settings or reads outside the published tables: refused, nothing done."""

    label = "query error"


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
    lock_reads(
        con,
        files=[mirror.local_path(f) for t in manifests if t in wanted for f in manifests[t].all_files()],
        folder=str(mirror.root) if mirror.copies else None,
    )
    return con, manifests


def lock_reads(con: duckdb.DuckDBPyConnection, *, files: Iterable[str], folder: str | None = None) -> None:
    """From now on `con` opens only `files` (and what is under `folder`), and its settings cannot change.

    DuckDB's order matters: the allowed paths are set before external access goes off, and the lock last.
    """
    con.execute("SET allowed_paths = ?", [sorted(set(files))])
    if folder is not None:
        con.execute("SET allowed_directories = ?", [[folder.rstrip("/") + "/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """`ReadOnlyError` unless every statement of `sql` only reads (see `READ_STATEMENTS`); runs nothing.

    A statement DuckDB cannot parse passes: running it reports the syntax error.
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error:
        return
    for statement in statements:
        if statement.type not in READ_STATEMENTS:
            kind = statement.type.name.replace("_", " ")
            raise ReadOnlyError(f"{READ_ONLY_MESSAGE}: {kind} statements are refused (only SELECT and EXPLAIN run)")


def read_only_message(error: BaseException) -> str | None:
    """The one line for a DuckDB error that the lock caused (an outside file, a locked setting), else None."""
    first = str(error).splitlines()[0] if str(error) else ""
    locked = (
        first.startswith("Permission Error")
        or "the configuration has been locked" in first
        or "disabled through configuration" in first
        or "disabled by configuration" in first
    )
    return f"{READ_ONLY_MESSAGE}: {first}" if locked else None

"""`open_catalog`'s connection reads the published tables and nothing else, and its settings are locked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.transform.fixture_lake import build
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import (
    READ_ONLY_MESSAGE,
    ReadOnlyError,
    check_read_only,
    lock_reads,
    open_catalog,
    read_only_message,
)
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    storage = Storage.from_uri(str(tmp_path_factory.mktemp("catalog") / "lake"))
    build(storage)
    engine = DuckDBEngine(storage)
    try:
        assert TransformRunner(storage, engine).run().status == "success"
    finally:
        engine.close()
    return storage


@pytest.fixture()
def con(lake: Storage) -> Iterator[duckdb.DuckDBPyConnection]:
    connection, _ = open_catalog(lake)
    yield connection
    connection.close()


def test_the_views_read_after_the_lock(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute("SELECT count(*) FROM gold.media_daily").fetchone() == (3,)
    assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
    assert con.execute("SELECT current_setting('lock_configuration')").fetchone() == (True,)
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)


def test_only_the_views_files_are_open(lake: Storage, tmp_path: Path) -> None:
    """`tables=` limits the views and the files alike: another table's file is refused."""
    connection, manifests = open_catalog(lake, tables=("gold_account_daily",))
    try:
        other = f"{lake.root}/{manifests['gold_media_daily'].all_files()[0]}"  # type: ignore[attr-defined]
        mine = f"{lake.root}/{manifests['gold_account_daily'].all_files()[0]}"  # type: ignore[attr-defined]
        assert connection.execute("SELECT count(*) FROM read_parquet(?)", [mine]).fetchone()
        with pytest.raises(duckdb.PermissionException):
            connection.execute("SELECT count(*) FROM read_parquet(?)", [other])
    finally:
        connection.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/hosts')",
        "SELECT * FROM glob('/*')",
        "ATTACH '/tmp/wistia-catalog-test.duckdb' AS other",
        "COPY (SELECT 1) TO '/tmp/wistia-catalog-test.csv'",
        "LOAD httpfs",
        "INSTALL httpfs",
    ],
)
def test_outside_files_are_refused_by_the_engine(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(duckdb.Error) as caught:
        con.execute(sql)
    assert read_only_message(caught.value) is not None
    assert not Path("/tmp/wistia-catalog-test.duckdb").exists() and not Path("/tmp/wistia-catalog-test.csv").exists()


@pytest.mark.parametrize(
    "sql", ["SET enable_external_access = true", "SET allowed_directories = ['/']", "RESET lock_configuration"]
)
def test_settings_cannot_be_turned_back_on(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(duckdb.Error, match="locked") as caught:
        con.execute(sql)
    assert read_only_message(caught.value) is not None


def test_the_in_memory_database_stays_writable_for_the_speed_layer(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA hot")
    con.execute("CREATE TABLE hot.media_daily AS SELECT * FROM gold.media_daily")
    assert con.execute("SELECT count(*) FROM hot.media_daily").fetchone() == (3,)


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("COPY (SELECT 1) TO 'x.csv'", "COPY"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("INSERT INTO gold.media_daily SELECT * FROM gold.media_daily", "INSERT"),
        ("ATTACH 'x.duckdb'", "ATTACH"),
        ("INSTALL httpfs", "LOAD"),
        ("SET threads = 1", "SET"),
        ("SELECT 1; DROP VIEW gold.media_daily", "DROP"),
        ("EXPORT DATABASE 'out'", "EXPORT"),
    ],
)
def test_check_read_only_refuses_what_is_not_a_read(con: duckdb.DuckDBPyConnection, sql: str, kind: str) -> None:
    with pytest.raises(ReadOnlyError, match="^" + re.escape(f"{READ_ONLY_MESSAGE}: {kind} statements are refused")):
        check_read_only(con, sql)
    assert con.execute("SELECT count(*) FROM gold.media_daily").fetchone() == (3,)


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1", "FROM gold.media_daily", "DESCRIBE gold.media_daily", "SHOW TABLES", "EXPLAIN SELECT 1", "selec 1"],
)
def test_check_read_only_lets_reads_and_syntax_errors_through(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    check_read_only(con, sql)


def test_an_empty_lake_locks_too(tmp_path: Path) -> None:
    connection, manifests = open_catalog(Storage.from_uri(str(tmp_path)))
    try:
        assert manifests == {}
        with pytest.raises(duckdb.PermissionException):
            connection.execute("SELECT * FROM read_text('/etc/passwd')")
    finally:
        connection.close()


def test_lock_reads_allows_a_folder(tmp_path: Path) -> None:
    """The object-store case: the mirror's folder is open, its neighbours are not."""
    inside, outside = tmp_path / "mirror", tmp_path / "other"
    inside.mkdir()
    outside.mkdir()
    duckdb.execute(f"COPY (SELECT 1 AS a) TO '{inside / 'a.parquet'}'")
    duckdb.execute(f"COPY (SELECT 2 AS a) TO '{outside / 'b.parquet'}'")
    connection = duckdb.connect()
    try:
        lock_reads(connection, files=[], folder=str(inside))
        assert connection.execute(f"SELECT a FROM '{inside / 'a.parquet'}'").fetchone() == (1,)
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"SELECT a FROM '{outside / 'b.parquet'}'")
    finally:
        connection.close()

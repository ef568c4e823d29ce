"""The one small interface every engine implements; the runner never touches an engine's internals."""

from __future__ import annotations

from typing import Protocol

# The Bronze line's flat `context` object (what the request named, spec'd in docs/models.md): each view column
# `bronze_<stream>` has, and the context key it reads (NULL where the line has no such key).
CONTEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("context_media_id", "media_id"),
    ("context_date", "date"),
    ("context_dimension", "dimension"),
    ("context_start_date", "start_date"),
    ("context_end_date", "end_date"),
)


class Engine(Protocol):
    """Runs model SQL over Bronze and Parquet tables and writes Parquet; DuckDB and Spark implement it."""

    name: str

    def register_bronze(self, stream: str, files: list[str]) -> None:
        """Expose the Bronze files (lake-relative) of `stream` as the view `bronze_<stream>`."""

    def register_parquet(self, name: str, files: list[str], columns: list[list[str]]) -> None:
        """Expose Parquet files as the view `name` (empty file list: an empty view with `columns`)."""

    def materialize(self, name: str, sql: str) -> None:
        """Run `sql` (DuckDB dialect) and keep the result as the relation `name` for this session."""

    def view(self, name: str, sql: str) -> None:
        """Name `sql` as the relation `name` without computing it (a filter read once or twice: no copy).

        The relations `sql` reads must stay registered while `name` is used."""

    def scalar(self, sql: str) -> int:
        """First column of the first row of `sql`, as an int (checks and counts)."""

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        """All rows of `sql` (small results only)."""

    def columns(self, relation: str) -> list[list[str]]:
        """[name, type] of each column of `relation`."""

    def write_parquet(self, relation: str, directory: str, partition_by: str | None) -> dict[str, list[str]]:
        """Write `relation` under the lake-relative `directory`; partition value -> files written."""

    def drop(self, name: str) -> None:
        """Forget a relation made by `materialize` or a view."""

    def close(self) -> None: ...

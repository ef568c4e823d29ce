"""`transform`, `status` and `query` as a user runs them: real subprocesses on the hand-built fixture lake.

Expected figures come from `tests/transform/fixture_lake.py`, by hand:
- gold.media_daily has 3 rows: M1 on 2026-11-01 and 2026-11-02 (by_date rows of M1), M2 on 2026-11-01.
- official loads/plays: M1 10+4 / 3+1, M2 5 / 2; events kept: M1 e1, e2, e3 (11-01) and e4 (11-02), M2 e5, e6
  (e7 is out of range and one event has no key: both quarantined; e2 and e4 re-delivered unchanged).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.transform.fixture_lake import M1, M2, build
from wistia_analytics.crashpoints import ENV as CRASH_ENV
from wistia_analytics.lake.state import StateStore
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import TABLES

COUNT_SQL = "select count(*) as n from gold.media_daily"


def cli(lake: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV} | {"LAKE_URI": str(lake), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "wistia_analytics", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=lake.parent,  # no stray .env file
        timeout=120,
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture lake, transformed once through the CLI, with one ingest watermark committed by hand."""
    path = tmp_path_factory.mktemp("cli") / "lake"
    storage = Storage.from_uri(str(path))
    build(storage)
    StateStore(storage).commit(
        "events",
        {"received_at": "2026-11-02T08:00:00Z"},
        "20261103T120000Z-bbbbbb",
        now=datetime(2026, 11, 3, tzinfo=UTC),
    )
    done = cli(path, "transform")
    assert done.returncode == 0, done.stderr
    return path


def test_transform_prints_the_tables_then_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "lake"
    build(Storage.from_uri(str(path)))
    first = cli(path, "transform")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "full, success" in first.stdout
    for table in TABLES:
        if table != "silver_quarantine":  # published apart, not a row of the run table
            assert table in first.stdout, table
    assert "quarantined this run: 2" in first.stdout
    assert "reconciliation rows with drift: 0" in first.stdout
    second = cli(path, "transform")
    assert second.returncode == 0, second.stderr
    assert "no new Bronze files" in second.stdout
    rebuilt = cli(path, "transform", "--full-rebuild")
    assert rebuilt.returncode == 0 and "full, success" in rebuilt.stdout, rebuilt.stdout


def test_status_json(lake: Path) -> None:
    out = cli(lake, "status", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc["tables"]) == set(TABLES)
    assert doc["tables"]["gold_media_daily"]["rows"] == 3
    assert doc["tables"]["silver_events"]["rows"] == 6
    assert doc["tables"]["silver_quarantine"]["rows"] == 2
    assert all(t["version"] and t["published_at"] for t in doc["tables"].values())
    assert doc["watermarks"] == {"events": {"received_at": "2026-11-02T08:00:00Z"}}
    # 3 daily rows (one per gold.media_daily row) + 2 lifetime rows (one per media), all within tolerance
    assert doc["reconciliation"] == {"rows_with_drift": 0, "max_abs_plays_diff": 0, "rows": 5}
    assert doc["quarantine"] == {"event": 2}
    assert doc["freshness"]["newest_event_at"].startswith("2026-11-02T08:00:00")
    assert any(r["command"] == "transform" and r["status"] == "success" for r in doc["runs"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_query_count(lake: Path, fmt: str) -> None:
    out = cli(lake, "query", COUNT_SQL, "--format", fmt)
    assert out.returncode == 0, out.stderr
    if fmt == "json":
        assert json.loads(out.stdout) == [{"n": 3}]
    else:
        assert list(csv.reader(io.StringIO(out.stdout))) == [["n"], ["3"]]


def test_query_figures_by_hand(lake: Path) -> None:
    sql = (
        "select media_id, sum(loads) as loads, sum(plays) as plays, sum(event_plays) as event_plays, "
        "round(sum(percent_viewed_sum), 6) as pv, round(sum(watch_time_seconds), 6) as watch "
        "from gold.media_daily group by media_id order by media_id"
    )
    out = cli(lake, "query", sql, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        {"media_id": M1, "loads": 14, "plays": 4, "event_plays": 4, "pv": 1.85, "watch": 185.0},
        {"media_id": M2, "loads": 5, "plays": 2, "event_plays": 2, "pv": 1.0, "watch": 200.0},
    ]
    out = cli(lake, "query", "select activity_date, plays from gold.account_daily order by 1", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["activity_date", "plays"],
        ["2026-11-01", "5"],
        ["2026-11-02", "1"],
    ]


def test_query_table_format(lake: Path) -> None:
    out = cli(lake, "query", COUNT_SQL)
    assert out.returncode == 0, out.stderr
    assert "│ 3 │" in out.stdout
    assert out.stdout.splitlines()[0].rstrip() == "1 row"  # singular


def test_query_on_an_empty_lake(tmp_path: Path) -> None:
    empty = tmp_path / "lake"
    empty.mkdir()
    out = cli(empty, "query", COUNT_SQL, "--format", "json")
    assert out.returncode == 2
    assert out.stderr == f"error: no lake at {empty}: run `wistia-analytics ingest` first\n"
    assert out.stdout == ""
    assert list(empty.iterdir()) == []


def test_query_on_a_lake_with_bronze_but_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "lake"
    build(Storage.from_uri(str(path)))
    out = cli(path, "query", COUNT_SQL, "--format", "json")
    assert out.returncode == 2
    assert out.stderr == (
        "configuration error: the lake has no published tables yet: run `wistia-analytics transform` (or `run`) first\n"
    )
    assert "Traceback" not in out.stderr + out.stdout


@pytest.mark.parametrize(
    "sql",
    ["select nope from gold.media_daily", "select * from gold.no_such_table", "selec 1"],
)
def test_query_sql_error(lake: Path, sql: str) -> None:
    out = cli(lake, "query", sql, "--format", "json")
    assert out.returncode == 2
    assert "query error" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stdout == ""


def test_query_rejects_an_unknown_format(lake: Path) -> None:
    out = cli(lake, "query", COUNT_SQL, "--format", "xml")
    assert (out.returncode, out.stderr, out.stdout) == (
        2,
        "configuration error: unknown --format 'xml'; choose from table, csv, json\n",
        "",
    )


def test_query_on_an_unknown_table_lists_the_tables(lake: Path) -> None:
    out = cli(lake, "query", "select * from gold.no_such_table")
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert line.startswith("query error: Catalog Error: Table with name no_such_table does not exist!")
    shown = ", ".join(".".join(t.split("_", 1)) for t in sorted(TABLES))
    assert line.endswith(f" Tables: {shown}")


def test_a_wide_result_keeps_every_column_name_and_cuts_long_cells(lake: Path) -> None:
    sql = "select *, repeat('x', 500) as a_very_long_text_column from gold.media_daily order by media_id limit 2"
    out = cli(lake, "query", sql)
    assert out.returncode == 0, out.stderr
    names = json.loads(cli(lake, "query", sql, "--format", "json").stdout)[0].keys()
    for name in names:  # every name whole, on a line of its own table (one table per row when too wide)
        assert f"│ {name} " in out.stdout, name
    assert "x" * 61 not in out.stdout and "x" * 59 + "…" in out.stdout
    assert out.stdout.startswith(f"2 rows ({len(names)} columns, too wide for 140 characters: one table each)\n")
    assert all(len(line) <= 140 for line in out.stdout.splitlines())


def test_a_narrow_result_is_one_table(lake: Path) -> None:
    out = cli(lake, "query", "select media_id, plays from gold.media_daily order by 1, 2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].rstrip() == "3 rows" and out.stdout.count("┏") == 1


def test_status_reads_as_a_report(lake: Path) -> None:
    out = cli(lake, "status")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "recent runs (newest first)" in text
    (run_line,) = [line for line in text.splitlines() if "rows written" in line]
    cells = [c.strip() for c in run_line.strip("│ ").split("│")]
    assert cells[1:4] == ["transform", "transform", "success"], cells  # kind, stage, status
    assert cells[5].endswith("rows written, full") and not cells[5].startswith("0 ")
    assert re.search(r"│ events +│ 2026-11-02 08:00 UTC +│", text), text  # a date, not JSON
    assert '{"received_at"' not in text
    assert "newest event 2026-11-02 08:00 UTC" in text


def test_status_json_keeps_its_keys_and_adds_the_report_s(lake: Path) -> None:
    doc = json.loads(cli(lake, "status", "--format", "json").stdout)
    assert {"lake", "watermarks", "runs", "tables", "freshness", "quarantine", "reconciliation"} <= set(doc)
    (run,) = [r for r in doc["runs"] if r["command"] == "transform"]
    old = {"run_id", "command", "status", "started_at", "ended_at", "requests", "records", "errors"}
    assert old | {"kind", "stage", "duration_seconds", "rows_written", "mode"} == set(run)
    assert (run["kind"], run["stage"], run["mode"]) == ("transform", "transform", "full")
    assert run["records"] == 0 and run["rows_written"] > 0  # `records` counts ingested records only


def test_status_rejects_an_unknown_format(lake: Path) -> None:
    out = cli(lake, "status", "--format", "yaml")
    assert (out.returncode, out.stderr) == (
        2,
        "configuration error: unknown --format 'yaml'; choose from table, json\n",
    )

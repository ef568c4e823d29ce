"""`query` only reads: every write, setting or outside read is refused in one line, exit 2, nothing written.

Real subprocesses on the hand-built fixture lake; after each attack `status` and a normal query still work
and no file of the lake (or next to it) changed or appeared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.commands.test_cli_pipeline import COUNT_SQL, cli
from tests.transform.fixture_lake import build
from wistia_analytics.lake.storage import Storage

PREFIX = "query error: the query may only read the lake's published tables (silver.*, gold.*): "


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("readonly") / "lake"
    build(Storage.from_uri(str(path)))
    done = cli(path, "transform")
    assert done.returncode == 0, done.stderr
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (the lake and its parent) -> its content's hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def published(lake: Path, pattern: str) -> Path:
    return next(p for p in sorted(lake.rglob(pattern)) if "gold" in p.parts)


ATTACKS = {
    "copy over a manifest": (lambda lake: f"copy (select 1 as x) to '{published(lake, '_manifest.json')}'", "COPY"),
    "copy over a published file": (
        lambda lake: f"copy (select 1 as x) to '{published(lake, '*.parquet')}' (use_tmp_file false)",
        "COPY",
    ),
    "copy anywhere": (lambda lake: f"copy (select 1 as x) to '{lake.parent / 'out.csv'}'", "COPY"),
    "create table": (lambda lake: "create table t as select 1 as x", "CREATE"),
    "insert": (lambda lake: "insert into gold.media_daily select * from gold.media_daily", "INSERT"),
    "attach": (lambda lake: f"attach '{lake.parent / 'other.duckdb'}' as other", "ATTACH"),
    "install": (lambda lake: "install httpfs", "LOAD"),
    "load": (lambda lake: "load httpfs", "LOAD"),
    "set": (lambda lake: "set enable_external_access = true", "SET"),
    "a write after a read": (lambda lake: f"select 1; copy (select 1) to '{lake.parent / 'x.csv'}'", "COPY"),
    "read_text outside": (lambda lake: "select * from read_text('/etc/passwd')", 'Cannot access file "/etc/passwd"'),
    "read_csv outside": (lambda lake: "select * from read_csv('/etc/hosts')", 'Cannot access file "/etc/hosts"'),
    "glob outside": (lambda lake: "select * from glob('/etc/*')", "Permission Error"),
    "bronze is not published": (
        lambda lake: f"select count(*) from read_text('{next(lake.rglob('*.jsonl.gz'))}')",
        "Permission Error",
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_is_refused_in_one_line_and_changes_nothing(lake: Path, attack: str) -> None:
    make_sql, reason = ATTACKS[attack]
    before = snapshot(lake.parent)
    out = cli(lake, "query", make_sql(lake))
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith(PREFIX), line
    assert reason in line
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stdout == ""
    assert snapshot(lake.parent) == before
    status = cli(lake, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["tables"]["gold_media_daily"]["rows"] == 3
    count = cli(lake, "query", COUNT_SQL, "--format", "json")
    assert (count.returncode, json.loads(count.stdout)) == (0, [{"n": 3}])


@pytest.mark.parametrize(
    "sql",
    [
        "describe gold.media_daily",
        "summarize gold.media_daily",
        "explain select * from gold.media_daily",
        "with d as (select * from gold.media_daily) from d select count(*)",
    ],
)
def test_reading_statements_still_run(lake: Path, sql: str) -> None:
    out = cli(lake, "query", sql, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)


def test_a_published_file_can_be_read_directly(lake: Path) -> None:
    sql = f"select count(*) as n from read_parquet('{published(lake, '*.parquet')}')"
    out = cli(lake, "query", sql, "--format", "csv")
    assert out.returncode == 0, out.stderr

"""`--engine` on `transform` and `run`: unknown names and a missing Java runtime are one-line errors (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wistia_analytics.cli import app

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("command", [["transform"], ["run", "--today", "2026-11-25"]])
def test_unknown_engine_is_refused_before_any_work(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*command, "--engine", "flink"], env={"LAKE_URI": str(tmp_path / "lake")})
    assert result.exit_code == 2
    assert "unknown engine 'flink'; available: duckdb, spark" in result.output
    assert not (tmp_path / "lake" / "bronze").exists()  # `run` did not ingest first


def test_spark_without_java_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env |= {"PATH": str(Path(sys.executable).parent), "LAKE_URI": str(tmp_path / "lake"), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "wistia_analytics", "transform", "--engine", "spark"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Java" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr

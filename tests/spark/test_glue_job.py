"""The Glue entry point with plain arguments: argument errors, a busy lake and the script's exit code."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.transform.fixture_lake import build
from wistia_analytics.aws import glue_job
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.storage import Storage

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "glue" / "transform_job.py"


def test_plain_arguments_are_parsed_like_glues() -> None:
    parsed = glue_job.parse_arguments(["job", "--JOB_NAME", "x", "--LAKE_URI", "s3://b/p", "--FULL_REBUILD", "true"])
    assert parsed == {"LAKE_URI": "s3://b/p", "FULL_REBUILD": "true"}
    assert glue_job.parse_arguments(["job", "--LAKE_URI", "/l"])["FULL_REBUILD"] == "false"


@pytest.mark.parametrize("argv", [[], ["--FULL_REBUILD", "true"], ["--LAKE_URI", "/tmp/x", "--FULL_REBUILD", "maybe"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    assert glue_job.main(argv) == 2


def test_a_busy_lake_fails_the_job_run(tmp_path: Path, spark: SparkSession) -> None:
    storage = Storage.from_uri(str(tmp_path))
    build(storage)
    with holding_lake(storage, "20261103T000000Z-eeeeee", "another run"):
        assert glue_job.main(["--LAKE_URI", str(tmp_path)], spark=spark) == 4
    assert not storage.list("silver")  # nothing was written


def test_the_glue_script_exits_non_zero_so_glue_marks_the_run_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["transform_job.py", "--JOB_NAME", "wistia-transform"])  # no --LAKE_URI
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exited.value.code == 2

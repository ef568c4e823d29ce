"""The AWS Glue job: Bronze -> Silver -> Gold on Spark, the same package code as `wistia-analytics transform`.

Glue runs `infra/glue/transform_job.py`, which only calls `main()`. Arguments (Glue job parameters):

- ``--LAKE_URI s3://bucket/prefix`` (required): the lake root;
- ``--FULL_REBUILD true|false`` (optional, default false): recompute every table from all of Bronze.

On Glue they are read with `awsglue.utils.getResolvedOptions` and the job uses Glue's SparkSession; anywhere
else (tests, a laptop) plain arguments are parsed with argparse and a local Spark session is built. The exit
code is the transform's (0 success, 3 partial, 1 failed, 2 bad arguments, 4 lake busy); a non-zero exit
raises `SystemExit`, which Glue reports as a failed job run, so Step Functions takes its failure path.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wistia_analytics.errors import ExitCode, WistiaAnalyticsError
from wistia_analytics.lake.lock import LakeLockedError
from wistia_analytics.pipeline.transform_stage import run_transform
from wistia_analytics.settings import Settings
from wistia_analytics.transform.build import summary
from wistia_analytics.transform.spark_engine import local_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("wistia_analytics.glue_job")
REQUIRED = ["LAKE_URI"]
OPTIONAL = ["FULL_REBUILD"]


def _truthy(value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValueError(f"--FULL_REBUILD must be true or false, got {value!r}")


def parse_arguments(argv: Sequence[str]) -> dict[str, str]:
    """Job arguments by name: Glue's resolver when running on Glue, argparse otherwise (same names)."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(prog="glue_job", description=__doc__.splitlines()[0])
        parser.add_argument("--LAKE_URI", required=True)
        parser.add_argument("--FULL_REBUILD", default="false")
        known, _ = parser.parse_known_args(list(argv))  # Glue passes its own --JOB_NAME etc.: ignore them
        return {k: v for k, v in vars(known).items() if v is not None}
    present = [name for name in OPTIONAL if f"--{name}" in argv]
    resolved: dict[str, str] = getResolvedOptions(list(argv), REQUIRED + present)
    return resolved


def _session(on_glue: bool) -> SparkSession:
    if on_glue:
        from pyspark.sql import SparkSession

        return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return local_session()


def _on_glue() -> bool:
    try:
        import awsglue  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None, *, spark: SparkSession | None = None) -> int:
    """Run the transform once; returns the exit code (the script turns a non-zero code into a failed run)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = list(sys.argv if argv is None else ["glue_job", *argv])
    try:
        options = parse_arguments(args)
        full_rebuild = _truthy(options.get("FULL_REBUILD", "false"))
    except (ValueError, SystemExit) as exc:
        log.error("bad job arguments: %s", exc)
        return int(ExitCode.CONFIG)
    settings = Settings(lake_uri=options["LAKE_URI"])
    try:
        session = spark or _session(_on_glue())
        result = run_transform(
            settings, full_rebuild=full_rebuild, engine="spark", command="glue transform", spark=session
        )
    except LakeLockedError as exc:
        log.error("lake is busy: %s", exc)
        return int(exc.exit_code)
    except WistiaAnalyticsError as exc:  # Spark unavailable and every other error of ours: its own exit code
        log.error("%s", exc)
        return int(exc.exit_code)
    log.info("transform %s", summary(result))
    if result.error:
        log.error("%s", result.error)
    return result.exit_code


def run() -> None:
    """Script entry: exit with `main`'s code so Glue marks a failed transform as a failed job run."""
    code = main()
    if code != 0:
        sys.exit(code)


if __name__ == "__main__":
    run()

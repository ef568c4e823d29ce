"""The Lambda handler module imports no heavy engine: measured with `python -X importtime` in the dev venv."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.aws

HEAVY = {"duckdb", "pyarrow", "pyspark", "streamlit", "altair", "pandas"}


def test_lambda_handler_imports_no_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import wistia_analytics.aws.lambda_handler"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "wistia_analytics" in imported and "httpx" in imported  # the measurement itself works
    assert not imported & HEAVY, imported & HEAVY

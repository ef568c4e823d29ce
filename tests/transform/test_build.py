"""The transform run's result: its exit code comes from the product's one table of codes."""

from __future__ import annotations

import pytest

from wistia_analytics.errors import ExitCode
from wistia_analytics.lake.runs import RunStatus
from wistia_analytics.transform.build import TransformResult


@pytest.mark.parametrize(
    ("status", "code"),
    [(RunStatus.SUCCESS, ExitCode.OK), (RunStatus.PARTIAL, ExitCode.PARTIAL), (RunStatus.FAILED, ExitCode.FAILURE)],
)
def test_exit_code_by_status(status: RunStatus, code: ExitCode) -> None:
    assert TransformResult("r", "full", status, [], {}, 0, 0.0).exit_code == int(code)

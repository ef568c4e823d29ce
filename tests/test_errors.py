"""The one error root: every error the product raises on purpose derives from it, with the right exit code."""

from __future__ import annotations

import pytest

from wistia_analytics.aws.lambda_handler import IngestFailedError, InvalidEventError, TransformFailedError
from wistia_analytics.aws.secrets import TokenNotSetError, TokenSecretError, TokenSecretUnavailableError
from wistia_analytics.dashboard.launcher import DashboardAddressError, DashboardStartError
from wistia_analytics.errors import (
    ConfigurationError,
    DataQualityError,
    ExitCode,
    LakeUriError,
    MissingDependencyError,
    NoLakeError,
    UnavailableError,
    exit_code_for,
)
from wistia_analytics.lake.lock import LakeLockedError, LakeLockLostError
from wistia_analytics.lake.storage import LakePathError
from wistia_analytics.wistia.api_errors import HostUnreachableError


@pytest.mark.parametrize(
    ("error", "root", "code", "old_base"),
    [
        (LakeLockedError("busy", None), UnavailableError, ExitCode.UNAVAILABLE, RuntimeError),
        (LakeLockLostError("lost"), UnavailableError, ExitCode.UNAVAILABLE, RuntimeError),
        (LakePathError("bad"), ConfigurationError, ExitCode.CONFIG, ValueError),
        (DashboardStartError("down"), UnavailableError, ExitCode.UNAVAILABLE, RuntimeError),
        (DashboardAddressError("in use"), ConfigurationError, ExitCode.CONFIG, RuntimeError),
        (TokenSecretError("x"), ConfigurationError, ExitCode.CONFIG, RuntimeError),
        (TokenNotSetError("x"), ConfigurationError, ExitCode.CONFIG, RuntimeError),
        (TokenSecretUnavailableError("x"), UnavailableError, ExitCode.UNAVAILABLE, TokenSecretError),
        (IngestFailedError("x"), UnavailableError, ExitCode.UNAVAILABLE, RuntimeError),
        (TransformFailedError("x"), DataQualityError, ExitCode.PARTIAL, RuntimeError),
        (InvalidEventError("x"), ConfigurationError, ExitCode.CONFIG, ValueError),
        (HostUnreachableError("h", "dns"), ConfigurationError, ExitCode.CONFIG, ConfigurationError),
    ],
)
def test_named_errors_derive_from_the_root(error: Exception, root: type, code: ExitCode, old_base: type) -> None:
    assert isinstance(error, root) and isinstance(error, old_base)  # old `except RuntimeError:` still catch them
    assert exit_code_for(error) == code


def test_messages() -> None:
    assert str(NoLakeError("/x/lake")) == "no lake at /x/lake: run `wistia-analytics ingest` first"
    assert str(LakeUriError("", "is empty")) == "LAKE_URI='' is empty"
    assert str(MissingDependencyError("an S3 lake", "aws")) == (
        "an S3 lake needs the 'aws' extra: pip install 'wistia-analytics[aws]'"
    )

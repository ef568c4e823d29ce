"""The product's one error root, with the exit code each error carries.

Every error we raise on purpose derives from `WistiaAnalyticsError` and is named for what the caller should do
about it (fix the settings, retry later, wait for the lake, file a bug), the way singer-sdk names its API
errors. Commands never choose an exit code by hand: they return `error.exit_code`, so the codes documented in
docs/ingestion.md are decided here and only here.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes; each error class carries one of them."""

    OK = 0
    FAILURE = 1  # a bug or an unexpected error: look at the message
    CONFIG = 2  # fix the settings before running again; retrying cannot help
    PARTIAL = 3  # the run finished, but some items were skipped or failed checks
    UNAVAILABLE = 4  # the API (or the lake) kept failing or was busy: run again later
    INCOMPLETE = 5  # the run reached its deadline: what it fetched is durable; run again to continue
    SCHEMA_DRIFT = 6  # a stream's records no longer have the shape we read (a renamed field): fix the model


class WistiaAnalyticsError(Exception):
    """Root of every error the product raises on purpose; `exit_code` tells the command how to end."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE


class ConfigurationError(WistiaAnalyticsError):
    """A setting, an option or the environment is wrong: fix it before running again (retrying cannot help)."""

    exit_code = ExitCode.CONFIG


class MissingDependencyError(ConfigurationError):
    """An optional package (an extra) that this setting needs is not installed: install the extra named."""

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'wistia-analytics[{extra}]'")


class NoLakeError(ConfigurationError):
    """The lake the settings point at holds nothing yet: ingest first."""

    def __init__(self, lake: str) -> None:
        self.lake = lake
        super().__init__(f"no lake at {lake}: run `wistia-analytics ingest` first")


class LakeUriError(ConfigurationError):
    """`LAKE_URI` is empty, names an unsupported scheme, or a local path that cannot be a folder."""

    def __init__(self, uri: str, problem: str) -> None:
        self.uri = uri
        super().__init__(f"LAKE_URI={uri!r} {problem}")


class PlaceholderSettingError(ConfigurationError):
    """A setting still holds the placeholder copied from `.env.example` (never echoed: it may be a secret)."""

    def __init__(self, setting: str, hint: str) -> None:
        self.setting = setting
        super().__init__(f"{setting} still holds a placeholder (as copied from .env.example): {hint}")


class UnavailableError(WistiaAnalyticsError):
    """Something outside us is busy or down (the API, the lake's lock, an engine): run again later."""

    exit_code = ExitCode.UNAVAILABLE


class DataQualityError(WistiaAnalyticsError):
    """The run finished but what it produced failed checks: the previous published version stays current."""

    exit_code = ExitCode.PARTIAL


class RunIncompleteError(WistiaAnalyticsError):
    """The run stopped at its deadline (`--max-duration`, a Lambda's remaining time) with its position recorded."""

    exit_code = ExitCode.INCOMPLETE


class SchemaDriftError(DataQualityError):
    """Systemic bad input: a stream's quarantine share passed its threshold, so publishing it would mislead."""

    exit_code = ExitCode.SCHEMA_DRIFT


class InternalError(WistiaAnalyticsError):
    """A broken invariant of our own: a bug to report, never the user's fault."""

    exit_code = ExitCode.FAILURE


def exit_code_for(exc: BaseException | None) -> int:
    """The process exit code for the error that ended a command (`None`: success; not ours: a bug)."""
    if exc is None:
        return int(ExitCode.OK)
    if isinstance(exc, WistiaAnalyticsError):
        return int(exc.exit_code)
    return int(ExitCode.FAILURE)

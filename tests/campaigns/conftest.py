"""Campaign fixtures: one sandbox process per pinned day, a workspace of lakes and logs, reference lakes.

Session-scoped: every campaign test judges against the same uninterrupted runs, and the secrets test scans
the whole workspace (every lake and every captured output of the session's campaign runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmarks.campaign_crash import PRIOR_DAY, Span, timed_run
from benchmarks.campaign_support import (
    SandboxProcess,
    Workspace,
    copy_lake,
    lake_digests,
    new_token,
    run_args,
    sandbox_process,
)


@dataclass(frozen=True)
class References:
    """Uninterrupted runs: on a fresh lake, and on a lake with two days of history (`prior`)."""

    prior: Path
    digests: dict[str, dict[str, str]]  # fresh | history -> table digests
    spans: dict[str, Span]  # fresh | history -> timing of one normal run


@pytest.fixture(scope="session")
def campaign_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("campaigns")


@pytest.fixture(scope="session")
def campaign_token() -> str:
    return new_token()


@pytest.fixture(scope="session")
def campaign_sandbox(campaign_root: Path, campaign_token: str) -> Iterator[SandboxProcess]:
    """The tiny account on the campaign's day (2026-11-25), in its own process."""
    with sandbox_process(campaign_token, campaign_root / "sandbox-today.log") as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def prior_sandbox(campaign_root: Path, campaign_token: str) -> Iterator[SandboxProcess]:
    """The same account two days earlier."""
    with sandbox_process(campaign_token, campaign_root / "sandbox-prior.log", today=PRIOR_DAY) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def workspace(campaign_root: Path, campaign_sandbox: SandboxProcess) -> Workspace:
    return Workspace(campaign_root, campaign_sandbox.url, campaign_sandbox.token)


@pytest.fixture(scope="session")
def references(workspace: Workspace, prior_sandbox: SandboxProcess) -> References:
    prior = workspace.lake("prior")
    made = workspace.run(prior, *run_args(PRIOR_DAY), label="prior", api_url=prior_sandbox.url)
    assert made.returncode == 0, made.stderr[-2000:]
    fresh, fresh_span = timed_run(workspace, workspace.lake("reference-fresh"), *run_args(), label="reference-fresh")
    history_lake = copy_lake(prior, workspace.lake("reference-history"))
    history, history_span = timed_run(workspace, history_lake, *run_args(), label="reference-history")
    assert (fresh.returncode, history.returncode) == (0, 0), (fresh.stderr[-2000:], history.stderr[-2000:])
    digests = {"fresh": lake_digests(workspace.lake("reference-fresh")), "history": lake_digests(history_lake)}
    assert all(d != "missing" for d in digests["fresh"].values()), digests["fresh"]
    return References(prior, digests, {"fresh": fresh_span, "history": history_span})

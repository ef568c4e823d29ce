"""The GitHub workflows: schema-valid (check-jsonschema's vendored GitHub schema, offline), and doing what
the docs say: CI runs `make test`; a `v*` tag deploys with an OIDC role and repository variables."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws.cfn_yaml import ROOT

pytestmark = pytest.mark.aws

WORKFLOWS = ROOT / ".github" / "workflows"


def _check_jsonschema() -> str:
    found = Path(sys.executable).with_name("check-jsonschema")
    if found.exists():
        return str(found)
    on_path = shutil.which("check-jsonschema")
    if on_path is None:
        pytest.fail("check-jsonschema is missing: it is in the dev extras (pip install -e '.[dev]', or make venv)")
    return on_path


def _load(name: str) -> dict[Any, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict)
    return doc


def test_workflows_match_the_github_workflow_schema() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert [Path(f).name for f in files] == ["ci.yml", "deploy.yml"]
    done = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_ci_runs_the_readme_test_command() -> None:
    ci = _load("ci.yml")
    (job,) = ci["jobs"].values()
    assert "make test" in _runs(job).splitlines()
    assert {s.get("uses", "").split("@")[0] for s in job["steps"]} >= {"actions/setup-python", "actions/setup-java"}


def test_deploy_runs_on_version_tags_with_oidc_and_repository_variables() -> None:
    deploy = _load("deploy.yml")
    assert deploy[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    assert deploy["permissions"]["id-token"] == "write"
    (job,) = deploy["jobs"].values()
    (creds,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in creds["with"]
    runs = _runs(job)
    assert "python -m build --wheel" in runs
    assert "sam build --template template.yaml" in runs
    for flag in ("--no-confirm-changeset", "--no-fail-on-empty-changeset", "--capabilities CAPABILITY_IAM"):
        assert flag in runs
    for parameter in ("ArtifactsBucket", "PackageWheelS3Uri", "AlertEmail", "ScheduleExpression"):
        assert f'"{parameter}=' in runs
    assert "secrets." not in (WORKFLOWS / "deploy.yml").read_text()  # no stored AWS keys

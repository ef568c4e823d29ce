"""The layers are rules: `lint-imports` keeps them on the real tree and breaks on a forbidden import.

The contracts live in pyproject.toml ([tool.importlinter]); docs/architecture.md explains them. Each case
below copies the package to a temporary folder, adds one module that imports across a rule, and runs the
real `lint-imports` over the copy with the project's own contracts: the named contract must break.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _config() -> str:
    """The project's import-linter section alone, as a config file for the copy."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[importlinter]", f"root_package = {doc['root_package']}"]
    lines.append(f"include_external_packages = {doc['include_external_packages']}")
    for contract in doc["contracts"]:
        lines.append(f"\n[importlinter:contract:{contract['id']}]")
        for key, value in contract.items():
            if key == "id":
                continue
            if isinstance(value, list):
                lines.append(f"{key} =\n" + "\n".join(f"    {v}" for v in value))
            else:
                lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _lint(src: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    config = tmp / ".importlinter"
    config.write_text(_config())
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(config)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_real_tree_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint(ROOT / "src", tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "body", "contract"),
    [
        ("transform/_probe.py", "import wistia_analytics.sandbox.server\n", "The transform never reaches the API"),
        ("transform/_probe.py", "from wistia_analytics.ingest import ingestor\n", "The transform never reaches"),
        ("wistia/_probe.py", "import wistia_analytics.lake.storage\n", "Layers follow the data flow"),
        ("lake/_probe.py", "import wistia_analytics.transform.build\n", "Layers follow the data flow"),
        ("contracts/_probe.py", "import wistia_analytics.settings\n", "The core contracts"),
        ("sandbox/_probe.py", "import wistia_analytics.redact\n", "The sandbox depends only on the core contracts"),
        ("query/_probe.py", "import wistia_analytics.wistia.client\n", "The dashboard and query read only"),
        ("pipeline/ingest_stage.py", "import wistia_analytics.sandbox.server\n", "The ingest Lambda loads no sandbox"),
        ("lake/_probe.py", "from wistia_analytics.lake import runs\n", None),  # a sibling import is fine...
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, body: str, contract: str | None) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "wistia_analytics", src / "wistia_analytics", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = src / "wistia_analytics" / module
    target.write_text((target.read_text() if target.exists() else "") + body)  # a new module, or one more import
    done = _lint(src, tmp_path)
    if contract is None:
        assert done.returncode == 0, done.stdout[-3000:]
        return
    assert done.returncode == 1, done.stdout[-3000:]
    broken = [line for line in done.stdout.splitlines() if line.endswith("BROKEN") or " BROKEN" in line]
    assert broken, done.stdout[-3000:]
    assert contract in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert Path(module).stem in done.stdout


def test_a_cycle_between_sibling_modules_breaks_the_acyclic_contract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "wistia_analytics", src / "wistia_analytics", ignore=shutil.ignore_patterns("__pycache__")
    )
    lake = src / "wistia_analytics" / "lake"
    (lake / "storage.py").write_text(
        (lake / "storage.py").read_text() + "\nfrom wistia_analytics.lake import runs  # noqa\n"
    )
    done = _lint(src, tmp_path)
    assert done.returncode == 1
    assert "No cycles between the modules of any package BROKEN" in " ".join(done.stdout.split())

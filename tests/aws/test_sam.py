"""`sam validate --lint` and `sam build` with the SAM CLI from its own virtualenv (`make sam-venv`).

The built Lambda zip is then checked from the outside: its size, that no heavy engine is inside, and that
the handlers import in an interpreter that sees nothing but the zip (so a module the zip lacks fails here,
not in AWS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aws.cfn_yaml import INFRA, ROOT, TEMPLATE

pytestmark = [pytest.mark.aws, pytest.mark.slow]

SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # AWS's limit for a function's unzipped code
HEAVY = ("duckdb", "pyarrow", "pyspark", "streamlit", "altair", "pandas", "sqlglot", "numpy")
# Measured with `sam build` on this machine (unzipped; both functions share one zip) on 2026-12-03: before issue 13
# the zip held the sandbox, transform/channels.py and numpy; after, none of them.
ZIP_BYTES_BEFORE = 114_842_530  # after: 56,114,987 bytes (zipped: 43.9 MB before, 27.0 MB after)


def sam(*args: str, cwd: Path = INFRA) -> subprocess.CompletedProcess[str]:
    if not SAM.exists():
        pytest.fail("the SAM CLI is missing: run `make sam-venv` (make test does it first)")
    env = os.environ | {
        "SAM_CLI_TELEMETRY": "0",  # no network calls from the CLI
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "PYTHON": str(SAM.with_name("python")),  # the pip that infra/lambda/Makefile runs: one we know has pip
    }
    return subprocess.run([str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_sam_validate_lint_is_clean() -> None:
    done = sam("validate", "--lint", "--template", str(TEMPLATE))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    done = sam("build", "--template", str(TEMPLATE), "--build-dir", str(build_dir))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "Build Succeeded" in done.stdout + done.stderr
    return build_dir


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("function", ["IngestFunction", "ReportFunction"])
def test_sam_build_makes_a_small_zip_holding_only_what_ingestion_needs(built: Path, function: str) -> None:
    code = built / function
    assert (built / "template.yaml").is_file()
    size = _size(code)
    print(f"{function} zip: {size / 2**20:.1f} MiB unzipped (before issue 13: {ZIP_BYTES_BEFORE / 2**20:.1f} MiB)")
    assert size < LAMBDA_UNZIPPED_LIMIT / 2
    assert size < ZIP_BYTES_BEFORE  # no sandbox, no numpy: smaller than it was
    top = {p.name.split("-")[0].lower() for p in code.iterdir()}
    assert not top & set(HEAVY), top & set(HEAVY)
    package = {p.name for p in (code / "wistia_analytics").iterdir()}
    assert {"aws", "ingest", "lake", "wistia", "contracts", "errors.py", "settings.py"} <= package
    assert not package & {"sandbox", "transform", "dashboard", "query", "quality", "commands", "cli.py"}
    assert sorted(p.name for p in (code / "wistia_analytics" / "pipeline").iterdir()) == [
        "__init__.py",
        "ingest_stage.py",
    ]
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from wistia_analytics.aws import lambda_handler as h;"
        "assert callable(h.ingest_handler) and callable(h.report_handler);"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[2:])))"
    )
    # -S -I: no site-packages, no PYTHONPATH, no user site: only the standard library and the zip.
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", probe, str(code), *HEAVY],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr[-3000:]

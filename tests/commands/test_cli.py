"""The command line as a user runs it: a real subprocess, real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from wistia_analytics.cli import app


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for command in ("sandbox", "demo", "version"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_python_dash_m_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wistia_analytics", "version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip()


def test_sandbox_command_prints_the_url_then_serves() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wistia_analytics",
            "sandbox",
            "--port",
            "0",
            "--size",
            "tiny",
            "--today",
            "2026-11-25",
            "--token",
            "s3cr3t-value",
            "--seed",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("WISTIA_API_URL="))
        assert all("s3cr3t-value" not in line for line in lines)  # a custom token is never echoed
        auth = {"Authorization": "Bearer s3cr3t-value"}
        resp = httpx.get(f"{url}/stats/account.json", headers=auth)
        assert resp.status_code == 200 and resp.json()["play_count"] > 0
        modern = url.removesuffix("/v1") + "/modern"
        assert f"# modern analytics API at {modern} (derived from WISTIA_API_URL)\n" in lines
        resp = httpx.get(
            f"{modern}/analytics/medias/{httpx.get(f'{url}/medias.json', headers=auth).json()[0]['hashed_id']}",
            params={"start_date": "2026-11-01", "end_date": "2026-11-25"},
            headers=auth,
        )
        assert resp.status_code == 200 and resp.headers["X-Wistia-API-Version"] == "2026-03"
        assert resp.json()["plays"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "huge"], "--size"),
        (["--today", "25/11/2026"], "--today"),
        (["--modern-access", "maybe"], "--modern-access"),
        (["--fault-kinds", "http_500,meteor"], "meteor"),
    ],
)
def test_sandbox_rejects_bad_options_without_a_traceback(args: list[str], message: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wistia_analytics", "sandbox", "--port", "0", *args],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_an_unexpected_error_is_one_line_asking_for_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    from wistia_analytics.commands import error_report, status

    def broken(output: str, **_: object) -> int:
        raise RuntimeError("an invariant\nbroke")

    monkeypatch.setattr(status, "status_command", broken)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert result.output == (
        "internal error: RuntimeError: an invariant broke\n"
        "this is a bug: run the command again with --debug for the traceback, and report it\n"
    )
    try:
        debug = CliRunner().invoke(app, ["--debug", "status"])
        assert isinstance(debug.exception, RuntimeError)  # propagated, traceback and all
    finally:
        error_report.set_debug(False)

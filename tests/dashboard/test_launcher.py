"""`serve()`: the command it runs, the lake path it passes, and a start that fails loudly."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from wistia_analytics.dashboard import launcher as server
from wistia_analytics.errors import ExitCode, exit_code_for


def test_command_runs_the_app_headless_on_the_given_address() -> None:
    argv = server.command("0.0.0.0", 8599)
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(server.APP)]
    flags = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert flags["--server.headless"] == "true"
    assert flags["--server.address"] == "0.0.0.0"
    assert flags["--server.port"] == "8599"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert server.url("0.0.0.0", 8599) == "http://127.0.0.1:8599/"
    assert server.url("127.0.0.1", 8501) == "http://127.0.0.1:8501/"


def test_a_local_lake_is_passed_as_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert server._absolute_lake("./lake") == str(tmp_path / "lake")
    assert server._absolute_lake(f"file://{tmp_path}/x") == str(tmp_path / "x")
    assert server._absolute_lake("s3://bucket/prefix") == "s3://bucket/prefix"


def test_a_port_in_use_fails_instead_of_hanging(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(server.DashboardStartError, match="exited"):
            server.serve("127.0.0.1", port, str(tmp_path), timeout=30)


def test_a_busy_port_is_refused_before_anything_starts() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(server.DashboardAddressError, match=f"port {port} on 127.0.0.1 is already in use"):
            server.check_port_free("127.0.0.1", port)
        with pytest.raises(server.DashboardAddressError, match="already in use"):
            server.run_dashboard("127.0.0.1", port, "/nowhere", on_ready=lambda url: None)
    server.check_port_free("127.0.0.1", port)  # free again once closed
    assert exit_code_for(server.DashboardAddressError("x")) == ExitCode.CONFIG
    assert exit_code_for(server.DashboardStartError("x")) == ExitCode.UNAVAILABLE

"""Every failure a user can cause by configuration: one or two lines saying what is wrong and what to do.

Each test runs the real command line (`python -m wistia_analytics`) in a subprocess whose working directory is
an empty tmp folder, and checks the exact message, the exit code, that no traceback is shown, and that nothing
was written outside the lake (no `bronze/`, `_runs/`, `_state/`, `_lock/` in the working directory).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transform.fixture_lake import build
from wistia_analytics.crashpoints import ENV as CRASH_ENV
from wistia_analytics.lake.storage import Storage

REPO = Path(__file__).resolve().parents[2]
LAKE_DIRS = ("bronze", "silver", "gold", "_runs", "_state", "_lock", "lake")
EMPTY_URI = (
    "configuration error: LAKE_URI='' is empty: use a local folder (./lake), file:///path or s3://bucket/prefix, "
    "or unset it for ./lake\n"
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus every setting of ours, so the machine's own cannot leak into a test."""
    ours = ("WISTIA_", "LAKE_", "SANDBOX_", "INGEST_", "ALERT_", "LOG_FORMAT", "CHANNEL_", "HASH_", "DUCKDB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours) and k != CRASH_ENV}
    return env | {"COLUMNS": "200"} | extra


def cli(cwd: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wistia_analytics", *args],
        capture_output=True,
        text=True,
        env=clean_env(**env),
        cwd=cwd,
        timeout=timeout,
    )


def assert_clean(out: subprocess.CompletedProcess[str], cwd: Path, *, allowed: tuple[str, ...] = ()) -> None:
    """No traceback anywhere, and the working directory holds nothing but what the test put there."""
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    stray = sorted(p.name for p in cwd.iterdir() if p.name not in allowed)
    assert not [name for name in stray if name in LAKE_DIRS], stray
    assert stray == [], stray


@pytest.fixture()
def cwd(tmp_path: Path) -> Path:
    path = tmp_path / "cwd"
    path.mkdir()
    return path


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    """A lake with Bronze (the hand-built fixture), outside the working directory."""
    path = tmp_path / "lake"
    build(Storage.from_uri(str(path)))
    return path


# ---- LAKE_URI -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args", [["ingest"], ["transform"], ["status"], ["query", "select 1"], ["dashboard"], ["run"], ["demo"]]
)
def test_an_empty_lake_uri_is_refused_and_nothing_is_written(cwd: Path, args: list[str]) -> None:
    out = cli(cwd, *args, LAKE_URI="")
    assert (out.returncode, out.stderr) == (2, EMPTY_URI)
    assert out.stdout == ""
    assert_clean(out, cwd)


@pytest.mark.parametrize(
    ("uri", "args", "message"),
    [
        (
            "/etc/passwd/lake",
            ["ingest"],
            "configuration error: LAKE_URI='/etc/passwd/lake' cannot be a folder: it is inside /etc/passwd, "
            "which is a file; point LAKE_URI at a folder",
        ),
        (
            "/etc/passwd/lake",
            ["status"],
            "configuration error: LAKE_URI='/etc/passwd/lake' cannot be a folder: it is inside /etc/passwd, "
            "which is a file; point LAKE_URI at a folder",
        ),
        (
            "/proc/nolake",
            ["ingest"],
            "configuration error: LAKE_URI='/proc/nolake' cannot be created or written (No such file or "
            "directory): point LAKE_URI at a writable folder",
        ),
        ("/proc/nolake", ["status"], "error: no lake at /proc/nolake: run `wistia-analytics ingest` first"),
        (
            "ftp://foo/bar",
            ["ingest"],
            "configuration error: LAKE_URI='ftp://foo/bar' has an unsupported scheme 'ftp://': use a local "
            "folder (./lake), file:///path or s3://bucket/prefix",
        ),
        (
            "gs://bucket/x",
            ["status"],
            "configuration error: LAKE_URI='gs://bucket/x' has an unsupported scheme 'gs://': use a local "
            "folder (./lake), file:///path or s3://bucket/prefix",
        ),
    ],
)
def test_a_bad_lake_uri_is_one_line(cwd: Path, uri: str, args: list[str], message: str) -> None:
    out = cli(cwd, *args, LAKE_URI=uri)
    assert (out.returncode, out.stderr) == (2, message + "\n")
    assert_clean(out, cwd)


def test_an_s3_lake_without_the_aws_extra_names_the_extra(cwd: Path) -> None:
    code = (
        "import sys; sys.modules['s3fs'] = None  # as if the aws extra were not installed\n"
        "from wistia_analytics.cli import main; sys.argv = ['wistia-analytics', 'status']; main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(LAKE_URI="s3://bucket/wistia"),
        cwd=cwd,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr == (
        "configuration error: LAKE_URI='s3://bucket/wistia' (an S3 lake) needs the 'aws' extra: "
        "pip install 'wistia-analytics[aws]'\n"
    )
    assert_clean(out, cwd)


def test_debug_shows_the_traceback(cwd: Path) -> None:
    out = cli(cwd, "--debug", "status", LAKE_URI="")
    assert out.returncode == 1
    assert "Traceback" in out.stderr and "LakeUriError: LAKE_URI='' is empty" in out.stderr
    assert list(cwd.iterdir()) == []


# ---- a lake that does not exist yet ---------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["transform"], ["status"], ["status", "--format", "json"], ["query", "select 1"]])
@pytest.mark.parametrize("exists", [False, True])
def test_reading_commands_refuse_a_missing_lake_and_create_nothing(
    cwd: Path, tmp_path: Path, args: list[str], exists: bool
) -> None:
    missing = tmp_path / "nolake"
    if exists:
        missing.mkdir()  # an empty folder is no lake either
    out = cli(cwd, *args, LAKE_URI=str(missing))
    assert (out.returncode, out.stderr) == (2, f"error: no lake at {missing}: run `wistia-analytics ingest` first\n")
    assert out.stdout == ""
    assert missing.exists() is exists and (not exists or list(missing.iterdir()) == [])
    assert_clean(out, cwd)


def test_dashboard_refuses_a_missing_lake_before_starting(cwd: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nolake"
    out = cli(cwd, "dashboard", "--port", str(free_port()), LAKE_URI=str(missing), timeout=30)
    assert (out.returncode, out.stderr) == (2, f"error: no lake at {missing}: run `wistia-analytics ingest` first\n")
    assert not missing.exists()
    assert_clean(out, cwd)


# ---- settings -------------------------------------------------------------------------------------------------
PLACEHOLDER = (
    "configuration error: WISTIA_API_TOKEN still holds a placeholder (as copied from .env.example): put your "
    "Wistia API token there (Wistia: Account Settings -> API), or delete the line to run on the built-in sandbox\n"
)


def test_env_example_copied_to_env_is_refused(cwd: Path) -> None:
    (cwd / ".env").write_text((REPO / ".env.example").read_text())
    out = cli(cwd, "ingest")
    assert (out.returncode, out.stderr) == (2, PLACEHOLDER)
    assert "<your-wistia-api-token>" not in out.stdout + out.stderr
    assert_clean(out, cwd, allowed=(".env",))  # the .env's LAKE_URI=./lake was not created


@pytest.mark.parametrize("token", ["<your-wistia-api-token>", "your-token-here", "changeme", " CHANGEME "])
def test_placeholder_tokens_are_refused(cwd: Path, lake: Path, token: str) -> None:
    out = cli(cwd, "status", LAKE_URI=str(lake), WISTIA_API_TOKEN=token)
    assert (out.returncode, out.stderr) == (2, PLACEHOLDER)
    assert_clean(out, cwd)


def test_sandbox_size_medium_is_accepted_and_a_bad_size_named(cwd: Path, lake: Path) -> None:
    ok = cli(cwd, "status", "--format", "json", LAKE_URI=str(lake), SANDBOX_SIZE="medium")
    assert ok.returncode == 0, ok.stderr
    bad = cli(cwd, "status", LAKE_URI=str(lake), SANDBOX_SIZE="huge")
    assert (bad.returncode, bad.stderr) == (
        2,
        "configuration error: SANDBOX_SIZE: String should match pattern '^(empty|tiny|small|medium|large)$'\n",
    )
    assert_clean(bad, cwd)


# ---- an API host that cannot be reached -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("where", ["refused", "dns"])
def test_an_unreachable_api_host_fails_fast_naming_the_host(cwd: Path, tmp_path: Path, where: str) -> None:
    port = free_port()  # nobody listens there once the probe is closed
    url, host = (
        (f"http://127.0.0.1:{port}/v1", f"127.0.0.1:{port}")
        if where == "refused"
        else ("https://no-such-host.invalid/v1", "no-such-host.invalid")
    )
    token = "t0ken-never-printed-4f2a"
    started = time.monotonic()
    out = cli(cwd, "ingest", LAKE_URI=str(tmp_path / "lake"), WISTIA_API_TOKEN=token, WISTIA_API_URL=url)
    took = time.monotonic() - started
    assert out.returncode == 2, out.stderr
    what = (
        f"the API host {host} refused the connection (nothing listens there: a wrong URL or port, or the server "
        "is not running)"
        if where == "refused"
        else f"cannot resolve the API host {host} (DNS lookup failed: a wrong URL, or no network)"
    )
    line = f"configuration error: projects: {what}. Check the WISTIA_API_URL setting (environment variable or .env)."
    assert out.stderr.splitlines()[-1] == line
    assert len(out.stderr.splitlines()) <= 2  # the ingestor's own warning line, then ours
    assert token not in out.stdout + out.stderr
    assert took < 30  # not 6 attempts per stream (~20 s each)
    assert_clean(out, cwd)


# ---- the dashboard's port and its child process ---------------------------------------------------------------
@pytest.fixture()
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


def port_message(port: int) -> str:
    return (
        f"configuration error: port {port} on 127.0.0.1 is already in use: stop what serves there, or pass "
        "--port with a free port\n"
    )


def test_demo_checks_the_port_before_running_the_pipeline(cwd: Path, busy_port: int) -> None:
    out = cli(cwd, "demo", "--size", "tiny", "--port", str(busy_port), timeout=60)
    assert (out.returncode, out.stderr) == (2, port_message(busy_port))
    assert out.stdout == ""  # no pipeline ran
    assert_clean(out, cwd)  # and ./lake was not created


def test_dashboard_on_a_busy_port_is_one_line(cwd: Path, lake: Path, busy_port: int) -> None:
    out = cli(cwd, "dashboard", "--port", str(busy_port), LAKE_URI=str(lake), timeout=60)
    assert (out.returncode, out.stderr) == (2, port_message(busy_port))
    assert out.stdout == ""
    assert_clean(out, cwd)


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie serves nothing (its parent, gone, no longer reaps it)


def start_serving(cwd: Path, args: list[str], env: dict[str, str], marker: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wistia_analytics", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(**env),
        cwd=cwd,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"{args} exited with {proc.returncode} before serving")
        if marker in line:
            return proc
    proc.kill()
    raise AssertionError(f"{args} did not start serving in time")


@pytest.mark.parametrize("command", ["dashboard", "demo"])
def test_sigterm_stops_the_streamlit_child_too(cwd: Path, lake: Path, command: str) -> None:
    port = free_port()
    if command == "dashboard":
        proc = start_serving(cwd, ["dashboard", "--port", str(port)], {"LAKE_URI": str(lake)}, "Dashboard:")
    else:
        env = {"LAKE_URI": str(cwd.parent / "demo-lake")}
        proc = start_serving(cwd, ["demo", "--size", "tiny", "--port", str(port)], env, "Dashboard:")
    try:
        (child,) = children(proc.pid)
        assert not gone(child)
        proc.terminate()  # SIGTERM, as systemd, docker or `kill` send it
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        while not gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(child), f"the Streamlit child {child} outlived `{command}`"
        with socket.socket() as probe:  # and nothing serves on the port any more
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_clean_dirs(cwd)


def assert_clean_dirs(cwd: Path) -> None:
    assert [p.name for p in cwd.iterdir()] == []

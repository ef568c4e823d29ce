"""Shared parts of the crash, idempotence, concurrency and secrets campaigns (benchmarks and tests/campaigns).

Why one module: the benchmarks and their reduced test versions must judge a lake the same way.
- `sandbox_process`: the Wistia stand-in in its own process (pinned clock and first day, a random token given
  through the environment, never on a command line), so a `run` killed with SIGKILL never takes it down.
- `Workspace`: runs `wistia-analytics` as a subprocess with a clean environment, keeps every stdout/stderr as a
  file (the secrets scan reads them all), and can kill a run at a chosen moment.
- `lake_digests` / `content_hash`: every Silver and Gold table and the quarantine read through the catalog,
  lineage columns left out (they name the run and file that delivered a row, which a re-run legitimately
  changes), floats rounded to 1e-9, rows sorted, hashed. Quarantine rows are compared as a set: a re-fetch
  after a crash delivers a bad record to Bronze twice by design (D4).
- `killed_phase`: where a killed run was, read from its run records and manifests.
- `scan_for_token`: every byte of a lake (gzip decompressed, Parquet as bytes and as values) and of the logs.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from wistia_analytics.crashpoints import ENV as CRASH_ENV
from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.runs import RunRecord, RunStatus, latest_runs
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore, layer_and_name
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.transform.models import QUARANTINE_TABLE
from wistia_analytics.transform.processed_files import TransformState

TODAY = date(2026, 11, 25)
HISTORY_START = date(2026, 11, 5)  # the tiny account's 21 days; pinned so that sandboxes on other days agree
SEED = 7
TOKEN_ENV = "CAMPAIGN_SANDBOX_TOKEN"  # how the sandbox process receives its token (not argv: `ps` shows argv)
LINEAGE_COLUMNS = frozenset({"ingested_at", "run_id", "source_file"})
UNPACED = "1000000"  # client budget: pacing at 600/min would make a tiny run 10 s of sleeping
# Settings a caller's shell may carry that would change what a campaign run does.
_DROPPED_ENV = ("WISTIA_", "LAKE_URI", "INGEST_", "SANDBOX_", "LOG_FORMAT", "ALERT_", "HASH_VISITOR", "CHANNEL_")


def new_token() -> str:
    """A fresh random token per campaign: the secrets scan looks for a string nothing else can contain."""
    return f"wtok-{secrets.token_hex(20)}"


# ---- the sandbox in its own process --------------------------------------------------------------------------
@dataclass
class SandboxProcess:
    url: str
    token: str
    process: subprocess.Popen[str]
    log: Path


@contextmanager
def sandbox_process(
    token: str,
    log: Path,
    *,
    today: date = TODAY,
    history_start: date = HISTORY_START,
    seed: int = SEED,
    size: str = "tiny",
    bad_records: float = 0.0,
) -> Iterator[SandboxProcess]:
    """Start `python -m benchmarks.campaign_support serve ...`; yield once it listens; stop it on exit."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.campaign_support",
        "serve",
        f"--today={today.isoformat()}",
        f"--history-start={history_start.isoformat()}",
        f"--seed={seed}",
        f"--size={size}",
        f"--bad-records={bad_records}",
    ]
    env = _base_env() | {TOKEN_ENV: token}
    repo = Path(__file__).resolve().parents[1]
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.PIPE, text=True, env=env, cwd=repo
        )
    try:
        url = _read_url(proc, timeout=60.0)
        yield SandboxProcess(url, token, proc, log)
    finally:
        if proc.stdin:
            proc.stdin.close()  # the server exits when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_url(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=max(deadline - time.monotonic(), 0.0)):
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("URL="):
                return line.strip().removeprefix("URL=")
    proc.kill()
    raise RuntimeError(f"sandbox process did not start (exit {proc.poll()})")


def _serve(argv: list[str]) -> int:
    """The sandbox process: serve until stdin closes (the parent exits or says stop)."""
    from wistia_analytics.sandbox import SandboxConfig, run_sandbox

    parser = argparse.ArgumentParser(prog="campaign_support serve")
    parser.add_argument("--today", type=date.fromisoformat, required=True)
    parser.add_argument("--history-start", type=date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--bad-records", type=float, default=0.0)
    args = parser.parse_args(argv)
    config = SandboxConfig(
        seed=args.seed,
        size=args.size,
        today=args.today,
        history_start=args.history_start,
        token=os.environ[TOKEN_ENV],
        rate_limit_per_minute=0,
        bad_records=args.bad_records,
    )
    with run_sandbox(config) as sandbox:
        print(f"URL={sandbox.base_url}", flush=True)
        sys.stdin.read()
    return 0


# ---- running the command ----------------------------------------------------------------------------------------
def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV) and k != CRASH_ENV}
    return env | {"COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Finished:
    """One finished (or killed) command: exit code (negative: killed by that signal), output, wall seconds."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Workspace:
    """A folder holding the campaign's lakes and a log of every command's output, against one sandbox."""

    root: Path
    api_url: str
    token: str
    log_format: str = "json"  # INFO-level log lines: more text for the secrets scan to read
    _count: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def lake(self, name: str) -> Path:
        return self.root / "lakes" / name

    def env(
        self, lake: Path, *, crash_at: str | None = None, api_url: str | None = None, token: str | None = None
    ) -> dict[str, str]:
        env = _base_env() | {
            "WISTIA_API_URL": api_url or self.api_url,
            "WISTIA_API_TOKEN": token or self.token,
            "LAKE_URI": str(lake),
            "WISTIA_REQUESTS_PER_MINUTE": UNPACED,
            "LOG_FORMAT": self.log_format,
        }
        if crash_at:
            env[CRASH_ENV] = crash_at
        return env

    def _log_paths(self, label: str) -> tuple[Path, Path]:
        with self._count_lock:
            self._count += 1
            n = self._count
        self.logs.mkdir(parents=True, exist_ok=True)
        return self.logs / f"{n:04d}-{label}.out", self.logs / f"{n:04d}-{label}.err"

    def start(
        self,
        lake: Path,
        *args: str,
        label: str = "run",
        crash_at: str | None = None,
        api_url: str | None = None,
        token: str | None = None,
    ) -> Started:
        """Start `wistia-analytics <args>` on `lake` (with another `token`, if given); output goes to log files."""
        out, err = self._log_paths(label)
        self.root.mkdir(parents=True, exist_ok=True)  # cwd: a folder with no .env file
        with out.open("w") as o, err.open("w") as e:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wistia_analytics", *args],
                stdout=o,
                stderr=e,
                stdin=subprocess.DEVNULL,
                env=self.env(lake, crash_at=crash_at, api_url=api_url, token=token),
                cwd=self.root,
            )
        return Started(tuple(args), proc, out, err, time.monotonic())

    def run(
        self,
        lake: Path,
        *args: str,
        label: str = "run",
        crash_at: str | None = None,
        api_url: str | None = None,
        token: str | None = None,
        timeout: float = 300.0,
    ) -> Finished:
        return self.start(lake, *args, label=label, crash_at=crash_at, api_url=api_url, token=token).wait(timeout)


@dataclass
class Started:
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float

    def wait(self, timeout: float = 300.0) -> Finished:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return self._finished(code)

    def kill_after(self, delay: float, timeout: float = 300.0) -> tuple[Finished, bool]:
        """SIGKILL `delay` seconds after the start unless it ended before; (result, whether it was killed)."""
        try:
            code = self.process.wait(timeout=max(delay - (time.monotonic() - self.started), 0.0))
            return self._finished(code), False
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
        return self._finished(self.process.wait(timeout=timeout)), True

    def _finished(self, code: int) -> Finished:
        seconds = time.monotonic() - self.started
        return Finished(
            self.args, code, self.out.read_text(errors="replace"), self.err.read_text(errors="replace"), seconds
        )


def run_args(today: date = TODAY, *extra: str) -> tuple[str, ...]:
    return ("run", f"--today={today.isoformat()}", *extra)


# ---- judging a lake ----------------------------------------------------------------------------------------------
def _normalized(value: object) -> object:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        rounded = round(value, 9)
        return 0.0 if rounded == 0 else rounded  # -0.0 and 0.0 are the same number
    if isinstance(value, Decimal):
        return _normalized(float(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_normalized(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _normalized(v)) for k, v in value.items()))
    return value


def table_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[str]:
    """The table's rows without lineage columns, normalized and sorted, one `repr` per row."""
    layer, name = layer_and_name(table)
    kept = [c for c in columns if c not in LINEAGE_COLUMNS]
    rows = con.execute(f"SELECT {', '.join(kept)} FROM {layer}.{name}").fetchall()
    lines = [repr(tuple(_normalized(v) for v in row)) for row in rows]
    if table == QUARANTINE_TABLE:
        lines = list(set(lines))
    return sorted(lines)


def lake_digests(lake: Path | str) -> dict[str, str]:
    """sha256 per published table (`missing` when a table is not published) of its normalized rows."""
    con, manifests = open_catalog(Storage.from_uri(str(lake)))
    try:
        out = {}
        for table in TABLES:
            manifest = manifests.get(table)
            if manifest is None:
                out[table] = "missing"
                continue
            lines = table_rows(con, table, [c for c, _ in manifest.columns])
            out[table] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        return out
    finally:
        con.close()


def content_hash(digests: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{k}={v}" for k, v in sorted(digests.items())).encode()).hexdigest()


def lake_hash(lake: Path | str) -> str:
    return content_hash(lake_digests(lake))


def differing_tables(got: dict[str, str], want: dict[str, str]) -> list[str]:
    return sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))


# ---- where a killed run was ------------------------------------------------------------------------------------
PHASES = ("startup", "ingest", "between", "transform", "publish", "finished")


def run_ids(lake: Path | str) -> set[str]:
    return {r.run_id for r in all_runs(lake)}


def all_runs(lake: Path | str) -> list[RunRecord]:
    return latest_runs(Storage.from_uri(str(lake)), 1_000_000)


def killed_phase(lake: Path | str, before: set[str]) -> str:
    """The phase a run was in when it died, from the records it left (run ids not in `before`).

    startup: no record yet; ingest: its ingest record is still `running`; between: ingest finished, no transform
    record; transform: transform record `running`, nothing published by it; publish: it had published at least
    one table (or saved its state); finished: both records ended (the kill came as the process was exiting).
    """
    storage = Storage.from_uri(str(lake))
    new = sorted((r for r in all_runs(lake) if r.run_id not in before), key=lambda r: r.run_id)
    if not new:
        return "startup"
    ingests = [r for r in new if r.command != "transform"]
    transforms = [r for r in new if r.command == "transform"]
    if any(r.status is RunStatus.RUNNING for r in ingests):
        return "ingest"
    if not transforms:
        return "between"
    record = transforms[-1]
    if record.status is not RunStatus.RUNNING:
        return "finished"
    store = TableStore(storage)
    published = any((m := store.current(t)) is not None and m.run_id == record.run_id for t in TABLES)
    if published or TransformState.load(storage).run_id == record.run_id:
        return "publish"
    return "transform"


def lock_present(lake: Path) -> bool:
    return (lake / LOCK_PATH).exists()


# ---- secrets -------------------------------------------------------------------------------------------------------
@dataclass
class ScanResult:
    files: int = 0
    parquet_files: int = 0
    gzip_files: int = 0
    hits: list[str] = field(default_factory=list)

    def add(self, other: ScanResult) -> None:
        self.files += other.files
        self.parquet_files += other.parquet_files
        self.gzip_files += other.gzip_files
        self.hits += other.hits


def _parquet_text(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Every value of a Parquet file as text (strings are usually dictionary-encoded or compressed on disk)."""
    rows = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    schema = con.execute("SELECT * FROM parquet_schema(?)", [str(path)]).fetchall()
    return repr(rows) + repr(schema)


def scan_for_token(root: Path, token: str) -> ScanResult:
    """Every file under `root` (hidden and temp files included): raw bytes, gunzipped bytes, Parquet values."""
    result = ScanResult()
    needle = token.encode()
    con = duckdb.connect()
    try:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            _scan_file(con, path, token, needle, result)
    finally:
        con.close()
    return result


def _gunzip_what_you_can(data: bytes) -> bytes:
    """Every member of a gzip stream, and as much of a cut one (a temp file left by a kill) as is there."""
    out = []
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out.append(inflater.decompress(data))
        except zlib.error:
            break
        data = inflater.unused_data
    return b"".join(out)


def _scan_file(con: duckdb.DuckDBPyConnection, path: Path, token: str, needle: bytes, result: ScanResult) -> None:
    """One file: its bytes, its gunzipped bytes, its Parquet values."""
    result.files += 1
    data = path.read_bytes()
    where: list[str] = []
    if needle in data:
        where.append("bytes")
    if data[:2] == b"\x1f\x8b":
        result.gzip_files += 1
        if needle in _gunzip_what_you_can(data):
            where.append("gunzipped")
    if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        result.parquet_files += 1
        if token in _parquet_text(con, path):
            where.append("parquet values")
    if where:
        result.hits.append(f"{path}: {', '.join(where)}")


def copy_lake(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(_serve(sys.argv[2:]))
    sys.exit("usage: python -m benchmarks.campaign_support serve --today D --history-start D [...]")

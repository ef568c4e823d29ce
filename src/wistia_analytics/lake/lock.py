"""The lake lock: two runs against one lake never interleave their writes.

Bronze part numbering, state commits (read-modify-write) and run records all assume a single writer,
so every writing command holds ``_lock/lake.lock`` for its whole run. The file is created exclusively;
its JSON names the holder (run id, pid, host, command, times) so a blocked user knows whom they wait for.

A run killed without releasing leaves its lock behind. It is *stale*, and taken over, when the holder
is on this host and its pid is gone, or (holder on another host, where pids mean nothing) when its
heartbeat is older than the TTL. Takeover is race-safe with plain exclusive creates only (no rename,
so it also works on object stores with conditional PUT): contenders exclusively create a claim file
named after the stale lock's bytes, the single winner removes the lock only if it still holds exactly
those bytes, and then everyone competes in the ordinary exclusive create of the lock: one winner.

On S3 the exclusive create is a conditional PUT (``If-None-Match: *``), decided by the server: S3 and moto's
server honour it, and tests/s3 checks that exactly one of many contenders wins. A store that ignored the
header would turn it into check-then-put, and two runs could both believe they hold the lake.

Limits: a pid reused by an unrelated process keeps a same-host lock "alive" (delete it by hand). A
holder must call `heartbeat` well within the TTL; one that finds its lock gone gets
`LakeLockLostError` and must stop writing. Hosts must agree on the time within a fraction of the TTL. The
heartbeat reads, then overwrites: it could only clobber a newer holder if this one had been silent past
the TTL (the only way to be taken over), which the TTL/4 beat rules out short of a stall that long.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import itertools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from types import TracebackType

from wistia_analytics.errors import UnavailableError
from wistia_analytics.lake.layout import LOCK_DIR, LOCK_PATH, check_run_id
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import parse_utc, utc_iso, utc_now
from wistia_analytics.redact import redact_text

log = logging.getLogger(__name__)
DEFAULT_TTL_SECONDS = 600.0


@dataclass(frozen=True)
class LockInfo:
    """The content of the lock file. `token` tells two holders apart even within one process."""

    run_id: str
    pid: int
    host: str
    command: str
    acquired_at: str
    heartbeat_at: str
    token: str

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> LockInfo:
        """Parse lock file bytes; `ValueError` if they are not a lock."""
        try:
            doc = json.loads(data)
            return cls(
                run_id=str(doc["run_id"]),
                pid=int(doc["pid"]),
                host=str(doc["host"]),
                command=str(doc.get("command", "")),
                acquired_at=str(doc["acquired_at"]),
                heartbeat_at=str(doc["heartbeat_at"]),
                token=str(doc.get("token", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a lake lock file: {exc}") from None

    def describe(self) -> str:
        return (
            f"run {self.run_id} ({self.command!r}), pid {self.pid} on host {self.host}, "
            f"since {self.acquired_at} (last heartbeat {self.heartbeat_at})"
        )


class LakeLockedError(UnavailableError, RuntimeError):
    """Another run holds the lake; the message says who and what to do (exit 4: run again later)."""

    def __init__(self, message: str, holder: LockInfo | None) -> None:
        super().__init__(message)
        self.holder = holder


class LakeLockLostError(UnavailableError, RuntimeError):
    """Our lock is gone or belongs to someone else now: stop writing to the lake (exit 4)."""


def pid_alive(pid: int) -> bool:
    """True unless the process surely does not exist on this host."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate the process there; cannot probe safely
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class LakeLock:
    """Exclusive lock on one lake for one run; use as a context manager or acquire/release.

    ``with LakeLock(...)`` acquires without waiting; call ``acquire(wait_seconds=...)`` first to wait.
    `clock`, `sleep` and `monotonic` are injectable so tests need no real waiting.
    """

    def __init__(
        self,
        storage: Storage,
        run_id: str,
        command: str,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.storage = storage
        self.run_id = check_run_id(run_id)
        self.command = redact_text(command)
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds
        self.host = socket.gethostname()
        self.taken_over: LockInfo | None = None  # the stale holder we replaced, if any
        self._clock, self._sleep, self._monotonic = clock, sleep, monotonic
        self._info: LockInfo | None = None

    @property
    def held(self) -> bool:
        return self._info is not None

    def read_holder(self) -> LockInfo | None:
        """The current holder, or None if the lake is not locked (or the file is unreadable)."""
        current = self._read()
        return current[1] if current else None

    def acquire(self, wait_seconds: float = 0.0) -> None:
        """Take the lock, taking over a stale one; wait up to `wait_seconds` for a live holder.

        Raises `LakeLockedError` naming the holder if it is still held after the wait.
        """
        if self._info is not None:
            return
        deadline = self._monotonic() + max(wait_seconds, 0.0)
        while True:
            now = utc_iso(self._clock())
            mine = LockInfo(self.run_id, os.getpid(), self.host, self.command, now, now, uuid.uuid4().hex)
            if self.storage.write_bytes_if_absent(LOCK_PATH, mine.to_json()):
                self._info = mine
                return
            current = self._read()
            if current is None:
                continue  # released between our attempt and the read: try again
            raw, holder = current
            stale = holder is not None and self._is_stale(holder)
            if stale and holder is not None:
                if self._take_over(raw, holder):
                    self.taken_over = holder
                    log.warning("took over stale lake lock of %s", holder.describe())
                    continue
                if self._read() != current:
                    continue  # another contender took it over (or it changed): look again
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise LakeLockedError(self._locked_message(holder, stale), holder)
            self._sleep(min(self.poll_seconds, remaining))

    def heartbeat(self) -> None:
        """Refresh ``heartbeat_at``; `LakeLockLostError` if the lock is no longer ours."""
        if self._info is None:
            raise RuntimeError("heartbeat() on a lake lock that is not held")
        if not self._is_mine(self._read()):
            self._info = None
            raise LakeLockLostError(f"lake lock {self.storage.uri(LOCK_PATH)} is no longer held by run {self.run_id}")
        info = replace(self._info, heartbeat_at=utc_iso(self._clock()))
        self.storage.write_bytes(LOCK_PATH, info.to_json())
        self._info = info

    def release(self) -> bool:
        """Remove the lock if it is still ours; True if removed. Never removes another run's lock."""
        info, self._info = self._info, None
        if info is None:
            return False
        if not self._is_mine(self._read(), info):
            log.warning("lake lock of run %s was no longer ours at release; left untouched", self.run_id)
            return False
        # Safe between the read and the delete: only a takeover can replace our lock, and that needs
        # us to be stale (dead, or silent past the TTL).
        return self.storage.delete(LOCK_PATH)

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _read(self) -> tuple[bytes, LockInfo | None] | None:
        try:
            raw = self.storage.read_bytes(LOCK_PATH)
        except FileNotFoundError:
            return None
        try:
            return raw, LockInfo.from_json(raw)
        except ValueError:
            return raw, None

    def _is_mine(self, current: tuple[bytes, LockInfo | None] | None, info: LockInfo | None = None) -> bool:
        info = info or self._info
        return bool(current and current[1] and info and current[1].token == info.token)

    def _is_stale(self, holder: LockInfo) -> bool:
        if holder.host == self.host:
            return not pid_alive(holder.pid)
        try:
            age = (self._clock() - parse_utc(holder.heartbeat_at)).total_seconds()
        except ValueError:
            return False
        return age > self.ttl_seconds

    def _take_over(self, raw: bytes, stale: LockInfo) -> bool:
        """Remove the stale lock whose bytes are `raw`, if we win the claim to do so; True if removed.

        Contenders first create a claim file named after the stale lock's digest, exclusively: one
        wins, so one removes. The winner re-reads the lock and removes it only if it still holds
        exactly `raw`: a contender that judged an old view of the lock never removes a newer lock.
        A claim left by a claimer that died is itself stale (same rule as locks); the next one is
        then claimed at the following generation, again exclusively.
        """
        claim = self._claim(hashlib.sha256(raw).hexdigest()[:16])
        if claim is None:
            return False
        removed = False
        try:
            current = self._read()
            if current is None or current[0] != raw:
                return False  # already taken over, released, or refreshed by a live holder
            removed = self.storage.delete(LOCK_PATH)
            return removed
        finally:
            self.storage.delete(claim)
            if removed:  # claims left by dead claimers of this lock are garbage now
                for path in self.storage.list(LOCK_DIR):
                    if path.startswith(claim.rsplit("-", 1)[0] + "-"):
                        self.storage.delete(path)

    def _claim(self, digest: str) -> str | None:
        """Exclusively claim the takeover of the lock with `digest`; the claim path, or None."""
        now = utc_iso(self._clock())
        me = LockInfo(self.run_id, os.getpid(), self.host, self.command, now, now, uuid.uuid4().hex)
        for generation in itertools.count(1):
            claim = f"{LOCK_PATH}.takeover-{digest}-{generation:03d}"
            if self.storage.write_bytes_if_absent(claim, me.to_json()):
                return claim
            try:
                other = LockInfo.from_json(self.storage.read_bytes(claim))
            except FileNotFoundError:
                return None  # that claimer just finished: start over from the lock itself
            except ValueError:
                continue  # unreadable claim: cannot block forever on it
            if not self._is_stale(other):
                return None  # someone alive is taking over right now
        raise AssertionError("unreachable")

    def _locked_message(self, holder: LockInfo | None, stale: bool = False) -> str:
        lock_uri = self.storage.uri(LOCK_PATH)
        if holder is None:
            return (
                f"lake {self.storage.uri()} is locked but the lock file {lock_uri} is unreadable; "
                "check no run is active, then delete that file"
            )
        if stale:
            return (
                f"lake {self.storage.uri()} is locked by {holder.describe()}, which looks dead, but "
                f"another run is taking its lock over right now; retry shortly. If this persists, check "
                f"no run is active and delete {lock_uri} and {lock_uri}.takeover-*."
            )
        return (
            f"lake {self.storage.uri()} is locked by {holder.describe()}. Wait for that run to finish "
            "(or pass a wait). If it died, its lock is taken over automatically: on the same host once "
            f"pid {holder.pid} is gone, from other hosts once its heartbeat is older than "
            f"{self.ttl_seconds:g}s. Last resort, after checking the run is not alive: delete {lock_uri}."
        )


# The lock a multi-stage command holds for all its stages (see `holding_lake_for_stages`), by lock URI.
_stages_hold: contextvars.ContextVar[tuple[str, LakeLock] | None] = contextvars.ContextVar(
    "lake_stages_hold", default=None
)


@contextlib.contextmanager
def holding_lake_for_stages(
    storage: Storage, run_id: str, command: str, *, wait_seconds: float = 0.0
) -> Iterator[LakeLock]:
    """Hold the lake across every stage of one command (``run``: ingest, then transform).

    Why: each stage takes the lock for itself; released in between, a waiting run could slip in and the
    command would fail halfway ("lake is busy" after ingesting). Inside this block, `holding_lake` on the
    same lake shares this hold instead of queueing behind it; elsewhere (other lakes, other threads'
    contexts, after the block) nothing changes.
    """
    with holding_lake(storage, run_id, command, wait_seconds=wait_seconds) as lock:
        reset = _stages_hold.set((storage.uri(LOCK_PATH), lock))
        try:
            yield lock
        finally:
            _stages_hold.reset(reset)


@contextlib.contextmanager
def holding_lake(storage: Storage, run_id: str, command: str, *, wait_seconds: float = 0.0) -> Iterator[LakeLock]:
    """Hold the lake lock for a run, refreshing its heartbeat in the background; release at the end.

    Raises `LakeLockedError` (naming the holder) when another live run keeps it past `wait_seconds`.
    Within `holding_lake_for_stages` on the same lake, the command's hold is shared, not taken again.
    """
    shared = _stages_hold.get()
    if shared is not None and shared[0] == storage.uri(LOCK_PATH) and shared[1].held:
        yield shared[1]
        return
    lock = LakeLock(storage, run_id, command)
    lock.acquire(wait_seconds=wait_seconds)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lock.ttl_seconds / 4):
            try:
                lock.heartbeat()
            except Exception:  # the run learns at release; a heartbeat must never kill the run
                log.exception("lake lock heartbeat failed")
                return

    thread = threading.Thread(target=beat, name="lake-lock-heartbeat", daemon=True)
    thread.start()
    try:
        yield lock
    finally:
        stop.set()
        thread.join(timeout=5)
        lock.release()

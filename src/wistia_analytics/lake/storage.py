"""The one door to the lake: every read and write of lake files goes through `Storage`.

Keeping all I/O here means atomicity and path safety are decided once. Paths are POSIX paths relative
to the lake root (``bronze/wistia/medias/...``); the root is a local folder or an fsspec URL
(``s3://bucket/prefix``, ``memory://...``).

Atomicity: a reader never sees a half-written file. Locally, bytes go to a hidden temp file in the
target folder, are fsynced, then renamed over the target and the folder is fsynced. On object stores a
single PUT (or a completed multipart upload) is atomic by itself. Names whose last segment starts with
``.`` are reserved for those temp files: they are rejected as paths and never listed.

S3 (``s3://bucket/prefix``): endpoint, region and credentials come only from the standard AWS settings
(environment, ``AWS_PROFILE`` and the shared config files, ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``
for S3-compatible stores): botocore resolves them itself, so nothing here reads them. See docs/storage.md.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib.util
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

import fsspec  # type: ignore[import-untyped]

from wistia_analytics.errors import ConfigurationError, LakeUriError, MissingDependencyError

_TEMP_SUFFIX = ".tmp"
# s3fs caches directory listings per filesystem instance; a writer and a reader in one process (or the lake
# lock's read-after-create) must see each other's writes, so object-store listings are never cached.
_OBJECT_STORE_DEFAULTS: dict[str, dict[str, Any]] = {
    "s3": {"use_listings_cache": False},
    "s3a": {"use_listings_cache": False},
}


class LakePathError(ConfigurationError, ValueError):
    """A path that is not a clean relative path inside the lake (a configuration error: exit 2)."""


def check_rel_path(rel_path: str) -> str:
    """Return `rel_path` if it is a clean POSIX path inside the lake, else raise `LakePathError`.

    Rejected: empty, absolute, backslashes, NUL, empty/``.``/``..`` segments (no escaping the root),
    and segments starting with ``.`` (reserved for in-flight temp files).
    """
    if not isinstance(rel_path, str) or not rel_path:
        raise LakePathError(f"lake path must be a non-empty string, got {rel_path!r}")
    if rel_path.startswith("/") or "\\" in rel_path or "\x00" in rel_path:
        raise LakePathError(f"lake path must be relative POSIX, got {rel_path!r}")
    for segment in rel_path.split("/"):
        if segment in ("", ".", "..") or segment.startswith("."):
            raise LakePathError(f"bad segment {segment!r} in lake path {rel_path!r}")
    return rel_path


_LOCAL_SCHEMES = ("", "file")
# The schemes a lake may live on: a local folder, S3 (the `aws` extra), and fsspec's in-process memory
# filesystem (for tests and throw-away lakes; it lives as long as the process).
SUPPORTED_SCHEMES = (*_LOCAL_SCHEMES, "s3", "s3a", "memory")
_NEEDS = {"s3": ("s3fs", "aws"), "s3a": ("s3fs", "aws")}
_HOW = "use a local folder (./lake), file:///path or s3://bucket/prefix"


def check_lake_uri(uri: str) -> str:
    """The scheme of a usable lake URI (``""`` for a plain path); `LakeUriError` or `MissingDependencyError`.

    Checks what can be known without writing: not blank, a supported scheme whose package is installed, and,
    for a local path, that neither it nor a parent is a file. Whether a missing folder can be created is
    `Storage.ensure_root`'s business (only writers create the lake).
    """
    if not isinstance(uri, str) or not uri.strip():
        raise LakeUriError("" if not isinstance(uri, str) else uri, f"is empty: {_HOW}, or unset it for ./lake")
    text = uri.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise LakeUriError(uri, f"has an unsupported scheme {scheme + '://'!r}: {_HOW}")
    if scheme in _NEEDS:
        module, extra = _NEEDS[scheme]
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"LAKE_URI={uri!r} (an S3 lake)", extra)
    if scheme in _LOCAL_SCHEMES:
        path = Path(text.removeprefix("file://")).expanduser()
        if not str(path).strip() or not text.removeprefix("file://"):
            raise LakeUriError(uri, f"names no folder: {_HOW}")
        probe = path.absolute()
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            where = "is a file" if probe == path.absolute() else f"is inside {probe}, which is a file"
            raise LakeUriError(uri, f"cannot be a folder: it {where}; point LAKE_URI at a folder")
    return scheme


def _check_prefix(prefix: str) -> str:
    """A folder prefix for `list`: ``""`` means the root; one trailing slash is tolerated."""
    prefix = prefix.removesuffix("/")
    return check_rel_path(prefix) if prefix else ""


def _under(rel_path: str, prefix: str) -> bool:
    return not prefix or rel_path.startswith(prefix + "/")


class Storage(ABC):
    """Atomic byte-level access to a lake root; build one with `Storage.from_uri`."""

    @staticmethod
    def from_uri(uri: str, **storage_options: Any) -> Storage:
        """A local folder (plain path or ``file://``) or any fsspec URL such as ``s3://bucket/prefix``.

        `storage_options` go to fsspec; they are rarely needed, since S3 takes its endpoint and credentials
        from the standard AWS settings (``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ...).
        """
        protocol = check_lake_uri(uri)
        if protocol in _LOCAL_SCHEMES:
            return LocalStorage(Path(uri.strip().removeprefix("file://")))
        return FsspecStorage(uri.strip(), **(_OBJECT_STORE_DEFAULTS.get(protocol, {}) | storage_options))

    def ensure_root(self) -> None:
        """Make sure a writer can create files under the root (creates a local folder; no-op on object stores).

        Raises `LakeUriError` (a configuration error) when the folder cannot be created.
        """
        return  # object stores have no folders to create; a missing bucket shows at the first write

    @abstractmethod
    def uri(self, rel_path: str = "") -> str:
        """Full location of `rel_path` (a local absolute path, or ``proto://...``); root if empty."""

    @abstractmethod
    def write_bytes(self, rel_path: str, data: bytes) -> None:
        """Create or replace `rel_path` with `data` atomically (all or nothing, durable on return)."""

    @abstractmethod
    def write_bytes_if_absent(self, rel_path: str, data: bytes) -> bool:
        """Atomically create `rel_path` with `data` only if nothing is there; False if it exists."""

    @abstractmethod
    def read_bytes(self, rel_path: str) -> bytes:
        """Whole content; `FileNotFoundError` if absent."""

    @abstractmethod
    def open_read(self, rel_path: str) -> IO[bytes]:
        """A binary stream for large files (use as a context manager)."""

    @abstractmethod
    def exists(self, rel_path: str) -> bool:
        """True if a file is at `rel_path`."""

    @abstractmethod
    def list(self, prefix: str = "", suffix: str | None = None) -> builtins.list[str]:
        """Sorted relative paths of all files below folder `prefix` (recursive), optionally by suffix.

        In-flight temp files are never listed. A missing folder lists as empty.
        """

    @abstractmethod
    def delete(self, rel_path: str) -> bool:
        """Remove `rel_path`; False if it was already absent (so deleting is idempotent)."""

    @abstractmethod
    def download(self, rel_paths: Sequence[str], local_root: Path) -> None:
        """Copy each of `rel_paths` to ``local_root/<rel_path>`` (each copy appears whole or not at all).

        For engines that read many immutable lake files (Bronze parts, table versions) at local-disk speed.
        """

    @abstractmethod
    def upload(self, files: Mapping[str, Path]) -> None:
        """Write each local file to its lake path (key), each atomically; all durable on return."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri()!r})"


def _fsync_dir(path: Path) -> None:
    """Make a rename or creation inside `path` durable (no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage(Storage):
    """A lake in a local folder, with crash-safe writes (temp file, fsync, rename, fsync folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def ensure_root(self) -> None:
        try:
            self._ensure_dir(self.root)
            probe = self.root / f".write-check.{uuid.uuid4().hex}{_TEMP_SUFFIX}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise LakeUriError(
                str(self.root), f"cannot be created or written ({reason}): point LAKE_URI at a writable folder"
            ) from None

    def uri(self, rel_path: str = "") -> str:
        return str(self._path(rel_path)) if rel_path else str(self.root)

    def _path(self, rel_path: str) -> Path:
        return self.root.joinpath(*check_rel_path(rel_path).split("/"))

    def _ensure_dir(self, folder: Path) -> None:
        """Create `folder` and missing parents, fsyncing each new entry so it survives a crash."""
        missing: builtins.list[Path] = []
        probe = folder
        while not probe.is_dir():
            missing.append(probe)
            probe = probe.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):
                new.mkdir()
            _fsync_dir(new.parent)

    def _write_temp(self, target: Path, data: bytes) -> Path:
        """Write `data` to a fresh hidden temp file next to `target`, fsynced; return its path."""
        self._ensure_dir(target.parent)
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def write_bytes(self, rel_path: str, data: bytes) -> None:
        target = self._path(rel_path)
        tmp = self._write_temp(target, data)
        try:
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def write_bytes_if_absent(self, rel_path: str, data: bytes) -> bool:
        """Complete temp file, then ``os.link`` to the target: link fails with EEXIST like O_EXCL,
        but the file appears with its full content (an O_EXCL create on the target itself could
        leave a visible partial file after a crash)."""
        target = self._path(rel_path)
        if target.exists():
            return False
        tmp = self._write_temp(target, data)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return True

    def read_bytes(self, rel_path: str) -> bytes:
        return self._path(rel_path).read_bytes()

    def open_read(self, rel_path: str) -> IO[bytes]:
        return self._path(rel_path).open("rb")

    def exists(self, rel_path: str) -> bool:
        return self._path(rel_path).is_file()

    def list(self, prefix: str = "", suffix: str | None = None) -> builtins.list[str]:
        prefix = _check_prefix(prefix)
        base = self._path(prefix) if prefix else self.root
        found: builtins.list[str] = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel_folder = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith(".") or (suffix is not None and not name.endswith(suffix)):
                    continue
                found.append(name if rel_folder == "." else f"{rel_folder}/{name}")
        return sorted(found)

    def delete(self, rel_path: str) -> bool:
        target = self._path(rel_path)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(target.parent)
        return True

    def download(self, rel_paths: Sequence[str], local_root: Path) -> None:
        for rel_path in rel_paths:
            LocalStorage(local_root).write_bytes(rel_path, self.read_bytes(rel_path))

    def upload(self, files: Mapping[str, Path]) -> None:
        for rel_path, local in files.items():
            self.write_bytes(rel_path, local.read_bytes())


class FsspecStorage(Storage):
    """A lake on an fsspec filesystem (S3 and other object stores).

    A single PUT is atomic on object stores, so `write_bytes` needs no temp file. `write_bytes_if_absent` is
    a conditional PUT (``If-None-Match: *``): S3 (since 2024) and moto's server create the object only if no
    object has the key, so exactly one of many concurrent creators wins (the lake lock and Bronze part numbers
    rely on it). A store that ignores the header would make it check-then-put: do not run two writers there.
    `delete` asks first, because S3 reports success for deleting a missing key.
    """

    def __init__(self, uri: str, **storage_options: Any) -> None:
        fs, root = fsspec.core.url_to_fs(uri, **storage_options)
        self.fs = fs
        self._root = cast(str, root).rstrip("/")
        self._protocol = uri.split("://", 1)[0]

    def uri(self, rel_path: str = "") -> str:
        path = self._full(rel_path) if rel_path else self._root
        return f"{self._protocol}://{path.lstrip('/')}"

    def _full(self, rel_path: str) -> str:
        return f"{self._root}/{check_rel_path(rel_path)}"

    def write_bytes(self, rel_path: str, data: bytes) -> None:
        self.fs.pipe_file(self._full(rel_path), data)

    def write_bytes_if_absent(self, rel_path: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self._full(rel_path), data, mode="create")
        except FileExistsError:
            return False
        except OSError as exc:  # some backends report a failed precondition as a generic OSError
            # EBUSY: S3's 409 ConditionalRequestConflict, another conditional write of this key is in flight.
            # It will win or fail; either way this one did not create the file, and callers re-read.
            if exc.errno in (errno.EEXIST, errno.EBUSY):
                return False
            raise
        return True

    def read_bytes(self, rel_path: str) -> bytes:
        return cast(bytes, self.fs.cat_file(self._full(rel_path)))

    def open_read(self, rel_path: str) -> IO[bytes]:
        return cast(IO[bytes], self.fs.open(self._full(rel_path), "rb"))

    def exists(self, rel_path: str) -> bool:
        return bool(self.fs.isfile(self._full(rel_path)))

    def list(self, prefix: str = "", suffix: str | None = None) -> builtins.list[str]:
        prefix = _check_prefix(prefix)
        base = self._full(prefix) if prefix else self._root
        root_key = self._root.strip("/")
        found: builtins.list[str] = []
        try:
            paths = self.fs.find(base)
        except FileNotFoundError:
            paths = []
        for path in paths:
            key = str(path).strip("/")
            if root_key:
                if not key.startswith(root_key + "/"):
                    continue
                key = key[len(root_key) + 1 :]
            if not _under(key, prefix) or key.rsplit("/", 1)[-1].startswith("."):
                continue
            if suffix is None or key.endswith(suffix):
                found.append(key)
        return sorted(found)

    def delete(self, rel_path: str) -> bool:
        path = self._full(rel_path)
        if not self.fs.isfile(path):
            return False
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True

    def download(self, rel_paths: Sequence[str], local_root: Path) -> None:
        """One concurrent batch of GETs into a hidden staging folder, then a rename per file."""
        if not rel_paths:
            return
        local_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=local_root))
        try:
            staged = [staging / f"{i:06d}" for i in range(len(rel_paths))]
            self.fs.get([self._full(p) for p in rel_paths], [str(s) for s in staged])
            for rel_path, source in zip(rel_paths, staged, strict=True):
                target = local_root.joinpath(*check_rel_path(rel_path).split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def upload(self, files: Mapping[str, Path]) -> None:
        """One concurrent batch of PUTs (multipart above s3fs's chunk size: still atomic per object)."""
        if not files:
            return
        rel_paths = list(files)
        self.fs.put([str(files[p]) for p in rel_paths], [self._full(p) for p in rel_paths])

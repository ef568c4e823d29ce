"""Lake fixtures: a real local lake in tmp_path, and `backend`: the same tests on every kind of lake.

`backend` is ``local`` (files), ``memory`` (fsspec's in-memory filesystem) or ``s3`` (the local S3-compatible
server, moto on 127.0.0.1: marked `s3`, started only when an S3 case runs). A test that takes `any_storage`
runs once per backend; tests of one backend's own behaviour take `storage` (local) or live in tests/s3.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import pytest

from wistia_analytics.lake.storage import FsspecStorage, LocalStorage, Storage

NOW = datetime(2026, 11, 25, 17, 45, 12, tzinfo=UTC)
BACKENDS = ["local", "memory", pytest.param("s3", marks=pytest.mark.s3)]


@pytest.fixture()
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "lake")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def any_storage(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """An empty lake on `backend`, built the way every command builds it (`Storage.from_uri`)."""
    if backend == "local":
        yield Storage.from_uri(str(tmp_path / "lake"))
    elif backend == "memory":
        root = f"lake-{uuid.uuid4().hex}"
        yield Storage.from_uri(f"memory://{root}")
        with contextlib.suppress(FileNotFoundError):
            fsspec.filesystem("memory").rm(f"/{root}", recursive=True)
    else:
        storage = Storage.from_uri(request.getfixturevalue("s3_lake_uri"))
        assert isinstance(storage, FsspecStorage)
        yield storage


@pytest.fixture()
def raw_keys(any_storage: Storage, backend: str, request: pytest.FixtureRequest) -> Callable[[], list[str]]:
    """Every object under the lake's root straight from the backend (no `Storage.list` filtering in between):
    hidden temp files, folder markers or keys outside the prefix would show here."""

    def local() -> list[str]:
        assert isinstance(any_storage, LocalStorage)
        root = any_storage.root
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)

    def memory() -> list[str]:
        assert isinstance(any_storage, FsspecStorage)
        fs, root = fsspec.core.url_to_fs(any_storage.uri())
        return sorted(p.removeprefix(root.rstrip("/") + "/") for p in fs.find(root))

    def s3() -> list[str]:
        import boto3

        bucket, prefix = request.getfixturevalue("s3_bucket"), "wistia/"
        out: list[str] = []
        for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out += [o["Key"] for o in page.get("Contents", [])]
        assert all(k.startswith(prefix) for k in out), out  # nothing outside the lake's prefix
        return sorted(k.removeprefix(prefix) for k in out)

    return {"local": local, "memory": memory, "s3": s3}[backend]


@pytest.fixture(autouse=True, scope="session")
def _quiet_s3_server_log() -> None:
    """moto's HTTP server logs every request at INFO: thousands of lines in a failure report otherwise."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

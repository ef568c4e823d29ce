"""Lake fixtures: a real local lake in tmp_path, and the same tests on an fsspec (memory://) lake."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import pytest

from wistia_analytics.lake.storage import LocalStorage, Storage

NOW = datetime(2026, 11, 25, 17, 45, 12, tzinfo=UTC)


@pytest.fixture()
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "lake")


@pytest.fixture(params=["local", "memory"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Both backends: local files, and fsspec's in-memory filesystem standing in for object stores."""
    if request.param == "local":
        yield LocalStorage(tmp_path / "lake")
        return
    root = f"lake-{uuid.uuid4().hex}"
    yield Storage.from_uri(f"memory://{root}")
    with contextlib.suppress(FileNotFoundError):
        fsspec.filesystem("memory").rm(f"/{root}", recursive=True)

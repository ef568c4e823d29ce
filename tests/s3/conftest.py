"""S3 fixtures: lakes on the local S3-compatible server (moto, 127.0.0.1) from tests/conftest.py.

The backend-neutral lake tests run on S3 from tests/lake (its `backend` fixture); tests/s3 holds what only an
object store does (conditional PUT, paging, one client's view of another's writes, profiles) and the
pipeline end to end on an S3 lake.
"""

from __future__ import annotations

import logging

import pytest

from wistia_analytics.lake.storage import FsspecStorage, Storage


@pytest.fixture()
def s3_storage(s3_lake_uri: str) -> FsspecStorage:
    """An empty lake under a prefix of a fresh bucket, built the way every command builds it."""
    storage = Storage.from_uri(s3_lake_uri)
    assert isinstance(storage, FsspecStorage)
    return storage


@pytest.fixture(autouse=True, scope="session")
def _quiet_s3_server_log() -> None:
    """moto's HTTP server logs every request at INFO: thousands of lines in a failure report otherwise."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

"""S3 fixtures: lakes on the local S3-compatible server (moto, 127.0.0.1) from tests/conftest.py."""

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


@pytest.fixture()
def any_storage(s3_storage: FsspecStorage) -> Storage:
    """Lets the backend-neutral tests of tests/lake run unchanged against S3."""
    return s3_storage


@pytest.fixture(autouse=True, scope="session")
def _quiet_s3_server_log() -> None:
    """moto's HTTP server logs every request at INFO: thousands of lines in a failure report otherwise."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

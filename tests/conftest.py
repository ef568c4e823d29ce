"""Shared fixtures: sandboxes on free ports, serving real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox

TODAY = date(2026, 11, 25)

# The analytics streams cost one request per media, day and traffic dimension. The suite's many ingestions that
# are not about them run with a 3-day analytics window and two dimensions (children inherit it); a test about the
# analytics or the settings' defaults states its own values. The users' defaults (30 days, five dimensions) are
# asserted in tests/test_settings.py.
os.environ.setdefault("INGEST_ANALYTICS_BACKFILL_DAYS", "3")
os.environ.setdefault("INGEST_TRAFFIC_DIMENSIONS", "utm_source,referrer_domain")


def api_client(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30)


@pytest.fixture(scope="session")
def tiny_sandbox() -> Iterator[Sandbox]:
    """A tiny account with a pinned clock and no rate limit, shared by read-only tests."""
    with run_sandbox(SandboxConfig(size="tiny", seed=7, today=TODAY, rate_limit_per_minute=0)) as sb:
        yield sb


@pytest.fixture()
def tiny_api(tiny_sandbox: Sandbox) -> Iterator[httpx.Client]:
    with api_client(tiny_sandbox) as client:
        yield client


# ---- a real S3-compatible server on 127.0.0.1 (moto's server mode), for every s3:// test --------------------
@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's threaded server on a free loopback port; the standard AWS settings point every client at it.

    The server speaks the S3 (and Secrets Manager, ...) HTTP APIs for real: boto3, s3fs and pyarrow talk to it
    over sockets, exactly as they would to AWS. Credentials are dummies; nothing leaves the machine.
    """
    import os

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
)


@pytest.fixture()
def s3_bucket(moto_endpoint: str) -> str:
    """A new, empty bucket on the local S3 server for one test."""
    import uuid

    import boto3

    name = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture()
def s3_lake_uri(s3_bucket: str) -> str:
    """`LAKE_URI` of an empty lake under a prefix of a fresh bucket."""
    return f"s3://{s3_bucket}/wistia"

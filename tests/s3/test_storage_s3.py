"""The storage module against a real S3 server: what only object stores need (the backend-neutral cases run
on S3 from tests/lake)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from wistia_analytics.lake.storage import FsspecStorage, LakePathError, Storage

pytestmark = pytest.mark.s3


def keys(bucket: str) -> list[str]:
    """Every object in the bucket, straight from the server (no fsspec in between)."""
    out: list[str] = []
    for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def test_uri_and_root(s3_storage: FsspecStorage, s3_bucket: str) -> None:
    assert s3_storage.uri() == f"s3://{s3_bucket}/wistia"
    assert s3_storage.uri("a/b.json") == f"s3://{s3_bucket}/wistia/a/b.json"
    s3_storage.write_bytes("a/b.json", b"{}")
    assert keys(s3_bucket) == ["wistia/a/b.json"]  # under the prefix, one object, no folder markers
    with pytest.raises(LakePathError):
        s3_storage.write_bytes("../escape", b"x")


def test_listing_pages_past_1000_keys(s3_storage: FsspecStorage, s3_bucket: str) -> None:
    """S3 returns at most 1,000 keys per request: `list` must follow the continuation tokens."""
    client = boto3.client("s3")
    names = [f"many/d={i % 3}/k{i:05d}.bin" for i in range(1105)]
    with ThreadPoolExecutor(8) as pool:  # boto3 clients are thread-safe
        list(pool.map(lambda name: client.put_object(Bucket=s3_bucket, Key=f"wistia/{name}", Body=b"x"), names))
    client.put_object(Bucket=s3_bucket, Key="wistia/manyx/outside.bin", Body=b"x")  # a string prefix, not a folder
    listed = s3_storage.list("many")
    assert len(listed) == 1105
    assert listed == sorted(names)
    assert s3_storage.list("many/d=1", suffix=".bin") == sorted(n for n in names if n.startswith("many/d=1/"))


def test_conditional_create_only_the_first_wins(s3_lake_uri: str, s3_bucket: str) -> None:
    """`write_bytes_if_absent` is an S3 conditional PUT (If-None-Match: *): the server decides, not a check.

    Contenders come one after another from separate clients: every later one must lose and leave the first
    writer's bytes. (A simultaneous race is not asserted here: moto's server checks then writes without a
    lock, so under load two concurrent conditional PUTs can both succeed there; S3 documents the conditional
    write as atomic. tests/lake covers the race on the local backend, whose create is atomic.)
    """
    stores = [Storage.from_uri(s3_lake_uri) for _ in range(8)]
    for round_ in range(5):
        path = f"race/{round_}"
        first = round_ % len(stores)
        order = stores[first:] + stores[:first]
        results = [store.write_bytes_if_absent(path, f"writer {i}".encode()) for i, store in enumerate(order)]
        assert results == [True] + [False] * (len(stores) - 1)
        assert stores[0].read_bytes(path) == b"writer 0"
    assert keys(s3_bucket) == [f"wistia/race/{r}" for r in range(5)]


def test_server_refuses_the_overwrite_itself(s3_bucket: str) -> None:
    """moto honours If-None-Match like S3 (so the conformance above is not fsspec checking first)."""
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"1"


def test_writer_and_reader_in_one_process_see_each_other(s3_lake_uri: str) -> None:
    """No stale listing cache: a reader that listed before sees later creates and deletes at once."""
    writer, reader = Storage.from_uri(s3_lake_uri), Storage.from_uri(s3_lake_uri)
    writer.write_bytes("t/a", b"a")
    assert reader.list("t") == ["t/a"] and not reader.exists("t/b")
    writer.write_bytes("t/b", b"b")
    assert reader.list("t") == ["t/a", "t/b"] and reader.exists("t/b")
    assert reader.read_bytes("t/b") == b"b"
    writer.write_bytes("t/b", b"b2")
    assert reader.read_bytes("t/b") == b"b2"
    assert writer.delete("t/a") is True
    assert reader.list("t") == ["t/b"] and not reader.exists("t/a")
    assert reader.delete("t/a") is False  # S3 itself reports success for a missing key


def test_settings_come_from_an_aws_profile_alone(moto_endpoint: str, tmp_path: Path) -> None:
    """No AWS_* variables but AWS_PROFILE: endpoint and credentials come from the shared config files."""
    bucket = f"profile-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    (tmp_path / "config").write_text(f"[profile lake]\nregion = us-east-1\nendpoint_url = {moto_endpoint}\n")
    (tmp_path / "credentials").write_text("[lake]\naws_access_key_id = a\naws_secret_access_key = b\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_PROFILE": "lake",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    code = (
        "from wistia_analytics.lake.storage import Storage\n"
        f"s = Storage.from_uri('s3://{bucket}/p')\n"
        "assert s.write_bytes_if_absent('x/y.json', b'1')\n"
        "print(s.list())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['x/y.json']"
    assert keys(bucket) == ["p/x/y.json"]

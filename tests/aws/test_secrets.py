"""Reading the token from Secrets Manager on the local moto server: values, the empty secret, errors."""

from __future__ import annotations

import uuid

import boto3
import pytest

from wistia_analytics.aws.secrets import (
    TokenNotSetError,
    TokenSecretNotFoundError,
    parse_token,
    read_token,
)

pytestmark = [pytest.mark.aws, pytest.mark.s3]


def _secret(endpoint: str, **value: str) -> str:
    client = boto3.client("secretsmanager", endpoint_url=endpoint)
    return str(client.create_secret(Name=f"wistia-{uuid.uuid4().hex[:8]}", **value)["ARN"])


def test_reads_the_bare_token_and_the_json_form(moto_endpoint: str) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    assert read_token(_secret(moto_endpoint, SecretString=token)).get_secret_value() == token
    as_json = _secret(moto_endpoint, SecretString=f'{{"token": "{token}"}}')
    assert read_token(as_json).get_secret_value() == token
    assert token not in repr(read_token(as_json))


def test_an_empty_secret_says_to_set_the_token(moto_endpoint: str) -> None:
    with pytest.raises(TokenNotSetError, match="no current value"):
        read_token(_secret(moto_endpoint))
    with pytest.raises(TokenNotSetError, match="no Wistia token"):
        read_token(_secret(moto_endpoint, SecretString="  "))
    with pytest.raises(TokenNotSetError):
        parse_token('{"password": "x"}')


def test_a_missing_secret_is_a_configuration_error(moto_endpoint: str) -> None:
    with pytest.raises(TokenSecretNotFoundError, match="does not exist"):
        read_token("arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf")
    with pytest.raises(TokenSecretNotFoundError, match="no secret configured"):
        read_token("")

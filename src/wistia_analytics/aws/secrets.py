"""The Wistia token from AWS Secrets Manager, read at run time and held only as a `SecretStr`.

The token never sits in a Lambda environment variable (visible to anyone who can read the function's
configuration) nor in the template: the function gets the secret's ARN and reads the value when it runs,
so rotating the token is one `put-secret-value` and nothing to redeploy. Errors are classified by what the
operator should do, and their messages name the secret, never its value.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from wistia_analytics.errors import ConfigurationError, UnavailableError

# Keys accepted when the secret value is a JSON object rather than the bare token.
TOKEN_KEYS = ("wistia_api_token", "token")


class TokenSecretError(ConfigurationError, RuntimeError):
    """The token could not be read; the subclass says why. Never carries the secret value."""


class TokenSecretNotFoundError(TokenSecretError):
    """No such secret: the ARN/name in the function's configuration is wrong."""


class TokenNotSetError(TokenSecretError):
    """The secret exists but holds no token yet (created empty by the stack): set it out of band."""


class TokenSecretAccessDeniedError(TokenSecretError):
    """The role may not read or decrypt the secret: an IAM or KMS policy problem."""


class TokenSecretUnavailableError(UnavailableError, TokenSecretError):
    """Secrets Manager did not answer (throttling, network): a retry may work (exit 4)."""


_NOT_FOUND = {"ResourceNotFoundException"}
_DENIED = {"AccessDeniedException", "DecryptionFailure", "KMSAccessDeniedException", "UnrecognizedClientException"}
_INVALID = {"InvalidRequestException", "InvalidParameterException"}


def parse_token(secret_string: str | None) -> SecretStr:
    """The token from a secret value: the bare token, or a JSON object with a `token` key."""
    text = (secret_string or "").strip()
    if text.startswith("{"):
        try:
            doc: Any = json.loads(text)
        except ValueError:
            raise TokenNotSetError("the secret value looks like JSON but does not parse") from None
        found = next((doc[k] for k in TOKEN_KEYS if isinstance(doc, dict) and isinstance(doc.get(k), str)), "")
        text = found.strip()
    if not text:
        raise TokenNotSetError(
            "the secret holds no Wistia token yet; set it with `aws secretsmanager put-secret-value`"
        )
    return SecretStr(text)


def read_token(secret_id: str, *, client: Any | None = None) -> SecretStr:
    """Read the current version of `secret_id` (ARN or name) and return the token in it."""
    import boto3  # the Lambda runtime has it; imported here so the local commands never need it
    from botocore.exceptions import BotoCoreError, ClientError

    if not secret_id:
        raise TokenSecretNotFoundError("no secret configured (WISTIA_TOKEN_SECRET_ARN is empty)")
    secrets_client = client or boto3.client("secretsmanager")
    try:
        response = secrets_client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if code in _NOT_FOUND and "staging label" in message.lower():
            raise TokenNotSetError(f"secret {secret_id} has no current value; set the token out of band") from None
        if code in _NOT_FOUND:
            raise TokenSecretNotFoundError(f"secret {secret_id} does not exist ({code})") from None
        if code in _DENIED:
            raise TokenSecretAccessDeniedError(f"not allowed to read secret {secret_id} ({code})") from None
        if code in _INVALID:
            raise TokenNotSetError(
                f"secret {secret_id} cannot be read now ({code}); is it scheduled for deletion?"
            ) from None
        raise TokenSecretUnavailableError(f"Secrets Manager failed reading {secret_id} ({code})") from None
    except BotoCoreError as exc:
        raise TokenSecretUnavailableError(f"Secrets Manager unreachable ({type(exc).__name__})") from None
    return parse_token(response.get("SecretString"))

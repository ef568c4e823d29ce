"""What a client may rely on about a sandbox it did not start: the documented token and the default port."""

from __future__ import annotations

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - documented; the sandbox accepts exactly one bearer token
DEFAULT_PORT = 8765

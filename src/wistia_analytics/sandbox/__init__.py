"""A faithful offline stand-in of the Wistia Data/Stats API v1 and the modern analytics API, serving one
deterministic synthetic account."""

from wistia_analytics.contracts.sandbox_api import DEFAULT_PORT, DEFAULT_TOKEN
from wistia_analytics.sandbox.config import SIZES, SandboxConfig
from wistia_analytics.sandbox.server import Sandbox, run_sandbox

__all__ = ["DEFAULT_PORT", "DEFAULT_TOKEN", "SIZES", "Sandbox", "SandboxConfig", "run_sandbox"]

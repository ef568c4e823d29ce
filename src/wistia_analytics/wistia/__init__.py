"""The Wistia API client: paced, retried, credential-safe access to the Data and Stats API v1 and to the modern,
date-versioned Data API's analytics.

`WistiaClient` is the entry point; errors are named for the caller's recovery (`errors`); `parsing`
holds the lenient value readers the transform uses on the records the client returns untouched.
"""

from wistia_analytics.wistia.api_errors import (
    AnalyticsAccessError,
    FatalConfigError,
    HostUnreachableError,
    InvalidJSONError,
    NotFoundError,
    RequestBugError,
    RetriableError,
    RetriesExhaustedError,
    WistiaError,
)
from wistia_analytics.wistia.client import MAX_PER_PAGE, Page, WistiaClient
from wistia_analytics.wistia.counters import ClientStats, StatsSnapshot
from wistia_analytics.wistia.pacing import Pacer
from wistia_analytics.wistia.retry import DEFAULT_RETRY_POLICY, Action, Decision, RetryPolicy, decide

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "MAX_PER_PAGE",
    "Action",
    "AnalyticsAccessError",
    "ClientStats",
    "Decision",
    "FatalConfigError",
    "HostUnreachableError",
    "InvalidJSONError",
    "NotFoundError",
    "Pacer",
    "Page",
    "RequestBugError",
    "RetriableError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "StatsSnapshot",
    "WistiaClient",
    "WistiaError",
    "decide",
]

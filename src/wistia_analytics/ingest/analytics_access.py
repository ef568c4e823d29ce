"""Whether this token and account can read Wistia's modern analytics at all, asked once before those streams.

A token without the "Read detailed stats" permission gets 403 on every /modern request, an account or a URL
without the modern API 404: asking per media would cost hundreds of failed requests and hundreds of identical
error lines. One probe (up to 3 medias: the first one may just have been deleted) turns that into one line and
every analytics stream `skipped`, while the v1 streams, which need neither, complete (the run ends `partial`).
"""

from __future__ import annotations

from dataclasses import dataclass

from wistia_analytics.contracts.streams import Api
from wistia_analytics.ingest.load_context import LoadContext
from wistia_analytics.ingest.stream_load import media_id_problem, media_path
from wistia_analytics.wistia.api_errors import AnalyticsAccessError, NotFoundError, WistiaError

PROBE_MEDIAS = 3
PROBE_PATH = "/analytics/medias/{media_id}"  # the aggregate over a range: the smallest modern answer


@dataclass(frozen=True)
class AccessProblem:
    """Why the analytics streams cannot run: `status` is the stream status to give them (skipped or failed)."""

    status: str
    reason: str


def probe_analytics(ctx: LoadContext) -> AccessProblem | None:
    """None when the modern analytics answer (or there is no media to ask about); else the problem."""
    try:
        listed = ctx.medias()
    except WistiaError:  # no media list: each analytics stream fails on it like the v1 per-media streams
        return None
    medias = [m for m in listed if media_id_problem(m) is None][:PROBE_MEDIAS]
    day = ctx.today.isoformat()
    details: list[str] = []
    for media in medias:
        path = media_path(PROBE_PATH, str(media["hashed_id"]))
        try:
            ctx.client.get_json(path, {"start_date": day, "end_date": day}, api=Api.MODERN)
        except AnalyticsAccessError as exc:
            return AccessProblem("skipped", f"analytics streams skipped: {exc}")
        except NotFoundError as exc:
            details.append(exc.detail or "not found")
            continue
        except WistiaError as exc:  # down (retries spent), or a bad answer: asking per media would not help
            return AccessProblem("failed", f"analytics streams not fetched: the modern analytics API failed: {exc}")
        return None
    if not details:
        return None
    return AccessProblem(
        "skipped",
        f"analytics streams skipped: Wistia's modern analytics API answered 404 for the first {len(details)} "
        f"media(s) ({details[0]}): this account, or the modern API root {ctx.client.modern_url} "
        "(WISTIA_MODERN_API_URL), has no modern Data API; set INGEST_ANALYTICS=false to ingest the v1 streams only",
    )

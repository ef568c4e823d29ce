"""The local alerting hook: after a run, the cloud alarms' conditions, told to one webhook.

A machine running `wistia-analytics schedule` (or a cron line) has nobody reading its output, so the same
things the cloud path alarms on are checked after every run, from the lake's own run records:

- ``failed_run`` / ``partial_run``: a run of this pipeline run ended ``failed`` or ``partial`` (or the command
  exited non-zero without writing a record, e.g. a configuration error);
- ``stale``: the last ingestion or the last transform that finished (success or partial) ended longer than
  ``ALERT_STALE_AFTER_HOURS`` ago (default 6), or never did (the cloud's ``FreshnessHours`` rule);
- ``drift``: the transform left reconciliation rows outside tolerance;
- ``quarantine``: the transform quarantined records read in this run;
- ``schema_drift``: a stream's quarantine share passed ``TRANSFORM_MAX_QUARANTINE_SHARE`` (a renamed field):
  the transform failed with exit 6, and the message names the table and the missing field(s).

When any holds and ``ALERT_WEBHOOK_URL`` is set, one JSON message is POSTed: Slack's ``{"text": ...}`` plus the
same facts as fields, for any other receiver. Delivery uses the client's retry policy (`wistia.retry.decide`)
with a short timeout and few attempts: an alert that arrives an hour late is worth little. A failing webhook
never fails the pipeline: it is logged and counted in the run record (``extra.alerts``). The webhook URL embeds
a secret (Slack's does), so it is a `SecretStr`, and neither it nor the API token is ever put in a message, a
log line or the lake: failures are described by `retry.describe` (``HTTP 500``, ``ConnectError``), never by
the exception text, which can quote the URL.

Evaluating is idempotent: the outcome is written into the last run record of the run, and a run whose record
already carries it is not posted again (so `run` and `schedule` may both call `after_run`).
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import httpx

from wistia_analytics.errors import ExitCode
from wistia_analytics.lake.layout import RUNS_ROOT
from wistia_analytics.lake.runs import RunRecord, RunStatus, load_run, publisher_of, save_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.timestamps import parse_utc, utc_iso, utc_now
from wistia_analytics.redact import redact_text
from wistia_analytics.settings import Settings
from wistia_analytics.wistia.retry import Action, Outcome, RetryPolicy, decide, describe

RECONCILIATION_TABLE = "gold_reconciliation"  # the table whose build counts reconciliation drift
log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5.0
# Few, short retries: the next run is at most one interval away, and it alerts again if the cause persists.
WEBHOOK_RETRY_POLICY = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=4.0, max_retry_after=10.0)
STALE_SCAN_LIMIT = 200  # run records read, newest first, to find the last finished ingestion and transform
LAST_RUN_SCAN_LIMIT = 20  # records read to find the last pipeline run when no start time is given
MAX_ERROR_CHARS = 300
SOURCE = "wistia-analytics"


@dataclass(frozen=True)
class Condition:
    """One alarm that holds: what kind, one human line, the run it comes from, and its figure."""

    kind: str  # failed_run | partial_run | stale | drift | quarantine | schema_drift
    summary: str
    run_id: str | None = None
    value: float | None = None


@dataclass
class AlertOutcome:
    """What `after_run` found and did; also what goes into the run record under ``extra.alerts``."""

    conditions: list[Condition] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    webhook_configured: bool = False
    posted: bool = False
    webhook_attempts: int = 0
    webhook_failures: int = 0
    webhook_error: str | None = None
    already_evaluated: bool = False

    @property
    def kinds(self) -> list[str]:
        return [c.kind for c in self.conditions]

    def to_record(self) -> dict[str, Any]:
        return {
            "conditions": [asdict(c) for c in self.conditions],
            "webhook_configured": self.webhook_configured,
            "posted": self.posted,
            "webhook_attempts": self.webhook_attempts,
            "webhook_failures": self.webhook_failures,
            "webhook_error": self.webhook_error,
        }

    @classmethod
    def from_record(cls, doc: dict[str, Any], run_ids: list[str]) -> AlertOutcome:
        """The outcome stored by an earlier evaluation of the same run."""
        return cls(
            conditions=[Condition(**c) for c in doc.get("conditions", [])],
            run_ids=run_ids,
            webhook_configured=bool(doc.get("webhook_configured")),
            posted=bool(doc.get("posted")),
            webhook_attempts=int(doc.get("webhook_attempts") or 0),
            webhook_failures=int(doc.get("webhook_failures") or 0),
            webhook_error=doc.get("webhook_error"),
            already_evaluated=True,
        )

    def describe(self) -> str:
        """A few words for the scheduler's tick line."""
        if not self.conditions:
            return "alerts: none"
        what = ", ".join(self.kinds)
        if not self.webhook_configured:
            return f"alerts: {what} (no ALERT_WEBHOOK_URL set)"
        if self.posted:
            return f"alerts: {what} (posted)"
        return f"alerts: {what} (webhook FAILED after {self.webhook_attempts} attempt(s): {self.webhook_error})"


# ---- which records make up "this run" ----------------------------------------------------------------------
def _newest_records(storage: Storage) -> Iterator[RunRecord]:
    """Run records, newest first (run ids sort by start second), read lazily: lakes keep thousands of them."""
    for path in sorted(storage.list(RUNS_ROOT, suffix=".json"), reverse=True):
        try:
            yield RunRecord.from_json(storage.read_bytes(path))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            log.warning("unreadable run record %s skipped", path)


def _started(record: RunRecord) -> datetime:
    return parse_utc(record.started_at)


def _is_ingest(record: RunRecord) -> bool:
    return "source" in record.extra


def _is_transform(record: RunRecord) -> bool:
    return "transform" in record.extra


def records_since(storage: Storage, since: datetime) -> list[RunRecord]:
    """Finished run records started at or after `since`, oldest first (by start time, not run id)."""
    stamp = since.strftime("%Y%m%dT%H%M%SZ")
    found: list[RunRecord] = []
    for record in _newest_records(storage):
        if record.run_id[: len(stamp)] < stamp:
            break
        if parse_utc(record.started_at) >= since and record.status is not RunStatus.RUNNING:
            found.append(record)
    return sorted(found, key=_started)


def last_pipeline_run(storage: Storage) -> list[RunRecord]:
    """The records of the newest pipeline run: its ingestion and what ran after it, oldest first."""
    newest = sorted(itertools.islice(_newest_records(storage), LAST_RUN_SCAN_LIMIT), key=_started, reverse=True)
    found: list[RunRecord] = []
    for record in newest:  # by start time: run ids only order runs to the second
        if record.status is not RunStatus.RUNNING:
            found.append(record)
        if _is_ingest(record):
            return found[::-1]
    return []


# ---- the conditions ----------------------------------------------------------------------------------------
def _last_finished(storage: Storage) -> dict[str, datetime | None]:
    """When the newest ingestion and the newest transform that succeeded ended (only success counts as fresh)."""
    last: dict[str, datetime | None] = {"ingestion": None, "transform": None}
    for n, record in enumerate(_newest_records(storage)):
        if n >= STALE_SCAN_LIMIT or all(last.values()):
            break
        if record.status is RunStatus.SUCCESS and record.ended_at:  # partial, incomplete: not fresh
            stage = "ingestion" if _is_ingest(record) else "transform" if _is_transform(record) else None
            if stage and last[stage] is None:
                last[stage] = parse_utc(record.ended_at)
    return last


def _staleness(storage: Storage, stale_after_hours: float, now: datetime) -> Condition | None:
    """The cloud's freshness rule: the older of the last finished ingestion and transform, or never."""
    last = _last_finished(storage)
    never = [stage for stage, at in last.items() if at is None]
    if never:
        return Condition(
            "stale",
            f"no {' and no '.join(never)} has finished in the newest {STALE_SCAN_LIMIT} run records "
            f"(threshold {stale_after_hours:g} h)",
        )
    ages = {stage: (now - at).total_seconds() / 3600 for stage, at in last.items() if at is not None}
    age = max(ages.values())
    if age <= stale_after_hours:
        return None
    ended = "; ".join(f"last {stage} ended {utc_iso(at)}" for stage, at in last.items() if at is not None)
    return Condition(
        "stale", f"data is {age:.1f} h old (threshold {stale_after_hours:g} h): {ended}", value=round(age, 2)
    )


def _first_error(record: RunRecord, secrets: list[str]) -> str:
    if not record.errors:
        return "no error message recorded"
    return redact_text(record.errors[0], secrets)[:MAX_ERROR_CHARS]


def evaluate(
    storage: Storage,
    records: list[RunRecord],
    *,
    stale_after_hours: float,
    now: datetime,
    exit_code: int | None = None,
    secrets: list[str] | None = None,
) -> list[Condition]:
    """The conditions that hold after the run made of `records` (oldest first)."""
    secrets = secrets or []
    conditions: list[Condition] = []
    for record in records:
        kind = "transform" if _is_transform(record) else "ingestion" if _is_ingest(record) else "run"
        if record.status is RunStatus.FAILED:
            text = f"{kind} run {record.run_id} failed: {_first_error(record, secrets)}"
            conditions.append(Condition("failed_run", text, record.run_id))
        elif record.status is RunStatus.PARTIAL:
            text = f"{kind} run {record.run_id} was partial: {_first_error(record, secrets)}"
            conditions.append(Condition("partial_run", text, record.run_id))
        elif record.status is RunStatus.INCOMPLETE:
            where = record.extra.get("position") or {}
            text = (
                f"{kind} run {record.run_id} stopped at its deadline with work left "
                f"(streams {', '.join(where.get('stopped') or []) or '?'}); the next run continues"
            )
            conditions.append(Condition("incomplete_run", text, record.run_id))
    # A command that stopped before writing a record (bad settings) failed too; one that found the lake busy
    # (exit 4, no record) did not: another run is at work, and a lake that stays busy shows up as stale. A run
    # that crashed (exit 1) alerts even when the records it left say nothing went wrong.
    if exit_code not in (None, 0, int(ExitCode.UNAVAILABLE)) and not conditions:
        conditions.append(Condition("failed_run", f"the run exited with code {exit_code} and wrote no run record"))
    elif exit_code == int(ExitCode.FAILURE) and not any(c.kind == "failed_run" for c in conditions):
        conditions.append(Condition("failed_run", "the run crashed (exit code 1: an unexpected error; see its log)"))

    stale = _staleness(storage, stale_after_hours, now)
    if stale is not None:
        conditions.append(stale)

    transforms = [r for r in records if _is_transform(r)]
    for record in transforms:
        drifted = record.extra["transform"].get("schema_drift")
        if drifted:
            fields = ", ".join(drifted.get("missing_fields") or []) or "none identified"
            conditions.append(
                Condition(
                    "schema_drift",
                    f"schema drift in {drifted['table']}: {drifted['quarantined']} of {drifted['records']} records "
                    f"quarantined, missing field(s): {fields}; the previous version stays published",
                    record.run_id,
                    drifted.get("share"),
                )
            )
    if transforms:
        # Drift and quarantine as the lake serves them now: from the run that published the current tables, never
        # from a run that found nothing new (a no-op publishes nothing and counts zero).
        history = list(itertools.islice(_newest_records(storage), STALE_SCAN_LIMIT))
        newest = publisher_of(history, RECONCILIATION_TABLE) or transforms[-1]
        drift = int(newest.extra["transform"].get("reconciliation_drift_rows") or 0)
        if drift > 0:
            conditions.append(
                Condition(
                    "drift",
                    f"{drift} reconciliation row(s) outside tolerance after transform run {newest.run_id}",
                    newest.run_id,
                    drift,
                )
            )
        worked = [r for r in transforms if r.extra["transform"].get("mode") != "noop"]
        if not worked:
            current = publisher_of(history)
            worked = [current] if current is not None else []
        by_entity: dict[str, int] = {}
        for record in worked:
            for entity, count in (record.extra["transform"].get("quarantined") or {}).items():
                by_entity[entity] = by_entity.get(entity, 0) + int(count)
        quarantined = sum(by_entity.values())
        if quarantined > 0:
            detail = ", ".join(f"{e} {n}" for e, n in sorted(by_entity.items()) if n)
            conditions.append(
                Condition(
                    "quarantine",
                    f"{quarantined} record(s) quarantined in this run ({detail})",
                    worked[-1].run_id,
                    quarantined,
                )
            )
    return conditions


def build_message(
    conditions: list[Condition], run_ids: list[str], *, lake: str, now: datetime, exit_code: int | None
) -> dict[str, Any]:
    """Slack's ``text`` (one line per condition) plus the same facts as fields for other receivers."""
    lines = [f"{SOURCE}: {len(conditions)} alert(s) on lake {lake}"]
    lines += [f"- [{c.kind}] {c.summary}" for c in conditions]
    return {
        "text": "\n".join(lines),
        "source": SOURCE,
        "lake": lake,
        "host": socket.gethostname(),
        "evaluated_at": utc_iso(now),
        "exit_code": exit_code,
        "run_ids": run_ids,
        "conditions": [asdict(c) for c in conditions],
    }


# ---- delivery ----------------------------------------------------------------------------------------------
class _HideRequestLines(logging.Filter):
    """Drops the request lines httpx logs at INFO from one thread: they quote the full URL, the webhook's secret."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.get_ident() != self.thread


def post_webhook(
    url: str,
    message: dict[str, Any],
    *,
    policy: RetryPolicy = WEBHOOK_RETRY_POLICY,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, int, str | None]:
    """POST `message` as JSON; (delivered, attempts, failed attempts, last failure described without the URL)."""
    body = json.dumps(message).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": SOURCE}
    hide = _HideRequestLines()
    httpx_log = logging.getLogger("httpx")
    httpx_log.addFilter(hide)
    try:
        return _post(url, body, headers, policy=policy, timeout=timeout, sleep=sleep)
    finally:
        httpx_log.removeFilter(hide)


def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: RetryPolicy,
    timeout: float,
    sleep: Callable[[float], None],
) -> tuple[bool, int, int, str | None]:
    failures, error = 0, None
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(1, policy.max_attempts + 1):
            outcome: Outcome
            try:
                response = client.post(url, content=body, headers=headers)
            except Exception as exc:  # any transport problem; `decide` tells transient from fatal
                outcome = exc
            else:
                if response.is_success:
                    return True, attempt, failures, error
                outcome = response
            failures, error = failures + 1, describe(outcome)
            decision = decide(policy, attempt, outcome)
            if decision.action is not Action.RETRY:
                break
            sleep(decision.delay)
    return False, failures, failures, error


def known_secrets(settings: Settings) -> list[str]:
    """The secret values an output must never show: the API token and the webhook URL."""
    return [s.get_secret_value() for s in (settings.wistia_api_token, settings.alert_webhook_url) if s]


def after_run(
    settings: Settings,
    storage: Storage | None = None,
    *,
    since: datetime | None = None,
    exit_code: int | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertOutcome:
    """Check the alarm conditions after a run and tell the webhook; never raises.

    The run is the records started at or after `since` (the scheduler passes its tick's start); without it,
    the newest ingestion and what followed it (right after `run`, that is the run). `exit_code` is the
    command's, to catch failures that wrote no record.
    """
    outcome = AlertOutcome(webhook_configured=settings.alert_webhook_url is not None)
    url = settings.alert_webhook_url.get_secret_value() if settings.alert_webhook_url else ""
    secrets = known_secrets(settings)
    try:
        storage = storage or Storage.from_uri(settings.lake_uri)
        moment = now or utc_now()
        records = records_since(storage, since) if since is not None else last_pipeline_run(storage)
        run_ids = [r.run_id for r in records]
        if records and isinstance(records[-1].extra.get("alerts"), dict):
            return AlertOutcome.from_record(records[-1].extra["alerts"], run_ids)
        outcome.run_ids = run_ids
        outcome.conditions = evaluate(
            storage,
            records,
            stale_after_hours=settings.alert_stale_after_hours,
            now=moment,
            exit_code=exit_code,
            secrets=secrets,
        )
        for condition in outcome.conditions:
            log.warning("alert condition %s: %s", condition.kind, condition.summary)
        if outcome.conditions and url:
            lake = redact_text(storage.uri(""), secrets)
            message = build_message(outcome.conditions, outcome.run_ids, lake=lake, now=moment, exit_code=exit_code)
            delivered, attempts, failures, error = post_webhook(url, message, sleep=sleep)
            outcome.posted, outcome.webhook_attempts = delivered, attempts
            outcome.webhook_failures, outcome.webhook_error = failures, error
            if delivered:
                log.info("alert posted to the webhook (%s)", ", ".join(outcome.kinds))
            else:
                log.warning(
                    "alert webhook failed after %d attempt(s) (%s); the run itself is unaffected", attempts, error
                )
        if records:
            last = load_run(storage, records[-1].run_id)
            last.extra["alerts"] = outcome.to_record()
            save_run(storage, last)
    except Exception as exc:  # alerting must never turn a run into a failure
        log.error("alert evaluation failed: %s", redact_text(f"{type(exc).__name__}: {exc}", secrets))
        outcome.webhook_error = outcome.webhook_error or type(exc).__name__
    return outcome


def run_with_alerts(run_pipeline: Callable[[], int]) -> int:
    """`wistia-analytics run` with its alerting hook: run, then `after_run` on the records it wrote; its exit code.

    A run that crashes (an unexpected exception: a bug) still alerts, then exits 1 with the traceback logged.
    """
    started = utc_now()
    try:
        code = run_pipeline()
    except Exception as exc:
        log.exception("the run crashed: %s", type(exc).__name__)
        print(f"unexpected error: {type(exc).__name__} (a bug: see the log above); alerting", file=sys.stderr)
        code = int(ExitCode.FAILURE)
    try:
        settings = Settings()
    except ValueError:
        return code  # the run has already reported the bad setting
    after_run(settings, since=started, exit_code=code)
    return code

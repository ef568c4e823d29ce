"""Bad-input campaign: every malformed record ends in quarantine with a reason, every good one in Silver.

The sandbox's bad-input corpus (`sandbox/corruption.py`) breaks a seeded share of the events and visitors it
serves, in every way listed there (wrong types, missing keys, negative counts, percent out of range, far-future
and pre-epoch timestamps, duplicate JSON keys with different values, huge strings, invalid Unicode), plus odd but
valid ones (unknown fields, unusual Unicode) that must pass, and serves some whole pages as 200s that are not
JSON (the client must retry them). Ingestion and the transform run as in production; then, per entity and kind:
- a bad record served with its key is in `silver_quarantine` (that key, a non-empty reason) and not in Silver;
- bad records served without a key are counted: as many keyless rows in quarantine for the entity;
- good and tolerated records are in Silver with the truth's values; nothing crashes.

    python -m benchmarks.campaign_bad_input [--seed N] [--size small] [--bad-records 0.02] [--bad-pages 0.02]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.campaign_faults import TODAY, ingest_and_transform, silver_rows, truth_events
from wistia_analytics.sandbox import Sandbox, SandboxConfig, run_sandbox
from wistia_analytics.sandbox.config import SIZES
from wistia_analytics.sandbox.corruption import (
    ALL_BAD_RECORD_KINDS,
    KEY_FIELD,
    TOLERATED_KINDS,
    BadInputPlan,
    BadRecordKind,
    Entity,
)

QUARANTINE_ENTITY: dict[Entity, str] = {"events": "event", "visitors": "visitor"}


@dataclass
class KindOutcome:
    """Where the records of one (entity, kind) ended up."""

    entity: str
    kind: str
    tolerated: bool
    served: int = 0  # distinct records served broken this way
    keyless: int = 0  # of which served without a key
    quarantined: int = 0  # keyed ones found in quarantine with a reason
    in_silver: int = 0  # keyed ones found in Silver
    intact_in_silver: int = 0  # of which with the truth's values (tolerated kinds)
    keyless_quarantined: int = 0  # keyless rows of the entity in quarantine (shared by the entity's keyless kinds)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        if self.tolerated:
            return self.intact_in_silver == self.served and self.quarantined == 0
        keyed = self.served - self.keyless
        return self.quarantined == keyed and self.in_silver == 0 and self.keyless_quarantined == self.keyless


@dataclass
class BadInputCampaign:
    """The campaign's figures; `check()` raises AssertionError listing every broken promise."""

    size: str
    seed: int
    record_rate: float
    page_rate: float
    crash: str | None = None
    ingest_status: str = ""
    transform_status: str = ""
    outcomes: list[KindOutcome] = field(default_factory=list)
    good: dict[str, int] = field(default_factory=dict)  # good records served, per entity
    good_in_silver: dict[str, int] = field(default_factory=dict)  # of which in Silver with the truth's values
    pages_broken: dict[str, int] = field(default_factory=dict)
    client_retries: int = 0
    stats_agree: bool = True  # the sandbox's served keys == what the plan says it broke
    quarantine_rows: int = 0
    silver_duplicates: int = 0

    def failures(self) -> list[str]:
        if self.crash is not None:
            return [f"the run crashed: {self.crash}"]
        out = []
        if self.ingest_status != "success":
            out.append(f"ingestion ended {self.ingest_status}")
        if self.transform_status != "success":
            out.append(f"transform ended {self.transform_status}")
        for entity, n in self.good.items():
            if self.good_in_silver.get(entity, 0) != n:
                out.append(
                    f"{entity}: {n - self.good_in_silver.get(entity, 0)} of {n} good records not in Silver as served"
                )
        for o in self.outcomes:
            if not o.ok:
                out.append(
                    f"{o.entity}/{o.kind}: served {o.served} (keyless {o.keyless}), quarantined {o.quarantined}, "
                    f"in Silver {o.in_silver} (intact {o.intact_in_silver}), keyless rows in quarantine "
                    f"{o.keyless_quarantined}" + (" [tolerated: expected in Silver]" if o.tolerated else "")
                )
        if not self.stats_agree:
            out.append("the sandbox's /_sandbox/stats keys differ from the corpus plan")
        if sum(self.pages_broken.values()) and self.client_retries < sum(self.pages_broken.values()):
            out.append("whole-page corruptions were not all retried")
        if self.silver_duplicates:
            out.append(f"{self.silver_duplicates} duplicate keys in Silver")
        return out

    def check(self) -> None:
        problems = self.failures()
        assert not problems, "bad-input campaign failed:\n  " + "\n  ".join(problems)

    def lines(self) -> list[str]:
        out = [f"account: {self.size}, seed {self.seed}, bad records {self.record_rate}, bad pages {self.page_rate}"]
        if self.crash is not None:
            return [*out, f"CRASH: {self.crash}"]
        out.append(f"ingestion {self.ingest_status}, transform {self.transform_status}")
        for entity, n in self.good.items():
            out.append(f"{entity}: good records {n:,}, in Silver intact {self.good_in_silver.get(entity, 0):,}")
        out.append(f"{'entity':<9} {'kind':<21} {'served':>6} {'keyless':>7} {'quarant.':>8} {'silver':>6}  ok  reason")
        for o in self.outcomes:
            reason = o.reasons.most_common(1)[0][0] if o.reasons else "-"
            out.append(
                f"{o.entity:<9} {o.kind:<21} {o.served:>6} {o.keyless:>7} {o.quarantined:>8} {o.in_silver:>6}  "
                f"{'yes' if o.ok else 'NO '} {reason}"
            )
        out.append(f"whole pages broken (retried): {self.pages_broken}; client retries {self.client_retries}")
        out.append(f"quarantine rows: {self.quarantine_rows}; sandbox stats agree with the plan: {self.stats_agree}")
        return out


def _visitor_truth(sb: Sandbox, now_ts: int) -> list[dict[str, Any]]:
    table = sb.account.visitor_table(now_ts)
    return [sb.app.routes.render.visitor(int(v), table, listing=True) for v in table.order.tolist()]


def _core(entity: Entity, record: dict[str, Any]) -> tuple[Any, ...]:
    if entity == "visitors":
        return (str(record["visitor_key"]), int(record["play_count"]), int(record["load_count"]))
    received = str(record["received_at"]).replace(".000Z", "Z").replace("Z", "")
    pct = round(float(record["percent_viewed"]), 9)
    return (str(record["event_key"]), received, str(record["media_id"]), str(record["visitor_key"]), pct)


def _silver_core(entity: Entity, lake: Path) -> dict[str, tuple[Any, ...]]:
    if entity == "visitors":
        rows = silver_rows(lake, "SELECT visitor_key, play_count, load_count FROM silver.visitors")
        return {str(k): (str(k), _int_or_none(p), _int_or_none(n)) for k, p, n in rows}
    rows = silver_rows(
        lake,
        "SELECT event_key, strftime(received_at, '%Y-%m-%dT%H:%M:%S'), media_id, visitor_key, percent_viewed "
        "FROM silver.events",
    )
    return {
        str(k): (str(k), str(t), str(m), str(v), None if p is None else round(float(p), 9)) for k, t, m, v, p in rows
    }


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _evaluate(result: BadInputCampaign, sb: Sandbox, entity: Entity, truth: list[dict[str, Any]], lake: Path) -> None:
    plan: BadInputPlan = sb.app.routes.bad_input
    silver = _silver_core(entity, lake)
    count_sql = f"SELECT count(*) FROM silver.{entity}"
    result.silver_duplicates += int(silver_rows(lake, count_sql)[0][0]) - len(silver)
    quarantine: dict[str | None, list[str]] = {}
    for key, reason in silver_rows(
        lake,
        f"SELECT record_key, reject_reason FROM silver.quarantine WHERE entity = '{QUARANTINE_ENTITY[entity]}'",
    ):
        quarantine.setdefault(key, []).append(reason or "")
    keyless_rows = len(quarantine.get(None, []))
    outcomes: dict[str, KindOutcome] = {}
    expected_keys: dict[str, set[str]] = {}
    good = intact = 0
    for record in truth:
        key = str(record[KEY_FIELD[entity]])
        broken = plan.break_record(entity, record)
        if broken is None:
            good += 1
            intact += silver.get(key) == _core(entity, record)
            continue
        o = outcomes.setdefault(broken.kind, KindOutcome(entity, broken.kind, broken.kind in TOLERATED_KINDS))
        o.served += 1
        expected_keys.setdefault(broken.kind, set()).add(key)
        if broken.keyless:
            o.keyless += 1
            o.keyless_quarantined = keyless_rows
            continue
        reasons = [r for r in quarantine.get(key, []) if r.strip()]
        o.quarantined += bool(reasons)
        o.reasons.update(reasons[:1])
        o.in_silver += key in silver
        if o.tolerated:
            o.intact_in_silver += silver.get(key) == _core(entity, json.loads(broken.text))
    result.good[entity] = good
    result.good_in_silver[entity] = intact
    result.outcomes.extend(sorted(outcomes.values(), key=lambda o: o.kind))
    served = sb.stats()["bad_input"]["records"].get(entity, {})
    for kind, keys in expected_keys.items():
        got = set(served.get(kind, {}).get("keys", [])) | set(served.get(kind, {}).get("keyless_keys", []))
        result.stats_agree &= got == keys


def campaign(
    size: str = "small",
    seed: int = 5,
    bad_records: float = 0.02,
    bad_pages: float = 0.02,
    days: int | None = None,
    kinds: tuple[BadRecordKind, ...] = ALL_BAD_RECORD_KINDS,
) -> BadInputCampaign:
    """Run the campaign once (`days`: the last days only; default the whole history) and return its figures."""
    result = BadInputCampaign(size, seed, bad_records, bad_pages)
    config = SandboxConfig(
        size=size,  # type: ignore[arg-type]
        seed=seed,
        today=TODAY,
        rate_limit_per_minute=0,
        bad_records=bad_records,
        bad_pages=bad_pages,
        bad_record_kinds=kinds,
    )
    with tempfile.TemporaryDirectory(prefix="campaign-bad-input-") as tmp, run_sandbox(config) as sb:
        lake = Path(tmp) / "lake"
        try:
            run = ingest_and_transform(sb, lake, days=days)
        except Exception as exc:  # the campaign reports a crash instead of dying with it
            result.crash = f"{type(exc).__name__}: {exc}"[:500] + "\n" + traceback.format_exc(limit=-3)
            return result
        result.ingest_status = run.ingest.status.value
        result.transform_status = run.transform.status.value
        result.client_retries = run.client.retries
        result.pages_broken = dict(run.sandbox.get("bad_input", {}).get("pages", {}))
        result.quarantine_rows = int(silver_rows(lake, "SELECT count(*) FROM silver.quarantine")[0][0])
        _evaluate(result, sb, "events", truth_events(sb, run.since, run.now_ts), lake)
        _evaluate(result, sb, "visitors", _visitor_truth(sb, run.now_ts), lake)
    return result


def run(
    size: str = "small",
    seed: int = 5,
    bad_records: float = 0.02,
    bad_pages: float = 0.02,
    kinds: tuple[BadRecordKind, ...] = ALL_BAD_RECORD_KINDS,
) -> BadInputCampaign:
    """Benchmark entry point: run, print the figures per kind, then assert."""
    result = campaign(size, seed, bad_records, bad_pages, kinds=kinds)
    for line in result.lines():
        print(line)
    for problem in result.failures():
        print(f"FAILED: {problem}")
    result.check()
    print("bad-input campaign: OK")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--size", default="small", choices=[s for s in SIZES if s != "empty"])
    parser.add_argument("--bad-records", type=float, default=0.02, help="fraction of list records served broken")
    parser.add_argument("--bad-pages", type=float, default=0.02, help="fraction of list pages served as non-JSON")
    parser.add_argument("--kinds", default=",".join(ALL_BAD_RECORD_KINDS), help="comma-separated corpus kinds")
    args = parser.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = sorted(set(kinds) - set(ALL_BAD_RECORD_KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {','.join(ALL_BAD_RECORD_KINDS)}")
    run(args.size, args.seed, args.bad_records, args.bad_pages, kinds)


if __name__ == "__main__":
    main()

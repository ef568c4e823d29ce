"""The audit step of write-audit-publish: every check a table version must pass before it is written.

A candidate version is a relation (the rows built this run) plus, for an incremental rebuild, the partitions
kept from the current version. The kept rows passed their checks when they were published; what is left to
check across the two is a key of a new row that is also in a kept partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from wistia_analytics.errors import DataQualityError, ExitCode
from wistia_analytics.quality.checks import CheckResult, key_checks, run_checks
from wistia_analytics.transform.engine import Engine
from wistia_analytics.transform.kept_partitions import KeptPartitions
from wistia_analytics.transform.models import Model


class ChecksFailedError(DataQualityError):
    """A table version failed a blocking check: it was not published; the previous version stays.

    A blocking failure fails the transform run (exit 1, docs/engines.md); a non-blocking one only makes it
    partial (3), which is `DataQualityError`'s own code.
    """

    exit_code = ExitCode.FAILURE


@dataclass
class AuditResult:
    """The checks of one candidate version and how many rows the version would hold."""

    checks: list[CheckResult]
    total_rows: int  # the relation's rows plus the kept partitions'

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.checks if not r.passed and r.blocking]

    def require_passed(self, table: str) -> None:
        """Raise `ChecksFailedError` if a blocking check failed (the caller records the checks first)."""
        if self.failed:
            detail = ", ".join(f"{r.name}: {r.violations} rows" for r in self.failed)
            raise ChecksFailedError(f"{table} failed checks ({detail}); the previous version stays published")


def audit(
    engine: Engine, model: Model, relation: str, *, rows: int, kept: KeptPartitions | None, raw: str
) -> AuditResult:
    """Run the model's checks and key checks on `relation` (`rows` rows), across `kept`, and non-emptiness.

    `raw` is the model's validated input (with `reject_reason`): when the model declares `nonempty_if`, a good
    row there means an empty table would be a bug.
    """
    checks = [*model.checks, *key_checks(model.key, model.nullable_key)]
    if rows == 0:  # every check counts offending rows of `relation`: none (a Spark job saved per check)
        results = [CheckResult(c.name, 0, c.blocking) for c in checks]
    else:
        results = run_checks(engine, relation, checks)
    total_rows = rows
    if kept is not None:
        kept_rel = f"{model.name}__kept"
        engine.register_parquet(kept_rel, kept.all_files(), kept.columns)
        total_rows += engine.scalar(f"SELECT count(*) FROM {kept_rel}")
        if model.partition_by not in model.key:  # a key can then span partitions
            unique = next(r for r in results if r.name.startswith("key unique"))
            on = " AND ".join(f"k.{c} = n.{c}" for c in model.key)
            unique.violations += engine.scalar(
                f"SELECT count(*) FROM {kept_rel} k JOIN (SELECT DISTINCT {', '.join(model.key)} "
                f"FROM {relation}) n ON {on}"
            )
    # Some input passed validation iff the model's raw table has a good row (no second read of Bronze).
    valid_inputs = (
        engine.scalar(f"SELECT count(*) FROM (SELECT 1 FROM {raw} WHERE reject_reason IS NULL LIMIT 1) t")
        if model.nonempty_if
        else 0
    )
    if valid_inputs > 0:
        results.append(CheckResult(f"non-empty (since {model.nonempty_if} has valid rows)", int(total_rows == 0)))
    return AuditResult(results, total_rows)

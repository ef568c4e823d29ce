"""One transform run: Bronze -> Silver -> Gold with write-audit-publish, full or incremental.

Full rebuild: every model over all its inputs. Incremental: only what new Bronze files change.
- Unpartitioned Silver entities read only the new files and merge their winners into the current table by
  key (latest ingested wins; by `merge_group` for rows that come as one record), which equals re-reading
  everything.
- `silver_events` re-derives only the event dates touched by new files (plus the dates of keys they
  re-deliver and of medias whose duration changed), reading the Bronze files that hold those dates.
- Partitioned Gold tables re-derive only the touched dates, with their partitioned inputs restricted to
  those dates; small unpartitioned Gold tables are recomputed.
Each table version is audited (`audit.py`), written aside and published by its manifest (`publish.py`);
downstream models read the published version. State (processed files) is saved after the last publish.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from wistia_analytics.contracts.streams import STREAMS
from wistia_analytics.crashpoints import crash_point
from wistia_analytics.errors import ExitCode, SchemaDriftError
from wistia_analytics.lake.bronze import list_bronze_files
from wistia_analytics.lake.layout import parse_bronze_file
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.runs import RunRecord, RunStatus, finish_run, new_run_id, start_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import Manifest, TableStore, table_dir
from wistia_analytics.quality.checks import CheckResult
from wistia_analytics.transform.audit import ChecksFailedError, audit
from wistia_analytics.transform.bronze_files import BRONZE_FILE_ENTITY, bronze_file_defect
from wistia_analytics.transform.channel_sql import render_model_sql
from wistia_analytics.transform.engine import Engine
from wistia_analytics.transform.kept_partitions import KeptPartitions
from wistia_analytics.transform.models import MODELS, MODELS_BY_NAME, QUARANTINE_TABLE, Dimension, Model
from wistia_analytics.transform.processed_files import TransformState
from wistia_analytics.transform.publish import publish_model_version, write_version

log = logging.getLogger(__name__)
HELPER_COLUMNS = ("reject_reason", "record", "record_key")
QUARANTINE_COLUMNS = (
    "entity",
    "record_key",
    "reject_reason",
    "source_file",
    "run_id",
    "ingested_at",
    "record",
)


# A failed run (a blocking check failed: nothing more was published) exits FAILURE, as docs/engines.md says.
_EXIT_CODES = {RunStatus.SUCCESS: ExitCode.OK, RunStatus.PARTIAL: ExitCode.PARTIAL}


@dataclass
class ModelReport:
    name: str
    rows: int = 0
    partitions_written: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    published: bool = False


@dataclass
class TransformResult:
    run_id: str
    mode: str  # full | incremental | noop
    status: RunStatus
    models: list[ModelReport]
    quarantined: dict[str, int]
    drift_rows: int
    seconds: float
    error: str | None = None
    exit_override: int | None = None  # schema drift: its own code (6)
    # Wistia's modern analytics against v1 by_date (gold_reconciliation.modern_within_tolerance): the media-days
    # outside tolerance, of those compared (0 compared: the analytics are not ingested).
    modern_drift_rows: int = 0
    modern_checked: int = 0

    @property
    def exit_code(self) -> int:
        if self.exit_override is not None:
            return self.exit_override
        return int(_EXIT_CODES.get(self.status, ExitCode.FAILURE))


def _dates_sql(dates: set[str]) -> str:
    return ", ".join(f"DATE '{d}'" for d in sorted(dates)) or "NULL"


class TransformRunner:
    def __init__(
        self,
        storage: Storage,
        engine: Engine,
        *,
        full_rebuild: bool = False,
        hash_identity: bool = False,
        site_hosts: tuple[str, ...] = (),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        command: str = "transform",
        lock_wait_seconds: float = 0.0,
        max_quarantine_share: float = 0.5,
        quarantine_min_records: int = 20,
    ) -> None:
        self.storage = storage
        self.engine = engine
        self.full_rebuild = full_rebuild
        self.hash_identity = hash_identity
        self.site_hosts = site_hosts
        self.now = now
        self.command = command
        self.lock_wait_seconds = lock_wait_seconds
        self.max_quarantine_share = max_quarantine_share
        self.quarantine_min_records = quarantine_min_records
        self.schema_drift: dict[str, Any] | None = None
        self.tables = TableStore(storage)
        self.reports: list[ModelReport] = []

    # ---- the run ------------------------------------------------------------------------------------
    def run(self) -> TransformResult:
        started = time.monotonic()
        run_id = new_run_id(self.now())
        with holding_lake(self.storage, run_id, self.command, wait_seconds=self.lock_wait_seconds):
            record = start_run(self.storage, run_id, self.command, self.now())
            try:
                result = self._run(run_id, started)
                status = result.status
            except (ChecksFailedError, SchemaDriftError) as exc:
                result = TransformResult(
                    run_id,
                    "failed",
                    RunStatus.FAILED,
                    self.reports,
                    {},
                    0,
                    time.monotonic() - started,
                    str(exc),
                )
                if isinstance(exc, SchemaDriftError):
                    result.exit_override = int(ExitCode.SCHEMA_DRIFT)
                record.add_error(str(exc))
                status = RunStatus.FAILED
            self._record(record, result)
            finish_run(self.storage, record, status, self.now())
            return result

    def _record(self, record: RunRecord, result: TransformResult) -> None:
        record.extra["transform"] = {
            "mode": result.mode,
            "engine": self.engine.name,
            "tables": {
                m.name: {
                    "rows": m.rows,
                    "partitions_written": m.partitions_written,
                    "quarantined": m.quarantined,
                    "seconds": round(m.seconds, 3),
                    "published": m.published,
                    "failed_checks": [c.name for c in m.checks if not c.passed],
                }
                for m in result.models
            },
            "quarantined": result.quarantined,
            "reconciliation_drift_rows": result.drift_rows,
            "modern_reconciliation": {"rows_with_drift": result.modern_drift_rows, "rows": result.modern_checked},
        }
        if getattr(self, "damaged", None):
            record.extra["transform"]["repaired"] = {t: sorted(p) for t, p in self.damaged.items()}
        if self.schema_drift is not None:
            record.extra["transform"]["schema_drift"] = self.schema_drift

    def _run(self, run_id: str, started: float) -> TransformResult:
        self.run_id = run_id
        self.reports = []
        state = TransformState.load(self.storage)
        self.bronze = {s.name: list_bronze_files(self.storage, s.name) for s in STREAMS}
        processed = {s: set(files) for s, files in state.processed.items()}
        self.new = {s: [f for f in files if f not in processed.get(s, set())] for s, files in self.bronze.items()}
        listed = {s: list(files) for s, files in self.bronze.items()}
        self.currents: dict[str, Manifest | None] = {m.name: self.tables.current(m.name) for m in MODELS}
        # A run killed between two publishes leaves tables from different runs: their dimension diffs can no
        # longer be trusted, so the next run rebuilds everything (same result, more time).
        interrupted = any(m is not None and m.run_id != state.run_id for m in self.currents.values())
        self.full = (
            self.full_rebuild or state.engine is None or interrupted or any(v is None for v in self.currents.values())
        )
        self.damaged = {} if self.full else self._find_damage()
        if not self.full and not any(self.new.values()) and not self.damaged:
            return TransformResult(run_id, "noop", RunStatus.SUCCESS, [], {}, 0, time.monotonic() - started)
        self.state = state
        self.touched: dict[str, set[str]] = {}
        self.quarantine_relations: list[str] = []
        self.quarantined: dict[str, int] = {}
        self._leave_out_unreadable_bronze()
        for model in MODELS:
            report = ModelReport(model.name)
            self.reports.append(report)
            t0 = time.monotonic()
            if model.quarantine_entity:
                self._silver(model, report)
            else:
                self._gold(model, report)
            report.seconds = time.monotonic() - t0
        self._publish_quarantine()
        crash_point("transform.before_state")
        # An unreadable file counts as processed: it is quarantined once, not again on every incremental run
        # (a full rebuild checks every file again and rebuilds the quarantine).
        state.processed = listed
        state.engine, state.run_id = self.engine.name, run_id
        state.save(self.storage)
        for model in MODELS:
            self.tables.collect_garbage(model.name)
        self.tables.collect_garbage(QUARANTINE_TABLE)
        drift = self.engine.scalar("SELECT count(*) FROM gold_reconciliation WHERE NOT within_tolerance")
        modern_drift = self.engine.scalar("SELECT count(*) FROM gold_reconciliation WHERE NOT modern_within_tolerance")
        modern_checked = self.engine.scalar("SELECT count(modern_within_tolerance) FROM gold_reconciliation")
        warn = any(not c.passed for r in self.reports for c in r.checks)
        status = RunStatus.PARTIAL if warn else RunStatus.SUCCESS
        mode = "full" if self.full else "incremental"
        return TransformResult(
            run_id,
            mode,
            status,
            self.reports,
            self.quarantined,
            drift,
            time.monotonic() - started,
            modern_drift_rows=modern_drift,
            modern_checked=modern_checked,
        )

    # ---- helpers ---------------------------------------------------------------------------------------
    def _find_damage(self) -> dict[str, set[str]]:
        """Partitions of published versions with a missing file (one listing per table), to rebuild this run.

        A damaged partitioned table has those partitions re-derived from Bronze like touched dates (and its
        current version is read without them); damage to an unpartitioned table (or to the quarantine) makes
        this run a full rebuild. An unreadable manifest already did (`TableStore.current` is then None).
        """
        damaged: dict[str, set[str]] = {}
        tables = {**self.currents, QUARANTINE_TABLE: self.tables.current(QUARANTINE_TABLE)}
        for name, manifest in tables.items():
            if manifest is None:
                continue
            present = set(self.storage.list(table_dir(name)))
            parts = {p for p, files in manifest.files.items() if any(f not in present for f in files)}
            if parts:
                log.warning("%s: files missing in partition(s) %s: rebuilding them", name, ", ".join(sorted(parts)))
                damaged[name] = parts
        if any(name == QUARANTINE_TABLE or not MODELS_BY_NAME[name].partition_by for name in damaged):
            self.full = True
            return damaged
        for name, parts in damaged.items():
            current = self.currents[name]
            assert current is not None
            self.currents[name] = replace(current, files={p: f for p, f in current.files.items() if p not in parts})
        return damaged

    def _register_current(self, table: str, as_name: str) -> Manifest | None:
        manifest = self.currents.get(table) or self.tables.current(table)
        self.engine.register_parquet(
            as_name, manifest.all_files() if manifest else [], manifest.columns if manifest else []
        )
        return manifest

    def _output_columns(self, relation: str) -> list[str]:
        return [c for c, _ in self.engine.columns(relation) if c not in HELPER_COLUMNS]

    def _leave_out_unreadable_bronze(self) -> None:
        """Check the Bronze files this run reads; quarantine the unreadable ones as files and read the rest."""
        bad: list[tuple[str, str]] = []
        for stream, files in self.bronze.items():
            new = set(self.new[stream])
            for path in files if self.full else self.new[stream]:
                reason = bronze_file_defect(self.storage, path, parse_lines=path in new)
                if reason is not None:
                    log.warning("quarantined Bronze file %s: %s", path, reason)
                    bad.append((path, reason))
        if not bad:
            return
        left_out = {path for path, _ in bad}
        self.bronze = {s: [f for f in files if f not in left_out] for s, files in self.bronze.items()}
        self.new = {s: [f for f in files if f not in left_out] for s, files in self.new.items()}
        name = f"{BRONZE_FILE_ENTITY}__quarantine"
        rows = " UNION ALL ".join(
            f"SELECT '{BRONZE_FILE_ENTITY}' AS entity, {_literal(path)} AS record_key, {_literal(reason)} AS "
            f"reject_reason, {_literal(path)} AS source_file, {_literal(_run_of(path))} AS run_id, "
            "CAST(NULL AS TIMESTAMPTZ) AS ingested_at, CAST(NULL AS VARCHAR) AS record"
            for path, reason in bad
        )
        self.engine.materialize(name, rows)
        self.quarantined[BRONZE_FILE_ENTITY] = len(bad)
        self.quarantine_relations.append(name)

    def _split_quarantine(self, model: Model, raw: str, report: ModelReport, *, empty: bool = False) -> None:
        """The rejected rows of `raw` as this run's quarantine of the model (`empty`: `raw` has no rows)."""
        entity = model.quarantine_entity
        name = f"{model.name}__quarantine"
        select = (
            f"SELECT '{entity}' AS entity, record_key, reject_reason, source_file, run_id, ingested_at, record "
            f"FROM {raw} WHERE reject_reason IS NOT NULL"
        )
        if empty:
            self.engine.view(name, select)
            report.quarantined = self.quarantined[str(entity)] = 0
            self.quarantine_relations.append(name)
            return
        self.engine.materialize(name, select)
        report.quarantined = self.engine.scalar(f"SELECT count(*) FROM {name}")
        self.quarantined[str(entity)] = report.quarantined
        self.quarantine_relations.append(name)
        self._check_quarantine_share(model, raw, name, report.quarantined)

    def _check_quarantine_share(self, model: Model, raw: str, quarantine: str, rejected: int) -> None:
        """Raise `SchemaDriftError` when this run rejected more than the allowed share of the model's records.

        A renamed field rejects every record: publishing the rest would be an empty or partial table that
        looks fine. Nothing of the table is published (the previous version stays) and the run names the
        required fields absent from most rejected records.
        """
        if rejected == 0:
            return
        total = self.engine.scalar(f"SELECT count(*) FROM {raw}")
        share = rejected / total if total else 0.0
        if total < self.quarantine_min_records or share <= self.max_quarantine_share:
            return
        missing = [
            name
            for name in model.required_fields
            if 2
            * self.engine.scalar(
                f"SELECT count(*) FROM {quarantine} WHERE json_extract_string(record, '$.{name}') IS NULL"
            )
            > rejected
        ]
        top = self.engine.rows(
            f"SELECT reject_reason, count(*) AS n FROM {quarantine} GROUP BY reject_reason ORDER BY n DESC, "
            "reject_reason LIMIT 1"
        )
        self.schema_drift = {
            "table": model.name,
            "missing_fields": missing,
            "share": round(share, 4),
            "quarantined": rejected,
            "records": total,
            "threshold": self.max_quarantine_share,
            "top_reason": str(top[0][0]) if top else None,
        }
        fields = (
            f"field(s) {', '.join(missing)} missing" if missing else f"most rejected: {self.schema_drift['top_reason']}"
        )
        raise SchemaDriftError(
            f"schema drift in {model.name}: {rejected} of {total} records quarantined ({share:.0%} > "
            f"{self.max_quarantine_share:.0%}), {fields}; nothing of {model.name} published, the previous "
            "version stays"
        )

    def _silver(self, model: Model, report: ModelReport) -> None:
        stream = model.inputs[0].removeprefix("bronze_")
        sql = render_model_sql(model.sql(), hash_identity=self.hash_identity, site_hosts=self.site_hosts)
        raw = f"{model.name}__raw"
        if model.partition_by is None:
            files = self.bronze[stream] if self.full else self.new[stream]
            self.engine.register_bronze(stream, files)
            if not files:  # nothing to read (a stream not ingested, or no new file): no row to check or quarantine
                self.engine.view(raw, sql)  # a view, not a table: on Spark each table made costs a job
            elif self._quarantines_dependents(model):
                self.engine.materialize(f"{model.name}__unchecked", sql)
                self._quarantine_dependents(model, f"{model.name}__unchecked", raw)
            else:
                self.engine.materialize(raw, sql)
            self._split_quarantine(model, raw, report, empty=not files)
            cols = ", ".join(self._output_columns(raw))
            if self.full:
                self.engine.materialize(model.name, f"SELECT {cols} FROM {raw} WHERE reject_reason IS NULL")
            else:
                self.engine.materialize(f"{model.name}__new", f"SELECT {cols} FROM {raw} WHERE reject_reason IS NULL")
                self._register_current(model.name, f"{model.name}__current")
                new_rel, current_rel = f"{model.name}__new", f"{model.name}__current"
                self.engine.materialize(
                    model.name, merge_sql(cols, current_rel, new_rel, key=model.key, group=model.merge_group)
                )
                if model.touched_dates:  # partitioned Gold rebuilds the dates of its new rows
                    self.touched[model.name] = {
                        str(r[0])
                        for r in self.engine.rows(f"SELECT DISTINCT {model.touched_dates} FROM {model.name}__new")
                    }
            self._finish(model, model.name, report, partitions=None)
            return
        # silver_events: partitioned by event_date
        if self.full:
            self.engine.register_bronze(stream, self.bronze[stream])
            self.engine.materialize(raw, sql)
            self._split_quarantine(model, raw, report)
            self._index_file_dates(raw, self.bronze[stream])
            cols = ", ".join(self._output_columns(raw))
            self.engine.view(model.name, f"SELECT {cols} FROM {raw} WHERE reject_reason IS NULL")
            self._finish(model, model.name, report, partitions=None)
            self.engine.drop(raw)  # the largest relation of the run: free it for Gold
            return
        self.engine.register_bronze(stream, self.new[stream])
        self.engine.materialize(raw, sql)  # the new files alone: their dates, keys and bad records
        self._split_quarantine(model, raw, report)
        self._index_file_dates(raw, self.new[stream])
        current = self._register_current(model.name, f"{model.name}__current")
        touched = {
            str(r[0]) for r in self.engine.rows(f"SELECT DISTINCT event_date FROM {raw} WHERE reject_reason IS NULL")
        }
        touched |= {
            str(r[0])
            for r in self.engine.rows(
                f"SELECT DISTINCT c.event_date FROM {model.name}__current c JOIN "
                f"(SELECT DISTINCT event_key FROM {raw} WHERE reject_reason IS NULL) n ON c.event_key = n.event_key"
            )
        }
        for dim in model.dimensions:
            touched |= self._dimension_dates(dim)
        touched |= self.damaged.get(model.name, set())
        self.touched[model.name] = touched
        covering = sorted({f for f, ds in self.state.file_dates.items() if touched & set(ds)} | set(self.new[stream]))
        if set(covering) == set(self.new[stream]):  # the usual day: the new files hold every touched date
            self.engine.view(f"{model.name}__rederived", f"SELECT * FROM {raw}")
        else:
            self.engine.register_bronze(stream, covering)
            self.engine.materialize(f"{model.name}__rederived", sql)
        cols = ", ".join(self._output_columns(f"{model.name}__rederived"))
        self.engine.view(
            model.name,
            f"SELECT {cols} FROM {model.name}__rederived WHERE reject_reason IS NULL "
            f"AND event_date IN ({_dates_sql(touched)})",
        )
        self._finish(model, model.name, report, partitions=touched, previous=current)
        self.engine.drop(f"{model.name}__rederived")

    @staticmethod
    def _quarantines_dependents(model: Model) -> bool:
        return any(c.reference is not None for c in model.checks)

    def _quarantine_dependents(self, model: Model, unchecked: str, raw: str) -> None:
        """`raw` = `unchecked` with the rows whose reference is missing from its parent given a reject reason.

        The reason says why the parent row is missing: `media_id m1 is quarantined (silver_medias: negative
        duration_seconds)` when the parent quarantined it (this run, or an earlier one kept in the published
        quarantine), `media_id m1 not in silver_medias` otherwise. One bad media so holds back only the rows
        that depend on it, and the table publishes the rest.
        """
        columns = [c for c, _ in self.engine.columns(unchecked)]
        relation = unchecked
        for i, check in enumerate(c for c in model.checks if c.reference is not None):
            assert check.reference is not None
            column, parent, parent_column = check.reference
            reasons = self._quarantine_reasons(parent)
            missing = f"r.reject_reason IS NULL AND r.{column} IS NOT NULL AND p.k__ IS NULL"
            reason = (
                f"CASE WHEN {missing} THEN coalesce('{column} ' || r.{column} || ' is quarantined ({parent}: ' "
                f"|| q.reason__ || ')', '{column} ' || r.{column} || ' not in {parent}') ELSE r.reject_reason END"
            )
            select = ", ".join(reason + " AS reject_reason" if c == "reject_reason" else f"r.{c}" for c in columns)
            target = raw if i == sum(c.reference is not None for c in model.checks) - 1 else f"{raw}__ref{i}"
            self.engine.materialize(
                target,
                f"SELECT {select} FROM {relation} r "
                f"LEFT JOIN (SELECT DISTINCT {parent_column} AS k__ FROM {parent} "
                f"WHERE {parent_column} IS NOT NULL) p ON r.{column} = p.k__ "
                f"LEFT JOIN (SELECT record_key AS qk__, min(reject_reason) AS reason__ FROM ({reasons}) qr "
                f"GROUP BY record_key) q ON r.{column} = q.qk__",
            )
            if relation != unchecked:
                self.engine.drop(relation)
            relation = target
        self.engine.drop(unchecked)

    def _quarantine_reasons(self, parent: str) -> str:
        """SQL of (record_key, reject_reason) the parent model quarantined, this run and (incrementally) before."""
        this_run = f"SELECT record_key, reject_reason FROM {parent}__quarantine"
        previous = self.tables.current(QUARANTINE_TABLE)
        entity = MODELS_BY_NAME[parent].quarantine_entity
        if self.full or previous is None or entity is None:
            return this_run
        prior = f"{QUARANTINE_TABLE}__prior"
        self.engine.register_parquet(prior, previous.all_files(), previous.columns)
        return f"{this_run} UNION ALL SELECT record_key, reject_reason FROM {prior} WHERE entity = '{entity}'"

    def _index_file_dates(self, raw: str, files: list[str]) -> None:
        for f in files:
            self.state.file_dates[f] = []
        for source_file, day in self.engine.rows(
            f"SELECT DISTINCT source_file, event_date FROM {raw} WHERE reject_reason IS NULL"
        ):
            self.state.file_dates.setdefault(str(source_file), []).append(str(day))

    def _dimension_dates(self, dim: Dimension) -> set[str]:
        """Dates where a dimension row whose watched columns changed in this run appears in the fact."""
        if self.full:
            return set()
        old = f"{dim.table}__current"
        same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in dim.watched)
        changed = f"{dim.table}__changed"
        self.engine.materialize(
            changed,
            f"SELECT n.{dim.key} AS k FROM {dim.table} n LEFT JOIN {old} o ON n.{dim.key} = o.{dim.key} "
            f"WHERE o.{dim.key} IS NULL OR NOT ({same})",
        )
        if self.engine.scalar(f"SELECT count(*) FROM {changed}") == 0:
            return set()
        # A partitioned fact's rows can move between the dates this run re-derives: the stale Gold rows sit where
        # they were in the version before the run. An unpartitioned fact is merged and keeps every old row.
        fact = f"{dim.fact}__current" if MODELS_BY_NAME[dim.fact].partition_by else dim.fact
        return {
            str(r[0])
            for r in self.engine.rows(
                f"SELECT DISTINCT f.{dim.fact_date} FROM {fact} f JOIN {changed} c ON f.{dim.key} = c.k"
            )
        }

    def _gold(self, model: Model, report: ModelReport) -> None:
        sql = model.sql()
        if model.partition_by is None or self.full:
            self.engine.materialize(f"{model.name}__build", sql)
            self._finish(model, f"{model.name}__build", report, partitions=None)
            return
        touched: set[str] = set()
        for name in model.partitioned_inputs:
            touched |= self.touched.get(name, set())
        for dim in model.dimensions:
            touched |= self._dimension_dates(dim)
        touched |= self.damaged.get(model.name, set())
        # Restrict the partitioned inputs to the touched dates, run, then restore the full views.
        for name, column in model.partitioned_inputs.items():
            manifest = self.tables.current(name)
            assert manifest is not None
            if manifest.partition_by:
                files = [f for d in touched for f in manifest.files.get(d, [])]
                self.engine.register_parquet(name, files, manifest.columns)
            else:
                self.engine.register_parquet(f"{name}__all", manifest.all_files(), manifest.columns)
                self.engine.materialize(name, f"SELECT * FROM {name}__all WHERE {column} IN ({_dates_sql(touched)})")
        self.engine.materialize(f"{model.name}__build", sql)
        for name in model.partitioned_inputs:
            self.engine.drop(name)
            self._register_current(name, name)
        self.touched[model.name] = touched
        current = self.tables.current(model.name)
        self._finish(model, f"{model.name}__build", report, partitions=touched, previous=current)

    def _finish(
        self,
        model: Model,
        relation: str,
        report: ModelReport,
        *,
        partitions: set[str] | None,
        previous: Manifest | None = None,
    ) -> None:
        """Audit, write aside, publish; then expose the published version under the model's name."""
        kept = KeptPartitions.of(previous, partitions)
        report.rows = self.engine.scalar(f"SELECT count(*) FROM {relation}")
        audited = audit(self.engine, model, relation, rows=report.rows, kept=kept, raw=f"{model.name}__raw")
        report.checks = audited.checks
        audited.require_passed(model.name)
        written = write_version(
            self.engine,
            model.name,
            relation,
            partition_by=model.partition_by,
            run_id=self.run_id,
            now=self.now,
            row_count=audited.total_rows,
            kept=kept,
            checks={r.name: r.violations for r in audited.checks},
        )
        report.partitions_written = written.partitions_written
        publish_model_version(self.engine, self.tables, written.manifest)
        report.published = True
        self.currents[model.name] = written.manifest

    def _publish_quarantine(self) -> None:
        """The rejected records of this run (plus, incrementally, those kept); read by no model downstream."""
        cols = ", ".join(QUARANTINE_COLUMNS)
        parts = [f"SELECT {cols} FROM {r}" for r in self.quarantine_relations]
        previous = self.tables.current(QUARANTINE_TABLE)
        if not self.full and previous is not None:
            self.engine.register_parquet(f"{QUARANTINE_TABLE}__current", previous.all_files(), previous.columns)
            parts.append(f"SELECT {cols} FROM {QUARANTINE_TABLE}__current")
        build = f"{QUARANTINE_TABLE}__build"
        self.engine.materialize(build, " UNION ALL ".join(parts))
        written = write_version(
            self.engine,
            QUARANTINE_TABLE,
            build,
            partition_by=None,
            run_id=self.run_id,
            now=self.now,
            row_count=self.engine.scalar(f"SELECT count(*) FROM {build}"),
        )
        self.tables.publish(written.manifest)


def merge_sql(cols: str, current: str, new: str, *, key: tuple[str, ...], group: tuple[str, ...] = ()) -> str:
    """The merged Silver table of an incremental run: `new`'s winners over `current`, by key (latest ingested
    wins), or, with a `group` (a media's curve, a day's traffic response), replacing every current row of a group
    that has new rows. One text for both engines (a multi-column `NOT IN` runs the same on Spark)."""
    if group:
        columns = ", ".join(group)
        return (
            f"SELECT {cols} FROM {current} WHERE ({columns}) NOT IN (SELECT {columns} FROM {new}) "
            f"UNION ALL SELECT {cols} FROM {new}"
        )
    return (
        f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {', '.join(key)} "
        f"ORDER BY ingested_at DESC, source_file DESC) AS rn__ FROM (SELECT {cols} FROM "
        f"{current} UNION ALL SELECT {cols} FROM {new}) u) r WHERE rn__ = 1"
    )


def _literal(value: str | None) -> str:
    return "CAST(NULL AS VARCHAR)" if value is None else "'" + value.replace("'", "''") + "'"


def _run_of(path: str) -> str | None:
    key = parse_bronze_file(path)
    return key.run_id if key else None


def summary(result: TransformResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "status": str(result.status),
        "seconds": round(result.seconds, 2),
        "quarantined": result.quarantined,
        "reconciliation_drift_rows": result.drift_rows,
        "modern_reconciliation": {"rows_with_drift": result.modern_drift_rows, "rows": result.modern_checked},
        "tables": {m.name: m.rows for m in result.models},
    }

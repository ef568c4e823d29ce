"""One transform run: Bronze -> Silver -> Gold with write-audit-publish, full or incremental.

Full rebuild: every model over all its inputs. Incremental: only what new Bronze files change.
- Snapshot entities (`merge=True`) read only the new files and merge their winners into the current table
  by key (latest ingested wins), which equals re-reading everything.
- `silver_events` re-derives only the event dates touched by new files (plus the dates of keys they
  re-deliver and of medias whose duration changed), reading the Bronze files that hold those dates.
- Partitioned Gold tables re-derive only the touched dates, with their partitioned inputs restricted to
  those dates; small unpartitioned Gold tables are recomputed.
Each table version is written aside, checked, then published by its manifest; downstream models read the
published version. State (processed files) is saved after the last publish.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wistia_analytics.contracts.streams import STREAMS
from wistia_analytics.crashpoints import crash_point
from wistia_analytics.lake.bronze import list_bronze_files
from wistia_analytics.lake.lock import holding_lake
from wistia_analytics.lake.runs import RunRecord, RunStatus, finish_run, new_run_id, start_run
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.tables import UNPARTITIONED, Manifest, TableStore, new_version, version_dir
from wistia_analytics.quality.checks import CheckResult, key_checks, run_checks
from wistia_analytics.transform.channel_sql import render_model_sql
from wistia_analytics.transform.engine import Engine
from wistia_analytics.transform.models import MODELS, QUARANTINE_TABLE, Dimension, Model
from wistia_analytics.transform.state import TransformState

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


class ChecksFailedError(RuntimeError):
    """A table version failed a blocking check: it was not published; the previous version stays."""


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

    @property
    def exit_code(self) -> int:
        return {RunStatus.SUCCESS: 0, RunStatus.PARTIAL: 3}.get(self.status, 1)


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
    ) -> None:
        self.storage = storage
        self.engine = engine
        self.full_rebuild = full_rebuild
        self.hash_identity = hash_identity
        self.site_hosts = site_hosts
        self.now = now
        self.command = command
        self.lock_wait_seconds = lock_wait_seconds
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
            except ChecksFailedError as exc:
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
        }

    def _run(self, run_id: str, started: float) -> TransformResult:
        self.run_id = run_id
        self.reports = []
        state = TransformState.load(self.storage)
        self.bronze = {s.name: list_bronze_files(self.storage, s.name) for s in STREAMS}
        processed = {s: set(files) for s, files in state.processed.items()}
        self.new = {s: [f for f in files if f not in processed.get(s, set())] for s, files in self.bronze.items()}
        self.currents: dict[str, Manifest | None] = {m.name: self.tables.current(m.name) for m in MODELS}
        # A run killed between two publishes leaves tables from different runs: their dimension diffs can no
        # longer be trusted, so the next run rebuilds everything (same result, more time).
        interrupted = any(m is not None and m.run_id != state.run_id for m in self.currents.values())
        self.full = (
            self.full_rebuild or state.engine is None or interrupted or any(v is None for v in self.currents.values())
        )
        if not self.full and not any(self.new.values()):
            return TransformResult(run_id, "noop", RunStatus.SUCCESS, [], {}, 0, time.monotonic() - started)
        self.state = state
        self.touched: dict[str, set[str]] = {}
        self.quarantine_relations: list[str] = []
        self.quarantined: dict[str, int] = {}
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
        state.processed = {s: list(files) for s, files in self.bronze.items()}
        state.engine, state.run_id = self.engine.name, run_id
        state.save(self.storage)
        for model in MODELS:
            self.tables.collect_garbage(model.name)
        self.tables.collect_garbage(QUARANTINE_TABLE)
        drift = self.engine.scalar("SELECT count(*) FROM gold_reconciliation WHERE NOT within_tolerance")
        warn = any(not c.passed for r in self.reports for c in r.checks)
        status = RunStatus.PARTIAL if warn else RunStatus.SUCCESS
        mode = "full" if self.full else "incremental"
        return TransformResult(run_id, mode, status, self.reports, self.quarantined, drift, time.monotonic() - started)

    # ---- helpers ---------------------------------------------------------------------------------------
    def _register_current(self, table: str, as_name: str) -> Manifest | None:
        manifest = self.currents.get(table) or self.tables.current(table)
        self.engine.register_parquet(
            as_name, manifest.all_files() if manifest else [], manifest.columns if manifest else []
        )
        return manifest

    def _output_columns(self, relation: str) -> list[str]:
        return [c for c, _ in self.engine.columns(relation) if c not in HELPER_COLUMNS]

    def _split_quarantine(self, model: Model, raw: str, report: ModelReport) -> None:
        entity = model.quarantine_entity
        name = f"{model.name}__quarantine"
        self.engine.materialize(
            name,
            f"SELECT '{entity}' AS entity, record_key, reject_reason, source_file, run_id, ingested_at, record "
            f"FROM {raw} WHERE reject_reason IS NOT NULL",
        )
        report.quarantined = self.engine.scalar(f"SELECT count(*) FROM {name}")
        self.quarantined[str(entity)] = report.quarantined
        self.quarantine_relations.append(name)

    def _silver(self, model: Model, report: ModelReport) -> None:
        stream = model.inputs[0].removeprefix("bronze_")
        sql = render_model_sql(model.sql(), hash_identity=self.hash_identity, site_hosts=self.site_hosts)
        raw = f"{model.name}__raw"
        if model.partition_by is None:
            files = self.bronze[stream] if self.full else self.new[stream]
            self.engine.register_bronze(stream, files)
            self.engine.materialize(raw, sql)
            self._split_quarantine(model, raw, report)
            cols = ", ".join(self._output_columns(raw))
            if self.full:
                self.engine.materialize(model.name, f"SELECT {cols} FROM {raw} WHERE reject_reason IS NULL")
            else:
                self.engine.materialize(f"{model.name}__new", f"SELECT {cols} FROM {raw} WHERE reject_reason IS NULL")
                self._register_current(model.name, f"{model.name}__current")
                new_rel, current_rel = f"{model.name}__new", f"{model.name}__current"
                if model.merge_group:  # a new record replaces its whole group (e.g. a media's curve)
                    group = ", ".join(model.merge_group)
                    self.engine.materialize(
                        model.name,
                        f"SELECT {cols} FROM {current_rel} WHERE ({group}) NOT IN (SELECT {group} FROM {new_rel}) "
                        f"UNION ALL SELECT {cols} FROM {new_rel}",
                    )
                else:
                    key = ", ".join(model.key)
                    self.engine.materialize(
                        model.name,
                        f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {key} "
                        f"ORDER BY ingested_at DESC, source_file DESC) AS rn__ FROM (SELECT {cols} FROM "
                        f"{current_rel} UNION ALL SELECT {cols} FROM {new_rel}) u) r WHERE rn__ = 1",
                    )
                if model.name == "silver_media_daily_stats":
                    self.touched["silver_media_daily_stats"] = {
                        str(r[0]) for r in self.engine.rows(f"SELECT DISTINCT stat_date FROM {model.name}__new")
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
        fact = f"{dim.fact}__current" if dim.fact == "silver_events" else dim.fact
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
        report.rows = self.engine.scalar(f"SELECT count(*) FROM {relation}")
        checks = list(model.checks)
        results = run_checks(self.engine, relation, checks)
        results += run_checks(self.engine, relation, key_checks(model.key, model.nullable_key))
        total_rows = report.rows
        if partitions is not None and previous is not None:
            # The candidate version is these rows plus the untouched partitions kept. The kept rows passed the
            # checks when they were published; what is left is a key of the new rows also in a kept partition.
            kept = [f for d, fs in previous.files.items() if d not in partitions for f in fs]
            kept_rel = f"{model.name}__kept"
            self.engine.register_parquet(kept_rel, kept, previous.columns)
            total_rows += self.engine.scalar(f"SELECT count(*) FROM {kept_rel}")
            if model.partition_by not in model.key:
                unique = next(r for r in results if r.name.startswith("key unique"))
                on = " AND ".join(f"k.{c} = n.{c}" for c in model.key)
                unique.violations += self.engine.scalar(
                    f"SELECT count(*) FROM {kept_rel} k JOIN (SELECT DISTINCT {', '.join(model.key)} "
                    f"FROM {relation}) n ON {on}"
                )
        # Some input passed validation iff the model's build table has a good row (no second read of Bronze).
        valid_inputs = (
            self.engine.scalar(
                f"SELECT count(*) FROM (SELECT 1 FROM {model.name}__raw WHERE reject_reason IS NULL LIMIT 1) t"
            )
            if model.nonempty_if
            else 0
        )
        if valid_inputs > 0:  # some input passed validation, so an empty table would be a bug
            results.append(CheckResult(f"non-empty (since {model.nonempty_if} has valid rows)", int(total_rows == 0)))
        report.checks = results
        failed = [r for r in results if not r.passed and r.blocking]
        if failed:
            detail = ", ".join(f"{r.name}: {r.violations} rows" for r in failed)
            raise ChecksFailedError(f"{model.name} failed checks ({detail}); the previous version stays published")
        version = new_version(self.now())
        written = self.engine.write_parquet(relation, version_dir(model.name, version), model.partition_by)
        files = dict(written)
        if partitions is not None and previous is not None:
            files = {d: fs for d, fs in previous.files.items() if d not in partitions} | written
        report.partitions_written = len(written)
        columns = self.engine.columns(relation)
        manifest = Manifest(
            table=model.name,
            version=version,
            run_id=self.run_id,
            created_at=self.now().isoformat(),
            partition_by=model.partition_by,
            files=files or {UNPARTITIONED: []},
            row_count=total_rows,
            columns=columns,
            checks={r.name: r.violations for r in results},
        )
        crash_point("transform.before_publish")
        self.tables.publish(manifest)
        report.published = True
        self.currents[model.name] = manifest
        self.engine.drop(model.name)
        self.engine.register_parquet(model.name, manifest.all_files(), manifest.columns)

    def _publish_quarantine(self) -> None:
        cols = ", ".join(QUARANTINE_COLUMNS)
        parts = [f"SELECT {cols} FROM {r}" for r in self.quarantine_relations]
        previous = self.tables.current(QUARANTINE_TABLE)
        if not self.full and previous is not None:
            self.engine.register_parquet(f"{QUARANTINE_TABLE}__current", previous.all_files(), previous.columns)
            parts.append(f"SELECT {cols} FROM {QUARANTINE_TABLE}__current")
        self.engine.materialize(f"{QUARANTINE_TABLE}__build", " UNION ALL ".join(parts))
        version = new_version(self.now())
        written = self.engine.write_parquet(f"{QUARANTINE_TABLE}__build", version_dir(QUARANTINE_TABLE, version), None)
        self.tables.publish(
            Manifest(
                table=QUARANTINE_TABLE,
                version=version,
                run_id=self.run_id,
                created_at=self.now().isoformat(),
                partition_by=None,
                files=written,
                row_count=self.engine.scalar(f"SELECT count(*) FROM {QUARANTINE_TABLE}__build"),
                columns=self.engine.columns(f"{QUARANTINE_TABLE}__build"),
            )
        )


def summary(result: TransformResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "status": str(result.status),
        "seconds": round(result.seconds, 2),
        "quarantined": result.quarantined,
        "reconciliation_drift_rows": result.drift_rows,
        "tables": {m.name: m.rows for m in result.models},
    }

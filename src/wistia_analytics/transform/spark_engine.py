"""The scale-out engine: Apache Spark (local mode here, AWS Glue 5 in the cloud) behind the same `Engine`.

It runs the very SQL the DuckDB engine runs, transpiled by `transform.dialect.to_spark`; what is
engine-specific is only reading Bronze and Parquet and writing Parquet, kept equal to DuckDB's:

- Bronze: each line is read as text; `record` is the record's own JSON text cut out of the line, with
  floats laid out the way DuckDB's JSON reader prints them (so `md5(record)` tie-breaks and the quarantine's
  `record` column are the same bytes on both engines; see `duckdb_json_text`).
- Relations: `materialize` keeps a DataFrame persisted and counted, registered with
  `createOrReplaceTempView`. A DataFrame is bound to the plans of its inputs when it is made, so later
  re-registrations of an input name (the runner narrows `silver_events` to touched dates) do not change it:
  the semantics of DuckDB's temp tables.
- Types: `columns` reports DuckDB's type names, so manifests do not depend on the engine; Parquet is
  written with zstd, UTC-adjusted microsecond timestamps, and partition columns kept inside the files.
- Partitions: `write_parquet` writes only the partitions present in the relation, into a fresh version
  directory; the runner's manifest keeps the untouched partitions' previous files. That is dynamic partition
  overwrite without ever overwriting a file (reruns publish a new version, never append to one).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wistia_analytics.errors import ConfigurationError, MissingDependencyError
from wistia_analytics.lake.storage import Storage
from wistia_analytics.transform.dialect import to_spark
from wistia_analytics.transform.engine import CONTEXT_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

BRONZE_DEPTH = 5  # bronze/wistia/<stream>/ingest_date=<day>/<file>: the lake-relative tail of a Bronze path
PARTITION_SUFFIX = "_partition"  # Spark names partition folders after a column; ours copies the real one
NULL_PARTITION = "NULL"  # DuckDB's folder value for a NULL partition key (Spark's is __HIVE_DEFAULT_PARTITION__)
_SPARK_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

# Session settings every run needs, on a local session and on Glue's alike (all settable at runtime).
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.ansi.enabled": "false",
}
HADOOP_CONF = {
    "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",  # no _SUCCESS files in the lake
    "parquet.summary.metadata.level": "NONE",
}


class SparkUnavailableError(ConfigurationError):
    """pyspark is not installed, or no Java runtime can start it: fix the environment; retrying cannot help."""


class PysparkMissingError(SparkUnavailableError, MissingDependencyError):
    """pyspark, the 'spark' extra, is not installed."""

    def __init__(self) -> None:
        MissingDependencyError.__init__(self, "the Spark engine (pyspark 3.5)", "spark")


def _import_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise PysparkMissingError from None
    return pyspark


def local_session(
    *,
    cores: str = "*",
    shuffle_partitions: int = 8,
    app_name: str = "wistia-analytics",
    small_data: bool = False,
    driver_memory: str | None = None,
) -> SparkSession:
    """A local-mode session configured like the Glue job (UTC, zstd, no UI, no _SUCCESS or .crc files).

    `small_data` (tests): no whole-stage code generation and no adaptive execution, which only pay off on
    large inputs; on a few hundred rows compiling each query's code costs more than running it. Results are
    the same either way. `driver_memory` (default `$SPARK_DRIVER_MEMORY`, else 2g): the local JVM's heap,
    which holds every executor in local mode; persisted relations spill to disk beyond it.
    """
    require_spark()
    _import_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (the record re-printing UDF) must import this package: run them on this interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.driver.memory", driver_memory or os.environ.get("SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir(), "wistia-spark-warehouse")))  # not ./
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.driver.bindAddress", "127.0.0.1")
        # The raw local file system writes no .crc checksum files next to the Parquet files.
        .config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
        .config("spark.hadoop.fs.file.impl.disable.cache", "true")
    )
    for key, value in SQL_CONF.items():
        builder = builder.config(key, value)
    if small_data:
        builder = builder.config("spark.sql.codegen.wholeStage", "false").config("spark.sql.adaptive.enabled", "false")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: report one line, not a Py4J trace
        raise SparkUnavailableError(
            f"Spark could not start (is Java 17 installed?): {str(exc).splitlines()[0]}"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def require_spark() -> None:
    """Raise `SparkUnavailableError` unless pyspark is installed and a Java runtime is found (imports nothing).

    Cheap enough to ask before any work, so that `run` does not ingest for an engine that cannot start.
    """
    if importlib.util.find_spec("pyspark") is None:
        raise PysparkMissingError
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not _on_path("java"):
        raise SparkUnavailableError("the Spark engine needs a Java runtime (Java 17): none found on PATH or JAVA_HOME")


def _on_path(program: str) -> bool:
    return any(Path(d, program).exists() for d in os.environ.get("PATH", "").split(os.pathsep) if d)


def configure(session: SparkSession) -> None:
    """Apply the settings the engine relies on to a session it did not build (Glue's)."""
    for key, value in SQL_CONF.items():
        session.conf.set(key, value)
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    for key, value in HADOOP_CONF.items():
        hadoop.set(key, value)


# ---- types: DuckDB's names are the canonical ones (manifests, `columns`) ---------------------------------------
def duckdb_type_name(data_type: DataType) -> str:
    """The DuckDB name of a Spark type (what DuckDB's DESCRIBE prints for the same Parquet column)."""
    from pyspark.sql import types as t

    simple: dict[type[DataType], str] = {
        t.StringType: "VARCHAR",
        t.LongType: "BIGINT",
        t.IntegerType: "INTEGER",
        t.ShortType: "SMALLINT",
        t.ByteType: "TINYINT",
        t.DoubleType: "DOUBLE",
        t.FloatType: "FLOAT",
        t.BooleanType: "BOOLEAN",
        t.DateType: "DATE",
        t.TimestampType: "TIMESTAMP WITH TIME ZONE",
        t.TimestampNTZType: "TIMESTAMP",
        t.BinaryType: "BLOB",
        t.NullType: '"NULL"',
    }
    for kind, name in simple.items():
        if isinstance(data_type, kind):
            return name
    if isinstance(data_type, t.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    if isinstance(data_type, t.ArrayType):
        return f"{duckdb_type_name(data_type.elementType)}[]"
    raise TypeError(f"no DuckDB name for Spark type {data_type.simpleString()}")


def spark_type(duckdb_name: str) -> DataType:
    """The Spark type for a DuckDB type name from a manifest (inverse of `duckdb_type_name`)."""
    from pyspark.sql import types as t

    name = duckdb_name.strip().upper()
    if name.endswith("[]"):
        return t.ArrayType(spark_type(name[:-2]))
    if name.startswith("DECIMAL"):
        precision, scale = (int(x) for x in name[name.index("(") + 1 : name.index(")")].split(","))
        return t.DecimalType(precision, scale)
    table: dict[str, DataType] = {
        "VARCHAR": t.StringType(),
        "BIGINT": t.LongType(),
        "INTEGER": t.IntegerType(),
        "SMALLINT": t.ShortType(),
        "TINYINT": t.ByteType(),
        "DOUBLE": t.DoubleType(),
        "FLOAT": t.FloatType(),
        "BOOLEAN": t.BooleanType(),
        "DATE": t.DateType(),
        "TIMESTAMP WITH TIME ZONE": t.TimestampType(),
        "TIMESTAMPTZ": t.TimestampType(),
        "TIMESTAMP": t.TimestampNTZType(),
        "BLOB": t.BinaryType(),
        '"NULL"': t.NullType(),
    }
    if name not in table:
        raise TypeError(f"no Spark type for DuckDB type {duckdb_name!r}")
    return table[name]


def schema_of(columns: list[list[str]]) -> StructType:
    from pyspark.sql import types as t

    return t.StructType([t.StructField(n, spark_type(typ), True) for n, typ in columns])


# ---- Bronze record text, byte-equal to DuckDB's CAST(record AS VARCHAR) ------------------------------------------
def duckdb_float_text(value: float) -> str:
    """A float laid out as DuckDB's JSON writer (yyjson) prints it: same shortest digits as Python's repr,
    positional notation for exponents -7 < e < 21 (integral values end in ``.0``), else ``1.5e-7`` / ``1e21``."""
    sign, digits_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)  # finite: JSON has no NaN or Infinity
    digits = "".join(map(str, digits_tuple))
    if digits == "0":
        return ("-" if sign else "") + "0.0"
    point = len(digits) + exponent  # value = 0.<digits> * 10**point
    sci = point - 1
    if -7 < sci < 21:
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
    else:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{sci}"
    return ("-" if sign else "") + text


def _dump(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(_dump(str(k)) + ":" + _dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, float):
        return duckdb_float_text(value)
    return json.dumps(value, ensure_ascii=False)


def duckdb_json_text(text: str | None) -> str | None:
    """Bronze's JSON text (Python's `json.dumps`, compact) as DuckDB's JSON reader re-prints it.

    Only float layout differs between the two (``1e-05`` vs ``0.00001``, ``1e+16`` vs ``10000000000000000.0``);
    keys, order, strings and escapes are the same, so the text is re-printed only when it holds an exponent.
    """
    if text is None:
        return None
    return _dump(json.loads(text))


# The writer's flat context object: string keys, scalar values; a JSON string may hold any character (a brace,
# an escaped quote), so strings are matched as strings, not as "no brace" (the unrolled form: no per-character
# alternation, which Java's regex engine recurses on).
_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_FLAT_OBJECT = rf"\{{(?:{_JSON_STRING}:(?:{_JSON_STRING}|null|true|false|-?[0-9][0-9.eE+-]*),?)*\}}"
# The line's record: after the first `,"record":` and before the line's closing brace, or before the trailing
# `,"context":{...}` the Bronze writer appends after the record.
_RECORD_WITH_CONTEXT = rf'^.*?,"record":(.*),"context":{_FLAT_OBJECT}\}}$'
_RECORD_KEY = ',"record":'
# The line ends with the writer's flat context object. (A record whose own last key is a flat "context" object
# ends a context-less line with three closing braces, which this does not match.)
_ENDS_WITH_CONTEXT = rf',"context":{_FLAT_OBJECT}\}}$'
# A JSON number in Python's exponent form (`1e-05`, `1.5e+16`: Python always writes the sign), as a value or an
# array element. Keys and ids are full of digit-e-digit runs; requiring the sign and the delimiters keeps the
# re-printing (a Python UDF) to the records that need it.
_HAS_EXPONENT = r"[:,\[]-?[0-9]+(\.[0-9]+)?e[-+][0-9]+[,}\]]"
_COUNT_OF = re.compile(r"\s*SELECT\s+count\(\*\)\s+FROM\s+(\w+)\s*$", re.IGNORECASE)


class SparkEngine:
    """Spark behind the `Engine` interface; give it Glue's session, or it builds a local one."""

    name = "spark"

    def __init__(self, storage: Storage, *, session: SparkSession | None = None, shuffle_partitions: int = 8) -> None:
        self.storage = storage
        if session is None:  # a session already running in this process (Glue's, a test's) is borrowed, not built
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession()
        self._owns_session = session is None
        self.spark = session if session is not None else local_session(shuffle_partitions=shuffle_partitions)
        configure(self.spark)
        self._frames: dict[str, DataFrame] = {}
        self._counts: dict[str, int] = {}  # rows of each materialized relation (immutable once made)
        self._views: set[str] = set()
        self._local_root = self._local_path(storage.uri(""))

    # ---- paths ---------------------------------------------------------------------------------------------
    @staticmethod
    def _local_path(uri: str) -> str | None:
        if "://" not in uri:
            return uri.rstrip("/")
        return uri.removeprefix("file://").rstrip("/") if uri.startswith("file://") else None

    def _spark_path(self, rel: str) -> str:
        uri = self.storage.uri(rel)
        return uri if "://" in uri else "file://" + uri

    # ---- relations -----------------------------------------------------------------------------------------
    def _register(self, name: str, frame: DataFrame, *, persisted: bool) -> None:
        self.drop(name)
        frame.createOrReplaceTempView(name)
        self._views.add(name)
        if persisted:
            self._frames[name] = frame

    def register_bronze(self, stream: str, files: list[str]) -> None:
        from pyspark.sql import functions as f
        from pyspark.sql import types as t

        view = f"bronze_{stream}"
        if not files:
            columns = [
                ["source_file", "VARCHAR"],
                ["run_id", "VARCHAR"],
                ["ingested_at", "TIMESTAMP WITH TIME ZONE"],
                ["request_path", "VARCHAR"],
                *([column, "VARCHAR"] for column, _ in CONTEXT_COLUMNS),
                ["record", "VARCHAR"],
            ]
            self._register(view, self.spark.createDataFrame([], schema_of(columns)), persisted=False)
            return
        for rel in files:
            if len(rel.split("/")) != BRONZE_DEPTH or not rel.startswith("bronze/"):
                raise ValueError(f"not a Bronze file path: {rel!r}")
        lines = self.spark.read.text([self._spark_path(rel) for rel in files])
        value = f.col("value")
        # Most lines (all events) have no context: the record runs from after `,"record":` to the closing brace.
        record_start = f.instr(value, _RECORD_KEY) + len(_RECORD_KEY)
        raw_record = f.when(
            value.rlike(_ENDS_WITH_CONTEXT), f.regexp_extract(value, _RECORD_WITH_CONTEXT, 1)
        ).otherwise(value.substr(record_start, f.length(value) - record_start))
        relaid = f.udf(duckdb_json_text, t.StringType())
        frame = lines.select(
            f.regexp_extract(f.col("_metadata.file_path"), "(" + "/".join(["[^/]+"] * BRONZE_DEPTH) + ")$", 1).alias(
                "source_file"
            ),
            f.get_json_object(value, "$.run_id").alias("run_id"),
            f.expr("try_cast(get_json_object(value, '$.ingested_at') AS TIMESTAMP)").alias("ingested_at"),
            f.get_json_object(value, "$.request.path").alias("request_path"),
            *(f.get_json_object(value, f"$.context.{key}").alias(column) for column, key in CONTEXT_COLUMNS),
            raw_record.alias("record"),
        )
        # Re-print only the records holding a float in exponent form (rare): the rest are already DuckDB's text.
        with_exponent = f.col("record").rlike(_HAS_EXPONENT)
        frame = frame.where(~with_exponent).unionByName(
            frame.where(with_exponent).withColumn("record", relaid(f.col("record")))
        )
        self._register(view, frame, persisted=False)

    def register_parquet(self, name: str, files: list[str], columns: list[list[str]]) -> None:
        if files:
            frame = self.spark.read.parquet(*[self._spark_path(rel) for rel in files])
        else:
            frame = self.spark.createDataFrame([], schema_of(columns))
        self._register(name, frame, persisted=False)

    def materialize(self, name: str, sql: str) -> None:
        from pyspark import StorageLevel

        frame = self.spark.sql(to_spark(sql)).persist(StorageLevel.MEMORY_AND_DISK)
        count = frame.count()  # materialise now: the relation must not depend on views re-registered later
        self._register(name, frame, persisted=True)
        self._counts[name] = count

    def view(self, name: str, sql: str) -> None:
        # The DataFrame's plan is bound now, so re-registering an input later does not change this relation.
        self._register(name, self.spark.sql(to_spark(sql)), persisted=False)

    def scalar(self, sql: str) -> int:
        counted = _COUNT_OF.match(sql)
        if counted and counted.group(1) in self._counts:  # the runner counts its relations often: one job saved
            return self._counts[counted.group(1)]
        row = self.spark.sql(to_spark(sql)).first()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in self.spark.sql(to_spark(sql)).collect()]

    def columns(self, relation: str) -> list[list[str]]:
        return [[field.name, duckdb_type_name(field.dataType)] for field in self.spark.table(relation).schema.fields]

    def write_parquet(self, relation: str, directory: str, partition_by: str | None) -> dict[str, list[str]]:
        from pyspark.sql import functions as f

        frame = self.spark.table(relation)
        target = self._spark_path(directory)
        if partition_by:
            folder_column = partition_by + PARTITION_SUFFIX
            # Spark takes a partition column out of the files; writing a copy keeps the real one inside them.
            (
                frame.withColumn(folder_column, f.col(partition_by))
                .repartition(f.col(folder_column))
                .write.mode("errorifexists")
                .partitionBy(folder_column)
                .parquet(target)
            )
        else:
            frame.coalesce(1).write.mode("errorifexists").parquet(target)
        written: dict[str, list[str]] = {}
        for rel in self.storage.list(directory, suffix=".parquet"):
            part = ""
            if partition_by:
                part = rel.split("/")[-2].split("=", 1)[1]
                part = NULL_PARTITION if part == _SPARK_NULL_PARTITION else part
            written.setdefault(part, []).append(rel)
        if self._local_root is not None:
            for files in written.values():
                for rel in files:
                    _fsync(Path(self._local_root, rel))
        return written

    def drop(self, name: str) -> None:
        if name in self._views:
            self.spark.catalog.dropTempView(name)
            self._views.discard(name)
        self._counts.pop(name, None)
        frame = self._frames.pop(name, None)
        if frame is not None:
            frame.unpersist()

    def close(self) -> None:
        for name in list(self._views):
            self.drop(name)
        if self._owns_session:
            self.spark.stop()


def _fsync(path: Path) -> None:
    """Parquet files must be durable before the manifest that names them is published (local lakes)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

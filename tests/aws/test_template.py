"""The SAM template and the state machine, read as data: the properties that matter, and the linters."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aws.cfn_yaml import INFRA, TEMPLATE, load_template, resources
from tests.transform.fixture_lake import build
from wistia_analytics.aws import emf_metrics as metrics
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.lake import lock
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore, symlink_manifest_path
from wistia_analytics.transform.build import TransformRunner
from wistia_analytics.transform.duckdb_engine import DuckDBEngine

pytestmark = pytest.mark.aws

ASL = INFRA / "statemachine" / "pipeline.asl.json"
# Engine column types (DuckDB's names, and Spark's for manifests written on Glue) -> Hive types for Athena.
HIVE_TYPES = {
    "VARCHAR": "string",
    "STRING": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "INT": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_bucket_is_encrypted_versioned_private_with_lifecycle(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["DataBucket"]
    props = bucket["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["DeletionPolicy"] == "Retain"
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    bronze = rules["bronze-to-cheaper-storage"]
    assert bronze["Prefix"] == {"Fn::Sub": "${LakePrefix}/bronze/"}
    # Only classes a full rebuild can read at once: never Glacier Flexible Retrieval or Deep Archive.
    assert [t["StorageClass"] for t in bronze["Transitions"]] == ["STANDARD_IA", "GLACIER_IR"]
    assert "NoncurrentVersionExpiration" in rules["expire-noncurrent-versions"]
    policy = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Condition"]) for s in policy] == [("Deny", {"Bool": {"aws:SecureTransport": "false"}})]


def test_token_lives_in_secrets_manager_never_in_the_environment(template: dict[str, Any]) -> None:
    text = TEMPLATE.read_text()
    assert "resolve:secretsmanager" not in text  # a dynamic reference would put the value in the config
    secret = template["Resources"]["WistiaTokenSecret"]["Properties"]
    assert "SecretString" not in secret and "GenerateSecretString" not in secret  # set out of band
    envs = [template["Globals"]["Function"]["Environment"]["Variables"]]
    envs += [f["Properties"].get("Environment", {}).get("Variables", {}) for f in _functions(template).values()]
    for env in envs:
        for name, value in env.items():
            if "TOKEN" in name or "SECRET" in name:
                assert (name, value) == ("WISTIA_TOKEN_SECRET_ARN", {"Ref": "WistiaTokenSecret"})
    assert "WISTIA_API_TOKEN" not in text


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::Serverless::Function")


def test_functions_are_thin_python311_handlers_and_ingestion_never_overlaps(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"
    functions = _functions(template)
    assert set(functions) == {"IngestFunction", "ReportFunction"}
    assert functions["IngestFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert functions["IngestFunction"]["Properties"]["Timeout"] <= 900
    for function in functions.values():
        assert function["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "lambda"}
        module, _, name = function["Properties"]["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
    assert (INFRA / "lambda" / "Makefile").read_text().count("build-IngestFunction") >= 1


def test_schedule_defaults_to_hourly_and_starts_the_pipeline(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ScheduleExpression"]["Default"] == "rate(1 hour)"
    pipeline = template["Resources"]["Pipeline"]["Properties"]
    assert pipeline["Events"]["Schedule"]["Type"] == "Schedule"
    assert pipeline["Events"]["Schedule"]["Properties"]["Schedule"] == {"Ref": "ScheduleExpression"}
    assert pipeline["DefinitionUri"] == "statemachine/pipeline.asl.json"


def test_glue_job_is_glue5_running_the_transform_script_with_the_wheel(template: dict[str, Any]) -> None:
    job = template["Resources"]["TransformJob"]["Properties"]
    assert job["GlueVersion"] == "5.0"
    assert job["Command"]["Name"] == "glueetl"
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert (INFRA / job["Command"]["ScriptLocation"]).is_file(), "infra/glue/transform_job.py is missing"
    args = job["DefaultArguments"]
    assert args["--LAKE_URI"] == {"Fn::Sub": "s3://${DataBucket}/${LakePrefix}"}
    assert args["--FULL_REBUILD"] == "false"
    # the wheel, plus s3fs and its dependencies as pinned wheels shipped with the deployment; never an index
    assert args["--additional-python-modules"] == {"Fn::Sub": "${PackageWheelS3Uri},${GlueDependencyWheels}"}
    assert args["--python-modules-installer-option"] == "--no-index --no-deps"
    wheels = template["Parameters"]["GlueDependencyWheels"]
    assert "Default" not in wheels and re.fullmatch(
        wheels["AllowedPattern"], "s3://b/p/glue-wheels/v1/s3fs-1-py3-none-any.whl"
    )
    assert not re.fullmatch(wheels["AllowedPattern"], "s3fs>=2026.9")  # a requirement spec is refused
    script = (INFRA / "glue_wheels.sh").read_text()
    assert "--constraint" in script and "--only-binary=:all:" in script


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    props = template["Resources"][role]["Properties"]
    return [s for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _object_prefixes(statements: list[dict[str, Any]], action: str) -> set[str]:
    """The lake prefixes (``bronze``, ``_runs``...) on which `action` is allowed."""
    found = set()
    for s in statements:
        if s["Effect"] == "Allow" and action in _as_list(s["Action"]):
            for resource in _as_list(s["Resource"]):
                match = re.fullmatch(
                    r"\$\{DataBucket\.Arn\}/\$\{LakePrefix\}/([a-z_]+)/\*", resource.get("Fn::Sub", "")
                )
                if match:
                    found.add(match[1])
    return found


def test_every_iam_statement_is_scoped(template: dict[str, Any]) -> None:
    roles = resources(template, "AWS::IAM::Role")
    assert set(roles) == {"IngestRole", "ReportRole", "TransformRole", "PipelineRole"}
    for role in roles:
        for s in _statements(template, role):
            if s["Effect"] == "Deny":  # guard rails, checked in test_iam_guards_bronze_state_and_runs
                continue
            assert s["Effect"] == "Allow"
            actions = _as_list(s["Action"])
            assert all(a != "*" and not a.endswith(":*") for a in actions), (role, s)
            if s["Resource"] == "*":  # only where AWS has no resource type, and then narrowed by a condition
                assert (actions, s["Condition"]) == (
                    ["cloudwatch:PutMetricData"],
                    {"StringEquals": {"cloudwatch:namespace": "Glue"}},
                ), (role, s)
            else:
                assert all(r != "*" for r in _as_list(s["Resource"])), (role, s)
            if "s3:ListBucket" in actions:  # the one data bucket, nothing else (objects are prefix-scoped)
                assert (actions, s["Resource"]) == (["s3:ListBucket"], {"Fn::GetAtt": ["DataBucket", "Arn"]})
    ingest, report, glue = (_statements(template, r) for r in ("IngestRole", "ReportRole", "TransformRole"))
    assert _object_prefixes(ingest, "s3:PutObject") == {"bronze", "_state", "_runs", "_lock"}
    assert _object_prefixes(ingest, "s3:DeleteObject") == {"_lock"}
    assert _object_prefixes(report, "s3:GetObject") == {"_runs"}
    assert _object_prefixes(report, "s3:PutObject") == set()
    assert _object_prefixes(glue, "s3:PutObject") == {"silver", "gold", "_state", "_runs", "_lock"}  # not bronze
    assert _object_prefixes(glue, "s3:GetObject") >= {"bronze"}
    # The one secret, for ingestion only; the one job, the two functions and the topic for the pipeline.
    secret_readers = [
        (role, s["Resource"])
        for role in roles
        for s in _statements(template, role)
        if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))
    ]
    assert secret_readers == [("IngestRole", {"Ref": "WistiaTokenSecret"})]
    pipeline = {s["Sid"]: s["Resource"] for s in _statements(template, "PipelineRole")}
    assert pipeline["InvokeTheTwoFunctions"] == [
        {"Fn::GetAtt": ["IngestFunction", "Arn"]},
        {"Fn::GetAtt": ["ReportFunction", "Arn"]},
    ]
    assert "${TransformJob}" in pipeline["RunTheTransformJob"]["Fn::Sub"]
    assert pipeline["NotifyFailures"] == {"Ref": "AlertTopic"}


def test_alarms_watch_failure_staleness_and_drift_and_notify_the_topic(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}]
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    assert by_metric["ExecutionsFailed"]["Namespace"] == "AWS/States"
    assert by_metric["Errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "IngestFunction"}}]
    stale = by_metric[metrics.FRESHNESS]
    assert (stale["Namespace"], stale["TreatMissingData"]) == (metrics.NAMESPACE, "breaching")
    assert stale["Threshold"] == {"Ref": "StaleAfterHours"}
    drift = by_metric[metrics.DRIFT_ROWS]
    assert (drift["Namespace"], drift["Threshold"], drift["ComparisonOperator"]) == (
        metrics.NAMESPACE,
        0,
        "GreaterThanThreshold",
    )
    for custom in (stale, drift):  # EMF publishes with the service dimension: the alarm must use the same
        assert custom["Dimensions"] == [{"Name": "service", "Value": metrics.SERVICE}]
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert template["Parameters"]["AlertEmail"]["Default"] == ""


def _published(tmp_path: Path) -> tuple[TableStore, dict[str, Any]]:
    storage = Storage.from_uri(str(tmp_path / "lake"))
    build(storage)
    engine = DuckDBEngine(storage)
    try:
        assert TransformRunner(storage, engine).run().status == "success"
    finally:
        engine.close()
    store = TableStore(storage)
    names = sorted(p.split("/")[0] + "_" + p.split("/")[1] for p in storage.list("", suffix="_manifest.json"))
    return store, {name: store.current(name) for name in names}


def test_catalog_tables_have_the_columns_the_transform_produces(template: dict[str, Any], tmp_path: Path) -> None:
    store, manifests = _published(tmp_path)
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"] for t in resources(template, "AWS::Glue::Table").values()
    }
    assert set(tables) == set(manifests)
    for name, manifest in manifests.items():
        table = tables[name]
        assert table["DatabaseName"] == {"Ref": "CatalogDatabase"}
        sd = table["TableInput"]["StorageDescriptor"]
        expected = [{"Name": column, "Type": HIVE_TYPES[kind.upper()]} for column, kind in manifest.columns]
        assert sd["Columns"] == expected, name
        layer, short = layer_and_name(name)
        assert sd["Location"] == {
            "Fn::Sub": f"s3://${{DataBucket}}/${{LakePrefix}}/{layer}/{short}/_symlink_format_manifest/"
        }
        assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
        assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        assert "PartitionKeys" not in table["TableInput"]  # partition columns are inside the Parquet files
        # The folder holds the symlink manifest each publish writes, naming the current version's files.
        assert f"{layer}/{short}/_symlink_format_manifest/manifest" == symlink_manifest_path(name)
        assert store.symlink_targets(name) == [store.storage.uri(f) for f in manifest.all_files()]


def test_state_machine_chains_ingest_transform_report_with_retries_and_a_failure_path(
    template: dict[str, Any],
) -> None:
    definition = json.loads(ASL.read_text())
    states = definition["States"]
    path, state = [], definition["StartAt"]
    while state not in path:  # the happy path: no other execution, the ingestion complete at the first call
        path.append(state)
        current = states[state]
        if current["Type"] in ("Succeed", "Fail"):
            break
        if current["Type"] == "Choice":
            wanted = [c["Next"] for c in current["Choices"] if c.get("BooleanEquals") is True]
            state = wanted[0] if wanted else current["Default"]
        else:
            state = current["Next"]
    assert path == [
        "CheckNoOtherExecution",
        "AnotherExecutionRunning?",
        "Defaults",
        "ApplyDefaults",
        "Ingest",
        "IngestComplete?",
        "Transform",
        "Report",
        "Done",
    ]
    assert states["Transform"]["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    for name in ("Ingest", "Transform", "Report"):
        task = states[name]
        assert task["Retry"] and all(r["BackoffRate"] >= 2 and r["MaxAttempts"] >= 1 for r in task["Retry"])
        assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    assert states["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states[states["NotifyFailure"]["Next"]]["Type"] == "Fail"
    # Application errors retried by name must be real exception classes of the package.
    from wistia_analytics.aws import secrets

    app_errors = {e for r in states["Ingest"]["Retry"] for e in r["ErrorEquals"] if "." not in e}
    known = {n for module in (lock, secrets) for n in dir(module) if n.endswith("Error")}
    assert app_errors and app_errors <= known
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL.read_text()))
    substitutions = template["Resources"]["Pipeline"]["Properties"]["DefinitionSubstitutions"]
    assert placeholders == set(substitutions)


def test_state_machine_loops_the_ingestion_until_complete_and_bounds_the_loop() -> None:
    states = json.loads(ASL.read_text())["States"]
    assert states["Ingest"]["ResultSelector"]["complete.$"] == "$.Payload.complete"
    choice = states["IngestComplete?"]
    by_test = {json.dumps({k: v for k, v in c.items() if k != "Next"}): c["Next"] for c in choice["Choices"]}
    assert by_test[json.dumps({"Variable": "$.ingest_result.complete", "BooleanEquals": True})] == "Transform"
    assert choice["Default"] == "CountIngestCall"  # incomplete: call again (it continues from the lake state)
    assert states["CountIngestCall"]["Next"] == "StoreIngestCall" and states["StoreIngestCall"]["Next"] == "Ingest"
    assert states["StoreIngestCall"]["Parameters"]["ingest.$"] == "$.ingest"  # the same event every call
    assert states["Defaults"]["Result"]["ingest_calls"] == 0
    (bound,) = [c for c in choice["Choices"] if "NumericGreaterThanEquals" in c]
    assert bound["Variable"] == "$.ingest_calls" and states[bound["Next"]]["Next"] == "NotifyFailure"


def test_state_machine_never_overlaps_itself(template: dict[str, Any]) -> None:
    definition = json.loads(ASL.read_text())
    states = definition["States"]
    guard = states[definition["StartAt"]]
    assert guard["Resource"] == "arn:aws:states:::aws-sdk:sfn:listExecutions"
    assert guard["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "StatusFilter": "RUNNING",
        "MaxResults": 10,
    }
    choice = states[guard["Next"]]
    (other,) = choice["Choices"]
    assert (other["Variable"], other["NumericGreaterThan"]) == ("$.guard.running", 1)  # itself is one of them
    assert states[other["Next"]]["Type"] == "Succeed"  # skipped, not failed: no false failure alarm
    pipeline = {s["Sid"]: s for s in _statements(template, "PipelineRole")}
    grant = pipeline["ConcurrencyGuard"]
    assert grant["Action"] == "states:ListExecutions"
    assert grant["Resource"]["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}-pipeline")
    assert template["Resources"]["Pipeline"]["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-pipeline"}


def test_alarms_watch_failed_partial_and_long_incomplete_ingestions(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    for name in (metrics.INGEST_FAILED, metrics.INGEST_PARTIAL, metrics.INGEST_INCOMPLETE):
        alarm = by_metric[name]
        assert alarm["Namespace"] == metrics.NAMESPACE
        assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.SERVICE}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    incomplete = by_metric[metrics.INGEST_INCOMPLETE]
    # Too long: every call of each of N consecutive hours was incomplete (Minimum = 1), not one normal stop.
    assert incomplete["Statistic"] == "Minimum"
    assert incomplete["EvaluationPeriods"] == incomplete["DatapointsToAlarm"] == {"Ref": "IncompleteAlarmHours"}
    assert by_metric[metrics.INGEST_PARTIAL]["Statistic"] == "Maximum"


def test_iam_guards_bronze_state_and_runs(template: dict[str, Any]) -> None:
    ingest = {s["Sid"]: s for s in _statements(template, "IngestRole")}
    bronze = ingest["BronzeOnlyByConditionalPut"]
    assert (bronze["Effect"], bronze["Action"]) == ("Deny", "s3:PutObject")
    assert bronze["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/${LakePrefix}/bronze/*"}
    assert bronze["Condition"] == {"Null": {"s3:if-none-match": "true"}}  # an unconditional PUT is refused
    glue = {s["Sid"]: s for s in _statements(template, "TransformRole")}
    assert _object_prefixes(list(glue.values()), "s3:DeleteObject") == {"silver", "gold", "_lock"}
    never = glue["NeverDeleteStateOrRuns"]
    assert (never["Effect"], never["Action"]) == ("Deny", "s3:DeleteObject")
    assert {r["Fn::Sub"].split("/")[2] for r in never["Resource"]} == {"_state", "_runs"}
    assert glue["NeverWriteBronze"]["Effect"] == "Deny"

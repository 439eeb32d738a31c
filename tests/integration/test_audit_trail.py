"""The audit_trail module against the local emulator, with its audit bucket made by s3_buckets as a playbook would.

moto writes no log files and does not implement LookupEvents, so what is tested is the trail's
configuration as CloudTrail, IAM and CloudWatch Logs report it, not the delivery of events.
"""

from __future__ import annotations

import json

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

STACK = dict(environment="test", stack="test-us-east-1", tags={"owner": "platform"})
AUDIT = "cairn-test-use1-audit"
ACCESS_LOGS = "cairn-test-use1-access-logs"
TRAIL = "cairn-test-audit"
ROLE = TRAIL + "-cloudwatch-logs"
LOG_GROUP = "/cairn/test/audit-trail"
SENSITIVE = ["arn:aws:s3:::cairn-test-use1-uploads", "arn:aws:s3:::cairn-test-use1-backups"]


def client(service):
    return boto3.client(service, region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def trail_fields(result):
    return next(c for c in result["changes"] if c["resource_type"] == "cloudtrail_trail")["fields"]


def buckets(kms_key, statements):
    return dict(STACK, component="audit", buckets=[
        dict(name=ACCESS_LOGS),
        dict(name=AUDIT, kms_key_arn=kms_key, access_logging=dict(target_bucket=ACCESS_LOGS),
             object_lock=dict(mode="GOVERNANCE", days=1), extra_policy_statements=statements),
    ])


@pytest.fixture
def kms_key(aws_env):
    return client("kms").create_key(Description="audit logs")["KeyMetadata"]["Arn"]


@pytest.fixture
def trail_args(kms_key):
    return dict(STACK, s3_bucket_name=AUDIT, kms_key_arn=kms_key, data_event_bucket_arns=SENSITIVE, log_retention_days=365)


@pytest.fixture
def audit_bucket(aws_env, kms_key, trail_args):
    """The playbook's order: learn the statements (check mode), create the buckets with them."""
    with aws_env.recording() as calls:
        learned = run_module("audit_trail", trail_args, check_mode=True)
    assert mutating_calls(calls) == []
    run_module("s3_buckets", buckets(kms_key, learned["bucket_policy_statements"]))
    return learned


@pytest.fixture
def converged(audit_bucket, trail_args):
    result = run_module("audit_trail", trail_args)
    assert result["changed"] is True
    return result


def test_check_mode_plans_what_the_real_run_does_and_writes_nothing(aws_env, audit_bucket, trail_args):
    with aws_env.recording() as calls:
        planned = run_module("audit_trail", trail_args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("create", "cloudtrail_trail", TRAIL), ("create", "iam_role", ROLE),
                                  ("create", "log_group", LOG_GROUP)]
    assert planned["diff"]["after"]["cloudtrail_trail/" + TRAIL]["is_multi_region_trail"] is True
    with aws_env.recording() as calls:
        applied = run_module("audit_trail", trail_args)
    assert plan_keys(applied) == plan_keys(planned)
    assert sorted(trail_fields(applied)) == sorted(trail_fields(planned))
    assert count_by_operation(mutating_calls(calls)) == {
        "logs:CreateLogGroup": 1, "logs:PutRetentionPolicy": 1, "iam:CreateRole": 1, "iam:PutRolePolicy": 1,
        "cloudtrail:CreateTrail": 1, "cloudtrail:PutEventSelectors": 1, "cloudtrail:StartLogging": 1}


def test_trail_settings_as_aws_reports_them_and_a_rerun_changes_nothing(aws_env, converged, trail_args, kms_key):
    cloudtrail = client("cloudtrail")
    trail = cloudtrail.get_trail(Name=TRAIL)["Trail"]
    arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + TRAIL
    assert trail["TrailARN"] == converged["trail"]["arn"] == arn
    assert trail["IsMultiRegionTrail"] is True and trail["IncludeGlobalServiceEvents"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert trail["KmsKeyId"] == kms_key
    assert trail["S3BucketName"] == AUDIT
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:" + LOG_GROUP
    assert trail["CloudWatchLogsLogGroupArn"] == group_arn + ":*"
    assert trail["CloudWatchLogsRoleArn"] == converged["role_arn"]
    assert cloudtrail.get_trail_status(Name=TRAIL)["IsLogging"] is True

    selectors = cloudtrail.get_event_selectors(TrailName=TRAIL)
    assert selectors["EventSelectors"] == []
    by_name = {s["Name"]: {f["Field"]: f for f in s["FieldSelectors"]} for s in selectors["AdvancedEventSelectors"]}
    assert by_name["All management events"] == {"eventCategory": {"Field": "eventCategory", "Equals": ["Management"]}}
    data = by_name["S3 data events of the sensitive buckets"]
    assert data["eventCategory"]["Equals"] == ["Data"] and data["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert sorted(data["resources.ARN"]["StartsWith"]) == sorted(arn + "/" for arn in SENSITIVE)

    tags = {t["Key"]: t["Value"] for t in cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]}
    assert tags["cairn:component"] == "audit" and tags["cairn:stack"] == "test-us-east-1" and tags["owner"] == "platform"

    iam = client("iam")
    role = iam.get_role(RoleName=ROLE)["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceArn": arn}}
    policy = iam.get_role_policy(RoleName=ROLE, PolicyName="cloudwatch-logs-delivery")["PolicyDocument"]
    assert policy["Statement"][0]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert policy["Statement"][0]["Resource"] == group_arn + ":log-stream:*"

    group = client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]
    assert group["retentionInDays"] == 365 and group["kmsKeyId"] == kms_key

    # The bucket policy holds the statements the trail asked for, scoped to this trail.
    bucket_policy = json.loads(client("s3").get_bucket_policy(Bucket=AUDIT)["Policy"])
    write = next(s for s in bucket_policy["Statement"] if s.get("Sid") == "CloudTrailWrite")
    assert write["Resource"] == "arn:aws:s3:::{0}/AWSLogs/123456789012/*".format(AUDIT)
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == arn

    with aws_env.recording() as calls:
        rerun = run_module("audit_trail", trail_args)
    assert rerun["changed"] is False and mutating_calls(calls) == []
    assert len(calls) == 13, count_by_operation(calls)
    with aws_env.recording() as calls:
        checked = run_module("audit_trail", trail_args, check_mode=True)
    assert checked["changed"] is False and mutating_calls(calls) == []
    assert checked["bucket_policy_statements"] == converged["bucket_policy_statements"]


def test_drift_is_reported_and_repaired(aws_env, converged, trail_args):
    cloudtrail = client("cloudtrail")
    cloudtrail.stop_logging(Name=TRAIL)
    cloudtrail.update_trail(Name=TRAIL, EnableLogFileValidation=False)
    cloudtrail.put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=[
        {"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}])
    client("logs").put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=7)

    with aws_env.recording() as calls:
        planned = run_module("audit_trail", trail_args, check_mode=True)
    assert mutating_calls(calls) == []
    fields = sorted(f for c in planned["changes"] for f in c["fields"])
    assert fields == ["advanced_event_selectors", "is_logging", "log_file_validation_enabled", "retention_days"]

    repaired = run_module("audit_trail", trail_args)
    assert repaired["changes"] == planned["changes"]
    assert cloudtrail.get_trail_status(Name=TRAIL)["IsLogging"] is True
    assert cloudtrail.get_trail(Name=TRAIL)["Trail"]["LogFileValidationEnabled"] is True
    assert len(cloudtrail.get_event_selectors(TrailName=TRAIL)["AdvancedEventSelectors"]) == 2
    with aws_env.recording() as calls:
        assert run_module("audit_trail", trail_args)["changed"] is False
    assert mutating_calls(calls) == []


def test_a_missing_bucket_or_bucket_policy_fails_before_any_write(aws_env, kms_key, trail_args):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("audit_trail", trail_args)
    assert "does not exist" in failure.value.result["msg"]
    assert mutating_calls(calls) == []

    run_module("s3_buckets", buckets(kms_key, []))
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("audit_trail", trail_args)
    message = failure.value.result["msg"]
    assert "s3_bucket_name" in message and "does not let CloudTrail write" in message and "CloudTrailWrite" in message
    assert len(failure.value.result["bucket_policy_statements"]) == 2
    assert mutating_calls(calls) == []
    # Check mode only warns: in a check-mode playbook, s3_buckets did not add them either.
    planned = run_module("audit_trail", trail_args, check_mode=True)
    assert planned["changed"] is True
    assert any("does not let CloudTrail write" in warning for warning in planned["warnings"])


def test_a_trail_of_the_same_name_without_ownership_tags_is_refused(aws_env, audit_bucket, trail_args):
    client("cloudtrail").create_trail(Name=TRAIL, S3BucketName=AUDIT)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("audit_trail", trail_args)
    assert "never takes over" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_absent_deletes_the_trail_role_and_log_group(aws_env, converged, trail_args):
    absent = dict(STACK, state="absent")
    planned = run_module("audit_trail", absent, check_mode=True)
    deleted = run_module("audit_trail", absent)
    assert plan_keys(planned) == plan_keys(deleted) == [
        ("delete", "cloudtrail_trail", TRAIL), ("delete", "iam_role", ROLE), ("delete", "log_group", LOG_GROUP)]
    assert client("cloudtrail").describe_trails()["trailList"] == []
    assert client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"] == []
    with aws_env.recording() as calls:
        assert run_module("audit_trail", absent)["changed"] is False
    assert mutating_calls(calls) == []


# ---- bad input: a sentence naming the field, before any API call ------------------------------

@pytest.fixture
def untouched_env(emulator, monkeypatch):
    """The SDK environment of aws_env without resetting the emulator: for tests that must make no call at all."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_CONFIG_FILE", "/dev/null"), ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")):
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return emulator


BAD_INPUT = [
    ("bucket name invalid", dict(s3_bucket_name="Audit_Bucket"), "s3_bucket_name", ["characters S3 does not allow"]),
    ("retention not a CloudWatch value", dict(log_retention_days=42), "log_retention_days", ["accepts only", "42"]),
    ("data event ARN not an S3 ARN", dict(data_event_bucket_arns=["arn:aws:dynamodb:us-east-1:123456789012:table/t"]),
     "data_event_bucket_arns[0]", ["not an S3 bucket ARN"]),
    ("data event ARN of an object", dict(data_event_bucket_arns=["arn:aws:s3:::bucket/some/key"]),
     "data_event_bucket_arns[0]", ["not an S3 bucket ARN"]),
    ("data event ARN with a bad bucket", dict(data_event_bucket_arns=["arn:aws:s3:::Bad_Bucket"]),
     "data_event_bucket_arns[0]", ["characters S3 does not allow"]),
    ("kms key of another region", dict(kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/abcd"), "kms_key_arn", ["eu-west-1"]),
    ("kms key not an ARN", dict(kms_key_arn="alias/audit"), "kms_key_arn", ["not a KMS key ARN"]),
    ("trail name invalid", dict(name="-audit"), "name", ["not a CloudTrail trail name"]),
    ("trail name with adjacent separators", dict(name="audit--trail"), "name", ["adjacent"]),
    ("prefix with a trailing slash", dict(s3_key_prefix="trail/"), "s3_key_prefix", ["trailing '/'"]),
    ("bucket missing", dict(s3_bucket_name=None), "s3_bucket_name", ["required when state=present"]),
]


@pytest.mark.parametrize("case, overrides, field, words", BAD_INPUT, ids=[item[0] for item in BAD_INPUT])
def test_bad_input(untouched_env, case, overrides, field, words):
    args = dict(STACK, s3_bucket_name=AUDIT, kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd",
                data_event_bucket_arns=SENSITIVE)
    with untouched_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("audit_trail", dict(args, **overrides))
    message = failure.value.result["msg"]
    assert message.startswith(field + ":"), message
    for word in words:
        assert word in message, message
    assert calls == []

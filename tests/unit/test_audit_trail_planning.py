"""Pure parts of audit_trail: input checks, the statements CloudTrail needs, selectors compared by meaning."""

from __future__ import annotations

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.audit_trail import (
    advanced_event_selectors,
    bucket_policy_statements,
    build_spec,
    check_trail_name,
    delivery_policy,
    missing_statements,
    normalize_selectors,
    role_name,
    trail_arn,
    trail_settings_from_api,
    trail_settings_to_api,
    trust_policy,
)

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SOURCE = "arn:aws:cloudtrail:us-east-1:123456789012:trail/cairn-prod-audit"


def params(**overrides):
    values = dict(environment="prod", state="present", name=None, s3_bucket_name="cairn-prod-use1-audit",
                  s3_key_prefix=None, kms_key_arn=KEY, log_group_name=None, log_retention_days=365,
                  log_group_kms_key_arn=None, data_event_bucket_arns=[], wait_timeout=120)
    values.update(overrides)
    return values


def test_defaults_follow_the_environment():
    spec = build_spec(params(), "us-east-1")
    assert spec["name"] == "cairn-prod-audit"
    assert spec["log_group_name"] == "/cairn/prod/audit-trail"
    assert spec["log_group_kms_key_arn"] == KEY
    assert spec["s3_key_prefix"] == ""
    assert role_name("x" * 70) == "x" * 64


def test_absent_needs_neither_bucket_nor_key():
    assert build_spec(params(state="absent", s3_bucket_name=None, kms_key_arn=None), "us-east-1")["state"] == "absent"


@pytest.mark.parametrize("name", ["abc", "Cairn_Prod.audit-1", "a" * 128])
def test_valid_trail_names(name):
    check_trail_name(name)


@pytest.mark.parametrize("name", ["ab", "a" * 129, "-abc", "abc-", "a..b", "a-_b", "a b", "10.0.0.1"])
def test_invalid_trail_names(name):
    with pytest.raises(InputError) as err:
        check_trail_name(name)
    assert err.value.message.startswith("name: ")


@pytest.mark.parametrize("overrides, field", [
    (dict(log_retention_days=0), "log_retention_days"),
    (dict(log_retention_days=366), "log_retention_days"),
    (dict(log_group_kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/abcd"), "log_group_kms_key_arn"),
    (dict(data_event_bucket_arns=["arn:aws:s3:::abc", "arn:aws:s3:::abc/"]), "data_event_bucket_arns[1]"),
    (dict(data_event_bucket_arns=["s3://bucket"]), "data_event_bucket_arns[0]"),
    (dict(s3_key_prefix="/logs"), "s3_key_prefix"),
    (dict(s3_key_prefix="x" * 201), "s3_key_prefix"),
    (dict(log_group_name="bad name"), "log_group_name"),
    (dict(wait_timeout=-1), "wait_timeout"),
    (dict(kms_key_arn=None), "kms_key_arn"),
    (dict(kms_key_arn="arn:aws:kms:us-east-1:123456789012:alias/audit"), "kms_key_arn"),
])
def test_bad_input_names_the_field(overrides, field):
    with pytest.raises(InputError) as err:
        build_spec(params(**overrides), "us-east-1")
    assert err.value.message.startswith(field + ":")


def test_bucket_statements_are_scoped_to_this_trail_and_account():
    statements = bucket_policy_statements("aws", "123456789012", "audit", "org", SOURCE)
    acl, write = statements
    assert acl["Action"] == "s3:GetBucketAcl" and acl["Resource"] == "arn:aws:s3:::audit"
    assert write["Resource"] == "arn:aws:s3:::audit/org/AWSLogs/123456789012/*"
    for statement in statements:
        assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == SOURCE
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert bucket_policy_statements("aws-cn", "1", "b", "", SOURCE)[1]["Resource"] == "arn:aws-cn:s3:::b/AWSLogs/1/*"


def test_missing_statements_are_found_by_meaning_not_by_sid_or_order():
    required = bucket_policy_statements("aws", "123456789012", "audit", "", SOURCE)
    renamed = [dict(s, Sid="Other{0}".format(i), Action=[s["Action"]]) for i, s in enumerate(required)]
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                     "Resource": "arn:aws:s3:::audit"}] + list(reversed(renamed))}
    assert missing_statements(policy, required) == []
    assert missing_statements(None, required) == required
    widened = dict(required[1], Resource="arn:aws:s3:::audit/*")
    assert missing_statements({"Statement": [required[0], widened]}, required) == [required[1]]


def test_role_trust_and_delivery_policy_are_least_privilege():
    trust = trust_policy(SOURCE)["Statement"][0]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceArn": SOURCE}}
    statement = delivery_policy("arn:aws:logs:us-east-1:123456789012:log-group:/cairn/prod/audit-trail")["Statement"][0]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == "arn:aws:logs:us-east-1:123456789012:log-group:/cairn/prod/audit-trail:log-stream:*"


def test_selectors_log_all_management_events_and_object_events_of_the_listed_buckets():
    assert advanced_event_selectors([]) == [
        {"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    data = advanced_event_selectors(["arn:aws:s3:::b", "arn:aws:s3:::a"])[1]["FieldSelectors"]
    assert data[2] == {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::a/", "arn:aws:s3:::b/"]}


def test_selectors_compare_by_meaning():
    wanted = advanced_event_selectors(["arn:aws:s3:::a", "arn:aws:s3:::b"])
    answered = [dict(wanted[1], FieldSelectors=[dict(f, NotEquals=[]) for f in reversed(wanted[1]["FieldSelectors"])]),
                wanted[0]]
    answered[0]["FieldSelectors"][0] = dict(answered[0]["FieldSelectors"][0],
                                            StartsWith=list(reversed(answered[0]["FieldSelectors"][0]["StartsWith"])))
    assert normalize_selectors(answered) == normalize_selectors(wanted)
    assert normalize_selectors(wanted[:1]) != normalize_selectors(wanted)


def test_trail_settings_round_trip():
    settings = {"s3_bucket_name": "audit", "s3_key_prefix": "", "include_global_service_events": True,
                "is_multi_region_trail": True, "log_file_validation_enabled": True, "kms_key_arn": KEY,
                "cloudwatch_logs_log_group_arn": "arn:aws:logs:us-east-1:1:log-group:g:*",
                "cloudwatch_logs_role_arn": "arn:aws:iam::1:role/r"}
    api = trail_settings_to_api(settings)
    answered = {"S3BucketName": api["S3BucketName"], "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": True,
                "LogFileValidationEnabled": True, "KmsKeyId": KEY, "CloudWatchLogsLogGroupArn": api["CloudWatchLogsLogGroupArn"],
                "CloudWatchLogsRoleArn": api["CloudWatchLogsRoleArn"]}
    # CloudTrail leaves S3KeyPrefix out when there is none.
    assert trail_settings_from_api(answered) == settings
    assert trail_arn("aws", "us-east-1", "123456789012", "cairn-prod-audit") == SOURCE

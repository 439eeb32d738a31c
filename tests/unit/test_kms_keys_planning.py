"""kms_keys pure planning: input checks and the key policy, without any API call."""

from __future__ import annotations

import copy

import pytest
import yaml

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.policy import policies_equal
from ansible_collections.cairn.platform.plugins.modules import kms_keys
from ansible_collections.cairn.platform.plugins.modules.kms_keys import (
    ADMIN_ACTIONS,
    ARGUMENT_SPEC,
    DELETION_WINDOW_TAG,
    USER_ACTIONS,
    build_spec,
    deletion_window,
    key_policy,
    policy_principals,
)

ACCOUNT = "123456789012"
ROOT = "arn:aws:iam::123456789012:root"
ADMIN = "arn:aws:iam::123456789012:role/cairn/admin"
APP = "arn:aws:iam::123456789012:role/cairn/app"
ENCRYPTING = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
              "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"}


def key_params(**overrides):
    params = {"name": "rds", "description": None, "alias": None, "administrators": [], "users": [], "grant_users": [],
              "services": [], "rotation_period_days": 365, "multi_region": False, "deletion_window_days": 30}
    params.update(overrides)
    params["services"] = [dict({"principals": None, "log_groups": None, "trails": None}, **s) for s in params["services"]]
    return params


def params(*keys, **overrides):
    base = {"environment": "prod", "stack": "prod-us-east-1", "state": "present", "purge_keys": True,
            "keys": list(keys) or [key_params()]}
    base.update(overrides)
    return base


def one_key(**overrides):
    return build_spec(params(key_params(**overrides)))["keys"][0]


def policy(account=ACCOUNT, partition="aws", region="us-east-1", **overrides):
    return key_policy(one_key(**overrides), account, partition, region)


def by_sid(document):
    return {s["Sid"]: s for s in document["Statement"]}


# ---- defaults ---------------------------------------------------------------------------------
def test_defaults_name_the_alias_and_description_after_the_stack():
    key = one_key()
    assert key["alias"] == "alias/cairn/prod/prod-us-east-1/rds"
    assert key["description"] == "rds data of prod-us-east-1 (cairn.platform)"
    assert key["rotation_period_days"] == 365 and key["deletion_window_days"] == 30
    assert build_spec(params())["alias_prefix"] == "alias/cairn/prod/prod-us-east-1/"


def test_principals_are_deduplicated_and_sorted():
    key = one_key(users=[APP, ADMIN, APP])
    assert key["users"] == [ADMIN, APP]


def test_service_defaults_cover_all_log_groups_and_trails():
    key = one_key(services=[{"service": "logs"}, {"service": "cloudtrail"}, {"service": "rds"}])
    assert [s["log_groups"] for s in key["services"]] == [["*"], None, None]
    assert [s["trails"] for s in key["services"]] == [None, ["*"], None]
    assert key["services"][2]["principals"] is None


def test_absent_needs_no_keys():
    assert build_spec(params(state="absent", keys=[]))["keys"] == []


def test_build_spec_does_not_mutate_params():
    original = params(key_params(users=[APP, ADMIN], services=[{"service": "logs"}]))
    snapshot = copy.deepcopy(original)
    build_spec(original)
    assert original == snapshot


# ---- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, words", [
    ({"name": "rds data"}, ["keys[0].name", "letters, digits"]),
    ({"name": ""}, ["keys[0].name"]),
    ({"alias": "cairn/rds"}, ["keys[0] (rds).alias", "must start with 'alias/'"]),
    ({"alias": "alias/"}, ["keys[0] (rds).alias"]),
    ({"alias": "alias/aws/rds"}, ["keys[0] (rds).alias", "reserved", "AWS managed keys"]),
    ({"alias": "alias/" + "a" * 251}, ["keys[0] (rds).alias", "257 characters", "at most 256"]),
    ({"alias": "alias/rds.key"}, ["keys[0] (rds).alias", ": / _ -"]),
    ({"rotation_period_days": 89}, ["keys[0] (rds).rotation_period_days", "90 to 2560", "got 89"]),
    ({"rotation_period_days": 2561}, ["keys[0] (rds).rotation_period_days", "got 2561"]),
    ({"deletion_window_days": 6}, ["keys[0] (rds).deletion_window_days", "7 to 30"]),
    ({"deletion_window_days": 31}, ["keys[0] (rds).deletion_window_days", "got 31"]),
    ({"users": ["app-role"]}, ["keys[0] (rds).users", "'app-role' is not an IAM principal ARN"]),
    ({"administrators": ["arn:aws:iam::123456789012:role/*"]}, ["keys[0] (rds).administrators", "no wildcards"]),
    ({"grant_users": ["arn:aws:iam::12345:role/x"]}, ["keys[0] (rds).grant_users"]),
    ({"users": ["arn:aws:s3:::bucket"]}, ["keys[0] (rds).users"]),
    ({"services": [{"service": "rds", "principals": ["*"]}]}, ["keys[0] (rds).services[0].principals"]),
    ({"services": [{"service": "rds", "principals": []}]}, ["keys[0] (rds).services[0].principals", "at least one"]),
    ({"services": [{"service": "logs", "principals": [APP]}]}, ["services[0].principals", "kms:ViaService", "not logs"]),
    ({"services": [{"service": "rds", "trails": ["t"]}]}, ["services[0].trails", "cloudtrail only"]),
    ({"services": [{"service": "cloudtrail", "log_groups": ["/x"]}]}, ["services[0].log_groups", "logs only"]),
    ({"services": [{"service": "logs", "log_groups": ["bad name"]}]}, ["services[0].log_groups", "not a log group name"]),
    ({"services": [{"service": "logs", "log_groups": []}]}, ["services[0].log_groups", "at least one"]),
    ({"services": [{"service": "cloudtrail", "trails": ["a/b"]}]}, ["services[0].trails", "not a trail name"]),
    ({"services": [{"service": "rds"}, {"service": "rds"}]}, ["keys[0] (rds).services", "rds is listed twice"]),
    ({"description": "x" * 8193}, ["keys[0] (rds).description", "8192"]),
])
def test_bad_key_options_are_refused_naming_the_field(overrides, words):
    with pytest.raises(InputError) as err:
        one_key(**overrides)
    for word in words:
        assert word in err.value.message, err.value.message


def test_default_alias_is_checked_too():
    with pytest.raises(InputError) as err:
        build_spec(params(stack="prod us-east-1"))
    assert "keys[0] (rds).alias (default)" in err.value.message


def test_duplicate_names_are_refused():
    with pytest.raises(InputError) as err:
        build_spec(params(key_params(), key_params(alias="alias/other")))
    assert "keys[1].name: 'rds' is listed twice (also keys[0])" in err.value.message


def test_duplicate_aliases_are_refused():
    with pytest.raises(InputError) as err:
        build_spec(params(key_params(), key_params(name="s3", alias="alias/cairn/prod/prod-us-east-1/rds")))
    assert "keys[1] (s3).alias" in err.value.message and "keys[0]" in err.value.message


def test_present_needs_a_key():
    with pytest.raises(InputError) as err:
        build_spec(params(keys=[]))
    assert "keys:" in err.value.message and "state=absent" in err.value.message


def test_oversized_policy_is_refused_naming_the_key():
    groups = ["/cairn/prod/prod-us-east-1/{0}/{1}".format(i, "x" * 400) for i in range(80)]
    with pytest.raises(InputError) as err:
        policy(services=[{"service": "logs", "log_groups": groups}])
    assert "keys[0] (rds)" in err.value.message and "32768" in err.value.message


def test_accepted_principal_forms():
    one_key(users=["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/ci",
                   "arn:aws:iam::123456789012:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup",
                   "arn:aws:sts::123456789012:assumed-role/deploy/session", "arn:aws-us-gov:iam::123456789012:role/x",
                   "arn:aws-cn:iam::123456789012:role/x"])


# ---- the key policy ---------------------------------------------------------------------------------
def test_root_administration_is_the_only_kms_star_statement():
    document = policy(administrators=[ADMIN], users=[APP], grant_users=[APP],
                      services=[{"service": s} for s in ("logs", "cloudtrail", "cloudwatch", "rds", "s3", "backup",
                                                         "sns", "elasticache", "ec2", "secretsmanager")])
    stars = [s for s in document["Statement"] if "kms:*" in s["Action"]]
    assert stars == [{"Sid": "RootAccountAdministration", "Effect": "Allow", "Principal": {"AWS": ROOT},
                      "Action": ["kms:*"], "Resource": "*"}]
    for statement in document["Statement"]:
        if statement is stars[0]:
            continue
        assert {a for a in statement["Action"] if "*" in a} <= {"kms:ReEncrypt*", "kms:GenerateDataKey*"}
        assert statement["Principal"] not in ("*", {"AWS": "*"})
    assert len({s["Sid"] for s in document["Statement"]}) == len(document["Statement"])


def test_administrators_manage_but_never_use_the_key():
    statements = by_sid(policy(administrators=[ADMIN]))
    actions = set(statements["KeyAdministrators"]["Action"])
    assert not actions & ENCRYPTING
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:EnableKeyRotation"} <= actions
    assert "kms:ReplicateKey" not in actions
    assert "kms:ReplicateKey" in by_sid(policy(administrators=[ADMIN], multi_region=True))["KeyAdministrators"]["Action"]


def test_users_use_but_never_manage_the_key():
    statements = by_sid(policy(users=[APP]))
    assert statements["KeyUsers"]["Action"] == sorted(USER_ACTIONS)
    assert not set(statements["KeyUsers"]["Action"]) & (set(ADMIN_ACTIONS) - {"kms:DescribeKey"})
    assert statements["KeyUsers"]["Principal"] == {"AWS": [APP]}


def test_no_principal_no_statement():
    assert [s["Sid"] for s in policy()["Statement"]] == ["RootAccountAdministration"]


def test_grant_users_only_for_aws_resources():
    statement = by_sid(policy(grant_users=[APP]))["GrantsForAwsResources"]
    assert statement["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert statement["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_logs_statement_is_tied_to_log_group_arns_of_the_region():
    statement = by_sid(policy(region="eu-west-1", services=[{"service": "logs", "log_groups": ["/cairn/*", "aws-waf-logs-x"]}]))["CloudWatchLogs"]
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert statement["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/cairn/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-x"]}}
    assert set(statement["Action"]) == set(USER_ACTIONS)


def test_cloudtrail_statements_carry_source_and_encryption_context_conditions():
    statements = by_sid(policy(services=[{"service": "cloudtrail", "trails": ["audit"]}]))
    encrypt, describe = statements["CloudTrailEncryptLogs"], statements["CloudTrailDescribeKey"]
    source = {"StringEquals": {"aws:SourceAccount": ACCOUNT},
              "ArnLike": {"aws:SourceArn": ["arn:aws:cloudtrail:us-east-1:123456789012:trail/audit"]}}
    assert encrypt["Action"] == ["kms:GenerateDataKey*"]
    assert encrypt["Condition"] == dict(source, StringLike={
        "kms:EncryptionContext:aws:cloudtrail:arn": ["arn:aws:cloudtrail:*:123456789012:trail/audit"]})
    assert describe["Action"] == ["kms:DescribeKey"] and describe["Condition"] == source
    assert encrypt["Principal"] == describe["Principal"] == {"Service": "cloudtrail.amazonaws.com"}


def test_cloudwatch_alarms_statement():
    statement = by_sid(policy(services=[{"service": "cloudwatch"}]))["CloudWatchAlarms"]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}


@pytest.mark.parametrize("service, grants", [("rds", True), ("backup", True), ("elasticache", True), ("ec2", True),
                                             ("s3", False), ("sns", False), ("secretsmanager", False)])
def test_via_service_statements(service, grants):
    statements = by_sid(policy(services=[{"service": service}]))
    sid = "Via" + service.capitalize()
    via = {"kms:ViaService": "{0}.us-east-1.amazonaws.com".format(service), "kms:CallerAccount": ACCOUNT}
    assert statements[sid]["Principal"] == {"AWS": [ROOT]}
    assert statements[sid]["Condition"] == {"StringEquals": via}
    assert set(statements[sid]["Action"]) == set(USER_ACTIONS)
    if grants:
        assert statements[sid + "Grants"]["Action"] == ["kms:CreateGrant", "kms:ListGrants"]
        assert statements[sid + "Grants"]["Condition"] == {"StringEquals": via, "Bool": {"kms:GrantIsForAWSResource": "true"}}
    else:
        assert sid + "Grants" not in statements


def test_via_service_with_named_principals():
    statement = by_sid(policy(services=[{"service": "s3", "principals": [APP]}]))["ViaS3"]
    assert statement["Principal"] == {"AWS": [APP]}


def test_china_partition_uses_its_own_service_domain():
    statements = by_sid(policy(account=ACCOUNT, partition="aws-cn", region="cn-north-1",
                               services=[{"service": "logs"}, {"service": "rds"}]))
    assert statements["RootAccountAdministration"]["Principal"] == {"AWS": "arn:aws-cn:iam::123456789012:root"}
    assert statements["CloudWatchLogs"]["Principal"] == {"Service": "logs.cn-north-1.amazonaws.com.cn"}
    assert statements["ViaRds"]["Condition"]["StringEquals"]["kms:ViaService"] == "rds.cn-north-1.amazonaws.com.cn"


def test_same_input_in_another_order_is_the_same_policy():
    first = policy(administrators=[ADMIN, APP], services=[{"service": "rds"}, {"service": "logs", "log_groups": ["/a", "/b"]}])
    second = policy(administrators=[APP, ADMIN], services=[{"service": "logs", "log_groups": ["/b", "/a"]}, {"service": "rds"}])
    assert policies_equal(first, second)
    assert not policies_equal(first, policy(administrators=[ADMIN]))


def test_policy_principals_name_their_option():
    key = one_key(administrators=[ADMIN], users=[APP], services=[{"service": "s3", "principals": [APP, ROOT]}])
    assert policy_principals(key) == {ADMIN: "administrators", APP: "users", ROOT: "services[s3].principals"}


@pytest.mark.parametrize("tags, days", [({DELETION_WINDOW_TAG: "7"}, 7), ({DELETION_WINDOW_TAG: "30"}, 30),
                                        ({}, 30), ({DELETION_WINDOW_TAG: "x"}, 30), ({DELETION_WINDOW_TAG: "3"}, 30), (None, 30)])
def test_deletion_window_from_the_tag_falls_back_to_the_longest(tags, days):
    assert deletion_window(tags) == days


# ---- documentation matches the argument spec ----------------------------------------------------------
def _compare(doc_options, spec_options, path):
    assert set(doc_options) == set(spec_options), path
    for name, spec in spec_options.items():
        doc = doc_options[name]
        where = path + name
        assert doc.get("type", "str") == spec.get("type", "str"), where
        assert doc.get("elements") == spec.get("elements"), where
        assert doc.get("default") == spec.get("default"), where
        assert doc.get("choices") == spec.get("choices"), where
        assert bool(doc.get("required")) == bool(spec.get("required")), where
        assert doc.get("aliases") == spec.get("aliases"), where
        if spec.get("options"):
            _compare(doc["suboptions"], spec["options"], where + ".")


def test_documentation_matches_the_argument_spec():
    documented = yaml.safe_load(kms_keys.DOCUMENTATION)["options"]
    _compare(documented, ARGUMENT_SPEC, "")

"""The kms_keys module against the local emulator: create, rerun, check mode, update, removal, ownership.

Calls are counted by the emulator's recorder, from outside the module. The key policies are read
back from the emulator and checked for least privilege.
"""

from __future__ import annotations

import json

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

ACCOUNT = "123456789012"
ROOT = "arn:aws:iam::{0}:root".format(ACCOUNT)
ADMIN = "arn:aws:iam::{0}:role/cairn/platform-admin".format(ACCOUNT)
EKS_ROLE = "arn:aws:iam::{0}:role/cairn/test-eks-cluster".format(ACCOUNT)
AUDITOR = "arn:aws:iam::{0}:role/cairn/auditor".format(ACCOUNT)
PREFIX = "alias/cairn/test/test-us-east-1/"

KEYS = [
    {"name": "rds", "administrators": [ADMIN], "services": [{"service": "rds"}, {"service": "backup"}]},
    {"name": "logs", "administrators": [ADMIN], "services": [{"service": "logs", "log_groups": ["/cairn/test/*"]}]},
    {"name": "eks", "administrators": [ADMIN], "users": [EKS_ROLE], "grant_users": [EKS_ROLE]},
    {"name": "audit", "administrators": [ADMIN], "users": [AUDITOR], "multi_region": True, "deletion_window_days": 7,
     "services": [{"service": "cloudtrail", "trails": ["test-audit"]}]},
]
BASE = dict(environment="test", stack="test-us-east-1", keys=KEYS, tags={"owner": "platform"})
ADMIN_ONLY = {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CancelKeyDeletion",
              "kms:TagResource", "kms:UntagResource", "kms:EnableKeyRotation", "kms:DisableKeyRotation"}
USE = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant"}


def kms():
    return boto3.client("kms", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def policy_of(key_id):
    return json.loads(kms().get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def statements_by_sid(key_id):
    return {s["Sid"]: s for s in policy_of(key_id)["Statement"]}


def as_list(value):
    return value if isinstance(value, list) else [value]


def aliases():
    return {a["AliasName"]: a["TargetKeyId"] for a in kms().list_aliases()["Aliases"] if a.get("TargetKeyId")}


def with_keys(**changes_by_name):
    """BASE with some keys' options changed, e.g. with_keys(rds={"description": "x"})."""
    keys = [dict(key, **changes_by_name.get(key["name"], {})) for key in KEYS]
    return dict(BASE, keys=keys)


@pytest.fixture
def converged(aws_env):
    result = run_module("kms_keys", BASE)
    assert result["changed"] is True
    return result


def test_check_mode_on_empty_account_writes_nothing_and_plans_what_the_real_run_does(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("kms_keys", BASE, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert not [a for a in aliases() if a.startswith(PREFIX)]
    assert planned["keys"]["rds"]["key_id"] == "(known after apply)"
    assert planned["plan_summary"] == "4 to create, 0 to update, 0 to delete"
    assert "kms_key/" + PREFIX + "rds" in planned["diff"]["after"]

    with aws_env.recording() as calls:
        applied = run_module("kms_keys", BASE)
    assert plan_keys(planned) == plan_keys(applied)
    assert count_by_operation(mutating_calls(calls)) == {
        "kms:CreateKey": 4, "kms:CreateAlias": 4, "kms:EnableKeyRotation": 4}


def test_create_builds_tagged_rotating_aliased_keys(converged):
    client = kms()
    targets = aliases()
    for name in ("rds", "logs", "eks", "audit"):
        result = converged["keys"][name]
        assert result["alias"] == PREFIX + name
        assert targets[result["alias"]] == result["key_id"]
        metadata = client.describe_key(KeyId=result["key_id"])["KeyMetadata"]
        assert metadata["KeyManager"] == "CUSTOMER" and metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
        assert metadata["Arn"] == result["arn"]
        assert metadata["Description"] == "{0} data of test-us-east-1 (cairn.platform)".format(name)
        assert client.get_key_rotation_status(KeyId=result["key_id"])["KeyRotationEnabled"] is True
        tags = {t["TagKey"]: t["TagValue"] for t in client.list_resource_tags(KeyId=result["key_id"])["Tags"]}
        assert tags["cairn:component"] == "kms" and tags["cairn:stack"] == "test-us-east-1"
        assert tags["cairn:data-class"] == name and tags["owner"] == "platform"
    assert converged["keys"]["audit"]["multi_region"] is True
    assert converged["keys"]["audit"]["key_id"].startswith("mrk-")
    assert client.describe_key(KeyId=converged["keys"]["audit"]["key_id"])["KeyMetadata"]["MultiRegion"] is True
    assert converged["keys"]["rds"]["rotation_period_days"] == 365


def test_key_policies_read_back_are_least_privilege(converged):
    for name in ("rds", "logs", "eks", "audit"):
        statements = policy_of(converged["keys"][name]["key_id"])["Statement"]
        wildcard = [s for s in statements if "kms:*" in as_list(s["Action"])]
        assert len(wildcard) == 1, name
        assert wildcard[0]["Principal"] == {"AWS": ROOT}
        assert wildcard[0]["Sid"] == "RootAccountAdministration"
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in as_list(statement["Action"])
            if statement is wildcard[0]:
                continue
            # The only wildcards left are the two action families AWS documents for key users.
            assert {a for a in as_list(statement["Action"]) if "*" in a} <= {"kms:ReEncrypt*", "kms:GenerateDataKey*"}
            assert statement.get("Principal") != "*" and statement.get("Principal", {}).get("AWS") != "*"
        admins = {s["Sid"]: s for s in statements}["KeyAdministrators"]
        assert admins["Principal"] == {"AWS": ADMIN} or admins["Principal"] == {"AWS": [ADMIN]}
        assert not USE & set(as_list(admins["Action"])), "administrators must not use the key"

    eks = statements_by_sid(converged["keys"]["eks"]["key_id"])
    assert not ADMIN_ONLY & set(as_list(eks["KeyUsers"]["Action"])), "users must not administer the key"
    assert set(as_list(eks["KeyUsers"]["Action"])) == {
        "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    assert eks["GrantsForAwsResources"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}

    logs = statements_by_sid(converged["keys"]["logs"]["key_id"])["CloudWatchLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert as_list(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]) == [
        "arn:aws:logs:us-east-1:{0}:log-group:/cairn/test/*".format(ACCOUNT)]

    rds = statements_by_sid(converged["keys"]["rds"]["key_id"])
    assert rds["ViaRds"]["Condition"]["StringEquals"] == {"kms:ViaService": "rds.us-east-1.amazonaws.com",
                                                          "kms:CallerAccount": ACCOUNT}
    assert rds["ViaRds"]["Principal"]["AWS"] in (ROOT, [ROOT])
    assert rds["ViaBackupGrants"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert set(as_list(rds["ViaRdsGrants"]["Action"])) == {"kms:CreateGrant", "kms:ListGrants"}

    audit = statements_by_sid(converged["keys"]["audit"]["key_id"])
    encrypt = audit["CloudTrailEncryptLogs"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert as_list(encrypt["Action"]) == ["kms:GenerateDataKey*"]
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert as_list(encrypt["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        "arn:aws:cloudtrail:us-east-1:{0}:trail/test-audit".format(ACCOUNT)]
    assert as_list(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"]) == [
        "arn:aws:cloudtrail:*:{0}:trail/test-audit".format(ACCOUNT)]
    assert as_list(audit["CloudTrailDescribeKey"]["Action"]) == ["kms:DescribeKey"]
    # A multi-Region primary's administrators may also replicate it.
    assert "kms:ReplicateKey" in as_list(audit["KeyAdministrators"]["Action"])


def test_rerun_changes_nothing_with_reads_only(aws_env, converged):
    for check_mode in (False, True):
        with aws_env.recording() as calls:
            result = run_module("kms_keys", BASE, check_mode=check_mode)
        assert result["changed"] is False and result["changes"] == []
        assert result["keys"] == converged["keys"]
        assert mutating_calls(calls) == []
        # One identity and one alias listing, then four reads per key.
        assert count_by_operation(calls) == {
            "sts:GetCallerIdentity": 1, "kms:ListAliases": 1, "kms:ListResourceTags": 4, "kms:DescribeKey": 4,
            "kms:GetKeyPolicy": 4, "kms:GetKeyRotationStatus": 4}


def test_updates_are_planned_exactly_and_then_settle(aws_env, converged):
    rds_id = converged["keys"]["rds"]["key_id"]
    client = kms()
    # Drift made by hand: a user tag removed, the policy rewritten, rotation switched off.
    client.untag_resource(KeyId=rds_id, TagKeys=["owner"])
    client.put_key_policy(KeyId=rds_id, PolicyName="default", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "RootAccountAdministration", "Effect": "Allow",
                                                 "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}))
    client.disable_key_rotation(KeyId=rds_id)
    changed = with_keys(eks={"description": "EKS secrets of test-us-east-1", "users": [EKS_ROLE, AUDITOR]})

    with aws_env.recording() as calls:
        planned = run_module("kms_keys", changed, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    fields = {}
    for change in planned["changes"]:
        assert change["action"] == "update"
        fields.setdefault(change["resource"], set()).update(change["fields"])
    assert fields == {PREFIX + "rds": {"policy", "rotation_enabled", "rotation_period_days", "tags"},
                      PREFIX + "eks": {"description", "policy"}}
    assert planned["diff"]["before"]["kms_key/" + PREFIX + "eks"]["description"] == "eks data of test-us-east-1 (cairn.platform)"

    with aws_env.recording() as calls:
        applied = run_module("kms_keys", changed)
    assert plan_keys(applied) == plan_keys(planned)
    assert [c["fields"] for c in applied["changes"]] == [c["fields"] for c in planned["changes"]]
    assert count_by_operation(mutating_calls(calls)) == {
        "kms:PutKeyPolicy": 2, "kms:EnableKeyRotation": 1, "kms:TagResource": 1, "kms:UpdateKeyDescription": 1}
    assert applied["keys"] == converged["keys"]  # the same keys, changed in place
    eks_users = statements_by_sid(converged["keys"]["eks"]["key_id"])["KeyUsers"]["Principal"]["AWS"]
    assert sorted(as_list(eks_users)) == sorted([EKS_ROLE, AUDITOR])

    with aws_env.recording() as calls:
        again = run_module("kms_keys", changed)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_policy_with_reordered_input_is_the_same_policy(aws_env, converged):
    shuffled = [dict(key, services=list(reversed(key.get("services", []))),
                     administrators=list(reversed(key.get("administrators", [])))) for key in reversed(KEYS)]
    with aws_env.recording() as calls:
        result = run_module("kms_keys", dict(BASE, keys=shuffled))
    assert result["changed"] is False and mutating_calls(calls) == []


def test_new_alias_moves_the_same_key(aws_env, converged):
    moved = with_keys(logs={"alias": "alias/cairn-logs-test"})
    planned = run_module("kms_keys", moved, check_mode=True)
    assert planned["changes"] == [{"action": "update", "resource_type": "kms_key", "resource": "alias/cairn-logs-test",
                                   "fields": {"aliases": {"before": [PREFIX + "logs"], "after": ["alias/cairn-logs-test"]}}}]
    applied = run_module("kms_keys", moved)
    assert plan_keys(applied) == plan_keys(planned)
    targets = aliases()
    assert targets["alias/cairn-logs-test"] == converged["keys"]["logs"]["key_id"]
    assert PREFIX + "logs" not in targets
    assert applied["keys"]["logs"]["key_id"] == converged["keys"]["logs"]["key_id"]
    assert run_module("kms_keys", moved)["changed"] is False


def test_removed_key_is_scheduled_for_deletion_with_its_window_and_loses_its_alias(aws_env, converged):
    fewer = dict(BASE, keys=[k for k in KEYS if k["name"] != "audit"])
    planned = run_module("kms_keys", fewer, check_mode=True)
    assert plan_keys(planned) == [("delete", "kms_key", PREFIX + "audit")]
    assert "7 days" in planned["changes"][0]["note"]
    with aws_env.recording() as calls:
        applied = run_module("kms_keys", fewer)
    assert plan_keys(applied) == plan_keys(planned)
    assert count_by_operation(mutating_calls(calls)) == {"kms:ScheduleKeyDeletion": 1, "kms:DeleteAlias": 1}
    metadata = kms().describe_key(KeyId=converged["keys"]["audit"]["key_id"])["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert PREFIX + "audit" not in aliases()
    assert "audit" not in applied["keys"]
    assert run_module("kms_keys", fewer)["changed"] is False


def test_purge_keys_false_leaves_unlisted_keys_alone(aws_env, converged):
    fewer = dict(BASE, keys=KEYS[:1], purge_keys=False)
    with aws_env.recording() as calls:
        result = run_module("kms_keys", fewer)
    assert result["changed"] is False and mutating_calls(calls) == []
    assert kms().describe_key(KeyId=converged["keys"]["audit"]["key_id"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_wanted_key_pending_deletion_is_restored_not_replaced(aws_env, converged):
    key_id = converged["keys"]["rds"]["key_id"]
    kms().schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)  # by hand; the alias stays with the key
    planned = run_module("kms_keys", BASE, check_mode=True)
    restore = [c for c in planned["changes"] if c["fields"].get("key_state")]
    assert restore == [{"action": "update", "resource_type": "kms_key", "resource": PREFIX + "rds", "note": "deletion cancelled",
                        "fields": {"key_state": {"before": "PendingDeletion", "after": "Enabled"}}}]
    assert all(c["action"] == "update" and c["resource"] == PREFIX + "rds" for c in planned["changes"])
    with aws_env.recording() as calls:
        applied = run_module("kms_keys", BASE)
    assert plan_keys(applied) == plan_keys(planned)
    operations = count_by_operation(mutating_calls(calls))
    assert operations["kms:CancelKeyDeletion"] == 1 and operations["kms:EnableKey"] == 1
    assert "kms:CreateKey" not in operations
    assert applied["keys"]["rds"]["key_id"] == key_id
    assert kms().describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert run_module("kms_keys", BASE)["changed"] is False


def test_disabled_key_is_enabled_again(aws_env, converged):
    key_id = converged["keys"]["eks"]["key_id"]
    kms().disable_key(KeyId=key_id)
    result = run_module("kms_keys", BASE)
    assert result["changes"] == [{"action": "update", "resource_type": "kms_key", "resource": PREFIX + "eks",
                                  "fields": {"key_state": {"before": "Disabled", "after": "Enabled"}}}]
    assert kms().describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_interrupted_removal_finishes_on_the_next_run(aws_env, converged):
    # Scheduled, but the run died before deleting the alias: the next run only deletes the alias.
    key_id = converged["keys"]["audit"]["key_id"]
    kms().schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    fewer = dict(BASE, keys=[k for k in KEYS if k["name"] != "audit"])
    with aws_env.recording() as calls:
        result = run_module("kms_keys", fewer)
    assert plan_keys(result) == [("delete", "kms_alias", PREFIX + "audit")]
    assert count_by_operation(mutating_calls(calls)) == {"kms:DeleteAlias": 1}


def test_state_absent_schedules_every_key_of_the_stack_and_nothing_else(aws_env, converged):
    client = kms()
    foreign = client.create_key(Description="someone else's", Tags=[{"TagKey": "team", "TagValue": "data"}])["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName=PREFIX + "foreign", TargetKeyId=foreign)
    other_stack = run_module("kms_keys", dict(BASE, stack="test-us-east-2", keys=KEYS[:1]))["keys"]["rds"]["key_id"]
    absent = dict(environment="test", stack="test-us-east-1", state="absent")

    with aws_env.recording() as calls:
        planned = run_module("kms_keys", absent, check_mode=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("delete", "kms_key", PREFIX + name) for name in ("audit", "eks", "logs", "rds")]
    applied = run_module("kms_keys", absent)
    assert plan_keys(applied) == plan_keys(planned) and applied["keys"] == {}
    for name in ("rds", "logs", "eks", "audit"):
        assert client.describe_key(KeyId=converged["keys"][name]["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Never touched: a key under our alias prefix without our tags, and another stack's key.
    assert client.describe_key(KeyId=foreign)["KeyMetadata"]["KeyState"] == "Enabled"
    assert aliases()[PREFIX + "foreign"] == foreign
    assert client.describe_key(KeyId=other_stack)["KeyMetadata"]["KeyState"] == "Enabled"
    with aws_env.recording() as calls:
        again = run_module("kms_keys", absent)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_alias_held_by_a_key_we_do_not_own_is_refused_before_any_write(aws_env):
    client = kms()
    foreign = client.create_key(Description="hand made")["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName=PREFIX + "rds", TargetKeyId=foreign)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("kms_keys", BASE)
    message = failure.value.result["msg"]
    assert "keys[0] (rds).alias" in message and foreign in message and "does not carry the ownership tags" in message
    assert mutating_calls(calls) == []
    assert client.get_key_policy(KeyId=foreign, PolicyName="default")["Policy"]  # untouched, still its own


def test_multi_region_cannot_change_in_place(aws_env, converged):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("kms_keys", with_keys(audit={"multi_region": False}))
    message = failure.value.result["msg"]
    assert "keys[3] (audit).multi_region" in message and "cannot change" in message
    assert mutating_calls(calls) == []


# ---- bad input: a sentence naming the field, and not a single API call -------------------------
def assert_refused(aws_env, args, *words):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("kms_keys", args)
    message = failure.value.result["msg"]
    for word in words:
        assert word in message, message
    assert calls == []
    assert not [a for a in aliases() if a.startswith(PREFIX)]
    return message


def test_unknown_service_is_refused(aws_env):
    assert_refused(aws_env, with_keys(rds={"services": [{"service": "rds"}, {"service": "dynamo"}]}),
                   "service", "dynamo", "logs, cloudtrail")


def test_alias_under_alias_aws_is_refused(aws_env):
    assert_refused(aws_env, with_keys(rds={"alias": "alias/aws/rds"}), "keys[0] (rds).alias", "reserved")


def test_alias_with_bad_characters_is_refused(aws_env):
    assert_refused(aws_env, with_keys(rds={"alias": "alias/cairn rds"}), "keys[0] (rds).alias", "letters, digits")


def test_rotation_out_of_range_is_refused(aws_env):
    assert_refused(aws_env, with_keys(logs={"rotation_period_days": 30}), "keys[1] (logs).rotation_period_days",
                   "90 to 2560", "got 30")


def test_deletion_window_out_of_range_is_refused(aws_env):
    assert_refused(aws_env, with_keys(eks={"deletion_window_days": 0}), "keys[2] (eks).deletion_window_days", "7 to 30")


def test_duplicate_names_are_refused(aws_env):
    assert_refused(aws_env, dict(BASE, keys=KEYS + [{"name": "rds"}]), "keys[4].name", "'rds' is listed twice")


def test_duplicate_aliases_are_refused(aws_env):
    assert_refused(aws_env, dict(BASE, keys=KEYS + [{"name": "rds2", "alias": PREFIX + "rds"}]),
                   "keys[4] (rds2).alias", "also the alias of keys[0]")


def test_user_that_is_not_an_arn_is_refused(aws_env):
    assert_refused(aws_env, with_keys(eks={"users": ["eks-cluster-role"]}), "keys[2] (eks).users",
                   "'eks-cluster-role' is not an IAM principal ARN")


def test_wildcard_principal_is_refused(aws_env):
    assert_refused(aws_env, with_keys(rds={"services": [{"service": "rds", "principals": ["*"]}]}),
                   "keys[0] (rds).services[0].principals", "not an IAM principal ARN")


def test_option_for_another_service_is_refused(aws_env):
    assert_refused(aws_env, with_keys(rds={"services": [{"service": "rds", "log_groups": ["/x"]}]}),
                   "keys[0] (rds).services[0].log_groups", "applies to service logs only")


def test_present_without_keys_is_refused(aws_env):
    assert_refused(aws_env, dict(BASE, keys=[]), "keys", "state=absent")

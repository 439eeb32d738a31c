"""kms_keys paths the emulator models wrongly, driven by botocore Stubber.

moto accepts key policies naming principals that do not exist (AWS answers
MalformedPolicyDocumentException) and neither stores nor returns RotationPeriodInDays. Stubber checks
every request against the real KMS/IAM/STS API models and every canned response against their
output shapes, with no network traffic.
"""

from __future__ import annotations

import datetime

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.policy import to_json
from ansible_collections.cairn.platform.plugins.module_utils.tags import dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.modules.kms_keys import (
    ARGUMENT_SPEC,
    COMPONENT,
    KmsKeysConverger,
    build_spec,
    key_policy,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = "arn:aws:kms:us-east-1:{0}:key/{1}".format(ACCOUNT, KEY_ID)
ALIAS = "alias/cairn/prod/prod-us-east-1/eks"
EKS_ROLE = "arn:aws:iam::{0}:role/cairn/prod-eks-cluster".format(ACCOUNT)
ADMIN = "arn:aws:iam::{0}:role/cairn/platform-admin".format(ACCOUNT)
PARTNER = "arn:aws:iam::210987654321:role/reader"
MALFORMED = "Policy contains a statement with one or more invalid principals."


def make_converger(**key):
    """A real CairnModule parsing the module's own argument spec, and its converger."""
    entry = {"name": "eks", "administrators": [ADMIN], "users": [EKS_ROLE]}
    entry.update(key)
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", keys=[entry],
                       access_key="testing", secret_key="testing", _ansible_check_mode=False, _ansible_diff=False)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = KmsKeysConverger(cm, build_spec(cm.params))
    assert converger.kms is cm.client("kms")  # stubbing the cached client stubs the converger
    return cm, converger


def spec_key(converger):
    return converger.spec["keys"][0]


def desired_policy(converger):
    return key_policy(spec_key(converger), ACCOUNT, "aws", "us-east-1")


def metadata(**overrides):
    data = {"AWSAccountId": ACCOUNT, "KeyId": KEY_ID, "Arn": KEY_ARN, "Enabled": True, "KeyState": "Enabled",
            "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT",
            "Description": "eks data of prod-us-east-1 (cairn.platform)", "MultiRegion": False,
            "CreationDate": datetime.datetime(2026, 1, 1)}
    data.update(overrides)
    return data


def queue_identity(cm):
    stub = Stubber(cm.client("sts"))
    stub.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": "arn:aws:sts::{0}:assumed-role/ci/run".format(ACCOUNT),
                                              "UserId": "AROAEXAMPLE:run"}, {})
    return stub


def queue_existing_key(stub, converger, rotation):
    """The reads of a run that finds the stack's key for eks at its alias, with its policy as desired."""
    tags = dict_to_boto3_tag_list(converger.desired_tags(spec_key(converger)), "TagKey", "TagValue")
    stub.add_response("list_aliases", {"Aliases": [
        {"AliasName": ALIAS, "AliasArn": "arn:aws:kms:us-east-1:{0}:{1}".format(ACCOUNT, ALIAS), "TargetKeyId": KEY_ID},
        {"AliasName": "alias/aws/rds", "TargetKeyId": "0000abcd-12ab-34cd-56ef-1234567890ab"}]}, {})
    stub.add_response("list_resource_tags", {"Tags": tags, "Truncated": False}, {"KeyId": KEY_ID})
    stub.add_response("describe_key", {"KeyMetadata": metadata()}, {"KeyId": KEY_ID})
    stub.add_response("get_key_policy", {"Policy": to_json(desired_policy(converger)), "PolicyName": "default"},
                      {"KeyId": KEY_ID, "PolicyName": "default"})
    stub.add_response("get_key_rotation_status", rotation, {"KeyId": KEY_ID})


# ---- rotation period: AWS reports it, moto does not ------------------------------------------------
def test_rotation_period_that_differs_is_set_with_enable_key_rotation():
    cm, converger = make_converger(rotation_period_days=180)
    with queue_identity(cm), Stubber(converger.kms) as stub:
        queue_existing_key(stub, converger, {"KeyRotationEnabled": True, "KeyId": KEY_ARN, "RotationPeriodInDays": 365})
        stub.add_response("enable_key_rotation", {}, {"KeyId": KEY_ID, "RotationPeriodInDays": 180})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes == [{"action": "update", "resource_type": "kms_key", "resource": ALIAS,
                                "fields": {"rotation_period_days": {"before": 365, "after": 180}}}]
    assert result["keys"]["eks"] == {"key_id": KEY_ID, "arn": KEY_ARN, "alias": ALIAS, "rotation_period_days": 180,
                                     "multi_region": False}


def test_rotation_period_that_matches_makes_no_write():
    cm, converger = make_converger(rotation_period_days=180)
    with queue_identity(cm), Stubber(converger.kms) as stub:
        queue_existing_key(stub, converger, {"KeyRotationEnabled": True, "KeyId": KEY_ARN, "RotationPeriodInDays": 180})
        converger.present()  # any further call would find no queued response and fail
        stub.assert_no_pending_responses()
    assert cm.plan.changes == []


def test_rotation_switched_off_is_switched_on_with_its_period():
    cm, converger = make_converger()
    with queue_identity(cm), Stubber(converger.kms) as stub:
        queue_existing_key(stub, converger, {"KeyRotationEnabled": False, "KeyId": KEY_ARN})
        stub.add_response("enable_key_rotation", {}, {"KeyId": KEY_ID, "RotationPeriodInDays": 365})
        converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes[0]["fields"] == {"rotation_enabled": {"before": False, "after": True},
                                            "rotation_period_days": {"before": None, "after": 365}}


def test_rotation_status_without_a_period_reads_as_the_default_365():
    cm, converger = make_converger()
    with queue_identity(cm), Stubber(converger.kms) as stub:
        queue_existing_key(stub, converger, {"KeyRotationEnabled": True})
        converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes == []


# ---- principals KMS refuses: a sentence naming the key and the principal ---------------------------
def test_create_refused_for_a_missing_role_names_the_key_and_the_role():
    cm, converger = make_converger(users=[EKS_ROLE, PARTNER])
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms, Stubber(cm.client("iam")) as iam:
        kms.add_client_error("create_key", service_error_code="MalformedPolicyDocumentException", service_message=MALFORMED,
                             expected_params={"Policy": ANY, "Description": ANY, "KeyUsage": "ENCRYPT_DECRYPT",
                                              "KeySpec": "SYMMETRIC_DEFAULT", "Tags": ANY, "MultiRegion": False})
        # The admin exists; the cluster role does not; the partner account's role is not ours to ask about.
        iam.add_response("get_role", {"Role": {"Path": "/cairn/", "RoleName": "platform-admin", "RoleId": "AROAEXAMPLEADMIN01",
                                               "Arn": ADMIN, "CreateDate": datetime.datetime(2026, 1, 1),
                                               "AssumeRolePolicyDocument": "{}"}}, {"RoleName": "platform-admin"})
        iam.add_client_error("get_role", service_error_code="NoSuchEntity", service_message="Role not found",
                             expected_params={"RoleName": "prod-eks-cluster"})
        with pytest.raises(CairnError) as err:
            converger.create_key(key, desired_policy(converger), converger.desired_tags(key))
        kms.assert_no_pending_responses()
        iam.assert_no_pending_responses()
    message = err.value.message
    assert message.startswith("keys[0] (eks): KMS refused the key policy of " + ALIAS + " (new key)")
    assert "IAM has no such principal: {0} (in users)".format(EKS_ROLE) in message
    assert ADMIN not in message and PARTNER not in message
    assert "create the roles first" in message and MALFORMED in message
    assert err.value.details["error_code"] == "MalformedPolicyDocumentException"


def test_policy_update_refused_names_the_key_id_and_lists_principals_it_cannot_check():
    cm, converger = make_converger(users=[PARTNER], administrators=[])
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms, Stubber(cm.client("iam")):
        kms.add_client_error("put_key_policy", service_error_code="MalformedPolicyDocumentException", service_message=MALFORMED,
                             expected_params={"KeyId": KEY_ID, "PolicyName": "default", "Policy": to_json(desired_policy(converger))})
        with pytest.raises(CairnError) as err:
            converger.write_policy(key, KEY_ID, desired_policy(converger))
        kms.assert_no_pending_responses()
    message = err.value.message
    assert "keys[0] (eks): KMS refused the key policy of {0} ({1})".format(ALIAS, KEY_ID) in message
    assert "may not exist or be visible to this account: {0} (in users)".format(PARTNER) in message


def test_iam_that_cannot_be_asked_does_not_hide_the_refusal():
    cm, converger = make_converger(administrators=[])
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms, Stubber(cm.client("iam")) as iam:
        kms.add_client_error("put_key_policy", service_error_code="MalformedPolicyDocumentException", service_message=MALFORMED)
        iam.add_client_error("get_role", service_error_code="AccessDenied", service_message="not allowed")
        with pytest.raises(CairnError) as err:
            converger.write_policy(key, KEY_ID, desired_policy(converger))
    assert "{0} (in users)".format(EKS_ROLE) in err.value.message


def test_other_refusals_pass_through_as_sentences():
    cm, converger = make_converger()
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms:
        kms.add_client_error("create_key", service_error_code="LimitExceededException", service_message="Too many keys")
        with pytest.raises(CairnError) as err:
            converger.create_key(key, desired_policy(converger), converger.desired_tags(key))
    assert "AWS refused CreateKey while creating KMS key " + ALIAS in err.value.message


# ---- the create sequence as the real API models see it ------------------------------------------------
def test_create_sends_a_tagged_symmetric_key_then_alias_then_rotation():
    cm, converger = make_converger(rotation_period_days=730, multi_region=True)
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    tags = converger.desired_tags(key)
    policy = desired_policy(converger)
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
    with Stubber(converger.kms) as kms:
        kms.add_response("create_key", {"KeyMetadata": metadata(KeyId=mrk, Arn=KEY_ARN.replace(KEY_ID, mrk), MultiRegion=True)},
                         {"Policy": to_json(policy), "Description": "eks data of prod-us-east-1 (cairn.platform)",
                          "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT", "MultiRegion": True,
                          "Tags": dict_to_boto3_tag_list(tags, "TagKey", "TagValue")})
        kms.add_response("create_alias", {}, {"AliasName": ALIAS, "TargetKeyId": mrk})
        kms.add_response("enable_key_rotation", {}, {"KeyId": mrk, "RotationPeriodInDays": 730})
        result = converger.create_key(key, policy, tags)
        kms.assert_no_pending_responses()
    assert result["key_id"] == mrk and result["multi_region"] is True
    assert tags["cairn:data-class"] == "eks" and tags["cairn:deletion-window-days"] == "30"
    assert tags["cairn:component"] == "kms"


# ---- KMS eventual consistency right after CreateKey (AWS only; the emulator is consistent) ------------
def create_key_response(stub, converger):
    stub.add_response("create_key", {"KeyMetadata": metadata()}, {
        "Policy": ANY, "Description": ANY, "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT", "Tags": ANY,
        "MultiRegion": False})


def not_yet(stub, operation):
    stub.add_client_error(operation, service_error_code="NotFoundException",
                          service_message="Key '{0}' does not exist".format(KEY_ARN))


def test_new_key_not_yet_visible_is_aliased_once_it_is(monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    cm, converger = make_converger()
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms:
        create_key_response(kms, converger)
        not_yet(kms, "create_alias")
        not_yet(kms, "create_alias")
        kms.add_response("create_alias", {}, {"AliasName": ALIAS, "TargetKeyId": KEY_ID})
        not_yet(kms, "enable_key_rotation")
        kms.add_response("enable_key_rotation", {}, {"KeyId": KEY_ID, "RotationPeriodInDays": 365})
        result = converger.create_key(key, desired_policy(converger), converger.desired_tags(key))
        kms.assert_no_pending_responses()
    assert result["key_id"] == KEY_ID
    assert len(sleeps) == 3 and all(0 < s <= 1 for s in sleeps)


def test_new_key_that_never_becomes_visible_names_the_stranded_key(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _s: None)
    cm, converger = make_converger()
    converger.account, converger.partition = ACCOUNT, "aws"
    converger.clock.timeout = 0  # the deadline has passed at the first answer
    key = spec_key(converger)
    with Stubber(converger.kms) as kms:
        create_key_response(kms, converger)
        not_yet(kms, "create_alias")
        with pytest.raises(CairnError) as err:
            converger.create_key(key, desired_policy(converger), converger.desired_tags(key))
    message = err.value.message
    assert "new key {0}".format(KEY_ID) in message
    assert "without its alias {0}".format(ALIAS) in message and "schedule its deletion by hand" in message


def test_other_alias_errors_are_not_retried():
    cm, converger = make_converger()
    converger.account, converger.partition = ACCOUNT, "aws"
    key = spec_key(converger)
    with Stubber(converger.kms) as kms:
        create_key_response(kms, converger)
        kms.add_client_error("create_alias", service_error_code="AccessDeniedException", service_message="no")
        with pytest.raises(CairnError) as err:
            converger.create_key(key, desired_policy(converger), converger.desired_tags(key))
    assert err.value.message.startswith("AWS refused CreateAlias while aliasing the new KMS key " + KEY_ID)
    assert "schedule its deletion by hand" in err.value.message

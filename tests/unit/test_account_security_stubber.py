"""account_security against botocore Stubber: the emulator (moto) has no IAM Access Analyzer API.

The whole module runs (argument spec, plan, check mode, result) with its AWS clients replaced by
stubbed ones: Stubber checks every request against the real API model and the expected parameters,
and fails on any call that was not queued, so "no write" is proven by queueing none.
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from ansible.module_utils.basic import AnsibleModule
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.aws import AwsConnection
from support.modules import ModuleFailed, run_module

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
STACK = "prod-us-east-1"
NAME = "cairn-" + STACK
ARN = "arn:aws:access-analyzer:us-east-1:{0}:analyzer/{1}".format(ACCOUNT, NAME)
OWNERSHIP = {"cairn:environment": "prod", "cairn:stack": STACK, "cairn:component": "security",
             "cairn:managed-by": "cairn.platform"}
SOC2_POLICY = {"MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True,
               "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
               "AllowUsersToChangePassword": True, "MaxPasswordAge": 90, "PasswordReusePrevention": 24,
               "HardExpiry": False}
CREATED = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def stubs(monkeypatch):
    """{service: Stubber}; the module's clients are these stubbed ones."""
    clients = {service: boto3.client(service, region_name="us-east-1", aws_access_key_id="testing",
                                     aws_secret_access_key="testing")
               for service in ("iam", "accessanalyzer")}
    stubbers = {service: Stubber(client) for service, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    monkeypatch.setattr(AwsConnection, "client", lambda self, service, region=None: clients[service])
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def args(**extra):
    base = dict(environment="prod", stack=STACK, region="us-east-1", tags={"owner": "platform"})
    base.update(extra)
    return base


def analyzer(name=NAME, tags=None, analyzer_type="ACCOUNT", status="ACTIVE"):
    return {"arn": "arn:aws:access-analyzer:us-east-1:{0}:analyzer/{1}".format(ACCOUNT, name), "name": name,
            "type": analyzer_type, "createdAt": CREATED, "status": status,
            "tags": dict(OWNERSHIP, owner="platform") if tags is None else tags}


def expect_password_policy(stubs, current=None):
    if current is None:
        stubs["iam"].add_client_error("get_account_password_policy", service_error_code="NoSuchEntity",
                                      service_message="The Password Policy with domain name 123456789012 cannot be found.",
                                      http_status_code=404)
    else:
        stubs["iam"].add_response("get_account_password_policy", {"PasswordPolicy": current})


def expect_analyzers(stubs, *analyzers):
    stubs["accessanalyzer"].add_response("list_analyzers", {"analyzers": list(analyzers)}, {})


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


# ---- create when missing --------------------------------------------------------------------------
def test_first_run_creates_the_password_policy_and_a_tagged_analyzer(stubs):
    expect_password_policy(stubs)
    expect_analyzers(stubs)
    stubs["iam"].add_response("update_account_password_policy", {}, SOC2_POLICY)
    stubs["accessanalyzer"].add_response(
        "create_analyzer", {"arn": ARN},
        {"analyzerName": NAME, "type": "ACCOUNT", "tags": dict(OWNERSHIP, owner="platform"), "clientToken": ANY})
    result = run_module("account_security", args())
    assert plan_keys(result) == [("create", "access_analyzer", NAME), ("create", "password_policy", "account")]
    assert result["access_analyzer"] == {"name": NAME, "arn": ARN, "type": "ACCOUNT", "status": "CREATING", "managed": True}
    assert result["password_policy"]["minimum_length"] == 14 and result["password_policy"]["reuse_prevention"] == 24


def test_check_mode_writes_nothing_and_plans_what_the_real_run_does(stubs):
    expect_password_policy(stubs)
    expect_analyzers(stubs)
    planned = run_module("account_security", args(), check_mode=True, diff=True)  # no write queued: any write fails
    assert plan_keys(planned) == [("create", "access_analyzer", NAME), ("create", "password_policy", "account")]
    assert planned["access_analyzer"]["arn"] == "(known after apply)"
    assert planned["diff"]["after"]["access_analyzer/" + NAME]["tags"]["cairn:stack"] == STACK


def test_zero_max_age_and_reuse_leave_the_fields_out_as_the_api_wants(stubs):
    expect_password_policy(stubs)
    request = {key: value for key, value in SOC2_POLICY.items() if key not in ("MaxPasswordAge", "PasswordReusePrevention")}
    stubs["iam"].add_response("update_account_password_policy", {}, request)
    result = run_module("account_security", args(password_policy={"max_age_days": 0, "reuse_prevention": 0},
                                                 access_analyzer={"enabled": False}))
    assert result["access_analyzer"] is None


# ---- idempotent when present ----------------------------------------------------------------------
def test_rerun_reads_twice_and_writes_nothing(stubs):
    expect_password_policy(stubs, dict(SOC2_POLICY, ExpirePasswords=True))
    expect_analyzers(stubs, analyzer())
    result = run_module("account_security", args())
    assert result["changed"] is False and result["changes"] == []
    assert result["access_analyzer"] == {"name": NAME, "arn": ARN, "type": "ACCOUNT", "status": "ACTIVE", "managed": True}


def test_a_weaker_password_policy_is_updated_field_by_field(stubs):
    weak = {"MinimumPasswordLength": 8, "RequireSymbols": False, "RequireNumbers": True,
            "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
            "AllowUsersToChangePassword": True, "ExpirePasswords": False}
    expect_password_policy(stubs, weak)
    stubs["iam"].add_response("update_account_password_policy", {}, SOC2_POLICY)
    result = run_module("account_security", args(access_analyzer={"enabled": False}))
    (change,) = result["changes"]
    assert change["action"] == "update"
    assert change["fields"] == {
        "minimum_length": {"before": 8, "after": 14}, "require_symbols": {"before": False, "after": True},
        "max_age_days": {"before": 0, "after": 90}, "reuse_prevention": {"before": 0, "after": 24}}


# ---- tags -------------------------------------------------------------------------------------------
def test_tags_are_set_and_purged_on_our_analyzer(stubs):
    expect_password_policy(stubs, SOC2_POLICY)
    expect_analyzers(stubs, analyzer(tags=dict(OWNERSHIP, owner="someone", stale="yes")))
    stubs["accessanalyzer"].add_response("tag_resource", {}, {"resourceArn": ARN, "tags": {"owner": "platform"}})
    stubs["accessanalyzer"].add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["stale"]})
    result = run_module("account_security", args())
    (change,) = result["changes"]
    assert (change["action"], change["resource"]) == ("update", NAME)
    assert change["fields"]["tags"]["after"] == dict(OWNERSHIP, owner="platform")


def test_without_user_tags_only_ownership_tags_are_enforced(stubs):
    expect_password_policy(stubs, SOC2_POLICY)
    expect_analyzers(stubs, analyzer(tags=dict(OWNERSHIP, owner="someone")))
    result = run_module("account_security", dict(environment="prod", stack=STACK, region="us-east-1"))
    assert result["changes"] == []


# ---- ownership, type, replacement ----------------------------------------------------------------------
def test_an_analyzer_of_our_name_without_our_tags_is_refused_before_any_write(stubs):
    expect_password_policy(stubs)  # missing: a real run would write it, but the refusal comes first
    expect_analyzers(stubs, analyzer(tags={}))
    with pytest.raises(ModuleFailed) as failure:
        run_module("account_security", args())
    assert "access_analyzer.name" in failure.value.result["msg"] and "ownership tags" in failure.value.result["msg"]
    assert failure.value.result["changes"] == []


def test_an_account_analyzer_of_someone_else_is_reported_not_duplicated(stubs, monkeypatch):
    warnings = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, message: warnings.append(message))
    expect_password_policy(stubs, SOC2_POLICY)
    expect_analyzers(stubs, analyzer(name="aws-controltower-analyzer", tags={"aws:cloudformation:stack-name": "ct"}))
    result = run_module("account_security", args())
    assert result["changes"] == []
    assert result["access_analyzer"]["name"] == "aws-controltower-analyzer"
    assert result["access_analyzer"]["managed"] is False
    assert any("aws-controltower-analyzer" in warning for warning in warnings)


def test_a_type_change_is_refused(stubs):
    expect_password_policy(stubs, SOC2_POLICY)
    expect_analyzers(stubs, analyzer())
    with pytest.raises(ModuleFailed) as failure:
        run_module("account_security", args(access_analyzer={"type": "ORGANIZATION"}))
    assert "access_analyzer.type" in failure.value.result["msg"] and "cannot change" in failure.value.result["msg"]


def test_a_renamed_analyzer_is_replaced(stubs):
    expect_password_policy(stubs, SOC2_POLICY)
    expect_analyzers(stubs, analyzer())
    stubs["accessanalyzer"].add_response("delete_analyzer", {}, {"analyzerName": NAME, "clientToken": ANY})
    new_arn = ARN.replace(NAME, "prod-external-access")
    stubs["accessanalyzer"].add_response("create_analyzer", {"arn": new_arn}, {
        "analyzerName": "prod-external-access", "type": "ACCOUNT", "tags": dict(OWNERSHIP, owner="platform"),
        "clientToken": ANY})
    result = run_module("account_security", args(access_analyzer={"name": "prod-external-access"}))
    assert plan_keys(result) == [("create", "access_analyzer", "prod-external-access"), ("delete", "access_analyzer", NAME)]


# ---- absent, errors, input --------------------------------------------------------------------------
def test_absent_deletes_our_analyzer_and_leaves_the_password_policy(stubs):
    expect_analyzers(stubs, analyzer(), analyzer(name="aws-controltower-analyzer", tags={}))
    stubs["accessanalyzer"].add_response("delete_analyzer", {}, {"analyzerName": NAME, "clientToken": ANY})
    result = run_module("account_security", args(state="absent"))
    assert plan_keys(result) == [("delete", "access_analyzer", NAME)]


def test_access_denied_becomes_a_sentence(stubs):
    expect_password_policy(stubs, SOC2_POLICY)
    stubs["accessanalyzer"].add_client_error("list_analyzers", service_error_code="AccessDeniedException",
                                             service_message="User is not authorized", http_status_code=403)
    with pytest.raises(ModuleFailed) as failure:
        run_module("account_security", args())
    assert "ListAnalyzers" in failure.value.result["msg"] and "lack this permission" in failure.value.result["msg"]


@pytest.mark.parametrize("extra, words", [
    ({"password_policy": {"minimum_length": 5}}, ["password_policy.minimum_length", "6 to 128"]),
    ({"password_policy": {"max_age_days": 2000}}, ["password_policy.max_age_days", "1095"]),
    ({"password_policy": {"reuse_prevention": 25}}, ["password_policy.reuse_prevention", "24"]),
    ({"password_policy": {"max_age_days": 0, "hard_expiry": True}}, ["password_policy.hard_expiry"]),
    ({"access_analyzer": {"name": "9lives"}}, ["access_analyzer.name", "'9lives'"]),
])
def test_bad_input_fails_before_any_api_call(stubs, extra, words):
    with pytest.raises(ModuleFailed) as failure:  # nothing queued: any call would fail differently
        run_module("account_security", args(**extra))
    for word in words:
        assert word in failure.value.result["msg"], failure.value.result["msg"]

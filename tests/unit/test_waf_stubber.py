"""waf paths the emulator models loosely or not at all, driven by botocore Stubber.

AWS fills defaults into the rules it returns, refuses an update with a stale LockToken, refuses to
delete a web ACL that still protects a resource, and answers WAFNonexistentItemException for a
resource that is gone; moto does none of these. Stubber checks every request against the real
WAFv2 and CloudWatch Logs API models.
"""

from __future__ import annotations


import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.waf import (
    ARGUMENT_SPEC,
    COMPONENT,
    WafConverger,
    association_tag,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
NAME = "prod-us-east-1"
ACL_ID = "a1b2c3d4-5678-90ab-cdef-111111111111"
ACL_ARN = "arn:aws:wafv2:us-east-1:{0}:regional/webacl/{1}/{2}".format(ACCOUNT, NAME, ACL_ID)
LOCK = "11111111-2222-3333-4444-555555555555"
ALB = "arn:aws:elasticloadbalancing:us-east-1:{0}:loadbalancer/app/web/50dc6c495c0c9188".format(ACCOUNT)
LOG_GROUP = "aws-waf-logs-" + NAME
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:{0}:log-group:{1}".format(ACCOUNT, LOG_GROUP)


def make_converger(**args):
    module_args = dict(environment="prod", stack=NAME, region="us-east-1", name=NAME, access_key="testing", secret_key="testing",
                       _ansible_check_mode=False, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = WafConverger(cm, build_spec(cm.params, cm.connection.region))
    assert converger.waf is cm.connection.client("wafv2")
    return cm, converger


def owned_tags(extra=None):
    tags = {"Name": NAME, "cairn:component": COMPONENT, "cairn:environment": "prod", "cairn:managed-by": "cairn.platform",
            "cairn:stack": NAME}
    tags.update(extra or {})
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def visibility(metric):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def aws_web_acl(rate_limit=2000):
    """The web ACL as AWS describes it: defaults filled in, empty lists, its own key order."""
    return {
        "Name": NAME, "Id": ACL_ID, "ARN": ACL_ARN, "Description": "Web ACL of prod-us-east-1, managed by cairn.platform",
        "DefaultAction": {"Allow": {}}, "Capacity": 702, "LabelNamespace": "awswaf:{0}:webacl:{1}:".format(ACCOUNT, NAME),
        "ManagedByFirewallManager": False, "RetrofittedByFirewallManager": False,
        "VisibilityConfig": visibility(NAME),
        "TokenDomains": ["example.com"],
        "Rules": [
            {"Name": "AWS-AWSManagedRulesCommonRuleSet", "Priority": 10, "OverrideAction": {"None": {}},
             "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet", "ExcludedRules": []}},
             "VisibilityConfig": visibility(NAME + "-AWS-AWSManagedRulesCommonRuleSet")},
            {"Name": "rate-limit", "Priority": 4, "Action": {"Block": {}},
             "Statement": {"RateBasedStatement": {"Limit": rate_limit, "AggregateKeyType": "IP", "EvaluationWindowSec": 300}},
             "VisibilityConfig": visibility(NAME + "-rate-limit")},
        ],
    }


def stub_reads(waf, logs, acl, acl_tags=None, logging=True):
    waf.add_response("list_web_acls", {"WebACLs": [{"Name": NAME, "Id": ACL_ID, "ARN": ACL_ARN, "LockToken": LOCK}]},
                     {"Scope": "REGIONAL", "Limit": 100})
    waf.add_response("get_web_acl", {"WebACL": acl, "LockToken": LOCK}, {"Name": NAME, "Scope": "REGIONAL", "Id": ACL_ID})
    waf.add_response("list_tags_for_resource", {"TagInfoForResource": {"ResourceARN": ACL_ARN, "TagList": acl_tags or owned_tags()}},
                     {"ResourceARN": ACL_ARN})
    waf.add_response("list_ip_sets", {"IPSets": []}, {"Scope": "REGIONAL", "Limit": 100})
    if logging:
        waf.add_response("get_logging_configuration", {"LoggingConfiguration": {
            "ResourceArn": ACL_ARN, "LogDestinationConfigs": [LOG_GROUP_ARN], "LogType": "WAF_LOGS", "LogScope": "CUSTOMER",
            "RedactedFields": [{"SingleHeader": {"Name": "Cookie"}}, {"SingleHeader": {"Name": "authorization"}}],
            "ManagedByFirewallManager": False}}, {"ResourceArn": ACL_ARN})
        logs.add_response("describe_log_groups", {"logGroups": [{"logGroupName": LOG_GROUP, "arn": LOG_GROUP_ARN + ":*",
                                                                 "retentionInDays": 365}]}, {"logGroupNamePrefix": LOG_GROUP})
        logs.add_response("list_tags_for_resource", {"tags": {t["Key"]: t["Value"] for t in owned_tags()}}, {"resourceArn": LOG_GROUP_ARN})


GROUPS = [{"name": "AWSManagedRulesCommonRuleSet"}]
ARGS = dict(rate_limit=2000, managed_rule_groups=GROUPS)


def test_a_web_acl_as_aws_returns_it_needs_no_update():
    cm, converger = make_converger(**ARGS)
    logs = cm.client("logs")
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl())
        converger.present()
        waf.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_an_update_carries_the_lock_token_and_the_settings_it_does_not_manage():
    cm, converger = make_converger(rate_limit=500, managed_rule_groups=GROUPS)
    logs = cm.client("logs")
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl())
        waf.add_response("update_web_acl", {"NextLockToken": "22222222-2222-3333-4444-555555555555"}, {
            "Name": NAME, "Scope": "REGIONAL", "Id": ACL_ID, "DefaultAction": {"Allow": {}}, "Description": ANY, "Rules": ANY,
            "VisibilityConfig": visibility(NAME), "LockToken": LOCK, "TokenDomains": ["example.com"]})
        converger.present()
        waf.assert_no_pending_responses()
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [("update", "web_acl")]
    rules = cm.plan.changes[0]["fields"]["rules"]
    assert [r["Statement"].get("RateBasedStatement", {}).get("Limit") for r in rules["after"]] == [500, None]


def test_a_stale_lock_token_is_a_sentence():
    cm, converger = make_converger(rate_limit=500, managed_rule_groups=GROUPS)
    logs = cm.client("logs")
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl())
        waf.add_client_error("update_web_acl", service_error_code="WAFOptimisticLockException",
                             service_message="AWS WAF couldn't save your changes because someone changed the resource after you started to edit it.")
        with pytest.raises(CairnError) as err:
            converger.present()
    assert "changed while the module was converging it" in err.value.message and "Rerun" in err.value.message
    assert err.value.details["error_code"] == "WAFOptimisticLockException"


def test_deleting_a_web_acl_that_still_protects_resources_is_a_sentence():
    cm, converger = make_converger(state="absent")
    logs = cm.client("logs")
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl(), logging=False)
        waf.add_client_error("get_logging_configuration", service_error_code="WAFNonexistentItemException",
                             service_message="AWS WAF couldn't perform the operation because your resource doesn't exist.")
        waf.add_client_error("delete_web_acl", service_error_code="WAFAssociatedItemException",
                             service_message="AWS WAF couldn't perform the operation because your resource is being used by another resource.",
                             expected_params={"Name": NAME, "Scope": "REGIONAL", "Id": ACL_ID, "LockToken": LOCK})
        with pytest.raises(CairnError) as err:
            converger.absent()
        waf.assert_no_pending_responses()
    assert "list-resources-for-web-acl --web-acl-arn " + ACL_ARN in err.value.message
    assert err.value.details["error_code"] == "WAFAssociatedItemException"


def test_a_remembered_resource_that_is_gone_is_forgotten():
    cm, converger = make_converger(**dict(ARGS, associated_resource_arns=[]))
    logs = cm.client("logs")
    key = association_tag(ALB)
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl(), acl_tags=owned_tags({key: ALB}))
        waf.add_client_error("get_web_acl_for_resource", service_error_code="WAFNonexistentItemException",
                             service_message="AWS WAF couldn't perform the operation because your resource doesn't exist.",
                             expected_params={"ResourceArn": ALB})
        waf.add_response("untag_resource", {}, {"ResourceARN": ACL_ARN, "TagKeys": [key]})
        result = converger.present()
        waf.assert_no_pending_responses()
    assert cm.plan.changes == [{"action": "delete", "resource_type": "web_acl_association", "resource": ALB, "fields": {},
                                "note": "no longer associated with this web ACL; forgotten"}]
    assert result["associated_resource_arns"] == []


def test_a_resource_protected_by_another_web_acl_is_taken_over_when_listed():
    cm, converger = make_converger(**dict(ARGS, associated_resource_arns=[ALB]))
    logs = cm.client("logs")
    other = ACL_ARN.replace(NAME, "legacy").replace(ACL_ID, "99999999-5678-90ab-cdef-111111111111")
    with Stubber(converger.waf) as waf, Stubber(logs) as logs_stub:
        stub_reads(waf, logs_stub, aws_web_acl())
        waf.add_response("get_web_acl_for_resource", {"WebACL": dict(aws_web_acl(), Name="legacy", ARN=other)}, {"ResourceArn": ALB})
        waf.add_response("associate_web_acl", {}, {"WebACLArn": ACL_ARN, "ResourceArn": ALB})
        waf.add_response("tag_resource", {}, {"ResourceARN": ACL_ARN, "Tags": [{"Key": association_tag(ALB), "Value": ALB}]})
        converger.present()
        waf.assert_no_pending_responses()
    assert cm.plan.changes[0]["fields"]["replaces"] == {"before": None, "after": other}

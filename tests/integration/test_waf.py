"""The waf module against the local emulator: the stack's regional web ACL with managed rule groups,
rate rule, IP sets, logging and an ALB association; the CLOUDFRONT ACL; reruns, check mode, updates,
deletion, ownership and bad input.

Calls are counted by the emulator's recorder, from outside the module.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

pytestmark = pytest.mark.usefixtures("shared_model_loader")

STACK = "test-us-east-1"
REQUIRED_GROUPS = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                   "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"]


def wafv2():
    return boto3.client("wafv2", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def create_alb():
    _vpc_id, subnets = vpc_with_subnets()
    return boto3.client("elbv2", region_name="us-east-1").create_load_balancer(
        Name="test-alb", Subnets=subnets, Type="application", Scheme="internet-facing")["LoadBalancers"][0]["LoadBalancerArn"]


def regional_args(alb_arn, **extra):
    args = dict(
        environment="test", stack=STACK, name=STACK,
        managed_rule_groups=[{"name": REQUIRED_GROUPS[0], "excluded_rules": ["SizeRestrictions_BODY"]}]
        + [{"name": name} for name in REQUIRED_GROUPS[1:]],
        rate_limit=2000,
        allow_ip_addresses=["198.51.100.7", "2001:db8:1::/48"],
        block_ip_addresses=["203.0.113.0/24"],
        logging={"retention_days": 90},
        associated_resource_arns=[alb_arn],
        tags={"owner": "security"},
    )
    args.update(extra)
    return args


def read_acl(name, scope="REGIONAL"):
    client = wafv2()
    summary = [acl for acl in client.list_web_acls(Scope=scope)["WebACLs"] if acl["Name"] == name][0]
    return client.get_web_acl(Name=name, Scope=scope, Id=summary["Id"])["WebACL"]


def test_regional_web_acl_check_create_verify_rerun(aws_env):
    alb_arn = create_alb()
    args = regional_args(alb_arn)
    with aws_env.recording() as calls:
        planned = run_module("waf", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["web_acl"]["arn"] == "(known after apply)"
    assert wafv2().list_web_acls(Scope="REGIONAL")["WebACLs"] == []

    result = run_module("waf", args)
    assert plan_keys(planned) == plan_keys(result) == sorted([
        ("create", "ip_set", STACK + "-allow-v4"), ("create", "ip_set", STACK + "-allow-v6"),
        ("create", "ip_set", STACK + "-block-v4"), ("create", "web_acl", STACK),
        ("create", "log_group", "aws-waf-logs-" + STACK), ("create", "logging_configuration", STACK),
        ("create", "web_acl_association", alb_arn)])
    # IP sets appear by name in the plan, so the check run reads exactly like the real one.
    assert planned["changes"] == result["changes"]

    client = wafv2()
    acl = read_acl(STACK)
    assert acl["ARN"] == result["web_acl"]["arn"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert [rule["Name"] for rule in sorted(acl["Rules"], key=lambda r: r["Priority"])] == [
        "allow-ipv4", "allow-ipv6", "block-ipv4", "rate-limit"] + ["AWS-" + name for name in REQUIRED_GROUPS]
    assert rules["rate-limit"]["Statement"]["RateBasedStatement"] == {"Limit": 2000, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}
    assert rules["rate-limit"]["Action"] == {"Block": {}}
    common = rules["AWS-AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert rules["allow-ipv4"]["Action"] == {"Allow": {}} and rules["block-ipv4"]["Action"] == {"Block": {}}
    assert all(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] and rule["VisibilityConfig"]["SampledRequestsEnabled"]
               for rule in acl["Rules"])
    assert acl["VisibilityConfig"]["MetricName"] == STACK and acl["DefaultAction"] == {"Allow": {}}

    ip_sets = result["ip_sets"]
    assert sorted(ip_sets) == ["allow-v4", "allow-v6", "block-v4"]
    assert rules["block-ipv4"]["Statement"]["IPSetReferenceStatement"]["ARN"] == ip_sets["block-v4"]["arn"]
    allow_v4 = client.get_ip_set(Name=STACK + "-allow-v4", Scope="REGIONAL", Id=ip_sets["allow-v4"]["id"])["IPSet"]
    assert allow_v4["Addresses"] == ["198.51.100.7/32"] and allow_v4["IPAddressVersion"] == "IPV4"
    tags = {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceARN=ip_sets["allow-v4"]["arn"])["TagInfoForResource"]["TagList"]}
    assert tags["cairn:component"] == "waf" and tags["owner"] == "security"

    logging = client.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"] == [result["logging"]["log_group_arn"]]
    assert sorted(f["SingleHeader"]["Name"] for f in logging["RedactedFields"]) == ["authorization", "cookie"]
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("aws-waf-logs-" + STACK, 90)]

    assert client.get_web_acl_for_resource(ResourceArn=alb_arn)["WebACL"]["ARN"] == acl["ARN"]
    assert result["associated_resource_arns"] == [alb_arn]

    with aws_env.recording() as calls:
        again = run_module("waf", args)
    assert again["changed"] is False and again["changes"] == []
    assert mutating_calls(calls) == []
    assert again["web_acl"] == result["web_acl"] and again["ip_sets"] == result["ip_sets"]
    with aws_env.recording() as calls:
        checked = run_module("waf", args, check_mode=True)
    assert checked["changes"] == [] and mutating_calls(calls) == []


def test_updates_are_planned_alike_and_applied_with_lock_tokens(aws_env):
    alb_arn = create_alb()
    run_module("waf", regional_args(alb_arn))
    changed = regional_args(
        alb_arn, rate_limit=500, rate_limit_window=60, allow_ip_addresses=[],
        block_ip_addresses=["203.0.113.0/24", "192.0.2.0/24", "2001:db8:bad::/48"],
        managed_rule_groups=[{"name": name} for name in REQUIRED_GROUPS] + [{"name": "AWSManagedRulesLinuxRuleSet", "override_action": "count"}],
        logging={"retention_days": 90, "redacted_headers": ["Authorization", "Cookie", "X-Api-Key"]},
        associated_resource_arns=[])
    with aws_env.recording() as calls:
        planned = run_module("waf", changed, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("waf", changed)
    assert planned["changes"] == applied["changes"]
    assert plan_keys(applied) == sorted([
        ("create", "ip_set", STACK + "-block-v6"), ("update", "ip_set", STACK + "-block-v4"),
        ("update", "web_acl", STACK), ("delete", "ip_set", STACK + "-allow-v4"), ("delete", "ip_set", STACK + "-allow-v6"),
        ("update", "logging_configuration", STACK), ("delete", "web_acl_association", alb_arn)])
    operations = [c.operation for c in mutating_calls(calls)]
    # The web ACL stops referring to the allow sets before they are deleted.
    assert operations.index("UpdateWebACL") < operations.index("DeleteIPSet")

    client = wafv2()
    acl = read_acl(STACK)
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert sorted(rules) == sorted(["block-ipv4", "block-ipv6", "rate-limit"] + ["AWS-" + n for n in REQUIRED_GROUPS + ["AWSManagedRulesLinuxRuleSet"]])
    assert rules["rate-limit"]["Statement"]["RateBasedStatement"]["Limit"] == 500
    assert rules["AWS-AWSManagedRulesLinuxRuleSet"]["OverrideAction"] == {"Count": {}}
    assert [s["Name"] for s in client.list_ip_sets(Scope="REGIONAL")["IPSets"]] == [STACK + "-block-v4", STACK + "-block-v6"]
    logging = client.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert sorted(f["SingleHeader"]["Name"] for f in logging["RedactedFields"]) == ["authorization", "cookie", "x-api-key"]
    assert client.get_web_acl_for_resource(ResourceArn=alb_arn).get("WebACL") is None

    with aws_env.recording() as calls:
        assert run_module("waf", changed)["changed"] is False
    assert mutating_calls(calls) == []

    args = dict(environment="test", stack=STACK, name=STACK, state="absent")
    planned = run_module("waf", args, check_mode=True)
    removed = run_module("waf", args)
    assert planned["changes"] == removed["changes"]
    assert plan_keys(removed) == sorted([("delete", "web_acl", STACK), ("delete", "logging_configuration", STACK),
                                         ("delete", "ip_set", STACK + "-block-v4"), ("delete", "ip_set", STACK + "-block-v6"),
                                         ("delete", "log_group", "aws-waf-logs-" + STACK)])
    assert client.list_web_acls(Scope="REGIONAL")["WebACLs"] == [] and client.list_ip_sets(Scope="REGIONAL")["IPSets"] == []
    with aws_env.recording() as calls:
        assert run_module("waf", args)["changed"] is False
    assert mutating_calls(calls) == []


def test_absent_disassociates_what_the_module_associated(aws_env):
    alb_arn = create_alb()
    run_module("waf", regional_args(alb_arn, logging={"enabled": False}))
    removed = run_module("waf", dict(environment="test", stack=STACK, name=STACK, state="absent"))
    assert ("delete", "web_acl_association", alb_arn) in plan_keys(removed)
    assert wafv2().get_web_acl_for_resource(ResourceArn=alb_arn).get("WebACL") is None
    assert wafv2().list_web_acls(Scope="REGIONAL")["WebACLs"] == []


def test_cloudfront_web_acl_in_us_east_1(aws_env):
    args = dict(environment="test", stack=STACK, name="test-cdn", scope="CLOUDFRONT", region="us-east-1",
                managed_rule_groups=[{"name": "AWSManagedRulesCommonRuleSet"}, {"name": "AWSManagedRulesAmazonIpReputationList"}],
                rate_limit=10000, block_ip_addresses=["203.0.113.0/24"])
    result = run_module("waf", args)
    assert result["web_acl"]["scope"] == "CLOUDFRONT"
    assert ":global/webacl/test-cdn/" in result["web_acl"]["arn"]
    acl = read_acl("test-cdn", scope="CLOUDFRONT")
    assert {rule["Name"] for rule in acl["Rules"]} == {
        "block-ipv4", "rate-limit", "AWS-AWSManagedRulesCommonRuleSet", "AWS-AWSManagedRulesAmazonIpReputationList"}
    assert ":global/ipset/test-cdn-block-v4/" in result["ip_sets"]["block-v4"]["arn"]
    logging = wafv2().get_logging_configuration(ResourceArn=result["web_acl"]["arn"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"] == [result["logging"]["log_group_arn"]]
    assert wafv2().list_web_acls(Scope="REGIONAL")["WebACLs"] == []
    with aws_env.recording() as calls:
        assert run_module("waf", args)["changed"] is False
    assert mutating_calls(calls) == []


def test_a_web_acl_of_the_same_name_without_our_tags_is_refused(aws_env):
    visibility = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "x"}
    wafv2().create_web_acl(Name=STACK, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=visibility, Rules=[])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("waf", dict(environment="test", stack=STACK, name=STACK, rate_limit=100))
    assert "never takes over" in failure.value.result["msg"]
    assert mutating_calls(calls) == []
    removed = run_module("waf", dict(environment="test", stack=STACK, name=STACK, state="absent"))
    assert removed["changed"] is False and len(wafv2().list_web_acls(Scope="REGIONAL")["WebACLs"]) == 1


BAD_INPUT = [
    (dict(managed_rule_groups=[{"name": "AWSManagedRulesEverything"}]), "managed_rule_groups[0].name", "not an AWS managed rule group"),
    (dict(rate_limit=9), "rate_limit", "10 to 2,000,000,000"),
    (dict(rate_limit=2000000001), "rate_limit", "10 to 2,000,000,000"),
    (dict(scope="CLOUDFRONT", region="eu-west-1"), "scope", "us-east-1"),
    (dict(logging={"log_group_name": "/cairn/waf"}), "logging.log_group_name", "aws-waf-logs-"),
    (dict(logging={"retention_days": 45}), "logging.retention_days", "accepts only"),
    (dict(block_ip_addresses=["203.0.113.300/24"]), "block_ip_addresses", "not an IP address"),
    (dict(allow_ip_addresses=["10.0.0.1/8"]), "allow_ip_addresses", "host bits"),
    (dict(block_ip_addresses=["0.0.0.0/0"]), "block_ip_addresses", "/0"),
    (dict(allow_ip_addresses=["192.0.2.0/24"], block_ip_addresses=["192.0.2.0/24"]), "block_ip_addresses", "also in allow"),
    (dict(managed_rule_groups=[{"name": "AWSManagedRulesSQLiRuleSet", "priority": 20},
                               {"name": "AWSManagedRulesCommonRuleSet", "priority": 20}]), "managed_rule_groups[1].priority", "also the priority"),
    (dict(managed_rule_groups=[{"name": "AWSManagedRulesSQLiRuleSet", "priority": 4}]), "managed_rule_groups[0].priority", "10 or more"),
    (dict(managed_rule_groups=[{"name": "AWSManagedRulesATPRuleSet"}]), "managed_rule_groups[0].config", "needs"),
    (dict(scope="CLOUDFRONT", associated_resource_arns=["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1"]),
     "associated_resource_arns", "CLOUDFRONT"),
    (dict(associated_resource_arns=["arn:aws:s3:::bucket"]), "associated_resource_arns", "not the ARN"),
    (dict(associated_resource_arns=["arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/1"]),
     "associated_resource_arns", "own region"),
    (dict(name="prod us-east-1"), "name", "letters, digits"),
]


@pytest.mark.parametrize("extra,field,words", BAD_INPUT, ids=[case[1] + "-" + str(i) for i, case in enumerate(BAD_INPUT)])
def test_bad_input_fails_before_any_api_call(recorded_env, extra, field, words):
    args = dict(environment="test", stack=STACK, name=STACK)
    args.update(extra)
    with recorded_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("waf", args)
    message = failure.value.result["msg"]
    assert message.startswith(field) and words in message, message
    assert calls == []

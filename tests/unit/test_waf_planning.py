"""The pure planning functions of plugins/modules/waf.py (no API calls)."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.tags import OWNERSHIP_ARGUMENT_SPEC
from ansible_collections.cairn.platform.plugins.modules.waf import (
    ARGUMENT_SPEC,
    AWS_MANAGED_RULE_GROUPS,
    association_tag,
    build_spec,
    check_associations,
    check_logging,
    desired_rules,
    managed_group_rules,
    normalize_rules,
    parse_addresses,
    redacted_fields,
    redacted_headers,
)

ALB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"


def refused(field, func, *args):
    with pytest.raises(InputError) as err:
        func(*args)
    assert err.value.message.startswith(field), err.value.message
    return err.value.message


def params(**extra):
    raw = dict(environment="prod", stack="prod-us-east-1", name="prod-us-east-1")
    raw.update(extra)
    spec = dict(OWNERSHIP_ARGUMENT_SPEC)
    spec.update(ARGUMENT_SPEC)
    result = ArgumentSpecValidator(spec).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


# ---- addresses -----------------------------------------------------------------------------------
def test_addresses_are_split_by_version_normalized_and_deduplicated():
    assert parse_addresses("f", ["198.51.100.7", "203.0.113.0/24", "2001:DB8::/32", "203.0.113.0/24", "2001:db8::1"]) == {
        "v4": ["198.51.100.7/32", "203.0.113.0/24"], "v6": ["2001:db8::/32", "2001:db8::1/128"]}
    assert parse_addresses("f", []) == {"v4": [], "v6": []}


@pytest.mark.parametrize("value,words", [("10.0.0.1/8", "host bits"), ("::/0", "/0"), ("0.0.0.0/0", "/0"),
                                         ("example.com", "not an IP address"), ("10.0.0.0/33", "not an IP address")])
def test_bad_addresses(value, words):
    assert words in refused("block_ip_addresses", parse_addresses, "block_ip_addresses", [value])


# ---- managed rule groups ---------------------------------------------------------------------------
def test_managed_groups_default_priorities_and_overrides():
    rules = managed_group_rules([
        {"name": "AWSManagedRulesCommonRuleSet", "excluded_rules": ["SizeRestrictions_BODY"],
         "rule_action_overrides": [{"name": "NoUserAgent_HEADER", "action": "block"}]},
        {"name": "AWSManagedRulesSQLiRuleSet", "override_action": "count", "version": "Version_2.0"},
        {"name": "Custom-Rules", "vendor": "Some Vendor Inc."},
    ])
    assert [rule["Priority"] for rule in rules] == [10, 20, 30]
    assert rules[0]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"] == [
        {"Name": "NoUserAgent_HEADER", "ActionToUse": {"Block": {}}}, {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert rules[0]["OverrideAction"] == {"None": {}}
    assert rules[1]["OverrideAction"] == {"Count": {}}
    assert rules[1]["Statement"]["ManagedRuleGroupStatement"]["Version"] == "Version_2.0"
    # Another vendor's groups are not in AWS's list; the rule name keeps to the characters WAF allows.
    assert rules[2]["Name"] == "Some_Vendor_Inc_-Custom-Rules"


def test_every_listed_aws_group_is_accepted():
    groups = [{"name": name, "config": [{"x": {}}] if name in ("AWSManagedRulesATPRuleSet", "AWSManagedRulesACFPRuleSet") else None}
              for name in AWS_MANAGED_RULE_GROUPS]
    assert len(managed_group_rules(groups)) == 14


@pytest.mark.parametrize("groups,field,words", [
    ([{"name": "AWSManagedRulesSQLInjection"}], "managed_rule_groups[0].name", "not an AWS managed rule group"),
    ([{"name": "AWSManagedRulesSQLiRuleSet"}, {"name": "AWSManagedRulesSQLiRuleSet"}], "managed_rule_groups[1]", "listed twice"),
    ([{"name": "AWSManagedRulesSQLiRuleSet", "priority": 30}, {"name": "AWSManagedRulesPHPRuleSet"}, {"name": "AWSManagedRulesUnixRuleSet"}],
     "managed_rule_groups[2].priority", "also the priority of managed_rule_groups[0]"),
    ([{"name": "AWSManagedRulesSQLiRuleSet", "priority": 9}], "managed_rule_groups[0].priority", "10 or more"),
    ([{"name": "AWSManagedRulesSQLiRuleSet", "excluded_rules": ["A"], "rule_action_overrides": [{"name": "A", "action": "count"}]}],
     "managed_rule_groups[0].rule_action_overrides", "already in excluded_rules"),
    ([{"name": "AWSManagedRulesACFPRuleSet"}], "managed_rule_groups[0].config", "needs"),
    ([{"name": "bad name", "vendor": "Other"}], "managed_rule_groups[0].name", "not a rule group name"),
])
def test_bad_managed_groups(groups, field, words):
    assert words in refused(field, managed_group_rules, groups)


# ---- logging, associations ----------------------------------------------------------------------
def test_logging_defaults():
    logging = check_logging({}, "prod-us-east-1")
    assert logging == {"enabled": True, "log_group_name": "aws-waf-logs-prod-us-east-1", "retention_days": 365,
                       "redacted_headers": ["authorization", "cookie"]}
    assert check_logging({"redacted_headers": ["Cookie", "cookie", " X-Api-Key "]}, "a")["redacted_headers"] == ["cookie", "x-api-key"]


@pytest.mark.parametrize("logging,field", [
    ({"log_group_name": "waf-logs"}, "logging.log_group_name"),
    ({"log_group_name": "aws-waf-logs-a b"}, "logging.log_group_name"),
    ({"retention_days": 0}, "logging.retention_days"),
    ({"redacted_headers": [""]}, "logging.redacted_headers"),
    ({"redacted_headers": ["h{0}".format(i) for i in range(101)]}, "logging.redacted_headers"),
])
def test_bad_logging(logging, field):
    refused(field, check_logging, logging, "a")


def test_redacted_fields_round_trip():
    assert redacted_headers(redacted_fields(["authorization", "cookie"])) == ["authorization", "cookie"]
    assert redacted_headers([{"SingleHeader": {"Name": "Authorization"}}, {"QueryString": {}}]) == ["authorization", "{'QueryString': {}}"]


def test_associations():
    assert check_associations(None, "REGIONAL", "us-east-1") is None
    assert check_associations([ALB, ALB], "REGIONAL", "us-east-1") == [ALB]
    assert check_associations([], "CLOUDFRONT", "us-east-1") == []
    refused("associated_resource_arns", check_associations, [ALB], "CLOUDFRONT", "us-east-1")
    refused("associated_resource_arns", check_associations, [ALB], "REGIONAL", "us-west-2")
    refused("associated_resource_arns", check_associations, ["arn:aws:cloudfront::123456789012:distribution/E1"], "REGIONAL", "us-east-1")
    refused("associated_resource_arns", check_associations, ["{0}/{1}".format(ALB, i) for i in range(41)], "REGIONAL", "us-east-1")
    key = association_tag(ALB)
    assert key.startswith("cairn:association:") and len(key) <= 128 and key == association_tag(ALB)


# ---- build_spec and rules ------------------------------------------------------------------------------
def test_build_spec_and_rules_in_priority_order():
    spec = build_spec(params(rate_limit=10, rate_limit_window=60, allow_ip_addresses=["2001:db8::/32"],
                             block_ip_addresses=["203.0.113.0/24"],
                             managed_rule_groups=[{"name": "AWSManagedRulesCommonRuleSet"}]), "us-east-1")
    assert spec["ip_sets"] == {"allow-v4": [], "allow-v6": ["2001:db8::/32"], "block-v4": ["203.0.113.0/24"], "block-v6": []}
    rules = desired_rules(spec, {"allow-v6": "arn:allow6", "block-v4": "arn:block4"})
    assert [(rule["Name"], rule["Priority"]) for rule in rules] == [
        ("allow-ipv6", 1), ("block-ipv4", 2), ("rate-limit", 4), ("AWS-AWSManagedRulesCommonRuleSet", 10)]
    assert rules[2]["Statement"]["RateBasedStatement"] == {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}
    assert rules[0]["Action"] == {"Allow": {}} and rules[1]["Action"] == {"Block": {}}
    assert rules[3]["VisibilityConfig"] == {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                            "MetricName": "prod-us-east-1-AWS-AWSManagedRulesCommonRuleSet"}
    assert spec["description"] == "Web ACL of prod-us-east-1, managed by cairn.platform"


@pytest.mark.parametrize("extra,region,field", [
    (dict(rate_limit=9), "us-east-1", "rate_limit"),
    (dict(rate_limit=2000000001), "us-east-1", "rate_limit"),
    (dict(scope="CLOUDFRONT"), "eu-west-1", "scope"),
    (dict(description="(parentheses)"), "us-east-1", "description"),
    (dict(name="x" * 120), "us-east-1", "name"),
    (dict(allow_ip_addresses=["192.0.2.0/24"], block_ip_addresses=["192.0.2.0/24"]), "us-east-1", "block_ip_addresses"),
])
def test_build_spec_refusals(extra, region, field):
    refused(field, build_spec, params(**extra), region)


def test_absent_needs_only_the_name_and_logging():
    spec = build_spec(params(state="absent", rate_limit=1), "us-east-1")
    assert spec["logging"]["log_group_name"] == "aws-waf-logs-prod-us-east-1"


# ---- semantic comparison -------------------------------------------------------------------------------
def test_rules_as_aws_returns_them_equal_the_request():
    spec = build_spec(params(rate_limit=2000, managed_rule_groups=[{"name": "AWSManagedRulesCommonRuleSet",
                                                                    "excluded_rules": ["B", "A"]}]), "us-east-1")
    sent = desired_rules(spec, {})
    returned = [
        {"Name": "AWS-AWSManagedRulesCommonRuleSet", "Priority": 10,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet", "ExcludedRules": [],
                                                     "RuleActionOverrides": [{"Name": "B", "ActionToUse": {"Count": {}}},
                                                                             {"Name": "A", "ActionToUse": {"Count": {}}}]}},
         "OverrideAction": {"None": {}}, "RuleLabels": None,
         "VisibilityConfig": {"MetricName": "prod-us-east-1-AWS-AWSManagedRulesCommonRuleSet", "CloudWatchMetricsEnabled": True,
                              "SampledRequestsEnabled": True}},
        {"Name": "rate-limit", "Priority": 4, "Action": {"Block": {}},
         "Statement": {"RateBasedStatement": {"Limit": 2000}},
         "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "prod-us-east-1-rate-limit"}},
    ]
    assert normalize_rules(returned) == normalize_rules(sent)


def test_a_real_difference_is_seen():
    spec = build_spec(params(rate_limit=2000), "us-east-1")
    sent = desired_rules(spec, {})
    changed = [dict(sent[0], Action={"Count": {}})]
    assert normalize_rules(changed) != normalize_rules(sent)
    window = [dict(sent[0], Statement={"RateBasedStatement": {"Limit": 2000, "EvaluationWindowSec": 600}})]
    assert normalize_rules(window) != normalize_rules(sent)

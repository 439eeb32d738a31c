#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: waf
short_description: Converge one AWS WAF web ACL with its IP sets, rate limit, logging and associations
version_added: 0.1.0
description:
  - Creates, updates or deletes one WAFv2 web ACL and everything it owns, with a plan of every change.
  - AWS managed rule groups, checked against the list of groups AWS offers, with rules set to count.
  - A rate-based rule that blocks a client IP above O(rate_limit) requests per O(rate_limit_window).
  - Allow and block lists of IPv4 and IPv6 networks, kept in IP sets named C(<name>-allow-v4),
    C(<name>-allow-v6), C(<name>-block-v4) and C(<name>-block-v6); a set exists only while its list
    has addresses.
  - Logging to a CloudWatch Logs group named C(aws-waf-logs-...) with a retention, and with headers
    such as C(Authorization) and C(Cookie) redacted from the logs.
  - CloudWatch metrics and sampled requests for the web ACL and every rule.
  - Associations with regional resources (load balancers, API Gateway stages ...).
  - Rules are evaluated in this order. First the allow list (an allowed client skips every other
    rule), then the block list, then the rate limit, then the managed rule groups by priority.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the web ACL to these options; V(absent) deletes it with its IP sets,
        logging configuration, log group and the associations the module made.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The web ACL's name, 1 to 119 letters, digits, C(_) or C(-).
    type: str
    required: true
  scope:
    description:
      - V(REGIONAL) for load balancers, API Gateway and the other regional resources.
      - V(CLOUDFRONT) for CloudFront distributions; AWS manages these from us-east-1 only, so O(region)
        must be V(us-east-1).
    type: str
    choices: [REGIONAL, CLOUDFRONT]
    default: REGIONAL
  description:
    description:
      - The web ACL's description. Defaults to C(Web ACL of <stack>, managed by cairn.platform).
    type: str
  default_action:
    description:
      - What happens to a request no rule blocks or allows.
    type: str
    choices: [allow, block]
    default: allow
  managed_rule_groups:
    description:
      - AWS managed rule groups (or rule groups of another vendor) to evaluate, in priority order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The rule group's name. For vendor V(AWS) one of V(AWSManagedRulesCommonRuleSet),
            V(AWSManagedRulesKnownBadInputsRuleSet), V(AWSManagedRulesSQLiRuleSet),
            V(AWSManagedRulesAmazonIpReputationList), V(AWSManagedRulesAnonymousIpList),
            V(AWSManagedRulesLinuxRuleSet), V(AWSManagedRulesUnixRuleSet),
            V(AWSManagedRulesAdminProtectionRuleSet), V(AWSManagedRulesPHPRuleSet),
            V(AWSManagedRulesWordPressRuleSet), V(AWSManagedRulesWindowsRuleSet),
            V(AWSManagedRulesBotControlRuleSet), V(AWSManagedRulesATPRuleSet) or
            V(AWSManagedRulesACFPRuleSet).
        type: str
        required: true
      vendor:
        description: The rule group's vendor.
        type: str
        default: AWS
      version:
        description: Pin a version of the rule group. Unset follows the vendor's default version.
        type: str
      priority:
        description:
          - The rule's priority, 10 or more (0 to 9 belong to the IP set and rate rules). Defaults to
            10, 20, 30 ... in list order. Two rules cannot share a priority.
        type: int
      override_action:
        description:
          - V(none) lets the group's rules act; V(count) only counts what they would do (to try a
            group out before it blocks).
        type: str
        choices: [none, count]
        default: none
      excluded_rules:
        description:
          - Rules of the group that only count instead of acting (sent as rule action overrides to
            Count, which replaced the older ExcludedRules).
        type: list
        elements: str
        default: []
      rule_action_overrides:
        description:
          - Rules of the group whose action is replaced.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The rule's name inside the group.
            type: str
            required: true
          action:
            description: The action to use instead of the rule's own.
            type: str
            choices: [count, allow, block, captcha, challenge]
            default: count
      config:
        description:
          - "C(ManagedRuleGroupConfigs) in the WAF API's shape, for the groups that need settings, for
            example C([{AWSManagedRulesBotControlRuleSet: {InspectionLevel: COMMON}}]). Required for
            V(AWSManagedRulesATPRuleSet) and V(AWSManagedRulesACFPRuleSet)."
        type: list
        elements: dict
  rate_limit:
    description:
      - Block a client IP that sends more than this many requests in O(rate_limit_window) seconds.
        AWS accepts 10 to 2,000,000,000. Unset means no rate rule.
    type: int
  rate_limit_window:
    description: The evaluation window of O(rate_limit), in seconds.
    type: int
    choices: [60, 120, 300, 600]
    default: 300
  allow_ip_addresses:
    description:
      - IPv4 and IPv6 networks (or single addresses) always allowed; no other rule applies to them.
    type: list
    elements: str
    default: []
  block_ip_addresses:
    description:
      - IPv4 and IPv6 networks (or single addresses) always blocked.
    type: list
    elements: str
    default: []
  logging:
    description:
      - Logging of the web ACL's traffic to CloudWatch Logs.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - Log to the group. V(false) removes the logging configuration and keeps the log group (its
            retention expires the records).
        type: bool
        default: true
      log_group_name:
        description:
          - The log group; AWS requires names starting with C(aws-waf-logs-). Defaults to
            C(aws-waf-logs-<name>). A group of that name without the ownership tags is refused.
        type: str
      retention_days:
        description: Days CloudWatch Logs keeps the records; one of the values CloudWatch accepts.
        type: int
        default: 365
      kms_key_id:
        description: ARN of a KMS key that encrypts the log group.
        type: str
      redacted_headers:
        description:
          - Request headers whose values never reach the logs (names compared without case).
        type: list
        elements: str
        default: [authorization, cookie]
  associated_resource_arns:
    description:
      - ARNs of regional resources (application load balancers, API Gateway stages, AppSync APIs,
        Cognito user pools, App Runner services, Verified Access instances) to protect with the web ACL.
      - Resources the module associated before and that are no longer listed are disassociated.
      - Unset leaves associations alone. Not for O(scope=CLOUDFRONT); a distribution names its web
        ACL itself.
    type: list
    elements: str
notes:
  - The web ACL, its IP sets and the log group carry the ownership tags; one of them that exists
    without the tags is refused, never taken over.
  - Rules are compared by meaning (sorted by priority, AWS's defaults filled in), so a rerun with the
    same input makes no mutating call. Updates carry the LockToken read in the same run; a web ACL
    or IP set changed by someone else in between makes AWS refuse, and the module says so.
  - Managed rule group names are checked against a static list of the AWS managed rule groups,
    because listing them (ListAvailableManagedRuleGroups) and checking capacity (CheckCapacity) are
    not implemented by the local emulator the collection is tested with; capacity is left to AWS.
  - Associations are found per resource with GetWebACLForResource, and the resources the module
    associated are remembered in tags of the web ACL (C(cairn:association:...)). An association made
    by hand with a resource that is not listed is not seen.
  - CloudFront distributions are associated through the distribution's own settings, not here.
seealso:
  - name: AWS WAF developer guide
    description: Web ACLs, rule groups, rate-based rules and logging.
    link: https://docs.aws.amazon.com/waf/latest/developerguide/waf-chapter.html
  - name: AWS managed rule groups
    description: The rule groups AWS offers and what they inspect.
    link: https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html
"""

EXAMPLES = r"""
- name: The regional web ACL of a region stack, in front of its load balancer
  cairn.platform.waf:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    name: prod-us-east-1
    managed_rule_groups:
      - name: AWSManagedRulesCommonRuleSet
        excluded_rules: [SizeRestrictions_BODY]
      - name: AWSManagedRulesKnownBadInputsRuleSet
      - name: AWSManagedRulesSQLiRuleSet
      - name: AWSManagedRulesAmazonIpReputationList
    rate_limit: 2000
    block_ip_addresses: [203.0.113.0/24, "2001:db8:bad::/48"]
    logging:
      retention_days: 365
      redacted_headers: [authorization, cookie]
    associated_resource_arns:
      - "{{ load_balancer.arn }}"
  register: waf

- name: The web ACL of the CDN (CloudFront ACLs live in us-east-1)
  cairn.platform.waf:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    name: prod-cdn
    scope: CLOUDFRONT
    managed_rule_groups:
      - name: AWSManagedRulesCommonRuleSet
      - name: AWSManagedRulesAmazonIpReputationList
    rate_limit: 10000
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: ip_set
      resource: prod-us-east-1-block-v4
      fields: {addresses: {before: null, after: [203.0.113.0/24]}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
web_acl:
  description: The web ACL (C(known after apply) id and ARN in check mode before creation).
  returned: when state=present
  type: dict
  sample: {name: prod-us-east-1, id: 0f1e2d3c-..., arn: "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/prod-us-east-1/0f1e...", scope: REGIONAL}
ip_sets:
  description: The IP sets by list (C(allow-v4), C(allow-v6), C(block-v4), C(block-v6)); a list without addresses has none.
  returned: when state=present
  type: dict
  sample: {block-v4: {name: prod-us-east-1-block-v4, id: 1a2b..., arn: "arn:aws:wafv2:...", addresses: [203.0.113.0/24]}}
logging:
  description: The logging settings, or null when logging is off.
  returned: when state=present
  type: dict
  sample:
    log_group_name: aws-waf-logs-prod-us-east-1
    log_group_arn: "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-prod-us-east-1"
    retention_days: 365
    redacted_headers: [authorization, cookie]
associated_resource_arns:
  description: The resources the web ACL protects (as managed by the module), or null when not managed.
  returned: when state=present
  type: list
  elements: str
"""

import hashlib
import ipaddress
import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.logs import LogGroupConverger, check_retention_days
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)

COMPONENT = "waf"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str", required=True),
    scope=dict(type="str", default="REGIONAL", choices=["REGIONAL", "CLOUDFRONT"]),
    description=dict(type="str"),
    default_action=dict(type="str", default="allow", choices=["allow", "block"]),
    managed_rule_groups=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            vendor=dict(type="str", default="AWS"),
            version=dict(type="str"),
            priority=dict(type="int"),
            override_action=dict(type="str", default="none", choices=["none", "count"]),
            excluded_rules=dict(type="list", elements="str", default=[]),
            rule_action_overrides=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    action=dict(type="str", default="count", choices=["count", "allow", "block", "captcha", "challenge"]),
                ),
            ),
            config=dict(type="list", elements="dict"),
        ),
    ),
    rate_limit=dict(type="int"),
    rate_limit_window=dict(type="int", default=300, choices=[60, 120, 300, 600]),
    allow_ip_addresses=dict(type="list", elements="str", default=[]),
    block_ip_addresses=dict(type="list", elements="str", default=[]),
    logging=dict(
        type="dict",
        default={},
        options=dict(
            enabled=dict(type="bool", default=True),
            log_group_name=dict(type="str"),
            retention_days=dict(type="int", default=365),
            kms_key_id=dict(type="str"),
            redacted_headers=dict(type="list", elements="str", default=["authorization", "cookie"]),
        ),
    ),
    associated_resource_arns=dict(type="list", elements="str"),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the rules (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
# The AWS managed rule groups (AWS WAF developer guide, "AWS Managed Rules rule groups list").
# A static list because the emulator does not implement ListAvailableManagedRuleGroups.
AWS_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesAdminProtectionRuleSet",
    "AWSManagedRulesPHPRuleSet",
    "AWSManagedRulesWordPressRuleSet",
    "AWSManagedRulesWindowsRuleSet",
    "AWSManagedRulesBotControlRuleSet",
    "AWSManagedRulesATPRuleSet",
    "AWSManagedRulesACFPRuleSet",
)
# Account takeover and account creation fraud prevention cannot work without their paths.
NEEDS_CONFIG = ("AWSManagedRulesATPRuleSet", "AWSManagedRulesACFPRuleSet")
# RateBasedStatement.Limit bounds in the WAFv2 API (the minimum went from 100 to 10 in 2024).
RATE_LIMIT_MIN = 10
RATE_LIMIT_MAX = 2000000000
DEFAULT_WINDOW = 300
# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_GROUP_PREFIX = "aws-waf-logs-"
MAX_REDACTED_FIELDS = 100
# IP set rules first (allow, then block), then the rate rule; managed groups from 10 up.
IP_LISTS = (("allow", "v4"), ("allow", "v6"), ("block", "v4"), ("block", "v6"))
RULE_PRIORITY = {"allow-v4": 0, "allow-v6": 1, "block-v4": 2, "block-v6": 3, "rate-limit": 4}
FIRST_GROUP_PRIORITY = 10
MAX_ASSOCIATIONS = 40  # each is remembered in a tag; a resource carries at most 50
ASSOCIATION_TAG = "cairn:association:"
ACTIONS = {"allow": "Allow", "block": "Block", "count": "Count", "captcha": "Captcha", "challenge": "Challenge"}
# Settings of a web ACL the module does not manage, carried over on update (UpdateWebACL resets what it is not given).
CARRIED_OVER = ("CustomResponseBodies", "CaptchaConfig", "ChallengeConfig", "TokenDomains", "AssociationConfig",
                "DataProtectionConfig")
_ENTITY_NAME = re.compile(r"^[\w\-]{1,128}$")
_DESCRIPTION = re.compile(r"^[\w+=:#@/\-,.][\w+=:#@/\-,.\s]*[\w+=:#@/\-,.]$")
_LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_REGIONAL_ARN = re.compile(
    r"^arn:aws[a-z\-]*:(elasticloadbalancing|apigateway|appsync|cognito-idp|apprunner|ec2|amplify):([a-z0-9\-]+):\d{0,12}:\S+$")


def ip_set_name(acl_name, key):
    return "{0}-{1}".format(acl_name, key)


def parse_addresses(field, values):
    """{"v4": [...], "v6": [...]} of normalized networks; single addresses become /32 or /128."""
    parsed = {"v4": set(), "v6": set()}
    for value in values or []:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError as exc:
            raise InputError("{0}: {1!r} is not an IP address or network in CIDR form ({2}).".format(field, value, exc))
        if network.prefixlen == 0:
            raise InputError("{0}: {1} would match every address; AWS WAF IP sets do not accept /0.".format(field, network))
        parsed["v{0}".format(network.version)].add(str(network))
    return {version: sorted(networks) for version, networks in parsed.items()}


def check_description(field, value):
    if not 1 <= len(value) <= 256 or not _DESCRIPTION.match(value):
        raise InputError(
            "{0}: up to 256 of letters, digits, spaces and _+=:#@/-,. (no other characters, not starting or ending "
            "with a space); got {1!r}.".format(field, value)
        )


def managed_group_rules(groups):
    """The managed rule groups as WAF rules (without visibility config), checked."""
    rules, priorities, seen = [], {}, set()
    for index, group in enumerate(groups):
        field = "managed_rule_groups[{0}]".format(index)
        name, vendor = group["name"], group.get("vendor") or "AWS"
        if vendor == "AWS" and name not in AWS_MANAGED_RULE_GROUPS:
            raise InputError(
                "{0}.name: {1!r} is not an AWS managed rule group; AWS offers {2}.".format(field, name, ", ".join(AWS_MANAGED_RULE_GROUPS))
            )
        if not _ENTITY_NAME.match(name):
            raise InputError("{0}.name: {1!r} is not a rule group name (letters, digits, _ and -).".format(field, name))
        if (vendor, name) in seen:
            raise InputError("{0}: {1} {2} is listed twice.".format(field, vendor, name))
        seen.add((vendor, name))
        priority = group.get("priority")
        if priority is None:
            priority = FIRST_GROUP_PRIORITY * (index + 1)
        elif priority < FIRST_GROUP_PRIORITY:
            raise InputError(
                "{0}.priority: must be {1} or more (0 to 9 belong to the IP set and rate rules); got {2}.".format(
                    field, FIRST_GROUP_PRIORITY, priority)
            )
        if priority in priorities:
            raise InputError("{0}.priority: {1} is also the priority of {2}; every rule needs its own.".format(field, priority, priorities[priority]))
        priorities[priority] = "managed_rule_groups[{0}] ({1})".format(index, name)
        overrides = {}
        for rule in group.get("excluded_rules") or []:
            overrides[rule] = "count"
        for override in group.get("rule_action_overrides") or []:
            if override["name"] in overrides:
                raise InputError(
                    "{0}.rule_action_overrides: {1} is already in excluded_rules or listed twice.".format(field, override["name"]))
            overrides[override["name"]] = override.get("action") or "count"
        if name in NEEDS_CONFIG and vendor == "AWS" and not group.get("config"):
            raise InputError("{0}.config: {1} needs its ManagedRuleGroupConfigs (the login or sign-up paths it protects).".format(field, name))
        statement = {"VendorName": vendor, "Name": name}
        if group.get("version"):
            statement["Version"] = group["version"]
        if overrides:
            statement["RuleActionOverrides"] = [{"Name": rule, "ActionToUse": {ACTIONS[action]: {}}} for rule, action in sorted(overrides.items())]
        if group.get("config"):
            statement["ManagedRuleGroupConfigs"] = group["config"]
        rules.append({
            "Name": re.sub(r"[^\w\-]", "_", "{0}-{1}".format(vendor, name))[:128],
            "Priority": priority,
            "Statement": {"ManagedRuleGroupStatement": statement},
            "OverrideAction": {"Count": {}} if group.get("override_action") == "count" else {"None": {}},
        })
    return rules


def check_logging(logging, acl_name):
    """Logging settings with defaults filled in and checked."""
    logging = dict(logging or {})
    for key, option in ARGUMENT_SPEC["logging"]["options"].items():
        if logging.get(key) is None and "default" in option:
            logging[key] = option["default"]
    logging["log_group_name"] = logging.get("log_group_name") or LOG_GROUP_PREFIX + acl_name
    name = logging["log_group_name"]
    if not name.startswith(LOG_GROUP_PREFIX):
        raise InputError("logging.log_group_name: AWS WAF logs only to log groups whose names start with {0}; got {1!r}.".format(LOG_GROUP_PREFIX, name))
    if not _LOG_GROUP_NAME.match(name):
        raise InputError("logging.log_group_name: {0!r} is not a valid log group name (1-512 of letters, digits, . - _ / #).".format(name))
    check_retention_days("logging.retention_days", logging["retention_days"])
    headers = [header.strip().lower() for header in logging["redacted_headers"] or []]
    if any(not header or len(header) > 64 for header in headers):
        raise InputError("logging.redacted_headers: header names must be 1 to 64 characters.")
    if len(set(headers)) > MAX_REDACTED_FIELDS:
        raise InputError("logging.redacted_headers: AWS WAF redacts at most {0} fields.".format(MAX_REDACTED_FIELDS))
    logging["redacted_headers"] = sorted(set(headers))
    return logging


def check_associations(arns, scope, region):
    if arns is None:
        return None
    if scope == "CLOUDFRONT" and arns:
        raise InputError("associated_resource_arns: a CLOUDFRONT web ACL is attached by the distribution itself (its web ACL id), not by association.")
    if len(set(arns)) > MAX_ASSOCIATIONS:
        raise InputError("associated_resource_arns: at most {0} resources per web ACL.".format(MAX_ASSOCIATIONS))
    for arn in arns:
        match = _REGIONAL_ARN.match(arn or "")
        if not match or len(arn) > 256:
            raise InputError(
                "associated_resource_arns: {0!r} is not the ARN of a resource AWS WAF protects (an application load balancer, "
                "API Gateway stage, AppSync API, Cognito user pool, App Runner service or Verified Access instance).".format(arn))
        if region and match.group(2) != region:
            raise InputError("associated_resource_arns: {0} is in {1}, the web ACL in {2}; a web ACL protects resources of its own region.".format(
                arn, match.group(2), region))
    return sorted(set(arns))


def build_spec(params, region):
    """All checks that need no API call, in the order a person reads the options."""
    name = params["name"]
    if not re.match(r"^[\w\-]{1,119}$", name or ""):
        raise InputError("name: {0!r} must be 1 to 119 letters, digits, _ or - (the IP sets add a suffix of up to 9).".format(name))
    spec = {"state": params["state"], "name": name, "scope": params["scope"]}
    if params["scope"] == "CLOUDFRONT" and region != "us-east-1":
        raise InputError("scope: AWS manages CLOUDFRONT web ACLs in us-east-1 only; set region to us-east-1 (it is {0}).".format(region))
    spec["logging"] = check_logging(params.get("logging"), name)
    if params["state"] == "absent":
        return spec
    spec["description"] = params.get("description") or "Web ACL of {0}, managed by cairn.platform".format(params["stack"])
    check_description("description", spec["description"])
    spec["default_action"] = params["default_action"]
    rate_limit = params.get("rate_limit")
    if rate_limit is not None and not RATE_LIMIT_MIN <= rate_limit <= RATE_LIMIT_MAX:
        raise InputError("rate_limit: AWS WAF accepts {0} to {1:,} requests per window; got {2:,}.".format(RATE_LIMIT_MIN, RATE_LIMIT_MAX, rate_limit))
    spec["rate_limit"] = rate_limit
    spec["rate_limit_window"] = params["rate_limit_window"]
    allow = parse_addresses("allow_ip_addresses", params.get("allow_ip_addresses"))
    block = parse_addresses("block_ip_addresses", params.get("block_ip_addresses"))
    both = sorted(set(allow["v4"] + allow["v6"]) & set(block["v4"] + block["v6"]))
    if both:
        raise InputError("block_ip_addresses: {0} also in allow_ip_addresses; list each network in one of them.".format(", ".join(both)))
    spec["ip_sets"] = {"{0}-{1}".format(kind, version): (allow if kind == "allow" else block)[version] for kind, version in IP_LISTS}
    spec["managed_rules"] = managed_group_rules(params.get("managed_rule_groups") or [])
    spec["associations"] = check_associations(params.get("associated_resource_arns"), params["scope"], region)
    return spec


def visibility(metric_name):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric_name[:255]}


def desired_rules(spec, ip_set_arns):
    """Every rule of the web ACL, in API shape; `ip_set_arns` maps list keys (allow-v4 ...) to ARNs."""
    rules = []
    for kind, version in IP_LISTS:
        key = "{0}-{1}".format(kind, version)
        if spec["ip_sets"][key]:
            rules.append({"Name": "{0}-ip{1}".format(kind, version), "Priority": RULE_PRIORITY[key],
                          "Statement": {"IPSetReferenceStatement": {"ARN": ip_set_arns[key]}},
                          "Action": {ACTIONS[kind]: {}}})
    if spec["rate_limit"] is not None:
        rules.append({"Name": "rate-limit", "Priority": RULE_PRIORITY["rate-limit"],
                      "Statement": {"RateBasedStatement": {"Limit": spec["rate_limit"], "EvaluationWindowSec": spec["rate_limit_window"],
                                                           "AggregateKeyType": "IP"}},
                      "Action": {"Block": {}}})
    rules.extend(dict(rule) for rule in spec["managed_rules"])
    for rule in rules:
        rule["VisibilityConfig"] = visibility("{0}-{1}".format(spec["name"], rule["Name"]))
    return sorted(rules, key=lambda rule: rule["Priority"])


def _prune(value):
    """Drop None and empty lists, which AWS and the request may show or omit alike."""
    if isinstance(value, dict):
        return {key: _prune(item) for key, item in sorted(value.items()) if item is not None and item != []}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def normalize_rules(rules):
    """Rules in one canonical form: by priority, defaults filled in, override lists sorted."""
    normalized = []
    for rule in sorted(rules or [], key=lambda item: item.get("Priority", 0)):
        rule = _prune(rule)
        statement = rule.get("Statement", {})
        rate = statement.get("RateBasedStatement")
        if rate is not None:
            rate.setdefault("AggregateKeyType", "IP")
            rate.setdefault("EvaluationWindowSec", DEFAULT_WINDOW)
        managed = statement.get("ManagedRuleGroupStatement")
        if managed is not None:
            for key in ("RuleActionOverrides", "ExcludedRules"):
                if key in managed:
                    managed[key] = sorted(managed[key], key=lambda item: item.get("Name", ""))
        normalized.append(rule)
    return normalized


def redacted_fields(headers):
    return [{"SingleHeader": {"Name": header}} for header in headers]


def redacted_headers(fields):
    """Header names of RedactedFields, lower case; any other kind of field kept as text so it shows as a difference."""
    names = []
    for field in fields or []:
        if "SingleHeader" in field:
            names.append(field["SingleHeader"]["Name"].lower())
        else:
            names.append(str(field))
    return sorted(set(names))


def association_tag(arn):
    return ASSOCIATION_TAG + hashlib.sha256(arn.encode()).hexdigest()[:16]


class WafConverger:
    """Reads the web ACL, its IP sets, logging and associations, then converges them."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.waf = cm.client("wafv2")
        self.check_mode = cm.check_mode
        self.name = spec["name"]
        self.scope = spec["scope"]
        self.log_groups = LogGroupConverger(cm, self.owner, self.plan)
        self.acl = None  # {"summary", "web_acl", "lock_token", "tags"}
        self.ip_sets = {}  # key -> {"summary", "ip_set", "lock_token", "tags"}
        self.logging_config = None

    # ---- read ----------------------------------------------------------------------------
    def list_all(self, operation, result_key, what):
        items, marker = [], None
        with self.cm.doing("listing " + what):
            while True:
                kwargs = {"Scope": self.scope, "Limit": 100}
                if marker:
                    kwargs["NextMarker"] = marker
                page = getattr(self.waf, operation)(**kwargs)
                items.extend(page.get(result_key, []))
                marker = page.get("NextMarker")
                if not marker or not page.get(result_key):
                    return items

    def tags_of(self, arn, what):
        with self.cm.doing("reading the tags of " + what):
            info = self.waf.list_tags_for_resource(ResourceARN=arn).get("TagInfoForResource", {})
        return boto3_tag_list_to_dict(info.get("TagList"))

    def remember_account(self, arn):
        self.cm.remember_account_id(arn.split(":")[4])

    def read(self):
        acls = [summary for summary in self.list_all("list_web_acls", "WebACLs", "web ACLs") if summary["Name"] == self.name]
        if acls:
            summary = acls[0]
            self.remember_account(summary["ARN"])
            with self.cm.doing("reading web ACL " + self.name):
                response = self.waf.get_web_acl(Name=self.name, Scope=self.scope, Id=summary["Id"])
            self.acl = {"summary": summary, "web_acl": response["WebACL"], "lock_token": response["LockToken"],
                        "tags": self.tags_of(summary["ARN"], "web ACL " + self.name)}
        wanted = {ip_set_name(self.name, "{0}-{1}".format(kind, version)): "{0}-{1}".format(kind, version) for kind, version in IP_LISTS}
        for summary in self.list_all("list_ip_sets", "IPSets", "IP sets"):
            key = wanted.get(summary["Name"])
            if key is None:
                continue
            self.remember_account(summary["ARN"])
            with self.cm.doing("reading IP set " + summary["Name"]):
                response = self.waf.get_ip_set(Name=summary["Name"], Scope=self.scope, Id=summary["Id"])
            self.ip_sets[key] = {"summary": summary, "ip_set": response["IPSet"], "lock_token": response["LockToken"],
                                 "tags": self.tags_of(summary["ARN"], "IP set " + summary["Name"])}
        if self.acl is not None and self.owned(self.acl):
            with self.cm.doing("reading the logging configuration of web ACL " + self.name):
                try:
                    self.logging_config = self.waf.get_logging_configuration(ResourceArn=self.acl["summary"]["ARN"])["LoggingConfiguration"]
                except Exception as exc:
                    if error_code(exc) != "WAFNonexistentItemException":
                        raise

    def owned(self, resource):
        return self.owner.owns(resource["tags"])

    def remembered_associations(self):
        if self.acl is None:
            return {}
        return {value: key for key, value in self.acl["tags"].items() if key.startswith(ASSOCIATION_TAG)}

    # ---- present --------------------------------------------------------------------------
    def present(self):
        self.read()
        self.preflight()
        arns = self.ensure_ip_sets()
        acl_arn = self.ensure_web_acl(arns)
        self.delete_unused_ip_sets()
        logging = self.ensure_logging(acl_arn)
        associations = self.ensure_associations(acl_arn)
        acl = self.acl["summary"] if self.acl else {}
        return {
            "web_acl": {"name": self.name, "id": acl.get("Id", UNKNOWN), "arn": acl_arn, "scope": self.scope},
            "ip_sets": {key: {"name": ip_set_name(self.name, key), "id": self.ip_sets[key]["summary"]["Id"] if key in self.ip_sets else UNKNOWN,
                              "arn": UNKNOWN if arns[key].startswith(UNKNOWN) else arns[key], "addresses": self.spec["ip_sets"][key]}
                        for key in sorted(arns)},
            "logging": logging,
            "associated_resource_arns": associations,
        }

    def preflight(self):
        """Refuse, before any write, resources of our names that carry no ownership tags."""
        if self.acl is not None and not self.owned(self.acl):
            raise CairnError(
                "name: web ACL {0} ({1}) exists without the ownership tags of stack {2}; cairn.platform never takes over a web "
                "ACL it does not own. Choose another name, or tag it by hand to adopt it.".format(self.name, self.scope, self.owner.stack))
        for key, ip_set in sorted(self.ip_sets.items()):
            if not self.owned(ip_set):
                raise CairnError(
                    "{0}_ip_addresses: IP set {1} exists without the ownership tags of stack {2}; delete or tag it by hand.".format(
                        key.split("-")[0], ip_set["summary"]["Name"], self.owner.stack))
        if self.spec["logging"]["enabled"]:
            self.log_groups.check_owned(self.spec["logging"]["log_group_name"], field="logging.log_group_name")

    def ip_set_description(self, key):
        kind, version = key.split("-")
        return "{0} list IP{1} of web ACL {2}, managed by cairn.platform".format(kind.capitalize(), version, self.name)

    def ensure_ip_sets(self):
        """{key: ARN} of the IP sets the rules need (created or updated first, so the web ACL can refer to them)."""
        arns = {}
        for key in sorted(self.spec["ip_sets"]):
            addresses = self.spec["ip_sets"][key]
            if not addresses:
                continue
            name = ip_set_name(self.name, key)
            tags = self.owner.desired_tags(name=name)
            current = self.ip_sets.get(key)
            if current is None:
                # Unique per set, so the planned rules still tell the sets apart.
                arns[key] = "{0} {1}".format(UNKNOWN, name)
                if self.plan.create("ip_set", name, {"addresses": addresses, "tags": tags}):
                    with self.cm.doing("creating IP set " + name):
                        summary = self.waf.create_ip_set(
                            Name=name, Scope=self.scope, Description=self.ip_set_description(key),
                            IPAddressVersion="IPV4" if key.endswith("v4") else "IPV6", Addresses=addresses,
                            Tags=dict_to_boto3_tag_list(tags))["Summary"]
                    self.ip_sets[key] = {"summary": summary, "created": True}
                    self.remember_account(summary["ARN"])
                    arns[key] = summary["ARN"]
                continue
            arns[key] = current["summary"]["ARN"]
            before = sorted(str(ipaddress.ip_network(address, strict=False)) for address in current["ip_set"].get("Addresses", []))
            if self.plan.update("ip_set", name, {"addresses": before}, {"addresses": addresses}):
                with self.cm.doing("updating IP set " + name):
                    self.waf.update_ip_set(Name=name, Scope=self.scope, Id=current["summary"]["Id"], Addresses=addresses,
                                           Description=self.ip_set_description(key), LockToken=current["lock_token"])
            self.reconcile_tags("ip_set", name, current["summary"]["ARN"], current["tags"], tags)
        return arns

    def reconcile_tags(self, resource_type, label, arn, current, desired, keep=()):
        current = {key: value for key, value in current.items() if key not in keep}
        apply_tag_changes(
            self.cm, self.plan, self.owner, resource_type, label, current, desired,
            action="tagging {0} {1}".format(resource_type, label),
            add=lambda to_set: self.waf.tag_resource(ResourceARN=arn, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.waf.untag_resource(ResourceARN=arn, TagKeys=to_remove))

    def plan_view(self, rules, arns):
        """Rules for the plan: our IP sets by name, so a check run and the real run read the same."""
        names = {arn: ip_set_name(self.name, key) for key, arn in arns.items()}
        view = []
        for rule in normalize_rules(rules):
            reference = rule.get("Statement", {}).get("IPSetReferenceStatement")
            if reference is not None and reference.get("ARN") in names:
                rule = dict(rule, Statement={"IPSetReferenceStatement": dict(reference, ARN="ip_set:" + names[reference["ARN"]])})
            view.append(rule)
        return view

    def ensure_web_acl(self, arns):
        spec = self.spec
        rules = desired_rules(spec, arns)
        desired = {"default_action": spec["default_action"], "description": spec["description"],
                   "visibility": visibility(self.name), "rules": self.plan_view(rules, arns)}
        tags = self.owner.desired_tags(name=self.name)
        if self.acl is None:
            if not self.plan.create("web_acl", self.name, dict(desired, scope=self.scope, tags=tags)):
                return UNKNOWN
            with self.cm.doing("creating web ACL " + self.name):
                summary = self.waf.create_web_acl(
                    Name=self.name, Scope=self.scope, DefaultAction={ACTIONS[spec["default_action"]]: {}},
                    Description=spec["description"], Rules=rules, VisibilityConfig=visibility(self.name),
                    Tags=dict_to_boto3_tag_list(tags))["Summary"]
            self.acl = {"summary": summary, "web_acl": None, "lock_token": summary.get("LockToken"), "tags": tags}
            self.remember_account(summary["ARN"])
            return summary["ARN"]
        acl = self.acl["web_acl"]
        arn = self.acl["summary"]["ARN"]
        current = {"default_action": "block" if "Block" in (acl.get("DefaultAction") or {}) else "allow",
                   "description": acl.get("Description") or None, "visibility": _prune(acl.get("VisibilityConfig")),
                   "rules": self.plan_view(acl.get("Rules"), arns)}
        if self.plan.update("web_acl", self.name, current, desired):
            kwargs = {key: acl[key] for key in CARRIED_OVER if acl.get(key)}
            with self.cm.doing("updating web ACL " + self.name):
                try:
                    self.waf.update_web_acl(
                        Name=self.name, Scope=self.scope, Id=acl["Id"], DefaultAction={ACTIONS[spec["default_action"]]: {}},
                        Description=spec["description"], Rules=rules, VisibilityConfig=visibility(self.name),
                        LockToken=self.acl["lock_token"], **kwargs)
                except Exception as exc:
                    if error_code(exc) == "WAFOptimisticLockException":
                        raise CairnError(
                            "Web ACL {0} changed while the module was converging it (someone else updated it since it was read); "
                            "nothing of it was changed. Rerun to converge from its new state.".format(self.name),
                            error_code="WAFOptimisticLockException")
                    raise
        self.reconcile_tags("web_acl", self.name, arn, self.acl["tags"], tags, keep=self.remembered_associations().values())
        return arn

    def delete_unused_ip_sets(self):
        """IP sets whose list became empty, after the web ACL stopped referring to them."""
        for key, current in sorted(self.ip_sets.items()):
            if self.spec["ip_sets"][key] or current.get("created"):
                continue
            self.delete_ip_set(key, current)
            del self.ip_sets[key]

    def delete_ip_set(self, key, current):
        name = current["summary"]["Name"]
        if self.plan.delete("ip_set", name, {"addresses": sorted(current["ip_set"].get("Addresses", []))}):
            with self.cm.doing("deleting IP set " + name):
                self.waf.delete_ip_set(Name=name, Scope=self.scope, Id=current["summary"]["Id"], LockToken=current["lock_token"])

    def ensure_logging(self, acl_arn):
        settings = self.spec["logging"]
        if not settings["enabled"]:
            if self.logging_config is not None and self.plan.delete("logging_configuration", self.name,
                                                                    {"log_destination": self.logging_config.get("LogDestinationConfigs")}):
                with self.cm.doing("removing the logging configuration of web ACL " + self.name):
                    self.waf.delete_logging_configuration(ResourceArn=acl_arn)
            return None
        group_arn = self.log_groups.ensure(settings["log_group_name"], settings["retention_days"], settings.get("kms_key_id"),
                                           field="logging.log_group_name")
        desired = {"log_destination": [group_arn], "redacted_headers": settings["redacted_headers"], "logging_filter": None}
        config = self.logging_config
        if config is None:
            write = self.plan.create("logging_configuration", self.name, desired)
        else:
            current = {"log_destination": config.get("LogDestinationConfigs"), "redacted_headers": redacted_headers(config.get("RedactedFields")),
                       "logging_filter": config.get("LoggingFilter")}
            write = self.plan.update("logging_configuration", self.name, current, desired)
        if write:
            with self.cm.doing("configuring the logging of web ACL " + self.name):
                self.waf.put_logging_configuration(LoggingConfiguration={
                    "ResourceArn": acl_arn, "LogDestinationConfigs": [group_arn],
                    "RedactedFields": redacted_fields(settings["redacted_headers"])})
        return {"log_group_name": settings["log_group_name"], "log_group_arn": group_arn,
                "retention_days": settings["retention_days"], "redacted_headers": settings["redacted_headers"]}

    def web_acl_for(self, resource_arn):
        """The ARN of the web ACL protecting the resource, or None."""
        with self.cm.doing("reading the web ACL of " + resource_arn):
            try:
                web_acl = self.waf.get_web_acl_for_resource(ResourceArn=resource_arn).get("WebACL")
            except Exception as exc:
                if error_code(exc) == "WAFNonexistentItemException":
                    return None
                raise
        return (web_acl or {}).get("ARN")

    def ensure_associations(self, acl_arn):
        desired = self.spec["associations"]
        if desired is None:
            return None
        remembered = self.remembered_associations()
        to_tag, to_untag = {}, []
        for resource_arn in desired:
            current = self.web_acl_for(resource_arn)
            if current == acl_arn and resource_arn in remembered:
                continue
            if current == acl_arn:
                # Associated outside the module: remember it, so removing it from the list disassociates it.
                if self.plan.create("web_acl_association", resource_arn, {"web_acl": self.name}, note="already associated; now managed"):
                    to_tag[association_tag(resource_arn)] = resource_arn
                continue
            if self.plan.create("web_acl_association", resource_arn, {"web_acl": self.name, "replaces": current}):
                with self.cm.doing("associating web ACL {0} with {1}".format(self.name, resource_arn)):
                    self.waf.associate_web_acl(WebACLArn=acl_arn, ResourceArn=resource_arn)
                to_tag[association_tag(resource_arn)] = resource_arn
        for resource_arn, key in sorted(remembered.items()):
            if resource_arn not in desired and self.disassociate(acl_arn, resource_arn):
                to_untag.append(key)
        self.write_association_tags(acl_arn, to_tag, to_untag)
        return desired

    def disassociate(self, acl_arn, resource_arn):
        """Disassociate a resource the module associated; True when its tag should go."""
        current = self.web_acl_for(resource_arn)
        note = None if current == acl_arn else "no longer associated with this web ACL; forgotten"
        if not self.plan.delete("web_acl_association", resource_arn, {"web_acl": self.name}, note=note):
            return False
        if current == acl_arn:
            with self.cm.doing("disassociating web ACL {0} from {1}".format(self.name, resource_arn)):
                self.waf.disassociate_web_acl(ResourceArn=resource_arn)
        return True

    def write_association_tags(self, acl_arn, to_tag, to_untag):
        with self.cm.doing("recording the associations of web ACL " + self.name):
            if to_tag:
                self.waf.tag_resource(ResourceARN=acl_arn, Tags=dict_to_boto3_tag_list(to_tag))
            if to_untag:
                self.waf.untag_resource(ResourceARN=acl_arn, TagKeys=sorted(to_untag))

    # ---- absent ---------------------------------------------------------------------------
    def absent(self):
        self.read()
        if self.acl is not None and self.owned(self.acl):
            acl_arn = self.acl["summary"]["ARN"]
            for resource_arn in sorted(self.remembered_associations()):
                self.disassociate(acl_arn, resource_arn)
            if self.logging_config is not None and self.plan.delete("logging_configuration", self.name,
                                                                    {"log_destination": self.logging_config.get("LogDestinationConfigs")}):
                with self.cm.doing("removing the logging configuration of web ACL " + self.name):
                    self.waf.delete_logging_configuration(ResourceArn=acl_arn)
            if self.plan.delete("web_acl", self.name, {"id": self.acl["summary"]["Id"], "scope": self.scope}):
                with self.cm.doing("deleting web ACL " + self.name):
                    try:
                        self.waf.delete_web_acl(Name=self.name, Scope=self.scope, Id=self.acl["summary"]["Id"], LockToken=self.acl["lock_token"])
                    except Exception as exc:
                        if error_code(exc) == "WAFAssociatedItemException":
                            raise CairnError(
                                "AWS refused to delete web ACL {0}: it still protects resources the module did not associate. "
                                "Find them with `aws wafv2 list-resources-for-web-acl --web-acl-arn {1}`, disassociate them, "
                                "then rerun.".format(self.name, acl_arn), error_code="WAFAssociatedItemException")
                        raise
        for key, current in sorted(self.ip_sets.items()):
            if self.owned(current):
                self.delete_ip_set(key, current)
        self.log_groups.delete(self.spec["logging"]["log_group_name"])
        return {}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        converger = WafConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

"""load_balancer's pure checks: every bad input refused by build_spec, before any API call, with the field named and
the reason given; the defaults and the normalised desired state of accepted inputs; the rule-shadowing logic."""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.load_balancer import (
    ARGUMENT_SPEC,
    COMPONENT,
    LEGACY_POLICIES,
    MODERN_POLICIES,
    REQUIRED_IF,
    SSL_POLICIES,
    arn_suffix,
    build_spec,
    glob_covers,
    target_ports,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
CERT = "arn:aws:acm:us-east-1:{0}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
CERT2 = "arn:aws:acm:us-east-1:{0}:certificate/9876abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
IAM_CERT = "arn:aws:iam::{0}:server-certificate/prod/alb-2026".format(ACCOUNT)
WEB_ACL = "arn:aws:wafv2:us-east-1:{0}:regional/webacl/prod-alb/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".format(ACCOUNT)
SUBNETS = ["subnet-0fedcba9876543210", "subnet-0123456789abcdef0"]
VPC = "vpc-0123456789abcdef0"
SG = "sg-0123456789abcdef0"


def params(**overrides):
    """The module's parameters as Ansible fills them in (defaults included)."""
    args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
                name="prod-us-east-1-alb", subnet_ids=SUBNETS, vpc_id=VPC, certificate_arn=CERT,
                target_groups=[{"name": "prod-web", "port": 8080}, {"name": "prod-api", "port": 9090}],
                rules=[{"priority": 10, "path_patterns": ["/api/*"], "target_group": "prod-api"},
                       {"priority": 100, "path_patterns": ["/*"], "target_group": "prod-web"}],
                _ansible_check_mode=False, _ansible_diff=False)
    args.update(overrides)
    with patch_module_args(args):
        return CairnModule(COMPONENT, ARGUMENT_SPEC, required_if=REQUIRED_IF).params


def refused(**overrides):
    values = params()
    values.update(overrides)
    with pytest.raises(InputError) as err:
        build_spec(values, "us-east-1")
    return err.value.message


def group(name="prod-web", **extra):
    return dict({"name": name, "port": 8080}, **extra)


def rule(priority, target="prod-web", paths=None, hosts=None):
    return {"priority": priority, "path_patterns": paths, "host_headers": hosts, "target_group": target}


# ---- accepted inputs and defaults ---------------------------------------------------------
def test_the_defaults_give_tls12_https_a_redirect_a_404_and_hardened_attributes():
    spec = build_spec(params(), "us-east-1")
    assert spec["state"] == "present" and spec["scheme"] == "internet-facing" and spec["ip_address_type"] == "ipv4"
    assert spec["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06" and spec["http_redirect"] is True
    assert spec["subnet_ids"] == sorted(SUBNETS) and spec["security_group_ids"] is None
    assert spec["additional_certificate_arns"] == [] and spec["web_acl_arn"] is None and spec["target_security_group_id"] is None
    assert spec["default_action"] == {"status_code": "404", "content_type": "text/plain", "message_body": "Not Found"}
    assert (spec["wait"], spec["wait_timeout"]) == (True, 600)
    assert spec["attributes_view"] == {"access_logs": None, "connection_logs": None, "drop_invalid_header_fields": True,
                                       "desync_mitigation_mode": "strictest", "http2": True, "deletion_protection": False,
                                       "idle_timeout": 60}
    assert spec["attributes"] == {
        "access_logs.s3.enabled": "false", "connection_logs.s3.enabled": "false",
        "routing.http.drop_invalid_header_fields.enabled": "true", "routing.http.desync_mitigation_mode": "strictest",
        "routing.http2.enabled": "true", "deletion_protection.enabled": "false", "idle_timeout.timeout_seconds": "60"}


def test_target_groups_without_a_health_check_get_the_documented_defaults_each():
    """Two groups without health_check: Ansible must not share one filled-in default dict between them."""
    spec = build_spec(params(target_groups=[group("prod-web"), group("prod-api", port=9090, protocol="HTTPS")],
                             rules=[rule(10, "prod-api", ["/api/*"])]), "us-east-1")
    web, api = spec["target_groups"]
    assert web == {"name": "prod-web", "port": 8080, "protocol": "HTTP", "target_type": "ip", "vpc_id": VPC, "deregistration_delay": 300,
                   "slow_start": None, "health_check": {"path": "/", "port": "traffic-port", "protocol": "HTTP", "interval_seconds": 30,
                                                        "timeout_seconds": 5, "healthy_threshold": 5, "unhealthy_threshold": 2,
                                                        "matcher": "200"}}
    # The check's protocol follows the group's.
    assert api["protocol"] == "HTTPS" and api["health_check"]["protocol"] == "HTTPS"


def test_a_health_check_and_group_attributes_as_given_are_kept():
    spec = build_spec(params(target_groups=[group(health_check={"path": "/healthz", "port": "8081", "protocol": "HTTPS",
                                                                "interval_seconds": 10, "timeout_seconds": 9, "healthy_threshold": 2,
                                                                "unhealthy_threshold": 10, "matcher": "200, 204,300-399"},
                                                  deregistration_delay=0, slow_start=0, target_type="instance")],
                             rules=[]), "us-east-1")
    [web] = spec["target_groups"]
    assert web["health_check"] == {"path": "/healthz", "port": "8081", "protocol": "HTTPS", "interval_seconds": 10, "timeout_seconds": 9,
                                   "healthy_threshold": 2, "unhealthy_threshold": 10, "matcher": "200,204,300-399"}
    assert (web["deregistration_delay"], web["slow_start"], web["target_type"]) == (0, 0, "instance")
    assert target_ports(spec) == [8080, 8081]


def test_rules_are_sorted_by_priority_and_keep_their_conditions():
    spec = build_spec(params(rules=[rule(100, paths=["/*"]), rule(5, "prod-api", ["/api/*", "/v2/*"], ["API.example.com"]),
                                    rule(7, "prod-api", hosts=["*.example.com"])]), "us-east-1")
    assert [(r["priority"], r["target_group"]) for r in spec["rules"]] == [(5, "prod-api"), (7, "prod-api"), (100, "prod-web")]
    assert spec["rules"][0] == {"priority": 5, "path_patterns": ["/api/*", "/v2/*"], "host_headers": ["API.example.com"],
                                "target_group": "prod-api"}
    assert spec["rules"][1]["path_patterns"] == []


def test_a_narrower_rule_evaluated_first_is_accepted():
    # /api/v1/* at 10 before /api/* at 20: both can match.
    spec = build_spec(params(rules=[rule(10, "prod-api", ["/api/v1/*"]), rule(20, "prod-api", ["/api/*"])]), "us-east-1")
    assert [r["priority"] for r in spec["rules"]] == [10, 20]
    # A host rule first and a path rule after it overlap only partly.
    build_spec(params(rules=[rule(10, "prod-api", hosts=["api.example.com"]), rule(20, "prod-web", ["/*"])]), "us-east-1")
    # The same paths on two different hosts.
    build_spec(params(rules=[rule(10, "prod-api", ["/*"], ["a.example.com"]), rule(20, "prod-web", ["/*"], ["b.example.com"])]), "us-east-1")


def test_logs_web_acl_certificates_and_every_modern_policy_are_accepted():
    spec = build_spec(params(attributes={"access_logs": {"bucket": "cairn-prod-logs", "prefix": "alb/prod"},
                                         "connection_logs": {"bucket": "cairn-prod-logs"}, "idle_timeout": 4000,
                                         "deletion_protection": True, "http2": False, "desync_mitigation_mode": "monitor"},
                             web_acl_arn=WEB_ACL, additional_certificate_arns=[CERT2, IAM_CERT], security_group_ids=[SG],
                             target_security_group_id="sg-0aaaaaaaaaaaaaaa1"), "us-east-1")
    assert spec["attributes"] == {
        "access_logs.s3.enabled": "true", "access_logs.s3.bucket": "cairn-prod-logs", "access_logs.s3.prefix": "alb/prod",
        "connection_logs.s3.enabled": "true", "connection_logs.s3.bucket": "cairn-prod-logs", "connection_logs.s3.prefix": "",
        "routing.http.drop_invalid_header_fields.enabled": "true", "routing.http.desync_mitigation_mode": "monitor",
        "routing.http2.enabled": "false", "deletion_protection.enabled": "true", "idle_timeout.timeout_seconds": "4000"}
    assert spec["web_acl_arn"] == WEB_ACL and spec["additional_certificate_arns"] == sorted([CERT2, IAM_CERT])
    assert spec["security_group_ids"] == [SG] and spec["target_security_group_id"] == "sg-0aaaaaaaaaaaaaaa1"
    assert build_spec(params(certificate_arn=IAM_CERT), "us-east-1")["certificate_arn"] == IAM_CERT
    assert build_spec(params(web_acl_arn=""), "us-east-1")["web_acl_arn"] == ""
    for policy in MODERN_POLICIES:
        assert build_spec(params(ssl_policy=policy), "us-east-1")["ssl_policy"] == policy
    for policy in LEGACY_POLICIES:
        assert build_spec(params(ssl_policy=policy, allow_legacy_tls=True), "us-east-1")["ssl_policy"] == policy


def test_the_policy_table_sorts_policies_by_the_oldest_tls_version_they_accept():
    assert "ELBSecurityPolicy-2016-08" in LEGACY_POLICIES and "ELBSecurityPolicy-TLS13-1-1-2021-06" in LEGACY_POLICIES
    assert "ELBSecurityPolicy-FS-1-2-Res-2020-10" in MODERN_POLICIES and "ELBSecurityPolicy-TLS13-1-3-2021-06" in MODERN_POLICIES
    assert set(MODERN_POLICIES) | set(LEGACY_POLICIES) == set(SSL_POLICIES)
    assert not set(MODERN_POLICIES) & set(LEGACY_POLICIES)


def test_planned_ids_of_earlier_tasks_are_planned_with():
    spec = build_spec(params(subnet_ids=[UNKNOWN, UNKNOWN], vpc_id=UNKNOWN, security_group_ids=[UNKNOWN], certificate_arn=UNKNOWN,
                             web_acl_arn=UNKNOWN, target_security_group_id=UNKNOWN,
                             attributes={"access_logs": {"bucket": UNKNOWN}}), "us-east-1")
    assert spec["subnet_ids"] == [UNKNOWN, UNKNOWN] and spec["certificate_arn"] == UNKNOWN
    assert spec["target_groups"][0]["vpc_id"] == UNKNOWN and spec["attributes"]["access_logs.s3.bucket"] == UNKNOWN


def test_state_absent_needs_only_the_name():
    values = params(state="absent", subnet_ids=None, certificate_arn=None, target_groups=[], rules=[])
    assert build_spec(values, "us-east-1") == {"state": "absent", "name": "prod-us-east-1-alb", "wait": True, "wait_timeout": 600,
                                               "target_security_group_id": None}


def test_arn_suffixes_are_as_cloudwatch_names_them():
    tg = "arn:aws:elasticloadbalancing:us-east-1:{0}:targetgroup/prod-web/73e2d6bc24d8a067".format(ACCOUNT)
    assert arn_suffix(tg, "targetgroup/") == "targetgroup/prod-web/73e2d6bc24d8a067"
    assert arn_suffix(UNKNOWN, "targetgroup/") == UNKNOWN


# ---- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, reason", [
    ("-alb", "not starting or ending with -"), ("alb-", "not starting or ending with -"), ("a" * 33, "1 to 32 letters"),
    ("prod_alb", "1 to 32 letters, digits and -"), ("", "1 to 32 letters"),
])
def test_bad_load_balancer_names_are_refused(name, reason):
    message = refused(name=name)
    assert message.startswith("name: {0!r} is not a valid load balancer name".format(name)) and reason in message


def test_a_name_starting_with_internal_is_refused():
    assert refused(name="Internal-alb") == ("name: 'Internal-alb' starts with 'internal-', which AWS reserves for the DNS names of "
                                            "internal load balancers.")
    assert build_spec(params(name="a" * 32), "us-east-1")["name"] == "a" * 32


def test_fewer_than_two_subnets_bad_and_duplicate_ids_are_refused():
    assert refused(subnet_ids=["subnet-0123456789abcdef0"]) == (
        "subnet_ids: an Application Load Balancer needs at least 2 subnets in different Availability Zones; got 1.")
    assert refused(subnet_ids=[]).startswith("subnet_ids: required with state=present")
    assert refused(subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]) == (
        "subnet_ids: subnet-0123456789abcdef0 is listed twice; list each subnet once.")
    assert refused(subnet_ids=["subnet-0123456789abcdef0", "sub-1"]) == "subnet_ids: 'sub-1' is not a subnet id."
    assert refused(security_group_ids=[]) == "security_group_ids: an Application Load Balancer needs at least 1 security group; got 0."
    six = ["sg-0{0:016x}".format(index) for index in range(6)]
    assert refused(security_group_ids=six) == "security_group_ids: at most 5 security groups; got 6."
    assert refused(security_group_ids=["default"]) == "security_group_ids: 'default' is not a security group id."
    assert refused(vpc_id="vpc-1") == "vpc_id: 'vpc-1' is not a VPC id."
    assert refused(target_security_group_id="eks-cluster-sg") == "target_security_group_id: 'eks-cluster-sg' is not a security group id."


def test_target_groups_need_a_vpc():
    assert refused(vpc_id=None) == "vpc_id: required with target_groups (a target group lives in one VPC, the load balancer's)."


@pytest.mark.parametrize("policy, protocols", [
    ("ELBSecurityPolicy-2016-08", "TLS 1.0 and TLS 1.1"), ("ELBSecurityPolicy-TLS-1-1-2017-01", "TLS 1.1"),
    ("ELBSecurityPolicy-TLS13-1-0-2021-06", "TLS 1.0 and TLS 1.1"), ("ELBSecurityPolicy-FS-1-1-2019-08", "TLS 1.1"),
    ("ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04", "TLS 1.1"),
])
def test_policies_accepting_tls10_or_tls11_are_refused_unless_allowed(policy, protocols):
    message = refused(ssl_policy=policy)
    assert message.startswith("ssl_policy: {0} lets clients connect with {1}, which the platform refuses (TLS 1.2 or newer only)".format(
        policy, protocols))
    assert "set allow_legacy_tls: true" in message and "ELBSecurityPolicy-TLS13-1-2-2021-06" in message


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-TLS13-1-2-2099-01", "elbsecuritypolicy-2016-08", "TLSv1.2_2021", ""])
def test_policies_aws_does_not_offer_are_refused(policy):
    message = refused(ssl_policy=policy or "ELBSecurityPolicy-Nope", allow_legacy_tls=True)
    assert "is not a security policy AWS offers for Application Load Balancers; use one of ELBSecurityPolicy-TLS13-1-3-2021-06" in message
    assert "(or, with allow_legacy_tls: true, ELBSecurityPolicy-TLS13-1-1-2021-06" in message


def test_certificate_arns_of_another_region_or_format_are_refused():
    assert refused(certificate_arn=None) == "certificate_arn: required with state=present (the HTTPS listener's default certificate)."
    other = CERT.replace("us-east-1", "eu-west-1")
    assert refused(certificate_arn=other) == (
        "certificate_arn: the certificate {0} is in eu-west-1, the load balancer in us-east-1; an ALB uses ACM certificates of its "
        "own region (request or import one there).".format(other))
    for bad in ("1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:acm:us-east-1:123:certificate/x",
                "arn:aws:iam::123456789012:role/alb", "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"):
        assert refused(certificate_arn=bad) == (
            "certificate_arn: {0!r} is not the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>) or an IAM "
            "server certificate.".format(bad))
    assert refused(additional_certificate_arns=[CERT2, "nope"]).startswith("additional_certificate_arns[1]: 'nope' is not the ARN")
    assert refused(additional_certificate_arns=[other]).startswith("additional_certificate_arns[0]: the certificate")
    assert refused(additional_certificate_arns=[CERT]) == (
        "additional_certificate_arns[0]: {0} is listed twice (or is the default certificate_arn).".format(CERT))
    assert refused(additional_certificate_arns=[CERT2, CERT2]).startswith("additional_certificate_arns[1]: {0} is listed twice".format(CERT2))
    many = [CERT.replace("1234abcd", "{0:08x}".format(index)) for index in range(26)]
    assert refused(additional_certificate_arns=many) == "additional_certificate_arns: at most 25 certificates besides the default; got 26."


def test_bad_target_groups_are_refused_with_the_field_named():
    assert refused(target_groups=[group(), group()], rules=[]) == (
        "target_groups[1].name: prod-web is listed twice; every target group needs its own name.")
    assert refused(target_groups=[group("web_1")], rules=[]).startswith("target_groups[0].name: 'web_1' is not a valid target group name")
    assert refused(target_groups=[group(port=0)], rules=[]) == "target_groups[0].port: AWS accepts 1 to 65535; got 0."
    assert refused(target_groups=[group(deregistration_delay=3601)], rules=[]) == (
        "target_groups[0].deregistration_delay: AWS accepts 0 to 3600 seconds; got 3601.")
    assert refused(target_groups=[group(slow_start=29)], rules=[]) == (
        "target_groups[0].slow_start: AWS accepts 30 to 900 seconds (or 0 for none); got 29.")
    assert refused(target_groups=[group(slow_start=901)], rules=[]).endswith("got 901.")
    many = [group("g{0}".format(index)) for index in range(101)]
    assert refused(target_groups=many, rules=[]) == "target_groups: at most 100 target groups per load balancer; got 101."


@pytest.mark.parametrize("health_check, message", [
    ({"interval_seconds": 4}, "target_groups[0].health_check.interval_seconds: AWS accepts 5 to 300 seconds; got 4."),
    ({"interval_seconds": 301}, "target_groups[0].health_check.interval_seconds: AWS accepts 5 to 300 seconds; got 301."),
    ({"timeout_seconds": 1}, "target_groups[0].health_check.timeout_seconds: AWS accepts 2 to 120 seconds; got 1."),
    ({"healthy_threshold": 1}, "target_groups[0].health_check.healthy_threshold: AWS accepts 2 to 10; got 1."),
    ({"unhealthy_threshold": 11}, "target_groups[0].health_check.unhealthy_threshold: AWS accepts 2 to 10; got 11."),
    ({"interval_seconds": 10, "timeout_seconds": 10},
     "target_groups[0].health_check.timeout_seconds: must be less than interval_seconds (10); got 10."),
    ({"path": "healthz"}, "target_groups[0].health_check.path: 'healthz' must start with / and have at most 1024 characters."),
    ({"path": "/" + "x" * 1024}, "must start with / and have at most 1024 characters."),
    ({"port": "0"}, "target_groups[0].health_check.port: '0' must be traffic-port (the group's port) or a port from 1 to 65535."),
    ({"port": "http"}, "target_groups[0].health_check.port: 'http' must be traffic-port"),
    ({"matcher": "199"}, "target_groups[0].health_check.matcher: '199' is not a list of HTTP codes from 200 to 499"),
    ({"matcher": "200-500"}, "'200-500' is not a list of HTTP codes from 200 to 499"),
    ({"matcher": "399-200"}, "'399-200' is not a list of HTTP codes"),
    ({"matcher": "2xx"}, "'2xx' is not a list of HTTP codes"),
])
def test_health_checks_out_of_aws_ranges_are_refused(health_check, message):
    assert message in refused(target_groups=[group(health_check=health_check)], rules=[])


def test_duplicate_and_out_of_range_priorities_are_refused():
    assert refused(rules=[rule(10, paths=["/a"]), rule(10, paths=["/b"])]) == (
        "rules[1].priority: 10 is also the priority of rules[0]; each rule needs its own.")
    assert refused(rules=[rule(0, paths=["/a"])]) == "rules[0].priority: AWS accepts 1 to 50000; got 0."
    assert refused(rules=[rule(50001, paths=["/a"])]) == "rules[0].priority: AWS accepts 1 to 50000; got 50001."


def test_a_rule_shadowed_by_one_evaluated_first_is_refused_with_both_named():
    assert refused(rules=[rule(10, "prod-api", ["/api/*"]), rule(20, "prod-api", ["/api/v1/*"])]) == (
        "rules: the rule with priority 20 (path_patterns /api/v1/*) can never match: every request it matches is already taken by "
        "the rule with priority 10 (path_patterns /api/*), which the listener evaluates first (lowest number first). Give the rule "
        "of priority 20 a number below 10, or narrow the rule of priority 10.")
    # The same pattern twice, whatever the order in the list.
    assert "priority 30 (path_patterns /docs) can never match" in refused(rules=[rule(30, paths=["/docs"]), rule(5, paths=["/docs"])])
    # A catch-all first.
    assert "priority 20 (path_patterns /api/*) can never match" in refused(rules=[rule(10, paths=["/*"]), rule(20, "prod-api", ["/api/*"])])
    # A rule without a host condition takes every host; host names compare without case.
    message = refused(rules=[rule(10, paths=["/a*"]), rule(20, paths=["/ab"], hosts=["x.example.com"])])
    assert "priority 20 (path_patterns /ab; host_headers x.example.com) can never match" in message
    assert "can never match" in refused(rules=[rule(10, hosts=["*.Example.com"]), rule(20, hosts=["api.example.COM"], paths=["/x"])])
    # ? stands for one character: /v? covers /v1.
    assert "can never match" in refused(rules=[rule(10, paths=["/v?"]), rule(20, paths=["/v1", "/v2"])])


def test_glob_covers_is_sound():
    assert glob_covers("/api/*", "/api/v1/*") and glob_covers("*", "?") and glob_covers("/v?", "/v?")
    assert not glob_covers("/api/v1/*", "/api/*") and not glob_covers("/v?", "/v*") and not glob_covers("/a?", "/a")
    assert not glob_covers("/api", "/api/") and glob_covers("*.example.com", "a.b.example.com")


def test_bad_rule_conditions_and_targets_are_refused():
    assert refused(rules=[rule(10)]) == "rules[0]: a rule needs path_patterns, host_headers or both."
    assert refused(rules=[rule(10, "nope", ["/a"])]) == "rules[0].target_group: 'nope' is not one of target_groups (prod-api, prod-web)."
    assert refused(target_groups=[], vpc_id=None, rules=[rule(10, "prod-web", ["/a"])]) == (
        "rules[0].target_group: 'prod-web' is not one of target_groups (none are given).")
    assert refused(rules=[rule(10, paths=["/a b"])]).startswith("rules[0].path_patterns: '/a b' is not an ALB path pattern")
    assert refused(rules=[rule(10, paths=["/" + "a" * 128])]).startswith("rules[0].path_patterns:")
    assert refused(rules=[rule(10, paths=["/a", "/a"])]) == "rules[0].path_patterns: '/a' is listed twice."
    assert refused(rules=[rule(10, hosts=["A.example.com", "a.EXAMPLE.com"])]) == "rules[0].host_headers: 'a.EXAMPLE.com' is listed twice."
    assert refused(rules=[rule(10, hosts=["exa_mple.com"])]).startswith("rules[0].host_headers: 'exa_mple.com' is not an ALB host condition")
    assert refused(rules=[rule(10, hosts=["localhost"])]) == (
        "rules[0].host_headers: 'localhost' needs a dot and only letters (or wildcards) after its last dot.")
    assert refused(rules=[rule(10, hosts=["example.com1"])]).startswith("rules[0].host_headers: 'example.com1' needs a dot")
    assert refused(rules=[rule(10, paths=["/a", "/b", "/c"], hosts=["a.example.com", "b.example.com", "c.example.com"])]) == (
        "rules[0]: a rule holds at most 5 path patterns and host names together; got 6.")
    assert refused(rules=[rule(10, paths=["/*/*/*", "/x/*/*/*"])]) == "rules[0]: a rule holds at most 5 wildcards (* and ?) in its conditions; got 6."
    many = [rule(index + 1, paths=["/p{0}".format(index)]) for index in range(101)]
    assert refused(rules=many) == "rules: a listener holds at most 100 rules; got 101."


def test_bad_default_action_attributes_and_web_acls_are_refused():
    assert refused(default_action={"status_code": "301"}) == "default_action.status_code: '301' must be a 2XX, 4XX or 5XX code."
    assert refused(default_action={"message_body": "x" * 1025}) == "default_action.message_body: at most 1024 characters; got 1025."
    assert refused(attributes={"idle_timeout": 0}) == "attributes.idle_timeout: AWS accepts 1 to 4000 seconds; got 0."
    assert refused(attributes={"idle_timeout": 4001}).endswith("got 4001.")
    assert refused(attributes={"access_logs": {"bucket": "Logs_Bucket"}}) == (
        "attributes.access_logs.bucket: 'Logs_Bucket' is not an S3 bucket name (3 to 63 lowercase letters, digits, . and -).")
    assert refused(attributes={"connection_logs": {"bucket": "cairn-logs", "prefix": "/alb"}}).startswith(
        "attributes.connection_logs.prefix: '/alb' may not start with / nor contain AWSLogs")
    assert "nor contain AWSLogs" in refused(attributes={"access_logs": {"bucket": "cairn-logs", "prefix": "x/AWSLogs/y"}})
    assert refused(web_acl_arn="prod-alb").startswith("web_acl_arn: 'prod-alb' is not the ARN of a WAFv2 web ACL")
    cloudfront_acl = WEB_ACL.replace(":us-east-1:", "::").replace("regional/", "global/")
    assert refused(web_acl_arn=cloudfront_acl).startswith("web_acl_arn: {0} is a CLOUDFRONT web ACL".format(cloudfront_acl))
    other = WEB_ACL.replace("us-east-1", "us-west-2")
    assert refused(web_acl_arn=other) == (
        "web_acl_arn: the web ACL {0} is in us-west-2, the load balancer in us-east-1; a regional web ACL protects resources of its "
        "own region only.".format(other))
    assert refused(wait_timeout=0) == "wait_timeout: must be at least 1 second; got 0."

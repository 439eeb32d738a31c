"""load_balancer paths the emulator does not model, driven by botocore Stubber (every request checked against the real
ELBv2, ACM, EC2 and WAFv2 API models).

AWS attaches only ISSUED ACM certificates to a listener (UnsupportedCertificate) and moto attaches any; AWS enforces
deletion protection (OperationNotPermitted) and refuses to delete a target group a listener or rule still uses
(ResourceInUse), moto does neither; AWS's DescribeLoadBalancerAttributes answers every attribute, moto only those
written. Check mode is shown to make reads only: Stubber fails on any call not queued.
"""

from __future__ import annotations

import datetime

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.tags import dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.modules.load_balancer import (
    ARGUMENT_SPEC,
    COMPONENT,
    REQUIRED_IF,
    LoadBalancerConverger,
    build_spec,
    fixed_response,
    health_check_params,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
STACK = "prod-us-east-1"
NAME = "prod-us-east-1-alb"
PREFIX = "arn:aws:elasticloadbalancing:us-east-1:{0}:".format(ACCOUNT)
LB_ARN = PREFIX + "loadbalancer/app/{0}/50dc6c495c0c9188".format(NAME)
HTTPS_ARN = PREFIX + "listener/app/{0}/50dc6c495c0c9188/f2f7dc8efc522ab2".format(NAME)
HTTP_ARN = PREFIX + "listener/app/{0}/50dc6c495c0c9188/a1b2c3d4e5f60718".format(NAME)
RULE_ARN = PREFIX + "listener-rule/app/{0}/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee".format(NAME)
WEB = "prod-us-east-1-web"
WEB_ARN = PREFIX + "targetgroup/{0}/73e2d6bc24d8a067".format(WEB)
OLD = "prod-us-east-1-old"
OLD_ARN = PREFIX + "targetgroup/{0}/0123456789abcdef".format(OLD)
CERT = "arn:aws:acm:us-east-1:{0}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
NEW_CERT = "arn:aws:acm:us-east-1:{0}:certificate/9876abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
VPC = "vpc-0123456789abcdef0"
ALB_SG = "sg-0aaaaaaaaaaaaaaa1"
NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)
OWNERSHIP = {"cairn:environment": "prod", "cairn:stack": STACK, "cairn:component": COMPONENT, "cairn:managed-by": "cairn.platform"}
# DescribeLoadBalancerAttributes as AWS answers it for an ALB: every attribute, also those never written.
AWS_ATTRIBUTES = {
    "access_logs.s3.enabled": "false", "access_logs.s3.bucket": "", "access_logs.s3.prefix": "",
    "connection_logs.s3.enabled": "false", "connection_logs.s3.bucket": "", "connection_logs.s3.prefix": "",
    "health_check_logs.s3.enabled": "false", "health_check_logs.s3.bucket": "", "health_check_logs.s3.prefix": "",
    "deletion_protection.enabled": "false", "idle_timeout.timeout_seconds": "60", "client_keep_alive.seconds": "3600",
    "routing.http.desync_mitigation_mode": "strictest", "routing.http.drop_invalid_header_fields.enabled": "true",
    "routing.http.preserve_host_header.enabled": "false", "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false", "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true", "waf.fail_open.enabled": "false", "zonal_shift.config.enabled": "false",
}


def make(check_mode=False, **args):
    module_args = dict(environment="prod", stack=STACK, region="us-east-1", name=NAME, access_key="testing", secret_key="testing",
                       vpc_id=VPC, subnet_ids=SUBNETS, security_group_ids=[ALB_SG], certificate_arn=CERT,
                       target_groups=[{"name": WEB, "port": 8080, "health_check": {"path": "/healthz"}}],
                       rules=[{"priority": 100, "path_patterns": ["/*"], "target_group": WEB}],
                       _ansible_check_mode=check_mode, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC, required_if=REQUIRED_IF)
    converger = LoadBalancerConverger(cm, build_spec(cm.params, "us-east-1"))
    assert converger.elb is cm.client("elbv2")  # stubbing the cached client stubs the converger
    return cm, converger


def tags(name):
    return dict(OWNERSHIP, **{"Name": name, "cairn:load-balancer": NAME})


def lb():
    return {"LoadBalancerArn": LB_ARN, "DNSName": NAME + "-1234567890.us-east-1.elb.amazonaws.com",
            "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K", "CreatedTime": NOW, "LoadBalancerName": NAME, "Scheme": "internet-facing",
            "VpcId": VPC, "State": {"Code": "active"}, "Type": "application", "IpAddressType": "ipv4", "SecurityGroups": [ALB_SG],
            "AvailabilityZones": [{"ZoneName": "us-east-1" + zone, "SubnetId": subnet} for zone, subnet in zip("ab", SUBNETS)]}


def target_group(name, arn, port=8080, path="/healthz", attached=True):
    group = {"TargetGroupArn": arn, "TargetGroupName": name, "Protocol": "HTTP", "Port": port, "VpcId": VPC, "TargetType": "ip",
             "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True, "HealthCheckPath": path,
             "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
             "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [LB_ARN] if attached else [], "IpAddressType": "ipv4",
             "ProtocolVersion": "HTTP1"}
    return group


def listener_https(certificate=CERT, policy="ELBSecurityPolicy-TLS13-1-2-2021-06"):
    spec = build_spec(make()[0].params, "us-east-1")
    return {"ListenerArn": HTTPS_ARN, "LoadBalancerArn": LB_ARN, "Port": 443, "Protocol": "HTTPS", "SslPolicy": policy,
            "Certificates": [{"CertificateArn": certificate}], "DefaultActions": [fixed_response(spec["default_action"])]}


def listener_http():
    redirect = {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}",
                "StatusCode": "HTTP_301"}
    return {"ListenerArn": HTTP_ARN, "LoadBalancerArn": LB_ARN, "Port": 80, "Protocol": "HTTP", "DefaultActions": [{
        "Type": "redirect", "Order": 1, "RedirectConfig": redirect}]}


def default_rule(listener_arn):
    return {"RuleArn": listener_arn.replace(":listener/", ":listener-rule/") + "/0000000000000000", "Priority": "default",
            "Conditions": [], "Actions": [], "IsDefault": True}


def web_rule():
    return {"RuleArn": RULE_ARN, "Priority": "100", "IsDefault": False,
            "Conditions": [{"Field": "path-pattern", "Values": ["/*"], "PathPatternConfig": {"Values": ["/*"]}}],
            "Actions": [{"Type": "forward", "Order": 1, "TargetGroupArn": WEB_ARN, "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": WEB_ARN, "Weight": 1}], "TargetGroupStickinessConfig": {"Enabled": False}}}]}


def stub_lb_reads(elb, groups=None, attributes=None, certificate=CERT, found=True):
    """Reads of an existing load balancer (or none): the load balancer, the region's target groups, tags, details."""
    groups = [target_group(WEB, WEB_ARN)] if groups is None else groups
    if not found:
        elb.add_client_error("describe_load_balancers", service_error_code="LoadBalancerNotFound", http_status_code=400,
                             expected_params={"Names": [NAME]})
    else:
        elb.add_response("describe_load_balancers", {"LoadBalancers": [lb()]}, {"Names": [NAME]})
    elb.add_response("describe_target_groups", {"TargetGroups": groups}, {"PageSize": 400})
    arns = ([LB_ARN] if found else []) + [group["TargetGroupArn"] for group in groups]
    if arns:
        elb.add_response("describe_tags", {"TagDescriptions": [
            {"ResourceArn": arn, "Tags": dict_to_boto3_tag_list(tags(NAME if arn == LB_ARN else arn.split("/")[1]))} for arn in arns]},
            {"ResourceArns": arns})
    if not found:
        return
    elb.add_response("describe_load_balancer_attributes", {"Attributes": [
        {"Key": key, "Value": value} for key, value in sorted(dict(AWS_ATTRIBUTES, **(attributes or {})).items())]},
        {"LoadBalancerArn": LB_ARN})
    elb.add_response("describe_listeners", {"Listeners": [listener_https(certificate), listener_http()]}, {"LoadBalancerArn": LB_ARN})
    elb.add_response("describe_rules", {"Rules": [web_rule(), default_rule(HTTPS_ARN)]}, {"ListenerArn": HTTPS_ARN})
    elb.add_response("describe_rules", {"Rules": [default_rule(HTTP_ARN)]}, {"ListenerArn": HTTP_ARN})
    elb.add_response("describe_listener_certificates", {"Certificates": [{"CertificateArn": certificate, "IsDefault": True}]},
                     {"ListenerArn": HTTPS_ARN})


def stub_sg_reads(ec2, rules=()):
    ec2.add_response("describe_security_group_rules", {"SecurityGroupRules": list(rules)}, {"Filters": [
        {"Name": "tag:cairn:load-balancer", "Values": [NAME]}, {"Name": "tag:cairn:stack", "Values": [STACK]}]})


def stub_web_acl_read(wafv2):
    """The association read for the result when web_acl_arn is unset (none here)."""
    wafv2.add_response("get_web_acl_for_resource", {}, {"ResourceArn": LB_ARN})


def stub_group_attributes(elb, arn=WEB_ARN, delay="300"):
    elb.add_response("describe_target_group_attributes", {"Attributes": [
        {"Key": "deregistration_delay.timeout_seconds", "Value": delay}, {"Key": "slow_start.duration_seconds", "Value": "0"},
        {"Key": "stickiness.enabled", "Value": "false"}, {"Key": "load_balancing.algorithm.type", "Value": "round_robin"}]},
        {"TargetGroupArn": arn})


def certificate(arn, status):
    return {"Certificate": {"CertificateArn": arn, "DomainName": "alb.example.com", "Status": status, "Type": "AMAZON_ISSUED"}}


def run(cm, method, script):
    """Run converger method with every client stubbed: any call not queued by `script` fails the test."""
    stubs = {service: Stubber(cm.client(service)) for service in ("elbv2", "ec2", "acm", "wafv2")}
    for stub in stubs.values():
        stub.activate()
    try:
        script(**stubs)
        result = method()
        for stub in stubs.values():
            stub.assert_no_pending_responses()
    finally:
        for stub in stubs.values():
            stub.deactivate()
    return result


def keys(cm):
    return [(c["action"], c["resource_type"], c["resource"]) for c in cm.plan.changes]


# ---- certificates --------------------------------------------------------------------------
def test_aws_full_attribute_answer_and_an_unchanged_listener_need_no_write():
    cm, converger = make()

    def script(elbv2, ec2, wafv2, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)
        stub_group_attributes(elbv2)
        stub_web_acl_read(wafv2)

    result = run(cm, converger.present, script)
    assert cm.plan.changes == []
    assert result["target_groups"][WEB]["arn_suffix"] == "targetgroup/{0}/73e2d6bc24d8a067".format(WEB)
    assert result["load_balancer"]["arn_suffix"] == "app/{0}/50dc6c495c0c9188".format(NAME)
    assert [rule["arn"] for rule in result["rules"]] == [RULE_ARN]


@pytest.mark.parametrize("status, advice", [
    ("PENDING_VALIDATION", "Finish its DNS validation (acm_certificates writes the records and waits) and rerun."),
    ("EXPIRED", "Request a new certificate and point certificate_arn at it."),
    ("REVOKED", "Request a new certificate and point certificate_arn at it."),
])
def test_a_certificate_that_is_not_issued_is_refused_before_the_listener_is_changed(status, advice):
    cm, converger = make(certificate_arn=NEW_CERT)

    def script(elbv2, ec2, acm, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)
        acm.add_response("describe_certificate", certificate(NEW_CERT, status), {"CertificateArn": NEW_CERT})
        # No ModifyListener queued: Stubber fails the test if the module writes.

    with pytest.raises(CairnError) as err:
        run(cm, converger.present, script)
    assert err.value.message == (
        "certificate_arn: certificate {0} (alb.example.com) is {1}, not ISSUED; AWS attaches only issued certificates to a listener "
        "(UnsupportedCertificate). {2}".format(NEW_CERT, status, advice))
    assert err.value.details["certificate_status"] == status
    assert cm.plan.changes == []


def test_a_pending_sni_certificate_is_refused_before_a_new_load_balancer_is_created():
    pending = NEW_CERT
    cm, converger = make(additional_certificate_arns=[pending])

    def script(elbv2, ec2, acm, **_):
        stub_lb_reads(elbv2, groups=[], found=False)
        stub_sg_reads(ec2)
        acm.add_response("describe_certificate", certificate(CERT, "ISSUED"), {"CertificateArn": CERT})
        acm.add_response("describe_certificate", certificate(pending, "PENDING_VALIDATION"), {"CertificateArn": pending})

    with pytest.raises(CairnError) as err:
        run(cm, converger.present, script)
    assert err.value.message.startswith("additional_certificate_arns: certificate {0} (alb.example.com) is PENDING_VALIDATION".format(pending))


def test_aws_refusing_the_certificate_on_the_listener_write_is_reported_with_its_code():
    """ISSUED in ACM but refused by ELB (a key type the listener does not support, say): UnsupportedCertificate."""
    cm, converger = make(certificate_arn=NEW_CERT)

    def script(elbv2, ec2, acm, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)
        acm.add_response("describe_certificate", certificate(NEW_CERT, "ISSUED"), {"CertificateArn": NEW_CERT})
        stub_group_attributes(elbv2)
        elbv2.add_client_error("modify_listener", service_error_code="UnsupportedCertificate", http_status_code=400,
                               expected_params={"ListenerArn": HTTPS_ARN, "Certificates": [{"CertificateArn": NEW_CERT}]})

    with pytest.raises(CairnError) as err:
        run(cm, converger.present, script)
    assert err.value.message.startswith("certificate_arn: AWS refused certificate {0} for the HTTPS listener of {1} "
                                        "(UnsupportedCertificate)".format(NEW_CERT, NAME))
    assert err.value.details["error_code"] == "UnsupportedCertificate"
    assert keys(cm) == [("update", "listener", "HTTPS:443")]


# ---- deletion ------------------------------------------------------------------------------
def test_deletion_protection_refuses_state_absent_before_any_delete():
    cm, converger = make(state="absent")

    def script(elbv2, ec2, **_):
        stub_lb_reads(elbv2, attributes={"deletion_protection.enabled": "true"})
        stub_sg_reads(ec2)

    with pytest.raises(CairnError) as err:
        run(cm, converger.absent, script)
    assert err.value.details["error_code"] == "OperationNotPermitted"
    assert err.value.message.startswith("Load balancer {0} has deletion protection on; nothing was deleted.".format(NAME))
    assert cm.plan.changes == []


def test_deletion_protection_turned_on_after_the_read_is_reported_as_aws_answers_it():
    cm, converger = make(state="absent")

    def script(elbv2, ec2, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)
        elbv2.add_response("delete_listener", {}, {"ListenerArn": HTTP_ARN})
        elbv2.add_response("delete_listener", {}, {"ListenerArn": HTTPS_ARN})
        elbv2.add_client_error("delete_load_balancer", service_error_code="OperationNotPermitted", http_status_code=400,
                               expected_params={"LoadBalancerArn": LB_ARN})
        # Neither a target group delete nor a revoke is queued: the module stops there.

    with pytest.raises(CairnError) as err:
        run(cm, converger.absent, script)
    assert err.value.details["error_code"] == "OperationNotPermitted"
    assert "AWS refused to delete load balancer {0}: deletion protection is on".format(NAME) in err.value.message


def test_a_target_group_still_in_use_is_reported_with_resource_in_use_after_the_load_balancer_is_gone():
    cm, converger = make(state="absent")
    owned_rule = {"SecurityGroupRuleId": "sgr-0123456789abcdef0", "GroupId": "sg-0bbbbbbbbbbbbbbb2", "IsEgress": False, "IpProtocol": "tcp",
                  "FromPort": 8080, "ToPort": 8080, "ReferencedGroupInfo": {"GroupId": ALB_SG},
                  "Tags": dict_to_boto3_tag_list(tags(NAME + " to targets tcp/8080"))}

    def script(elbv2, ec2, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2, [owned_rule])
        elbv2.add_response("delete_listener", {}, {"ListenerArn": HTTP_ARN})
        elbv2.add_response("delete_listener", {}, {"ListenerArn": HTTPS_ARN})
        elbv2.add_response("delete_load_balancer", {}, {"LoadBalancerArn": LB_ARN})
        elbv2.add_client_error("describe_load_balancers", service_error_code="LoadBalancerNotFound", http_status_code=400,
                               expected_params={"LoadBalancerArns": [LB_ARN]})
        elbv2.add_client_error("delete_target_group", service_error_code="ResourceInUse", http_status_code=400,
                               expected_params={"TargetGroupArn": WEB_ARN})

    with pytest.raises(CairnError) as err:
        run(cm, converger.absent, script)
    assert err.value.details["error_code"] == "ResourceInUse"
    assert err.value.message.startswith("AWS refused to delete target group {0}: another load balancer's listener or rule".format(WEB))
    # The security group rule is left for the rerun (no revoke was queued).
    assert keys(cm)[-2:] == [("delete", "load_balancer", NAME), ("delete", "target_group", WEB)]


def test_an_unlisted_group_in_use_elsewhere_stops_the_run_with_resource_in_use():
    cm, converger = make()
    old = target_group(OLD, OLD_ARN)
    # Also forwarded to by a listener of another load balancer, which the module does not touch.
    old["LoadBalancerArns"].append(PREFIX + "loadbalancer/app/other-alb/1111111111111111")

    def script(elbv2, ec2, **_):
        stub_lb_reads(elbv2, groups=[target_group(WEB, WEB_ARN), old])
        stub_sg_reads(ec2)
        stub_group_attributes(elbv2)
        elbv2.add_client_error("delete_target_group", service_error_code="ResourceInUse", http_status_code=400,
                               expected_params={"TargetGroupArn": OLD_ARN})

    with pytest.raises(CairnError) as err:
        run(cm, converger.present, script)
    assert err.value.details["error_code"] == "ResourceInUse" and OLD in err.value.message
    assert keys(cm) == [("delete", "target_group", OLD)]


# ---- check mode ----------------------------------------------------------------------------
def test_check_mode_plans_every_change_of_an_existing_load_balancer_and_reads_only():
    cm, converger = make(check_mode=True, ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06", attributes={"idle_timeout": 120},
                         target_groups=[{"name": WEB, "port": 8080, "health_check": {"path": "/livez"}, "deregistration_delay": 30}],
                         rules=[{"priority": 10, "path_patterns": ["/api/*"], "target_group": WEB},
                                {"priority": 100, "path_patterns": ["/*"], "target_group": WEB}],
                         web_acl_arn="", target_security_group_id="sg-0bbbbbbbbbbbbbbb2")
    acl = "arn:aws:wafv2:us-east-1:{0}:regional/webacl/prod-alb/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".format(ACCOUNT)

    def script(elbv2, ec2, wafv2, **_):
        stub_lb_reads(elbv2, groups=[target_group(WEB, WEB_ARN), target_group(OLD, OLD_ARN, attached=False)])
        wafv2.add_response("get_web_acl_for_resource", {"WebACL": {
            "Name": "prod-alb", "Id": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "ARN": acl, "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "alb"}}},
            {"ResourceArn": LB_ARN})
        stub_sg_reads(ec2)
        ec2.add_response("describe_security_group_rules", {"SecurityGroupRules": []},
                         {"Filters": [{"Name": "group-id", "Values": ["sg-0bbbbbbbbbbbbbbb2"]}]})
        stub_group_attributes(elbv2)

    result = run(cm, converger.present, script)
    assert keys(cm) == [
        ("update", "load_balancer_attributes", NAME), ("update", "target_group", WEB), ("update", "target_group_attributes", WEB),
        ("update", "listener", "HTTPS:443"), ("create", "listener_rule", "HTTPS:443 priority 10"), ("delete", "target_group", OLD),
        ("delete", "web_acl_association", NAME), ("create", "security_group_rule", "sg-0bbbbbbbbbbbbbbb2 tcp/8080 from " + ALB_SG)]
    assert cm.plan.changes[0]["fields"] == {"idle_timeout.timeout_seconds": {"before": "60", "after": "120"}}
    assert cm.plan.changes[2]["fields"] == {"deregistration_delay.timeout_seconds": {"before": "300", "after": "30"}}
    assert [rule["arn"] for rule in result["rules"]] == ["(known after apply)", RULE_ARN]
    assert result["security_group_rules"][0]["id"] == "(known after apply)"


def test_check_mode_on_an_empty_account_plans_creates_and_only_reads():
    cm, converger = make(check_mode=True)

    def script(elbv2, ec2, acm, **_):
        stub_lb_reads(elbv2, groups=[], found=False)
        stub_sg_reads(ec2)
        acm.add_response("describe_certificate", certificate(CERT, "ISSUED"), {"CertificateArn": CERT})

    result = run(cm, converger.present, script)
    assert keys(cm) == [("create", "load_balancer", NAME), ("create", "target_group", WEB), ("create", "listener", "HTTPS:443"),
                        ("create", "listener", "HTTP:80"), ("create", "listener_rule", "HTTPS:443 priority 100")]
    assert result["load_balancer"]["arn"] == result["target_groups"][WEB]["arn"] == "(known after apply)"


def test_check_mode_of_state_absent_plans_the_deletes_and_only_reads():
    cm, converger = make(check_mode=True, state="absent")

    def script(elbv2, ec2, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)

    run(cm, converger.absent, script)
    assert keys(cm) == [("delete", "listener", "HTTP:80"), ("delete", "listener_rule", "HTTPS:443 priority 100"),
                        ("delete", "listener", "HTTPS:443"), ("delete", "load_balancer", NAME), ("delete", "target_group", WEB)]


def test_a_new_target_group_is_created_with_the_health_check_and_its_attributes_written_once():
    cm, converger = make(target_groups=[{"name": WEB, "port": 8080, "health_check": {"path": "/healthz"}},
                                        {"name": OLD, "port": 9090, "deregistration_delay": 30, "slow_start": 60}],
                         rules=[{"priority": 100, "path_patterns": ["/*"], "target_group": WEB}])
    spec = converger.spec

    def script(elbv2, ec2, wafv2, **_):
        stub_lb_reads(elbv2)
        stub_sg_reads(ec2)
        stub_group_attributes(elbv2)
        stub_web_acl_read(wafv2)
        elbv2.add_response("create_target_group", {"TargetGroups": [target_group(OLD, OLD_ARN, port=9090, path="/", attached=False)]}, dict(
            Name=OLD, Protocol="HTTP", Port=9090, VpcId=VPC, TargetType="ip", Tags=dict_to_boto3_tag_list(tags(OLD)),
            **health_check_params(spec["target_groups"][1]["health_check"])))
        elbv2.add_response("modify_target_group_attributes", {}, {"TargetGroupArn": OLD_ARN, "Attributes": [
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}, {"Key": "slow_start.duration_seconds", "Value": "60"}]})

    result = run(cm, converger.present, script)
    assert keys(cm) == [("create", "target_group", OLD)]
    assert result["target_groups"][OLD]["arn"] == OLD_ARN

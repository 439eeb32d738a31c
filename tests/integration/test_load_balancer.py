"""The load_balancer module against the local emulator: one ALB on two subnets with an HTTPS listener (TLS 1.2+ policy,
an ACM certificate), the HTTP redirect, two target groups with health checks, path and host rules, attributes
(access logs, invalid header dropping, desync mitigation, HTTP/2, idle timeout, deletion protection), a REGIONAL
web ACL and the ingress rules on the targets' security group; check mode on empty, reruns, updates planned field by
field, renamed and removed target groups, deletion (refused with deletion protection on) and bad input.

Calls are counted by the emulator's recorder, from outside the module. What moto does not model (un-issued
certificates refused by AWS, deletion protection enforced by AWS, ResourceInUse) is covered in
tests/unit/test_load_balancer_stubber.py.
"""

from __future__ import annotations


import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.certificates import self_signed_certificate
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

pytestmark = pytest.mark.usefixtures("shared_model_loader")

ENV = "test"
STACK = "test-us-east-1"
NAME = "test-us-east-1-alb"
WEB = "test-us-east-1-web"
API = "test-us-east-1-api"
LOGS = "cairn-test-123456789012-us-east-1-logs"
DOMAIN = "alb.test.example.com"
OWNERSHIP = {"cairn:environment": ENV, "cairn:stack": STACK, "cairn:component": "load_balancer", "cairn:managed-by": "cairn.platform"}


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region)


def issued_certificate(name=DOMAIN):
    """An ISSUED ACM certificate: a requested one if moto issues it at once, else an imported self-signed one."""
    acm = client("acm")
    requested = acm.request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]
    if acm.describe_certificate(CertificateArn=requested)["Certificate"]["Status"] == "ISSUED":
        return requested
    certificate, key = self_signed_certificate(name)
    imported = acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    assert acm.describe_certificate(CertificateArn=imported)["Certificate"]["Status"] == "ISSUED"
    return imported


@pytest.fixture
def account(aws_env):
    """The VPC with two subnets, the ALB's and the targets' security groups, the logs bucket, a certificate, a web ACL."""
    vpc_id, subnet_ids = vpc_with_subnets()
    ec2 = client("ec2")
    alb_sg = ec2.create_security_group(GroupName="test-alb", Description="ALB", VpcId=vpc_id)["GroupId"]
    targets_sg = ec2.create_security_group(GroupName="test-pods", Description="pods", VpcId=vpc_id)["GroupId"]
    client("s3").create_bucket(Bucket=LOGS)
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "alb"}
    acl_arn = client("wafv2").create_web_acl(Name="test-alb", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=visibility,
                                             Rules=[])["Summary"]["ARN"]
    return {"vpc_id": vpc_id, "subnet_ids": subnet_ids, "alb_sg": alb_sg, "targets_sg": targets_sg, "certificate_arn": issued_certificate(),
            "web_acl_arn": acl_arn}


def module_args(account, **extra):
    args = dict(
        environment=ENV, stack=STACK, region="us-east-1", name=NAME, vpc_id=account["vpc_id"], subnet_ids=account["subnet_ids"],
        security_group_ids=[account["alb_sg"]], certificate_arn=account["certificate_arn"],
        target_groups=[
            {"name": WEB, "port": 8080, "deregistration_delay": 30,
             "health_check": {"path": "/healthz", "interval_seconds": 15, "healthy_threshold": 3, "matcher": "200-399"}},
            {"name": API, "port": 9090, "slow_start": 60, "health_check": {"path": "/ready", "port": "9091"}},
        ],
        rules=[
            {"priority": 10, "host_headers": ["api.test.example.com"], "target_group": API},
            {"priority": 20, "path_patterns": ["/api/*"], "target_group": API},
            {"priority": 100, "path_patterns": ["/*"], "target_group": WEB},
        ],
        attributes={"access_logs": {"bucket": LOGS, "prefix": "alb/test-us-east-1"}, "idle_timeout": 120},
        web_acl_arn=account["web_acl_arn"], target_security_group_id=account["targets_sg"])
    args.update(extra)
    return args


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def load_balancer():
    return client("elbv2").describe_load_balancers(Names=[NAME])["LoadBalancers"][0]


def attributes(arn):
    return {item["Key"]: item["Value"] for item in client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}


def listeners(arn):
    return {listener["Port"]: listener for listener in client("elbv2").describe_listeners(LoadBalancerArn=arn)["Listeners"]}


def target_groups():
    return {group["TargetGroupName"]: group for group in client("elbv2").describe_target_groups()["TargetGroups"]}


def group_attributes(arn):
    return {item["Key"]: item["Value"] for item in client("elbv2").describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}


def rules(listener_arn):
    """{priority: (path patterns, host headers, [target group ARNs])} of the listener's non-default rules."""
    found = {}
    for rule in client("elbv2").describe_rules(ListenerArn=listener_arn)["Rules"]:
        if rule["IsDefault"]:
            continue
        paths, hosts = [], []
        for condition in rule["Conditions"]:
            if condition["Field"] == "path-pattern":
                paths += condition["PathPatternConfig"]["Values"]
            elif condition["Field"] == "host-header":
                hosts += condition["HostHeaderConfig"]["Values"]
        found[int(rule["Priority"])] = (paths, hosts, [action["TargetGroupArn"] for action in rule["Actions"]])
    return found


def tags(arn):
    [description] = client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"]
    return {tag["Key"]: tag["Value"] for tag in description["Tags"]}


def ingress_rules(group_id):
    """{(source group, port): tags} of the group's ingress rules that reference a group."""
    found = {}
    for rule in client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]:
        if rule["IsEgress"] or not rule.get("ReferencedGroupInfo"):
            continue
        assert rule["IpProtocol"] == "tcp" and rule["FromPort"] == rule["ToPort"]
        found[(rule["ReferencedGroupInfo"]["GroupId"], rule["FromPort"])] = {tag["Key"]: tag["Value"] for tag in rule.get("Tags", [])}
    return found


def web_acl_of(arn):
    return (client("wafv2").get_web_acl_for_resource(ResourceArn=arn).get("WebACL") or {}).get("ARN")


CREATED = sorted([
    ("create", "load_balancer", NAME), ("create", "target_group", WEB), ("create", "target_group", API),
    ("create", "listener", "HTTPS:443"), ("create", "listener", "HTTP:80"),
    ("create", "listener_rule", "HTTPS:443 priority 10"), ("create", "listener_rule", "HTTPS:443 priority 20"),
    ("create", "listener_rule", "HTTPS:443 priority 100"), ("create", "web_acl_association", NAME),
] + [("create", "security_group_rule", "{{targets}} tcp/{0} from {{alb}}".format(port)) for port in (8080, 9090, 9091)])


def created_keys(account):
    return sorted((action, kind, resource.replace("{targets}", account["targets_sg"]).replace("{alb}", account["alb_sg"]))
                  for action, kind, resource in CREATED)


def test_check_on_empty_then_create_read_back_and_rerun(account, aws_env):
    args = module_args(account)
    with aws_env.recording() as calls:
        planned = run_module("load_balancer", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == created_keys(account)
    assert planned["load_balancer"]["arn"] == planned["load_balancer"]["dns_name"] == "(known after apply)"
    assert planned["target_groups"][WEB]["arn"] == "(known after apply)"
    [lb_change] = [c for c in planned["changes"] if c["resource_type"] == "load_balancer"]
    # Only the attributes that differ from what AWS gives a new load balancer.
    assert lb_change["fields"]["attributes"]["after"] == {
        "access_logs.s3.bucket": LOGS, "access_logs.s3.enabled": "true", "access_logs.s3.prefix": "alb/test-us-east-1",
        "idle_timeout.timeout_seconds": "120", "routing.http.desync_mitigation_mode": "strictest",
        "routing.http.drop_invalid_header_fields.enabled": "true"}
    with pytest.raises(client("elbv2").exceptions.LoadBalancerNotFoundException):
        load_balancer()

    with aws_env.recording() as calls:
        result = run_module("load_balancer", args, diff=True)
    assert result["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {
        "elasticloadbalancing:CreateLoadBalancer": 1, "elasticloadbalancing:ModifyLoadBalancerAttributes": 1,
        "elasticloadbalancing:CreateTargetGroup": 2, "elasticloadbalancing:ModifyTargetGroupAttributes": 2,
        "elasticloadbalancing:CreateListener": 2, "elasticloadbalancing:CreateRule": 3, "wafv2:AssociateWebACL": 1,
        "ec2:AuthorizeSecurityGroupIngress": 3}
    assert count_by_operation(calls)["acm:DescribeCertificate"] == 1

    lb = load_balancer()
    arn = lb["LoadBalancerArn"]
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"], lb["VpcId"]) == ("application", "internet-facing", "ipv4", account["vpc_id"])
    assert lb["SecurityGroups"] == [account["alb_sg"]]
    assert sorted(zone["SubnetId"] for zone in lb["AvailabilityZones"]) == sorted(account["subnet_ids"])
    assert result["load_balancer"]["arn"] == arn and result["load_balancer"]["dns_name"] == lb["DNSName"]
    assert result["load_balancer"]["arn_suffix"] == arn.split(":loadbalancer/")[1] and result["load_balancer"]["arn_suffix"].startswith("app/")
    assert tags(arn) == dict(OWNERSHIP, **{"Name": NAME, "cairn:load-balancer": NAME})

    attrs = attributes(arn)
    assert {key: attrs.get(key) for key in (
        "access_logs.s3.enabled", "access_logs.s3.bucket", "access_logs.s3.prefix", "routing.http.drop_invalid_header_fields.enabled",
        "routing.http.desync_mitigation_mode", "idle_timeout.timeout_seconds", "deletion_protection.enabled")} == {
        "access_logs.s3.enabled": "true", "access_logs.s3.bucket": LOGS, "access_logs.s3.prefix": "alb/test-us-east-1",
        "routing.http.drop_invalid_header_fields.enabled": "true", "routing.http.desync_mitigation_mode": "strictest",
        "idle_timeout.timeout_seconds": "120", "deletion_protection.enabled": "false"}
    # HTTP/2 is on by default on AWS, and not written (moto reports only the attributes written).
    assert attrs.get("routing.http2.enabled", "true") == "true"

    found = listeners(arn)
    assert sorted(found) == [80, 443]
    https, http = found[443], found[80]
    assert (https["Protocol"], https["SslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert [c["CertificateArn"] for c in https["Certificates"]] == [account["certificate_arn"]]
    [default] = https["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"] == {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not Found"}
    assert http["Protocol"] == "HTTP"
    [redirect] = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}",
                                          "StatusCode": "HTTP_301"}
    assert result["listeners"]["https"]["arn"] == https["ListenerArn"] and result["listeners"]["http"]["arn"] == http["ListenerArn"]

    groups = target_groups()
    assert sorted(groups) == sorted([WEB, API])
    web, api = groups[WEB], groups[API]
    assert (web["Port"], web["Protocol"], web["TargetType"], web["VpcId"]) == (8080, "HTTP", "ip", account["vpc_id"])
    assert (web["HealthCheckPath"], web["HealthCheckPort"], web["HealthCheckProtocol"], web["HealthCheckIntervalSeconds"],
            web["HealthCheckTimeoutSeconds"], web["HealthyThresholdCount"], web["UnhealthyThresholdCount"], web["Matcher"]) == (
        "/healthz", "traffic-port", "HTTP", 15, 5, 3, 2, {"HttpCode": "200-399"})
    assert (api["HealthCheckPath"], api["HealthCheckPort"], api["HealthCheckIntervalSeconds"], api["HealthyThresholdCount"],
            api["Matcher"]) == ("/ready", "9091", 30, 5, {"HttpCode": "200"})
    assert group_attributes(web["TargetGroupArn"])["deregistration_delay.timeout_seconds"] == "30"
    api_attributes = group_attributes(api["TargetGroupArn"])
    assert (api_attributes["deregistration_delay.timeout_seconds"], api_attributes["slow_start.duration_seconds"]) == ("300", "60")
    assert tags(web["TargetGroupArn"]) == dict(OWNERSHIP, **{"Name": WEB, "cairn:load-balancer": NAME})
    assert result["target_groups"][WEB]["arn"] == web["TargetGroupArn"]
    # CloudWatch names a target group by this suffix (the TargetGroup dimension).
    assert result["target_groups"][WEB]["arn_suffix"] == "targetgroup/" + web["TargetGroupArn"].split(":targetgroup/")[1]

    assert rules(https["ListenerArn"]) == {
        10: ([], ["api.test.example.com"], [api["TargetGroupArn"]]),
        20: (["/api/*"], [], [api["TargetGroupArn"]]),
        100: (["/*"], [], [web["TargetGroupArn"]])}
    assert rules(http["ListenerArn"]) == {}
    assert [(rule["priority"], rule["target_group"], rule["target_group_arn"]) for rule in result["rules"]] == [
        (10, API, api["TargetGroupArn"]), (20, API, api["TargetGroupArn"]), (100, WEB, web["TargetGroupArn"])]

    assert web_acl_of(arn) == account["web_acl_arn"] == result["web_acl_arn"]

    ingress = ingress_rules(account["targets_sg"])
    assert sorted(ingress) == [(account["alb_sg"], 8080), (account["alb_sg"], 9090), (account["alb_sg"], 9091)]
    assert ingress[(account["alb_sg"], 8080)] == dict(OWNERSHIP, **{"Name": NAME + " to targets tcp/8080", "cairn:load-balancer": NAME})
    assert [(rule["port"], rule["managed"]) for rule in result["security_group_rules"]] == [(8080, True), (9090, True), (9091, True)]

    with aws_env.recording() as calls:
        again = run_module("load_balancer", args)
    assert again["changed"] is False and again["changes"] == []
    assert mutating_calls(calls) == []
    reads = count_by_operation(calls)
    assert reads["elasticloadbalancing:DescribeLoadBalancers"] == 1 and reads["elasticloadbalancing:DescribeTargetGroups"] == 1
    assert reads["elasticloadbalancing:DescribeRules"] == 2 and reads["elasticloadbalancing:DescribeTargetGroupAttributes"] == 2
    assert "acm:DescribeCertificate" not in reads  # the certificate is attached already
    assert again["load_balancer"] == result["load_balancer"] and again["rules"] == result["rules"]
    assert again["security_group_rules"] == result["security_group_rules"]
    with aws_env.recording() as calls:
        checked = run_module("load_balancer", args, check_mode=True)
    assert checked["changes"] == [] and mutating_calls(calls) == []


def test_an_attribute_update_is_planned_field_by_field_and_written_alone(account, aws_env):
    run_module("load_balancer", module_args(account))
    changed = module_args(account, attributes={"access_logs": {"bucket": LOGS, "prefix": "alb/test-us-east-1"}, "idle_timeout": 300})
    with aws_env.recording() as calls:
        planned = run_module("load_balancer", changed, check_mode=True)
    assert mutating_calls(calls) == []
    assert planned["changes"] == [{"action": "update", "resource_type": "load_balancer_attributes", "resource": NAME,
                                   "fields": {"idle_timeout.timeout_seconds": {"before": "120", "after": "300"}}}]
    assert planned["plan_summary"] == "0 to create, 1 to update, 0 to delete"
    with aws_env.recording() as calls:
        applied = run_module("load_balancer", changed)
    assert applied["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {"elasticloadbalancing:ModifyLoadBalancerAttributes": 1}
    attrs = attributes(load_balancer()["LoadBalancerArn"])
    assert attrs["idle_timeout.timeout_seconds"] == "300" and attrs["access_logs.s3.bucket"] == LOGS
    assert applied["attributes"]["idle_timeout"] == 300

    # Access logs off, HTTP/2 off and desync "defensive": three keys, one call; the bucket is left as AWS keeps it.
    relaxed = module_args(account, attributes={"idle_timeout": 300, "http2": False, "desync_mitigation_mode": "defensive"})
    applied = run_module("load_balancer", relaxed)
    [change] = applied["changes"]
    assert change["fields"] == {"access_logs.s3.enabled": {"before": "true", "after": "false"},
                                "routing.http.desync_mitigation_mode": {"before": "strictest", "after": "defensive"},
                                "routing.http2.enabled": {"before": "true", "after": "false"}}
    attrs = attributes(load_balancer()["LoadBalancerArn"])
    assert (attrs["access_logs.s3.enabled"], attrs["routing.http2.enabled"], attrs["routing.http.desync_mitigation_mode"]) == (
        "false", "false", "defensive")
    with aws_env.recording() as calls:
        assert run_module("load_balancer", relaxed)["changed"] is False
    assert mutating_calls(calls) == []


def test_listener_target_group_and_rule_changes(account, aws_env):
    created = run_module("load_balancer", module_args(account))
    lb_arn = created["load_balancer"]["arn"]
    https_arn = created["listeners"]["https"]["arn"]
    second_cert = issued_certificate("www.test.example.com")
    # A stricter policy, an SNI certificate, a new health check path; the API group renamed (AWS cannot change a group's
    # port: a new name is a new group), the host rule dropped, the redirect off.
    changed = module_args(
        account, ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06", additional_certificate_arns=[second_cert], http_redirect=False,
        target_groups=[
            {"name": WEB, "port": 8080, "deregistration_delay": 30,
             "health_check": {"path": "/livez", "interval_seconds": 15, "healthy_threshold": 3, "matcher": "200-399"}},
            {"name": API + "-v2", "port": 9095},
        ],
        rules=[{"priority": 20, "path_patterns": ["/api/*"], "target_group": API + "-v2"},
               {"priority": 100, "path_patterns": ["/*"], "target_group": WEB}])
    with aws_env.recording() as calls:
        planned = run_module("load_balancer", changed, check_mode=True)
    assert mutating_calls(calls) == []
    sg, alb = account["targets_sg"], account["alb_sg"]
    assert [(c["action"], c["resource_type"], c["resource"]) for c in planned["changes"]] == [
        ("update", "target_group", WEB), ("create", "target_group", API + "-v2"), ("update", "listener", "HTTPS:443"),
        ("update", "listener_certificates", "HTTPS:443"), ("delete", "listener", "HTTP:80"),
        ("update", "listener_rule", "HTTPS:443 priority 20"), ("delete", "listener_rule", "HTTPS:443 priority 10"),
        ("delete", "target_group", API), ("create", "security_group_rule", "{0} tcp/9095 from {1}".format(sg, alb)),
        ("delete", "security_group_rule", "{0} tcp/9090 from {1}".format(sg, alb)),
        ("delete", "security_group_rule", "{0} tcp/9091 from {1}".format(sg, alb))]
    by_key = {(c["resource_type"], c["resource"]): c for c in planned["changes"]}
    assert by_key[("target_group", WEB)]["fields"] == {"health_check": {
        "before": {"path": "/healthz", "port": "traffic-port", "protocol": "HTTP", "interval_seconds": 15, "timeout_seconds": 5,
                   "healthy_threshold": 3, "unhealthy_threshold": 2, "matcher": "200-399"},
        "after": {"path": "/livez", "port": "traffic-port", "protocol": "HTTP", "interval_seconds": 15, "timeout_seconds": 5,
                  "healthy_threshold": 3, "unhealthy_threshold": 2, "matcher": "200-399"}}}
    assert by_key[("listener", "HTTPS:443")]["fields"] == {"ssl_policy": {
        "before": "ELBSecurityPolicy-TLS13-1-2-2021-06", "after": "ELBSecurityPolicy-TLS13-1-3-2021-06"}}
    assert by_key[("listener_certificates", "HTTPS:443")]["fields"] == {"additional_certificate_arns": {"before": [], "after": [second_cert]}}
    assert by_key[("listener_rule", "HTTPS:443 priority 20")]["fields"] == {"forward": {"before": [API], "after": [API + "-v2"]}}

    with aws_env.recording() as calls:
        applied = run_module("load_balancer", changed)
    assert applied["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {
        "elasticloadbalancing:ModifyTargetGroup": 1, "elasticloadbalancing:CreateTargetGroup": 1,
        "elasticloadbalancing:ModifyListener": 1, "elasticloadbalancing:AddListenerCertificates": 1,
        "elasticloadbalancing:DeleteListener": 1, "elasticloadbalancing:ModifyRule": 1, "elasticloadbalancing:DeleteRule": 1,
        "elasticloadbalancing:DeleteTargetGroup": 1, "ec2:AuthorizeSecurityGroupIngress": 1, "ec2:RevokeSecurityGroupIngress": 1}

    found = listeners(lb_arn)
    assert sorted(found) == [443] and found[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    certificates = client("elbv2").describe_listener_certificates(ListenerArn=https_arn)["Certificates"]
    assert sorted((c["CertificateArn"], c["IsDefault"]) for c in certificates) == sorted(
        [(account["certificate_arn"], True), (second_cert, False)])
    groups = target_groups()
    assert sorted(groups) == sorted([WEB, API + "-v2"])
    assert groups[WEB]["HealthCheckPath"] == "/livez" and groups[API + "-v2"]["Port"] == 9095
    assert rules(https_arn) == {20: (["/api/*"], [], [groups[API + "-v2"]["TargetGroupArn"]]),
                                100: (["/*"], [], [groups[WEB]["TargetGroupArn"]])}
    assert sorted(ingress_rules(account["targets_sg"])) == [(alb, 8080), (alb, 9095)]
    assert applied["listeners"]["http"] is None

    with aws_env.recording() as calls:
        again = run_module("load_balancer", changed)
    assert again["changes"] == [] and mutating_calls(calls) == []


def test_a_certificate_rotation_and_a_new_alb_security_group_move_the_listener_and_the_target_rules(account, aws_env):
    created = run_module("load_balancer", module_args(account))
    lb_arn, https_arn = created["load_balancer"]["arn"], created["listeners"]["https"]["arn"]
    rotated = issued_certificate()
    new_sg = client("ec2").create_security_group(GroupName="test-alb-2", Description="ALB 2", VpcId=account["vpc_id"])["GroupId"]
    changed = module_args(account, certificate_arn=rotated, security_group_ids=[new_sg])
    with aws_env.recording() as calls:
        planned = run_module("load_balancer", changed, check_mode=True)
    assert mutating_calls(calls) == []
    # Only the new certificate is checked with ACM.
    assert count_by_operation(calls)["acm:DescribeCertificate"] == 1
    by_key = {(c["action"], c["resource_type"], c["resource"]): c["fields"] for c in planned["changes"]}
    assert by_key[("update", "load_balancer", NAME)] == {"security_group_ids": {"before": [account["alb_sg"]], "after": [new_sg]}}
    assert by_key[("update", "listener", "HTTPS:443")] == {"certificate_arn": {"before": account["certificate_arn"], "after": rotated}}
    targets = account["targets_sg"]
    assert sorted(key for key in by_key if key[1] == "security_group_rule") == sorted(
        [("create", "security_group_rule", "{0} tcp/{1} from {2}".format(targets, port, new_sg)) for port in (8080, 9090, 9091)]
        + [("delete", "security_group_rule", "{0} tcp/{1} from {2}".format(targets, port, account["alb_sg"])) for port in (8080, 9090, 9091)])

    with aws_env.recording() as calls:
        applied = run_module("load_balancer", changed)
    assert applied["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {
        "elasticloadbalancing:SetSecurityGroups": 1, "elasticloadbalancing:ModifyListener": 1,
        "ec2:AuthorizeSecurityGroupIngress": 3, "ec2:RevokeSecurityGroupIngress": 1}
    assert load_balancer()["SecurityGroups"] == [new_sg]
    assert [c["CertificateArn"] for c in listeners(lb_arn)[443]["Certificates"]] == [rotated]
    certificates = client("elbv2").describe_listener_certificates(ListenerArn=https_arn)["Certificates"]
    assert [(c["CertificateArn"], c["IsDefault"]) for c in certificates] == [(rotated, True)]
    assert sorted(ingress_rules(targets)) == [(new_sg, 8080), (new_sg, 9090), (new_sg, 9091)]
    assert applied["load_balancer"]["security_group_ids"] == [new_sg]
    with aws_env.recording() as calls:
        assert run_module("load_balancer", changed)["changes"] == []
    assert mutating_calls(calls) == []


def test_a_group_no_longer_listed_and_used_by_no_rule_is_deleted(account, aws_env):
    spare = {"name": "test-us-east-1-spare", "port": 7070}
    args = module_args(account)
    run_module("load_balancer", dict(args, target_groups=args["target_groups"] + [spare]))
    assert "test-us-east-1-spare" in target_groups()
    with aws_env.recording() as calls:
        result = run_module("load_balancer", args)
    sg, alb = account["targets_sg"], account["alb_sg"]
    assert plan_keys(result) == [("delete", "security_group_rule", "{0} tcp/7070 from {1}".format(sg, alb)),
                                 ("delete", "target_group", "test-us-east-1-spare")]
    assert count_by_operation(mutating_calls(calls)) == {"elasticloadbalancing:DeleteTargetGroup": 1, "ec2:RevokeSecurityGroupIngress": 1}
    assert sorted(target_groups()) == sorted([WEB, API])


def test_a_target_security_group_rule_made_by_hand_is_used_and_never_revoked(account, aws_env):
    ec2 = client("ec2")
    ec2.authorize_security_group_ingress(GroupId=account["targets_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8999, "UserIdGroupPairs": [{"GroupId": account["alb_sg"]}]}])
    with aws_env.recording() as calls:
        result = run_module("load_balancer", module_args(account))
    assert count_by_operation(mutating_calls(calls))["ec2:AuthorizeSecurityGroupIngress"] == 2
    assert [(rule["port"], rule["managed"]) for rule in result["security_group_rules"]] == [(8080, False), (9090, True), (9091, True)]
    # Unset: the module's rules go, the hand-made one stays.
    args = module_args(account)
    del args["target_security_group_id"]
    with aws_env.recording() as calls:
        result = run_module("load_balancer", args)
    assert count_by_operation(mutating_calls(calls)) == {"ec2:RevokeSecurityGroupIngress": 1}
    assert result["security_group_rules"] == []
    remaining = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [account["targets_sg"]]}])["SecurityGroupRules"]
    assert [(rule["FromPort"], rule["ToPort"]) for rule in remaining if not rule["IsEgress"]] == [(8000, 8999)]


def test_the_web_acl_is_removed_with_an_empty_string_and_left_alone_when_unset(account, aws_env):
    created = run_module("load_balancer", module_args(account))
    arn = created["load_balancer"]["arn"]
    unset = module_args(account)
    del unset["web_acl_arn"]
    with aws_env.recording() as calls:
        result = run_module("load_balancer", unset)
    assert result["changes"] == [] and mutating_calls(calls) == []
    assert result["web_acl_arn"] == account["web_acl_arn"]
    with aws_env.recording() as calls:
        result = run_module("load_balancer", module_args(account, web_acl_arn=""))
    assert result["changes"] == [{"action": "delete", "resource_type": "web_acl_association", "resource": NAME, "fields": {}}]
    assert count_by_operation(mutating_calls(calls)) == {"wafv2:DisassociateWebACL": 1}
    assert web_acl_of(arn) is None and result["web_acl_arn"] is None


def test_deletion_protection_refuses_absent_then_absent_removes_everything(account, aws_env):
    protected = module_args(account, attributes={"deletion_protection": True})
    created = run_module("load_balancer", protected)
    lb_arn = created["load_balancer"]["arn"]
    assert attributes(lb_arn)["deletion_protection.enabled"] == "true"
    absent = dict(environment=ENV, stack=STACK, region="us-east-1", name=NAME, state="absent",
                  target_security_group_id=account["targets_sg"])
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("load_balancer", absent)
    assert mutating_calls(calls) == []
    assert failed.value.result["error_code"] == "OperationNotPermitted"
    assert "deletion protection on; nothing was deleted" in failed.value.result["msg"]
    assert load_balancer()["LoadBalancerArn"] == lb_arn and sorted(target_groups()) == sorted([WEB, API])

    turned_off = run_module("load_balancer", module_args(account, attributes={"deletion_protection": False}))
    assert [c["fields"] for c in turned_off["changes"]] == [{"deletion_protection.enabled": {"before": "true", "after": "false"}}]

    with aws_env.recording() as calls:
        planned = run_module("load_balancer", absent, check_mode=True)
    assert mutating_calls(calls) == []
    sg, alb = account["targets_sg"], account["alb_sg"]
    assert [(c["action"], c["resource_type"], c["resource"]) for c in planned["changes"]] == [
        ("delete", "listener", "HTTP:80"),
        ("delete", "listener_rule", "HTTPS:443 priority 10"), ("delete", "listener_rule", "HTTPS:443 priority 20"),
        ("delete", "listener_rule", "HTTPS:443 priority 100"), ("delete", "listener", "HTTPS:443"),
        ("delete", "load_balancer", NAME), ("delete", "target_group", API), ("delete", "target_group", WEB)] + sorted(
        [("delete", "security_group_rule", "{0} tcp/{1} from {2}".format(sg, port, alb)) for port in (8080, 9090, 9091)])
    assert load_balancer()["LoadBalancerArn"] == lb_arn

    with aws_env.recording() as calls:
        removed = run_module("load_balancer", absent)
    assert removed["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {
        "elasticloadbalancing:DeleteListener": 2, "elasticloadbalancing:DeleteLoadBalancer": 1,
        "elasticloadbalancing:DeleteTargetGroup": 2, "ec2:RevokeSecurityGroupIngress": 1}
    with pytest.raises(client("elbv2").exceptions.LoadBalancerNotFoundException):
        load_balancer()
    assert target_groups() == {}
    assert ingress_rules(account["targets_sg"]) == {}

    with aws_env.recording() as calls:
        again = run_module("load_balancer", absent)
    assert again["changes"] == [] and mutating_calls(calls) == []


def test_a_certificate_not_yet_issued_fails_before_any_write_and_warns_in_check_mode(account, aws_env):
    pending = client("acm").request_certificate(DomainName="pending.test.example.com", ValidationMethod="DNS")["CertificateArn"]
    assert client("acm").describe_certificate(CertificateArn=pending)["Certificate"]["Status"] == "PENDING_VALIDATION"
    args = module_args(account, certificate_arn=pending)
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("load_balancer", args)
    assert mutating_calls(calls) == []
    assert failed.value.result["certificate_status"] == "PENDING_VALIDATION"
    assert "is PENDING_VALIDATION, not ISSUED" in failed.value.result["msg"] and "Finish its DNS validation" in failed.value.result["msg"]
    with aws_env.recording() as calls:
        planned = run_module("load_balancer", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert any("PENDING_VALIDATION" in warning for warning in planned["warnings"])
    assert ("create", "listener", "HTTPS:443") in plan_keys(planned)


def test_a_load_balancer_or_group_of_the_same_name_without_our_tags_is_refused(account, aws_env):
    client("elbv2").create_target_group(Name=WEB, Protocol="HTTP", Port=8080, VpcId=account["vpc_id"], TargetType="ip")
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("load_balancer", module_args(account))
    assert mutating_calls(calls) == []
    assert "target_groups[0].name: target group {0} exists without the ownership tags".format(WEB) in failed.value.result["msg"]

    client("elbv2").create_load_balancer(Name=NAME, Subnets=account["subnet_ids"], Type="application")
    for state in ("present", "absent"):
        with aws_env.recording() as calls:
            with pytest.raises(ModuleFailed) as failed:
                run_module("load_balancer", module_args(account, state=state))
        assert mutating_calls(calls) == []
        assert "load balancer {0} exists without the ownership tags of stack {1}".format(NAME, STACK) in failed.value.result["msg"]


def test_a_scheme_change_is_refused_before_any_write(account, aws_env):
    run_module("load_balancer", module_args(account))
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("load_balancer", module_args(account, scheme="internal"))
    assert mutating_calls(calls) == []
    assert "scheme: load balancer {0} is internet-facing; AWS cannot change the scheme".format(NAME) in failed.value.result["msg"]


@pytest.mark.parametrize("extra, message", [
    ({"subnet_ids": ["subnet-0123456789abcdef0"]}, "subnet_ids: an Application Load Balancer needs at least 2 subnets"),
    ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "lets clients connect with TLS 1.0 and TLS 1.1"),
    ({"ssl_policy": "ELBSecurityPolicy-Made-Up"}, "is not a security policy AWS offers"),
    ({"certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"}, "is in eu-west-1, the load balancer in us-east-1"),
    ({"rules": [{"priority": 10, "path_patterns": ["/api/*"], "target_group": WEB},
                {"priority": 20, "path_patterns": ["/api/v1/*"], "target_group": WEB}]}, "priority 20 (path_patterns /api/v1/*) can never match"),
    ({"rules": [{"priority": 10, "path_patterns": ["/"], "target_group": "nope"}]}, "rules[0].target_group: 'nope' is not one of target_groups"),
    ({"name": "internal-alb"}, "starts with 'internal-'"),
    ({"certificate_arn": None}, "certificate_arn: required with state=present"),
])
def test_bad_input_fails_before_any_call(account, aws_env, extra, message):
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("load_balancer", module_args(account, **extra))
    assert calls == []
    assert message in failed.value.result["msg"]

"""End to end: the edge of site.yml on the local inventory (primary us-east-1, DR us-west-2).

One converge creates the zone, the certificates (the CloudFront one in us-east-1), an ALB per stack with its
listeners, rules, target groups, logs and WAF, the CDN with its Origin Access Control, the failover records and
health checks, and the AWS Load Balancer Controller with a TargetGroupBinding per service. Everything is read back
as AWS (the emulator) reports it; the rerun is checked with the emulator's recorder.
"""

from __future__ import annotations

import json

import pytest

from support.emulator import mutating_calls
from test_site_playbook import playbook

PRIMARY, DR = "us-east-1", "us-west-2"
STACKS = {PRIMARY: "local-us-east-1", DR: "local-us-west-2"}
DOMAIN = "local.cairnapp.com"


@pytest.fixture(scope="module")
def converged(emulator, tmp_path_factory):
    emulator.reset()
    return playbook(emulator, tmp_path_factory.mktemp("converge"))


@pytest.fixture
def aws(emulator, converged, recorded_env):
    import boto3

    return lambda service, region=PRIMARY: boto3.client(service, region_name=region)


def alb_of(aws, region):
    elbv2 = aws("elbv2", region)
    name = STACKS[region] + "-alb"
    return elbv2, next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == name)


def zone_id(aws):
    zones = aws("route53").list_hosted_zones_by_name(DNSName=DOMAIN)["HostedZones"]
    return next(z["Id"] for z in zones if z["Name"] == DOMAIN + ".")


def test_every_edge_resource_is_planned_for_both_stacks(converged):
    kinds = {(host, kind) for host, _action, kind, _name in converged[1]}
    for host in STACKS.values():
        assert (host, "acm_certificate") in kinds
        assert any(h == host and "load_balancer" in kind for h, kind in kinds), kinds
        assert any(h == host and "target_group" in kind for h, kind in kinds)
        assert (host, "TargetGroupBinding") in kinds and (host, "Deployment") in kinds
    primary_kinds = {kind for host, kind in kinds if host == STACKS[PRIMARY]}
    assert {"cloudfront_distribution", "origin_access_control"} <= primary_kinds
    assert any("health_check" in kind for kind in primary_kinds) and any("zone" in kind for kind in primary_kinds)


def test_certificates_are_issued_and_validated_in_the_zone(aws):
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone_id(aws))["ResourceRecordSets"]
    cnames = {r["Name"] for r in records if r["Type"] == "CNAME"}
    for region in (PRIMARY, DR):
        acm = aws("acm", region)
        certificates = [acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
                        for c in acm.list_certificates()["CertificateSummaryList"]]
        alb_certs = [c for c in certificates if c["DomainName"] == "app." + DOMAIN]
        assert len(alb_certs) == 1 and alb_certs[0]["Status"] == "ISSUED"
        assert sorted(alb_certs[0]["SubjectAlternativeNames"]) == sorted(["app." + DOMAIN, "api." + DOMAIN])
        for option in alb_certs[0]["DomainValidationOptions"]:
            assert option["ResourceRecord"]["Name"] in cnames
    # CloudFront's certificate lives in us-east-1, whatever the stack.
    cdn = [c for c in aws("acm").list_certificates()["CertificateSummaryList"] if c["DomainName"] == "assets." + DOMAIN]
    assert len(cdn) == 1


def test_alb_listeners_rules_target_groups_logs_and_waf(aws):
    for region in (PRIMARY, DR):
        elbv2, alb = alb_of(aws, region)
        assert alb["Scheme"] == "internet-facing"
        listeners = {l["Port"]: l for l in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]}
        assert listeners[443]["Protocol"] == "HTTPS"
        assert listeners[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        redirect = listeners[80]["DefaultActions"][0]["RedirectConfig"]
        assert redirect["StatusCode"] == "HTTP_301" and redirect["Protocol"] == "HTTPS" and redirect["Port"] == "443"
        rules = elbv2.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"]
        default = next(r for r in rules if r["IsDefault"])
        assert default["Actions"][0]["Type"] == "fixed-response"
        assert default["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
        groups = {g["TargetGroupArn"]: g for g in elbv2.describe_target_groups(LoadBalancerArn=alb["LoadBalancerArn"])["TargetGroups"]}
        conditions = {}
        for rule in rules:
            if rule["IsDefault"]:
                continue
            target = groups[rule["Actions"][0]["TargetGroupArn"]]["TargetGroupName"]
            for condition in rule["Conditions"]:
                values = condition.get("Values") or (condition.get("PathPatternConfig") or condition.get("HostHeaderConfig"))["Values"]
                conditions[(int(rule["Priority"]), condition["Field"])] = (values, target)
        stack = STACKS[region]
        assert conditions == {
            (10, "host-header"): (["api." + DOMAIN], stack + "-api"),
            (20, "path-pattern"): (["/api/*"], stack + "-api"),
            (100, "path-pattern"): (["/*"], stack + "-web"),
        }
        for group in groups.values():
            assert group["TargetType"] == "ip" and group["Port"] == 8080 and group["HealthCheckPath"] == "/healthz"
        attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
            LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"]}
        logs_bucket = "cairn-local-123456789012-{0}-logs".format(region)
        assert attributes["access_logs.s3.enabled"] == "true" and attributes["access_logs.s3.bucket"] == logs_bucket
        assert attributes["access_logs.s3.prefix"] == "alb/" + stack
        assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
        assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
        assert attributes["deletion_protection.enabled"] == "false"  # local; prod turns it on
        acl = aws("wafv2", region).get_web_acl_for_resource(ResourceArn=alb["LoadBalancerArn"])["WebACL"]
        assert acl["Name"] == stack + "-regional"
        # The logs bucket lets Elastic Load Balancing's regional account deliver the ALB's logs.
        policy = json.loads(aws("s3", region).get_bucket_policy(Bucket=logs_bucket)["Policy"])
        delivery = next(s for s in policy["Statement"] if s.get("Sid") == "ElbAccessAndConnectionLogDelivery")
        elb_account = {"us-east-1": "127311923021", "us-west-2": "797873946194"}[region]
        assert delivery["Principal"] == {"AWS": "arn:aws:iam::{0}:root".format(elb_account)}
        assert "arn:aws:s3:::{0}/alb/*/AWSLogs/123456789012/*".format(logs_bucket) in delivery["Resource"]


def test_cdn_with_origin_access_control_tls_and_waf(aws):
    cloudfront = aws("cloudfront")
    items = cloudfront.list_distributions()["DistributionList"]["Items"]
    distribution = next(d for d in items if "assets." + DOMAIN in d["Aliases"].get("Items", []))
    config = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
    origin = config["Origins"]["Items"][0]
    assert origin["OriginAccessControlId"]
    assert origin["DomainName"] == "cairn-local-123456789012-us-east-1-assets.s3.us-east-1.amazonaws.com"
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["ACMCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["HttpVersion"] == "http2and3" and config["PriceClass"] == "PriceClass_100"
    assert "cloudfront-local" in config["WebACLId"] or ":global/webacl/cairn-local-cloudfront/" in config["WebACLId"]
    policy = json.loads(aws("s3").get_bucket_policy(Bucket="cairn-local-123456789012-us-east-1-assets")["Policy"])
    oac = [s for s in policy["Statement"] if str(s.get("Sid", "")).startswith("CloudFrontOAC")]
    assert len(oac) == 1 and oac[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert oac[0]["Condition"]["StringEquals"]["AWS:SourceArn"] == distribution["ARN"]
    # The data role's rerun keeps the statement the CDN owns (checked by the rerun test too).
    assert any(s.get("Sid") == "DenyInsecureTransport" for s in policy["Statement"])


def test_failover_records_point_at_the_right_health_checks(aws):
    route53 = aws("route53")
    records = route53.list_resource_record_sets(HostedZoneId=zone_id(aws))["ResourceRecordSets"]
    checks = {h["Id"]: h["HealthCheckConfig"] for h in route53.list_health_checks()["HealthChecks"]}
    albs = {region: alb_of(aws, region)[1] for region in (PRIMARY, DR)}
    for name in ("app", "api"):
        pair = {r["Failover"]: r for r in records if r["Name"] == "{0}.{1}.".format(name, DOMAIN) and r["Type"] == "A"}
        assert set(pair) == {"PRIMARY", "SECONDARY"}
        for role, region in (("PRIMARY", PRIMARY), ("SECONDARY", DR)):
            record = pair[role]
            assert record["AliasTarget"]["DNSName"].rstrip(".").lower().endswith(albs[region]["DNSName"].lower())
            assert record["AliasTarget"]["EvaluateTargetHealth"] is True
            check = checks[record["HealthCheckId"]]
            assert check["FullyQualifiedDomainName"] == albs[region]["DNSName"]
            assert check["Type"] == "HTTPS" and check["Port"] == 443 and check["ResourcePath"] == "/healthz"
            assert check["RequestInterval"] == 10 and check["FailureThreshold"] == 3 and check["EnableSNI"] is True
    assets = [r for r in records if r["Name"] == "assets.{0}.".format(DOMAIN)]
    assert sorted(r["Type"] for r in assets) == ["A", "AAAA"]
    assert all(r["AliasTarget"]["HostedZoneId"] == "Z2FDTNDATAQYW2" for r in assets)


def test_rerun_writes_nothing(emulator, converged, tmp_path):
    with emulator.recording() as calls:
        output, rerun = playbook(emulator, tmp_path)
    assert rerun == [] and mutating_calls(calls) == []
    assert "changed=0" in output

"""Check the edge of one primary stack from outside Ansible, with boto3 (molecule verify and destroy).

present (default): issued ACM certificates of the stack, the ALB with HTTPS (TLS 1.2+ policy) and an HTTP listener
answering 301 to HTTPS, IP target groups, path and host rules, access logs on, the WAF association, the CloudFront
distribution with its Origin Access Control, TLS 1.2 and a web ACL, the zone with app/api/assets alias records and
an HTTPS health check of the ALB.
--absent: none of these remain.
Exits 1 with one line per failed check.
"""

from __future__ import annotations

import argparse
import sys

import boto3

REGION = "us-east-1"


def client(args, service):
    return boto3.client(service, region_name=REGION, endpoint_url=args.endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def stack_tagged(tags, stack):
    return {t["Key"]: t["Value"] for t in tags}.get("cairn:stack") == stack


def find_alb(args):
    elbv2 = client(args, "elbv2")
    found = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == args.stack + "-alb"]
    return elbv2, (found[0] if found else None)


def certificates(args):
    acm = client(args, "acm")
    owned = []
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        arn = summary["CertificateArn"]
        if stack_tagged(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", []), args.stack):
            owned.append(acm.describe_certificate(CertificateArn=arn)["Certificate"])
    return owned


def distributions(args):
    cloudfront = client(args, "cloudfront")
    items = cloudfront.list_distributions()["DistributionList"].get("Items", [])
    return cloudfront, [d for d in items if "assets." + args.domain in d.get("Aliases", {}).get("Items", [])]


def zone(args):
    route53 = client(args, "route53")
    zones = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == args.domain + "."]
    return route53, (zones[0] if zones else None)


def verify_present(args, failures):
    def check(condition, message):
        if not condition:
            failures.append(message)
        return condition

    certs = certificates(args)
    check(len(certs) == 2, f"expected 2 certificates of {args.stack} (ALB, CloudFront), found {len(certs)}")
    for cert in certs:
        check(cert["Status"] == "ISSUED", f"certificate {cert['DomainName']} is {cert['Status']}, not ISSUED")

    elbv2, alb = find_alb(args)
    if check(alb is not None, f"no ALB {args.stack}-alb"):
        check(alb["Scheme"] == "internet-facing", f"ALB scheme {alb['Scheme']}")
        listeners = {l["Port"]: l for l in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]}
        https, http = listeners.get(443), listeners.get(80)
        if check(https is not None, "no HTTPS listener on 443"):
            check(https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06", f"TLS policy {https.get('SslPolicy')}")
            rules = [r for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if not r["IsDefault"]]
            fields = sorted(c["Field"] for r in rules for c in r["Conditions"])
            check(fields == ["host-header", "path-pattern", "path-pattern"], f"rule conditions {fields}")
            default = [r for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if r["IsDefault"]][0]
            check(default["Actions"][0]["Type"] == "fixed-response", "the default action is not a fixed response")
        if check(http is not None, "no HTTP listener on 80"):
            redirect = http["DefaultActions"][0].get("RedirectConfig", {})
            check(redirect.get("StatusCode") == "HTTP_301" and redirect.get("Protocol") == "HTTPS",
                  f"HTTP listener does not answer 301 to HTTPS: {redirect}")
        groups = elbv2.describe_target_groups(LoadBalancerArn=alb["LoadBalancerArn"])["TargetGroups"]
        check(sorted(g["TargetGroupName"] for g in groups) == sorted([args.stack + "-api", args.stack + "-web"]),
              f"target groups {[g['TargetGroupName'] for g in groups]}")
        check(all(g["TargetType"] == "ip" for g in groups), "target groups are not IP targets")
        attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
            LoadBalancerArn=alb["LoadBalancerArn"])["Attributes"]}
        check(attributes.get("access_logs.s3.enabled") == "true", "access logs are off")
        check(attributes.get("routing.http.drop_invalid_header_fields.enabled") == "true", "invalid headers not dropped")
        acl = client(args, "wafv2").get_web_acl_for_resource(ResourceArn=alb["LoadBalancerArn"]).get("WebACL")
        check(acl is not None, "no WAF web ACL associated with the ALB")

    cloudfront, found = distributions(args)
    if check(len(found) == 1, f"expected 1 distribution for assets.{args.domain}, found {len(found)}"):
        config = cloudfront.get_distribution_config(Id=found[0]["Id"])["DistributionConfig"]
        origin = config["Origins"]["Items"][0]
        check(bool(origin.get("OriginAccessControlId")), "the origin has no Origin Access Control")
        check(config["ViewerCertificate"].get("MinimumProtocolVersion") == "TLSv1.2_2021",
              f"CloudFront minimum TLS {config['ViewerCertificate'].get('MinimumProtocolVersion')}")
        check(bool(config.get("WebACLId")), "the distribution has no web ACL")

    route53, hosted = zone(args)
    if check(hosted is not None, f"no hosted zone {args.domain}"):
        records = route53.list_resource_record_sets(HostedZoneId=hosted["Id"])["ResourceRecordSets"]
        aliases = {r["Name"].rstrip(".") for r in records if r.get("AliasTarget")}
        for name in ("app", "api", "assets"):
            check(f"{name}.{args.domain}" in aliases, f"no alias record {name}.{args.domain}")
    checks = [h for h in route53.list_health_checks()["HealthChecks"]
              if alb and h["HealthCheckConfig"].get("FullyQualifiedDomainName") == alb["DNSName"]]
    if check(len(checks) == 1, f"expected 1 health check of the ALB, found {len(checks)}"):
        config = checks[0]["HealthCheckConfig"]
        check(config["Type"] == "HTTPS" and config.get("RequestInterval") == 10 and config.get("FailureThreshold") == 3,
              f"health check {config}")


def verify_absent(args, failures):
    certs = certificates(args)
    if certs:
        failures.append(f"certificates remain: {[c['DomainName'] for c in certs]}")
    if find_alb(args)[1] is not None:
        failures.append(f"the ALB {args.stack}-alb remains")
    if distributions(args)[1]:
        failures.append("the CloudFront distribution remains")
    route53, hosted = zone(args)
    if hosted is not None:
        records = route53.list_resource_record_sets(HostedZoneId=hosted["Id"])["ResourceRecordSets"]
        left = [r["Name"] for r in records if r.get("AliasTarget")]
        if left:
            failures.append(f"alias records remain: {left}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--absent", action="store_true")
    args = parser.parse_args()
    failures = []
    (verify_absent if args.absent else verify_present)(args, failures)
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The cloudfront_distribution module against the local emulator: the assets bucket (made with boto3, with a policy of
its own), an ACM certificate imported in us-east-1, a CLOUDFRONT web ACL; check mode on empty, create and read back,
reruns, a field-by-field update, ownership, s3_buckets keeping the statement, deletion and bad input.

Calls are counted by the emulator's recorder, from outside the module. The emulator runs with
emulator/cloudfront_fidelity.py, so an origin's Origin Access Control reads back.
"""

from __future__ import annotations

import json

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.certificates import self_signed_certificate
from support.modules import ModuleFailed, run_module

# Not the shared_model_loader fixture: botocore rewrites the S3 model's request URIs in place when it builds an S3
# client (it takes {Bucket} out of them), and with one shared loader the recorder's parser then no longer recognises
# S3 requests such as PutBucketPolicy.

STACK = "test-us-east-1"
NAME = "cairn-test-assets"
ASSETS = "cairn-test-123456789012-us-east-1-assets"
LOGS = "cairn-test-123456789012-us-east-1-logs"
SID = "CloudFrontOACCairnTestAssets"
ALIAS = "assets.test.example.com"
OTHER_STATEMENTS = [
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
     "Resource": ["arn:aws:s3:::" + ASSETS, "arn:aws:s3:::" + ASSETS + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "ReadForTheImageResizer", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/resizer"},
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + ASSETS + "/originals/*"},
]


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region)


def setup_edge(with_policy=True):
    """The assets and logs buckets, the certificate in us-east-1 and the CLOUDFRONT web ACL; returns (cert ARN, ACL ARN)."""
    s3 = client("s3")
    for bucket in (ASSETS, LOGS):
        s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
    if with_policy:
        s3.put_bucket_policy(Bucket=ASSETS, Policy=json.dumps({"Version": "2012-10-17", "Statement": OTHER_STATEMENTS}))
    certificate, key = self_signed_certificate(ALIAS)
    cert_arn = client("acm").import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "cdn"}
    acl_arn = client("wafv2").create_web_acl(Name="test-cdn", Scope="CLOUDFRONT", DefaultAction={"Allow": {}},
                                             VisibilityConfig=visibility, Rules=[])["Summary"]["ARN"]
    return cert_arn, acl_arn


def module_args(cert_arn, acl_arn, **extra):
    args = dict(environment="test", stack=STACK, region="us-east-1", name=NAME, comment="Assets of cairn test (cairn.platform)",
                aliases=[ALIAS], certificate_arn=cert_arn, web_acl_arn=acl_arn,
                origin={"bucket_name": ASSETS, "bucket_region": "us-east-1"}, response_headers_policy="SecurityHeadersPolicy",
                logging={"bucket": LOGS}, tags={"owner": "edge"})
    args.update(extra)
    return args


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def bucket_policy(bucket=ASSETS):
    return json.loads(client("s3").get_bucket_policy(Bucket=bucket)["Policy"])


def statement(policy, sid):
    return next((s for s in policy["Statement"] if s.get("Sid") == sid), None)


def test_check_on_empty_then_create_read_back_and_rerun(aws_env):
    cert_arn, acl_arn = setup_edge()
    args = module_args(cert_arn, acl_arn)
    with aws_env.recording() as calls:
        planned = run_module("cloudfront_distribution", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["distribution"]["id"] == planned["distribution"]["arn"] == "(known after apply)"
    assert planned["origin_access_control"] == {"id": "(known after apply)", "name": NAME}
    assert client("cloudfront").list_distributions()["DistributionList"]["Quantity"] == 0

    with aws_env.recording() as calls:
        result = run_module("cloudfront_distribution", args, diff=True)
    assert planned["changes"] == result["changes"]
    assert plan_keys(result) == sorted([
        ("create", "origin_access_control", NAME), ("create", "cloudfront_distribution", NAME),
        ("create", "bucket_policy_statement", ASSETS + ":" + SID), ("create", "log_delivery_source", NAME + "-access-logs"),
        ("create", "log_delivery_destination", NAME + "-access-logs-s3"),
        ("create", "log_delivery", "{0}-access-logs -> {0}-access-logs-s3".format(NAME))])
    assert count_by_operation(mutating_calls(calls)) == {
        "cloudfront:CreateOriginAccessControl": 1, "cloudfront:CreateDistributionWithTags": 1, "s3:PutBucketPolicy": 1,
        "logs:PutDeliverySource": 1, "logs:PutDeliveryDestination": 1, "logs:CreateDelivery": 1}

    distribution = result["distribution"]
    assert distribution["hosted_zone_id"] == "Z2FDTNDATAQYW2" and distribution["aliases"] == [ALIAS]
    assert distribution["domain_name"].endswith(".cloudfront.net") and distribution["etag"]
    cf = client("cloudfront")
    config = cf.get_distribution_config(Id=distribution["id"])["DistributionConfig"]
    assert config["CallerReference"] == "cairn-{0}-{1}".format(STACK, NAME)
    [origin] = config["Origins"]["Items"]
    assert origin["DomainName"] == ASSETS + ".s3.us-east-1.amazonaws.com"
    assert origin["OriginAccessControlId"] == result["origin_access_control"]["id"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    certificate = config["ViewerCertificate"]
    assert (certificate["ACMCertificateArn"], certificate["MinimumProtocolVersion"], certificate["SSLSupportMethod"],
            certificate["CloudFrontDefaultCertificate"]) == (cert_arn, "TLSv1.2_2021", "sni-only", False)
    assert config["WebACLId"] == acl_arn
    assert (config["HttpVersion"], config["PriceClass"], config["IsIPV6Enabled"], config["Enabled"]) == (
        "http2and3", "PriceClass_100", True, True)
    behavior = config["DefaultCacheBehavior"]
    assert (behavior["TargetOriginId"], behavior["ViewerProtocolPolicy"], behavior["CachePolicyId"],
            behavior["ResponseHeadersPolicyId"], behavior["Compress"]) == (
        "s3-" + ASSETS, "redirect-to-https", "658327ea-f89d-4fab-a63d-7e88639e58f6", "67f7725c-6f97-4210-82d7-5512b31e9d03", True)
    assert config["Aliases"]["Items"] == [ALIAS] and config["Comment"] == "Assets of cairn test (cairn.platform)"
    tags = {t["Key"]: t["Value"] for t in cf.list_tags_for_resource(Resource=distribution["arn"])["Tags"]["Items"]}
    assert tags["Name"] == NAME and tags["cairn:stack"] == STACK and tags["cairn:component"] == "cloudfront" and tags["owner"] == "edge"

    oac = cf.get_origin_access_control(Id=result["origin_access_control"]["id"])["OriginAccessControl"]["OriginAccessControlConfig"]
    assert (oac["Name"], oac["SigningProtocol"], oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == (NAME, "sigv4", "always", "s3")

    policy = bucket_policy()
    assert result["bucket_policy_statement_sid"] == SID
    assert statement(policy, SID) == {
        "Sid": SID, "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::" + ASSETS + "/*", "Condition": {"StringEquals": {"AWS:SourceArn": distribution["arn"]}}}
    assert [s for s in policy["Statement"] if s.get("Sid") != SID] == OTHER_STATEMENTS

    logs = client("logs")
    source = logs.get_delivery_source(name=NAME + "-access-logs")["deliverySource"]
    assert source["resourceArns"] == [distribution["arn"]] and source["logType"] == "ACCESS_LOGS"
    destination = logs.get_delivery_destination(name=NAME + "-access-logs-s3")["deliveryDestination"]
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"] == "arn:aws:s3:::{0}/cloudfront/{1}".format(LOGS, NAME)
    assert destination["outputFormat"] == "w3c"
    [delivery] = logs.describe_deliveries()["deliveries"]
    assert (delivery["deliverySourceName"], delivery["deliveryDestinationArn"], delivery["id"]) == (
        source["name"], destination["arn"], result["logging"]["delivery_id"])

    with aws_env.recording() as calls:
        again = run_module("cloudfront_distribution", args)
    assert again["changed"] is False and again["changes"] == []
    assert mutating_calls(calls) == []
    reads = count_by_operation(calls)
    assert reads["cloudfront:ListDistributions"] == 1 and reads["cloudfront:GetDistributionConfig"] == 1
    assert reads["cloudfront:ListOriginAccessControls"] == 1 and reads["cloudfront:ListTagsForResource"] == 1
    assert again["distribution"]["id"] == distribution["id"] and again["origin_access_control"] == result["origin_access_control"]
    with aws_env.recording() as calls:
        checked = run_module("cloudfront_distribution", args, check_mode=True)
    assert checked["changes"] == [] and mutating_calls(calls) == []


def test_a_price_class_change_is_planned_as_one_field_update_and_applied_with_the_etag(aws_env):
    cert_arn, acl_arn = setup_edge()
    created = run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))
    changed = module_args(cert_arn, acl_arn, price_class="PriceClass_200")
    with aws_env.recording() as calls:
        planned = run_module("cloudfront_distribution", changed, check_mode=True)
    assert mutating_calls(calls) == []
    assert planned["changes"] == [{"action": "update", "resource_type": "cloudfront_distribution", "resource": NAME,
                                   "fields": {"price_class": {"before": "PriceClass_100", "after": "PriceClass_200"}}}]
    with aws_env.recording() as calls:
        applied = run_module("cloudfront_distribution", changed)
    assert applied["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {"cloudfront:UpdateDistribution": 1}
    config = client("cloudfront").get_distribution_config(Id=created["distribution"]["id"])["DistributionConfig"]
    assert config["PriceClass"] == "PriceClass_200"
    # Everything else as before (the Origin Access Control on the origin too).
    assert config["Origins"]["Items"][0]["OriginAccessControlId"] == created["origin_access_control"]["id"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021" and config["WebACLId"] == acl_arn
    with aws_env.recording() as calls:
        assert run_module("cloudfront_distribution", changed)["changed"] is False
    assert mutating_calls(calls) == []

    # Two fields at once: both named, still one update.
    tightened = module_args(cert_arn, acl_arn, price_class="PriceClass_200", minimum_protocol_version="TLSv1.2_2025", http_version="http2")
    result = run_module("cloudfront_distribution", tightened)
    [change] = result["changes"]
    assert sorted(change["fields"]) == ["http_version", "viewer_certificate.minimum_protocol_version"]


def test_s3_buckets_keeps_the_statement_it_is_told_to(aws_env):
    cert_arn, acl_arn = setup_edge(with_policy=False)
    client("s3").delete_bucket(Bucket=ASSETS)
    buckets = dict(environment="test", stack=STACK, region="us-east-1", buckets=[{"name": ASSETS, "keep_policy_statements": ["CloudFrontOAC*"]}])
    run_module("s3_buckets", buckets)
    run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))
    before = bucket_policy()
    assert {s["Sid"] for s in before["Statement"]} == {"DenyInsecureTransport", "DenyOutdatedTls", SID}

    with aws_env.recording() as calls:
        rerun = run_module("s3_buckets", buckets)
    assert rerun["changed"] is False and mutating_calls(calls) == []
    assert bucket_policy() == before
    with aws_env.recording() as calls:
        assert run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))["changed"] is False
    assert mutating_calls(calls) == []

    # Without the option, s3_buckets would take the statement out (as it always did).
    unkept = dict(buckets, buckets=[{"name": ASSETS}])
    planned = run_module("s3_buckets", unkept, check_mode=True)
    [change] = planned["changes"]
    removed = {s.get("Sid") for s in change["fields"]["policy"]["before"]["Statement"]} - {
        s.get("Sid") for s in change["fields"]["policy"]["after"]["Statement"]}
    assert removed == {SID}


def test_an_untagged_lookalike_is_left_alone_and_one_holding_our_alias_is_refused(aws_env):
    cert_arn, acl_arn = setup_edge()
    cf = client("cloudfront")

    def lookalike(reference, aliases):
        config = {"CallerReference": reference, "Comment": "Assets of cairn test (cairn.platform)", "Enabled": True,
                  "Aliases": {"Quantity": len(aliases), "Items": aliases} if aliases else {"Quantity": 0},
                  "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": ASSETS + ".s3.us-east-1.amazonaws.com",
                                                        "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
                  "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                                           "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
                  "PriceClass": "PriceClass_All"}
        return cf.create_distribution(DistributionConfig=config)["Distribution"]

    holder = lookalike("by-hand-1", [ALIAS])
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))
    assert failed.value.result["msg"].startswith("aliases: {0} already served by distribution(s) {1}".format(ALIAS, holder["Id"]))
    assert mutating_calls(calls) == []
    cf.delete_distribution(Id=holder["Id"], IfMatch=cf.get_distribution(Id=holder["Id"])["ETag"])

    other = lookalike("by-hand-2", [])
    result = run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))
    assert result["distribution"]["id"] != other["Id"]
    left = cf.get_distribution_config(Id=other["Id"])["DistributionConfig"]
    assert left["PriceClass"] == "PriceClass_All" and left["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "allow-all"
    assert cf.list_tags_for_resource(Resource=other["ARN"])["Tags"].get("Items") in (None, [])
    removed = run_module("cloudfront_distribution", dict(module_args(cert_arn, acl_arn), state="absent"))
    assert ("delete", "cloudfront_distribution", NAME) in plan_keys(removed)
    assert [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]] == [other["Id"]]


def test_state_absent_disables_deletes_and_cleans_up(aws_env):
    cert_arn, acl_arn = setup_edge()
    created = run_module("cloudfront_distribution", module_args(cert_arn, acl_arn))
    args = dict(environment="test", stack=STACK, region="us-east-1", name=NAME, state="absent",
                origin={"bucket_name": ASSETS, "bucket_region": "us-east-1"})
    with aws_env.recording() as calls:
        planned = run_module("cloudfront_distribution", args, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        removed = run_module("cloudfront_distribution", args)
    assert planned["changes"] == removed["changes"]
    assert [(c["action"], c["resource_type"]) for c in removed["changes"]] == [
        ("delete", "log_delivery"), ("delete", "log_delivery_source"), ("delete", "log_delivery_destination"),
        ("update", "cloudfront_distribution"), ("delete", "cloudfront_distribution"), ("delete", "origin_access_control"),
        ("delete", "bucket_policy_statement")]
    assert removed["changes"][3]["fields"] == {"enabled": {"before": True, "after": False}}
    operations = [c.operation for c in mutating_calls(calls) if c.service == "cloudfront"]
    assert operations == ["UpdateDistribution", "DeleteDistribution", "DeleteOriginAccessControl"]
    cf = client("cloudfront")
    assert cf.list_distributions()["DistributionList"]["Quantity"] == 0
    assert cf.list_origin_access_controls()["OriginAccessControlList"]["Quantity"] == 0
    assert bucket_policy()["Statement"] == OTHER_STATEMENTS
    logs = client("logs")
    assert logs.describe_deliveries()["deliveries"] == [] and logs.describe_delivery_sources()["deliverySources"] == []
    assert logs.describe_delivery_destinations()["deliveryDestinations"] == []
    assert removed["distribution"] is None and removed["bucket_policy_statement_sid"] == SID
    with aws_env.recording() as calls:
        again = run_module("cloudfront_distribution", args)
    assert again["changed"] is False and mutating_calls(calls) == []
    assert created["distribution"]["id"]


def test_bad_input_fails_before_any_call(aws_env):
    args = module_args("arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
                       "arn:aws:wafv2:us-east-1:123456789012:global/webacl/test-cdn/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("cloudfront_distribution", args)
    assert failed.value.result["msg"].startswith("certificate_arn: the certificate is in eu-west-1")
    assert calls == []
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("cloudfront_distribution", module_args(None, None, minimum_protocol_version="TLSv1", aliases=[]))
    assert failed.value.result["msg"].startswith("minimum_protocol_version: TLSv1 lets viewers")
    assert calls == []

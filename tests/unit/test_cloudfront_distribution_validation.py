"""cloudfront_distribution's pure checks: every bad input refused by build_spec, before any API call, with the field named;
and the pure configuration helpers (the managed fields only, everything else kept)."""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.cloudfront_distribution import (
    ARGUMENT_SPEC,
    CACHE_POLICIES,
    COMPONENT,
    apply_spec,
    bucket_statement,
    build_spec,
    current_view,
    desired_view,
    merge_statement,
    new_config,
    remove_statement,
    statement_sid,
    statement_view,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
CERT = "arn:aws:acm:us-east-1:{0}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
WEB_ACL = "arn:aws:wafv2:us-east-1:{0}:global/webacl/prod-cdn/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".format(ACCOUNT)
BUCKET = "cairn-prod-123456789012-us-east-1-assets"


def params(**overrides):
    """The module's parameters as Ansible fills them in (defaults included)."""
    args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
                name="cairn-prod-assets", aliases=["assets.example.com"], certificate_arn=CERT, web_acl_arn=WEB_ACL,
                origin={"bucket_name": BUCKET, "bucket_region": "us-east-1"}, _ansible_check_mode=False, _ansible_diff=False)
    args.update(overrides)
    with patch_module_args(args):
        return CairnModule(COMPONENT, ARGUMENT_SPEC).params


def refused(**overrides):
    values = params()
    values.update(overrides)
    with pytest.raises(InputError) as err:
        build_spec(values, "us-east-1")
    return err.value.message


def test_the_defaults_give_a_tls12_http2and3_ipv6_distribution_with_caching_optimized():
    spec = build_spec(params(), "us-east-1")
    assert spec["minimum_protocol_version"] == "TLSv1.2_2021"
    assert spec["cache_policy_id"] == "658327ea-f89d-4fab-a63d-7e88639e58f6" == CACHE_POLICIES["CachingOptimized"]
    assert (spec["http_version"], spec["ipv6"], spec["compress"], spec["viewer_protocol_policy"]) == ("http2and3", True, True, "redirect-to-https")
    assert spec["origin"]["domain_name"] == BUCKET + ".s3.us-east-1.amazonaws.com"
    assert spec["caller_reference"] == "cairn-prod-us-east-1-cairn-prod-assets"
    assert spec["sid"] == "CloudFrontOACCairnProdAssets"
    assert spec["oac_name"] == "cairn-prod-assets" and spec["price_class"] == "PriceClass_100"


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:acm:eu-west-1:{0}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT),
     "the certificate is in eu-west-1, but CloudFront only uses ACM certificates of us-east-1"),
    ("arn:aws:acm:us-west-2:{0}:certificate/abc".format(ACCOUNT), "in us-west-2"),
    ("arn:aws:iam::{0}:server-certificate/cdn".format(ACCOUNT), "is not an ACM certificate ARN"),
])
def test_a_certificate_outside_us_east_1_is_refused_naming_the_field(arn, words):
    message = refused(certificate_arn=arn)
    assert message.startswith("certificate_arn: ") and words in message


def test_aliases_need_a_certificate():
    message = refused(certificate_arn=None)
    assert message.startswith("certificate_arn: required with aliases")


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:wafv2:us-east-1:{0}:regional/webacl/prod/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".format(ACCOUNT), "is a regional web ACL"),
    ("arn:aws:wafv2:eu-west-1:{0}:regional/webacl/prod/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".format(ACCOUNT), "of eu-west-1"),
    ("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "WAF Classic"),
    ("arn:aws:waf::123456789012:webacl/abc", "is not a WAFv2 web ACL ARN"),
])
def test_a_regional_or_classic_web_acl_is_refused(arn, words):
    message = refused(web_acl_arn=arn)
    assert message.startswith("web_acl_arn: ") and words in message


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_2016", "TLSv1.1_2016", "SSLv3"])
def test_a_minimum_below_tls12_is_refused(version):
    message = refused(minimum_protocol_version=version)
    assert message.startswith("minimum_protocol_version: {0} lets viewers connect with TLS older than 1.2".format(version))
    assert "TLSv1.2_2021" in message


@pytest.mark.parametrize("version", ["TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"])
def test_every_tls12_policy_is_accepted(version):
    assert build_spec(params(minimum_protocol_version=version), "us-east-1")["minimum_protocol_version"] == version


def test_an_unknown_protocol_version_is_refused():
    assert refused(minimum_protocol_version="TLSv1.2").startswith("minimum_protocol_version: 'TLSv1.2' is not a CloudFront viewer")


def test_an_unknown_cache_policy_name_is_refused():
    message = refused(cache_policy="Managed-CachingOptimized")
    assert message.startswith("cache_policy: 'Managed-CachingOptimized' is not a managed cache policy; use one of CachingOptimized")


def test_an_unknown_response_headers_policy_is_refused():
    assert refused(response_headers_policy="SecurityHeaders").startswith("response_headers_policy: 'SecurityHeaders' is not")


def test_the_argument_spec_also_lists_the_managed_policy_names():
    assert ARGUMENT_SPEC["cache_policy"]["choices"] == list(CACHE_POLICIES)


@pytest.mark.parametrize("price_class", ["PriceClass_300", "None", "priceclass_100"])
def test_a_bad_price_class_is_refused(price_class):
    message = refused(price_class=price_class)
    assert message.startswith("price_class: {0!r} is not a CloudFront price class; use one of PriceClass_100".format(price_class))


@pytest.mark.parametrize("overrides, field", [
    ({"name": "bad_name"}, "name: "),
    ({"name": "x" * 41}, "name: "),
    ({"aliases": ["not a host"]}, "aliases[0]: "),
    ({"aliases": ["assets.example.com", "Assets.Example.com."]}, "aliases[1]: assets.example.com is listed twice"),
    ({"viewer_protocol_policy": "allow-all"}, "viewer_protocol_policy: 'allow-all' is not a viewer protocol policy"),
    ({"http_version": "http4"}, "http_version: "),
    ({"comment": "c" * 129}, "comment: CloudFront allows 128"),
    ({"default_root_object": "/index.html"}, "default_root_object: "),
    ({"origin": {"bucket_name": "Bad_Bucket", "bucket_region": "us-east-1"}}, "origin.bucket_name: "),
    ({"origin": {"bucket_name": BUCKET, "bucket_region": "useast1"}}, "origin.bucket_region: "),
    ({"logging": {"bucket": BUCKET, "prefix": None, "output_format": "w3c"}}, "logging.bucket: " + BUCKET + " is the origin bucket"),
    ({"logging": {"bucket": "cairn-logs", "prefix": "/cf/", "output_format": "w3c"}}, "logging.prefix: "),
    ({"logging": {"bucket": "cairn-logs", "prefix": None, "output_format": "csv"}}, "logging.output_format: "),
    ({"origin_access_control": {"name": "o" * 65}}, "origin_access_control.name: "),
    ({"wait_timeout": -1}, "wait_timeout: "),
])
def test_other_bad_inputs_name_their_field(overrides, field):
    assert refused(**overrides).startswith(field)


def test_placeholders_of_earlier_tasks_are_planned_with():
    spec = build_spec(params(certificate_arn=UNKNOWN, web_acl_arn=UNKNOWN), "us-east-1")
    assert spec["certificate_arn"] == UNKNOWN and spec["web_acl_arn"] == UNKNOWN
    assert desired_view(spec)["viewer_certificate.acm_certificate_arn"] == UNKNOWN


def test_absent_needs_only_the_name_and_origin():
    spec = build_spec(params(state="absent", certificate_arn=None, web_acl_arn=None, aliases=[]), "us-east-1")
    assert spec["state"] == "absent" and spec["sid"] == "CloudFrontOACCairnProdAssets"


def test_logging_defaults_to_a_prefix_per_distribution():
    spec = build_spec(params(logging={"bucket": "cairn-logs", "prefix": None, "output_format": "w3c"}), "us-east-1")
    assert spec["logging"]["prefix"] == "cloudfront/cairn-prod-assets/"
    assert spec["logging"]["destination_resource_arn"] == "arn:aws:s3:::cairn-logs/cloudfront/cairn-prod-assets"
    assert (spec["logging"]["source_name"], spec["logging"]["destination_name"]) == (
        "cairn-prod-assets-access-logs", "cairn-prod-assets-access-logs-s3")


def test_sids_are_letters_and_digits():
    assert statement_sid("cairn-prod-assets") == "CloudFrontOACCairnProdAssets"
    assert statement_sid("a1-b2") == "CloudFrontOACA1B2"


# ---- the configuration: only the managed fields change -------------------------------------------
def test_a_new_config_reads_back_as_the_desired_view():
    spec = build_spec(params(response_headers_policy="SecurityHeadersPolicy", default_root_object="index.html"), "us-east-1")
    config = new_config(spec, "E1OAC")
    assert current_view(config, spec, {"E1OAC": "cairn-prod-assets"}) == desired_view(spec)
    origin = config["Origins"]["Items"][0]
    assert origin["OriginAccessControlId"] == "E1OAC" and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": False, "ACMCertificateArn": CERT,
                                           "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}


def test_apply_spec_keeps_what_it_does_not_manage():
    spec = build_spec(params(price_class="PriceClass_200"), "us-east-1")
    config = new_config(build_spec(params(), "us-east-1"), "E1OAC")
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [{"ErrorCode": 404, "ResponsePagePath": "/404.html",
                                                               "ResponseCode": "404", "ErrorCachingMinTTL": 10}]}
    config["Origins"]["Items"].append({"Id": "other", "DomainName": "api.example.com", "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}})
    config["Origins"]["Quantity"] = 2
    config["DefaultCacheBehavior"]["ForwardedValues"] = {"QueryString": False, "Cookies": {"Forward": "none"}}
    config["ViewerCertificate"]["CertificateSource"] = "acm"
    changed = apply_spec(config, spec, "E1OAC")
    assert changed["PriceClass"] == "PriceClass_200"
    assert changed["CustomErrorResponses"] == config["CustomErrorResponses"]
    assert [origin["Id"] for origin in changed["Origins"]["Items"]] == ["s3-" + BUCKET, "other"]
    assert changed["Origins"]["Items"][1] == config["Origins"]["Items"][1]
    assert "ForwardedValues" not in changed["DefaultCacheBehavior"]
    assert "CertificateSource" not in changed["ViewerCertificate"]
    assert changed["CallerReference"] == config["CallerReference"]
    assert config["PriceClass"] == "PriceClass_100"  # the read configuration itself is not touched


def test_the_plan_lists_each_changed_field():
    spec = build_spec(params(price_class="PriceClass_200", minimum_protocol_version="TLSv1.2_2025"), "us-east-1")
    current = current_view(new_config(build_spec(params(), "us-east-1"), "E1OAC"), spec, {"E1OAC": "cairn-prod-assets"})
    desired = desired_view(spec)
    assert {key for key in desired if desired[key] != current[key]} == {
        "price_class", "viewer_certificate.minimum_protocol_version"}


def test_the_bucket_statement_is_scoped_to_the_distribution_and_merged_by_sid():
    spec = build_spec(params(), "us-east-1")
    arn = "arn:aws:cloudfront::{0}:distribution/E2QWRUHAPOMQZL".format(ACCOUNT)
    statement = bucket_statement(spec, arn)
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"} and statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == "arn:aws:s3:::{0}/*".format(BUCKET)
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": arn}}
    other = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
             "Resource": ["arn:aws:s3:::" + BUCKET], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    stale = dict(statement, Condition={"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/OLD"}})
    merged = merge_statement({"Version": "2012-10-17", "Statement": [other, stale]}, statement)
    assert merged["Statement"] == [other, statement]
    assert remove_statement(merged, spec["sid"]) == {"Version": "2012-10-17", "Statement": [other]}
    assert remove_statement({"Statement": [statement]}, spec["sid"]) is None
    # The plan shows the distribution by name, so a check run (ARN unknown) reads like the real one.
    assert statement_view(statement, arn, "cairn-prod-assets") == statement_view(
        bucket_statement(spec, UNKNOWN), UNKNOWN, "cairn-prod-assets")

"""cloudfront_distribution paths the emulator models loosely or not at all, driven by botocore Stubber (every request
checked against the real CloudFront, S3 and CloudWatch Logs API models).

CloudFront changes a distribution's ETag on every update and refuses a write whose IfMatch is stale
(PreconditionFailed); it refuses to delete an enabled distribution (DistributionNotDisabled) and a distribution goes
InProgress after a change; it refuses to delete an Origin Access Control still in use. moto does none of these.
"""

from __future__ import annotations

import copy
import datetime
import json

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils import waits
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.cloudfront_distribution import (
    ARGUMENT_SPEC,
    COMPONENT,
    CloudFrontConverger,
    apply_spec,
    bucket_statement,
    build_spec,
    new_config,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
NAME = "cairn-prod-assets"
STACK = "prod-us-east-1"
BUCKET = "cairn-prod-123456789012-us-east-1-assets"
DIST_ID = "E2QWRUHAPOMQZL"
DIST_ARN = "arn:aws:cloudfront::{0}:distribution/{1}".format(ACCOUNT, DIST_ID)
OAC_ID = "E1QL6VLQ6WI3IK"
CERT = "arn:aws:acm:us-east-1:{0}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab".format(ACCOUNT)
NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)
OTHER = {"Sid": "KeepMe", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::" + BUCKET,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def make(**args):
    module_args = dict(environment="prod", stack=STACK, region="us-east-1", name=NAME, access_key="testing", secret_key="testing",
                       aliases=["assets.example.com"], certificate_arn=CERT, origin={"bucket_name": BUCKET, "bucket_region": "us-east-1"},
                       _ansible_check_mode=False, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = CloudFrontConverger(cm, build_spec(cm.params, "us-east-1"))
    assert converger.cf is cm.client("cloudfront") and converger.s3 is cm.client("s3") and converger.logs is cm.client("logs")
    return cm, converger


def tag_items():
    tags = {"Name": NAME, "cairn:component": COMPONENT, "cairn:environment": "prod", "cairn:managed-by": "cairn.platform",
            "cairn:stack": STACK}
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def aws_config(**changes):
    """The configuration as CloudFront answers it: what the module wrote plus what CloudFront fills in."""
    config = new_config(build_spec(make()[0].params, "us-east-1"), OAC_ID)
    config.update(CacheBehaviors={"Quantity": 0}, CustomErrorResponses={"Quantity": 0}, OriginGroups={"Quantity": 0},
                  Restrictions={"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
                  Logging={"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""}, Staging=False)
    config["ViewerCertificate"].update(Certificate=CERT, CertificateSource="acm")
    config["ViewerCertificate"]["MinimumProtocolVersion"] = "TLSv1.2_2019"
    config.update(changes)
    return config


def summary(config, status="Deployed"):
    keys = ("Aliases", "Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors", "CustomErrorResponses", "Comment",
            "PriceClass", "Enabled", "ViewerCertificate", "Restrictions", "WebACLId", "HttpVersion", "IsIPV6Enabled", "Staging")
    return dict({key: config[key] for key in keys}, Id=DIST_ID, ARN=DIST_ARN, ETag="E1", Status=status, LastModifiedTime=NOW,
                DomainName="d111111abcdef8.cloudfront.net")


def distribution(config, status="Deployed"):
    return {"Id": DIST_ID, "ARN": DIST_ARN, "Status": status, "LastModifiedTime": NOW, "InProgressInvalidationBatches": 0,
            "DomainName": "d111111abcdef8.cloudfront.net", "DistributionConfig": config}


def oac_list():
    return {"OriginAccessControlList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1, "Items": [{
        "Id": OAC_ID, "Name": NAME, "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3",
        "Description": "Origin access control of CloudFront distribution {0} (stack {1}), managed by cairn.platform".format(NAME, STACK)}]}}


def stub_reads(cf, s3, logs, config, statements, encryption=True, status="Deployed"):
    cf.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1,
                                                                "Items": [summary(config, status)]}}, {})
    cf.add_response("list_tags_for_resource", {"Tags": {"Items": tag_items()}}, {"Resource": DIST_ARN})
    cf.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E1"}, {"Id": DIST_ID})
    cf.add_response("list_origin_access_controls", oac_list(), {})
    s3.add_response("get_bucket_policy", {"Policy": json.dumps({"Version": "2012-10-17", "Statement": statements})}, {"Bucket": BUCKET})
    if encryption:
        s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}, {"Bucket": BUCKET})
    logs.add_client_error("get_delivery_source", service_error_code="ResourceNotFoundException", http_status_code=400)
    logs.add_client_error("get_delivery_destination", service_error_code="ResourceNotFoundException", http_status_code=400)


def our_statement():
    return bucket_statement(build_spec(make()[0].params, "us-east-1"), DIST_ARN)


def stubbers(cm):
    return Stubber(cm.client("cloudfront")), Stubber(cm.client("s3")), Stubber(cm.client("logs"))


def run(converger, cm, script, method="present"):
    cf, s3, logs = stubbers(cm)
    with cf, s3, logs:
        script(cf, s3, logs)
        result = getattr(converger, method)()
        for stub in (cf, s3, logs):
            stub.assert_no_pending_responses()
    return result


def test_a_distribution_as_cloudfront_answers_it_needs_no_update():
    cm, converger = make(minimum_protocol_version="TLSv1.2_2019")
    result = run(converger, cm, lambda cf, s3, logs: stub_reads(cf, s3, logs, aws_config(), [OTHER, our_statement()]))
    assert converger.plan.changes == []
    assert result["distribution"]["etag"] == "E1" and result["origin_access_control"] == {"id": OAC_ID, "name": NAME}


def test_an_update_carries_the_etag_read_and_the_whole_config_with_only_the_managed_fields_changed():
    cm, converger = make(price_class="PriceClass_200")
    config = aws_config()
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [{"ErrorCode": 404, "ResponsePagePath": "/404.html",
                                                               "ResponseCode": "404", "ErrorCachingMinTTL": 10}]}
    expected = copy.deepcopy(config)
    expected["PriceClass"] = "PriceClass_200"
    expected["ViewerCertificate"] = {"CloudFrontDefaultCertificate": False, "ACMCertificateArn": CERT, "SSLSupportMethod": "sni-only",
                                     "MinimumProtocolVersion": "TLSv1.2_2021"}

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, config, [OTHER, our_statement()])
        cf.add_response("update_distribution", {"Distribution": distribution(expected, "InProgress"), "ETag": "E2"},
                        {"Id": DIST_ID, "IfMatch": "E1", "DistributionConfig": expected})

    result = run(converger, cm, script)
    # The plan lists each field that changes, never a replacement.
    assert converger.plan.changes == [{"action": "update", "resource_type": "cloudfront_distribution", "resource": NAME, "fields": {
        "price_class": {"before": "PriceClass_100", "after": "PriceClass_200"},
        "viewer_certificate.minimum_protocol_version": {"before": "TLSv1.2_2019", "after": "TLSv1.2_2021"}}}]
    assert result["distribution"]["etag"] == "E2" and result["distribution"]["status"] == "InProgress"


def test_a_stale_etag_is_read_again_once_and_the_update_retried():
    cm, converger = make(price_class="PriceClass_All", minimum_protocol_version="TLSv1.2_2019")
    config = aws_config()
    # Someone else changed the comment meanwhile: the retry keeps their change and still sets ours.
    fresh = aws_config(Comment="changed elsewhere")

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, config, [OTHER, our_statement()])
        cf.add_client_error("update_distribution", service_error_code="PreconditionFailed", http_status_code=412,
                            service_message="The If-Match version is missing or not valid for the resource.",
                            expected_params={"Id": DIST_ID, "IfMatch": "E1", "DistributionConfig": apply_spec(config, converger.spec, OAC_ID)})
        cf.add_response("get_distribution_config", {"DistributionConfig": fresh, "ETag": "E7"}, {"Id": DIST_ID})
        retried = apply_spec(fresh, converger.spec, OAC_ID)
        cf.add_response("update_distribution", {"Distribution": distribution(retried, "InProgress"), "ETag": "E8"},
                        {"Id": DIST_ID, "IfMatch": "E7", "DistributionConfig": retried})

    result = run(converger, cm, script)
    assert result["distribution"]["etag"] == "E8"


def test_a_second_stale_etag_fails_with_a_sentence():
    cm, converger = make(price_class="PriceClass_All", minimum_protocol_version="TLSv1.2_2019")
    config = aws_config()

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, config, [OTHER, our_statement()])
        cf.add_client_error("update_distribution", service_error_code="PreconditionFailed", http_status_code=412)
        cf.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E7"}, {"Id": DIST_ID})
        cf.add_client_error("update_distribution", service_error_code="PreconditionFailed", http_status_code=412)

    with pytest.raises(CairnError) as err:
        run(converger, cm, script)
    assert "refused updating distribution {0} twice".format(DIST_ID) in err.value.message
    assert err.value.details["error_code"] == "PreconditionFailed"


def test_delete_disables_first_waits_for_the_deployment_then_deletes_with_the_new_etag(monkeypatch):
    monkeypatch.setattr(waits.time, "sleep", lambda seconds: None)
    cm, converger = make(state="absent", aliases=[], certificate_arn=None)
    config = aws_config()
    disabled = dict(copy.deepcopy(config), Enabled=False)

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, config, [OTHER, our_statement()], encryption=False)
        cf.add_response("update_distribution", {"Distribution": distribution(disabled, "InProgress"), "ETag": "E2"},
                        {"Id": DIST_ID, "IfMatch": "E1", "DistributionConfig": disabled})
        cf.add_response("get_distribution", {"Distribution": distribution(disabled, "InProgress"), "ETag": "E2"}, {"Id": DIST_ID})
        cf.add_response("get_distribution", {"Distribution": distribution(disabled, "Deployed"), "ETag": "E3"}, {"Id": DIST_ID})
        cf.add_response("delete_distribution", {}, {"Id": DIST_ID, "IfMatch": "E3"})
        oac_config = {"Name": NAME, "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"}
        cf.add_response("get_origin_access_control", {"OriginAccessControl": {"Id": OAC_ID, "OriginAccessControlConfig": oac_config},
                                                      "ETag": "O1"}, {"Id": OAC_ID})
        cf.add_response("delete_origin_access_control", {}, {"Id": OAC_ID, "IfMatch": "O1"})
        s3.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": json.dumps({"Version": "2012-10-17", "Statement": [OTHER]})})

    result = run(converger, cm, script, method="absent")
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("update", "cloudfront_distribution"), ("delete", "cloudfront_distribution"), ("delete", "origin_access_control"),
        ("delete", "bucket_policy_statement")]
    assert converger.plan.changes[0]["fields"] == {"enabled": {"before": True, "after": False}}
    assert result["distribution"] is None


def test_an_interrupted_delete_is_finished_by_the_next_run(monkeypatch):
    """The wait ran out after the disable; the next run finds it disabled, waits and deletes (no second update)."""
    monkeypatch.setattr(waits.time, "sleep", lambda seconds: None)
    cm, converger = make(state="absent", aliases=[], certificate_arn=None, wait_timeout=0)
    disabled = aws_config(Enabled=False)

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, disabled, [OTHER], encryption=False, status="InProgress")
        cf.add_response("get_distribution", {"Distribution": distribution(disabled, "InProgress"), "ETag": "E2"}, {"Id": DIST_ID})

    with pytest.raises(CairnError) as err:
        run(converger, cm, script, method="absent")
    assert "Timed out" in err.value.message and "the next run deletes it" in err.value.message

    cm, converger = make(state="absent", aliases=[], certificate_arn=None)

    def again(cf, s3, logs):
        stub_reads(cf, s3, logs, disabled, [OTHER], encryption=False, status="Deployed")
        cf.add_response("get_distribution", {"Distribution": distribution(disabled, "Deployed"), "ETag": "E4"}, {"Id": DIST_ID})
        cf.add_response("delete_distribution", {}, {"Id": DIST_ID, "IfMatch": "E4"})
        cf.add_response("get_origin_access_control", {"OriginAccessControl": {"Id": OAC_ID}, "ETag": "O1"}, {"Id": OAC_ID})
        cf.add_response("delete_origin_access_control", {}, {"Id": OAC_ID, "IfMatch": "O1"})

    run(converger, cm, again, method="absent")
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("delete", "cloudfront_distribution"), ("delete", "origin_access_control")]


def test_cloudfront_refusing_an_enabled_distribution_is_a_sentence(monkeypatch):
    monkeypatch.setattr(waits.time, "sleep", lambda seconds: None)
    cm, converger = make(state="absent", aliases=[], certificate_arn=None)
    disabled = aws_config(Enabled=False)

    def script(cf, s3, logs):
        stub_reads(cf, s3, logs, disabled, [OTHER], encryption=False)
        cf.add_response("get_distribution", {"Distribution": distribution(disabled), "ETag": "E2"}, {"Id": DIST_ID})
        cf.add_client_error("delete_distribution", service_error_code="DistributionNotDisabled", http_status_code=409,
                            expected_params={"Id": DIST_ID, "IfMatch": "E2"})

    with pytest.raises(CairnError) as err:
        run(converger, cm, script, method="absent")
    assert "it is not disabled" in err.value.message


def test_an_origin_access_control_in_use_elsewhere_is_not_forced(monkeypatch):
    cm, converger = make(state="absent", aliases=[], certificate_arn=None)

    def script(cf, s3, logs):
        cf.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
        cf.add_response("list_origin_access_controls", oac_list(), {})
        s3.add_client_error("get_bucket_policy", service_error_code="NoSuchBucketPolicy", http_status_code=404)
        logs.add_client_error("get_delivery_source", service_error_code="ResourceNotFoundException", http_status_code=400)
        logs.add_client_error("get_delivery_destination", service_error_code="ResourceNotFoundException", http_status_code=400)
        cf.add_response("get_origin_access_control", {"OriginAccessControl": {"Id": OAC_ID}, "ETag": "O1"}, {"Id": OAC_ID})
        cf.add_client_error("delete_origin_access_control", service_error_code="OriginAccessControlInUse", http_status_code=409)

    with pytest.raises(CairnError) as err:
        run(converger, cm, script, method="absent")
    assert "another distribution still uses it" in err.value.message


def test_a_create_cloudfront_already_has_under_our_caller_reference_is_adopted_not_duplicated():
    cm, converger = make(minimum_protocol_version="TLSv1.2_2019")
    # Made by a run interrupted before it could finish (and then changed): converged, not created again.
    config = aws_config(PriceClass="PriceClass_All")

    def script(cf, s3, logs):
        cf.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
        cf.add_response("list_origin_access_controls", oac_list(), {})
        s3.add_response("get_bucket_policy", {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [OTHER]})}, {"Bucket": BUCKET})
        s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}, {"Bucket": BUCKET})
        cf.add_client_error("create_distribution_with_tags", service_error_code="DistributionAlreadyExists", http_status_code=409,
                            service_message="The caller reference that you are using to create a distribution is associated with "
                                            "another distribution. Already exists: " + DIST_ID)
        cf.add_response("get_distribution", {"Distribution": distribution(config), "ETag": "E1"}, {"Id": DIST_ID})
        cf.add_response("list_tags_for_resource", {"Tags": {"Items": tag_items()}}, {"Resource": DIST_ARN})
        cf.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E1"}, {"Id": DIST_ID})
        cf.add_response("update_distribution", {"Distribution": distribution(config), "ETag": "E2"},
                        {"Id": DIST_ID, "IfMatch": "E1", "DistributionConfig": apply_spec(config, converger.spec, OAC_ID)})
        s3.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [OTHER, our_statement()]})})

    result = run(converger, cm, script)
    assert result["distribution"]["id"] == DIST_ID
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("create", "cloudfront_distribution"), ("create", "bucket_policy_statement")]


def test_an_origin_access_control_of_our_name_not_made_by_us_is_refused_before_any_write():
    cm, converger = make()
    foreign = oac_list()
    foreign["OriginAccessControlList"]["Items"][0]["Description"] = "made by hand"

    def script(cf, s3, logs):
        cf.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
        cf.add_response("list_origin_access_controls", foreign, {})
        s3.add_client_error("get_bucket_policy", service_error_code="NoSuchBucketPolicy", http_status_code=404)
        s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/s3"}}]}}, {"Bucket": BUCKET})

    with pytest.raises(CairnError) as err:
        run(converger, cm, script)
    assert err.value.message.startswith("origin_access_control.name: origin access control {0} ({1}) exists but was not made".format(NAME, OAC_ID))

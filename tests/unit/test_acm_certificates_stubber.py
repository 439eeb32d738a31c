"""acm_certificates paths the emulator cannot show, driven by botocore Stubber (requests checked against the real ACM,
Route 53 and Resource Groups Tagging API models).

ACM puts the validation records on a new certificate a few seconds after RequestCertificate, and a validation can
fail or time out; moto has the records at once and issues every certificate after a fixed delay.
"""

from __future__ import annotations

import datetime

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.tags import dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.modules import acm_certificates
from ansible_collections.cairn.platform.plugins.modules.acm_certificates import ARGUMENT_SPEC, COMPONENT, AcmConverger, build_spec

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
OWNERSHIP = {"cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": COMPONENT,
             "cairn:managed-by": "cairn.platform"}
TAG_FILTERS = [{"Key": key, "Values": [value]} for key, value in sorted(OWNERSHIP.items())]
RECORD = {"Name": "_abc.app.example.com.", "Type": "CNAME", "Value": "_def.xyz.acm-validations.aws."}


def make_converger(check_mode=False, state="present", wait_timeout=30):
    certificates = [{"name": "alb", "domain_name": "app.example.com", "validation_zone_id": ZONE_ID,
                     "validation_zone_name": "example.com"}] if state == "present" else None
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", certificates=certificates, state=state,
                       wait_timeout=wait_timeout, access_key="testing", secret_key="testing",
                       _ansible_check_mode=check_mode, _ansible_diff=False)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    return cm, AcmConverger(cm, build_spec(cm.params, cm.connection.region))


def certificate(status, records=True, in_use_by=()):
    option = {"DomainName": "app.example.com", "ValidationStatus": "PENDING_VALIDATION" if status != "ISSUED" else "SUCCESS",
              "ValidationMethod": "DNS"}
    if records:
        option["ResourceRecord"] = RECORD
    described = {"CertificateArn": ARN, "DomainName": "app.example.com", "SubjectAlternativeNames": ["app.example.com"],
                 "Status": status, "Type": "AMAZON_ISSUED", "KeyAlgorithm": "RSA_2048", "InUseBy": list(in_use_by),
                 "DomainValidationOptions": [option], "CreatedAt": datetime.datetime(2026, 1, 1)}
    if status == "FAILED":
        described["FailureReason"] = "CAA_ERROR"
    return {"Certificate": described}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(acm_certificates.time, "sleep", lambda seconds: None)


def stubs(converger):
    return (Stubber(converger.client("resourcegroupstaggingapi")), Stubber(converger.client("acm")),
            Stubber(converger.client("route53")))


def owned(stub, *arns):
    tags = dict(OWNERSHIP, **{"cairn:certificate": "alb", "cairn:validation-zone": ZONE_ID, "Name": "prod-us-east-1-alb"})
    stub.add_response("get_resources", {"ResourceTagMappingList": [
        {"ResourceARN": arn, "Tags": dict_to_boto3_tag_list(tags)} for arn in arns]},
        {"ResourceTypeFilters": ["acm:certificate"], "TagFilters": TAG_FILTERS})


def test_records_that_appear_late_are_waited_for_then_written_and_the_certificate_waited_until_issued():
    cm, converger = make_converger()
    tagging, acm, route53 = stubs(converger)
    with tagging, acm, route53:
        owned(tagging)
        acm.add_response("request_certificate", {"CertificateArn": ARN},
                         {"DomainName": "app.example.com", "ValidationMethod": "DNS", "KeyAlgorithm": "RSA_2048",
                          "IdempotencyToken": ANY, "Tags": ANY})
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION", records=False), {"CertificateArn": ARN})
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
        route53.add_response("list_resource_record_sets", {"ResourceRecordSets": [], "IsTruncated": False, "MaxItems": "300"},
                             {"HostedZoneId": ZONE_ID})
        route53.add_response("change_resource_record_sets", {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING",
                                                                            "SubmittedAt": datetime.datetime(2026, 1, 1)}},
                             {"HostedZoneId": ZONE_ID, "ChangeBatch": {
                                 "Comment": ANY, "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                                     "Name": RECORD["Name"], "Type": "CNAME", "TTL": 300,
                                     "ResourceRecords": [{"Value": RECORD["Value"]}]}}]}})
        route53.add_response("get_change", {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING",
                                                           "SubmittedAt": datetime.datetime(2026, 1, 1)}}, {"Id": "/change/C1"})
        route53.add_response("get_change", {"ChangeInfo": {"Id": "/change/C1", "Status": "INSYNC",
                                                           "SubmittedAt": datetime.datetime(2026, 1, 1)}}, {"Id": "/change/C1"})
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
        acm.add_response("describe_certificate", certificate("ISSUED"), {"CertificateArn": ARN})
        result = converger.present()
        acm.assert_no_pending_responses()
        route53.assert_no_pending_responses()
    assert result["certificates"]["alb"]["status"] == "ISSUED"
    assert result["certificates"]["alb"]["validation_records"] == [
        {"name": RECORD["Name"], "type": "CNAME", "value": RECORD["Value"]}]
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [
        ("create", "acm_certificate"), ("create", "acm_validation_record")]


def test_a_failed_validation_is_reported_with_acms_reason():
    _cm, converger = make_converger()
    tagging, acm, route53 = stubs(converger)
    with tagging, acm, route53:
        owned(tagging, ARN)
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
        route53.add_response("list_resource_record_sets", {"ResourceRecordSets": [
            {"Name": RECORD["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": RECORD["Value"]}]}],
            "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": ZONE_ID})
        acm.add_response("describe_certificate", certificate("FAILED"), {"CertificateArn": ARN})
        with pytest.raises(CairnError) as failed:
            converger.present()
    assert "went to FAILED: CAA_ERROR" in failed.value.message
    assert "requested again by the next run" in failed.value.message


def test_the_wait_is_bounded_and_says_where_the_records_are():
    _cm, converger = make_converger(wait_timeout=0)
    tagging, acm, route53 = stubs(converger)
    with tagging, acm, route53:
        owned(tagging, ARN)
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
        route53.add_response("list_resource_record_sets", {"ResourceRecordSets": [
            {"Name": RECORD["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": RECORD["Value"]}]}],
            "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": ZONE_ID})
        acm.add_response("describe_certificate", certificate("PENDING_VALIDATION"), {"CertificateArn": ARN})
        with pytest.raises(CairnError) as failed:
            converger.present()
    assert "Timed out" in failed.value.message and "wait_timeout=0" in failed.value.message
    assert "zone example.com" in failed.value.message


def test_removal_waits_for_acm_to_clear_in_use_then_deletes():
    cm, converger = make_converger(state="absent")
    tagging, acm, route53 = stubs(converger)
    lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/prod-us-east-1-alb/50dc6c495c0c9188"
    with tagging, acm, route53:
        owned(tagging, ARN)
        acm.add_response("describe_certificate", certificate("ISSUED", in_use_by=[lb]), {"CertificateArn": ARN})
        acm.add_response("describe_certificate", certificate("ISSUED", in_use_by=[lb]), {"CertificateArn": ARN})
        acm.add_response("describe_certificate", certificate("ISSUED"), {"CertificateArn": ARN})
        acm.add_response("delete_certificate", {}, {"CertificateArn": ARN})
        acm.add_response("list_certificates", {"CertificateSummaryList": []},
                         {"CertificateStatuses": ANY, "Includes": ANY})
        route53.add_response("list_resource_record_sets", {"ResourceRecordSets": [
            {"Name": RECORD["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": RECORD["Value"]}]}],
            "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": ZONE_ID})
        route53.add_response("change_resource_record_sets", {"ChangeInfo": {"Id": "/change/C2", "Status": "PENDING",
                                                                            "SubmittedAt": datetime.datetime(2026, 1, 1)}},
                             {"HostedZoneId": ZONE_ID, "ChangeBatch": {"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
                                 "Name": RECORD["Name"], "Type": "CNAME", "TTL": 300,
                                 "ResourceRecords": [{"Value": RECORD["Value"]}]}}]}})
        converger.absent()
        acm.assert_no_pending_responses()
        route53.assert_no_pending_responses()
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [
        ("delete", "acm_certificate"), ("delete", "acm_validation_record")]


def test_removal_of_a_certificate_in_use_is_refused_before_any_deletion():
    _cm, converger = make_converger(state="absent", wait_timeout=0)
    tagging, acm, route53 = stubs(converger)
    lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/prod-us-east-1-alb/50dc6c495c0c9188"
    with tagging, acm, route53:
        owned(tagging, ARN)
        acm.add_response("describe_certificate", certificate("ISSUED", in_use_by=[lb]), {"CertificateArn": ARN})
        acm.add_response("describe_certificate", certificate("ISSUED", in_use_by=[lb]), {"CertificateArn": ARN})
        with pytest.raises(CairnError) as failed:
            converger.absent()
        acm.assert_no_pending_responses()  # no DeleteCertificate queued, none made
    assert "still in use" in failed.value.message and lb in failed.value.message


def test_check_mode_on_an_empty_account_plans_the_certificate_and_its_records_without_writing():
    cm, converger = make_converger(check_mode=True)
    tagging, acm, route53 = stubs(converger)
    with tagging, acm, route53:
        owned(tagging)
        result = converger.present()
    assert result["certificates"]["alb"]["arn"] == "(known after apply)"
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [
        ("create", "acm_certificate"), ("create", "acm_validation_record")]

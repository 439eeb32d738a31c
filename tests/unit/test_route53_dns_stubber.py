"""route53_dns paths the emulator cannot show, driven by botocore Stubber (every request checked against the real
Route 53 API model, and against the exact parameters the module must send).

moto answers GetChange with INSYNC at once, accepts every change batch (a CREATE of an existing record set too),
never refuses a stale HealthCheckVersion nor a remembered CallerReference, and returns alias targets as written,
while AWS adds ``dualstack.`` to load balancer names. Here Route 53 answers as AWS does.
"""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils import waits
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.route53_dns import (
    ARGUMENT_SPEC,
    COMPONENT,
    Route53Converger,
    batch_refusal,
    build_spec,
    health_check_config,
    registry_entry,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ENV = "prod"
STACK = "prod-us-east-1"
ZONE = "prod.example.com"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
HC_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
NEW_HC_ID = "11111111-2222-4333-8444-555555555555"
ALB = "web-1.us-east-1.elb.amazonaws.com"
ALB_ZONE = "Z35SXDOTRQ7X7K"
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
OWNERSHIP = {"cairn:environment": ENV, "cairn:stack": STACK, "cairn:component": COMPONENT, "cairn:managed-by": "cairn.platform"}
COMMENT = "cairn.platform route53_dns ({0})".format(STACK)
CHECK = {"name": "prod-alb", "fqdn": ALB, "resource_path": "/healthz", "request_interval": 10}


def make(check_mode=False, **args):
    module_args = dict(environment=ENV, stack=STACK, region="us-east-1", access_key="testing", secret_key="testing",
                       zone={"name": ZONE}, _ansible_check_mode=check_mode, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = Route53Converger(cm, build_spec(cm.params))
    assert converger.r53 is cm.client("route53")  # stubbing the cached client stubs the converger
    return cm, converger


def tag_list(tags):
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def owner_value(rtype, set_identifier=None):
    return '"{0}"'.format(registry_entry((ENV, STACK), rtype, set_identifier))


def registry(name, *entries):
    return {"Name": "_cairn-owner.{0}.".format(name), "Type": "TXT", "TTL": 300,
            "ResourceRecords": [{"Value": owner_value(*entry)} for entry in entries]}


def apex():
    servers = [{"Value": "ns-{0}.awsdns-0{0}.org.".format(n)} for n in range(1, 5)]
    soa = [{"Value": "ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]
    return [{"Name": ZONE + ".", "Type": "NS", "TTL": 172800, "ResourceRecords": servers},
            {"Name": ZONE + ".", "Type": "SOA", "TTL": 900, "ResourceRecords": soa}]


def stub_zone(stub, rrsets=(), zone_tags=None):
    """The reads of an existing zone the stack owns: by name, its tags, its record sets."""
    stub.add_response("list_hosted_zones_by_name", {
        "HostedZones": [{"Id": "/hostedzone/" + ZONE_ID, "Name": ZONE + ".", "CallerReference": "cairn-ref",
                         "Config": {"Comment": "Public zone of prod, managed by cairn.platform", "PrivateZone": False},
                         "ResourceRecordSetCount": 2 + len(rrsets)}],
        "DNSName": ZONE + ".", "IsTruncated": False, "MaxItems": "100"}, {"DNSName": ZONE + ".", "MaxItems": "100"})
    tags = dict(OWNERSHIP, Name=ZONE) if zone_tags is None else zone_tags
    stub.add_response("list_tags_for_resources", {"ResourceTagSets": [
        {"ResourceType": "hostedzone", "ResourceId": ZONE_ID, "Tags": tag_list(tags)}]},
        {"ResourceType": "hostedzone", "ResourceIds": [ZONE_ID]})
    stub.add_response("list_resource_record_sets", {"ResourceRecordSets": apex() + list(rrsets), "IsTruncated": False,
                                                    "MaxItems": "300"}, {"HostedZoneId": ZONE_ID})


def aws_check(check_id=HC_ID, version=1, **config):
    """A health check as ListHealthChecks returns it."""
    values = {"Type": "HTTPS", "FullyQualifiedDomainName": ALB, "Port": 443, "ResourcePath": "/healthz", "RequestInterval": 10,
              "FailureThreshold": 3, "MeasureLatency": False, "Inverted": False, "Disabled": False, "EnableSNI": True}
    values.update(config)
    return {"Id": check_id, "CallerReference": "cairn-0123456789-check", "HealthCheckConfig": values, "HealthCheckVersion": version}


def stub_health_checks(stub, checks, names=None):
    stub.add_response("list_health_checks", {"HealthChecks": checks, "Marker": "", "IsTruncated": False, "MaxItems": "100"}, {})
    if checks:
        names = names or ["prod-alb"] * len(checks)
        stub.add_response("list_tags_for_resources", {"ResourceTagSets": [
            {"ResourceType": "healthcheck", "ResourceId": check["Id"], "Tags": tag_list(dict(OWNERSHIP, Name=name))}
            for check, name in zip(checks, names)]}, {"ResourceType": "healthcheck", "ResourceIds": [c["Id"] for c in checks]})


def change_info(status, change_id="C2ABCDEF0123456"):
    return {"ChangeInfo": {"Id": "/change/" + change_id, "Status": status, "SubmittedAt": NOW}}


WWW = {"Name": "www.{0}.".format(ZONE), "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.10"}]}
WWW_CREATES = [{"Action": "CREATE", "ResourceRecordSet": WWW}, {"Action": "CREATE", "ResourceRecordSet": registry("www." + ZONE, ("A",))}]


def test_the_batch_is_waited_on_from_pending_to_insync(monkeypatch):
    sleeps = []
    monkeypatch.setattr(waits.time, "sleep", sleeps.append)
    cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_response("change_resource_record_sets", change_info("PENDING"),
                          {"HostedZoneId": ZONE_ID, "ChangeBatch": {"Comment": COMMENT, "Changes": WWW_CREATES}})
        stub.add_response("get_change", change_info("PENDING"), {"Id": "/change/C2ABCDEF0123456"})
        stub.add_response("get_change", change_info("PENDING"), {"Id": "/change/C2ABCDEF0123456"})
        stub.add_response("get_change", change_info("INSYNC"), {"Id": "/change/C2ABCDEF0123456"})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert sleeps == [5, 5]  # polled every 5 s until INSYNC, not a moment longer
    assert [(c["action"], c["resource"]) for c in cm.plan.changes] == [("create", "www.{0} A".format(ZONE))]
    assert result["records"] == [{"name": "www." + ZONE, "type": "A", "set_identifier": None, "failover": None, "ttl": 300,
                                  "values": ["192.0.2.10"], "alias": None, "health_check_id": None, "owned": True}]
    assert result["zone"]["name_servers"] == ["ns-{0}.awsdns-0{0}.org".format(n) for n in range(1, 5)]


def test_a_change_that_stays_pending_past_wait_timeout_is_a_sentence(monkeypatch):
    monkeypatch.setattr(waits.time, "sleep", lambda seconds: None)
    _cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}], wait_timeout=0)
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_response("change_resource_record_sets", change_info("PENDING"),
                          {"HostedZoneId": ZONE_ID, "ChangeBatch": {"Comment": COMMENT, "Changes": WWW_CREATES}})
        stub.add_response("get_change", change_info("PENDING"), {"Id": "/change/C2ABCDEF0123456"})
        with pytest.raises(CairnError) as failed:
            converger.present()
        stub.assert_no_pending_responses()
    assert "change /change/C2ABCDEF0123456 of zone {0} to reach INSYNC".format(ZONE) in failed.value.message
    assert "wait_timeout=0" in failed.value.message


def test_wait_false_sends_the_batch_and_reads_no_change():
    _cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}], wait=False)
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_response("change_resource_record_sets", change_info("PENDING"),
                          {"HostedZoneId": ZONE_ID, "ChangeBatch": {"Comment": COMMENT, "Changes": WWW_CREATES}})
        result = converger.present()
        stub.assert_no_pending_responses()  # and no GetChange: the Stubber refuses any call not queued
    assert result["waited_seconds"] == 0


def test_a_refused_batch_is_reported_with_route53s_reasons():
    cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}])
    reason = "Tried to create resource record set [name='www.prod.example.com.', type='A'] but it already exists"
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_client_error("change_resource_record_sets", service_error_code="InvalidChangeBatch",
                              service_message="[{0}]".format(reason), http_status_code=400, modeled_fields={"messages": [reason]},
                              expected_params={"HostedZoneId": ZONE_ID, "ChangeBatch": {"Comment": COMMENT, "Changes": WWW_CREATES}})
        with pytest.raises(CairnError) as failed:
            converger.present()
        stub.assert_no_pending_responses()  # no GetChange after a refusal
    message = failed.value.message
    assert message.startswith("Route 53 refused the change batch of zone {0} (InvalidChangeBatch): {1}.".format(ZONE, reason))
    assert "Nothing in the batch was applied" in message
    assert failed.value.details == {"error_code": "InvalidChangeBatch", "operation": "ChangeResourceRecordSets"}
    assert [c["action"] for c in cm.plan.changes] == ["create"]  # the plan says what was attempted


def test_a_refused_batch_without_messages_uses_the_error_message():
    _cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_client_error("change_resource_record_sets", service_error_code="InvalidInput",
                              service_message="Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]].",
                              http_status_code=400)
        with pytest.raises(CairnError) as failed:
            converger.present()
    assert "(InvalidInput): Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]]. Nothing" \
        in failed.value.message


def test_the_bracketed_reasons_of_the_usual_error_response_are_unwrapped():
    _cm, converger = make(records=[{"name": "www", "type": "A", "values": ["192.0.2.10"]}])
    reasons = ("Tried to create resource record set [name='www.prod.example.com.', type='A'] but it already exists, "
               "RRSet with DNS name _cairn-owner.www.prod.example.com. is not permitted")
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub.add_client_error("change_resource_record_sets", service_error_code="InvalidChangeBatch",
                              service_message="[{0}]".format(reasons), http_status_code=400)
        with pytest.raises(CairnError) as failed:
            converger.present()
    assert "(InvalidChangeBatch): {0}. Nothing in the batch was applied".format(reasons) in failed.value.message


def wire_error(body):
    """The ClientError botocore raises for a Route 53 error body, parsed by botocore's own rest-xml parser."""
    operation = botocore.session.get_session().get_service_model("route53").operation_model("ChangeResourceRecordSets")
    parsed = create_parser("rest-xml").parse({"status_code": 400, "headers": {}, "body": body}, operation.output_shape)
    return ClientError(parsed, "ChangeResourceRecordSets")


def test_the_invalid_change_batch_body_botocore_parses_without_a_code_is_still_a_refusal():
    body = (b'<?xml version="1.0"?>\n<InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages>'
            b"<Message>RRSet of type CNAME with DNS name www.prod.example.com. is not permitted as it conflicts with other "
            b"records with the same DNS name in zone prod.example.com.</Message></Messages><RequestId>r-1</RequestId>"
            b"</InvalidChangeBatch>")
    exc = wire_error(body)
    assert exc.response["Error"]["Code"] == ""  # what botocore makes of this form
    assert batch_refusal(exc) == ("InvalidChangeBatch", "RRSet of type CNAME with DNS name www.prod.example.com. is not permitted "
                                  "as it conflicts with other records with the same DNS name in zone prod.example.com")
    other = wire_error(b'<?xml version="1.0"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
                       b"<Message>Rate exceeded</Message></Error><RequestId>r-2</RequestId></ErrorResponse>")
    assert batch_refusal(other) is None and batch_refusal(ValueError("not from AWS")) is None


def test_a_health_check_update_carries_the_version_it_read_and_only_the_changed_field():
    cm, converger = make(health_checks=[dict(CHECK, failure_threshold=2)])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [aws_check(version=7)])
        stub.add_response("update_health_check", {"HealthCheck": aws_check(version=8, FailureThreshold=2)},
                          {"HealthCheckId": HC_ID, "HealthCheckVersion": 7, "FailureThreshold": 2})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource"], c["fields"]) for c in cm.plan.changes] == [
        ("update", "prod-alb", {"failure_threshold": {"before": 3, "after": 2}})]
    assert result["health_checks"]["prod-alb"]["id"] == HC_ID and result["health_checks"]["prod-alb"]["failure_threshold"] == 2


def test_a_health_check_changed_meanwhile_is_refused_by_its_version_and_said_so():
    _cm, converger = make(health_checks=[dict(CHECK, failure_threshold=2, regions=["us-east-1", "eu-west-1", "ap-southeast-1"])])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [aws_check(version=7)])
        stub.add_client_error("update_health_check", service_error_code="HealthCheckVersionMismatch", http_status_code=409,
                              expected_params={"HealthCheckId": HC_ID, "HealthCheckVersion": 7, "FailureThreshold": 2,
                                               "Regions": ["ap-southeast-1", "eu-west-1", "us-east-1"]})
        with pytest.raises(CairnError) as failed:
            converger.present()
        stub.assert_no_pending_responses()
    assert "prod-alb ({0}) changed while the module was converging it".format(HC_ID) in failed.value.message
    assert failed.value.details == {"error_code": "HealthCheckVersionMismatch"}


def test_regions_back_to_all_resets_them():
    cm, converger = make(health_checks=[CHECK])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [aws_check(version=2, Regions=["us-east-1", "eu-west-1", "ap-southeast-1"])])
        stub.add_response("update_health_check", {"HealthCheck": aws_check(version=3)},
                          {"HealthCheckId": HC_ID, "HealthCheckVersion": 2, "ResetElements": ["Regions"]})
        converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes[0]["fields"] == {"regions": {"before": ["ap-southeast-1", "eu-west-1", "us-east-1"], "after": None}}


def test_a_caller_reference_aws_remembers_is_answered_with_the_next_one():
    cm, converger = make(health_checks=[CHECK])
    spec_check = converger.spec["health_checks"]["prod-alb"]
    config = health_check_config(spec_check)
    reference = converger.health_check_reference("prod-alb", config, [])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [])
        stub.add_client_error("create_health_check", service_error_code="HealthCheckAlreadyExists", http_status_code=409,
                              expected_params={"CallerReference": reference, "HealthCheckConfig": config})
        stub.add_response("create_health_check", {"HealthCheck": aws_check(NEW_HC_ID), "Location": "https://route53/" + NEW_HC_ID},
                          {"CallerReference": reference + "-2", "HealthCheckConfig": config})
        stub.add_response("change_tags_for_resource", {}, {"ResourceType": "healthcheck", "ResourceId": NEW_HC_ID,
                                                           "AddTags": tag_list(dict(OWNERSHIP, Name="prod-alb"))})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert config == {"Type": "HTTPS", "FullyQualifiedDomainName": ALB, "Port": 443, "ResourcePath": "/healthz", "RequestInterval": 10,
                      "FailureThreshold": 3, "MeasureLatency": False, "Inverted": False, "Disabled": False, "EnableSNI": True}
    assert reference.startswith("cairn-") and len(reference) + 2 <= 64
    assert result["health_checks"]["prod-alb"]["id"] == NEW_HC_ID
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [("create", "health_check")]


def failover_records(evaluate=True):
    return [{"name": "app", "type": "A", "failover": "PRIMARY", "health_check": "prod-alb",
             "alias": {"dns_name": ALB.upper() + ".", "hosted_zone_id": ALB_ZONE, "evaluate_target_health": evaluate}}]


def aws_failover(dns_name="dualstack.{0}.".format(ALB), evaluate=True):
    return {"Name": "app.{0}.".format(ZONE), "Type": "A", "SetIdentifier": "app-primary", "Failover": "PRIMARY",
            "AliasTarget": {"HostedZoneId": ALB_ZONE, "DNSName": dns_name, "EvaluateTargetHealth": evaluate}, "HealthCheckId": HC_ID}


def test_the_dualstack_prefix_aws_adds_to_a_load_balancer_alias_is_no_change():
    cm, converger = make(health_checks=[CHECK], records=failover_records())
    with Stubber(converger.r53) as stub:
        stub_zone(stub, [aws_failover(), registry("app." + ZONE, ("A", "app-primary"))])
        stub_health_checks(stub, [aws_check()])
        result = converger.present()
        stub.assert_no_pending_responses()  # no write at all
    assert cm.plan.changes == []
    assert result["records"][0]["alias"] == {"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": True}
    assert result["records"][0]["owned"] is True and result["records"][0]["health_check_id"] == HC_ID


def test_check_mode_plans_an_update_a_purge_and_a_health_check_change_and_writes_nothing():
    legacy = {"Name": "legacy.{0}.".format(ZONE), "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    validation = {"Name": "_3639ac514e785e898d2646601fa951d5.{0}.".format(ZONE), "Type": "CNAME", "TTL": 300,
                  "ResourceRecords": [{"Value": "_98d2646601fa951d5.mhbtsbpdnt.acm-validations.aws."}]}
    old = {"Name": "old.{0}.".format(ZONE), "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.2"}]}
    cm, converger = make(check_mode=True, health_checks=[dict(CHECK, failure_threshold=5)], records=failover_records(evaluate=False),
                         purge_records=True)
    with Stubber(converger.r53) as stub:
        stub_zone(stub, [aws_failover(), registry("app." + ZONE, ("A", "app-primary")), legacy, validation, old,
                         registry("old." + ZONE, ("A",))])
        stub_health_checks(stub, [aws_check(version=4)])
        result = converger.present()  # any write would be an unqueued call, which the Stubber refuses
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource"], sorted(c["fields"])) for c in cm.plan.changes] == [
        ("update", "prod-alb", ["failure_threshold"]),
        ("delete", "old.{0} A".format(ZONE), []),
        ("update", "app.{0} A app-primary".format(ZONE), ["alias"])]
    assert cm.plan.changes[1]["note"] == "no longer listed (purge_records)"  # the hand-made and ACM records are not planned
    assert result["waited_seconds"] == 0 and result["health_checks"]["prod-alb"]["failure_threshold"] == 5


def test_check_mode_on_a_new_zone_reads_two_lists_and_writes_nothing():
    cm, converger = make(check_mode=True, health_checks=[CHECK], records=failover_records())
    with Stubber(converger.r53) as stub:
        stub.add_response("list_hosted_zones_by_name", {"HostedZones": [], "DNSName": ZONE + ".", "IsTruncated": False, "MaxItems": "100"},
                          {"DNSName": ZONE + ".", "MaxItems": "100"})
        stub_health_checks(stub, [])
        result = converger.present()
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource_type"], c["resource"]) for c in cm.plan.changes] == [
        ("create", "hosted_zone", ZONE), ("create", "health_check", "prod-alb"), ("create", "record", "app.{0} A app-primary".format(ZONE))]
    assert cm.plan.changes[2]["fields"]["health_check"]["after"] == "prod-alb (HTTPS every 10 s)"
    assert result["zone"] == {"id": UNKNOWN, "name": ZONE, "name_servers": UNKNOWN, "owned": True}
    assert result["health_checks"]["prod-alb"]["id"] == UNKNOWN and result["records"][0]["health_check_id"] == UNKNOWN


def test_a_health_check_still_in_use_when_deleted_is_a_sentence():
    cm, converger = make(health_checks=[])
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [aws_check()])
        stub.add_client_error("delete_health_check", service_error_code="HealthCheckInUse", http_status_code=400,
                              expected_params={"HealthCheckId": HC_ID})
        with pytest.raises(CairnError) as failed:
            converger.present()
        stub.assert_no_pending_responses()
    assert "Health check prod-alb ({0}) is still used by a record set".format(HC_ID) in failed.value.message
    assert [(c["action"], c["resource"], c.get("note")) for c in cm.plan.changes] == [("delete", "prod-alb", "no longer listed")]


def test_a_zone_only_planned_by_an_earlier_task_is_not_planned_again():
    """The edge role's second task passes the zone id the first returned; in check mode that is (known after apply)."""
    cm, converger = make(check_mode=True, zone={"name": ZONE, "id": "(known after apply)"},
                         records=[{"name": "app", "type": "A", "alias": {"dns_name": ALB, "hosted_zone_id": ALB_ZONE}}])
    with Stubber(converger.r53) as stub:
        stub.add_response("list_hosted_zones_by_name", {"HostedZones": [], "DNSName": ZONE + ".", "IsTruncated": False,
                                                        "MaxItems": "100"}, {"DNSName": ZONE + ".", "MaxItems": "100"})
        stub_health_checks(stub, [])
        converger.present()
    assert [(c["action"], c["resource_type"]) for c in cm.plan.changes] == [("create", "record")]


def test_a_zone_id_that_is_not_the_zones_is_refused():
    _cm, converger = make(zone={"name": ZONE, "id": "Z999"})
    with Stubber(converger.r53) as stub:
        stub_zone(stub)
        stub_health_checks(stub, [])
        with pytest.raises(CairnError) as failed:
            converger.present()
    assert "zone.id: Z999 is not the id of zone" in failed.value.message

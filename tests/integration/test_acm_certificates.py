"""The acm_certificates module against the local emulator: a DNS-validated ALB certificate in us-west-2 and a CloudFront
certificate in us-east-1, their validation records in the zone, the wait, reruns, check mode, a replacement when the
names change, an import (the key never shown), purge, removal and bad input.

The emulator issues a requested certificate after MOTO_ACM_VALIDATION_WAIT (2 s, set by tests/support/emulator.py)
whether or not the records exist, so the records are read back from Route 53 itself. What it cannot show (a
validation that fails or times out) is covered in tests/unit/test_acm_certificates_stubber.py.
"""

from __future__ import annotations

import json

import boto3
import pytest
from cryptography.hazmat.primitives import serialization

from support.emulator import count_by_operation, mutating_calls
from support.certificates import self_signed_certificate
from support.modules import ModuleFailed, run_module

pytestmark = pytest.mark.usefixtures("shared_model_loader")

ENV = "test"
STACK = "test-us-west-2"
ZONE = "test.example.com"


def make_zone():
    zone = boto3.client("route53", region_name="us-east-1").create_hosted_zone(Name=ZONE, CallerReference="acm-test")
    return zone["HostedZone"]["Id"].split("/")[-1]


def certificates(zone_id, alb_names=("app", "api")):
    return [
        {"name": "alb", "domain_name": alb_names[0] + "." + ZONE,
         "subject_alternative_names": [n + "." + ZONE for n in alb_names[1:]],
         "validation_zone_id": zone_id, "validation_zone_name": ZONE},
        {"name": "cdn", "domain_name": "assets." + ZONE, "region": "us-east-1",
         "validation_zone_id": zone_id, "validation_zone_name": ZONE},
    ]


def args(zone_id, **extra):
    base = dict(environment=ENV, stack=STACK, region="us-west-2", certificates=certificates(zone_id), wait_timeout=60,
                tags={"owner": "edge"})
    base.update(extra)
    return base


def validation_cnames(zone_id):
    records = boto3.client("route53", region_name="us-east-1").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Name"]: r["ResourceRecords"][0]["Value"] for r in records if r["Type"] == "CNAME"}


def all_certificates(region):
    acm = boto3.client("acm", region_name=region)
    return [acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
            for c in acm.list_certificates()["CertificateSummaryList"]]


def test_request_validate_wait_rerun_and_remove(aws_env):
    zone_id = make_zone()
    with aws_env.recording() as calls:
        planned = run_module("acm_certificates", args(zone_id), check_mode=True)
    assert mutating_calls(calls) == []
    assert planned["certificates"]["alb"]["arn"] == "(known after apply)"
    assert {(c["action"], c["resource_type"], c["resource"]) for c in planned["changes"]} >= {
        ("create", "acm_certificate", "alb (us-west-2)"), ("create", "acm_certificate", "cdn (us-east-1)")}

    with aws_env.recording() as calls:
        result = run_module("acm_certificates", args(zone_id))
    counts = count_by_operation(mutating_calls(calls))
    assert counts == {"acm:RequestCertificate": 2, "route53:ChangeResourceRecordSets": 2}

    alb, cdn = result["certificates"]["alb"], result["certificates"]["cdn"]
    assert alb["arn"].startswith("arn:aws:acm:us-west-2:") and cdn["arn"].startswith("arn:aws:acm:us-east-1:")
    assert alb["status"] == "ISSUED" and cdn["status"] == "ISSUED"
    assert result["waited_seconds"] >= 1
    # As ACM reports them: names, tags, DNS validation.
    west = all_certificates("us-west-2")
    assert [c["CertificateArn"] for c in west] == [alb["arn"]]
    assert sorted(west[0]["SubjectAlternativeNames"]) == ["api." + ZONE, "app." + ZONE]
    tags = {t["Key"]: t["Value"] for t in boto3.client("acm", region_name="us-west-2").list_tags_for_certificate(
        CertificateArn=alb["arn"])["Tags"]}
    assert tags["cairn:stack"] == STACK and tags["cairn:certificate"] == "alb" and tags["cairn:validation-zone"] == zone_id
    assert tags["owner"] == "edge" and tags["Name"] == STACK + "-alb"
    # Every validation record ACM asked for is in the zone with ACM's value.
    cnames = validation_cnames(zone_id)
    for certificate in (alb, cdn):
        assert certificate["validation_records"]
        for record in certificate["validation_records"]:
            assert cnames[record["name"]] == record["value"]

    # A rerun writes nothing, and check mode plans nothing.
    with aws_env.recording() as calls:
        again = run_module("acm_certificates", args(zone_id))
    assert mutating_calls(calls) == [] and again["changes"] == []
    assert again["certificates"]["alb"]["arn"] == alb["arn"]
    assert run_module("acm_certificates", args(zone_id), check_mode=True)["changes"] == []

    # A record deleted by hand is written back (managed renewal needs it).
    route53 = boto3.client("route53", region_name="us-east-1")
    record = cdn["validation_records"][0]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": record["name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["value"]}]}}]})
    repaired = run_module("acm_certificates", args(zone_id))
    assert [(c["action"], c["resource_type"]) for c in repaired["changes"]] == [("create", "acm_validation_record")]
    assert validation_cnames(zone_id)[record["name"]] == record["value"]

    # Removal of both regions' certificates and of the records nothing needs any more.
    removed = run_module("acm_certificates", dict(environment=ENV, stack=STACK, region="us-west-2", regions=["us-east-1"],
                                                  state="absent"))
    assert sorted(c["resource"] for c in removed["changes"] if c["resource_type"] == "acm_certificate") == [
        "alb (us-west-2)", "cdn (us-east-1)"]
    assert all_certificates("us-west-2") == [] and all_certificates("us-east-1") == []
    assert validation_cnames(zone_id) == {}
    assert run_module("acm_certificates", dict(environment=ENV, stack=STACK, region="us-west-2", regions=["us-east-1"],
                                               state="absent"))["changes"] == []


def test_changed_names_request_a_replacement_and_purge_the_old_one(aws_env):
    zone_id = make_zone()
    first = run_module("acm_certificates", args(zone_id))["certificates"]["alb"]["arn"]
    changed = args(zone_id, certificates=certificates(zone_id, alb_names=("app", "api", "admin")))
    result = run_module("acm_certificates", changed)
    actions = sorted((c["action"], c["resource"]) for c in result["changes"] if c["resource_type"] == "acm_certificate")
    assert actions == [("create", "alb (us-west-2)"), ("delete", "alb (us-west-2)")]
    new = result["certificates"]["alb"]["arn"]
    assert new != first and [c["CertificateArn"] for c in all_certificates("us-west-2")] == [new]
    assert sorted(all_certificates("us-west-2")[0]["SubjectAlternativeNames"]) == sorted(n + "." + ZONE for n in ("app", "api", "admin"))
    # The shared validation records of app and api stay; admin's is there too.
    cnames = validation_cnames(zone_id)
    records = result["certificates"]["alb"]["validation_records"]
    assert len(records) == 3 and all(cnames[record["name"]] == record["value"] for record in records)


def test_unlisted_certificate_is_purged_but_others_are_never_touched(aws_env):
    zone_id = make_zone()
    run_module("acm_certificates", args(zone_id))
    foreign = boto3.client("acm", region_name="us-west-2").request_certificate(DomainName="other." + ZONE, ValidationMethod="DNS")
    only_alb = args(zone_id, certificates=certificates(zone_id)[:1], regions=["us-east-1"])
    result = run_module("acm_certificates", only_alb)
    assert [(c["action"], c["resource"]) for c in result["changes"] if c["resource_type"] == "acm_certificate"] == [
        ("delete", "cdn (us-east-1)")]
    assert all_certificates("us-east-1") == []
    assert foreign["CertificateArn"] in [c["CertificateArn"] for c in all_certificates("us-west-2")]


def self_signed(name, days=30):
    """PEM texts, the key in PKCS#8 (-----BEGIN PRIVATE KEY-----) as most CAs deliver it."""
    body, key = self_signed_certificate(name, days=days, key_format=serialization.PrivateFormat.PKCS8)
    return body.decode(), key.decode()


def test_import_and_reimport_in_place_without_showing_the_key(aws_env):
    body, key = self_signed("partner." + ZONE)
    imported = dict(environment=ENV, stack=STACK, region="us-west-2",
                    certificates=[{"name": "partner", "import": {"certificate": body, "private_key": key}}])
    result = run_module("acm_certificates", imported, diff=True)
    arn = result["certificates"]["partner"]["arn"]
    assert result["certificates"]["partner"]["type"] == "IMPORTED"
    assert "PRIVATE KEY" not in json.dumps(result)
    with aws_env.recording() as calls:
        assert run_module("acm_certificates", imported)["changes"] == []
    assert mutating_calls(calls) == []

    body2, key2 = self_signed("partner." + ZONE, days=60)
    renewed = dict(imported, certificates=[{"name": "partner", "import": {"certificate": body2, "private_key": key2}}])
    with aws_env.recording() as calls:
        result = run_module("acm_certificates", renewed, diff=True)
    assert count_by_operation(mutating_calls(calls)) == {"acm:ImportCertificate": 1}
    assert result["certificates"]["partner"]["arn"] == arn
    assert [c["action"] for c in result["changes"]] == ["update"]
    assert "PRIVATE KEY" not in json.dumps(result)
    got = boto3.client("acm", region_name="us-west-2").get_certificate(CertificateArn=arn)["Certificate"]
    assert got.strip() == body2.strip()


@pytest.mark.parametrize("certificate, message", [
    ({"name": "alb", "domain_name": "app.other.org", "validation_zone_id": "Z123", "validation_zone_name": ZONE},
     "not inside the validation zone"),
    ({"name": "alb", "domain_name": "App." + ZONE, "validation_zone_id": "Z123", "validation_zone_name": ZONE}, "lowercase"),
    ({"name": "alb", "domain_name": "x" * 60 + "." + ZONE, "validation_zone_id": "Z123", "validation_zone_name": ZONE},
     "ACM allows 64"),
    ({"name": "alb", "domain_name": "app." + ZONE}, "validation_zone_id and validation_zone_name are required"),
    ({"name": "alb", "domain_name": "app." + ZONE, "subject_alternative_names": ["app." + ZONE],
      "validation_zone_id": "Z123", "validation_zone_name": ZONE}, "listed twice"),
    ({"name": "alb", "import": {"certificate": "not a pem", "private_key": "x"}}, "PEM"),
])
def test_bad_input_is_refused_before_any_call(aws_env, certificate, message):
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("acm_certificates", dict(environment=ENV, stack=STACK, region="us-west-2", certificates=[certificate]))
    assert message in failed.value.result["msg"]
    assert calls == []


def test_mismatched_key_and_expired_certificate_are_refused(aws_env):
    body, _key = self_signed("partner." + ZONE)
    _other_body, other_key = self_signed("partner." + ZONE)
    with pytest.raises(ModuleFailed) as failed:
        run_module("acm_certificates", dict(environment=ENV, stack=STACK, region="us-west-2", certificates=[
            {"name": "partner", "import": {"certificate": body, "private_key": other_key}}]))
    assert "does not belong to the certificate" in failed.value.result["msg"]
    assert "BEGIN" not in failed.value.result["msg"]
    expired, expired_key = self_signed("partner." + ZONE, days=-1)
    with pytest.raises(ModuleFailed) as failed:
        run_module("acm_certificates", dict(environment=ENV, stack=STACK, region="us-west-2", certificates=[
            {"name": "partner", "import": {"certificate": expired, "private_key": expired_key}}]))
    assert "expired on" in failed.value.result["msg"]

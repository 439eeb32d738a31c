"""The route53_dns module against the local emulator: the environment's zone, HTTPS health checks of two ALBs
(us-east-1, us-west-2), failover alias records, an EU record and a CloudFront alias; reruns, check mode, a TTL
update planned field by field, ownership of records (hand-made and ACM-style records survive purge), zone
adoption, state absent and bad input.

Calls are counted by the emulator's recorder, from outside the module. What moto cannot show (failover is never
evaluated, health is hard-coded healthy, GetChange is always INSYNC) is covered in
tests/unit/test_route53_dns_stubber.py.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

pytestmark = pytest.mark.usefixtures("shared_model_loader")

ENV = "test"
STACK = "test-us-east-1"
ZONE = "test.example.com"
CLOUDFRONT = "d1234abcdef8.cloudfront.net"


def route53():
    return boto3.client("route53", region_name="us-east-1")


def create_alb(region, cidr):
    _vpc_id, subnets = vpc_with_subnets(region=region, cidr=cidr)
    lb = boto3.client("elbv2", region_name=region).create_load_balancer(
        Name="alb-" + region, Subnets=subnets, Type="application", Scheme="internet-facing")["LoadBalancers"][0]
    return {"dns_name": lb["DNSName"], "canonical_hosted_zone_id": lb["CanonicalHostedZoneId"]}


@pytest.fixture
def albs(aws_env):
    return {"primary": create_alb("us-east-1", "10.70.0.0/16"), "dr": create_alb("us-west-2", "10.71.0.0/16")}


def health_check(name, alb, **extra):
    check = dict(name=name, fqdn=alb["dns_name"], type="HTTPS", resource_path="/healthz", request_interval=10,
                 failure_threshold=3, enable_sni=True)
    check.update(extra)
    return check


def alias(alb):
    return {"dns_name": alb["dns_name"], "hosted_zone_id": alb["canonical_hosted_zone_id"], "evaluate_target_health": True}


def edge_args(albs, **extra):
    primary, dr = albs["primary"], albs["dr"]
    records = []
    for name in ("app", "api"):
        records.append({"name": name + "." + ZONE, "type": "A", "failover": "PRIMARY", "set_identifier": name + "-us-east-1",
                        "health_check": "test-us-east-1-alb", "alias": alias(primary)})
        records.append({"name": name + "." + ZONE, "type": "A", "failover": "SECONDARY", "set_identifier": name + "-us-west-2",
                        "health_check": "test-us-west-2-alb", "alias": alias(dr)})
    records.append({"name": "eu", "type": "A",
                    "alias": {"dns_name": primary["dns_name"], "hosted_zone_id": primary["canonical_hosted_zone_id"]}})
    records.append({"name": "assets", "type": "A",
                    "alias": {"dns_name": CLOUDFRONT, "hosted_zone_id": "Z2FDTNDATAQYW2", "evaluate_target_health": False}})
    records.append({"name": "@", "type": "TXT", "ttl": 300, "values": ["v=spf1 -all"]})
    args = dict(environment=ENV, stack=STACK, zone={"name": ZONE},
                health_checks=[health_check("test-us-east-1-alb", primary), health_check("test-us-west-2-alb", dr)],
                records=records, purge_records=True, tags={"owner": "edge"})
    args.update(extra)
    return args


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def zone_id():
    zones = [z for z in route53().list_hosted_zones_by_name(DNSName=ZONE + ".")["HostedZones"] if z["Name"] == ZONE + "."]
    return zones[0]["Id"].split("/")[-1] if zones else None


def rrsets():
    return {(r["Name"], r["Type"], r.get("SetIdentifier")): r
            for r in route53().list_resource_record_sets(HostedZoneId=zone_id())["ResourceRecordSets"]}


def health_checks_by_name():
    client = route53()
    checks = client.list_health_checks()["HealthChecks"]
    tags = {t["ResourceId"]: {x["Key"]: x["Value"] for x in t["Tags"]}
            for t in client.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=[c["Id"] for c in checks])["ResourceTagSets"]} if checks else {}
    return {tags[c["Id"]].get("Name"): dict(c, Tags=tags[c["Id"]]) for c in checks}


def test_edge_check_create_verify_rerun_update(aws_env, albs):
    args = edge_args(albs)
    with aws_env.recording() as calls:
        planned = run_module("route53_dns", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["zone"]["id"] == "(known after apply)" and planned["zone"]["owned"] is True
    assert planned["health_checks"]["test-us-east-1-alb"]["id"] == "(known after apply)"
    assert zone_id() is None and route53().list_health_checks()["HealthChecks"] == []

    with aws_env.recording() as calls:
        result = run_module("route53_dns", args)
    assert planned["changes"] == result["changes"]
    names = ["app", "api"]
    assert plan_keys(result) == sorted(
        [("create", "hosted_zone", ZONE), ("create", "health_check", "test-us-east-1-alb"), ("create", "health_check", "test-us-west-2-alb")]
        + [("create", "record", "{0}.{1} A {0}-us-east-1".format(n, ZONE)) for n in names]
        + [("create", "record", "{0}.{1} A {0}-us-west-2".format(n, ZONE)) for n in names]
        + [("create", "record", "eu.{0} A".format(ZONE)), ("create", "record", "assets.{0} A".format(ZONE)),
           ("create", "record", ZONE + " TXT")])
    counts = count_by_operation(mutating_calls(calls))
    assert counts == {"route53:CreateHostedZone": 1, "route53:ChangeTagsForResource": 3, "route53:CreateHealthCheck": 2,
                      "route53:ChangeResourceRecordSets": 1}
    assert count_by_operation(calls)["route53:GetChange"] == 1

    # The zone, tagged.
    zid = zone_id()
    assert result["zone"]["id"] == zid and result["zone"]["name"] == ZONE and len(result["zone"]["name_servers"]) == 4
    zone_tags = {t["Key"]: t["Value"] for t in route53().list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)["ResourceTagSet"]["Tags"]}
    assert zone_tags["cairn:stack"] == STACK and zone_tags["cairn:component"] == "route53_dns" and zone_tags["owner"] == "edge"

    # The health checks, as configured.
    checks = health_checks_by_name()
    assert sorted(checks) == ["test-us-east-1-alb", "test-us-west-2-alb"]
    for name, alb in (("test-us-east-1-alb", albs["primary"]), ("test-us-west-2-alb", albs["dr"])):
        config = checks[name]["HealthCheckConfig"]
        assert (config["Type"], config["FullyQualifiedDomainName"], config["Port"], config["ResourcePath"], config["RequestInterval"],
                config["FailureThreshold"], config["EnableSNI"]) == ("HTTPS", alb["dns_name"], 443, "/healthz", 10, 3, True)
        assert checks[name]["Tags"]["cairn:stack"] == STACK and checks[name]["CallerReference"].startswith("cairn-")
        assert result["health_checks"][name] == {
            "id": checks[name]["Id"], "fqdn": alb["dns_name"], "type": "HTTPS", "port": 443, "resource_path": "/healthz",
            "request_interval": 10, "failure_threshold": 3}

    # The records: failover aliases point at the right ALB and health check.
    records = rrsets()
    for name in names:
        fqdn = "{0}.{1}.".format(name, ZONE)
        primary, secondary = records[(fqdn, "A", name + "-us-east-1")], records[(fqdn, "A", name + "-us-west-2")]
        assert primary["Failover"] == "PRIMARY" and secondary["Failover"] == "SECONDARY"
        assert primary["HealthCheckId"] == checks["test-us-east-1-alb"]["Id"]
        assert secondary["HealthCheckId"] == checks["test-us-west-2-alb"]["Id"]
        assert primary["AliasTarget"]["DNSName"].rstrip(".") == albs["primary"]["dns_name"]
        assert secondary["AliasTarget"]["DNSName"].rstrip(".") == albs["dr"]["dns_name"]
        assert primary["AliasTarget"]["HostedZoneId"] == albs["primary"]["canonical_hosted_zone_id"]
        assert primary["AliasTarget"]["EvaluateTargetHealth"] is True
    assets = records[("assets.{0}.".format(ZONE), "A", None)]
    assert assets["AliasTarget"] == {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": CLOUDFRONT + ".", "EvaluateTargetHealth": False}
    eu = records[("eu.{0}.".format(ZONE), "A", None)]
    assert eu["AliasTarget"]["EvaluateTargetHealth"] is False and "HealthCheckId" not in eu
    assert records[(ZONE + ".", "TXT", None)]["ResourceRecords"] == [{"Value": '"v=spf1 -all"'}]
    # One ownership record per managed name, naming the stack, type and set identifier.
    registry = records[("_cairn-owner.app.{0}.".format(ZONE), "TXT", None)]
    assert sorted(v["Value"] for v in registry["ResourceRecords"]) == [
        '"heritage=cairn.platform/route53_dns,environment=test,stack=test-us-east-1,type=A,set=app-us-east-1"',
        '"heritage=cairn.platform/route53_dns,environment=test,stack=test-us-east-1,type=A,set=app-us-west-2"']
    listed = {(r["name"], r["type"], r["set_identifier"]): r for r in result["records"]}
    assert listed[("app." + ZONE, "A", "app-us-east-1")]["health_check_id"] == checks["test-us-east-1-alb"]["Id"]
    assert all(r["owned"] for r in result["records"])

    # Rerun and check mode on the converged zone: nothing to do, no write, no wait.
    with aws_env.recording() as calls:
        again = run_module("route53_dns", args)
    assert again["changed"] is False and again["changes"] == [] and mutating_calls(calls) == []
    assert again["waited_seconds"] == 0 and again["zone"] == result["zone"] and again["health_checks"] == result["health_checks"]
    reads = count_by_operation(calls)
    assert reads["route53:ListHostedZonesByName"] == 1 and reads["route53:ListResourceRecordSets"] == 1
    assert reads["route53:ListHealthChecks"] == 1 and reads["route53:ListTagsForResources"] == 2 and "route53:GetChange" not in reads
    with aws_env.recording() as calls:
        checked = run_module("route53_dns", args, check_mode=True)
    assert checked["changes"] == [] and mutating_calls(calls) == []

    # A TTL change and a threshold change, planned field by field, then applied.
    changed = edge_args(albs)
    changed["records"][-1]["ttl"] = 60
    changed["health_checks"][0]["failure_threshold"] = 2
    with aws_env.recording() as calls:
        planned = run_module("route53_dns", changed, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert [(c["action"], c["resource"], c["fields"]) for c in planned["changes"]] == [
        ("update", "test-us-east-1-alb", {"failure_threshold": {"before": 3, "after": 2}}),
        ("update", ZONE + " TXT", {"ttl": {"before": 300, "after": 60}})]
    assert planned["diff"]["after"]["record/{0} TXT".format(ZONE)]["ttl"] == 60
    with aws_env.recording() as calls:
        applied = run_module("route53_dns", changed)
    assert applied["changes"] == planned["changes"]
    assert count_by_operation(mutating_calls(calls)) == {"route53:UpdateHealthCheck": 1, "route53:ChangeResourceRecordSets": 1}
    assert rrsets()[(ZONE + ".", "TXT", None)]["TTL"] == 60
    assert health_checks_by_name()["test-us-east-1-alb"]["HealthCheckConfig"]["FailureThreshold"] == 2
    with aws_env.recording() as calls:
        assert run_module("route53_dns", changed)["changed"] is False
    assert mutating_calls(calls) == []


def test_request_interval_change_replaces_the_health_check_and_moves_the_records(aws_env, albs):
    run_module("route53_dns", edge_args(albs))
    old_id = health_checks_by_name()["test-us-east-1-alb"]["Id"]
    changed = edge_args(albs)
    changed["health_checks"][0]["request_interval"] = 30
    planned = run_module("route53_dns", changed, check_mode=True)
    with aws_env.recording() as calls:
        applied = run_module("route53_dns", changed)
    assert planned["changes"] == applied["changes"]
    assert [(c["action"], c["resource_type"], c["resource"]) for c in applied["changes"]] == [
        ("create", "health_check", "test-us-east-1-alb"),
        ("update", "record", "app.{0} A app-us-east-1".format(ZONE)), ("update", "record", "api.{0} A api-us-east-1".format(ZONE)),
        ("delete", "health_check", "test-us-east-1-alb")]
    assert old_id in applied["changes"][0]["note"] and "request_interval" in applied["changes"][0]["note"]
    # The replaced health check is named with its id: the old and the new one share the name.
    assert applied["changes"][1]["fields"]["health_check"] == {
        "before": "test-us-east-1-alb (HTTPS every 10 s) id " + old_id, "after": "test-us-east-1-alb (HTTPS every 30 s)"}
    operations = [c.operation for c in mutating_calls(calls)]
    assert operations.count("ChangeResourceRecordSets") == 1
    assert operations.index("CreateHealthCheck") < operations.index("ChangeResourceRecordSets") < operations.index("DeleteHealthCheck")
    checks = health_checks_by_name()
    new_id = checks["test-us-east-1-alb"]["Id"]
    assert new_id != old_id and checks["test-us-east-1-alb"]["HealthCheckConfig"]["RequestInterval"] == 30
    assert old_id not in {c["Id"] for c in route53().list_health_checks()["HealthChecks"]}
    records = rrsets()
    assert records[("app.{0}.".format(ZONE), "A", "app-us-east-1")]["HealthCheckId"] == new_id
    assert records[("api.{0}.".format(ZONE), "A", "api-us-east-1")]["HealthCheckId"] == new_id
    assert applied["health_checks"]["test-us-east-1-alb"]["id"] == new_id
    with aws_env.recording() as calls:
        assert run_module("route53_dns", changed)["changed"] is False
    assert mutating_calls(calls) == []


def test_records_the_module_did_not_create_survive_purge_and_absent(aws_env, albs):
    run_module("route53_dns", edge_args(albs))
    zid = zone_id()
    validation = "_3639ac514e785e898d2646601fa951d5.app.{0}.".format(ZONE)
    route53().change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "legacy.{0}.".format(ZONE), "Type": "A", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "192.0.2.10"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": validation, "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "_98d2646601fa951d5.mhbtsbpdnt.acm-validations.aws."}]}}]})

    # Fewer records listed: the module's own eu and TXT records go, the hand-made and ACM records stay.
    fewer = edge_args(albs)
    fewer["records"] = [r for r in fewer["records"] if r["name"] not in ("eu", "@")]
    planned = run_module("route53_dns", fewer, check_mode=True)
    result = run_module("route53_dns", fewer)
    assert planned["changes"] == result["changes"]
    assert plan_keys(result) == [("delete", "record", "eu.{0} A".format(ZONE)), ("delete", "record", ZONE + " TXT")]
    records = rrsets()
    assert ("legacy.{0}.".format(ZONE), "A", None) in records and (validation, "CNAME", None) in records
    assert ("eu.{0}.".format(ZONE), "A", None) not in records and (ZONE + ".", "TXT", None) not in records
    assert ("_cairn-owner.eu.{0}.".format(ZONE), "TXT", None) not in records

    # Listing a hand-made record is refused unless adopted.
    legacy = {"name": "legacy", "type": "A", "ttl": 60, "values": ["192.0.2.11"]}
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("route53_dns", dict(fewer, records=fewer["records"] + [legacy]))
    assert "records[5].adopt" in failed.value.result["msg"] and "not created by cairn.platform" in failed.value.result["msg"]
    assert mutating_calls(calls) == []
    adopted = run_module("route53_dns", dict(fewer, records=fewer["records"] + [dict(legacy, adopt=True)]))
    assert [(c["action"], c["resource"], sorted(c["fields"])) for c in adopted["changes"]] == [
        ("update", "legacy.{0} A".format(ZONE), ["owned_by", "ttl", "values"])]
    assert rrsets()[("legacy.{0}.".format(ZONE), "A", None)]["ResourceRecords"] == [{"Value": "192.0.2.11"}]

    # Absent: the module's records and health checks go; the ACM record keeps the zone, with a sentence.
    absent = dict(environment=ENV, stack=STACK, zone={"name": ZONE}, state="absent")
    planned = run_module("route53_dns", absent, check_mode=True)
    removed = run_module("route53_dns", absent)
    assert planned["changes"] == removed["changes"]
    assert ("delete", "health_check", "test-us-east-1-alb") in plan_keys(removed)
    assert ("delete", "record", "legacy.{0} A".format(ZONE)) in plan_keys(removed)
    assert ("delete", "hosted_zone", ZONE) not in plan_keys(removed)
    assert removed["zone"]["deleted"] is False and validation.rstrip(".") + " CNAME" in removed["zone"]["kept_because"]
    assert route53().list_health_checks()["HealthChecks"] == []
    assert sorted(k[1] for k in rrsets()) == ["CNAME", "NS", "SOA"]

    # Once the ACM record is gone, the zone goes too.
    route53().change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": rrsets()[(validation, "CNAME", None)]}]})
    removed = run_module("route53_dns", absent)
    assert plan_keys(removed) == [("delete", "hosted_zone", ZONE)] and removed["zone"]["deleted"] is True
    assert zone_id() is None
    with aws_env.recording() as calls:
        assert run_module("route53_dns", absent)["changed"] is False
    assert mutating_calls(calls) == []


def test_a_zone_without_our_tags_is_refused_then_adopted(aws_env):
    zid = route53().create_hosted_zone(Name=ZONE, CallerReference="by-hand")["HostedZone"]["Id"].split("/")[-1]
    args = dict(environment=ENV, stack=STACK, zone={"name": ZONE + "."})
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("route53_dns", args)
    assert "zone.adopt" in failed.value.result["msg"] and zid in failed.value.result["msg"]
    assert mutating_calls(calls) == []
    adopted = run_module("route53_dns", dict(args, zone={"name": ZONE, "adopt": True}))
    assert [(c["action"], c["resource_type"]) for c in adopted["changes"]] == [("update", "hosted_zone")]
    assert adopted["zone"]["id"] == zid and adopted["zone"]["owned"] is True
    assert adopted["zone"]["name_servers"][0].startswith("ns-")
    tags = {t["Key"]: t["Value"] for t in route53().list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)["ResourceTagSet"]["Tags"]}
    assert tags["cairn:stack"] == STACK
    with aws_env.recording() as calls:
        assert run_module("route53_dns", args)["changed"] is False
    assert mutating_calls(calls) == []
    # Another stack's zone is refused the same way.
    with pytest.raises(ModuleFailed) as failed:
        run_module("route53_dns", dict(args, stack="test-us-west-2"))
    assert "ownership tags of stack test-us-east-1" in failed.value.result["msg"]


def test_two_public_zones_of_the_name_are_refused(aws_env):
    ids = sorted(route53().create_hosted_zone(Name=ZONE, CallerReference=ref)["HostedZone"]["Id"].split("/")[-1] for ref in ("a", "b"))
    with pytest.raises(ModuleFailed) as failed:
        run_module("route53_dns", dict(environment=ENV, stack=STACK, zone={"name": ZONE}))
    assert all(zone in failed.value.result["msg"] for zone in ids)


def test_check_mode_plans_with_inputs_an_earlier_task_only_planned(aws_env):
    unknown = "(known after apply)"
    args = dict(environment=ENV, stack=STACK, zone={"name": ZONE},
                health_checks=[{"name": "test-us-east-1-alb", "fqdn": unknown, "resource_path": "/healthz", "request_interval": 10}],
                records=[{"name": "app", "type": "A", "failover": "PRIMARY", "health_check": "test-us-east-1-alb",
                          "alias": {"dns_name": unknown, "hosted_zone_id": unknown}},
                         {"name": "assets", "type": "A", "alias": {"dns_name": unknown, "hosted_zone_id": "Z2FDTNDATAQYW2",
                                                                   "evaluate_target_health": False}}])
    with aws_env.recording() as calls:
        planned = run_module("route53_dns", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("create", "health_check", "test-us-east-1-alb"), ("create", "hosted_zone", ZONE),
                                  ("create", "record", "app.{0} A app-primary".format(ZONE)), ("create", "record", "assets.{0} A".format(ZONE))]
    with pytest.raises(ModuleFailed) as failed:
        run_module("route53_dns", args)
    assert "known after apply" in failed.value.result["msg"]


@pytest.mark.parametrize("records, field", [
    ([{"name": "@", "type": "CNAME", "values": ["x.example.org"]}], "CNAME cannot be at the zone apex"),
    ([{"name": "www.other.org.", "type": "A", "values": ["192.0.2.1"]}], "outside the zone"),
    ([{"name": "app", "type": "A", "failover": "PRIMARY", "health_check": "nope", "values": ["192.0.2.1"]}],
     "records[0] (app.test.example.com A).health_check: 'nope' is neither a name in health_checks (none listed)"),
    ([{"name": "app", "type": "A", "failover": "PRIMARY", "values": ["192.0.2.1"]}],
     "records[0] (app.test.example.com A).health_check: a PRIMARY failover record needs a health check"),
])
def test_bad_input_is_refused_before_any_call(recorded_env, records, field):
    with recorded_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("route53_dns", dict(environment=ENV, stack=STACK, zone={"name": ZONE}, records=records,
                                           health_checks=[]))
    assert field in failed.value.result["msg"]
    assert calls == []


def test_a_plain_record_becomes_a_failover_pair_in_one_batch_and_back(aws_env, albs):
    """Replacing the module's own record sets at a listed name and type: DELETE and CREATE in the same batch."""
    base = dict(environment=ENV, stack=STACK, zone={"name": ZONE}, health_checks=[health_check("test-us-east-1-alb", albs["primary"])])
    plain = [{"name": "www", "type": "A", "ttl": 60, "values": ["192.0.2.1"]}]
    run_module("route53_dns", dict(base, records=plain))
    pair = [{"name": "www", "type": "A", "failover": "PRIMARY", "health_check": "test-us-east-1-alb", "values": ["192.0.2.1"]},
            {"name": "www", "type": "A", "failover": "SECONDARY", "values": ["192.0.2.2"]}]
    with aws_env.recording() as calls:
        result = run_module("route53_dns", dict(base, records=pair))
    assert [(c["action"], c["resource"]) for c in result["changes"]] == [
        ("delete", "www.{0} A".format(ZONE)), ("create", "www.{0} A www-primary".format(ZONE)),
        ("create", "www.{0} A www-secondary".format(ZONE))]
    assert result["changes"][0]["note"] == "replaced by the listed www.{0} A record sets".format(ZONE)
    assert count_by_operation(mutating_calls(calls)) == {"route53:ChangeResourceRecordSets": 1}
    records = rrsets()
    assert ("www.{0}.".format(ZONE), "A", None) not in records
    primary = records[("www.{0}.".format(ZONE), "A", "www-primary")]
    assert primary["HealthCheckId"] == health_checks_by_name()["test-us-east-1-alb"]["Id"] and primary["TTL"] == 300
    assert records[("www.{0}.".format(ZONE), "A", "www-secondary")]["ResourceRecords"] == [{"Value": "192.0.2.2"}]
    assert sorted(v["Value"] for v in records[("_cairn-owner.www.{0}.".format(ZONE), "TXT", None)]["ResourceRecords"]) == [
        '"heritage=cairn.platform/route53_dns,environment=test,stack=test-us-east-1,type=A,set=www-primary"',
        '"heritage=cairn.platform/route53_dns,environment=test,stack=test-us-east-1,type=A,set=www-secondary"']
    with aws_env.recording() as calls:
        assert run_module("route53_dns", dict(base, records=pair))["changed"] is False
    assert mutating_calls(calls) == []

    # Back to a plain record, and the health check no longer listed: records first, the health check after. (Another
    # value than the first plain record's: moto refuses a CREATE identical to an earlier one, deleted or not.)
    plain = [dict(plain[0], values=["192.0.2.3"])]
    with aws_env.recording() as calls:
        back = run_module("route53_dns", dict(base, health_checks=[], records=plain))
    assert [(c["action"], c["resource"]) for c in back["changes"]] == [
        ("delete", "www.{0} A www-primary".format(ZONE)), ("delete", "www.{0} A www-secondary".format(ZONE)),
        ("create", "www.{0} A".format(ZONE)), ("delete", "test-us-east-1-alb")]
    assert [c.operation for c in mutating_calls(calls)] == ["ChangeResourceRecordSets", "DeleteHealthCheck"]
    records = rrsets()
    assert records[("www.{0}.".format(ZONE), "A", None)]["ResourceRecords"] == [{"Value": "192.0.2.3"}]
    assert [k for k in records if k[0] == "www.{0}.".format(ZONE)] == [("www.{0}.".format(ZONE), "A", None)]
    assert route53().list_health_checks()["HealthChecks"] == []


def test_a_health_check_still_used_by_a_kept_record_is_not_deleted(aws_env, albs):
    args = edge_args(albs)
    run_module("route53_dns", args)
    # The health checks are no longer listed but the failover records still use them, and records is unset: refused.
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failed:
            run_module("route53_dns", dict(args, health_checks=[], records=None))
    assert "health_checks: test-us-east-1-alb" in failed.value.result["msg"] and "still uses it" in failed.value.result["msg"]
    assert mutating_calls(calls) == []
    assert len(route53().list_health_checks()["HealthChecks"]) == 2


def test_the_acm_validation_record_beside_a_listed_name_is_never_touched(aws_env, albs):
    """An ACM DNS-validation CNAME another module wrote, at _<hex>.<name>: not planned, not changed, not deleted."""
    run_module("route53_dns", dict(environment=ENV, stack=STACK, zone={"name": ZONE}))
    validation = {"Name": "_3639ac514e785e898d2646601fa951d5.{0}.".format(ZONE), "Type": "CNAME", "TTL": 300,
                  "ResourceRecords": [{"Value": "_98d2646601fa951d5.mhbtsbpdnt.acm-validations.aws."}]}
    route53().change_resource_record_sets(HostedZoneId=zone_id(), ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": validation}]})
    args = dict(edge_args(albs), purge_records=True)
    result = run_module("route53_dns", args)
    assert all("_3639ac514e785e898d2646601fa951d5" not in c["resource"] for c in result["changes"])
    fewer = dict(args, records=[r for r in args["records"] if r["name"] == "@"], health_checks=[])
    purged = run_module("route53_dns", fewer)
    assert all("_3639ac514e785e898d2646601fa951d5" not in c["resource"] for c in purged["changes"])
    assert len([c for c in purged["changes"] if c["resource_type"] == "record"]) == 6
    records = rrsets()
    assert records[(validation["Name"], "CNAME", None)] == validation
    assert sorted(k[1] for k in records if not k[0].startswith("_cairn-owner.")) == ["CNAME", "NS", "SOA", "TXT"]
    # Listing that very name without adopt is refused, naming the record.
    with pytest.raises(ModuleFailed) as failed:
        run_module("route53_dns", dict(fewer, records=fewer["records"] + [
            {"name": validation["Name"], "type": "CNAME", "values": ["elsewhere.example.org"]}]))
    assert "records[1].adopt: _3639ac514e785e898d2646601fa951d5.{0} CNAME exists".format(ZONE) in failed.value.result["msg"]
    assert rrsets()[(validation["Name"], "CNAME", None)] == validation


def test_values_compared_by_meaning_make_no_change_on_rerun(aws_env):
    """Wildcards, long TXT values, CNAME/MX targets: written once, then the same input spelled otherwise is no change."""
    records = [{"name": "*", "type": "A", "values": ["192.0.2.2", "192.0.2.1"]},
               {"name": "www", "type": "CNAME", "ttl": 60, "values": ["Target.Example.ORG."]},
               {"name": "@", "type": "MX", "values": ["10 mail1.example.com", "20 mail2.example.com"]},
               {"name": "s1._domainkey", "type": "TXT", "values": ["v=DKIM1; k=rsa; p=" + "A" * 300]}]
    args = dict(environment=ENV, stack=STACK, zone={"name": ZONE}, records=records)
    created = run_module("route53_dns", args)
    assert len([c for c in created["changes"] if c["resource_type"] == "record"]) == 4
    stored = rrsets()
    wildcard = [key for key in stored if key[0].endswith("." + ZONE + ".") and key[0].split(".")[0] in ("*", "\\052")]
    assert [key[1] for key in wildcard] == ["A"]
    assert sorted(v["Value"] for v in stored[wildcard[0]]["ResourceRecords"]) == ["192.0.2.1", "192.0.2.2"]
    assert stored[("s1._domainkey.{0}.".format(ZONE), "TXT", None)]["ResourceRecords"] == [
        {"Value": '"v=DKIM1; k=rsa; p={0}" "{1}"'.format("A" * 237, "A" * 63)}]
    respelled = [dict(records[0], name="*." + ZONE.upper() + ".", values=["192.0.2.1", "192.0.2.2"]),
                 dict(records[1], values=["target.example.org"]),
                 dict(records[2], values=["20 Mail2.Example.com.", "10  mail1.example.com."]),
                 records[3]]
    with aws_env.recording() as calls:
        again = run_module("route53_dns", dict(args, records=respelled))
    assert again["changes"] == [] and mutating_calls(calls) == []
    # The result lists every record set at the listed names; the zone's NS and SOA are there, not owned.
    assert sorted((r["name"], r["type"], r["owned"]) for r in again["records"]) == sorted([
        ("*." + ZONE, "A", True), ("www." + ZONE, "CNAME", True), (ZONE, "MX", True), ("s1._domainkey." + ZONE, "TXT", True),
        (ZONE, "NS", False), (ZONE, "SOA", False)])

"""The security_groups module against the local emulator: the platform's groups, reruns, check mode,
rules added by hand, descriptions, purge, ownership and bad input.

Calls are counted by the emulator's recorder, from outside the module.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import jinja2
import pytest
import yaml

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

pytestmark = pytest.mark.usefixtures("shared_model_loader")

VARS_FILE = Path(__file__).resolve().parents[2] / "roles" / "security" / "vars" / "security_groups.yml"
VPC_CIDR = "10.60.0.0/16"
STACK = "test-us-east-1"


def platform_groups(app_port=8080):
    """The role's vars file, templated the way Ansible would with the role's variables."""
    text = jinja2.Template(VARS_FILE.read_text()).render(security_app_port=app_port, security_vpc_cidr=VPC_CIDR)
    return yaml.safe_load(text)["security_groups_definition"]


def ec2():
    return boto3.client("ec2", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def args(vpc_id, **extra):
    base = dict(environment="test", stack=STACK, vpc_id=vpc_id, groups=platform_groups(), tags={"owner": "platform"})
    base.update(extra)
    return base


def rules(group, direction):
    """{(protocol, from, to, peer): description} as AWS reports them."""
    found = {}
    for permission in group["IpPermissions" if direction == "ingress" else "IpPermissionsEgress"]:
        base = (permission["IpProtocol"], permission.get("FromPort"), permission.get("ToPort"))
        for item in permission.get("IpRanges", []):
            found[base + (item["CidrIp"],)] = item.get("Description")
        for item in permission.get("Ipv6Ranges", []):
            found[base + (item["CidrIpv6"],)] = item.get("Description")
        for item in permission.get("UserIdGroupPairs", []):
            found[base + (item["GroupId"],)] = item.get("Description")
    return found


def read_groups(vpc_id):
    groups = ec2().describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return {g["GroupName"]: g for g in groups}


@pytest.fixture
def vpc_id(aws_env):
    return ec2().create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]


@pytest.fixture
def converged(vpc_id):
    result = run_module("security_groups", args(vpc_id))
    assert result["changed"] is True
    return vpc_id, result


def test_check_mode_then_create_then_rerun(vpc_id, aws_env):
    with aws_env.recording() as calls:
        planned = run_module("security_groups", args(vpc_id), check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["changed"] is True
    assert planned["groups"]["app"]["id"] == "(known after apply)"
    assert set(read_groups(vpc_id)) == {"default"}

    result = run_module("security_groups", args(vpc_id))
    assert plan_keys(planned) == plan_keys(result) == [
        ("create", "security_group", STACK + "-" + name) for name in ("alb", "app", "db", "redis")]
    # Rules name groups by logical name, so the plan is the same before and after the ids exist.
    assert planned["changes"] == result["changes"]

    groups = read_groups(vpc_id)
    ids = {name: result["groups"][name]["id"] for name in ("alb", "app", "db", "redis")}
    for name, group_id in ids.items():
        group = groups[STACK + "-" + name]
        assert group["GroupId"] == group_id
        assert result["groups"][name]["arn"].endswith(":security-group/" + group_id)
        tags = {t["Key"]: t["Value"] for t in group["Tags"]}
        assert tags["cairn:component"] == "security_groups" and tags["owner"] == "platform"
        assert tags["Name"] == STACK + "-" + name
    alb, app, db, redis = (groups[STACK + "-" + name] for name in ("alb", "app", "db", "redis"))
    assert set(rules(alb, "ingress")) == {("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 443, 443, "::/0"),
                                          ("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 80, 80, "::/0")}
    # The default allow-all egress is gone: the ALB talks to the application only (the app group, and the pods
    # that are IP targets in the cluster security group, on the app port inside the VPC).
    assert rules(alb, "egress") == {("tcp", 8080, 8080, ids["app"]): "To the application",
                                    ("tcp", 8080, 8080, VPC_CIDR): "To the pods (IP targets of the target groups)"}
    assert rules(app, "ingress") == {("tcp", 8080, 8080, ids["alb"]): "From the load balancer"}
    assert set(rules(app, "egress")) == {
        ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 443, 443, "::/0"), ("tcp", 5432, 5432, ids["db"]),
        ("tcp", 6379, 6379, ids["redis"]), ("udp", 53, 53, VPC_CIDR), ("tcp", 53, 53, VPC_CIDR)}
    assert rules(db, "ingress") == {("tcp", 5432, 5432, ids["app"]): "PostgreSQL from the application"}
    assert rules(redis, "ingress") == {("tcp", 6379, 6379, ids["app"]): "Redis from the application"}
    assert rules(db, "egress") == {} and rules(redis, "egress") == {}

    with aws_env.recording() as calls:
        again = run_module("security_groups", args(vpc_id))
    assert again["changed"] is False and again["changes"] == []
    assert count_by_operation(calls) == {"ec2:DescribeSecurityGroups": 1}
    assert again["groups"] == result["groups"]
    with aws_env.recording() as calls:
        checked = run_module("security_groups", args(vpc_id), check_mode=True)
    assert checked["changed"] is False and mutating_calls(calls) == []


def test_a_rule_added_by_hand_is_planned_and_removed(converged, aws_env):
    vpc_id, result = converged
    db_id = result["groups"]["db"]["id"]
    client = ec2()
    client.authorize_security_group_ingress(GroupId=db_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "debug"}]}])
    client.authorize_security_group_egress(GroupId=db_id, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    with aws_env.recording() as calls:
        planned = run_module("security_groups", args(vpc_id), check_mode=True)
    assert mutating_calls(calls) == []
    assert planned["changes"] == [{
        "action": "update", "resource_type": "security_group", "resource": STACK + "-db",
        "fields": {
            "ingress": {"before": ["tcp:5432 10.0.0.0/8 (debug)", "tcp:5432 group:app (PostgreSQL from the application)"],
                        "after": ["tcp:5432 group:app (PostgreSQL from the application)"]},
            "egress": {"before": ["all 0.0.0.0/0"], "after": []},
        },
    }]
    with aws_env.recording() as calls:
        applied = run_module("security_groups", args(vpc_id))
    assert applied["changes"] == planned["changes"]
    assert sorted(c.operation for c in mutating_calls(calls)) == ["RevokeSecurityGroupEgress", "RevokeSecurityGroupIngress"]
    db = read_groups(vpc_id)[STACK + "-db"]
    assert rules(db, "ingress") == {("tcp", 5432, 5432, result["groups"]["app"]["id"]): "PostgreSQL from the application"}
    assert rules(db, "egress") == {}


def test_a_new_description_updates_the_rule_in_place(converged, aws_env):
    vpc_id = converged[0]
    groups = platform_groups()
    groups[0]["ingress"][0]["description"] = "HTTPS from anywhere"
    with aws_env.recording() as calls:
        result = run_module("security_groups", args(vpc_id, groups=groups))
    assert [c.operation for c in mutating_calls(calls)] == ["UpdateSecurityGroupRuleDescriptionsIngress"]
    assert "tcp:443 0.0.0.0/0 (HTTPS from anywhere)" in result["changes"][0]["fields"]["ingress"]["after"]
    alb = read_groups(vpc_id)[STACK + "-alb"]
    assert rules(alb, "ingress")[("tcp", 443, 443, "0.0.0.0/0")] == "HTTPS from anywhere"
    with aws_env.recording() as calls:
        assert run_module("security_groups", args(vpc_id, groups=groups))["changed"] is False
    assert mutating_calls(calls) == []


def test_a_changed_port_and_tags_are_updated(converged, aws_env):
    vpc_id, result = converged
    with aws_env.recording() as calls:
        changed = run_module("security_groups", args(vpc_id, groups=platform_groups(app_port=9090), tags={"owner": "sre"}))
    assert sorted(c.operation for c in mutating_calls(calls)) == sorted(
        ["CreateTags"] * 4 + ["AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress",
                              "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"])
    assert changed["changed"] is True
    groups = read_groups(vpc_id)
    assert rules(groups[STACK + "-app"], "ingress") == {("tcp", 9090, 9090, result["groups"]["alb"]["id"]): "From the load balancer"}
    assert {t["Key"]: t["Value"] for t in groups[STACK + "-app"]["Tags"]}["owner"] == "sre"


def test_purge_deletes_unlisted_groups_even_in_a_reference_cycle(converged, aws_env):
    vpc_id = converged[0]
    # Keep only the data stores: alb and app refer to each other and to them.
    keep = [g for g in platform_groups() if g["name"] in ("db", "redis")]
    for group in keep:
        group["ingress"] = [{"ports": group["ingress"][0]["ports"], "cidr_ipv4": "10.60.0.0/20", "description": "From the private subnet"}]
    planned = run_module("security_groups", args(vpc_id, groups=keep), check_mode=True)
    applied = run_module("security_groups", args(vpc_id, groups=keep))
    assert plan_keys(planned) == plan_keys(applied) == sorted(
        [("delete", "security_group", STACK + "-alb"), ("delete", "security_group", STACK + "-app"),
         ("update", "security_group", STACK + "-db"), ("update", "security_group", STACK + "-redis")])
    assert set(read_groups(vpc_id)) == {"default", STACK + "-db", STACK + "-redis"}
    with aws_env.recording() as calls:
        assert run_module("security_groups", args(vpc_id, groups=keep))["changed"] is False
    assert mutating_calls(calls) == []


def test_purge_groups_false_keeps_unlisted_groups(converged):
    vpc_id = converged[0]
    keep = [{"name": "db", "description": "PostgreSQL (cairn.platform)",
             "ingress": [{"ports": 5432, "cidr_ipv4": "10.60.0.0/20"}]}]
    result = run_module("security_groups", args(vpc_id, groups=keep, purge_groups=False))
    assert plan_keys(result) == [("update", "security_group", STACK + "-db")]
    assert len(read_groups(vpc_id)) == 5


def test_a_group_used_outside_the_stack_is_not_deleted_and_nothing_changes(converged, aws_env):
    vpc_id, result = converged
    client = ec2()
    outsider = client.create_security_group(GroupName="monitoring", Description="not ours", VpcId=vpc_id)["GroupId"]
    client.authorize_security_group_ingress(GroupId=outsider, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 9100, "ToPort": 9100, "UserIdGroupPairs": [{"GroupId": result["groups"]["redis"]["id"]}]}])
    keep = [g for g in platform_groups() if g["name"] != "redis"]
    keep[1]["egress"] = [rule for rule in keep[1]["egress"] if rule.get("group") != "redis"]
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("security_groups", args(vpc_id, groups=keep))
    message = failure.value.result["msg"]
    assert STACK + "-redis" in message and outsider in message and "monitoring" in message
    assert mutating_calls(calls) == []
    assert STACK + "-redis" in read_groups(vpc_id)


def test_a_foreign_group_with_the_same_name_is_refused(vpc_id, aws_env):
    ec2().create_security_group(GroupName=STACK + "-db", Description="hand made", VpcId=vpc_id)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("security_groups", args(vpc_id))
    assert "already exists" in failure.value.result["msg"] and STACK + "-db" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_changed_group_description_is_refused_before_any_write(converged, aws_env):
    vpc_id = converged[0]
    groups = platform_groups()
    groups[2]["description"] = "Postgres"
    groups[2]["ingress"].append({"ports": 5432, "cidr_ipv4": "10.60.0.0/20"})
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("security_groups", args(vpc_id, groups=groups))
    assert "groups[db].description" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_groups_of_other_components_and_stacks_are_left_alone(converged, aws_env):
    vpc_id = converged[0]
    client = ec2()
    other = client.create_security_group(
        GroupName="endpoints", Description="networking's", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [
            {"Key": "cairn:environment", "Value": "test"}, {"Key": "cairn:stack", "Value": STACK},
            {"Key": "cairn:component", "Value": "networking"}, {"Key": "cairn:managed-by", "Value": "cairn.platform"}]}])["GroupId"]
    result = run_module("security_groups", args(vpc_id, state="absent"))
    assert plan_keys(result) == [("delete", "security_group", STACK + "-" + name) for name in ("alb", "app", "db", "redis")]
    assert set(read_groups(vpc_id)) == {"default", "endpoints"}
    assert client.describe_security_groups(GroupIds=[other])["SecurityGroups"]
    with aws_env.recording() as calls:
        again = run_module("security_groups", args(vpc_id, state="absent"))
    assert again["changed"] is False and mutating_calls(calls) == []


@pytest.mark.usefixtures("converged")
def test_check_mode_of_absent_matches_the_real_run(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("security_groups", dict(environment="test", stack=STACK, state="absent"), check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("security_groups", dict(environment="test", stack=STACK, state="absent"))
    assert planned["changes"] == applied["changes"] and len(applied["changes"]) == 4


BAD_INPUT = [
    ({"protocol": "gre", "ports": 1, "cidr_ipv4": "10.0.0.0/8"}, "ingress[0].protocol", "unknown protocol"),
    ({"ports": 70000, "cidr_ipv4": "10.0.0.0/8"}, "ingress[0].ports", "0 to 65535"),
    ({"ports": "2000-1000", "cidr_ipv4": "10.0.0.0/8"}, "ingress[0].ports", "backwards"),
    ({"protocol": "all", "ports": 443, "cidr_ipv4": "10.0.0.0/8"}, "ingress[0].ports", "every port"),
    ({"ports": 443}, "ingress[0]", "exactly one of"),
    ({"ports": 443, "cidr_ipv4": "10.0.0.0/8", "group": "app"}, "ingress[0]", "exactly one of"),
    ({"ports": 443, "cidr_ipv4": "10.0.0.300/8"}, "ingress[0].cidr_ipv4", "not an IPv4 network"),
    ({"ports": 443, "cidr_ipv6": "2001:db8::1/32"}, "ingress[0].cidr_ipv6", "host bits"),
    ({"ports": 443, "group": "web"}, "ingress[0].group", "neither a group of this list"),
    ({"ports": 22, "cidr_ipv4": "0.0.0.0/0"}, "ingress[0]", "allow_public_ingress_ports"),
    ({"protocol": "all", "cidr_ipv6": "::/0"}, "ingress[0]", "whole internet"),
    ({"protocol": "tcp", "cidr_ipv4": "10.0.0.0/8"}, "ingress[0].ports", "required for tcp"),
]


@pytest.mark.parametrize("rule,field,words", BAD_INPUT, ids=[case[2] + "-" + str(i) for i, case in enumerate(BAD_INPUT)])
def test_bad_rules_fail_before_any_api_call(recorded_env, rule, field, words):
    groups = [{"name": "app", "ingress": []}, {"name": "db", "ingress": [rule]}]
    with recorded_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("security_groups", dict(environment="test", stack=STACK, vpc_id="vpc-0123456789abcdef0", groups=groups))
    message = failure.value.result["msg"]
    assert "groups[db]." + field in message and words in message, message
    assert calls == []


@pytest.mark.parametrize("extra,field", [
    ({"groups": [{"name": "db"}, {"name": "db"}]}, "groups: db listed more than once"),
    ({"vpc_id": None}, "vpc_id: required"),
    ({"vpc_id": "vpc-nope"}, "vpc_id: 'vpc-nope'"),
])
def test_bad_options_fail_before_any_api_call(recorded_env, extra, field):
    base = dict(environment="test", stack=STACK, vpc_id="vpc-0123456789abcdef0", groups=[{"name": "db"}])
    base.update(extra)
    with recorded_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("security_groups", base)
    assert field in failure.value.result["msg"]
    assert calls == []


def test_a_port_listed_in_allow_public_ingress_ports_may_be_public(vpc_id):
    groups = [{"name": "smtp", "ingress": [{"ports": 25, "cidr_ipv4": "0.0.0.0/0", "description": "Inbound mail"}]}]
    result = run_module("security_groups", args(vpc_id, groups=groups, allow_public_ingress_ports=[25]))
    group = read_groups(vpc_id)[STACK + "-smtp"]
    assert group["GroupId"] == result["groups"]["smtp"]["id"]
    assert rules(group, "ingress") == {("tcp", 25, 25, "0.0.0.0/0"): "Inbound mail"}

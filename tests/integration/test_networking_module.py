"""The networking module against the local emulator: create, rerun, check mode, update, delete.

Calls are counted by the emulator's recorder, from outside the module.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

BASE = dict(
    environment="test",
    stack="test-us-east-1",
    cidr_block="10.50.0.0/16",
    ipv6=True,
    nat_gateway_mode="one_per_az",
    tags={"owner": "platform"},
    wait_timeout=120,
)
OWNERSHIP_FILTERS = [
    {"Name": "tag:cairn:stack", "Values": ["test-us-east-1"]},
    {"Name": "tag:cairn:component", "Values": ["networking"]},
]


def ec2():
    return boto3.client("ec2", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def live_nats(client, vpc_id):
    nats = client.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
    return [n for n in nats if n["State"] in ("pending", "available")]


@pytest.fixture
def converged(aws_env):
    result = run_module("networking", BASE)
    assert result["changed"] is True
    return result


def test_check_mode_on_empty_account_plans_every_create_and_writes_nothing(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("networking", BASE, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert ec2().describe_vpcs(Filters=OWNERSHIP_FILTERS)["Vpcs"] == []
    assert planned["changed"] is True
    assert planned["vpc"]["id"] == "(known after apply)"
    assert "vpc/test-us-east-1" in planned["diff"]["after"]

    applied = run_module("networking", BASE)
    # The plan names exactly what the real run then does.
    assert plan_keys(planned) == plan_keys(applied)
    counts = {}
    for change in applied["changes"]:
        counts[change["resource_type"]] = counts.get(change["resource_type"], 0) + 1
    assert counts == {
        "vpc": 1, "internet_gateway": 1, "egress_only_internet_gateway": 1, "subnet": 9, "elastic_ip": 3,
        "nat_gateway": 3, "route_table": 5, "vpc_endpoint": 4, "security_group": 1, "log_group": 1,
        "iam_role": 1, "flow_log": 1,
    }


def test_create_builds_the_whole_network_as_aws_reports_it(converged):
    client = ec2()
    vpc_id = converged["vpc"]["id"]
    vpc = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    tags = {t["Key"]: t["Value"] for t in vpc["Tags"]}
    assert vpc["CidrBlock"] == "10.50.0.0/16"
    assert tags["cairn:environment"] == "test" and tags["cairn:managed-by"] == "cairn.platform"
    assert tags["owner"] == "platform"
    assert vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"] == converged["vpc"]["ipv6_cidr_block"]
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        assert client.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[key]["Value"] is True

    subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(subnets) == 9
    assert len({s["AvailabilityZone"] for s in subnets}) == 3
    by_id = {s["SubnetId"]: s for s in subnets}
    assert [by_id[i]["CidrBlock"] for i in converged["private_subnet_ids"]] == ["10.50.0.0/20", "10.50.16.0/20", "10.50.32.0/20"]
    assert [by_id[i]["CidrBlock"] for i in converged["public_subnet_ids"]] == ["10.50.128.0/24", "10.50.129.0/24", "10.50.130.0/24"]
    assert all(by_id[i]["MapPublicIpOnLaunch"] for i in converged["public_subnet_ids"])
    assert not any(by_id[i]["MapPublicIpOnLaunch"] for i in converged["private_subnet_ids"])

    nats = live_nats(client, vpc_id)
    assert len(nats) == 3
    assert {n["SubnetId"] for n in nats} == set(converged["public_subnet_ids"])
    addresses = client.describe_addresses(Filters=OWNERSHIP_FILTERS)["Addresses"]
    assert len(addresses) == 3

    tables = {t["RouteTableId"]: t for t in client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]}
    public = tables[converged["route_table_ids"]["public"]]
    routes = {r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"): r for r in public["Routes"]}
    assert routes["0.0.0.0/0"]["GatewayId"] == converged["internet_gateway_id"]
    assert routes["::/0"]["GatewayId"] == converged["internet_gateway_id"]
    nat_by_zone = {n["availability_zone"]: n["id"] for n in converged["nat_gateways"]}
    for table_id, subnet_id in zip(converged["route_table_ids"]["private"], converged["private_subnet_ids"]):
        table = tables[table_id]
        zone = by_id[subnet_id]["AvailabilityZone"]
        routes = {r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"): r for r in table["Routes"]}
        assert routes["0.0.0.0/0"]["NatGatewayId"] == nat_by_zone[zone]
        assert routes["::/0"]["EgressOnlyInternetGatewayId"] == converged["egress_only_internet_gateway_id"]
        assert [a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")] == [subnet_id]
    database = tables[converged["route_table_ids"]["database"]]
    assert not [r for r in database["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]

    endpoints = {e["ServiceName"]: e for e in client.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]}
    assert sorted(endpoints) == sorted("com.amazonaws.us-east-1." + s for s in ("s3", "dynamodb", "logs", "monitoring"))
    assert sorted(endpoints["com.amazonaws.us-east-1.s3"]["RouteTableIds"]) == sorted(
        [converged["route_table_ids"]["public"], converged["route_table_ids"]["database"]] + converged["route_table_ids"]["private"])
    logs_endpoint = endpoints["com.amazonaws.us-east-1.logs"]
    assert sorted(logs_endpoint["SubnetIds"]) == sorted(converged["private_subnet_ids"])
    assert [g["GroupId"] for g in logs_endpoint["Groups"]] == [converged["endpoint_security_group_id"]]
    group = client.describe_security_groups(GroupIds=[converged["endpoint_security_group_id"]])["SecurityGroups"][0]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"] if p.get("IpRanges")] == [(443, "10.50.0.0/16")]
    assert group["IpPermissionsEgress"] == []

    flow_logs = client.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    assert len(flow_logs) == 1 and flow_logs[0]["TrafficType"] == "ALL"
    assert flow_logs[0]["LogGroupName"] == "/cairn/test/test-us-east-1/vpc-flow-logs"
    group = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="/cairn/test/")["logGroups"][0]
    assert group["retentionInDays"] == 90
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="test-us-east-1-vpc-flow-logs")["Role"]
    assert role["Arn"] == flow_logs[0]["DeliverLogsPermissionArn"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_rerun_changes_nothing_with_one_describe_per_resource_type(converged, aws_env):
    with aws_env.recording() as calls:
        result = run_module("networking", BASE)
    assert result["changed"] is False and result["changes"] == []
    assert mutating_calls(calls) == []
    counts = count_by_operation(calls)
    # DescribeVpcAttribute answers one attribute per call (DNS support, DNS hostnames).
    assert {op: n for op, n in counts.items() if n > 1} == {"ec2:DescribeVpcAttribute": 2}
    assert result["vpc"]["id"] == converged["vpc"]["id"]
    assert result["nat_gateways"] == converged["nat_gateways"]


def test_check_mode_on_converged_account_writes_nothing_and_plans_nothing(converged, aws_env):
    with aws_env.recording() as calls:
        result = run_module("networking", BASE, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert result["changed"] is False and result["changes"] == []


def test_check_mode_plans_exactly_the_updates_a_real_run_makes(converged, aws_env):
    changed = dict(BASE, nat_gateway_mode="single", tags={"owner": "sre"}, interface_endpoints=["logs", "sts"],
                   flow_logs={"retention_days": 30})
    with aws_env.recording() as calls:
        planned = run_module("networking", changed, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    applied = run_module("networking", changed)
    assert plan_keys(planned) == plan_keys(applied)
    actions = {(c["action"], c["resource_type"]) for c in applied["changes"]}
    assert ("delete", "nat_gateway") in actions and ("delete", "elastic_ip") in actions
    assert ("create", "vpc_endpoint") in actions and ("delete", "vpc_endpoint") in actions
    retention = [c for c in applied["changes"] if c["resource_type"] == "log_group"][0]
    assert retention["fields"]["retention_days"] == {"before": 90, "after": 30}

    client = ec2()
    vpc_id = converged["vpc"]["id"]
    nats = live_nats(client, vpc_id)
    assert len(nats) == 1
    assert len(client.describe_addresses(Filters=OWNERSHIP_FILTERS)["Addresses"]) == 1
    for table_id in applied["route_table_ids"]["private"]:
        table = client.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"][0]
        assert default["NatGatewayId"] == nats[0]["NatGatewayId"]
    vpc = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]}["owner"] == "sre"
    services = sorted(e["ServiceName"].split(".")[-1] for e in client.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"] if e["State"].lower() != "deleted")
    assert services == ["dynamodb", "logs", "s3", "sts"]

    with aws_env.recording() as calls:
        again = run_module("networking", changed)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_unset_tags_leave_user_tags_alone_and_purge_applies_only_when_set(converged, aws_env):
    client = ec2()
    vpc_id = converged["vpc"]["id"]
    client.create_tags(Resources=[vpc_id], Tags=[{"Key": "added-by-hand", "Value": "yes"}])
    untouched = run_module("networking", {k: v for k, v in BASE.items() if k != "tags"})
    assert [c for c in untouched["changes"] if c["resource_type"] == "vpc"] == []
    purged = run_module("networking", BASE)
    vpc_change = [c for c in purged["changes"] if c["resource_type"] == "vpc"][0]
    assert "added-by-hand" in vpc_change["fields"]["tags"]["before"]
    tags = {t["Key"] for t in client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["Tags"]}
    assert "added-by-hand" not in tags and "cairn:stack" in tags


def test_rule_added_by_hand_to_endpoint_group_is_planned_and_removed(converged, aws_env):
    client = ec2()
    group_id = converged["endpoint_security_group_id"]
    client.authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    planned = run_module("networking", BASE, check_mode=True)
    change = [c for c in planned["changes"] if c["resource_type"] == "security_group"][0]
    assert "tcp/22-22 0.0.0.0/0" in change["fields"]["ingress"]["before"]
    run_module("networking", BASE)
    group = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert [p["FromPort"] for p in group["IpPermissions"]] == [443]


def test_fewer_zones_remove_the_surplus_zone(converged, aws_env):
    result = run_module("networking", dict(BASE, az_count=2))
    deleted = sorted(c["resource_type"] for c in result["changes"] if c["action"] == "delete")
    assert deleted == ["elastic_ip", "nat_gateway", "route_table", "subnet", "subnet", "subnet"]
    client = ec2()
    subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [converged["vpc"]["id"]]}])["Subnets"]
    assert len(subnets) == 6
    assert len(live_nats(client, converged["vpc"]["id"])) == 2


def test_turning_ipv6_off_removes_its_routes_blocks_and_gateway(converged, aws_env):
    result = run_module("networking", dict(BASE, ipv6=False))
    assert result["changed"] is True
    client = ec2()
    vpc_id = converged["vpc"]["id"]
    assert client.describe_egress_only_internet_gateways(Filters=OWNERSHIP_FILTERS)["EgressOnlyInternetGateways"] == []
    for table in client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]:
        assert not [r for r in table["Routes"] if r.get("DestinationIpv6CidrBlock") == "::/0"]
    with aws_env.recording() as calls:
        again = run_module("networking", dict(BASE, ipv6=False))
    assert again["changes"] == [] and mutating_calls(calls) == []


def test_absent_deletes_only_what_the_stack_owns(converged, aws_env):
    client = ec2()
    foreign_vpc = client.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    foreign_address = client.allocate_address(Domain="vpc")["AllocationId"]
    other_stack = run_module("networking", dict(BASE, stack="other-us-east-1", cidr_block="10.70.0.0/16",
                                                nat_gateway_mode="none", interface_endpoints=[], flow_logs={"enabled": False}))

    with aws_env.recording() as calls:
        planned = run_module("networking", dict(BASE, state="absent"), check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("networking", dict(BASE, state="absent"))
    assert plan_keys(planned) == plan_keys(applied)
    assert client.describe_vpcs(Filters=OWNERSHIP_FILTERS)["Vpcs"] == []
    assert client.describe_addresses(Filters=OWNERSHIP_FILTERS)["Addresses"] == []
    remaining_vpcs = {v["VpcId"] for v in client.describe_vpcs()["Vpcs"]}
    assert {foreign_vpc, other_stack["vpc"]["id"]} <= remaining_vpcs
    assert foreign_address in {a["AllocationId"] for a in client.describe_addresses()["Addresses"]}
    with pytest.raises(Exception):
        boto3.client("iam", region_name="us-east-1").get_role(RoleName="test-us-east-1-vpc-flow-logs")

    again = run_module("networking", dict(BASE, state="absent"))
    assert again["changed"] is False


def test_an_untagged_vpc_is_never_adopted(aws_env):
    client = ec2()
    foreign = client.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    result = run_module("networking", dict(BASE, nat_gateway_mode="none"))
    assert result["vpc"]["id"] != foreign
    assert "Tags" not in client.describe_vpcs(VpcIds=[foreign])["Vpcs"][0] or not any(
        t["Key"].startswith("cairn:") for t in client.describe_vpcs(VpcIds=[foreign])["Vpcs"][0]["Tags"])


def test_changing_the_vpc_cidr_is_refused_before_any_write(converged, aws_env):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("networking", dict(BASE, cidr_block="10.51.0.0/16"))
    assert "cidr_block" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_role_of_the_same_name_not_owned_is_refused(aws_env):
    boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="test-us-east-1-vpc-flow-logs", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    with pytest.raises(ModuleFailed) as failure:
        run_module("networking", dict(BASE, nat_gateway_mode="none"))
    assert "does not carry the ownership tags" in failure.value.result["msg"]


def test_two_stacks_in_one_region_never_touch_each_other(converged, aws_env):
    # The emulator ignores tag filters on DescribeEgressOnlyInternetGateways: the module must judge
    # ownership by the tags it reads back, never by the filter alone.
    other = dict(BASE, stack="other-us-east-1", cidr_block="10.70.0.0/16", ipv6=False, nat_gateway_mode="single")
    created = run_module("networking", other)
    assert not [c for c in created["changes"] if c["resource_type"] == "egress_only_internet_gateway"]
    run_module("networking", dict(other, state="absent"))
    client = ec2()
    eigws = client.describe_egress_only_internet_gateways(Filters=OWNERSHIP_FILTERS)["EgressOnlyInternetGateways"]
    assert [g["EgressOnlyInternetGatewayId"] for g in eigws] == [converged["egress_only_internet_gateway_id"]]
    with aws_env.recording() as calls:
        again = run_module("networking", BASE)
    assert again["changes"] == [] and mutating_calls(calls) == []

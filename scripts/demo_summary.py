"""Print what the collection created, per region stack, with the resources' tags.

Used by `make demo` after site.yml ran against the local emulator, but it only uses the AWS
SDK's standard configuration (AWS_ENDPOINT_URL, AWS_PROFILE, ...), so it works against any
account:

    python scripts/demo_summary.py --inventory inventories/local
    python scripts/demo_summary.py --region us-east-1 --region eu-west-1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3

OWNER_FILTER = {"Name": "tag:cairn:managed-by", "Values": ["cairn.platform"]}


def regions_from_inventory(inventory: str) -> list[str]:
    # The venv's ansible-inventory, also when this runs as .venv/bin/python without activation.
    local = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run(
        [str(local) if local.exists() else "ansible-inventory", "-i", inventory, "--list"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    hostvars = json.loads(out).get("_meta", {}).get("hostvars", {})
    return sorted({v["cairn_region"] for v in hostvars.values() if v.get("cairn_region")})


def tags_of(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or []}


def fmt_tags(tags: dict, common: dict) -> str:
    """Tags that differ from the stack's common ones (those are printed once per stack)."""
    own = {k: v for k, v in sorted(tags.items()) if common.get(k) != v}
    return " ".join(f"{k}={v}" for k, v in own.items())


def print_all_tagged(region: str, stack: str) -> None:
    """Every component's resources of the stack, by type (Resource Groups Tagging API)."""
    tagging = boto3.client("resourcegroupstaggingapi", region_name=region)
    by_type = collections.defaultdict(list)
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": "cairn:stack", "Values": [stack]}]):
        for mapping in page["ResourceTagMappingList"]:
            arn = mapping["ResourceARN"]
            service, resource = arn.split(":")[2], arn.split(":", 5)[5]
            # "key/1234", "log-group:/cairn/...", or just a bucket name
            typed = re.match(r"([a-z-]+)[/:](.+)", resource)
            kind, name = (f"{service}:{typed.group(1)}", typed.group(2)) if typed else (service, resource)
            by_type[(tags_of(mapping).get("cairn:component", "?"), kind)].append(name)
    print(f"  everything tagged cairn:stack={stack}, by component (Resource Groups Tagging API; IAM is not listed there):")
    for (component, kind), names in sorted(by_type.items()):
        print(f"    {component:<16} {kind:<22} {len(names):>3}  {', '.join(sorted(names)[:4])}{' ...' if len(names) > 4 else ''}")


def describe_region(region: str) -> int:
    ec2 = boto3.client("ec2", region_name=region)
    logs = boto3.client("logs", region_name=region)
    vpcs = ec2.describe_vpcs(Filters=[OWNER_FILTER])["Vpcs"]
    if not vpcs:
        print(f"{region}: nothing tagged cairn:managed-by=cairn.platform")
        return 0
    for vpc in sorted(vpcs, key=lambda v: tags_of(v).get("cairn:stack", "")):
        vpc_id = vpc["VpcId"]
        vpc_tags = tags_of(vpc)
        # Tags every resource of the stack shares: printed once, resources list the rest.
        common = {k: v for k, v in vpc_tags.items() if k != "Name"}
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        ipv6 = [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")]

        print(f"Stack {vpc_tags.get('cairn:stack', '?')} ({region}, environment {vpc_tags.get('cairn:environment', '?')})")
        print(f"  tags on every resource: {fmt_tags(common, {})}")
        print(f"  VPC {vpc_id} {vpc['CidrBlock']}{' ' + ipv6[0] if ipv6 else ''}  {fmt_tags(vpc_tags, common)}")

        subnets = ec2.describe_subnets(Filters=by_vpc)["Subnets"]
        azs = sorted({s["AvailabilityZone"] for s in subnets})
        print(f"  subnets: {len(subnets)} in {len(azs)} zones ({', '.join(azs)})")
        for subnet in sorted(subnets, key=lambda s: tags_of(s).get("Name", s["CidrBlock"])):
            v6 = [a["Ipv6CidrBlock"] for a in subnet.get("Ipv6CidrBlockAssociationSet", [])]
            print(
                f"    {subnet['SubnetId']} {subnet['CidrBlock']:<16} {subnet['AvailabilityZone']}"
                f"{' ' + v6[0] if v6 else ''}  {fmt_tags(tags_of(subnet), common)}"
            )

        for igw in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
            "InternetGateways"
        ]:
            print(f"  internet gateway {igw['InternetGatewayId']}  {fmt_tags(tags_of(igw), common)}")

        nats = [n for n in ec2.describe_nat_gateways(Filters=by_vpc)["NatGateways"] if n["State"] != "deleted"]
        print(f"  NAT gateways: {len(nats)}")
        for nat in nats:
            addr = (nat.get("NatGatewayAddresses") or [{}])[0]
            print(
                f"    {nat['NatGatewayId']} {nat['State']} in {nat['SubnetId']} public IP {addr.get('PublicIp')} "
                f"({addr.get('AllocationId')})  {fmt_tags(tags_of(nat), common)}"
            )

        stack_filter = [{"Name": "tag:cairn:stack", "Values": [vpc_tags.get("cairn:stack", "")]}]
        eips = ec2.describe_addresses(Filters=stack_filter)["Addresses"]
        print(f"  Elastic IPs: {len(eips)}")
        for eip in eips:
            print(f"    {eip['AllocationId']} {eip['PublicIp']}  {fmt_tags(tags_of(eip), common)}")

        tables = ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
        print(f"  route tables: {len(tables)}")
        for table in sorted(tables, key=lambda t: tags_of(t).get("Name", "")):
            routes = []
            for route in table["Routes"]:
                dest = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock") or route.get("DestinationPrefixListId")
                target = next(
                    (route[k] for k in ("GatewayId", "NatGatewayId", "EgressOnlyInternetGatewayId", "TransitGatewayId") if route.get(k)),
                    "?",
                )
                routes.append(f"{dest}->{target}")
            main = " (main)" if any(a.get("Main") for a in table.get("Associations", [])) else ""
            subnets_assoc = sum(1 for a in table.get("Associations", []) if a.get("SubnetId"))
            print(
                f"    {table['RouteTableId']}{main} {subnets_assoc} subnets; {', '.join(routes)}  "
                f"{fmt_tags(tags_of(table), common)}"
            )

        endpoints = ec2.describe_vpc_endpoints(Filters=by_vpc)["VpcEndpoints"]
        print(f"  VPC endpoints: {len(endpoints)}")
        for ep in sorted(endpoints, key=lambda e: e["ServiceName"]):
            print(
                f"    {ep['VpcEndpointId']} {ep['VpcEndpointType']:<9} {ep['ServiceName']} {ep.get('State', '')}  "
                f"{fmt_tags(tags_of(ep), common)}"
            )

        flow_logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        print(f"  flow logs: {len(flow_logs)}")
        for fl in flow_logs:
            group = fl.get("LogGroupName", "")
            retention = "?"
            if group:
                found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] if g["logGroupName"] == group]
                if found:
                    retention = f"{found[0].get('retentionInDays', 'never expire')} days"
            print(
                f"    {fl['FlowLogId']} {fl.get('FlowLogStatus')} {fl.get('TrafficType')} -> log group {group} "
                f"(retention {retention})  {fmt_tags(tags_of(fl), common)}"
            )
        print_data_and_compute(region, vpc_tags.get("cairn:stack", ""), vpc_tags.get("cairn:environment", ""))
        print_all_tagged(region, vpc_tags.get("cairn:stack", ""))
        print()
    return len(vpcs)


def print_data_and_compute(region: str, stack: str, environment: str) -> None:
    """The data stores, the published wiring and the EKS cluster of the stack, as AWS reports them."""
    rds = boto3.client("rds", region_name=region)
    for db in rds.describe_db_instances()["DBInstances"]:
        if db["DBInstanceIdentifier"].startswith(stack + "-"):
            source = db.get("ReadReplicaSourceDBInstanceIdentifier")
            print(f"  PostgreSQL {db['DBInstanceIdentifier']} {db['EngineVersion']} {db['DBInstanceStatus']}"
                  f"{' multi-AZ' if db.get('MultiAZ') else ''}{' replica of ' + source if source else ''}")
    elasticache = boto3.client("elasticache", region_name=region)
    for group in elasticache.describe_replication_groups()["ReplicationGroups"]:
        if group["ReplicationGroupId"].startswith(stack + "-"):
            print(f"  Redis {group['ReplicationGroupId']} cluster mode {group.get('ClusterMode')}, "
                  f"{len(group.get('NodeGroups', []))} shards, endpoint {(group.get('ConfigurationEndpoint') or {}).get('Address')}")
    path = f"/cairn/{environment}/{region}/"
    pages = boto3.client("ssm", region_name=region).get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
    names = sorted(p["Name"][len(path):] for page in pages for p in page["Parameters"])
    print(f"  wiring in Parameter Store under {path}: {', '.join(names)}")
    eks = boto3.client("eks", region_name=region)
    if stack in eks.list_clusters()["clusters"]:
        cluster = eks.describe_cluster(name=stack)["cluster"]
        groups = eks.list_nodegroups(clusterName=stack)["nodegroups"]
        profiles = eks.list_fargate_profiles(clusterName=stack)["fargateProfileNames"]
        addons = eks.list_addons(clusterName=stack)["addons"]
        print(f"  EKS {stack} {cluster['version']} {cluster['status']}: node groups {', '.join(groups)}; "
              f"Fargate {', '.join(profiles)}; add-ons {', '.join(addons)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", help="take the regions from this inventory's cairn_region host variables")
    parser.add_argument("--region", action="append", default=[], help="region to list (repeatable)")
    args = parser.parse_args()
    regions = list(args.region)
    if args.inventory:
        regions += regions_from_inventory(args.inventory)
    regions = sorted(set(regions)) or [os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"]
    if os.environ.get("AWS_ENDPOINT_URL"):
        print(f"AWS endpoint: {os.environ['AWS_ENDPOINT_URL']}\n")
    total = sum(describe_region(region) for region in regions)
    print(f"{total} stack(s) in {len(regions)} region(s): {', '.join(regions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

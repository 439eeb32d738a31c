"""Check a networking stack from outside Ansible, with boto3 (molecule verify and destroy).

present (default): one VPC with the ownership tags, 3 x az-count subnets over az-count zones,
the expected number of NAT gateways, an active flow log, S3 and DynamoDB gateway endpoints.
--absent: nothing tagged with the stack remains (EC2/VPC resources, log groups, IAM roles).
Exits 1 with one line per failed check.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

import boto3

GONE = {"deleted", "deleting", "failed", "rejected", "expired"}


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


class Checker:
    def __init__(self):
        self.failures = []

    def check(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition


def ownership(args):
    return {
        "cairn:environment": args.environment,
        "cairn:stack": args.stack,
        "cairn:component": "networking",
        "cairn:managed-by": "cairn.platform",
    }


def owned(resource, args):
    tags = tags_of(resource)
    return all(tags.get(k) == v for k, v in ownership(args).items())


def verify_present(args, ec2, logs, c):
    stack_filter = [{"Name": "tag:cairn:stack", "Values": [args.stack]}]
    vpcs = ec2.describe_vpcs(Filters=stack_filter)["Vpcs"]
    if not c.check(len(vpcs) == 1, f"expected 1 VPC tagged cairn:stack={args.stack}, found {len(vpcs)}"):
        return
    vpc = vpcs[0]
    vpc_id = vpc["VpcId"]
    by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    c.check(owned(vpc, args), f"VPC {vpc_id} lacks ownership tags {ownership(args)}: {tags_of(vpc)}")
    c.check(vpc["CidrBlock"] == args.cidr_block, f"VPC CIDR {vpc['CidrBlock']} != {args.cidr_block}")
    vpc_v6 = [a for a in vpc.get("Ipv6CidrBlockAssociationSet", []) if a["Ipv6CidrBlockState"]["State"] == "associated"]
    if args.ipv6:
        c.check(len(vpc_v6) == 1, f"VPC {vpc_id} has no associated IPv6 block")

    subnets = ec2.describe_subnets(Filters=by_vpc)["Subnets"]
    zones = {s["AvailabilityZone"] for s in subnets}
    c.check(len(subnets) == 3 * args.az_count, f"expected {3 * args.az_count} subnets, found {len(subnets)}")
    c.check(len(zones) == args.az_count, f"expected subnets over {args.az_count} zones, found {sorted(zones)}")
    network = ipaddress.ip_network(args.cidr_block)
    for subnet in subnets:
        sid = subnet["SubnetId"]
        c.check(owned(subnet, args), f"subnet {sid} lacks ownership tags: {tags_of(subnet)}")
        c.check(ipaddress.ip_network(subnet["CidrBlock"]).subnet_of(network), f"subnet {sid} {subnet['CidrBlock']} outside the VPC")
        if args.ipv6:
            c.check(subnet.get("Ipv6CidrBlockAssociationSet"), f"subnet {sid} has no IPv6 block")

    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    c.check(len(igws) == 1 and owned(igws[0], args), f"expected 1 owned internet gateway, found {igws}")

    nats = [n for n in ec2.describe_nat_gateways(Filters=by_vpc)["NatGateways"] if n["State"] not in GONE]
    c.check(len(nats) == args.nat_gateways, f"expected {args.nat_gateways} NAT gateway(s), found {len(nats)}")
    for nat in nats:
        c.check(nat["State"] == "available", f"NAT gateway {nat['NatGatewayId']} is {nat['State']}")
        c.check(owned(nat, args), f"NAT gateway {nat['NatGatewayId']} lacks ownership tags")
        c.check(nat.get("NatGatewayAddresses", [{}])[0].get("AllocationId"), f"NAT gateway {nat['NatGatewayId']} has no EIP")

    flow_logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    active = [f for f in flow_logs if f.get("FlowLogStatus") == "ACTIVE"]
    if c.check(len(active) == 1, f"expected 1 active flow log on {vpc_id}, found {flow_logs}"):
        group = active[0].get("LogGroupName")
        c.check(active[0].get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs", "flow log does not go to CloudWatch Logs")
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group or "/")["logGroups"] if g["logGroupName"] == group]
        c.check(found, f"flow log group {group} does not exist")

    endpoints = [e for e in ec2.describe_vpc_endpoints(Filters=by_vpc)["VpcEndpoints"] if e.get("State", "").lower() not in GONE]
    gateways = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in endpoints if e["VpcEndpointType"] == "Gateway"}
    for service in ("s3", "dynamodb"):
        if c.check(service in gateways, f"no {service} gateway endpoint (found {sorted(gateways)})"):
            c.check(owned(gateways[service], args), f"{service} gateway endpoint lacks ownership tags")
            c.check(gateways[service].get("RouteTableIds"), f"{service} gateway endpoint is in no route table")

    print(
        f"ok: {vpc_id} {vpc['CidrBlock']}, {len(subnets)} subnets in {len(zones)} zones, {len(nats)} NAT gateway(s), "
        f"{len(active)} active flow log(s), gateway endpoints {sorted(gateways)}"
    )


def verify_absent(args, ec2, logs, iam, c):
    stack_filter = [{"Name": "tag:cairn:stack", "Values": [args.stack]}]
    found = {
        "VPCs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=stack_filter)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=stack_filter)["Subnets"]],
        "route tables": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=stack_filter)["RouteTables"]],
        "internet gateways": [
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=stack_filter)["InternetGateways"]
        ],
        "egress-only internet gateways": [
            g["EgressOnlyInternetGatewayId"]
            for g in ec2.describe_egress_only_internet_gateways(Filters=stack_filter)["EgressOnlyInternetGateways"]
        ],
        "NAT gateways": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filters=stack_filter)["NatGateways"] if n["State"] not in GONE
        ],
        "Elastic IPs": [a["AllocationId"] for a in ec2.describe_addresses(Filters=stack_filter)["Addresses"]],
        "VPC endpoints": [
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints(Filters=stack_filter)["VpcEndpoints"]
            if e.get("State", "").lower() not in GONE
        ],
        "security groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=stack_filter)["SecurityGroups"]],
        "flow logs": [f["FlowLogId"] for f in ec2.describe_flow_logs(Filters=stack_filter)["FlowLogs"]],
        "log groups": [
            g["logGroupName"]
            for g in logs.describe_log_groups()["logGroups"]
            if logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {}).get("cairn:stack") == args.stack
        ],
        "IAM roles": [
            r["RoleName"]
            for r in iam.list_roles()["Roles"]
            if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"])["Tags"]}.get("cairn:stack") == args.stack
        ],
    }
    for kind, ids in found.items():
        c.check(not ids, f"{kind} tagged cairn:stack={args.stack} remain: {ids}")
    if not c.failures:
        print(f"ok: nothing tagged cairn:stack={args.stack} remains")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--cidr-block")
    parser.add_argument("--az-count", type=int, default=3)
    parser.add_argument("--nat-gateways", type=int, default=1)
    parser.add_argument("--ipv6", action="store_true")
    parser.add_argument("--absent", action="store_true")
    args = parser.parse_args()

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=args.region)
    ec2, logs, iam = (session.client(name, endpoint_url=args.endpoint_url) for name in ("ec2", "logs", "iam"))
    checker = Checker()
    if args.absent:
        verify_absent(args, ec2, logs, iam, checker)
    else:
        if not args.cidr_block:
            parser.error("--cidr-block is required unless --absent")
        verify_present(args, ec2, logs, checker)
    for failure in checker.failures:
        print("FAILED: " + failure, file=sys.stderr)
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())

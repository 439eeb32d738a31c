#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: networking
short_description: Converge the whole network of one region stack (VPC, subnets, NAT, routes, endpoints, flow logs)
version_added: 0.1.0
description:
  - Creates, updates or deletes every network resource of one region stack as one unit, the way
    a terraform-aws-modules/vpc module does, with a plan of every change.
  - The VPC with an IPv4 CIDR and an optional Amazon-provided IPv6 /56.
  - Public, private and database subnets across O(az_count) availability zones, checked against the
    zones the region really has.
  - An internet gateway, an egress-only internet gateway when O(ipv6=true), and NAT gateways with
    their Elastic IPs in one of three modes (O(nat_gateway_mode)).
  - Route tables (one public, one private per zone, one database), their routes and subnet associations.
  - Gateway endpoints (S3 and DynamoDB by default) on every route table, interface endpoints
    (CloudWatch Logs and monitoring by default, plus any listed) in the private subnets with a
    security group that admits HTTPS from the VPC only.
  - VPC flow logs to a CloudWatch Logs group with a retention, and the IAM role they deliver with.
  - O(state=absent) deletes only what carries this stack's ownership tags, in dependency order.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the network to these options; V(absent) deletes everything the stack owns.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Prefix of the C(Name) tag of every resource. Defaults to O(stack).
    type: str
  cidr_block:
    description:
      - The VPC's IPv4 CIDR, from /16 to /28. Required when O(state=present).
      - The primary CIDR of an existing VPC cannot change; the module refuses before any write.
    type: str
  ipv6:
    description:
      - Associate an Amazon-provided IPv6 /56 with the VPC and a /64 with every subnet. Public
        subnets route C(::/0) to the internet gateway, private subnets to an egress-only
        internet gateway; database subnets get no IPv6 internet route.
      - Turning it off later removes the IPv6 routes, subnet blocks and the egress-only gateway.
    type: bool
    default: false
  az_count:
    description:
      - How many availability zones to spread subnets over (1 to 6), checked against the region.
    type: int
    default: 3
  availability_zones:
    description:
      - The zone names to use, exactly O(az_count) of them. Defaults to the region's first
        O(az_count) available zones in name order.
    type: list
    elements: str
  public_subnets:
    description:
      - One IPv4 CIDR per zone for the public subnets, inside O(cidr_block).
      - When any of the three subnet lists is unset, the default layout fills it. For a VPC of
        prefix /p it uses private /p+4 blocks 0, 1, 2...; public /p+8 blocks 128, 129...;
        database /p+8 blocks 144, 145... For 10.40.0.0/16 the first zone gets private
        10.40.0.0/20, public 10.40.128.0/24 and database 10.40.144.0/24.
      - Subnet CIDRs cannot change in place; the module refuses before any write.
    type: list
    elements: str
  private_subnets:
    description:
      - One IPv4 CIDR per zone for the private (application) subnets. See O(public_subnets).
    type: list
    elements: str
  database_subnets:
    description:
      - One IPv4 CIDR per zone for the database subnets, which have no route to the internet.
        See O(public_subnets).
    type: list
    elements: str
  nat_gateway_mode:
    description:
      - V(one_per_az) gives each zone its own NAT gateway (zone-independent egress, for production).
      - V(single) shares one NAT gateway in the first zone (cheaper, for lower environments).
      - V(none) creates no NAT gateway; private subnets have no IPv4 route to the internet.
    type: str
    choices: [one_per_az, single, none]
    default: one_per_az
  gateway_endpoints:
    description:
      - Gateway endpoint services, attached to every route table of the stack.
    type: list
    elements: str
    default: [s3, dynamodb]
  interface_endpoints:
    description:
      - Interface endpoint services (short names such as V(logs) or V(ecr.api), or full service
        names), placed in the private subnets with private DNS.
      - Endpoints of the stack that are no longer listed are deleted.
    type: list
    elements: str
    default: [logs, monitoring]
  flow_logs:
    description:
      - VPC flow logs to CloudWatch Logs.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Deliver flow logs. V(false) deletes the flow log, its role and its log group.
        type: bool
        default: true
      retention_days:
        description: Days CloudWatch Logs keeps the records; one of the values CloudWatch accepts.
        type: int
        default: 90
      traffic_type:
        description: Which traffic to log.
        type: str
        choices: [ACCEPT, REJECT, ALL]
        default: ALL
      log_group_name:
        description: The log group. Defaults to C(/cairn/<environment>/<stack>/vpc-flow-logs).
        type: str
      kms_key_id:
        description: ARN of a KMS key that encrypts the log group. Unset leaves it unencrypted by a CMK.
        type: str
      max_aggregation_interval:
        description: Seconds over which a flow record is aggregated.
        type: int
        choices: [60, 600]
        default: 60
  wait:
    description:
      - Wait for NAT gateways to become available before routing to them, and for deletions
        to finish before deleting what they depend on.
      - Nothing waits when nothing changed, nor in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds all waits of one run may take together.
    type: int
    default: 600
notes:
  - Resources are found by their ownership tags, with one describe call per resource type; a
    rerun with the same input makes no mutating call.
  - Creates carry TagSpecifications (and ClientToken where the API has one), so a run that is
    interrupted leaves tagged resources that the next run adopts instead of duplicating.
  - Subnets are identified by tier and zone (tags C(cairn:tier), C(cairn:az)); lowering
    O(az_count) deletes the surplus zone's NAT gateway, route table and subnets.
  - The IAM role for flow logs is named C(<stack>-vpc-flow-logs) (cut to 64 characters); an existing
    role of that name without the ownership tags is refused, never taken over.
seealso:
  - name: Amazon VPC user guide
    description: How VPCs, subnets, gateways and endpoints fit together.
    link: https://docs.aws.amazon.com/vpc/latest/userguide/what-is-amazon-vpc.html
"""

EXAMPLES = r"""
- name: Converge the production network of us-east-1
  cairn.platform.networking:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    cidr_block: 10.40.0.0/16
    ipv6: true
    nat_gateway_mode: one_per_az
    interface_endpoints: [logs, monitoring, ecr.api, ecr.dkr, sts]
    flow_logs:
      retention_days: 90
    tags:
      owner: platform
      cost-center: "1234"
  register: network

- name: Plan only (check mode never writes; the result lists every change)
  cairn.platform.networking:
    environment: dev
    stack: dev-us-east-1
    region: us-east-1
    cidr_block: 10.20.0.0/16
    nat_gateway_mode: single
  check_mode: true
  diff: true
  register: plan

- name: Tear the stack's network down (only what carries its ownership tags)
  cairn.platform.networking:
    environment: dev
    stack: dev-us-east-1
    region: us-east-1
    state: absent
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: nat_gateway
      resource: prod-us-east-1-nat-us-east-1a
      fields: {subnet_id: {before: null, after: subnet-0abc}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
vpc:
  description: The VPC.
  returned: when state=present
  type: dict
  contains:
    id: {description: VPC id (C(known after apply) in check mode before creation)., type: str, returned: always}
    cidr_block: {description: IPv4 CIDR., type: str, returned: always}
    ipv6_cidr_block: {description: Amazon-provided IPv6 CIDR (null without IPv6)., type: str, returned: always}
    owner_id: {description: Account id., type: str, returned: always}
subnets:
  description: Subnets by tier, in zone order.
  returned: when state=present
  type: dict
  contains:
    public: {description: "Public subnets, each with id, cidr_block, ipv6_cidr_block and availability_zone.", type: list, elements: dict, returned: always}
    private: {description: Private subnets., type: list, elements: dict, returned: always}
    database: {description: Database subnets., type: list, elements: dict, returned: always}
public_subnet_ids: {description: Ids of the public subnets in zone order., returned: when state=present, type: list, elements: str}
private_subnet_ids: {description: Ids of the private subnets in zone order., returned: when state=present, type: list, elements: str}
database_subnet_ids: {description: Ids of the database subnets in zone order., returned: when state=present, type: list, elements: str}
availability_zones: {description: The zones in use., returned: when state=present, type: list, elements: str}
internet_gateway_id: {description: The internet gateway., returned: when state=present, type: str}
egress_only_internet_gateway_id: {description: The egress-only internet gateway (null without IPv6)., returned: when state=present, type: str}
nat_gateways:
  description: NAT gateways with their Elastic IPs.
  returned: when state=present
  type: list
  elements: dict
  sample: [{id: nat-0abc, allocation_id: eipalloc-0abc, public_ip: 203.0.113.10, subnet_id: subnet-0abc, availability_zone: us-east-1a, state: available}]
route_table_ids:
  description: Route tables by role.
  returned: when state=present
  type: dict
  sample: {public: rtb-1, private: [rtb-2, rtb-3, rtb-4], database: rtb-5}
vpc_endpoints:
  description: Endpoint ids by service short name.
  returned: when state=present
  type: dict
  sample: {s3: vpce-1, dynamodb: vpce-2, logs: vpce-3}
endpoint_security_group_id: {description: Security group of the interface endpoints., returned: when state=present, type: str}
flow_log:
  description: The flow log, its log group and delivery role (null when disabled).
  returned: when state=present
  type: dict
  sample:
    id: fl-0abc
    log_group_name: /cairn/prod/prod-us-east-1/vpc-flow-logs
    role_arn: "arn:aws:iam::123456789012:role/cairn/prod-us-east-1-vpc-flow-logs"
    retention_days: 90
waited_seconds: {description: Seconds spent waiting on AWS in this run., returned: always, type: float}
"""

import hashlib
import ipaddress
import re
import uuid

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import IamRoleConverger
from ansible_collections.cairn.platform.plugins.module_utils.logs import LogGroupConverger, check_retention_days
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
    tag_specifications,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "networking"
TIER_TAG = "cairn:tier"
AZ_TAG = "cairn:az"
ROLE_TAG = "cairn:role"
ENDPOINT_TAG = "cairn:endpoint"
LIVE_NAT_STATES = ("pending", "available")
LIVE_ENDPOINT_STATES = ("pendingacceptance", "pending", "available", "modifying")
# A CIDR association counts as present unless its state says it is going or gone.
GONE_CIDR_STATES = ("disassociating", "disassociated", "failing", "failed")

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str"),
    cidr_block=dict(type="str"),
    ipv6=dict(type="bool", default=False),
    az_count=dict(type="int", default=3),
    availability_zones=dict(type="list", elements="str"),
    public_subnets=dict(type="list", elements="str"),
    private_subnets=dict(type="list", elements="str"),
    database_subnets=dict(type="list", elements="str"),
    nat_gateway_mode=dict(type="str", default="one_per_az", choices=["one_per_az", "single", "none"]),
    gateway_endpoints=dict(type="list", elements="str", default=["s3", "dynamodb"]),
    interface_endpoints=dict(type="list", elements="str", default=["logs", "monitoring"]),
    flow_logs=dict(
        type="dict",
        default={},
        options=dict(
            enabled=dict(type="bool", default=True),
            retention_days=dict(type="int", default=90),
            traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
            log_group_name=dict(type="str"),
            kms_key_id=dict(type="str"),
            max_aggregation_interval=dict(type="int", default=60, choices=[60, 600]),
        ),
    ),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the subnet layout (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
TIERS = ("public", "private", "database")
NAT_MODES = ("one_per_az", "single", "none")
MAX_AZ_COUNT = 6
FLOW_LOG_TRAFFIC_TYPES = ("ACCEPT", "REJECT", "ALL")
# Where each tier's /64s start inside the VPC's /56 (room for 16 AZs per tier).
IPV6_TIER_OFFSET = {"public": 0, "private": 16, "database": 32}
# Default IPv4 layout, in blocks of the VPC prefix + 4 (private) and + 8 (public, database).
DEFAULT_LAYOUT = {"private": (4, 0), "public": (8, 128), "database": (8, 144)}
_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")
_LOG_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")


def parse_vpc_cidr(cidr):
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError) as exc:
        raise InputError(
            "cidr_block: {0!r} is not a valid IPv4 network in CIDR form such as 10.40.0.0/16 ({1}).".format(cidr, exc)
        )
    if not 16 <= network.prefixlen <= 28:
        raise InputError(
            "cidr_block: AWS allows VPC prefixes from /16 to /28; {0} has /{1}.".format(cidr, network.prefixlen)
        )
    return network


def default_subnets(vpc_network, az_count):
    """The default layout: private /p+4 blocks first, then public and database /p+8 blocks."""
    if vpc_network.prefixlen > 20:
        raise InputError(
            "cidr_block: the default subnet layout needs a VPC of /20 or larger (it carves /{0}+8 subnets); "
            "give public_subnets, private_subnets and database_subnets explicitly for {1}.".format(
                vpc_network.prefixlen, vpc_network
            )
        )
    layout = {}
    for tier, (newbits, first_index) in DEFAULT_LAYOUT.items():
        blocks = vpc_network.subnets(prefixlen_diff=newbits)
        chosen = []
        for index, block in enumerate(blocks):
            if index >= first_index + az_count:
                break
            if index >= first_index:
                chosen.append(str(block))
        layout[tier] = chosen
    return layout


def plan_subnets(vpc_network, az_count, explicit):
    """Validate explicit subnet lists (or build the default layout): {tier: [cidr per AZ]}."""
    layout = default_subnets(vpc_network, az_count) if not all(explicit.get(t) for t in TIERS) else {}
    seen = []
    for tier in TIERS:
        field = tier + "_subnets"
        cidrs = explicit.get(tier) or layout.get(tier)
        if explicit.get(tier) is not None and not explicit.get(tier):
            raise InputError("{0}: give one CIDR per availability zone, or leave it unset for the default layout.".format(field))
        if len(cidrs) != az_count:
            raise InputError(
                "{0}: {1} CIDRs given for {2} availability zones; give exactly one per zone.".format(field, len(cidrs), az_count)
            )
        parsed = []
        for cidr in cidrs:
            try:
                subnet = ipaddress.IPv4Network(cidr, strict=True)
            except (ValueError, TypeError) as exc:
                raise InputError("{0}: {1!r} is not a valid IPv4 network in CIDR form ({2}).".format(field, cidr, exc))
            if not subnet.subnet_of(vpc_network):
                raise InputError("{0}: {1} lies outside the VPC's cidr_block {2}.".format(field, subnet, vpc_network))
            if not 16 <= subnet.prefixlen <= 28:
                raise InputError("{0}: AWS allows subnet prefixes from /16 to /28; {1} has /{2}.".format(field, subnet, subnet.prefixlen))
            for other_field, other in seen:
                if subnet.overlaps(other):
                    raise InputError("{0}: {1} overlaps {2} of {3}.".format(field, subnet, other, other_field))
            seen.append((field, subnet))
            parsed.append(str(subnet))
        layout[tier] = parsed
    return layout


def ipv6_subnet(vpc_ipv6_cidr, tier, az_index):
    network = ipaddress.IPv6Network(vpc_ipv6_cidr)
    offset = IPV6_TIER_OFFSET[tier] + az_index
    return str(network.network_address + (offset << (128 - 64))) + "/64"


def endpoint_service_name(region, service):
    if service.startswith("com.amazonaws.") or service.startswith("aws."):
        return service
    return "com.amazonaws.{0}.{1}".format(region, service)


def check_endpoint_names(field, names):
    for name in names:
        if not isinstance(name, str) or not _ENDPOINT_NAME.match(name):
            raise InputError(
                "{0}: {1!r} is not a VPC endpoint service name (use a short name such as 'logs' or 'ecr.api', "
                "or a full name such as com.amazonaws.us-east-1.logs).".format(field, name)
            )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError("{0}: {1} listed more than once.".format(field, ", ".join(duplicates)))


def check_flow_logs(flow_logs):
    check_retention_days("flow_logs.retention_days", flow_logs.get("retention_days"))
    name = flow_logs.get("log_group_name")
    if name and not _LOG_GROUP_NAME.match(name):
        raise InputError(
            "flow_logs.log_group_name: {0!r} is not a valid log group name (1-512 of letters, digits, . - _ / #).".format(name)
        )


def check_az_count(az_count):
    if not 1 <= az_count <= MAX_AZ_COUNT:
        raise InputError("az_count: must be between 1 and {0}; got {1}.".format(MAX_AZ_COUNT, az_count))


def choose_zones(region, az_count, requested, available):
    """Pick the zones to use, checked against the zones the region really has (opted-in, available)."""
    if requested:
        unknown = [zone for zone in requested if zone not in available]
        if unknown:
            raise InputError(
                "availability_zones: {0} not available in {1}; the region has {2}.".format(
                    ", ".join(unknown), region, ", ".join(available)
                )
            )
        if len(requested) != az_count:
            raise InputError(
                "availability_zones: {0} zones listed but az_count is {1}; list exactly az_count zones.".format(
                    len(requested), az_count
                )
            )
        if len(set(requested)) != len(requested):
            raise InputError("availability_zones: a zone is listed twice.")
        return list(requested)
    if az_count > len(available):
        raise InputError(
            "az_count: {0} availability zones requested but {1} has only {2} ({3}).".format(
                az_count, region, len(available), ", ".join(available)
            )
        )
    return available[:az_count]


def build_spec(params):
    """All checks that need no API call, in the order a person reads the options."""
    spec = {"state": params["state"], "name": params.get("name") or params["stack"]}
    spec["wait"] = params["wait"]
    spec["wait_timeout"] = params["wait_timeout"]
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    if params["state"] == "absent":
        return spec
    if not params.get("cidr_block"):
        raise InputError("cidr_block: required when state=present (for example 10.40.0.0/16).")
    check_az_count(params["az_count"])
    vpc_network = parse_vpc_cidr(params["cidr_block"])
    explicit = {tier: params.get(tier + "_subnets") for tier in TIERS}
    spec.update(
        cidr_block=str(vpc_network),
        ipv6=params["ipv6"],
        az_count=params["az_count"],
        availability_zones=params.get("availability_zones"),
        subnets=plan_subnets(vpc_network, params["az_count"], explicit),
        nat_gateway_mode=params["nat_gateway_mode"],
    )
    if params.get("availability_zones") is not None and len(params["availability_zones"]) != params["az_count"]:
        raise InputError(
            "availability_zones: {0} zones listed but az_count is {1}; list exactly az_count zones.".format(
                len(params["availability_zones"]), params["az_count"]
            )
        )
    check_endpoint_names("gateway_endpoints", params["gateway_endpoints"])
    for service in params["gateway_endpoints"]:
        if service.split(".")[-1] not in ("s3", "dynamodb"):
            raise InputError("gateway_endpoints: AWS offers gateway endpoints only for s3 and dynamodb; got {0!r}.".format(service))
    check_endpoint_names("interface_endpoints", params["interface_endpoints"])
    both = sorted(set(params["gateway_endpoints"]) & set(params["interface_endpoints"]))
    if both:
        raise InputError(
            "interface_endpoints: {0} is also in gateway_endpoints; list it in one of them (the gateway endpoint "
            "serves the VPC at no cost, the interface endpoint is for access from outside it).".format(", ".join(both))
        )
    spec["gateway_endpoints"] = list(params["gateway_endpoints"])
    spec["interface_endpoints"] = list(params["interface_endpoints"])
    flow_logs = dict(params.get("flow_logs") or {})
    for key, option in ARGUMENT_SPEC["flow_logs"]["options"].items():
        if flow_logs.get(key) is None and "default" in option:
            flow_logs[key] = option["default"]
    if flow_logs["enabled"]:
        check_flow_logs(flow_logs)
    flow_logs["log_group_name"] = flow_logs.get("log_group_name") or "/cairn/{0}/{1}/vpc-flow-logs".format(
        params["environment"], params["stack"]
    )
    spec["flow_logs"] = flow_logs
    return spec


def client_token(*parts):
    """An idempotency token for one create of one run (the SDK's retries of it reuse the token).

    Across runs, resources are found by the tags they are born with; a token reused across runs
    could name a resource deleted since, so every run seeds its tokens afresh.
    """
    return "cairn-" + hashlib.sha256("/".join(str(part) for part in parts).encode()).hexdigest()[:40]


def flow_log_role_name(stack):
    return (stack + "-vpc-flow-logs")[:64]


def route_targets(route):
    """(destination, target) of a route we could manage, or None for local and prefix-list routes."""
    destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
    if not destination or route.get("GatewayId") == "local" or route.get("Origin") == "CreateRouteTable":
        return None
    for key in ("NatGatewayId", "EgressOnlyInternetGatewayId", "TransitGatewayId", "VpcPeeringConnectionId",
                "NetworkInterfaceId", "InstanceId", "CarrierGatewayId", "LocalGatewayId", "GatewayId"):
        if route.get(key):
            target = route[key]
            if route.get("State") == "blackhole":
                target = "blackhole:" + target
            return destination, target
    return destination, "unknown"


def route_kwargs(destination, target):
    key = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
    if target.startswith("nat-"):
        target_key = "NatGatewayId"
    elif target.startswith("eigw-"):
        target_key = "EgressOnlyInternetGatewayId"
    else:
        target_key = "GatewayId"
    return {key: destination, target_key: target}


def sg_rules(permissions):
    """Security group rules as a set of comparable tuples."""
    rules = set()
    for permission in permissions or []:
        base = (permission.get("IpProtocol"), permission.get("FromPort"), permission.get("ToPort"))
        for item in permission.get("IpRanges", []):
            rules.add(base + ("ipv4", item["CidrIp"]))
        for item in permission.get("Ipv6Ranges", []):
            rules.add(base + ("ipv6", item["CidrIpv6"]))
        for item in permission.get("UserIdGroupPairs", []):
            rules.add(base + ("group", item["GroupId"]))
        for item in permission.get("PrefixListIds", []):
            rules.add(base + ("prefix_list", item["PrefixListId"]))
    return rules


def sg_permissions(rules):
    permissions = []
    for protocol, from_port, to_port, kind, value in sorted(rules, key=str):
        permission = {"IpProtocol": protocol}
        if protocol != "-1":
            permission.update(FromPort=from_port, ToPort=to_port)
        if kind == "ipv4":
            permission["IpRanges"] = [{"CidrIp": value}]
        elif kind == "ipv6":
            permission["Ipv6Ranges"] = [{"CidrIpv6": value}]
        elif kind == "group":
            permission["UserIdGroupPairs"] = [{"GroupId": value}]
        else:
            permission["PrefixListIds"] = [{"PrefixListId": value}]
        permissions.append(permission)
    return permissions


def rule_text(rule):
    protocol, from_port, to_port, kind, value = rule
    ports = "all" if protocol == "-1" else "{0}-{1}".format(from_port, to_port)
    return "{0}/{1} {2}".format(protocol, ports, value)


class NetworkConverger:
    """Reads the stack's network with one describe per resource type, then converges it."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.name = spec["name"]
        self.ec2 = cm.client("ec2")
        self.region = cm.connection.region
        self.clock = WaitClock(spec["wait_timeout"])
        self.check_mode = cm.check_mode
        self.vpc = None
        self.current = {}
        self.run_nonce = uuid.uuid4().hex
        self.log_groups = LogGroupConverger(cm, self.owner, self.plan)
        self.roles = IamRoleConverger(cm, self.owner, self.plan)

    def token(self, *parts):
        return client_token(self.run_nonce, *parts)

    # ---- helpers -------------------------------------------------------------------------
    def tags_for(self, suffix, **identity):
        return self.owner.desired_tags(name="{0}-{1}".format(self.name, suffix) if suffix else self.name, extra=identity)

    def owned(self, resource, key="Tags"):
        return self.owner.owns(boto3_tag_list_to_dict(resource.get(key)))

    def reconcile_tags(self, resource_type, label, resource_id, current_list, desired):
        apply_tag_changes(
            self.cm, self.plan, self.owner, resource_type, label, boto3_tag_list_to_dict(current_list), desired,
            action="tagging {0} {1}".format(resource_type, resource_id),
            add=lambda to_set: self.ec2.create_tags(Resources=[resource_id], Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": key} for key in to_remove]))

    def describe(self, operation, result_key, what, **kwargs):
        with self.cm.doing("reading " + what):
            return paginate(self.ec2, operation, result_key, **kwargs)

    # ---- read ----------------------------------------------------------------------------
    def read_zones(self):
        zones = self.describe(
            "describe_availability_zones", "AvailabilityZones", "the region's availability zones",
            Filters=[{"Name": "state", "Values": ["available"]}, {"Name": "zone-type", "Values": ["availability-zone"]}],
        )
        available = sorted(zone["ZoneName"] for zone in zones)
        return choose_zones(self.region, self.spec["az_count"], self.spec.get("availability_zones"), available)

    def find_vpc(self):
        vpcs = [v for v in self.describe("describe_vpcs", "Vpcs", "the stack's VPC", Filters=self.owner.filters()) if self.owned(v)]
        if len(vpcs) > 1:
            raise CairnError(
                "Found {0} VPCs tagged for stack {1} of environment {2} ({3}); remove the ownership tags from "
                "all but one before converging.".format(
                    len(vpcs), self.owner.stack, self.owner.environment, ", ".join(v["VpcId"] for v in vpcs)
                )
            )
        return vpcs[0] if vpcs else None

    def read_current(self):
        """One describe call per resource type; everything not tagged as ours is ignored."""
        owners = self.owner.filters()
        current = {"subnets": {}, "nats": {}, "addresses": {}, "route_tables": {}, "endpoints": {},
                   "security_group": None, "flow_log": None, "igw": None, "eigw": None}
        # Gateways and addresses are found by tags, so a detached leftover of an interrupted run is reused.
        # The tag filters narrow the answer; owned() decides (never trust a filter alone with deletes).
        igws = [g for g in self.describe("describe_internet_gateways", "InternetGateways", "internet gateways", Filters=owners)
                if self.owned(g)]
        current["igw"] = igws[0] if igws else None
        eigws = [g for g in self.describe("describe_egress_only_internet_gateways", "EgressOnlyInternetGateways",
                                          "egress-only internet gateways", Filters=owners) if self.owned(g)]
        current["eigw"] = eigws[0] if eigws else None
        for address in self.describe("describe_addresses", "Addresses", "Elastic IPs", Filters=owners):
            tags = boto3_tag_list_to_dict(address.get("Tags"))
            if self.owner.owns(tags):
                current["addresses"].setdefault(tags.get(AZ_TAG), address)
        self.read_flow_log_dependencies()
        if self.vpc is None:
            return current
        vpc_filter = [{"Name": "vpc-id", "Values": [self.vpc["VpcId"]]}]
        for subnet in self.describe("describe_subnets", "Subnets", "subnets", Filters=vpc_filter):
            tags = boto3_tag_list_to_dict(subnet.get("Tags"))
            if self.owner.owns(tags) and tags.get(TIER_TAG):
                current["subnets"][(tags[TIER_TAG], tags.get(AZ_TAG))] = subnet
        for nat in self.describe("describe_nat_gateways", "NatGateways", "NAT gateways", Filters=vpc_filter):
            tags = boto3_tag_list_to_dict(nat.get("Tags"))
            if self.owner.owns(tags) and nat["State"] in LIVE_NAT_STATES:
                current["nats"][tags.get(AZ_TAG)] = nat
        for table in self.describe("describe_route_tables", "RouteTables", "route tables", Filters=vpc_filter):
            tags = boto3_tag_list_to_dict(table.get("Tags"))
            if self.owner.owns(tags) and tags.get(ROLE_TAG):
                current["route_tables"][tags[ROLE_TAG]] = table
        for endpoint in self.describe("describe_vpc_endpoints", "VpcEndpoints", "VPC endpoints", Filters=vpc_filter):
            tags = boto3_tag_list_to_dict(endpoint.get("Tags"))
            if self.owner.owns(tags) and endpoint["State"].lower() in LIVE_ENDPOINT_STATES:
                current["endpoints"][tags.get(ENDPOINT_TAG)] = endpoint
        groups = [g for g in self.describe("describe_security_groups", "SecurityGroups", "security groups",
                                           Filters=vpc_filter + owners) if self.owned(g)]
        current["security_group"] = groups[0] if groups else None
        for flow_log in self.describe("describe_flow_logs", "FlowLogs", "flow logs",
                                      Filters=[{"Name": "resource-id", "Values": [self.vpc["VpcId"]]}]):
            if self.owned(flow_log):
                current["flow_log"] = flow_log
        with self.cm.doing("reading the VPC's DNS attributes"):
            for attribute in ("enableDnsSupport", "enableDnsHostnames"):
                response = self.ec2.describe_vpc_attribute(VpcId=self.vpc["VpcId"], Attribute=attribute)
                key = attribute[0].upper() + attribute[1:]
                current[attribute] = response[key]["Value"]
        return current

    # ---- converge ------------------------------------------------------------------------
    def present(self):
        self.zones = self.read_zones()
        self.vpc = self.find_vpc()
        self.current = self.read_current()
        self.preflight()
        vpc_id = self.ensure_vpc()
        igw_id = self.ensure_internet_gateway(vpc_id)
        eigw_id = self.ensure_egress_only_gateway(vpc_id)
        subnets = self.ensure_subnets(vpc_id)
        nats = self.ensure_nat_gateways(subnets)
        tables = self.ensure_route_tables(vpc_id, subnets, igw_id, eigw_id, nats)
        endpoints = self.ensure_gateway_endpoints(vpc_id, tables)
        group_id = self.ensure_endpoint_security_group(vpc_id)
        endpoints.update(self.ensure_interface_endpoints(vpc_id, subnets, group_id))
        flow_log = self.ensure_flow_logs(vpc_id)
        self.prune(keep_subnets=subnets, keep_tables=tables, keep_nats=nats, keep_endpoints=endpoints, keep_group=group_id)
        return self.result(vpc_id, igw_id, eigw_id, subnets, nats, tables, endpoints, group_id, flow_log)

    def preflight(self):
        """Refuse, before any write, changes AWS cannot make in place and resources we do not own."""
        if self.spec["flow_logs"]["enabled"]:
            self.log_groups.check_owned(self.flow_log_group_name(), field="flow_logs.log_group_name")
            self.roles.check_owned(flow_log_role_name(self.owner.stack))
        if self.vpc and self.vpc["CidrBlock"] != self.spec["cidr_block"]:
            raise CairnError(
                "cidr_block: the stack's VPC {0} has {1}; a VPC's primary CIDR cannot change (asked for {2}). "
                "Keep {1}, or delete the stack's network first.".format(self.vpc["VpcId"], self.vpc["CidrBlock"], self.spec["cidr_block"])
            )
        for (tier, zone), subnet in self.current["subnets"].items():
            desired = self.desired_subnet_cidr(tier, zone)
            if desired and subnet["CidrBlock"] != desired:
                raise CairnError(
                    "{0}_subnets: subnet {1} in {2} has {3}; a subnet's CIDR cannot change (asked for {4}). "
                    "Keep {3}, or move the workloads out and delete the subnet first.".format(
                        tier, subnet["SubnetId"], zone, subnet["CidrBlock"], desired
                    )
                )
        missing = [svc for svc in self.spec["interface_endpoints"] if svc not in self.current["endpoints"]]
        if missing:
            names = [endpoint_service_name(self.region, svc) for svc in missing]
            known = self.known_endpoint_services(names)
            unknown = [svc for svc, name in zip(missing, names) if name not in known]
            if unknown:
                raise CairnError(
                    "interface_endpoints: {0} has no endpoint service {1}.".format(self.region, ", ".join(unknown))
                )

    def known_endpoint_services(self, names):
        """The names the region offers. AWS refuses the whole call for one unknown name, so then ask one by one."""
        with self.cm.doing("checking the interface endpoint services exist"):
            try:
                return set(self.ec2.describe_vpc_endpoint_services(ServiceNames=names).get("ServiceNames", []))
            except Exception as exc:
                if error_code(exc) != "InvalidServiceName":
                    raise
        if len(names) == 1:
            return set()
        return set().union(*(self.known_endpoint_services([name]) for name in names))

    def desired_subnet_cidr(self, tier, zone):
        if zone not in self.zones:
            return None
        return self.spec["subnets"][tier][self.zones.index(zone)]

    def ensure_vpc(self):
        desired_tags = self.tags_for(None)
        if self.vpc is None:
            desired = {"cidr_block": self.spec["cidr_block"], "ipv6": self.spec["ipv6"], "tags": desired_tags}
            if not self.plan.create("vpc", self.name, desired):
                return UNKNOWN
            with self.cm.doing("creating the VPC"):
                response = self.ec2.create_vpc(
                    CidrBlock=self.spec["cidr_block"],
                    AmazonProvidedIpv6CidrBlock=self.spec["ipv6"],
                    TagSpecifications=tag_specifications("vpc", desired_tags),
                )
                self.vpc = response["Vpc"]
                vpc_id = self.vpc["VpcId"]
                for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
                    self.ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": True}})
                # Subnets need the VPC available and, with IPv6, its /56 known.
                self.clock.waiter(self.ec2, "vpc_available", "VPC " + vpc_id, delay=2, VpcIds=[vpc_id])
                if self.spec["ipv6"]:
                    self.clock.poll(self.refresh_vpc_ipv6, "the IPv6 block of " + vpc_id, delay=2)
            self.cm.remember_account_id(self.vpc.get("OwnerId"))
            return vpc_id
        vpc_id = self.vpc["VpcId"]
        self.cm.remember_account_id(self.vpc.get("OwnerId"))
        self.reconcile_tags("vpc", self.name, vpc_id, self.vpc.get("Tags"), desired_tags)
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            if self.current.get(attribute) is not True and self.plan.update("vpc", self.name, {attribute: self.current.get(attribute)}, {attribute: True}):
                with self.cm.doing("enabling {0} on {1}".format(attribute, vpc_id)):
                    self.ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute[0].upper() + attribute[1:]: {"Value": True}})
        if self.spec["ipv6"] and not self.vpc_ipv6_cidr():
            if self.plan.update("vpc", self.name, {"ipv6_cidr_block": None}, {"ipv6_cidr_block": UNKNOWN}):
                with self.cm.doing("adding an Amazon IPv6 block to " + vpc_id):
                    self.ec2.associate_vpc_cidr_block(VpcId=vpc_id, AmazonProvidedIpv6CidrBlock=True)
                    self.clock.poll(self.refresh_vpc_ipv6, "the IPv6 block of " + vpc_id, delay=2)
        return vpc_id

    def vpc_ipv6_association(self):
        for association in (self.vpc or {}).get("Ipv6CidrBlockAssociationSet", []):
            if association.get("Ipv6CidrBlockState", {}).get("State") not in GONE_CIDR_STATES:
                return association
        return None

    def vpc_ipv6_cidr(self):
        association = self.vpc_ipv6_association()
        return association.get("Ipv6CidrBlock") if association else None

    def refresh_vpc_ipv6(self):
        self.vpc = self.ec2.describe_vpcs(VpcIds=[self.vpc["VpcId"]])["Vpcs"][0]
        association = self.vpc_ipv6_association()
        return association and association["Ipv6CidrBlockState"]["State"] == "associated"

    def ensure_internet_gateway(self, vpc_id):
        desired_tags = self.tags_for("igw")
        label = self.name + "-igw"
        igw = self.current["igw"]
        if igw is None:
            if not self.plan.create("internet_gateway", label, {"vpc_id": vpc_id, "tags": desired_tags}):
                return UNKNOWN
            with self.cm.doing("creating the internet gateway"):
                igw_id = self.ec2.create_internet_gateway(
                    TagSpecifications=tag_specifications("internet-gateway", desired_tags))["InternetGateway"]["InternetGatewayId"]
                self.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
            return igw_id
        igw_id = igw["InternetGatewayId"]
        self.reconcile_tags("internet_gateway", label, igw_id, igw.get("Tags"), desired_tags)
        attached = [a["VpcId"] for a in igw.get("Attachments", []) if a.get("State") in ("attached", "available", "attaching")]
        if attached and vpc_id not in attached:
            raise CairnError("The stack's internet gateway {0} is attached to another VPC ({1}); detach it by hand.".format(igw_id, attached[0]))
        if not attached and self.plan.update("internet_gateway", label, {"vpc_id": None}, {"vpc_id": vpc_id}):
            with self.cm.doing("attaching {0} to {1}".format(igw_id, vpc_id)):
                self.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        return igw_id

    def ensure_egress_only_gateway(self, vpc_id):
        eigw = self.current["eigw"]
        if not self.spec["ipv6"]:
            return None  # removed in prune()
        desired_tags = self.tags_for("eigw")
        if eigw is None:
            if not self.plan.create("egress_only_internet_gateway", self.name + "-eigw", {"vpc_id": vpc_id, "tags": desired_tags}):
                return UNKNOWN
            with self.cm.doing("creating the egress-only internet gateway"):
                eigw = self.ec2.create_egress_only_internet_gateway(
                    VpcId=vpc_id, ClientToken=self.token(vpc_id, "eigw"),
                    TagSpecifications=tag_specifications("egress-only-internet-gateway", desired_tags),
                )["EgressOnlyInternetGateway"]
            return eigw["EgressOnlyInternetGatewayId"]
        self.reconcile_tags("egress_only_internet_gateway", self.name + "-eigw", eigw["EgressOnlyInternetGatewayId"], eigw.get("Tags"), desired_tags)
        return eigw["EgressOnlyInternetGatewayId"]

    def ensure_subnets(self, vpc_id):
        """{tier: [subnet dict per zone]} with id, cidr_block, ipv6_cidr_block, availability_zone."""
        vpc_ipv6 = self.vpc_ipv6_cidr() if self.vpc else None
        result = {tier: [] for tier in TIERS}
        for tier in TIERS:
            for index, zone in enumerate(self.zones):
                label = "{0}-{1}-{2}".format(self.name, tier, zone)
                cidr = self.spec["subnets"][tier][index]
                ipv6_cidr = None
                if self.spec["ipv6"]:
                    ipv6_cidr = ipv6_subnet(vpc_ipv6, tier, index) if vpc_ipv6 else UNKNOWN
                desired_tags = self.tags_for("{0}-{1}".format(tier, zone), **{TIER_TAG: tier, AZ_TAG: zone})
                desired_attrs = {"map_public_ip_on_launch": tier == "public",
                                 "assign_ipv6_address_on_creation": bool(self.spec["ipv6"])}
                subnet = self.current["subnets"].get((tier, zone))
                if subnet is None:
                    desired = dict(cidr_block=cidr, ipv6_cidr_block=ipv6_cidr, availability_zone=zone, tags=desired_tags, **desired_attrs)
                    subnet_id = UNKNOWN
                    if self.plan.create("subnet", label, desired):
                        kwargs = dict(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
                                      TagSpecifications=tag_specifications("subnet", desired_tags))
                        if ipv6_cidr:
                            kwargs["Ipv6CidrBlock"] = ipv6_cidr
                        with self.cm.doing("creating subnet " + label):
                            subnet_id = self.ec2.create_subnet(**kwargs)["Subnet"]["SubnetId"]
                            self.set_subnet_attributes(subnet_id, {k: v for k, v in desired_attrs.items() if v})
                else:
                    subnet_id = subnet["SubnetId"]
                    self.reconcile_tags("subnet", label, subnet_id, subnet.get("Tags"), desired_tags)
                    current_ipv6 = self.subnet_ipv6_cidr(subnet)
                    if self.spec["ipv6"] and not current_ipv6:
                        if self.plan.update("subnet", label, {"ipv6_cidr_block": None}, {"ipv6_cidr_block": ipv6_cidr}) and vpc_ipv6:
                            with self.cm.doing("adding an IPv6 block to " + subnet_id):
                                self.ec2.associate_subnet_cidr_block(SubnetId=subnet_id, Ipv6CidrBlock=ipv6_cidr)
                    elif current_ipv6:
                        ipv6_cidr = current_ipv6
                    current_attrs = {"map_public_ip_on_launch": subnet.get("MapPublicIpOnLaunch", False),
                                     "assign_ipv6_address_on_creation": subnet.get("AssignIpv6AddressOnCreation", False)}
                    if self.plan.update("subnet", label, current_attrs, desired_attrs):
                        with self.cm.doing("updating subnet " + subnet_id):
                            self.set_subnet_attributes(subnet_id, {k: v for k, v in desired_attrs.items() if current_attrs[k] != v})
                result[tier].append({"id": subnet_id, "cidr_block": cidr, "ipv6_cidr_block": ipv6_cidr, "availability_zone": zone})
        return result

    def set_subnet_attributes(self, subnet_id, attrs):
        # ModifySubnetAttribute takes one attribute per call; a new subnet starts with both off.
        if "map_public_ip_on_launch" in attrs:
            self.ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": attrs["map_public_ip_on_launch"]})
        if "assign_ipv6_address_on_creation" in attrs:
            self.ec2.modify_subnet_attribute(
                SubnetId=subnet_id, AssignIpv6AddressOnCreation={"Value": attrs["assign_ipv6_address_on_creation"]}
            )

    @staticmethod
    def subnet_ipv6_cidr(subnet):
        for association in subnet.get("Ipv6CidrBlockAssociationSet", []):
            if association.get("Ipv6CidrBlockState", {}).get("State") not in GONE_CIDR_STATES:
                return association["Ipv6CidrBlock"]
        return None

    def nat_zones(self):
        mode = self.spec["nat_gateway_mode"]
        if mode == "one_per_az":
            return list(self.zones)
        if mode == "single":
            return [self.zones[0]]
        return []

    def ensure_nat_gateways(self, subnets):
        """{zone: nat dict}; NAT gateways and their Elastic IPs, born tagged so reruns never duplicate them."""
        public_by_zone = {item["availability_zone"]: item["id"] for item in subnets["public"]}
        nats = {}
        pending = []
        for zone in self.nat_zones():
            label = "{0}-nat-{1}".format(self.name, zone)
            address = self.current["addresses"].get(zone)
            eip_tags = self.tags_for("nat-eip-" + zone, **{AZ_TAG: zone, ROLE_TAG: "nat"})
            if address is None:
                allocation_id, public_ip = UNKNOWN, UNKNOWN
                if self.plan.create("elastic_ip", label + "-eip", {"domain": "vpc", "tags": eip_tags}):
                    with self.cm.doing("allocating the Elastic IP for " + label):
                        response = self.ec2.allocate_address(Domain="vpc", TagSpecifications=tag_specifications("elastic-ip", eip_tags))
                    allocation_id, public_ip = response["AllocationId"], response.get("PublicIp")
            else:
                allocation_id, public_ip = address["AllocationId"], address.get("PublicIp")
                self.reconcile_tags("elastic_ip", label + "-eip", allocation_id, address.get("Tags"), eip_tags)
            nat = self.current["nats"].get(zone)
            nat_tags = self.tags_for("nat-" + zone, **{AZ_TAG: zone})
            subnet_id = public_by_zone[zone]
            if nat is None:
                nat = {"NatGatewayId": UNKNOWN, "State": "pending"}
                if self.plan.create("nat_gateway", label, {"subnet_id": subnet_id, "allocation_id": allocation_id, "tags": nat_tags}):
                    nat = self.create_nat_gateway(label, subnet_id, allocation_id, nat_tags)
                    pending.append(nat["NatGatewayId"])
            else:
                self.reconcile_tags("nat_gateway", label, nat["NatGatewayId"], nat.get("Tags"), nat_tags)
                if nat["State"] == "pending":
                    pending.append(nat["NatGatewayId"])
            nats[zone] = {"id": nat["NatGatewayId"], "allocation_id": allocation_id, "public_ip": public_ip,
                          "subnet_id": subnet_id, "availability_zone": zone, "state": nat["State"]}
        if pending and self.spec["wait"] and not self.check_mode:
            with self.cm.doing("waiting for NAT gateways " + ", ".join(pending)):
                self.clock.waiter(self.ec2, "nat_gateway_available", "NAT gateways " + ", ".join(pending), delay=5, NatGatewayIds=pending)
            for nat in nats.values():
                if nat["id"] in pending:
                    nat["state"] = "available"
        return nats

    def create_nat_gateway(self, label, subnet_id, allocation_id, tags):
        with self.cm.doing("creating NAT gateway " + label):
            return self.ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id, ConnectivityType="public",
                                               ClientToken=self.token(subnet_id, allocation_id, "nat"),
                                               TagSpecifications=tag_specifications("natgateway", tags))["NatGateway"]

    def desired_route_tables(self, subnets, igw_id, eigw_id, nats):
        """{role: (routes {destination: target}, [subnet ids])}."""
        tables = {}
        public_routes = {"0.0.0.0/0": igw_id}
        if self.spec["ipv6"]:
            public_routes["::/0"] = igw_id
        tables["public"] = (public_routes, [s["id"] for s in subnets["public"]])
        for item in subnets["private"]:
            zone = item["availability_zone"]
            routes = {}
            nat = nats.get(zone) or (nats.get(self.zones[0]) if self.spec["nat_gateway_mode"] == "single" else None)
            if nat:
                routes["0.0.0.0/0"] = nat["id"]
            if self.spec["ipv6"]:
                routes["::/0"] = eigw_id
            tables["private-" + zone] = (routes, [item["id"]])
        tables["database"] = ({}, [s["id"] for s in subnets["database"]])
        return tables

    def ensure_route_tables(self, vpc_id, subnets, igw_id, eigw_id, nats):
        """{role: route table id}; routes and associations reconciled exactly."""
        result = {}
        associated_elsewhere = {}
        for table in self.current["route_tables"].values():
            for association in table.get("Associations", []):
                if association.get("SubnetId"):
                    associated_elsewhere[association["SubnetId"]] = (table["RouteTableId"], association["RouteTableAssociationId"])
        for role, (routes, subnet_ids) in self.desired_route_tables(subnets, igw_id, eigw_id, nats).items():
            label = "{0}-rt-{1}".format(self.name, role)
            desired_tags = self.tags_for("rt-" + role, **{ROLE_TAG: role})
            table = self.current["route_tables"].get(role)
            if table is None:
                table_id = UNKNOWN
                if self.plan.create("route_table", label, {"routes": routes, "subnet_ids": subnet_ids, "tags": desired_tags}):
                    with self.cm.doing("creating route table " + label):
                        table_id = self.ec2.create_route_table(
                            VpcId=vpc_id, ClientToken=self.token(vpc_id, "rt", role),
                            TagSpecifications=tag_specifications("route-table", desired_tags),
                        )["RouteTable"]["RouteTableId"]
                        for destination, target in sorted(routes.items()):
                            self.ec2.create_route(RouteTableId=table_id, **route_kwargs(destination, target))
                        for subnet_id in subnet_ids:
                            self.associate(table_id, subnet_id, associated_elsewhere)
                result[role] = table_id
                continue
            table_id = table["RouteTableId"]
            result[role] = table_id
            self.reconcile_tags("route_table", label, table_id, table.get("Tags"), desired_tags)
            current_routes = dict(filter(None, (route_targets(route) for route in table.get("Routes", []))))
            if self.plan.update("route_table", label, {"routes": current_routes}, {"routes": routes}):
                with self.cm.doing("updating the routes of " + table_id):
                    for destination, target in sorted(routes.items()):
                        if destination not in current_routes:
                            self.ec2.create_route(RouteTableId=table_id, **route_kwargs(destination, target))
                        elif current_routes[destination] != target:
                            self.ec2.replace_route(RouteTableId=table_id, **route_kwargs(destination, target))
                    for destination in sorted(set(current_routes) - set(routes)):
                        key = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
                        self.ec2.delete_route(RouteTableId=table_id, **{key: destination})
            current_subnets = sorted(a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId"))
            missing = [s for s in subnet_ids if s not in current_subnets]
            if missing and self.plan.update("route_table", label, {"subnet_ids": current_subnets},
                                            {"subnet_ids": sorted(set(current_subnets) | set(subnet_ids))}):
                with self.cm.doing("associating subnets with " + table_id):
                    for subnet_id in missing:
                        self.associate(table_id, subnet_id, associated_elsewhere)
        return result

    def associate(self, table_id, subnet_id, associated_elsewhere):
        if subnet_id == UNKNOWN:
            return
        if subnet_id in associated_elsewhere:
            self.ec2.replace_route_table_association(AssociationId=associated_elsewhere[subnet_id][1], RouteTableId=table_id)
        else:
            self.ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)

    def ensure_gateway_endpoints(self, vpc_id, tables):
        result = {}
        table_ids = sorted(table for table in tables.values() if isinstance(table, str) and table != UNKNOWN)
        all_tables = sorted(table for table in (list(tables.values())))
        for service in self.spec["gateway_endpoints"]:
            label = "{0}-vpce-{1}".format(self.name, service)
            desired_tags = self.tags_for("vpce-" + service, **{ENDPOINT_TAG: service})
            endpoint = self.current["endpoints"].get(service)
            if endpoint is None:
                result[service] = UNKNOWN
                if self.plan.create("vpc_endpoint", label, {"type": "Gateway", "service": endpoint_service_name(self.region, service),
                                                            "route_table_ids": all_tables, "tags": desired_tags}):
                    with self.cm.doing("creating gateway endpoint " + label):
                        result[service] = self.ec2.create_vpc_endpoint(
                            VpcEndpointType="Gateway", VpcId=vpc_id, ServiceName=endpoint_service_name(self.region, service),
                            RouteTableIds=table_ids, ClientToken=self.token(vpc_id, "vpce", service),
                            TagSpecifications=tag_specifications("vpc-endpoint", desired_tags),
                        )["VpcEndpoint"]["VpcEndpointId"]
                continue
            endpoint_id = result[service] = endpoint["VpcEndpointId"]
            self.reconcile_tags("vpc_endpoint", label, endpoint_id, endpoint.get("Tags"), desired_tags)
            current_tables = sorted(endpoint.get("RouteTableIds", []))
            if self.plan.update("vpc_endpoint", label, {"route_table_ids": current_tables}, {"route_table_ids": all_tables}):
                add = sorted(set(table_ids) - set(current_tables))
                remove = sorted(set(current_tables) - set(all_tables))
                with self.cm.doing("updating the route tables of " + endpoint_id):
                    kwargs = {}
                    if add:
                        kwargs["AddRouteTableIds"] = add
                    if remove:
                        kwargs["RemoveRouteTableIds"] = remove
                    if kwargs:
                        self.ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, **kwargs)
        return result

    def endpoint_group_rules(self):
        rules = {("tcp", 443, 443, "ipv4", self.spec["cidr_block"])}
        ipv6 = self.vpc_ipv6_cidr() if self.vpc else None
        if self.spec["ipv6"] and ipv6:
            rules.add(("tcp", 443, 443, "ipv6", ipv6))
        return rules

    def ensure_endpoint_security_group(self, vpc_id):
        if not self.spec["interface_endpoints"]:
            return None  # removed in prune()
        group = self.current["security_group"]
        label = self.name + "-vpc-endpoints"
        desired_tags = self.tags_for("vpc-endpoints", **{ROLE_TAG: "vpc-endpoints"})
        ingress = self.endpoint_group_rules()
        if group is None:
            if not self.plan.create("security_group", label, {"ingress": sorted(rule_text(r) for r in ingress), "egress": [], "tags": desired_tags}):
                return UNKNOWN
            with self.cm.doing("creating security group " + label):
                group_id = self.ec2.create_security_group(
                    GroupName=label, VpcId=vpc_id,
                    Description="HTTPS from the VPC to its interface endpoints (cairn.platform)",
                    TagSpecifications=tag_specifications("security-group", desired_tags),
                )["GroupId"]
                group = self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
            self.reconcile_group_rules(label, group, ingress, set(), record=False)
            return group_id
        self.reconcile_tags("security_group", label, group["GroupId"], group.get("Tags"), desired_tags)
        self.reconcile_group_rules(label, group, ingress, set(), record=True)
        return group["GroupId"]

    def reconcile_group_rules(self, label, group, ingress, egress, record):
        """Make the group's rules exactly these: a rule added by hand shows in the plan and is removed."""
        group_id = group["GroupId"]
        current_in, current_out = sg_rules(group.get("IpPermissions")), sg_rules(group.get("IpPermissionsEgress"))
        if current_in == ingress and current_out == egress:
            return
        if record and not self.plan.update(
            "security_group", label,
            {"ingress": sorted(rule_text(r) for r in current_in), "egress": sorted(rule_text(r) for r in current_out)},
            {"ingress": sorted(rule_text(r) for r in ingress), "egress": sorted(rule_text(r) for r in egress)},
        ):
            return
        with self.cm.doing("reconciling the rules of " + group_id):
            if ingress - current_in:
                self.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=sg_permissions(ingress - current_in))
            if current_in - ingress:
                self.ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=sg_permissions(current_in - ingress))
            if egress - current_out:
                self.ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=sg_permissions(egress - current_out))
            if current_out - egress:
                self.ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=sg_permissions(current_out - egress))

    def ensure_interface_endpoints(self, vpc_id, subnets, group_id):
        result = {}
        subnet_ids = sorted(s["id"] for s in subnets["private"])
        for service in self.spec["interface_endpoints"]:
            label = "{0}-vpce-{1}".format(self.name, service)
            desired_tags = self.tags_for("vpce-" + service, **{ENDPOINT_TAG: service})
            desired = {"subnet_ids": subnet_ids, "security_group_ids": [group_id], "private_dns_enabled": True}
            endpoint = self.current["endpoints"].get(service)
            if endpoint is None:
                result[service] = UNKNOWN
                service_name = endpoint_service_name(self.region, service)
                if self.plan.create("vpc_endpoint", label, dict(desired, type="Interface", service=service_name, tags=desired_tags)):
                    with self.cm.doing("creating interface endpoint " + label):
                        result[service] = self.ec2.create_vpc_endpoint(
                            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=service_name,
                            SubnetIds=subnet_ids, SecurityGroupIds=[group_id], PrivateDnsEnabled=True,
                            ClientToken=self.token(vpc_id, "vpce", service),
                            TagSpecifications=tag_specifications("vpc-endpoint", desired_tags),
                        )["VpcEndpoint"]["VpcEndpointId"]
                continue
            endpoint_id = result[service] = endpoint["VpcEndpointId"]
            self.reconcile_tags("vpc_endpoint", label, endpoint_id, endpoint.get("Tags"), desired_tags)
            current = {"subnet_ids": sorted(endpoint.get("SubnetIds", [])),
                       "security_group_ids": sorted(g["GroupId"] for g in endpoint.get("Groups", [])),
                       "private_dns_enabled": endpoint.get("PrivateDnsEnabled", False)}
            if self.plan.update("vpc_endpoint", label, current, desired):
                kwargs = {}
                for field, add_key, remove_key in (("subnet_ids", "AddSubnetIds", "RemoveSubnetIds"),
                                                   ("security_group_ids", "AddSecurityGroupIds", "RemoveSecurityGroupIds")):
                    add = sorted(set(desired[field]) - set(current[field]) - {UNKNOWN})
                    remove = sorted(set(current[field]) - set(desired[field]))
                    if add:
                        kwargs[add_key] = add
                    if remove:
                        kwargs[remove_key] = remove
                if current["private_dns_enabled"] is not True:
                    kwargs["PrivateDnsEnabled"] = True
                with self.cm.doing("updating interface endpoint " + endpoint_id):
                    self.ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, **kwargs)
        return result

    # ---- flow logs -----------------------------------------------------------------------
    def flow_log_policies(self, log_group_name):
        account, partition = self.cm.account_id(), self.cm.partition()
        trust = {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": "arn:{0}:ec2:{1}:{2}:vpc-flow-log/*".format(partition, self.region, account)},
                },
            }],
        }
        group_arn = self.log_groups.arn(log_group_name)
        delivery = {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DeliverFlowLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [group_arn, group_arn + ":*"],
            }],
        }
        return trust, delivery

    def flow_log_group_name(self):
        return (self.spec.get("flow_logs") or {}).get("log_group_name") or "/cairn/{0}/{1}/vpc-flow-logs".format(
            self.owner.environment, self.owner.stack)

    def read_flow_log_dependencies(self):
        """The flow-log role and log group live outside the VPC: found by name, judged by tags."""
        self.log_groups.read(self.flow_log_group_name())
        self.roles.read(flow_log_role_name(self.owner.stack))

    def ensure_flow_logs(self, vpc_id):
        settings = self.spec["flow_logs"]
        if not settings["enabled"]:
            return None  # removed in prune()
        name = settings["log_group_name"]
        trust, delivery = self.flow_log_policies(name)
        self.log_groups.ensure(name, settings["retention_days"], settings.get("kms_key_id"),
                               tags=self.tags_for("vpc-flow-logs"), field="flow_logs.log_group_name")
        role_arn = self.roles.ensure(
            flow_log_role_name(self.owner.stack), trust, inline_policies={"flow-logs-delivery": delivery},
            description="Delivers VPC flow logs of {0} to CloudWatch Logs".format(self.owner.stack),
            tags=self.tags_for("vpc-flow-logs"))
        desired = {"traffic_type": settings["traffic_type"], "log_group_name": name, "role_arn": role_arn,
                   "max_aggregation_interval": settings["max_aggregation_interval"], "destination_type": "cloud-watch-logs"}
        label = self.name + "-flow-log"
        desired_tags = self.tags_for("flow-log")
        flow_log = self.current["flow_log"]
        if flow_log is not None:
            current = {"traffic_type": flow_log.get("TrafficType"), "log_group_name": flow_log.get("LogGroupName"),
                       "role_arn": flow_log.get("DeliverLogsPermissionArn"),
                       "max_aggregation_interval": flow_log.get("MaxAggregationInterval"),
                       "destination_type": flow_log.get("LogDestinationType")}
            if current == desired:
                self.reconcile_tags("flow_log", label, flow_log["FlowLogId"], flow_log.get("Tags"), desired_tags)
                return dict(desired, id=flow_log["FlowLogId"], retention_days=settings["retention_days"])
            # Flow logs cannot be modified: replace it.
            if self.plan.delete("flow_log", label, current, note="flow logs cannot change in place; replaced"):
                with self.cm.doing("deleting flow log " + flow_log["FlowLogId"]):
                    self.ec2.delete_flow_logs(FlowLogIds=[flow_log["FlowLogId"]])
        flow_log_id = UNKNOWN
        if self.plan.create("flow_log", label, dict(desired, tags=desired_tags)):
            with self.cm.doing("creating the VPC flow log"):
                response = self.ec2.create_flow_logs(
                    ResourceIds=[vpc_id], ResourceType="VPC", TrafficType=settings["traffic_type"],
                    LogDestinationType="cloud-watch-logs", LogGroupName=name, DeliverLogsPermissionArn=role_arn,
                    MaxAggregationInterval=settings["max_aggregation_interval"],
                    ClientToken=self.token(vpc_id, "flow-log"),
                    TagSpecifications=tag_specifications("vpc-flow-log", desired_tags),
                )
                if response.get("Unsuccessful"):
                    error = response["Unsuccessful"][0].get("Error", {})
                    raise CairnError("AWS did not create the flow log: {0}: {1}.".format(error.get("Code"), error.get("Message")))
                flow_log_id = response["FlowLogIds"][0]
        return dict(desired, id=flow_log_id, retention_days=settings["retention_days"])

    # ---- removal (surplus on present; everything on absent), in dependency order ---------------
    def prune(self, keep_subnets=None, keep_tables=None, keep_nats=None, keep_endpoints=None, keep_group=None):
        current = self.current
        keep_subnets = {s["id"] for tier in (keep_subnets or {}).values() for s in tier}
        keep_tables = set((keep_tables or {}).values())
        keep_nats = {n["id"] for n in (keep_nats or {}).values()}
        keep_endpoints = set((keep_endpoints or {}).values())
        flow_logs_wanted = self.spec.get("flow_logs", {}).get("enabled", False)

        if current.get("flow_log") and not flow_logs_wanted:
            flow_log_id = current["flow_log"]["FlowLogId"]
            if self.plan.delete("flow_log", self.name + "-flow-log", {"id": flow_log_id}):
                with self.cm.doing("deleting flow log " + flow_log_id):
                    self.ec2.delete_flow_logs(FlowLogIds=[flow_log_id])

        gone_endpoints = [e for e in current["endpoints"].values() if e["VpcEndpointId"] not in keep_endpoints]
        for endpoint in gone_endpoints:
            self.plan.delete("vpc_endpoint", "{0}-vpce-{1}".format(self.name, self.endpoint_service(endpoint)),
                             {"id": endpoint["VpcEndpointId"], "service": endpoint["ServiceName"]})
        if gone_endpoints and not self.check_mode:
            ids = [e["VpcEndpointId"] for e in gone_endpoints]
            with self.cm.doing("deleting VPC endpoints " + ", ".join(ids)):
                self.ec2.delete_vpc_endpoints(VpcEndpointIds=ids)
                if any(e.get("VpcEndpointType") == "Interface" for e in gone_endpoints):
                    self.clock.poll(lambda: self.endpoints_gone(ids), "VPC endpoints {0} to be deleted".format(", ".join(ids)), delay=5)

        group = current.get("security_group")
        if group and group["GroupId"] != keep_group:
            if self.plan.delete("security_group", self.name + "-vpc-endpoints", {"id": group["GroupId"]}):
                with self.cm.doing("deleting security group " + group["GroupId"]):
                    self.ec2.delete_security_group(GroupId=group["GroupId"])

        for role, table in sorted(current["route_tables"].items()):
            if table["RouteTableId"] in keep_tables:
                continue
            if self.plan.delete("route_table", "{0}-rt-{1}".format(self.name, role), {"id": table["RouteTableId"]}):
                with self.cm.doing("deleting route table " + table["RouteTableId"]):
                    for association in table.get("Associations", []):
                        if not association.get("Main") and association.get("RouteTableAssociationId"):
                            self.ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
                    self.ec2.delete_route_table(RouteTableId=table["RouteTableId"])

        gone_nats = [n for n in current["nats"].values() if n["NatGatewayId"] not in keep_nats]
        for nat in gone_nats:
            zone = boto3_tag_list_to_dict(nat.get("Tags")).get(AZ_TAG)
            if self.plan.delete("nat_gateway", "{0}-nat-{1}".format(self.name, zone), {"id": nat["NatGatewayId"]}):
                with self.cm.doing("deleting NAT gateway " + nat["NatGatewayId"]):
                    self.ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
        if gone_nats and not self.check_mode:
            ids = [n["NatGatewayId"] for n in gone_nats]
            # Their Elastic IPs and subnets stay in use until the NAT gateways are gone.
            with self.cm.doing("waiting for NAT gateways {0} to be deleted".format(", ".join(ids))):
                self.clock.waiter(self.ec2, "nat_gateway_deleted", "NAT gateways {0} to be deleted".format(", ".join(ids)),
                                  delay=5, NatGatewayIds=ids)

        kept_zones = set(self.nat_zones()) if self.spec["state"] == "present" else set()
        for zone, address in sorted(current["addresses"].items(), key=lambda item: str(item[0])):
            if zone in kept_zones:
                continue
            if self.plan.delete("elastic_ip", "{0}-nat-{1}-eip".format(self.name, zone),
                                {"allocation_id": address["AllocationId"], "public_ip": address.get("PublicIp")}):
                with self.cm.doing("releasing Elastic IP " + address["AllocationId"]):
                    self.ec2.release_address(AllocationId=address["AllocationId"])

        for (tier, zone), subnet in sorted(current["subnets"].items()):
            if subnet["SubnetId"] in keep_subnets:
                if not self.spec.get("ipv6") and self.subnet_ipv6_cidr(subnet):
                    self.remove_subnet_ipv6(tier, zone, subnet)
                continue
            if self.plan.delete("subnet", "{0}-{1}-{2}".format(self.name, tier, zone), {"id": subnet["SubnetId"], "cidr_block": subnet["CidrBlock"]}):
                with self.cm.doing("deleting subnet " + subnet["SubnetId"]):
                    self.ec2.delete_subnet(SubnetId=subnet["SubnetId"])

        eigw = current.get("eigw")
        if eigw and not self.spec.get("ipv6"):
            eigw_id = eigw["EgressOnlyInternetGatewayId"]
            if self.plan.delete("egress_only_internet_gateway", self.name + "-eigw", {"id": eigw_id}):
                with self.cm.doing("deleting egress-only internet gateway " + eigw_id):
                    self.ec2.delete_egress_only_internet_gateway(EgressOnlyInternetGatewayId=eigw_id)

        if self.spec["state"] == "present" and not self.spec["ipv6"] and self.vpc_ipv6_association():
            association = self.vpc_ipv6_association()
            if self.plan.update("vpc", self.name, {"ipv6_cidr_block": association["Ipv6CidrBlock"]}, {"ipv6_cidr_block": None}):
                with self.cm.doing("removing the IPv6 block of " + self.vpc["VpcId"]):
                    self.ec2.disassociate_vpc_cidr_block(AssociationId=association["AssociationId"])

        if not flow_logs_wanted:
            self.remove_flow_log_dependencies()

    def remove_subnet_ipv6(self, tier, zone, subnet):
        for association in subnet.get("Ipv6CidrBlockAssociationSet", []):
            if association.get("Ipv6CidrBlockState", {}).get("State") in GONE_CIDR_STATES:
                continue
            if self.plan.update("subnet", "{0}-{1}-{2}".format(self.name, tier, zone),
                                {"ipv6_cidr_block": association["Ipv6CidrBlock"]}, {"ipv6_cidr_block": None}):
                with self.cm.doing("removing the IPv6 block of " + subnet["SubnetId"]):
                    self.ec2.disassociate_subnet_cidr_block(AssociationId=association["AssociationId"])

    @staticmethod
    def endpoint_service(endpoint):
        return boto3_tag_list_to_dict(endpoint.get("Tags")).get(ENDPOINT_TAG) or endpoint["ServiceName"].split(".")[-1]

    def endpoints_gone(self, ids):
        try:
            endpoints = self.ec2.describe_vpc_endpoints(VpcEndpointIds=ids).get("VpcEndpoints", [])
        except Exception as exc:
            if error_code(exc) == "InvalidVpcEndpointId.NotFound":
                return True
            raise
        return all(e["State"].lower() == "deleted" for e in endpoints)

    def remove_flow_log_dependencies(self):
        self.log_groups.delete(self.flow_log_group_name())
        self.roles.delete(flow_log_role_name(self.owner.stack))

    def absent(self):
        self.zones = []
        self.vpc = self.find_vpc()
        self.current = self.read_current()
        self.prune()
        igw = self.current.get("igw")
        if igw:
            igw_id = igw["InternetGatewayId"]
            if self.plan.delete("internet_gateway", self.name + "-igw", {"id": igw_id}):
                with self.cm.doing("deleting internet gateway " + igw_id):
                    for attachment in igw.get("Attachments", []):
                        self.ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=attachment["VpcId"])
                    self.ec2.delete_internet_gateway(InternetGatewayId=igw_id)
        if self.vpc:
            vpc_id = self.vpc["VpcId"]
            if self.plan.delete("vpc", self.name, {"id": vpc_id, "cidr_block": self.vpc["CidrBlock"]}):
                with self.cm.doing("deleting VPC {0} (anything left in it is not managed by cairn.platform)".format(vpc_id)):
                    self.ec2.delete_vpc(VpcId=vpc_id)
        return {"waited_seconds": round(self.clock.waited, 1)}

    # ---- result --------------------------------------------------------------------------
    def result(self, vpc_id, igw_id, eigw_id, subnets, nats, tables, endpoints, group_id, flow_log):
        private_tables = [tables[role] for role in sorted(tables) if role.startswith("private-")]
        return {
            "vpc": {"id": vpc_id, "cidr_block": self.spec["cidr_block"],
                    "ipv6_cidr_block": self.vpc_ipv6_cidr() if self.vpc else (UNKNOWN if self.spec["ipv6"] else None),
                    "owner_id": self.vpc.get("OwnerId") if self.vpc else None},
            "availability_zones": self.zones,
            "subnets": subnets,
            "public_subnet_ids": [s["id"] for s in subnets["public"]],
            "private_subnet_ids": [s["id"] for s in subnets["private"]],
            "database_subnet_ids": [s["id"] for s in subnets["database"]],
            "internet_gateway_id": igw_id,
            "egress_only_internet_gateway_id": eigw_id,
            "nat_gateways": [nats[zone] for zone in self.zones if zone in nats],
            "route_table_ids": {"public": tables.get("public"), "private": private_tables, "database": tables.get("database")},
            "vpc_endpoints": endpoints,
            "endpoint_security_group_id": group_id,
            "flow_log": flow_log,
            "waited_seconds": round(self.clock.waited, 1),
        }


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = NetworkConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

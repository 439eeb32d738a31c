"""A VPC with one subnet per zone, made directly with boto3: the fixture of tests whose subject sits on
subnets (databases, caches, clusters, load balancers) while the networking module is tested elsewhere."""

from __future__ import annotations

import ipaddress

import boto3


def vpc_with_subnets(region="us-east-1", cidr="10.70.0.0/16", zones="ab", new_prefix=24, first=0):
    """(vpc id, [subnet id per zone]): the subnets are the /new_prefix blocks of `cidr` from number `first` on,
    one in each zone `<region><letter>` of `zones`."""
    ec2 = boto3.client("ec2", region_name=region)
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    blocks = ipaddress.ip_network(cidr).subnets(new_prefix=new_prefix)
    chosen = [block for index, block in enumerate(blocks) if first <= index < first + len(zones)]
    subnet_ids = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=str(block), AvailabilityZone=region + zone)["Subnet"]["SubnetId"]
                  for block, zone in zip(chosen, zones)]
    return vpc_id, subnet_ids

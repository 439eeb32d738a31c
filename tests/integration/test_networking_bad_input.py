"""Bad input fails with a sentence naming the field, before any API call, and leaves nothing behind."""

from __future__ import annotations

import boto3
import pytest

from support.modules import ModuleFailed, run_module

BASE = dict(environment="test", stack="test-eu-west-1", region="eu-west-1", cidr_block="10.50.0.0/16",
            nat_gateway_mode="single")


def assert_refused(aws_env, args, field, words, allowed_reads=()):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("networking", args)
    message = failure.value.result["msg"]
    assert field in message, message
    for word in words:
        assert word in message, message
    assert [c.operation for c in calls] == list(allowed_reads)
    client = boto3.client("ec2", region_name="eu-west-1")
    assert client.describe_vpcs(Filters=[{"Name": "tag:cairn:stack", "Values": ["test-eu-west-1"]}])["Vpcs"] == []
    assert client.describe_addresses()["Addresses"] == []
    return message


def test_invalid_cidr(aws_env):
    assert_refused(aws_env, dict(BASE, cidr_block="10.50.0.300/16"), "cidr_block", ["not a valid IPv4 network"])


def test_cidr_with_host_bits(aws_env):
    assert_refused(aws_env, dict(BASE, cidr_block="10.50.1.0/16"), "cidr_block", ["host bits"])


def test_vpc_prefix_out_of_aws_range(aws_env):
    assert_refused(aws_env, dict(BASE, cidr_block="10.0.0.0/8"), "cidr_block", ["/16 to /28"])


def test_more_zones_than_the_region_has(aws_env):
    # The zones a region has can only be known by asking it: one read, before any write.
    assert_refused(aws_env, dict(BASE, az_count=4), "az_count", ["eu-west-1 has only 3"],
                   allowed_reads=["DescribeAvailabilityZones"])


def test_more_zones_than_any_region_has(aws_env):
    assert_refused(aws_env, dict(BASE, az_count=7), "az_count", ["between 1 and 6"])


def test_unknown_zone_name(aws_env):
    assert_refused(aws_env, dict(BASE, az_count=1, availability_zones=["eu-west-1z"]), "availability_zones",
                   ["eu-west-1z"], allowed_reads=["DescribeAvailabilityZones"])


def test_overlapping_subnets(aws_env):
    assert_refused(aws_env, dict(BASE, public_subnets=["10.50.0.0/24", "10.50.1.0/24", "10.50.2.0/24"],
                                 private_subnets=["10.50.0.0/20", "10.50.16.0/20", "10.50.32.0/20"],
                                 database_subnets=["10.50.200.0/24", "10.50.201.0/24", "10.50.202.0/24"]),
                   "private_subnets", ["overlaps", "public_subnets"])


def test_subnet_outside_the_vpc(aws_env):
    assert_refused(aws_env, dict(BASE, public_subnets=["10.50.128.0/24", "10.50.129.0/24", "10.99.0.0/24"]),
                   "public_subnets", ["outside", "10.50.0.0/16"])


def test_wrong_number_of_subnets(aws_env):
    assert_refused(aws_env, dict(BASE, database_subnets=["10.50.144.0/24"]), "database_subnets", ["one per zone"])


def test_unknown_nat_mode(aws_env):
    assert_refused(aws_env, dict(BASE, nat_gateway_mode="per_region"), "nat_gateway_mode",
                   ["one_per_az", "single", "none"])


def test_missing_region(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    args = {k: v for k, v in BASE.items() if k != "region"}
    assert_refused(aws_env, args, "region is missing", ["AWS_REGION"])


def test_flow_log_retention_not_accepted_by_cloudwatch(aws_env):
    assert_refused(aws_env, dict(BASE, flow_logs={"retention_days": 45}), "flow_logs.retention_days", ["accepts only"])


def test_gateway_endpoint_aws_does_not_offer(aws_env):
    assert_refused(aws_env, dict(BASE, gateway_endpoints=["s3", "sqs"]), "gateway_endpoints", ["only for s3 and dynamodb"])


def test_reserved_tag_key(aws_env):
    assert_refused(aws_env, dict(BASE, tags={"cairn:stack": "other"}), "tags", ["reserved"])

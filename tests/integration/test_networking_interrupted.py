"""A run interrupted after NAT gateways started creating converges on the next run without duplicates."""

from __future__ import annotations

import boto3
import botocore.client
import pytest

from support.emulator import mutating_calls
from support.modules import ModuleFailed, run_module

ARGS = dict(environment="test", stack="test-us-east-1", cidr_block="10.50.0.0/16", nat_gateway_mode="one_per_az",
            wait_timeout=120)
OWNED = [{"Name": "tag:cairn:stack", "Values": ["test-us-east-1"]}]


class Interrupted(BaseException):
    """Stands in for a killed process: not an Exception, so nothing in the module catches it."""


@pytest.fixture
def interrupt_after(monkeypatch):
    """Make the process 'die' right after the Nth successful call of an operation."""
    def arm(operation, count):
        original = botocore.client.BaseClient._make_api_call
        seen = {"n": 0}

        def make_api_call(self, operation_name, api_params):
            response = original(self, operation_name, api_params)
            if operation_name == operation:
                seen["n"] += 1
                if seen["n"] >= count:
                    raise Interrupted(operation_name)
            return response

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
        return lambda: monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    return arm


def live_nats(client):
    nats = client.describe_nat_gateways(Filters=OWNED)["NatGateways"]
    return [n for n in nats if n["State"] in ("pending", "available")]


@pytest.mark.parametrize("operation,count", [("CreateNatGateway", 2), ("AllocateAddress", 3), ("CreateNatGateway", 3)])
def test_rerun_after_interruption_has_no_duplicate_nat_or_eip(aws_env, interrupt_after, operation, count):
    disarm = interrupt_after(operation, count)
    with pytest.raises(Interrupted):
        run_module("networking", ARGS)
    disarm()
    client = boto3.client("ec2", region_name="us-east-1")
    assert len(live_nats(client)) == (count if operation == "CreateNatGateway" else 2)

    result = run_module("networking", ARGS)
    assert result["changed"] is True
    nats = live_nats(client)
    addresses = client.describe_addresses()["Addresses"]
    assert len(nats) == 3 and len(addresses) == 3
    assert len({n["SubnetId"] for n in nats}) == 3
    assert {n["NatGatewayAddresses"][0]["AllocationId"] for n in nats} == {a["AllocationId"] for a in addresses}
    assert len(client.describe_vpcs(Filters=OWNED)["Vpcs"]) == 1
    assert len(client.describe_subnets(Filters=OWNED)["Subnets"]) == 9

    with aws_env.recording() as calls:
        again = run_module("networking", ARGS)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_failure_midway_reports_the_changes_made_so_far(aws_env, monkeypatch):
    original = botocore.client.BaseClient._make_api_call

    def refuse_routes(self, operation_name, api_params):
        if operation_name == "CreateRoute":
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "RouteLimitExceeded", "Message": "too many routes"}}, operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse_routes)
    with pytest.raises(ModuleFailed) as failure:
        run_module("networking", ARGS)
    message = failure.value.result["msg"]
    assert "CreateRoute" in message and "RouteLimitExceeded" in message and "route table" in message
    assert any(c["resource_type"] == "nat_gateway" for c in failure.value.result["changes"])
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    result = run_module("networking", ARGS)
    client = boto3.client("ec2", region_name="us-east-1")
    assert len(live_nats(client)) == 3 and len(client.describe_route_tables(Filters=OWNED)["RouteTables"]) == 5
    assert result["changed"] is True

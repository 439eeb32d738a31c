"""plugins/module_utils/errors.py (SDK failures as sentences) and waits.py (bounded waits)."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    WaiterError,
)
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import (
    CairnError,
    InputError,
    describe_exception,
    error_code,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")


def client_error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"RequestId": "req-1"}}, operation)


# ---- describe_exception ------------------------------------------------------------------------
def test_client_error_sentence_names_operation_code_message_and_hint():
    exc = client_error("AddressLimitExceeded", "The maximum number of addresses has been reached.", "AllocateAddress")
    sentence, details = describe_exception(exc, "allocating the Elastic IP for nat-a")
    assert "AllocateAddress" in sentence
    assert "allocating the Elastic IP for nat-a" in sentence
    assert "AddressLimitExceeded" in sentence
    assert "The maximum number of addresses has been reached" in sentence
    assert "Elastic IP quota" in sentence  # the hint
    assert sentence.endswith(".") and not sentence.endswith("..")
    assert details == {"error_code": "AddressLimitExceeded", "operation": "AllocateAddress", "request_id": "req-1"}


def test_client_error_without_hint():
    sentence, details = describe_exception(client_error("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist", "DescribeVpcs"),
                                           "reading the stack's VPC")
    assert sentence == ("AWS refused DescribeVpcs while reading the stack's VPC: InvalidVpcID.NotFound: "
                        "The vpc ID 'vpc-1' does not exist.")
    assert details["error_code"] == "InvalidVpcID.NotFound"


@pytest.mark.parametrize("code", ["UnauthorizedOperation", "AccessDenied", "RequestLimitExceeded", "DependencyViolation"])
def test_hints_for_codes_whose_message_leaves_the_user_guessing(code):
    sentence = describe_exception(client_error(code, "nope", "CreateVpc"), "creating the VPC")[0]
    assert "(" in sentence and ")" in sentence


def test_no_credentials():
    sentence, details = describe_exception(NoCredentialsError(), "reading the stack's VPC")
    assert "credentials" in sentence.lower()
    assert "reading the stack's VPC" in sentence
    assert details == {"error_code": "NoCredentials"}


def test_endpoint_connection_error_names_the_url_and_the_option():
    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")
    sentence, details = describe_exception(exc, "reading subnets")
    assert "http://127.0.0.1:1/" in sentence
    assert "endpoint_url" in sentence
    assert "reading subnets" in sentence
    assert details == {"error_code": "EndpointConnectionError"}


def test_profile_not_found():
    sentence, details = describe_exception(ProfileNotFound(profile="ghost"), "connecting")
    assert "ghost" in sentence
    assert details["error_code"] == "ProfileNotFound"


def test_cairn_error_passes_through():
    exc = InputError("cidr_block: bad.", field="cidr_block")
    assert describe_exception(exc, "anything") == ("cidr_block: bad.", {"field": "cidr_block"})


def test_unexpected_error():
    sentence, details = describe_exception(KeyError("VpcId"), "creating the VPC")
    assert sentence.startswith("Unexpected error while creating the VPC: KeyError")
    assert details == {}


def test_error_code():
    assert error_code(client_error("NoSuchEntity", "x", "GetRole")) == "NoSuchEntity"
    assert error_code(ValueError("x")) is None


# ---- WaitClock.poll ----------------------------------------------------------------------------
def test_poll_returns_the_first_truthy_value():
    clock = WaitClock(10)
    answers = iter([None, 0, "ready"])
    assert clock.poll(lambda: next(answers), "thing", delay=0.001) == "ready"
    assert clock.waited > 0


def test_poll_timeout_raises_cairn_error_quickly():
    clock = WaitClock(0.05)
    calls = []
    started = time.monotonic()
    with pytest.raises(CairnError) as err:
        clock.poll(lambda: calls.append(1), "the IPv6 block of vpc-1", delay=0.01)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert len(calls) >= 1
    assert "the IPv6 block of vpc-1" in err.value.message
    assert "wait_timeout" in err.value.message
    assert err.value.details == {"waited_for": "the IPv6 block of vpc-1"}
    assert clock.waited >= 0.04


def test_poll_with_zero_timeout_probes_once_then_gives_up():
    clock = WaitClock(0)
    calls = []
    with pytest.raises(CairnError):
        clock.poll(lambda: calls.append(1), "x", delay=5)
    assert calls == [1]


def test_waited_accumulates_over_waits():
    clock = WaitClock(0.2)
    with pytest.raises(CairnError):
        clock.poll(lambda: False, "first", delay=0.01)
    first = clock.waited
    assert first > 0
    with pytest.raises(CairnError):
        clock.poll(lambda: False, "second", delay=0.01)
    assert clock.waited >= first
    assert clock.remaining() == 0.0


# ---- WaitClock.waiter with a Stubber -------------------------------------------------------------
@pytest.fixture
def ec2():
    return boto3.session.Session(region_name="us-east-1", aws_access_key_id="testing",
                                 aws_secret_access_key="testing").client("ec2")


def nat(state):
    return {"NatGateways": [{"NatGatewayId": "nat-0123456789abcdef0", "State": state, "SubnetId": "subnet-1",
                             "VpcId": "vpc-1"}]}


def test_waiter_returns_when_available(ec2):
    clock = WaitClock(600)
    with Stubber(ec2) as stub:
        stub.add_response("describe_nat_gateways", nat("available"), {"NatGatewayIds": ["nat-0123456789abcdef0"]})
        clock.waiter(ec2, "nat_gateway_available", "NAT gateways nat-0123456789abcdef0", delay=5,
                     NatGatewayIds=["nat-0123456789abcdef0"])
        stub.assert_no_pending_responses()
    assert clock.waited >= 0
    assert clock.waited < 1


def test_waiter_timeout_raises_cairn_error_naming_what(ec2):
    clock = WaitClock(0)  # one attempt only
    with Stubber(ec2) as stub:
        stub.add_response("describe_nat_gateways", nat("pending"), {"NatGatewayIds": ["nat-0123456789abcdef0"]})
        with pytest.raises(CairnError) as err:
            clock.waiter(ec2, "nat_gateway_available", "NAT gateways nat-0123456789abcdef0", delay=5,
                         NatGatewayIds=["nat-0123456789abcdef0"])
        stub.assert_no_pending_responses()
    assert not isinstance(err.value, WaiterError)
    assert "NAT gateways nat-0123456789abcdef0" in err.value.message
    assert "wait_timeout" in err.value.message
    assert err.value.details == {"waited_for": "NAT gateways nat-0123456789abcdef0"}


def test_waiter_attempts_fit_the_remaining_time():
    clock = WaitClock(12)
    seen = {}

    class Recorder:
        def get_waiter(self, name):
            seen["name"] = name
            return self

        def wait(self, **kwargs):
            seen.update(kwargs)

    clock.waiter(Recorder(), "vpc_available", "VPC vpc-1", delay=5, VpcIds=["vpc-1"])
    assert seen["name"] == "vpc_available"
    assert seen["WaiterConfig"]["Delay"] == 5
    assert seen["WaiterConfig"]["MaxAttempts"] == 3  # ceil(~12 / 5)
    assert seen["VpcIds"] == ["vpc-1"]


def test_waiter_terminal_failure_is_not_reported_as_a_timeout(ec2):
    clock = WaitClock(600)
    with Stubber(ec2) as stub:
        stub.add_response("describe_nat_gateways", nat("failed"), {"NatGatewayIds": ["nat-0123456789abcdef0"]})
        with pytest.raises(CairnError) as err:
            clock.waiter(ec2, "nat_gateway_available", "NAT gateways nat-0123456789abcdef0", delay=5,
                         NatGatewayIds=["nat-0123456789abcdef0"])
    assert "Timed out" not in err.value.message

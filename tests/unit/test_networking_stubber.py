"""NetworkConverger paths the emulator models wrongly or not at all, driven by botocore Stubber.

Stubber checks every request against the real EC2 API model (and the expected parameters), and
every canned response against the model's output shape, without any network traffic.
"""

from __future__ import annotations

import re

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.iam import RoleState
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.tags import tag_specifications
from ansible_collections.cairn.platform.plugins.modules.networking import (
    flow_log_role_name,
    ARGUMENT_SPEC,
    COMPONENT,
    NetworkConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

SUBNET = "subnet-0123456789abcdef0"
ALLOCATION = "eipalloc-0123456789abcdef0"
VPC = "vpc-0123456789abcdef0"
DEAD_NAT = "nat-0dead0000000000000"
NEW_NAT = "nat-0a1b2c3d4e5f60718"


def make_converger(**args):
    """The converger of a real CairnModule (AnsibleModule parsing the module's own argument spec)."""
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", cidr_block="10.40.0.0/16",
                       access_key="testing", secret_key="testing", _ansible_check_mode=False, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = NetworkConverger(cm, build_spec(cm.params))
    # The converger's ec2 client is the connection's cached one: stubbing it stubs the converger.
    assert converger.ec2 is cm.connection.client("ec2")
    return converger


def nat_response(nat_id, state, token):
    return {
        "ClientToken": token,
        "NatGateway": {
            "NatGatewayId": nat_id,
            "State": state,
            "SubnetId": SUBNET,
            "VpcId": VPC,
            "ConnectivityType": "public",
            "NatGatewayAddresses": [{"AllocationId": ALLOCATION}],
        },
    }


def nat_request(tags, token):
    return {"SubnetId": SUBNET, "AllocationId": ALLOCATION, "ConnectivityType": "public", "ClientToken": token,
            "TagSpecifications": tag_specifications("natgateway", tags)}


# ---- (1) CreateNatGateway: born tagged, with a token that is fresh for every run -----------------
def test_create_nat_gateway_is_tagged_and_carries_this_runs_token():
    converger = make_converger()
    tags = converger.tags_for("nat-us-east-1a", **{"cairn:az": "us-east-1a"})
    token = converger.token(SUBNET, ALLOCATION, "nat")
    with Stubber(converger.ec2) as stub:
        stub.add_response("create_nat_gateway", nat_response(NEW_NAT, "pending", token), nat_request(tags, token))
        nat = converger.create_nat_gateway("prod-us-east-1-nat-us-east-1a", SUBNET, ALLOCATION, tags)
        stub.assert_no_pending_responses()
    assert nat["NatGatewayId"] == NEW_NAT


def test_tokens_are_stable_within_a_run_and_fresh_across_runs():
    first = make_converger()
    second = make_converger()
    assert first.token(SUBNET, ALLOCATION, "nat") == first.token(SUBNET, ALLOCATION, "nat")
    assert first.token(SUBNET, ALLOCATION, "nat") != second.token(SUBNET, ALLOCATION, "nat")
    assert len(first.token(SUBNET, ALLOCATION, "nat")) <= 64


def test_create_nat_gateway_failure_is_a_sentence_naming_the_nat():
    converger = make_converger()
    tags = converger.tags_for("nat-us-east-1a")
    with Stubber(converger.ec2) as stub:
        stub.add_client_error("create_nat_gateway", service_error_code="NatGatewayLimitExceeded",
                              service_message="The maximum number of NAT gateways has been reached.")
        with pytest.raises(CairnError) as err:
            converger.create_nat_gateway("prod-us-east-1-nat-us-east-1a", SUBNET, ALLOCATION, tags)
    assert "CreateNatGateway" in err.value.message
    assert "prod-us-east-1-nat-us-east-1a" in err.value.message
    assert "quota" in err.value.message
    assert err.value.details["error_code"] == "NatGatewayLimitExceeded"


# ---- (2) DescribeVpcEndpointServices answers InvalidServiceName ----------------------------------
def prepare_preflight(converger):
    """State as after the reads of a first run: no VPC yet, nothing of the stack exists."""
    converger.zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    converger.vpc = None
    converger.current = {"subnets": {}, "nats": {}, "addresses": {}, "route_tables": {}, "endpoints": {},
                         "security_group": None, "flow_log": None, "igw": None, "eigw": None}
    # The flow-log log group and role were read as absent (the readers remember what they read).
    converger.log_groups._read[converger.flow_log_group_name()] = (None, {})
    converger.roles._read[flow_log_role_name("prod-us-east-1")] = RoleState()


def test_unknown_interface_endpoint_service_is_refused_naming_interface_endpoints():
    converger = make_converger(interface_endpoints=["nosuchsvc"])
    prepare_preflight(converger)
    with Stubber(converger.ec2) as stub:
        stub.add_client_error(
            "describe_vpc_endpoint_services", service_error_code="InvalidServiceName",
            service_message="The Vpc Endpoint Service 'com.amazonaws.us-east-1.nosuchsvc' does not exist",
            expected_params={"ServiceNames": ["com.amazonaws.us-east-1.nosuchsvc"]},
        )
        with pytest.raises(CairnError) as err:
            converger.preflight()
        stub.assert_no_pending_responses()
    assert "interface_endpoints" in err.value.message
    assert "nosuchsvc" in err.value.message
    assert "us-east-1" in err.value.message
    assert converger.plan.changes == []  # refused before any write was planned


def test_known_interface_endpoint_services_pass_preflight():
    converger = make_converger(interface_endpoints=["logs", "ecr.api"])
    prepare_preflight(converger)
    names = ["com.amazonaws.us-east-1.logs", "com.amazonaws.us-east-1.ecr.api"]
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_vpc_endpoint_services", {"ServiceNames": sorted(names), "ServiceDetails": []},
                          {"ServiceNames": names})
        converger.preflight()
        stub.assert_no_pending_responses()


def test_endpoint_missing_from_the_answer_is_refused():
    converger = make_converger(interface_endpoints=["logs", "ecr.api"])
    prepare_preflight(converger)
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_vpc_endpoint_services", {"ServiceNames": ["com.amazonaws.us-east-1.logs"]},
                          {"ServiceNames": ["com.amazonaws.us-east-1.logs", "com.amazonaws.us-east-1.ecr.api"]})
        with pytest.raises(CairnError) as err:
            converger.preflight()
    assert "interface_endpoints" in err.value.message
    assert "ecr.api" in err.value.message
    assert not re.search(r"\blogs\b", err.value.message)


def test_existing_endpoints_are_not_looked_up_again():
    converger = make_converger(interface_endpoints=["logs"])
    prepare_preflight(converger)
    converger.current["endpoints"]["logs"] = {"VpcEndpointId": "vpce-1", "ServiceName": "com.amazonaws.us-east-1.logs"}
    with Stubber(converger.ec2):  # any API call would fail: nothing is queued
        converger.preflight()


def test_other_errors_of_the_lookup_become_a_sentence():
    converger = make_converger(interface_endpoints=["logs"])
    prepare_preflight(converger)
    with Stubber(converger.ec2) as stub:
        stub.add_client_error("describe_vpc_endpoint_services", service_error_code="UnauthorizedOperation",
                              service_message="You are not authorized to perform this operation.")
        with pytest.raises(CairnError) as err:
            converger.preflight()
    assert "DescribeVpcEndpointServices" in err.value.message
    assert "checking the interface endpoint services exist" in err.value.message
    assert err.value.details["error_code"] == "UnauthorizedOperation"


def answer_endpoint_services_like_aws(client, known):
    """Answer DescribeVpcEndpointServices as AWS does, whatever the batching: one unknown name fails the call.

    The request is still validated against the API model (that happens before `before-call`).
    """
    calls = []

    def remember(params, context, **_):
        # before-call only sees the serialized request; keep the API parameters for it.
        context["service_names"] = list(params.get("ServiceNames", []))

    def answer(context, **_):
        names = context["service_names"]
        calls.append(names)
        unknown = [name for name in names if name not in known]
        if unknown:
            body = {"Error": {"Code": "InvalidServiceName",
                              "Message": "The Vpc Endpoint Service '{0}' does not exist".format(unknown[0])},
                    "ResponseMetadata": {"HTTPStatusCode": 400}}
            return _FakeHttp(400), body
        return _FakeHttp(200), {"ServiceNames": sorted(names), "ServiceDetails": [],
                                "ResponseMetadata": {"HTTPStatusCode": 200}}

    client.meta.events.register("before-parameter-build.ec2.DescribeVpcEndpointServices", remember)
    client.meta.events.register("before-call.ec2.DescribeVpcEndpointServices", answer)
    return calls


class _FakeHttp:
    def __init__(self, status_code):
        self.status_code = status_code
        self.headers = {}


def test_fake_endpoint_services_answer_like_aws():
    converger = make_converger(interface_endpoints=["logs", "nosuchsvc"])
    calls = answer_endpoint_services_like_aws(converger.ec2, {"com.amazonaws.us-east-1.logs"})
    assert converger.ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.logs"])["ServiceNames"] == [
        "com.amazonaws.us-east-1.logs"]
    with pytest.raises(Exception) as err:
        converger.ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.nosuchsvc"])
    assert err.value.response["Error"]["Code"] == "InvalidServiceName"
    with pytest.raises(Exception) as err:
        converger.ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.logs", "com.amazonaws.us-east-1.nosuchsvc"])
    assert "nosuchsvc" in err.value.response["Error"]["Message"]
    assert calls == [["com.amazonaws.us-east-1.logs"], ["com.amazonaws.us-east-1.nosuchsvc"],
                     ["com.amazonaws.us-east-1.logs", "com.amazonaws.us-east-1.nosuchsvc"]]


def test_invalid_service_name_blames_only_the_unknown_service():
    converger = make_converger(interface_endpoints=["logs", "nosuchsvc"])
    prepare_preflight(converger)
    answer_endpoint_services_like_aws(converger.ec2, {"com.amazonaws.us-east-1.logs"})
    with pytest.raises(CairnError) as err:
        converger.preflight()
    assert "interface_endpoints" in err.value.message
    assert "nosuchsvc" in err.value.message
    assert not re.search(r"\blogs\b", err.value.message), err.value.message

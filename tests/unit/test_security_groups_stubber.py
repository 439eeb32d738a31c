"""security_groups paths the emulator models wrongly or not at all, driven by botocore Stubber.

moto accepts deleting a referenced group (AWS answers DependencyViolation), does not update the
description of a rule that references a group nor remove a description, and fails on protocol
numbers. Stubber checks every request against the real EC2 API model.
"""

from __future__ import annotations


import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.security_groups import (
    ARGUMENT_SPEC,
    COMPONENT,
    SecurityGroupConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

VPC = "vpc-0123456789abcdef0"
APP = "sg-0aaaaaaaaaaaaaaa1"
DB = "sg-0bbbbbbbbbbbbbbb2"
ACCOUNT = "123456789012"
STACK = "prod-us-east-1"


def make_converger(**args):
    module_args = dict(environment="prod", stack=STACK, region="us-east-1", vpc_id=VPC,
                       access_key="testing", secret_key="testing", _ansible_check_mode=False, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = SecurityGroupConverger(cm, build_spec(cm.params))
    assert converger.ec2 is cm.connection.client("ec2")
    return cm, converger


def owned_tags(name):
    return [{"Key": "Name", "Value": name}, {"Key": "cairn:component", "Value": COMPONENT},
            {"Key": "cairn:environment", "Value": "prod"}, {"Key": "cairn:managed-by", "Value": "cairn.platform"},
            {"Key": "cairn:stack", "Value": STACK}]


def group(group_id, name, ingress=(), egress=(), description=None):
    return {"GroupId": group_id, "GroupName": STACK + "-" + name, "VpcId": VPC, "OwnerId": ACCOUNT,
            "Description": description or "{0} of {1} (cairn.platform)".format(name, STACK),
            "IpPermissions": list(ingress), "IpPermissionsEgress": list(egress), "Tags": owned_tags(STACK + "-" + name)}


def read_request(cm):
    filters = [{"Name": "vpc-id", "Values": [VPC]}] + cm.ownership().filters()
    return {"Filters": filters}


def app_to_db(description=None):
    pair = {"GroupId": APP, "UserId": ACCOUNT}
    if description:
        pair["Description"] = description
    return {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [pair]}


def test_dependency_violation_on_delete_is_a_sentence_naming_the_group():
    cm, converger = make_converger(state="absent")
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [group(DB, "db", ingress=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])]},
            read_request(cm))
        # Nothing used the group when the module looked ...
        for name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
            stub.add_response("describe_security_groups", {"SecurityGroups": []}, {"Filters": [{"Name": name, "Values": [DB]}]})
        stub.add_response("describe_network_interfaces", {"NetworkInterfaces": []},
                          {"Filters": [{"Name": "group-id", "Values": [DB]}]})
        stub.add_response("revoke_security_group_ingress", {"Return": True}, {"GroupId": DB, "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]})
        # ... and something did by the time of the delete.
        stub.add_client_error("delete_security_group", service_error_code="DependencyViolation",
                              service_message="resource {0} has a dependent object".format(DB), http_status_code=400,
                              expected_params={"GroupId": DB})
        with pytest.raises(CairnError) as err:
            converger.absent()
        stub.assert_no_pending_responses()
    message = err.value.message
    assert "prod-us-east-1-db ({0})".format(DB) in message
    assert "DependencyViolation: resource {0} has a dependent object".format(DB) in message
    assert "describe-network-interfaces" in message and "its rules are already removed" in message
    assert err.value.details == {"error_code": "DependencyViolation", "group_id": DB}
    assert [c["action"] for c in cm.plan.changes] == ["delete"]


def test_other_delete_errors_keep_the_sdk_sentence():
    cm, converger = make_converger(state="absent")
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [group(DB, "db")]}, read_request(cm))
        stub.add_response("describe_security_groups", {"SecurityGroups": []})
        stub.add_response("describe_security_groups", {"SecurityGroups": []})
        stub.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
        stub.add_client_error("delete_security_group", service_error_code="UnauthorizedOperation",
                              service_message="You are not authorized to perform this operation.")
        with pytest.raises(CairnError) as err:
            converger.absent()
    assert "deleting security group prod-us-east-1-db" in err.value.message
    assert err.value.details["error_code"] == "UnauthorizedOperation"


def test_interfaces_using_a_group_stop_the_delete_before_any_write():
    cm, converger = make_converger(state="absent")
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [group(DB, "db")]}, read_request(cm))
        stub.add_response("describe_security_groups", {"SecurityGroups": []})
        stub.add_response("describe_security_groups", {"SecurityGroups": []})
        stub.add_response("describe_network_interfaces", {"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-0123456789abcdef0", "Description": "RDS Network Interface"}]})
        with pytest.raises(CairnError) as err:
            converger.absent()
        stub.assert_no_pending_responses()
    assert "eni-0123456789abcdef0 (RDS Network Interface)" in err.value.message
    assert "Nothing was changed" in err.value.message
    assert cm.plan.changes == []


def present_args(db_ingress):
    return dict(groups=[{"name": "app", "description": "app of {0} (cairn.platform)".format(STACK)},
                        {"name": "db", "ingress": db_ingress}])


def test_description_of_a_rule_referring_to_a_group_is_updated_in_place():
    cm, converger = make_converger(**present_args([{"ports": 5432, "group": "app", "description": "PostgreSQL"}]))
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [
            group(APP, "app"), group(DB, "db", ingress=[app_to_db("old")])]}, read_request(cm))
        stub.add_response("update_security_group_rule_descriptions_ingress", {"Return": True},
                          {"GroupId": DB, "IpPermissions": [app_to_db("PostgreSQL")]})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes == [{"action": "update", "resource_type": "security_group", "resource": STACK + "-db",
                                "fields": {"ingress": {"before": ["tcp:5432 group:app (old)"],
                                                       "after": ["tcp:5432 group:app (PostgreSQL)"]}}}]
    assert result["groups"]["db"]["arn"] == "arn:aws:ec2:us-east-1:{0}:security-group/{1}".format(ACCOUNT, DB)


def test_a_description_is_removed_by_updating_without_one():
    cm, converger = make_converger(**present_args([{"ports": 5432, "group": "app"}]))
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [
            group(APP, "app"), group(DB, "db", ingress=[app_to_db("old")])]}, read_request(cm))
        stub.add_response("update_security_group_rule_descriptions_ingress", {"Return": True},
                          {"GroupId": DB, "IpPermissions": [app_to_db()]})
        converger.present()
        stub.assert_no_pending_responses()


def test_a_protocol_number_is_sent_as_aws_expects():
    cm, converger = make_converger(**present_args([{"protocol": "50", "cidr_ipv4": "10.0.0.0/16", "description": "ESP"}]))
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [group(APP, "app"), group(DB, "db")]}, read_request(cm))
        stub.add_response("authorize_security_group_ingress", {"Return": True}, {"GroupId": DB, "IpPermissions": [
            {"IpProtocol": "50", "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "ESP"}]}]})
        converger.present()
        stub.assert_no_pending_responses()


def test_check_mode_plans_the_same_without_writing():
    cm, converger = make_converger(_ansible_check_mode=True, **present_args([{"ports": 5432, "group": "app"}]))
    with Stubber(converger.ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [
            group(APP, "app"), group(DB, "db", ingress=[app_to_db("old")])]}, read_request(cm))
        converger.present()
        stub.assert_no_pending_responses()
    assert [c["resource"] for c in cm.plan.changes] == [STACK + "-db"]

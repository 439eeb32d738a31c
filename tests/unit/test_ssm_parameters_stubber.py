"""ssm_parameters paths the emulator cannot show, driven by botocore Stubber.

AWS lists a new parameter (and new tags) in DescribeParameters with a delay, while
GetParametersByPath already returns it; moto answers both at once. Stubber checks every request
against the real SSM API model, so the create/overwrite requests below are also checked for
AWS's rule that Tags and Overwrite=True never travel together.
"""

from __future__ import annotations

import datetime

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.tags import dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.modules.ssm_parameters import (
    ARGUMENT_SPEC,
    COMPONENT,
    SsmParametersConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

PATH = "/cairn/prod/us-east-1/"
NAME = PATH + "rds/endpoint"
OWNERSHIP = {"cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": COMPONENT,
             "cairn:managed-by": "cairn.platform"}
OWNED_FILTERS = [{"Key": "Path", "Option": "Recursive", "Values": ["/cairn/prod/us-east-1"]}] + [
    {"Key": "tag:" + key, "Option": "Equals", "Values": [value]} for key, value in sorted(OWNERSHIP.items())]


def make_converger(parameters, check_mode=False):
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", path=PATH, parameters=parameters,
                       access_key="testing", secret_key="testing", _ansible_check_mode=check_mode, _ansible_diff=False)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = SsmParametersConverger(cm, build_spec(cm.params, cm.connection.region, cm.partition()))
    assert converger.ssm is cm.client("ssm")  # stubbing the cached client stubs the converger
    return cm, converger


def by_path(*parameters):
    return {"Parameters": [{"Name": name, "Type": "String", "Value": value, "Version": version,
                            "LastModifiedDate": datetime.datetime(2026, 1, 1), "DataType": "text"}
                           for name, value, version in parameters]}


def queue_reads(stub, parameters, owned):
    stub.add_response("get_parameters_by_path", by_path(*parameters),
                      {"Path": PATH, "Recursive": True, "WithDecryption": False})
    stub.add_response("describe_parameters", {"Parameters": [
        {"Name": name, "Type": "String", "Version": 1, "Tier": "Standard"} for name in owned]},
        {"ParameterFilters": OWNED_FILTERS})


def test_parameter_not_yet_listed_as_ours_is_confirmed_by_its_tags_and_updated():
    cm, converger = make_converger({"rds/endpoint": "new.example"})
    with Stubber(converger.ssm) as stub:
        queue_reads(stub, [(NAME, "old.example", 1)], owned=[])
        stub.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNERSHIP)},
                          {"ResourceType": "Parameter", "ResourceId": NAME})
        stub.add_response("put_parameter", {"Version": 2, "Tier": "Standard"},
                          {"Name": NAME, "Value": "new.example", "Type": "String", "Tier": "Standard", "Overwrite": True})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource"], c["fields"]) for c in cm.plan.changes] == [
        ("update", NAME, {"value": {"before": "old.example", "after": "new.example"}})]
    assert result["parameters"]["rds/endpoint"] == {"name": NAME, "value": "new.example", "version": 2, "type": "String"}


def test_parameter_not_listed_as_ours_and_untagged_is_refused_before_any_write():
    _cm, converger = make_converger({"rds/endpoint": "new.example"})
    with Stubber(converger.ssm) as stub:
        queue_reads(stub, [(NAME, "old.example", 1)], owned=[])
        stub.add_response("list_tags_for_resource", {"TagList": []}, {"ResourceType": "Parameter", "ResourceId": NAME})
        with pytest.raises(CairnError, match="parameters.rds/endpoint: .* without the ownership tags"):
            converger.present()
        stub.assert_no_pending_responses()


def test_create_carries_tags_and_no_overwrite():
    cm, converger = make_converger({"rds/endpoint": {"value": "db.example", "description": "writer endpoint"}})
    with Stubber(converger.ssm) as stub:
        stub.add_response("get_parameters_by_path", {"Parameters": []},
                          {"Path": PATH, "Recursive": True, "WithDecryption": False})
        stub.add_response("put_parameter", {"Version": 1, "Tier": "Standard"},
                          {"Name": NAME, "Value": "db.example", "Type": "String", "Tier": "Standard",
                           "Description": "writer endpoint", "Tags": dict_to_boto3_tag_list(OWNERSHIP)})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert cm.plan.changes[0]["action"] == "create"
    assert result["parameters"]["rds/endpoint"]["version"] == 1


def test_overwrite_resends_the_description_it_does_not_manage():
    # Unset description means "leave it": the overwrite carries the current one, so it cannot be lost.
    _cm, converger = make_converger({"rds/endpoint": "new.example"})
    with Stubber(converger.ssm) as stub:
        stub.add_response("get_parameters_by_path", by_path((NAME, "old.example", 4)),
                          {"Path": PATH, "Recursive": True, "WithDecryption": False})
        stub.add_response("describe_parameters", {"Parameters": [
            {"Name": NAME, "Type": "String", "Version": 4, "Tier": "Standard", "Description": "set by hand"}]},
            {"ParameterFilters": OWNED_FILTERS})
        stub.add_response("put_parameter", {"Version": 5, "Tier": "Standard"},
                          {"Name": NAME, "Value": "new.example", "Type": "String", "Tier": "Standard", "Overwrite": True,
                           "Description": "set by hand"})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert result["parameters"]["rds/endpoint"]["version"] == 5

"""The ssm_parameters module against the local emulator: publish, rerun, check mode, update, purge, refusals.

Calls are counted by the emulator's recorder, from outside the module.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

PATH = "/cairn/test/us-east-1/"
ENDPOINT = "test-db.cluster-abc.us-east-1.rds.amazonaws.com"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cairn/test/rds-master-AbCdEf"
PARAMETERS = {
    "rds/endpoint": ENDPOINT,
    "rds/port": 5432,
    "rds/master_secret_arn": {"value": SECRET_ARN, "description": "Secrets Manager ARN of the master password"},
    "s3/buckets": {"type": "StringList", "value": ["test-uploads", "test-assets"]},
}
BASE = dict(environment="test", stack="test-us-east-1", path=PATH, parameters=PARAMETERS)
OWNERSHIP = {"cairn:environment": "test", "cairn:stack": "test-us-east-1", "cairn:component": "ssm_parameters",
             "cairn:managed-by": "cairn.platform"}


def ssm():
    return boto3.client("ssm", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def stored():
    """{full name: (value, type, version)} of everything under PATH."""
    found = ssm().get_paginator("get_parameters_by_path").paginate(Path=PATH, Recursive=True)
    return {p["Name"]: (p["Value"], p["Type"], p["Version"]) for page in found for p in page["Parameters"]}


def tags_of(name):
    return {t["Key"]: t["Value"] for t in ssm().list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]}


def put_foreign(name, value="theirs", **kwargs):
    ssm().put_parameter(Name=PATH + name, Value=value, Type=kwargs.pop("Type", "String"), **kwargs)


def refused(aws_env, args, check_mode=False):
    before = stored()
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("ssm_parameters", args, check_mode=check_mode)
    assert mutating_calls(calls) == []
    assert stored() == before
    return failure.value.result["msg"], calls


@pytest.fixture
def published(aws_env):
    result = run_module("ssm_parameters", dict(BASE, tags={"owner": "platform"}))
    assert result["changed"] is True
    return result


def test_check_mode_plans_every_create_and_the_real_run_does_exactly_that(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("ssm_parameters", BASE, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    # An empty path answers in one read; ownership is only asked about when there is something to own.
    assert count_by_operation(calls) == {"ssm:GetParametersByPath": 1}
    assert stored() == {}
    assert planned["changed"] is True
    assert planned["parameters"]["rds/endpoint"]["version"] == "(known after apply)"
    assert planned["diff"]["after"]["ssm_parameter/" + PATH + "rds/port"]["value"] == "5432"

    with aws_env.recording() as calls:
        applied = run_module("ssm_parameters", BASE)
    assert plan_keys(planned) == plan_keys(applied) == [("create", "ssm_parameter", PATH + name) for name in sorted(PARAMETERS)]
    assert count_by_operation(mutating_calls(calls)) == {"ssm:PutParameter": 4}
    assert stored() == {
        PATH + "rds/endpoint": (ENDPOINT, "String", 1),
        PATH + "rds/port": ("5432", "String", 1),
        PATH + "rds/master_secret_arn": (SECRET_ARN, "String", 1),
        PATH + "s3/buckets": ("test-uploads,test-assets", "StringList", 1),
    }
    assert applied["parameters"]["rds/port"] == {"name": PATH + "rds/port", "value": "5432", "version": 1, "type": "String"}
    assert applied["path"] == PATH
    # Born tagged: a run interrupted after a create still leaves a parameter the next run recognises.
    assert tags_of(PATH + "rds/endpoint") == OWNERSHIP
    described = ssm().describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [PATH + "rds/master_secret_arn"]}])
    assert described["Parameters"][0]["Description"] == "Secrets Manager ARN of the master password"
    assert described["Parameters"][0]["Tier"] == "Standard"


def test_rerun_changes_nothing_with_reads_only(published, aws_env):
    with aws_env.recording() as calls:
        result = run_module("ssm_parameters", dict(BASE, tags={"owner": "platform"}))
    assert result["changed"] is False and result["changes"] == []
    assert mutating_calls(calls) == []
    # One page of values, one of ownership, and (because `tags` is set) the tags of each published parameter.
    assert count_by_operation(calls) == {"ssm:GetParametersByPath": 1, "ssm:DescribeParameters": 1,
                                         "ssm:ListTagsForResource": 4}
    assert result["parameters"] == published["parameters"]


def test_rerun_without_tags_reads_no_tags(published, aws_env):
    with aws_env.recording() as calls:
        result = run_module("ssm_parameters", BASE)
    assert result["changed"] is False
    assert count_by_operation(calls) == {"ssm:GetParametersByPath": 1, "ssm:DescribeParameters": 1}


def test_check_mode_on_published_path_plans_nothing(published, aws_env):
    with aws_env.recording() as calls:
        result = run_module("ssm_parameters", dict(BASE, tags={"owner": "platform"}), check_mode=True)
    assert mutating_calls(calls) == [] and result["changed"] is False


def test_update_add_and_purge_plan_equals_run(published, aws_env):
    put_foreign("legacy/untagged")
    other_stack = dict(OWNERSHIP, **{"cairn:stack": "test-us-west-2"})
    put_foreign("other-stack/endpoint", Tags=[{"Key": k, "Value": v} for k, v in other_stack.items()])
    changed = dict(PARAMETERS)
    changed["rds/endpoint"] = "new-" + ENDPOINT
    changed["rds/master_secret_arn"] = {"value": SECRET_ARN, "description": "rotated"}
    changed["redis/port"] = "6379"
    del changed["s3/buckets"]
    args = dict(BASE, parameters=changed, tags={"owner": "platform"})

    with aws_env.recording() as calls:
        planned = run_module("ssm_parameters", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["parameters"]["rds/endpoint"]["version"] == "(known after apply)"
    assert planned["parameters"]["rds/port"]["version"] == 1

    with aws_env.recording() as calls:
        applied = run_module("ssm_parameters", args, diff=True)
    assert plan_keys(planned) == plan_keys(applied) == sorted([
        ("update", "ssm_parameter", PATH + "rds/endpoint"),
        ("update", "ssm_parameter", PATH + "rds/master_secret_arn"),
        ("create", "ssm_parameter", PATH + "redis/port"),
        ("delete", "ssm_parameter", PATH + "s3/buckets"),
    ])
    assert count_by_operation(mutating_calls(calls)) == {"ssm:PutParameter": 3, "ssm:DeleteParameters": 1}
    update = next(c for c in applied["changes"] if c["resource"] == PATH + "rds/endpoint")
    assert update["fields"] == {"value": {"before": ENDPOINT, "after": "new-" + ENDPOINT}}
    description = next(c for c in applied["changes"] if c["resource"] == PATH + "rds/master_secret_arn")
    assert description["fields"] == {"description": {"before": "Secrets Manager ARN of the master password", "after": "rotated"}}
    assert applied["parameters"]["rds/endpoint"]["version"] == 2

    now = stored()
    assert now[PATH + "rds/endpoint"] == ("new-" + ENDPOINT, "String", 2)
    assert now[PATH + "rds/port"][2] == 1  # untouched: no new version
    assert PATH + "s3/buckets" not in now
    # Neither the untagged parameter nor another stack's is ever touched by purge.
    assert now[PATH + "legacy/untagged"] == ("theirs", "String", 1)
    assert now[PATH + "other-stack/endpoint"] == ("theirs", "String", 1)

    assert run_module("ssm_parameters", args)["changed"] is False


def test_purge_false_keeps_unlisted_parameters(published, aws_env):
    args = dict(BASE, parameters={"rds/endpoint": ENDPOINT}, purge=False, tags={"owner": "platform"})
    with aws_env.recording() as calls:
        result = run_module("ssm_parameters", args)
    assert result["changed"] is False and mutating_calls(calls) == []
    assert len(stored()) == 4


def test_tag_changes_go_through_the_tagging_calls_never_with_overwrite(published, aws_env):
    args = dict(BASE, tags={"team": "data"})
    with aws_env.recording() as calls:
        result = run_module("ssm_parameters", args)
    assert count_by_operation(mutating_calls(calls)) == {"ssm:AddTagsToResource": 4, "ssm:RemoveTagsFromResource": 4}
    assert {c["action"] for c in result["changes"]} == {"update"}
    assert tags_of(PATH + "rds/port") == dict(OWNERSHIP, team="data")
    assert stored()[PATH + "rds/port"][2] == 1  # tags alone make no new version
    assert run_module("ssm_parameters", args)["changed"] is False


def test_value_and_tag_change_together(published, aws_env):
    # AWS refuses Tags with Overwrite=True (the emulator too): the value and the tags take separate calls.
    args = dict(BASE, parameters=dict(PARAMETERS, **{"rds/port": 5433}), tags={"owner": "platform", "team": "data"})
    with aws_env.recording() as calls:
        run_module("ssm_parameters", args)
    assert count_by_operation(mutating_calls(calls)) == {"ssm:PutParameter": 1, "ssm:AddTagsToResource": 4}
    assert stored()[PATH + "rds/port"] == ("5433", "String", 2)
    assert tags_of(PATH + "rds/port")["team"] == "data"


def test_absent_deletes_only_what_the_stack_owns_in_batches_of_ten(aws_env):
    many = {"service{0:02d}/endpoint".format(i): "host{0}".format(i) for i in range(12)}
    run_module("ssm_parameters", dict(BASE, parameters=many))
    put_foreign("legacy/untagged")
    args = dict(environment="test", stack="test-us-east-1", path=PATH, state="absent")

    with aws_env.recording() as calls:
        planned = run_module("ssm_parameters", args, check_mode=True)
    assert mutating_calls(calls) == []
    # 13 parameters under the path: two pages of GetParametersByPath (10 per page).
    assert count_by_operation(calls)["ssm:GetParametersByPath"] == 2

    with aws_env.recording() as calls:
        removed = run_module("ssm_parameters", args)
    assert plan_keys(planned) == plan_keys(removed)
    assert len(removed["changes"]) == 12 and removed["parameters"] == {}
    assert count_by_operation(mutating_calls(calls)) == {"ssm:DeleteParameters": 2}
    assert stored() == {PATH + "legacy/untagged": ("theirs", "String", 1)}

    with aws_env.recording() as calls:
        again = run_module("ssm_parameters", args)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_check_mode_plans_values_known_after_apply(published, aws_env):
    args = dict(BASE, parameters=dict(PARAMETERS, **{"rds/endpoint": "(known after apply)",
                                                     "redis/endpoint": "(known after apply)"}))
    with aws_env.recording() as calls:
        planned = run_module("ssm_parameters", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("create", "ssm_parameter", PATH + "redis/endpoint"),
                                  ("update", "ssm_parameter", PATH + "rds/endpoint")]
    assert planned["parameters"]["redis/endpoint"]["value"] == "(known after apply)"

    message, calls = refused(aws_env, args)
    assert "known after apply" in message and calls == []


def test_listed_name_held_by_an_untagged_parameter_is_refused(published, aws_env):
    put_foreign("legacy/endpoint")
    message, _calls = refused(aws_env, dict(BASE, parameters=dict(PARAMETERS, **{"legacy/endpoint": "ours"})))
    assert "parameters.legacy/endpoint" in message and PATH + "legacy/endpoint" in message
    assert "without the ownership tags of stack test-us-east-1" in message


def test_listed_name_held_by_another_stack_is_refused(aws_env):
    put_foreign("rds/endpoint", Tags=[{"Key": "cairn:stack", "Value": "test-us-west-2"}])
    message, calls = refused(aws_env, BASE, check_mode=True)
    assert "belongs to stack test-us-west-2" in message
    assert count_by_operation(calls)["ssm:ListTagsForResource"] == 1


def test_existing_secure_string_is_refused_and_its_value_never_shown(aws_env):
    put_foreign("rds/endpoint", value="s3cr3t-value", Type="SecureString")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("ssm_parameters", BASE)
    assert mutating_calls(calls) == []
    assert "s3cr3t-value" not in repr(failure.value.result)
    assert "parameters.rds/endpoint" in failure.value.result["msg"]


def test_purged_secure_string_of_ours_shows_no_value(published, aws_env):
    ssm().put_parameter(Name=PATH + "old/secret", Value="s3cr3t-value", Type="SecureString",
                        Tags=[{"Key": k, "Value": v} for k, v in OWNERSHIP.items()])
    result = run_module("ssm_parameters", BASE, diff=True)
    assert plan_keys(result) == [("delete", "ssm_parameter", PATH + "old/secret")]
    assert "s3cr3t-value" not in repr(result)


def test_type_change_is_refused_before_any_write(published, aws_env):
    args = dict(BASE, parameters=dict(PARAMETERS, **{"s3/buckets": "test-uploads"}))
    message, _calls = refused(aws_env, args)
    assert "parameters.s3/buckets.type" in message and "StringList" in message and "not changed in place" in message


def test_advanced_tier_is_refused_before_any_write(aws_env):
    ssm().put_parameter(Name=PATH + "rds/endpoint", Value=ENDPOINT, Type="String", Tier="Advanced",
                        Tags=[{"Key": k, "Value": v} for k, v in OWNERSHIP.items()])
    message, _calls = refused(aws_env, BASE)
    assert "parameters.rds/endpoint.tier" in message and "Advanced" in message


@pytest.mark.parametrize("args, words", [
    (dict(BASE, path="cairn/test/"), ["path", "start and end with '/'"]),
    (dict(BASE, path="/cairn/te st/"), ["path", "no spaces"]),
    (dict(BASE, path="/" + "/".join("l{0}".format(i) for i in range(16)) + "/"), ["path", "levels"]),
    (dict(BASE, parameters={"rds/endpoint": "x" * 4097}), ["parameters.rds/endpoint.value", "4096"]),
    (dict(BASE, parameters={"rds/password": {"type": "SecureString", "value": "hunter2"}}),
     ["parameters.rds/password.type", "Secrets Manager"]),
    (dict(BASE, parameters={"rds end point": "x"}), ["parameters.rds end point", "no spaces"]),
    (dict(BASE, parameters={"a/" + "b" * 1000: "x"}), ["parameters.a/", "1011"]),
    (dict(BASE, tags={"cairn:stack": "x"}), ["tags", "reserved"]),
])
def test_bad_input_fails_before_any_call(aws_env, args, words):
    message, calls = refused(aws_env, args)
    assert calls == []
    for word in words:
        assert word in message, message
    assert "hunter2" not in message

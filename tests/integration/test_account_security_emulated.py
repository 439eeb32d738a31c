"""account_security end to end, IAM Access Analyzer included, against the emulator launcher.

moto has no Access Analyzer; the launcher serves our model of it (emulator/README.md). Calls to
the model are written to moto's recorder like moto's own, so they are counted server side with
``aws_env.recording()`` exactly as the password-policy calls are.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

STACK = "local-us-east-1"
NAME = "cairn-" + STACK
OWNERSHIP = {"cairn:environment": "local", "cairn:stack": STACK, "cairn:component": "security",
             "cairn:managed-by": "cairn.platform"}


def args(**extra):
    base = dict(environment="local", stack=STACK, region="us-east-1", tags={"owner": "platform"})
    base.update(extra)
    return base


def analyzers():
    return boto3.client("accessanalyzer", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def converge(aws_env, **extra):
    """Check mode, then the real run: (planned, applied, calls of the real run); plans must agree."""
    with aws_env.recording() as check_calls:
        planned = run_module("account_security", args(**extra), check_mode=True)
    assert mutating_calls(check_calls) == []
    with aws_env.recording() as calls:
        applied = run_module("account_security", args(**extra))
    assert plan_keys(planned) == plan_keys(applied)
    return planned, applied, calls


def test_create_then_rerun_is_a_no_op(aws_env):
    planned, applied, calls = converge(aws_env)
    assert plan_keys(applied) == [("create", "access_analyzer", NAME), ("create", "password_policy", "account")]
    assert count_by_operation(mutating_calls(calls)) == {
        "iam:UpdateAccountPasswordPolicy": 1, "access-analyzer:CreateAnalyzer": 1}
    assert planned["access_analyzer"]["arn"] != applied["access_analyzer"]["arn"]  # "known after apply" in check mode
    expected_arn = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/" + NAME
    assert applied["access_analyzer"] == {"name": NAME, "arn": expected_arn, "type": "ACCOUNT",
                                          "status": "CREATING", "managed": True}

    analyzer = analyzers().get_analyzer(analyzerName=NAME)["analyzer"]
    assert analyzer["type"] == "ACCOUNT" and analyzer["status"] == "ACTIVE"
    assert analyzer["tags"] == dict(OWNERSHIP, owner="platform")

    with aws_env.recording() as calls:
        rerun = run_module("account_security", args())
    assert rerun["changed"] is False and rerun["changes"] == []
    assert mutating_calls(calls) == []
    assert count_by_operation(calls) == {"iam:GetAccountPasswordPolicy": 1, "access-analyzer:ListAnalyzers": 1}
    assert rerun["access_analyzer"] == {"name": NAME, "arn": expected_arn, "type": "ACCOUNT",
                                        "status": "ACTIVE", "managed": True}

    with aws_env.recording() as calls:
        checked = run_module("account_security", args(), check_mode=True)
    assert checked["changed"] is False and mutating_calls(calls) == []


def test_tag_drift_is_reconciled_with_tag_and_untag(aws_env):
    run_module("account_security", args())
    arn = analyzers().get_analyzer(analyzerName=NAME)["analyzer"]["arn"]
    analyzers().tag_resource(resourceArn=arn, tags={"owner": "someone-else", "stray": "x"})

    _planned, applied, calls = converge(aws_env)
    assert plan_keys(applied) == [("update", "access_analyzer", NAME)]
    assert count_by_operation(mutating_calls(calls)) == {
        "access-analyzer:TagResource": 1, "access-analyzer:UntagResource": 1}
    assert analyzers().list_tags_for_resource(resourceArn=arn)["tags"] == dict(OWNERSHIP, owner="platform")
    assert run_module("account_security", args())["changed"] is False


def test_a_renamed_analyzer_replaces_the_old_one(aws_env):
    run_module("account_security", args())
    _planned, applied, calls = converge(aws_env, access_analyzer={"name": "renamed"})
    assert plan_keys(applied) == [("create", "access_analyzer", "renamed"), ("delete", "access_analyzer", NAME)]
    assert count_by_operation(mutating_calls(calls)) == {
        "access-analyzer:DeleteAnalyzer": 1, "access-analyzer:CreateAnalyzer": 1}
    assert [a["name"] for a in analyzers().list_analyzers()["analyzers"]] == ["renamed"]


def test_a_foreign_account_analyzer_is_reported_and_left_alone(aws_env):
    analyzers().create_analyzer(analyzerName="ControlTower", type="ACCOUNT")
    run_module("account_security", args())  # the password policy
    with aws_env.recording() as calls:
        result = run_module("account_security", args())
    assert mutating_calls(calls) == []
    assert result["access_analyzer"]["name"] == "ControlTower" and result["access_analyzer"]["managed"] is False
    assert [a["name"] for a in analyzers().list_analyzers()["analyzers"]] == ["ControlTower"]


def test_a_type_change_is_refused_before_any_write(aws_env):
    run_module("account_security", args())
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("account_security", args(access_analyzer={"type": "ORGANIZATION"}))
    assert "access_analyzer.type" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_absent_deletes_the_analyzer_only(aws_env):
    run_module("account_security", args())
    _planned, applied, calls = converge(aws_env, state="absent")
    assert plan_keys(applied) == [("delete", "access_analyzer", NAME)]
    assert count_by_operation(mutating_calls(calls)) == {"access-analyzer:DeleteAnalyzer": 1}
    assert analyzers().list_analyzers()["analyzers"] == []
    assert boto3.client("iam", region_name="us-east-1").get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 14

    with aws_env.recording() as calls:
        again = run_module("account_security", args(state="absent"))
    assert again["changed"] is False and mutating_calls(calls) == []

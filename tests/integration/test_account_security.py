"""account_security against the local emulator: the IAM account password policy.

These runs leave the analyzer out to test the password policy alone; the analyzer runs against the
emulator's Access Analyzer model in test_account_security_emulated.py and against botocore's
Stubber in tests/unit/test_account_security_stubber.py.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

NO_ANALYZER = {"enabled": False}


def args(stack="local-us-east-1", **extra):
    base = dict(environment="local", stack=stack, access_analyzer=NO_ANALYZER)
    base.update(extra)
    return base


def password_policy():
    return boto3.client("iam", region_name="us-east-1").get_account_password_policy()["PasswordPolicy"]


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def test_check_mode_then_create_then_rerun(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("account_security", args(), check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert planned["diff"]["after"]["password_policy/account"]["minimum_length"] == 14

    with aws_env.recording() as calls:
        applied = run_module("account_security", args())
    assert plan_keys(planned) == plan_keys(applied) == [("create", "password_policy", "account")]
    assert count_by_operation(mutating_calls(calls)) == {"iam:UpdateAccountPasswordPolicy": 1}
    policy = password_policy()
    assert policy["MinimumPasswordLength"] == 14 and policy["MaxPasswordAge"] == 90
    assert policy["PasswordReusePrevention"] == 24
    assert all(policy[key] for key in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters",
                                       "RequireLowercaseCharacters", "AllowUsersToChangePassword"))
    assert policy["HardExpiry"] is False

    with aws_env.recording() as calls:
        rerun = run_module("account_security", args())
    assert rerun["changed"] is False and mutating_calls(calls) == []
    assert count_by_operation(calls) == {"iam:GetAccountPasswordPolicy": 1}


def test_every_stack_of_the_account_converges_the_same_policy(aws_env):
    run_module("account_security", args())
    with aws_env.recording() as calls:
        other = run_module("account_security", args(stack="local-us-west-2", region="us-west-2"))
    assert other["changed"] is False and mutating_calls(calls) == []


def test_a_weakened_policy_is_restored_with_a_field_by_field_plan(aws_env):
    run_module("account_security", args())
    boto3.client("iam", region_name="us-east-1").update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False)
    planned = run_module("account_security", args(), check_mode=True)
    applied = run_module("account_security", args())
    assert plan_keys(planned) == plan_keys(applied) == [("update", "password_policy", "account")]
    fields = applied["changes"][0]["fields"]
    assert fields["minimum_length"] == {"before": 8, "after": 14}
    assert fields["require_symbols"] == {"before": False, "after": True}
    assert password_policy()["MinimumPasswordLength"] == 14


def test_custom_values_and_no_expiry(aws_env):
    run_module("account_security", args(password_policy={"minimum_length": 20, "max_age_days": 0}))
    policy = password_policy()
    # AWS leaves MaxPasswordAge out when passwords never expire; the emulator answers 0.
    assert policy["MinimumPasswordLength"] == 20 and policy.get("MaxPasswordAge", 0) == 0
    assert policy["ExpirePasswords"] is False
    rerun = run_module("account_security", args(password_policy={"minimum_length": 20, "max_age_days": 0}))
    assert rerun["changed"] is False


def test_absent_leaves_the_password_policy_alone(aws_env):
    run_module("account_security", args())
    with aws_env.recording() as calls:
        result = run_module("account_security", args(state="absent"))
    assert result["changed"] is False and calls == []
    assert password_policy()["MinimumPasswordLength"] == 14


@pytest.mark.parametrize("password, words", [
    ({"minimum_length": 4}, ["password_policy.minimum_length", "6 to 128"]),
    ({"reuse_prevention": 30}, ["password_policy.reuse_prevention"]),
])
def test_bad_input_fails_before_any_api_call(aws_env, password, words):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("account_security", args(password_policy=password))
    for word in words:
        assert word in failure.value.result["msg"]
    assert calls == []

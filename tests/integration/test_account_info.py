"""The account_info module against the local emulator: one read, no writes, the same in check mode."""

from __future__ import annotations

import pytest

from support.emulator import count_by_operation
from support.modules import ModuleFailed, run_module


@pytest.mark.parametrize("check_mode", [False, True])
def test_reports_the_account_with_exactly_one_read(aws_env, check_mode):
    with aws_env.recording() as calls:
        result = run_module("account_info", {}, check_mode=check_mode)
    assert count_by_operation(calls) == {"sts:GetCallerIdentity": 1}
    assert result["changed"] is False and result["changes"] == []
    assert result["account_id"] == "123456789012"
    assert result["partition"] == "aws"
    assert result["region"] == "us-east-1"
    assert result["caller_arn"].startswith("arn:aws:sts::123456789012:")


def test_region_option_wins_over_the_environment(aws_env):
    result = run_module("account_info", {"region": "eu-west-1"})
    assert result["region"] == "eu-west-1"


def test_takes_no_ownership_options(aws_env):
    with pytest.raises(ModuleFailed) as failure:
        run_module("account_info", {"environment": "test"})
    assert "environment" in failure.value.result["msg"]


def test_half_a_key_pair_fails_before_any_call(aws_env):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("account_info", {"access_key": "AKIDEXAMPLE"})
    assert "access_key and secret_key must be given together" in failure.value.result["msg"]
    assert calls == []


def test_secret_key_never_appears_in_the_result(aws_env):
    result = run_module("account_info", {"access_key": "testing", "secret_key": "s3cr3t-value-testing"})
    assert "s3cr3t-value-testing" not in repr(result)


def test_unreachable_endpoint_is_a_sentence(aws_env):
    with pytest.raises(ModuleFailed) as failure:
        run_module("account_info", {"endpoint_url": "http://127.0.0.1:9", "max_attempts": 1})
    message = failure.value.result["msg"]
    assert "Could not reach the AWS endpoint while reading the caller identity" in message

"""plugins/module_utils/aws.py: AwsConnection builds clients the standard way (no API calls here)."""

from __future__ import annotations


import pytest

from ansible_collections.cairn.platform.plugins.module_utils.aws import (
    CONNECTION_ARGUMENT_SPEC,
    AwsConnection,
    paginate,
)
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.version import COLLECTION_VERSION

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")


def params(**overrides):
    """Module params as AnsibleModule would pass them (every option present, defaults applied)."""
    values = {name: option.get("default") for name, option in CONNECTION_ARGUMENT_SPEC.items()}
    values.update(overrides)
    return values


class _Sent(Exception):
    def __init__(self, request):
        super().__init__("request captured")
        self.request = request


def capture_request(client, call):
    """Run `call(client)` up to the HTTP send and return the prepared request (nothing leaves the host)."""

    def stop(request, **_):
        raise _Sent(request)

    client.meta.events.register_first("before-send", stop)
    with pytest.raises(_Sent) as sent:
        call(client)
    return sent.value.request


# ---- region ------------------------------------------------------------------------------------
def test_missing_region_is_an_input_error_naming_region():
    with pytest.raises(InputError) as err:
        AwsConnection(params())
    assert "region" in err.value.message


def test_region_option():
    assert AwsConnection(params(region="eu-west-1")).region == "eu-west-1"


def test_aws_region_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    connection = AwsConnection(params())
    assert connection.region == "us-west-2"
    assert connection.client("ec2").meta.region_name == "us-west-2"


def test_aws_default_region_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert AwsConnection(params()).region == "eu-west-1"


def test_region_option_wins_over_environment(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert AwsConnection(params(region="ap-south-1")).region == "ap-south-1"


def test_unknown_profile_is_an_input_error_naming_profile():
    with pytest.raises(InputError) as err:
        AwsConnection(params(region="us-east-1", profile="no-such-profile"))
    assert "profile" in err.value.message


# ---- credentials ---------------------------------------------------------------------------------
def test_access_key_without_secret_key_is_refused():
    with pytest.raises(InputError) as err:
        AwsConnection(params(region="us-east-1", access_key="AKIAEXAMPLE"))
    assert "access_key" in err.value.message
    assert "secret_key" in err.value.message


def test_secret_key_without_access_key_is_refused():
    with pytest.raises(InputError) as err:
        AwsConnection(params(region="us-east-1", secret_key="secret"))
    assert "access_key" in err.value.message


def test_explicit_credentials_are_used():
    connection = AwsConnection(params(region="us-east-1", access_key="AKIAEXAMPLE", secret_key="secret",
                                      session_token="token"))
    credentials = connection.session.get_credentials().get_frozen_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIAEXAMPLE", "secret", "token")


@pytest.mark.parametrize("value", [0, -1])
def test_max_attempts_below_one_is_refused(value):
    with pytest.raises(InputError) as err:
        AwsConnection(params(region="us-east-1", max_attempts=value))
    assert "max_attempts" in err.value.message


# ---- client configuration ------------------------------------------------------------------
def test_user_agent_names_the_collection_and_version():
    connection = AwsConnection(params(region="us-east-1", access_key="AKIAEXAMPLE", secret_key="secret"))
    client = connection.client("ec2")
    expected = "cairn.platform/" + COLLECTION_VERSION
    assert expected in client.meta.config.user_agent_extra
    request = capture_request(client, lambda c: c.describe_vpcs())
    user_agent = request.headers["User-Agent"]
    if isinstance(user_agent, bytes):
        user_agent = user_agent.decode()
    assert expected in user_agent


def test_retry_mode_lands_in_the_client_config():
    client = AwsConnection(params(region="us-east-1", retry_mode="adaptive", max_attempts=4)).client("ec2")
    assert client.meta.config.retries["mode"] == "adaptive"


def test_default_retry_mode_is_standard():
    client = AwsConnection(params(region="us-east-1")).client("ec2")
    assert client.meta.config.retries["mode"] == "standard"


@pytest.mark.parametrize("attempts", [1, 4, 10])
def test_max_attempts_is_the_total_number_of_attempts(attempts):
    client = AwsConnection(params(region="us-east-1", max_attempts=attempts)).client("ec2")
    assert client.meta.config.retries["total_max_attempts"] == attempts


def test_max_attempts_lands_in_the_client_config():
    # Whatever the off-by-one above, the option reaches botocore's retry config.
    low = AwsConnection(params(region="us-east-1", max_attempts=2)).client("ec2").meta.config.retries
    high = AwsConnection(params(region="us-east-1", max_attempts=7)).client("ec2").meta.config.retries
    assert high["total_max_attempts"] - low["total_max_attempts"] == 5


def test_endpoint_url_option_is_used():
    connection = AwsConnection(params(region="us-east-1", endpoint_url="http://127.0.0.1:4566"))
    assert connection.client("ec2").meta.endpoint_url == "http://127.0.0.1:4566"
    assert connection.client("iam").meta.endpoint_url == "http://127.0.0.1:4566"


def test_aws_endpoint_url_is_honoured_without_the_option(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    connection = AwsConnection(params(region="us-east-1"))
    assert connection.endpoint_url is None
    assert connection.client("ec2").meta.endpoint_url == "http://127.0.0.1:5999"


def test_service_specific_endpoint_url_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:6001")
    connection = AwsConnection(params(region="us-east-1"))
    assert connection.client("logs").meta.endpoint_url == "http://127.0.0.1:6001"
    assert connection.client("ec2").meta.endpoint_url == "https://ec2.us-east-1.amazonaws.com"


def test_endpoint_url_option_wins_over_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    connection = AwsConnection(params(region="us-east-1", endpoint_url="http://127.0.0.1:4566"))
    assert connection.client("ec2").meta.endpoint_url == "http://127.0.0.1:4566"


def test_clients_are_cached_per_service():
    connection = AwsConnection(params(region="us-east-1"))
    assert connection.client("ec2") is connection.client("ec2")
    assert connection.client("ec2") is not connection.client("iam")


# ---- paginate ------------------------------------------------------------------------------------
def test_paginate_collects_every_page():
    from botocore.stub import Stubber

    client = AwsConnection(params(region="us-east-1", access_key="a", secret_key="b")).client("ec2")
    with Stubber(client) as stub:
        stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1"}], "NextToken": "t"}, {})
        stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-2"}]}, {"NextToken": "t"})
        assert [v["VpcId"] for v in paginate(client, "describe_vpcs", "Vpcs")] == ["vpc-1", "vpc-2"]
        stub.assert_no_pending_responses()


def test_paginate_falls_back_to_a_single_call():
    from botocore.stub import Stubber

    client = AwsConnection(params(region="us-east-1", access_key="a", secret_key="b")).client("ec2")
    assert not client.can_paginate("describe_account_attributes")
    with Stubber(client) as stub:
        stub.add_response("describe_account_attributes", {"AccountAttributes": [{"AttributeName": "x"}]}, {})
        assert paginate(client, "describe_account_attributes", "AccountAttributes") == [{"AttributeName": "x"}]

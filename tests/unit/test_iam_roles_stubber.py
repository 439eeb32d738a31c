"""iam_roles calls the emulator lacks (AddClientIDToOpenIDConnectProvider and
RemoveClientIDFromOpenIDConnectProvider), driven through the whole module by botocore Stubber."""

from __future__ import annotations


import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.aws import AwsConnection
from support.modules import ModuleFailed, run_module

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
PROVIDER = "arn:aws:iam::{0}:oidc-provider/{1}".format(ACCOUNT, ISSUER[len("https://"):])
OWNERSHIP = [{"Key": "cairn:component", "Value": "eks"}, {"Key": "cairn:environment", "Value": "prod"},
             {"Key": "cairn:managed-by", "Value": "cairn.platform"}, {"Key": "cairn:stack", "Value": "prod-us-east-1"}]


@pytest.fixture
def iam(monkeypatch):
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    monkeypatch.setattr(AwsConnection, "client", lambda self, service, region=None: {"iam": client}[service])
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def existing_provider(iam, client_ids, tags=None):
    iam.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": [{"Arn": PROVIDER}]}, {})
    iam.add_response("get_account_authorization_details", {"RoleDetailList": [], "IsTruncated": False},
                     {"Filter": ["Role"], "MaxItems": 1000})
    iam.add_response("get_open_id_connect_provider", {
        "Url": ISSUER[len("https://"):], "ClientIDList": client_ids, "ThumbprintList": ["a" * 40],
        "Tags": OWNERSHIP if tags is None else tags}, {"OpenIDConnectProviderArn": PROVIDER})


def args(client_ids):
    return dict(environment="prod", stack="prod-us-east-1", region="us-east-1", component="eks",
                oidc_providers=[{"url": ISSUER, "client_ids": client_ids}])


def test_client_ids_are_added_and_removed(iam):
    existing_provider(iam, ["sts.amazonaws.com", "legacy"])
    iam.add_response("add_client_id_to_open_id_connect_provider", {},
                     {"OpenIDConnectProviderArn": PROVIDER, "ClientID": "web"})
    iam.add_response("remove_client_id_from_open_id_connect_provider", {},
                     {"OpenIDConnectProviderArn": PROVIDER, "ClientID": "legacy"})
    result = run_module("iam_roles", args(["web", "sts.amazonaws.com"]))
    (change,) = result["changes"]
    assert change["fields"] == {"client_ids": {"before": ["legacy", "sts.amazonaws.com"], "after": ["sts.amazonaws.com", "web"]}}
    assert result["oidc_providers"] == {ISSUER: PROVIDER}


def test_check_mode_plans_the_client_id_change_without_writing(iam):
    existing_provider(iam, ["sts.amazonaws.com"])
    result = run_module("iam_roles", args(["sts.amazonaws.com", "web"]), check_mode=True)
    assert [c["action"] for c in result["changes"]] == ["update"]


def test_unset_thumbprints_are_left_to_aws(iam):
    existing_provider(iam, ["sts.amazonaws.com"])
    assert run_module("iam_roles", args(["sts.amazonaws.com"]))["changes"] == []


def test_a_provider_of_another_component_is_refused(iam):
    tags = [dict(tag, Value="security") if tag["Key"] == "cairn:component" else tag for tag in OWNERSHIP]
    existing_provider(iam, ["sts.amazonaws.com"], tags=tags)
    with pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", args(["sts.amazonaws.com"]))
    assert "does not carry the ownership tags" in failure.value.result["msg"]

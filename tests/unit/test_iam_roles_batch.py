"""iam_roles reads the roles in one batch (GetAccountAuthorizationDetails + ListRoles) and falls back to
reading role by role when the caller may not call GetAccountAuthorizationDetails; driven through the
whole module by botocore Stubber, whose responses are validated against the real API model (so the
policy documents are URL-encoded JSON strings, as IAM sends them)."""

from __future__ import annotations

import datetime
import json
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.aws import AwsConnection
from support.modules import run_module

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
STACK = "prod-us-east-1"
CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READ_DATA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::cairn-prod-data/*"}]}
MANAGED = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
APP = "prod-us-east-1-app"
GAAD_PARAMS = {"Filter": ["Role"], "MaxItems": 1000}


def ownership(stack=STACK, component="security"):
    return [{"Key": "cairn:component", "Value": component}, {"Key": "cairn:environment", "Value": "prod"},
            {"Key": "cairn:managed-by", "Value": "cairn.platform"}, {"Key": "cairn:stack", "Value": stack}]


def encoded(document):
    """A policy document as IAM returns it: JSON, URL-encoded (RFC 3986)."""
    return quote(json.dumps(document), safe="")


def role(name, tags, description=None):
    item = {"Path": "/cairn/", "RoleName": name, "RoleId": "AROA" + "X" * 17, "CreateDate": CREATED,
            "Arn": "arn:aws:iam::{0}:role/cairn/{1}".format(ACCOUNT, name),
            "AssumeRolePolicyDocument": encoded(TRUST), "MaxSessionDuration": 3600, "Tags": tags}
    if description is not None:
        item["Description"] = description
    return item


def detail(name, tags, inline=None, managed=()):
    """A RoleDetail of GetAccountAuthorizationDetails: no Description, no MaxSessionDuration."""
    item = {key: value for key, value in role(name, tags).items() if key != "MaxSessionDuration"}
    item["RolePolicyList"] = [{"PolicyName": k, "PolicyDocument": encoded(v)} for k, v in (inline or {}).items()]
    item["AttachedManagedPolicies"] = [{"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn} for arn in managed]
    return item


def listed(name, tags, description=None):
    """A ListRoles item: description and session duration, no tags."""
    return {key: value for key, value in role(name, tags, description).items() if key != "Tags"}


def args(**extra):
    base = dict(environment="prod", stack=STACK, region="us-east-1", component="security", roles=[{
        "name": APP, "description": "app", "trust_policy": TRUST, "inline_policies": {"read-data": READ_DATA},
        "managed_policy_arns": [MANAGED]}])
    base.update(extra)
    return base


# Roles of the other stacks and components: the batch read must make no call for any of them.
OTHERS = [("prod-us-west-2-app", ownership("prod-us-west-2")), ("prod-eu-west-1-app", ownership("prod-eu-west-1")),
          ("prod-us-east-1-irsa", ownership(component="eks")), ("someone-elses-role", [])]


@pytest.fixture
def iam(monkeypatch):
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    monkeypatch.setattr(AwsConnection, "client", lambda self, service, region=None: {"iam": client}[service])
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_a_rerun_reads_every_role_in_one_batch_over_pages(iam):
    iam.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": []}, {})
    mine = detail(APP, ownership(), inline={"read-data": READ_DATA}, managed=[MANAGED])
    iam.add_response("get_account_authorization_details", {
        "RoleDetailList": [detail(name, tags) for name, tags in OTHERS[:2]], "IsTruncated": True, "Marker": "m1"},
        GAAD_PARAMS)
    iam.add_response("get_account_authorization_details", {
        "RoleDetailList": [mine] + [detail(name, tags) for name, tags in OTHERS[2:]], "IsTruncated": False},
        dict(GAAD_PARAMS, Marker="m1"))
    iam.add_response("list_roles", {"Roles": [listed(APP, [], "app")] + [listed(name, []) for name, _tags in OTHERS],
                                    "IsTruncated": False}, {"PathPrefix": "/cairn/"})
    # No GetRole, ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, and no write.
    result = run_module("iam_roles", args())
    assert result["changes"] == []
    assert result["roles"][APP]["arn"] == "arn:aws:iam::{0}:role/cairn/{1}".format(ACCOUNT, APP)


def test_the_batch_plans_the_same_updates_and_purge(iam):
    iam.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": []}, {})
    mine = detail(APP, ownership(), inline={"read-data": READ_DATA, "old": READ_DATA}, managed=[MANAGED])
    gone = detail("prod-us-east-1-gone", ownership(), inline={"p": READ_DATA}, managed=[MANAGED])
    iam.add_response("get_account_authorization_details", {
        "RoleDetailList": [mine, gone] + [detail(name, tags) for name, tags in OTHERS], "IsTruncated": False},
        GAAD_PARAMS)
    # The description drifted; the session duration did not.
    iam.add_response("list_roles", {"Roles": [listed(APP, [], "old text"), listed("prod-us-east-1-gone", [])],
                                    "IsTruncated": False}, {"PathPrefix": "/cairn/"})
    result = run_module("iam_roles", args(), check_mode=True)
    assert sorted((c["action"], c["resource"], sorted(c.get("fields", {}))) for c in result["changes"]) == [
        ("delete", "prod-us-east-1-gone", []), ("update", APP, ["description"]), ("update", APP, ["policy:old"])]


def test_a_listed_role_missing_from_list_roles_is_read_with_one_get_role(iam):
    iam.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": []}, {})
    iam.add_response("get_account_authorization_details", {"RoleDetailList": [
        detail(APP, ownership(), inline={"read-data": READ_DATA}, managed=[MANAGED])], "IsTruncated": False}, GAAD_PARAMS)
    iam.add_response("list_roles", {"Roles": [], "IsTruncated": False}, {"PathPrefix": "/cairn/"})
    iam.add_response("get_role", {"Role": role(APP, ownership(), "app")}, {"RoleName": APP})
    assert run_module("iam_roles", args())["changes"] == []


def test_without_get_account_authorization_details_roles_are_read_one_by_one(iam):
    iam.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": []}, {})
    iam.add_client_error("get_account_authorization_details", service_error_code="AccessDenied", http_status_code=403,
                         service_message="not authorized to perform: iam:GetAccountAuthorizationDetails",
                         expected_params=GAAD_PARAMS)
    iam.add_response("list_roles", {"Roles": [listed(APP, [], "app"), listed("prod-us-west-2-app", []),
                                              listed("prod-us-east-1-gone", [])], "IsTruncated": False},
                     {"PathPrefix": "/cairn/"})
    # The listed role: today's reads.
    iam.add_response("get_role", {"Role": role(APP, ownership(), "app")}, {"RoleName": APP})
    iam.add_response("list_role_policies", {"PolicyNames": ["read-data"], "IsTruncated": False}, {"RoleName": APP})
    iam.add_response("get_role_policy", {"RoleName": APP, "PolicyName": "read-data", "PolicyDocument": encoded(READ_DATA)},
                     {"RoleName": APP, "PolicyName": "read-data"})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [
        {"PolicyName": "AmazonEKSWorkerNodePolicy", "PolicyArn": MANAGED}], "IsTruncated": False}, {"RoleName": APP})
    # Purge candidates in name order: ours is read fully and planned for deletion, the other stack's by its tags only.
    iam.add_response("get_role", {"Role": role("prod-us-east-1-gone", ownership())}, {"RoleName": "prod-us-east-1-gone"})
    iam.add_response("list_role_policies", {"PolicyNames": [], "IsTruncated": False}, {"RoleName": "prod-us-east-1-gone"})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [], "IsTruncated": False},
                     {"RoleName": "prod-us-east-1-gone"})
    iam.add_response("get_role", {"Role": role("prod-us-west-2-app", ownership("prod-us-west-2"))},
                     {"RoleName": "prod-us-west-2-app"})
    result = run_module("iam_roles", args(), check_mode=True)
    assert [(c["action"], c["resource"]) for c in result["changes"]] == [("delete", "prod-us-east-1-gone")]

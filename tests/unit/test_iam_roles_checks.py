"""iam_roles' pure checks and trust-policy building: every bad input fails with a sentence naming the
role, the policy and what is wrong, before any client exists."""

from __future__ import annotations

import copy

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.policy import policies_equal
from ansible_collections.cairn.platform.plugins.modules.iam_roles import (
    ARGUMENT_SPEC,
    build_spec,
    build_trust_policy,
    provider_arn,
    provider_key,
)

ACCOUNT = "123456789012"
EKS_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
EKS_KEY = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
EKS_PROVIDER = "arn:aws:iam::{0}:oidc-provider/{1}".format(ACCOUNT, EKS_KEY)
READ_BUCKET = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::cairn-test-data/*"}]}
SERVICE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def web_identity_trust(condition):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": EKS_PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition}]}


def spec_for(roles=None, providers=None, **extra):
    """build_spec over parameters parsed by the module's real argument spec (defaults filled in)."""
    args = dict(environment="test", stack="test-us-east-1", roles=roles or [], oidc_providers=providers or [],
                _ansible_check_mode=False, _ansible_diff=False)
    args.update(extra)
    with patch_module_args(args):
        cm = CairnModule("iam", ARGUMENT_SPEC)
    return build_spec(cm.params)


def role(**fields):
    base = {"name": "test-app", "trust_policy": copy.deepcopy(SERVICE_TRUST)}
    base.update(fields)
    return base


def refused(*words, **kwargs):
    with pytest.raises(InputError) as failure:
        spec_for(**kwargs)
    for word in words:
        assert word in failure.value.message, failure.value.message
    return failure.value.message


# ---- accepted input ------------------------------------------------------------------------
def test_a_valid_role_is_accepted_with_defaults():
    spec = spec_for([role(inline_policies={"read": READ_BUCKET},
                          managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])])
    (checked,) = spec["roles"]
    assert checked["path"] == "/cairn/" and checked["max_session_duration"] == 3600
    assert checked["inline_policies"]["read"] == READ_BUCKET
    assert spec["component"] == "iam" and spec["purge"] is True


def test_policies_may_be_json_strings():
    import json

    spec = spec_for([role(trust_policy=json.dumps(SERVICE_TRUST), inline_policies={"read": json.dumps(READ_BUCKET)})])
    assert spec["roles"][0]["inline_policies"]["read"] == READ_BUCKET


# ---- malformed documents -------------------------------------------------------------------
@pytest.mark.parametrize("document, words", [
    ("not json", ["inline policy 'p'", "not valid JSON"]),
    ({"Statement": READ_BUCKET["Statement"]}, ["Version must be"]),
    ({"Version": "2012-10-17", "Statement": READ_BUCKET["Statement"][0]}, ["Statement must be a non-empty list"]),
    ({"Version": "2012-10-17", "Statement": []}, ["Statement must be a non-empty list"]),
    ({"Version": "2012-10-17", "Statement": [{"Action": "s3:GetObject", "Resource": "*"}]}, ["statement 1", "Effect"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}]},
     ["Effect must be", "'allow'"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, ["Action and NotAction"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}, ["Resource and NotResource"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]},
     ["'GetObject' is not an action"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                              "Principal": {"AWS": ACCOUNT}}]}, ["Principal belongs in trust"]),
    ({"Version": "2012-10-17", "Statement": [{"Sid": "read-all", "Effect": "Allow", "Action": "s3:GetObject",
                                              "Resource": "*"}]}, ["Sid 'read-all'"]),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                              "Condtion": {}}]}, ["unknown key(s) Condtion"]),
])
def test_malformed_identity_policies_are_refused_naming_role_and_policy(document, words):
    message = refused("role 'test-app'", *words, roles=[role(inline_policies={"p": document})])
    assert "inline policy 'p'" in message


@pytest.mark.parametrize("action", ["*", "iam:*", "s3:*", "ec2:**"])
def test_allow_of_every_action_is_refused(action):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", action],
                                                        "Resource": "*"}]}
    refused("role 'test-app'", "inline policy 'admin'", action, "least privilege",
            roles=[role(inline_policies={"admin": document})])


def test_allow_with_not_action_is_refused_but_deny_is_fine():
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    refused("NotAction", "least privilege", roles=[role(inline_policies={"p": allow})])
    deny = {"Version": "2012-10-17", "Statement": READ_BUCKET["Statement"] + [
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    assert spec_for([role(inline_policies={"p": deny})])


def test_partial_wildcards_are_allowed():
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*",
                                                        "Resource": "arn:aws:s3:::b/*"}]}
    assert spec_for([role(inline_policies={"p": document})])


@pytest.mark.parametrize("statement, words", [
    ({"Effect": "Allow", "Action": "sts:AssumeRole"}, ["needs a Principal"]),
    ({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"},
     ["has no Resource"]),
    ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, ["lets anyone assume"]),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}, ["lets anyone assume"]),
    ({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:*"}, ["sts:*"]),
])
def test_malformed_trust_policies_are_refused(statement, words):
    refused("role 'test-app': trust_policy", *words,
            roles=[role(trust_policy={"Version": "2012-10-17", "Statement": [statement]})])


# ---- OIDC trust: sub and aud ---------------------------------------------------------------
def test_oidc_trust_with_sub_and_aud_is_accepted():
    condition = {"StringEquals": {EKS_KEY + ":sub": "system:serviceaccount:app:web", EKS_KEY + ":aud": "sts.amazonaws.com"}}
    assert spec_for([role(trust_policy=web_identity_trust(condition))])


@pytest.mark.parametrize("condition, missing", [
    (None, "sub and"),
    ({"StringEquals": {EKS_KEY + ":aud": "sts.amazonaws.com"}}, EKS_KEY + ":sub"),
    ({"StringLike": {EKS_KEY + ":sub": "system:serviceaccount:app:*"}}, EKS_KEY + ":aud"),
    # Conditions that do not restrict: IfExists passes without the claim, a negation admits the rest.
    ({"StringEqualsIfExists": {EKS_KEY + ":sub": "x", EKS_KEY + ":aud": "sts.amazonaws.com"}}, EKS_KEY + ":sub"),
    ({"StringNotEquals": {EKS_KEY + ":sub": "x"}, "StringEquals": {EKS_KEY + ":aud": "sts.amazonaws.com"}}, EKS_KEY + ":sub"),
    ({"ForAllValues:StringEquals": {EKS_KEY + ":sub": "x"}, "StringEquals": {EKS_KEY + ":aud": "a"}}, EKS_KEY + ":sub"),
])
def test_oidc_trust_without_sub_and_aud_is_refused(condition, missing):
    trust = web_identity_trust(condition)
    if condition is None:
        del trust["Statement"][0]["Condition"]
    message = refused("role 'test-app'", "trusts the OIDC provider " + EKS_KEY, missing,
                      roles=[role(trust_policy=trust)])
    assert "sub" in message and "aud" in message


def test_oidc_trust_with_only_a_star_subject_is_refused():
    condition = {"StringLike": {EKS_KEY + ":sub": "*"}, "StringEquals": {EKS_KEY + ":aud": "sts.amazonaws.com"}}
    refused("role 'test-app'", ":sub condition only matches", roles=[role(trust_policy=web_identity_trust(condition))])


def test_oidc_condition_keys_are_case_insensitive_like_iam():
    condition = {"StringEquals": {EKS_KEY.upper() + ":SUB": "x", EKS_KEY + ":Aud": "sts.amazonaws.com"}}
    assert spec_for([role(trust_policy=web_identity_trust(condition))])


def test_short_oidc_form_needs_subjects_and_audiences_and_one_provider():
    oidc = {"provider_url": EKS_ISSUER, "subjects": [], "audiences": ["sts.amazonaws.com"]}
    refused("role 'test-app': trust.oidc.subjects", "required", roles=[role(trust_policy=None, trust={"oidc": oidc})])
    oidc = {"provider_url": EKS_ISSUER, "subjects": ["*"], "audiences": ["sts.amazonaws.com"]}
    refused("trust.oidc.subjects", "admits every identity", roles=[role(trust_policy=None, trust={"oidc": oidc})])
    oidc = {"provider_url": EKS_ISSUER, "provider_arn": EKS_PROVIDER, "subjects": ["a"], "audiences": ["b"]}
    refused("trust.oidc", "exactly one of provider_arn and provider_url", roles=[role(trust_policy=None, trust={"oidc": oidc})])
    oidc = {"provider_url": "http://issuer.example", "subjects": ["a"], "audiences": ["b"]}
    refused("trust.oidc.provider_url", "https://", roles=[role(trust_policy=None, trust={"oidc": oidc})])


# ---- trust short form ------------------------------------------------------------------------
def test_trust_short_form_needs_a_principal_and_valid_names():
    refused("role 'test-app': trust", "at least one of services", roles=[role(trust_policy=None, trust={})])
    refused("trust.services", "'ec2'", roles=[role(trust_policy=None, trust={"services": ["ec2"]})])
    refused("trust.aws_principals", "'*'", roles=[role(trust_policy=None, trust={"aws_principals": ["*"]})])
    refused("require_mfa and external_id apply to aws_principals",
            roles=[role(trust_policy=None, trust={"services": ["ec2.amazonaws.com"], "require_mfa": True})])


def test_exactly_one_of_trust_policy_and_trust():
    refused("role 'test-app'", "exactly one of trust_policy and trust", roles=[role(trust={"services": ["ec2.amazonaws.com"]})])
    refused("role 'test-app'", "exactly one of trust_policy and trust", roles=[role(trust_policy=None)])


def test_build_trust_policy_for_services_principals_and_oidc():
    trust = build_trust_policy({
        "services": ["eks.amazonaws.com"],
        "aws_principals": ["arn:aws:iam::{0}:user/alice".format(ACCOUNT)],
        "require_mfa": True, "mfa_max_age": 900, "external_id": "cairn",
        "oidc": {"provider_url": EKS_ISSUER, "subjects": ["system:serviceaccount:app:*"], "audiences": ["sts.amazonaws.com"]},
    }, lambda url: provider_arn("aws", ACCOUNT, url))
    services, people, web = trust["Statement"]
    assert services["Principal"] == {"Service": ["eks.amazonaws.com"]} and services["Action"] == "sts:AssumeRole"
    assert people["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                   "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "900"},
                                   "StringEquals": {"sts:ExternalId": "cairn"}}
    assert web["Principal"] == {"Federated": EKS_PROVIDER}
    assert web["Condition"] == {"StringEquals": {EKS_KEY + ":aud": ["sts.amazonaws.com"]},
                                "StringLike": {EKS_KEY + ":sub": ["system:serviceaccount:app:*"]}}
    # What IAM hands back (one-item lists as strings, statements reordered) is the same policy.
    returned = {"Version": "2012-10-17", "Statement": [
        dict(web, Condition={"StringLike": {EKS_KEY + ":sub": "system:serviceaccount:app:*"},
                             "StringEquals": {EKS_KEY + ":aud": "sts.amazonaws.com"}}),
        dict(services, Principal={"Service": "eks.amazonaws.com"}), people]}
    assert policies_equal(trust, returned)


def test_exact_subjects_use_string_equals():
    trust = build_trust_policy({"oidc": {"provider_arn": EKS_PROVIDER, "subjects": ["system:serviceaccount:a:b"],
                                         "audiences": ["sts.amazonaws.com"]}}, None)
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {EKS_KEY + ":aud": ["sts.amazonaws.com"],
                                                                   EKS_KEY + ":sub": ["system:serviceaccount:a:b"]}}


def test_provider_key_and_arn():
    assert provider_key("https://token.actions.githubusercontent.com/") == "token.actions.githubusercontent.com"
    assert provider_arn("aws-cn", ACCOUNT, EKS_ISSUER) == "arn:aws-cn:iam::{0}:oidc-provider/{1}".format(ACCOUNT, EKS_KEY)


# ---- role settings --------------------------------------------------------------------------
@pytest.mark.parametrize("fields, words", [
    ({"name": "a" * 65}, ["roles[0].name", "1 to 64"]),
    ({"name": "bad name"}, ["roles[0].name", "'bad name'"]),
    ({"max_session_duration": 3599}, ["max_session_duration", "3600 to 43200", "3599"]),
    ({"max_session_duration": 43201}, ["max_session_duration", "43201"]),
    ({"path": "cairn"}, ["path 'cairn'", "start and end with /"]),
    ({"managed_policy_arns": ["AmazonEKSClusterPolicy"]}, ["managed_policy_arns", "not a managed policy ARN"]),
    ({"permissions_boundary": "arn:aws:iam::aws:role/x"}, ["permissions_boundary"]),
    ({"description": "x" * 1001}, ["description"]),
    ({"inline_policies": {"bad name": READ_BUCKET}}, ["inline policy name 'bad name'"]),
])
def test_bad_role_settings_are_refused(fields, words):
    refused(*words, roles=[role(**fields)])


def test_inline_policies_beyond_the_iam_size_limit_are_refused():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::cairn-test-data/" + "x" * 200}
    big = {"Version": "2012-10-17", "Statement": [dict(statement, Sid="S{0}".format(i)) for i in range(60)]}
    refused("role 'test-app'", "10240", roles=[role(inline_policies={"big": big})])


def test_duplicate_role_names_ignore_case_like_iam():
    refused("role 'test-app' is listed more than once", roles=[role(), role(name="Test-App")])


def test_bad_oidc_providers_are_refused():
    refused("oidc_providers[0].url", providers=[{"url": "token.actions.githubusercontent.com", "client_ids": ["a"]}])
    refused("oidc_providers[0].client_ids", providers=[{"url": EKS_ISSUER, "client_ids": []}])
    refused("oidc_providers[0].thumbprints", "40 hex", providers=[{"url": EKS_ISSUER, "client_ids": ["a"], "thumbprints": ["abc"]}])
    refused("listed more than once", providers=[{"url": EKS_ISSUER, "client_ids": ["a"]},
                                                {"url": EKS_ISSUER + "/", "client_ids": ["a"]}])


def test_component_must_be_a_tag_friendly_name():
    refused("component", component="Security Baseline")

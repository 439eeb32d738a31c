"""The iam_roles module against the local emulator: the shipped roles, reruns, check mode, updates,
semantic policy comparison, OIDC trust with a fake EKS issuer, purge, ownership and bad input.

Calls are counted by the emulator's recorder, from outside the module.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import boto3
import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # the emulator's account
STACK = "local-us-east-1"
EKS_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
EKS_KEY = EKS_ISSUER[len("https://"):]
OWNERSHIP = {"cairn:environment": "local", "cairn:stack": STACK, "cairn:component": "security",
             "cairn:managed-by": "cairn.platform"}
READ_DATA = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::cairn-local-data", "arn:aws:s3:::cairn-local-data/*"]}]}


@functools.lru_cache(maxsize=None)
def rendered_shipped():
    """The security role's data for the local stack, rendered as the role would."""
    loader = DataLoader()
    data = loader.load_from_file(str(REPO / "roles/security/vars/iam_roles.yml"), trusted_as_template=True)
    variables = dict(data, cairn_account_id=ACCOUNT, cairn_partition="aws", cairn_region="us-east-1",
                     cairn_environment="local", cairn_stack=STACK, cairn_stack_role="primary",
                     security_github_repository="acme/cairn-platform", security_github_environments=["local"],
                     security_break_glass_principals=["arn:aws:iam::{0}:user/alice".format(ACCOUNT)])
    templar = Templar(loader=loader, variables=variables)
    return json.loads(json.dumps({"roles": templar.template(data["security_iam_roles"]),
                                  "oidc_providers": templar.template(data["security_iam_oidc_providers"])}))


def args(**extra):
    base = dict(environment="local", stack=STACK, component="security", tags={"owner": "platform"})
    base.update(copy.deepcopy(rendered_shipped()))
    base.update(extra)
    return base


def iam():
    return boto3.client("iam", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def tags_of(role_name):
    return {t["Key"]: t["Value"] for t in iam().list_role_tags(RoleName=role_name)["Tags"]}


def app_role(**fields):
    role = {"name": "local-us-east-1-app", "description": "test app",
            "trust": {"services": ["ec2.amazonaws.com"]}, "inline_policies": {"read-data": READ_DATA}}
    role.update(fields)
    return role


def hand_made_role(name, path="/cairn/", tags=None):
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    kwargs = {"Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]} if tags else {}
    return iam().create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), **kwargs)["Role"]


@pytest.fixture
def converged(aws_env):
    return run_module("iam_roles", args())


# ---- the shipped roles ------------------------------------------------------------------------
def test_check_mode_plans_the_shipped_roles_writes_nothing_and_matches_the_real_run(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("iam_roles", args(), check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert iam().list_roles(PathPrefix="/cairn/")["Roles"] == []
    assert planned["changed"] is True
    assert planned["roles"]["local-us-east-1-eks-cluster"]["arn"] == "(known after apply)"
    assert "iam_role/cairn-local-ci-deploy" in planned["diff"]["after"]

    applied = run_module("iam_roles", args())
    assert plan_keys(planned) == plan_keys(applied)
    assert plan_keys(applied) == sorted(
        [("create", "iam_oidc_provider", "https://token.actions.githubusercontent.com")]
        + [("create", "iam_role", name) for name in (
            "local-us-east-1-eks-cluster", "local-us-east-1-eks-nodes", "local-us-east-1-rds-monitoring",
            "local-us-east-1-s3-replication", "local-us-east-1-backup", "local-us-east-1-break-glass-restore",
            "cairn-local-ci-deploy")])


def test_roles_exist_as_declared_and_a_rerun_changes_nothing(aws_env, converged):
    client = iam()
    github = converged["oidc_providers"]["https://token.actions.githubusercontent.com"]
    assert github == "arn:aws:iam::{0}:oidc-provider/token.actions.githubusercontent.com".format(ACCOUNT)
    deploy = client.get_role(RoleName="cairn-local-ci-deploy")["Role"]
    assert deploy["Path"] == "/cairn/" and deploy["MaxSessionDuration"] == 3600
    (statement,) = deploy["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"]["Federated"] == github
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] in (
        "sts.amazonaws.com", ["sts.amazonaws.com"])
    assert client.list_role_policies(RoleName="cairn-local-ci-deploy")["PolicyNames"] == ["deploy"]
    nodes = client.list_attached_role_policies(RoleName="local-us-east-1-eks-nodes")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in nodes) == [
        "AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]
    assert tags_of("local-us-east-1-eks-cluster") == dict(OWNERSHIP, owner="platform")
    provider = client.get_open_id_connect_provider(OpenIDConnectProviderArn=github)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert {t["Key"]: t["Value"] for t in provider["Tags"]}["cairn:stack"] == STACK
    assert converged["roles"]["local-us-east-1-backup"] == {
        "arn": "arn:aws:iam::{0}:role/cairn/local-us-east-1-backup".format(ACCOUNT),
        "name": "local-us-east-1-backup", "path": "/cairn/"}

    with aws_env.recording() as calls:
        rerun = run_module("iam_roles", args())
    assert rerun["changed"] is False and rerun["changes"] == []
    assert mutating_calls(calls) == []
    counts = count_by_operation(calls)
    # One read of the provider list and one batch read of the roles; no call per role, no write.
    assert counts["iam:ListOpenIDConnectProviders"] == 1
    assert counts["iam:GetAccountAuthorizationDetails"] == 1 and counts["iam:ListRoles"] == 1
    assert not {"iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"} & set(counts)
    assert rerun["roles"] == converged["roles"] and rerun["oidc_providers"] == converged["oidc_providers"]


def test_a_rerun_reads_the_roles_in_one_batch_whatever_other_stacks_keep(aws_env, converged):
    """IAM is global: the roles of every stack sit under /cairn/. A rerun reads them in one batch and
    makes no call per role, so another stack's roles do not add calls."""
    with aws_env.recording() as alone:
        assert run_module("iam_roles", args())["changes"] == []
    other = "local-us-west-2"
    other_roles = [dict(app_role(name="{0}-app-{1}".format(other, index)), inline_policies={"read-data": READ_DATA},
                        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]) for index in range(12)]
    run_module("iam_roles", dict(environment="local", stack=other, component="security", roles=other_roles))
    assert len(iam().list_roles(PathPrefix="/cairn/")["Roles"]) == 7 + 12

    with aws_env.recording() as calls:
        rerun = run_module("iam_roles", args())
    assert rerun["changed"] is False and rerun["changes"] == []
    assert mutating_calls(calls) == []
    counts = count_by_operation(calls)
    assert counts == count_by_operation(alone)
    assert counts.get("iam:GetRole", 0) == 0 and counts["iam:GetAccountAuthorizationDetails"] == 1
    # The other stack's roles are untouched (not purged: they carry its stack tag).
    assert all(tags_of(role["name"])["cairn:stack"] == other for role in other_roles)


# ---- semantic comparison and updates ------------------------------------------------------------
def test_policies_rewritten_in_another_form_are_no_change(aws_env):
    run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role()]))
    # Same meaning, other form: statements reordered, one-item lists as strings, other JSON layout.
    reordered = {"Statement": [{"Resource": ["arn:aws:s3:::cairn-local-data/*", "arn:aws:s3:::cairn-local-data"],
                                "Action": ["s3:ListBucket", "s3:GetObject"], "Effect": "Allow", "Sid": "ReadData"}],
                 "Version": "2012-10-17"}
    iam().put_role_policy(RoleName="local-us-east-1-app", PolicyName="read-data", PolicyDocument=json.dumps(reordered, indent=4))
    trust = {"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Sid": "Services",
                                                     "Principal": {"Service": "ec2.amazonaws.com"}}]}
    iam().update_assume_role_policy(RoleName="local-us-east-1-app", PolicyDocument=json.dumps(trust))
    with aws_env.recording() as calls:
        rerun = run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role()]))
    assert rerun["changes"] == [] and mutating_calls(calls) == []


def test_updates_are_planned_field_by_field_and_applied(aws_env):
    run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role(
        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"])]))
    wider = json.loads(json.dumps(READ_DATA))
    wider["Statement"][0]["Action"].append("s3:GetObjectVersion")
    changed = app_role(description="test app, v2", max_session_duration=7200, inline_policies={"read-data": wider},
                       managed_policy_arns=[])
    new_args = dict(args(oidc_providers=[], tags={"owner": "data"}), roles=[changed])

    planned = run_module("iam_roles", new_args, check_mode=True, diff=True)
    applied = run_module("iam_roles", new_args, diff=True)
    assert plan_keys(planned) == plan_keys(applied)
    fields = {}
    for change in applied["changes"]:
        assert change["action"] == "update" and change["resource"] == "local-us-east-1-app"
        fields.update(change["fields"])
    assert set(fields) == {"description", "max_session_duration", "policy:read-data", "managed_policy_arns", "tags"}
    assert fields["max_session_duration"] == {"before": 3600, "after": 7200}
    assert applied["diff"]["before"]["iam_role/local-us-east-1-app"]["managed_policy_arns"] == [
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]

    client = iam()
    role = client.get_role(RoleName="local-us-east-1-app")["Role"]
    assert role["MaxSessionDuration"] == 7200 and role["Description"] == "test app, v2"
    document = client.get_role_policy(RoleName="local-us-east-1-app", PolicyName="read-data")["PolicyDocument"]
    assert "s3:GetObjectVersion" in document["Statement"][0]["Action"]
    assert client.list_attached_role_policies(RoleName="local-us-east-1-app")["AttachedPolicies"] == []
    assert tags_of("local-us-east-1-app")["owner"] == "data"
    with aws_env.recording() as calls:
        assert run_module("iam_roles", new_args)["changes"] == []
    assert mutating_calls(calls) == []


# ---- OIDC trust with a fake EKS issuer (IRSA) ---------------------------------------------------------
def irsa_args(**extra):
    role = {"name": "local-us-east-1-irsa-app", "trust": {"oidc": {
        "provider_url": EKS_ISSUER, "subjects": ["system:serviceaccount:app:web"], "audiences": ["sts.amazonaws.com"]}},
        "inline_policies": {"read-data": READ_DATA}}
    base = dict(environment="local", stack=STACK, component="eks",
                oidc_providers=[{"url": EKS_ISSUER, "client_ids": ["sts.amazonaws.com"],
                                 "thumbprints": ["9E99A48A9960B14926BB7F3B02E22DA2B0AB7280"]}],
                roles=[role])
    base.update(extra)
    return base


def test_irsa_role_trusts_a_new_provider_with_sub_and_aud(aws_env):
    with aws_env.recording() as calls:
        planned = run_module("iam_roles", irsa_args(), check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("iam_roles", irsa_args())
    assert plan_keys(planned) == plan_keys(applied) == [
        ("create", "iam_oidc_provider", EKS_ISSUER), ("create", "iam_role", "local-us-east-1-irsa-app")]
    provider_arn = applied["oidc_providers"][EKS_ISSUER]
    assert provider_arn == "arn:aws:iam::{0}:oidc-provider/{1}".format(ACCOUNT, EKS_KEY)
    (statement,) = iam().get_role(RoleName="local-us-east-1-irsa-app")["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"] == provider_arn
    conditions = statement["Condition"]["StringEquals"]
    assert {key: value if isinstance(value, list) else [value] for key, value in conditions.items()} == {
        EKS_KEY + ":sub": ["system:serviceaccount:app:web"], EKS_KEY + ":aud": ["sts.amazonaws.com"]}
    # The token exchange works against the trust (the emulator accepts any token).
    sts = boto3.client("sts", region_name="us-east-1")
    credentials = sts.assume_role_with_web_identity(RoleArn=applied["roles"]["local-us-east-1-irsa-app"]["arn"],
                                                    RoleSessionName="web", WebIdentityToken="token")["Credentials"]
    assert credentials["AccessKeyId"]
    with aws_env.recording() as calls:
        assert run_module("iam_roles", irsa_args())["changes"] == []
    assert mutating_calls(calls) == []


def test_provider_thumbprints_and_tags_are_converged(aws_env):
    # Client id changes are covered in test_iam_roles_stubber.py: the emulator lacks those two calls.
    run_module("iam_roles", irsa_args())
    changed = irsa_args(tags={"owner": "eks"}, oidc_providers=[{
        "url": EKS_ISSUER, "client_ids": ["sts.amazonaws.com"], "thumbprints": ["A" * 40]}])
    applied = run_module("iam_roles", changed)
    assert sorted((c["resource"], sorted(c["fields"])) for c in applied["changes"]) == [
        (EKS_ISSUER, ["tags"]), (EKS_ISSUER, ["thumbprints"]), ("local-us-east-1-irsa-app", ["tags"])]
    provider = iam().get_open_id_connect_provider(OpenIDConnectProviderArn=applied["oidc_providers"][EKS_ISSUER])
    assert [t.lower() for t in provider["ThumbprintList"]] == ["a" * 40]
    assert {t["Key"]: t["Value"] for t in provider["Tags"]}["owner"] == "eks"
    with aws_env.recording() as calls:
        assert run_module("iam_roles", changed)["changes"] == []
    assert mutating_calls(calls) == []


def test_trust_in_a_provider_that_does_not_exist_is_refused_before_any_write(aws_env):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", irsa_args(oidc_providers=[]))
    assert "role 'local-us-east-1-irsa-app' trusts the OIDC provider " + EKS_KEY in failure.value.result["msg"]
    assert "does not exist" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_listed_provider_we_do_not_own_is_refused(aws_env):
    iam().create_open_id_connect_provider(Url=EKS_ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", irsa_args())
    assert "oidc_providers" in failure.value.result["msg"] and "trust.oidc.provider_url" in failure.value.result["msg"]
    assert mutating_calls(calls) == []
    # Trusting it without listing it is fine: the module never touches the provider.
    applied = run_module("iam_roles", irsa_args(oidc_providers=[]))
    assert plan_keys(applied) == [("create", "iam_role", "local-us-east-1-irsa-app")]


# ---- ownership, purge and absent ---------------------------------------------------------------------
def test_a_role_we_do_not_own_is_never_taken_over(aws_env):
    hand_made_role("local-us-east-1-app")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role()]))
    assert "local-us-east-1-app exists but does not carry the ownership tags" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_path_change_is_refused_before_any_write(aws_env):
    run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role()]))
    # The new role comes first in the list: the refusal of the second must still precede any write.
    roles = [app_role(name="local-us-east-1-new"), app_role(path="/apps/")]
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", dict(args(oidc_providers=[]), roles=roles))
    assert "path cannot change" in failure.value.result["msg"] and "/cairn/" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_purge_deletes_only_our_unlisted_roles(aws_env, converged):
    hand_made_role("someone-elses-role")
    hand_made_role("other-stack-role", tags=dict(OWNERSHIP, **{"cairn:stack": "local-us-west-2"}))
    hand_made_role("other-component-role", tags=dict(OWNERSHIP, **{"cairn:component": "eks"}))
    fewer = args()
    fewer["roles"] = [r for r in fewer["roles"] if r["name"] != "local-us-east-1-backup"]
    fewer["oidc_providers"] = []
    fewer["roles"] = [r for r in fewer["roles"] if r["name"] != "cairn-local-ci-deploy"]
    planned = run_module("iam_roles", fewer, check_mode=True)
    applied = run_module("iam_roles", fewer)
    assert plan_keys(planned) == plan_keys(applied) == [
        ("delete", "iam_oidc_provider", "https://token.actions.githubusercontent.com"),
        ("delete", "iam_role", "cairn-local-ci-deploy"), ("delete", "iam_role", "local-us-east-1-backup")]
    names = {role["RoleName"] for role in iam().list_roles()["Roles"]}
    assert {"someone-elses-role", "other-stack-role", "other-component-role"} <= names
    assert "local-us-east-1-backup" not in names
    assert iam().list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_purge_off_keeps_unlisted_roles(aws_env):
    run_module("iam_roles", dict(args(oidc_providers=[]), roles=[app_role()]))
    applied = run_module("iam_roles", dict(args(oidc_providers=[]), roles=[], purge_roles=False))
    assert applied["changes"] == []
    assert iam().get_role(RoleName="local-us-east-1-app")["Role"]


def test_absent_deletes_everything_the_stack_owns_and_nothing_else(aws_env, converged):
    hand_made_role("someone-elses-role")
    with aws_env.recording() as calls:
        planned = run_module("iam_roles", dict(environment="local", stack=STACK, component="security", state="absent"),
                             check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("iam_roles", dict(environment="local", stack=STACK, component="security", state="absent"))
    assert plan_keys(planned) == plan_keys(applied)
    assert len([c for c in applied["changes"] if c["resource_type"] == "iam_role"]) == 7
    assert [r["RoleName"] for r in iam().list_roles()["Roles"]] == ["someone-elses-role"]
    assert iam().list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    again = run_module("iam_roles", dict(environment="local", stack=STACK, component="security", state="absent"))
    assert again["changed"] is False


# ---- bad input: refused before any API call ----------------------------------------------------------
@pytest.mark.parametrize("role, words", [
    (app_role(inline_policies={"p": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                                            "Resource": "*"}]}}),
     ["role 'local-us-east-1-app'", "inline policy 'p'", "s3:*", "least privilege"]),
    (app_role(inline_policies={"p": {"Statement": []}}), ["inline policy 'p'", "Version"]),
    (app_role(trust=None, trust_policy={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::{0}:oidc-provider/{1}".format(ACCOUNT, EKS_KEY)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {EKS_KEY + ":aud": "sts.amazonaws.com"}}}]}),
     ["role 'local-us-east-1-app'", "trust_policy", EKS_KEY + ":sub"]),
    (app_role(max_session_duration=50000), ["max_session_duration", "50000"]),
    (app_role(trust={"oidc": {"provider_url": EKS_ISSUER, "subjects": ["system:serviceaccount:app:web"]}}),
     ["role 'local-us-east-1-app'", "trust.oidc.audiences", "required"]),
])
def test_bad_input_fails_before_any_api_call(aws_env, role, words):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("iam_roles", dict(environment="local", stack=STACK, roles=[role]))
    for word in words:
        assert word in failure.value.result["msg"], failure.value.result["msg"]
    assert calls == []

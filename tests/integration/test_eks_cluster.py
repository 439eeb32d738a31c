"""The eks_cluster module against the local emulator: create, rerun, check mode, updates, refusals, delete.

moto 5.2.5 has no route for access entries, DescribeUpdate or UpdateClusterVersion. Every present run that
finds or creates a cluster lists its access entries, so the tests marked `needs_eks_model` run only when the
emulator answers ListAccessEntries (the project's model, emulator/eks_fidelity.py); they are skipped, with
that reason, otherwise. The others (check mode on an empty account, version refusal, ownership refusal, node
group refusal, delete, bad input) run on moto alone: their clusters are made directly with boto3, born with
the ownership tags. tests/unit/test_eks_cluster_stubber.py covers the same calls against the real API model.
Calls are counted by the emulator's recorder.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

STACK = "test-us-east-1"
NAME = STACK + "-eks"
LOG_GROUP = "/aws/eks/{0}/cluster".format(NAME)
OWNED = {"Name": NAME, "cairn:environment": "test", "cairn:stack": STACK, "cairn:component": "eks", "cairn:managed-by": "cairn.platform"}
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
ADMINS = "arn:aws:iam::123456789012:role/platform-admins"
DEPLOY = "arn:aws:iam::123456789012:role/cicd-deploy"


def eks():
    return boto3.client("eks", region_name="us-east-1")


def logs():
    return boto3.client("logs", region_name="us-east-1")


def plan_keys(result):
    return [(c["action"], c["resource_type"], c["resource"]) for c in result["changes"]]


def eks_model_answers(emulator):
    """True when the emulator answers the access-entry API (moto alone has no route for it: HTTP 404)."""
    client = boto3.client("eks", region_name="us-east-1", endpoint_url=emulator.endpoint_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        client.list_access_entries(clusterName="cairn-probe-no-such-cluster")
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "ResourceNotFoundException"
    return True


@pytest.fixture
def needs_eks_model(aws_env):
    if not eks_model_answers(aws_env):
        pytest.skip("needs the emulator's EKS model (emulator/eks_fidelity.py): moto has no access-entry, DescribeUpdate "
                    "or UpdateClusterVersion route")


@pytest.fixture
def base(aws_env):
    """A VPC with two private subnets, the cluster role and the secrets key, made directly (other modules are tested elsewhere)."""
    _vpc_id, subnet_ids = vpc_with_subnets(new_prefix=20)
    role_arn = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="test-eks-cluster",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},'
                                 '"Action":["sts:AssumeRole","sts:TagSession"]}]}')["Role"]["Arn"]
    key_arn = boto3.client("kms", region_name="us-east-1").create_key(Description="eks secrets")["KeyMetadata"]["Arn"]
    return dict(environment="test", stack=STACK, name=NAME, kubernetes_version="1.31", role_arn=role_arn, subnet_ids=subnet_ids,
                encryption_key_arn=key_arn, logging={"retention_days": 30}, tags={"owner": "platform"}, wait_timeout=60)


def create_directly(base, version="1.31", tags=None):
    """The cluster as this module would have made it, straight through boto3 (no access-entry call needed)."""
    logs().create_log_group(logGroupName=LOG_GROUP, tags=dict(OWNED, owner="platform"))
    logs().put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=30)
    return eks().create_cluster(
        name=NAME, version=version, roleArn=base["role_arn"],
        resourcesVpcConfig={"subnetIds": base["subnet_ids"], "endpointPrivateAccess": True, "endpointPublicAccess": False},
        logging={"clusterLogging": [{"types": LOG_TYPES, "enabled": True}]},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": base["encryption_key_arn"]}}],
        tags=dict(OWNED, owner="platform") if tags is None else tags)["cluster"]


# ---- on moto alone ------------------------------------------------------------------------------
def test_check_mode_on_an_empty_account_plans_the_log_group_before_the_cluster_and_writes_nothing(base, aws_env):
    args = dict(base, access_entries=[{"principal_arn": ADMINS, "access_policies": [{"policy": "AmazonEKSClusterAdminPolicy"}]}])
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert eks().list_clusters()["clusters"] == []
    assert plan_keys(planned) == [("create", "log_group", LOG_GROUP), ("create", "eks_cluster", NAME),
                                  ("create", "eks_access_entry", ADMINS)]
    created = planned["changes"][1]["fields"]
    assert created["endpoint_private_access"]["after"] is True and created["endpoint_public_access"]["after"] is False
    assert created["log_types"]["after"] == LOG_TYPES and created["encryption_key_arn"]["after"] == base["encryption_key_arn"]
    assert planned["cluster"]["arn"] == "(known after apply)" and planned["cluster"]["version"] == "1.31"
    assert planned["access_entries"][0]["access_policies"] == [
        {"policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "namespaces": []}]


@pytest.mark.parametrize("version,words", [("1.33", "a skip of 2 minors"), ("1.30", "cannot downgrade")])
def test_a_version_skip_or_downgrade_reads_the_cluster_once_and_writes_nothing(base, aws_env, version, words):
    create_directly(base)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_cluster", dict(base, kubernetes_version=version))
    message = failure.value.result["msg"]
    assert message.startswith("kubernetes_version: the cluster runs 1.31") and words in message, message
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert count_by_operation(calls) == {"eks:DescribeCluster": 1}
    assert eks().describe_cluster(name=NAME)["cluster"]["version"] == "1.31"


def test_a_cluster_without_our_tags_is_refused_and_left_alone_on_delete(base, aws_env):
    create_directly(base, tags={"team": "someone-else"})
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_cluster", base)
    assert "does not carry the ownership tags of stack " + STACK in failure.value.result["msg"]
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        result = run_module("eks_cluster", dict(environment="test", stack=STACK, name=NAME, state="absent"))
    assert mutating_calls(calls) == [] and result["changed"] is False
    assert any("left alone" in w for w in result["warnings"])
    assert eks().describe_cluster(name=NAME)["cluster"]["status"] == "ACTIVE"


def test_delete_is_refused_while_a_node_group_exists_then_deletes_the_cluster_and_its_log_group(base, aws_env):
    create_directly(base)
    eks().create_nodegroup(clusterName=NAME, nodegroupName="system", subnets=base["subnet_ids"], nodeRole=base["role_arn"])
    absent = dict(environment="test", stack=STACK, name=NAME, state="absent", wait_timeout=60)
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", absent, check_mode=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("delete", "eks_cluster", NAME), ("delete", "log_group", LOG_GROUP)]
    assert "node groups system" in planned["changes"][0]["note"]
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_cluster", absent)
    assert "still has node groups system" in failure.value.result["msg"] and "eks_nodegroups" in failure.value.result["msg"]
    assert mutating_calls(calls) == []

    eks().delete_nodegroup(clusterName=NAME, nodegroupName="system")
    deleted = run_module("eks_cluster", absent)
    assert plan_keys(deleted) == [("delete", "eks_cluster", NAME), ("delete", "log_group", LOG_GROUP)]
    assert eks().list_clusters()["clusters"] == []
    assert logs().describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"] == []
    with aws_env.recording() as calls:
        assert run_module("eks_cluster", absent)["changed"] is False
    assert mutating_calls(calls) == []


BAD_INPUT = [
    ({"kubernetes_version": "1.31.0"}, "kubernetes_version", "major.minor"),
    ({"kubernetes_version": None}, "kubernetes_version", "required"),
    ({"role_arn": None}, "role_arn", "required"),
    ({"subnet_ids": ["subnet-0aaa"]}, "subnet_ids", "at least two"),
    ({"encryption_key_arn": None}, "encryption_key_arn", "required"),
    ({"endpoint_public_access": True}, "public_access_cidrs", "required when endpoint_public_access"),
    ({"endpoint_public_access": True, "public_access_cidrs": ["10.1.2.3/16"]}, "public_access_cidrs", "not a CIDR block"),
    ({"logging": {"retention_days": 2}}, "logging.retention_days", "accepts only"),
    ({"access_entries": [{"principal_arn": ADMINS, "access_policies": [{"policy": "AmazonEKSGodModePolicy"}]}]},
     "access_entries[0].access_policies[0].policy", "not an EKS access policy"),
]


@pytest.mark.parametrize("change,field,words", BAD_INPUT, ids=[
    "version-patch", "no-version", "no-role", "one-subnet", "no-key", "public-without-cidrs", "host-bits", "retention",
    "unknown-policy"])
def test_bad_input_fails_before_any_api_call(recorded_env, change, field, words):
    args = dict(environment="test", stack=STACK, name=NAME, kubernetes_version="1.31",
                role_arn="arn:aws:iam::123456789012:role/eks", subnet_ids=["subnet-0aaa", "subnet-0bbb"],
                encryption_key_arn="arn:aws:kms:us-east-1:123456789012:key/abc")
    args.update(change)
    with recorded_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_cluster", args)
    message = failure.value.result["msg"]
    assert message.startswith(field + ":") and words in message, message
    assert calls == []


def test_unknown_log_types_are_refused_by_the_argument_spec_before_any_call(recorded_env):
    args = dict(environment="test", stack=STACK, name=NAME, kubernetes_version="1.31", logging={"types": ["api", "kubelet"]})
    with recorded_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_cluster", args)
    assert "kubelet" in failure.value.result["msg"]
    assert calls == []


# ---- with the emulator's EKS model -------------------------------------------------------------
ENTRIES = [
    {"principal_arn": ADMINS, "access_policies": [{"policy": "AmazonEKSClusterAdminPolicy"}]},
    {"principal_arn": DEPLOY, "kubernetes_groups": ["deployers"],
     "access_policies": [{"policy": "AmazonEKSEditPolicy", "namespaces": ["apps", "batch", "cron"]}]},
]


@pytest.fixture
def converged(base, needs_eks_model):
    result = run_module("eks_cluster", dict(base, access_entries=ENTRIES), diff=True)
    assert result["changed"] is True
    return result


def test_check_mode_plans_exactly_what_the_real_create_does(base, aws_env, needs_eks_model):
    args = dict(base, access_entries=ENTRIES)
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", args, check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("eks_cluster", args)
    assert plan_keys(planned) == plan_keys(applied)
    assert [c["fields"] for c in planned["changes"]] == [c["fields"] for c in applied["changes"]]


def test_create_builds_the_cluster_as_eks_reports_it(converged, base):
    cluster = eks().describe_cluster(name=NAME)["cluster"]
    assert cluster["status"] == "ACTIVE" and cluster["version"] == "1.31"
    vpc = cluster["resourcesVpcConfig"]
    assert sorted(vpc["subnetIds"]) == sorted(base["subnet_ids"])
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert sorted(t for s in cluster["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]) == sorted(LOG_TYPES)
    assert cluster["encryptionConfig"] == [{"resources": ["secrets"], "provider": {"keyArn": base["encryption_key_arn"]}}]
    assert {k: cluster["tags"][k] for k in OWNED} == OWNED and cluster["tags"]["owner"] == "platform"
    [group] = logs().describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert group["retentionInDays"] == 30
    assert converged["cluster"]["arn"] == cluster["arn"] and converged["cluster"]["oidc_issuer"].startswith("https://")
    assert converged["cluster"]["certificate_authority_data"] == cluster["certificateAuthority"]["data"]
    entries = {e["principal_arn"]: e for e in converged["access_entries"]}
    assert entries[DEPLOY]["kubernetes_groups"] == ["deployers"]
    assert entries[DEPLOY]["access_policies"] == [
        {"policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy", "namespaces": ["apps", "batch", "cron"]}]
    assert plan_keys(converged)[:2] == [("create", "log_group", LOG_GROUP), ("create", "eks_cluster", NAME)]


def test_rerun_and_check_mode_rerun_make_no_mutating_call(converged, base, aws_env):
    args = dict(base, access_entries=ENTRIES)
    with aws_env.recording() as calls:
        again = run_module("eks_cluster", args, diff=True)
        checked = run_module("eks_cluster", args, check_mode=True)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert again["changed"] is False and checked["changed"] is False
    assert again["changes"] == [] and checked["changes"] == []
    assert again["cluster"] == converged["cluster"]


def test_endpoint_and_logging_updates_are_planned_in_check_mode_as_the_real_run_makes_them(converged, base, aws_env):
    changed = dict(base, access_entries=ENTRIES, endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"],
                   logging={"types": ["api", "audit"], "retention_days": 30})
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", changed, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_cluster", changed)
    assert planned["changes"] == applied["changes"]
    assert [c["note"] for c in applied["changes"]] == ["UpdateClusterConfig (endpoint access)", "UpdateClusterConfig (logging)"]
    assert count_by_operation(mutating_calls(calls)) == {"eks:UpdateClusterConfig": 2}
    vpc = eks().describe_cluster(name=NAME)["cluster"]["resourcesVpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    with aws_env.recording() as calls:
        assert run_module("eks_cluster", changed)["changed"] is False
    assert mutating_calls(calls) == []


def test_a_one_minor_upgrade_is_planned_and_made(converged, base, aws_env):
    upgraded = dict(base, access_entries=ENTRIES, kubernetes_version="1.32")
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", upgraded, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_cluster", upgraded)
    assert count_by_operation(mutating_calls(calls)) == {"eks:UpdateClusterVersion": 1}
    assert "eks:DescribeUpdate" in count_by_operation(calls)
    assert planned["changes"] == applied["changes"]
    [change] = applied["changes"]
    assert change["fields"] == {"version": {"before": "1.31", "after": "1.32"}}
    assert eks().describe_cluster(name=NAME)["cluster"]["version"] == "1.32"


def test_access_entries_drift_is_converged_and_unlisted_entries_purged(converged, base, aws_env):
    changed = dict(base, access_entries=[dict(ENTRIES[1], kubernetes_groups=["deployers", "auditors"])])
    with aws_env.recording() as calls:
        planned = run_module("eks_cluster", changed, check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("eks_cluster", changed)
    assert planned["changes"] == applied["changes"]
    assert plan_keys(applied) == [("update", "eks_access_entry", DEPLOY), ("delete", "eks_access_entry", ADMINS)]
    assert [e["principal_arn"] for e in applied["access_entries"]] == [DEPLOY]
    with aws_env.recording() as calls:
        assert run_module("eks_cluster", changed)["changed"] is False
    assert mutating_calls(calls) == []


def test_delete_after_a_real_create(converged, base, aws_env):
    deleted = run_module("eks_cluster", dict(environment="test", stack=STACK, name=NAME, state="absent", wait_timeout=60))
    assert plan_keys(deleted) == [("delete", "eks_cluster", NAME), ("delete", "log_group", LOG_GROUP)]
    assert eks().list_clusters()["clusters"] == []

"""eks_cluster: the pure planning code (input checks, version steps, cluster updates, access entry changes)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cairn.platform.plugins.module_utils import eks
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.eks_cluster import (
    ARGUMENT_SPEC,
    LOG_TYPES,
    build_spec,
    cluster_updates,
    current_settings,
    desired_settings,
    entry_changes,
    entry_state,
    logging_request,
    refusals,
    version_step,
)

ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMINS = "arn:aws:iam::123456789012:role/platform-admins"
DEPLOY = "arn:aws:iam::123456789012:role/cicd-deploy"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"


def params(**overrides):
    """Module parameters as AnsibleModule hands them over (defaults filled in)."""
    values = {key: option.get("default") for key, option in ARGUMENT_SPEC.items()}
    values.update(environment="prod", stack="prod-us-east-1", tags=None, purge_tags=True, name="prod-us-east-1",
                  kubernetes_version="1.31", role_arn=ROLE, subnet_ids=["subnet-b", "subnet-a"], encryption_key_arn=KEY)
    values.update(overrides)
    return values


def refused(**overrides):
    with pytest.raises(InputError) as failure:
        build_spec(params(**overrides))
    return failure.value.message


def entry(principal=ADMINS, groups=None, username=None, policies=None):
    return {"principal_arn": principal, "kubernetes_groups": groups or [], "username": username,
            "access_policies": policies or []}


# ---- build_spec ---------------------------------------------------------------------------------
def test_defaults_private_endpoint_all_log_types_and_api_authentication():
    spec = build_spec(params())
    assert spec["log_group_name"] == "/aws/eks/prod-us-east-1/cluster"
    assert spec["log_types"] == sorted(LOG_TYPES) and spec["retention_days"] == 90
    assert spec["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert spec["endpoint_public_access"] is False and spec["public_access_cidrs"] == []
    assert spec["authentication_mode"] == "API" and spec["access_entries"] == {}
    desired = desired_settings(spec)
    assert desired["endpoint_private_access"] is True and desired["encryption_key_arn"] == KEY


def test_short_policy_names_map_to_the_partitions_arn_and_empty_namespaces_mean_cluster_scope():
    spec = build_spec(params(access_entries=[
        entry(ADMINS, policies=[{"policy": "AmazonEKSClusterAdminPolicy", "namespaces": []}]),
        entry(DEPLOY, groups=["deployers", "auditors"], policies=[
            {"policy": "AmazonEKSEditPolicy", "namespaces": ["cron", "apps"]},
            {"policy": POLICY + "AmazonEKSViewPolicy", "namespaces": None}]),
    ]), partition="aws-cn")
    assert spec["access_entries"][ADMINS] == {
        "kubernetes_groups": [], "username": None,
        "access_policies": {"arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy": []}}
    assert spec["access_entries"][DEPLOY] == {
        "kubernetes_groups": ["auditors", "deployers"], "username": None,
        "access_policies": {"arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSEditPolicy": ["apps", "cron"],
                            POLICY + "AmazonEKSViewPolicy": []}}


def test_public_endpoint_with_cidrs():
    spec = build_spec(params(endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24", "198.51.100.7/32"]))
    assert spec["public_access_cidrs"] == ["198.51.100.7/32", "203.0.113.0/24"]


@pytest.mark.parametrize("overrides,field,words", [
    ({"name": "-bad"}, "name", "is not an EKS cluster name"),
    ({"name": "a" * 101}, "name", "1 to 100"),
    ({"kubernetes_version": None}, "kubernetes_version", "required"),
    ({"kubernetes_version": "1.31.2"}, "kubernetes_version", "major.minor"),
    ({"kubernetes_version": "v1.31"}, "kubernetes_version", "major.minor"),
    ({"kubernetes_version": "2.1"}, "kubernetes_version", "major.minor"),
    ({"role_arn": None}, "role_arn", "required"),
    ({"role_arn": "arn:aws:iam::123456789012:user/bob"}, "role_arn", "not an IAM role ARN"),
    ({"subnet_ids": None}, "subnet_ids", "at least two"),
    ({"subnet_ids": ["subnet-a"]}, "subnet_ids", "at least two"),
    ({"subnet_ids": ["subnet-a", "subnet-a"]}, "subnet_ids", "twice"),
    ({"security_group_ids": ["sg-1", "sg-1"]}, "security_group_ids", "twice"),
    ({"encryption_key_arn": None}, "encryption_key_arn", "required"),
    ({"encryption_key_arn": "alias/eks"}, "encryption_key_arn", "not a KMS key ARN"),
    ({"endpoint_public_access": True}, "public_access_cidrs", "required when endpoint_public_access"),
    ({"endpoint_public_access": True, "public_access_cidrs": ["10.0.0.1/8"]}, "public_access_cidrs", "not a CIDR block"),
    ({"endpoint_public_access": True, "public_access_cidrs": ["banana"]}, "public_access_cidrs", "not a CIDR block"),
    ({"endpoint_public_access": True, "public_access_cidrs": ["2001:db8::/32"]}, "public_access_cidrs", "not IPv4"),
    ({"endpoint_public_access": True, "public_access_cidrs": ["1.2.3.0/24", "1.2.3.0/24"]}, "public_access_cidrs", "twice"),
    ({"public_access_cidrs": ["1.2.3.0/24"]}, "public_access_cidrs", "endpoint_public_access is false"),
    ({"logging": {"types": ["api", "kubelet"]}}, "logging.types", "'kubelet' is not an EKS log type"),
    ({"logging": {"types": ["api", "api"]}}, "logging.types", "twice"),
    ({"logging": {"retention_days": 45}}, "logging.retention_days", "accepts only"),
    ({"wait_timeout": -1}, "wait_timeout", "0 or more"),
    ({"access_entries": [entry("arn:aws:iam::123456789012:group/admins")]}, "access_entries[0].principal_arn", "IAM role or user"),
    ({"access_entries": [entry(), entry()]}, "access_entries[1].principal_arn", "listed twice"),
    ({"access_entries": [entry(groups=["system:masters"])]}, "access_entries[0].kubernetes_groups", "system:"),
    ({"access_entries": [entry(groups=["a", "a"])]}, "access_entries[0].kubernetes_groups", "twice"),
    ({"access_entries": [entry(username="eks:admin")]}, "access_entries[0].username", "may not be empty nor start with"),
    ({"access_entries": [entry(policies=[{"policy": "AmazonEKSSuperPolicy", "namespaces": []}])]},
     "access_entries[0].access_policies[0].policy", "not an EKS access policy"),
    ({"access_entries": [entry(policies=[{"policy": "arn:aws:iam::aws:policy/AdministratorAccess", "namespaces": []}])]},
     "access_entries[0].access_policies[0].policy", "not an EKS access policy"),
    ({"access_entries": [entry(policies=[{"policy": "AmazonEKSViewPolicy", "namespaces": []},
                                         {"policy": POLICY + "AmazonEKSViewPolicy", "namespaces": ["a"]}])]},
     "access_entries[0].access_policies[1].policy", "listed twice"),
    ({"access_entries": [entry(policies=[{"policy": "AmazonEKSViewPolicy", "namespaces": ["Apps"]}])]},
     "access_entries[0].access_policies[0].namespaces", "not a Kubernetes namespace name"),
    ({"access_entries": [entry(policies=[{"policy": "AmazonEKSViewPolicy", "namespaces": ["dev-*"]}])]}, None, None),
])
def test_input_checks_name_the_field(overrides, field, words):
    if field is None:
        build_spec(params(**overrides))
        return
    message = refused(**overrides)
    assert message.startswith(field + ":"), message
    assert words in message, message


def test_absent_needs_only_the_name():
    spec = build_spec(params(state="absent", kubernetes_version=None, role_arn=None, subnet_ids=None, encryption_key_arn=None))
    assert spec["log_group_name"] == "/aws/eks/prod-us-east-1/cluster" and "version" not in spec


# ---- versions -----------------------------------------------------------------------------------
def test_version_steps():
    assert version_step("1.31", "1.31") is None
    assert version_step("1.30", "1.31") == "upgrade"
    assert version_step("1.99", "1.99") is None


@pytest.mark.parametrize("current,desired,words", [
    ("1.29", "1.31", "a skip of 2 minors"),
    ("1.29", "1.33", "a skip of 4 minors"),
    ("1.31", "1.30", "cannot downgrade"),
])
def test_version_skip_or_downgrade_is_refused(current, desired, words):
    with pytest.raises(InputError) as failure:
        version_step(current, desired)
    message = failure.value.message
    assert message.startswith("kubernetes_version:") and words in message and "Nothing was changed" in message


# ---- cluster updates ----------------------------------------------------------------------------
def cluster(**overrides):
    """A cluster as DescribeCluster reports one built from params()."""
    described = {
        "name": "prod-us-east-1", "version": "1.31", "roleArn": ROLE, "status": "ACTIVE",
        "resourcesVpcConfig": {"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": [], "endpointPrivateAccess": True,
                               "endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]},
        "logging": {"clusterLogging": [{"types": list(LOG_TYPES), "enabled": True}]},
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}],
        "accessConfig": {"authenticationMode": "API"},
    }
    described.update(overrides)
    return described


def test_a_matching_cluster_needs_no_update():
    assert cluster_updates(current_settings(cluster()), desired_settings(build_spec(params()))) == []


def test_endpoint_and_logging_are_separate_updates_and_the_version_goes_last():
    spec = build_spec(params(kubernetes_version="1.32", endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"],
                             logging={"types": ["api", "audit"]}))
    updates = cluster_updates(current_settings(cluster()), desired_settings(spec))
    assert [(update[0], update[2]) for update in updates] == [
        ("endpoint_access", "update_cluster_config"), ("logging", "update_cluster_config"), ("version", "update_cluster_version")]
    assert updates[0][3] == {"resourcesVpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": True,
                                                    "publicAccessCidrs": ["203.0.113.0/24"]}}
    assert updates[1][3] == {"logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": True},
                                                            {"types": ["authenticator", "controllerManager", "scheduler"], "enabled": False}]}}
    assert updates[2][3] == {"version": "1.32"}


def test_cidrs_of_a_closed_public_endpoint_mean_nothing():
    current = current_settings(cluster(resourcesVpcConfig={"subnetIds": ["subnet-a", "subnet-b"], "endpointPrivateAccess": True,
                                                           "endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]}))
    assert current["public_access_cidrs"] == []
    assert cluster_updates(current, desired_settings(build_spec(params()))) == []


def test_missing_encryption_is_associated_and_subnet_changes_are_their_own_update():
    spec = build_spec(params(subnet_ids=["subnet-a", "subnet-c"], security_group_ids=["sg-1"]))
    updates = cluster_updates(current_settings(cluster(encryptionConfig=[])), desired_settings(spec))
    assert [(update[0], update[1]) for update in updates] == [
        ("subnets", ["subnet_ids", "security_group_ids"]), ("encryption", ["encryption_key_arn"])]
    assert updates[1][2:] == ("associate_encryption_config",
                              {"encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]})


def test_authentication_mode_moves_only_towards_api():
    desired = desired_settings(build_spec(params()))
    current = current_settings(cluster(accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}))
    assert refusals(current, desired) == []
    assert [u[0] for u in cluster_updates(current, desired)] == ["authentication_mode"]
    back = desired_settings(build_spec(params(authentication_mode="API_AND_CONFIG_MAP")))
    [reason] = refusals(current_settings(cluster()), back)
    assert reason.startswith("authentication_mode:") and "only towards API" in reason
    # A cluster that reports no accessConfig: the mode is not compared.
    assert cluster_updates(current_settings(cluster(accessConfig=None)), desired) == []


def test_role_and_key_cannot_change():
    desired = desired_settings(build_spec(params(role_arn="arn:aws:iam::123456789012:role/other",
                                                 encryption_key_arn=KEY.replace("1234abcd", "99999999"))))
    reasons = refusals(current_settings(cluster()), desired)
    assert [r.split(":")[0] for r in reasons] == ["role_arn", "encryption_key_arn"]


def test_logging_request_turns_everything_off_for_no_types():
    assert logging_request([]) == {"clusterLogging": [{"types": LOG_TYPES, "enabled": False}]}
    assert logging_request(LOG_TYPES) == {"clusterLogging": [{"types": LOG_TYPES, "enabled": True}]}


# ---- access entries -----------------------------------------------------------------------------
def test_groups_compare_as_sets_and_an_unset_username_is_left_alone():
    current = entry_state({"kubernetesGroups": ["b", "a"], "username": "generated"},
                          [{"policyArn": POLICY + "AmazonEKSViewPolicy", "accessScope": {"type": "cluster", "namespaces": []}}])
    desired = {"kubernetes_groups": ["a", "b"], "username": None, "access_policies": {POLICY + "AmazonEKSViewPolicy": []}}
    assert entry_changes(current, desired) == (False, {}, [])


def test_policy_scope_change_reassociates_and_unlisted_policies_are_disassociated():
    current = entry_state({"kubernetesGroups": [], "username": "u"}, [
        {"policyArn": POLICY + "AmazonEKSEditPolicy", "accessScope": {"type": "namespace", "namespaces": ["apps"]}},
        {"policyArn": POLICY + "AmazonEKSViewPolicy", "accessScope": {"type": "cluster"}}])
    desired = {"kubernetes_groups": ["deployers"], "username": "u",
               "access_policies": {POLICY + "AmazonEKSEditPolicy": ["apps", "batch"], POLICY + "AmazonEKSAdminPolicy": []}}
    update, associate, disassociate = entry_changes(current, desired)
    assert update is True
    assert associate == {POLICY + "AmazonEKSEditPolicy": ["apps", "batch"], POLICY + "AmazonEKSAdminPolicy": []}
    assert disassociate == [POLICY + "AmazonEKSViewPolicy"]


# ---- versions EKS offers (the pinned test day, 2026-02-15: 1.29 to 1.35) ------------------------------------------
@pytest.mark.parametrize("version,words", [
    ("1.36", "kubernetes_version: EKS does not offer Kubernetes 1.36; it offers 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35."),
    ("1.27", "kubernetes_version: EKS does not offer Kubernetes 1.27"),
    ("1.28", "kubernetes_version: Kubernetes 1.28 reached the end of EKS extended support on 2025-11-26"),
])
def test_versions_eks_does_not_offer_are_refused(version, words):
    assert refused(kubernetes_version=version).startswith(words)


@pytest.mark.parametrize("version", ["1.29", "1.31", "1.33", "1.35"])
def test_versions_in_standard_or_extended_support_are_accepted(version):
    assert build_spec(params(kubernetes_version=version))["version"] == version


def test_the_check_follows_the_day(monkeypatch):
    monkeypatch.setattr(eks, "utc_today", lambda: datetime.date(2026, 12, 3))
    assert "end of EKS extended support on 2026-11-26" in refused(kubernetes_version="1.31")
    assert build_spec(params(kubernetes_version="1.32"))["version"] == "1.32"

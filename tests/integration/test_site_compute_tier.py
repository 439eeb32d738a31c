"""End to end: the compute tier of site.yml on the local inventory (us-east-1 and its DR stack us-west-2).

EKS clusters, node groups, Fargate profiles, add-ons and access entries as the emulator reports them
(its EKS model, emulator/eks_fidelity.py), the in-cluster objects as its Kubernetes API model
(emulator/kube_api.py) stores them; a rerun writes nothing to either, and a change made behind the
playbook's back (the autoscaler's desired size) is left alone.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from support.emulator import mutating_calls
from test_site_playbook import playbook, run_playbook

STACKS = {"local-us-east-1": "us-east-1", "local-us-west-2": "us-west-2"}


@pytest.fixture(scope="module")
def converged(emulator, tmp_path_factory):
    emulator.reset()
    return playbook(emulator, tmp_path_factory.mktemp("converge"))


@pytest.fixture
def aws(emulator, converged, recorded_env):
    import boto3

    return lambda service, region: boto3.client(service, region_name=region)


def kube_requests(emulator):
    with urllib.request.urlopen(emulator.endpoint_url + "/_eks/_requests", timeout=10) as answer:
        return json.loads(answer.read())


def kube_get(emulator, region, cluster, path):
    request = urllib.request.Request("{0}/_eks/{1}/{2}{3}".format(emulator.endpoint_url, region, cluster, path),
                                     headers={"Authorization": "Bearer k8s-aws-v1.test"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_cluster_is_private_logged_encrypted_and_reached_through_access_entries(aws, stack):
    eks = aws("eks", STACKS[stack])
    cluster = eks.describe_cluster(name=stack)["cluster"]
    assert cluster["version"] == "1.32" and cluster["status"] == "ACTIVE"
    vpc = cluster["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    enabled = [t for setup in cluster["logging"]["clusterLogging"] if setup["enabled"] for t in setup["types"]]
    assert sorted(enabled) == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    key = aws("kms", STACKS[stack]).describe_key(KeyId="alias/cairn/local/{0}/eks".format(stack))["KeyMetadata"]["Arn"]
    assert cluster["encryptionConfig"][0]["provider"]["keyArn"] == key
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    entries = eks.list_access_entries(clusterName=stack)["accessEntries"]
    ci_role = [arn for arn in entries if arn.endswith(":role/cairn/cairn-local-ci-deploy")]
    assert ci_role
    policies = eks.list_associated_access_policies(clusterName=stack, principalArn=ci_role[0])["associatedAccessPolicies"]
    assert [p["policyArn"].rsplit("/", 1)[-1] for p in policies] == ["AmazonEKSClusterAdminPolicy"]
    group = aws("logs", STACKS[stack]).describe_log_groups(logGroupNamePrefix="/aws/eks/{0}/cluster".format(stack))["logGroups"][0]
    assert group["retentionInDays"] == 30


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_node_groups_fargate_and_addons(aws, stack):
    eks = aws("eks", STACKS[stack])
    groups = {name: eks.describe_nodegroup(clusterName=stack, nodegroupName=name)["nodegroup"]
              for name in eks.list_nodegroups(clusterName=stack)["nodegroups"]}
    assert sorted(groups) == ["apps-spot", "system"]
    assert groups["system"]["capacityType"] == "ON_DEMAND" and groups["apps-spot"]["capacityType"] == "SPOT"
    assert len(groups["apps-spot"]["instanceTypes"]) >= 2
    assert groups["system"]["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert groups["system"]["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]
    assert groups["apps-spot"]["labels"] == {"cairn.platform/pool": "apps"}
    profiles = {name: eks.describe_fargate_profile(clusterName=stack, fargateProfileName=name)["fargateProfile"]
                for name in eks.list_fargate_profiles(clusterName=stack)["fargateProfileNames"]}
    assert {name: p["selectors"] for name, p in profiles.items()} == {"batch": [{"namespace": "batch"}], "cron": [{"namespace": "cron"}]}
    addons = {name: eks.describe_addon(clusterName=stack, addonName=name)["addon"] for name in eks.list_addons(clusterName=stack)["addons"]}
    assert sorted(addons) == sorted(["adot", "amazon-cloudwatch-observability", "aws-ebs-csi-driver", "coredns", "kube-proxy", "vpc-cni"])
    assert addons["kube-proxy"]["addonVersion"].startswith("v1.32.")
    assert addons["vpc-cni"]["serviceAccountRoleArn"].endswith(":role/cairn/{0}-eks-vpc-cni".format(stack))
    assert "serviceAccountRoleArn" not in addons["coredns"]


def test_irsa_roles_trust_the_clusters_issuer_for_one_service_account(aws):
    iam = aws("iam", "us-east-1")
    issuer = aws("eks", "us-east-1").describe_cluster(name="local-us-east-1")["cluster"]["identity"]["oidc"]["issuer"]
    provider = issuer.replace("https://", "")
    trust = iam.get_role(RoleName="local-us-east-1-eks-cluster-autoscaler")["Role"]["AssumeRolePolicyDocument"]
    statement = trust["Statement"][0]
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/" + provider)
    conditions = {k: v for block in statement["Condition"].values() for k, v in block.items()}
    assert conditions[provider + ":sub"] in ("system:serviceaccount:kube-system:cluster-autoscaler",
                                             ["system:serviceaccount:kube-system:cluster-autoscaler"])
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert any(arn.endswith("/" + provider) for arn in providers)


def test_in_cluster_objects_are_applied(emulator, converged):
    deployment = kube_get(emulator, "us-east-1", "local-us-east-1", "/apis/apps/v1/namespaces/kube-system/deployments/cluster-autoscaler")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["command"] + \
        deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])
    assert "--scale-down-utilization-threshold=0.6" in args
    assert any(a.startswith("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                            "k8s.io/cluster-autoscaler/local-us-east-1") for a in args)
    account = kube_get(emulator, "us-east-1", "local-us-east-1", "/api/v1/namespaces/kube-system/serviceaccounts/cluster-autoscaler")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("local-us-east-1-eks-cluster-autoscaler")
    hpas = kube_get(emulator, "us-east-1", "local-us-east-1", "/apis/autoscaling/v2/namespaces/apps/horizontalpodautoscalers")
    by_name = {item["metadata"]["name"]: item for item in hpas["items"]}
    assert sorted(by_name) == ["api", "web", "worker"]
    metrics = {m["type"] for m in by_name["worker"]["spec"]["metrics"]}
    assert metrics == {"Resource", "External"} and len(by_name["worker"]["spec"]["metrics"]) == 4


def test_rerun_writes_nothing_and_leaves_the_autoscalers_desired_size(emulator, aws, tmp_path):
    aws("eks", "us-east-1").update_nodegroup_config(
        clusterName="local-us-east-1", nodegroupName="apps-spot", scalingConfig={"minSize": 2, "maxSize": 20, "desiredSize": 7})
    before = len(kube_requests(emulator))
    with emulator.recording() as calls:
        changes = playbook(emulator, tmp_path)[1]
    assert changes == [] and mutating_calls(calls) == []
    kube_writes = [r for r in kube_requests(emulator)[before:] if r["method"] != "GET"]
    assert kube_writes == []
    group = aws("eks", "us-east-1").describe_nodegroup(clusterName="local-us-east-1", nodegroupName="apps-spot")["nodegroup"]
    assert group["scalingConfig"]["desiredSize"] == 7


def test_an_upgrade_is_one_minor_planned_then_applied_and_a_skip_is_refused(emulator, aws, tmp_path):
    planned = playbook(emulator, tmp_path, "--check", "-e", "compute_kubernetes_version=1.33")[1]
    primary = sorted((kind, name) for host, action, kind, name in planned if host == "local-us-east-1")
    assert all(action == "update" for _host, action, _kind, _name in planned)
    # 1.32 -> 1.33 moves the add-ons pinned per minor: CoreDNS and kube-proxy (PINNED_ADDON_VERSIONS).
    assert primary == [("Deployment", "kube-system/cluster-autoscaler"), ("eks_addon", "coredns"), ("eks_addon", "kube-proxy"),
                       ("eks_cluster", "local-us-east-1"), ("eks_nodegroup", "apps-spot"), ("eks_nodegroup", "system")]
    applied = playbook(emulator, tmp_path, "-e", "compute_kubernetes_version=1.33")[1]
    assert sorted(applied) == sorted(planned)
    eks = aws("eks", "us-east-1")
    assert eks.describe_cluster(name="local-us-east-1")["cluster"]["version"] == "1.33"
    assert {eks.describe_nodegroup(clusterName="local-us-east-1", nodegroupName=name)["nodegroup"]["version"]
            for name in ("system", "apps-spot")} == {"1.33"}

    # A skip to a minor without add-on pins is refused by the validation step, before any call (eks_cluster's own
    # refusal of a two-minor skip, which needs the version the cluster runs, is in tests/integration/test_eks_cluster.py).
    with emulator.recording() as calls:
        skipped = run_playbook(emulator, tmp_path, "-e", "compute_kubernetes_version=1.35")[0]
    assert skipped.returncode != 0, skipped.stdout[-1500:]
    assert "compute_kubernetes_version -> kubernetes_version: no add-on versions are pinned for Kubernetes 1.35" in skipped.stdout
    assert calls == []

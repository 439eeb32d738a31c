"""The eks_addons module against the local emulator: create, rerun, check mode, update, purge, delete.

moto has no add-on API; the project's emulator model (emulator/eks_fidelity.py) serves it. The cluster
itself is made directly with moto's create_cluster. Calls are counted by the emulator's recorder.
tests/unit/test_eks_addons_stubber.py covers every flow against the real EKS API model as well.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

from ansible_collections.cairn.platform.plugins.modules.eks_addons import PINNED_ADDON_VERSIONS

STACK = "test-us-east-1"
CLUSTER = "test-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/test-eks-vpc-cni"
PINS = PINNED_ADDON_VERSIONS["1.31"]


def eks():
    return boto3.client("eks", region_name="us-east-1")


def keys(result):
    return [(c["action"], c["resource_type"], c["resource"]) for c in result["changes"]]


def make_cluster(version):
    """A cluster made directly (eks_cluster is tested elsewhere)."""
    _vpc_id, subnets = vpc_with_subnets()
    eks().create_cluster(name=CLUSTER, version=version, roleArn="arn:aws:iam::123456789012:role/test-eks-cluster",
                         resourcesVpcConfig={"subnetIds": subnets, "endpointPrivateAccess": True, "endpointPublicAccess": False})
    return CLUSTER


@pytest.fixture
def cluster(aws_env):
    return make_cluster("1.31")


def args(**overrides):
    values = dict(environment="test", stack=STACK, cluster_name=CLUSTER, kubernetes_version="1.31", wait_timeout=60,
                  addons=[{"name": "vpc-cni", "service_account_role_arn": ROLE,
                           "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}},
                          {"name": "coredns"}, {"name": "kube-proxy"}])
    values.update(overrides)
    return values


@pytest.fixture
def converged(cluster):
    result = run_module("eks_addons", args(), diff=True)
    assert result["changed"] is True
    return result


def test_check_mode_writes_nothing_and_plans_what_the_real_run_does(cluster, aws_env):
    with aws_env.recording() as calls:
        planned = run_module("eks_addons", args(), check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert eks().list_addons(clusterName=CLUSTER)["addons"] == []
    applied = run_module("eks_addons", args())
    assert keys(planned) == keys(applied) == [("create", "eks_addon", "vpc-cni"), ("create", "eks_addon", "coredns"),
                                              ("create", "eks_addon", "kube-proxy")]
    assert [c["fields"] for c in planned["changes"]] == [c["fields"] for c in applied["changes"]]


def test_create_installs_pinned_versions_born_tagged(converged):
    assert sorted(eks().list_addons(clusterName=CLUSTER)["addons"]) == ["coredns", "kube-proxy", "vpc-cni"]
    cni = eks().describe_addon(clusterName=CLUSTER, addonName="vpc-cni")["addon"]
    assert cni["addonVersion"] == PINS["vpc-cni"] and cni["serviceAccountRoleArn"] == ROLE
    assert cni["tags"]["cairn:stack"] == STACK and cni["tags"]["cairn:managed-by"] == "cairn.platform"
    proxy = eks().describe_addon(clusterName=CLUSTER, addonName="kube-proxy")["addon"]
    assert proxy["addonVersion"] == PINS["kube-proxy"]
    by_name = {a["name"]: a for a in converged["addons"]}
    assert by_name["vpc-cni"]["arn"] == cni["addonArn"] and by_name["vpc-cni"]["status"] == "ACTIVE"
    assert by_name["vpc-cni"]["configuration_values"] == {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}


def test_rerun_makes_no_mutating_call(converged, aws_env):
    with aws_env.recording() as calls:
        again = run_module("eks_addons", args())
    assert mutating_calls(calls) == []
    assert again["changed"] is False and again["changes"] == []


def test_check_mode_of_an_update_equals_the_real_update(converged, aws_env):
    changed = args(addons=[{"name": "vpc-cni", "service_account_role_arn": ROLE,
                            "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "false"}}},
                           {"name": "coredns", "configuration_values": {"replicaCount": 3}},
                           {"name": "kube-proxy"}])
    with aws_env.recording() as calls:
        planned = run_module("eks_addons", changed, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_addons", changed)
    assert planned["changes"] == applied["changes"]
    operations = sorted(call.operation for call in mutating_calls(calls))
    assert operations == ["UpdateAddon", "UpdateAddon"]
    dns = eks().describe_addon(clusterName=CLUSTER, addonName="coredns")["addon"]
    assert dns["configurationValues"] and "replicaCount" in dns["configurationValues"]


def test_after_a_control_plane_upgrade_the_version_pins_follow(aws_env):
    make_cluster("1.30")
    addons = [{"name": "kube-proxy"}, {"name": "adot"}]
    run_module("eks_addons", args(kubernetes_version="1.30", addons=addons))
    assert eks().describe_addon(clusterName=CLUSTER, addonName="kube-proxy")["addon"]["addonVersion"] == "v1.30.14-eksbuild.8"
    # Add-on versions pinned for 1.31 are refused (reads only) until the control plane runs 1.31.
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failure:
            run_module("eks_addons", args(addons=addons))
    assert mutating_calls(calls) == [] and "runs Kubernetes 1.30" in failure.value.result["msg"]
    eks().update_cluster_version(name=CLUSTER, version="1.31")
    with aws_env.recording() as calls:
        planned = run_module("eks_addons", args(addons=addons), check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        result = run_module("eks_addons", args(addons=addons))
    assert planned["changes"] == result["changes"]
    [change] = result["changes"]  # adot v0.109.0 is pinned for both minors
    assert change["resource"] == "kube-proxy"
    assert change["fields"] == {"version": {"before": "v1.30.14-eksbuild.8", "after": PINS["kube-proxy"]}}
    assert [call.operation for call in mutating_calls(calls)] == ["UpdateAddon"]
    assert eks().describe_addon(clusterName=CLUSTER, addonName="kube-proxy")["addon"]["addonVersion"] == PINS["kube-proxy"]
    assert run_module("eks_addons", args(addons=addons))["changed"] is False


def test_a_downgrade_fails_with_zero_writes(converged, aws_env):
    with aws_env.recording() as calls:
        with pytest.raises(ModuleFailed) as failure:
            run_module("eks_addons", args(addons=[{"name": "kube-proxy", "version": "v1.31.3-eksbuild.2"}]))
    assert mutating_calls(calls) == []
    assert "cannot downgrade" in failure.value.result["msg"]


def test_purge_and_state_absent_delete_only_owned_add_ons(converged, aws_env):
    # An add-on created outside the stack (no ownership tags) is never deleted.
    eks().create_addon(clusterName=CLUSTER, addonName="aws-ebs-csi-driver", addonVersion=PINS["aws-ebs-csi-driver"])
    purged = run_module("eks_addons", args(addons=[{"name": "coredns"}, {"name": "kube-proxy"}]))
    assert keys(purged) == [("delete", "eks_addon", "vpc-cni")]
    assert sorted(eks().list_addons(clusterName=CLUSTER)["addons"]) == ["aws-ebs-csi-driver", "coredns", "kube-proxy"]
    with aws_env.recording() as calls:
        planned = run_module("eks_addons", dict(args(), state="absent"), check_mode=True)
    assert mutating_calls(calls) == []
    gone = run_module("eks_addons", dict(args(), state="absent"))
    assert keys(planned) == keys(gone) == [("delete", "eks_addon", "coredns"), ("delete", "eks_addon", "kube-proxy")]
    assert eks().list_addons(clusterName=CLUSTER)["addons"] == ["aws-ebs-csi-driver"]
    with aws_env.recording() as calls:
        again = run_module("eks_addons", dict(args(), state="absent"))
    assert mutating_calls(calls) == [] and again["changed"] is False


def test_a_listed_untagged_add_on_is_adopted(cluster, aws_env):
    eks().create_addon(clusterName=CLUSTER, addonName="coredns", addonVersion=PINS["coredns"])
    result = run_module("eks_addons", args(addons=[{"name": "coredns"}]))
    [change] = result["changes"]
    assert change["action"] == "update" and change["note"].startswith("adopting")
    assert result["addons"][0]["adopted"] is True
    assert eks().describe_addon(clusterName=CLUSTER, addonName="coredns")["addon"]["tags"]["cairn:stack"] == STACK
    assert run_module("eks_addons", args(addons=[{"name": "coredns"}]))["changed"] is False

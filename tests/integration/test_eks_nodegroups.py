"""The eks_nodegroups module against the local emulator: create, read back, rerun, check mode, updates, purge, delete.

The cluster, VPC and subnets are made directly with boto3 (eks_cluster and networking are tested elsewhere).
Calls are counted by the emulator's recorder. What the emulator cannot do (node version upgrades and DescribeUpdate
on plain moto, tags of node groups and profiles) is covered in tests/unit/test_eks_nodegroups_stubber.py.
"""

from __future__ import annotations

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

STACK = "test-us-east-1"
CLUSTER = STACK
ACCOUNT = "123456789012"
NODE_ROLE = "arn:aws:iam::{0}:role/{1}-eks-nodes".format(ACCOUNT, STACK)
FARGATE_ROLE = "arn:aws:iam::{0}:role/{1}-eks-fargate".format(ACCOUNT, STACK)


def eks():
    return boto3.client("eks", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def nodegroup(name):
    return eks().describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"]


def system_group(**overrides):
    group = dict(name="system", capacity_type="ON_DEMAND", instance_types=["m6i.large"], min_size=2, max_size=4,
                 labels={"cairn.io/pool": "system"},
                 taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}])
    group.update(overrides)
    return group


def spot_group(**overrides):
    group = dict(name="apps-spot", capacity_type="SPOT", instance_types=["m6i.xlarge", "m5.xlarge", "m6a.xlarge"],
                 min_size=3, max_size=30, desired_size=6, labels={"cairn.io/pool": "apps", "lifecycle": "spot"},
                 update_config={"max_unavailable_percentage": 25})
    group.update(overrides)
    return group


def profiles():
    return [{"name": "batch", "pod_execution_role_arn": FARGATE_ROLE, "selectors": [{"namespace": "batch"}]},
            {"name": "cron", "pod_execution_role_arn": FARGATE_ROLE, "selectors": [{"namespace": "cron", "labels": {"tier": "cron"}}]}]


@pytest.fixture
def base(aws_env):
    """A VPC with three private subnets and an ACTIVE cluster on them."""
    _vpc_id, subnet_ids = vpc_with_subnets(zones="abc", new_prefix=20)
    eks().create_cluster(name=CLUSTER, version="1.31", roleArn="arn:aws:iam::{0}:role/{1}-eks".format(ACCOUNT, STACK),
                         resourcesVpcConfig={"subnetIds": subnet_ids, "endpointPrivateAccess": True, "endpointPublicAccess": False})
    return dict(environment="test", stack=STACK, cluster_name=CLUSTER, kubernetes_version="1.31", node_role_arn=NODE_ROLE,
                subnet_ids=subnet_ids, node_groups=[system_group(), spot_group()], fargate_profiles=profiles(),
                tags={"owner": "platform"}, wait_timeout=60)


@pytest.fixture
def converged(base):
    result = run_module("eks_nodegroups", base, diff=True)
    assert result["changed"] is True
    return result


def test_check_mode_on_a_bare_cluster_plans_every_create_and_writes_nothing(base, aws_env):
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", base, check_mode=True, diff=True)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert eks().list_nodegroups(clusterName=CLUSTER)["nodegroups"] == []
    assert [g["arn"] for g in planned["node_groups"]] == ["(known after apply)"] * 2
    applied = run_module("eks_nodegroups", base)
    assert plan_keys(planned) == plan_keys(applied) == sorted([
        ("create", "eks_nodegroup", "system"), ("create", "eks_nodegroup", "apps-spot"),
        ("create", "eks_fargate_profile", "batch"), ("create", "eks_fargate_profile", "cron"),
    ])
    assert planned["changes"] == applied["changes"]
    assert planned["node_groups"][1]["scaling"] == applied["node_groups"][1]["scaling"] == {"min_size": 3, "max_size": 30, "desired_size": 6}


def test_create_builds_the_groups_and_profiles_as_eks_reports_them(converged, base):
    system, spot = nodegroup("system"), nodegroup("apps-spot")
    assert system["capacityType"] == "ON_DEMAND" and system["instanceTypes"] == ["m6i.large"]
    assert system["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}  # desired defaults to min
    assert system["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert system["amiType"] == "AL2023_x86_64_STANDARD" and system["diskSize"] == 50 and system["version"] == "1.31"
    assert system["nodeRole"] == NODE_ROLE and sorted(system["subnets"]) == sorted(base["subnet_ids"])
    assert spot["capacityType"] == "SPOT" and sorted(spot["instanceTypes"]) == ["m5.xlarge", "m6a.xlarge", "m6i.xlarge"]
    assert spot["scalingConfig"] == {"minSize": 3, "maxSize": 30, "desiredSize": 6}
    assert spot["labels"] == {"cairn.io/pool": "apps", "lifecycle": "spot"}
    for group in (system, spot):
        assert group["tags"]["cairn:stack"] == STACK and group["tags"]["cairn:component"] == "eks_nodegroups"
        assert group["tags"]["owner"] == "platform"
    batch = eks().describe_fargate_profile(clusterName=CLUSTER, fargateProfileName="batch")["fargateProfile"]
    assert batch["selectors"] == [{"namespace": "batch"}] or batch["selectors"] == [{"namespace": "batch", "labels": {}}]
    assert batch["podExecutionRoleArn"] == FARGATE_ROLE and batch["tags"]["cairn:managed-by"] == "cairn.platform"

    by_name = {g["name"]: g for g in converged["node_groups"]}
    assert by_name["system"]["arn"] == system["nodegroupArn"] and by_name["system"]["status"] == "ACTIVE"
    assert by_name["apps-spot"]["autoscaling_groups"] == [asg["name"] for asg in spot["resources"]["autoScalingGroups"]]
    assert [p["name"] for p in converged["fargate_profiles"]] == ["batch", "cron"]
    assert converged["fargate_profiles"][1]["selectors"] == [{"namespace": "cron", "labels": {"tier": "cron"}}]
    assert converged["cluster_version"] == "1.31" and converged["not_owned"] == []


def test_rerun_and_check_mode_rerun_make_no_mutating_call(converged, base, aws_env):
    with aws_env.recording() as calls:
        again = run_module("eks_nodegroups", base, diff=True)
        checked = run_module("eks_nodegroups", base, check_mode=True)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert again["changed"] is False and checked["changed"] is False
    assert again["changes"] == [] == checked["changes"]
    assert again["node_groups"] == checked["node_groups"]


def test_desired_size_changed_by_the_autoscaler_is_left_alone(converged, base, aws_env):
    # The cluster autoscaler scales the group behind the module's back.
    eks().update_nodegroup_config(clusterName=CLUSTER, nodegroupName="apps-spot", scalingConfig={"desiredSize": 17})
    with aws_env.recording() as calls:
        result = run_module("eks_nodegroups", base)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert result["changed"] is False
    assert nodegroup("apps-spot")["scalingConfig"]["desiredSize"] == 17
    assert next(g for g in result["node_groups"] if g["name"] == "apps-spot")["scaling"]["desired_size"] == 17


def test_new_limits_move_the_live_desired_size_only_when_it_falls_outside(converged, base, aws_env):
    eks().update_nodegroup_config(clusterName=CLUSTER, nodegroupName="apps-spot", scalingConfig={"desiredSize": 17})
    # Raising max keeps 17; lowering max to 12 moves it to 12 (reported); raising min to 20 moves it to 20.
    for max_size, min_size, expected, moved in ((40, 3, 17, False), (12, 3, 12, True), (40, 20, 20, True)):
        args = dict(base, node_groups=[system_group(), spot_group(min_size=min_size, max_size=max_size, desired_size=min_size)])
        with aws_env.recording() as calls:
            planned = run_module("eks_nodegroups", args, check_mode=True)
        assert mutating_calls(calls) == []
        applied = run_module("eks_nodegroups", args)
        assert planned["changes"] == applied["changes"]
        assert planned["node_groups"] == applied["node_groups"]
        [change] = applied["changes"]
        assert change["fields"]["scaling"]["after"] == {"min_size": min_size, "max_size": max_size, "desired_size": expected}
        assert ("note" in change) is moved
        assert nodegroup("apps-spot")["scalingConfig"] == {"minSize": min_size, "maxSize": max_size, "desiredSize": expected}


def test_label_taint_and_update_config_changes_are_planned_then_made(converged, base, aws_env):
    changed = dict(base, node_groups=[
        system_group(labels={"cairn.io/pool": "system", "team": "platform"},
                     taints=[{"key": "CriticalAddonsOnly", "effect": "NO_EXECUTE"}]),
        spot_group(labels={"cairn.io/pool": "apps"}, update_config={"max_unavailable": 2}),
    ])
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", changed, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_nodegroups", changed, diff=True)
    assert planned["changes"] == applied["changes"]
    assert planned["diff"] == applied["diff"]
    assert planned["node_groups"] == applied["node_groups"]  # check mode reports what the real run leads to
    assert count_by_operation(mutating_calls(calls)) == {"eks:UpdateNodegroupConfig": 2}
    system, spot = nodegroup("system"), nodegroup("apps-spot")
    assert system["labels"] == {"cairn.io/pool": "system", "team": "platform"}
    assert system["taints"] == [{"key": "CriticalAddonsOnly", "effect": "NO_EXECUTE"}]
    assert spot["labels"] == {"cairn.io/pool": "apps"}
    assert spot["updateConfig"] == {"maxUnavailable": 2}
    fields = {c["resource"]: c["fields"] for c in applied["changes"]}
    assert fields["apps-spot"]["labels"]["after"] == {"cairn.io/pool": "apps"}
    assert fields["apps-spot"]["update_config"] == {"before": {"max_unavailable_percentage": 25}, "after": {"max_unavailable": 2}}
    assert set(fields["system"]) == {"labels", "taints"}
    with aws_env.recording() as calls:
        assert run_module("eks_nodegroups", changed)["changed"] is False
    assert mutating_calls(calls) == []


def test_an_immutable_change_is_refused_before_any_write(converged, base, aws_env):
    args = dict(base, node_groups=[system_group(), spot_group(instance_types=["c6i.xlarge", "c5.xlarge"], disk_size=100)])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    message = failure.value.result["msg"]
    assert "node_groups[apps-spot]" in message and "instance_types, disk_size" in message
    assert "apps-spot-2" in message and "blue/green" in message
    assert mutating_calls(calls) == []
    assert nodegroup("apps-spot")["diskSize"] == 50


def test_purge_deletes_only_the_stacks_unlisted_groups_and_profiles(converged, base, aws_env):
    # A node group of someone else on the same cluster is never touched.
    eks().create_nodegroup(clusterName=CLUSTER, nodegroupName="legacy", nodeRole=NODE_ROLE, subnets=base["subnet_ids"][:1],
                           scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1}, tags={"owner": "someone"})
    fewer = dict(base, node_groups=[system_group()], fargate_profiles=profiles()[:1])
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", fewer, check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("eks_nodegroups", fewer)
    assert plan_keys(planned) == plan_keys(applied) == [("delete", "eks_fargate_profile", "cron"), ("delete", "eks_nodegroup", "apps-spot")]
    assert sorted(eks().list_nodegroups(clusterName=CLUSTER)["nodegroups"]) == ["legacy", "system"]
    assert eks().list_fargate_profiles(clusterName=CLUSTER)["fargateProfileNames"] == ["batch"]
    assert applied["not_owned"] == [{"resource_type": "eks_nodegroup", "resource": "legacy"}]
    # purge=false leaves unlisted groups alone.
    kept = run_module("eks_nodegroups", dict(base, node_groups=[], fargate_profiles=[], purge=False))
    assert kept["changed"] is False


def test_a_listed_name_that_is_not_ours_is_refused(base, aws_env):
    eks().create_nodegroup(clusterName=CLUSTER, nodegroupName="system", nodeRole=NODE_ROLE, subnets=base["subnet_ids"],
                           scalingConfig={"minSize": 2, "maxSize": 4, "desiredSize": 2})
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", base)
    assert "does not carry the ownership tags" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_changed_fargate_selector_replaces_the_profile(converged, base, aws_env):
    changed = profiles()
    changed[0]["selectors"] = [{"namespace": "batch"}, {"namespace": "reports"}]
    args = dict(base, fargate_profiles=changed)
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", args, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_nodegroups", args)
    assert planned["changes"] == applied["changes"]
    assert [(c["action"], c["resource"]) for c in applied["changes"]] == [("delete", "batch"), ("create", "batch")]
    assert "selectors changed" in applied["changes"][0]["note"]
    # Delete, wait until gone, create: one profile operation at a time.
    operations = [c.operation for c in calls if c.service == "eks"]
    assert operations.index("DeleteFargateProfile") < operations.index("CreateFargateProfile")
    batch = eks().describe_fargate_profile(clusterName=CLUSTER, fargateProfileName="batch")["fargateProfile"]
    assert sorted(s["namespace"] for s in batch["selectors"]) == ["batch", "reports"]
    assert run_module("eks_nodegroups", args)["changed"] is False


def test_absent_deletes_every_owned_group_and_profile_then_the_cluster_can_go(converged, base, aws_env):
    absent = dict(environment="test", stack=STACK, cluster_name=CLUSTER, state="absent")
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", absent, check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("eks_nodegroups", absent)
    assert plan_keys(planned) == plan_keys(applied) == sorted([
        ("delete", "eks_nodegroup", "system"), ("delete", "eks_nodegroup", "apps-spot"),
        ("delete", "eks_fargate_profile", "batch"), ("delete", "eks_fargate_profile", "cron"),
    ])
    assert eks().list_nodegroups(clusterName=CLUSTER)["nodegroups"] == []
    assert eks().list_fargate_profiles(clusterName=CLUSTER)["fargateProfileNames"] == []
    eks().delete_cluster(name=CLUSTER)  # nothing attached any more
    with aws_env.recording() as calls:
        again = run_module("eks_nodegroups", absent)
    assert again["changed"] is False and mutating_calls(calls) == []


@pytest.mark.parametrize("change,words", [
    (dict(min_size=5, max_size=3), "min_size 5 is above max_size 3"),
    (dict(desired_size=40), "desired_size: 40 is outside"),
    (dict(min_size=-1), "cannot be negative"),
    (dict(min_size=0, max_size=0, desired_size=0), "max_size: must be at least 1"),
    (dict(capacity_type="RESERVED"), "capacity_type"),
    (dict(taints=[{"key": "dedicated", "value": "x", "effect": "NO_WAY"}]), "effect"),
    (dict(labels={"bad key!": "x"}), "not a valid Kubernetes label key"),
    (dict(version="1.32"), "above kubernetes_version 1.31"),
    (dict(version="v1.31"), "major.minor"),
])
def test_bad_node_group_input_fails_before_any_call(base, aws_env, change, words):
    args = dict(base, node_groups=[system_group(), spot_group(**change)])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    assert words in failure.value.result["msg"]
    assert calls == []


def test_a_node_version_above_the_running_control_plane_is_refused_in_a_real_run(base, aws_env):
    # The cluster runs 1.31; kubernetes_version 1.32 says it is being upgraded. Check mode plans; a real run refuses.
    args = dict(base, kubernetes_version="1.32", fargate_profiles=[])
    planned = run_module("eks_nodegroups", args, check_mode=True)
    assert all(g["version"] == "1.32" for g in planned["node_groups"])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    assert "above the version the control plane runs now (1.31)" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_missing_cluster_is_planned_in_check_mode_and_refused_for_real(aws_env):
    args = dict(environment="test", stack=STACK, cluster_name="not-yet", kubernetes_version="1.31", node_role_arn=NODE_ROLE,
                subnet_ids=["subnet-0a1b2c3d"], node_groups=[system_group()], fargate_profiles=profiles()[:1])
    planned = run_module("eks_nodegroups", args, check_mode=True)
    assert plan_keys(planned) == [("create", "eks_fargate_profile", "batch"), ("create", "eks_nodegroup", "system")]
    assert planned["cluster_version"] is None
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    assert "does not exist" in failure.value.result["msg"] and "eks_cluster" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_tag_changes_of_groups_and_profiles_are_planned_then_made(converged, base, aws_env):
    retagged = dict(base, tags={"owner": "data", "cost-center": "42"})
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", retagged, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_nodegroups", retagged)
    assert planned["changes"] == applied["changes"]
    assert plan_keys(applied) == sorted([("update", "eks_nodegroup", "system"), ("update", "eks_nodegroup", "apps-spot"),
                                         ("update", "eks_fargate_profile", "batch"), ("update", "eks_fargate_profile", "cron")])
    assert count_by_operation(mutating_calls(calls)) == {"eks:TagResource": 4}
    tags = nodegroup("system")["tags"]
    assert tags["owner"] == "data" and tags["cost-center"] == "42" and tags["cairn:stack"] == STACK
    assert run_module("eks_nodegroups", retagged)["changed"] is False


def test_node_groups_follow_the_control_plane_upgrade_one_by_one(aws_env, base):
    # A cluster at 1.30 with its node groups, then the control plane goes to 1.31 (eks_cluster's job).
    eks().delete_cluster(name=CLUSTER)
    eks().create_cluster(name=CLUSTER, version="1.30", roleArn="arn:aws:iam::{0}:role/{1}-eks".format(ACCOUNT, STACK),
                         resourcesVpcConfig={"subnetIds": base["subnet_ids"]})
    old = dict(base, kubernetes_version="1.30", fargate_profiles=[])
    assert all(g["version"] == "1.30" for g in run_module("eks_nodegroups", old)["node_groups"])
    eks().update_cluster_version(name=CLUSTER, version="1.31")
    # Holding one group back (version 1.30) is allowed; the other follows the control plane.
    args = dict(base, fargate_profiles=[], node_groups=[system_group(), spot_group(version="1.30")])
    with aws_env.recording() as calls:
        planned = run_module("eks_nodegroups", args, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        applied = run_module("eks_nodegroups", args)
    assert planned["changes"] == applied["changes"]
    [change] = applied["changes"]
    assert (change["resource"], change["fields"]) == ("system", {"version": {"before": "1.30", "after": "1.31"}})
    assert change["note"].startswith("rolling update of the nodes")
    assert count_by_operation(mutating_calls(calls)) == {"eks:UpdateNodegroupVersion": 1}
    assert nodegroup("system")["version"] == "1.31" and nodegroup("apps-spot")["version"] == "1.30"
    # Check mode reports the outcome, except the AMI release EKS picks for the new version.
    assert planned["node_groups"][0].pop("release_version") == "(known after apply)"
    assert applied["node_groups"][0].pop("release_version").startswith("1.31")
    assert planned["node_groups"] == applied["node_groups"]
    # Then the held-back group follows.
    with aws_env.recording() as calls:
        applied = run_module("eks_nodegroups", dict(args, node_groups=[system_group(), spot_group()]))
    assert [c["resource"] for c in applied["changes"]] == ["apps-spot"]
    assert nodegroup("apps-spot")["version"] == "1.31"
    with aws_env.recording() as calls:
        assert run_module("eks_nodegroups", dict(args, node_groups=[system_group(), spot_group()]))["changed"] is False
    assert mutating_calls(calls) == []


def test_a_new_node_group_below_the_control_plane_is_refused_before_any_write(base, aws_env):
    args = dict(base, node_groups=[system_group(version="1.30")])
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    assert "a new node group starts at the control plane's version 1.31" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_a_replaced_profile_is_born_with_new_tags_and_check_mode_plans_exactly_that(converged, base, aws_env):
    changed = profiles()
    changed[1]["selectors"] = [{"namespace": "cron"}]
    args = dict(base, fargate_profiles=changed, tags={"owner": "data"})
    planned = run_module("eks_nodegroups", args, check_mode=True)
    applied = run_module("eks_nodegroups", args)
    assert planned["changes"] == applied["changes"]
    assert [(c["action"], c["resource"]) for c in applied["changes"] if c["resource"] == "cron"] == [("delete", "cron"), ("create", "cron")]
    cron = eks().describe_fargate_profile(clusterName=CLUSTER, fargateProfileName="cron")["fargateProfile"]
    assert cron["tags"]["owner"] == "data"
    assert run_module("eks_nodegroups", args)["changed"] is False

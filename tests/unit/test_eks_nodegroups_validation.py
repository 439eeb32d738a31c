"""eks_nodegroups: input checks (before any API call) and the pure planning of updates."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.eks_nodegroups import (
    build_spec,
    check_label_key,
    config_note,
    config_request,
    desired_scaling,
    immutable_differences,
    live_nodegroup,
    live_profile,
    normalize_selectors,
    profile_differences,
    suggest_new_name,
)

NODE_ROLE = "arn:aws:iam::123456789012:role/prod-us-east-1-eks-nodes"
FARGATE_ROLE = "arn:aws:iam::123456789012:role/prod-us-east-1-eks-fargate"
SUBNETS = ["subnet-0c", "subnet-0a", "subnet-0b"]


def params(**overrides):
    """Module parameters as AnsibleModule hands them over (defaults filled), for build_spec."""
    value = dict(
        state="present", cluster_name="prod-us-east-1", kubernetes_version="1.31", node_role_arn=NODE_ROLE, subnet_ids=SUBNETS,
        purge=True, wait=True, wait_timeout=1800,
        node_groups=[dict(name="system", capacity_type="ON_DEMAND", instance_types=["m6i.large"], ami_type="AL2023_x86_64_STANDARD",
                          disk_size=50, min_size=2, max_size=4, desired_size=None, labels={}, taints=[], update_config=None,
                          version=None, subnet_ids=None)],
        fargate_profiles=[dict(name="batch", pod_execution_role_arn=FARGATE_ROLE, selectors=[{"namespace": "batch", "labels": {}}],
                               subnet_ids=None)],
    )
    value.update(overrides)
    return value


def group(**overrides):
    value = copy.deepcopy(params()["node_groups"][0])
    value.update(overrides)
    return value


def refused(*words, **overrides):
    with pytest.raises(InputError) as failure:
        build_spec(params(**overrides))
    for word in words:
        assert word in failure.value.message, failure.value.message
    return failure.value.message


def test_a_valid_spec_fills_the_defaults():
    spec = build_spec(params())
    [system] = spec["node_groups"]
    assert system["scaling"] == {"min_size": 2, "max_size": 4, "desired_size": 2}  # desired defaults to min
    assert system["update_config"] == {"max_unavailable_percentage": 33}
    assert system["version"] == "1.31" and system["subnet_ids"] == sorted(SUBNETS)
    assert spec["fargate_profiles"][0]["selectors"] == [{"namespace": "batch", "labels": {}}]
    assert spec["warnings"] == []


def test_absent_needs_only_the_cluster_name():
    spec = build_spec(params(state="absent", kubernetes_version=None, node_groups=[], fargate_profiles=[]))
    assert spec["node_groups"] == [] and spec["state"] == "absent"


# ---- sizes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes,words", [
    (dict(min_size=5, max_size=3), ["node_groups[system]", "min_size 5 is above max_size 3"]),
    (dict(min_size=1, max_size=3, desired_size=4), ["node_groups[system].desired_size", "4 is outside [min_size 1, max_size 3]"]),
    (dict(min_size=2, max_size=3, desired_size=1), ["desired_size", "1 is outside"]),
    (dict(min_size=-1, max_size=3), ["node_groups[system].min_size", "negative"]),
    (dict(min_size=0, max_size=3, desired_size=-2), ["desired_size", "negative"]),
    (dict(min_size=0, max_size=0), ["node_groups[system].max_size", "at least 1"]),
    (dict(min_size=0, max_size=-1), ["node_groups[system].max_size", "negative"]),
    (dict(min_size=1, max_size=451), ["node_groups[system].max_size", "451 is above 450"]),
    (dict(min_size=3, max_size=3, desired_size=4), ["desired_size", "4 is outside [min_size 3, max_size 3]"]),
    (dict(min_size=3, max_size=2, desired_size=2), ["min_size 3 is above max_size 2"]),
])
def test_sizes_are_checked(sizes, words):
    refused(*words, node_groups=[group(**sizes)])


def test_the_eks_maximum_of_450_nodes_is_allowed():
    spec = build_spec(params(node_groups=[group(min_size=1, max_size=450, desired_size=450)]))
    assert spec["node_groups"][0]["scaling"] == {"min_size": 1, "max_size": 450, "desired_size": 450}


def test_zero_minimum_is_allowed():
    spec = build_spec(params(node_groups=[group(min_size=0, max_size=3, desired_size=1)]))
    assert spec["node_groups"][0]["scaling"] == {"min_size": 0, "max_size": 3, "desired_size": 1}


# ---- capacity, instance types, AMI, disk ----------------------------------------------------------
def test_unknown_capacity_type():
    refused("node_groups[system].capacity_type", "'RESERVED'", "ON_DEMAND, SPOT", node_groups=[group(capacity_type="RESERVED")])


def test_spot_with_one_instance_type_warns_and_with_several_does_not():
    spec = build_spec(params(node_groups=[group(capacity_type="SPOT", instance_types=["m6i.large"])]))
    assert len(spec["warnings"]) == 1 and "at least two" in spec["warnings"][0]
    spec = build_spec(params(node_groups=[group(capacity_type="SPOT", instance_types=["m6i.large", "m5.large"])]))
    assert spec["warnings"] == []


@pytest.mark.parametrize("types,words", [
    ([], ["instance_types", "at least one"]),
    (["m6i large"], ["not an EC2 instance type"]),
    (["m6i.large", "m6i.large"], ["listed twice"]),
])
def test_instance_types_are_checked(types, words):
    refused(*words, node_groups=[group(instance_types=types)])


def test_unknown_ami_type_and_disk_size():
    refused("ami_type", "'AL3_x86_64'", node_groups=[group(ami_type="AL3_x86_64")])
    refused("disk_size", "1 to 16384", node_groups=[group(disk_size=0)])


# ---- labels and taints ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["bad key", "-leading", "trailing-", "Upper.Case/name", "a/b/c", "x" * 64, "/name", ""])
def test_invalid_label_keys(key):
    refused("node_groups[system].labels", node_groups=[group(labels={key: "v"})])


@pytest.mark.parametrize("key", ["app", "cairn.io/pool", "node.kubernetes.io/lifecycle", "a_b.c-d", "k8s.example.com/x"])
def test_valid_label_keys(key):
    assert check_label_key("labels", key) == key


def test_label_values_are_checked_and_booleans_become_kubernetes_strings():
    refused("not a valid Kubernetes label value", node_groups=[group(labels={"team": "has space"})])
    refused("not a valid Kubernetes label value", node_groups=[group(labels={"team": ""})])
    refused("single string value", node_groups=[group(labels={"team": {"a": 1}})])
    spec = build_spec(params(node_groups=[group(labels={"spot": True, "size": 3})]))
    assert spec["node_groups"][0]["labels"] == {"size": "3", "spot": "true"}


def test_taints_are_checked():
    refused("effect", "'NO_WAY'", "NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE",
            node_groups=[group(taints=[{"key": "dedicated", "value": "x", "effect": "NO_WAY"}])])
    refused("taint dedicated with effect NO_SCHEDULE is listed twice",
            node_groups=[group(taints=[{"key": "dedicated", "value": "a", "effect": "NO_SCHEDULE"},
                                       {"key": "dedicated", "value": "b", "effect": "NO_SCHEDULE"}])])
    refused("not a valid Kubernetes label key", node_groups=[group(taints=[{"key": "bad key", "effect": "NO_SCHEDULE"}])])
    refused("at most 50 taints", node_groups=[group(taints=[{"key": "k{0}".format(i), "effect": "NO_SCHEDULE"} for i in range(51)])])
    spec = build_spec(params(node_groups=[group(taints=[{"key": "b", "value": "", "effect": "NO_EXECUTE"},
                                                        {"key": "a", "value": "x", "effect": "NO_SCHEDULE"}])]))
    assert spec["node_groups"][0]["taints"] == [{"key": "a", "value": "x", "effect": "NO_SCHEDULE"},
                                                {"key": "b", "value": None, "effect": "NO_EXECUTE"}]


def test_update_config_is_checked():
    refused("update_config.max_unavailable_percentage", "1 to 100",
            node_groups=[group(update_config={"max_unavailable": None, "max_unavailable_percentage": 0})])
    refused("not both", node_groups=[group(update_config={"max_unavailable": 1, "max_unavailable_percentage": 10})])
    spec = build_spec(params(node_groups=[group(update_config={"max_unavailable": 2, "max_unavailable_percentage": None})]))
    assert spec["node_groups"][0]["update_config"] == {"max_unavailable": 2}


# ---- versions -------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides,words", [
    (dict(kubernetes_version="1.31.2"), ["kubernetes_version", "major.minor"]),
    (dict(kubernetes_version="v1.31"), ["kubernetes_version", "major.minor"]),
    (dict(kubernetes_version=None), ["kubernetes_version: required"]),
    (dict(node_groups=[group(version="1.32")]), ["node_groups[system].version", "1.32 is above kubernetes_version 1.31"]),
    (dict(node_groups=[group(version="2.0")]), ["node_groups[system].version", "major.minor"]),
])
def test_versions_are_checked(overrides, words):
    refused(*words, **overrides)


@pytest.mark.parametrize("overrides,words", [
    (dict(kubernetes_version="1.36"), ["kubernetes_version: EKS does not offer Kubernetes 1.36; it offers 1.29, 1.30"]),
    (dict(node_groups=[group(version="1.28")]), ["node_groups[system].version: Kubernetes 1.28 reached the end of EKS extended "
                                                 "support on 2025-11-26"]),
    (dict(node_groups=[group(version="1.27")]), ["node_groups[system].version: EKS does not offer Kubernetes 1.27"]),
])
def test_versions_eks_does_not_offer_are_refused(overrides, words):
    refused(*words, **overrides)


def test_a_node_version_behind_the_control_plane_is_allowed():
    assert build_spec(params(node_groups=[group(version="1.29")]))["node_groups"][0]["version"] == "1.29"


# ---- names, roles, subnets ------------------------------------------------------------------------
def test_duplicate_names_are_refused():
    refused("node_groups", "system is listed more than once", node_groups=[group(), group()])
    profile = params()["fargate_profiles"][0]
    refused("fargate_profiles", "batch is listed more than once", fargate_profiles=[profile, profile])


def test_names_roles_and_subnets_are_checked():
    refused("node_groups[bad name].name", node_groups=[group(name="bad name")])
    refused("node_role_arn: required", node_role_arn=None)
    refused("node_role_arn", "not an IAM role ARN", node_role_arn="arn:aws:iam::123:user/x")
    refused("subnet_ids", "at least one subnet", subnet_ids=[])
    refused("node_groups[system].subnet_ids", "not a subnet id", node_groups=[group(subnet_ids=["sn-1"])])
    refused("subnet_ids", "listed twice", subnet_ids=["subnet-0a", "subnet-0a"])


def test_values_only_planned_by_an_earlier_task_pass_the_checks():
    spec = build_spec(params(node_role_arn=UNKNOWN, subnet_ids=[UNKNOWN]))
    assert spec["node_groups"][0]["node_role_arn"] == UNKNOWN


def test_an_override_of_the_subnets_wins():
    spec = build_spec(params(node_groups=[group(subnet_ids=["subnet-0f"])]))
    assert spec["node_groups"][0]["subnet_ids"] == ["subnet-0f"]


# ---- Fargate profiles -----------------------------------------------------------------------------
def profile(**overrides):
    value = copy.deepcopy(params()["fargate_profiles"][0])
    value.update(overrides)
    return value


@pytest.mark.parametrize("selectors,words", [
    ([], ["fargate_profiles[batch].selectors", "1 to 5 selectors; got 0"]),
    ([{"namespace": "ns{0}".format(i)} for i in range(6)], ["1 to 5 selectors; got 6"]),
    ([{"namespace": "", "labels": {}}], ["needs a namespace"]),
    ([{"namespace": None, "labels": {}}], ["needs a namespace"]),
    ([{"namespace": "Batch_Jobs", "labels": {}}], ["not a Kubernetes namespace name"]),
    ([{"namespace": "batch", "labels": {"l{0}".format(i): "v" for i in range(6)}}], ["at most 5 labels; got 6"]),
    ([{"namespace": "batch", "labels": {"bad key": "v"}}], ["not a valid Kubernetes label key"]),
    ([{"namespace": "batch", "labels": {}}, {"namespace": "batch", "labels": {}}], ["selector is listed twice"]),
])
def test_fargate_selectors_are_checked(selectors, words):
    refused(*words, fargate_profiles=[profile(selectors=selectors)])


def test_fargate_role_is_checked():
    refused("fargate_profiles[batch].pod_execution_role_arn", fargate_profiles=[profile(pod_execution_role_arn="nope")])


def test_argument_spec_rejects_unknown_choices_before_the_module_runs():
    """capacity_type and taint effects are choices: AnsibleModule refuses them before any code of ours runs."""
    from ansible_collections.cairn.platform.plugins.modules import eks_nodegroups
    from support.modules import ModuleFailed, run_module

    assert eks_nodegroups.ARGUMENT_SPEC["node_groups"]["options"]["capacity_type"]["choices"] == ["ON_DEMAND", "SPOT"]
    args = dict(environment="prod", stack="s", cluster_name="c", kubernetes_version="1.31", node_role_arn=NODE_ROLE,
                subnet_ids=SUBNETS, node_groups=[dict(name="x", instance_types=["m6i.large"], min_size=1, max_size=2,
                                                      capacity_type="CAPACITY_BLOCK")])
    with pytest.raises(ModuleFailed) as failure:
        run_module("eks_nodegroups", args)
    assert "capacity_type" in failure.value.result["msg"] and "CAPACITY_BLOCK" in failure.value.result["msg"]


# ---- planning ---------------------------------------------------------------------------------------
def live(**overrides):
    answer = {"capacityType": "SPOT", "instanceTypes": ["m6i.xlarge", "m5.xlarge"], "amiType": "AL2023_x86_64_STANDARD",
              "diskSize": 50, "scalingConfig": {"minSize": 3, "maxSize": 30, "desiredSize": 17}, "labels": {"a": "1", "b": "2"},
              "taints": [{"key": "t", "value": "v", "effect": "NO_SCHEDULE"}, {"key": "u", "effect": "NO_EXECUTE"}],
              "updateConfig": {"maxUnavailablePercentage": 33}, "version": "1.31", "subnets": ["subnet-0b", "subnet-0a"],
              "nodeRole": NODE_ROLE}
    answer.update(overrides)
    return live_nodegroup(answer)


@pytest.mark.parametrize("low,high,expected", [(3, 40, 17), (3, 12, 12), (20, 40, 20), (17, 17, 17), (0, 30, 17)])
def test_desired_size_moves_only_when_the_new_limits_exclude_it(low, high, expected):
    after = desired_scaling({"min_size": 3, "max_size": 30, "desired_size": 17}, {"min_size": low, "max_size": high, "desired_size": low})
    assert after == {"min_size": low, "max_size": high, "desired_size": expected}


def state(node, **overrides):
    value = {key: copy.deepcopy(node[key]) for key in ("labels", "taints", "scaling", "update_config")}
    value.update(overrides)
    return value


def test_config_request_sends_only_what_differs_and_never_desired_size_when_it_stays():
    before = state(live())
    assert config_request(before, state(live())) == {}
    after = state(live(), labels={"a": "1", "b": "3", "c": "4"}, scaling={"min_size": 3, "max_size": 40, "desired_size": 17})
    assert config_request(before, after) == {"labels": {"addOrUpdateLabels": {"b": "3", "c": "4"}},
                                             "scalingConfig": {"minSize": 3, "maxSize": 40}}
    assert config_note(before, after) is None


def test_config_request_removes_labels_and_taints_and_moves_desired_when_it_must():
    before = state(live())
    after = state(live(), labels={"a": "1"}, taints=[{"key": "t", "value": "w", "effect": "NO_SCHEDULE"}],
                  scaling={"min_size": 3, "max_size": 10, "desired_size": 10}, update_config={"max_unavailable": 2})
    assert config_request(before, after) == {
        "labels": {"removeLabels": ["b"]},
        "taints": {"addOrUpdateTaints": [{"key": "t", "value": "w", "effect": "NO_SCHEDULE"}],
                   "removeTaints": [{"key": "u", "effect": "NO_EXECUTE"}]},
        "scalingConfig": {"minSize": 3, "maxSize": 10, "desiredSize": 10},
        "updateConfig": {"maxUnavailable": 2},
    }
    assert config_note(before, after) == "the live desired size 17 is outside the new limits and moves to 10"


def test_a_missing_update_config_in_the_answer_reads_as_unset():
    assert live(updateConfig=None)["update_config"] == {}


def test_immutable_differences_ignore_order_and_values_still_unknown():
    desired = {"capacity_type": "SPOT", "instance_types": ["m5.xlarge", "m6i.xlarge"], "ami_type": "AL2023_x86_64_STANDARD",
               "disk_size": 50, "subnet_ids": ["subnet-0a", "subnet-0b"], "node_role_arn": NODE_ROLE}
    assert immutable_differences(live(), desired) == []
    assert immutable_differences(live(), dict(desired, node_role_arn=UNKNOWN, subnet_ids=[UNKNOWN])) == []
    changed = dict(desired, capacity_type="ON_DEMAND", ami_type="AL2023_ARM_64_STANDARD", disk_size=100)
    assert [difference[0] for difference in immutable_differences(live(), changed)] == ["capacity_type", "ami_type", "disk_size"]
    # A node group built from a launch template reports no disk size: nothing to compare.
    assert immutable_differences(live(diskSize=None), desired) == []


def test_the_blue_green_name_suggestion():
    assert suggest_new_name("apps", {"apps"}) == "apps-2"
    assert suggest_new_name("apps-2", {"apps-2"}) == "apps-3"
    assert suggest_new_name("apps", {"apps", "apps-2"}) == "apps-3"


def test_fargate_profile_differences():
    answer = {"podExecutionRoleArn": FARGATE_ROLE, "subnets": ["subnet-0b", "subnet-0a"],
              "selectors": [{"namespace": "cron", "labels": {"tier": "cron"}}, {"namespace": "batch"}]}
    current = live_profile(answer)
    desired = {"pod_execution_role_arn": FARGATE_ROLE, "subnet_ids": ["subnet-0a", "subnet-0b"],
               "selectors": normalize_selectors([{"namespace": "batch", "labels": {}}, {"namespace": "cron", "labels": {"tier": "cron"}}])}
    assert profile_differences(current, desired) == []
    assert profile_differences(current, dict(desired, selectors=normalize_selectors([{"namespace": "batch"}]))) == ["selectors"]
    assert profile_differences(current, dict(desired, pod_execution_role_arn=UNKNOWN)) == []

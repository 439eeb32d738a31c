"""eks_nodegroups paths the emulator lacks, driven by botocore Stubber.

Plain moto has no UpdateNodegroupVersion and no DescribeUpdate, answers every update as already Successful,
creates and deletes at once (no CREATING/UPDATING/DELETING), and tags clusters only. Stubber checks every request
below against the real EKS API model (and the expected parameters), and every canned response against the model's
output shape, without any network traffic.
"""

from __future__ import annotations

import datetime
import time

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.eks_nodegroups import (
    ARGUMENT_SPEC,
    COMPONENT,
    NodegroupsConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

CLUSTER = "prod-us-east-1"
ACCOUNT = "123456789012"
NODE_ROLE = "arn:aws:iam::{0}:role/prod-us-east-1-eks-nodes".format(ACCOUNT)
FARGATE_ROLE = "arn:aws:iam::{0}:role/prod-us-east-1-eks-fargate".format(ACCOUNT)
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
OWNED = {"cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": "eks_nodegroups",
         "cairn:managed-by": "cairn.platform"}
NOW = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)
SYSTEM = dict(name="system", instance_types=["m6i.large"], min_size=2, max_size=4, labels={"cairn.io/pool": "system"},
              taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}])
BASE = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
            cluster_name=CLUSTER, kubernetes_version="1.31", node_role_arn=NODE_ROLE, subnet_ids=SUBNETS,
            node_groups=[SYSTEM], fargate_profiles=[])


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Waiters and polls sleep between attempts; the canned answers need no real time to pass."""
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def make_converger(check_mode=False, **args):
    module_args = dict(BASE, _ansible_check_mode=check_mode, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = NodegroupsConverger(cm, build_spec(cm.params))
    assert converger.eks is cm.client("eks")
    return converger


def cluster(version="1.31", status="ACTIVE"):
    return {"cluster": {"name": CLUSTER, "arn": "arn:aws:eks:us-east-1:{0}:cluster/{1}".format(ACCOUNT, CLUSTER),
                        "version": version, "status": status}}


def nodegroup_arn(name):
    return "arn:aws:eks:us-east-1:{0}:nodegroup/{1}/{2}/0ac9a5c1-1c3e-4a6e-9d1f-1c2b3d4e5f60".format(ACCOUNT, CLUSTER, name)


def profile_arn(name):
    return "arn:aws:eks:us-east-1:{0}:fargateprofile/{1}/{2}/5ac9a5c1-1c3e-4a6e-9d1f-1c2b3d4e5f60".format(ACCOUNT, CLUSTER, name)


def system_nodegroup(**overrides):
    """The system node group as DescribeNodegroup reports one that matches BASE."""
    group = {
        "nodegroupName": "system", "nodegroupArn": nodegroup_arn("system"), "clusterName": CLUSTER, "version": "1.31",
        "releaseVersion": "1.31.2-20241121", "status": "ACTIVE", "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 3}, "instanceTypes": ["m6i.large"], "subnets": SUBNETS,
        "amiType": "AL2023_x86_64_STANDARD", "nodeRole": NODE_ROLE, "labels": {"cairn.io/pool": "system"},
        "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}], "diskSize": 50,
        "resources": {"autoScalingGroups": [{"name": "eks-system-0ac9a5c1"}]}, "health": {"issues": []},
        "updateConfig": {"maxUnavailablePercentage": 33}, "tags": dict(OWNED),
    }
    group.update(overrides)
    return {"nodegroup": group}


def update(update_id, status, kind="VersionUpdate", errors=None):
    return {"update": {"id": update_id, "status": status, "type": kind, "params": [], "createdAt": NOW, "errors": errors or []}}


def read_cluster(stub, nodegroups=(), profiles=(), version="1.31", status="ACTIVE"):
    stub.add_response("describe_cluster", cluster(version, status), {"name": CLUSTER})
    stub.add_response("list_nodegroups", {"nodegroups": [g["nodegroup"]["nodegroupName"] for g in nodegroups]}, {"clusterName": CLUSTER})
    for group in nodegroups:
        stub.add_response("describe_nodegroup", group, {"clusterName": CLUSTER, "nodegroupName": group["nodegroup"]["nodegroupName"]})
    stub.add_response("list_fargate_profiles", {"fargateProfileNames": [p["fargateProfile"]["fargateProfileName"] for p in profiles]},
                      {"clusterName": CLUSTER})
    for profile in profiles:
        stub.add_response("describe_fargate_profile", profile,
                          {"clusterName": CLUSTER, "fargateProfileName": profile["fargateProfile"]["fargateProfileName"]})


# ---- node version upgrades: UpdateNodegroupVersion + DescribeUpdate (no route in moto) -------------
def test_a_node_group_behind_the_control_plane_is_upgraded_and_the_update_followed_to_its_end():
    converger = make_converger()
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(version="1.30")])
        stub.add_response("update_nodegroup_version", update("u-1", "InProgress"),
                          {"clusterName": CLUSTER, "nodegroupName": "system", "version": "1.31", "clientRequestToken": ANY})
        stub.add_response("describe_update", update("u-1", "InProgress"), {"name": CLUSTER, "updateId": "u-1", "nodegroupName": "system"})
        stub.add_response("describe_update", update("u-1", "Successful"), {"name": CLUSTER, "updateId": "u-1", "nodegroupName": "system"})
        stub.add_response("describe_nodegroup", system_nodegroup(), {"clusterName": CLUSTER, "nodegroupName": "system"})  # result
        result = converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert (change["action"], change["resource_type"], change["resource"]) == ("update", "eks_nodegroup", "system")
    assert change["fields"] == {"version": {"before": "1.30", "after": "1.31"}}
    assert change["note"] == "rolling update of the nodes (max_unavailable_percentage=33)"
    assert result["node_groups"][0]["version"] == "1.31"
    assert result["node_groups"][0]["scaling"]["desired_size"] == 3


def test_check_mode_plans_the_upgrade_without_writing_and_reports_the_planned_version():
    converger = make_converger(check_mode=True)
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(version="1.30")])
        result = converger.present()  # a write here would find no queued response and fail
        stub.assert_no_pending_responses()
    assert [c["fields"] for c in converger.plan.changes] == [{"version": {"before": "1.30", "after": "1.31"}}]
    assert result["node_groups"][0]["version"] == "1.31"


def test_check_mode_plans_an_upgrade_to_a_version_the_control_plane_is_only_planned_to_reach():
    converger = make_converger(check_mode=True, kubernetes_version="1.32")
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(version="1.31")], version="1.31")
        converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["fields"] == {"version": {"before": "1.31", "after": "1.32"}}
    assert change["note"].endswith("after the control plane's upgrade to 1.32")


def test_a_failed_upgrade_fails_the_run_with_the_errors_eks_reports():
    converger = make_converger()
    errors = [{"errorCode": "PodEvictionFailure", "errorMessage": "Reached max retries while trying to evict pods from nodes",
               "resourceIds": ["i-0abc"]}]
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(version="1.30")])
        stub.add_response("update_nodegroup_version", update("u-2", "InProgress"))
        stub.add_response("describe_update", update("u-2", "Failed", errors=errors))
        with pytest.raises(CairnError) as failure:
            converger.present()
        stub.assert_no_pending_responses()
    message = failure.value.message
    assert "upgrade of node group system to 1.31" in message and "Failed" in message
    assert "PodEvictionFailure: Reached max retries" in message


def test_an_upgrade_that_outlasts_wait_timeout_is_reported_as_a_timeout():
    converger = make_converger(wait_timeout=0)
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(version="1.30")])
        stub.add_response("update_nodegroup_version", update("u-3", "InProgress"))
        stub.add_response("describe_update", update("u-3", "InProgress"))
        with pytest.raises(CairnError, match="Timed out waiting for the upgrade of node group system"):
            converger.present()


def test_a_node_version_above_the_running_control_plane_or_a_downgrade_is_refused_before_any_write():
    converger = make_converger(kubernetes_version="1.32")
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup()], version="1.31")
        with pytest.raises(CairnError, match=r"above the version the control plane runs now \(1.31\)"):
            converger.present()
    converger = make_converger(node_groups=[dict(SYSTEM, version="1.30")])
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup()])
        with pytest.raises(CairnError, match="EKS cannot downgrade nodes to 1.30"):
            converger.present()


# ---- configuration updates: in progress on AWS, Successful at once on moto --------------------------
def test_a_config_update_in_progress_is_followed_with_describe_update_and_desired_size_stays():
    converger = make_converger(node_groups=[dict(SYSTEM, max_size=6, labels={"cairn.io/pool": "system", "team": "platform"},
                                                 taints=[])])
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup()])
        stub.add_response("update_nodegroup_config", update("c-1", "InProgress", "ConfigUpdate"), {
            "clusterName": CLUSTER, "nodegroupName": "system", "clientRequestToken": ANY,
            "labels": {"addOrUpdateLabels": {"team": "platform"}},
            "taints": {"removeTaints": [{"key": "CriticalAddonsOnly", "effect": "NO_SCHEDULE"}]},
            "scalingConfig": {"minSize": 2, "maxSize": 6},  # no desiredSize: the autoscaler owns it
        })
        stub.add_response("describe_update", update("c-1", "Successful", "ConfigUpdate"),
                          {"name": CLUSTER, "updateId": "c-1", "nodegroupName": "system"})
        stub.add_response("describe_nodegroup", system_nodegroup(), {"clusterName": CLUSTER, "nodegroupName": "system"})
        converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["fields"]["scaling"] == {"before": {"min_size": 2, "max_size": 4, "desired_size": 3},
                                           "after": {"min_size": 2, "max_size": 6, "desired_size": 3}}
    assert "note" not in change


def test_a_node_group_still_updating_is_waited_for_before_the_next_update():
    converger = make_converger(node_groups=[dict(SYSTEM, labels={})])
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(status="UPDATING")])
        stub.add_response("describe_nodegroup", system_nodegroup(status="UPDATING"))  # waiter: still updating
        stub.add_response("describe_nodegroup", system_nodegroup())  # waiter: ACTIVE
        stub.add_response("update_nodegroup_config", update("c-2", "Successful", "ConfigUpdate"), {
            "clusterName": CLUSTER, "nodegroupName": "system", "clientRequestToken": ANY,
            "labels": {"removeLabels": ["cairn.io/pool"]}})
        stub.add_response("describe_nodegroup", system_nodegroup(labels={}))
        converger.present()
        stub.assert_no_pending_responses()


# ---- creation: the request as the API model defines it, then bounded waits ---------------------------
def test_create_sends_every_field_born_tagged_and_waits_until_active():
    spot = dict(name="apps-spot", capacity_type="SPOT", instance_types=["m6i.xlarge", "m5.xlarge"], min_size=3, max_size=30,
                desired_size=6, labels={"lifecycle": "spot"}, update_config={"max_unavailable": 2}, disk_size=80)
    converger = make_converger(node_groups=[spot], tags={"owner": "platform"})
    created = dict(system_nodegroup()["nodegroup"], nodegroupName="apps-spot", nodegroupArn=nodegroup_arn("apps-spot"), status="CREATING")
    with Stubber(converger.eks) as stub:
        read_cluster(stub)
        stub.add_response("create_nodegroup", {"nodegroup": created}, {
            "clusterName": CLUSTER, "nodegroupName": "apps-spot",
            "scalingConfig": {"minSize": 3, "maxSize": 30, "desiredSize": 6}, "diskSize": 80, "subnets": SUBNETS,
            "instanceTypes": ["m6i.xlarge", "m5.xlarge"], "amiType": "AL2023_x86_64_STANDARD", "nodeRole": NODE_ROLE,
            "capacityType": "SPOT", "labels": {"lifecycle": "spot"}, "updateConfig": {"maxUnavailable": 2}, "version": "1.31",
            "tags": dict(OWNED, owner="platform"), "clientRequestToken": ANY,
        })
        stub.add_response("describe_nodegroup", {"nodegroup": created})  # waiter: CREATING
        stub.add_response("describe_nodegroup", {"nodegroup": dict(created, status="ACTIVE")})  # waiter: ACTIVE
        stub.add_response("describe_nodegroup", {"nodegroup": dict(created, status="ACTIVE")})  # result
        result = converger.present()
        stub.assert_no_pending_responses()
    assert result["node_groups"][0]["status"] == "ACTIVE"
    assert converger.plan.changes[0]["note"] == "desired size 6 now; the cluster autoscaler owns it afterwards"


def test_a_node_group_that_failed_to_create_is_reported_with_its_health_issues():
    converger = make_converger()
    issue = {"code": "AsgInstanceLaunchFailures", "message": "Could not launch Spot Instances"}
    failed = system_nodegroup(status="CREATE_FAILED", health={"issues": [issue]})
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [failed])
        with pytest.raises(CairnError, match="CREATE_FAILED \\(Could not launch Spot Instances\\)"):
            converger.present()


# ---- tags: moto tags clusters only ---------------------------------------------------------------------
def test_tag_drift_on_a_node_group_is_set_and_removed_with_tag_and_untag_resource():
    converger = make_converger(tags={"owner": "platform"})
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(tags=dict(OWNED, owner="someone", stale="x"))])
        stub.add_response("tag_resource", {}, {"resourceArn": nodegroup_arn("system"), "tags": {"owner": "platform"}})
        stub.add_response("untag_resource", {}, {"resourceArn": nodegroup_arn("system"), "tagKeys": ["stale"]})
        stub.add_response("describe_nodegroup", system_nodegroup(tags=dict(OWNED, owner="platform")))
        converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["fields"]["tags"]["after"] == dict(OWNED, owner="platform")


# ---- Fargate: one profile operation per cluster at a time -----------------------------------------------
def profile(name, namespace, status="ACTIVE", **overrides):
    answer = {"fargateProfileName": name, "fargateProfileArn": profile_arn(name), "clusterName": CLUSTER, "createdAt": NOW,
              "podExecutionRoleArn": FARGATE_ROLE, "subnets": SUBNETS, "selectors": [{"namespace": namespace}], "status": status,
              "tags": dict(OWNED)}
    answer.update(overrides)
    return {"fargateProfile": answer}


def test_profiles_are_created_one_after_the_other_each_waited_for():
    wanted = [{"name": n, "pod_execution_role_arn": FARGATE_ROLE, "selectors": [{"namespace": n}]} for n in ("batch", "cron")]
    converger = make_converger(node_groups=[], fargate_profiles=wanted)
    with Stubber(converger.eks) as stub:
        read_cluster(stub)
        for name in ("batch", "cron"):
            stub.add_response("create_fargate_profile", profile(name, name, "CREATING"), {
                "fargateProfileName": name, "clusterName": CLUSTER, "podExecutionRoleArn": FARGATE_ROLE, "subnets": SUBNETS,
                "selectors": [{"namespace": name}], "tags": OWNED, "clientRequestToken": ANY})
            stub.add_response("describe_fargate_profile", profile(name, name, "CREATING"),
                              {"clusterName": CLUSTER, "fargateProfileName": name})
            stub.add_response("describe_fargate_profile", profile(name, name), {"clusterName": CLUSTER, "fargateProfileName": name})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert [p["name"] for p in result["fargate_profiles"]] == ["batch", "cron"]


def test_absent_deletes_groups_and_profiles_and_waits_until_they_are_gone():
    converger = make_converger(state="absent")
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup()], [profile("batch", "batch"), profile("cron", "cron", "DELETING")])
        stub.add_response("delete_nodegroup", system_nodegroup(status="DELETING"), {"clusterName": CLUSTER, "nodegroupName": "system"})
        stub.add_response("delete_fargate_profile", profile("batch", "batch", "DELETING"),
                          {"clusterName": CLUSTER, "fargateProfileName": "batch"})
        stub.add_response("describe_fargate_profile", profile("batch", "batch", "DELETING"))  # waiter: going
        stub.add_client_error("describe_fargate_profile", service_error_code="ResourceNotFoundException", http_status_code=404)
        # cron was already DELETING: no delete call, only its wait
        stub.add_client_error("describe_fargate_profile", service_error_code="ResourceNotFoundException", http_status_code=404)
        stub.add_response("describe_nodegroup", system_nodegroup(status="DELETING"))
        stub.add_client_error("describe_nodegroup", service_error_code="ResourceNotFoundException", http_status_code=404)
        result = converger.absent()
        stub.assert_no_pending_responses()
    assert sorted((c["action"], c["resource"]) for c in converger.plan.changes) == [("delete", "batch"), ("delete", "system")]
    assert result["not_owned"] == []


def test_absent_without_wait_deletes_but_does_not_wait_for_the_last_operation():
    converger = make_converger(state="absent", wait=False)
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup()], [profile("batch", "batch"), profile("cron", "cron")])
        stub.add_response("delete_nodegroup", system_nodegroup(status="DELETING"))
        stub.add_response("delete_fargate_profile", profile("batch", "batch", "DELETING"))
        # EKS takes one profile operation at a time: batch must be gone before cron's delete, even without wait.
        stub.add_client_error("describe_fargate_profile", service_error_code="ResourceNotFoundException", http_status_code=404)
        stub.add_response("delete_fargate_profile", profile("cron", "cron", "DELETING"))
        converger.absent()
        stub.assert_no_pending_responses()


def test_a_fargate_profile_of_our_name_without_our_tags_is_refused():
    converger = make_converger(node_groups=[], fargate_profiles=[
        {"name": "batch", "pod_execution_role_arn": FARGATE_ROLE, "selectors": [{"namespace": "batch"}]}])
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [], [profile("batch", "batch", tags={"owner": "someone"})])
        with pytest.raises(CairnError, match="does not carry the ownership tags"):
            converger.present()


def test_a_listed_node_group_still_being_deleted_is_waited_for_then_created_again():
    converger = make_converger(check_mode=True)
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(status="DELETING")])
        result = converger.present()
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource"]) for c in converger.plan.changes] == [("create", "system")]
    assert result["node_groups"][0]["arn"] == "(known after apply)"

    converger = make_converger()
    created = system_nodegroup(status="CREATING", scalingConfig={"minSize": 2, "maxSize": 4, "desiredSize": 2})
    with Stubber(converger.eks) as stub:
        read_cluster(stub, [system_nodegroup(status="DELETING")])
        stub.add_client_error("describe_nodegroup", service_error_code="ResourceNotFoundException", http_status_code=404)
        stub.add_response("create_nodegroup", created)
        stub.add_response("describe_nodegroup", system_nodegroup(scalingConfig={"minSize": 2, "maxSize": 4, "desiredSize": 2}))
        stub.add_response("describe_nodegroup", system_nodegroup(scalingConfig={"minSize": 2, "maxSize": 4, "desiredSize": 2}))
        converger.present()
        stub.assert_no_pending_responses()
    assert [(c["action"], c["resource"]) for c in converger.plan.changes] == [("create", "system")]

"""eks_addons against the real EKS API model, driven by botocore Stubber.

moto answers no add-on call, so these are the main proof of every flow: create, update of version, role
and configuration, no-op rerun, adoption of an untagged add-on, purge, state=absent, waits and errors.
Stubber checks every request against the EKS API model (and the expected parameters) and every canned
response against the model's output shape, without network traffic.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.eks_addons import (
    ARGUMENT_SPEC,
    COMPONENT,
    PINNED_ADDON_VERSIONS,
    AddonsConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

CLUSTER = "prod-us-east-1"
ACCOUNT = "123456789012"
CNI_ROLE = "arn:aws:iam::{0}:role/prod-eks-vpc-cni".format(ACCOUNT)
EBS_ROLE = "arn:aws:iam::{0}:role/prod-eks-ebs-csi".format(ACCOUNT)
OWNED = {"cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": "eks-addons",
         "cairn:managed-by": "cairn.platform"}
PINS = PINNED_ADDON_VERSIONS["1.31"]
BASE = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
            cluster_name=CLUSTER, kubernetes_version="1.31")


def arn(name):
    return "arn:aws:eks:us-east-1:{0}:addon/{1}/{2}/1ac7a1b2-0000-1111-2222-333344445555".format(ACCOUNT, CLUSTER, name)


def make_converger(check_mode=False, **args):
    """The converger of a real CairnModule parsing the module's own argument spec; its client is the one stubbed."""
    module_args = dict(BASE, _ansible_check_mode=check_mode, _ansible_diff=True)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = AddonsConverger(cm, build_spec(cm.params))
    assert converger.eks is cm.client("eks")
    warnings = []
    cm.module.warn = warnings.append
    converger.warnings = warnings
    return converger


def cluster(version="1.31"):
    return {"cluster": {"name": CLUSTER, "version": version, "status": "ACTIVE",
                        "arn": "arn:aws:eks:us-east-1:{0}:cluster/{1}".format(ACCOUNT, CLUSTER)}}


def addon(name, version=None, status="ACTIVE", tags=None, role=None, configuration=None, issues=None):
    """An add-on as DescribeAddon reports it."""
    body = {"addonName": name, "clusterName": CLUSTER, "status": status, "addonVersion": version or PINS[name],
            "addonArn": arn(name), "tags": dict(OWNED) if tags is None else tags,
            "health": {"issues": issues or []}}
    if role:
        body["serviceAccountRoleArn"] = role
    if configuration is not None:
        body["configurationValues"] = configuration
    return {"addon": body}


def update_answer(name):
    return {"update": {"id": "upd-" + name, "status": "InProgress", "type": "AddonUpdate", "params": [], "errors": []}}


def expect_reads(stub, existing, version="1.31"):
    """DescribeCluster, ListAddons, then DescribeAddon of each (name -> DescribeAddon answer) in list order."""
    stub.add_response("describe_cluster", cluster(version), {"name": CLUSTER})
    stub.add_response("list_addons", {"addons": list(existing)}, {"clusterName": CLUSTER})
    for name, answer in existing.items():
        stub.add_response("describe_addon", answer, {"clusterName": CLUSTER, "addonName": name})


def expect_active(stub, name, answer=None):
    """One DescribeAddon of the addon_active waiter (ACTIVE at once: no sleep)."""
    stub.add_response("describe_addon", answer or addon(name), {"clusterName": CLUSTER, "addonName": name})


def keys(converger):
    return [(c["action"], c["resource_type"], c["resource"]) for c in converger.plan.changes]


# ---- create ---------------------------------------------------------------------------------------------------
def test_create_sends_pinned_version_role_json_configuration_ownership_tags_and_a_request_token():
    converger = make_converger(addons=[
        {"name": "vpc-cni", "service_account_role_arn": CNI_ROLE,
         "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}}},
        {"name": "coredns", "resolve_conflicts": "PRESERVE"},
    ])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {})
        stub.add_response("create_addon", {"addon": addon("vpc-cni", status="CREATING")["addon"]}, {
            "clusterName": CLUSTER, "addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3",
            "serviceAccountRoleArn": CNI_ROLE, "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY,
            "configurationValues": '{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}',
            "tags": OWNED})
        stub.add_response("create_addon", {"addon": addon("coredns", status="CREATING")["addon"]}, {
            "clusterName": CLUSTER, "addonName": "coredns", "addonVersion": "v1.11.4-eksbuild.24",
            "resolveConflicts": "PRESERVE", "clientRequestToken": ANY, "tags": OWNED})
        expect_active(stub, "vpc-cni")
        expect_active(stub, "coredns")
        # The result reads each written add-on back.
        expect_active(stub, "vpc-cni", addon("vpc-cni", role=CNI_ROLE, configuration='{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}'))
        expect_active(stub, "coredns")
        result = converger.present()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("create", "eks_addon", "vpc-cni"), ("create", "eks_addon", "coredns")]
    created = converger.plan.changes[0]["fields"]
    assert created["version"]["after"] == "v1.20.1-eksbuild.3" and created["tags"]["after"] == OWNED
    assert created["service_account_role_arn"]["after"] == CNI_ROLE
    [cni, dns] = result["addons"]
    assert cni["arn"] == arn("vpc-cni") and cni["status"] == "ACTIVE" and cni["service_account_role_arn"] == CNI_ROLE
    assert cni["configuration_values"] == {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}
    assert dns["version"] == "v1.11.4-eksbuild.24" and dns["adopted"] is False


def test_the_request_token_is_fresh_per_call():
    converger = make_converger(addons=[{"name": "kube-proxy"}, {"name": "coredns"}], wait=False)
    tokens = []
    converger.eks.meta.events.register("before-parameter-build.eks.CreateAddon",
                                       lambda params, **kwargs: tokens.append(params["clientRequestToken"]))
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {})
        stub.add_response("create_addon", {"addon": addon("kube-proxy", status="CREATING")["addon"]}, None)
        stub.add_response("create_addon", {"addon": addon("coredns", status="CREATING")["addon"]}, None)
        expect_active(stub, "kube-proxy", addon("kube-proxy", status="CREATING"))
        expect_active(stub, "coredns", addon("coredns", status="CREATING"))
        result = converger.present()
        stub.assert_no_pending_responses()
    assert len(tokens) == 2 and len(set(tokens)) == 2 and all(len(t) == 36 for t in tokens)
    # wait=false: no waiter; the result is what EKS reports right after the call.
    assert [a["status"] for a in result["addons"]] == ["CREATING", "CREATING"]


def test_check_mode_plans_the_same_creates_with_reads_only():
    args = dict(addons=[{"name": "vpc-cni", "service_account_role_arn": CNI_ROLE}, {"name": "kube-proxy"}])
    converger = make_converger(check_mode=True, **args)
    with Stubber(converger.eks) as stub:  # any write would find no queued response and fail
        expect_reads(stub, {})
        result = converger.present()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("create", "eks_addon", "vpc-cni"), ("create", "eks_addon", "kube-proxy")]
    assert result["addons"][0]["arn"] == "(known after apply)" and result["addons"][0]["status"] == "(known after apply)"
    assert result["addons"][0]["version"] == "v1.20.1-eksbuild.3"


def test_check_mode_plans_creates_for_a_cluster_an_earlier_task_only_planned():
    converger = make_converger(check_mode=True, addons=[{"name": "coredns"}])
    with Stubber(converger.eks) as stub:
        stub.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException", http_status_code=404,
                              expected_params={"name": CLUSTER})
        converger.present()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("create", "eks_addon", "coredns")]
    assert "does not exist" in converger.warnings[0]


# ---- no-op rerun ----------------------------------------------------------------------------------------------
def test_rerun_with_equal_settings_writes_nothing_and_compares_configuration_by_meaning():
    # EKS echoes the configuration as the user once gave it (YAML here, other key order, other spacing).
    yaml_text = "env:\n  WARM_PREFIX_TARGET: '1'\n  ENABLE_PREFIX_DELEGATION: 'true'\n"
    converger = make_converger(addons=[
        {"name": "vpc-cni", "service_account_role_arn": CNI_ROLE,
         "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}}},
        {"name": "coredns", "configuration_values": {"replicaCount": 3}},
        {"name": "kube-proxy"},
    ])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {
            "vpc-cni": addon("vpc-cni", role=CNI_ROLE, configuration=yaml_text),
            "coredns": addon("coredns", configuration='{ "replicaCount" : 3 }'),
            "kube-proxy": addon("kube-proxy", role=EBS_ROLE),  # unset role: left alone, not compared
        })
        result = converger.present()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []
    assert [a["status"] for a in result["addons"]] == ["ACTIVE"] * 3
    assert result["addons"][2]["service_account_role_arn"] == EBS_ROLE


# ---- update ---------------------------------------------------------------------------------------------------
def test_update_of_version_role_and_configuration_is_one_update_addon_call():
    converger = make_converger(addons=[
        {"name": "vpc-cni", "service_account_role_arn": CNI_ROLE, "configuration_values": {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}},
    ], purge=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["vpc-cni", "coredns"]}, {"clusterName": CLUSTER})
        # purge=false: coredns is not read at all.
        stub.add_response("describe_addon", addon("vpc-cni", version="v1.19.0-eksbuild.1", role=EBS_ROLE,
                                                  configuration='{"env":{"ENABLE_PREFIX_DELEGATION":"false"}}'),
                          {"clusterName": CLUSTER, "addonName": "vpc-cni"})
        stub.add_response("update_addon", update_answer("vpc-cni"), {
            "clusterName": CLUSTER, "addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3",
            "serviceAccountRoleArn": CNI_ROLE, "configurationValues": '{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}',
            "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY})
        expect_active(stub, "vpc-cni")
        expect_active(stub, "vpc-cni", addon("vpc-cni", role=CNI_ROLE, configuration='{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}'))
        result = converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["action"] == "update" and change["resource"] == "vpc-cni"
    assert change["fields"] == {
        "version": {"before": "v1.19.0-eksbuild.1", "after": "v1.20.1-eksbuild.3"},
        "service_account_role_arn": {"before": EBS_ROLE, "after": CNI_ROLE},
        "configuration_values": {"before": {"env": {"ENABLE_PREFIX_DELEGATION": "false"}},
                                 "after": {"env": {"ENABLE_PREFIX_DELEGATION": "true"}}},
    }
    assert result["addons"][0]["version"] == "v1.20.1-eksbuild.3"


def test_only_the_version_is_sent_when_only_the_version_differs():
    converger = make_converger(addons=[{"name": "kube-proxy", "version": "v1.31.10-eksbuild.8"}], purge=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["kube-proxy"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("kube-proxy", version="v1.31.3-eksbuild.2"),
                          {"clusterName": CLUSTER, "addonName": "kube-proxy"})
        stub.add_response("update_addon", update_answer("kube-proxy"), {
            "clusterName": CLUSTER, "addonName": "kube-proxy", "addonVersion": "v1.31.10-eksbuild.8",
            "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY})
        expect_active(stub, "kube-proxy")
        expect_active(stub, "kube-proxy")
        converger.present()
        stub.assert_no_pending_responses()


def test_clearing_the_configuration_sends_an_empty_object():
    converger = make_converger(addons=[{"name": "coredns", "configuration_values": {}}], purge=False, wait=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["coredns"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("coredns", configuration='{"replicaCount":3}'),
                          {"clusterName": CLUSTER, "addonName": "coredns"})
        stub.add_response("update_addon", update_answer("coredns"), {
            "clusterName": CLUSTER, "addonName": "coredns", "configurationValues": "{}",
            "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY})
        expect_active(stub, "coredns", addon("coredns", status="UPDATING"))
        converger.present()
        stub.assert_no_pending_responses()


def test_a_busy_add_on_is_waited_for_before_it_is_updated():
    converger = make_converger(addons=[{"name": "coredns"}], purge=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["coredns"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("coredns", version="v1.11.3-eksbuild.1", status="UPDATING"),
                          {"clusterName": CLUSTER, "addonName": "coredns"})
        expect_active(stub, "coredns", addon("coredns", version="v1.11.3-eksbuild.1"))  # wait before the update
        stub.add_response("update_addon", update_answer("coredns"), {
            "clusterName": CLUSTER, "addonName": "coredns", "addonVersion": "v1.11.4-eksbuild.24",
            "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY})
        expect_active(stub, "coredns")
        expect_active(stub, "coredns")
        converger.present()
        stub.assert_no_pending_responses()


def test_check_mode_plans_the_update_without_writing():
    converger = make_converger(check_mode=True, addons=[{"name": "kube-proxy"}], purge=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["kube-proxy"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("kube-proxy", version="v1.31.3-eksbuild.2"),
                          {"clusterName": CLUSTER, "addonName": "kube-proxy"})
        result = converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["fields"] == {"version": {"before": "v1.31.3-eksbuild.2", "after": "v1.31.10-eksbuild.8"}}
    assert result["addons"][0]["version"] == "v1.31.10-eksbuild.8" and result["addons"][0]["status"] == "ACTIVE"


def test_user_tags_are_added_with_tag_resource_and_purged_with_untag_resource():
    converger = make_converger(addons=[{"name": "kube-proxy"}], purge=False, tags={"team": "platform"})
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["kube-proxy"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("kube-proxy", tags=dict(OWNED, old="x")),
                          {"clusterName": CLUSTER, "addonName": "kube-proxy"})
        stub.add_response("tag_resource", {}, {"resourceArn": arn("kube-proxy"), "tags": {"team": "platform"}})
        stub.add_response("untag_resource", {}, {"resourceArn": arn("kube-proxy"), "tagKeys": ["old"]})
        converger.present()  # tags only: no UpdateAddon, nothing to wait for, nothing to read back
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["fields"] == {"tags": {"before": dict(OWNED, old="x"), "after": dict(OWNED, team="platform")}}


# ---- adoption -------------------------------------------------------------------------------------------------
def test_an_untagged_listed_add_on_is_adopted_by_updating_and_tagging_it():
    converger = make_converger(addons=[{"name": "vpc-cni", "service_account_role_arn": CNI_ROLE}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"vpc-cni": addon("vpc-cni", version="v1.19.0-eksbuild.1", tags={})})
        stub.add_response("update_addon", update_answer("vpc-cni"), {
            "clusterName": CLUSTER, "addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3",
            "serviceAccountRoleArn": CNI_ROLE, "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY})
        stub.add_response("tag_resource", {}, {"resourceArn": arn("vpc-cni"), "tags": OWNED})
        expect_active(stub, "vpc-cni")
        expect_active(stub, "vpc-cni", addon("vpc-cni", tags={}, role=CNI_ROLE))
        result = converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["action"] == "update" and change["note"].startswith("adopting")
    assert change["fields"]["tags"] == {"before": {}, "after": OWNED}
    assert result["addons"][0]["adopted"] is True


def test_adopting_an_add_on_already_at_the_pinned_settings_only_tags_it():
    converger = make_converger(addons=[{"name": "coredns"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"coredns": addon("coredns", tags={"eks:addon": "default"})})
        stub.add_response("tag_resource", {}, {"resourceArn": arn("coredns"), "tags": OWNED})
        converger.present()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["note"].startswith("adopting")


def test_untagged_add_ons_that_are_not_listed_are_never_deleted():
    converger = make_converger(addons=[{"name": "coredns"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"coredns": addon("coredns"), "vpc-cni": addon("vpc-cni", tags={}),
                            "kube-proxy": addon("kube-proxy", tags={"team": "x"})})
        converger.present()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_an_add_on_of_another_stack_is_refused_before_any_write():
    converger = make_converger(addons=[{"name": "kube-proxy"}, {"name": "coredns"}])
    other = dict(OWNED, **{"cairn:stack": "prod-eu-west-1"})
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"kube-proxy": addon("kube-proxy", version="v1.31.3-eksbuild.2"),
                            "coredns": addon("coredns", tags=other)})
        with pytest.raises(CairnError) as failure:
            converger.present()
        stub.assert_no_pending_responses()
    assert "prod-eu-west-1" in failure.value.message and "refusing" in failure.value.message
    assert converger.plan.changes == []


# ---- purge and delete -----------------------------------------------------------------------------------------
def test_purge_deletes_owned_add_ons_no_longer_listed_and_waits_until_they_are_gone():
    converger = make_converger(addons=[{"name": "coredns"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"adot": addon("adot"), "coredns": addon("coredns")})
        stub.add_response("delete_addon", {"addon": addon("adot", status="DELETING")["addon"]},
                          {"clusterName": CLUSTER, "addonName": "adot"})
        stub.add_client_error("describe_addon", service_error_code="ResourceNotFoundException", http_status_code=404,
                              expected_params={"clusterName": CLUSTER, "addonName": "adot"})  # addon_deleted waiter
        result = converger.present()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("delete", "eks_addon", "adot")]
    assert converger.plan.changes[0]["note"].startswith("purge")
    assert [a["name"] for a in result["addons"]] == ["coredns"]


def test_purge_false_keeps_owned_add_ons_that_are_not_listed():
    converger = make_converger(addons=[{"name": "coredns"}], purge=False)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["adot", "coredns"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("coredns"), {"clusterName": CLUSTER, "addonName": "coredns"})
        converger.present()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_state_absent_deletes_every_owned_add_on_and_nothing_else():
    converger = make_converger(state="absent", kubernetes_version=None)
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["coredns", "kube-proxy", "vpc-cni"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("coredns"), {"clusterName": CLUSTER, "addonName": "coredns"})
        stub.add_response("describe_addon", addon("kube-proxy", status="DELETING"), {"clusterName": CLUSTER, "addonName": "kube-proxy"})
        stub.add_response("describe_addon", addon("vpc-cni", tags={}), {"clusterName": CLUSTER, "addonName": "vpc-cni"})
        stub.add_response("delete_addon", {"addon": addon("coredns", status="DELETING")["addon"]},
                          {"clusterName": CLUSTER, "addonName": "coredns"})
        stub.add_client_error("describe_addon", service_error_code="ResourceNotFoundException", http_status_code=404,
                              expected_params={"clusterName": CLUSTER, "addonName": "coredns"})
        converger.absent()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("delete", "eks_addon", "coredns")]


def test_state_absent_on_a_missing_cluster_is_a_no_op():
    converger = make_converger(state="absent")
    with Stubber(converger.eks) as stub:
        stub.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException", http_status_code=404)
        assert converger.absent() == {"waited_seconds": 0.0}
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_check_mode_absent_plans_the_deletes_without_writing():
    converger = make_converger(check_mode=True, state="absent")
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster(), {"name": CLUSTER})
        stub.add_response("list_addons", {"addons": ["coredns"]}, {"clusterName": CLUSTER})
        stub.add_response("describe_addon", addon("coredns"), {"clusterName": CLUSTER, "addonName": "coredns"})
        converger.absent()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("delete", "eks_addon", "coredns")]


def test_an_add_on_being_deleted_is_recreated_after_its_deletion():
    converger = make_converger(addons=[{"name": "coredns"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"coredns": addon("coredns", status="DELETING")})
        stub.add_client_error("describe_addon", service_error_code="ResourceNotFoundException", http_status_code=404,
                              expected_params={"clusterName": CLUSTER, "addonName": "coredns"})
        stub.add_response("create_addon", {"addon": addon("coredns", status="CREATING")["addon"]}, {
            "clusterName": CLUSTER, "addonName": "coredns", "addonVersion": "v1.11.4-eksbuild.24",
            "resolveConflicts": "OVERWRITE", "clientRequestToken": ANY, "tags": OWNED})
        expect_active(stub, "coredns")
        expect_active(stub, "coredns")
        converger.present()
        stub.assert_no_pending_responses()
    assert keys(converger) == [("create", "eks_addon", "coredns")]


# ---- errors ---------------------------------------------------------------------------------------------------
def test_a_downgrade_is_refused_before_any_write():
    converger = make_converger(addons=[{"name": "coredns"}, {"name": "vpc-cni", "version": "v1.19.0-eksbuild.1"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"coredns": addon("coredns", version="v1.11.3-eksbuild.1"),
                            "vpc-cni": addon("vpc-cni", version="v1.20.1-eksbuild.3")})
        with pytest.raises(CairnError) as failure:
            converger.present()
        stub.assert_no_pending_responses()
    assert "cannot downgrade" in failure.value.message and "v1.20.1-eksbuild.3" in failure.value.message
    assert converger.plan.changes == []


def test_a_cluster_on_another_kubernetes_version_fails_a_real_run_with_reads_only():
    converger = make_converger(addons=[{"name": "kube-proxy"}])
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", cluster("1.30"), {"name": CLUSTER})
        with pytest.raises(CairnError) as failure:
            converger.present()
        stub.assert_no_pending_responses()
    assert "runs Kubernetes 1.30 but kubernetes_version is 1.31" in failure.value.message


def test_check_mode_only_warns_when_the_cluster_upgrade_is_merely_planned():
    converger = make_converger(check_mode=True, addons=[{"name": "kube-proxy"}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"kube-proxy": addon("kube-proxy", version="v1.30.14-eksbuild.8")}, version="1.30")
        converger.present()
        stub.assert_no_pending_responses()
    assert converger.plan.changes[0]["fields"]["version"] == {"before": "v1.30.14-eksbuild.8", "after": "v1.31.10-eksbuild.8"}
    assert "runs Kubernetes 1.30" in converger.warnings[0]


def test_a_missing_cluster_fails_a_real_run():
    converger = make_converger(addons=[{"name": "kube-proxy"}])
    with Stubber(converger.eks) as stub:
        stub.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException", http_status_code=404)
        with pytest.raises(CairnError) as failure:
            converger.present()
    assert "was not found" in failure.value.message


def test_an_add_on_being_deleted_with_wait_false_asks_for_a_rerun():
    converger = make_converger(addons=[{"name": "coredns"}], wait=False)
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {"coredns": addon("coredns", status="DELETING")})
        with pytest.raises(CairnError) as failure:
            converger.present()
    assert "being deleted" in failure.value.message


def test_a_degraded_add_on_fails_the_wait_with_its_health_issues():
    converger = make_converger(addons=[{"name": "coredns"}])
    issue = {"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.",
             "resourceIds": []}
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {})
        stub.add_response("create_addon", {"addon": addon("coredns", status="CREATING")["addon"]}, None)
        expect_active(stub, "coredns", addon("coredns", status="DEGRADED", issues=[issue]))
        expect_active(stub, "coredns", addon("coredns", status="DEGRADED", issues=[issue]))
        with pytest.raises(CairnError) as failure:
            converger.present()
        stub.assert_no_pending_responses()
    assert "InsufficientNumberOfReplicas" in failure.value.message and "DEGRADED" in failure.value.message


def test_an_aws_refusal_becomes_a_sentence_naming_the_add_on():
    converger = make_converger(addons=[{"name": "aws-ebs-csi-driver", "service_account_role_arn": EBS_ROLE}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {})
        stub.add_client_error("create_addon", service_error_code="InvalidParameterException", http_status_code=400,
                              service_message="Addon version specified is not supported")
        with pytest.raises(CairnError) as failure:
            converger.present()
    assert failure.value.message.startswith("AWS refused CreateAddon while creating add-on aws-ebs-csi-driver")
    assert "InvalidParameterException" in failure.value.message


def test_the_changes_carry_no_configuration_secrets_beyond_what_was_given():
    # The configuration is user data, reported as given; the diff holds before/after of every changed add-on.
    converger = make_converger(check_mode=True, addons=[{"name": "coredns", "configuration_values": {"replicaCount": 2}}])
    with Stubber(converger.eks) as stub:
        expect_reads(stub, {})
        converger.present()
    assert json.loads(json.dumps(converger.plan.diff()))["after"]["eks_addon/coredns"]["configuration_values"] == {"replicaCount": 2}

"""eks_cluster paths the emulator (moto) lacks, driven by botocore Stubber.

moto has no route for DescribeUpdate, UpdateClusterVersion, access entries or access policies, and answers
UpdateClusterConfig without an update. Stubber checks every request below against the real EKS / CloudWatch
Logs / STS API models (and the expected parameters), and every canned response against the model's output
shape, without any network traffic. A write the test did not queue fails the test: that is how "no write"
is asserted here.
"""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.eks_cluster import (
    ARGUMENT_SPEC,
    COMPONENT,
    LOG_TYPES,
    ClusterConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

NAME = "prod-us-east-1"
ARN = "arn:aws:eks:us-east-1:123456789012:cluster/" + NAME
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMINS = "arn:aws:iam::123456789012:role/platform-admins"
DEPLOY = "arn:aws:iam::123456789012:role/cicd-deploy"
NODES = "arn:aws:iam::123456789012:role/eks-nodes"
OLD = "arn:aws:iam::123456789012:role/former-admin"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
LOG_GROUP = "/aws/eks/{0}/cluster".format(NAME)
OWNED = {"Name": NAME, "cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": "eks",
         "cairn:managed-by": "cairn.platform"}
BASE = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
            name=NAME, kubernetes_version="1.31", role_arn=ROLE, subnet_ids=["subnet-0a", "subnet-0b"], encryption_key_arn=KEY)
ENTRIES = [
    {"principal_arn": ADMINS, "access_policies": [{"policy": "AmazonEKSClusterAdminPolicy"}]},
    {"principal_arn": DEPLOY, "kubernetes_groups": ["deployers"],
     "access_policies": [{"policy": "AmazonEKSEditPolicy", "namespaces": ["apps", "batch"]}]},
]


def make_converger(check_mode=False, **args):
    """The converger of a real CairnModule (AnsibleModule parsing the module's own argument spec)."""
    module_args = dict(BASE, _ansible_check_mode=check_mode, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = ClusterConverger(cm, build_spec(cm.params, cm.partition()))
    # The converger's clients are the connection's cached ones: stubbing them stubs the converger.
    assert converger.eks is cm.client("eks")
    converger.update_delay = 0
    return converger


def cluster(**overrides):
    """A cluster as DescribeCluster reports one that matches BASE."""
    described = {
        "name": NAME, "arn": ARN, "version": "1.31", "roleArn": ROLE, "status": "ACTIVE", "platformVersion": "eks.12",
        "endpoint": "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com", "certificateAuthority": {"data": "Q0E="},
        "identity": {"oidc": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"}},
        "resourcesVpcConfig": {"subnetIds": ["subnet-0a", "subnet-0b"], "securityGroupIds": [], "endpointPrivateAccess": True,
                               "endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"],
                               "clusterSecurityGroupId": "sg-0cluster", "vpcId": "vpc-0abc"},
        "logging": {"clusterLogging": [{"types": list(LOG_TYPES), "enabled": True}]},
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}],
        "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
        "tags": dict(OWNED),
    }
    described.update(overrides)
    return described


def update(update_id, status, kind="ConfigUpdate", errors=None):
    answer = {"id": update_id, "status": status, "type": kind, "params": []}
    if errors:
        answer["errors"] = errors
    return {"update": answer}


def access_entry(principal, kind="STANDARD", groups=None, username=None):
    return {"accessEntry": {"clusterName": NAME, "principalArn": principal, "type": kind, "kubernetesGroups": groups or [],
                            "username": username or principal, "accessEntryArn": "arn:aws:eks:us-east-1:123456789012:access-entry/x"}}


def policies(principal, *associations):
    return {"clusterName": NAME, "principalArn": principal, "associatedAccessPolicies": [
        {"policyArn": POLICY + name, "accessScope": {"type": "namespace", "namespaces": namespaces} if namespaces else {"type": "cluster"}}
        for name, namespaces in associations]}


def read_entries(stub, *entries):
    """ListAccessEntries, then DescribeAccessEntry (+ ListAssociatedAccessPolicies for STANDARD) per entry."""
    stub.add_response("list_access_entries", {"accessEntries": [e[0] for e in entries]}, {"clusterName": NAME})
    for principal, kind, groups, associations in entries:
        stub.add_response("describe_access_entry", access_entry(principal, kind, groups),
                          {"clusterName": NAME, "principalArn": principal})
        if kind == "STANDARD":
            stub.add_response("list_associated_access_policies", policies(principal, *associations),
                              {"clusterName": NAME, "principalArn": principal})


def kinds(converger):
    return [(c["action"], c["resource_type"], c["resource"]) for c in converger.plan.changes]


# ---- version upgrades ---------------------------------------------------------------------------
def test_one_minor_upgrade_is_planned_then_waited_for_with_describe_update():
    converger = make_converger(kubernetes_version="1.32")
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        stub.add_response("update_cluster_version", update("u-1", "InProgress", "VersionUpdate"),
                          {"name": NAME, "version": "1.32", "clientRequestToken": ANY})
        stub.add_response("describe_update", update("u-1", "InProgress", "VersionUpdate"), {"name": NAME, "updateId": "u-1"})
        stub.add_response("describe_update", update("u-1", "Successful", "VersionUpdate"), {"name": NAME, "updateId": "u-1"})
        converger.update_cluster()
        converger.settle()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert (change["action"], change["resource_type"], change["resource"]) == ("update", "eks_cluster", NAME)
    assert change["fields"] == {"version": {"before": "1.31", "after": "1.32"}}
    assert change["note"].startswith("UpdateClusterVersion 1.31 -> 1.32")


@pytest.mark.parametrize("version,words", [("1.33", "a skip of 2 minors"), ("1.30", "cannot downgrade")])
def test_version_skip_or_downgrade_reads_the_cluster_once_and_writes_nothing(version, words):
    converger = make_converger(kubernetes_version=version)
    with Stubber(converger.eks) as eks, Stubber(converger.cm.client("logs")) as logs:
        eks.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})
        with pytest.raises(InputError) as failure:  # not even the log group is read
            converger.present()
        eks.assert_no_pending_responses()
        logs.assert_no_pending_responses()
    assert failure.value.message.startswith("kubernetes_version: the cluster runs 1.31") and words in failure.value.message
    assert converger.plan.changes == []


def test_a_failed_update_is_reported_with_the_errors_eks_gives():
    converger = make_converger(kubernetes_version="1.32")
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        stub.add_response("update_cluster_version", update("u-2", "InProgress", "VersionUpdate"))
        stub.add_response("describe_update", update("u-2", "Failed", "VersionUpdate", errors=[
            {"errorCode": "InsufficientFreeAddresses", "errorMessage": "subnet-0a has no free address"}]))
        converger.update_cluster()
        with pytest.raises(CairnError) as failure:
            converger.settle()
    assert "update u-2 (the version update) of cluster prod-us-east-1 as Failed" in failure.value.message
    assert "InsufficientFreeAddresses: subnet-0a has no free address" in failure.value.message


# ---- UpdateClusterConfig: one aspect per call, each waited for --------------------------------
def test_endpoint_access_and_logging_are_two_calls_and_the_second_waits_for_the_first():
    converger = make_converger(endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"],
                               logging={"types": ["api", "audit", "authenticator"]})
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        stub.add_response("update_cluster_config", update("u-1", "InProgress"), {
            "name": NAME, "clientRequestToken": ANY,
            "resourcesVpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}})
        stub.add_response("describe_update", update("u-1", "Successful"), {"name": NAME, "updateId": "u-1"})
        stub.add_response("update_cluster_config", update("u-2", "InProgress"), {
            "name": NAME, "clientRequestToken": ANY,
            "logging": {"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True},
                                           {"types": ["controllerManager", "scheduler"], "enabled": False}]}})
        stub.add_response("describe_update", update("u-2", "Successful"), {"name": NAME, "updateId": "u-2"})
        converger.update_cluster()
        converger.settle()
        stub.assert_no_pending_responses()
    assert [c["note"] for c in converger.plan.changes] == ["UpdateClusterConfig (endpoint access)", "UpdateClusterConfig (logging)"]
    assert converger.plan.changes[0]["fields"] == {
        "endpoint_public_access": {"before": False, "after": True},
        "public_access_cidrs": {"before": [], "after": ["203.0.113.0/24"]}}


def test_missing_secrets_encryption_is_associated_and_authentication_mode_moves_to_api():
    converger = make_converger()
    converger.cluster = cluster(encryptionConfig=[], accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
    with Stubber(converger.eks) as stub:
        stub.add_response("associate_encryption_config", update("u-1", "InProgress", "AssociateEncryptionConfig"), {
            "clusterName": NAME, "clientRequestToken": ANY,
            "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]})
        stub.add_response("describe_update", update("u-1", "Successful"), {"name": NAME, "updateId": "u-1"})
        stub.add_response("update_cluster_config", update("u-2", "InProgress", "AccessConfigUpdate"), {
            "name": NAME, "clientRequestToken": ANY, "accessConfig": {"authenticationMode": "API"}})
        converger.update_cluster()
        stub.assert_no_pending_responses()
    assert [list(c["fields"]) for c in converger.plan.changes] == [["encryption_key_arn"], ["authentication_mode"]]


def test_check_mode_plans_the_updates_and_writes_nothing():
    converger = make_converger(check_mode=True, kubernetes_version="1.32", endpoint_public_access=True,
                               public_access_cidrs=["203.0.113.0/24"])
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        converger.update_cluster()  # any call would find no queued response and fail
        converger.settle()
        stub.assert_no_pending_responses()
    assert [c["note"].split(" ")[0] for c in converger.plan.changes] == ["UpdateClusterConfig", "UpdateClusterVersion"]


@pytest.mark.parametrize("overrides,words", [
    ({"encryption_key_arn": KEY.replace("1234abcd", "99999999")}, "encryption_key_arn: secrets are encrypted with"),
    ({"role_arn": "arn:aws:iam::123456789012:role/other"}, "role_arn: the cluster uses"),
    ({"authentication_mode": "API_AND_CONFIG_MAP"}, "authentication_mode: the cluster uses API"),
])
def test_changes_eks_cannot_make_are_refused_after_one_read(overrides, words):
    converger = make_converger(**overrides)
    with Stubber(converger.eks) as eks, Stubber(converger.cm.client("logs")):
        eks.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})
        with pytest.raises(CairnError) as failure:
            converger.present()
    assert words in failure.value.message and "Nothing was changed" in failure.value.message


def test_a_cluster_without_our_tags_is_never_touched():
    converger = make_converger()
    with Stubber(converger.eks) as eks, Stubber(converger.cm.client("logs")):
        eks.add_response("describe_cluster", {"cluster": cluster(tags={"team": "someone"})}, {"name": NAME})
        with pytest.raises(CairnError, match="does not carry the ownership tags"):
            converger.present()


# ---- access entries -----------------------------------------------------------------------------
def test_new_entries_are_created_born_tagged_with_their_policies_at_cluster_and_namespace_scope():
    converger = make_converger(access_entries=ENTRIES)
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        stub.add_response("create_access_entry", access_entry(DEPLOY, groups=["deployers"]), {
            "clusterName": NAME, "principalArn": DEPLOY, "type": "STANDARD", "kubernetesGroups": ["deployers"], "tags": OWNED,
            "clientRequestToken": ANY})
        stub.add_response("associate_access_policy", {"clusterName": NAME, "principalArn": DEPLOY}, {
            "clusterName": NAME, "principalArn": DEPLOY, "policyArn": POLICY + "AmazonEKSEditPolicy",
            "accessScope": {"type": "namespace", "namespaces": ["apps", "batch"]}})
        stub.add_response("create_access_entry", access_entry(ADMINS), {
            "clusterName": NAME, "principalArn": ADMINS, "type": "STANDARD", "kubernetesGroups": [], "tags": OWNED,
            "clientRequestToken": ANY})
        stub.add_response("associate_access_policy", {"clusterName": NAME, "principalArn": ADMINS}, {
            "clusterName": NAME, "principalArn": ADMINS, "policyArn": POLICY + "AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"}})
        converger.converge_access_entries({})
        stub.assert_no_pending_responses()
    # In the order of the principal ARNs, so a plan reads the same on every run.
    assert kinds(converger) == [("create", "eks_access_entry", DEPLOY), ("create", "eks_access_entry", ADMINS)]


def test_entries_in_sync_make_no_write_whatever_the_order_of_groups():
    converger = make_converger(access_entries=[dict(ENTRIES[1], kubernetes_groups=["deployers", "auditors"]), ENTRIES[0]])
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        read_entries(stub, (ADMINS, "STANDARD", [], [("AmazonEKSClusterAdminPolicy", None)]),
                     (DEPLOY, "STANDARD", ["deployers", "auditors"], [("AmazonEKSEditPolicy", ["batch", "apps"])]),
                     (NODES, "EC2_LINUX", ["system:nodes"], []))
        converger.read_access_entries(converger.list_access_entries())
        converger.converge_access_entries(converger.entries)
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []
    assert [e["type"] for e in converger.entries_result()] == ["STANDARD", "EC2_LINUX", "STANDARD"]


def test_drift_updates_groups_rescopes_a_policy_disassociates_another_and_purges_only_standard_entries():
    converger = make_converger(access_entries=ENTRIES)
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        read_entries(stub, (ADMINS, "STANDARD", [], [("AmazonEKSClusterAdminPolicy", None)]),
                     (DEPLOY, "STANDARD", ["old-group"], [("AmazonEKSEditPolicy", ["apps"]), ("AmazonEKSViewPolicy", None)]),
                     (NODES, "EC2_LINUX", ["system:nodes"], []),
                     (OLD, "STANDARD", [], [("AmazonEKSClusterAdminPolicy", None)]))
        stub.add_response("update_access_entry", access_entry(DEPLOY, groups=["deployers"]), {
            "clusterName": NAME, "principalArn": DEPLOY, "kubernetesGroups": ["deployers"], "clientRequestToken": ANY})
        stub.add_response("associate_access_policy", {"clusterName": NAME, "principalArn": DEPLOY}, {
            "clusterName": NAME, "principalArn": DEPLOY, "policyArn": POLICY + "AmazonEKSEditPolicy",
            "accessScope": {"type": "namespace", "namespaces": ["apps", "batch"]}})
        stub.add_response("disassociate_access_policy", {}, {
            "clusterName": NAME, "principalArn": DEPLOY, "policyArn": POLICY + "AmazonEKSViewPolicy"})
        stub.add_response("delete_access_entry", {}, {"clusterName": NAME, "principalArn": OLD})
        converger.read_access_entries(converger.list_access_entries())
        converger.converge_access_entries(converger.entries)
        stub.assert_no_pending_responses()
    assert kinds(converger) == [("update", "eks_access_entry", DEPLOY), ("delete", "eks_access_entry", OLD)]
    fields = converger.plan.changes[0]["fields"]
    assert fields["kubernetes_groups"] == {"before": ["old-group"], "after": ["deployers"]}
    assert fields["access_policies"]["after"] == {POLICY + "AmazonEKSEditPolicy": ["apps", "batch"]}
    assert "username" not in fields  # left to EKS


def test_purge_off_keeps_unlisted_entries_and_check_mode_writes_nothing():
    converger = make_converger(check_mode=True, access_entries=ENTRIES, purge_access_entries=False)
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        read_entries(stub, (OLD, "STANDARD", [], [("AmazonEKSClusterAdminPolicy", None)]))
        converger.read_access_entries(converger.list_access_entries())
        converger.converge_access_entries(converger.entries)
        stub.assert_no_pending_responses()
    assert kinds(converger) == [("create", "eks_access_entry", DEPLOY), ("create", "eks_access_entry", ADMINS)]
    assert [e["principal_arn"] for e in converger.entries_result()] == sorted([ADMINS, DEPLOY, OLD])


def test_a_principal_with_a_node_entry_cannot_become_a_standard_entry():
    converger = make_converger(access_entries=[{"principal_arn": NODES}])
    converger.cluster = cluster()
    with Stubber(converger.eks) as stub:
        read_entries(stub, (NODES, "EC2_LINUX", ["system:nodes"], []))
        converger.read_access_entries(converger.list_access_entries())
        with pytest.raises(CairnError, match="of type EC2_LINUX"):
            converger.converge_access_entries(converger.entries)


# ---- create, end to end through present() -----------------------------------------------------
def test_create_converges_the_log_group_first_then_the_cluster_then_waits_and_adds_the_entries():
    converger = make_converger(access_entries=[ENTRIES[0]], endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"],
                               logging={"retention_days": 365})
    logs, sts = converger.cm.client("logs"), converger.cm.client("sts")
    created = cluster(status="CREATING")
    with Stubber(converger.eks) as eks, Stubber(logs) as log_stub, Stubber(sts) as sts_stub:
        eks.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException", http_status_code=404,
                             expected_params={"name": NAME})
        log_stub.add_response("describe_log_groups", {"logGroups": []}, {"logGroupNamePrefix": LOG_GROUP})
        sts_stub.add_response("get_caller_identity", {"Account": "123456789012"})
        log_stub.add_response("create_log_group", {}, {"logGroupName": LOG_GROUP, "tags": OWNED})
        log_stub.add_response("put_retention_policy", {}, {"logGroupName": LOG_GROUP, "retentionInDays": 365})
        eks.add_response("create_cluster", {"cluster": created}, {
            "name": NAME, "version": "1.31", "roleArn": ROLE, "clientRequestToken": ANY, "tags": OWNED,
            "resourcesVpcConfig": {"subnetIds": ["subnet-0a", "subnet-0b"], "securityGroupIds": [], "endpointPrivateAccess": True,
                                   "endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
            "logging": {"clusterLogging": [{"types": sorted(LOG_TYPES), "enabled": True}]},
            "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}],
            "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}})
        eks.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})  # the cluster_active waiter
        eks.add_response("create_access_entry", access_entry(ADMINS))
        eks.add_response("associate_access_policy", {"clusterName": NAME, "principalArn": ADMINS})
        eks.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})
        read_entries(eks, (ADMINS, "STANDARD", [], [("AmazonEKSClusterAdminPolicy", None)]))
        result = converger.present()
        eks.assert_no_pending_responses()
        log_stub.assert_no_pending_responses()
    assert kinds(converger) == [("create", "log_group", LOG_GROUP), ("create", "eks_cluster", NAME),
                                ("create", "eks_access_entry", ADMINS)]
    assert result["cluster"]["cluster_security_group_id"] == "sg-0cluster" and result["cluster"]["vpc_id"] == "vpc-0abc"
    assert result["cluster"]["oidc_issuer"].startswith("https://")
    assert result["access_entries"] == [{"principal_arn": ADMINS, "type": "STANDARD", "kubernetes_groups": [], "username": ADMINS,
                                         "access_policies": [{"policy_arn": POLICY + "AmazonEKSClusterAdminPolicy", "namespaces": []}]}]


# ---- delete -------------------------------------------------------------------------------------
def test_delete_is_refused_while_node_groups_or_fargate_profiles_exist_and_planned_in_check_mode():
    for check_mode in (False, True):
        converger = make_converger(check_mode=check_mode, state="absent")
        with Stubber(converger.eks) as stub, Stubber(converger.cm.client("logs")) as logs:
            stub.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})
            stub.add_response("list_nodegroups", {"nodegroups": ["system"]}, {"clusterName": NAME})
            stub.add_response("list_fargate_profiles", {"fargateProfileNames": ["batch"]}, {"clusterName": NAME})
            logs.add_response("describe_log_groups", {"logGroups": []}, {"logGroupNamePrefix": LOG_GROUP})
            if check_mode:
                converger.absent()
                [change] = converger.plan.changes
                assert change["action"] == "delete" and "node groups system and Fargate profiles batch" in change["note"]
            else:
                with pytest.raises(CairnError) as failure:
                    converger.absent()
                assert "still has node groups system and Fargate profiles batch" in failure.value.message
                assert "eks_nodegroups" in failure.value.message


def test_delete_waits_for_the_cluster_to_go_then_deletes_the_log_group():
    converger = make_converger(state="absent")
    logs = converger.cm.client("logs")
    group = {"logGroupName": LOG_GROUP, "arn": "arn:aws:logs:us-east-1:123456789012:log-group:{0}:*".format(LOG_GROUP),
             "retentionInDays": 90}
    with Stubber(converger.eks) as stub, Stubber(logs) as log_stub:
        stub.add_response("describe_cluster", {"cluster": cluster()}, {"name": NAME})
        stub.add_response("list_nodegroups", {"nodegroups": []}, {"clusterName": NAME})
        stub.add_response("list_fargate_profiles", {"fargateProfileNames": []}, {"clusterName": NAME})
        stub.add_response("delete_cluster", {"cluster": cluster(status="DELETING")}, {"name": NAME})
        stub.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException", http_status_code=404)
        log_stub.add_response("describe_log_groups", {"logGroups": [group]}, {"logGroupNamePrefix": LOG_GROUP})
        log_stub.add_response("list_tags_for_resource", {"tags": OWNED})
        log_stub.add_response("delete_log_group", {}, {"logGroupName": LOG_GROUP})
        converger.absent()
        stub.assert_no_pending_responses()
        log_stub.assert_no_pending_responses()
    assert kinds(converger) == [("delete", "eks_cluster", NAME), ("delete", "log_group", LOG_GROUP)]


def test_an_update_still_running_from_an_earlier_run_is_waited_for_and_the_cluster_read_again():
    converger = make_converger(kubernetes_version="1.32")
    converger.cluster = cluster(status="UPDATING")  # its version update to 1.32 (wait=false) is not done yet
    with Stubber(converger.eks) as stub:
        stub.add_response("describe_cluster", {"cluster": cluster(status="ACTIVE")}, {"name": NAME})  # cluster_active waiter
        stub.add_response("describe_cluster", {"cluster": cluster(version="1.32")}, {"name": NAME})
        converger.update_cluster()  # nothing left to do: no second UpdateClusterVersion
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []

"""The emulator's EKS model (emulator/eks_fidelity.py), checked with boto3 through the launcher.

Add-ons, access entries, version and configuration updates, the cluster fields moto lacks, node group
sizes, tags of the resources moto does not tag, and the routing of /_eks/* to the Kubernetes API model
(emulator/kube_api.py). Every answer of ours is in moto's recorder and classified like moto's.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from support.emulator import Call, count_by_operation
from support.network import vpc_with_subnets

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: emulator/ is not a package on the test path
from emulator import eks_fidelity  # noqa: E402
from emulator.access_analyzer import Request  # noqa: E402
from emulator.server import ExtensionMiddleware  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-cluster"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-fargate"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/moto"  # moto's identity for unknown access keys
CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


def eks():
    return boto3.client("eks", region_name=REGION)


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def network(zones="ab"):
    return vpc_with_subnets(REGION, "10.0.0.0/16", zones=zones)


def cluster(client, subnets, name="main", version="1.31", mode="API", bootstrap=False, **kwargs):
    return client.create_cluster(name=name, version=version, roleArn=ROLE, resourcesVpcConfig={"subnetIds": subnets, **kwargs},
                                 accessConfig={"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": bootstrap})["cluster"]


def nodegroup(client, subnets, name="system", cluster_name="main", scaling=None, **kwargs):
    return client.create_nodegroup(clusterName=cluster_name, nodegroupName=name, nodeRole=NODE_ROLE, subnets=subnets,
                                   scalingConfig=scaling or {"minSize": 1, "maxSize": 3, "desiredSize": 2}, **kwargs)["nodegroup"]


def test_cluster_has_the_fields_moto_lacks(aws_env):
    client = eks()
    vpc_id, subnets = network()
    created = cluster(client, subnets, endpointPublicAccess=False, endpointPrivateAccess=True)
    described = client.describe_cluster(name="main")["cluster"]
    for answer in (created, described):
        vpc = answer["resourcesVpcConfig"]
        assert vpc["vpcId"] == vpc_id and vpc["subnetIds"] == subnets and vpc["securityGroupIds"] == []
        assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"], vpc["publicAccessCidrs"]) == (False, True, ["0.0.0.0/0"])
        assert answer["endpoint"] == f"{aws_env.endpoint_url}/_eks/{REGION}/main"
        assert answer["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
        assert answer["version"] == "1.31" and answer["status"] == "ACTIVE"
    assert base64.b64decode(described["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    group = boto3.client("ec2", region_name=REGION).describe_security_groups(
        GroupIds=[described["resourcesVpcConfig"]["clusterSecurityGroupId"]])["SecurityGroups"][0]
    assert group["VpcId"] == vpc_id and group["GroupName"].startswith("eks-cluster-sg-main-")
    assert {"Key": "aws:eks:cluster-name", "Value": "main"} in group["Tags"]
    other = cluster(client, subnets, name="other", mode="CONFIG_MAP")
    assert other["identity"]["oidc"]["issuer"] != described["identity"]["oidc"]["issuer"]  # one OIDC issuer per cluster
    assert other["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    assert sorted(client.list_clusters()["clusters"]) == ["main", "other"]  # moto's


def test_create_cluster_is_validated_like_eks(aws_env):
    client = eks()
    _vpc_id, subnets = network("aab")
    with pytest.raises(client.exceptions.InvalidParameterException) as one_zone:
        cluster(client, subnets[:2])
    assert "two different AZs" in one_zone.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterException) as unknown:
        cluster(client, [subnets[0], "subnet-0123456789abcdef0"])
    assert "subnet-0123456789abcdef0" in unknown.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidParameterException):
        cluster(client, subnets[1:], version="1.20")
    with pytest.raises(client.exceptions.InvalidParameterException):
        cluster(client, subnets[1:], endpointPublicAccess=True, publicAccessCidrs=["10.0.0.1/8"])
    assert client.list_clusters()["clusters"] == []
    cluster(client, subnets[1:])
    with pytest.raises(client.exceptions.ResourceInUseException) as again:
        cluster(client, subnets[1:])
    assert error_of(again) == ("ResourceInUseException", 409)


def test_access_entries(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets, bootstrap=True)
    assert client.list_access_entries(clusterName="main")["accessEntries"] == [CALLER]  # bootstrapClusterCreatorAdminPermissions
    creator = client.list_associated_access_policies(clusterName="main", principalArn=CALLER)["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]) for p in creator] == [(CLUSTER_ADMIN, {"type": "cluster", "namespaces": []})]

    entry = client.create_access_entry(clusterName="main", principalArn=ADMIN, kubernetesGroups=["platform-admins"],
                                       tags={"cairn.platform/stack": "t"})["accessEntry"]
    assert entry["type"] == "STANDARD" and entry["kubernetesGroups"] == ["platform-admins"]
    assert entry["username"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-admin/{{{{SessionName}}}}"
    assert entry["accessEntryArn"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/main/role/{ACCOUNT}/platform-admin/")
    with pytest.raises(client.exceptions.ResourceInUseException) as duplicate:
        client.create_access_entry(clusterName="main", principalArn=ADMIN)
    assert error_of(duplicate) == ("ResourceInUseException", 409)

    updated = client.update_access_entry(clusterName="main", principalArn=ADMIN, kubernetesGroups=["ops"])["accessEntry"]
    assert updated["kubernetesGroups"] == ["ops"] and updated["username"] == entry["username"]
    associated = client.associate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW,
                                                accessScope={"type": "namespace", "namespaces": ["apps"]})
    assert associated["associatedAccessPolicy"]["accessScope"] == {"type": "namespace", "namespaces": ["apps"]}
    client.associate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW, accessScope={"type": "cluster"})
    listed = client.list_associated_access_policies(clusterName="main", principalArn=ADMIN)["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]["type"]) for p in listed] == [(VIEW, "cluster")]  # associating again: new scope
    assert client.list_access_entries(clusterName="main", associatedPolicyArn=VIEW)["accessEntries"] == [ADMIN]
    for bad_scope in ({"type": "namespace"}, {"type": "cluster", "namespaces": ["apps"]}):
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.associate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW, accessScope=bad_scope)
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.associate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW + "Nope", accessScope={"type": "cluster"})
    assert {"name": "AmazonEKSClusterAdminPolicy", "arn": CLUSTER_ADMIN} in client.list_access_policies()["accessPolicies"]

    client.disassociate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.disassociate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW)
    client.delete_access_entry(clusterName="main", principalArn=ADMIN)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as gone:
        client.describe_access_entry(clusterName="main", principalArn=ADMIN)
    assert error_of(gone) == ("ResourceNotFoundException", 404)

    with pytest.raises(client.exceptions.InvalidParameterException):  # node entries take no groups
        client.create_access_entry(clusterName="main", principalArn=NODE_ROLE, type="EC2_LINUX", kubernetesGroups=["x"])
    client.create_access_entry(clusterName="main", principalArn=NODE_ROLE, type="EC2_LINUX")
    with pytest.raises(client.exceptions.InvalidParameterException):  # ... and no access policy
        client.associate_access_policy(clusterName="main", principalArn=NODE_ROLE, policyArn=VIEW, accessScope={"type": "cluster"})
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.create_access_entry(clusterName="main", principalArn=ADMIN, username="system:admin")


def test_access_entries_need_an_api_authentication_mode(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets, mode="CONFIG_MAP")
    nodegroup(client, subnets)
    client.create_fargate_profile(clusterName="main", fargateProfileName="batch", podExecutionRoleArn=POD_ROLE,
                                  selectors=[{"namespace": "batch"}])
    with pytest.raises(client.exceptions.InvalidRequestException) as refused:
        client.list_access_entries(clusterName="main")
    assert "authentication mode" in refused.value.response["Error"]["Message"]

    update = client.update_cluster_config(name="main", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})["update"]
    assert (update["type"], update["status"], update["params"]) == ("AccessConfigUpdate", "Successful",
                                                                    [{"type": "AuthenticationMode", "value": "API_AND_CONFIG_MAP"}])
    assert client.describe_cluster(name="main")["cluster"]["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    entries = {arn: client.describe_access_entry(clusterName="main", principalArn=arn)["accessEntry"]["type"]
               for arn in client.list_access_entries(clusterName="main")["accessEntries"]}
    assert entries == {NODE_ROLE: "EC2_LINUX", POD_ROLE: "FARGATE_LINUX"}
    with pytest.raises(client.exceptions.InvalidParameterException):  # one way only: CONFIG_MAP -> API_AND_CONFIG_MAP -> API
        client.update_cluster_config(name="main", accessConfig={"authenticationMode": "CONFIG_MAP"})


def test_managed_nodes_and_fargate_get_access_entries_on_api_clusters(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets)
    created = nodegroup(client, subnets, capacityType="SPOT", instanceTypes=["m6i.large", "m5.large"])
    assert created["version"] == "1.31" and created["releaseVersion"].startswith("1.31.")
    assert created["amiType"] == "AL2023_x86_64_STANDARD" and created["updateConfig"] == {"maxUnavailable": 1}
    assert "remoteAccess" not in created
    client.create_fargate_profile(clusterName="main", fargateProfileName="batch", podExecutionRoleArn=POD_ROLE,
                                  selectors=[{"namespace": "batch"}])
    node = client.describe_access_entry(clusterName="main", principalArn=NODE_ROLE)["accessEntry"]
    assert (node["type"], node["username"], node["kubernetesGroups"]) == ("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", ["system:nodes"])
    assert client.describe_access_entry(clusterName="main", principalArn=POD_ROLE)["accessEntry"]["type"] == "FARGATE_LINUX"
    nodegroup(client, subnets, name="apps")  # same role: still one entry
    assert client.list_access_entries(clusterName="main")["accessEntries"] == [POD_ROLE, NODE_ROLE]  # sorted


def test_node_group_sizes_are_checked(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets)
    for scaling in ({"minSize": 3, "maxSize": 2, "desiredSize": 2}, {"minSize": 2, "maxSize": 4, "desiredSize": 1},
                    {"minSize": 1, "maxSize": 2, "desiredSize": 3}):
        with pytest.raises(client.exceptions.InvalidParameterException) as refused:
            nodegroup(client, subnets, scaling=scaling)
        assert error_of(refused) == ("InvalidParameterException", 400), scaling
    assert client.list_nodegroups(clusterName="main")["nodegroups"] == []
    with pytest.raises(client.exceptions.InvalidParameterException):
        nodegroup(client, subnets, version="1.30")  # the cluster's version is the only accepted one

    nodegroup(client, subnets)
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_nodegroup_config(clusterName="main", nodegroupName="system", scalingConfig={"maxSize": 1})  # desired 2 > max 1
    update = client.update_nodegroup_config(clusterName="main", nodegroupName="system", scalingConfig={"minSize": 2, "maxSize": 5},
                                            labels={"addOrUpdateLabels": {"role": "system"}},
                                            updateConfig={"maxUnavailablePercentage": 33})["update"]
    assert update["type"] == "ConfigUpdate" and update["status"] == "Successful"
    assert {p["type"] for p in update["params"]} == {"MinSize", "MaxSize", "LabelsToAdd", "MaxUnavailablePercentage"}
    described = client.describe_nodegroup(clusterName="main", nodegroupName="system")["nodegroup"]
    assert described["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 2}
    assert described["labels"] == {"role": "system"} and described["updateConfig"] == {"maxUnavailablePercentage": 33}
    assert client.describe_update(name="main", updateId=update["id"], nodegroupName="system")["update"] == update
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # a node group's update is not the cluster's
        client.describe_update(name="main", updateId=update["id"])


def test_version_updates_one_minor_at_a_time(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets, version="1.30")
    nodegroup(client, subnets)
    for target in ("1.32", "1.30", "1.29"):
        with pytest.raises(client.exceptions.InvalidParameterException) as refused:
            client.update_cluster_version(name="main", version=target)
        assert "Unsupported Kubernetes minor version update from 1.30" in refused.value.response["Error"]["Message"]
    update = client.update_cluster_version(name="main", version="1.31")["update"]
    assert (update["type"], update["status"]) == ("VersionUpdate", "Successful")
    assert {"type": "Version", "value": "1.31"} in update["params"]
    assert client.describe_cluster(name="main")["cluster"]["version"] == "1.31"
    assert client.describe_update(name="main", updateId=update["id"])["update"] == update
    assert client.list_updates(name="main")["updateIds"] == [update["id"]]

    with pytest.raises(client.exceptions.InvalidRequestException):  # node groups first
        client.update_cluster_version(name="main", version="1.32")
    with pytest.raises(client.exceptions.InvalidParameterException):  # never above the control plane
        client.update_nodegroup_version(clusterName="main", nodegroupName="system", version="1.32")
    node_update = client.update_nodegroup_version(clusterName="main", nodegroupName="system")["update"]
    assert {"type": "Version", "value": "1.31"} in node_update["params"]
    described = client.describe_nodegroup(clusterName="main", nodegroupName="system")["nodegroup"]
    assert described["version"] == "1.31" and described["releaseVersion"].startswith("1.31.")
    assert client.list_updates(name="main", nodegroupName="system")["updateIds"] == [node_update["id"]]
    client.update_cluster_version(name="main", version="1.32")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_cluster_version(name="missing", version="1.32")


def test_update_cluster_config_returns_an_update(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets, endpointPublicAccess=False, endpointPrivateAccess=True)
    public = {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}
    update = client.update_cluster_config(name="main", resourcesVpcConfig=public)["update"]
    assert (update["type"], update["status"]) == ("EndpointAccessUpdate", "Successful")
    vpc = client.describe_cluster(name="main")["cluster"]["resourcesVpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"], vpc["publicAccessCidrs"]) == (True, True, ["203.0.113.0/24"])
    assert vpc["subnetIds"] == subnets and vpc["vpcId"]  # merged, not replaced
    with pytest.raises(client.exceptions.InvalidParameterException) as same:
        client.update_cluster_config(name="main", resourcesVpcConfig={"endpointPublicAccess": True})
    assert "already at the desired configuration" in same.value.response["Error"]["Message"]

    logging = {"clusterLogging": [{"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}]}
    assert client.update_cluster_config(name="main", logging=logging)["update"]["type"] == "LoggingUpdate"
    assert client.describe_cluster(name="main")["cluster"]["logging"] == logging
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_cluster_config(name="main", logging=logging)  # no change
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_cluster_config(name="main", resourcesVpcConfig={"endpointPrivateAccess": False},
                                     accessConfig={"authenticationMode": "API"})  # one type of update per call
    assert len(client.list_updates(name="main")["updateIds"]) == 2


def test_addons(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets, version="1.31")
    versions = client.describe_addon_versions(kubernetesVersion="1.31")["addons"]
    assert {a["addonName"] for a in versions} == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver",
                                                  "amazon-cloudwatch-observability", "adot"}
    proxy = next(a for a in versions if a["addonName"] == "kube-proxy")
    assert [(v["addonVersion"], v["compatibilities"][0]["defaultVersion"]) for v in proxy["addonVersions"]] == [("v1.31.10-eksbuild.8", True)]

    created = client.create_addon(clusterName="main", addonName="kube-proxy", tags={"cairn.platform/stack": "t"})["addon"]
    assert (created["addonVersion"], created["status"]) == ("v1.31.10-eksbuild.8", "ACTIVE")  # the default version
    assert created["addonArn"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/main/kube-proxy/")
    for name, version in (("kube-proxy2", None), ("coredns", "v1.12.4-eksbuild.1"), ("kube-proxy", "v1.30.14-eksbuild.8")):
        with pytest.raises(ClientError) as refused:
            client.create_addon(clusterName="main", addonName=name, **({"addonVersion": version} if version else {}))
        assert error_of(refused)[0] in ("InvalidParameterException", "ResourceInUseException"), name
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.create_addon(clusterName="main", addonName="coredns", addonVersion="v1.12.4-eksbuild.1")  # a 1.33 version
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.create_addon(clusterName="main", addonName="kube-proxy")

    role = f"arn:aws:iam::{ACCOUNT}:role/ebs-csi"
    client.create_addon(clusterName="main", addonName="aws-ebs-csi-driver", serviceAccountRoleArn=role, resolveConflicts="OVERWRITE")
    update = client.update_addon(clusterName="main", addonName="aws-ebs-csi-driver", serviceAccountRoleArn=role + "-v2",
                                 configurationValues=json.dumps({"controller": {"replicaCount": 3}}), resolveConflicts="OVERWRITE")["update"]
    assert (update["type"], update["status"]) == ("AddonUpdate", "Successful")
    addon = client.describe_addon(clusterName="main", addonName="aws-ebs-csi-driver")["addon"]
    assert addon["serviceAccountRoleArn"] == role + "-v2" and json.loads(addon["configurationValues"]) == {"controller": {"replicaCount": 3}}
    assert client.describe_update(name="main", updateId=update["id"], addonName="aws-ebs-csi-driver")["update"] == update
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_addon(clusterName="main", addonName="aws-ebs-csi-driver", configurationValues="[1, 2]")

    client.update_cluster_version(name="main", version="1.32")
    client.update_addon(clusterName="main", addonName="kube-proxy", addonVersion="v1.32.6-eksbuild.8")
    assert client.describe_addon(clusterName="main", addonName="kube-proxy")["addon"]["addonVersion"] == "v1.32.6-eksbuild.8"
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_addon(clusterName="main", addonName="kube-proxy", addonVersion="v1.31.10-eksbuild.8")

    client.tag_resource(resourceArn=created["addonArn"], tags={"team": "platform"})
    assert client.list_tags_for_resource(resourceArn=created["addonArn"])["tags"] == {"cairn.platform/stack": "t", "team": "platform"}
    assert client.list_addons(clusterName="main")["addons"] == ["aws-ebs-csi-driver", "kube-proxy"]
    assert client.delete_addon(clusterName="main", addonName="kube-proxy")["addon"]["status"] == "DELETING"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as gone:
        client.describe_addon(clusterName="main", addonName="kube-proxy")
    assert error_of(gone) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as gone_tags:
        client.list_tags_for_resource(resourceArn=created["addonArn"])
    assert error_of(gone_tags) == ("NotFoundException", 404)


def test_tags_of_node_groups_profiles_and_entries(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    arn = cluster(client, subnets)["arn"]
    group = nodegroup(client, subnets, tags={"a": "1"})
    entry = client.create_access_entry(clusterName="main", principalArn=ADMIN)["accessEntry"]
    for resource in (group["nodegroupArn"], entry["accessEntryArn"]):
        client.tag_resource(resourceArn=resource, tags={"b": "2"})
        client.untag_resource(resourceArn=resource, tagKeys=["a"])
        assert client.list_tags_for_resource(resourceArn=resource)["tags"] == {"b": "2"}
    assert client.describe_nodegroup(clusterName="main", nodegroupName="system")["nodegroup"]["tags"] == {"b": "2"}
    client.tag_resource(resourceArn=arn, tags={"c": "3"})  # clusters stay moto's
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"c": "3"}


def test_delete_cluster(aws_env):
    client, ec2 = eks(), boto3.client("ec2", region_name=REGION)
    _vpc_id, subnets = network()
    group_id = cluster(client, subnets)["resourcesVpcConfig"]["clusterSecurityGroupId"]
    nodegroup(client, subnets)
    client.create_addon(clusterName="main", addonName="vpc-cni")
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.delete_cluster(name="main")
    client.delete_nodegroup(clusterName="main", nodegroupName="system")  # moto's
    assert client.delete_cluster(name="main")["cluster"]["status"] == "DELETING"
    assert client.list_clusters()["clusters"] == []
    assert ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroups"] == []
    cluster(client, subnets)  # same name again: nothing of the old one remains
    assert client.list_addons(clusterName="main")["addons"] == []
    assert client.list_access_entries(clusterName="main")["accessEntries"] == []


def test_calls_are_recorded_and_classified(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    with aws_env.recording() as calls:
        cluster(client, subnets)
        client.create_access_entry(clusterName="main", principalArn=ADMIN)
        client.associate_access_policy(clusterName="main", principalArn=ADMIN, policyArn=VIEW, accessScope={"type": "cluster"})
        client.list_associated_access_policies(clusterName="main", principalArn=ADMIN)
        client.create_addon(clusterName="main", addonName="coredns")
        client.describe_addon_versions(addonName="coredns")
        client.update_cluster_version(name="main", version="1.32")
        client.list_nodegroups(clusterName="main")  # moto's
    assert count_by_operation(calls) == {f"eks:{name}": 1 for name in (
        "CreateCluster", "CreateAccessEntry", "AssociateAccessPolicy", "ListAssociatedAccessPolicies", "CreateAddon",
        "DescribeAddonVersions", "UpdateClusterVersion", "ListNodegroups")}
    assert {call.operation for call in calls if call.mutating} == {"CreateCluster", "CreateAccessEntry", "AssociateAccessPolicy",
                                                                   "CreateAddon", "UpdateClusterVersion"}
    assert Call("eks", "DescribeAddonVersions", False) in calls


def test_operations_nobody_models_answer_501(aws_env):
    client = eks()
    _vpc_id, subnets = network()
    cluster(client, subnets)
    with pytest.raises(ClientError) as missing:
        client.list_pod_identity_associations(clusterName="main")
    assert error_of(missing) == ("NotImplemented", 501)
    assert "ListPodIdentityAssociations" in missing.value.response["Error"]["Message"]


def test_kubernetes_api_paths_reach_the_kube_model_and_reset_clears_it(aws_env):
    url = aws_env.endpoint_url + f"/_eks/{REGION}/main/api/v1/namespaces"
    with pytest.raises(urllib.error.HTTPError) as unauthorized:
        urllib.request.urlopen(url, timeout=10)
    assert unauthorized.value.code == 401  # no bearer token
    log = json.loads(urllib.request.urlopen(aws_env.endpoint_url + "/_eks/_requests", timeout=10).read())
    assert {"method": "GET", "path": f"/_eks/{REGION}/main/api/v1/namespaces"}.items() <= log[-1].items()
    aws_env.reset()
    assert json.loads(urllib.request.urlopen(aws_env.endpoint_url + "/_eks/_requests", timeout=10).read()) == []


def test_the_emulator_log_shows_no_disabled_model(emulator):
    assert "eks_fidelity: disabled" not in emulator.log_path.read_text(errors="replace")
    assert eks_fidelity.check_internals() is None  # moto's internals as the model expects them (moto is only imported here)


def test_a_disabled_model_leaves_every_request_to_moto():
    model = eks_fidelity.EksModel()
    model.disabled = "moto moved"
    request = Request("GET", "/clusters/main/addons", {}, b"", ACCOUNT, REGION)
    assert model.handle(request, host="h", access_key="k") is None


def test_middleware_routes_eks_paths_and_resets_the_kube_app():
    class Fake:
        def __init__(self, name):
            self.name, self.resets, self.paths = name, 0, []

        def reset(self):
            self.resets += 1

        def __call__(self, environ, start_response):
            self.paths.append(environ["PATH_INFO"])
            start_response("200 OK", [])
            return [self.name.encode()]

    moto, kube = Fake("moto"), Fake("kube")
    app = ExtensionMiddleware(moto, {}, kube_app=kube)

    def call(method, path):
        return b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "wsgi.input": io.BytesIO()},
                            lambda *args: None))

    assert call("GET", "/_eks/us-east-1/main/api/v1/namespaces") == b"kube"
    assert call("GET", "/_eksother") == b"moto"
    assert call("POST", "/moto-api/reset") == b"moto" and kube.resets == 1
    assert kube.paths == ["/_eks/us-east-1/main/api/v1/namespaces"]

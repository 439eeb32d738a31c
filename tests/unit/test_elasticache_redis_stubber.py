"""elasticache_redis paths the emulator lacks, driven by botocore Stubber.

moto has no cache parameter groups, no resharding, no replica count changes, no subnet group
modify/delete, and never finishes deleting a replication group. Stubber checks every request below
against the real ElastiCache / Secrets Manager API models (and the expected parameters), and every
canned response against the model's output shape, without any network traffic.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.tags import dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.modules.elasticache_redis import (
    ARGUMENT_SPEC,
    COMPONENT,
    RedisConverger,
    build_spec,
    valid_auth_token,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

RG = "prod-us-east-1-redis"
PG = "prod-us-east-1-redis-redis7"
SECRET = "/cairn/prod/prod-us-east-1/redis/auth"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:/cairn/prod/prod-us-east-1/redis/auth-AbCdEf"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RG_ARN = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:" + RG
PG_ARN = "arn:aws:elasticache:us-east-1:123456789012:parametergroup:" + PG
SUBNET_GROUP_ARN = "arn:aws:elasticache:us-east-1:123456789012:subnetgroup:" + RG
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
OWNED = {"Name": RG, "cairn:environment": "prod", "cairn:stack": "prod-us-east-1", "cairn:component": "redis",
         "cairn:managed-by": "cairn.platform"}
BASE = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
            subnet_ids=SUBNETS, security_group_ids=["sg-0redis"], node_type="cache.r7g.large", num_node_groups=2,
            replicas_per_node_group=1, kms_key_id=KEY, snapshot_window="03:00-04:00",
            maintenance_window="sun:05:00-sun:06:00", parameter_group={"parameters": {"maxmemory-policy": "volatile-lru"}})


def make_converger(check_mode=False, **args):
    """The converger of a real CairnModule (AnsibleModule parsing the module's own argument spec); its .cm is the module."""
    module_args = dict(BASE, _ansible_check_mode=check_mode, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    converger = RedisConverger(cm, build_spec(cm.params))
    # The converger's clients are the connection's cached ones: stubbing them stubs the converger.
    assert converger.ec is cm.client("elasticache")
    return converger


def node_groups(replicas):
    return [{"NodeGroupId": group, "Status": "available",
             "NodeGroupMembers": [{"CacheClusterId": "{0}-{1}-{2:03d}".format(RG, group, i + 1), "CacheNodeId": "0001"}
                                  for i in range(count + 1)]}
            for group, count in sorted(replicas.items())]


def replication_group(replicas=None, **overrides):
    """A replication group as DescribeReplicationGroups reports one that matches BASE."""
    groups = node_groups(replicas or {"0001": 1, "0002": 1})
    group = {
        "ReplicationGroupId": RG, "Description": "Redis 7 cache of prod-us-east-1 (cairn.platform)", "Status": "available",
        "MemberClusters": [m["CacheClusterId"] for g in groups for m in g["NodeGroupMembers"]], "NodeGroups": groups,
        "AutomaticFailover": "enabled", "MultiAZ": "enabled",
        "ConfigurationEndpoint": {"Address": "clustercfg.{0}.abc123.use1.cache.amazonaws.com".format(RG), "Port": 6379},
        "SnapshotRetentionLimit": 7, "SnapshotWindow": "03:00-04:00", "ClusterEnabled": True,
        "CacheNodeType": "cache.r7g.large", "AuthTokenEnabled": True, "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True, "KmsKeyId": KEY, "ARN": RG_ARN, "LogDeliveryConfigurations": [],
        "AutoMinorVersionUpgrade": True, "TransitEncryptionMode": "required", "ClusterMode": "enabled", "Engine": "redis",
    }
    group.update(overrides)
    return group


def member(**overrides):
    """The first member cluster as DescribeCacheClusters reports it."""
    cluster = {
        "CacheClusterId": RG + "-0001-001", "CacheNodeType": "cache.r7g.large", "Engine": "redis", "EngineVersion": "7.1.0",
        "CacheClusterStatus": "available", "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
        "CacheParameterGroup": {"CacheParameterGroupName": PG, "ParameterApplyStatus": "in-sync"},
        "CacheSubnetGroupName": RG, "SecurityGroups": [{"SecurityGroupId": "sg-0redis", "Status": "active"}],
        "ReplicationGroupId": RG, "PendingModifiedValues": {},
    }
    cluster.update(overrides)
    return cluster


def as_read(converger, rg=None, cluster=None, rg_tags=None):
    """State as after read(): the replication group and its first member exist and are ours."""
    converger.rg = rg or replication_group()
    converger.rg_tags = dict(OWNED) if rg_tags is None else rg_tags
    converger.member = member() if cluster is None else cluster


def describe(rg):
    return {"ReplicationGroups": [rg]}


def capture(client, event):
    """The parameters of every call named by `event` (checked against the model before they are sent)."""
    seen = []
    client.meta.events.register("before-parameter-build." + event, lambda params, **kwargs: seen.append(dict(params)))
    return seen


# ---- our parameter group (the emulator has no parameter groups at all) ------------------------
def parameter_group():
    return {"CacheParameterGroupName": PG, "CacheParameterGroupFamily": "redis7", "Description": "d", "IsGlobal": False, "ARN": PG_ARN}


def test_our_parameter_group_is_created_with_cluster_enabled_and_the_user_parameters():
    converger = make_converger()
    with Stubber(converger.ec) as stub:
        stub.add_client_error("describe_cache_parameter_groups", service_error_code="CacheParameterGroupNotFound",
                              expected_params={"CacheParameterGroupName": PG})
        stub.add_response("create_cache_parameter_group", {"CacheParameterGroup": parameter_group()}, {
            "CacheParameterGroupName": PG, "CacheParameterGroupFamily": "redis7",
            "Description": "Redis 7 cluster-mode parameters of prod-us-east-1 (cairn.platform)",
            "Tags": dict_to_boto3_tag_list(OWNED)})
        stub.add_response("modify_cache_parameter_group", {"CacheParameterGroupName": PG}, {
            "CacheParameterGroupName": PG,
            "ParameterNameValues": [{"ParameterName": "cluster-enabled", "ParameterValue": "yes"},
                                    {"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"}]})
        converger.read_parameter_group()
        converger.ensure_parameter_group()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert (change["action"], change["resource_type"], change["resource"]) == ("create", "cache_parameter_group", PG)
    assert change["fields"]["parameters"]["after"] == {"cluster-enabled": "yes", "maxmemory-policy": "volatile-lru"}


def test_parameters_are_sent_twenty_at_a_time():
    parameters = {"param-{0:02d}".format(i): str(i) for i in range(25)}
    converger = make_converger(parameter_group={"parameters": parameters})
    sent = capture(converger.ec, "elasticache.ModifyCacheParameterGroup")
    with Stubber(converger.ec) as stub:
        stub.add_response("create_cache_parameter_group", {"CacheParameterGroup": parameter_group()})
        stub.add_response("modify_cache_parameter_group", {"CacheParameterGroupName": PG})
        stub.add_response("modify_cache_parameter_group", {"CacheParameterGroupName": PG})
        converger.ensure_parameter_group()
        stub.assert_no_pending_responses()
    assert [len(call["ParameterNameValues"]) for call in sent] == [20, 6]


def read_owned_parameter_group(stub, user_parameters):
    stub.add_response("describe_cache_parameter_groups", {"CacheParameterGroups": [parameter_group()]},
                      {"CacheParameterGroupName": PG})
    stub.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNED)}, {"ResourceName": PG_ARN})
    stub.add_response("describe_cache_parameters", {"Parameters": [
        {"ParameterName": name, "ParameterValue": value, "Source": "user"} for name, value in user_parameters.items()]},
        {"CacheParameterGroupName": PG, "Source": "user"})


def test_parameter_drift_sets_what_changed_and_resets_what_was_dropped():
    converger = make_converger()
    with Stubber(converger.ec) as stub:
        read_owned_parameter_group(stub, {"cluster-enabled": "yes", "maxmemory-policy": "allkeys-lru", "timeout": "300"})
        stub.add_response("modify_cache_parameter_group", {"CacheParameterGroupName": PG}, {
            "CacheParameterGroupName": PG,
            "ParameterNameValues": [{"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"}]})
        stub.add_response("reset_cache_parameter_group", {"CacheParameterGroupName": PG}, {
            "CacheParameterGroupName": PG, "ParameterNameValues": [{"ParameterName": "timeout"}]})
        converger.read_parameter_group()
        converger.ensure_parameter_group()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert change["action"] == "update" and change["resource_type"] == "cache_parameter_group"
    assert change["fields"]["parameters"] == {
        "before": {"cluster-enabled": "yes", "maxmemory-policy": "allkeys-lru", "timeout": "300"},
        "after": {"cluster-enabled": "yes", "maxmemory-policy": "volatile-lru"}}


def test_parameter_group_in_sync_makes_no_write_and_check_mode_plans_the_drift_without_writing():
    converger = make_converger()
    with Stubber(converger.ec) as stub:
        read_owned_parameter_group(stub, {"cluster-enabled": "yes", "maxmemory-policy": "volatile-lru"})
        converger.read_parameter_group()
        converger.ensure_parameter_group()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []

    converger = make_converger(check_mode=True)
    with Stubber(converger.ec) as stub:
        read_owned_parameter_group(stub, {"cluster-enabled": "yes"})
        converger.read_parameter_group()
        converger.ensure_parameter_group()  # a write here would find no queued response and fail
        stub.assert_no_pending_responses()
    assert [c["resource_type"] for c in converger.plan.changes] == ["cache_parameter_group"]


@pytest.mark.parametrize("tags,family,words", [
    ({"owner": "someone"}, "redis7", "does not carry the ownership tags"),
    (OWNED, "redis6.x", "is of family redis6.x"),
])
def test_a_parameter_group_we_cannot_use_is_refused_before_any_write(tags, family, words):
    converger = make_converger()
    converger.parameter_group = dict(parameter_group(), CacheParameterGroupFamily=family)
    converger.parameter_group_tags = tags
    converger.secrets._read[SECRET] = None
    with pytest.raises(CairnError) as failure:
        converger.preflight()
    assert failure.value.message.startswith("parameter_group.name:") and words in failure.value.message


def test_a_whole_first_run_with_our_parameter_group_keeps_the_token_out_of_the_result():
    converger = make_converger()
    cm = converger.cm
    secretsmanager = cm.client("secretsmanager")
    stored = capture(secretsmanager, "secrets-manager.CreateSecret")
    created = capture(converger.ec, "elasticache.CreateReplicationGroup")
    with Stubber(converger.ec) as ec, Stubber(secretsmanager) as sm, Stubber(cm.client("logs")) as lg:
        ec.add_client_error("describe_replication_groups", service_error_code="ReplicationGroupNotFoundFault",
                            expected_params={"ReplicationGroupId": RG})
        ec.add_client_error("describe_cache_subnet_groups", service_error_code="CacheSubnetGroupNotFoundFault",
                            expected_params={"CacheSubnetGroupName": RG})
        ec.add_client_error("describe_cache_parameter_groups", service_error_code="CacheParameterGroupNotFound")
        sm.add_client_error("describe_secret", service_error_code="ResourceNotFoundException", expected_params={"SecretId": SECRET})
        ec.add_response("create_cache_subnet_group", {"CacheSubnetGroup": {"CacheSubnetGroupName": RG, "VpcId": "vpc-0a",
                                                                           "ARN": SUBNET_GROUP_ARN}}, {
            "CacheSubnetGroupName": RG, "CacheSubnetGroupDescription": "Redis subnets of prod-us-east-1 (cairn.platform)",
            "SubnetIds": SUBNETS, "Tags": dict_to_boto3_tag_list(OWNED)})
        ec.add_response("create_cache_parameter_group", {"CacheParameterGroup": parameter_group()})
        ec.add_response("modify_cache_parameter_group", {"CacheParameterGroupName": PG})
        sm.add_response("create_secret", {"ARN": SECRET_ARN, "Name": SECRET}, {
            "Name": SECRET, "Description": "AUTH token of Redis replication group {0} (cairn.platform)".format(RG),
            "SecretString": ANY, "Tags": dict_to_boto3_tag_list(OWNED), "ClientRequestToken": ANY})
        ec.add_response("create_replication_group", {"ReplicationGroup": replication_group(Status="creating")}, {
            "ReplicationGroupId": RG, "ReplicationGroupDescription": "Redis 7 cache of prod-us-east-1 (cairn.platform)",
            "Engine": "redis", "EngineVersion": "7.1", "ClusterMode": "enabled", "NumNodeGroups": 2, "ReplicasPerNodeGroup": 1,
            "CacheNodeType": "cache.r7g.large", "Port": 6379, "CacheParameterGroupName": PG, "CacheSubnetGroupName": RG,
            "AutomaticFailoverEnabled": True, "MultiAZEnabled": True, "AtRestEncryptionEnabled": True, "KmsKeyId": KEY,
            "TransitEncryptionEnabled": True, "TransitEncryptionMode": "required", "AuthToken": ANY,
            "SnapshotRetentionLimit": 7, "SnapshotWindow": "03:00-04:00", "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
            "SecurityGroupIds": ["sg-0redis"], "AutoMinorVersionUpgrade": True, "Tags": dict_to_boto3_tag_list(OWNED)})
        lg.add_response("describe_log_groups", {"logGroups": []})  # slow log off: no group of ours to remove
        ec.add_response("describe_replication_groups", describe(replication_group()), {"ReplicationGroupId": RG})  # waiter
        ec.add_response("describe_replication_groups", describe(replication_group()), {"ReplicationGroupId": RG})  # result
        result = converger.present()
        for stub in (ec, sm, lg):
            stub.assert_no_pending_responses()
    token = stored[0]["SecretString"]
    # The token AWS got is the one stored, it follows the rules, and it is nowhere in the result or plan.
    assert created[0]["AuthToken"] == token and valid_auth_token(token) and len(token) == 64
    assert token not in json.dumps(result, default=str) and token not in json.dumps(converger.plan.result(diff_mode=True))
    assert token in cm.module.no_log_values
    assert result["parameter_group"]["aws_default"] is False and result["auth_secret"] == {"name": SECRET, "arn": SECRET_ARN}
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("create", "cache_subnet_group"), ("create", "cache_parameter_group"), ("create", "secret"), ("create", "replication_group")]


# ---- scaling (NotImpl in the emulator) --------------------------------------------------------
def scaling_changes(converger):
    return [(c["fields"], c.get("note")) for c in converger.plan.changes]


def test_more_shards_is_online_resharding_never_a_replacement():
    converger = make_converger(num_node_groups=3)
    as_read(converger)
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_replication_group_shard_configuration", {"ReplicationGroup": replication_group(Status="modifying")},
                          {"ReplicationGroupId": RG, "NodeGroupCount": 3, "ApplyImmediately": True})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert scaling_changes(converger) == [({"num_node_groups": {"before": 2, "after": 3}}, "online resharding (adds 1 shard)")]
    assert converger.plan.changes[0]["resource_type"] == "replication_group"


def test_fewer_shards_removes_the_newest_node_groups():
    converger = make_converger(num_node_groups=2)
    as_read(converger, rg=replication_group({"0001": 1, "0002": 1, "0003": 1}))
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_replication_group_shard_configuration", {"ReplicationGroup": replication_group()},
                          {"ReplicationGroupId": RG, "NodeGroupCount": 2, "ApplyImmediately": True, "NodeGroupsToRemove": ["0003"]})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert scaling_changes(converger) == [({"num_node_groups": {"before": 3, "after": 2}}, "online resharding (removes node group 0003)")]


@pytest.mark.parametrize("current,desired,operation,note", [
    (1, 2, "increase_replica_count", "adds replicas"),
    (2, 1, "decrease_replica_count", "removes replicas"),
])
def test_replica_changes_add_or_remove_replicas_in_place(current, desired, operation, note):
    converger = make_converger(replicas_per_node_group=desired)
    as_read(converger, rg=replication_group({"0001": current, "0002": current}))
    with Stubber(converger.ec) as stub:
        stub.add_response(operation, {"ReplicationGroup": replication_group(Status="modifying")},
                          {"ReplicationGroupId": RG, "NewReplicaCount": desired, "ApplyImmediately": True})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert scaling_changes(converger) == [({"replicas_per_node_group": {"before": current, "after": desired}}, note)]


def test_shards_and_replicas_together_wait_between_the_steps_and_plan_replicas_from_the_real_shards():
    converger = make_converger(num_node_groups=3, replicas_per_node_group=2)
    as_read(converger)
    resharded = replication_group({"0001": 1, "0002": 1, "0003": 1})
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_replication_group_shard_configuration", {"ReplicationGroup": replication_group(Status="modifying")},
                          {"ReplicationGroupId": RG, "NodeGroupCount": 3, "ApplyImmediately": True})
        stub.add_response("describe_replication_groups", describe(resharded), {"ReplicationGroupId": RG})  # wait for resharding
        stub.add_response("describe_replication_groups", describe(resharded), {"ReplicationGroupId": RG})  # read the new shards
        stub.add_response("describe_replication_groups", describe(resharded), {"ReplicationGroupId": RG})  # one change at a time
        stub.add_response("increase_replica_count", {"ReplicationGroup": resharded},
                          {"ReplicationGroupId": RG, "NewReplicaCount": 2, "ApplyImmediately": True})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert scaling_changes(converger) == [
        ({"num_node_groups": {"before": 2, "after": 3}}, "online resharding (adds 1 shard)"),
        ({"replicas_per_node_group": {"before": 1, "after": 2}}, "adds replicas"),
    ]


def test_check_mode_plans_scaling_without_any_call():
    converger = make_converger(check_mode=True, num_node_groups=3, replicas_per_node_group=2)
    as_read(converger)
    with Stubber(converger.ec) as stub:  # nothing queued: any call would fail the test
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert scaling_changes(converger) == [
        ({"num_node_groups": {"before": 2, "after": 3}}, "online resharding (adds 1 shard)"),
        ({"replicas_per_node_group": {"before": 1, "after": 2}}, "adds replicas"),
    ]


def test_last_replicas_go_only_after_multi_az_is_off():
    converger = make_converger(replicas_per_node_group=0, multi_az=False)
    as_read(converger)
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_replication_group", {"ReplicationGroup": replication_group(MultiAZ="disabled")},
                          {"ReplicationGroupId": RG, "ApplyImmediately": True, "MultiAZEnabled": False})
        stub.add_response("describe_replication_groups", describe(replication_group(MultiAZ="disabled")), {"ReplicationGroupId": RG})
        stub.add_response("decrease_replica_count", {"ReplicationGroup": replication_group()},
                          {"ReplicationGroupId": RG, "NewReplicaCount": 0, "ApplyImmediately": True})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert [c.get("note") for c in converger.plan.changes] == [None, "removes replicas"]


# ---- settings, pending modifications, AUTH token -----------------------------------------------
def test_member_settings_are_modified_in_one_call():
    converger = make_converger(apply_immediately=False)
    as_read(converger, cluster=member(EngineVersion="7.0.7", PreferredMaintenanceWindow="mon:05:00-mon:06:00",
                                      CacheParameterGroup={"CacheParameterGroupName": "default.redis7.cluster.on"},
                                      SecurityGroups=[{"SecurityGroupId": "sg-0old", "Status": "active"}]))
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_replication_group", {"ReplicationGroup": replication_group()}, {
            "ReplicationGroupId": RG, "ApplyImmediately": False, "EngineVersion": "7.1", "CacheParameterGroupName": PG,
            "PreferredMaintenanceWindow": "sun:05:00-sun:06:00", "SecurityGroupIds": ["sg-0redis"]})
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    assert sorted(change["fields"]) == ["engine_version", "maintenance_window", "parameter_group", "security_group_ids"]
    assert change["note"] == "engine upgrade; applied in the maintenance window (apply_immediately=false)"


def test_a_pending_modification_is_not_drift():
    converger = make_converger(node_type="cache.r7g.xlarge", apply_immediately=False)
    # Asked for on an earlier run; AWS holds it until the maintenance window.
    as_read(converger, cluster=member(PendingModifiedValues={"CacheNodeType": "cache.r7g.xlarge"}))
    with Stubber(converger.ec) as stub:
        converger.converge_replication_group(secret_missing=False)
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_a_missing_secret_gets_a_new_token_rotated_onto_the_replication_group():
    converger = make_converger()
    cm = converger.cm
    as_read(converger)
    secretsmanager = cm.client("secretsmanager")
    stored = capture(secretsmanager, "secrets-manager.CreateSecret")
    rotated = capture(converger.ec, "elasticache.ModifyReplicationGroup")
    with Stubber(converger.ec) as ec, Stubber(secretsmanager) as sm:
        sm.add_client_error("describe_secret", service_error_code="ResourceNotFoundException")
        sm.add_response("create_secret", {"ARN": SECRET_ARN, "Name": SECRET})
        ec.add_response("modify_replication_group", {"ReplicationGroup": replication_group()}, {
            "ReplicationGroupId": RG, "AuthToken": ANY, "AuthTokenUpdateStrategy": "ROTATE", "ApplyImmediately": True})
        secret_missing = converger.secrets.read(SECRET) is None
        assert converger.ensure_auth_secret() == SECRET_ARN
        converger.converge_replication_group(secret_missing)
        ec.assert_no_pending_responses()
        sm.assert_no_pending_responses()
    assert rotated[0]["AuthToken"] == stored[0]["SecretString"]
    change = converger.plan.changes[-1]
    assert change["fields"]["auth_token"]["after"] == "from secret " + SECRET
    assert stored[0]["SecretString"] not in json.dumps(converger.plan.result(diff_mode=True))


@pytest.mark.parametrize("rg,cluster,words", [
    (replication_group(ClusterEnabled=False, ClusterMode="disabled"), member(), "cluster mode is disabled"),
    (replication_group(AtRestEncryptionEnabled=False, KmsKeyId=None), member(), "encryption at rest is off"),
    (replication_group(KmsKeyId=KEY.replace("1234abcd", "9999abcd")), member(), "the key cannot change"),
    (replication_group(TransitEncryptionEnabled=False), member(), "in-transit encryption is off"),
    (replication_group(ConfigurationEndpoint={"Address": "x", "Port": 6380}), member(), "port: it listens on 6380"),
    (replication_group(), member(CacheSubnetGroupName="elsewhere"), "subnet_group_name: it is in elsewhere"),
    (replication_group(), member(EngineVersion="7.2.4"), "cannot downgrade"),
    (replication_group(Engine="valkey"), member(), "its engine is valkey"),
])
def test_changes_that_need_replacement_are_refused_before_any_write(rg, cluster, words):
    converger = make_converger()
    as_read(converger, rg={k: v for k, v in rg.items() if v is not None}, cluster=cluster)
    with Stubber(converger.ec) as stub:
        with pytest.raises(CairnError) as failure:
            converger.refuse_replacement()
        stub.assert_no_pending_responses()
    assert words in failure.value.message and "without being replaced" in failure.value.message


def test_subnet_group_drift_is_modified_in_place():
    converger = make_converger()
    converger.subnet_group = {"CacheSubnetGroupName": RG, "ARN": SUBNET_GROUP_ARN,
                              "CacheSubnetGroupDescription": "Redis subnets of prod-us-east-1 (cairn.platform)",
                              "Subnets": [{"SubnetIdentifier": s} for s in SUBNETS[:2]]}
    converger.subnet_group_tags = dict(OWNED)
    with Stubber(converger.ec) as stub:
        stub.add_response("modify_cache_subnet_group", {"CacheSubnetGroup": {"CacheSubnetGroupName": RG}}, {
            "CacheSubnetGroupName": RG, "CacheSubnetGroupDescription": "Redis subnets of prod-us-east-1 (cairn.platform)",
            "SubnetIds": SUBNETS})
        converger.ensure_subnet_group()
        stub.assert_no_pending_responses()
    assert converger.plan.changes[0]["fields"]["subnet_ids"] == {"before": SUBNETS[:2], "after": SUBNETS}


# ---- delete (moto leaves a group "deleting" forever and has no DeleteCacheSubnetGroup) ----------
def test_absent_takes_a_final_snapshot_waits_then_deletes_the_groups_and_schedules_the_secret():
    converger = make_converger(state="absent", final_snapshot_name="prod-redis-final", slow_log={"enabled": False})
    cm = converger.cm
    secretsmanager, logs = cm.client("secretsmanager"), cm.client("logs")
    with Stubber(converger.ec) as ec, Stubber(secretsmanager) as sm, Stubber(logs) as lg:
        ec.add_response("describe_replication_groups", describe(replication_group()), {"ReplicationGroupId": RG})
        ec.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNED)}, {"ResourceName": RG_ARN})
        ec.add_response("describe_cache_subnet_groups", {"CacheSubnetGroups": [{"CacheSubnetGroupName": RG, "ARN": SUBNET_GROUP_ARN}]})
        ec.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNED)}, {"ResourceName": SUBNET_GROUP_ARN})
        read_owned_parameter_group(ec, {"cluster-enabled": "yes"})
        ec.add_response("delete_replication_group", {"ReplicationGroup": replication_group(Status="deleting")},
                        {"ReplicationGroupId": RG, "FinalSnapshotIdentifier": "prod-redis-final"})
        sm.add_response("describe_secret", {"ARN": SECRET_ARN, "Name": SECRET, "Tags": dict_to_boto3_tag_list(OWNED)})
        sm.add_response("delete_secret", {"ARN": SECRET_ARN, "Name": SECRET},
                        {"SecretId": SECRET_ARN, "RecoveryWindowInDays": 30})
        lg.add_response("describe_log_groups", {"logGroups": []})
        ec.add_client_error("describe_replication_groups", service_error_code="ReplicationGroupNotFoundFault")  # waiter: gone
        ec.add_response("delete_cache_subnet_group", {}, {"CacheSubnetGroupName": RG})
        ec.add_response("delete_cache_parameter_group", {}, {"CacheParameterGroupName": PG})
        result = converger.absent()
        for stub in (ec, sm, lg):
            stub.assert_no_pending_responses()
    assert result["final_snapshot_name"] == "prod-redis-final" and result["deferred"] == []
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("delete", "replication_group"), ("delete", "secret"), ("delete", "cache_subnet_group"), ("delete", "cache_parameter_group")]


def test_turning_the_slow_log_off_stops_delivery_then_deletes_our_log_group():
    converger = make_converger(slow_log={"enabled": False}, parameter_group={"name": "default.redis7.cluster.on"})
    cm = converger.cm
    secretsmanager, logs = cm.client("secretsmanager"), cm.client("logs")
    log_group = "/cairn/prod/prod-us-east-1/redis/slow-log"
    delivering = replication_group(LogDeliveryConfigurations=[{
        "LogType": "slow-log", "DestinationType": "cloudwatch-logs", "LogFormat": "json", "Status": "active",
        "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": log_group}}}])
    with Stubber(converger.ec) as ec, Stubber(secretsmanager) as sm, Stubber(logs) as lg:
        ec.add_response("describe_replication_groups", describe(delivering), {"ReplicationGroupId": RG})
        ec.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNED)}, {"ResourceName": RG_ARN})
        ec.add_response("describe_cache_clusters", {"CacheClusters": [member(CacheParameterGroup={
            "CacheParameterGroupName": "default.redis7.cluster.on"})]}, {"CacheClusterId": RG + "-0001-001"})
        ec.add_response("describe_cache_subnet_groups", {"CacheSubnetGroups": [{
            "CacheSubnetGroupName": RG, "ARN": SUBNET_GROUP_ARN, "VpcId": "vpc-0a",
            "CacheSubnetGroupDescription": "Redis subnets of prod-us-east-1 (cairn.platform)",
            "Subnets": [{"SubnetIdentifier": s} for s in SUBNETS]}]})
        ec.add_response("list_tags_for_resource", {"TagList": dict_to_boto3_tag_list(OWNED)}, {"ResourceName": SUBNET_GROUP_ARN})
        sm.add_response("describe_secret", {"ARN": SECRET_ARN, "Name": SECRET, "Tags": dict_to_boto3_tag_list(OWNED),
                                            "Description": "AUTH token of Redis replication group {0} (cairn.platform)".format(RG)})
        ec.add_response("modify_replication_group", {"ReplicationGroup": replication_group()}, {
            "ReplicationGroupId": RG, "ApplyImmediately": True,
            "LogDeliveryConfigurations": [{"LogType": "slow-log", "Enabled": False}]})
        lg.add_response("describe_log_groups", {"logGroups": [
            {"logGroupName": log_group, "arn": "arn:aws:logs:us-east-1:123456789012:log-group:" + log_group + ":*"}]})
        lg.add_response("list_tags_for_resource", {"tags": OWNED})
        lg.add_response("delete_log_group", {}, {"logGroupName": log_group})
        ec.add_response("describe_replication_groups", describe(replication_group()), {"ReplicationGroupId": RG})  # waiter
        ec.add_response("describe_replication_groups", describe(replication_group()), {"ReplicationGroupId": RG})  # result
        result = converger.present()
        for stub in (ec, sm, lg):
            stub.assert_no_pending_responses()
    assert [(c["action"], c["resource_type"]) for c in converger.plan.changes] == [
        ("update", "replication_group"), ("delete", "log_group")]
    assert converger.plan.changes[0]["fields"] == {"slow_log": {"before": {"log_group": log_group, "format": "json"}, "after": None}}
    assert result["slow_log"] is None

"""The elasticache_redis module against the local emulator: create, read back, rerun, check mode, update, delete.

Most runs use the AWS default group default.redis7.cluster.on, which needs no parameter group call at
all; the last test runs our own group end to end against the emulator's model of cache parameter groups
(emulator/elasticache_parameter_groups.py), and tests/unit/test_elasticache_redis_stubber.py covers it
against the real API model too. Calls are counted by the emulator's recorder.
"""

from __future__ import annotations

import json

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

STACK = "test-us-east-1"
RG_ID = STACK + "-redis"
SECRET = "/cairn/test/{0}/redis/auth".format(STACK)
SLOW_LOG = "/cairn/test/{0}/redis/slow-log".format(STACK)


def elasticache():
    return boto3.client("elasticache", region_name="us-east-1")


def secretsmanager():
    return boto3.client("secretsmanager", region_name="us-east-1")


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


@pytest.fixture
def base(aws_env):
    """Three database subnets and the stack's KMS key, made directly (the networking module is tested elsewhere)."""
    _vpc_id, subnet_ids = vpc_with_subnets(cidr="10.60.0.0/16", zones="abc", first=144)
    key_arn = boto3.client("kms", region_name="us-east-1").create_key(Description="elasticache")["KeyMetadata"]["Arn"]
    return dict(
        environment="test", stack=STACK, subnet_ids=subnet_ids, node_type="cache.r7g.large",
        num_node_groups=2, replicas_per_node_group=1, kms_key_id=key_arn,
        parameter_group={"name": "default.redis7.cluster.on"},
        snapshot_retention_limit=7, snapshot_window="03:00-04:00", maintenance_window="sun:05:00-sun:06:00",
        slow_log={"enabled": True, "retention_days": 30}, tags={"owner": "platform"}, wait_timeout=60,
    )


@pytest.fixture
def converged(base):
    result = run_module("elasticache_redis", base, diff=True)
    assert result["changed"] is True
    return result


def auth_token():
    return secretsmanager().get_secret_value(SecretId=SECRET)["SecretString"]


def assert_token_hidden(*results):
    token = auth_token()
    for result in results:
        assert token not in json.dumps(result, default=str)


def test_check_mode_on_empty_account_plans_every_create_and_writes_nothing(base, aws_env):
    with aws_env.recording() as calls:
        planned = run_module("elasticache_redis", base, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert elasticache().describe_replication_groups()["ReplicationGroups"] == []
    assert planned["replication_group"]["arn"] == "(known after apply)"
    applied = run_module("elasticache_redis", base)
    assert plan_keys(planned) == plan_keys(applied) == sorted([
        ("create", "log_group", SLOW_LOG), ("create", "cache_subnet_group", RG_ID),
        ("create", "secret", SECRET), ("create", "replication_group", RG_ID),
    ])
    assert_token_hidden(planned, applied)


def test_create_builds_the_cluster_as_aws_reports_it(converged, base):
    group = elasticache().describe_replication_groups(ReplicationGroupId=RG_ID)["ReplicationGroups"][0]
    assert group["ClusterEnabled"] is True and group["ClusterMode"] == "enabled"
    assert len(group["NodeGroups"]) == 2
    assert all(len(ng["NodeGroupMembers"]) == 2 for ng in group["NodeGroups"])
    assert group["MultiAZ"] == "enabled" and group["AutomaticFailover"] == "enabled"
    assert group["AtRestEncryptionEnabled"] is True and group["KmsKeyId"] == base["kms_key_id"]
    assert group["TransitEncryptionEnabled"] is True and group["TransitEncryptionMode"] == "required"
    assert group["AuthTokenEnabled"] is True
    assert group["CacheNodeType"] == "cache.r7g.large"
    assert group["SnapshotRetentionLimit"] == 7 and group["SnapshotWindow"] == "03:00-04:00"
    [slow_log] = group["LogDeliveryConfigurations"]
    assert slow_log["LogType"] == "slow-log" and slow_log["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"] == SLOW_LOG

    # The configuration endpoint in the result is the one AWS reports.
    assert converged["configuration_endpoint"] == {"address": group["ConfigurationEndpoint"]["Address"], "port": 6379}
    assert converged["replication_group"]["num_node_groups"] == 2
    assert converged["replication_group"]["replicas_per_node_group"] == 1

    tags = {t["Key"]: t["Value"] for t in elasticache().list_tags_for_resource(ResourceName=group["ARN"])["TagList"]}
    assert tags["cairn:stack"] == STACK and tags["cairn:component"] == "redis" and tags["owner"] == "platform"
    subnet_group = elasticache().describe_cache_subnet_groups(CacheSubnetGroupName=RG_ID)["CacheSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in subnet_group["Subnets"]) == sorted(base["subnet_ids"])
    assert converged["subnet_group"]["vpc_id"] == subnet_group["VpcId"]

    secret = secretsmanager().describe_secret(SecretId=SECRET)
    assert converged["auth_secret"] == {"name": SECRET, "arn": secret["ARN"]}
    secret_tags = {t["Key"]: t["Value"] for t in secret["Tags"]}
    assert secret_tags["cairn:stack"] == STACK and secret_tags["cairn:managed-by"] == "cairn.platform"
    token = auth_token()
    assert len(token) == 64 and not set(token) & set(' "/@%_')
    assert_token_hidden(converged)
    assert converged["parameter_group"] == {"name": "default.redis7.cluster.on", "family": "redis7",
                                            "aws_default": True, "parameters": None}


def test_rerun_and_check_mode_rerun_make_no_mutating_call(converged, base, aws_env):
    with aws_env.recording() as calls:
        again = run_module("elasticache_redis", base, diff=True)
        checked = run_module("elasticache_redis", base, check_mode=True)
    assert mutating_calls(calls) == [], count_by_operation(calls)
    assert again["changed"] is False and checked["changed"] is False
    assert again["changes"] == [] and checked["changes"] == []
    assert again["configuration_endpoint"] == converged["configuration_endpoint"]
    # No parameter group call: the AWS default group needs none.
    assert not [c for c in calls if "Parameter" in c.operation]
    assert_token_hidden(again, checked)


def test_a_change_is_planned_in_check_mode_exactly_as_the_real_run_makes_it(converged, base, aws_env):
    changed = dict(base, node_type="cache.r7g.xlarge", snapshot_retention_limit=14, tags={"owner": "data"})
    with aws_env.recording() as calls:
        planned = run_module("elasticache_redis", changed, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    applied = run_module("elasticache_redis", changed)
    assert plan_keys(planned) == plan_keys(applied)
    update = next(c for c in applied["changes"] if c["resource_type"] == "replication_group" and "node_type" in c["fields"])
    assert update["fields"]["node_type"] == {"before": "cache.r7g.large", "after": "cache.r7g.xlarge"}
    assert update["fields"]["snapshot_retention_limit"] == {"before": 7, "after": 14}
    assert update["note"] == "online vertical scaling"
    group = elasticache().describe_replication_groups(ReplicationGroupId=RG_ID)["ReplicationGroups"][0]
    assert group["CacheNodeType"] == "cache.r7g.xlarge" and group["SnapshotRetentionLimit"] == 14
    with aws_env.recording() as calls:
        assert run_module("elasticache_redis", changed)["changed"] is False
    assert mutating_calls(calls) == []
    assert_token_hidden(planned, applied)


def test_a_change_that_needs_replacement_is_refused_before_any_write(converged, base, aws_env):
    other_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("elasticache_redis", dict(base, kms_key_id=other_key, port=6380))
    message = failure.value.result["msg"]
    assert "cannot become what was asked without being replaced" in message
    assert "kms_key_id" in message and "port" in message
    assert mutating_calls(calls) == []


def test_an_existing_secret_is_reused_and_a_missing_one_regenerated(converged, base, aws_env):
    token = auth_token()
    # A replication group that does not exist yet (as after an interrupted first run) gets the stored token.
    with aws_env.recording() as calls:
        other = run_module("elasticache_redis", dict(base, name="test-other-redis", subnet_group_name=RG_ID))
    assert "GetSecretValue" in [c.operation for c in calls]
    assert "CreateSecret" not in [c.operation for c in calls]
    assert auth_token() == token
    assert ("create", "replication_group", "test-other-redis") in plan_keys(other)

    # A lost secret: a new token goes into a new secret and onto the replication group (ROTATE).
    secretsmanager().delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
    with aws_env.recording() as calls:
        healed = run_module("elasticache_redis", base)
    assert ("create", "secret", SECRET) in plan_keys(healed)
    rotation = next(c for c in healed["changes"] if c["resource_type"] == "replication_group")
    assert rotation["fields"]["auth_token"]["after"] == "from secret " + SECRET
    assert "ModifyReplicationGroup" in [c.operation for c in mutating_calls(calls)]
    new_token = auth_token()
    assert new_token != token
    assert_token_hidden(other, healed)
    assert token not in json.dumps(healed)
    with aws_env.recording() as calls:
        assert run_module("elasticache_redis", base)["changed"] is False
    assert mutating_calls(calls) == []


def test_a_secret_without_our_tags_is_refused_before_any_write(base, aws_env):
    secretsmanager().create_secret(Name=SECRET, SecretString="someone-elses-token-value")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("elasticache_redis", base)
    message = failure.value.result["msg"]
    assert message.startswith("auth_token_secret.name:") and "does not carry the ownership tags" in message
    assert mutating_calls(calls) == []
    assert "someone-elses-token-value" not in json.dumps(failure.value.result)


def test_a_replication_group_without_our_tags_is_never_touched(base, aws_env):
    elasticache().create_replication_group(ReplicationGroupId=RG_ID, ReplicationGroupDescription="someone else's",
                                           ClusterMode="enabled", NumNodeGroups=1, CacheNodeType="cache.t4g.small")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("elasticache_redis", base)
    assert "does not carry the ownership tags" in failure.value.result["msg"]
    assert failure.value.result["msg"].startswith("name:")
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        result = run_module("elasticache_redis", dict(base, state="absent"))
    assert not [c for c in mutating_calls(calls) if c.service == "elasticache"]
    assert not [c for c in result["changes"] if c["resource_type"] == "replication_group"]


def test_delete_takes_a_final_snapshot_and_schedules_the_secret(converged, base, aws_env):
    absent = dict(base, state="absent", wait=False, final_snapshot_name="test-final")
    with aws_env.recording() as calls:
        planned = run_module("elasticache_redis", absent, check_mode=True)
    assert mutating_calls(calls) == []
    token = auth_token()
    deleted = run_module("elasticache_redis", absent)
    assert plan_keys(planned) == plan_keys(deleted) == sorted([
        ("delete", "replication_group", RG_ID), ("delete", "secret", SECRET), ("delete", "log_group", SLOW_LOG),
    ])
    assert deleted["final_snapshot_name"] == "test-final"
    assert next(c for c in deleted["changes"] if c["resource_type"] == "replication_group")["note"] == "final snapshot test-final"
    group = elasticache().describe_replication_groups(ReplicationGroupId=RG_ID)["ReplicationGroups"][0]
    assert group["Status"] == "deleting"
    # Restorable for the recovery window, not force-deleted.
    assert secretsmanager().describe_secret(SecretId=SECRET)["DeletedDate"]
    assert boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix=SLOW_LOG)["logGroups"] == []
    # The subnet group waits until the replication group is gone (the emulator never finishes deleting it).
    assert deleted["deferred"] == [{"resource_type": "cache_subnet_group", "resource": RG_ID,
                                    "reason": "the replication group is still being deleted; rerun (with wait=true) once it is gone"}]
    with aws_env.recording() as calls:
        again = run_module("elasticache_redis", absent)
    assert mutating_calls(calls) == [] and again["changed"] is False
    for result in (planned, deleted, again):
        assert token not in json.dumps(result, default=str)


# ---- bad input: a sentence naming the field, and not a single API call ---------------------------
BAD_INPUT = [
    ({"num_node_groups": 0}, "num_node_groups", "1 to 500"),
    ({"num_node_groups": 501}, "num_node_groups", "1 to 500"),
    ({"replicas_per_node_group": 6}, "replicas_per_node_group", "0 to 5"),
    ({"replicas_per_node_group": -1}, "replicas_per_node_group", "0 to 5"),
    ({"num_node_groups": 100, "replicas_per_node_group": 5}, "num_node_groups", "at most 500"),
    ({"automatic_failover": False}, "automatic_failover", "replicas_per_node_group is above 0"),
    ({"multi_az": True, "replicas_per_node_group": 0}, "multi_az", "at least one replica"),
    ({"engine_version": "6.2"}, "engine_version", "7.0, 7.1"),
    ({"engine_version": "7.2"}, "engine_version", "not a supported Redis 7 version"),
    ({"snapshot_window": "3:00-4:00"}, "snapshot_window", "hh24:mi-hh24:mi"),
    ({"snapshot_window": "03:00-03:30"}, "snapshot_window", "at least 60"),
    ({"snapshot_window": "25:00-26:00"}, "snapshot_window", "does not exist"),
    ({"maintenance_window": "sunday:05:00-sunday:06:00"}, "maintenance_window", "ddd:hh24:mi-ddd:hh24:mi"),
    ({"maintenance_window": "sun:05:00-sun:05:30"}, "maintenance_window", "60 minutes to 24 hours"),
    ({"snapshot_window": "05:30-06:30", "maintenance_window": "sun:05:00-sun:06:00"}, "snapshot_window", "overlaps"),
    ({"node_type": "r7g.large"}, "node_type", "cache.r7g.large"),
    ({"node_type": "db.r7g.large"}, "node_type", "not an ElastiCache node type"),
    ({"snapshot_retention_limit": 36}, "snapshot_retention_limit", "0 to 35"),
    ({"parameter_group": {"name": "default.redis7"}}, "parameter_group.name", "default.redis7.cluster.on"),
    ({"parameter_group": {"parameters": {"cluster-enabled": "no"}}}, "parameter_group.parameters", "cluster-enabled"),
    ({"name": "Bad--Name"}, "name", "not a valid ElastiCache name"),
    ({"subnet_ids": []}, "subnet_ids", "required"),
]


@pytest.fixture
def sdk_env(emulator, monkeypatch):
    """The SDK environment of aws_env without its reset: these tests only count calls, they create nothing."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return emulator


BAD_INPUT_BASE = dict(environment="test", stack=STACK, node_type="cache.r7g.large", num_node_groups=2,
                      replicas_per_node_group=1, subnet_ids=["subnet-0aaa", "subnet-0bbb", "subnet-0ccc"],
                      parameter_group={"name": "default.redis7.cluster.on"})


@pytest.mark.parametrize("change,field,words", BAD_INPUT, ids=[
    "zero-shards", "too-many-shards", "too-many-replicas", "negative-replicas", "too-many-nodes", "replicas-without-failover",
    "multi-az-without-replicas", "engine-6", "engine-7.2", "snapshot-window-format", "snapshot-window-short",
    "snapshot-window-clock", "maintenance-window-format", "maintenance-window-short", "windows-overlap", "node-type-prefix",
    "node-type-other-service", "retention", "default-group-non-cluster", "cluster-disabled-parameter", "name", "no-subnets",
])
def test_bad_input_fails_before_any_api_call(sdk_env, change, field, words):
    args = dict(BAD_INPUT_BASE, **change)
    with sdk_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("elasticache_redis", args)
    message = failure.value.result["msg"]
    assert message.startswith(field + ":"), message
    assert words in message, message
    assert calls == []


# ---- our own cache parameter group, end to end (the emulator models cache parameter groups) ------
GROUP = RG_ID + "-redis7"


def user_parameters(name=GROUP):
    pages = elasticache().get_paginator("describe_cache_parameters").paginate(CacheParameterGroupName=name, Source="user")
    return {p["ParameterName"]: p["ParameterValue"] for page in pages for p in page["Parameters"]}


def test_our_parameter_group_is_created_converged_and_deferred_on_delete(base, aws_env):
    args = dict(base, parameter_group={"parameters": {"maxmemory-policy": "allkeys-lru", "notify-keyspace-events": "Ex"}})
    with aws_env.recording() as calls:
        planned = run_module("elasticache_redis", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert [g["CacheParameterGroupName"] for g in elasticache().describe_cache_parameter_groups()["CacheParameterGroups"]] == [
        "default.redis7", "default.redis7.cluster.on"]

    with aws_env.recording() as calls:
        applied = run_module("elasticache_redis", args)
    assert plan_keys(planned) == plan_keys(applied)
    assert ("create", "cache_parameter_group", GROUP) in plan_keys(applied)
    writes = [c.operation for c in mutating_calls(calls) if c.service == "elasticache"]
    assert writes.index("CreateCacheParameterGroup") < writes.index("ModifyCacheParameterGroup") < writes.index("CreateReplicationGroup")
    group = elasticache().describe_cache_parameter_groups(CacheParameterGroupName=GROUP)["CacheParameterGroups"][0]
    assert group["CacheParameterGroupFamily"] == "redis7"
    tags = {t["Key"]: t["Value"] for t in elasticache().list_tags_for_resource(ResourceName=group["ARN"])["TagList"]}
    assert tags["cairn:stack"] == STACK and tags["cairn:managed-by"] == "cairn.platform" and tags["owner"] == "platform"
    assert user_parameters() == {"cluster-enabled": "yes", "maxmemory-policy": "allkeys-lru", "notify-keyspace-events": "Ex"}
    assert applied["parameter_group"]["aws_default"] is False and applied["parameter_group"]["name"] == GROUP

    with aws_env.recording() as calls:
        again = run_module("elasticache_redis", args)
    assert again["changed"] is False and mutating_calls(calls) == [], count_by_operation(calls)
    assert {"elasticache:DescribeCacheParameterGroups", "elasticache:DescribeCacheParameters"} <= set(count_by_operation(calls))

    # One parameter changed, one dropped (reset to its default): one set call, one reset call.
    changed = dict(base, parameter_group={"parameters": {"maxmemory-policy": "volatile-lfu"}})
    with aws_env.recording() as calls:
        planned = run_module("elasticache_redis", changed, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        updated = run_module("elasticache_redis", changed)
    assert plan_keys(planned) == plan_keys(updated) == [("update", "cache_parameter_group", GROUP)]
    assert [c.operation for c in mutating_calls(calls)] == ["ModifyCacheParameterGroup", "ResetCacheParameterGroup"]
    assert user_parameters() == {"cluster-enabled": "yes", "maxmemory-policy": "volatile-lfu"}
    with aws_env.recording() as calls:
        assert run_module("elasticache_redis", changed)["changed"] is False
    assert mutating_calls(calls) == []

    # AWS keeps a parameter group while a replication group uses it (the emulator never finishes deleting one).
    deleted = run_module("elasticache_redis", dict(changed, state="absent", wait=False, final_snapshot_name="test-final"))
    assert {(d["resource_type"], d["resource"]) for d in deleted["deferred"]} == {
        ("cache_subnet_group", RG_ID), ("cache_parameter_group", GROUP)}
    assert elasticache().describe_cache_parameter_groups(CacheParameterGroupName=GROUP)["CacheParameterGroups"]

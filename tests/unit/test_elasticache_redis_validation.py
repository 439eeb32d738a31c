"""elasticache_redis: the pure planning code (input checks, windows, AUTH token, scaling requests)."""

from __future__ import annotations

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.elasticache_redis import (
    ARGUMENT_SPEC,
    build_spec,
    desired_parameters,
    generate_auth_token,
    modify_request,
    parse_maintenance_window,
    parse_snapshot_window,
    replica_note,
    replica_requests,
    shard_request,
    valid_auth_token,
    windows_overlap,
)


def params(**overrides):
    """Module parameters as AnsibleModule hands them over (defaults filled in)."""
    values = {key: option.get("default") for key, option in ARGUMENT_SPEC.items()}
    values.update(environment="prod", stack="prod-us-east-1", tags=None, purge_tags=True,
                  subnet_ids=["subnet-1", "subnet-2", "subnet-3"], node_type="cache.r7g.large")
    values.update(overrides)
    return values


def refused(**overrides):
    with pytest.raises(InputError) as failure:
        build_spec(params(**overrides))
    return failure.value.message


# ---- build_spec ---------------------------------------------------------------------------------
def test_defaults_name_everything_after_the_stack():
    spec = build_spec(params())
    assert spec["name"] == "prod-us-east-1-redis"
    assert spec["subnet_group_name"] == "prod-us-east-1-redis"
    assert spec["parameter_group"] == {"name": "prod-us-east-1-redis-redis7", "aws_default": False,
                                       "parameters": {"cluster-enabled": "yes"}}
    assert spec["secret"] == {"name": "/cairn/prod/prod-us-east-1/redis/auth", "kms_key_id": None, "recovery_window_days": 30}
    assert spec["slow_log"]["log_group_name"] == "/cairn/prod/prod-us-east-1/redis/slow-log"
    assert spec["engine_version"] == "7.1" and spec["num_node_groups"] == 1 and spec["replicas_per_node_group"] == 1


def test_aws_default_group_takes_no_parameters():
    spec = build_spec(params(parameter_group={"name": "default.redis7.cluster.on", "parameters": {}}))
    assert spec["parameter_group"] == {"name": "default.redis7.cluster.on", "aws_default": True, "parameters": None}
    message = refused(parameter_group={"name": "default.redis7.cluster.on", "parameters": {"maxmemory-policy": "noeviction"}})
    assert message.startswith("parameter_group.parameters:") and "cannot be changed" in message


def test_user_parameters_are_merged_over_cluster_enabled():
    assert desired_parameters({"maxmemory-policy": "volatile-lru", "activedefrag": True, "timeout": 300}) == {
        "cluster-enabled": "yes", "maxmemory-policy": "volatile-lru", "activedefrag": "yes", "timeout": "300"}
    assert refused(parameter_group={"parameters": {"Bad Name": "x"}}).startswith("parameter_group.parameters:")
    assert "single value" in refused(parameter_group={"parameters": {"timeout": [1, 2]}})


@pytest.mark.parametrize("overrides,field,words", [
    ({"num_node_groups": 0}, "num_node_groups", "1 to 500"),
    ({"num_node_groups": 501}, "num_node_groups", "1 to 500"),
    ({"replicas_per_node_group": 6}, "replicas_per_node_group", "0 to 5"),
    ({"num_node_groups": 250, "replicas_per_node_group": 1}, None, None),
    ({"num_node_groups": 251, "replicas_per_node_group": 1}, "num_node_groups", "at most 500"),
    ({"automatic_failover": False}, "automatic_failover", "above 0"),
    ({"automatic_failover": False, "replicas_per_node_group": 0, "multi_az": False}, "automatic_failover", "cluster mode"),
    ({"multi_az": True, "replicas_per_node_group": 0}, "multi_az", "at least one replica"),
    ({"multi_az": False, "replicas_per_node_group": 0}, None, None),
    ({"engine_version": "7.1.0"}, "engine_version", "7.0, 7.1"),
    ({"node_type": None}, "node_type", "required"),
    ({"node_type": "cache.r7g"}, "node_type", "not an ElastiCache node type"),
    ({"port": 0}, "port", "1 to 65535"),
    ({"snapshot_retention_limit": -1}, "snapshot_retention_limit", "0 to 35"),
    ({"subnet_ids": ["subnet-1", "subnet-1"]}, "subnet_ids", "twice"),
    ({"subnet_ids": None}, "subnet_ids", "required"),
    ({"name": "a" * 41}, "name", "1 to 40"),
    ({"name": "redis-"}, "name", "trailing hyphen"),
    ({"stack": "9-lives"}, "stack", "starting with a letter"),
    ({"subnet_group_name": "sub_net"}, "subnet_group_name", "not a valid ElastiCache name"),
    ({"auth_token_secret": {"recovery_window_days": 3}}, "auth_token_secret.recovery_window_days", "7 to 30"),
    ({"auth_token_secret": {"name": "bad name"}}, "auth_token_secret.name", "not a valid secret name"),
    ({"slow_log": {"enabled": True, "retention_days": 10}}, "slow_log.retention_days", "accepts only"),
    ({"final_snapshot_name": "1st"}, "final_snapshot_name", "start with a letter"),
    ({"wait_timeout": -1}, "wait_timeout", "0 or more"),
])
def test_input_checks_name_the_field(overrides, field, words):
    if field is None:
        build_spec(params(**overrides))
        return
    message = refused(**overrides)
    assert message.startswith(field + ":"), message
    assert words in message, message


def test_absent_needs_no_node_type_nor_subnets():
    spec = build_spec(params(state="absent", node_type=None, subnet_ids=None, final_snapshot_name="keep-me"))
    assert spec["final_snapshot_name"] == "keep-me" and "node_type" not in spec


# ---- windows ------------------------------------------------------------------------------------
def test_snapshot_window_may_cross_midnight():
    assert parse_snapshot_window("23:30-00:30") == (23 * 60 + 30, 60)


def test_maintenance_window_may_cross_the_week():
    start, length = parse_maintenance_window("SAT:23:00-sun:01:30")
    assert (start, length) == (6 * 1440 + 23 * 60, 150)
    with pytest.raises(InputError, match="60 minutes to 24 hours"):
        parse_maintenance_window("mon:00:00-tue:01:00")


@pytest.mark.parametrize("snapshot,maintenance,overlap", [
    ("03:00-04:00", "sun:05:00-sun:06:00", False),
    ("05:00-06:00", "sun:05:00-sun:06:00", True),
    ("04:00-05:00", "sun:05:00-sun:06:00", False),  # touching ends do not overlap
    ("04:30-05:30", "wed:05:00-wed:06:00", True),
    ("23:30-00:30", "sun:00:00-sun:01:00", True),  # the daily window crosses into Sunday
    ("23:30-00:30", "sat:23:59-sun:00:59", True),  # both cross the week's end
    ("12:00-13:00", "sat:23:00-sun:01:00", False),
])
def test_windows_overlap_on_any_day(snapshot, maintenance, overlap):
    assert windows_overlap(parse_snapshot_window(snapshot), parse_maintenance_window(maintenance)) is overlap


# ---- AUTH token ---------------------------------------------------------------------------------
def test_generated_tokens_follow_the_auth_token_rules_and_differ():
    tokens = {generate_auth_token() for attempt in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 64 and valid_auth_token(token)
        assert not set(token) & set(' "/@%_')


@pytest.mark.parametrize("token,valid", [
    ("a" * 16, True), ("a" * 15, False), ("a" * 128, True), ("a" * 129, False),
    ("abc!&#$^<>-" + "x" * 10, True), ("has space" + "x" * 10, False), ("at@" + "x" * 20, False),
    ('quote"' + "x" * 20, False), ("slash/" + "x" * 20, False), ("under_" + "x" * 20, False), ("é" * 20, False),
])
def test_auth_token_rules(token, valid):
    assert valid_auth_token(token) is valid


# ---- scaling requests ---------------------------------------------------------------------------
def test_shard_requests():
    assert shard_request(["0001", "0002"], 2) is None
    assert shard_request(["0001", "0002"], 3) == ({"NodeGroupCount": 3, "ApplyImmediately": True}, "online resharding (adds 1 shard)")
    kwargs, note = shard_request(["0001", "0002", "0003", "0004"], 2)
    assert kwargs == {"NodeGroupCount": 2, "ApplyImmediately": True, "NodeGroupsToRemove": ["0003", "0004"]}
    assert note == "online resharding (removes node groups 0003, 0004)"


def test_replica_requests_use_one_count_when_every_shard_moves_the_same_way():
    assert replica_requests({"0001": 1, "0002": 1}, 1) == []
    up = replica_requests({"0001": 1, "0002": 1}, 2)
    assert up == [("increase_replica_count", {"ApplyImmediately": True, "NewReplicaCount": 2})]
    assert replica_note(up) == "adds replicas"
    down = replica_requests({"0001": 2, "0002": 1}, 1)
    assert down == [("decrease_replica_count", {"ApplyImmediately": True, "NewReplicaCount": 1})]
    assert replica_note(down) == "removes replicas"


def test_replica_requests_name_the_shards_when_they_move_both_ways():
    requests = replica_requests({"0001": 0, "0002": 2, "0003": 1}, 1)
    assert requests == [
        ("increase_replica_count", {"ApplyImmediately": True, "ReplicaConfiguration": [{"NodeGroupId": "0001", "NewReplicaCount": 1}]}),
        ("decrease_replica_count", {"ApplyImmediately": True, "ReplicaConfiguration": [{"NodeGroupId": "0002", "NewReplicaCount": 1}]}),
    ]
    assert replica_note(requests) == "adds and removes replicas"


def test_modify_request_sends_only_what_differs():
    before = {"node_type": "cache.r7g.large", "engine_version": "7.0", "multi_az": True, "slow_log": None,
              "transit_encryption_mode": "preferred"}
    after = {"node_type": "cache.r7g.xlarge", "engine_version": "7.1", "multi_az": True,
             "slow_log": {"log_group": "/x", "format": "json"}, "transit_encryption_mode": "required"}
    kwargs, note = modify_request(before, after, apply_immediately=False)
    assert kwargs == {
        "ApplyImmediately": False, "CacheNodeType": "cache.r7g.xlarge", "EngineVersion": "7.1",
        "TransitEncryptionMode": "required", "TransitEncryptionEnabled": True,
        "LogDeliveryConfigurations": [{"LogType": "slow-log", "DestinationType": "cloudwatch-logs",
                                       "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": "/x"}},
                                       "LogFormat": "json", "Enabled": True}],
    }
    assert note == "online vertical scaling; engine upgrade; applied in the maintenance window (apply_immediately=false)"
    kwargs, note = modify_request({"slow_log": {"log_group": "/x", "format": "json"}}, {"slow_log": None}, True)
    assert kwargs == {"ApplyImmediately": True, "LogDeliveryConfigurations": [{"LogType": "slow-log", "Enabled": False}]}
    assert note is None

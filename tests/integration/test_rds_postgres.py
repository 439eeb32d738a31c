"""The rds_postgres module against the local emulator: create, rerun, check mode, replicas, delete.

Calls are counted by the emulator's recorder, from outside the module. What moto models wrongly
(pending modifications, pending reboots, Performance Insights read-back, the cross-region replica's
subnet group) is covered by tests/unit/test_rds_postgres_stubber.py.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module
from support.network import vpc_with_subnets

REGION = "us-east-1"
DR_REGION = "us-west-2"
IDENTIFIER = "test-us-east-1-postgres"
MONITORING_ROLE = "arn:aws:iam::123456789012:role/test-us-east-1-rds-monitoring"


def rds(region=REGION):
    return boto3.client("rds", region_name=region)


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def make_network(region, prefix):
    """Database subnets, a security group and the RDS and secrets keys of one region stack."""
    ec2 = boto3.client("ec2", region_name=region)
    kms = boto3.client("kms", region_name=region)
    vpc_id, subnets = vpc_with_subnets(region, prefix + ".0.0/16", zones="abc", first=144)
    group_id = ec2.create_security_group(GroupName="db", Description="PostgreSQL", VpcId=vpc_id)["GroupId"]
    rds_key = kms.create_key(Description="rds")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/cairn/test/rds", TargetKeyId=rds_key)
    secrets_key = kms.create_key(Description="secrets")["KeyMetadata"]["Arn"]
    return {"vpc_id": vpc_id, "subnet_ids": subnets, "group_id": group_id, "rds_key": rds_key, "secrets_key": secrets_key}


@pytest.fixture(scope="module")
def networks(emulator):
    """Both regions' networks, built once: moto spends about 3.5 s bootstrapping EC2 in a region after a reset.

    The same SDK environment as conftest's aws_env; between tests only RDS state is cleared (`aws_env` below).
    """
    with pytest.MonkeyPatch.context() as patch:
        emulator.reset()
        patch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", "/dev/null")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        yield {REGION: make_network(REGION, "10.60"), DR_REGION: make_network(DR_REGION, "10.61")}
    emulator.reset()


def clear_rds():
    """Remove every RDS resource: DR replicas first, then replicas, then primaries."""
    for region in (DR_REGION, REGION):
        client = rds(region)
        instances = client.describe_db_instances()["DBInstances"]
        for item in sorted(instances, key=lambda i: not i.get("ReadReplicaSourceDBInstanceIdentifier")):
            if (item.get("ReadReplicaSourceDBInstanceIdentifier") or "").startswith("arn:"):
                # moto fails deleting a cross-region replica (it unlinks it from its source by name, not ARN).
                client.promote_read_replica(DBInstanceIdentifier=item["DBInstanceIdentifier"])
            if item.get("DeletionProtection"):
                client.modify_db_instance(DBInstanceIdentifier=item["DBInstanceIdentifier"], DeletionProtection=False,
                                          ApplyImmediately=True)
            client.delete_db_instance(DBInstanceIdentifier=item["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    for region in (DR_REGION, REGION):
        client = rds(region)
        for snapshot in client.describe_db_snapshots()["DBSnapshots"]:
            client.delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
        for group in client.describe_db_parameter_groups()["DBParameterGroups"]:
            if not group["DBParameterGroupName"].startswith("default."):
                client.delete_db_parameter_group(DBParameterGroupName=group["DBParameterGroupName"])
        for group in client.describe_db_subnet_groups()["DBSubnetGroups"]:
            client.delete_db_subnet_group(DBSubnetGroupName=group["DBSubnetGroupName"])


@pytest.fixture
def aws_env(networks, emulator):
    """The emulator with the networks in place and no RDS resource (shadows conftest's resetting aws_env)."""
    clear_rds()
    return emulator


@pytest.fixture
def network(aws_env, networks):
    return networks[REGION]


def base_args(network, **overrides):
    args = dict(
        environment="test",
        stack="test-us-east-1",
        region=REGION,
        engine_version="16.9",
        instance_class="db.r6g.large",
        allocated_storage=100,
        max_allocated_storage=400,
        kms_key_id="alias/cairn/test/rds",
        master_user_secret_kms_key_id=network["secrets_key"],
        db_name="app",
        subnet_ids=network["subnet_ids"],
        vpc_security_group_ids=[network["group_id"]],
        backup_window="03:00-03:30",
        maintenance_window="sun:05:00-sun:05:30",
        # moto never reports PerformanceInsightsEnabled: with it on every rerun would see drift (Stubber covers it).
        performance_insights={"enabled": False},
        monitoring_interval=30,
        monitoring_role_arn=MONITORING_ROLE,
        iam_database_authentication=True,
        read_replicas={"count": 1},
        tags={"owner": "data"},
        wait_timeout=120,
    )
    args.update(overrides)
    return args


@pytest.fixture
def converged(network):
    result = run_module("rds_postgres", base_args(network))
    assert result["changed"] is True
    return result


def instance(identifier=IDENTIFIER, region=REGION):
    return rds(region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def test_check_mode_on_empty_account_plans_every_create_and_the_real_run_matches(network, aws_env):
    args = base_args(network)
    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert rds().describe_db_instances()["DBInstances"] == []
    assert planned["changed"] is True and planned["db_instance"]["arn"] == "(known after apply)"
    assert "db_instance/" + IDENTIFIER in planned["diff"]["after"]
    assert planned["waited_seconds"] == 0

    with aws_env.recording() as calls:
        applied = run_module("rds_postgres", args)
    assert plan_keys(planned) == plan_keys(applied) == [
        ("create", "db_instance", IDENTIFIER),
        ("create", "db_parameter_group", IDENTIFIER + "-pg16"),
        ("create", "db_read_replica", IDENTIFIER + "-replica-1"),
        ("create", "db_subnet_group", IDENTIFIER),
    ]
    assert {c.operation for c in mutating_calls(calls)} == {
        "CreateDBSubnetGroup", "CreateDBParameterGroup", "ModifyDBParameterGroup", "CreateDBInstance", "CreateDBInstanceReadReplica"}


def test_create_builds_everything_as_aws_reports_it(converged, network):
    primary = instance()
    assert primary["Engine"] == "postgres" and primary["EngineVersion"] == "16.9"
    assert primary["DBInstanceClass"] == "db.r6g.large" and primary["MultiAZ"] is True
    assert (primary["AllocatedStorage"], primary["MaxAllocatedStorage"], primary["StorageType"]) == (100, 400, "gp3")
    assert primary["StorageEncrypted"] is True and primary["KmsKeyId"] == network["rds_key"]
    assert primary["BackupRetentionPeriod"] == 35
    assert primary["PreferredBackupWindow"] == "03:00-03:30"
    assert primary["PreferredMaintenanceWindow"] == "sun:05:00-sun:05:30"
    assert (primary["MonitoringInterval"], primary["MonitoringRoleArn"]) == (30, MONITORING_ROLE)
    assert sorted(primary["EnabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert primary["DeletionProtection"] is True and primary["CopyTagsToSnapshot"] is True
    assert primary["IAMDatabaseAuthenticationEnabled"] is True and primary["PubliclyAccessible"] is False
    assert primary["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert [g["VpcSecurityGroupId"] for g in primary["VpcSecurityGroups"]] == [network["group_id"]]
    assert primary["DBSubnetGroup"]["DBSubnetGroupName"] == IDENTIFIER
    assert primary["DBParameterGroups"][0]["DBParameterGroupName"] == IDENTIFIER + "-pg16"
    assert (primary["MasterUsername"], primary["DBName"]) == ("cairn_admin", "app")
    assert primary["MasterUserSecret"]["KmsKeyId"] == network["secrets_key"]
    tags = {t["Key"]: t["Value"] for t in primary["TagList"]}
    assert tags["cairn:managed-by"] == "cairn.platform" and tags["cairn:db-role"] == "primary" and tags["owner"] == "data"

    group = rds().describe_db_subnet_groups(DBSubnetGroupName=IDENTIFIER)["DBSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(network["subnet_ids"])
    assert group["VpcId"] == network["vpc_id"] == converged["subnet_group"]["vpc_id"]

    parameters = {p["ParameterName"]: p["ParameterValue"] for p in
                  rds().describe_db_parameters(DBParameterGroupName=IDENTIFIER + "-pg16")["Parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["shared_preload_libraries"] == "pg_stat_statements,pgaudit"
    assert parameters["pgaudit.log"] == "ddl,role"
    assert parameters["log_min_duration_statement"] == "1000"
    assert parameters["log_connections"] == parameters["log_disconnections"] == "1"
    family = rds().describe_db_parameter_groups()["DBParameterGroups"][0]["DBParameterGroupFamily"]
    assert family == "postgres16"

    replica = instance(IDENTIFIER + "-replica-1")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == IDENTIFIER
    assert replica["DeletionProtection"] is False and replica["MultiAZ"] is False
    assert {t["Key"]: t["Value"] for t in replica["TagList"]}["cairn:db-role"] == "read-replica"
    assert [r["identifier"] for r in converged["read_replicas"]] == [IDENTIFIER + "-replica-1"]
    assert converged["db_instance"]["endpoint"]["port"] == 5432


def test_rerun_and_check_mode_rerun_make_no_mutating_call(converged, aws_env, network):
    with aws_env.recording() as calls:
        result = run_module("rds_postgres", base_args(network))
    assert result["changed"] is False and result["changes"] == []
    assert mutating_calls(calls) == []
    # One describe per resource type, tags of the two groups, the group's parameters, the key alias.
    assert count_by_operation(calls) == {
        "kms:DescribeKey": 1, "rds:DescribeDBInstances": 1, "rds:DescribeDBSubnetGroups": 1,
        "rds:ListTagsForResource": 2, "rds:DescribeDBParameterGroups": 1, "rds:DescribeDBParameters": 1}
    assert result["waited_seconds"] == 0
    assert result["master_user_secret_arn"] == converged["master_user_secret_arn"]

    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", base_args(network), check_mode=True)
    assert planned["changed"] is False and mutating_calls(calls) == []


def test_secret_arn_is_returned_and_its_value_appears_nowhere(converged, network, aws_env):
    secret_arn = converged["master_user_secret_arn"]
    assert secret_arn.startswith("arn:aws:secretsmanager:us-east-1:")
    assert secret_arn == instance()["MasterUserSecret"]["SecretArn"]
    secret = json.loads(boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=secret_arn)["SecretString"])
    password = secret["password"]
    rerun = run_module("rds_postgres", base_args(network))
    planned = run_module("rds_postgres", base_args(network, instance_class="db.r6g.xlarge"), check_mode=True, diff=True)
    for result in (converged, rerun, planned):
        assert password not in json.dumps(result, default=str)
    # The module never asks for the value.
    with aws_env.recording() as calls:
        run_module("rds_postgres", base_args(network))
    assert not [c for c in calls if c.service == "secretsmanager"]


def test_password_option_is_refused_before_any_call_and_masked(aws_env, network):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("rds_postgres", base_args(network, master_user_password="Sup3r-secret!"))
    assert calls == []
    assert "master_user_password" in failure.value.result["msg"] and "Secrets Manager" in failure.value.result["msg"]
    assert "Sup3r-secret!" not in json.dumps(failure.value.result)


def test_replica_count_one_two_one_creates_and_deletes_the_highest(converged, aws_env, network):
    with aws_env.recording() as calls:
        grown = run_module("rds_postgres", base_args(network, read_replicas={"count": 2}))
    assert plan_keys(grown) == [("create", "db_read_replica", IDENTIFIER + "-replica-2")]
    assert [c.operation for c in mutating_calls(calls)] == ["CreateDBInstanceReadReplica"]
    assert [r["identifier"] for r in grown["read_replicas"]] == [IDENTIFIER + "-replica-1", IDENTIFIER + "-replica-2"]
    assert sorted(instance()["ReadReplicaDBInstanceIdentifiers"]) == [IDENTIFIER + "-replica-1", IDENTIFIER + "-replica-2"]

    planned = run_module("rds_postgres", base_args(network, read_replicas={"count": 1}), check_mode=True)
    with aws_env.recording() as calls:
        shrunk = run_module("rds_postgres", base_args(network, read_replicas={"count": 1}))
    assert plan_keys(planned) == plan_keys(shrunk) == [("delete", "db_read_replica", IDENTIFIER + "-replica-2")]
    assert "no final snapshot" in shrunk["changes"][0]["note"]
    assert [c.operation for c in mutating_calls(calls)] == ["DeleteDBInstance"]
    assert instance()["ReadReplicaDBInstanceIdentifiers"] == [IDENTIFIER + "-replica-1"]
    assert [r["identifier"] for r in shrunk["read_replicas"]] == [IDENTIFIER + "-replica-1"]

    with aws_env.recording() as calls:
        again = run_module("rds_postgres", base_args(network, read_replicas={"count": 1}))
    assert again["changed"] is False and mutating_calls(calls) == []


def test_updates_carry_their_notes_and_check_mode_plans_them(converged, aws_env, network):
    changed = base_args(network, instance_class="db.r6g.xlarge", backup_retention_days=14, allocated_storage=150,
                        parameters={"shared_preload_libraries": "pg_cron", "log_min_duration_statement": 500})
    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", changed, check_mode=True)
    assert mutating_calls(calls) == []
    applied = run_module("rds_postgres", changed)
    assert plan_keys(planned) == plan_keys(applied)
    notes = {(c["resource_type"], tuple(sorted(c["fields"])), tuple(sorted(c["fields"].get("parameters", {}).get("after") or {}))):
             c.get("note") for c in applied["changes"]}
    assert notes == {
        ("db_parameter_group", ("parameters",), ("log_min_duration_statement",)): None,
        ("db_parameter_group", ("parameters",), ("shared_preload_libraries",)):
            "needs a reboot: static parameter(s) shared_preload_libraries apply at the instance's next reboot "
            "(the module never reboots)",
        ("db_instance", ("backup_retention_days",), ()): None,  # nonzero to nonzero applies at once
        ("db_instance", ("allocated_storage", "instance_class"), ()):
            "applies at the next maintenance window (apply_immediately is false); until then it waits in PendingModifiedValues",
        # The replica follows instance_class unless read_replicas.instance_class says otherwise.
        ("db_read_replica", ("instance_class",), ()):
            "applies at the next maintenance window (apply_immediately is false); until then it waits in PendingModifiedValues",
    }
    parameters = {p["ParameterName"]: p for p in rds().describe_db_parameters(DBParameterGroupName=IDENTIFIER + "-pg16")["Parameters"]}
    assert parameters["shared_preload_libraries"]["ParameterValue"] == "pg_cron,pg_stat_statements,pgaudit"
    assert parameters["shared_preload_libraries"]["ApplyMethod"] == "pending-reboot"
    assert parameters["log_min_duration_statement"]["ApplyMethod"] == "immediate"

    with aws_env.recording() as calls:
        again = run_module("rds_postgres", changed)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_refusals_on_an_existing_instance_happen_before_any_write(converged, aws_env, network):
    for overrides, words in (
        (dict(engine_version="17.6"), ["major version upgrade", "allow_major_version_upgrade"]),
        (dict(engine_version="15.14"), ["cannot downgrade"]),
        (dict(allocated_storage=50, max_allocated_storage=None), ["cannot shrink"]),
        (dict(master_username="other_admin"), ["master_username", "cannot change"]),
        (dict(kms_key_id=network["secrets_key"]), ["kms_key_id", "cannot change"]),
    ):
        with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
            run_module("rds_postgres", base_args(network, **overrides))
        for word in words:
            assert word in failure.value.result["msg"], failure.value.result["msg"]
        assert mutating_calls(calls) == [], overrides
        assert failure.value.result["changes"] == []


def test_major_upgrade_when_allowed_moves_to_a_group_of_the_new_family(converged, aws_env, network):
    upgrade_args = base_args(network, engine_version="17.6", allow_major_version_upgrade=True, apply_immediately=True)
    upgraded = run_module("rds_postgres", upgrade_args)
    upgrade = [c for c in upgraded["changes"] if "engine_version" in c["fields"]][0]
    assert upgrade["note"].startswith("major version upgrade 16.9 -> 17.6")
    assert upgrade["fields"]["engine_version"] == {"before": "16.9", "after": "17.6"}
    assert ("create", "db_parameter_group", IDENTIFIER + "-pg17") in plan_keys(upgraded)
    primary = instance()
    assert primary["EngineVersion"] == "17.6"
    assert primary["DBParameterGroups"][0]["DBParameterGroupName"] == IDENTIFIER + "-pg17"
    # moto leaves the replica on 16.9 with the old group: the old group stays while anything uses it.
    assert ("delete", "db_parameter_group", IDENTIFIER + "-pg16") not in plan_keys(upgraded)

    without_replica = dict(upgrade_args, read_replicas={"count": 0})
    run_module("rds_postgres", without_replica)
    pruned = run_module("rds_postgres", without_replica)
    assert plan_keys(pruned) == [("delete", "db_parameter_group", IDENTIFIER + "-pg16")]
    assert [g["DBParameterGroupName"] for g in rds().describe_db_parameter_groups()["DBParameterGroups"]] == [IDENTIFIER + "-pg17"]


def test_delete_is_refused_under_deletion_protection(converged, aws_env, network):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("rds_postgres", dict(environment="test", stack="test-us-east-1", region=REGION, state="absent"))
    assert "Deletion protection is on" in failure.value.result["msg"]
    assert "force_disable_deletion_protection" in failure.value.result["msg"]
    assert mutating_calls(calls) == []
    assert instance()["DBInstanceStatus"] == "available"
    assert len(rds().describe_db_instances()["DBInstances"]) == 2


def test_forced_delete_removes_replicas_first_and_keeps_a_final_snapshot(converged, aws_env, network):
    absent = dict(environment="test", stack="test-us-east-1", region=REGION, state="absent", force_disable_deletion_protection=True)
    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", absent, check_mode=True)
    assert mutating_calls(calls) == []
    with aws_env.recording() as calls:
        deleted = run_module("rds_postgres", absent)
    assert plan_keys(planned) == plan_keys(deleted)
    writes = [c.operation for c in mutating_calls(calls)]
    assert writes == ["DeleteDBInstance", "ModifyDBInstance", "DeleteDBInstance", "DeleteDBParameterGroup", "DeleteDBSubnetGroup"]
    assert [(c["action"], c["resource_type"]) for c in deleted["changes"]][:3] == [
        ("delete", "db_read_replica"), ("update", "db_instance"), ("delete", "db_instance")]

    snapshot = deleted["final_snapshot_identifier"]
    assert snapshot.startswith(IDENTIFIER + "-final-")
    found = rds().describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]
    assert found["DBInstanceIdentifier"] == IDENTIFIER and found["SnapshotType"] == "manual"
    assert rds().describe_db_instances()["DBInstances"] == []
    assert rds().describe_db_subnet_groups()["DBSubnetGroups"] == []

    with aws_env.recording() as calls:
        again = run_module("rds_postgres", absent)
    assert again["changed"] is False and mutating_calls(calls) == []


def test_performance_insights_request_carries_key_and_retention(network, aws_env):
    """moto drops Performance Insights on create (nothing to read back); the request itself shows it was asked for."""
    args = base_args(network, read_replicas={"count": 0},
                     performance_insights={"enabled": True, "kms_key_id": network["rds_key"], "retention_days": 31})
    with aws_env.recording():
        run_module("rds_postgres", args)
    bodies = []
    for line in aws_env.download_recording().splitlines():
        entry = json.loads(line)
        body = base64.b64decode(entry["body"]).decode() if entry.get("body_encoded") else (entry.get("body") or "")
        form = parse_qs(body)
        if form.get("Action") == ["CreateDBInstance"]:
            bodies.append(form)
    assert len(bodies) == 1
    assert bodies[0]["EnablePerformanceInsights"] == ["true"]
    assert bodies[0]["PerformanceInsightsKMSKeyId"] == [network["rds_key"]]
    assert bodies[0]["PerformanceInsightsRetentionPeriod"] == ["31"]
    assert bodies[0]["ManageMasterUserPassword"] == ["true"] and "MasterUserPassword" not in bodies[0]


def test_cross_region_replica_in_the_dr_stack(converged, aws_env, network, networks):
    dr = networks[DR_REGION]
    dr_identifier = "test-us-west-2-postgres"
    args = dict(environment="test", stack="test-us-west-2", region=DR_REGION, engine_version="16.9",
                replica_source_arn=converged["db_instance"]["arn"], kms_key_id=dr["rds_key"], subnet_ids=dr["subnet_ids"],
                max_allocated_storage=400,
                vpc_security_group_ids=[dr["group_id"]], performance_insights={"enabled": False}, monitoring_interval=0,
                wait_timeout=120)
    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert plan_keys(planned) == [("create", "db_instance", dr_identifier), ("create", "db_parameter_group", dr_identifier + "-pg16"),
                                  ("create", "db_subnet_group", dr_identifier), ("update", "db_instance", dr_identifier)]
    create = [c for c in planned["changes"] if c["action"] == "create" and c["resource_type"] == "db_instance"][0]
    assert create["fields"]["kms_key_id"]["after"] == dr["rds_key"]
    assert create["fields"]["subnet_group"]["after"] == dr_identifier
    assert create["fields"]["source_region"]["after"] == REGION
    assert planned["master_user_secret_arn"] is None

    applied = run_module("rds_postgres", args)
    assert plan_keys(applied) == plan_keys(planned)
    attach = [c for c in applied["changes"] if c["action"] == "update"][0]
    assert attach["note"].startswith("needs a reboot: the instance applies the parameter group " + dr_identifier + "-pg16")

    replica = instance(dr_identifier, DR_REGION)
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == converged["db_instance"]["arn"]
    assert replica["KmsKeyId"] == dr["rds_key"]
    assert (replica["DBSubnetGroup"]["DBSubnetGroupName"], replica["DBSubnetGroup"]["VpcId"]) == (dr_identifier, dr["vpc_id"])
    assert replica["DBParameterGroups"][0]["DBParameterGroupName"] == dr_identifier + "-pg16"
    assert {t["Key"]: t["Value"] for t in replica["TagList"]}["cairn:db-role"] == "cross-region-replica"
    assert applied["db_instance"]["read_replica_source"] == converged["db_instance"]["arn"]
    assert applied["db_instance"]["arn"] in instance()["ReadReplicaDBInstanceIdentifiers"]

    with aws_env.recording() as calls:
        again = run_module("rds_postgres", args)
    assert again["changed"] is False and mutating_calls(calls) == [], again["changes"]


def test_check_mode_plans_through_inputs_an_earlier_task_only_planned(aws_env, network):
    """site.yml in check mode on an empty account: subnets, groups, keys and the role are '(known after apply)'."""
    unknown = "(known after apply)"
    args = base_args(network, subnet_ids=[unknown] * 3, vpc_security_group_ids=[unknown], kms_key_id=unknown,
                     master_user_secret_kms_key_id=unknown, monitoring_role_arn=unknown)
    with aws_env.recording() as calls:
        planned = run_module("rds_postgres", args, check_mode=True)
    assert mutating_calls(calls) == [] and not [c for c in calls if c.service == "kms"]
    assert plan_keys(planned) == [("create", "db_instance", IDENTIFIER), ("create", "db_parameter_group", IDENTIFIER + "-pg16"),
                                  ("create", "db_read_replica", IDENTIFIER + "-replica-1"), ("create", "db_subnet_group", IDENTIFIER)]
    dr = dict(environment="test", stack="test-us-west-2", region=DR_REGION, replica_source_arn=unknown, kms_key_id=unknown,
              subnet_ids=[unknown] * 3, monitoring_interval=0, performance_insights={"enabled": False})
    with aws_env.recording() as calls:
        planned_dr = run_module("rds_postgres", dr, check_mode=True)
    assert mutating_calls(calls) == []
    assert ("create", "db_instance", "test-us-west-2-postgres") in plan_keys(planned_dr)

    # Outside check mode a placeholder would reach AWS: refused before any call.
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("rds_postgres", args)
    assert calls == [] and "known after apply" in failure.value.result["msg"]


# ---- bad input: a sentence naming the field, before the first API call -------------------------
BAD_INPUT = [
    (dict(engine_version="16.99"), "engine_version", "16.9"),
    (dict(engine_version="11.22"), "engine_version", "supported majors"),
    (dict(engine_version="16"), "engine_version", "major and minor"),
    (dict(backup_retention_days=36), "backup_retention_days", "1 to 35"),
    (dict(backup_retention_days=0), "backup_retention_days", "1 to 35"),
    (dict(max_allocated_storage=100), "max_allocated_storage", "greater than allocated_storage"),
    (dict(max_allocated_storage=80), "max_allocated_storage", "greater than allocated_storage"),
    (dict(password="hunter2-hunter2"), "master_user_password", "takes no password"),
    (dict(instance_class="r6g.large"), "instance_class", "db.<family>"),
    (dict(instance_class="db.q9.large"), "instance_class", "family starting with"),
    (dict(instance_class="db.r6g.huge"), "instance_class", "db.<family>"),
    (dict(performance_insights={"retention_days": 30}), "performance_insights.retention_days", "multiple of 31"),
    (dict(performance_insights={"retention_days": 744}), "performance_insights.retention_days", "731"),
    (dict(read_replicas={"count": 16}), "read_replicas.count", "0 to 15"),
    (dict(read_replicas={"count": -1}), "read_replicas.count", "0 to 15"),
    (dict(allocated_storage=10, max_allocated_storage=None), "allocated_storage", "20 to 65536"),
    (dict(backup_window="03:00-03:10"), "backup_window", "30 minutes"),
    (dict(backup_window="05:00-05:30", maintenance_window="sun:05:15-sun:05:45"), "backup_window", "overlaps"),
    (dict(monitoring_role_arn=None), "monitoring_role_arn", "required"),
    (dict(subnet_ids=None), "subnet_ids", "required"),
    (dict(kms_key_id="arn:aws:kms:us-west-2:123456789012:key/abc"), "kms_key_id", "KMS keys are regional"),
    (dict(identifier="Prod_DB"), "identifier", "lowercase"),
    (dict(parameters={"rds.force_ssl": 0}), "parameters", "rds.force_ssl must stay 1"),
    (dict(replica_source_arn="arn:aws:rds:us-east-1:123456789012:db:other"), "replica_source_arn", "same-region"),
    (dict(replica_source_arn="arn:aws:rds:us-west-2:123456789012:db:other"), "read_replicas.count", "must be 0"),
]


@pytest.mark.parametrize("overrides, field, words", BAD_INPUT, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD_INPUT)])
def test_bad_input_fails_before_any_api_call(aws_env, network, overrides, field, words):
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("rds_postgres", base_args(network, **overrides))
    message = failure.value.result["msg"]
    assert field in message and words in message, message
    assert calls == []

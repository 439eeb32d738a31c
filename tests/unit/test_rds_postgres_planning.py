"""rds_postgres pure planning: input checks and the comparison of an instance with the spec (no API, no emulator)."""

from __future__ import annotations

import copy
import datetime
import re

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.modules.rds_postgres import (
    ARGUMENT_SPEC,
    DEFAULT_PARAMETERS,
    NOTE_GROUP,
    NOTE_NOW,
    NOTE_WINDOW,
    PI_RETENTION_DAYS,
    SUPPORTED_ENGINE_VERSIONS,
    build_spec,
    check_immutable,
    current_fields,
    final_snapshot_identifier,
    group_changes,
    instance_changes,
    merge_parameters,
)

RDS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ROLE = "arn:aws:iam::123456789012:role/prod-us-east-1-rds-monitoring"
IDENTIFIER = "prod-us-east-1-postgres"


def params(**overrides):
    """Module params as AnsibleModule hands them over (defaults filled in)."""
    values = {name: option.get("default") for name, option in ARGUMENT_SPEC.items()}
    values.update(environment="prod", stack="prod-us-east-1", subnet_ids=["subnet-0a", "subnet-0b", "subnet-0c"],
                  monitoring_role_arn=ROLE, kms_key_id=RDS_KEY, performance_insights={"enabled": True, "kms_key_id": None, "retention_days": 7},
                  read_replicas={"count": 0, "instance_class": None})
    values.update(overrides)
    return values


def spec(**overrides):
    return build_spec(params(**overrides), region="us-east-1")


def instance(**overrides):
    """An instance as DescribeDBInstances reports one converged to spec()."""
    item = {
        "DBInstanceIdentifier": IDENTIFIER, "DBInstanceArn": "arn:aws:rds:us-east-1:123456789012:db:" + IDENTIFIER,
        "Engine": "postgres", "EngineVersion": "16.9", "DBInstanceClass": "db.r6g.large", "MultiAZ": True,
        "AllocatedStorage": 100, "StorageType": "gp3", "StorageEncrypted": True, "KmsKeyId": RDS_KEY,
        "BackupRetentionPeriod": 35, "PreferredBackupWindow": "03:00-03:30", "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": RDS_KEY, "PerformanceInsightsRetentionPeriod": 7,
        "MonitoringInterval": 60, "MonitoringRoleArn": ROLE, "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "DeletionProtection": True, "CopyTagsToSnapshot": True, "IAMDatabaseAuthenticationEnabled": False,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0a", "Status": "active"}], "CACertificateIdentifier": "rds-ca-rsa2048-g1",
        "AutoMinorVersionUpgrade": True, "PubliclyAccessible": False, "MasterUsername": "cairn_admin",
        "DBParameterGroups": [{"DBParameterGroupName": IDENTIFIER + "-pg16", "ParameterApplyStatus": "in-sync"}],
        "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1", "SecretStatus": "active"},
        "PendingModifiedValues": {},
    }
    item.update(overrides)
    return item


KEYS = {RDS_KEY: RDS_KEY}


def changes_for(built, item):
    return instance_changes(built, item, KEYS)[0]


def fields_of(changes):
    return {c.field: (c.before, c.after, c.timing) for c in changes}


# ---- input checks ---------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, field, words", [
    (dict(engine_version="16.5"), "engine_version", "16.3, 16.4"),
    (dict(engine_version="9.6"), "engine_version", "supported majors are 14, 15, 16, 17, 18"),
    (dict(engine_version="latest"), "engine_version", "major and minor"),
    (dict(backup_retention_days=36), "backup_retention_days", "1 to 35"),
    (dict(backup_retention_days=0), "backup_retention_days", "1 to 35"),
    (dict(max_allocated_storage=100), "max_allocated_storage", "greater than allocated_storage (100 GiB)"),
    (dict(max_allocated_storage=70000), "max_allocated_storage", "at most 65536"),
    (dict(master_user_password="x"), "master_user_password", "takes no password"),
    (dict(instance_class="db.r6g"), "instance_class", "db.<family>"),
    (dict(instance_class="db.k6g.large"), "instance_class", "family starting with"),
    (dict(instance_class="m5.large"), "instance_class", "db.<family>"),
    (dict(read_replicas={"count": 1, "instance_class": "db.r6g.giant"}), "read_replicas.instance_class", "db.<family>"),
    (dict(performance_insights={"enabled": True, "retention_days": 93 + 1}), "performance_insights.retention_days", "got 94"),
    (dict(performance_insights={"enabled": True, "retention_days": 744}), "performance_insights.retention_days", "731"),
    (dict(performance_insights={"enabled": False, "kms_key_id": RDS_KEY, "retention_days": 7}), "performance_insights.kms_key_id", "enabled is false"),
    (dict(read_replicas={"count": 16}), "read_replicas.count", "0 to 15"),
    (dict(identifier="a" * 60, read_replicas={"count": 2}), "identifier", "no room for the replica suffix"),
    (dict(identifier="db--1"), "identifier", "single hyphens"),
    (dict(allocated_storage=19, max_allocated_storage=None), "allocated_storage", "20 to 65536"),
    (dict(monitoring_role_arn=None), "monitoring_role_arn", "required when monitoring_interval is 60"),
    (dict(monitoring_role_arn="role/x"), "monitoring_role_arn", "not an IAM role ARN"),
    (dict(subnet_ids=["subnet-0a"]), "subnet_ids", "at least two"),
    (dict(subnet_ids=["subnet-0a", "vpc-0b"]), "subnet_ids", "'vpc-0b'"),
    (dict(vpc_security_group_ids=["default"]), "vpc_security_group_ids", "sg-"),
    (dict(backup_window="3:00-3:30"), "backup_window", "hh24:mi-hh24:mi"),
    (dict(backup_window="23:50-00:10"), "backup_window", "at least 30 minutes"),
    (dict(maintenance_window="sunday:05:00-sunday:05:30"), "maintenance_window", "ddd:hh24:mi"),
    (dict(maintenance_window="sat:23:50-sun:00:05"), "maintenance_window", "at least 30 minutes"),
    (dict(backup_window="23:45-00:30", maintenance_window="mon:00:00-mon:00:30"), "backup_window", "overlaps"),
    (dict(master_username="rdsadmin"), "master_username", "not allowed"),
    (dict(db_name="1app"), "db_name", "not a database name"),
    (dict(ca_certificate="letsencrypt"), "ca_certificate", "rds-ca-rsa2048-g1"),
    (dict(storage_encrypted=False), "kms_key_id", "storage_encrypted is false"),
    (dict(kms_key_id="arn:aws:kms:eu-west-1:123456789012:alias/x"), "kms_key_id", "lives in eu-west-1"),
    (dict(master_user_secret_kms_key_id="arn:aws:s3:::bucket"), "master_user_secret_kms_key_id", "not a KMS key"),
    (dict(parameters={"rds.force_ssl": "0"}), "parameters", "rds.force_ssl must stay 1"),
    (dict(parameters={"bad name": 1}), "parameters", "not a PostgreSQL parameter name"),
    (dict(parameters={"work_mem": None}), "parameters", "work_mem needs a value"),
    (dict(replica_source_arn="arn:aws:rds:us-west-2:123456789012:cluster:x"), "replica_source_arn", "not a DB instance ARN"),
    (dict(replica_source_arn="arn:aws:rds:us-east-1:123456789012:db:x"), "replica_source_arn", "use read_replicas"),
    (dict(replica_source_arn="arn:aws:rds:us-west-2:123456789012:db:x", kms_key_id=None), "kms_key_id", "own region"),
    (dict(wait_timeout=-1), "wait_timeout", "0 or more"),
])
def test_bad_input_names_the_field(overrides, field, words):
    with pytest.raises(InputError) as error:
        spec(**overrides)
    assert error.value.message.startswith(field + ":"), error.value.message
    assert words in error.value.message, error.value.message


def test_password_is_refused_first_even_in_state_absent():
    with pytest.raises(InputError, match="master_user_password"):
        build_spec(params(state="absent", master_user_password="x"))


def test_defaults_make_a_secure_spec():
    built = spec()
    assert built["identifier"] == IDENTIFIER and built["subnet_group_name"] == IDENTIFIER
    assert built["parameter_group_name"] == IDENTIFIER + "-pg16" and built["parameter_group_family"] == "postgres16"
    assert built["backup_retention_days"] == 35 and built["multi_az"] and built["storage_encrypted"]
    assert built["deletion_protection"] and built["storage_type"] == "gp3"
    assert built["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    assert built["parameters"] == DEFAULT_PARAMETERS
    assert "master_user_password" not in built


def test_every_listed_version_is_accepted_and_names_its_family():
    for major, versions in SUPPORTED_ENGINE_VERSIONS.items():
        for version in versions:
            assert spec(engine_version=version)["parameter_group_family"] == "postgres" + major


def test_pi_retention_values_are_exactly_what_aws_accepts():
    assert sorted(PI_RETENTION_DAYS) == [7] + [31 * m for m in range(1, 24)] + [731]


def test_parameters_merge_over_defaults_and_keep_the_audit_libraries():
    merged = merge_parameters({"shared_preload_libraries": "pg_cron", "log_min_duration_statement": 250,
                               "log_connections": False, "pgaudit.log": "ddl,role,write"})
    assert merged["shared_preload_libraries"] == "pg_cron,pg_stat_statements,pgaudit"
    assert merged["log_min_duration_statement"] == "250" and merged["log_connections"] == "0"
    assert merged["pgaudit.log"] == "ddl,role,write" and merged["rds.force_ssl"] == "1"


def test_maintenance_window_is_compared_in_lowercase_and_windows_may_wrap():
    built = spec(backup_window="23:30-00:15", maintenance_window="Sat:22:00-Sat:22:45")
    assert built["maintenance_window"] == "sat:22:00-sat:22:45"


def test_final_snapshot_name_is_a_valid_snapshot_identifier():
    name = final_snapshot_identifier(IDENTIFIER, datetime.datetime(2026, 11, 24, 10, 15, 0))
    assert name == IDENTIFIER + "-final-20261124-101500"
    assert "--" not in name and len(name) <= 255


# ---- comparing an instance with the spec ----------------------------------------------------
def test_converged_instance_has_no_changes():
    assert instance_changes(spec(), instance(), KEYS) == ([], [])


def test_pending_values_equal_to_the_spec_are_not_drift():
    pending = instance(PendingModifiedValues={"DBInstanceClass": "db.r6g.xlarge", "AllocatedStorage": 200, "MultiAZ": True,
                                              "PendingCloudwatchLogsExports": {"LogTypesToEnable": ["iam-db-auth-error"]}})
    changes = changes_for(spec(instance_class="db.r6g.xlarge", allocated_storage=200,
                               enabled_cloudwatch_logs_exports=["postgresql", "upgrade", "iam-db-auth-error"]), pending)
    assert changes == []


def test_a_pending_value_other_than_the_spec_is_changed_again():
    pending = instance(PendingModifiedValues={"DBInstanceClass": "db.r6g.2xlarge"})
    changes = changes_for(spec(instance_class="db.r6g.xlarge"), pending)
    assert fields_of(changes) == {"instance_class": ("db.r6g.2xlarge", "db.r6g.xlarge", "deferred")}


def test_changes_are_grouped_by_when_they_take_effect():
    default_group = instance(DBParameterGroups=[{"DBParameterGroupName": "default.postgres16", "ParameterApplyStatus": "in-sync"}])
    changes = changes_for(spec(instance_class="db.r6g.xlarge", deletion_protection=False, parameters={"work_mem": "64MB"}), default_group)
    records = group_changes(changes, apply_immediately=False)
    assert [(note, [c.field for c in group]) for note, group in records] == [
        (None, ["deletion_protection"]),
        (NOTE_WINDOW, ["instance_class"]),
        (NOTE_GROUP.format(IDENTIFIER + "-pg16"), ["parameter_group"]),
    ]
    assert group_changes(changes, apply_immediately=True)[1][0] == NOTE_NOW


def test_storage_grown_by_autoscaling_is_not_drift_but_shrinking_is_refused():
    grown = instance(AllocatedStorage=180, MaxAllocatedStorage=400)
    assert instance_changes(spec(max_allocated_storage=400), grown, KEYS)[0] == []
    with pytest.raises(CairnError, match="cannot shrink"):
        instance_changes(spec(), grown, KEYS)
    with pytest.raises(CairnError, match="max_allocated_storage: .* already has 180 GiB"):
        instance_changes(spec(max_allocated_storage=150), grown, KEYS)


def test_turning_autoscaling_off_sets_the_limit_to_the_allocated_storage():
    changes = changes_for(spec(), instance(MaxAllocatedStorage=400))
    assert [(c.field, c.kwargs) for c in changes] == [("max_allocated_storage", {"MaxAllocatedStorage": 100})]


def test_engine_versions_move_forward_only_and_a_major_needs_permission():
    minor = changes_for(spec(engine_version="16.10"), instance())
    assert [(c.field, c.kwargs, c.timing) for c in minor] == [("engine_version", {"EngineVersion": "16.10"}, "deferred")]
    older, warnings = instance_changes(spec(engine_version="16.8"), instance(), KEYS)
    assert older == [] and "newer than 16.8" in warnings[0]
    with pytest.raises(CairnError, match="allow_major_version_upgrade: true"):
        instance_changes(spec(engine_version="17.6"), instance(), KEYS)
    with pytest.raises(CairnError, match="cannot downgrade"):
        instance_changes(spec(engine_version="15.14"), instance(), KEYS)
    major = changes_for(spec(engine_version="17.6", allow_major_version_upgrade=True), instance())
    assert [(c.field, c.kwargs) for c in major] == [("engine_version", {
        "EngineVersion": "17.6", "AllowMajorVersionUpgrade": True, "DBParameterGroupName": IDENTIFIER + "-pg17"})]
    assert group_changes(major, False)[0][0].startswith("major version upgrade 16.9 -> 17.6")


def test_a_pending_major_upgrade_is_not_repeated():
    pending = instance(PendingModifiedValues={"EngineVersion": "17.6"},
                       DBParameterGroups=[{"DBParameterGroupName": IDENTIFIER + "-pg17", "ParameterApplyStatus": "pending-reboot"}])
    assert instance_changes(spec(engine_version="17.6", allow_major_version_upgrade=True), pending, KEYS)[0] == []


def test_backup_retention_from_zero_waits_for_the_window():
    changes = changes_for(spec(), instance(BackupRetentionPeriod=0))
    assert fields_of(changes) == {"backup_retention_days": (0, 35, "deferred")}
    changes = changes_for(spec(backup_retention_days=7), instance())
    assert fields_of(changes) == {"backup_retention_days": (35, 7, "immediate")}


def test_performance_insights_and_monitoring_changes():
    off = instance(PerformanceInsightsEnabled=False, PerformanceInsightsKMSKeyId=None, PerformanceInsightsRetentionPeriod=None,
                   MonitoringInterval=0, MonitoringRoleArn=None)
    changes = changes_for(spec(performance_insights={"enabled": True, "kms_key_id": RDS_KEY, "retention_days": 31}), off)
    assert {c.field: c.kwargs for c in changes} == {
        "performance_insights": {"EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 31,
                                 "PerformanceInsightsKMSKeyId": RDS_KEY},
        "enhanced_monitoring": {"MonitoringInterval": 60, "MonitoringRoleArn": ROLE},
    }
    other_key = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"
    with pytest.raises(CairnError, match="cannot change the key while Performance Insights is on"):
        instance_changes(spec(performance_insights={"enabled": True, "kms_key_id": other_key, "retention_days": 7}),
                         instance(), {other_key: other_key})
    disabled = changes_for(spec(performance_insights={"enabled": False}, monitoring_interval=0), instance())
    assert {c.field: c.kwargs for c in disabled} == {"performance_insights": {"EnablePerformanceInsights": False},
                                                     "enhanced_monitoring": {"MonitoringInterval": 0}}


def test_log_exports_are_enabled_and_disabled_in_one_configuration():
    changes = changes_for(spec(enabled_cloudwatch_logs_exports=["postgresql", "iam-db-auth-error"]), instance())
    assert [c.kwargs for c in changes] == [{"CloudwatchLogsExportConfiguration": {
        "EnableLogTypes": ["iam-db-auth-error"], "DisableLogTypes": ["upgrade"]}}]


def test_a_public_instance_and_an_unmanaged_password_are_fixed():
    changes = changes_for(spec(), instance(PubliclyAccessible=True, MasterUserSecret=None))
    assert {c.field: c.kwargs for c in changes} == {"publicly_accessible": {"PubliclyAccessible": False},
                                                    "master_user_secret": {"ManageMasterUserPassword": True}}


def test_immutable_settings_are_refused():
    for overrides, item, words in (
        ({}, instance(Engine="mysql"), "not PostgreSQL"),
        ({}, instance(StorageEncrypted=False), "encryption cannot change"),
        ({}, instance(KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/other"), "storage key cannot change"),
        ({}, instance(MasterUsername="postgres"), "master_username"),
        (dict(db_name="app"), instance(DBName="other"), "db_name"),
        ({}, instance(ReadReplicaSourceDBInstanceIdentifier="x"), "is a read replica of x"),
        (dict(replica_source_arn="arn:aws:rds:us-west-2:123456789012:db:x"), instance(), "standalone instance (promoted?)"),
        (dict(replica_source_arn="arn:aws:rds:us-west-2:123456789012:db:x"),
         instance(ReadReplicaSourceDBInstanceIdentifier="arn:aws:rds:us-west-2:123456789012:db:y"), "replicates"),
    ):
        with pytest.raises(CairnError, match=re.escape(words)):
            check_immutable(spec(**overrides), item, KEYS)


def test_a_cross_region_replica_is_not_compared_on_what_its_source_owns():
    replica = instance(ReadReplicaSourceDBInstanceIdentifier="arn:aws:rds:us-west-2:123456789012:db:src", EngineVersion="16.4",
                       AllocatedStorage=500, BackupRetentionPeriod=0, MasterUserSecret=None)
    built = spec(replica_source_arn="arn:aws:rds:us-west-2:123456789012:db:src")
    check_immutable(built, replica, KEYS)
    assert instance_changes(built, replica, KEYS) == ([], [])


def test_current_fields_read_pending_values_first():
    item = instance(PendingModifiedValues={"IAMDatabaseAuthenticationEnabled": True, "CACertificateIdentifier": "rds-ca-ecc384-g1"})
    fields = current_fields(copy.deepcopy(item))
    assert fields["iam_database_authentication"] is True and fields["ca_certificate"] == "rds-ca-ecc384-g1"


def test_placeholders_of_planned_resources_pass_the_checks_and_are_not_compared():
    unknown = "(known after apply)"
    built = spec(subnet_ids=[unknown] * 3, vpc_security_group_ids=[unknown], kms_key_id=unknown,
                 master_user_secret_kms_key_id=unknown, monitoring_role_arn=unknown,
                 performance_insights={"enabled": True, "kms_key_id": unknown, "retention_days": 7})
    assert built["subnet_ids"] == [unknown] * 3
    keys = {unknown: unknown}
    check_immutable(built, instance(), keys)
    changes = instance_changes(built, instance(), keys)[0]
    assert {c.field for c in changes} == {"vpc_security_group_ids", "performance_insights", "enhanced_monitoring"}
    replica = spec(replica_source_arn=unknown, kms_key_id=unknown)
    assert replica["source"] == {"arn": unknown, "region": unknown, "identifier": unknown}

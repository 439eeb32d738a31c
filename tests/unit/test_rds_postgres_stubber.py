"""RdsPostgresConverger paths the emulator models wrongly or not at all, driven by botocore Stubber.

Stubber checks every request against the real RDS API model (and the expected parameters), and every
canned response against the model's output shape, without any network traffic. Covered here:
PendingModifiedValues (moto applies every change at once), ParameterApplyStatus pending-reboot
(moto is always in-sync), Performance Insights read-back (moto never reports it), ResetDBParameterGroup
(not implemented by moto), the cross-region replica request with its subnet group, KMS key and
SourceRegion (moto resolves the subnet group in the wrong region), and deleting a cross-region replica
(moto fails on it).
"""

from __future__ import annotations


import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.rds_postgres import (
    ARGUMENT_SPEC,
    COMPONENT,
    DEFAULT_PARAMETERS,
    MAX_READ_REPLICAS,
    NOTE_GROUP,
    NOTE_REPLICA_DELETE,
    NOTE_STATIC,
    NOTE_WINDOW,
    RdsPostgresConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("shared_model_loader", "clean_sdk_env")

ACCOUNT = "123456789012"
IDENTIFIER = "prod-us-east-1-postgres"
ARN = "arn:aws:rds:us-east-1:{0}:db:{1}".format(ACCOUNT, IDENTIFIER)
GROUP = IDENTIFIER + "-pg16"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1b2c3d4e5f60718", "subnet-0c1b2c3d4e5f60718"]
SECURITY_GROUP = "sg-0123456789abcdef0"
RDS_KEY = "arn:aws:kms:us-east-1:{0}:key/11111111-2222-3333-4444-555555555555".format(ACCOUNT)
SECRETS_KEY = "arn:aws:kms:us-east-1:{0}:key/66666666-2222-3333-4444-555555555555".format(ACCOUNT)
ROLE = "arn:aws:iam::{0}:role/prod-us-east-1-rds-monitoring".format(ACCOUNT)
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:{0}:secret:rds!db-0a1b2c3d-AbCdEf".format(ACCOUNT)

DR_IDENTIFIER = "prod-us-west-2-postgres"
DR_ARN = "arn:aws:rds:us-west-2:{0}:db:{1}".format(ACCOUNT, DR_IDENTIFIER)
DR_GROUP = DR_IDENTIFIER + "-pg16"
DR_SUBNETS = ["subnet-0d1b2c3d4e5f60718", "subnet-0e1b2c3d4e5f60718", "subnet-0f1b2c3d4e5f60718"]
DR_SECURITY_GROUP = "sg-0fedcba9876543210"
DR_KEY = "arn:aws:kms:us-west-2:{0}:key/77777777-2222-3333-4444-555555555555".format(ACCOUNT)
DR_ROLE = "arn:aws:iam::{0}:role/prod-us-west-2-rds-monitoring".format(ACCOUNT)


PRIMARY_ARGS = dict(
    environment="prod", stack="prod-us-east-1", region="us-east-1", engine_version="16.9", kms_key_id=RDS_KEY,
    master_user_secret_kms_key_id=SECRETS_KEY, subnet_ids=SUBNETS, vpc_security_group_ids=[SECURITY_GROUP],
    max_allocated_storage=400, monitoring_role_arn=ROLE, performance_insights={"kms_key_id": RDS_KEY}, db_name="app",
    backup_window="03:00-03:30", maintenance_window="sun:05:00-sun:05:30",
)


def primary_args(**overrides):
    return {**PRIMARY_ARGS, **overrides}


DR_ARGS = dict(
    environment="prod", stack="prod-us-west-2", region="us-west-2", engine_version="16.9", replica_source_arn=ARN,
    kms_key_id=DR_KEY, subnet_ids=DR_SUBNETS, vpc_security_group_ids=[DR_SECURITY_GROUP], max_allocated_storage=400,
    monitoring_role_arn=DR_ROLE, performance_insights={"kms_key_id": DR_KEY},
)


class Run:
    """A real CairnModule (AnsibleModule parsing the module's own argument spec), its converger and a stubbed RDS client."""

    def __init__(self, monkeypatch, check_mode=False, **args):
        module_args = dict(access_key="testing", secret_key="testing", _ansible_check_mode=check_mode, _ansible_diff=False)
        module_args.update(args)
        with patch_module_args(module_args):
            self.cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
        self.warnings = []
        monkeypatch.setattr(self.cm.module, "warn", lambda message, **kwargs: self.warnings.append(message))
        self.converger = RdsPostgresConverger(self.cm, build_spec(self.cm.params, region=self.cm.connection.region))
        assert self.converger.rds is self.cm.connection.client("rds")
        self.stubber = Stubber(self.converger.rds)

    def add(self, operation, response, expected):
        self.stubber.add_response(operation, response, expected)

    def present(self):
        with self.stubber:
            data = self.converger.present()
            self.stubber.assert_no_pending_responses()
        return data

    def absent(self):
        with self.stubber:
            data = self.converger.absent()
            self.stubber.assert_no_pending_responses()
        return data

    @property
    def changes(self):
        return self.cm.plan.changes

    def keys(self):
        return [(c["action"], c["resource_type"], c["resource"]) for c in self.changes]


def tag_list(stack, name, db_role=None):
    tags = {"Name": name, "cairn:environment": "prod", "cairn:stack": stack, "cairn:component": COMPONENT,
            "cairn:managed-by": "cairn.platform"}
    if db_role:
        tags["cairn:db-role"] = db_role
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def primary(**overrides):
    """The primary as DescribeDBInstances reports it when it matches PRIMARY_ARGS."""
    item = {
        "DBInstanceIdentifier": IDENTIFIER, "DBInstanceArn": ARN, "DBInstanceStatus": "available", "Engine": "postgres",
        "EngineVersion": "16.9", "DBInstanceClass": "db.r6g.large", "MultiAZ": True, "AllocatedStorage": 100,
        "MaxAllocatedStorage": 400, "StorageType": "gp3", "StorageEncrypted": True, "KmsKeyId": RDS_KEY,
        "MasterUsername": "cairn_admin", "DBName": "app", "Endpoint": {"Address": IDENTIFIER + ".abc.us-east-1.rds.amazonaws.com", "Port": 5432},
        "BackupRetentionPeriod": 35, "PreferredBackupWindow": "03:00-03:30", "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": RDS_KEY, "PerformanceInsightsRetentionPeriod": 7,
        "MonitoringInterval": 60, "MonitoringRoleArn": ROLE, "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "DeletionProtection": True, "CopyTagsToSnapshot": True, "IAMDatabaseAuthenticationEnabled": False,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": SECURITY_GROUP, "Status": "active"}],
        "CACertificateIdentifier": "rds-ca-rsa2048-g1", "AutoMinorVersionUpgrade": True, "PubliclyAccessible": False,
        "DBParameterGroups": [{"DBParameterGroupName": GROUP, "ParameterApplyStatus": "in-sync"}],
        "DBSubnetGroup": {"DBSubnetGroupName": IDENTIFIER},
        "MasterUserSecret": {"SecretArn": SECRET_ARN, "SecretStatus": "active", "KmsKeyId": SECRETS_KEY},
        "PendingModifiedValues": {}, "ReadReplicaDBInstanceIdentifiers": [],
        "TagList": tag_list("prod-us-east-1", IDENTIFIER, "primary"),
    }
    item.update(overrides)
    return item


def parameters(values=None, static=("shared_preload_libraries",)):
    values = dict(DEFAULT_PARAMETERS if values is None else values)
    return [{"ParameterName": name, "ParameterValue": value, "Source": "user", "IsModifiable": True,
             "ApplyType": "static" if name in static else "dynamic",
             "ApplyMethod": "pending-reboot" if name in static else "immediate"} for name, value in sorted(values.items())]


def stub_reads(run, instances, identifier=IDENTIFIER, stack="prod-us-east-1", region="us-east-1", family_groups=None,
               group_parameters=None, subnet_ids=None):
    """The reads of one run: instances, subnet group (+tags), parameter groups (+tags), the group's parameters."""
    ids = [identifier] + ["{0}-replica-{1}".format(identifier, n) for n in range(1, MAX_READ_REPLICAS + 1)]
    run.add("describe_db_instances", {"DBInstances": instances}, {"Filters": [{"Name": "db-instance-id", "Values": ids}]})
    if subnet_ids is None:
        run.stubber.add_client_error("describe_db_subnet_groups", service_error_code="DBSubnetGroupNotFoundFault",
                                     http_status_code=404, expected_params={"DBSubnetGroupName": identifier})
    else:
        group_arn = "arn:aws:rds:{0}:{1}:subgrp:{2}".format(region, ACCOUNT, identifier)
        run.add("describe_db_subnet_groups", {"DBSubnetGroups": [{
            "DBSubnetGroupName": identifier, "DBSubnetGroupDescription": "d", "VpcId": "vpc-0a", "DBSubnetGroupArn": group_arn,
            "Subnets": [{"SubnetIdentifier": s} for s in subnet_ids]}]}, {"DBSubnetGroupName": identifier})
        run.add("list_tags_for_resource", {"TagList": tag_list(stack, identifier)}, {"ResourceName": group_arn})
    groups = family_groups if family_groups is not None else []
    run.add("describe_db_parameter_groups", {"DBParameterGroups": [{
        "DBParameterGroupName": name, "DBParameterGroupFamily": family, "Description": "d",
        "DBParameterGroupArn": "arn:aws:rds:{0}:{1}:pg:{2}".format(region, ACCOUNT, name)} for name, family in groups]}, {})
    for name, _family in groups:
        run.add("list_tags_for_resource", {"TagList": tag_list(stack, name)},
                {"ResourceName": "arn:aws:rds:{0}:{1}:pg:{2}".format(region, ACCOUNT, name)})
        if name == run.converger.spec.get("parameter_group_name"):
            run.add("describe_db_parameters", {"Parameters": group_parameters if group_parameters is not None else parameters()},
                    {"DBParameterGroupName": name, "Source": "user"})


def stub_converged_reads(run, instances=None, group_parameters=None):
    stub_reads(run, instances if instances is not None else [primary()], family_groups=[(GROUP, "postgres16")],
               group_parameters=group_parameters, subnet_ids=SUBNETS)


# ---- PendingModifiedValues ---------------------------------------------------------------------
def test_a_pending_value_equal_to_the_spec_is_not_drift(monkeypatch):
    run = Run(monkeypatch, **primary_args(instance_class="db.r6g.xlarge", allocated_storage=200, iam_database_authentication=True))
    pending = primary(PendingModifiedValues={"DBInstanceClass": "db.r6g.xlarge", "AllocatedStorage": 200,
                                             "IAMDatabaseAuthenticationEnabled": True})
    stub_converged_reads(run, [pending])
    data = run.present()
    assert run.changes == []
    assert data["db_instance"]["pending_modified_values"] == {"db_instance_class": "db.r6g.xlarge", "allocated_storage": 200,
                                                              "iam_database_authentication_enabled": True}


def test_a_deferred_change_is_noted_and_the_next_run_does_not_repeat_it(monkeypatch):
    args = primary_args(instance_class="db.r6g.xlarge")
    run = Run(monkeypatch, **args)
    stub_converged_reads(run)
    after = primary(PendingModifiedValues={"DBInstanceClass": "db.r6g.xlarge"})
    run.add("modify_db_instance", {"DBInstance": after},
            {"DBInstanceIdentifier": IDENTIFIER, "DBInstanceClass": "db.r6g.xlarge", "ApplyImmediately": False})
    run.present()
    assert run.changes == [{"action": "update", "resource_type": "db_instance", "resource": IDENTIFIER,
                            "fields": {"instance_class": {"before": "db.r6g.large", "after": "db.r6g.xlarge"}}, "note": NOTE_WINDOW}]

    rerun = Run(monkeypatch, **args)
    stub_converged_reads(rerun, [after])
    data = rerun.present()
    assert rerun.changes == []
    assert data["db_instance"]["instance_class"] == "db.r6g.large"  # until the maintenance window


def test_apply_immediately_is_passed_through(monkeypatch):
    run = Run(monkeypatch, **primary_args(instance_class="db.r6g.xlarge", apply_immediately=True))
    stub_converged_reads(run)
    run.add("modify_db_instance", {"DBInstance": primary(DBInstanceClass="db.r6g.xlarge", DBInstanceStatus="modifying")},
            {"DBInstanceIdentifier": IDENTIFIER, "DBInstanceClass": "db.r6g.xlarge", "ApplyImmediately": True})
    run.present()
    assert run.changes[0]["note"].startswith("applies now (apply_immediately is true)")


def test_a_pending_major_upgrade_is_left_to_the_window(monkeypatch):
    args = primary_args(engine_version="17.6", allow_major_version_upgrade=True)
    run = Run(monkeypatch, **args)
    stub_reads(run, [primary()], family_groups=[(GROUP, "postgres16")], subnet_ids=SUBNETS)
    run.add("create_db_parameter_group", {"DBParameterGroup": {"DBParameterGroupName": IDENTIFIER + "-pg17",
                                                               "DBParameterGroupArn": "arn:aws:rds:us-east-1:{0}:pg:{1}-pg17".format(ACCOUNT, IDENTIFIER)}},
            {"DBParameterGroupName": IDENTIFIER + "-pg17", "DBParameterGroupFamily": "postgres17",
             "Description": ANY, "Tags": tag_list("prod-us-east-1", IDENTIFIER + "-pg17")})
    run.add("modify_db_parameter_group", {"DBParameterGroupName": IDENTIFIER + "-pg17"},
            {"DBParameterGroupName": IDENTIFIER + "-pg17", "Parameters": ANY})
    pending = primary(PendingModifiedValues={"EngineVersion": "17.6"},
                      DBParameterGroups=[{"DBParameterGroupName": IDENTIFIER + "-pg17", "ParameterApplyStatus": "applying"}])
    run.add("modify_db_instance", {"DBInstance": pending},
            {"DBInstanceIdentifier": IDENTIFIER, "EngineVersion": "17.6", "AllowMajorVersionUpgrade": True,
             "DBParameterGroupName": IDENTIFIER + "-pg17", "ApplyImmediately": False})
    run.present()
    assert run.keys() == [("create", "db_parameter_group", IDENTIFIER + "-pg17"), ("update", "db_instance", IDENTIFIER)]
    assert run.changes[1]["note"] == "major version upgrade 16.9 -> 17.6 with the parameter group of the new family; " + NOTE_WINDOW
    # The old family's group stays while the upgrade waits (no DeleteDBParameterGroup was stubbed).


def test_a_major_upgrade_without_permission_is_refused_before_any_write(monkeypatch):
    run = Run(monkeypatch, **primary_args(engine_version="17.6"))
    stub_converged_reads(run)
    with pytest.raises(CairnError, match="allow_major_version_upgrade: true"):
        run.present()
    assert run.changes == []


# ---- parameters and reboots ---------------------------------------------------------------------
def test_a_static_parameter_change_needs_a_reboot_and_the_pending_reboot_is_reported(monkeypatch):
    run = Run(monkeypatch, **PRIMARY_ARGS)
    old = dict(DEFAULT_PARAMETERS, shared_preload_libraries="pg_stat_statements")
    stub_converged_reads(run, group_parameters=parameters(old))
    run.add("modify_db_parameter_group", {"DBParameterGroupName": GROUP}, {"DBParameterGroupName": GROUP, "Parameters": [
        {"ParameterName": "shared_preload_libraries", "ParameterValue": "pg_stat_statements,pgaudit", "ApplyMethod": "pending-reboot"}]})
    run.present()
    assert run.changes == [{"action": "update", "resource_type": "db_parameter_group", "resource": GROUP, "fields": {
        "parameters": {"before": {"shared_preload_libraries": "pg_stat_statements"},
                       "after": {"shared_preload_libraries": "pg_stat_statements,pgaudit"}}},
        "note": NOTE_STATIC.format("shared_preload_libraries")}]
    assert run.changes[0]["note"].startswith("needs a reboot: static parameter")

    # AWS now reports the instance waiting for a reboot: reported, not acted on, not a change.
    rerun = Run(monkeypatch, **PRIMARY_ARGS)
    stub_converged_reads(rerun, [primary(DBParameterGroups=[{"DBParameterGroupName": GROUP, "ParameterApplyStatus": "pending-reboot"}])])
    data = rerun.present()
    assert rerun.changes == []
    assert data["db_instance"]["pending_reboot"] is True
    assert any("pending-reboot" in message and IDENTIFIER in message for message in rerun.warnings)


def test_dynamic_parameters_apply_at_once_without_a_note(monkeypatch):
    run = Run(monkeypatch, **primary_args(parameters={"log_min_duration_statement": 250}))
    stub_converged_reads(run)
    run.add("modify_db_parameter_group", {"DBParameterGroupName": GROUP}, {"DBParameterGroupName": GROUP, "Parameters": [
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "250", "ApplyMethod": "immediate"}]})
    run.present()
    assert [c.get("note") for c in run.changes] == [None]


def test_a_parameter_dropped_from_the_set_is_reset_to_the_engine_default(monkeypatch):
    run = Run(monkeypatch, **PRIMARY_ARGS)
    stub_converged_reads(run, group_parameters=parameters(dict(DEFAULT_PARAMETERS, work_mem="64MB", max_connections="500"),
                                                          static=("shared_preload_libraries", "max_connections")))
    run.add("reset_db_parameter_group", {"DBParameterGroupName": GROUP}, {
        "DBParameterGroupName": GROUP, "ResetAllParameters": False, "Parameters": [
            {"ParameterName": "max_connections", "ApplyMethod": "pending-reboot"},
            {"ParameterName": "work_mem", "ApplyMethod": "immediate"}]})
    run.present()
    assert [(c["fields"]["parameters"]["after"], c.get("note")) for c in run.changes] == [
        ({"work_mem": None}, None), ({"max_connections": None}, NOTE_STATIC.format("max_connections"))]


# ---- Performance Insights (moto never reports it) ----------------------------------------------------
def test_performance_insights_off_in_aws_is_turned_on_with_key_and_retention(monkeypatch):
    run = Run(monkeypatch, **primary_args(performance_insights={"kms_key_id": RDS_KEY, "retention_days": 93}))
    off = primary(PerformanceInsightsEnabled=False)
    del off["PerformanceInsightsKMSKeyId"], off["PerformanceInsightsRetentionPeriod"]
    stub_converged_reads(run, [off])
    run.add("modify_db_instance", {"DBInstance": primary(PerformanceInsightsRetentionPeriod=93)}, {
        "DBInstanceIdentifier": IDENTIFIER, "EnablePerformanceInsights": True, "PerformanceInsightsKMSKeyId": RDS_KEY,
        "PerformanceInsightsRetentionPeriod": 93, "ApplyImmediately": False})
    run.present()
    assert run.changes[0]["fields"] == {"performance_insights": {
        "before": {"enabled": False, "retention_days": None, "kms_key_id": None},
        "after": {"enabled": True, "retention_days": 93, "kms_key_id": RDS_KEY}}}
    assert "note" not in run.changes[0]  # Performance Insights changes ignore ApplyImmediately


def test_converged_primary_with_performance_insights_is_left_alone(monkeypatch):
    run = Run(monkeypatch, check_mode=True, **PRIMARY_ARGS)
    stub_converged_reads(run)
    data = run.present()
    assert run.changes == [] and data["master_user_secret_arn"] == SECRET_ARN


# ---- the cross-region replica of the DR stack --------------------------------------------------------
def dr_replica(**overrides):
    item = primary(
        DBInstanceIdentifier=DR_IDENTIFIER, DBInstanceArn=DR_ARN, KmsKeyId=DR_KEY, ReadReplicaSourceDBInstanceIdentifier=ARN,
        VpcSecurityGroups=[{"VpcSecurityGroupId": DR_SECURITY_GROUP, "Status": "active"}], MonitoringRoleArn=DR_ROLE,
        PerformanceInsightsKMSKeyId=DR_KEY, DBName=None, DBSubnetGroup={"DBSubnetGroupName": DR_IDENTIFIER},
        DBParameterGroups=[{"DBParameterGroupName": "default.postgres16", "ParameterApplyStatus": "in-sync"}],
        TagList=tag_list("prod-us-west-2", DR_IDENTIFIER, "cross-region-replica"))
    del item["DBName"], item["MasterUserSecret"]
    item.update(overrides)
    return item


def test_cross_region_replica_request_names_its_own_subnet_group_key_and_source_region(monkeypatch):
    run = Run(monkeypatch, **DR_ARGS)
    stub_reads(run, [], identifier=DR_IDENTIFIER, stack="prod-us-west-2", region="us-west-2")
    subnet_group_arn = "arn:aws:rds:us-west-2:{0}:subgrp:{1}".format(ACCOUNT, DR_IDENTIFIER)
    run.add("create_db_subnet_group", {"DBSubnetGroup": {
        "DBSubnetGroupName": DR_IDENTIFIER, "DBSubnetGroupArn": subnet_group_arn, "VpcId": "vpc-0dr",
        "Subnets": [{"SubnetIdentifier": s} for s in DR_SUBNETS]}}, {
        "DBSubnetGroupName": DR_IDENTIFIER, "DBSubnetGroupDescription": "cairn.platform: database subnets of " + DR_IDENTIFIER,
        "SubnetIds": sorted(DR_SUBNETS), "Tags": tag_list("prod-us-west-2", DR_IDENTIFIER)})
    run.add("create_db_parameter_group", {"DBParameterGroup": {
        "DBParameterGroupName": DR_GROUP, "DBParameterGroupArn": "arn:aws:rds:us-west-2:{0}:pg:{1}".format(ACCOUNT, DR_GROUP)}}, {
        "DBParameterGroupName": DR_GROUP, "DBParameterGroupFamily": "postgres16",
        "Description": "cairn.platform: PostgreSQL 16 parameters of " + DR_IDENTIFIER, "Tags": tag_list("prod-us-west-2", DR_GROUP)})
    run.add("modify_db_parameter_group", {"DBParameterGroupName": DR_GROUP}, {"DBParameterGroupName": DR_GROUP, "Parameters": [
        {"ParameterName": name, "ParameterValue": DEFAULT_PARAMETERS[name],
         "ApplyMethod": "pending-reboot" if name == "shared_preload_libraries" else "immediate"} for name in sorted(DEFAULT_PARAMETERS)]})
    creating = dr_replica(DBInstanceStatus="creating")
    run.add("create_db_instance_read_replica", {"DBInstance": creating}, {
        "DBInstanceIdentifier": DR_IDENTIFIER,
        "SourceDBInstanceIdentifier": ARN,
        "SourceRegion": "us-east-1",
        "KmsKeyId": DR_KEY,
        "DBSubnetGroupName": DR_IDENTIFIER,
        # No DBParameterGroupName: CreateDBInstanceReadReplica takes none for a PostgreSQL replica.
        "DBInstanceClass": "db.r6g.large", "MultiAZ": True, "StorageType": "gp3", "PubliclyAccessible": False,
        "AutoMinorVersionUpgrade": True, "CopyTagsToSnapshot": True, "DeletionProtection": True,
        "EnableIAMDatabaseAuthentication": False, "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
        "CACertificateIdentifier": "rds-ca-rsa2048-g1", "MonitoringInterval": 60, "MonitoringRoleArn": DR_ROLE,
        "MaxAllocatedStorage": 400, "VpcSecurityGroupIds": [DR_SECURITY_GROUP], "EnablePerformanceInsights": True,
        "PerformanceInsightsRetentionPeriod": 7, "PerformanceInsightsKMSKeyId": DR_KEY,
        "Tags": tag_list("prod-us-west-2", DR_IDENTIFIER, "cross-region-replica"),
    })
    run.add("describe_db_instances", {"DBInstances": [dr_replica()]}, {"DBInstanceIdentifier": DR_IDENTIFIER})  # the waiter
    run.add("describe_db_instances", {"DBInstances": [dr_replica()]}, {"DBInstanceIdentifier": DR_IDENTIFIER})
    attached = dr_replica(DBParameterGroups=[{"DBParameterGroupName": DR_GROUP, "ParameterApplyStatus": "pending-reboot"}])
    run.add("modify_db_instance", {"DBInstance": attached},
            {"DBInstanceIdentifier": DR_IDENTIFIER, "DBParameterGroupName": DR_GROUP, "ApplyImmediately": False})
    data = run.present()
    assert run.keys() == [("create", "db_subnet_group", DR_IDENTIFIER), ("create", "db_parameter_group", DR_GROUP),
                          ("create", "db_instance", DR_IDENTIFIER), ("update", "db_instance", DR_IDENTIFIER)]
    assert run.changes[2]["note"] == "cross-region read replica of " + ARN
    assert run.changes[3]["note"] == NOTE_GROUP.format(DR_GROUP)
    assert data["db_instance"]["read_replica_source"] == ARN and data["db_instance"]["kms_key_id"] == DR_KEY
    assert data["db_instance"]["pending_reboot"] is True
    assert data["master_user_secret_arn"] is None


def test_check_mode_plans_the_cross_region_replica_without_a_write(monkeypatch):
    run = Run(monkeypatch, check_mode=True, **DR_ARGS)
    stub_reads(run, [], identifier=DR_IDENTIFIER, stack="prod-us-west-2", region="us-west-2")
    run.present()
    assert run.keys() == [("create", "db_subnet_group", DR_IDENTIFIER), ("create", "db_parameter_group", DR_GROUP),
                          ("create", "db_instance", DR_IDENTIFIER), ("update", "db_instance", DR_IDENTIFIER)]


def test_a_converged_cross_region_replica_makes_no_call(monkeypatch):
    run = Run(monkeypatch, **DR_ARGS)
    replica = dr_replica(DBParameterGroups=[{"DBParameterGroupName": DR_GROUP, "ParameterApplyStatus": "in-sync"}],
                         EngineVersion="16.10", AllocatedStorage=150, BackupRetentionPeriod=1)
    stub_reads(run, [replica], identifier=DR_IDENTIFIER, stack="prod-us-west-2", region="us-west-2",
               family_groups=[(DR_GROUP, "postgres16")], subnet_ids=DR_SUBNETS)
    run.present()
    assert run.changes == []


def test_the_dr_replica_is_deleted_without_a_final_snapshot(monkeypatch):
    run = Run(monkeypatch, environment="prod", stack="prod-us-west-2", region="us-west-2", state="absent",
              force_disable_deletion_protection=True)
    stub_reads(run, [dr_replica()], identifier=DR_IDENTIFIER, stack="prod-us-west-2", region="us-west-2",
               family_groups=[(DR_GROUP, "postgres16")], subnet_ids=DR_SUBNETS)
    run.add("modify_db_instance", {"DBInstance": dr_replica(DeletionProtection=False)},
            {"DBInstanceIdentifier": DR_IDENTIFIER, "DeletionProtection": False, "ApplyImmediately": True})
    run.add("delete_db_instance", {"DBInstance": dr_replica(DBInstanceStatus="deleting")},
            {"DBInstanceIdentifier": DR_IDENTIFIER, "SkipFinalSnapshot": True})
    run.stubber.add_client_error("describe_db_instances", service_error_code="DBInstanceNotFound", http_status_code=404,
                                 expected_params={"DBInstanceIdentifier": DR_IDENTIFIER})  # the waiter: gone
    run.add("delete_db_parameter_group", {}, {"DBParameterGroupName": DR_GROUP})
    run.add("delete_db_subnet_group", {}, {"DBSubnetGroupName": DR_IDENTIFIER})
    data = run.absent()
    assert run.keys() == [("update", "db_instance", DR_IDENTIFIER), ("delete", "db_instance", DR_IDENTIFIER),
                          ("delete", "db_parameter_group", DR_GROUP), ("delete", "db_subnet_group", DR_IDENTIFIER)]
    assert run.changes[1]["note"] == NOTE_REPLICA_DELETE
    assert "final_snapshot_identifier" not in data


def test_the_primary_is_deleted_with_a_final_snapshot_and_its_backups_kept(monkeypatch):
    run = Run(monkeypatch, environment="prod", stack="prod-us-east-1", region="us-east-1", state="absent")
    stub_reads(run, [primary(DeletionProtection=False, ReadReplicaDBInstanceIdentifiers=[DR_ARN])],
               family_groups=[(GROUP, "postgres16")], subnet_ids=SUBNETS)
    run.add("delete_db_instance", {"DBInstance": primary(DBInstanceStatus="deleting")}, {
        "DBInstanceIdentifier": IDENTIFIER, "SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": ANY,
        "DeleteAutomatedBackups": False})
    run.stubber.add_client_error("describe_db_instances", service_error_code="DBInstanceNotFound", http_status_code=404,
                                 expected_params={"DBInstanceIdentifier": IDENTIFIER})
    run.add("delete_db_parameter_group", {}, {"DBParameterGroupName": GROUP})
    run.add("delete_db_subnet_group", {}, {"DBSubnetGroupName": IDENTIFIER})
    data = run.absent()
    assert data["final_snapshot_identifier"].startswith(IDENTIFIER + "-final-")
    note = run.changes[0]["note"]
    assert note.startswith("final snapshot " + data["final_snapshot_identifier"]) and DR_ARN in note

"""End to end: the data tier of site.yml on the local inventory (primary us-east-1, DR us-west-2).

The whole tier is created in one run, including the DR stack's cross-region database replica and
the replication of uploads and backups; the generated secrets never reach the output; the
inventory's replica count goes 1 -> 2 -> 1 through the playbook. Resources are checked as AWS
(the emulator) reports them, calls with the emulator's recorder.
"""

from __future__ import annotations

import pytest

from support.emulator import mutating_calls
from test_site_playbook import playbook

PRIMARY, DR = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def converged(emulator, tmp_path_factory):
    """One converge of the local inventory (with --diff and -v, so anything printable is printed)."""
    emulator.reset()
    output, applied = playbook(emulator, tmp_path_factory.mktemp("converge"), "--diff", "-v")
    return output, applied


@pytest.fixture
def aws(emulator, converged, recorded_env):
    import boto3

    return lambda service, region=PRIMARY: boto3.client(service, region_name=region)


def kms_alias_target(aws, region, alias):
    aliases = aws("kms", region).list_aliases()["Aliases"]
    return next(a["TargetKeyId"] for a in aliases if a["AliasName"] == alias)


def test_the_run_creates_every_data_store_of_both_stacks(converged):
    kinds = {(host, kind) for host, _action, kind, _name in converged[1]}
    for kind in ("s3_bucket", "db_instance", "db_subnet_group", "db_parameter_group", "replication_group",
                 "cache_subnet_group", "cache_parameter_group", "ssm_parameter"):
        assert ("local-us-east-1", kind) in kinds and ("local-us-west-2", kind) in kinds, kind
    assert ("local-us-east-1", "db_read_replica") in kinds
    assert ("local-us-west-2", "db_read_replica") not in kinds  # the DR stack's instance is itself the replica


def test_primary_database_and_its_same_region_replica(aws):
    instances = {d["DBInstanceIdentifier"]: d for d in aws("rds").describe_db_instances()["DBInstances"]}
    writer = instances["local-us-east-1-postgres"]
    assert writer["MultiAZ"] and writer["StorageEncrypted"] and writer["DeletionProtection"] is False
    assert writer["BackupRetentionPeriod"] == 35 and writer["MaxAllocatedStorage"] == 100
    assert writer["PerformanceInsightsEnabled"] and writer["MonitoringInterval"] == 60
    assert writer["EnabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert writer["DBSubnetGroup"]["DBSubnetGroupName"] == "local-us-east-1-postgres"
    assert writer["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:us-east-1:")
    rds_key = kms_alias_target(aws, PRIMARY, "alias/cairn/local/local-us-east-1/rds")
    assert writer["KmsKeyId"].endswith(rds_key)
    replica = instances["local-us-east-1-postgres-replica-1"]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == "local-us-east-1-postgres"
    parameters = {p["ParameterName"]: p.get("ParameterValue") for p in aws("rds").describe_db_parameters(
        DBParameterGroupName=writer["DBParameterGroups"][0]["DBParameterGroupName"])["Parameters"]}
    assert parameters["rds.force_ssl"] == "1" and "pgaudit" in parameters["shared_preload_libraries"]


def test_dr_stack_holds_a_cross_region_replica_with_its_own_key_and_subnet_group(aws):
    writer_arn = aws("rds").describe_db_instances(DBInstanceIdentifier="local-us-east-1-postgres")["DBInstances"][0]["DBInstanceArn"]
    replica = aws("rds", DR).describe_db_instances(DBInstanceIdentifier="local-us-west-2-postgres")["DBInstances"][0]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == writer_arn
    assert replica["DBSubnetGroup"]["DBSubnetGroupName"] == "local-us-west-2-postgres"
    dr_key = kms_alias_target(aws, DR, "alias/cairn/local/local-us-west-2/rds")
    assert replica["KmsKeyId"].startswith("arn:aws:kms:us-west-2:") and replica["KmsKeyId"].endswith(dr_key)


def test_uploads_and_backups_replicate_to_the_dr_stack_with_its_key(aws):
    s3 = aws("s3")
    account = aws("sts").get_caller_identity()["Account"]
    prefix = "cairn-local-{0}".format(account)
    dr_s3_key = aws("kms", DR).describe_key(KeyId="alias/cairn/local/local-us-west-2/s3")["KeyMetadata"]["Arn"]
    for purpose in ("uploads", "backups"):
        rules = s3.get_bucket_replication(Bucket="{0}-{1}-{2}".format(prefix, PRIMARY, purpose))["ReplicationConfiguration"]["Rules"]
        assert [rule["Destination"]["Bucket"] for rule in rules] == ["arn:aws:s3:::{0}-{1}-{2}".format(prefix, DR, purpose)]
        assert rules[0]["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == dr_s3_key
        destination = "{0}-{1}-{2}".format(prefix, DR, purpose)
        assert s3.get_bucket_versioning(Bucket=destination)["Status"] == "Enabled"
    for bucket in ("{0}-{1}-assets".format(prefix, PRIMARY), "{0}-{1}-uploads".format(prefix, DR)):
        with pytest.raises(s3.exceptions.ClientError):
            s3.get_bucket_replication(Bucket=bucket)
    logs_rules = s3.get_bucket_lifecycle_configuration(Bucket="{0}-{1}-logs".format(prefix, PRIMARY))["Rules"]
    archive = next(rule for rule in logs_rules if rule["ID"] == "archive-access-logs")
    assert [t["StorageClass"] for t in archive["Transitions"]] == ["GLACIER", "DEEP_ARCHIVE"]
    assert s3.get_bucket_logging(Bucket="{0}-{1}-uploads".format(prefix, PRIMARY))["LoggingEnabled"]["TargetBucket"] == \
        "{0}-{1}-logs".format(prefix, PRIMARY)


def test_redis_cluster_mode_with_auth_and_encryption(aws):
    for region, stack in ((PRIMARY, "local-us-east-1"), (DR, "local-us-west-2")):
        group = aws("elasticache", region).describe_replication_groups(ReplicationGroupId=stack + "-redis")["ReplicationGroups"][0]
        assert group["ClusterMode"] == "enabled" and group["AutomaticFailover"] == "enabled"
        assert group["AtRestEncryptionEnabled"] and group["TransitEncryptionEnabled"] and group["AuthTokenEnabled"]
        assert len(group["NodeGroups"]) == 2


def test_wiring_is_published_under_one_path_per_stack(aws):
    for region, role in ((PRIMARY, "writer"), (DR, "replica")):
        path = "/cairn/local/{0}/".format(region)
        pages = aws("ssm", region).get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
        published = {p["Name"][len(path):]: p["Value"] for page in pages for p in page["Parameters"]}
        assert published["rds/role"] == role and published["rds/port"] == "5432"
        assert published["redis/port"] == "6379" and published["redis/auth-secret-arn"].startswith("arn:aws:secretsmanager:" + region)
        endpoint = aws("rds", region).describe_db_instances(
            DBInstanceIdentifier="local-{0}-postgres".format(region))["DBInstances"][0]["Endpoint"]["Address"]
        assert published["rds/endpoint"] == endpoint
        assert set(published) >= {"s3/uploads-bucket", "s3/assets-bucket", "s3/logs-bucket", "s3/backups-bucket",
                                  "redis/configuration-endpoint", "rds/identifier"}
        assert ("rds/master-secret-arn" in published) == (role == "writer")
    assert "rds/reader-endpoints" in {p["Name"].rsplit("/", 2)[-2] + "/" + p["Name"].rsplit("/", 1)[-1]
                                      for p in aws("ssm").get_parameters_by_path(Path="/cairn/local/us-east-1/rds/")["Parameters"]}


def test_audit_trail_records_data_events_of_uploads_and_backups(aws):
    selectors = aws("cloudtrail").get_event_selectors(TrailName="cairn-local-audit")["AdvancedEventSelectors"]
    arns = [value for selector in selectors for field in selector["FieldSelectors"]
            if field["Field"] == "resources.ARN" for value in field["StartsWith"]]
    assert sorted(arn.rsplit("-", 1)[-1] for arn in arns) == ["backups/", "backups/", "uploads/", "uploads/"]


def test_generated_secrets_never_reach_the_output(aws, converged):
    output = converged[0]
    secrets = aws("secretsmanager")
    writer = aws("rds").describe_db_instances(DBInstanceIdentifier="local-us-east-1-postgres")["DBInstances"][0]
    values = [secrets.get_secret_value(SecretId=writer["MasterUserSecret"]["SecretArn"])["SecretString"]]
    for region in (PRIMARY, DR):
        values.append(aws("secretsmanager", region).get_secret_value(
            SecretId="/cairn/local/local-{0}/redis/auth".format(region))["SecretString"])
    import json

    for value in values:
        for candidate in [value] + [v for v in (json.loads(value).values() if value.startswith("{") else []) if isinstance(v, str)]:
            if len(candidate) >= 16:  # passwords and tokens, not user names
                assert candidate not in output


def test_same_region_replicas_follow_the_inventory_count(emulator, aws, tmp_path):
    def replicas():
        return sorted(d["DBInstanceIdentifier"] for d in aws("rds").describe_db_instances()["DBInstances"]
                      if d.get("ReadReplicaSourceDBInstanceIdentifier") == "local-us-east-1-postgres")

    assert replicas() == ["local-us-east-1-postgres-replica-1"]
    planned = playbook(emulator, tmp_path, "--check", "-e", "data_rds_read_replica_count=2")[1]
    assert [c for c in planned if c[2] == "db_read_replica"] == [
        ("local-us-east-1", "create", "db_read_replica", "local-us-east-1-postgres-replica-2")]
    playbook(emulator, tmp_path, "-e", "data_rds_read_replica_count=2")
    assert replicas() == ["local-us-east-1-postgres-replica-1", "local-us-east-1-postgres-replica-2"]
    applied = playbook(emulator, tmp_path, "-e", "data_rds_read_replica_count=1")[1]
    assert [c for c in applied if c[2] == "db_read_replica"] == [
        ("local-us-east-1", "delete", "db_read_replica", "local-us-east-1-postgres-replica-2")]
    assert replicas() == ["local-us-east-1-postgres-replica-1"]
    with emulator.recording() as calls:
        rerun = playbook(emulator, tmp_path)[1]
    assert rerun == [] and mutating_calls(calls) == []

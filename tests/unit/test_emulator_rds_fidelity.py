"""The emulator's RDS fidelity patches (emulator/rds_fidelity.py), checked with boto3 through the launcher.

Each test states what the RDS API reference says and that the emulator now answers so: Performance
Insights read back, a cross-region read replica built from its own region's resources, and the deletion
of a (cross-region) read replica. The guards that skip a patch when moto's internals move are checked in
a separate interpreter, so this test process's moto is never patched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from support.network import vpc_with_subnets
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
REGION, DR_REGION = "us-east-1", "us-west-2"


def rds(region=REGION):
    return boto3.client("rds", region_name=region)


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def make_region(region, prefix):
    kms = boto3.client("kms", region_name=region)
    vpc_id, subnets = vpc_with_subnets(region, prefix + ".0.0/16")
    return {"vpc_id": vpc_id, "subnet_ids": subnets, "key": kms.create_key(Description="rds")["KeyMetadata"]["Arn"]}


@pytest.fixture(scope="module")
def regions(emulator):
    """VPCs, subnets and keys of both regions, made once (moto spends seconds bootstrapping EC2 per region)."""
    with pytest.MonkeyPatch.context() as patch:
        emulator.reset()
        patch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", REGION), ("AWS_CONFIG_FILE", "/dev/null"),
                            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")):
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
            patch.delenv(name, raising=False)
        yield {REGION: make_region(REGION, "10.70"), DR_REGION: make_region(DR_REGION, "10.71")}
    emulator.reset()


@pytest.fixture
def env(regions, emulator):
    """No RDS resource in either region; replicas go first, across regions too (the patch under test)."""
    for region in (DR_REGION, REGION):
        client = rds(region)
        for item in sorted(client.describe_db_instances()["DBInstances"], key=lambda i: not i.get("ReadReplicaSourceDBInstanceIdentifier")):
            client.delete_db_instance(DBInstanceIdentifier=item["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    for region in (DR_REGION, REGION):
        client = rds(region)
        for group in client.describe_db_parameter_groups()["DBParameterGroups"]:
            if not group["DBParameterGroupName"].startswith("default."):
                client.delete_db_parameter_group(DBParameterGroupName=group["DBParameterGroupName"])
        for group in client.describe_db_subnet_groups()["DBSubnetGroups"]:
            client.delete_db_subnet_group(DBSubnetGroupName=group["DBSubnetGroupName"])
    return regions


def primary(env, name="primary", parameter_group=None, **kwargs):
    client = rds()
    client.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="primary", SubnetIds=env[REGION]["subnet_ids"])
    extra = {"DBParameterGroupName": parameter_group} if parameter_group else {}
    if parameter_group:
        client.create_db_parameter_group(DBParameterGroupName=parameter_group, DBParameterGroupFamily="postgres16", Description="pg")
    return client.create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.9", DBInstanceClass="db.r6g.large",
        AllocatedStorage=100, MasterUsername="admin_user", ManageMasterUserPassword=True, DBSubnetGroupName=name,
        StorageEncrypted=True, KmsKeyId=env[REGION]["key"], BackupRetentionPeriod=7, **extra, **kwargs)["DBInstance"]


def insights(instance):
    return {key: value for key, value in instance.items() if key.startswith("PerformanceInsights")}


def test_the_launcher_applied_every_patch(emulator):
    assert "rds_fidelity: skipped" not in emulator.log_path.read_text(errors="replace")


# ---- performance-insights -----------------------------------------------------------------------
def test_performance_insights_given_on_create_is_reported(env):
    created = primary(env, EnablePerformanceInsights=True, PerformanceInsightsKMSKeyId=env[REGION]["key"],
                      PerformanceInsightsRetentionPeriod=31)
    expected = {"PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": env[REGION]["key"],
                "PerformanceInsightsRetentionPeriod": 31}
    assert insights(created) == expected
    assert insights(rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]) == expected


def test_performance_insights_defaults_to_the_aws_rds_key_and_seven_days(env):
    created = primary(env, EnablePerformanceInsights=True)
    default_key = boto3.client("kms", region_name=REGION).describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert insights(created) == {"PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": default_key,
                                 "PerformanceInsightsRetentionPeriod": 7}


def test_performance_insights_off_reports_false_only(env):
    assert insights(primary(env)) == {"PerformanceInsightsEnabled": False}


def test_modify_changes_what_it_names_and_keeps_the_rest(env):
    primary(env, EnablePerformanceInsights=True, PerformanceInsightsKMSKeyId=env[REGION]["key"])
    client = rds()
    modified = client.modify_db_instance(DBInstanceIdentifier="primary", PerformanceInsightsRetentionPeriod=62,
                                         ApplyImmediately=False)["DBInstance"]
    assert insights(modified) == {"PerformanceInsightsEnabled": True, "PerformanceInsightsKMSKeyId": env[REGION]["key"],
                                  "PerformanceInsightsRetentionPeriod": 62}
    client.modify_db_instance(DBInstanceIdentifier="primary", AllocatedStorage=150, ApplyImmediately=True)  # no PI keys
    assert insights(client.describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0])["PerformanceInsightsRetentionPeriod"] == 62
    off = client.modify_db_instance(DBInstanceIdentifier="primary", EnablePerformanceInsights=False)["DBInstance"]
    assert insights(off) == {"PerformanceInsightsEnabled": False}
    on_again = client.modify_db_instance(DBInstanceIdentifier="primary", EnablePerformanceInsights=True)["DBInstance"]
    assert on_again["PerformanceInsightsRetentionPeriod"] == 7
    assert on_again["PerformanceInsightsKMSKeyId"] != env[REGION]["key"]  # the default key again, as on a first enable


def test_invalid_retention_and_unknown_keys_are_refused_before_anything_changes(env):
    client = rds()
    for bad, code in ((dict(PerformanceInsightsRetentionPeriod=30), "InvalidParameterValue"),
                      (dict(PerformanceInsightsRetentionPeriod=744), "InvalidParameterValue"),
                      (dict(PerformanceInsightsKMSKeyId="alias/no-such-key"), "KMSKeyNotAccessibleFault"),
                      (dict(PerformanceInsightsKMSKeyId=env[DR_REGION]["key"]), "KMSKeyNotAccessibleFault")):
        with pytest.raises(ClientError) as refused:
            primary(env, name="refused", EnablePerformanceInsights=True, **bad)
        assert error_of(refused)[0] == code, bad
        client.delete_db_subnet_group(DBSubnetGroupName="refused")
    assert client.describe_db_instances()["DBInstances"] == []
    assert boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"] == []  # refused before any side effect
    primary(env, EnablePerformanceInsights=True)
    with pytest.raises(ClientError) as bad_retention:
        client.modify_db_instance(DBInstanceIdentifier="primary", PerformanceInsightsRetentionPeriod=94, BackupRetentionPeriod=14)
    assert error_of(bad_retention) == ("InvalidParameterValue", 400)
    unchanged = client.describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]
    assert (unchanged["PerformanceInsightsRetentionPeriod"], unchanged["BackupRetentionPeriod"]) == (7, 7)


def test_a_read_replica_has_its_own_performance_insights(env):
    primary(env, EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=31)
    client = rds()
    plain = client.create_db_instance_read_replica(DBInstanceIdentifier="replica-1", SourceDBInstanceIdentifier="primary")["DBInstance"]
    assert insights(plain) == {"PerformanceInsightsEnabled": False}
    watched = client.create_db_instance_read_replica(DBInstanceIdentifier="replica-2", SourceDBInstanceIdentifier="primary",
                                                     EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=93)["DBInstance"]
    assert (watched["PerformanceInsightsEnabled"], watched["PerformanceInsightsRetentionPeriod"]) == (True, 93)
    assert client.describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["PerformanceInsightsRetentionPeriod"] == 31


# ---- cross-region-replica -----------------------------------------------------------------------
def cross_region_replica(env, source_arn, **kwargs):
    dr = rds(DR_REGION)
    dr.create_db_subnet_group(DBSubnetGroupName="dr", DBSubnetGroupDescription="dr", SubnetIds=env[DR_REGION]["subnet_ids"])
    return dr.create_db_instance_read_replica(
        DBInstanceIdentifier="dr-replica", SourceDBInstanceIdentifier=source_arn, SourceRegion=REGION,
        DBSubnetGroupName="dr", KmsKeyId=env[DR_REGION]["key"], DBInstanceClass="db.r6g.large", **kwargs)["DBInstance"]


def test_a_cross_region_replica_uses_its_own_region_and_the_default_parameter_group(env):
    source = primary(env, parameter_group="custom-pg16")
    replica = cross_region_replica(env, source["DBInstanceArn"])
    assert replica["DBInstanceArn"] == "arn:aws:rds:us-west-2:123456789012:db:dr-replica"
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    assert (replica["DBSubnetGroup"]["DBSubnetGroupName"], replica["DBSubnetGroup"]["VpcId"]) == ("dr", env[DR_REGION]["vpc_id"])
    assert replica["KmsKeyId"] == env[DR_REGION]["key"]
    assert replica["AvailabilityZone"].startswith(DR_REGION)
    # "the default DBParameterGroup for the specified DB engine for a cross-Region read replica"
    assert [g["DBParameterGroupName"] for g in replica["DBParameterGroups"]] == ["default.postgres16"]
    described = rds(DR_REGION).describe_db_instances(DBInstanceIdentifier="dr-replica")["DBInstances"][0]
    assert described["DBParameterGroups"][0]["DBParameterGroupName"] == "default.postgres16"
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"] == [
        replica["DBInstanceArn"]]
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["DBParameterGroups"][0][
        "DBParameterGroupName"] == "custom-pg16"

    # A group of its own region can be attached afterwards.
    rds(DR_REGION).create_db_parameter_group(DBParameterGroupName="dr-pg16", DBParameterGroupFamily="postgres16", Description="dr")
    attached = rds(DR_REGION).modify_db_instance(DBInstanceIdentifier="dr-replica", DBParameterGroupName="dr-pg16",
                                                 ApplyImmediately=False)["DBInstance"]
    assert attached["DBParameterGroups"][0]["DBParameterGroupName"] == "dr-pg16"


def test_a_cross_region_replica_refuses_resources_of_the_source_region(env):
    source = primary(env)
    dr = rds(DR_REGION)
    with pytest.raises(ClientError) as subnet_group:  # "primary" exists in us-east-1 only
        dr.create_db_instance_read_replica(DBInstanceIdentifier="dr-replica", SourceDBInstanceIdentifier=source["DBInstanceArn"],
                                           SourceRegion=REGION, DBSubnetGroupName="primary", KmsKeyId=env[DR_REGION]["key"])
    assert error_of(subnet_group)[0] == "DBSubnetGroupNotFoundFault"
    dr.create_db_subnet_group(DBSubnetGroupName="dr", DBSubnetGroupDescription="dr", SubnetIds=env[DR_REGION]["subnet_ids"])
    with pytest.raises(ClientError) as key:  # KMS keys are regional: the replica needs one of its own region
        dr.create_db_instance_read_replica(DBInstanceIdentifier="dr-replica", SourceDBInstanceIdentifier=source["DBInstanceArn"],
                                           SourceRegion=REGION, DBSubnetGroupName="dr", KmsKeyId=env[REGION]["key"])
    assert error_of(key)[0] == "KMSKeyNotAccessibleFault"
    assert dr.describe_db_instances()["DBInstances"] == []
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"] == []


# ---- replica-delete -----------------------------------------------------------------------------
def secret_exists(arn):
    try:
        boto3.client("secretsmanager", region_name=REGION).describe_secret(SecretId=arn)
    except ClientError:
        return False
    return True


def test_deleting_a_cross_region_replica_unlinks_it_and_keeps_the_source_secret(env):
    source = primary(env)
    secret = source["MasterUserSecret"]["SecretArn"]
    cross_region_replica(env, source["DBInstanceArn"])
    deleted = rds(DR_REGION).delete_db_instance(DBInstanceIdentifier="dr-replica", SkipFinalSnapshot=True)["DBInstance"]
    assert deleted["DBInstanceIdentifier"] == "dr-replica"
    assert rds(DR_REGION).describe_db_instances()["DBInstances"] == []
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"] == []
    assert secret_exists(secret)


def test_deleting_a_same_region_replica_keeps_the_source_secret(env):
    source = primary(env)
    rds().create_db_instance_read_replica(DBInstanceIdentifier="replica-1", SourceDBInstanceIdentifier="primary")
    rds().delete_db_instance(DBInstanceIdentifier="replica-1", SkipFinalSnapshot=True)
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"] == []
    assert secret_exists(source["MasterUserSecret"]["SecretArn"])
    deleted = rds().delete_db_instance(DBInstanceIdentifier="primary", SkipFinalSnapshot=True)["DBInstance"]
    assert deleted["DBInstanceIdentifier"] == "primary"
    assert not secret_exists(source["MasterUserSecret"]["SecretArn"])  # the source's own deletion still takes it


def test_a_replica_whose_source_is_gone_can_be_deleted(env):
    source = primary(env)
    cross_region_replica(env, source["DBInstanceArn"])
    rds().delete_db_instance(DBInstanceIdentifier="primary", SkipFinalSnapshot=True)
    rds(DR_REGION).delete_db_instance(DBInstanceIdentifier="dr-replica", SkipFinalSnapshot=True)
    assert rds(DR_REGION).describe_db_instances()["DBInstances"] == []


def test_a_refused_replica_delete_changes_nothing(env):
    source = primary(env)
    rds().create_db_instance_read_replica(DBInstanceIdentifier="replica-1", SourceDBInstanceIdentifier="primary", DeletionProtection=True)
    with pytest.raises(ClientError) as protected:
        rds().delete_db_instance(DBInstanceIdentifier="replica-1", SkipFinalSnapshot=True)
    assert error_of(protected)[0] == "InvalidParameterCombination"
    rds().modify_db_instance(DBInstanceIdentifier="replica-1", DeletionProtection=False, ApplyImmediately=True)
    rds().delete_db_instance(DBInstanceIdentifier="replica-1", SkipFinalSnapshot=True)
    assert rds().describe_db_instances(DBInstanceIdentifier="primary")["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"] == []
    assert secret_exists(source["MasterUserSecret"]["SecretArn"])


# ---- guards -------------------------------------------------------------------------------------
def run_python(code):
    """A fresh interpreter with the repo importable: patches never touch this test process's moto."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_apply_twice_patches_once():
    done = run_python("from emulator import rds_fidelity\n"
                      "from moto.rds import models\n"
                      "print(rds_fidelity.apply(), rds_fidelity.apply())\n"
                      "print(models.DBInstance.update.__wrapped__.__name__, hasattr(models.DBInstance.update.__wrapped__, '__wrapped__'))\n")
    assert done.returncode == 0, done.stderr
    applied = "['performance-insights', 'cross-region-replica', 'replica-delete']"
    assert done.stdout.splitlines() == [f"{applied} {applied}", "update False"]
    assert done.stderr == ""


def test_a_moved_moto_internal_skips_that_patch_with_a_log_line():
    done = run_python("from moto.rds import models\n"
                      "del models.DBInstance.remove_replica\n"
                      "models.RDSBackend.create_db_instance_read_replica = lambda self, kwargs: None\n"
                      "from emulator import rds_fidelity\n"
                      "print(rds_fidelity.apply())\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['performance-insights']"
    assert "rds_fidelity: skipped cross-region-replica: " in done.stderr
    assert "rds_fidelity: skipped replica-delete: DBInstance.remove_replica(replica) is not as expected" in done.stderr

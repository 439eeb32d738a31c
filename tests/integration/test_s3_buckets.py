"""The s3_buckets module against the local emulator: create, read back, rerun, check mode, drift, delete, bad input.

Calls are counted by the emulator's recorder, from outside the module. The emulator evaluates a
deny on aws:SecureTransport for every object call, so no test writes objects into a TLS-only
bucket: the TLS-only policy is read back instead, and the delete tests use tls_only: false.

Replication: the emulator stores the configuration and copies nothing. moto alone answers every
rule with an empty prefix filter, delete marker replication Disabled and no SourceSelectionCriteria;
emulator/s3_fidelity.py makes it answer what was stored, as S3 does. S3's own answers are also
covered in tests/unit/test_s3_buckets_replication.py.
"""

from __future__ import annotations

import json

import boto3
import pytest

from support.emulator import count_by_operation, mutating_calls
from support.modules import ModuleFailed, run_module

from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN

STACK = dict(environment="test", stack="test-us-east-1", tags={"owner": "platform"})
ACCESS_LOGS = "cairn-test-use1-access-logs"
AUDIT = "cairn-test-use1-audit"
UPLOADS = "cairn-test-use1-uploads"
ARCHIVE_RULE = dict(
    id="archive",
    transitions=[dict(days=30, storage_class="STANDARD_IA"), dict(days=90, storage_class="GLACIER"),
                 dict(days=180, storage_class="DEEP_ARCHIVE")],
    expiration_days=2557, noncurrent_expiration_days=30, abort_incomplete_multipart_days=7,
)
DR_UPLOADS = "cairn-test-usw2-uploads"
DR_ARCHIVE = "cairn-test-usw2-archive"
REPLICATION_ROLE = "arn:aws:iam::123456789012:role/cairn/test-us-east-1-s3-replication"
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
CLOUDTRAIL_STATEMENT = {
    "Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::" + AUDIT,
}


def s3(region="us-east-1"):
    return boto3.client("s3", region_name=region)


def plan_keys(result):
    return sorted((c["action"], c["resource_type"], c["resource"]) for c in result["changes"])


def changed_fields(result, bucket):
    return sorted({field for c in result["changes"] if c["resource"] == bucket for field in c["fields"]})


def statements_by_sid(bucket):
    return {s.get("Sid"): s for s in json.loads(s3().get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]}


@pytest.fixture
def kms_key(aws_env):
    return boto3.client("kms", region_name="us-east-1").create_key(Description="test logs")["KeyMetadata"]["Arn"]


@pytest.fixture
def args(kms_key):
    return dict(STACK, component="audit", buckets=[
        dict(name=ACCESS_LOGS, lifecycle_rules=[dict(id="expire", expiration_days=365, abort_incomplete_multipart_days=7)]),
        dict(name=AUDIT, kms_key_arn=kms_key, access_logging=dict(target_bucket=ACCESS_LOGS),
             object_lock=dict(mode="GOVERNANCE", days=1), extra_policy_statements=[CLOUDTRAIL_STATEMENT],
             lifecycle_rules=[ARCHIVE_RULE], tags={"data-class": "audit"}),
    ])


@pytest.fixture
def converged(aws_env, args):
    result = run_module("s3_buckets", args)
    assert result["changed"] is True
    return result


def test_check_mode_plans_every_create_writes_nothing_and_matches_the_real_run(aws_env, args):
    with aws_env.recording() as calls:
        planned = run_module("s3_buckets", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    assert s3().list_buckets()["Buckets"] == []
    assert planned["plan_summary"] == "2 to create, 0 to update, 0 to delete"
    assert planned["diff"]["after"]["s3_bucket/" + AUDIT]["object_lock"] == {
        "enabled": True, "retention": {"mode": "GOVERNANCE", "days": 1, "years": None}}

    with aws_env.recording() as calls:
        applied = run_module("s3_buckets", args)
    assert plan_keys(planned) == plan_keys(applied)
    assert planned["changes"] == applied["changes"]
    writes = count_by_operation(mutating_calls(calls))
    assert writes["s3:CreateBucket"] == 2 and writes["s3:PutBucketTagging"] == 2
    assert applied["bucket_arns"] == {ACCESS_LOGS: "arn:aws:s3:::" + ACCESS_LOGS, AUDIT: "arn:aws:s3:::" + AUDIT}


def test_create_sets_every_aspect_as_aws_reports_it_and_a_rerun_changes_nothing(aws_env, converged, args, kms_key):
    client = s3()
    assert client.get_bucket_versioning(Bucket=AUDIT)["Status"] == "Enabled"
    rule = client.get_bucket_encryption(Bucket=AUDIT)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}
    assert rule["BucketKeyEnabled"] is True
    sse_s3 = client.get_bucket_encryption(Bucket=ACCESS_LOGS)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse_s3["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    for bucket in (AUDIT, ACCESS_LOGS):
        assert client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        assert client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}]
        tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert tags["cairn:stack"] == "test-us-east-1" and tags["cairn:component"] == "audit"
        assert tags["cairn:managed-by"] == "cairn.platform" and tags["owner"] == "platform"

    # TLS only: deny without TLS and deny TLS older than 1.2.
    statements = statements_by_sid(AUDIT)
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOutdatedTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    assert sorted(statements["DenyOutdatedTls"]["Resource"]) == ["arn:aws:s3:::" + AUDIT, "arn:aws:s3:::" + AUDIT + "/*"]
    assert statements["CloudTrailAclCheck"] == CLOUDTRAIL_STATEMENT
    # The log target lets S3 log delivery write for the audit bucket of this account only.
    delivery = statements_by_sid(ACCESS_LOGS)["S3ServerAccessLogs1"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Resource"] == "arn:aws:s3:::{0}/{1}/*".format(ACCESS_LOGS, AUDIT)
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == ["arn:aws:s3:::" + AUDIT]
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"

    assert client.get_bucket_logging(Bucket=AUDIT)["LoggingEnabled"] == {"TargetBucket": ACCESS_LOGS, "TargetPrefix": AUDIT + "/"}
    assert "LoggingEnabled" not in client.get_bucket_logging(Bucket=ACCESS_LOGS)
    lock = client.get_object_lock_configuration(Bucket=AUDIT)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled" and lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert lock["Rule"]["DefaultRetention"]["Days"] == 1
    rules = client.get_bucket_lifecycle_configuration(Bucket=AUDIT)["Rules"]
    assert [(t["Days"], t["StorageClass"]) for t in rules[0]["Transitions"]] == [
        (30, "STANDARD_IA"), (90, "GLACIER"), (180, "DEEP_ARCHIVE")]
    assert rules[0]["Expiration"] == {"Days": 2557}
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}

    with aws_env.recording() as calls:
        rerun = run_module("s3_buckets", args)
    assert rerun["changed"] is False and rerun["changes"] == []
    assert mutating_calls(calls) == []
    # One HeadBucket, one GetBucketTagging and eight aspect reads per bucket, one GetCallerIdentity.
    assert len(calls) == 21, count_by_operation(calls)
    with aws_env.recording() as calls:
        checked = run_module("s3_buckets", args, check_mode=True)
    assert checked["changed"] is False and mutating_calls(calls) == []


def test_drift_is_reported_in_check_mode_and_repaired(aws_env, converged, args):
    client = s3()
    client.put_bucket_versioning(Bucket=AUDIT, VersioningConfiguration={"Status": "Suspended"})
    policy = json.loads(client.get_bucket_policy(Bucket=AUDIT)["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyOutdatedTls"]
    client.put_bucket_policy(Bucket=AUDIT, Policy=json.dumps(policy))
    client.delete_public_access_block(Bucket=ACCESS_LOGS)
    client.put_bucket_tagging(Bucket=ACCESS_LOGS, Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in {"cairn:environment": "test", "cairn:stack": "test-us-east-1",
                                            "cairn:component": "audit", "cairn:managed-by": "cairn.platform",
                                            "owner": "someone-else", "added-by-hand": "x"}.items()]})
    client.put_bucket_logging(Bucket=AUDIT, BucketLoggingStatus={})

    with aws_env.recording() as calls:
        planned = run_module("s3_buckets", args, check_mode=True)
    assert mutating_calls(calls) == []
    assert changed_fields(planned, AUDIT) == ["logging", "policy", "versioning"]
    assert changed_fields(planned, ACCESS_LOGS) == ["public_access_block", "tags"]
    versioning = next(c for c in planned["changes"] if "versioning" in c["fields"])
    assert versioning["fields"]["versioning"] == {"before": "Suspended", "after": "Enabled"}

    repaired = run_module("s3_buckets", args)
    assert repaired["changes"] == planned["changes"]
    assert client.get_bucket_versioning(Bucket=AUDIT)["Status"] == "Enabled"
    assert "DenyOutdatedTls" in statements_by_sid(AUDIT)
    assert client.get_public_access_block(Bucket=ACCESS_LOGS)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=ACCESS_LOGS)["TagSet"]}
    assert tags["owner"] == "platform" and "added-by-hand" not in tags
    assert client.get_bucket_logging(Bucket=AUDIT)["LoggingEnabled"]["TargetBucket"] == ACCESS_LOGS
    with aws_env.recording() as calls:
        assert run_module("s3_buckets", args)["changed"] is False
    assert mutating_calls(calls) == []


def test_updates_change_only_what_differs(aws_env, converged, args):
    args["buckets"][1]["lifecycle_rules"] = [dict(ARCHIVE_RULE, expiration_days=3650)]
    args["buckets"][1]["extra_policy_statements"] = []
    args["buckets"][1]["object_lock"] = dict(mode="COMPLIANCE", years=1)
    with aws_env.recording() as calls:
        result = run_module("s3_buckets", args)
    assert changed_fields(result, AUDIT) == ["lifecycle", "object_lock", "policy"]
    assert sorted(c.operation for c in mutating_calls(calls)) == [
        "PutBucketLifecycle", "PutBucketPolicy", "PutObjectLockConfiguration"]
    assert "CloudTrailAclCheck" not in statements_by_sid(AUDIT)
    retention = s3().get_object_lock_configuration(Bucket=AUDIT)["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention["Mode"] == "COMPLIANCE" and retention["Years"] == 1


def test_bucket_outside_us_east_1_gets_its_location_constraint_and_cannot_move(aws_env):
    args = dict(STACK, stack="test-eu-west-1", region="eu-west-1", buckets=[dict(name="cairn-test-euw1-uploads")])
    run_module("s3_buckets", args)
    assert s3("eu-west-1").get_bucket_location(Bucket="cairn-test-euw1-uploads")["LocationConstraint"] == "eu-west-1"
    with aws_env.recording() as calls:
        assert run_module("s3_buckets", args)["changed"] is False
    assert mutating_calls(calls) == []
    # The same name listed by the us-east-1 stack: refused, a bucket cannot move regions.
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", dict(STACK, buckets=[dict(name="cairn-test-euw1-uploads")]))
    assert "exists in eu-west-1" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_buckets_the_stack_does_not_own_are_never_adopted(aws_env):
    s3().create_bucket(Bucket=UPLOADS)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", dict(STACK, buckets=[dict(name="cairn-test-use1-other"), dict(name=UPLOADS)]))
    message = failure.value.result["msg"]
    assert "buckets[1].name" in message and "never takes over" in message
    assert mutating_calls(calls) == []
    assert [b["Name"] for b in s3().list_buckets()["Buckets"]] == [UPLOADS]

    # A name taken by another account.
    credentials = boto3.client("sts").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/other", RoleSessionName="other-account")["Credentials"]
    other = boto3.client("s3", region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    other.create_bucket(Bucket="cairn-test-use1-taken")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", dict(STACK, buckets=[dict(name="cairn-test-use1-taken")]))
    # moto answers HeadBucket from the other account's bucket (S3 answers 403; see the Stubber test),
    # so the bucket reads as one without our tags.
    assert "buckets[0].name" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def test_object_lock_on_an_existing_bucket_fails_before_any_write(aws_env):
    run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS)]))
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS, kms_key_arn=None, object_lock=dict(mode="GOVERNANCE", days=5))]))
    assert "only when a bucket is created" in failure.value.result["msg"]
    assert "buckets[0].object_lock" in failure.value.result["msg"]
    assert mutating_calls(calls) == []


def put_versions(bucket):
    client = s3()
    client.put_object(Bucket=bucket, Key="a.txt", Body=b"1")
    client.put_object(Bucket=bucket, Key="a.txt", Body=b"2")
    client.delete_object(Bucket=bucket, Key="a.txt")  # leaves only versions and a delete marker


def test_absent_refuses_a_bucket_with_versions_unless_forced(aws_env):
    bucket = dict(name=UPLOADS, tls_only=False)
    run_module("s3_buckets", dict(STACK, buckets=[bucket]))
    put_versions(UPLOADS)
    assert "Contents" not in s3().list_objects_v2(Bucket=UPLOADS)
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", dict(STACK, buckets=[dict(bucket, state="absent")]))
    assert "not empty" in failure.value.result["msg"] and "force" in failure.value.result["msg"]
    assert mutating_calls(calls) == []

    planned = run_module("s3_buckets", dict(STACK, buckets=[dict(bucket, state="absent", force=True)]), check_mode=True)
    deleted = run_module("s3_buckets", dict(STACK, buckets=[dict(bucket, state="absent", force=True)]))
    assert plan_keys(planned) == plan_keys(deleted) == [("delete", "s3_bucket", UPLOADS)]
    assert s3().list_buckets()["Buckets"] == []
    with aws_env.recording() as calls:
        assert run_module("s3_buckets", dict(STACK, buckets=[dict(bucket, state="absent")]))["changed"] is False
    assert mutating_calls(calls) == []


def test_purge_deletes_only_the_stacks_unlisted_empty_buckets_of_the_component(aws_env):
    run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS), dict(name="cairn-test-use1-scratch", tls_only=False)]))
    run_module("s3_buckets", dict(STACK, component="audit", buckets=[dict(name=AUDIT)]))
    s3().create_bucket(Bucket="someone-elses-bucket")
    keep = dict(STACK, purge_buckets=True, buckets=[dict(name=UPLOADS)])
    put_versions("cairn-test-use1-scratch")
    with aws_env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", keep)
    assert "purge_buckets" in failure.value.result["msg"] and "not empty" in failure.value.result["msg"]
    assert mutating_calls(calls) == []

    versions = s3().list_object_versions(Bucket="cairn-test-use1-scratch")
    s3().delete_objects(Bucket="cairn-test-use1-scratch", Delete={"Objects": [
        {"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions["Versions"] + versions["DeleteMarkers"]]})
    planned = run_module("s3_buckets", keep, check_mode=True)
    assert plan_keys(planned) == [("delete", "s3_bucket", "cairn-test-use1-scratch")]
    run_module("s3_buckets", keep)
    assert sorted(b["Name"] for b in s3().list_buckets()["Buckets"]) == [AUDIT, UPLOADS, "someone-elses-bucket"]


# ---- replication ----------------------------------------------------------------------------
def replication(*rules, role_arn=REPLICATION_ROLE):
    return dict(role_arn=role_arn, rules=list(rules))


def kept_rule(**overrides):
    """A rule with the settings the emulator reads back as written (see the module docstring)."""
    return dict(dict(id="uploads-to-dr", destination_bucket_arn="arn:aws:s3:::" + DR_UPLOADS, replicate_deletes=False,
                     storage_class="STANDARD_IA", replication_time_minutes=15), **overrides)


@pytest.fixture
def dr_buckets(aws_env):
    """The destination buckets, made by the DR stack's own run first, as S3 requires (versioned)."""
    run_module("s3_buckets", dict(STACK, stack="test-us-west-2", region="us-west-2",
                                  buckets=[dict(name=DR_UPLOADS), dict(name=DR_ARCHIVE)]))


def stored_replication(bucket=UPLOADS):
    return s3().get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]


def test_replication_is_planned_in_check_mode_written_after_versioning_and_quiet_on_rerun(aws_env, dr_buckets):
    args = dict(STACK, buckets=[dict(name=UPLOADS, replication=replication(
        kept_rule(), kept_rule(id="archive-to-dr", destination_bucket_arn="arn:aws:s3:::" + DR_ARCHIVE,
                               storage_class="GLACIER", replication_time_minutes=None)))])
    with aws_env.recording() as calls:
        planned = run_module("s3_buckets", args, check_mode=True, diff=True)
    assert mutating_calls(calls) == []
    planned_replication = planned["diff"]["after"]["s3_bucket/" + UPLOADS]["replication"]
    assert planned_replication["role_arn"] == REPLICATION_ROLE
    # Sorted by id; unset priorities count down from the first listed rule.
    assert [(r["id"], r["priority"]) for r in planned_replication["rules"]] == [("archive-to-dr", 1), ("uploads-to-dr", 2)]

    with aws_env.recording() as calls:
        applied = run_module("s3_buckets", args)
    assert applied["changes"] == planned["changes"]
    operations = [c.operation for c in mutating_calls(calls)]
    assert operations.count("PutBucketReplication") == 1
    assert operations.index("PutBucketVersioning") < operations.index("PutBucketReplication")
    assert applied["buckets"][0]["replication"] == planned_replication

    stored = stored_replication()
    assert stored["Role"] == REPLICATION_ROLE
    rules = {rule["ID"]: rule for rule in stored["Rules"]}
    assert rules["uploads-to-dr"]["Priority"] == 2 and rules["uploads-to-dr"]["Status"] == "Enabled"
    assert rules["uploads-to-dr"]["Filter"] == {"Prefix": ""}
    assert rules["uploads-to-dr"]["DeleteMarkerReplication"] == {"Status": "Disabled"}
    assert rules["uploads-to-dr"]["Destination"] == {
        "Bucket": "arn:aws:s3:::" + DR_UPLOADS, "StorageClass": "STANDARD_IA",
        "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
        "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}}
    assert rules["archive-to-dr"]["Destination"] == {"Bucket": "arn:aws:s3:::" + DR_ARCHIVE, "StorageClass": "GLACIER"}

    for check_mode in (False, True):
        with aws_env.recording() as calls:
            rerun = run_module("s3_buckets", args, check_mode=check_mode)
        assert rerun["changed"] is False and mutating_calls(calls) == []
        assert count_by_operation(calls)["s3:GetBucketReplication"] == 1


def test_replication_is_added_repaired_left_alone_when_unset_and_removed_when_empty(aws_env, dr_buckets):
    run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS)]))
    args = dict(STACK, buckets=[dict(name=UPLOADS, replication=replication(kept_rule()))])
    planned = run_module("s3_buckets", args, check_mode=True)
    with aws_env.recording() as calls:
        added = run_module("s3_buckets", args)
    assert plan_keys(planned) == plan_keys(added) == [("update", "s3_bucket", UPLOADS)]
    assert changed_fields(added, UPLOADS) == ["replication"]
    assert added["changes"][0]["fields"]["replication"]["before"] is None
    assert [c.operation for c in mutating_calls(calls)] == ["PutBucketReplication"]

    # A change by hand is reported and repaired.
    by_hand = stored_replication()
    by_hand["Rules"][0]["Destination"]["StorageClass"] = "STANDARD"
    s3().put_bucket_replication(Bucket=UPLOADS, ReplicationConfiguration=by_hand)
    drift = run_module("s3_buckets", args, check_mode=True)
    before, after = drift["changes"][0]["fields"]["replication"]["before"], drift["changes"][0]["fields"]["replication"]["after"]
    assert (before["rules"][0]["storage_class"], after["rules"][0]["storage_class"]) == ("STANDARD", "STANDARD_IA")
    assert run_module("s3_buckets", args)["changes"] == drift["changes"]
    assert stored_replication()["Rules"][0]["Destination"]["StorageClass"] == "STANDARD_IA"

    # Unset: left alone, not even read.
    with aws_env.recording() as calls:
        untouched = run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS)]))
    assert untouched["changed"] is False and mutating_calls(calls) == []
    assert "s3:GetBucketReplication" not in count_by_operation(calls)
    assert "replication" not in untouched["buckets"][0]
    assert stored_replication()["Rules"][0]["ID"] == "uploads-to-dr"

    # An empty replication removes it.
    remove = dict(STACK, buckets=[dict(name=UPLOADS, replication={})])
    with aws_env.recording() as calls:
        planned = run_module("s3_buckets", remove, check_mode=True)
    assert mutating_calls(calls) == []
    assert planned["changes"][0]["fields"]["replication"]["after"] is None
    with aws_env.recording() as calls:
        removed = run_module("s3_buckets", remove)
    assert removed["changes"] == planned["changes"]
    assert [c.operation for c in mutating_calls(calls)] == ["DeleteBucketReplication"]
    with pytest.raises(s3().exceptions.ClientError) as missing:
        stored_replication()
    assert missing.value.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError"
    with aws_env.recording() as calls:
        assert run_module("s3_buckets", dict(STACK, buckets=[dict(name=UPLOADS, replication=dict(rules=[]))]))["changed"] is False
    assert mutating_calls(calls) == []


def test_replication_plans_with_placeholders_in_check_mode_only(aws_env, untouched_env):
    args = dict(STACK, buckets=[dict(name=UPLOADS, kms_key_arn=UNKNOWN, replication=replication(
        dict(id="uploads-to-dr", destination_bucket_arn=UNKNOWN, destination_kms_key_arn=UNKNOWN), role_arn=UNKNOWN))])
    with aws_env.recording() as calls:
        planned = run_module("s3_buckets", args, check_mode=True)
    assert mutating_calls(calls) == []
    rule = planned["changes"][0]["fields"]["replication"]["after"]["rules"][0]
    assert rule["destination_kms_key_arn"] == UNKNOWN and rule["sse_kms_encrypted_objects"] is True
    message = assert_refused(untouched_env, args, "buckets[0].replication.role_arn", ["known after apply"])
    assert "buckets[0].replication.rules[0].destination_bucket_arn" in message


def test_full_replication_configuration_reads_back_as_written(aws_env, dr_buckets, kms_key):
    args = dict(STACK, buckets=[dict(name=UPLOADS, kms_key_arn=kms_key, replication=replication(
        dict(id="uploads-to-dr", prefix="uploads/", destination_bucket_arn="arn:aws:s3:::" + DR_UPLOADS,
             destination_kms_key_arn=DR_KEY, replication_time_minutes=15)))])
    run_module("s3_buckets", args)
    rule = stored_replication()["Rules"][0]
    assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": DR_KEY}
    with aws_env.recording() as calls:
        rerun = run_module("s3_buckets", args)
    assert rerun["changes"] == [] and mutating_calls(calls) == []


# ---- bad input: a sentence naming the field, before any API call ------------------------------
BAD_NAMES = [
    ("ab", "characters long"),
    ("a" * 64, "characters long"),
    ("Cairn-Uploads", "characters S3 does not allow"),
    ("cairn_uploads", "characters S3 does not allow"),
    ("-cairn-uploads", "start and end"),
    ("cairn-uploads.", "start and end"),
    ("cairn..uploads", "adjacent dots"),
    ("192.168.5.4", "IP address"),
    ("xn--cairn-uploads", "'xn--'"),
    ("sthree-cairn-uploads", "'sthree-'"),
    ("amzn-s3-demo-cairn", "'amzn-s3-demo-'"),
    ("cairn-uploads-s3alias", "'-s3alias'"),
    ("cairn-uploads--ol-s3", "'--ol-s3'"),
    ("cairn.uploads.mrap", "'.mrap'"),
    ("cairn-uploads--x-s3", "'--x-s3'"),
    ("cairn-uploads--table-s3", "'--table-s3'"),
]


@pytest.fixture
def untouched_env(emulator, monkeypatch):
    """The SDK environment of aws_env without resetting the emulator: for tests that must make no call at all."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_CONFIG_FILE", "/dev/null"), ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")):
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return emulator


def assert_refused(env, args, field, words):
    with env.recording() as calls, pytest.raises(ModuleFailed) as failure:
        run_module("s3_buckets", args)
    message = failure.value.result["msg"]
    assert field in message, message
    for word in words:
        assert word in message, message
    assert calls == []
    return message


@pytest.mark.parametrize("name, words", BAD_NAMES, ids=[name for name, words in BAD_NAMES])
def test_bad_bucket_names(untouched_env, name, words):
    assert_refused(untouched_env, dict(STACK, buckets=[dict(name=UPLOADS), dict(name=name)]), "buckets[1].name", [words])


def rule(**overrides):
    return dict(STACK, buckets=[dict(name=UPLOADS, lifecycle_rules=[dict(dict(id="r"), **overrides)])])


BAD_INPUT = [
    ("days out of order", rule(transitions=[dict(days=180, storage_class="GLACIER"), dict(days=90, storage_class="DEEP_ARCHIVE")]),
     "buckets[0].lifecycle_rules[0].transitions[1].days", ["increasing days"]),
    ("glacier kept under 90 days", rule(transitions=[dict(days=30, storage_class="GLACIER"), dict(days=60, storage_class="DEEP_ARCHIVE")]),
     "buckets[0].lifecycle_rules[0].transitions[1].days", ["at least 90 days in GLACIER"]),
    ("standard-ia before day 30", rule(transitions=[dict(days=10, storage_class="STANDARD_IA")]),
     "buckets[0].lifecycle_rules[0].transitions[0].days", ["at least 30"]),
    ("up the waterfall", rule(transitions=[dict(days=30, storage_class="ONEZONE_IA"), dict(days=90, storage_class="GLACIER_IR")]),
     "transitions[1].storage_class", ["cannot move objects from ONEZONE_IA to GLACIER_IR"]),
    ("unknown storage class", rule(transitions=[dict(days=30, storage_class="REDUCED_REDUNDANCY")]),
     "storage_class", ["REDUCED_REDUNDANCY"]),
    ("expiration before the last transition", rule(transitions=[dict(days=90, storage_class="GLACIER")], expiration_days=60),
     "buckets[0].lifecycle_rules[0].expiration_days", ["after the last transition"]),
    ("rule without action", rule(), "buckets[0].lifecycle_rules[0]", ["no action"]),
    ("object lock days under 1", dict(STACK, buckets=[dict(name=UPLOADS, object_lock=dict(mode="GOVERNANCE", days=0))]),
     "buckets[0].object_lock.days", ["1 to 36500"]),
    ("object lock days and years", dict(STACK, buckets=[dict(name=UPLOADS, object_lock=dict(mode="GOVERNANCE", days=1, years=1))]),
     "buckets[0].object_lock", ["exactly one of days or years"]),
    ("object lock without versioning", dict(STACK, buckets=[dict(name=UPLOADS, versioning=False, object_lock=dict(mode="COMPLIANCE", years=1))]),
     "buckets[0].versioning", ["object lock needs versioning"]),
    ("kms key of another region", dict(STACK, buckets=[dict(name=UPLOADS, kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/abcd")]),
     "buckets[0].kms_key_arn", ["us-west-2", "us-east-1"]),
    ("kms key not an ARN", dict(STACK, buckets=[dict(name=UPLOADS, kms_key_arn="alias/logs")]),
     "buckets[0].kms_key_arn", ["not a KMS key ARN"]),
    ("policy naming another bucket", dict(STACK, buckets=[dict(name=UPLOADS, extra_policy_statements=[
        dict(CLOUDTRAIL_STATEMENT, Resource="arn:aws:s3:::someone-else")])]),
     "buckets[0].extra_policy_statements[0].Resource", ["not this bucket"]),
    ("reserved sid", dict(STACK, buckets=[dict(name=AUDIT, extra_policy_statements=[dict(CLOUDTRAIL_STATEMENT, Sid="DenyOutdatedTls")])]),
     "buckets[0].extra_policy_statements[0].Sid", ["reserved"]),
    ("logging into itself", dict(STACK, buckets=[dict(name=UPLOADS, access_logging=dict(target_bucket=UPLOADS))]),
     "buckets[0].access_logging.target_bucket", ["cannot log into itself"]),
    ("logging into a bucket being deleted",
     dict(STACK, buckets=[dict(name=UPLOADS, access_logging=dict(target_bucket=ACCESS_LOGS)), dict(name=ACCESS_LOGS, state="absent")]),
     "buckets[0].access_logging.target_bucket", ["state absent"]),
    ("duplicate bucket", dict(STACK, buckets=[dict(name=UPLOADS), dict(name=UPLOADS)]), "buckets[1].name", ["listed twice"]),
    ("reserved tag", dict(STACK, buckets=[dict(name=UPLOADS, tags={"cairn:stack": "x"})]), "buckets[0]", ["reserved"]),
]


def replicating(rule=None, bucket=None, **replication_options):
    rule = dict(dict(id="r", destination_bucket_arn="arn:aws:s3:::" + DR_UPLOADS), **(rule or {}))
    options = dict(dict(role_arn=REPLICATION_ROLE, rules=[rule]), **replication_options)
    return dict(STACK, buckets=[dict(dict(name=UPLOADS, replication=options), **(bucket or {}))])


KEY = "arn:aws:kms:us-east-1:123456789012:key/abcd"
BAD_INPUT += [
    ("replication without versioning", replicating(bucket=dict(versioning=False)),
     "buckets[0].replication", ["versioning enabled"]),
    ("replication without a role", replicating(role_arn=None), "buckets[0].replication.role_arn", ["required"]),
    ("role ARN of a user", replicating(role_arn="arn:aws:iam::123456789012:user/deploy"),
     "buckets[0].replication.role_arn", ["not an IAM role ARN"]),
    ("destination not an ARN", replicating(dict(destination_bucket_arn=DR_UPLOADS)),
     "buckets[0].replication.rules[0].destination_bucket_arn", ["not an S3 bucket ARN"]),
    ("destination name S3 refuses", replicating(dict(destination_bucket_arn="arn:aws:s3:::DR_Uploads")),
     "buckets[0].replication.rules[0].destination_bucket_arn", ["characters S3 does not allow"]),
    ("destination is the bucket itself", replicating(dict(destination_bucket_arn="arn:aws:s3:::" + UPLOADS)),
     "buckets[0].replication.rules[0].destination_bucket_arn", ["into itself"]),
    ("sse-kms source without a replica key", replicating(bucket=dict(kms_key_arn=KEY)),
     "buckets[0].replication.rules[0].destination_kms_key_arn", ["uses SSE-KMS", "ReplicaKmsKeyID"]),
    ("replica key for an sse-s3 source", replicating(dict(destination_kms_key_arn=DR_KEY)),
     "buckets[0].replication.rules[0].destination_kms_key_arn", ["uses SSE-S3"]),
    ("replica key not a key ARN", replicating(dict(destination_kms_key_arn="alias/dr"), bucket=dict(kms_key_arn=KEY)),
     "buckets[0].replication.rules[0].destination_kms_key_arn", ["not a KMS key ARN"]),
    ("rtc other than 15 minutes", replicating(dict(replication_time_minutes=10)),
     "buckets[0].replication.rules[0].replication_time_minutes", ["one setting, 15 minutes"]),
    ("negative priority", replicating(dict(priority=-1)), "buckets[0].replication.rules[0].priority", ["0 or more"]),
    ("two rules with one priority", replicating(rules=[
        dict(id="a", destination_bucket_arn="arn:aws:s3:::" + DR_UPLOADS),
        dict(id="b", destination_bucket_arn="arn:aws:s3:::" + DR_ARCHIVE, priority=2)]),
     "buckets[0].replication.rules[1].priority", ["also the priority of rules[0]", "unique"]),
    ("two rules with one id", replicating(rules=[
        dict(id="a", destination_bucket_arn="arn:aws:s3:::" + DR_UPLOADS),
        dict(id="a", destination_bucket_arn="arn:aws:s3:::" + DR_ARCHIVE)]),
     "buckets[0].replication.rules[1].id", ["unique"]),
    ("replica storage class", replicating(dict(storage_class="REDUCED_REDUNDANCY")), "storage_class", ["REDUCED_REDUNDANCY"]),
]


@pytest.mark.parametrize("case, args, field, words", BAD_INPUT, ids=[item[0] for item in BAD_INPUT])
def test_bad_input(untouched_env, case, args, field, words):
    assert_refused(untouched_env, args, field, words)

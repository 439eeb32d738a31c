"""Replication of s3_buckets where the emulator cannot judge it: the rules S3 validates on PutBucketReplication,
S3's own GetBucketReplication answers, and the normalizers that keep a rerun quiet.

botocore's Stubber checks each request against the real S3 model (types, required members); the rules
the model cannot express, which S3 enforces with MalformedXML or InvalidRequest, are written down in
`s3_refusals` from the S3 API reference (ReplicationRule, Destination, SourceSelectionCriteria,
ReplicationTime, Metrics) and applied to every request the module sends.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.s3_buckets import (
    ARGUMENT_SPEC,
    DEFAULT_COMPONENT,
    S3BucketsConverger,
    build_spec,
    check_replication,
    desired_replication,
    replication_from_api,
    replication_to_api,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

BUCKET = "cairn-prod-123456789012-us-east-1-uploads"
DESTINATION = "arn:aws:s3:::cairn-prod-123456789012-us-west-2-uploads"
ROLE = "arn:aws:iam::123456789012:role/cairn/prod-us-east-1-s3-replication"
SOURCE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
REPLICA_KEY = "arn:aws:kms:us-west-2:123456789012:key/66666666-7777-8888-9999-000000000000"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def s3_refusals(configuration):
    """What S3 would refuse in a PutBucketReplication body that its API model allows."""
    problems = []
    ids, priorities = set(), set()
    for rule in configuration["Rules"]:
        name = rule.get("ID")
        destination = rule["Destination"]
        kms_objects = rule.get("SourceSelectionCriteria", {}).get("SseKmsEncryptedObjects", {}).get("Status") == "Enabled"
        if kms_objects and "EncryptionConfiguration" not in destination:
            problems.append((name, "SseKmsEncryptedObjects needs Destination.EncryptionConfiguration.ReplicaKmsKeyID"))
        if "EncryptionConfiguration" in destination and not kms_objects:
            problems.append((name, "ReplicaKmsKeyID needs SourceSelectionCriteria.SseKmsEncryptedObjects Enabled"))
        if ("ReplicationTime" in destination) != ("Metrics" in destination):
            problems.append((name, "ReplicationTime and Metrics go together"))
        if destination.get("ReplicationTime", {}).get("Time", {}).get("Minutes", 15) != 15:
            problems.append((name, "ReplicationTime minutes must be 15"))
        if destination.get("Metrics", {}).get("Status") == "Enabled" and "EventThreshold" not in destination["Metrics"]:
            problems.append((name, "Metrics with RTC need an EventThreshold"))
        if "Filter" in rule:
            if "DeleteMarkerReplication" not in rule:
                problems.append((name, "a V2 rule (Filter) needs DeleteMarkerReplication"))
            if "Priority" not in rule:
                problems.append((name, "a V2 rule (Filter) needs Priority"))
            if "Prefix" in rule:
                problems.append((name, "Prefix goes inside Filter in a V2 rule"))
        elif "SourceSelectionCriteria" in rule or "DeleteMarkerReplication" in rule:
            problems.append((name, "a V1 rule (no Filter) takes neither"))
        if name in ids:
            problems.append((name, "rule ids must be unique"))
        if rule.get("Priority") in priorities:
            problems.append((name, "priorities must be unique"))
        ids.add(name)
        priorities.add(rule.get("Priority"))
    return problems


def test_the_refusal_rules_catch_what_s3_refuses():
    good = {"ID": "a", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": DESTINATION}}
    assert s3_refusals({"Role": ROLE, "Rules": [good]}) == []
    key_without_criteria = dict(copy.deepcopy(good), ID="b", Priority=2)
    key_without_criteria["Destination"]["EncryptionConfiguration"] = {"ReplicaKmsKeyID": REPLICA_KEY}
    rtc_without_metrics = dict(copy.deepcopy(good), ID="c", Priority=3)
    rtc_without_metrics["Destination"]["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
    no_priority = {k: v for k, v in good.items() if k not in ("Priority", "ID")}
    assert s3_refusals({"Rules": [good, key_without_criteria, rtc_without_metrics, no_priority, good]}) == [
        ("b", "ReplicaKmsKeyID needs SourceSelectionCriteria.SseKmsEncryptedObjects Enabled"),
        ("c", "ReplicationTime and Metrics go together"),
        (None, "a V2 rule (Filter) needs Priority"),
        ("a", "rule ids must be unique"), ("a", "priorities must be unique")]


# ---- pure: input checks and normalizers -----------------------------------------------------------
def item(replication, **bucket):
    return dict(dict(name=BUCKET, versioning=True, kms_key_arn=None, replication=replication), **bucket)


def rule(**values):
    base = dict(id="r", prefix="", destination_bucket_arn=DESTINATION, destination_kms_key_arn=None, storage_class="STANDARD",
                replicate_deletes=True, replication_time_minutes=None, priority=None)
    base.update(values)
    return base


@pytest.mark.parametrize("sse_kms, rtc, deletes, prefix, storage_class", list(itertools.product(
    (False, True), (None, 15), (False, True), ("", "uploads/"), ("STANDARD", "GLACIER"))))
def test_every_request_the_module_builds_is_one_s3_accepts_and_reads_back_as_the_same(sse_kms, rtc, deletes, prefix, storage_class):
    bucket = item({"role_arn": ROLE, "rules": [
        rule(id="main", prefix=prefix, replication_time_minutes=rtc, replicate_deletes=deletes, storage_class=storage_class,
             destination_kms_key_arn=REPLICA_KEY if sse_kms else None),
        rule(id="second", prefix="other/", destination_bucket_arn=DESTINATION + "-2",
             destination_kms_key_arn=REPLICA_KEY if sse_kms else None)]}, kms_key_arn=SOURCE_KEY if sse_kms else None)
    check_replication("buckets[0]", bucket)
    desired = desired_replication(bucket["replication"], bucket["kms_key_arn"])
    request = replication_to_api(desired)
    assert s3_refusals(request) == []
    assert replication_from_api(request) == desired
    main = next(r for r in request["Rules"] if r["ID"] == "main")
    assert main["Priority"] == 2 and main["Filter"] == {"Prefix": prefix}
    assert ("SourceSelectionCriteria" in main) is sse_kms


def test_s3_answers_with_its_defaults_read_as_the_written_configuration():
    desired = desired_replication({"role_arn": ROLE, "rules": [rule(priority=1)]}, None)
    answered = {"Role": ROLE, "Rules": [{
        "ID": "r", "Priority": 1, "Status": "Enabled",
        "Filter": {},  # an empty prefix, as the console and the CLI show it
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "Destination": {"Bucket": DESTINATION},  # StorageClass left out means STANDARD
        "SourceSelectionCriteria": {"ReplicaModifications": {"Status": "Disabled"}},
        "ExistingObjectReplication": {"Status": "Disabled"},
    }]}
    assert replication_from_api(answered) == desired


@pytest.mark.parametrize("change", ["v1 rule", "tag filter", "disabled rule", "other account", "replica modifications", "role"])
def test_what_the_module_does_not_write_reads_as_a_difference(change):
    desired = desired_replication({"role_arn": ROLE, "rules": [rule(priority=1)]}, None)
    answered = replication_to_api(desired)
    answered_rule = answered["Rules"][0]
    if change == "v1 rule":
        del answered_rule["Filter"], answered_rule["DeleteMarkerReplication"], answered_rule["Priority"]
        answered_rule["Prefix"] = ""
    elif change == "tag filter":
        answered_rule["Filter"] = {"And": {"Prefix": "", "Tags": [{"Key": "replicate", "Value": "yes"}]}}
    elif change == "disabled rule":
        answered_rule["Status"] = "Disabled"
    elif change == "other account":
        answered_rule["Destination"].update(Account="210987654321", AccessControlTranslation={"Owner": "Destination"})
    elif change == "replica modifications":
        answered_rule["SourceSelectionCriteria"] = {"ReplicaModifications": {"Status": "Enabled"}}
    else:
        answered["Role"] = ROLE + "-old"
    assert replication_from_api(answered) != desired


def test_removal_and_absence_are_none():
    assert desired_replication({"role_arn": None, "rules": []}, SOURCE_KEY) is None
    assert desired_replication({}, None) is None
    assert replication_from_api(None) is None and replication_from_api({"Role": ROLE, "Rules": []}) is None


def test_priorities_count_down_from_the_first_rule_unless_given():
    bucket = item({"role_arn": ROLE, "rules": [rule(id="a"), rule(id="b", priority=7), rule(id="c")]})
    check_replication("buckets[0]", bucket)
    assert [r["priority"] for r in bucket["replication"]["rules"]] == [3, 7, 1]


@pytest.mark.parametrize("bucket, field, words", [
    (item({"role_arn": ROLE, "rules": [rule()]}, versioning=False), "buckets[0].replication", "versioning enabled"),
    (item({"role_arn": "arn:aws:iam::123456789012:role/", "rules": [rule()]}), "buckets[0].replication.role_arn", "not an IAM role"),
    (item({"role_arn": "arn:aws:iam::12345:role/x", "rules": [rule()]}), "buckets[0].replication.role_arn", "not an IAM role"),
    (item({"role_arn": ROLE, "rules": [rule(destination_bucket_arn="arn:aws:s3:::a..b")]}),
     "buckets[0].replication.rules[0].destination_bucket_arn", "adjacent dots"),
    (item({"role_arn": ROLE, "rules": [rule(destination_bucket_arn="arn:aws:s3:::b/key")]}),
     "buckets[0].replication.rules[0].destination_bucket_arn", "characters S3 does not allow"),
    (item({"role_arn": ROLE, "rules": [rule(id="x" * 256)]}), "buckets[0].replication.rules[0].id", "1 to 255"),
    (item({"role_arn": ROLE, "rules": [rule(prefix="p" * 1025)]}), "buckets[0].replication.rules[0].prefix", "1024"),
    (item({"role_arn": ROLE, "rules": [rule(id=str(i)) for i in range(1001)]}), "buckets[0].replication.rules", "at most 1000"),
])
def test_replication_input_s3_would_refuse(bucket, field, words):
    with pytest.raises(InputError) as err:
        check_replication("buckets[0]", bucket)
    assert err.value.message.startswith(field + ":") and words in err.value.message, err.value.message


def test_no_rules_need_no_role_nor_versioning():
    check_replication("buckets[0]", item({"role_arn": None, "rules": []}, versioning=False))
    check_replication("buckets[0]", item(None, versioning=False))


# ---- Stubber: the calls the converger makes --------------------------------------------------------


def make_converger(**bucket):
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing",
                       secret_key="testing", buckets=[dict(dict(name=BUCKET, tls_only=False), **bucket)],
                       _ansible_check_mode=False, _ansible_diff=False)
    with patch_module_args(module_args):
        cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)
    return S3BucketsConverger(cm, build_spec(cm.params, "us-east-1"))


def kms_replication(**rule_values):
    return {"role_arn": ROLE, "rules": [dict(dict(id="uploads-to-dr", destination_bucket_arn=DESTINATION,
                                                  destination_kms_key_arn=REPLICA_KEY, replication_time_minutes=15), **rule_values)]}


# The request the module sends for an SSE-KMS bucket replicated with RTC, member by member.
KMS_RTC_REQUEST = {"Role": ROLE, "Rules": [{
    "ID": "uploads-to-dr", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
    "DeleteMarkerReplication": {"Status": "Enabled"},
    "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
    "Destination": {"Bucket": DESTINATION, "StorageClass": "STANDARD",
                    "EncryptionConfiguration": {"ReplicaKmsKeyID": REPLICA_KEY},
                    "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                    "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}},
}]}


def stub_existing_bucket(stub, converger, replication_answer, replication_read=True):
    """The reads of a bucket that is as desired in every aspect but replication."""
    tags = [{"Key": k, "Value": v} for k, v in converger.spec["buckets"][0]["desired_tags"].items()]
    stub.add_response("head_bucket", {"BucketRegion": "us-east-1"})
    stub.add_response("get_bucket_tagging", {"TagSet": tags})
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": SOURCE_KEY}, "BucketKeyEnabled": True}]}})
    stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK})
    stub.add_response("get_bucket_ownership_controls", {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
    stub.add_client_error("get_bucket_policy", service_error_code="NoSuchBucketPolicy", http_status_code=404)
    stub.add_response("get_bucket_logging", {})
    stub.add_client_error("get_object_lock_configuration", service_error_code="ObjectLockConfigurationNotFoundError",
                          http_status_code=404)
    stub.add_client_error("get_bucket_lifecycle_configuration", service_error_code="NoSuchLifecycleConfiguration",
                          http_status_code=404)
    if not replication_read:
        return
    if replication_answer is None:
        stub.add_client_error("get_bucket_replication", service_error_code="ReplicationConfigurationNotFoundError",
                              http_status_code=404, expected_params={"Bucket": BUCKET})
    else:
        stub.add_response("get_bucket_replication", {"ReplicationConfiguration": replication_answer}, {"Bucket": BUCKET})


def test_sse_kms_bucket_with_rtc_sends_the_criteria_the_replica_key_and_the_metrics_s3_requires():
    converger = make_converger(kms_key_arn=SOURCE_KEY, replication=kms_replication())
    with Stubber(converger.s3) as stub:
        stub_existing_bucket(stub, converger, None)
        stub.add_response("put_bucket_replication", {}, {"Bucket": BUCKET, "ReplicationConfiguration": KMS_RTC_REQUEST})
        result = converger.converge()
        stub.assert_no_pending_responses()
    assert s3_refusals(KMS_RTC_REQUEST) == []
    assert [(c["action"], list(c["fields"])) for c in converger.plan.changes] == [("update", ["replication"])]
    assert result["buckets"][0]["replication"]["rules"][0]["sse_kms_encrypted_objects"] is True


def test_s3s_answer_to_what_the_module_wrote_is_no_change():
    converger = make_converger(kms_key_arn=SOURCE_KEY, replication=kms_replication())
    answer = copy.deepcopy(KMS_RTC_REQUEST)
    answer["Rules"][0]["SourceSelectionCriteria"]["ReplicaModifications"] = {"Status": "Disabled"}
    answer["Rules"][0]["Filter"] = {}
    del answer["Rules"][0]["Destination"]["StorageClass"]
    with Stubber(converger.s3) as stub:
        stub_existing_bucket(stub, converger, answer)
        converger.converge()  # a put would find no stubbed response and fail
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_empty_replication_deletes_the_configuration_and_unset_does_not_read_it():
    converger = make_converger(kms_key_arn=SOURCE_KEY, replication={})
    with Stubber(converger.s3) as stub:
        stub_existing_bucket(stub, converger, KMS_RTC_REQUEST)
        stub.add_response("delete_bucket_replication", {}, {"Bucket": BUCKET})
        converger.converge()
        stub.assert_no_pending_responses()
    assert converger.plan.changes[0]["fields"]["replication"]["after"] is None

    converger = make_converger(kms_key_arn=SOURCE_KEY)
    with Stubber(converger.s3) as stub:
        stub_existing_bucket(stub, converger, None, replication_read=False)  # left alone, so not read
        converger.converge()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []


def test_a_new_bucket_gets_replication_after_its_versioning():
    converger = make_converger(kms_key_arn=SOURCE_KEY, replication=kms_replication(prefix="uploads/", replicate_deletes=False))
    request = copy.deepcopy(KMS_RTC_REQUEST)
    request["Rules"][0].update(Filter={"Prefix": "uploads/"}, DeleteMarkerReplication={"Status": "Disabled"})
    with Stubber(converger.s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="404", service_message="Not Found", http_status_code=404)
        stub.add_response("create_bucket", {"Location": "/" + BUCKET}, {"Bucket": BUCKET, "ObjectOwnership": "BucketOwnerEnforced"})
        stub.add_response("put_bucket_tagging", {}, {"Bucket": BUCKET, "Tagging": ANY})
        stub.add_response("put_public_access_block", {}, {"Bucket": BUCKET, "PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK})
        stub.add_response("put_bucket_encryption", {}, {"Bucket": BUCKET, "ServerSideEncryptionConfiguration": ANY})
        stub.add_response("put_bucket_versioning", {}, {"Bucket": BUCKET, "VersioningConfiguration": {"Status": "Enabled"}})
        stub.add_response("put_bucket_replication", {}, {"Bucket": BUCKET, "ReplicationConfiguration": request})
        converger.converge()
        stub.assert_no_pending_responses()
    assert s3_refusals(request) == []
    assert [c["action"] for c in converger.plan.changes] == ["create"]
    assert converger.plan.changes[0]["fields"]["replication"]["after"]["rules"][0]["prefix"] == "uploads/"


def test_s3_refusing_the_configuration_fails_with_a_sentence():
    converger = make_converger(kms_key_arn=SOURCE_KEY, replication=kms_replication())
    with Stubber(converger.s3) as stub:
        stub_existing_bucket(stub, converger, None)
        stub.add_client_error("put_bucket_replication", service_error_code="InvalidRequest", http_status_code=400,
                              service_message="Destination bucket must have versioning enabled.")
        with pytest.raises(CairnError) as err:
            converger.converge()
    assert "PutBucketReplication" in err.value.message and "replication of bucket " + BUCKET in err.value.message
    assert "Destination bucket must have versioning enabled" in err.value.message

"""S3 answers the emulator gives differently, driven by botocore Stubber (requests checked against the real S3 model).

- HeadBucket on a bucket of another account answers 403 in S3 (moto answers 200).
- CreateBucket answers BucketAlreadyExists when another account took the name meanwhile.
- DeleteObjects refuses versions under object lock retention, per key, in a 200 answer.
"""

from __future__ import annotations


import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.s3_buckets import (
    ARGUMENT_SPEC,
    DEFAULT_COMPONENT,
    S3BucketsConverger,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

BUCKET = "cairn-prod-use1-uploads"


def make_converger(region="us-east-1", **bucket):
    module_args = dict(environment="prod", stack="prod-" + region, region=region, access_key="testing",
                       secret_key="testing", buckets=[dict(dict(name=BUCKET, tls_only=False), **bucket)],
                       _ansible_check_mode=False, _ansible_diff=False)
    with patch_module_args(module_args):
        cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)
    converger = S3BucketsConverger(cm, build_spec(cm.params, region))
    assert converger.s3 is cm.connection.client("s3")
    return converger


def test_a_bucket_of_another_account_is_refused_before_any_write():
    converger = make_converger()
    with Stubber(converger.s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", service_message="Forbidden", http_status_code=403,
                              expected_params={"Bucket": BUCKET})
        converger.read()
        with pytest.raises(CairnError) as err:
            converger.preflight()
        stub.assert_no_pending_responses()
    assert "buckets[0].name" in err.value.message and "another AWS account" in err.value.message


def test_a_name_taken_meanwhile_fails_with_a_sentence_and_nothing_else_is_written():
    converger = make_converger(region="eu-west-1")
    with Stubber(converger.s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="404", service_message="Not Found", http_status_code=404)
        # The request S3 would get: LocationConstraint outside us-east-1, ACLs off from birth.
        stub.add_client_error(
            "create_bucket", service_error_code="BucketAlreadyExists", http_status_code=409,
            service_message="The requested bucket name is not available.",
            expected_params={"Bucket": BUCKET, "ObjectOwnership": "BucketOwnerEnforced",
                             "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
        converger.read()
        converger.preflight()
        with pytest.raises(CairnError) as err:
            converger.create(converger.spec["buckets"][0])
        stub.assert_no_pending_responses()
    assert "taken by another AWS account" in err.value.message
    assert err.value.details["error_code"] == "BucketAlreadyExists"
    assert [c["action"] for c in converger.plan.changes] == ["create"]


def test_create_in_us_east_1_sends_no_location_constraint_and_asks_for_object_lock():
    converger = make_converger(object_lock=dict(mode="COMPLIANCE", years=1))
    with Stubber(converger.s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="404", service_message="Not Found", http_status_code=404)
        stub.add_response("create_bucket", {"Location": "/" + BUCKET},
                          {"Bucket": BUCKET, "ObjectOwnership": "BucketOwnerEnforced", "ObjectLockEnabledForBucket": True})
        stub.add_response("put_bucket_tagging", {}, {"Bucket": BUCKET, "Tagging": ANY})
        stub.add_response("put_public_access_block", {}, {"Bucket": BUCKET, "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
        stub.add_response("put_bucket_encryption", {}, {"Bucket": BUCKET, "ServerSideEncryptionConfiguration": {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}})
        stub.add_response("put_bucket_versioning", {}, {"Bucket": BUCKET, "VersioningConfiguration": {"Status": "Enabled"}})
        stub.add_response("put_object_lock_configuration", {}, {"Bucket": BUCKET, "ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}}})
        converger.converge()
        stub.assert_no_pending_responses()


def test_s3_answers_without_the_unset_retention_field_read_as_no_change():
    converger = make_converger(object_lock=dict(mode="GOVERNANCE", days=30), versioning=True)
    tags = [{"Key": k, "Value": v} for k, v in converger.spec["buckets"][0]["desired_tags"].items()]
    with Stubber(converger.s3) as stub:
        stub.add_response("head_bucket", {"BucketRegion": "us-east-1"})
        stub.add_response("get_bucket_tagging", {"TagSet": tags})
        stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
        stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}})
        stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
        stub.add_response("get_bucket_ownership_controls", {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
        stub.add_client_error("get_bucket_policy", service_error_code="NoSuchBucketPolicy", http_status_code=404)
        stub.add_response("get_bucket_logging", {})
        stub.add_response("get_object_lock_configuration", {"ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}})
        stub.add_client_error("get_bucket_lifecycle_configuration", service_error_code="NoSuchLifecycleConfiguration",
                              http_status_code=404)
        result = converger.converge()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []
    assert result["buckets"][0]["object_lock_enabled"] is True


def test_forced_delete_never_bypasses_object_lock():
    converger = make_converger(state="absent", force=True)
    tags = [{"Key": k, "Value": v} for k, v in converger.spec["buckets"][0]["desired_tags"].items()]
    with Stubber(converger.s3) as stub:
        stub.add_response("head_bucket", {"BucketRegion": "us-east-1"})
        stub.add_response("get_bucket_tagging", {"TagSet": tags})
        stub.add_response("list_object_versions", {"Versions": [{"Key": "audit.json", "VersionId": "v1"}],
                                                   "IsTruncated": False}, {"Bucket": BUCKET})
        stub.add_response("delete_objects", {"Errors": [{"Key": "audit.json", "VersionId": "v1", "Code": "AccessDenied",
                                                         "Message": "Access Denied because object protected by object lock."}]},
                          {"Bucket": BUCKET, "Delete": {"Objects": [{"Key": "audit.json", "VersionId": "v1"}], "Quiet": True}})
        with pytest.raises(CairnError) as err:
            converger.converge()
        stub.assert_no_pending_responses()
    assert "never bypassed" in err.value.message and "audit.json" in err.value.message

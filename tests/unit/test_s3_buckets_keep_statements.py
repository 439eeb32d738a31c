"""s3_buckets' keep_policy_statements: statements another module manages (the CloudFront Origin Access Control
statement cloudfront_distribution writes into the assets bucket) are kept exactly as found.

Pure checks first, then botocore Stubber runs of the whole converge (requests checked against the S3 model):
with the Sid kept, a bucket whose policy carries the foreign statement plans nothing and writes nothing; when
another aspect of the policy changes, the statement is written back unchanged; without the option (the
behaviour before it existed) the module removes the statement.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.s3_buckets import (
    ARGUMENT_SPEC,
    DEFAULT_COMPONENT,
    S3BucketsConverger,
    build_spec,
    check_keep_policy_statements,
    kept_statements,
    sid_kept,
    tls_statements,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

BUCKET = "cairn-prod-123456789012-us-east-1-assets"
ARN = "arn:aws:s3:::" + BUCKET
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
# As AWS answers GetBucketPolicy: its own spelling (a one-item Action as a string, keys in its order).
OAC_STATEMENT = {
    "Sid": "CloudFrontOACCairnProdAssets",
    "Effect": "Allow",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:GetObject",
    "Resource": ARN + "/*",
    "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}},
}


def params(**bucket):
    return dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
                buckets=[dict(dict(name=BUCKET), **bucket)], _ansible_check_mode=False, _ansible_diff=False)


def make_converger(**bucket):
    with patch_module_args(params(**bucket)):
        cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)
    return S3BucketsConverger(cm, build_spec(cm.params, "us-east-1"))


# ---- pure -------------------------------------------------------------------------------------
def test_exact_sids_and_prefixes_match():
    assert sid_kept("CloudFrontOACCairnProdAssets", ["CloudFrontOACCairnProdAssets"])
    assert sid_kept("CloudFrontOACCairnProdAssets", ["CloudFrontOAC*"])
    assert not sid_kept("CloudFrontOACCairnProdAssets", ["CloudFrontOAC"])
    assert not sid_kept(None, ["*x"])
    assert not sid_kept("Other", [])


def test_kept_statements_are_returned_unchanged_in_policy_order():
    other = {"Sid": "Other", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ARN}
    policy = {"Version": "2012-10-17", "Statement": [other, OAC_STATEMENT]}
    assert kept_statements(policy, ["CloudFrontOAC*"]) == [OAC_STATEMENT]
    assert kept_statements({"Statement": OAC_STATEMENT}, ["CloudFrontOACCairnProdAssets"]) == [OAC_STATEMENT]
    assert kept_statements(None, ["CloudFrontOAC*"]) == []
    assert kept_statements(policy, []) == []


@pytest.mark.parametrize("pattern, words", [
    ("", "is not a statement Sid"),
    ("*", "is not a statement Sid"),
    ("Cloud*Front", "is not a statement Sid"),
    ("DenyInsecureTransport", "DenyInsecureTransport, a statement the module generates"),
    ("Deny*", "DenyInsecureTransport, DenyOutdatedTls"),
    ("S3ServerAccessLogs1", "a statement the module generates"),
    ("S3Server*", "S3ServerAccessLogs"),
])
def test_bad_or_reserved_sids_are_refused(pattern, words):
    with pytest.raises(InputError) as err:
        check_keep_policy_statements("buckets[0].keep_policy_statements", [pattern], [])
    assert err.value.message.startswith("buckets[0].keep_policy_statements[0]: ")
    assert words in err.value.message


def test_a_sid_cannot_be_both_written_and_kept_and_build_spec_names_the_field():
    extra = [{"Sid": "CloudFrontOACCairnProdAssets", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
              "Action": "s3:GetObject", "Resource": ARN + "/*"}]
    with patch_module_args(params(extra_policy_statements=extra, keep_policy_statements=["CloudFrontOAC*"])):
        cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)
    with pytest.raises(InputError) as err:
        build_spec(cm.params, "us-east-1")
    assert err.value.message.startswith("buckets[0].keep_policy_statements[0]: ")
    assert "extra_policy_statements[0]" in err.value.message


def test_the_option_defaults_to_an_empty_list():
    with patch_module_args(params()):
        cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)
    assert build_spec(cm.params, "us-east-1")["buckets"][0]["keep_policy_statements"] == []


# ---- the whole converge, against Stubber ---------------------------------------------------------
def stub_reads(stub, converger, statements):
    tags = [{"Key": k, "Value": v} for k, v in converger.spec["buckets"][0]["desired_tags"].items()]
    stub.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": BUCKET})
    stub.add_response("get_bucket_tagging", {"TagSet": tags})
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}})
    stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})
    stub.add_response("get_bucket_ownership_controls", {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
    stub.add_response("get_bucket_policy", {"Policy": json.dumps({"Version": "2012-10-17", "Statement": statements})})
    stub.add_response("get_bucket_logging", {})
    stub.add_client_error("get_object_lock_configuration", service_error_code="ObjectLockConfigurationNotFoundError",
                          http_status_code=404)
    stub.add_client_error("get_bucket_lifecycle_configuration", service_error_code="NoSuchLifecycleConfiguration",
                          http_status_code=404)


def test_a_kept_statement_plans_nothing_and_writes_nothing():
    converger = make_converger(keep_policy_statements=["CloudFrontOAC*"])
    with Stubber(converger.s3) as stub:
        stub_reads(stub, converger, tls_statements(ARN) + [OAC_STATEMENT])
        converger.converge()
        stub.assert_no_pending_responses()  # no PutBucketPolicy was stubbed: none was made
    assert converger.plan.changes == []


def test_when_the_policy_changes_the_kept_statement_is_written_back_unchanged():
    converger = make_converger(keep_policy_statements=["CloudFrontOACCairnProdAssets"], tls_only=False)
    with Stubber(converger.s3) as stub:
        stub_reads(stub, converger, tls_statements(ARN) + [OAC_STATEMENT])
        stub.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [OAC_STATEMENT]}, sort_keys=True, separators=(",", ":"))})
        converger.converge()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    after = change["fields"]["policy"]["after"]["Statement"]
    assert [statement["Sid"] for statement in after] == ["CloudFrontOACCairnProdAssets"]


def test_without_the_option_the_foreign_statement_is_removed_as_before():
    converger = make_converger()
    with Stubber(converger.s3) as stub:
        stub_reads(stub, converger, tls_statements(ARN) + [OAC_STATEMENT])
        stub.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": tls_statements(ARN)}, sort_keys=True, separators=(",", ":"))})
        converger.converge()
        stub.assert_no_pending_responses()
    [change] = converger.plan.changes
    before = {statement.get("Sid") for statement in change["fields"]["policy"]["before"]["Statement"]}
    after = {statement.get("Sid") for statement in change["fields"]["policy"]["after"]["Statement"]}
    assert before - after == {"CloudFrontOACCairnProdAssets"}


def test_a_kept_sid_missing_from_the_policy_keeps_nothing_and_adds_nothing():
    converger = make_converger(keep_policy_statements=["CloudFrontOAC*"])
    with Stubber(converger.s3) as stub:
        stub_reads(stub, converger, tls_statements(ARN))
        converger.converge()
        stub.assert_no_pending_responses()
    assert converger.plan.changes == []

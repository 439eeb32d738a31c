"""Pure parts of s3_buckets: naming rules, lifecycle checks, and the normalizers that make reruns quiet."""

from __future__ import annotations

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.policy import policies_equal
from ansible_collections.cairn.platform.plugins.modules.s3_buckets import (
    check_bucket_name,
    check_lifecycle_rules,
    check_transitions,
    desired_encryption,
    desired_lifecycle,
    desired_object_lock,
    desired_versioning,
    encryption_from_api,
    encryption_to_api,
    lifecycle_from_api,
    lifecycle_to_api,
    log_delivery_statements,
    object_lock_from_api,
    object_lock_to_api,
    tls_statements,
)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "cairn-prod-use1-audit", "logs.example.com", "1bucket9"])
def test_valid_bucket_names_pass(name):
    check_bucket_name("name", name)


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper", "under_score", "sp ace", "-start", "end-", "a..b",
                                  "10.0.0.1", "xn--abc", "sthree-abc", "amzn-s3-demo-abc", "abc-s3alias",
                                  "abc--ol-s3", "abc.mrap", "abc--x-s3", "abc--table-s3"])
def test_invalid_bucket_names_fail_naming_the_field(name):
    with pytest.raises(InputError) as err:
        check_bucket_name("buckets[3].name", name)
    assert err.value.message.startswith("buckets[3].name: ")


def transitions(*pairs):
    return [{"days": days, "storage_class": storage_class} for days, storage_class in pairs]


@pytest.mark.parametrize("pairs", [
    [(0, "GLACIER")],
    [(0, "INTELLIGENT_TIERING"), (1, "GLACIER")],
    [(30, "STANDARD_IA"), (60, "INTELLIGENT_TIERING"), (90, "GLACIER_IR"), (180, "GLACIER"), (270, "DEEP_ARCHIVE")],
    [(30, "ONEZONE_IA"), (60, "GLACIER"), (150, "DEEP_ARCHIVE")],
    [(90, "GLACIER"), (180, "DEEP_ARCHIVE")],
])
def test_transitions_aws_accepts(pairs):
    check_transitions("t", transitions(*pairs))


@pytest.mark.parametrize("pairs, words", [
    ([(29, "STANDARD_IA")], "at least 30"),
    ([(29, "ONEZONE_IA")], "at least 30"),
    ([(-1, "GLACIER")], "at least 0"),
    ([(90, "GLACIER"), (90, "DEEP_ARCHIVE")], "increasing days"),
    ([(90, "GLACIER"), (179, "DEEP_ARCHIVE")], "at least 90 days in GLACIER"),
    ([(30, "GLACIER_IR"), (60, "GLACIER")], "at least 90 days in GLACIER_IR"),
    ([(30, "STANDARD_IA"), (59, "GLACIER")], "at least 30 days in STANDARD_IA"),
    ([(90, "GLACIER"), (200, "STANDARD_IA")], "cannot move objects from GLACIER to STANDARD_IA"),
    ([(30, "ONEZONE_IA"), (90, "GLACIER_IR")], "cannot move objects from ONEZONE_IA to GLACIER_IR"),
    ([(30, "INTELLIGENT_TIERING"), (60, "STANDARD_IA")], "cannot move objects from INTELLIGENT_TIERING"),
    ([(180, "DEEP_ARCHIVE"), (365, "GLACIER")], "after DEEP_ARCHIVE only expiration"),
    ([(30, "GLACIER"), (300, "GLACIER")], "cannot move objects from GLACIER to GLACIER"),
    ([(30, "STANDARD")], "not a lifecycle storage class"),
])
def test_transitions_aws_refuses_or_bills(pairs, words):
    with pytest.raises(InputError) as err:
        check_transitions("rules[0].transitions", transitions(*pairs))
    assert words in err.value.message
    assert err.value.message.startswith("rules[0].transitions[")


def rule(**values):
    base = {"id": "r", "prefix": "", "enabled": True, "transitions": [], "expiration_days": None,
            "noncurrent_expiration_days": None, "abort_incomplete_multipart_days": None}
    base.update(values)
    return base


@pytest.mark.parametrize("rules, field, words", [
    ([rule(expiration_days=0)], "rules[0].expiration_days", "at least 1 day"),
    ([rule(noncurrent_expiration_days=0)], "rules[0].noncurrent_expiration_days", "at least 1 day"),
    ([rule(abort_incomplete_multipart_days=0)], "rules[0].abort_incomplete_multipart_days", "at least 1 day"),
    ([rule(expiration_days=5), rule(expiration_days=6)], "rules[1].id", "unique"),
    ([rule(id="", expiration_days=5)], "rules[0].id", "1 to 255"),
    ([rule(transitions=transitions((90, "GLACIER")), expiration_days=90)], "rules[0].expiration_days", "after the last"),
    ([rule()], "rules[0]", "no action"),
])
def test_lifecycle_rule_checks(rules, field, words):
    with pytest.raises(InputError) as err:
        check_lifecycle_rules("rules", rules)
    assert err.value.message.startswith(field) and words in err.value.message


def test_lifecycle_round_trip_through_the_api_shape_is_stable():
    desired = desired_lifecycle([
        rule(id="logs", prefix="logs/", transitions=transitions((30, "STANDARD_IA"), (120, "GLACIER")), expiration_days=400,
             noncurrent_expiration_days=30, abort_incomplete_multipart_days=7),
        rule(id="a-first", enabled=False, expiration_days=10),
    ])
    api = lifecycle_to_api(desired)["Rules"]
    # S3 may answer in another order and add what it defaults.
    answered = [dict(api[1], Expiration=dict(api[1]["Expiration"], ExpiredObjectDeleteMarker=False)), api[0]]
    assert lifecycle_from_api(answered) == desired
    assert [r["id"] for r in desired] == ["a-first", "logs"]


def test_lifecycle_rule_with_parts_the_module_does_not_write_differs():
    desired = desired_lifecycle([rule(id="x", expiration_days=10)])
    api = lifecycle_to_api(desired)["Rules"]
    api[0]["NoncurrentVersionTransitions"] = [{"NoncurrentDays": 30, "StorageClass": "GLACIER"}]
    assert lifecycle_from_api(api) != desired
    tagged = lifecycle_to_api(desired)["Rules"]
    tagged[0]["Filter"] = {"And": {"Prefix": "", "Tags": [{"Key": "k", "Value": "v"}]}}
    assert lifecycle_from_api(tagged) != desired
    legacy = lifecycle_to_api(desired)["Rules"]
    del legacy[0]["Filter"]
    legacy[0]["Prefix"] = ""
    assert lifecycle_from_api(legacy) == desired
    assert desired_lifecycle([]) is None and lifecycle_from_api([]) is None


def test_encryption_normalizes_sse_s3_and_sse_kms():
    key = "arn:aws:kms:us-east-1:123456789012:key/abcd"
    for desired in (desired_encryption(key), desired_encryption(None)):
        assert encryption_from_api(encryption_to_api(desired)) == desired
    # S3 reports BucketKeyEnabled false with SSE-S3: still the same setting.
    assert encryption_from_api({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                           "BucketKeyEnabled": False}]}) == desired_encryption(None)
    assert encryption_from_api({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                                  "KMSMasterKeyID": key}}]}) != desired_encryption(key)


def test_object_lock_normalizes_days_and_years_and_keeps_lock_on():
    lock = {"mode": "COMPLIANCE", "days": None, "years": 7}
    desired = desired_object_lock(lock, currently_enabled=False)
    answered = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 0, "Years": 7}}}
    assert object_lock_from_api(answered) == desired
    assert object_lock_from_api(object_lock_to_api(desired)) == desired
    # Without the option, a locked bucket keeps its lock and loses only the default retention.
    assert desired_object_lock(None, currently_enabled=True) == {"enabled": True, "retention": None}
    assert object_lock_to_api({"enabled": True, "retention": None}) == {"ObjectLockEnabled": "Enabled"}
    assert object_lock_from_api(None) == {"enabled": False, "retention": None}


def test_versioning_can_only_be_suspended():
    assert desired_versioning(True, None) == "Enabled"
    assert desired_versioning(False, "Enabled") == "Suspended"
    assert desired_versioning(False, None) is None
    assert desired_versioning(False, "Suspended") == "Suspended"


def test_tls_statements_deny_plain_http_and_old_tls_on_bucket_and_objects():
    statements = tls_statements("arn:aws:s3:::b")
    assert {s["Sid"] for s in statements} == {"DenyInsecureTransport", "DenyOutdatedTls"}
    assert all(s["Effect"] == "Deny" and s["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"] for s in statements)
    # S3 reads numbers back as strings; the comparison is by meaning.
    answered = [dict(s) for s in statements]
    answered[1] = dict(answered[1], Condition={"NumericLessThan": {"s3:TlsVersion": 1.2}}, Action=["s3:*"])
    assert policies_equal({"Version": "2012-10-17", "Statement": statements},
                          {"Version": "2012-10-17", "Statement": list(reversed(answered))})


def test_log_delivery_statement_per_prefix_for_the_sources_of_this_account():
    statements = log_delivery_statements("aws", "logs", {"b/": ["b"], "a/": ["a", "c"]}, "123456789012")
    assert [s["Sid"] for s in statements] == ["S3ServerAccessLogs1", "S3ServerAccessLogs2"]
    assert statements[0]["Resource"] == "arn:aws:s3:::logs/a/*"
    assert statements[0]["Condition"] == {"ArnLike": {"aws:SourceArn": ["arn:aws:s3:::a", "arn:aws:s3:::c"]},
                                          "StringEquals": {"aws:SourceAccount": "123456789012"}}

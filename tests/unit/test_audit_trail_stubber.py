"""CloudTrail and S3 answers the emulator never gives, driven by botocore Stubber (requests checked against the real models).

- CreateTrail refuses a delivery role IAM has not propagated yet (InvalidCloudWatchLogsRoleArnException).
- GetTrail answers with the HomeRegion of a multi-region trail managed elsewhere (moto omits HomeRegion).
- HeadBucket answers 403 for a bucket of another account (moto answers 200).
"""

from __future__ import annotations


import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.stub import ANY, Stubber

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.modules.audit_trail import (
    ARGUMENT_SPEC,
    COMPONENT,
    AuditTrailConverger,
    advanced_event_selectors,
    build_spec,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ACCOUNT = "123456789012"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/cairn-prod-audit"


def make_converger(**args):
    module_args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing",
                       secret_key="testing", s3_bucket_name="cairn-prod-use1-audit", kms_key_arn=KEY,
                       _ansible_check_mode=False, _ansible_diff=False)
    module_args.update(args)
    with patch_module_args(module_args):
        cm = CairnModule(COMPONENT, ARGUMENT_SPEC)
    cm.remember_account_id(ACCOUNT)
    converger = AuditTrailConverger(cm, build_spec(cm.params, "us-east-1"))
    converger.retry_delay = 0.01
    return converger


def settings(converger):
    return converger.desired_settings("arn:aws:logs:us-east-1:123456789012:log-group:/cairn/prod/audit-trail",
                                      "arn:aws:iam::123456789012:role/cairn/cairn-prod-audit-cloudwatch-logs")


def test_create_retries_while_a_new_role_propagates_then_selects_events_and_starts_logging():
    converger = make_converger()
    selectors = advanced_event_selectors(["arn:aws:s3:::cairn-prod-use1-uploads"])
    not_ready = dict(service_error_code="InvalidCloudWatchLogsRoleArnException", http_status_code=400,
                     service_message="Access denied. Verify in IAM that the role has adequate permissions.")
    with Stubber(converger.cloudtrail) as stub:
        stub.add_client_error("create_trail", **not_ready)
        stub.add_client_error("create_trail", **not_ready)
        stub.add_response("create_trail", {"Name": "cairn-prod-audit", "TrailARN": TRAIL_ARN}, {
            "Name": "cairn-prod-audit", "S3BucketName": "cairn-prod-use1-audit", "S3KeyPrefix": "",
            "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": True, "EnableLogFileValidation": True,
            "KmsKeyId": KEY, "CloudWatchLogsLogGroupArn": ANY, "CloudWatchLogsRoleArn": ANY, "TagsList": ANY})
        stub.add_response("put_event_selectors", {}, {"TrailName": "cairn-prod-audit", "AdvancedEventSelectors": selectors})
        stub.add_response("start_logging", {}, {"Name": "cairn-prod-audit"})
        converger.create(settings(converger), selectors, converger.owner.desired_tags(), retry=True)
        stub.assert_no_pending_responses()
    assert converger.clock.waited > 0


def test_the_retry_is_bounded_by_wait_timeout():
    converger = make_converger(wait_timeout=0)
    with Stubber(converger.cloudtrail) as stub:
        stub.add_client_error("create_trail", service_error_code="InvalidCloudWatchLogsRoleArnException", http_status_code=400,
                              service_message="Access denied.")
        with pytest.raises(CairnError) as err:
            converger.create(settings(converger), advanced_event_selectors([]), converger.owner.desired_tags(), retry=True)
    assert "creating trail cairn-prod-audit" in err.value.message
    assert err.value.details["error_code"] == "InvalidCloudWatchLogsRoleArnException"


def test_a_role_that_is_not_new_is_not_retried():
    converger = make_converger()
    with Stubber(converger.cloudtrail) as stub:
        stub.add_client_error("create_trail", service_error_code="InvalidCloudWatchLogsRoleArnException", http_status_code=400)
        with pytest.raises(CairnError):
            converger.create(settings(converger), advanced_event_selectors([]), converger.owner.desired_tags(), retry=False)
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_trail_managed_from_another_home_region_is_refused(state):
    converger = make_converger(state=state)
    tags = [{"Key": k, "Value": v} for k, v in converger.owner.desired_tags().items()]
    west = TRAIL_ARN.replace("us-east-1", "us-west-2")
    with Stubber(converger.cloudtrail) as stub:
        stub.add_response("get_trail", {"Trail": {"Name": "cairn-prod-audit", "TrailARN": west, "HomeRegion": "us-west-2",
                                                  "IsMultiRegionTrail": True}}, {"Name": "cairn-prod-audit"})
        stub.add_response("list_tags", {"ResourceTagList": [{"ResourceId": west, "TagsList": tags}]}, {"ResourceIdList": [west]})
        with pytest.raises(CairnError) as err:
            if state == "present":
                converger.read_trail()
                converger.check_trail()
            else:
                # Nothing is deleted here, not even the (global) delivery role the trail still uses.
                converger.absent()
        stub.assert_no_pending_responses()
    assert "home region us-west-2" in err.value.message
    assert converger.plan.changes == []


def test_an_audit_bucket_of_another_account_is_refused():
    converger = make_converger()
    s3 = converger.cm.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", service_message="Forbidden", http_status_code=403)
        with pytest.raises(CairnError) as err:
            converger.read_bucket()
    assert err.value.message.startswith("s3_bucket_name: ") and "cannot read it" in err.value.message

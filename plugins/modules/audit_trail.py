#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_trail
short_description: Converge the account's multi-region CloudTrail audit trail with CloudWatch Logs delivery
version_added: 0.1.0
description:
  - Converges the audit trail of the account from the primary region stack. This is a multi-region
    CloudTrail trail with global service events, log file validation, SSE-KMS encryption of the log
    files, all management events, and S3 data events for the listed sensitive buckets. Logging is on.
  - Delivers the events to a CloudWatch Logs group with a retention, through an IAM role that only
    CloudTrail can assume, for this trail only (C(aws:SourceArn)), and that may only write to that group.
  - Writes the log files to an audit bucket that this module does not create. Create it with
    M(cairn.platform.s3_buckets) (versioned, TLS-only, access-logged, under object lock) and pass
    RV(bucket_policy_statements) to its C(extra_policy_statements). See the example.
  - Before any write the module checks that the audit bucket exists in this region and that its
    policy contains RV(bucket_policy_statements). It fails otherwise and names the missing
    statements, instead of letting CloudTrail refuse half-way.
  - In check mode a missing bucket or missing statements are only warnings, because the
    M(cairn.platform.s3_buckets) task before it did not write either.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the trail, its log group and role.
      - V(absent) deletes the trail, the delivery role and the log group when they carry this
        stack's ownership tags. The log files in the audit bucket stay.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The trail name (3 to 128 letters, digits, dots, underscores and hyphens, starting and ending
        with a letter or digit). Defaults to C(cairn-<environment>-audit).
    type: str
  s3_bucket_name:
    description:
      - The audit bucket in this region the log files go to. Required when O(state=present).
    type: str
  s3_key_prefix:
    description:
      - Key prefix of the log files in the bucket (at most 200 characters, no leading or trailing C(/)).
    type: str
  kms_key_arn:
    description:
      - ARN of the KMS key in this region that encrypts the log files (the audit/logs key of
        M(cairn.platform.kms_keys)). Required when O(state=present).
      - A key ARN, not an alias ARN, because CloudTrail reports the key ARN.
      - Its key policy must let C(cloudtrail.amazonaws.com) encrypt (and, when it also encrypts the
        log group, C(logs.<region>.amazonaws.com)).
    type: str
  log_group_name:
    description:
      - The CloudWatch Logs group the events are delivered to. Defaults to C(/cairn/<environment>/audit-trail).
    type: str
  log_retention_days:
    description:
      - Days CloudWatch Logs keeps the events; one of the values CloudWatch Logs accepts.
    type: int
    default: 365
  log_group_kms_key_arn:
    description:
      - ARN of the KMS key that encrypts the log group. Defaults to O(kms_key_arn).
    type: str
  data_event_bucket_arns:
    description:
      - ARNs of the sensitive buckets (C(arn:aws:s3:::<bucket>)) whose object-level operations are
        logged as S3 data events. Empty logs management events only.
    type: list
    elements: str
    default: []
  wait_timeout:
    description:
      - The most seconds to keep retrying the trail's creation while a delivery role created in this
        run is not yet usable by CloudTrail (IAM is eventually consistent).
    type: int
    default: 120
notes:
  - Uses advanced event selectors. Management events are all read and write events.
  - The delivery role is named C(<name>-cloudwatch-logs) (cut to 64 characters), path C(/cairn/).
  - The resources carry the ownership tags with component C(audit). A trail, role or log group of the
    same name without them is refused before any write, never taken over. The same goes for a
    trail whose home region is another region.
  - Lookups are C(sts:GetCallerIdentity) (for the account in ARNs), C(GetTrail), C(ListTags), and
    for an owned trail C(GetTrailStatus) and C(GetEventSelectors). Then C(HeadBucket) and
    C(GetBucketPolicy) of the audit bucket, and the log group and role reads. A rerun with
    the same input makes no mutating call.
  - Tested against moto. moto writes no log files and does not implement C(LookupEvents), so
    delivery itself is not tested. moto does not check the bucket policy, the KMS key policy
    or the role either; the module's own bucket-policy check covers the first. moto's
    C(GetTrail) omits C(HomeRegion), which the module then takes as the current region. The retry
    while a new role propagates is covered by a botocore Stubber test.
seealso:
  - name: CloudTrail bucket policy
    description: The statements CloudTrail needs on the audit bucket.
    link: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
  - name: Advanced event selectors
    description: How management and data events are selected.
    link: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedEventSelector.html
"""

EXAMPLES = r"""
# CloudTrail refuses a bucket whose policy does not let it write, and that policy names the trail.
# So, first learn the statements (check mode writes nothing), then create the buckets with them,
# then converge the trail.
- name: Statements the audit bucket needs (read-only)
  cairn.platform.audit_trail: &audit_trail
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    s3_bucket_name: cairn-prod-use1-audit
    kms_key_arn: "{{ cairn_kms.keys.logs.arn }}"
    data_event_bucket_arns:
      - "arn:aws:s3:::cairn-prod-use1-uploads"
      - "arn:aws:s3:::cairn-prod-use1-backups"
  check_mode: true
  changed_when: false
  register: audit_trail_plan

- name: Audit and access-log buckets
  cairn.platform.s3_buckets:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    component: audit
    buckets:
      - name: cairn-prod-use1-access-logs
      - name: cairn-prod-use1-audit
        kms_key_arn: "{{ cairn_kms.keys.logs.arn }}"
        access_logging: {target_bucket: cairn-prod-use1-access-logs}
        object_lock: {mode: COMPLIANCE, years: 1}
        extra_policy_statements: "{{ audit_trail_plan.bucket_policy_statements }}"

- name: The audit trail
  cairn.platform.audit_trail: *audit_trail
  register: audit_trail
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: cloudtrail_trail
      resource: cairn-prod-audit
      fields: {is_multi_region_trail: {before: null, after: true}}
plan_summary:
  description: Counts of the changes, like C(3 to create, 0 to update, 0 to delete).
  returned: always
  type: str
trail:
  description: The trail as converged (planned in check mode).
  returned: when state=present
  type: dict
  contains:
    name: {description: Trail name., type: str, returned: always}
    arn: {description: Trail ARN., type: str, returned: always}
    home_region: {description: The region the trail is managed from., type: str, returned: always}
    s3_bucket_name: {description: The audit bucket., type: str, returned: always}
    s3_key_prefix: {description: "Key prefix in the bucket, or an empty string.", type: str, returned: always}
    kms_key_arn: {description: The key encrypting the log files., type: str, returned: always}
    is_multi_region_trail: {description: Always true., type: bool, returned: always}
    include_global_service_events: {description: Always true., type: bool, returned: always}
    log_file_validation_enabled: {description: Always true., type: bool, returned: always}
    is_logging: {description: Whether the trail is logging., type: bool, returned: always}
    cloudwatch_logs_log_group_arn: {description: The delivery log group (with the C(:*) CloudTrail expects)., type: str, returned: always}
    cloudwatch_logs_role_arn: {description: The delivery role., type: str, returned: always}
  sample:
    name: cairn-prod-audit
    arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/cairn-prod-audit"
    home_region: us-east-1
    is_logging: true
advanced_event_selectors:
  description: The trail's advanced event selectors.
  returned: when state=present
  type: list
  elements: dict
log_group:
  description: The CloudWatch Logs group.
  returned: when state=present
  type: dict
  sample: {name: /cairn/prod/audit-trail, arn: "arn:aws:logs:us-east-1:123456789012:log-group:/cairn/prod/audit-trail", retention_days: 365}
role_arn:
  description: The delivery role.
  returned: when state=present
  type: str
bucket_policy_statements:
  description:
    - The statements the audit bucket's policy needs so CloudTrail can write to it (for this trail only).
      Pass them to M(cairn.platform.s3_buckets) C(extra_policy_statements).
  returned: when state=present
  type: list
  elements: dict
waited_seconds:
  description: Seconds spent waiting for a new delivery role to become usable.
  returned: always
  type: float
"""

import json
import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import IamRoleConverger
from ansible_collections.cairn.platform.plugins.module_utils.logs import LogGroupConverger, check_retention_days
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.s3 import check_bucket_name
from ansible_collections.cairn.platform.plugins.module_utils.policy import normalize_policy
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "audit"
RESOURCE_TYPE = "cloudtrail_trail"
ROLE_POLICY_NAME = "cloudwatch-logs-delivery"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str"),
    s3_bucket_name=dict(type="str"),
    s3_key_prefix=dict(type="str", no_log=False),
    kms_key_arn=dict(type="str", no_log=False),
    log_group_name=dict(type="str"),
    log_retention_days=dict(type="int", default=365),
    log_group_kms_key_arn=dict(type="str", no_log=False),
    data_event_bucket_arns=dict(type="list", elements="str", default=[]),
    wait_timeout=dict(type="int", default=120),
)

# ---------------------------------------------------------------------------------------------
# Pure checks and builders (no API call; unit-tested directly)
# ---------------------------------------------------------------------------------------------
# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
_TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,126}[A-Za-z0-9]$")
_TRAIL_ADJACENT = re.compile(r"[._\-]{2}")
_IP_SHAPED = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_S3_BUCKET_ARN = re.compile(r"^arn:aws[a-z\-]*:s3:::([^/]+)/?$")
# A key ARN, not an alias: CloudTrail and CloudWatch Logs report the key ARN, so an alias would read as drift.
_KMS_ARN = re.compile(r"^arn:(aws[a-z\-]*):kms:([a-z0-9\-]+):(\d{12}):key/[A-Za-z0-9\-]+$")
_LOG_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
# Advanced event selectors allow 500 values across all conditions of a trail; two go to the fixed fields.
MAX_DATA_EVENT_BUCKETS = 498


def check_trail_name(name):
    if not isinstance(name, str) or not _TRAIL_NAME.match(name):
        raise InputError(
            "name: {0!r} is not a CloudTrail trail name (3 to 128 letters, digits, dots, underscores and hyphens, "
            "starting and ending with a letter or digit).".format(name))
    if _TRAIL_ADJACENT.search(name):
        raise InputError("name: {0!r} has adjacent dots, underscores or hyphens, which CloudTrail does not allow.".format(name))
    if _IP_SHAPED.match(name):
        raise InputError("name: {0!r} is shaped like an IP address, which CloudTrail does not allow.".format(name))


def check_kms_key_arn(field, arn, region):
    if arn == UNKNOWN:
        return  # a key an earlier task plans to create (check mode)
    match = _KMS_ARN.match(arn or "")
    if not match:
        raise InputError("{0}: {1!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias, "
                         "because CloudTrail and CloudWatch Logs report the key ARN).".format(field, arn))
    if match.group(2) != region:
        raise InputError("{0}: the key is in {1}; the trail, its bucket and log group are in {2}. Use a key of {2}.".format(
            field, match.group(2), region))


def build_spec(params, region):
    """All checks that need no API call, in the order a person reads the options."""
    name = params.get("name") or "cairn-{0}-audit".format(params["environment"])
    check_trail_name(name)
    spec = {"state": params["state"], "name": name, "wait_timeout": params["wait_timeout"]}
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    spec["log_group_name"] = params.get("log_group_name") or "/cairn/{0}/audit-trail".format(params["environment"])
    if not _LOG_GROUP_NAME.match(spec["log_group_name"]):
        raise InputError("log_group_name: {0!r} is not a valid log group name (1 to 512 letters, digits and . - _ / #).".format(
            spec["log_group_name"]))
    if params["state"] == "absent":
        return spec
    for field in ("s3_bucket_name", "kms_key_arn"):
        if not params.get(field):
            raise InputError("{0}: required when state=present.".format(field))
    check_bucket_name("s3_bucket_name", params["s3_bucket_name"])
    prefix = params.get("s3_key_prefix") or ""
    if len(prefix) > 200 or prefix.startswith("/") or prefix.endswith("/"):
        raise InputError("s3_key_prefix: at most 200 characters, without a leading or trailing '/'; got {0!r}.".format(prefix))
    check_kms_key_arn("kms_key_arn", params["kms_key_arn"], region)
    log_key = params.get("log_group_kms_key_arn") or params["kms_key_arn"]
    check_kms_key_arn("log_group_kms_key_arn", log_key, region)
    check_retention_days("log_retention_days", params["log_retention_days"])
    buckets = []
    for index, arn in enumerate(params["data_event_bucket_arns"]):
        field = "data_event_bucket_arns[{0}]".format(index)
        match = _S3_BUCKET_ARN.match(arn or "")
        if not match:
            raise InputError("{0}: {1!r} is not an S3 bucket ARN (arn:aws:s3:::<bucket>); S3 data events are selected "
                             "by bucket.".format(field, arn))
        check_bucket_name(field, match.group(1))
        if match.group(1) in buckets:
            raise InputError("{0}: bucket {1} is listed twice.".format(field, match.group(1)))
        buckets.append(match.group(1))
    if len(buckets) > MAX_DATA_EVENT_BUCKETS:
        raise InputError("data_event_bucket_arns: at most {0} buckets fit in a trail's event selectors; got {1}.".format(
            MAX_DATA_EVENT_BUCKETS, len(buckets)))
    spec.update(s3_bucket_name=params["s3_bucket_name"], s3_key_prefix=prefix, kms_key_arn=params["kms_key_arn"],
                log_group_kms_key_arn=log_key, log_retention_days=params["log_retention_days"],
                data_event_arns=[arn.rstrip("/") for arn in params["data_event_bucket_arns"]])
    return spec


def trail_arn(partition, region, account_id, name):
    return "arn:{0}:cloudtrail:{1}:{2}:trail/{3}".format(partition, region, account_id, name)


def role_name(trail_name):
    return (trail_name + "-cloudwatch-logs")[:64]


def bucket_policy_statements(partition, account_id, bucket, prefix, source_arn):
    """What CloudTrail needs on the audit bucket, for this trail only (aws:SourceArn)."""
    bucket_arn = "arn:{0}:s3:::{1}".format(partition, bucket)
    logs_path = "{0}/{1}AWSLogs/{2}/*".format(bucket_arn, prefix + "/" if prefix else "", account_id)
    principal = {"Service": "cloudtrail.amazonaws.com"}
    return [
        {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": principal, "Action": "s3:GetBucketAcl",
         "Resource": bucket_arn, "Condition": {"StringEquals": {"aws:SourceArn": source_arn}}},
        {"Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
         "Resource": logs_path,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": source_arn}}},
    ]


def trust_policy(source_arn):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceArn": source_arn}}}]}


def delivery_policy(log_group_arn):
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DeliverToTheAuditLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": log_group_arn + ":log-stream:*"}]}


def advanced_event_selectors(data_event_arns):
    selectors = [{"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    if data_event_arns:
        selectors.append({"Name": "S3 data events of the sensitive buckets", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": sorted(arn + "/" for arn in data_event_arns)},
        ]})
    return selectors


def normalize_selectors(selectors):
    """Selectors compared by meaning: order of selectors, fields and values does not matter."""
    normalized = []
    for selector in selectors or []:
        fields = []
        for field in selector.get("FieldSelectors") or []:
            item = {"Field": field.get("Field")}
            for operator, values in field.items():
                if operator != "Field" and values:
                    item[operator] = sorted(values)
            fields.append(item)
        normalized.append({"Name": selector.get("Name"), "FieldSelectors": sorted(fields, key=lambda f: json.dumps(f, sort_keys=True))})
    return sorted(normalized, key=lambda s: json.dumps(s, sort_keys=True))


def statement_key(statement):
    """A statement's meaning without its Sid, to find it in a policy whatever its name."""
    normalized = normalize_policy({"Statement": [statement]})["Statement"][0]
    normalized.pop("Sid", None)
    return json.dumps(normalized, sort_keys=True)


def missing_statements(policy, required):
    present = {statement_key(s) for s in (normalize_policy(policy)["Statement"] if policy else [])}
    return [statement for statement in required if statement_key(statement) not in present]


def trail_settings_from_api(trail):
    return {
        "s3_bucket_name": trail.get("S3BucketName"),
        "s3_key_prefix": trail.get("S3KeyPrefix") or "",
        "include_global_service_events": bool(trail.get("IncludeGlobalServiceEvents")),
        "is_multi_region_trail": bool(trail.get("IsMultiRegionTrail")),
        "log_file_validation_enabled": bool(trail.get("LogFileValidationEnabled")),
        "kms_key_arn": trail.get("KmsKeyId"),
        "cloudwatch_logs_log_group_arn": trail.get("CloudWatchLogsLogGroupArn"),
        "cloudwatch_logs_role_arn": trail.get("CloudWatchLogsRoleArn"),
    }


def trail_settings_to_api(settings):
    return dict(
        S3BucketName=settings["s3_bucket_name"], S3KeyPrefix=settings["s3_key_prefix"],
        IncludeGlobalServiceEvents=settings["include_global_service_events"],
        IsMultiRegionTrail=settings["is_multi_region_trail"],
        EnableLogFileValidation=settings["log_file_validation_enabled"], KmsKeyId=settings["kms_key_arn"],
        CloudWatchLogsLogGroupArn=settings["cloudwatch_logs_log_group_arn"],
        CloudWatchLogsRoleArn=settings["cloudwatch_logs_role_arn"],
    )


# CloudTrail's answers while a role created moments ago is not yet assumable.
ROLE_NOT_READY = ("InvalidCloudWatchLogsRoleArnException", "InvalidCloudWatchLogsLogGroupArnException")


class AuditTrailConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.cloudtrail = cm.client("cloudtrail")
        self.region = cm.connection.region
        self.partition = cm.partition()
        self.clock = WaitClock(spec["wait_timeout"])
        self.retry_delay = 5
        self.log_groups = LogGroupConverger(cm, self.owner, self.plan)
        self.roles = IamRoleConverger(cm, self.owner, self.plan)
        self.role_name = role_name(spec["name"])
        self.trail = None
        self.trail_tags = {}
        self.status = {}
        self.selectors = None

    @property
    def arn(self):
        return trail_arn(self.partition, self.region, self.cm.account_id(), self.spec["name"])

    # ---- reading -------------------------------------------------------------------------
    def read_trail(self):
        name = self.spec["name"]
        with self.cm.doing("reading trail " + name):
            try:
                self.trail = self.cloudtrail.get_trail(Name=name)["Trail"]
            except Exception as exc:
                if error_code(exc) != "TrailNotFoundException":
                    raise
                return
            tag_lists = self.cloudtrail.list_tags(ResourceIdList=[self.trail["TrailARN"]]).get("ResourceTagList", [])
            self.trail_tags = boto3_tag_list_to_dict(tag_lists[0].get("TagsList") if tag_lists else [])
            if self.owned() and self.home_region() == self.region:
                self.status = self.cloudtrail.get_trail_status(Name=name)
                self.selectors = self.cloudtrail.get_event_selectors(TrailName=name)

    def owned(self):
        return self.trail is not None and self.owner.owns(self.trail_tags)

    def home_region(self):
        return self.trail.get("HomeRegion") or self.region

    def read_bucket(self):
        """(exists, region, policy or None) of the audit bucket."""
        s3 = self.cm.client("s3")
        bucket = self.spec["s3_bucket_name"]
        with self.cm.doing("looking up the audit bucket " + bucket):
            try:
                head = s3.head_bucket(Bucket=bucket)
            except Exception as exc:
                if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                    return False, None, None
                if error_code(exc) in ("403", "AccessDenied", "Forbidden"):
                    raise CairnError("s3_bucket_name: bucket {0} exists but this account cannot read it; the audit "
                                     "bucket must belong to this account.".format(bucket))
                raise
            try:
                policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
            except Exception as exc:
                if error_code(exc) != "NoSuchBucketPolicy":
                    raise
                policy = None
        return True, head.get("BucketRegion"), policy

    # ---- checks before any write ------------------------------------------------------------
    def check_trail(self):
        if self.trail is None:
            return
        name = self.spec["name"]
        if not self.owned():
            raise CairnError("name: trail {0} exists without the ownership tags of stack {1} (component {2}); "
                             "cairn.platform never takes over a trail it does not own. Choose another name or tag it "
                             "by hand to adopt it.".format(name, self.owner.stack, COMPONENT))
        if self.home_region() != self.region:
            raise CairnError("name: trail {0} is managed from its home region {1}; run this module for the stack of "
                             "{1}, not {2}.".format(name, self.home_region(), self.region))

    def check_bucket(self, statements):
        exists, region, policy = self.read_bucket()
        bucket = self.spec["s3_bucket_name"]
        problem = None
        if not exists:
            problem = "the audit bucket {0} does not exist; create it first with cairn.platform.s3_buckets".format(bucket)
        elif region and region != self.region:
            raise CairnError("s3_bucket_name: bucket {0} is in {1}; the audit bucket must be in the trail's home region "
                             "{2}.".format(bucket, region, self.region))
        else:
            missing = missing_statements(policy, statements)
            if missing:
                problem = ("the policy of the audit bucket {0} does not let CloudTrail write for this trail; add "
                           "bucket_policy_statements to its extra_policy_statements (missing: {1})".format(
                               bucket, json.dumps(missing, sort_keys=True)))
        if problem is None:
            return
        if self.cm.check_mode:
            # The s3_buckets task before this one did not write in check mode either.
            self.cm.module.warn("s3_bucket_name: " + problem + "; a real run fails here unless that is done.")
            return
        raise CairnError("s3_bucket_name: " + problem + ".", bucket_policy_statements=statements)

    # ---- converging --------------------------------------------------------------------------
    def desired_settings(self, log_group_arn, role_arn):
        return {
            "s3_bucket_name": self.spec["s3_bucket_name"],
            "s3_key_prefix": self.spec["s3_key_prefix"],
            "include_global_service_events": True,
            "is_multi_region_trail": True,
            "log_file_validation_enabled": True,
            "kms_key_arn": self.spec["kms_key_arn"],
            "cloudwatch_logs_log_group_arn": log_group_arn + ":*",
            "cloudwatch_logs_role_arn": role_arn,
        }

    def present(self):
        spec = self.spec
        source_arn = self.arn
        statements = bucket_policy_statements(self.partition, self.cm.account_id(), spec["s3_bucket_name"],
                                              spec["s3_key_prefix"], source_arn)
        self.read_trail()
        self.check_trail()
        self.check_bucket(statements)
        self.log_groups.check_owned(spec["log_group_name"])
        self.roles.check_owned(self.role_name)

        role_is_new = self.roles.read(self.role_name).role is None
        log_group_arn = self.log_groups.ensure(spec["log_group_name"], spec["log_retention_days"],
                                               kms_key_id=spec["log_group_kms_key_arn"], field="log_group_name")
        role_arn = self.roles.ensure(self.role_name, trust_policy(source_arn),
                                     inline_policies={ROLE_POLICY_NAME: delivery_policy(log_group_arn)},
                                     description="CloudTrail delivers trail {0} to CloudWatch Logs".format(spec["name"]))
        desired = self.desired_settings(log_group_arn, role_arn)
        selectors = advanced_event_selectors(spec["data_event_arns"])
        desired_tags = self.owner.desired_tags()
        if self.trail is None:
            self.create(desired, selectors, desired_tags, retry=role_is_new)
        else:
            self.update(desired, selectors, desired_tags)
        return self.result(desired, selectors, log_group_arn, role_arn, statements)

    def create(self, settings, selectors, tags, retry):
        name = self.spec["name"]
        shown = dict(settings, advanced_event_selectors=normalize_selectors(selectors), is_logging=True, tags=tags)
        if not self.plan.create(RESOURCE_TYPE, name, shown):
            return
        kwargs = dict(trail_settings_to_api(settings), Name=name, TagsList=dict_to_boto3_tag_list(tags))
        with self.cm.doing("creating trail " + name):
            if retry:
                self.clock.poll(lambda: self.try_create(kwargs), "the new delivery role {0} to be usable by CloudTrail".format(
                    self.role_name), delay=self.retry_delay)
            else:
                self.cloudtrail.create_trail(**kwargs)
            self.cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=selectors)
            self.cloudtrail.start_logging(Name=name)

    def try_create(self, kwargs):
        """Create the trail; False while IAM has not yet propagated a role created moments ago."""
        try:
            self.cloudtrail.create_trail(**kwargs)
        except Exception as exc:
            if error_code(exc) in ROLE_NOT_READY and self.clock.remaining() > 0:
                return False
            raise
        return True

    def update(self, settings, selectors, tags):
        name = self.spec["name"]
        current = trail_settings_from_api(self.trail)
        if current != settings and self.plan.update(RESOURCE_TYPE, name, current, settings):
            with self.cm.doing("updating trail " + name):
                self.cloudtrail.update_trail(Name=name, **trail_settings_to_api(settings))
        current_selectors = normalize_selectors((self.selectors or {}).get("AdvancedEventSelectors"))
        basic = (self.selectors or {}).get("EventSelectors") or []
        wanted = normalize_selectors(selectors)
        if basic or current_selectors != wanted:
            before = {"advanced_event_selectors": current_selectors}
            if basic:
                before["event_selectors"] = basic
            after = {"advanced_event_selectors": wanted}
            if basic:
                after["event_selectors"] = None  # advanced selectors replace the basic ones
            if self.plan.update(RESOURCE_TYPE, name, before, after):
                with self.cm.doing("writing the event selectors of trail " + name):
                    self.cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=selectors)
        apply_tag_changes(
            self.cm, self.plan, self.owner, RESOURCE_TYPE, name, self.trail_tags, tags,
            action="tagging trail " + name,
            add=lambda to_set: self.cloudtrail.add_tags(ResourceId=self.trail["TrailARN"], TagsList=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.cloudtrail.remove_tags(ResourceId=self.trail["TrailARN"], TagsList=[{"Key": key} for key in to_remove]))
        if not self.status.get("IsLogging") and self.plan.update(RESOURCE_TYPE, name, {"is_logging": False}, {"is_logging": True}):
            with self.cm.doing("starting the logging of trail " + name):
                self.cloudtrail.start_logging(Name=name)

    def absent(self):
        name = self.spec["name"]
        self.read_trail()
        if self.trail is not None and self.owned():
            self.check_trail()  # a trail homed elsewhere is deleted from its home region, with its role
        if self.trail is not None and self.owned():
            if self.plan.delete(RESOURCE_TYPE, name, {"arn": self.trail["TrailARN"]}):
                with self.cm.doing("deleting trail " + name):
                    self.cloudtrail.delete_trail(Name=name)
        elif self.trail is not None:
            self.cm.module.warn("name: trail {0} is not owned by stack {1} here; it was left alone.".format(name, self.owner.stack))
        self.roles.delete(self.role_name)
        self.log_groups.delete(self.spec["log_group_name"])
        return {"waited_seconds": round(self.clock.waited, 1)}

    def result(self, settings, selectors, log_group_arn, role_arn, statements):
        # Planned in check mode; a real run has made it so.
        trail = dict(settings, name=self.spec["name"], arn=self.arn, home_region=self.region, is_logging=True)
        return {
            "trail": trail,
            "advanced_event_selectors": selectors,
            "log_group": {"name": self.spec["log_group_name"], "arn": log_group_arn,
                          "retention_days": self.spec["log_retention_days"]},
            "role_arn": role_arn,
            "bucket_policy_statements": statements,
            "waited_seconds": round(self.clock.waited, 1),
        }


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        converger = AuditTrailConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

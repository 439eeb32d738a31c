#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_buckets
short_description: Converge the S3 buckets of one region stack, secure by default, with check mode
version_added: 0.1.0
description:
  - Creates, updates or deletes a list of S3 buckets of one region stack as one unit, with a plan
    of every change. Unlike C(amazon.aws.s3_bucket), check mode and diff mode work.
  - Every bucket gets the public access block (all four settings on), C(BucketOwnerEnforced) object
    ownership (ACLs off), default encryption (SSE-KMS with a bucket key when O(buckets[].kms_key_arn)
    is set, else SSE-S3) and, by default, versioning and a TLS-only bucket policy.
  - Optional per bucket, lifecycle rules, server access logging, cross-region replication, object lock
    default retention and extra bucket policy statements (for example the statements CloudTrail needs
    to write to an audit bucket).
  - Every aspect is read back and compared by meaning (policies semantically, lifecycle rules
    normalized), so a change made by hand is reported in the plan and repaired.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - The default state of every listed bucket. A bucket's own O(buckets[].state) wins.
      - V(absent) deletes the listed buckets the stack owns, under the rules of O(buckets[].force).
    type: str
    choices: [present, absent]
    default: present
  component:
    description:
      - The C(cairn:component) ownership tag of the buckets, for example V(storage) for the data
        tier or V(audit) for the audit and access-log buckets of the security baseline.
      - O(purge_buckets) only considers buckets of this component, so two calls for different
        components never delete each other's buckets.
    type: str
    default: storage
  purge_buckets:
    description:
      - Delete the buckets of this stack and component (found by their ownership tags in this
        region) that are not listed.
      - A purged bucket is deleted only when it is empty (no object versions, no delete markers);
        otherwise the module fails before any write. List it with O(buckets[].state=absent) and
        O(buckets[].force=true) to delete its contents too.
    type: bool
    default: false
  buckets:
    description:
      - The buckets of the stack.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The full bucket name. Checked against the AWS naming rules before any API call
            (3 to 63 characters of lowercase letters, digits, dots and hyphens; starting and
            ending with a letter or digit; no C(..); not shaped like an IP address; no reserved
            prefix C(xn--), C(sthree-), C(amzn-s3-demo-); no reserved suffix C(-s3alias),
            C(--ol-s3), C(.mrap), C(--x-s3), C(--table-s3)).
          - A name that belongs to another AWS account, or a bucket of this account without this
            stack's ownership tags, is refused with an error; it is never adopted.
        type: str
        required: true
      state:
        description:
          - V(present) or V(absent). Defaults to O(state).
          - V(absent) deletes the bucket only when the stack owns it, and only when it is empty or
            O(buckets[].force=true).
        type: str
        choices: [present, absent]
      force:
        description:
          - With O(buckets[].state=absent), delete every object version and delete marker first.
          - Object lock retention is never bypassed; locked versions make the deletion fail.
        type: bool
        default: false
      versioning:
        description:
          - Keep versioning enabled. V(false) suspends it on a bucket where it was enabled (S3 cannot
            turn versioning off once on). Must stay V(true) with O(buckets[].object_lock).
        type: bool
        default: true
      kms_key_arn:
        description:
          - ARN of a KMS key (or key alias) in the bucket's region for default SSE-KMS encryption with
            S3 Bucket Keys. Unset means SSE-S3 (AES256).
        type: str
      tls_only:
        description:
          - Add the two deny statements of a TLS-only bucket policy. Requests without TLS
            (C(aws:SecureTransport) false) and with TLS older than 1.2 (C(s3:TlsVersion) below 1.2)
            are denied.
        type: bool
        default: true
      extra_policy_statements:
        description:
          - Statements added to the bucket policy, for example CloudTrail's or a log delivery
            service's. Each needs Effect, Principal, Action (or NotAction) and Resource naming this bucket.
          - The module owns the whole bucket policy. Statements that are not generated or listed
            here (added by hand, say) are removed, except those O(buckets[].keep_policy_statements) names.
          - The Sids C(DenyInsecureTransport), C(DenyOutdatedTls) and those starting with
            C(S3ServerAccessLogs) are reserved.
        type: list
        elements: dict
        default: []
      keep_policy_statements:
        description:
          - Sids of bucket policy statements that another module manages, for example the Origin Access
            Control statement M(cairn.platform.cloudfront_distribution) writes into the bucket it serves.
          - Statements of the bucket's current policy with one of these Sids are kept exactly as found and no
            change is planned for them; the module neither adds, changes nor removes them. A Sid that is not in
            the policy keeps nothing.
          - An entry ending in C(*) keeps every Sid that starts with the text before it (for example
            V(CloudFrontOAC*)).
          - Must not name a statement of O(buckets[].extra_policy_statements) or one the module generates.
        type: list
        elements: str
        default: []
      access_logging:
        description:
          - Server access logging to a target bucket in the same region and account.
          - When the target bucket is listed in the same call, its policy gets the statement that
            lets C(logging.s3.amazonaws.com) write there, restricted to the source buckets and this account.
        type: dict
        suboptions:
          target_bucket:
            description: The bucket the access logs go to.
            type: str
            required: true
          prefix:
            description: Key prefix of the log objects. Defaults to C(<name>/).
            type: str
      replication:
        description:
          - Replication of new object versions to other buckets, typically the same bucket of the DR
            region stack (cross-region replication). Written after every listed bucket exists, with
            access logging.
          - Unset means leave the bucket's replication configuration alone, as O(tags) unset leaves tags
            alone. V(rules=[]) (or V({})) removes it.
          - Needs O(buckets[].versioning=true). S3 also needs versioning on the destination buckets and
            refuses the configuration while a destination bucket is missing, so the destination stack
            converges first.
          - When the bucket uses SSE-KMS (O(buckets[].kms_key_arn)), every rule replicates SSE-KMS
            encrypted objects (C(SourceSelectionCriteria)) and needs
            O(buckets[].replication.rules[].destination_kms_key_arn); without SSE-KMS that option must
            stay unset.
          - Compared by meaning with what S3 reports (an empty filter, a missing storage class and
            disabled criteria read as the defaults), so a rerun writes nothing. The module owns the whole
            configuration; rules not listed are removed.
          - Checked before any API call. ARNs may be the placeholder V((known after apply\)) of a
            resource an earlier task only planned in check mode.
        type: dict
        suboptions:
          role_arn:
            description:
              - ARN of the IAM role S3 assumes to replicate (C(arn:aws:iam::<account>:role/<path><name>)).
                Required when O(buckets[].replication.rules) is not empty.
            type: str
          rules:
            description:
              - The replication rules. An empty list removes the replication configuration.
              - At most 1000 rules, each with a unique id and a unique priority.
            type: list
            elements: dict
            default: []
            suboptions:
              id:
                description: Unique rule id (1 to 255 characters).
                type: str
                required: true
              prefix:
                description: Key prefix of the objects the rule replicates. Empty means the whole bucket.
                type: str
                default: ""
              destination_bucket_arn:
                description:
                  - ARN of the destination bucket (C(arn:aws:s3:::<name>)), with versioning enabled.
                type: str
                required: true
              destination_kms_key_arn:
                description:
                  - ARN of the KMS key in the destination region that S3 encrypts the replicas with
                    (C(ReplicaKmsKeyID)), for example a multi-Region replica key.
                  - Required when the bucket uses SSE-KMS; must stay unset otherwise.
                type: str
              storage_class:
                description: Storage class of the replicas.
                type: str
                default: STANDARD
                choices: [STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE]
              replicate_deletes:
                description: Replicate delete markers (C(DeleteMarkerReplication)), so a deleted object reads as deleted in the replica too.
                type: bool
                default: true
              replication_time_minutes:
                description:
                  - Turn on S3 Replication Time Control with its replication metrics. S3 offers one value,
                    V(15) (99.99% of objects replicated within 15 minutes, events for late ones).
                  - Unset means no RTC and no metrics.
                type: int
              priority:
                description:
                  - Which rule wins when the prefixes of two rules overlap (the higher number). 0 or more,
                    unique across the rules.
                  - Defaults to the rule's position counted from the end, so the first listed rule wins
                    (with three rules, 3, 2 and 1).
                type: int
      object_lock:
        description:
          - Object lock with a default retention for new object versions.
          - Object lock can only be turned on when a bucket is created. For an existing bucket without
            it the module fails before any write; create a new bucket instead.
          - Leaving it unset on a bucket that has object lock removes the default retention (object
            lock itself stays on; S3 cannot turn it off).
        type: dict
        suboptions:
          mode:
            description: V(GOVERNANCE) (users with a special permission may shorten or remove it) or V(COMPLIANCE) (nobody can).
            type: str
            choices: [GOVERNANCE, COMPLIANCE]
            required: true
          days:
            description: Default retention in days (1 to 36500). Give O(buckets[].object_lock.days) or O(buckets[].object_lock.years).
            type: int
          years:
            description: Default retention in years (1 to 100).
            type: int
      lifecycle_rules:
        description:
          - The complete list of lifecycle rules; rules not listed are removed, an empty list removes them all.
          - Checked before any API call. Transitions go only down the S3 storage-class waterfall, in
            increasing days. STANDARD_IA and ONEZONE_IA come no earlier than day 30. An object stays in a class for
            at least the class's minimum storage duration before the next transition (30 days
            after STANDARD_IA and ONEZONE_IA, 90 days after GLACIER_IR and GLACIER). Expiration
            comes after the last transition.
        type: list
        elements: dict
        default: []
        suboptions:
          id:
            description: Unique rule id (1 to 255 characters).
            type: str
            required: true
          prefix:
            description: Key prefix the rule applies to. Empty means the whole bucket.
            type: str
            default: ""
          enabled:
            description: Whether the rule is enabled.
            type: bool
            default: true
          transitions:
            description: Storage class transitions of current versions.
            type: list
            elements: dict
            default: []
            suboptions:
              days:
                description: Days after object creation.
                type: int
                required: true
              storage_class:
                description: Target storage class.
                type: str
                required: true
                choices: [STANDARD_IA, INTELLIGENT_TIERING, ONEZONE_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE]
          expiration_days:
            description: Days after creation when current versions expire.
            type: int
          noncurrent_expiration_days:
            description: Days after a version becomes noncurrent when it is deleted.
            type: int
          abort_incomplete_multipart_days:
            description: Days after which incomplete multipart uploads are aborted.
            type: int
      tags:
        description:
          - Tags of this bucket, merged over the module's O(tags). Ownership tags always win.
        type: dict
notes:
  - Lookups are one C(HeadBucket) and one C(GetBucketTagging) per listed bucket, then one read per
    aspect only for the buckets the stack owns; a rerun with the same input makes no mutating call.
  - A new bucket is tagged right after C(CreateBucket). If a run is interrupted between the two
    calls, the next run refuses the untagged bucket; tag it by hand (or delete it) to continue.
  - In check mode a missing bucket is planned as created; whether its name is free in the global
    S3 namespace is only known when the real run creates it.
  - O(purge_buckets) lists this region's buckets (C(ListBuckets) with C(BucketRegion)) and reads the
    tags of each one that is not listed.
  - S3 Control (account-level public access block, access points) is not used.
  - Replication is configured, not checked end to end. S3 reports a failed replication (a destination key the
    role may not use, a destination without versioning after the fact) only per object
    (C(ReplicationStatus) C(FAILED)) and in the replication metrics of O(buckets[].replication.rules[].replication_time_minutes).
  - The emulator (moto) stores the replication configuration but copies no object, and its
    C(GetBucketReplication) answers every rule with an empty prefix filter and delete marker replication
    C(Disabled) and without C(SourceSelectionCriteria), whatever was written. The emulator tests cover the
    settings it keeps; botocore Stubber tests cover the request shapes S3 validates (C(ReplicaKmsKeyID) with
    C(SseKmsEncryptedObjects), RTC with metrics, a V2 filter with delete marker replication and a priority)
    and S3's own answers read back as no change.
  - Tested against moto. Where moto differs from S3, botocore Stubber tests cover the real answers
    (a bucket of another account answers C(HeadBucket) with 403; C(CreateBucket) with
    C(BucketAlreadyExists)). moto stores the public access block but does not enforce it, and it
    evaluates a deny on C(aws:SecureTransport) for every object call, so the tests read the TLS-only
    policy back rather than writing objects into such a bucket.
seealso:
  - name: Bucket naming rules
    description: The AWS rules the module checks before any call.
    link: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  - name: Lifecycle transition constraints
    description: Supported transitions and minimum days.
    link: https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
"""

EXAMPLES = r"""
- name: Audit and access-log buckets of the security baseline
  cairn.platform.s3_buckets:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    component: audit
    buckets:
      - name: cairn-prod-use1-access-logs
        lifecycle_rules:
          - id: expire-access-logs
            expiration_days: 365
            abort_incomplete_multipart_days: 7
      - name: cairn-prod-use1-audit
        kms_key_arn: "{{ cairn_kms.keys.logs.arn }}"
        access_logging:
          target_bucket: cairn-prod-use1-access-logs
        object_lock:
          mode: COMPLIANCE
          years: 1
        extra_policy_statements: "{{ audit_trail_plan.bucket_policy_statements }}"
        lifecycle_rules:
          - id: archive-audit-logs
            transitions:
              - {days: 90, storage_class: GLACIER}
              - {days: 180, storage_class: DEEP_ARCHIVE}
            expiration_days: 2557
            noncurrent_expiration_days: 30
  register: audit_buckets

- name: Uploads bucket replicated to the DR region (the DR stack's bucket must exist, versioned)
  cairn.platform.s3_buckets:
    environment: prod
    stack: prod-us-east-1
    buckets:
      - name: cairn-prod-123456789012-us-east-1-uploads
        kms_key_arn: "{{ cairn_security.kms_keys.s3.arn }}"
        replication:
          role_arn: "{{ cairn_security.iam_roles['prod-us-east-1-s3-replication'].arn }}"
          rules:
            - id: uploads-to-dr
              destination_bucket_arn: "arn:aws:s3:::cairn-prod-123456789012-us-west-2-uploads"
              destination_kms_key_arn: "{{ dr_s3_key_arn }}"
              replication_time_minutes: 15

- name: Stop replicating (an unset replication option would leave it alone)
  cairn.platform.s3_buckets:
    environment: prod
    stack: prod-us-east-1
    buckets:
      - name: cairn-prod-123456789012-us-east-1-uploads
        kms_key_arn: "{{ cairn_security.kms_keys.s3.arn }}"
        replication: {}

- name: Plan only; check mode never writes
  cairn.platform.s3_buckets:
    environment: dev
    stack: dev-us-east-1
    buckets:
      - name: cairn-dev-use1-uploads
  check_mode: true
  diff: true

- name: Delete a bucket and every version in it
  cairn.platform.s3_buckets:
    environment: dev
    stack: dev-us-east-1
    buckets:
      - name: cairn-dev-use1-scratch
        state: absent
        force: true
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: s3_bucket
      resource: cairn-prod-use1-uploads
      fields: {versioning: {before: Suspended, after: Enabled}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
buckets:
  description: The listed buckets, in the order given, and the purged ones.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Bucket name., type: str, returned: always}
    arn: {description: Bucket ARN., type: str, returned: always}
    region: {description: The bucket's region., type: str, returned: always}
    state: {description: V(present) or V(absent) after the run (planned in check mode)., type: str, returned: always}
    versioning: {description: C(Enabled) or C(Suspended) (null when never enabled)., type: str, returned: when present}
    encryption: {description: C(aws:kms) or C(AES256)., type: str, returned: when present}
    kms_key_arn: {description: "The SSE-KMS key, or null.", type: str, returned: when present}
    object_lock_enabled: {description: Whether object lock is on., type: bool, returned: when present}
    access_logging_target: {description: "The access-log target bucket, or null.", type: str, returned: when present}
    replication:
      description:
        - "The replication configuration as the module compares it: C(role_arn) and C(rules) (sorted by id, with
          the derived C(sse_kms_encrypted_objects) and C(metrics_minutes)), or null when removed."
      type: dict
      returned: when present and O(buckets[].replication) is set
  sample:
    - name: cairn-prod-use1-audit
      arn: "arn:aws:s3:::cairn-prod-use1-audit"
      region: us-east-1
      state: present
      versioning: Enabled
      encryption: "aws:kms"
      kms_key_arn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      object_lock_enabled: true
      access_logging_target: cairn-prod-use1-access-logs
bucket_arns:
  description: ARN of every present bucket, by name.
  returned: always
  type: dict
  sample: {cairn-prod-use1-audit: "arn:aws:s3:::cairn-prod-use1-audit"}
"""

import json
import re

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.policy import load_policy, normalize_policy, policies_equal, to_json
from ansible_collections.cairn.platform.plugins.module_utils.s3 import check_bucket_name
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    Ownership,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
    plan_tag_changes,
)

DEFAULT_COMPONENT = "storage"
RESOURCE_TYPE = "s3_bucket"
STORAGE_CLASSES = ("STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
REPLICA_STORAGE_CLASSES = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    component=dict(type="str", default=DEFAULT_COMPONENT),
    purge_buckets=dict(type="bool", default=False),
    buckets=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            versioning=dict(type="bool", default=True),
            kms_key_arn=dict(type="str", no_log=False),
            tls_only=dict(type="bool", default=True),
            extra_policy_statements=dict(type="list", elements="dict", default=[]),
            keep_policy_statements=dict(type="list", elements="str", default=[]),
            access_logging=dict(
                type="dict",
                options=dict(target_bucket=dict(type="str", required=True), prefix=dict(type="str")),
            ),
            replication=dict(
                type="dict",
                options=dict(
                    role_arn=dict(type="str"),
                    rules=dict(
                        type="list",
                        elements="dict",
                        default=[],
                        options=dict(
                            id=dict(type="str", required=True),
                            prefix=dict(type="str", default=""),
                            destination_bucket_arn=dict(type="str", required=True),
                            destination_kms_key_arn=dict(type="str", no_log=False),
                            storage_class=dict(type="str", default="STANDARD", choices=list(REPLICA_STORAGE_CLASSES)),
                            replicate_deletes=dict(type="bool", default=True),
                            replication_time_minutes=dict(type="int"),
                            priority=dict(type="int"),
                        ),
                    ),
                ),
            ),
            object_lock=dict(
                type="dict",
                options=dict(
                    mode=dict(type="str", required=True, choices=["GOVERNANCE", "COMPLIANCE"]),
                    days=dict(type="int"),
                    years=dict(type="int"),
                ),
            ),
            lifecycle_rules=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    id=dict(type="str", required=True),
                    prefix=dict(type="str", default=""),
                    enabled=dict(type="bool", default=True),
                    transitions=dict(
                        type="list",
                        elements="dict",
                        default=[],
                        options=dict(
                            days=dict(type="int", required=True),
                            storage_class=dict(type="str", required=True, choices=list(STORAGE_CLASSES)),
                        ),
                    ),
                    expiration_days=dict(type="int"),
                    noncurrent_expiration_days=dict(type="int"),
                    abort_incomplete_multipart_days=dict(type="int"),
                ),
            ),
            tags=dict(type="dict"),
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# Pure checks (no API call; unit-tested directly)
# ---------------------------------------------------------------------------------------------
_KMS_ARN = re.compile(r"^arn:(aws[a-z\-]*):kms:([a-z0-9\-]+):(\d{12}):(key/[A-Za-z0-9\-]+|alias/[A-Za-z0-9/_\-]+)$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/([\w+=,.@\-]+/)*[\w+=,.@\-]{1,64}$")
_BUCKET_ARN = re.compile(r"^arn:aws[a-z\-]*:s3:::(.*)$")

# The S3 storage-class waterfall: where a lifecycle transition may go next.
NEXT_CLASSES = {
    "STANDARD_IA": ("INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"),
    "INTELLIGENT_TIERING": ("ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"),
    "ONEZONE_IA": ("GLACIER", "DEEP_ARCHIVE"),
    "GLACIER_IR": ("GLACIER", "DEEP_ARCHIVE"),
    "GLACIER": ("DEEP_ARCHIVE",),
    "DEEP_ARCHIVE": (),
}
# S3 refuses a transition into these classes before day 30.
FIRST_DAY = {"STANDARD_IA": 30, "ONEZONE_IA": 30}
# Minimum storage duration: the days an object stays in a class before it may move on.
MIN_STAY = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90}
MAX_RETENTION_DAYS = 36500
MAX_RETENTION_YEARS = 100
MAX_POLICY_BYTES = 20 * 1024
MAX_LIFECYCLE_RULES = 1000
MAX_REPLICATION_RULES = 1000
# S3 Replication Time Control has a single setting.
RTC_MINUTES = 15

TLS_SIDS = ("DenyInsecureTransport", "DenyOutdatedTls")
LOG_DELIVERY_SID = "S3ServerAccessLogs"
LOG_DELIVERY_PRINCIPAL = "logging.s3.amazonaws.com"
OWNERSHIP = "BucketOwnerEnforced"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def check_kms_key_arn(field, arn, region=None):
    """A KMS key (or alias) ARN; in `region` when one is given."""
    if arn == UNKNOWN:
        return  # a key an earlier task plans to create (check mode)
    match = _KMS_ARN.match(arn or "")
    if not match:
        raise InputError(
            "{0}: {1!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, or an alias ARN).".format(field, arn)
        )
    if region and match.group(2) != region:
        raise InputError(
            "{0}: the key is in {1} but the bucket is in {2}; S3 encrypts only with a key of the bucket's "
            "region (use a multi-Region replica key there).".format(field, match.group(2), region)
        )


def check_days(field, value, minimum):
    if value is not None and value < minimum:
        raise InputError("{0}: must be at least {1} day{2}; got {3}.".format(field, minimum, "" if minimum == 1 else "s", value))


def check_transitions(field, transitions):
    """Transitions in increasing days, down the waterfall, with each class kept its minimum stay."""
    previous = None
    for index, transition in enumerate(transitions):
        here = "{0}[{1}]".format(field, index)
        days, storage_class = transition["days"], transition["storage_class"]
        if storage_class not in STORAGE_CLASSES:
            raise InputError("{0}.storage_class: {1!r} is not a lifecycle storage class; use one of {2}.".format(
                here, storage_class, ", ".join(STORAGE_CLASSES)))
        check_days(here + ".days", days, FIRST_DAY.get(storage_class, 0))
        if previous is not None:
            if days <= previous["days"]:
                raise InputError("{0}.days: transitions must be listed in increasing days; {1} ({2}) comes after "
                                 "day {3} ({4}).".format(here, days, storage_class, previous["days"], previous["storage_class"]))
            if storage_class not in NEXT_CLASSES[previous["storage_class"]]:
                allowed = NEXT_CLASSES[previous["storage_class"]]
                raise InputError("{0}.storage_class: S3 cannot move objects from {1} to {2}; after {1} only {3}.".format(
                    here, previous["storage_class"], storage_class, ", ".join(allowed) if allowed else "expiration"))
            stay = MIN_STAY.get(previous["storage_class"], 0)
            if days - previous["days"] < stay:
                raise InputError(
                    "{0}.days: objects must stay at least {1} days in {2} (its minimum storage duration) before moving "
                    "to {3}; day {4} is only {5} days after day {6}.".format(
                        here, stay, previous["storage_class"], storage_class, days, days - previous["days"], previous["days"]))
        previous = transition


def check_lifecycle_rules(field, rules):
    if len(rules) > MAX_LIFECYCLE_RULES:
        raise InputError("{0}: S3 allows at most {1} lifecycle rules; got {2}.".format(field, MAX_LIFECYCLE_RULES, len(rules)))
    seen = set()
    for index, rule in enumerate(rules):
        here = "{0}[{1}]".format(field, index)
        if not rule["id"] or len(rule["id"]) > 255:
            raise InputError("{0}.id: must be 1 to 255 characters; got {1!r}.".format(here, rule["id"]))
        if rule["id"] in seen:
            raise InputError("{0}.id: {1!r} is used by two rules; rule ids must be unique.".format(here, rule["id"]))
        seen.add(rule["id"])
        if len(rule.get("prefix") or "") > 1024:
            raise InputError("{0}.prefix: S3 allows at most 1024 characters.".format(here))
        transitions = rule.get("transitions") or []
        check_transitions(here + ".transitions", transitions)
        check_days(here + ".expiration_days", rule.get("expiration_days"), 1)
        check_days(here + ".noncurrent_expiration_days", rule.get("noncurrent_expiration_days"), 1)
        check_days(here + ".abort_incomplete_multipart_days", rule.get("abort_incomplete_multipart_days"), 1)
        if transitions and rule.get("expiration_days") is not None and rule["expiration_days"] <= transitions[-1]["days"]:
            raise InputError("{0}.expiration_days: {1} must come after the last transition (day {2}).".format(
                here, rule["expiration_days"], transitions[-1]["days"]))
        if not (transitions or any(rule.get(key) is not None for key in (
                "expiration_days", "noncurrent_expiration_days", "abort_incomplete_multipart_days"))):
            raise InputError("{0}: the rule has no action; give transitions, expiration_days, noncurrent_expiration_days "
                             "or abort_incomplete_multipart_days.".format(here))


def check_object_lock(field, lock):
    days, years = lock.get("days"), lock.get("years")
    if (days is None) == (years is None):
        raise InputError("{0}: give exactly one of days or years for the default retention.".format(field))
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise InputError("{0}.days: must be 1 to {1}; got {2}.".format(field, MAX_RETENTION_DAYS, days))
    if years is not None and not 1 <= years <= MAX_RETENTION_YEARS:
        raise InputError("{0}.years: must be 1 to {1}; got {2}.".format(field, MAX_RETENTION_YEARS, years))


def check_role_arn(field, arn):
    if arn == UNKNOWN:
        return  # a role an earlier task plans to create (check mode)
    if not isinstance(arn, str) or not _ROLE_ARN.match(arn):
        raise InputError("{0}: {1!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<path><name>).".format(field, arn))


def check_bucket_arn(field, arn, source):
    if arn == UNKNOWN:
        return  # a bucket an earlier task plans to create (check mode)
    match = _BUCKET_ARN.match(arn or "")
    if not match:
        raise InputError("{0}: {1!r} is not an S3 bucket ARN (arn:aws:s3:::<bucket name>).".format(field, arn))
    check_bucket_name(field, match.group(1))
    if match.group(1) == source:
        raise InputError("{0}: bucket {1} cannot replicate into itself; name the bucket of the destination "
                         "stack.".format(field, source))


def check_replication(field, item):
    """Check buckets[].replication and fill in the default priorities; nothing to check when it removes replication."""
    replication = item.get("replication")
    rules = (replication or {}).get("rules") or []
    if not rules:
        return
    here = field + ".replication"
    if not item["versioning"]:
        raise InputError("{0}: S3 replicates only from a bucket with versioning enabled; versioning cannot be false "
                         "with replication rules.".format(here))
    if not replication.get("role_arn"):
        raise InputError("{0}.role_arn: required with replication rules; it is the IAM role S3 assumes to "
                         "replicate.".format(here))
    check_role_arn(here + ".role_arn", replication["role_arn"])
    if len(rules) > MAX_REPLICATION_RULES:
        raise InputError("{0}.rules: S3 allows at most {1} replication rules; got {2}.".format(here, MAX_REPLICATION_RULES, len(rules)))
    sse_kms = bool(item.get("kms_key_arn"))
    ids, priorities = {}, {}
    for index, rule in enumerate(rules):
        rule_field = "{0}.rules[{1}]".format(here, index)
        if not rule["id"] or len(rule["id"]) > 255:
            raise InputError("{0}.id: must be 1 to 255 characters; got {1!r}.".format(rule_field, rule["id"]))
        if rule["id"] in ids:
            raise InputError("{0}.id: {1!r} is also the id of rules[{2}]; rule ids must be unique.".format(rule_field, rule["id"], ids[rule["id"]]))
        ids[rule["id"]] = index
        if len(rule.get("prefix") or "") > 1024:
            raise InputError("{0}.prefix: S3 allows at most 1024 characters.".format(rule_field))
        check_bucket_arn(rule_field + ".destination_bucket_arn", rule["destination_bucket_arn"], item["name"])
        key = rule.get("destination_kms_key_arn")
        if sse_kms and not key:
            raise InputError("{0}.destination_kms_key_arn: bucket {1} uses SSE-KMS, and S3 replicates SSE-KMS objects only "
                             "with a replica key in the destination region (ReplicaKmsKeyID); give its ARN.".format(rule_field, item["name"]))
        if key and not sse_kms:
            raise InputError("{0}.destination_kms_key_arn: bucket {1} uses SSE-S3, so there are no SSE-KMS objects to "
                             "re-encrypt and S3 refuses a replica key without them; remove it, or set kms_key_arn on the "
                             "bucket.".format(rule_field, item["name"]))
        if key:
            check_kms_key_arn(rule_field + ".destination_kms_key_arn", key)
        minutes = rule.get("replication_time_minutes")
        if minutes is not None and minutes != RTC_MINUTES:
            raise InputError("{0}.replication_time_minutes: S3 Replication Time Control has one setting, {1} minutes; "
                             "got {2}. Leave it unset for replication without RTC.".format(rule_field, RTC_MINUTES, minutes))
        if rule.get("priority") is None:
            rule["priority"] = len(rules) - index
        elif rule["priority"] < 0:
            raise InputError("{0}.priority: must be 0 or more; got {1}.".format(rule_field, rule["priority"]))
        if rule["priority"] in priorities:
            raise InputError("{0}.priority: {1} is also the priority of rules[{2}] (unset priorities count down from the "
                             "number of rules); S3 needs a unique priority per rule.".format(
                                 rule_field, rule["priority"], priorities[rule["priority"]]))
        priorities[rule["priority"]] = index


def _as_list(value):
    return value if isinstance(value, list) else [value]


def check_policy_statements(field, name, statements):
    """Each statement is one S3 would accept in this bucket's policy."""
    own_resource = re.compile(r"^arn:aws[a-z\-]*:s3:::" + re.escape(name) + r"(/.*)?$")
    sids = set()
    for index, statement in enumerate(statements):
        here = "{0}[{1}]".format(field, index)
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise InputError("{0}.Effect: must be Allow or Deny; got {1!r}.".format(here, statement.get("Effect")))
        for one_of in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
            if not any(statement.get(key) for key in one_of):
                raise InputError("{0}: a bucket policy statement needs {1}.".format(here, " or ".join(one_of)))
        for resource in _as_list(statement.get("Resource") or statement.get("NotResource")):
            if not isinstance(resource, str) or not own_resource.match(resource):
                raise InputError("{0}.Resource: {1!r} is not this bucket (arn:aws:s3:::{2} or arn:aws:s3:::{2}/...); "
                                 "S3 refuses a bucket policy naming other resources.".format(here, resource, name))
        sid = statement.get("Sid")
        if sid is not None:
            if _is_reserved_sid(sid):
                raise InputError("{0}.Sid: {1!r} is reserved for the statements the module generates.".format(here, sid))
            if sid in sids:
                raise InputError("{0}.Sid: {1!r} is used twice; S3 requires unique Sids.".format(here, sid))
            sids.add(sid)


def _is_reserved_sid(sid):
    return sid in TLS_SIDS or str(sid).startswith(LOG_DELIVERY_SID)


def sid_kept(sid, patterns):
    """True when `sid` is one of `patterns` (exact Sids, or prefixes ending in *)."""
    if not isinstance(sid, str):
        return False
    for pattern in patterns or []:
        if pattern.endswith("*") and sid.startswith(pattern[:-1]):
            return True
        if sid == pattern:
            return True
    return False


def check_keep_policy_statements(field, patterns, extra_statements):
    """The Sids another module manages: plain Sids or prefixes ending in *, none the module writes itself."""
    for index, pattern in enumerate(patterns):
        here = "{0}[{1}]".format(field, index)
        bare = pattern[:-1] if isinstance(pattern, str) and pattern.endswith("*") else pattern
        if not isinstance(pattern, str) or not bare or "*" in bare:
            raise InputError("{0}: {1!r} is not a statement Sid (or a Sid prefix followed by a single * at the "
                             "end).".format(here, pattern))
        if pattern.endswith("*"):
            reserved = [sid for sid in TLS_SIDS + (LOG_DELIVERY_SID,) if sid.startswith(bare) or bare.startswith(LOG_DELIVERY_SID)]
        else:
            reserved = [pattern] if _is_reserved_sid(pattern) else []
        if reserved:
            raise InputError("{0}: {1!r} would keep {2}, a statement the module generates itself.".format(
                here, pattern, ", ".join(reserved)))
        for position, statement in enumerate(extra_statements or []):
            if sid_kept(statement.get("Sid"), [pattern]):
                raise InputError("{0}: {1!r} names extra_policy_statements[{2}] ({3}); a statement is either "
                                 "written by this module or kept for another one, not both.".format(
                                     here, pattern, position, statement.get("Sid")))


def kept_statements(policy_document, patterns):
    """The statements of the current policy (as read, unchanged) whose Sids another module manages."""
    if not policy_document or not patterns:
        return []
    statements = policy_document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    return [statement for statement in statements if sid_kept(statement.get("Sid"), patterns)]


def bucket_arn(partition, name):
    return "arn:{0}:s3:::{1}".format(partition, name)


def tls_statements(arn):
    # Principal {"AWS": "*"} means everyone, as Principal "*" does (CDK's enforceSSL writes it this way).
    resources = [arn, arn + "/*"]
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": resources,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": resources,
         "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]


def log_delivery_statements(partition, target, sources_by_prefix, account_id):
    """One statement per prefix: logging.s3.amazonaws.com may write there for these source buckets of this account."""
    statements = []
    for index, prefix in enumerate(sorted(sources_by_prefix)):
        statements.append({
            "Sid": "{0}{1}".format(LOG_DELIVERY_SID, index + 1),
            "Effect": "Allow",
            "Principal": {"Service": LOG_DELIVERY_PRINCIPAL},
            "Action": "s3:PutObject",
            "Resource": "{0}/{1}*".format(bucket_arn(partition, target), prefix),
            "Condition": {
                "ArnLike": {"aws:SourceArn": sorted(bucket_arn(partition, source) for source in sources_by_prefix[prefix])},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        })
    return statements


def bucket_user_tags(module_tags, bucket_tags):
    if module_tags is None and bucket_tags is None:
        return None
    tags = dict(module_tags or {})
    tags.update(bucket_tags or {})
    return tags


def build_spec(params, region):
    """All checks that need no API call, in the order a person reads the options."""
    spec = {"state": params["state"], "component": params["component"], "purge_buckets": params["purge_buckets"],
            "buckets": []}
    if not params["component"] or not re.match(r"^[a-z0-9][a-z0-9\-]*$", params["component"]):
        raise InputError("component: use lowercase letters, digits and hyphens, for example storage or audit; "
                         "got {0!r}.".format(params["component"]))
    names = {}
    for index, bucket in enumerate(params["buckets"] or []):
        field = "buckets[{0}]".format(index)
        name = bucket["name"]
        check_bucket_name(field + ".name", name)
        if name in names:
            raise InputError("{0}.name: {1!r} is listed twice (also buckets[{2}]).".format(field, name, names[name]))
        names[name] = index
        item = dict(bucket, field=field, state=bucket.get("state") or params["state"])
        try:
            item["ownership"] = Ownership(params["environment"], params["stack"], params["component"],
                                          user_tags=bucket_user_tags(params.get("tags"), bucket.get("tags")),
                                          purge_tags=params["purge_tags"])
            item["desired_tags"] = item["ownership"].desired_tags()
        except InputError as exc:
            raise InputError("{0}: {1}".format(field, exc.message))
        if item["state"] == "present":
            check_present_bucket(field, item, region)
        spec["buckets"].append(item)
    for item in spec["buckets"]:
        logging = item.get("access_logging") if item["state"] == "present" else None
        if logging:
            target = logging["target_bucket"]
            if target in names and spec["buckets"][names[target]]["state"] == "absent":
                raise InputError("{0}.access_logging.target_bucket: {1} is listed with state absent; keep it, or log "
                                 "elsewhere.".format(item["field"], target))
    return spec


def check_present_bucket(field, item, region):
    if item.get("kms_key_arn"):
        check_kms_key_arn(field + ".kms_key_arn", item["kms_key_arn"], region)
    if item.get("object_lock"):
        check_object_lock(field + ".object_lock", item["object_lock"])
        if not item["versioning"]:
            raise InputError("{0}.versioning: object lock needs versioning; it cannot be false with object_lock.".format(field))
    logging = item.get("access_logging")
    if logging:
        check_bucket_name(field + ".access_logging.target_bucket", logging["target_bucket"])
        if logging["target_bucket"] == item["name"]:
            raise InputError("{0}.access_logging.target_bucket: a bucket cannot log into itself (every log write would "
                             "log again); use a separate access-log bucket.".format(field))
        if logging.get("prefix") is None:
            logging["prefix"] = item["name"] + "/"
        if len(logging["prefix"]) > 1024:
            raise InputError("{0}.access_logging.prefix: S3 allows at most 1024 characters.".format(field))
    check_lifecycle_rules(field + ".lifecycle_rules", item.get("lifecycle_rules") or [])
    check_replication(field, item)
    check_policy_statements(field + ".extra_policy_statements", item["name"], item.get("extra_policy_statements") or [])
    check_keep_policy_statements(field + ".keep_policy_statements", item.get("keep_policy_statements") or [],
                                 item.get("extra_policy_statements") or [])


# ---------------------------------------------------------------------------------------------
# Desired and current aspects, in one normalized shape (pure)
# ---------------------------------------------------------------------------------------------
def desired_encryption(kms_key_arn):
    if kms_key_arn:
        return {"sse_algorithm": "aws:kms", "kms_key_arn": kms_key_arn, "bucket_key_enabled": True}
    return {"sse_algorithm": "AES256"}


def encryption_from_api(configuration):
    rules = (configuration or {}).get("Rules") or []
    if not rules:
        return None
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    if default.get("SSEAlgorithm") == "AES256":
        return {"sse_algorithm": "AES256"}
    return {"sse_algorithm": default.get("SSEAlgorithm"), "kms_key_arn": default.get("KMSMasterKeyID"),
            "bucket_key_enabled": bool(rules[0].get("BucketKeyEnabled"))}


def encryption_to_api(encryption):
    default = {"SSEAlgorithm": encryption["sse_algorithm"]}
    rule = {"ApplyServerSideEncryptionByDefault": default}
    if encryption.get("kms_key_arn"):
        default["KMSMasterKeyID"] = encryption["kms_key_arn"]
        rule["BucketKeyEnabled"] = True
    return {"Rules": [rule]}


def desired_lifecycle(rules):
    normalized = [{
        "id": rule["id"],
        "prefix": rule.get("prefix") or "",
        "enabled": rule.get("enabled", True),
        "transitions": [{"days": t["days"], "storage_class": t["storage_class"]} for t in rule.get("transitions") or []],
        "expiration_days": rule.get("expiration_days"),
        "noncurrent_expiration_days": rule.get("noncurrent_expiration_days"),
        "abort_incomplete_multipart_days": rule.get("abort_incomplete_multipart_days"),
    } for rule in rules]
    return sorted(normalized, key=lambda rule: rule["id"]) or None


# Parts of a rule this module does not write; a rule carrying any of them differs from every desired rule.
_KNOWN_RULE_KEYS = ("ID", "Status", "Filter", "Prefix", "Transitions", "Expiration", "NoncurrentVersionExpiration",
                    "AbortIncompleteMultipartUpload")


def lifecycle_rule_from_api(rule):
    filter_ = rule.get("Filter") or {}
    prefix = filter_.get("Prefix", rule.get("Prefix", ""))
    normalized = {
        "id": rule.get("ID"),
        "prefix": prefix or "",
        "enabled": rule.get("Status") == "Enabled",
        "transitions": sorted(({"days": t.get("Days"), "storage_class": t.get("StorageClass")} for t in rule.get("Transitions") or []),
                              key=lambda t: (t["days"] is None, t["days"])),
        "expiration_days": (rule.get("Expiration") or {}).get("Days"),
        "noncurrent_expiration_days": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
        "abort_incomplete_multipart_days": (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"),
    }
    other = {key: value for key, value in rule.items() if key not in _KNOWN_RULE_KEYS}
    other_filter = {key: value for key, value in filter_.items() if key != "Prefix"}
    if other_filter:
        other["Filter"] = other_filter
    extra_expiration = {k: v for k, v in (rule.get("Expiration") or {}).items() if k != "Days" and v}
    extra_noncurrent = {k: v for k, v in (rule.get("NoncurrentVersionExpiration") or {}).items() if k != "NoncurrentDays" and v}
    for key, value in (("Expiration", extra_expiration), ("NoncurrentVersionExpiration", extra_noncurrent)):
        if value:
            other[key] = value
    if other:
        normalized["unmanaged"] = json.loads(json.dumps(other, default=str))
    return normalized


def lifecycle_from_api(rules):
    return sorted((lifecycle_rule_from_api(rule) for rule in rules or []), key=lambda rule: str(rule["id"])) or None


def lifecycle_to_api(rules):
    api_rules = []
    for rule in rules:
        api_rule = {"ID": rule["id"], "Status": "Enabled" if rule["enabled"] else "Disabled", "Filter": {"Prefix": rule["prefix"]}}
        if rule["transitions"]:
            api_rule["Transitions"] = [{"Days": t["days"], "StorageClass": t["storage_class"]} for t in rule["transitions"]]
        if rule["expiration_days"] is not None:
            api_rule["Expiration"] = {"Days": rule["expiration_days"]}
        if rule["noncurrent_expiration_days"] is not None:
            api_rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_expiration_days"]}
        if rule["abort_incomplete_multipart_days"] is not None:
            api_rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule["abort_incomplete_multipart_days"]}
        api_rules.append(api_rule)
    return {"Rules": api_rules}


def desired_object_lock(lock, currently_enabled):
    retention = None
    if lock:
        retention = {"mode": lock["mode"], "days": lock.get("days"), "years": lock.get("years")}
    return {"enabled": bool(lock) or currently_enabled, "retention": retention}


def object_lock_from_api(configuration):
    configuration = configuration or {}
    retention = (configuration.get("Rule") or {}).get("DefaultRetention")
    normalized_retention = None
    if retention:
        # S3 answers the unset one of Days/Years as absent, moto as 0.
        normalized_retention = {"mode": retention.get("Mode"), "days": retention.get("Days") or None,
                                "years": retention.get("Years") or None}
    return {"enabled": configuration.get("ObjectLockEnabled") == "Enabled", "retention": normalized_retention}


def object_lock_to_api(lock):
    configuration = {"ObjectLockEnabled": "Enabled"}
    retention = lock.get("retention")
    if retention:
        default = {"Mode": retention["mode"]}
        if retention.get("days"):
            default["Days"] = retention["days"]
        else:
            default["Years"] = retention["years"]
        configuration["Rule"] = {"DefaultRetention": default}
    return configuration


def logging_from_api(response):
    enabled = (response or {}).get("LoggingEnabled")
    if not enabled:
        return None
    return {"target_bucket": enabled.get("TargetBucket"), "prefix": enabled.get("TargetPrefix") or ""}


def desired_versioning(wanted, current):
    if wanted:
        return "Enabled"
    # S3 cannot turn versioning off, only suspend it.
    return "Suspended" if current == "Enabled" else current


def _enabled(setting):
    return (setting or {}).get("Status") == "Enabled"


def desired_replication(replication, source_sse_kms):
    """The configuration to have, in the shape replication_from_api reads; None removes it."""
    rules = (replication or {}).get("rules") or []
    if not rules:
        return None
    normalized = [{
        "id": rule["id"],
        "priority": rule["priority"],
        "prefix": rule.get("prefix") or "",
        "enabled": True,
        "destination_bucket_arn": rule["destination_bucket_arn"],
        "destination_kms_key_arn": rule.get("destination_kms_key_arn") or None,
        "storage_class": rule.get("storage_class") or "STANDARD",
        "replicate_deletes": rule.get("replicate_deletes", True),
        "replication_time_minutes": rule.get("replication_time_minutes"),
        # S3 requires the metrics with RTC; the module turns them on together.
        "metrics_minutes": rule.get("replication_time_minutes"),
        "sse_kms_encrypted_objects": bool(source_sse_kms),
    } for rule in rules]
    return {"role_arn": replication["role_arn"], "rules": sorted(normalized, key=lambda rule: rule["id"])}


# Parts of a replication rule this module writes; anything else makes a rule differ from every desired one.
_KNOWN_REPLICATION_KEYS = ("ID", "Priority", "Status", "Filter", "Prefix", "DeleteMarkerReplication", "SourceSelectionCriteria",
                           "ExistingObjectReplication", "Destination")
_KNOWN_DESTINATION_KEYS = ("Bucket", "StorageClass", "EncryptionConfiguration", "ReplicationTime", "Metrics")


def replication_rule_from_api(rule):
    destination = rule.get("Destination") or {}
    filter_ = rule.get("Filter") or {}
    criteria = rule.get("SourceSelectionCriteria") or {}
    rtc, metrics = destination.get("ReplicationTime") or {}, destination.get("Metrics") or {}
    normalized = {
        "id": rule.get("ID"),
        "priority": rule.get("Priority"),
        # S3 answers an empty prefix filter as Filter {} or Filter {Prefix: ""}.
        "prefix": filter_.get("Prefix", rule.get("Prefix")) or "",
        "enabled": rule.get("Status") == "Enabled",
        "destination_bucket_arn": destination.get("Bucket"),
        "destination_kms_key_arn": (destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID") or None,
        "storage_class": destination.get("StorageClass") or "STANDARD",
        "replicate_deletes": _enabled(rule.get("DeleteMarkerReplication")),
        "replication_time_minutes": (rtc.get("Time") or {}).get("Minutes") if _enabled(rtc) else None,
        "metrics_minutes": (metrics.get("EventThreshold") or {}).get("Minutes") if _enabled(metrics) else None,
        "sse_kms_encrypted_objects": _enabled(criteria.get("SseKmsEncryptedObjects")),
    }
    other = {key: value for key, value in rule.items() if key not in _KNOWN_REPLICATION_KEYS}
    if "Filter" not in rule:
        # A V1 rule: S3 replicates its delete markers by other rules than the V2 rule this module writes.
        other["Filter"] = None
    other_filter = {key: value for key, value in filter_.items() if key != "Prefix"}
    if other_filter:
        other["Filter"] = other_filter
    other_destination = {key: value for key, value in destination.items() if key not in _KNOWN_DESTINATION_KEYS}
    if other_destination:
        other["Destination"] = other_destination
    # Disabled is what an absent setting means.
    other_criteria = {key: value for key, value in criteria.items() if key != "SseKmsEncryptedObjects" and _enabled(value)}
    if other_criteria:
        other["SourceSelectionCriteria"] = other_criteria
    if _enabled(rule.get("ExistingObjectReplication")):
        other["ExistingObjectReplication"] = rule["ExistingObjectReplication"]
    if other:
        normalized["unmanaged"] = json.loads(json.dumps(other, default=str))
    return normalized


def replication_from_api(configuration):
    rules = (configuration or {}).get("Rules") or []
    if not rules:
        return None
    return {"role_arn": configuration.get("Role"),
            "rules": sorted((replication_rule_from_api(rule) for rule in rules), key=lambda rule: str(rule["id"]))}


def replication_to_api(replication):
    """The V2 configuration (with Filter), which needs DeleteMarkerReplication and Priority in every rule."""
    api_rules = []
    for rule in replication["rules"]:
        destination = {"Bucket": rule["destination_bucket_arn"], "StorageClass": rule["storage_class"]}
        if rule["destination_kms_key_arn"]:
            destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": rule["destination_kms_key_arn"]}
        if rule["replication_time_minutes"]:
            destination["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": rule["replication_time_minutes"]}}
        if rule["metrics_minutes"]:
            destination["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": rule["metrics_minutes"]}}
        api_rule = {
            "ID": rule["id"],
            "Priority": rule["priority"],
            "Status": "Enabled" if rule["enabled"] else "Disabled",
            "Filter": {"Prefix": rule["prefix"]},
            "DeleteMarkerReplication": {"Status": "Enabled" if rule["replicate_deletes"] else "Disabled"},
            "Destination": destination,
        }
        if rule["sse_kms_encrypted_objects"]:
            api_rule["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
        api_rules.append(api_rule)
    return {"Role": replication["role_arn"], "Rules": api_rules}


# ---------------------------------------------------------------------------------------------
# The converger
# ---------------------------------------------------------------------------------------------
# Reads that answer "not configured" with an error code rather than an empty answer.
NOT_CONFIGURED = ("NoSuchTagSet", "NoSuchBucketPolicy", "ServerSideEncryptionConfigurationNotFoundError",
                  "NoSuchPublicAccessBlockConfiguration", "OwnershipControlsNotFoundError",
                  "ObjectLockConfigurationNotFoundError", "NoSuchLifecycleConfiguration",
                  "ReplicationConfigurationNotFoundError")


class BucketState:
    """A bucket as read: whether it exists, where, its tags and, when the stack owns it, every aspect."""

    def __init__(self, name):
        self.name = name
        self.exists = False
        self.foreign = False  # exists but HeadBucket says another account (403)
        self.region = None
        self.tags = {}
        self.owned = False
        self.aspects = {}
        self.policy_document = None  # the policy as read (not normalized), for the statements kept as found


class S3BucketsConverger:
    """Reads the listed buckets (and, for purge, the stack's others), refuses what it must, then converges.

    Aspects are converged in two passes: everything a bucket needs on its own first, then access
    logging, which needs the target bucket's policy in place, and replication, which needs versioning.
    Replication is an aspect only when its option is set (unset leaves it alone).
    """

    FIRST_PASS = ("public_access_block", "ownership_controls", "encryption", "versioning", "object_lock", "policy", "lifecycle")
    SECOND_PASS = ("logging", "replication")

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.s3 = cm.client("s3")
        self.region = cm.connection.region
        self.partition = cm.partition()
        self.states = {}
        self.purged = []
        self.created = set()
        self.desired = {}

    # ---- reading -------------------------------------------------------------------------
    def call(self, action, operation, **kwargs):
        """One S3 read; the 'not configured' answers become None."""
        with self.cm.doing(action):
            try:
                return getattr(self.s3, operation)(**kwargs)
            except Exception as exc:
                if error_code(exc) in NOT_CONFIGURED:
                    return None
                raise

    def head(self, name):
        state = BucketState(name)
        with self.cm.doing("looking up bucket " + name):
            try:
                response = self.s3.head_bucket(Bucket=name)
            except Exception as exc:
                code = error_code(exc)
                if code in ("404", "NoSuchBucket", "NotFound"):
                    return state
                if code in ("403", "AccessDenied", "Forbidden"):
                    state.exists = state.foreign = True
                    return state
                raise
        state.exists = True
        state.region = response.get("BucketRegion") or response["ResponseMetadata"].get("HTTPHeaders", {}).get("x-amz-bucket-region")
        tagging = self.call("reading the tags of bucket " + name, "get_bucket_tagging", Bucket=name)
        state.tags = boto3_tag_list_to_dict((tagging or {}).get("TagSet"))
        return state

    def read_aspects(self, state, replication_managed):
        name = state.name
        aspects = state.aspects
        what = "reading the {0} of bucket " + name
        versioning = self.call(what.format("versioning"), "get_bucket_versioning", Bucket=name) or {}
        aspects["versioning"] = versioning.get("Status")
        encryption = self.call(what.format("encryption"), "get_bucket_encryption", Bucket=name) or {}
        aspects["encryption"] = encryption_from_api(encryption.get("ServerSideEncryptionConfiguration"))
        block = self.call(what.format("public access block"), "get_public_access_block", Bucket=name) or {}
        aspects["public_access_block"] = block.get("PublicAccessBlockConfiguration")
        controls = self.call(what.format("ownership controls"), "get_bucket_ownership_controls", Bucket=name) or {}
        rules = (controls.get("OwnershipControls") or {}).get("Rules") or []
        aspects["ownership_controls"] = rules[0].get("ObjectOwnership") if rules else None
        policy = self.call(what.format("policy"), "get_bucket_policy", Bucket=name)
        aspects["policy"] = normalize_policy(policy["Policy"], "the policy of bucket " + name) if policy else None
        state.policy_document = load_policy(policy["Policy"], "the policy of bucket " + name) if policy else None
        aspects["logging"] = logging_from_api(self.call(what.format("logging"), "get_bucket_logging", Bucket=name))
        lock = self.call(what.format("object lock configuration"), "get_object_lock_configuration", Bucket=name) or {}
        aspects["object_lock"] = object_lock_from_api(lock.get("ObjectLockConfiguration"))
        lifecycle = self.call(what.format("lifecycle rules"), "get_bucket_lifecycle_configuration", Bucket=name) or {}
        aspects["lifecycle"] = lifecycle_from_api(lifecycle.get("Rules"))
        if replication_managed:
            replication = self.call(what.format("replication configuration"), "get_bucket_replication", Bucket=name) or {}
            aspects["replication"] = replication_from_api(replication.get("ReplicationConfiguration"))

    def read(self):
        for item in self.spec["buckets"]:
            state = self.head(item["name"])
            state.owned = state.exists and not state.foreign and item["ownership"].owns(state.tags)
            # An absent bucket needs no aspects read, only (later) whether it is empty.
            if item["state"] == "present" and state.owned and state.region in (None, self.region):
                self.read_aspects(state, item.get("replication") is not None)
            self.states[item["name"]] = state
        if self.spec["purge_buckets"]:
            self.read_purge_candidates()

    def read_purge_candidates(self):
        owner = Ownership(self.cm.params["environment"], self.cm.params["stack"], self.spec["component"])
        with self.cm.doing("listing the buckets of " + self.region):
            buckets = paginate(self.s3, "list_buckets", "Buckets", BucketRegion=self.region)
        for bucket in sorted(buckets, key=lambda b: b["Name"]):
            if bucket["Name"] in self.states:
                continue
            tagging = self.call("reading the tags of bucket " + bucket["Name"], "get_bucket_tagging", Bucket=bucket["Name"])
            if owner.owns(boto3_tag_list_to_dict((tagging or {}).get("TagSet"))):
                self.purged.append(bucket["Name"])

    def has_objects(self, name):
        """True when any object version or delete marker is left (a versioned bucket keeps them after deletes)."""
        with self.cm.doing("checking whether bucket {0} is empty".format(name)):
            response = self.s3.list_object_versions(Bucket=name, MaxKeys=1)
        return bool(response.get("Versions") or response.get("DeleteMarkers"))

    # ---- checks before any write ------------------------------------------------------------
    def preflight(self):
        keep_targets = {}
        for item in self.spec["buckets"]:
            state = self.states[item["name"]]
            if item["state"] == "present":
                self.check_present(item, state)
                if item.get("access_logging"):
                    keep_targets.setdefault(item["access_logging"]["target_bucket"], item["field"])
            elif state.exists and state.owned and not item["force"] and self.has_objects(item["name"]):
                raise CairnError("{0}: bucket {1} is not empty (object versions or delete markers remain); set force: true "
                                 "to delete them with the bucket, or empty it first.".format(item["field"], item["name"]))
        for name in self.purged:
            if name in keep_targets:
                raise CairnError("purge_buckets: bucket {0} is not listed but {1} logs into it; list it, or log "
                                 "elsewhere.".format(name, keep_targets[name]))
            if self.has_objects(name):
                raise CairnError("purge_buckets: bucket {0} of stack {1} is not listed and not empty; list it with "
                                 "state absent and force true to delete it with its contents, or keep it "
                                 "listed.".format(name, self.cm.params["stack"]))
        for item in self.spec["buckets"]:
            if item["state"] == "present":
                self.desired[item["name"]] = self.desired_aspects(item)

    def check_present(self, item, state):
        name, field = item["name"], item["field"]
        if state.foreign:
            raise CairnError("{0}.name: bucket {1} exists but this account cannot read it: it belongs to another AWS "
                             "account (bucket names are global). Choose another name.".format(field, name))
        if not state.exists:
            return
        if state.region and state.region != self.region:
            raise CairnError("{0}.name: bucket {1} exists in {2}, but this stack is in {3}; a bucket cannot move "
                             "regions. Choose another name.".format(field, name, state.region, self.region))
        if not state.owned:
            found = {k: v for k, v in state.tags.items() if k.startswith("cairn:")}
            raise CairnError(
                "{0}.name: bucket {1} exists in this account without the ownership tags of stack {2} and component {3} "
                "(its cairn tags: {4}); cairn.platform never takes over a bucket it does not own. If an earlier run "
                "was interrupted right after creating it, tag it by hand; otherwise choose another name.".format(
                    field, name, item["ownership"].stack, item["ownership"].component, found or "none"))
        lock = state.aspects["object_lock"]
        if item.get("object_lock") and not lock["enabled"]:
            raise CairnError("{0}.object_lock: bucket {1} was created without object lock, and S3 can enable it only "
                             "when a bucket is created. Create a new bucket with object_lock, or remove the option.".format(field, name))
        if lock["enabled"] and not item["versioning"]:
            raise CairnError("{0}.versioning: bucket {1} has object lock, which keeps versioning enabled; it cannot "
                             "be false.".format(field, name))

    def log_sources(self):
        """{target: {prefix: [source names]}} for the targets listed in this call."""
        listed = {item["name"] for item in self.spec["buckets"] if item["state"] == "present"}
        sources = {}
        for item in self.spec["buckets"]:
            logging = item.get("access_logging") if item["state"] == "present" else None
            if logging and logging["target_bucket"] in listed:
                sources.setdefault(logging["target_bucket"], {}).setdefault(logging["prefix"], []).append(item["name"])
        return sources

    def desired_policy(self, item):
        arn = bucket_arn(self.partition, item["name"])
        statements = tls_statements(arn) if item["tls_only"] else []
        sources = self.log_sources().get(item["name"])
        if sources:
            statements += log_delivery_statements(self.partition, item["name"], sources, self.cm.account_id())
        statements += item.get("extra_policy_statements") or []
        # Statements another module manages stay exactly as they are (so they never show as a change).
        statements += kept_statements(self.states[item["name"]].policy_document, item.get("keep_policy_statements"))
        if not statements:
            return None
        policy = {"Version": "2012-10-17", "Statement": statements}
        if len(to_json(policy)) > MAX_POLICY_BYTES:
            raise CairnError("{0}.extra_policy_statements: the bucket policy would be {1} bytes; S3 allows {2}.".format(
                item["field"], len(to_json(policy)), MAX_POLICY_BYTES))
        return policy

    def desired_aspects(self, item):
        current = self.states[item["name"]].aspects
        logging = item.get("access_logging")
        aspects = {
            "public_access_block": dict(PUBLIC_ACCESS_BLOCK),
            "ownership_controls": OWNERSHIP,
            "encryption": desired_encryption(item.get("kms_key_arn")),
            "versioning": desired_versioning(item["versioning"], current.get("versioning")),
            "object_lock": desired_object_lock(item.get("object_lock"), (current.get("object_lock") or {}).get("enabled", False)),
            "policy": self.desired_policy(item),
            "lifecycle": desired_lifecycle(item.get("lifecycle_rules") or []),
            "logging": {"target_bucket": logging["target_bucket"], "prefix": logging["prefix"]} if logging else None,
        }
        if item.get("replication") is not None:
            aspects["replication"] = desired_replication(item["replication"], item.get("kms_key_arn"))
        return aspects

    # ---- writing ---------------------------------------------------------------------------
    def write(self, aspect, name, desired):
        doing = "writing the {0} of bucket {1}".format(aspect.replace("_", " "), name)
        with self.cm.doing(doing):
            if aspect == "public_access_block":
                self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=desired)
            elif aspect == "ownership_controls":
                self.s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": desired}]})
            elif aspect == "encryption":
                self.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=encryption_to_api(desired))
            elif aspect == "versioning":
                self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": desired})
            elif aspect == "object_lock":
                self.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=object_lock_to_api(desired))
            elif aspect == "policy":
                if desired:
                    self.s3.put_bucket_policy(Bucket=name, Policy=to_json(desired))
                else:
                    self.s3.delete_bucket_policy(Bucket=name)
            elif aspect == "lifecycle":
                if desired:
                    self.s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=lifecycle_to_api(desired))
                else:
                    self.s3.delete_bucket_lifecycle(Bucket=name)
            elif aspect == "logging":
                status = {"LoggingEnabled": {"TargetBucket": desired["target_bucket"], "TargetPrefix": desired["prefix"]}} if desired else {}
                self.s3.put_bucket_logging(Bucket=name, BucketLoggingStatus=status)
            elif aspect == "replication":
                if desired:
                    self.s3.put_bucket_replication(Bucket=name, ReplicationConfiguration=replication_to_api(desired))
                else:
                    self.s3.delete_bucket_replication(Bucket=name)

    @staticmethod
    def same(aspect, current, desired):
        if aspect == "policy":
            if current is None or desired is None:
                return current is None and desired is None
            return policies_equal(current, desired)
        return current == desired

    @staticmethod
    def shown(aspect, value):
        """An aspect as the plan shows it (policies normalized, so the diff shows what differs)."""
        if aspect == "policy" and value is not None:
            return normalize_policy(value)
        return value

    def create(self, item):
        name = item["name"]
        desired = self.desired[name]
        shown = {aspect: self.shown(aspect, value) for aspect, value in desired.items()}
        shown.update(region=self.region, tags=item["desired_tags"])
        if not self.plan.create(RESOURCE_TYPE, name, shown):
            return
        kwargs = {"Bucket": name, "ObjectOwnership": OWNERSHIP}
        # us-east-1 is the one region that refuses an explicit LocationConstraint.
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if desired["object_lock"]["enabled"]:
            kwargs["ObjectLockEnabledForBucket"] = True
        with self.cm.doing("creating bucket " + name):
            try:
                self.s3.create_bucket(**kwargs)
            except Exception as exc:
                code = error_code(exc)
                if code == "BucketAlreadyExists":
                    raise CairnError("{0}.name: the bucket name {1} is taken by another AWS account (bucket names are global "
                                     "across all accounts); choose another name.".format(item["field"], name), error_code=code)
                if code == "BucketAlreadyOwnedByYou":
                    raise CairnError("{0}.name: bucket {1} appeared in this account while the module ran (created by "
                                     "something else); it is not adopted. Rerun to see whose it is.".format(item["field"], name),
                                     error_code=code)
                raise
            # Tag at once: a run interrupted after this point leaves a bucket the next run knows as its own.
            self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": dict_to_boto3_tag_list(item["desired_tags"])})
        self.created.add(name)
        for aspect in self.FIRST_PASS:
            if self.set_by_create(aspect, desired[aspect]):
                continue
            self.write(aspect, name, desired[aspect])

    @staticmethod
    def set_by_create(aspect, desired):
        """True when a new bucket already has this aspect as desired, so writing it would add nothing."""
        if aspect == "ownership_controls":
            return True  # CreateBucket's ObjectOwnership
        if aspect == "object_lock":
            return not desired["retention"]  # CreateBucket's ObjectLockEnabledForBucket
        return desired is None

    def converge_aspects(self, item, aspects):
        name = item["name"]
        state = self.states[name]
        managed = [aspect for aspect in aspects if aspect in self.desired[name]]
        if not state.exists:
            # Only the second pass comes here: create() wrote the first. Nothing is set on a new bucket yet.
            if name in self.created:
                for aspect in managed:
                    if self.desired[name][aspect] is not None:
                        self.write(aspect, name, self.desired[name][aspect])
            return
        for aspect in managed:
            current, desired = state.aspects.get(aspect), self.desired[name][aspect]
            if self.same(aspect, current, desired):
                continue
            if self.plan.update(RESOURCE_TYPE, name, {aspect: self.shown(aspect, current)}, {aspect: self.shown(aspect, desired)}):
                self.write(aspect, name, desired)

    def reconcile_tags(self, item):
        state = self.states[item["name"]]
        changes = plan_tag_changes(self.plan, item["ownership"], RESOURCE_TYPE, item["name"], state.tags, item["desired_tags"])
        if changes:
            to_set, to_remove = changes
            tags = {k: v for k, v in state.tags.items() if k not in to_remove}
            tags.update(to_set)
            with self.cm.doing("tagging bucket " + item["name"]):
                # PutBucketTagging replaces the whole set.
                self.s3.put_bucket_tagging(Bucket=item["name"], Tagging={"TagSet": dict_to_boto3_tag_list(tags)})

    def delete(self, name, force, field):
        if not self.plan.delete(RESOURCE_TYPE, name, {"arn": bucket_arn(self.partition, name)},
                                note="with every object version" if force else None):
            return
        with self.cm.doing("deleting bucket {0} ({1})".format(name, field)):
            if force:
                self.empty(name)
            self.s3.delete_bucket(Bucket=name)

    def empty(self, name):
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if keys:
                response = self.s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise CairnError("Could not empty bucket {0}: {1} of {2} versions were refused, for example {3} ({4}: {5}); "
                                     "object lock retention is never bypassed.".format(
                                         name, len(response["Errors"]), len(keys), first.get("Key"), first.get("Code"), first.get("Message")))

    # ---- run ---------------------------------------------------------------------------------
    def converge(self):
        self.read()
        self.preflight()
        present = [item for item in self.spec["buckets"] if item["state"] == "present"]
        for item in present:
            if not self.states[item["name"]].exists:
                self.create(item)
            else:
                self.reconcile_tags(item)
                self.converge_aspects(item, self.FIRST_PASS)
        for item in present:
            self.converge_aspects(item, self.SECOND_PASS)
        for item in self.spec["buckets"]:
            state = self.states[item["name"]]
            if item["state"] == "absent":
                if state.exists and state.owned:
                    self.delete(item["name"], item["force"], item["field"])
                elif state.exists:
                    self.cm.module.warn("{0}: bucket {1} exists but is not owned by stack {2}; it was left alone.".format(
                        item["field"], item["name"], item["ownership"].stack))
        for name in self.purged:
            self.delete(name, False, "purge_buckets")
        return self.result()

    def result(self):
        buckets, arns = [], {}
        for item in self.spec["buckets"]:
            name = item["name"]
            arn = bucket_arn(self.partition, name)
            state = self.states[name]
            left_alone = item["state"] == "absent" and state.exists and not state.owned
            entry = {"name": name, "arn": arn, "region": state.region or self.region,
                     "state": "present" if left_alone else item["state"]}
            if item["state"] == "present":
                desired = self.desired[name]
                entry.update(
                    versioning=desired["versioning"],
                    encryption=desired["encryption"]["sse_algorithm"],
                    kms_key_arn=desired["encryption"].get("kms_key_arn"),
                    object_lock_enabled=desired["object_lock"]["enabled"],
                    access_logging_target=(desired["logging"] or {}).get("target_bucket"),
                )
                if "replication" in desired:
                    entry["replication"] = desired["replication"]
                arns[name] = arn
            buckets.append(entry)
        for name in self.purged:
            buckets.append({"name": name, "arn": bucket_arn(self.partition, name), "region": self.region, "state": "absent"})
        return {"buckets": buckets, "bucket_arns": arns}


def main():
    cm = CairnModule(DEFAULT_COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        return S3BucketsConverger(cm, spec).converge()

    cm.run(converge)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_keys
short_description: Converge the customer-managed KMS keys of one region stack, one per data class
version_added: 0.1.0
description:
  - Creates and maintains one symmetric customer-managed KMS key per data class (for example V(rds),
    V(s3), V(logs), V(eks), V(elasticache), V(backup), V(audit)) in the stack's region, each with an
    alias, yearly (or O(keys[].rotation_period_days)) automatic rotation, tags, and a key policy
    built from who may administer it, use it, and which AWS services may use it.
  - "The key policy follows least privilege: the account root's administrative statement (which
    delegates to IAM and keeps the key manageable) is the only statement with C(kms:*). Administrators
    get key management actions only, never encryption or decryption; users get C(kms:Encrypt),
    C(kms:Decrypt), C(kms:ReEncrypt*), C(kms:GenerateDataKey*) and C(kms:DescribeKey) only."
  - Policies are compared by meaning, so a rerun with the same input makes no call that writes.
  - Keys that leave O(keys) (with O(purge_keys=true)) or all of the stack's keys (O(state=absent)) are
    scheduled for deletion after their waiting period, never deleted at once, and their aliases removed.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the keys in O(keys); V(absent) schedules the deletion of every key of the stack.
    type: str
    choices: [present, absent]
    default: present
  keys:
    description:
      - The keys of the stack, one per data class. At least one is required when O(state=present).
      - With O(state=absent) it is optional; listed keys with a custom O(keys[].alias) are found by that alias.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The data class the key protects, for example V(rds) or V(audit). Letters, digits, C(_) and C(-).
          - Written to the key's C(cairn:data-class) tag; the key is found again by it.
        type: str
        required: true
      description:
        description:
          - The key's description. Defaults to C(<name> data of <stack> (cairn.platform)).
        type: str
      alias:
        description:
          - The key's alias. Defaults to C(alias/cairn/<environment>/<stack>/<name>).
          - Must start with C(alias/), must not start with C(alias/aws/) (reserved for AWS managed keys),
            may hold only letters, digits and C(:/_-), at most 256 characters.
          - Changing it moves the key to the new alias and removes the old one; the key stays the same.
        type: str
      administrators:
        description:
          - ARNs of the IAM roles or users that manage the key (describe, enable, disable, tag, rotate,
            change the policy, schedule or cancel deletion). They cannot encrypt or decrypt with it.
        type: list
        elements: str
        default: []
      users:
        description:
          - ARNs of the IAM roles or users that use the key directly for C(kms:Encrypt), C(kms:Decrypt),
            C(kms:ReEncrypt*), C(kms:GenerateDataKey*) and C(kms:DescribeKey) (for example the EKS
            cluster role for secrets encryption, or the readers of the audit trail).
        type: list
        elements: str
        default: []
      grant_users:
        description:
          - ARNs of the roles or users that may attach the key to AWS resources through grants
            (C(kms:CreateGrant), C(kms:ListGrants), C(kms:RevokeGrant)) only when an AWS service makes
            the grant for them (condition C(kms:GrantIsForAWSResource)).
        type: list
        elements: str
        default: []
      services:
        description:
          - AWS services that use the key on the account's behalf, each producing its own statement.
          - V(logs) lets the region's CloudWatch Logs (C(logs.<region>.amazonaws.com)) encrypt log groups
            whose ARN matches O(keys[].services[].log_groups) (condition C(kms:EncryptionContext:aws:logs:arn)).
          - V(cloudtrail) lets CloudTrail generate data keys for the trails in O(keys[].services[].trails)
            (conditions C(aws:SourceAccount), C(aws:SourceArn) and the CloudTrail encryption context) and describe the key.
          - V(cloudwatch) lets CloudWatch alarms of this account and region publish to topics encrypted with
            the key (C(kms:Decrypt) and C(kms:GenerateDataKey*) with C(aws:SourceAccount) and C(aws:SourceArn)).
          - V(rds), V(s3), V(backup), V(sns), V(elasticache), V(ec2) and V(secretsmanager) let the principals in
            O(keys[].services[].principals) use the key only through that service in this region
            (C(kms:ViaService) C(<service>.<region>.amazonaws.com) and C(kms:CallerAccount)); for V(rds),
            V(backup), V(elasticache) and V(ec2) also create grants for the resources the service attaches it to.
        type: list
        elements: dict
        default: []
        suboptions:
          service:
            description: The service.
            type: str
            required: true
            choices: [logs, cloudtrail, cloudwatch, rds, s3, backup, sns, elasticache, ec2, secretsmanager]
          principals:
            description:
              - For the services used through C(kms:ViaService) only. ARNs of the roles or users that may use
                the key through the service. Defaults to the account root, which delegates the choice to IAM
                policies (a principal then needs both this statement and an IAM policy allowing it).
            type: list
            elements: str
          log_groups:
            description:
              - For V(logs) only. Log group names (C(*) wildcards allowed) whose encryption the key serves,
                in this account and region. Defaults to every log group (C(*)).
            type: list
            elements: str
          trails:
            description:
              - For V(cloudtrail) only. Names of the trails (in this account, with their home in this region)
                that may encrypt with the key. Defaults to every trail (C(*)).
            type: list
            elements: str
      rotation_period_days:
        description:
          - Days between automatic rotations of the key material, 90 to 2560. Rotation is always on.
        type: int
        default: 365
      multi_region:
        description:
          - Create a multi-Region primary key. Cannot change after creation; the module refuses before any write.
          - Replicas in other regions are not created by this module.
        type: bool
        default: false
      deletion_window_days:
        description:
          - The waiting period, 7 to 30 days, before a key scheduled for deletion is deleted. Kept in the key's
            C(cairn:deletion-window-days) tag, so it applies also when the key later leaves O(keys).
        type: int
        default: 30
  purge_keys:
    description:
      - Schedule the deletion of the stack's keys that are no longer in O(keys).
      - A key is the stack's when it carries the ownership tags and is found by an alias under
        C(alias/cairn/<environment>/<stack>/) or by an alias in O(keys).
    type: bool
    default: true
notes:
  - Each region stack owns its own keys; the disaster-recovery stack gets keys of its own for its replicas and
    snapshot copies. A multi-Region primary (O(keys[].multi_region=true)) can be made here; replicating it is
    left to the disaster-recovery tooling.
  - Keys are looked up with one C(ListAliases) call, then C(ListResourceTags), C(DescribeKey), C(GetKeyPolicy)
    and C(GetKeyRotationStatus) per key found. A key is managed only when its tags carry the stack's ownership
    tags (component C(kms)); AWS managed keys and keys without those tags are never changed or deleted.
  - A wanted key found in C(PendingDeletion) (scheduled by hand, or by an interrupted run) gets its deletion
    cancelled and is enabled again, planned as an update.
  - A key is scheduled for deletion before its aliases are removed, so an interrupted run leaves an alias by
    which the next run finds it. A key whose custom alias lies outside C(alias/cairn/<environment>/<stack>/)
    cannot be found once it leaves O(keys) and its alias is deleted by hand.
  - KMS is eventually consistent; the alias and rotation of a key just created are retried for up to 60 seconds
    while KMS still answers C(NotFoundException).
  - KMS checks that every principal in a key policy exists; when it refuses the policy, the module names the
    key and the principals IAM cannot find.
  - "Tested against the moto emulator for creation, updates, reruns, check mode and deletion, and with botocore
    Stubber where moto differs from AWS: moto accepts principals that do not exist (no
    C(MalformedPolicyDocumentException)) and neither stores nor returns C(RotationPeriodInDays). A rotation status
    without C(RotationPeriodInDays) is read as the documented default of 365 days."
seealso:
  - name: Key policies in AWS KMS
    description: How key policies, the root account statement and IAM policies work together.
    link: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
"""

EXAMPLES = r"""
- name: Keys of the production stack in us-east-1
  cairn.platform.kms_keys:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    keys:
      - name: rds
        administrators: ["arn:aws:iam::123456789012:role/cairn/platform-admin"]
        services:
          - service: rds
          - service: backup
      - name: logs
        administrators: ["arn:aws:iam::123456789012:role/cairn/platform-admin"]
        services:
          - service: logs
            log_groups: ["/cairn/prod/prod-us-east-1/*", "aws-waf-logs-*"]
      - name: eks
        users: ["arn:aws:iam::123456789012:role/cairn/prod-us-east-1-eks-cluster"]
        grant_users: ["arn:aws:iam::123456789012:role/cairn/prod-us-east-1-eks-cluster"]
      - name: audit
        rotation_period_days: 365
        users: ["arn:aws:iam::123456789012:role/cairn/auditor"]
        services:
          - service: cloudtrail
            trails: [prod-audit]
    tags:
      owner: platform
  register: kms

- name: Use a key's ARN later
  ansible.builtin.debug:
    msg: "{{ kms['keys']['rds'].arn }}"

- name: Schedule every key of the dev stack for deletion (after their waiting period)
  cairn.platform.kms_keys:
    environment: dev
    stack: dev-us-east-1
    region: us-east-1
    state: absent
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: kms_key
      resource: alias/cairn/prod/prod-us-east-1/rds
      fields: {rotation_period_days: {before: null, after: 365}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
keys:
  description:
    - The stack's keys by data class (empty when O(state=absent)).
    - In check mode, a key still to be created has C((known after apply)) as its id and ARN.
    - In Jinja write C(result['keys']), not C(result.keys), which is the dictionary method.
  returned: always
  type: dict
  sample:
    rds:
      key_id: 1234abcd-12ab-34cd-56ef-1234567890ab
      arn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      alias: alias/cairn/prod/prod-us-east-1/rds
      rotation_period_days: 365
      multi_region: false
"""

import re

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.policy import normalize_policy, policies_equal, to_json
from ansible_collections.cairn.platform.plugins.module_utils.tags import apply_tag_changes, boto3_tag_list_to_dict, dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "kms"
DATA_CLASS_TAG = "cairn:data-class"
DELETION_WINDOW_TAG = "cairn:deletion-window-days"
POLICY_NAME = "default"  # the only key policy name KMS has

# Services whose principal is the service itself, with conditions naming our resources.
SERVICE_PRINCIPAL_SERVICES = ("logs", "cloudtrail", "cloudwatch")
# Services used by IAM principals through kms:ViaService; True where the service attaches the key with grants.
VIA_SERVICES = {"rds": True, "s3": False, "backup": True, "sns": False, "elasticache": True, "ec2": True, "secretsmanager": False}
SERVICES = SERVICE_PRINCIPAL_SERVICES + tuple(VIA_SERVICES)

ROTATION_DAYS = (90, 2560)
DELETION_WINDOW_DAYS = (7, 30)
DEFAULT_ROTATION_DAYS = 365  # what GetKeyRotationStatus means when it omits RotationPeriodInDays
MAX_POLICY_BYTES = 32768
# How long a run waits, in all, for new keys to become visible to the calls that follow CreateKey.
NEW_KEY_VISIBLE_SECONDS = 60
NEW_KEY_POLL_SECONDS = 1

ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription",
]
MULTI_REGION_ADMIN_ACTIONS = ["kms:ReplicateKey", "kms:UpdatePrimaryRegion"]
USER_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
SERVICE_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants"]

# States a wanted key can be converged from; the others are transient or belong to other key types.
MANAGEABLE_STATES = ("Enabled", "Disabled", "PendingDeletion")

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    keys=dict(
        type="list",
        elements="dict",
        default=[],
        no_log=False,
        options=dict(
            name=dict(type="str", required=True),
            description=dict(type="str"),
            alias=dict(type="str"),
            administrators=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            grant_users=dict(type="list", elements="str", default=[]),
            services=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    service=dict(type="str", required=True, choices=list(SERVICES)),
                    principals=dict(type="list", elements="str"),
                    log_groups=dict(type="list", elements="str"),
                    trails=dict(type="list", elements="str"),
                ),
            ),
            rotation_period_days=dict(type="int", default=365),
            multi_region=dict(type="bool", default=False),
            deletion_window_days=dict(type="int", default=30),
        ),
    ),
    purge_keys=dict(type="bool", default=True, no_log=False),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the key policy (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ALIAS = re.compile(r"^[A-Za-z0-9:/_-]+$")
_PRINCIPAL = re.compile(
    r"^arn:aws(-[a-z]+)*:(iam::\d{12}:(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)|sts::\d{12}:assumed-role/[\w+=,.@/-]+)$"
)
_LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9*]{1,512}$")
_TRAIL = re.compile(r"^[A-Za-z0-9._*-]{1,128}$")


def default_alias(environment, stack, name):
    return "alias/cairn/{0}/{1}/{2}".format(environment, stack, name)


def stack_alias_prefix(environment, stack):
    return "alias/cairn/{0}/{1}/".format(environment, stack)


def check_alias(field, alias):
    if not alias.startswith("alias/") or alias == "alias/":
        raise InputError("{0}: {1!r} must start with 'alias/' and name something after it.".format(field, alias))
    if alias.startswith("alias/aws/"):
        raise InputError("{0}: {1!r} is reserved: aliases under alias/aws/ belong to AWS managed keys.".format(field, alias))
    if len(alias) > 256:
        raise InputError("{0}: {1!r} has {2} characters; KMS allows at most 256.".format(field, alias, len(alias)))
    if not _ALIAS.match(alias):
        raise InputError("{0}: {1!r} may hold only letters, digits and the characters : / _ -.".format(field, alias))


def check_principals(field, principals):
    for principal in principals:
        if principal == UNKNOWN:
            continue  # a role an earlier task plans to create (check mode)
        if not _PRINCIPAL.match(principal or ""):
            raise InputError(
                "{0}: {1!r} is not an IAM principal ARN; give the ARN of a role, a user, an assumed-role session or an "
                "account root, such as arn:aws:iam::123456789012:role/cairn/deploy (no wildcards).".format(field, principal)
            )


def check_range(field, value, bounds, unit="days"):
    low, high = bounds
    if not low <= value <= high:
        raise InputError("{0}: must be {1} to {2} {3}; got {4}.".format(field, low, high, unit, value))


def build_service(field, entry):
    service = entry["service"]
    for option, owner, pattern, what in (("log_groups", "logs", _LOG_GROUP, "a log group name"),
                                         ("trails", "cloudtrail", _TRAIL, "a trail name")):
        values = entry.get(option)
        if values is None:
            continue
        if service != owner:
            raise InputError("{0}.{1}: applies to service {2} only, not {3}.".format(field, option, owner, service))
        if not values:
            raise InputError("{0}.{1}: list at least one, or leave it unset for all (*).".format(field, option))
        for value in values:
            if not pattern.match(value or ""):
                raise InputError("{0}.{1}: {2!r} is not {3} (use * as a wildcard).".format(field, option, value, what))
    principals = entry.get("principals")
    if principals is not None:
        if service not in VIA_SERVICES:
            raise InputError(
                "{0}.principals: applies to the services used through kms:ViaService ({1}), not {2}.".format(
                    field, ", ".join(sorted(VIA_SERVICES)), service)
            )
        if not principals:
            raise InputError("{0}.principals: list at least one, or leave it unset for the account root.".format(field))
        check_principals(field + ".principals", principals)
    return {
        "service": service,
        "principals": sorted(set(principals)) if principals else None,
        "log_groups": sorted(set(entry.get("log_groups") or ["*"])) if service == "logs" else None,
        "trails": sorted(set(entry.get("trails") or ["*"])) if service == "cloudtrail" else None,
    }


def build_key(index, params, environment, stack):
    name = params.get("name")
    if not _NAME.match(name or ""):
        raise InputError(
            "keys[{0}].name: {1!r} must be 1 to 64 letters, digits, '_' or '-' (a data class such as rds).".format(index, name)
        )
    field = "keys[{0}] ({1})".format(index, name)
    alias = params.get("alias") or default_alias(environment, stack, name)
    check_alias(field + ".alias" + ("" if params.get("alias") else " (default)"), alias)
    check_range(field + ".rotation_period_days", params["rotation_period_days"], ROTATION_DAYS)
    check_range(field + ".deletion_window_days", params["deletion_window_days"], DELETION_WINDOW_DAYS)
    for option in ("administrators", "users", "grant_users"):
        check_principals("{0}.{1}".format(field, option), params.get(option) or [])
    services = []
    for position, entry in enumerate(params.get("services") or []):
        service = build_service("{0}.services[{1}]".format(field, position), entry)
        if any(existing["service"] == service["service"] for existing in services):
            raise InputError("{0}.services: {1} is listed twice; merge its options into one entry.".format(field, service["service"]))
        services.append(service)
    description = params.get("description") or "{0} data of {1} (cairn.platform)".format(name, stack)
    if len(description) > 8192:
        raise InputError("{0}.description: KMS allows at most 8192 characters; got {1}.".format(field, len(description)))
    return {
        "name": name,
        "field": field,
        "alias": alias,
        "description": description,
        "administrators": sorted(set(params.get("administrators") or [])),
        "users": sorted(set(params.get("users") or [])),
        "grant_users": sorted(set(params.get("grant_users") or [])),
        "services": services,
        "rotation_period_days": params["rotation_period_days"],
        "multi_region": params["multi_region"],
        "deletion_window_days": params["deletion_window_days"],
    }


def build_spec(params):
    """All checks that need no API call, in the order a person reads the options."""
    environment, stack = params["environment"], params["stack"]
    spec = {"state": params["state"], "purge_keys": params["purge_keys"], "keys": [],
            "alias_prefix": stack_alias_prefix(environment, stack)}
    keys = params.get("keys") or []
    if params["state"] == "present" and not keys:
        raise InputError(
            "keys: list at least one key when state=present (to remove all of the stack's keys, use state=absent)."
        )
    names, aliases = {}, {}
    for index, entry in enumerate(keys):
        key = build_key(index, entry, environment, stack)
        if key["name"] in names:
            raise InputError("keys[{0}].name: {1!r} is listed twice (also keys[{2}]); one key per data class.".format(
                index, key["name"], names[key["name"]]))
        if key["alias"] in aliases:
            raise InputError("{0}.alias: {1} is also the alias of keys[{2}]; every key needs its own alias.".format(
                key["field"], key["alias"], aliases[key["alias"]]))
        names[key["name"]] = index
        aliases[key["alias"]] = index
        spec["keys"].append(key)
    return spec


def _statement(sid, principal, actions, condition=None):
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": sorted(actions), "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement


def dns_suffix(partition):
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def service_statements(service, account, partition, region):
    """The statements that let one AWS service use the key, with conditions that tie it to this account."""
    name = service["service"]
    suffix = dns_suffix(partition)
    if name == "logs":
        groups = ["arn:{0}:logs:{1}:{2}:log-group:{3}".format(partition, region, account, group) for group in service["log_groups"]]
        return [_statement("CloudWatchLogs", {"Service": "logs.{0}.{1}".format(region, suffix)}, USER_ACTIONS,
                           {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups}})]
    if name == "cloudtrail":
        trails = ["arn:{0}:cloudtrail:{1}:{2}:trail/{3}".format(partition, region, account, trail) for trail in service["trails"]]
        contexts = ["arn:{0}:cloudtrail:*:{1}:trail/{2}".format(partition, account, trail) for trail in service["trails"]]
        source = {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": trails}}
        encrypt = dict(source, StringLike={"kms:EncryptionContext:aws:cloudtrail:arn": contexts})
        principal = {"Service": "cloudtrail.amazonaws.com"}
        return [_statement("CloudTrailEncryptLogs", principal, ["kms:GenerateDataKey*"], encrypt),
                _statement("CloudTrailDescribeKey", principal, ["kms:DescribeKey"], source)]
    if name == "cloudwatch":
        alarms = "arn:{0}:cloudwatch:{1}:{2}:alarm:*".format(partition, region, account)
        return [_statement("CloudWatchAlarms", {"Service": "cloudwatch.amazonaws.com"}, ["kms:Decrypt", "kms:GenerateDataKey*"],
                           {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": alarms}})]
    principals = service["principals"] or ["arn:{0}:iam::{1}:root".format(partition, account)]
    via = {"kms:ViaService": "{0}.{1}.{2}".format(name, region, suffix), "kms:CallerAccount": account}
    sid = "Via" + name.capitalize()
    statements = [_statement(sid, {"AWS": principals}, USER_ACTIONS, {"StringEquals": via})]
    if VIA_SERVICES[name]:
        statements.append(_statement(sid + "Grants", {"AWS": principals}, SERVICE_GRANT_ACTIONS,
                                     {"StringEquals": via, "Bool": {"kms:GrantIsForAWSResource": "true"}}))
    return statements


def key_policy(key, account, partition, region):
    """The key policy: root administration (the one kms:* statement), then least-privilege statements."""
    root = "arn:{0}:iam::{1}:root".format(partition, account)
    statements = [_statement("RootAccountAdministration", {"AWS": root}, ["kms:*"])]
    if key["administrators"]:
        actions = ADMIN_ACTIONS + (MULTI_REGION_ADMIN_ACTIONS if key["multi_region"] else [])
        statements.append(_statement("KeyAdministrators", {"AWS": key["administrators"]}, actions))
    if key["users"]:
        statements.append(_statement("KeyUsers", {"AWS": key["users"]}, USER_ACTIONS))
    if key["grant_users"]:
        statements.append(_statement("GrantsForAwsResources", {"AWS": key["grant_users"]}, GRANT_ACTIONS,
                                     {"Bool": {"kms:GrantIsForAWSResource": "true"}}))
    for service in key["services"]:
        statements.extend(service_statements(service, account, partition, region))
    policy = {"Version": "2012-10-17", "Statement": statements}
    size = len(to_json(policy))
    if size > MAX_POLICY_BYTES:
        raise InputError("{0}: its key policy would be {1} bytes; KMS allows {2}. List fewer principals or log groups.".format(
            key["field"], size, MAX_POLICY_BYTES))
    return policy


def policy_principals(key):
    """{principal ARN: the option that put it in the policy}, for error messages."""
    found = {}
    for option in ("administrators", "users", "grant_users"):
        for principal in key[option]:
            found.setdefault(principal, option)
    for service in key["services"]:
        for principal in service["principals"] or []:
            found.setdefault(principal, "services[{0}].principals".format(service["service"]))
    return found


def deletion_window(tags):
    """The waiting period kept on the key's tag, or the longest one when it is missing or malformed."""
    try:
        days = int((tags or {}).get(DELETION_WINDOW_TAG, ""))
    except ValueError:
        return DELETION_WINDOW_DAYS[1]
    return days if DELETION_WINDOW_DAYS[0] <= days <= DELETION_WINDOW_DAYS[1] else DELETION_WINDOW_DAYS[1]


# ---------------------------------------------------------------------------------------------
# Converger
# ---------------------------------------------------------------------------------------------
class FoundKey:
    """A key reached through one of the candidate aliases, with what was read about it."""

    def __init__(self, key_id):
        self.key_id = key_id
        self.aliases = []
        self.tags = {}
        self.metadata = {}
        self.policy = None
        self.rotation = None
        self.owned = False

    @property
    def state(self):
        return self.metadata.get("KeyState")

    @property
    def data_class(self):
        return self.tags.get(DATA_CLASS_TAG)


class KmsKeysConverger:
    """Reads the stack's keys through their aliases, then converges them one by one."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.kms = cm.client("kms")
        self.region = cm.connection.region
        self.account = None
        self.partition = None
        self.found = {}  # key id -> FoundKey
        self.alias_targets = {}  # every alias of the region -> key id
        self.clock = WaitClock(NEW_KEY_VISIBLE_SECONDS)

    # ---- read ----------------------------------------------------------------------------
    def read_identity(self):
        with self.cm.doing("reading the account id"):
            arn = self.cm.client("sts").get_caller_identity()["Arn"]
        self.partition, self.account = arn.split(":")[1], arn.split(":")[4]

    def read(self):
        with self.cm.doing("listing the KMS aliases of " + self.region):
            aliases = paginate(self.kms, "list_aliases", "Aliases")
        self.alias_targets = {a["AliasName"]: a["TargetKeyId"] for a in aliases if a.get("TargetKeyId")}
        wanted = {key["alias"] for key in self.spec["keys"]}
        for alias, key_id in sorted(self.alias_targets.items()):
            if alias in wanted or alias.startswith(self.spec["alias_prefix"]):
                self.found.setdefault(key_id, FoundKey(key_id)).aliases.append(alias)
        for found in self.found.values():
            self.read_key(found)

    def read_key(self, found):
        what = "KMS key {0} ({1})".format(found.key_id, ", ".join(found.aliases))
        with self.cm.doing("reading the tags of " + what):
            found.tags = boto3_tag_list_to_dict(
                paginate(self.kms, "list_resource_tags", "Tags", KeyId=found.key_id), "TagKey", "TagValue")
        if not self.owner.owns(found.tags):
            return
        with self.cm.doing("reading " + what):
            found.metadata = self.kms.describe_key(KeyId=found.key_id)["KeyMetadata"]
        # Tags can be copied by hand; only a customer managed key can be ours.
        found.owned = found.metadata.get("KeyManager") == "CUSTOMER"
        if not found.owned or found.state not in ("Enabled", "Disabled"):
            return
        with self.cm.doing("reading the key policy and rotation of " + what):
            found.policy = self.kms.get_key_policy(KeyId=found.key_id, PolicyName=POLICY_NAME)["Policy"]
            found.rotation = self.kms.get_key_rotation_status(KeyId=found.key_id)

    def match(self, key):
        """Our key for this data class: tagged with it, or untagged at its alias; the one at its alias wins."""
        candidates = [f for f in self.found.values() if f.owned and (
            f.data_class == key["name"] or (f.data_class is None and key["alias"] in f.aliases))]
        candidates.sort(key=lambda f: (key["alias"] not in f.aliases, f.state != "Enabled", f.key_id))
        return candidates[0] if candidates else None

    # ---- converge ------------------------------------------------------------------------
    def present(self):
        self.read_identity()
        self.read()
        pairs = [(key, self.match(key)) for key in self.spec["keys"]]
        # Every policy is built (and its size checked) before the first write.
        policies = [key_policy(key, self.account, self.partition, self.region) for key in self.spec["keys"]]
        self.preflight(pairs)
        kept = {found.key_id for _key, found in pairs if found}
        result = {}
        for (key, found), policy in zip(pairs, policies):
            result[key["name"]] = self.ensure_key(key, found, policy)
        if self.spec["purge_keys"]:
            self.remove([f for f in self.found.values() if f.owned and f.key_id not in kept])
        return {"keys": result}

    def absent(self):
        self.read()
        self.remove([f for f in self.found.values() if f.owned])
        return {"keys": {}}

    def preflight(self, pairs):
        """Refuse, before any write, aliases held by keys we do not own and keys AWS cannot change in place."""
        for key, found in pairs:
            holder_id = self.alias_targets.get(key["alias"])
            holder = self.found.get(holder_id)
            if holder is not None and holder is not found:
                if not holder.owned:
                    raise CairnError(
                        "{0}.alias: {1} already points at KMS key {2}, which does not carry the ownership tags of stack {3} "
                        "(component {4}); cairn.platform never takes over a key it does not own. Choose another alias, or "
                        "tag the key by hand to adopt it.".format(key["field"], key["alias"], holder_id, self.owner.stack, COMPONENT)
                    )
                raise CairnError(
                    "{0}.alias: {1} already points at the stack's key {2} for data class {3!r}; give each data class its "
                    "own alias.".format(key["field"], key["alias"], holder_id, holder.data_class)
                )
            if found is None:
                continue
            metadata = found.metadata
            if found.state not in MANAGEABLE_STATES:
                raise CairnError("{0}: KMS key {1} is in state {2}; wait for it to settle (or repair it by hand) and rerun.".format(
                    key["field"], found.key_id, found.state))
            if metadata.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
                raise CairnError("{0}: KMS key {1} is a {2} key for {3}; this module manages symmetric encryption keys only.".format(
                    key["field"], found.key_id, metadata.get("KeySpec"), metadata.get("KeyUsage")))
            region_type = metadata.get("MultiRegionConfiguration", {}).get("MultiRegionKeyType")
            if region_type == "REPLICA":
                raise CairnError("{0}: KMS key {1} is a multi-Region replica; manage it through its primary key.".format(
                    key["field"], found.key_id))
            if bool(metadata.get("MultiRegion")) != key["multi_region"]:
                raise CairnError(
                    "{0}.multi_region: KMS key {1} is {2}a multi-Region key and cannot change (asked for multi_region={3}). "
                    "Keep the setting, or remove the key from keys and add it under a new name.".format(
                        key["field"], found.key_id, "" if metadata.get("MultiRegion") else "not ", str(key["multi_region"]).lower())
                )

    def desired_tags(self, key):
        return self.owner.desired_tags(extra={DATA_CLASS_TAG: key["name"], DELETION_WINDOW_TAG: str(key["deletion_window_days"])})

    @staticmethod
    def current_rotation(found):
        """(enabled, period) as read; None as a whole when the key could not report it (pending deletion)."""
        if found.rotation is None:
            return None
        if not found.rotation.get("KeyRotationEnabled"):
            return {"rotation_enabled": False, "rotation_period_days": None}
        return {"rotation_enabled": True, "rotation_period_days": found.rotation.get("RotationPeriodInDays", DEFAULT_ROTATION_DAYS)}

    def ensure_key(self, key, found, policy):
        tags = self.desired_tags(key)
        if found is None:
            return self.create_key(key, policy, tags)
        key_id = found.key_id
        label = key["alias"]
        if found.state != "Enabled":
            if self.plan.update("kms_key", label, {"key_state": found.state}, {"key_state": "Enabled"},
                                note="deletion cancelled" if found.state == "PendingDeletion" else None):
                with self.cm.doing("enabling KMS key {0} again".format(key_id)):
                    if found.state == "PendingDeletion":
                        self.kms.cancel_key_deletion(KeyId=key_id)
                    self.kms.enable_key(KeyId=key_id)
        if found.metadata.get("Description", "") != key["description"]:
            if self.plan.update("kms_key", label, {"description": found.metadata.get("Description", "")}, {"description": key["description"]}):
                with self.cm.doing("updating the description of KMS key " + key_id):
                    self.kms.update_key_description(KeyId=key_id, Description=key["description"])
        if found.policy is None or not policies_equal(found.policy, policy):
            before = normalize_policy(found.policy) if found.policy else None
            if self.plan.update("kms_key", label, {"policy": before}, {"policy": normalize_policy(policy)}):
                self.write_policy(key, key_id, policy)
        desired_rotation = {"rotation_enabled": True, "rotation_period_days": key["rotation_period_days"]}
        current_rotation = self.current_rotation(found) or {"rotation_enabled": None, "rotation_period_days": None}
        if self.plan.update("kms_key", label, current_rotation, desired_rotation):
            with self.cm.doing("setting the rotation of KMS key " + key_id):
                self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=key["rotation_period_days"])
        apply_tag_changes(
            self.cm, self.plan, self.owner, "kms_key", label, found.tags, tags,
            action="tagging KMS key " + key_id,
            add=lambda to_set: self.kms.tag_resource(KeyId=key_id, Tags=dict_to_boto3_tag_list(to_set, "TagKey", "TagValue")),
            remove=lambda to_remove: self.kms.untag_resource(KeyId=key_id, TagKeys=to_remove))
        self.ensure_aliases(key, found)
        return self.key_result(key, key_id, found.metadata["Arn"], bool(found.metadata.get("MultiRegion")))

    def ensure_aliases(self, key, found):
        """Point the key's alias at it and drop the stack aliases it no longer answers to."""
        stale = [alias for alias in found.aliases if alias != key["alias"]]
        if key["alias"] in found.aliases and not stale:
            return
        if self.plan.update("kms_key", key["alias"], {"aliases": sorted(found.aliases)}, {"aliases": [key["alias"]]}):
            with self.cm.doing("moving the alias of KMS key " + found.key_id):
                if key["alias"] not in found.aliases:
                    self.kms.create_alias(AliasName=key["alias"], TargetKeyId=found.key_id)
                for alias in stale:
                    self.kms.delete_alias(AliasName=alias)

    def create_key(self, key, policy, tags):
        desired = {
            "description": key["description"], "policy": normalize_policy(policy), "rotation_enabled": True,
            "rotation_period_days": key["rotation_period_days"], "multi_region": key["multi_region"], "tags": tags,
            "aliases": [key["alias"]],
        }
        if not self.plan.create("kms_key", key["alias"], desired):
            return self.key_result(key, UNKNOWN, UNKNOWN, key["multi_region"])
        with self.cm.doing("creating KMS key " + key["alias"]):
            try:
                metadata = self.kms.create_key(
                    Policy=to_json(policy), Description=key["description"], KeyUsage="ENCRYPT_DECRYPT",
                    KeySpec="SYMMETRIC_DEFAULT", Tags=dict_to_boto3_tag_list(tags, "TagKey", "TagValue"),
                    MultiRegion=key["multi_region"],
                )["KeyMetadata"]
            except Exception as exc:
                self.explain_policy_refusal(exc, key, "new key")
                raise
        key_id = metadata["KeyId"]
        # Aliased at once, so a later run finds the key by its alias. KMS is eventually consistent: a key
        # just created can answer NotFoundException for a moment, so these two writes wait for it (bounded).
        stranded = ("KMS key {0} exists with the stack's tags but without its alias {1}, so no later run finds it; "
                    "schedule its deletion by hand and rerun").format(key_id, key["alias"])
        with self.cm.doing("aliasing the new KMS key {0} as {1} ({2})".format(key_id, key["alias"], stranded)):
            self.when_visible(key_id, stranded, self.kms.create_alias, AliasName=key["alias"], TargetKeyId=key_id)
        with self.cm.doing("turning on the rotation of the new KMS key " + key_id):
            self.when_visible(key_id, "the next run finds it by its alias and turns rotation on", self.kms.enable_key_rotation,
                              KeyId=key_id, RotationPeriodInDays=key["rotation_period_days"])
        return self.key_result(key, key_id, metadata["Arn"], bool(metadata.get("MultiRegion")))

    def when_visible(self, key_id, consequence, operation, **kwargs):
        """Call `operation` on a key just created, again while KMS still answers NotFoundException."""
        def attempt():
            try:
                operation(**kwargs)
            except Exception as exc:
                if error_code(exc) == "NotFoundException":
                    return False
                raise
            return True

        try:
            self.clock.poll(attempt, "the new KMS key {0} to become visible".format(key_id), delay=NEW_KEY_POLL_SECONDS)
        except CairnError as exc:
            if "waited_for" not in exc.details:
                raise
            raise CairnError("KMS still answered NotFoundException for the new key {0} after {1} s: {2}.".format(
                key_id, NEW_KEY_VISIBLE_SECONDS, consequence), error_code="NotFoundException")

    def write_policy(self, key, key_id, policy):
        with self.cm.doing("updating the key policy of KMS key " + key_id):
            try:
                self.kms.put_key_policy(KeyId=key_id, PolicyName=POLICY_NAME, Policy=to_json(policy))
            except Exception as exc:
                self.explain_policy_refusal(exc, key, key_id)
                raise

    def explain_policy_refusal(self, exc, key, key_id):
        """Turn KMS's 'invalid principals' into a sentence that names the key and the principals IAM cannot find."""
        if error_code(exc) != "MalformedPolicyDocumentException":
            return
        principals = policy_principals(key)
        missing = [p for p in sorted(principals) if self.principal_missing(p)]
        named = missing or sorted(principals)
        listed = "; ".join("{0} (in {1})".format(p, principals[p]) for p in named)
        if missing:
            sentence = "IAM has no such principal: {0}".format(listed)
        elif named:
            sentence = "one of its principals may not exist or be visible to this account: {0}".format(listed)
        else:
            sentence = "it names no principal outside the account root"
        raise CairnError(
            "{0}: KMS refused the key policy of {1} ({2}): {3}. KMS checks that every principal in a key policy exists; "
            "create the roles first (or remove them from the key) and rerun. AWS said: {4}".format(
                key["field"], key["alias"], key_id, sentence,
                getattr(exc, "response", {}).get("Error", {}).get("Message", exc)),
            error_code="MalformedPolicyDocumentException",
        )

    def principal_missing(self, principal):
        """True only when IAM says, in this account, that the role or user does not exist."""
        parts = principal.split(":")
        if parts[2] != "iam" or parts[4] != self.account:
            return False
        kind, _sep, path = parts[5].partition("/")
        if kind not in ("role", "user"):
            return False
        name = path.rsplit("/", 1)[-1]
        iam = self.cm.client("iam")
        try:
            if kind == "role":
                iam.get_role(RoleName=name)
            else:
                iam.get_user(UserName=name)
        except Exception as exc:  # noqa: BLE001 - any other failure means "cannot tell"
            return error_code(exc) == "NoSuchEntity"
        return False

    def key_result(self, key, key_id, arn, multi_region):
        return {"key_id": key_id, "arn": arn, "alias": key["alias"], "rotation_period_days": key["rotation_period_days"],
                "multi_region": multi_region}

    # ---- removal ---------------------------------------------------------------------------
    def remove(self, unwanted):
        """Schedule deletion (never immediate), then drop the aliases; a pending key only loses its aliases."""
        for found in sorted(unwanted, key=lambda f: f.aliases):
            label = found.aliases[0]
            if found.state == "PendingDeletion":
                for alias in found.aliases:
                    if self.plan.delete("kms_alias", alias, {"key_id": found.key_id}, note="its key is already pending deletion"):
                        with self.cm.doing("deleting alias " + alias):
                            self.kms.delete_alias(AliasName=alias)
                continue
            window = deletion_window(found.tags)
            before = {"key_id": found.key_id, "aliases": found.aliases, "data_class": found.data_class,
                      "deletion_window_days": window}
            if self.plan.delete("kms_key", label, before,
                                note="scheduled for deletion in {0} days; cancel_key_deletion restores it until then".format(window)):
                with self.cm.doing("scheduling the deletion of KMS key " + found.key_id):
                    self.kms.schedule_key_deletion(KeyId=found.key_id, PendingWindowInDays=window)
                    for alias in found.aliases:
                        self.kms.delete_alias(AliasName=alias)


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = KmsKeysConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

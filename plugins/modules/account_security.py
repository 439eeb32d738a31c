#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account_security
short_description: Converge the account-level security baseline of one region stack
version_added: 0.1.0
description:
  - The IAM account password policy, with defaults that satisfy SOC 2 and CIS AWS Foundations
    (14 characters or more, every character class, 90 days, the last 24 passwords remembered,
    users may change their own).
  - An IAM Access Analyzer external-access analyzer in the stack's region (zone of trust the
    account, by default), named C(cairn-<stack>) and tagged with the ownership tags.
  - O(state=absent) deletes the stack's analyzer and leaves the password policy alone (it is
    shared by every stack of the account and weakening it is never a side effect of a teardown).
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the baseline; V(absent) deletes the stack's analyzer only.
    type: str
    choices: [present, absent]
    default: present
  password_policy:
    description:
      - The IAM account password policy.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - Converge the password policy. V(false) leaves whatever the account has untouched.
        type: bool
        default: true
      minimum_length:
        description: Fewest characters in a password, 6 to 128.
        type: int
        default: 14
      require_uppercase:
        description: Require at least one upper-case letter.
        type: bool
        default: true
      require_lowercase:
        description: Require at least one lower-case letter.
        type: bool
        default: true
      require_numbers:
        description: Require at least one digit.
        type: bool
        default: true
      require_symbols:
        description: Require at least one symbol.
        type: bool
        default: true
      max_age_days:
        description: Days a password stays valid, 1 to 1095; V(0) means passwords never expire.
        type: int
        default: 90
      reuse_prevention:
        description: How many previous passwords a user may not reuse, 1 to 24; V(0) turns the check off.
        type: int
        default: 24
      allow_users_to_change:
        description: Let IAM users change their own password.
        type: bool
        default: true
      hard_expiry:
        description: Block users whose password expired from choosing a new one (an administrator must reset it).
        type: bool
        default: false
  access_analyzer:
    description:
      - The IAM Access Analyzer analyzer of the stack's region.
    type: dict
    default: {}
    suboptions:
      enabled:
        description:
          - Converge the analyzer. V(false) leaves Access Analyzer untouched, whatever O(state) says.
        type: bool
        default: true
      name:
        description: The analyzer's name. Defaults to C(cairn-<stack>).
        type: str
      type:
        description:
          - V(ACCOUNT) reports access from outside the account; V(ORGANIZATION) from outside the
            organization (only from the management or a delegated administrator account).
          - An analyzer's type cannot change; the module refuses before any write.
        type: str
        choices: [ACCOUNT, ORGANIZATION]
        default: ACCOUNT
notes:
  - The password policy is one per account and carries no tags. Every stack of an account converges
    the same values, so the second stack of a run finds nothing to change. Keep the values in the
    environment's C(group_vars); two stacks with different values would change it back and forth.
  - AWS allows one account-level analyzer per type, account and region. When the region already has
    one that does not carry the stack's ownership tags (for example from AWS Control Tower or Security
    Hub), the module reports it in RV(access_analyzer) with C(managed=false) and a warning, and
    creates nothing.
  - moto has no Access Analyzer API; the project's local emulator adds a small model of the analyzer
    operations this module calls (C(emulator/access_analyzer.py)). The module is also tested with
    botocore Stubber, which checks every request against the real API model.
seealso:
  - name: IAM password policy
    description: What each setting does.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
  - name: IAM Access Analyzer
    description: External access findings and analyzers.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/what-is-access-analyzer.html
"""

EXAMPLES = r"""
- name: Account baseline of the prod us-east-1 stack (SOC 2 defaults)
  cairn.platform.account_security:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    tags:
      owner: platform

- name: Stricter passwords, analyzer with a chosen name
  cairn.platform.account_security:
    environment: prod
    stack: prod-eu-west-1
    region: eu-west-1
    password_policy:
      minimum_length: 16
      max_age_days: 60
    access_analyzer:
      name: prod-eu-west-1-external-access
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: password_policy
      resource: account
      fields: {minimum_length: {before: 8, after: 14}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
password_policy:
  description: The password policy as converged (null when O(password_policy.enabled=false)).
  returned: when state=present
  type: dict
  sample:
    minimum_length: 14
    require_uppercase: true
    require_lowercase: true
    require_numbers: true
    require_symbols: true
    max_age_days: 90
    reuse_prevention: 24
    allow_users_to_change: true
    hard_expiry: false
access_analyzer:
  description: The region's analyzer (null when O(access_analyzer.enabled=false)).
  returned: when state=present
  type: dict
  contains:
    name:
      description: Analyzer name.
      type: str
      returned: always
    arn:
      description: Analyzer ARN (C(known after apply) in check mode before creation).
      type: str
      returned: always
    type:
      description: V(ACCOUNT) or V(ORGANIZATION).
      type: str
      returned: always
    status:
      description: Status as AWS reports it, for example V(ACTIVE) or V(CREATING).
      type: str
      returned: always
    managed:
      description: Whether this stack owns the analyzer.
      type: bool
      returned: always
"""

import re
import uuid

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN

COMPONENT = "security"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    # Settings of the password policy, not a password: nothing here is secret.
    password_policy=dict(
        type="dict",
        default={},
        no_log=False,
        options=dict(
            enabled=dict(type="bool", default=True),
            minimum_length=dict(type="int", default=14),
            require_uppercase=dict(type="bool", default=True),
            require_lowercase=dict(type="bool", default=True),
            require_numbers=dict(type="bool", default=True),
            require_symbols=dict(type="bool", default=True),
            max_age_days=dict(type="int", default=90),
            reuse_prevention=dict(type="int", default=24),
            allow_users_to_change=dict(type="bool", default=True),
            hard_expiry=dict(type="bool", default=False),
        ),
    ),
    access_analyzer=dict(
        type="dict",
        default={},
        options=dict(
            enabled=dict(type="bool", default=True),
            name=dict(type="str"),
            type=dict(type="str", default="ACCOUNT", choices=["ACCOUNT", "ORGANIZATION"]),
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# Pure planning
# ---------------------------------------------------------------------------------------------
# Option -> (API field, default AWS applies when the field is left out).
PASSWORD_FIELDS = {
    "minimum_length": ("MinimumPasswordLength", 6),
    "require_uppercase": ("RequireUppercaseCharacters", False),
    "require_lowercase": ("RequireLowercaseCharacters", False),
    "require_numbers": ("RequireNumbers", False),
    "require_symbols": ("RequireSymbols", False),
    "max_age_days": ("MaxPasswordAge", 0),
    "reuse_prevention": ("PasswordReusePrevention", 0),
    "allow_users_to_change": ("AllowUsersToChangePassword", False),
    "hard_expiry": ("HardExpiry", False),
}
# The external-access analyzer types this module manages.
ANALYZER_TYPES = ("ACCOUNT", "ORGANIZATION")
ANALYZER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")


def with_defaults(value, option):
    merged = dict(value or {})
    for key, sub in ARGUMENT_SPEC[option]["options"].items():
        if merged.get(key) is None and "default" in sub:
            merged[key] = sub["default"]
    return merged


def check_password_policy(policy):
    if not 6 <= policy["minimum_length"] <= 128:
        raise InputError("password_policy.minimum_length: IAM accepts 6 to 128; got {0}.".format(policy["minimum_length"]))
    if not 0 <= policy["max_age_days"] <= 1095:
        raise InputError(
            "password_policy.max_age_days: IAM accepts 1 to 1095 days, or 0 for no expiry; got {0}.".format(policy["max_age_days"])
        )
    if not 0 <= policy["reuse_prevention"] <= 24:
        raise InputError(
            "password_policy.reuse_prevention: IAM remembers 1 to 24 passwords, or 0 for no check; got {0}.".format(
                policy["reuse_prevention"])
        )
    if policy["hard_expiry"] and not policy["max_age_days"]:
        raise InputError("password_policy.hard_expiry: needs max_age_days (passwords that never expire cannot expire hard).")


def build_spec(params):
    spec = {"state": params["state"]}
    password = with_defaults(params.get("password_policy"), "password_policy")
    analyzer = with_defaults(params.get("access_analyzer"), "access_analyzer")
    analyzer["name"] = analyzer.get("name") or "cairn-" + params["stack"]
    if not ANALYZER_NAME.match(analyzer["name"]):
        raise InputError(
            "access_analyzer.name: {0!r} must start with a letter and hold up to 255 letters, digits and _.-.".format(
                analyzer["name"])
        )
    if spec["state"] == "present" and password["enabled"]:
        check_password_policy(password)
    spec["password_policy"] = password
    spec["access_analyzer"] = analyzer
    return spec


def desired_password_policy(settings):
    return {option: settings[option] for option in PASSWORD_FIELDS}


def password_policy_from_api(policy):
    """The account's policy in option terms; fields AWS leaves out carry AWS's defaults."""
    return {option: policy.get(field, default) for option, (field, default) in PASSWORD_FIELDS.items()}


def password_policy_request(desired):
    """UpdateAccountPasswordPolicy arguments; 0 means "off", which the API expresses by leaving the field out."""
    request = {}
    for option, (field, _default) in PASSWORD_FIELDS.items():
        if option in ("max_age_days", "reuse_prevention") and not desired[option]:
            continue
        request[field] = desired[option]
    return request


# ---------------------------------------------------------------------------------------------
# Converging
# ---------------------------------------------------------------------------------------------
class AccountSecurityConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.spec = spec
        self.plan = cm.plan
        self.owner = cm.ownership()
        self.run_token = uuid.uuid4().hex

    @property
    def iam(self):
        return self.cm.client("iam")

    @property
    def analyzers(self):
        return self.cm.client("accessanalyzer")

    # ---- password policy -----------------------------------------------------------------
    def read_password_policy(self):
        with self.cm.doing("reading the account password policy"):
            try:
                return self.iam.get_account_password_policy()["PasswordPolicy"]
            except Exception as exc:
                if error_code(exc) == "NoSuchEntity":
                    return None
                raise

    def ensure_password_policy(self, current):
        desired = desired_password_policy(self.spec["password_policy"])
        if current is None:
            write = self.plan.create("password_policy", "account", desired)
        else:
            write = self.plan.update("password_policy", "account", password_policy_from_api(current), desired)
        if write:
            with self.cm.doing("updating the account password policy"):
                self.iam.update_account_password_policy(**password_policy_request(desired))
        return desired

    # ---- access analyzer -----------------------------------------------------------------
    def read_analyzers(self):
        """(ours by name, other analyzers we own, the first same-type analyzer we do not own): one list call."""
        settings = self.spec["access_analyzer"]
        with self.cm.doing("listing IAM Access Analyzer analyzers"):
            analyzers = paginate(self.analyzers, "list_analyzers", "analyzers")
        ours, stale, foreign = None, [], None
        for analyzer in analyzers:
            if not self.owner.owns(analyzer.get("tags")):
                if analyzer["name"] == settings["name"]:
                    raise CairnError(
                        "access_analyzer.name: the analyzer {0} exists but does not carry the ownership tags of stack {1}; "
                        "cairn.platform never takes it over. Choose another name or tag it by hand to adopt it.".format(
                            settings["name"], self.owner.stack)
                    )
                if analyzer["type"] == settings["type"] and foreign is None:
                    foreign = analyzer
            elif analyzer["name"] == settings["name"]:
                ours = analyzer
            elif analyzer["type"] in ANALYZER_TYPES:
                stale.append(analyzer)
        return ours, stale, foreign

    def ensure_analyzer(self, found):
        settings = self.spec["access_analyzer"]
        ours, stale, foreign = found
        # A renamed analyzer is replaced: analyzers cannot be renamed, and one per type fits in a region.
        for analyzer in stale:
            self.delete_analyzer(analyzer, note="replaced by " + settings["name"])
        desired_tags = self.owner.desired_tags()
        if ours is not None:
            self.reconcile_tags(ours, desired_tags)
            return self.describe(ours, managed=True)
        if foreign is not None and settings["type"] == "ACCOUNT":
            self.cm.module.warn(
                "access_analyzer: the region already has the account-level analyzer {0}, which stack {1} does not own; "
                "AWS allows one per account and region, so it is reported and left alone.".format(foreign["name"], self.owner.stack)
            )
            return self.describe(foreign, managed=False)
        arn = UNKNOWN
        if self.plan.create("access_analyzer", settings["name"], {"type": settings["type"], "tags": desired_tags}):
            with self.cm.doing("creating IAM Access Analyzer analyzer " + settings["name"]):
                arn = self.analyzers.create_analyzer(
                    analyzerName=settings["name"], type=settings["type"], tags=desired_tags,
                    clientToken="cairn-{0}-{1}".format(settings["name"], self.run_token)[:64],
                )["arn"]
        return {"name": settings["name"], "arn": arn, "type": settings["type"],
                "status": UNKNOWN if arn == UNKNOWN else "CREATING", "managed": True}

    def check_type(self, analyzer):
        wanted = self.spec["access_analyzer"]["type"]
        if analyzer is not None and analyzer["type"] != wanted:
            raise CairnError(
                "access_analyzer.type: the analyzer {0} has type {1}; an analyzer's type cannot change (asked for {2}). "
                "Keep {1}, or delete it first.".format(analyzer["name"], analyzer["type"], wanted)
            )

    def reconcile_tags(self, analyzer, desired_tags):
        current = analyzer.get("tags") or {}
        to_set, to_remove = self.owner.tag_changes(current, desired_tags)
        if not to_set and not to_remove:
            return
        after = {key: value for key, value in current.items() if key not in to_remove}
        after.update(to_set)
        if self.plan.update("access_analyzer", analyzer["name"], {"tags": current}, {"tags": after}):
            with self.cm.doing("tagging IAM Access Analyzer analyzer " + analyzer["name"]):
                if to_set:
                    self.analyzers.tag_resource(resourceArn=analyzer["arn"], tags=to_set)
                if to_remove:
                    self.analyzers.untag_resource(resourceArn=analyzer["arn"], tagKeys=to_remove)

    def delete_analyzer(self, analyzer, note=None):
        if self.plan.delete("access_analyzer", analyzer["name"], {"arn": analyzer["arn"], "type": analyzer["type"]}, note=note):
            with self.cm.doing("deleting IAM Access Analyzer analyzer " + analyzer["name"]):
                self.analyzers.delete_analyzer(
                    analyzerName=analyzer["name"], clientToken="cairn-{0}-{1}".format(analyzer["name"], self.run_token)[:64])

    @staticmethod
    def describe(analyzer, managed):
        return {"name": analyzer["name"], "arn": analyzer["arn"], "type": analyzer["type"], "status": analyzer.get("status"),
                "managed": managed}

    # ---- entry points --------------------------------------------------------------------
    def present(self):
        # Everything is read and checked before the first write.
        password_settings, analyzer_settings = self.spec["password_policy"], self.spec["access_analyzer"]
        current_password_policy = self.read_password_policy() if password_settings["enabled"] else None
        found = self.read_analyzers() if analyzer_settings["enabled"] else None
        if found:
            self.check_type(found[0])
        return {
            "password_policy": self.ensure_password_policy(current_password_policy) if password_settings["enabled"] else None,
            "access_analyzer": self.ensure_analyzer(found) if analyzer_settings["enabled"] else None,
        }

    def absent(self):
        if self.spec["access_analyzer"]["enabled"]:
            ours, stale, _foreign = self.read_analyzers()
            for analyzer in ([ours] if ours else []) + stale:
                self.delete_analyzer(analyzer)
        return {}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = AccountSecurityConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

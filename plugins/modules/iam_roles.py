#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_roles
short_description: Converge the IAM roles and OpenID Connect providers of one stack
version_added: 0.1.0
description:
  - Creates, updates or deletes a set of IAM roles (trust policy, inline policies, attached managed
    policies, permissions boundary, session duration, tags) and IAM OpenID Connect (OIDC) identity
    providers as one unit, with a plan of every change.
  - Every policy document is checked before the first API call. A malformed document, a
    C(Principal) in an identity policy, an C(Allow) of C(*) or of a whole service (C(iam:*)),
    or a trust in an OIDC provider without both a C(sub) and an C(aud) condition on that provider
    fails with a sentence naming the role and the policy.
  - Policies are compared by meaning (statement order, a string versus a one-item list, JSON
    formatting), so a rerun reports no change; a real difference shows in the diff.
  - Roles and providers of the stack and O(component) that are no longer listed are deleted when
    O(purge_roles=true). O(state=absent) deletes all of them.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the listed roles and providers; V(absent) deletes every role and provider
        that carries the ownership tags of this stack and O(component).
    type: str
    choices: [present, absent]
    default: present
  component:
    description:
      - The C(cairn:component) ownership tag of the roles and providers. Separate calls with separate
        components (the security baseline, the IRSA roles of a cluster) own separate sets, so the
        purge of one never deletes the other's.
    type: str
    default: iam
  oidc_providers:
    description:
      - IAM OpenID Connect identity providers to own, for example the GitHub Actions provider or an
        EKS cluster's issuer. A provider exists once per account and URL; an existing one without the
        ownership tags is refused (trust it with O(roles[].trust.oidc.provider_url) instead of listing it).
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The issuer URL, starting with C(https://), for example V(https://token.actions.githubusercontent.com).
        type: str
        required: true
      client_ids:
        description: The audiences (client ids) the provider accepts, for example V(sts.amazonaws.com).
        type: list
        elements: str
        required: true
      thumbprints:
        description:
          - SHA-1 thumbprints (40 hex digits) of the issuer's certificate chain, at most 5.
          - Unset leaves them to AWS, which verifies well-known issuers through its own trusted CAs.
        type: list
        elements: str
  roles:
    description:
      - The roles of the stack. Each needs exactly one of O(roles[].trust_policy) and O(roles[].trust).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Role name, 1 to 64 of letters, digits and C(+=,.@_-). IAM names are global to the account.
        type: str
        required: true
      description:
        description: What the role is for (at most 1000 characters).
        type: str
        default: ""
      path:
        description:
          - The role's path. A role's path cannot change; the module refuses before any write.
        type: str
        default: /cairn/
      trust_policy:
        description:
          - The trust policy document (who may assume the role) as a dict.
        type: dict
      trust:
        description:
          - A short form of the trust policy; the module writes the document.
          - At least one of O(roles[].trust.services), O(roles[].trust.aws_principals) and
            O(roles[].trust.oidc).
        type: dict
        suboptions:
          services:
            description: Service principals allowed to assume the role, for example V(eks.amazonaws.com).
            type: list
            elements: str
            default: []
          aws_principals:
            description: Account ids or IAM user and role ARNs allowed to assume the role (never C(*)).
            type: list
            elements: str
            default: []
          require_mfa:
            description:
              - Let O(roles[].trust.aws_principals) assume the role only with MFA
                (C(aws:MultiFactorAuthPresent) true and C(aws:MultiFactorAuthAge) at most
                O(roles[].trust.mfa_max_age)).
            type: bool
            default: false
          mfa_max_age:
            description: Seconds since MFA sign-in after which O(roles[].trust.require_mfa) refuses the assume.
            type: int
            default: 3600
          external_id:
            description: The C(sts:ExternalId) that O(roles[].trust.aws_principals) must present.
            type: str
          oidc:
            description:
              - Trust an OIDC provider (sts:AssumeRoleWithWebIdentity) for the listed subjects and audiences.
            type: dict
            suboptions:
              provider_arn:
                description: ARN of the provider. Exactly one of this and O(roles[].trust.oidc.provider_url).
                type: str
              provider_url:
                description:
                  - Issuer URL of a provider in this account; the module derives its ARN.
                type: str
              subjects:
                description:
                  - Values of the token's C(sub) claim allowed to assume the role, for example
                    V(repo:acme/app:environment:production) or V(system:serviceaccount:ns:name).
                  - Values with C(*) or C(?) are matched with C(StringLike); a value of only C(*) is refused.
                  - Required; a trust without it fails naming the role.
                type: list
                elements: str
              audiences:
                description:
                  - Values of the token's C(aud) claim allowed, for example V(sts.amazonaws.com).
                  - Required; a trust without it fails naming the role.
                type: list
                elements: str
      inline_policies:
        description:
          - Inline policies by name (1 to 128 of letters, digits and C(+=,.@_-)), each a policy document.
          - Inline policies of the role that are not listed are deleted.
        type: dict
        default: {}
      managed_policy_arns:
        description: ARNs of managed policies to attach; others attached to the role are detached.
        type: list
        elements: str
        default: []
      max_session_duration:
        description: The longest session, in seconds, from 3600 to 43200.
        type: int
        default: 3600
      permissions_boundary:
        description: ARN of a managed policy that bounds the role's permissions. Unset removes a boundary.
        type: str
  purge_roles:
    description:
      - Delete the roles and OIDC providers of this stack and O(component) that are not listed.
      - Roles are looked for under C(/cairn/) and under the paths of the listed roles.
    type: bool
    default: true
notes:
  - Roles and providers are found by name and URL; they are managed only when they carry the ownership
    tags (C(cairn:environment), C(cairn:stack), C(cairn:component), C(cairn:managed-by)).
  - Roles are read in one batch with C(iam:GetAccountAuthorizationDetails) (every role of the account with
    its tags, trust and policies; a few pages however many roles other stacks keep) plus C(iam:ListRoles)
    under the listed roles' paths, so the caller needs C(iam:GetAccountAuthorizationDetails). Without it
    (AccessDenied) the module falls back to reading each role under its paths (C(iam:GetRole),
    C(iam:ListRolePolicies), C(iam:GetRolePolicy), C(iam:ListAttachedRolePolicies)), with the same result in more calls.
  - IAM is global to the account while stacks are regional; give each stack's roles names of their
    own (for example prefixed with the stack) and let one stack own an account-wide provider.
  - A trust in an OIDC provider of this account must name a provider that exists or is listed in
    O(oidc_providers); the module refuses before any write otherwise.
  - The local emulator accepts invalid trust policies that AWS refuses; the checks in this module
    run before any API call, so they hold against the emulator and AWS alike.
  - The local emulator (moto) has no AddClientIDToOpenIDConnectProvider and
    RemoveClientIDFromOpenIDConnectProvider; changes of O(oidc_providers[].client_ids) are tested
    with botocore Stubber (C(tests/unit/test_iam_roles_stubber.py)).
seealso:
  - name: IAM JSON policy reference
    description: The grammar the policy checks follow.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies.html
  - name: Configuring a role for GitHub OIDC
    description: The sub and aud conditions a GitHub Actions trust needs.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html
"""

EXAMPLES = r"""
- name: Roles of the prod us-east-1 stack
  cairn.platform.iam_roles:
    environment: prod
    stack: prod-us-east-1
    component: security
    oidc_providers:
      - url: https://token.actions.githubusercontent.com
        client_ids: [sts.amazonaws.com]
    roles:
      - name: prod-us-east-1-eks-cluster
        description: EKS control plane
        trust:
          services: [eks.amazonaws.com]
        managed_policy_arns:
          - arn:aws:iam::aws:policy/AmazonEKSClusterPolicy
      - name: cairn-prod-ci-deploy
        trust:
          oidc:
            provider_url: https://token.actions.githubusercontent.com
            audiences: [sts.amazonaws.com]
            subjects: ["repo:acme/app:environment:production"]
        inline_policies:
          deploy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: eks:DescribeCluster
                Resource: arn:aws:eks:*:123456789012:cluster/prod-*
      - name: prod-us-east-1-break-glass-restore
        trust:
          aws_principals: [arn:aws:iam::123456789012:user/alice]
          require_mfa: true
        inline_policies:
          restore-only:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: backup:StartRestoreJob
                Resource: arn:aws:backup:us-east-1:123456789012:recovery-point:*
  register: iam

- name: Plan only
  cairn.platform.iam_roles:
    environment: prod
    stack: prod-us-east-1
    component: security
    roles: "{{ security_iam_roles }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: iam_role
      resource: prod-us-east-1-eks-cluster
      fields: {path: {before: null, after: /cairn/}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
roles:
  description: The listed roles by name (ARN C(known after apply) in check mode before creation).
  returned: when state=present
  type: dict
  sample:
    prod-us-east-1-eks-cluster:
      arn: arn:aws:iam::123456789012:role/cairn/prod-us-east-1-eks-cluster
      name: prod-us-east-1-eks-cluster
      path: /cairn/
oidc_providers:
  description: ARNs of the listed OIDC providers by URL.
  returned: when state=present
  type: dict
  sample:
    https://token.actions.githubusercontent.com: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com
"""

import fnmatch
import json
import re

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.iam import IamRoleConverger
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.policy import load_policy
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    Ownership,
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    component=dict(type="str", default="iam"),
    oidc_providers=dict(
        type="list", elements="dict", default=[],
        options=dict(
            url=dict(type="str", required=True),
            client_ids=dict(type="list", elements="str", required=True),
            thumbprints=dict(type="list", elements="str"),
        ),
    ),
    roles=dict(
        type="list", elements="dict", default=[],
        options=dict(
            name=dict(type="str", required=True),
            description=dict(type="str", default=""),
            path=dict(type="str", default="/cairn/"),
            trust_policy=dict(type="dict"),
            trust=dict(
                type="dict",
                options=dict(
                    services=dict(type="list", elements="str", default=[]),
                    aws_principals=dict(type="list", elements="str", default=[]),
                    require_mfa=dict(type="bool", default=False),
                    mfa_max_age=dict(type="int", default=3600),
                    external_id=dict(type="str", no_log=False),
                    oidc=dict(
                        type="dict",
                        options=dict(
                            provider_arn=dict(type="str"),
                            provider_url=dict(type="str"),
                            # Required, but checked by the module so the error names the role.
                            subjects=dict(type="list", elements="str"),
                            audiences=dict(type="list", elements="str"),
                        ),
                    ),
                ),
            ),
            inline_policies=dict(type="dict", default={}),
            managed_policy_arns=dict(type="list", elements="str", default=[]),
            max_session_duration=dict(type="int", default=3600),
            permissions_boundary=dict(type="str"),
        ),
    ),
    purge_roles=dict(type="bool", default=True),
)

# ---------------------------------------------------------------------------------------------
# Pure checks and document building (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
DEFAULT_PATH = "/cairn/"
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
# IAM's own limit on the inline policies of one role, counted without whitespace.
MAX_INLINE_POLICY_CHARS = 10240
MAX_THUMBPRINTS = 5
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$", re.ASCII)
ROLE_PATH = re.compile(r"^/(?:[\x21-\x7e]*/)?$")
POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy/[\w+=,.@/-]+$", re.ASCII)
PROVIDER_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):oidc-provider/(.+)$")
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$")
AWS_PRINCIPAL = re.compile(r"^(?:\d{12}|arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/:-]+)$", re.ASCII)
SID = re.compile(r"^[A-Za-z0-9]*$")
THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
# `service:*` (or `*`): every action of a service.
FULL_WILDCARD = re.compile(r"^(?:\*|[A-Za-z0-9-]+:\*+)$")
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def as_list(value):
    return value if isinstance(value, list) else [value]


def provider_key(url):
    """The provider's identity as IAM uses it in ARNs and condition keys: the URL without https://."""
    return re.sub(r"^https://", "", url.strip()).rstrip("/")


def provider_arn(partition, account_id, url):
    return "arn:{0}:iam::{1}:oidc-provider/{2}".format(partition, account_id, provider_key(url))


def full_wildcards(actions):
    return [action for action in actions if isinstance(action, str) and FULL_WILDCARD.match(action)]


def check_policy(document, where, kind):
    """Return the policy as a dict, or raise InputError naming `where` and what is wrong.

    `kind` is "identity" (inline policies) or "trust" (who may assume the role).
    """
    try:
        policy = load_policy(document, where)
    except InputError as exc:
        raise InputError(exc.message)
    if policy.get("Version") not in POLICY_VERSIONS:
        raise InputError(
            "{0}: Version must be \"2012-10-17\" (or the legacy \"2008-10-17\"); got {1!r}.".format(where, policy.get("Version"))
        )
    statements = policy.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise InputError("{0}: Statement must be a non-empty list of statements.".format(where))
    unknown = sorted(set(policy) - {"Version", "Id", "Statement"})
    if unknown:
        raise InputError("{0}: unknown top-level key(s) {1}.".format(where, ", ".join(unknown)))
    for index, statement in enumerate(statements, 1):
        check_statement(statement, "{0}, statement {1}".format(where, index), kind)
    return policy


def check_statement(statement, where, kind):
    if not isinstance(statement, dict):
        raise InputError("{0}: a statement must be a dict; got {1}.".format(where, type(statement).__name__))
    unknown = sorted(set(statement) - STATEMENT_KEYS)
    if unknown:
        raise InputError("{0}: unknown key(s) {1}.".format(where, ", ".join(unknown)))
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise InputError("{0}: Effect must be \"Allow\" or \"Deny\"; got {1!r}.".format(where, effect))
    if not SID.match(str(statement.get("Sid", ""))):
        raise InputError("{0}: Sid {1!r} may hold only letters and digits.".format(where, statement["Sid"]))
    if ("Action" in statement) == ("NotAction" in statement):
        raise InputError("{0}: give exactly one of Action and NotAction.".format(where))
    actions = as_list(statement.get("Action", statement.get("NotAction")))
    if not actions or not all(isinstance(action, str) and action for action in actions):
        raise InputError("{0}: Action must be a non-empty string or list of strings.".format(where))
    for action in actions:
        if action != "*" and not re.match(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$", action):
            raise InputError("{0}: {1!r} is not an action (service:Operation, for example s3:GetObject).".format(where, action))
    if effect == "Allow":
        wide = full_wildcards(actions) if "Action" in statement else ["NotAction"]
        if wide:
            raise InputError(
                "{0}: Allow of {1} grants every action of a service (least privilege); list the actions the role needs.".format(
                    where, ", ".join(wide))
            )
    if "Condition" in statement and not isinstance(statement["Condition"], dict):
        raise InputError("{0}: Condition must be a dict of operators.".format(where))
    if kind == "identity":
        if "Principal" in statement or "NotPrincipal" in statement:
            raise InputError(
                "{0}: Principal belongs in trust and resource policies, not in an identity (inline) policy.".format(where)
            )
        if ("Resource" in statement) == ("NotResource" in statement):
            raise InputError("{0}: give exactly one of Resource and NotResource.".format(where))
    else:
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise InputError("{0}: a trust policy statement needs a Principal.".format(where))
        if "Resource" in statement or "NotResource" in statement:
            raise InputError("{0}: a trust policy statement has no Resource (the role itself is the resource).".format(where))
        if effect == "Allow" and ("NotPrincipal" in statement or "*" in principal_values(statement.get("Principal"))):
            raise InputError(
                "{0}: an Allow for Principal \"*\" (or NotPrincipal) lets anyone assume the role; name the principals.".format(where)
            )


def principal_values(principal):
    if isinstance(principal, dict):
        return [value for values in principal.values() for value in as_list(values)]
    return as_list(principal)


def _condition_keys(condition, usable):
    """Condition keys (lower case) under operators that restrict even when the key is missing or negated."""
    keys = {}
    for operator, entries in (condition or {}).items():
        if not usable(operator) or not isinstance(entries, dict):
            continue
        for key, values in entries.items():
            keys.setdefault(key.lower(), []).extend(as_list(values))
    return keys


def _restricting(operator):
    # IfExists passes when the claim is missing, ForAllValues passes on an empty set, negations admit everything else.
    return not (operator.endswith("IfExists") or operator.startswith("ForAllValues:") or "Not" in operator.split(":")[-1])


def web_identity_principals(statement):
    if statement.get("Effect") != "Allow":
        return []
    actions = as_list(statement.get("Action", []))
    if not any(fnmatch.fnmatchcase(WEB_IDENTITY_ACTION.lower(), action.lower()) for action in actions):
        return []
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    return [value for value in as_list(principal.get("Federated", [])) if isinstance(value, str)]


def check_web_identity_conditions(policy, where):
    """Every OIDC provider trusted for web identity needs restricting `sub` and `aud` conditions."""
    for index, statement in enumerate(policy["Statement"], 1):
        for federated in web_identity_principals(statement):
            match = PROVIDER_ARN.match(federated)
            key = match.group(3) if match else federated
            keys = _condition_keys(statement.get("Condition"), _restricting)
            missing = [claim for claim in ("sub", "aud") if "{0}:{1}".format(key, claim).lower() not in keys]
            if missing:
                raise InputError(
                    "{0}, statement {1}: trusts the OIDC provider {2} without a condition on {3} (every identity that "
                    "provider issues could assume the role); add StringEquals or StringLike conditions on {4}.".format(
                        where, index, key, " and ".join("{0}:{1}".format(key, claim) for claim in missing),
                        " and ".join("{0}:{1}".format(key, claim) for claim in ("sub", "aud")))
                )
            for claim in ("sub", "aud"):
                if all(str(value).strip("*") == "" for value in keys["{0}:{1}".format(key, claim).lower()]):
                    raise InputError(
                        "{0}, statement {1}: the {2}:{3} condition only matches \"*\", which lets every identity of "
                        "the provider through; name the subjects and audiences.".format(where, index, key, claim)
                    )


GITHUB_ISSUER = "token.actions.githubusercontent.com"
# GitHub's subject claim: owner and repository names (letters, digits, '-', and '.', '_' in repository names).
GITHUB_SUBJECT = re.compile(r"^repo:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}:"
                            r"(?:environment:[^:]+|ref:refs/(?:heads|tags)/.+|pull_request|\*)$")


def check_trust_form(trust, where):
    """Check the short trust form; no API call."""
    services, principals, oidc = trust.get("services") or [], trust.get("aws_principals") or [], trust.get("oidc")
    if not services and not principals and not oidc:
        raise InputError("{0}: give at least one of services, aws_principals and oidc.".format(where))
    for service in services:
        if not SERVICE_PRINCIPAL.match(service):
            raise InputError("{0}.services: {1!r} is not a service principal such as eks.amazonaws.com.".format(where, service))
    for principal in principals:
        if not AWS_PRINCIPAL.match(principal):
            raise InputError(
                "{0}.aws_principals: {1!r} is not an account id or an IAM user or role ARN (\"*\" is never allowed).".format(
                    where, principal)
            )
    if (trust.get("require_mfa") or trust.get("external_id")) and not principals:
        raise InputError("{0}: require_mfa and external_id apply to aws_principals; list the principals.".format(where))
    if trust.get("require_mfa") and not 1 <= (trust.get("mfa_max_age") or 0) <= 129600:
        raise InputError("{0}.mfa_max_age: must be 1 to 129600 seconds; got {1!r}.".format(where, trust.get("mfa_max_age")))
    if oidc:
        if bool(oidc.get("provider_arn")) == bool(oidc.get("provider_url")):
            raise InputError("{0}.oidc: give exactly one of provider_arn and provider_url.".format(where))
        if oidc.get("provider_arn") and not PROVIDER_ARN.match(oidc["provider_arn"]):
            raise InputError("{0}.oidc.provider_arn: {1!r} is not an OIDC provider ARN.".format(where, oidc["provider_arn"]))
        # A provider only planned by an earlier task (check mode) has no URL yet; run() refuses it outside check mode.
        if oidc.get("provider_url") and not oidc["provider_url"].startswith("https://") and UNKNOWN not in oidc["provider_url"]:
            raise InputError("{0}.oidc.provider_url: must start with https://; got {1!r}.".format(where, oidc["provider_url"]))
        for claim in ("subjects", "audiences"):
            values = oidc.get(claim) or []
            if not values:
                raise InputError("{0}.oidc.{1}: required (an OIDC trust without it admits every identity).".format(where, claim))
            if any(not value or value.strip("*") == "" for value in values):
                raise InputError("{0}.oidc.{1}: \"*\" admits every identity of the provider; name them.".format(where, claim))
        if GITHUB_ISSUER in (oidc.get("provider_url") or oidc.get("provider_arn") or ""):
            for subject in oidc.get("subjects") or []:
                if not GITHUB_SUBJECT.match(subject):
                    raise InputError(
                        "{0}.oidc.subjects: {1!r} can never match a GitHub Actions token, whose subject reads "
                        "repo:<owner>/<repository>:environment:<name> (or :ref:refs/heads/<branch>, :pull_request); is the "
                        "repository given as owner/name?".format(where, subject))


def build_trust_policy(trust, arn_for_url):
    """The trust policy document of the short form; `arn_for_url(url)` gives a provider's ARN."""
    statements = []
    if trust.get("services"):
        statements.append({"Sid": "Services", "Effect": "Allow", "Principal": {"Service": sorted(trust["services"])},
                           "Action": "sts:AssumeRole"})
    if trust.get("aws_principals"):
        statement = {"Sid": "Principals", "Effect": "Allow", "Principal": {"AWS": sorted(trust["aws_principals"])},
                     "Action": "sts:AssumeRole"}
        condition = {}
        if trust.get("require_mfa"):
            condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
            condition["NumericLessThanEquals"] = {"aws:MultiFactorAuthAge": str(trust.get("mfa_max_age") or 3600)}
        if trust.get("external_id"):
            condition["StringEquals"] = {"sts:ExternalId": trust["external_id"]}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    oidc = trust.get("oidc")
    if oidc:
        arn = oidc.get("provider_arn") or arn_for_url(oidc["provider_url"])
        key = PROVIDER_ARN.match(arn).group(3)
        subjects = sorted(oidc["subjects"])
        condition = {"StringEquals": {key + ":aud": sorted(oidc["audiences"])}}
        if any("*" in subject or "?" in subject for subject in subjects):
            condition["StringLike"] = {key + ":sub": subjects}
        else:
            condition["StringEquals"][key + ":sub"] = subjects
        statements.append({"Sid": "WebIdentity", "Effect": "Allow", "Principal": {"Federated": arn},
                           "Action": WEB_IDENTITY_ACTION, "Condition": condition})
    return {"Version": "2012-10-17", "Statement": statements}


def inline_policy_size(documents):
    return sum(len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":")))) for document in documents)


def check_role(role, index):
    """The role's checked spec (documents as dicts; the trust short form kept for later ARN lookup)."""
    name = role.get("name") or ""
    if not ROLE_NAME.match(name):
        raise InputError(
            "roles[{0}].name: {1!r} is not a role name (1 to 64 of letters, digits and +=,.@_-).".format(index, name)
        )
    where = "roles: role {0!r}".format(name)
    path = role.get("path") or DEFAULT_PATH
    if not ROLE_PATH.match(path) or len(path) > 512:
        raise InputError("{0}: path {1!r} must start and end with / (for example /cairn/).".format(where, path))
    if len(role.get("description") or "") > 1000:
        raise InputError("{0}: description is longer than 1000 characters.".format(where))
    duration = role.get("max_session_duration")
    if duration is None or not 3600 <= duration <= 43200:
        raise InputError("{0}: max_session_duration must be 3600 to 43200 seconds; got {1!r}.".format(where, duration))
    for arn in role.get("managed_policy_arns") or []:
        if not POLICY_ARN.match(arn):
            raise InputError("{0}: managed_policy_arns: {1!r} is not a managed policy ARN.".format(where, arn))
    if role.get("permissions_boundary") and not POLICY_ARN.match(role["permissions_boundary"]):
        raise InputError("{0}: permissions_boundary {1!r} is not a managed policy ARN.".format(where, role["permissions_boundary"]))
    if (role.get("trust_policy") is None) == (role.get("trust") is None):
        raise InputError("{0}: give exactly one of trust_policy and trust.".format(where))
    spec = {
        "name": name, "path": path, "description": role.get("description") or "",
        "max_session_duration": duration, "permissions_boundary": role.get("permissions_boundary") or None,
        "managed_policy_arns": sorted(set(role.get("managed_policy_arns") or [])),
        "trust": role.get("trust"), "trust_policy": None,
    }
    if role.get("trust") is not None:
        check_trust_form(role["trust"], where + ": trust")
    else:
        spec["trust_policy"] = check_policy(role["trust_policy"], where + ": trust_policy", "trust")
        check_web_identity_conditions(spec["trust_policy"], where + ": trust_policy")
    inline = {}
    for policy_name, document in sorted((role.get("inline_policies") or {}).items()):
        if not POLICY_NAME.match(policy_name):
            raise InputError(
                "{0}: inline policy name {1!r} must be 1 to 128 of letters, digits and +=,.@_-.".format(where, policy_name)
            )
        inline[policy_name] = check_policy(document, "{0}: inline policy {1!r}".format(where, policy_name), "identity")
    if inline_policy_size(inline.values()) > MAX_INLINE_POLICY_CHARS:
        raise InputError(
            "{0}: the inline policies add up to {1} characters; IAM allows {2} per role (use a managed policy).".format(
                where, inline_policy_size(inline.values()), MAX_INLINE_POLICY_CHARS)
        )
    spec["inline_policies"] = inline
    return spec


def check_provider(provider, index):
    url = (provider.get("url") or "").strip()
    where = "oidc_providers[{0}]".format(index)
    if UNKNOWN not in url and (not re.match(r"^https://[^\s?#]+$", url) or len(url) > 255):
        raise InputError("{0}.url: {1!r} must be an https:// URL without query or fragment.".format(where, url))
    client_ids = provider.get("client_ids") or []
    if not client_ids or len(client_ids) > 100 or any(not 1 <= len(value) <= 255 for value in client_ids):
        raise InputError("{0}.client_ids: give 1 to 100 audiences of 1 to 255 characters.".format(where))
    thumbprints = provider.get("thumbprints")
    if thumbprints is not None:
        if len(thumbprints) > MAX_THUMBPRINTS or any(not THUMBPRINT.match(value) for value in thumbprints):
            raise InputError("{0}.thumbprints: give at most 5 SHA-1 thumbprints of 40 hex digits.".format(where))
        thumbprints = sorted(value.lower() for value in thumbprints)
    return {"url": url, "key": provider_key(url), "client_ids": sorted(set(client_ids)), "thumbprints": thumbprints}


def outermost_paths(paths):
    """The paths not under another of them: ListRoles under /cairn/ also lists /cairn/eks/."""
    paths = sorted(set(paths))
    return [path for path in paths if not any(path != other and path.startswith(other) for other in paths)]


def build_spec(params):
    """All checks that need no API call."""
    spec = {"state": params["state"], "purge": params["purge_roles"], "component": params["component"]}
    if not re.match(r"^[a-z][a-z0-9-]{0,62}$", params["component"] or ""):
        raise InputError("component: {0!r} must be lower-case letters, digits and - (for example security).".format(params["component"]))
    providers = [check_provider(provider, index) for index, provider in enumerate(params.get("oidc_providers") or [])]
    keys = [provider["key"] for provider in providers]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        raise InputError("oidc_providers: {0} is listed more than once.".format(key))
    roles = [check_role(role, index) for index, role in enumerate(params.get("roles") or [])]
    names = [role["name"].lower() for role in roles]
    for name in sorted({name for name in names if names.count(name) > 1}):
        raise InputError("roles: role {0!r} is listed more than once (IAM role names ignore case).".format(name))
    spec["oidc_providers"] = providers
    spec["roles"] = roles
    return spec


# ---------------------------------------------------------------------------------------------
# Converging
# ---------------------------------------------------------------------------------------------
class IamRolesConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.spec = spec
        self.plan = cm.plan
        self.owner = Ownership(cm.params["environment"], cm.params["stack"], spec["component"],
                               user_tags=cm.params.get("tags"), purge_tags=cm.params.get("purge_tags", True))
        self.roles = IamRoleConverger(cm, self.owner, cm.plan)
        self.iam = cm.client("iam")
        self.partition = cm.partition()
        self.providers = {}  # provider key -> {"arn", "provider" (get answer) or None until read}
        self.found_roles = []  # role names seen under our paths, candidates for the purge

    # ---- read ----------------------------------------------------------------------------
    def needs_provider_list(self):
        if self.spec["oidc_providers"] or self.spec["purge"] or self.spec["state"] == "absent":
            return True
        return any((role["trust"] or {}).get("oidc") or self.federated_arns(role) for role in self.spec["roles"])

    def read_providers(self):
        if not self.needs_provider_list():
            return
        with self.cm.doing("listing IAM OIDC providers"):
            listed = self.iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])
        for item in listed:
            match = PROVIDER_ARN.match(item["Arn"])
            if match:
                self.cm.remember_account_id(match.group(2))
                self.providers[match.group(3)] = {"arn": item["Arn"], "provider": None}

    def provider_details(self, key):
        entry = self.providers.get(key)
        if entry is None:
            return None
        if entry["provider"] is None:
            with self.cm.doing("reading IAM OIDC provider " + key):
                entry["provider"] = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=entry["arn"])
        return entry["provider"]

    def provider_owned(self, key):
        details = self.provider_details(key)
        return details is not None and self.owner.owns(boto3_tag_list_to_dict(details.get("Tags")))

    def purge_paths(self):
        return sorted({DEFAULT_PATH} | {role["path"] for role in self.spec["roles"]})

    def read_roles(self):
        """Read the roles in one batch: GetAccountAuthorizationDetails (every role of the account with
        tags, trust and policies) and ListRoles under the listed roles' paths (their description and
        session duration, which the batch lacks). A rerun then makes no call per role, whatever the
        number of roles other stacks keep in the account. Without iam:GetAccountAuthorizationDetails,
        roles are listed under our paths and read one by one."""
        purging = self.spec["purge"] or self.spec["state"] == "absent"
        if not (self.spec["roles"] or purging):
            return
        account = self.roles.read_account_roles()
        if account is None:
            if purging:
                self.read_role_names()
            return
        if purging:
            paths = self.purge_paths()
            self.found_roles = sorted({role["RoleName"] for role in account
                                       if any(role["Path"].startswith(path) for path in paths)})
        if self.spec["state"] == "present":
            for path in outermost_paths(role["path"] for role in self.spec["roles"]):
                with self.cm.doing("listing IAM roles under " + path):
                    self.roles.add_role_settings(paginate(self.iam, "list_roles", "Roles", PathPrefix=path))

    def read_role_names(self):
        """Names of the roles under our paths: the purge candidates (judged by their tags later)."""
        paths = self.purge_paths()
        names = set()
        for path in paths:
            with self.cm.doing("listing IAM roles under " + path):
                names.update(role["RoleName"] for role in paginate(self.iam, "list_roles", "Roles", PathPrefix=path))
        self.found_roles = sorted(names)

    # ---- trust ---------------------------------------------------------------------------
    def arn_for_url(self, url):
        key = provider_key(url)
        if key in self.providers:
            return self.providers[key]["arn"]
        return provider_arn(self.partition, self.cm.account_id(), url)

    def trust_policy(self, role):
        if role["trust_policy"] is not None:
            return role["trust_policy"]
        return build_trust_policy(role["trust"], self.arn_for_url)

    @staticmethod
    def federated_arns(role):
        if role["trust_policy"] is None:
            return []
        arns = []
        for statement in role["trust_policy"]["Statement"]:
            arns.extend(arn for arn in web_identity_principals(statement) if PROVIDER_ARN.match(arn))
        return arns

    # ---- converge ------------------------------------------------------------------------
    def preflight(self, trust_policies):
        """Refuse, before any write, what we may not touch and trusts in providers that will not exist."""
        for provider in self.spec["oidc_providers"]:
            if provider["key"] in self.providers and not self.provider_owned(provider["key"]):
                raise CairnError(
                    "oidc_providers: the provider {0} exists but does not carry the ownership tags of stack {1} and "
                    "component {2}; cairn.platform never takes it over. Trust it with trust.oidc.provider_url "
                    "instead of listing it.".format(provider["url"], self.owner.stack, self.owner.component)
                )
        listed = {provider["key"] for provider in self.spec["oidc_providers"]}
        account_id = None
        for role in self.spec["roles"]:
            for statement in trust_policies[role["name"]]["Statement"]:
                for arn in web_identity_principals(statement):
                    match = PROVIDER_ARN.match(arn)
                    if not match:
                        continue
                    account_id = account_id or self.cm.account_id()
                    if match.group(2) == account_id and match.group(3) not in self.providers and match.group(3) not in listed:
                        raise CairnError(
                            "roles: role {0!r} trusts the OIDC provider {1}, which does not exist in account {2}; "
                            "list it in oidc_providers or create it first.".format(role["name"], match.group(3), account_id)
                        )
            self.roles.check_owned(role["name"])
            current = self.roles.read(role["name"]).role
            if current is not None and current.get("Path", DEFAULT_PATH) != role["path"]:
                raise CairnError(
                    "roles: role {0!r} has path {1}; a role's path cannot change (asked for {2}). Keep {1}, or "
                    "delete the role first.".format(role["name"], current.get("Path"), role["path"])
                )

    def present(self):
        self.read_providers()
        trust_policies = {role["name"]: self.trust_policy(role) for role in self.spec["roles"]}
        self.read_roles()
        self.preflight(trust_policies)
        providers = {provider["url"]: self.ensure_provider(provider) for provider in self.spec["oidc_providers"]}
        roles = {}
        for role in self.spec["roles"]:
            arn = self.roles.ensure(
                role["name"], trust_policies[role["name"]], inline_policies=role["inline_policies"],
                managed_policy_arns=role["managed_policy_arns"], description=role["description"], path=role["path"],
                max_session_duration=role["max_session_duration"], permissions_boundary=role["permissions_boundary"],
            )
            roles[role["name"]] = {"arn": arn, "name": role["name"], "path": role["path"]}
        if self.spec["purge"]:
            self.purge(keep_roles={name.lower() for name in roles}, keep_providers={p["key"] for p in self.spec["oidc_providers"]})
        return {"roles": roles, "oidc_providers": providers}

    def absent(self):
        self.read_providers()
        self.read_roles()
        self.purge(keep_roles=set(), keep_providers=set(), also=[role["name"] for role in self.spec["roles"]])
        return {}

    def purge(self, keep_roles, keep_providers, also=()):
        # Roles first: they may trust the providers deleted after them.
        for name in sorted(set(self.found_roles) | set(also)):
            if name.lower() not in keep_roles:
                self.roles.delete(name)
        for key in sorted(self.providers):
            if key not in keep_providers and self.provider_owned(key):
                arn = self.providers[key]["arn"]
                if self.plan.delete("iam_oidc_provider", "https://" + key, {"arn": arn}):
                    with self.cm.doing("deleting IAM OIDC provider " + key):
                        self.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)

    def ensure_provider(self, provider):
        desired_tags = self.owner.desired_tags()
        current = self.provider_details(provider["key"])
        desired = {"client_ids": provider["client_ids"]}
        if provider["thumbprints"] is not None:
            desired["thumbprints"] = provider["thumbprints"]
        if current is None:
            if not self.plan.create("iam_oidc_provider", provider["url"], dict(desired, tags=desired_tags)):
                return UNKNOWN
            with self.cm.doing("creating IAM OIDC provider " + provider["url"]):
                kwargs = dict(Url=provider["url"], ClientIDList=provider["client_ids"], Tags=dict_to_boto3_tag_list(desired_tags))
                if provider["thumbprints"] is not None:
                    kwargs["ThumbprintList"] = provider["thumbprints"]
                return self.iam.create_open_id_connect_provider(**kwargs)["OpenIDConnectProviderArn"]
        arn = self.providers[provider["key"]]["arn"]
        before = {"client_ids": sorted(current.get("ClientIDList", []))}
        if provider["thumbprints"] is not None:
            before["thumbprints"] = sorted(value.lower() for value in current.get("ThumbprintList", []))
        if self.plan.update("iam_oidc_provider", provider["url"], before, desired):
            with self.cm.doing("updating IAM OIDC provider " + provider["url"]):
                for client_id in sorted(set(desired["client_ids"]) - set(before["client_ids"])):
                    self.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=client_id)
                for client_id in sorted(set(before["client_ids"]) - set(desired["client_ids"])):
                    self.iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=client_id)
                if before.get("thumbprints") != desired.get("thumbprints"):
                    self.iam.update_open_id_connect_provider_thumbprint(
                        OpenIDConnectProviderArn=arn, ThumbprintList=desired["thumbprints"])
        apply_tag_changes(
            self.cm, self.plan, self.owner, "iam_oidc_provider", provider["url"], boto3_tag_list_to_dict(current.get("Tags")), desired_tags,
            action="tagging IAM OIDC provider " + provider["url"],
            add=lambda to_set: self.iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=to_remove))
        return arn


def main():
    cm = CairnModule("iam", ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = IamRolesConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM roles owned by a component: trust, inline and managed policies, tags, compared by meaning."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.policy import normalize_policy, policies_equal, to_json
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)


# An IAM role ARN (any partition, an optional path), as modules that take one check it before any call.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
# Role fields GetAccountAuthorizationDetails leaves out (ListRoles and GetRole have them).
SETTINGS_FIELDS = ("Description", "MaxSessionDuration")
# The errors of a caller without iam:GetAccountAuthorizationDetails.
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def decode_document(value):
    """A policy document from IAM's batch read: botocore already decodes it; a URL-encoded JSON
    string (RFC 3986, as the API documents it) is decoded the same way."""
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return value
    return value


class RoleState:
    """A role as read: the role (None when absent), its inline policies and attached managed policy ARNs.

    ``complete`` is False for a role taken from GetAccountAuthorizationDetails whose description and
    session duration are not known yet (see SETTINGS_FIELDS).
    """

    def __init__(self, role=None, inline_policies=None, managed_policy_arns=None, complete=True):
        self.role = role
        self.inline_policies = inline_policies or {}
        self.managed_policy_arns = managed_policy_arns or []
        self.complete = complete


class IamRoleConverger:
    def __init__(self, cm, ownership, plan):
        self.cm = cm
        self.owner = ownership
        self.plan = plan
        self._read = {}
        # After read_account_roles(): every role of the account by lower-case name (IAM names
        # ignore case); None until then, and roles are read one by one.
        self._account = None

    @property
    def iam(self):
        return self.cm.client("iam")

    def owned(self, state):
        return state.role is not None and self.owner.owns(boto3_tag_list_to_dict(state.role.get("Tags")))

    def read_account_roles(self):
        """Read every role of the account with its tags, trust, inline and attached policies in one
        paginated iam:GetAccountAuthorizationDetails; later reads of a role make no call of their own,
        except one GetRole for a role whose description and session duration no ListRoles answer
        given to add_role_settings() carried.

        Returns the role summaries (RoleName, Path), or None when the caller may not make the call
        (roles are then read one by one, as without this method).
        """
        with self.cm.doing("reading the IAM roles of the account"):
            try:
                details = paginate(self.iam, "get_account_authorization_details", "RoleDetailList", Filter=["Role"],
                                   PaginationConfig={"PageSize": 1000})
            except Exception as exc:
                if error_code(exc) not in DENIED:
                    raise
                details = None
        if details is None:
            return None
        self._account = {}
        for detail in details:
            role = {key: value for key, value in detail.items()
                    if key not in ("RolePolicyList", "AttachedManagedPolicies", "InstanceProfileList")}
            role["AssumeRolePolicyDocument"] = decode_document(role.get("AssumeRolePolicyDocument"))
            state = RoleState(role, complete=False)
            if self.owned(state):
                state.inline_policies = {policy["PolicyName"]: decode_document(policy["PolicyDocument"])
                                         for policy in detail.get("RolePolicyList") or []}
                state.managed_policy_arns = sorted(policy["PolicyArn"] for policy in detail.get("AttachedManagedPolicies") or [])
            self._account[detail["RoleName"].lower()] = state
        return [{"RoleName": detail["RoleName"], "Path": detail.get("Path", "/")} for detail in details]

    def add_role_settings(self, listed_roles):
        """Complete roles of read_account_roles() with the description and session duration of ListRoles items."""
        for item in listed_roles:
            state = (self._account or {}).get(item["RoleName"].lower())
            if state is not None and state.role is not None and "MaxSessionDuration" in item:
                for key in SETTINGS_FIELDS:
                    if key in item:
                        state.role[key] = item[key]
                state.complete = True

    def read(self, name, complete=True):
        """The role's state, read once per run; policies are read only for roles we own.

        With complete=False (enough to judge ownership and delete) a role of read_account_roles()
        is taken as it is, without its description and session duration.
        """
        if self._account is not None:
            return self._from_account(name, complete)
        if name in self._read:
            return self._read[name]
        with self.cm.doing("reading IAM role " + name):
            try:
                role = self.iam.get_role(RoleName=name)["Role"]
            except Exception as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                role = None
            state = RoleState(role)
            if self.owned(state):
                for policy_name in self.iam.list_role_policies(RoleName=name).get("PolicyNames", []):
                    state.inline_policies[policy_name] = self.iam.get_role_policy(
                        RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                state.managed_policy_arns = sorted(
                    p["PolicyArn"] for p in self.iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []))
        self._read[name] = state
        return state

    def _from_account(self, name, complete):
        if name in self._read:
            state = self._read[name]
        else:
            state = self._account.get(name.lower()) or RoleState()
            self._read[name] = state
        if complete and state.role is not None and not state.complete:
            with self.cm.doing("reading IAM role " + name):
                try:
                    role = self.iam.get_role(RoleName=name)["Role"]
                except Exception as exc:
                    if error_code(exc) != "NoSuchEntity":
                        raise
                    role = None
            if role is None:
                state = RoleState()
                self._read[name] = state
            else:
                state.role = role
                state.complete = True
        return state

    def check_owned(self, name):
        """Refuse (before any write) a role of that name that carries no ownership tags."""
        state = self.read(name)
        if state.role is not None and not self.owned(state):
            raise CairnError(
                "IAM role {0} exists but does not carry the ownership tags of stack {1}; cairn.platform never "
                "takes over a role it does not own. Rename or tag it by hand to adopt it.".format(name, self.owner.stack)
            )

    def ensure(self, name, trust_policy, inline_policies=None, managed_policy_arns=None, description="",
               path="/cairn/", max_session_duration=3600, permissions_boundary=None, tags=None):
        """Converge one role; return its ARN (UNKNOWN in check mode before creation)."""
        self.check_owned(name)
        state = self.read(name)
        inline_policies = inline_policies or {}
        managed = sorted(managed_policy_arns or [])
        desired_tags = tags or self.owner.desired_tags()
        if state.role is None:
            desired = {"trust_policy": normalize_policy(trust_policy), "inline_policies": sorted(inline_policies),
                       "managed_policy_arns": managed, "path": path, "max_session_duration": max_session_duration,
                       "tags": desired_tags}
            if not self.plan.create("iam_role", name, desired):
                return UNKNOWN
            with self.cm.doing("creating IAM role " + name):
                kwargs = dict(RoleName=name, Path=path, AssumeRolePolicyDocument=to_json(trust_policy),
                              Description=description, MaxSessionDuration=max_session_duration,
                              Tags=dict_to_boto3_tag_list(desired_tags))
                if permissions_boundary:
                    kwargs["PermissionsBoundary"] = permissions_boundary
                arn = self.iam.create_role(**kwargs)["Role"]["Arn"]
                for policy_name, document in sorted(inline_policies.items()):
                    self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=to_json(document))
                for policy_arn in managed:
                    self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            return arn

        role = state.role
        if not policies_equal(role["AssumeRolePolicyDocument"], trust_policy):
            if self.plan.update("iam_role", name, {"trust_policy": normalize_policy(role["AssumeRolePolicyDocument"])},
                                {"trust_policy": normalize_policy(trust_policy)}):
                with self.cm.doing("updating the trust policy of " + name):
                    self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=to_json(trust_policy))
        current_settings = {"description": role.get("Description", ""), "max_session_duration": role.get("MaxSessionDuration")}
        desired_settings = {"description": description, "max_session_duration": max_session_duration}
        if self.plan.update("iam_role", name, current_settings, desired_settings):
            with self.cm.doing("updating IAM role " + name):
                self.iam.update_role(RoleName=name, Description=description, MaxSessionDuration=max_session_duration)
        for policy_name, document in sorted(inline_policies.items()):
            current = state.inline_policies.get(policy_name)
            if current is not None and policies_equal(current, document):
                continue
            if self.plan.update("iam_role", name, {"policy:" + policy_name: current and normalize_policy(current)},
                                {"policy:" + policy_name: normalize_policy(document)}):
                with self.cm.doing("writing policy {0} of {1}".format(policy_name, name)):
                    self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=to_json(document))
        for policy_name in sorted(set(state.inline_policies) - set(inline_policies)):
            if self.plan.update("iam_role", name, {"policy:" + policy_name: normalize_policy(state.inline_policies[policy_name])},
                                {"policy:" + policy_name: None}):
                with self.cm.doing("deleting policy {0} of {1}".format(policy_name, name)):
                    self.iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        if self.plan.update("iam_role", name, {"managed_policy_arns": state.managed_policy_arns}, {"managed_policy_arns": managed}):
            with self.cm.doing("attaching managed policies to " + name):
                for policy_arn in sorted(set(managed) - set(state.managed_policy_arns)):
                    self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
                for policy_arn in sorted(set(state.managed_policy_arns) - set(managed)):
                    self.iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
        current_boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if self.plan.update("iam_role", name, {"permissions_boundary": current_boundary}, {"permissions_boundary": permissions_boundary}):
            with self.cm.doing("setting the permissions boundary of " + name):
                if permissions_boundary:
                    self.iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=permissions_boundary)
                else:
                    self.iam.delete_role_permissions_boundary(RoleName=name)
        apply_tag_changes(
            self.cm, self.plan, self.owner, "iam_role", name, boto3_tag_list_to_dict(role.get("Tags")), desired_tags,
            action="tagging IAM role " + name,
            add=lambda to_set: self.iam.tag_role(RoleName=name, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.iam.untag_role(RoleName=name, TagKeys=to_remove))
        return role["Arn"]

    def delete(self, name):
        """Delete the role with its policies when it is ours; a role without our tags is left alone."""
        state = self.read(name, complete=False)
        if not self.owned(state):
            return
        if self.plan.delete("iam_role", name, {"arn": state.role["Arn"]}):
            with self.cm.doing("deleting IAM role " + name):
                for policy_name in state.inline_policies:
                    self.iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
                for policy_arn in state.managed_policy_arns:
                    self.iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
                self.iam.delete_role(RoleName=name)

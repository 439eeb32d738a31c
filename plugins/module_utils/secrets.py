# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets Manager secrets whose value a component generates: created once, tagged, never shown.

The converger works with names, ARNs, descriptions, KMS keys and tags only. The value is made by
the caller's `generate()` at the moment the secret is created, so whoever generated it holds it;
nothing here returns a value or puts one in the plan.
"""

from __future__ import annotations

import uuid

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)

# Secrets Manager encrypts with this AWS managed key when a secret names no key.
DEFAULT_SECRET_KEY = "alias/aws/secretsmanager"
GENERATED = "(generated; never shown)"


class SecretConverger:
    def __init__(self, cm, ownership, plan):
        self.cm = cm
        self.owner = ownership
        self.plan = plan
        self._read = {}

    @property
    def secretsmanager(self):
        return self.cm.client("secretsmanager")

    def read(self, name):
        """describe_secret's answer (no value) or None; read once per run and remembered."""
        if name not in self._read:
            with self.cm.doing("reading secret " + name):
                try:
                    secret = self.secretsmanager.describe_secret(SecretId=name)
                except Exception as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise
                    secret = None
            self._read[name] = secret
        return self._read[name]

    def owned(self, name):
        secret = self.read(name)
        return secret is not None and self.owner.owns(boto3_tag_list_to_dict(secret.get("Tags")))

    def scheduled_for_deletion(self, name):
        secret = self.read(name)
        return secret is not None and secret.get("DeletedDate") is not None

    def check_owned(self, name, field="secret"):
        """Refuse (before any write) a secret of that name that carries no ownership tags."""
        if self.read(name) is not None and not self.owned(name):
            raise CairnError(
                "{0}: secret {1} exists but does not carry the ownership tags of stack {2}; cairn.platform never "
                "takes over a secret it does not own. Choose another name or tag it by hand to adopt it.".format(
                    field, name, self.owner.stack)
            )

    def ensure(self, name, generate, description="", kms_key_id=None, tags=None, field="secret"):
        """Converge the secret; return its ARN (UNKNOWN in check mode before creation).

        `generate()` is called only when the secret is created, and its value goes straight to
        Secrets Manager. A secret scheduled for deletion is restored (its value is kept).
        """
        self.check_owned(name, field)
        secret = self.read(name)
        desired_tags = tags or self.owner.desired_tags()
        desired = {"description": description, "kms_key_id": kms_key_id or DEFAULT_SECRET_KEY}
        if secret is None:
            if not self.plan.create("secret", name, dict(desired, value=GENERATED, tags=desired_tags)):
                return UNKNOWN
            with self.cm.doing("creating secret " + name):
                kwargs = dict(Name=name, Description=description, SecretString=generate(),
                              Tags=dict_to_boto3_tag_list(desired_tags),
                              # Retries of this one call reuse the token, so they never make a second version.
                              ClientRequestToken=str(uuid.uuid4()))
                if kms_key_id:
                    kwargs["KmsKeyId"] = kms_key_id
                return self.secretsmanager.create_secret(**kwargs)["ARN"]
        arn = secret["ARN"]
        if secret.get("DeletedDate") is not None:
            if self.plan.update("secret", name, {"scheduled_deletion": str(secret["DeletedDate"])}, {"scheduled_deletion": None},
                                note="restores the secret and its value"):
                with self.cm.doing("restoring secret " + name):
                    self.secretsmanager.restore_secret(SecretId=arn)
        current = {"description": secret.get("Description", ""), "kms_key_id": secret.get("KmsKeyId") or DEFAULT_SECRET_KEY}
        if self.plan.update("secret", name, current, desired):
            with self.cm.doing("updating secret " + name):
                kwargs = {"SecretId": arn}
                if current["description"] != desired["description"]:
                    kwargs["Description"] = description
                if current["kms_key_id"] != desired["kms_key_id"]:
                    kwargs["KmsKeyId"] = desired["kms_key_id"]
                self.secretsmanager.update_secret(**kwargs)
        apply_tag_changes(
            self.cm, self.plan, self.owner, "secret", name, boto3_tag_list_to_dict(secret.get("Tags")), desired_tags,
            action="tagging secret " + name,
            add=lambda to_set: self.secretsmanager.tag_resource(SecretId=arn, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.secretsmanager.untag_resource(SecretId=arn, TagKeys=to_remove))
        return arn

    def delete(self, name, recovery_window_days=30):
        """Schedule the deletion of an owned secret (restorable within the window); others are left alone."""
        secret = self.read(name)
        if not self.owned(name) or secret.get("DeletedDate") is not None:
            return
        if self.plan.delete("secret", name, {"arn": secret["ARN"]},
                            note="scheduled for deletion in {0} days (restorable until then)".format(recovery_window_days)):
            with self.cm.doing("scheduling the deletion of secret " + name):
                self.secretsmanager.delete_secret(SecretId=secret["ARN"], RecoveryWindowInDays=recovery_window_days)

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudWatch Logs groups owned by a component: retention, KMS key and tags, planned like everything else."""

from __future__ import annotations

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.tags import apply_tag_changes


# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def check_retention_days(field, days):
    """Refuse a retention CloudWatch Logs would refuse, naming the field and the allowed values."""
    if days not in LOG_RETENTION_DAYS:
        raise InputError("{0}: CloudWatch Logs accepts only {1}; got {2!r}.".format(
            field, ", ".join(str(value) for value in LOG_RETENTION_DAYS), days))


class LogGroupConverger:
    def __init__(self, cm, ownership, plan):
        self.cm = cm
        self.owner = ownership
        self.plan = plan
        self._read = {}

    @property
    def logs(self):
        return self.cm.client("logs")

    def arn(self, name):
        connection = self.cm.connection
        partition = connection.session.get_partition_for_region(connection.region)
        return "arn:{0}:logs:{1}:{2}:log-group:{3}".format(partition, connection.region, self.cm.account_id(), name)

    def read(self, name):
        """(group dict or None, tags); read once per run and remembered."""
        if name not in self._read:
            with self.cm.doing("reading log group " + name):
                groups = [g for g in paginate(self.logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
                          if g["logGroupName"] == name]
                if not groups:
                    self._read[name] = (None, {})
                else:
                    group = groups[0]
                    arn = group.get("logGroupArn") or group["arn"].rstrip("*").rstrip(":")
                    self._read[name] = (group, self.logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))
        return self._read[name]

    def owned(self, name):
        group, tags = self.read(name)
        return group is not None and self.owner.owns(tags)

    def check_owned(self, name, field="log_group_name"):
        """Refuse (before any write) a group of that name that carries no ownership tags."""
        group, tags = self.read(name)
        if group is not None and not self.owner.owns(tags):
            raise CairnError(
                "{0}: log group {1} exists but does not carry the ownership tags of stack {2}; choose another "
                "name or tag it by hand to adopt it.".format(field, name, self.owner.stack)
            )

    def ensure(self, name, retention_days, kms_key_id=None, tags=None, field="log_group_name"):
        """Converge the group; return its ARN (without the trailing :*)."""
        self.check_owned(name, field)
        group, current_tags = self.read(name)
        desired_tags = tags or self.owner.desired_tags()
        desired = {"retention_days": retention_days, "kms_key_id": kms_key_id}
        arn = self.arn(name)
        if group is None:
            if self.plan.create("log_group", name, dict(desired, tags=desired_tags)):
                with self.cm.doing("creating log group " + name):
                    kwargs = {"logGroupName": name, "tags": desired_tags}
                    if kms_key_id:
                        kwargs["kmsKeyId"] = kms_key_id
                    self.logs.create_log_group(**kwargs)
                    if retention_days:
                        self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
            return arn
        current = {"retention_days": group.get("retentionInDays"), "kms_key_id": group.get("kmsKeyId")}
        if self.plan.update("log_group", name, current, desired):
            with self.cm.doing("updating log group " + name):
                if current["retention_days"] != retention_days:
                    if retention_days:
                        self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
                    else:
                        self.logs.delete_retention_policy(logGroupName=name)
                if current["kms_key_id"] != kms_key_id:
                    if kms_key_id:
                        self.logs.associate_kms_key(logGroupName=name, kmsKeyId=kms_key_id)
                    else:
                        self.logs.disassociate_kms_key(logGroupName=name)
        apply_tag_changes(
            self.cm, self.plan, self.owner, "log_group", name, current_tags, desired_tags,
            action="tagging log group " + name,
            add=lambda to_set: self.logs.tag_resource(resourceArn=arn, tags=to_set),
            remove=lambda to_remove: self.logs.untag_resource(resourceArn=arn, tagKeys=to_remove))
        return arn

    def delete(self, name):
        """Delete the group when it is ours; a group without our tags is left alone."""
        group = self.read(name)[0]
        if group is None or not self.owned(name):
            return
        if self.plan.delete("log_group", name, {"retention_days": group.get("retentionInDays")}):
            with self.cm.doing("deleting log group " + name):
                self.logs.delete_log_group(logGroupName=name)

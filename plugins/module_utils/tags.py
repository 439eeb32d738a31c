# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership tags and amazon.aws's tags/purge_tags contract.

- Ownership tags (environment, stack, component, managed-by) are always enforced.
- `tags` unset means "leave the user's tags alone"; `purge_tags` only applies when `tags` is set.
- Keys starting with `aws:` are never purged (AWS owns them).
"""

from __future__ import annotations

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

TAG_PREFIX = "cairn:"
ENVIRONMENT_TAG = TAG_PREFIX + "environment"
STACK_TAG = TAG_PREFIX + "stack"
COMPONENT_TAG = TAG_PREFIX + "component"
MANAGED_BY_TAG = TAG_PREFIX + "managed-by"
MANAGED_BY_VALUE = "cairn.platform"

OWNERSHIP_ARGUMENT_SPEC = dict(
    environment=dict(type="str", required=True),
    stack=dict(type="str", required=True),
    tags=dict(type="dict", aliases=["resource_tags"]),
    purge_tags=dict(type="bool", default=True),
)

MAX_TAGS = 50


class Ownership:
    """Who owns a resource: the tags every resource of a component carries and is found by."""

    def __init__(self, environment, stack, component, user_tags=None, purge_tags=True):
        for field, value in (("environment", environment), ("stack", stack)):
            if not value or len(value) > 128:
                raise InputError("{0} must be 1 to 128 characters; got {1!r}.".format(field, value))
        self.environment = environment
        self.stack = stack
        self.component = component
        self.user_tags = None if user_tags is None else {str(k): str(v) for k, v in user_tags.items()}
        self.purge_tags = purge_tags
        if self.user_tags:
            for key in self.user_tags:
                if key.startswith(TAG_PREFIX) or key.lower().startswith("aws:"):
                    raise InputError(
                        "tags: the key {0!r} is reserved (keys starting with 'cairn:' are set by the "
                        "collection, 'aws:' by AWS).".format(key)
                    )

    @property
    def ownership_tags(self):
        return {
            ENVIRONMENT_TAG: self.environment,
            STACK_TAG: self.stack,
            COMPONENT_TAG: self.component,
            MANAGED_BY_TAG: MANAGED_BY_VALUE,
        }

    def desired_tags(self, name=None, extra=None):
        """The tags a resource should carry: user tags, then identity tags, then ownership tags win."""
        tags = dict(self.user_tags or {})
        if name:
            tags["Name"] = name
        tags.update(extra or {})
        tags.update(self.ownership_tags)
        if len(tags) > MAX_TAGS:
            raise InputError("tags: a resource can carry at most {0} tags; this one would get {1}.".format(MAX_TAGS, len(tags)))
        return tags

    def filters(self):
        """EC2-style describe filters that select this component's resources of this stack."""
        return [{"Name": "tag:" + key, "Values": [value]} for key, value in sorted(self.ownership_tags.items())]

    def owns(self, tags):
        tags = tags or {}
        return all(tags.get(key) == value for key, value in self.ownership_tags.items())

    def tag_changes(self, current, desired):
        """(to_set, to_remove) taking `current` to `desired` under the tags/purge_tags contract."""
        current = current or {}
        to_set = {key: value for key, value in desired.items() if current.get(key) != value}
        to_remove = []
        if self.user_tags is not None and self.purge_tags:
            to_remove = sorted(
                key for key in current if key not in desired and not key.lower().startswith("aws:")
            )
        return to_set, to_remove


def boto3_tag_list_to_dict(tag_list, key_name="Key", value_name="Value"):
    return {tag[key_name]: tag[value_name] for tag in tag_list or []}


def dict_to_boto3_tag_list(tags, key_name="Key", value_name="Value"):
    return [{key_name: key, value_name: value} for key, value in sorted(tags.items())]


def tag_specifications(resource_type, tags):
    """EC2 TagSpecifications so a resource is born tagged (a crash right after create still leaves it findable)."""
    return [{"ResourceType": resource_type, "Tags": dict_to_boto3_tag_list(tags)}]


def plan_tag_changes(plan, ownership, resource_type, resource, current, desired):
    """Record a tag update in `plan`; return (to_set, to_remove) when the caller should write, else None."""
    current = current or {}
    to_set, to_remove = ownership.tag_changes(current, desired)
    if not to_set and not to_remove:
        return None
    after = {key: value for key, value in current.items() if key not in to_remove}
    after.update(to_set)
    if plan.update(resource_type, resource, {"tags": current}, {"tags": after}):
        return to_set, to_remove
    return None


def apply_tag_changes(cm, plan, ownership, resource_type, resource, current, desired, action, add, remove):
    """Plan a tag update (tags/purge_tags contract); when it should be written, call add(to_set), remove(keys).

    `add` and `remove` wrap the service's own tagging calls, which differ from service to service.
    """
    changes = plan_tag_changes(plan, ownership, resource_type, resource, current, desired)
    if not changes:
        return
    to_set, to_remove = changes
    with cm.doing(action):
        if to_set:
            add(to_set)
        if to_remove:
            remove(to_remove)

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership tags and amazon.aws's tags/purge_tags contract.

- Ownership tags (environment, stack, component, managed-by) are always enforced.
- `tags` unset means "leave the user's tags alone"; `purge_tags` only applies when `tags` is set.
- Keys starting with `aws:` are never purged (AWS owns them).
"""

from __future__ import annotations

import unicodedata

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
MAX_KEY = 128
MAX_VALUE = 256
# The strictest set the tagged services share (IAM, and KMS, S3, RDS, ...: [\p{L}\p{Z}\p{N}_.:/=+\-@]).
TAG_PUNCTUATION = "_.:/=+-@"
ALLOWED_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"


def _bad_character(text):
    """The first character AWS refuses in a tag key or value, or None."""
    for char in text:
        if char not in TAG_PUNCTUATION and unicodedata.category(char)[0] not in "LNZ":
            return char
    return None


def check_tag_value(field, what, value):
    """A tag value: 0 to 256 Unicode characters of the allowed set; `what` names it in the message."""
    if len(value) > MAX_VALUE:
        raise InputError("{0}: {1} has {2} characters; AWS allows at most {3}.".format(field, what, len(value), MAX_VALUE))
    char = _bad_character(value)
    if char is not None:
        raise InputError("{0}: {1} contains {2!r}, which AWS does not allow in tags; use {3}.".format(field, what, char, ALLOWED_CHARACTERS))
    return value


def check_tags(field, tags):
    """User tags as AWS takes them on every service the collection tags; returns them as strings. No API call."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise InputError("{0}: must be a mapping of tag keys to values; got {1}.".format(field, type(tags).__name__))
    tags = {str(key): str(value) for key, value in tags.items()}
    if len(tags) > MAX_TAGS:
        raise InputError("{0}: {1} tags given; AWS allows at most {2} on a resource (and the collection adds its own).".format(
            field, len(tags), MAX_TAGS))
    for key, value in tags.items():
        if key.startswith(TAG_PREFIX) or key.lower().startswith("aws:"):
            raise InputError(
                "{0}: the key {1!r} is reserved (keys starting with 'cairn:' are set by the "
                "collection, 'aws:' by AWS).".format(field, key)
            )
        if not 1 <= len(key) <= MAX_KEY:
            raise InputError("{0}: the key {1!r} has {2} characters; AWS allows 1 to {3}.".format(field, key, len(key), MAX_KEY))
        char = _bad_character(key)
        if char is not None:
            raise InputError("{0}: the key {1!r} contains {2!r}, which AWS does not allow in tags; use {3}.".format(
                field, key, char, ALLOWED_CHARACTERS))
        check_tag_value(field, "the value of {0!r}".format(key), value)
    return tags


class Ownership:
    """Who owns a resource: the tags every resource of a component carries and is found by."""

    def __init__(self, environment, stack, component, user_tags=None, purge_tags=True):
        for field, value in (("environment", environment), ("stack", stack)):
            if not value or len(value) > 128:
                raise InputError("{0} must be 1 to 128 characters; got {1!r}.".format(field, value))
            check_tag_value(field, "{0!r} (the value of its {1} tag)".format(value, TAG_PREFIX + field), value)
        self.environment = environment
        self.stack = stack
        self.component = component
        self.user_tags = check_tags("tags", user_tags)
        self.purge_tags = purge_tags

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

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result shape every module shares: a `changes` list (the plan) and a before/after `diff`.

A module asks the plan before each write: `if plan.create(...):` records the change and says
whether to perform it (never in check mode). So check mode walks the same code as a real run
and reports exactly the changes a real run would make.
"""

from __future__ import annotations

import copy

UNKNOWN = "(known after apply)"


def is_unknown(value):
    """True for the placeholder of a resource an earlier task only planned (check mode; CairnModule refuses it otherwise).

    Format checks skip such values: the plan goes on with them."""
    return isinstance(value, str) and UNKNOWN in value


def unknown_fields(value, path=""):
    """Paths of every UNKNOWN inside `value`: inputs an earlier task could only plan (check mode)."""
    if isinstance(value, str):
        return [path] if value == UNKNOWN or UNKNOWN in value else []
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in unknown_fields(item, "{0}.{1}".format(path, key) if path else key)]
    if isinstance(value, (list, tuple)):
        return [found for index, item in enumerate(value) for found in unknown_fields(item, "{0}[{1}]".format(path, index))]
    return []


CREATE = "create"
UPDATE = "update"
DELETE = "delete"


def _changed_fields(before, after):
    """{field: {before, after}} for the fields of `after` that differ from `before`."""
    fields = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            fields[key] = {"before": old, "after": new}
    return fields


class Plan:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.changes = []
        self._before = {}
        self._after = {}

    @property
    def changed(self):
        return bool(self.changes)

    def _record(self, action, resource_type, resource, before, after, fields=None, note=None):
        change = {"action": action, "resource_type": resource_type, "resource": resource}
        change["fields"] = fields if fields is not None else _changed_fields(before or {}, after or {})
        if note:
            change["note"] = note
        self.changes.append(change)
        key = "{0}/{1}".format(resource_type, resource)
        # A resource may change in several steps (tags, then attributes): merge them, first "before" wins.
        if before is not None:
            merged = self._before.setdefault(key, {})
            for field, value in before.items():
                merged.setdefault(field, copy.deepcopy(value))
        if after is not None:
            self._after.setdefault(key, {}).update(copy.deepcopy(after))
        return not self.check_mode

    def create(self, resource_type, resource, desired, note=None):
        """Record a create of `desired` (a dict of attributes); True when the caller should write."""
        return self._record(CREATE, resource_type, resource, None, desired, note=note)

    def update(self, resource_type, resource, before, after, note=None):
        """Record an update when `before` differs from `after`; True when the caller should write.

        Returns False (and records nothing) when nothing differs.
        """
        fields = _changed_fields(before, after)
        if not fields:
            return False
        return self._record(UPDATE, resource_type, resource, before, after, fields=fields, note=note)

    def delete(self, resource_type, resource, before=None, note=None):
        """Record a delete; True when the caller should write."""
        before = before or {}
        return self._record(DELETE, resource_type, resource, before, None, fields={}, note=note)

    def diff(self):
        return {"before": self._before, "after": self._after}

    def summary(self):
        counts = {CREATE: 0, UPDATE: 0, DELETE: 0}
        for change in self.changes:
            counts[change["action"]] += 1
        return "{0} to create, {1} to update, {2} to delete".format(counts[CREATE], counts[UPDATE], counts[DELETE])

    def result(self, diff_mode=False, **extra):
        result = dict(changed=self.changed, changes=self.changes, plan_summary=self.summary())
        if diff_mode:
            result["diff"] = self.diff()
        result.update(extra)
        return result

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
type: aggregate
short_description: Sum up the changes of every cairn.platform module in the run, like C(terraform plan)
version_added: 0.1.0
description:
  - Every cairn.platform module returns C(changes), the list of resources it created, updated or
    deleted (or, in check mode, would). This callback collects them per host (region stack) and,
    at the end of the run, prints one summary line per stack and the total, for example
    C(prod-us-east-1 - 31 to create, 0 to update, 0 to delete).
  - With O(plan_file), it also writes every change as JSON, for review or for a CI gate.
  - Enable it next to the usual output with C(ANSIBLE_CALLBACKS_ENABLED=cairn.platform.plan).
author:
  - cairn platform team (@cairn-platform)
options:
  plan_file:
    description: Write the collected changes as JSON to this path.
    type: path
    env:
      - name: CAIRN_PLAN_FILE
    ini:
      - section: cairn_plan
        key: plan_file
  show_changes:
    description: Also print every change, one line each, under its stack.
    type: bool
    default: false
    env:
      - name: CAIRN_PLAN_SHOW_CHANGES
    ini:
      - section: cairn_plan
        key: show_changes
"""

import json

from ansible.plugins.callback import CallbackBase

ACTIONS = ("create", "update", "delete")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cairn.platform.plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.changes = {}

    def _collect(self, host, task_name, result):
        items = result.get("results") if isinstance(result.get("results"), list) else [result]
        for item in items:
            # changed=false with changes listed is a planning step (check_mode: true, changed_when: false).
            if not (item or {}).get("changed"):
                continue
            for change in item.get("changes") or []:
                if isinstance(change, dict) and change.get("action") in ACTIONS:
                    self.changes.setdefault(host, []).append(dict(change, task=task_name))

    def v2_runner_on_ok(self, result):
        self._collect(result._host.get_name(), result._task.get_name(), result._result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # A failed module still reports what it changed before it failed.
        self._collect(result._host.get_name(), result._task.get_name(), result._result)

    @staticmethod
    def summary(changes):
        counts = {action: 0 for action in ACTIONS}
        for change in changes:
            counts[change["action"]] += 1
        return "{0} to create, {1} to update, {2} to delete".format(counts["create"], counts["update"], counts["delete"])

    def v2_playbook_on_stats(self, stats):
        show = self.get_option("show_changes")
        self._display.banner("CAIRN PLAN")
        for host in sorted(set(stats.processed) | set(self.changes)):
            changes = self.changes.get(host, [])
            self._display.display("{0} - {1}".format(host, self.summary(changes)))
            if show:
                for change in changes:
                    self._display.display("    {0:<6} {1} {2}".format(change["action"], change["resource_type"], change["resource"]))
        everything = [change for changes in self.changes.values() for change in changes]
        self._display.display("total - {0}".format(self.summary(everything)))
        plan_file = self.get_option("plan_file")
        if plan_file:
            with open(plan_file, "w") as handle:
                json.dump(self.changes, handle, indent=2, sort_keys=True, default=str)

# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: profile
type: aggregate
short_description: Where the time of a run goes, per task and inside each cairn.platform module
version_added: 0.2.0
description:
  - Times every task of the run (from the task's start to its last host's result) and each host's
    share of it, like C(ansible.posix.profile_tasks), and prints the slowest tasks and the totals at
    the end of the run.
  - With C(CAIRN_PROFILE=1) in the environment, every cairn.platform module also reports where its
    own time went (process start-up, SDK import, client creation, API calls, the rest of the module);
    the callback sums that up per module.
  - With O(profile_file), it writes every figure as JSON (the benchmark keeps it).
  - Enable it with C(ANSIBLE_CALLBACKS_ENABLED=cairn.platform.profile) (add C(CAIRN_PROFILE=1) for
    the module breakdown).
author:
  - cairn platform team (@cairn-platform)
options:
  profile_file:
    description: Write the per-task timings and the module breakdown as JSON to this path.
    type: path
    env:
      - name: CAIRN_PROFILE_FILE
    ini:
      - section: cairn_profile
        key: profile_file
  top:
    description: How many of the slowest tasks to print.
    type: int
    default: 10
    env:
      - name: CAIRN_PROFILE_TOP
    ini:
      - section: cairn_profile
        key: top
"""

import collections
import json
import time

from ansible.plugins.callback import CallbackBase

BREAKDOWN = ("process_startup_seconds", "sdk_import_seconds", "client_seconds", "api_seconds", "module_seconds")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cairn.platform.profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.tasks = []  # in run order: dict(name, action, started, ended, hosts={host: seconds})
        self.host_started = {}
        self.modules = collections.defaultdict(collections.Counter)

    def _task(self, task):
        current = dict(name=task.get_name(), action=task.action, started=time.monotonic(), ended=None, hosts={}, skipped=0)
        self.tasks.append(current)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def v2_runner_on_start(self, host, task):
        self.host_started[(host.get_name(), task._uuid)] = time.monotonic()

    def _result(self, result, skipped=False):
        if not self.tasks:
            return
        now = time.monotonic()
        current = self.tasks[-1]
        current["ended"] = now
        host = result._host.get_name()
        started = self.host_started.pop((host, result._task._uuid), current["started"])
        current["hosts"][host] = round(now - started, 4)
        if skipped:
            current["skipped"] += 1
        timings = result._result.get("cairn_profile") if isinstance(result._result, dict) else None
        if isinstance(timings, dict):
            counter = self.modules[current["action"].rsplit(".", 1)[-1]]
            counter["runs"] += 1
            counter["task_seconds"] += now - started
            for key, value in timings.items():
                if isinstance(value, (int, float)):
                    counter[key] += value

    def v2_runner_on_ok(self, result):
        self._result(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result)

    def v2_runner_on_skipped(self, result):
        self._result(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._result(result)

    def summary(self):
        wall = time.monotonic() - self.started
        tasks = []
        for task in self.tasks:
            ended = task["ended"] or task["started"]
            tasks.append(dict(name=task["name"], action=task["action"], seconds=round(ended - task["started"], 4),
                              hosts=task["hosts"], skipped_hosts=task["skipped"]))
        modules = {}
        for name, counter in sorted(self.modules.items()):
            entry = {key: round(value, 4) if isinstance(value, float) else value for key, value in counter.items()}
            known = sum(counter.get(key, 0.0) for key in ("process_startup_seconds", "module_seconds"))
            entry["ansible_seconds"] = round(max(counter["task_seconds"] - known, 0.0), 4)
            modules[name] = entry
        by_action = collections.Counter()
        for task in tasks:
            by_action[task["action"]] += task["seconds"]
        return dict(
            wall_seconds=round(wall, 3),
            task_count=len(tasks),
            tasks_seconds=round(sum(t["seconds"] for t in tasks), 3),
            by_action={action: round(seconds, 3) for action, seconds in by_action.most_common()},
            tasks=tasks,
            modules=modules,
        )

    def v2_playbook_on_stats(self, stats):
        summary = self.summary()
        top = self.get_option("top")
        self._display.banner("CAIRN PROFILE")
        self._display.display("{0} tasks, {1:.2f} s of {2:.2f} s wall".format(
            summary["task_count"], summary["tasks_seconds"], summary["wall_seconds"]))
        for task in sorted(summary["tasks"], key=lambda t: -t["seconds"])[:top]:
            self._display.display("  {0:7.2f} s  {1}".format(task["seconds"], task["name"]))
        if summary["modules"]:
            self._display.display("per module (sums over hosts, seconds): " + ", ".join(
                ("runs",) + tuple(key.replace("_seconds", "") for key in BREAKDOWN) + ("ansible",)))
            for name, entry in summary["modules"].items():
                figures = [str(entry.get("runs", 0))] + ["{0:.2f}".format(entry.get(key, 0.0)) for key in BREAKDOWN]
                figures.append("{0:.2f}".format(entry["ansible_seconds"]))
                self._display.display("  {0:<24} {1}".format(name, "  ".join(figures)))
        path = self.get_option("profile_file")
        if path:
            with open(path, "w") as handle:
                json.dump(summary, handle, indent=2)

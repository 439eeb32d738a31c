"""Run a collection module in-process, as Ansible would, and get its result dict.

In-process is ~50x faster than a task through ansible-playbook and lets a test inject a fault
(an interrupted run) at an exact API call. The module still reads the SDK environment and the
emulator's endpoint exactly as in production.
"""

from __future__ import annotations

import importlib
import json

from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(json.dumps(result, default=str)[:2000])
        self.result = result


class ModuleFailed(ModuleExit):
    pass


def run_module(name, args, check_mode=False, diff=False):
    """Run cairn.platform.<name> with `args`; return the result, or raise ModuleFailed with it."""
    module = importlib.import_module("ansible_collections.cairn.platform.plugins.modules." + name)
    full_args = dict(args)
    full_args["_ansible_check_mode"] = check_mode
    full_args["_ansible_diff"] = diff

    def exit_json(self, **result):
        result["warnings"] = list(warnings.get_warning_messages())
        raise ModuleExit(result)

    def fail_json(self, msg, **result):
        result["msg"] = msg
        result["failed"] = True
        result["warnings"] = list(warnings.get_warning_messages())
        raise ModuleFailed(result)

    # Warnings are process-global in Ansible; each run starts with none, as a real module process does.
    warnings._global_warnings.clear()
    # A module process is never the controller; a test that loaded controller code (the inventory
    # tests do) would otherwise send module warnings to the controller's display.
    was_controller, _internal.is_controller = _internal.is_controller, False
    original_exit, original_fail = basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json
    basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = exit_json, fail_json
    try:
        with patch_module_args(full_args):
            module.main()
    except ModuleFailed:
        raise
    except ModuleExit as done:
        return done.result
    finally:
        basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = original_exit, original_fail
        _internal.is_controller = was_controller
    raise AssertionError("module {0} returned without exit_json".format(name))

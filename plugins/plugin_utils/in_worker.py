# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a cairn.platform module inside Ansible's worker process instead of a fresh Python.

Every module of the collection talks to AWS from the controller (connection local). Run the
usual way, each task starts a Python, unpacks AnsiballZ, imports ansible, boto3 and botocore
and parses the SDK's service models again: about 0.5 s of CPU per task before the first API
call, most of a no-op rerun. Ansible forks one worker per task and host from the controller,
and the linear and free strategies import a task's action plugin class in the controller
first. So this file, imported there, loads boto3 and the service models once, and each forked
worker runs the module's own ``main()`` on them, reading the result the module prints as
ansible-core reads a module's output (ansible.netcommon's ``import_modules`` does the same for
network modules).

The module sees exactly what it would see in its own process: the same arguments, with the
``_ansible_*`` internal ones (check mode, diff, no_log, verbosity), the task's environment,
warnings and deprecations in the result, and a result decoded by the controller as any module
result is. Only when that holds does it run in the worker; otherwise (another connection or
interpreter, become, async, or ``cairn_module_execution: subprocess``) the module runs the
usual way.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import traceback

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

from ansible_collections.cairn.platform.plugins.module_utils import aws as cairn_aws

try:  # ansible-core 2.19's module protocol (serialization profiles); older cores run modules the usual way
    from ansible.module_utils import _internal as module_internal
    from ansible.module_utils.common.json import Direction, get_module_encoder

    HAS_WORKER_PROTOCOL = hasattr(basic, "_ANSIBLE_PROFILE")
except ImportError:
    HAS_WORKER_PROTOCOL = False

display = Display()

EXECUTION_VARIABLE = "cairn_module_execution"
EXECUTION_CHOICES = ("in_worker", "subprocess")
COLLECTION = "cairn.platform"
# Ansible's own JSON profile for modules' arguments and results (AnsibleModule uses "legacy").
PROFILE = "legacy"

# Loaded here, in the controller, before Ansible forks its workers (see the docstring).
cairn_aws.preload_service_models()


def module_import_name(name):
    return "ansible_collections.cairn.platform.plugins.modules.{0}".format(name)


def preload_module(name):
    """Import the module `name` (and what it imports: the Kubernetes client...) in the controller, once."""
    try:
        importlib.import_module(module_import_name(name))
    except ImportError as exc:  # the worker imports it again and reports the failure as the module would
        display.vvvv("cairn.platform: could not preload {0}: {1}".format(name, exc))


class ActionModule(ActionBase):
    """Action of every cairn.platform AWS module: the module's main() in the worker when it may."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        task_vars = task_vars or {}
        reason = self._subprocess_reason(task_vars)
        if reason:
            display.vvvv("cairn.platform: {0} runs in its own process ({1})".format(self._task.action, reason))
            result.update(self._execute_module(task_vars=task_vars, wrap_async=self._task.async_val))
            return result
        display.vvvv("cairn.platform: {0} runs in the worker process".format(self._task.action))
        result.update(self._run_in_worker(task_vars))
        return result

    def _subprocess_reason(self, task_vars):
        """Why the module must run the usual way (None when it can run in the worker)."""
        execution = self._templar.template(task_vars.get(EXECUTION_VARIABLE, "in_worker"))
        if execution not in EXECUTION_CHOICES:
            raise ValueError("{0} must be one of {1}; got {2!r}.".format(EXECUTION_VARIABLE, ", ".join(EXECUTION_CHOICES), execution))
        if execution == "subprocess":
            return "{0}: subprocess".format(EXECUTION_VARIABLE)
        if not HAS_WORKER_PROTOCOL:
            return "ansible-core before 2.19"
        if self._connection.transport not in ("local", "ansible.builtin.local"):
            return "connection {0}".format(self._connection.transport)
        if self._task.async_val:
            return "async"
        if self._play_context.become:
            return "become"
        interpreter = task_vars.get("ansible_python_interpreter")
        if interpreter is None:
            return "no ansible_python_interpreter (interpreter discovery)"
        interpreter = self._templar.template(interpreter)
        if os.path.realpath(to_text(interpreter)) != os.path.realpath(sys.executable):
            return "interpreter {0} is not the controller's {1}".format(interpreter, sys.executable)
        return None

    def _module_import_name(self):
        context = self._shared_loader_obj.module_loader.find_plugin_with_context(
            self._task.action, collection_list=self._task.collections)
        fqcn = context.resolved_fqcn if context.resolved else self._task.action
        namespace, collection, name = fqcn.split(".", 2)
        if "{0}.{1}".format(namespace, collection) != COLLECTION:
            raise ValueError("{0} is not a module of {1}".format(fqcn, COLLECTION))
        return fqcn, module_import_name(name)

    def _run_in_worker(self, task_vars):
        fqcn, import_name = self._module_import_name()
        module_args = dict(self._task.args)
        self._update_module_args(fqcn, module_args, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        basic._ANSIBLE_ARGS = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=encoder).encode()
        basic._ANSIBLE_PROFILE = PROFILE
        self._used_interpreter = sys.executable

        stdout, stderr, rc = io.StringIO(), "", 0
        saved_environment = dict(os.environ)
        # In the worker, module_utils believe they run in the controller and would print warnings
        # instead of returning them with the result: the module's own process never does.
        was_controller, module_internal.is_controller = module_internal.is_controller, False
        os.environ.update({key: to_text(value) for key, value in environment.items()})
        try:
            with contextlib.redirect_stdout(stdout):
                importlib.import_module(import_name).main()
        except SystemExit as exit_:
            rc = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except Exception:  # noqa: BLE001 - reported as the module's own process would: MODULE FAILURE
            stderr, rc = traceback.format_exc(), 1
        finally:
            module_internal.is_controller = was_controller
            os.environ.clear()
            os.environ.update(saved_environment)
            basic._ANSIBLE_ARGS = None
        data = self._parse_returned_data({"stdout": stdout.getvalue(), "stderr": stderr, "rc": rc}, PROFILE)
        data.pop("_ansible_suppress_tmpdir_delete", None)
        remove_internal_keys(data)
        return data

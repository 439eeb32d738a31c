# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the input of every stack of the play, for every role it runs, before the play's first write.

One task on the controller, no API call. For each stack (host) and role it applies, in this order:
1. the role's argument spec (meta/argument_specs.yml) to the variables the inventory sets;
2. each module task of the role, templated with the stack's variables as the run would template it (values that
   an earlier task produces at run time, such as a VPC id, become "(known after apply)", as in check mode), then
   given to the module's own pure `build_spec`: the same checks the module makes before its first call, written
   once, in the module;
3. the checks that span stacks (the CIDR plan, the DR pairing).
Every problem of every stack is listed in one failure, each naming the stack and the inventory variable.
"""

from __future__ import annotations

import importlib
import inspect
import ipaddress
import os
import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.template import is_trusted_as_template, trust_as_template

from ansible_collections.cairn.platform.plugins.module_utils.aws import CONNECTION_ARGUMENT_SPEC
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import OWNERSHIP_ARGUMENT_SPEC, Ownership

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_PREFIX = "cairn.platform."
OMIT = "__cairn_validate_omit__"
DROP = object()
PLACEHOLDER_ACCOUNT = "000000000000"
# A list an earlier task produces (subnet ids, say) stands as one placeholder per Availability Zone.
PLACEHOLDER_LIST_LENGTH = 3
TASK_KEYWORDS = {"name", "when", "register", "tags", "vars", "loop", "loop_control", "no_log", "changed_when",
                 "failed_when", "check_mode", "diff", "delegate_to", "run_once", "notify", "environment", "become"}
_VARIABLE = re.compile(r"\b([a-z][a-z0-9_]*)\b")
_FIELD = re.compile(r"^([a-z_][a-z0-9_]*)")


def role_path(role):
    return os.path.join(COLLECTION_ROOT, "roles", role)


def module_tasks(loader, role):
    """(file, task) of every cairn.platform module task a converge of the role runs (removal files excluded)."""
    tasks_dir = os.path.join(role_path(role), "tasks")
    found = []
    for name in sorted(os.listdir(tasks_dir)):
        if not name.endswith(".yml") or name.startswith("absent"):
            continue
        for task in loader.load_from_file(os.path.join(tasks_dir, name), trusted_as_template=True) or []:
            module = next((key for key in task if str(key).startswith(MODULE_PREFIX)), None)
            if module:
                found.append((name, task, module[len(MODULE_PREFIX):]))
    return found


def referenced_variables(text):
    names = set()
    for expression in re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text or "", re.DOTALL):
        for part in expression:
            names.update(_VARIABLE.findall(part))
    return names


_TEMPLATE_LOOKUP = re.compile(r"lookup\(\s*'template'\s*,\s*'([^']+)'")


def inventory_variables(raw, defaults, user_set, templates_dir=None, seen=None):
    """The variables a user sets (in user_set) that a raw template depends on, through the role's defaults and the
    role templates it looks up."""
    seen = set() if seen is None else seen
    found = []
    text = raw if isinstance(raw, str) else repr(raw)
    for template in _TEMPLATE_LOOKUP.findall(text):
        path = os.path.join(templates_dir or "", template)
        if templates_dir and os.path.isfile(path):
            with open(path) as handle:
                text += "\n" + handle.read()
    for name in sorted(referenced_variables(text)):
        if name in seen:
            continue
        seen.add(name)
        if name in user_set:
            found.append(name)
        elif name in defaults:
            found.extend(inventory_variables(defaults[name], defaults, user_set, templates_dir, seen))
    return found


def fit_unknowns(value, spec, path, dropped):
    """Shape run-time-only values (UNKNOWN) to the module's argument spec, dropping what cannot stand in for them.

    A string stays UNKNOWN (modules skip format checks on it, as in check mode); a list of strings becomes
    placeholders; an UNKNOWN number, boolean, dictionary or list of dictionaries is dropped (its path in `dropped`)."""
    out = {}
    for key, item in (value or {}).items():
        option = spec.get(key) or {}
        fitted = fit_option(item, option, "{0}.{1}".format(path, key) if path else key, dropped)
        if fitted is not DROP:
            out[key] = fitted
    return out


def fit_option(item, option, path, dropped):
    kind, elements = option.get("type", "str"), option.get("elements")
    if isinstance(item, str) and UNKNOWN in item and kind != "str" and kind != "raw":
        if kind == "list" and elements in (None, "str"):
            return ["{0}#{1}".format(UNKNOWN, index + 1) for index in range(PLACEHOLDER_LIST_LENGTH)]
        dropped.append(path)
        return DROP
    if kind == "list" and isinstance(item, list) and elements == "dict":
        fitted = []
        for index, element in enumerate(item):
            element_path = "{0}[{1}]".format(path, index)
            if not isinstance(element, dict):
                dropped.append(element_path)
                continue
            fitted.append(fit_unknowns(element, option.get("options") or {}, element_path, dropped) if option.get("options") else element)
        return fitted
    if kind == "dict" and isinstance(item, dict) and option.get("options"):
        return fit_unknowns(item, option["options"], path, dropped)
    return item


class Problems:
    def __init__(self):
        self.items = []

    def add(self, stack, where, message):
        line = "{0}: {1}: {2}".format(stack, where, message) if where else "{0}: {1}".format(stack, message)
        if line not in self.items:
            self.items.append(line)


class ActionModule(ActionBase):
    """cairn.platform.validate_inputs: see plugins/modules/validate_inputs.py for the documentation."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        roles = self._task.args.get("roles") or []
        hostvars = task_vars["hostvars"]
        hosts = list(task_vars.get("ansible_play_hosts_all") or [task_vars["inventory_hostname"]])
        problems = Problems()
        coverage = {}
        for host in hosts:
            # Raw, templated on use: an inventory value built from a run-time fact (the account id) fails only where used.
            variables = hostvars.raw_get(host)
            user_set = set(variables.keys())
            for role in roles:
                self.check_role(host, role, variables, user_set, problems, coverage)
        self.check_stacks(hosts, hostvars, problems)
        result.update(changed=False, stacks=hosts, roles=roles, coverage=coverage, problems=problems.items)
        if problems.items:
            result["failed"] = True
            result["msg"] = "{0} problem(s) in the input, found before any change was made:\n- {1}".format(
                len(problems.items), "\n- ".join(problems.items))
        return result

    # ---- one role of one stack -------------------------------------------------------------
    def role_variables(self, role, variables):
        """What a task of the role sees: role defaults < inventory and facts < role vars files."""
        path = role_path(role)
        defaults = self._loader.load_from_file(os.path.join(path, "defaults", "main.yml"), trusted_as_template=True) or {}
        merged = dict(defaults)
        merged.update(variables)
        vars_dir = os.path.join(path, "vars")
        if os.path.isdir(vars_dir):
            for name in sorted(os.listdir(vars_dir)):
                if name.endswith(".yml"):
                    merged.update(self._loader.load_from_file(os.path.join(vars_dir, name), trusted_as_template=True) or {})
        merged.update(omit=OMIT, role_path=path, ansible_search_path=[path])
        # The account is read after the validation (it needs credentials); a 12-digit id keeps names and ARNs exact in length.
        environment = self.template_leaf(self._templar.copy_with_new_env(available_variables=merged), merged.get("cairn_environment"))
        merged.setdefault("cairn_account_id", PLACEHOLDER_ACCOUNT)
        merged.setdefault("cairn_partition", "aws")
        merged.setdefault("cairn_bucket_prefix", "cairn-{0}-{1}".format(environment, PLACEHOLDER_ACCOUNT))
        return defaults, merged

    def check_role(self, host, role, variables, user_set, problems, coverage):
        spec_file = os.path.join(role_path(role), "meta", "argument_specs.yml")
        if os.path.exists(spec_file):
            options = (self._loader.load_from_file(spec_file) or {}).get("argument_specs", {}).get("main", {}).get("options", {})
            templar = self._templar.copy_with_new_env(available_variables=variables)
            given = {name: self.template_leaf(templar, variables[name]) for name in options if name in user_set}
            given = {name: value for name, value in given.items() if value != UNKNOWN}
            validated = ArgumentSpecValidator(options).validate(given)
            for error in validated.errors:
                problems.add(host, "role " + role, str(error))
        defaults, merged = self.role_variables(role, variables)
        templar = self._templar.copy_with_new_env(available_variables=merged)
        for file_name, task, module_name in module_tasks(self._loader, role):
            label = "{0}/{1}:{2}".format(role, file_name, task.get("name", module_name))
            status = self.check_task(host, role, task, module_name, templar, merged, defaults, user_set, problems)
            coverage.setdefault(label, {})[host] = status

    def condition_holds(self, templar, task):
        conditions = task.get("when")
        if conditions is None:
            return True
        conditions = conditions if isinstance(conditions, list) else [conditions]
        for condition in conditions:
            if isinstance(condition, bool):
                if not condition:
                    return False
                continue
            if not templar.evaluate_conditional(condition if is_trusted_as_template(condition) else trust_as_template(str(condition))):
                return False
        return True

    def template_leaf(self, templar, value):
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        try:
            return templar.template(value)
        except AnsibleError:
            return UNKNOWN  # produced by an earlier task at run time (a registered result, a fact)

    def template_args(self, templar, value):
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                templated = self.template_args(templar, item)
                if templated != OMIT:
                    out[key] = templated
            return out
        if isinstance(value, list):
            return [item for item in (self.template_args(templar, item) for item in value) if item != OMIT]
        templated = self.template_leaf(templar, value)
        if isinstance(templated, str) and OMIT in templated:
            return OMIT
        return templated

    def check_task(self, host, role, task, module_name, templar, merged, defaults, user_set, problems):
        try:
            if not self.condition_holds(templar, task):
                return "skipped (its when is false for this stack)"
        except AnsibleError:
            pass  # a condition on a run-time result: check the input anyway
        try:
            module = importlib.import_module("ansible_collections.cairn.platform.plugins.modules." + module_name)
        except ImportError as exc:
            return "not checked: " + str(exc)
        build_spec = getattr(module, "build_spec", None)
        if build_spec is None:
            return "no input to check (no build_spec)"
        raw_args = dict(task.get(MODULE_PREFIX + module_name) or {})
        args = self.template_args(templar, raw_args)
        args.setdefault("region", merged.get("cairn_region"))
        full_spec = dict(CONNECTION_ARGUMENT_SPEC)
        full_spec.update(OWNERSHIP_ARGUMENT_SPEC)
        full_spec.update(module.ARGUMENT_SPEC)
        dropped = []
        args = fit_unknowns(args, full_spec, "", dropped)
        required_dropped = [path for path in dropped if "." not in path and "[" not in path and full_spec.get(path, {}).get("required")]
        if required_dropped:
            return "not checked: {0} only known at run time".format(", ".join(sorted(required_dropped)))
        validated = ArgumentSpecValidator(full_spec).validate(args)
        where = "{0} ({1})".format(task.get("name", module_name), MODULE_PREFIX + module_name)

        def name_variables(message):
            field = _FIELD.match(message)
            option = field.group(1) if field else None
            raw = raw_args.get(option) if option in raw_args else None
            names = inventory_variables(raw, defaults, user_set, os.path.join(role_path(role), "templates")) if raw is not None else []
            return (", ".join(names) + " -> " if names else "") + message

        real_errors = [error for error in validated.errors
                       if UNKNOWN not in str(error) and not any(path.split("[")[0].split(".")[-1] in str(error) for path in dropped)]
        for error in real_errors:
            problems.add(host, where, name_variables(str(error)))
        if real_errors:
            return "refused by the argument spec"
        params = validated.validated_parameters
        try:
            Ownership(params["environment"], params["stack"], getattr(module, "COMPONENT", module_name),
                      user_tags=params.get("tags"), purge_tags=params.get("purge_tags", True))
            extra = {"region": merged.get("cairn_region"), "partition": "aws"}
            wanted = list(inspect.signature(build_spec).parameters)[1:]
            build_spec(params, *[extra[name] for name in wanted if name in extra])
        except InputError as exc:
            if UNKNOWN in exc.message or any(exc.message.startswith(path) for path in dropped):
                return "partly checked: " + exc.message  # about a value known at run time only
            problems.add(host, where, name_variables(exc.message))
            return "refused"
        except Exception as exc:  # noqa: BLE001 - a value known only at run time the pure code cannot take
            return "not fully checked: {0}: {1}".format(type(exc).__name__, exc)
        return "checked"

    # ---- across stacks ---------------------------------------------------------------------
    def check_stacks(self, hosts, all_hostvars, problems):
        hostvars = {}
        for host in hosts:
            raw = all_hostvars.raw_get(host)
            templar = self._templar.copy_with_new_env(available_variables=raw)
            hostvars[host] = {name: self.template_leaf(templar, raw.get(name)) for name in (
                "networking_cidr_block", "cairn_stack_role", "cairn_dr_stack", "cairn_primary_stack", "cairn_region")}
        cidrs = {}
        for host in hosts:
            cidr = hostvars[host].get("networking_cidr_block")
            if not cidr:
                continue
            try:
                cidrs[host] = ipaddress.ip_network(str(cidr), strict=True)
            except ValueError as exc:
                problems.add(host, "networking_cidr_block", "{0!r} is not a CIDR block ({1}).".format(cidr, exc))
        names = sorted(cidrs)
        for index, first in enumerate(names):
            for second in names[index + 1:]:
                if cidrs[first].overlaps(cidrs[second]):
                    problems.add(first, "networking_cidr_block", "{0} overlaps {1} of stack {2}; every stack has its own range so "
                                 "any two can be peered (see the CIDR plan in the inventory).".format(cidrs[first], cidrs[second], second))
        for host in hosts:
            role = hostvars[host].get("cairn_stack_role", "primary")
            for variable, wanted in (("cairn_dr_stack", "dr_standby"), ("cairn_primary_stack", "primary")):
                other = hostvars[host].get(variable)
                if not other or other == host:  # group_vars name the pair for every stack, itself included
                    continue
                if other not in hosts:
                    problems.add(host, variable, "names {0}, which is not a stack of this inventory ({1}).".format(other, ", ".join(hosts)))
                elif hostvars[other].get("cairn_stack_role", "primary") != wanted:
                    problems.add(host, variable, "names {0}, whose cairn_stack_role is {1}, not {2}.".format(
                        other, hostvars[other].get("cairn_stack_role", "primary"), wanted))
                elif hostvars[other].get("cairn_region") == hostvars[host].get("cairn_region"):
                    problems.add(host, variable, "names {0} in the same region ({1}); a DR pair spans two regions.".format(
                        other, hostvars[host].get("cairn_region")))
            if role == "dr_standby" and not hostvars[host].get("cairn_primary_stack"):
                problems.add(host, "cairn_primary_stack", "a dr_standby stack names its primary stack.")

"""The playbook-level validation (plugins/action/validate_inputs.py) runs each module's pure `build_spec` on the input
of every module task of the roles. These tests fail when a module's input check escapes it: an InputError raised
outside what build_spec reaches, a role task of a module without build_spec, or a role left out of site.yml's step.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / "plugins" / "modules"
# InputErrors that need AWS's answer first, so only the module can raise them (each with the reason).
NEEDS_AWS = {
    ("eks_cluster", "version_step"): "compares with the version the cluster runs now",
    ("networking", "choose_zones"): "needs the region's Availability Zones",
    ("kms_keys", "key_policy"): "needs the account id of the credentials",
    ("k8s_resources", "main"): "reports a missing kubernetes client on the module's Python",
}


def functions_raising_input_error(tree):
    def raises(node):
        return any(isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and getattr(n.exc.func, "id", "") == "InputError"
                   for n in ast.walk(node))
    top = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    methods = ["{0}.{1}".format(cls.name, node.name) for cls in tree.body if isinstance(cls, ast.ClassDef)
               for node in cls.body if isinstance(node, ast.FunctionDef) and raises(node)]
    return top, {name for name, node in top.items() if raises(node)}, methods


def reachable_from(top, start):
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in top:
            continue
        seen.add(name)
        todo.extend(call.func.id for call in ast.walk(top[name]) if isinstance(call, ast.Call) and isinstance(call.func, ast.Name))
    return seen


def test_every_input_check_of_a_module_is_reached_by_its_build_spec():
    escaped = []
    for path in sorted(MODULES.glob("*.py")):
        top, raising, methods = functions_raising_input_error(ast.parse(path.read_text()))
        reached = reachable_from(top, "build_spec")
        escaped += ["{0}.{1}".format(path.stem, name) for name in sorted(raising - reached) if (path.stem, name) not in NEEDS_AWS]
        escaped += ["{0}.{1}".format(path.stem, name) for name in methods]
    assert escaped == [], "input checks the validation step cannot run (move them into build_spec's reach): {0}".format(escaped)


def module_tasks():
    for tasks in sorted((REPO / "roles").glob("*/tasks/*.yml")):
        if tasks.name.startswith("absent"):
            continue
        for task in yaml.safe_load(tasks.read_text()) or []:
            for key in task:
                if str(key).startswith("cairn.platform."):
                    yield tasks.parts[-3], key.split(".")[-1]


def test_every_module_a_role_converges_with_has_a_pure_build_spec():
    missing = sorted({(role, module) for role, module in module_tasks()
                      if "\ndef build_spec(" not in (MODULES / (module + ".py")).read_text()})
    assert missing == []


def test_site_validates_every_role_it_runs():
    play = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())[0]
    step = next(task for task in play["pre_tasks"] if "cairn.platform.validate_inputs" in task)
    names = [task["role"].split(".")[-1] for task in play["roles"]]
    assert step["cairn.platform.validate_inputs"]["roles"] == names
    first_module = next(index for index, task in enumerate(play["pre_tasks"]) if any(str(k).startswith("cairn.platform.") for k in task))
    assert "cairn.platform.validate_inputs" in play["pre_tasks"][first_module], "validation runs before any module"

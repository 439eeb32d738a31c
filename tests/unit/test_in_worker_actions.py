"""Every module of the aws action group runs through the in-worker action (plugins/plugin_utils/in_worker.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_aws_module_has_the_in_worker_action():
    modules = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]["aws"]
    for name in modules:
        action = REPO / "plugins" / "action" / (name + ".py")
        assert action.is_file(), "plugins/action/{0}.py is missing: copy plugins/action/networking.py".format(name)
        text = action.read_text()
        assert "plugin_utils.in_worker import ActionModule" in text and 'preload_module("{0}")'.format(name) in text


def test_the_in_worker_action_knows_the_module_protocol():
    from ansible_collections.cairn.platform.plugins.plugin_utils import in_worker

    assert in_worker.module_import_name("networking") == "ansible_collections.cairn.platform.plugins.modules.networking"
    assert in_worker.HAS_WORKER_PROTOCOL  # the ansible-core the project pins has the module protocol it needs

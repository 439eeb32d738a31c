# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the eks_nodegroups module in Ansible's worker process (see plugins/plugin_utils/in_worker.py)."""

from __future__ import annotations

from ansible_collections.cairn.platform.plugins.plugin_utils.in_worker import ActionModule, preload_module  # noqa: F401 pylint: disable=unused-import

preload_module("eks_nodegroups")

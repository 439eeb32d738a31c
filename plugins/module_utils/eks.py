# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input rules shared by the EKS modules (cluster, node groups, add-ons): names and Kubernetes versions."""

from __future__ import annotations

import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

# CreateCluster: 1 to 100 characters, a letter or digit first, then letters, digits, '-' and '_'.
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
KUBERNETES_VERSION = re.compile(r"^1\.(\d{1,2})$")


def check_cluster_name(field, name):
    if not isinstance(name, str) or not CLUSTER_NAME.match(name):
        raise InputError("{0}: {1!r} is not an EKS cluster name (1 to 100 letters, digits, '-' or '_', starting with a "
                         "letter or digit).".format(field, name))
    return name


def kubernetes_minor(field, value):
    """'1.31' -> 31; anything else is refused, naming the field."""
    match = KUBERNETES_VERSION.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError("{0}: {1!r} is not a Kubernetes version like 1.31 (major.minor).".format(field, value))
    return int(match.group(1))


def reported_minor(value):
    """The minor of a version as EKS reports it ('1.31' -> 31), or None when it cannot be read."""
    match = KUBERNETES_VERSION.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None

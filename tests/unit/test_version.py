"""plugins/module_utils/version.py stays equal to galaxy.yml (it is sent in the user agent)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.cairn.platform.plugins.module_utils import version

REPO = Path(__file__).resolve().parents[2]


def test_collection_version_equals_galaxy_yml():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert version.COLLECTION_VERSION == str(galaxy["version"])


def test_collection_name_equals_galaxy_yml():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert version.COLLECTION_NAME == "{0}.{1}".format(galaxy["namespace"], galaxy["name"])

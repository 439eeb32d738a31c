# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's version, sent in the user agent (a unit test keeps it equal to galaxy.yml)."""

from __future__ import annotations

COLLECTION_NAME = "cairn.platform"
COLLECTION_VERSION = "0.1.0"

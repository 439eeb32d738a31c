# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Ownership options shared by every module: the tags that mark and find what the collection owns.
    DOCUMENTATION = r"""
options:
  environment:
    description:
      - The environment the resources belong to, for example V(prod).
      - Written to the C(cairn:environment) tag of every resource and used to find them again.
    type: str
    required: true
  stack:
    description:
      - The region stack the resources belong to, for example V(prod-us-east-1).
      - Written to the C(cairn:stack) tag of every resource and used to find them again.
    type: str
    required: true
  tags:
    description:
      - Your tags, added to every resource next to the collection's ownership tags
        (C(cairn:environment), C(cairn:stack), C(cairn:component), C(cairn:managed-by)).
      - Unset means the module leaves your existing tags alone; the ownership tags are
        always enforced.
      - Keys starting with C(cairn:) or C(aws:) are refused.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - When O(tags) is set, remove tags that are neither in O(tags) nor ownership tags.
      - Has no effect while O(tags) is unset. Tags starting with C(aws:) are never removed.
    type: bool
    default: true
notes:
  - A resource is managed only when it carries all four ownership tags. Resources without
    them are never modified or deleted.
  - Supports check mode without any mutating API call, and diff mode. Every result carries
    RV(ignore:changes), the list of changes made (or planned in check mode).
"""

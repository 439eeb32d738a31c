#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: validate_inputs
short_description: Check the input of every stack of the play for every role, before the first write
version_added: 0.1.0
description:
  - Runs once on the controller, makes no API call, and fails listing every problem of every stack, each with the
    stack, the inventory variable and what is allowed.
  - For each stack and role it checks the role's argument spec against the variables the inventory sets, then
    templates each module task of the role as the run would (a value an earlier task produces at run time, such as
    a VPC id, stands as C((known after apply)), as in check mode) and gives it to the module's own pure input checks
    (its C(build_spec)), so each check is written once, in its module. Last come the checks that span stacks (no
    two VPC CIDRs overlap; C(cairn_dr_stack) and C(cairn_primary_stack) name stacks of the right role in another
    region).
  - The collection's playbooks run it first (C(--tags validate) runs it alone, without credentials).
  - What only AWS can refuse (quotas, names taken in another account, capacity) is found when the module runs.
author:
  - cairn platform team (@cairn-platform)
options:
  roles:
    description: The collection's roles the play runs, by short name, in order.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: Makes no change in any mode; check mode refuses the same input as a real run.
notes:
  - An action plugin; it runs on the controller. The result's C(coverage) says, per role task and stack, whether
    the task's input was checked, skipped (its C(when) is false) or could only be partly checked (a whole option
    known at run time only).
"""

EXAMPLES = r"""
- name: Validate the input of every stack for every role before any change (no API call)
  cairn.platform.validate_inputs:
    roles: [networking, security, data, compute, load_balancing]
  run_once: true
  tags: [always, validate]
"""

RETURN = r"""
problems:
  description: Every problem found, each as the stack, the task or variable, the inventory variables and the message.
  returned: always
  type: list
  elements: str
coverage:
  description: Per role task (C(<role>/<file>:<task name>)) and stack, how far its input was checked.
  returned: always
  type: dict
stacks:
  description: The stacks checked.
  returned: always
  type: list
  elements: str
"""

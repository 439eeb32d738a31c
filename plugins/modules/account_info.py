#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account_info
short_description: Read the account, partition and region the credentials work in
version_added: 0.1.0
description:
  - Reads who the credentials are and where they point, so a playbook can template ARNs
    (C(arn:{{ partition }}:iam::{{ account_id }}:role/...)) without hard-coding them.
  - Makes exactly one read-only call, C(sts:GetCallerIdentity), and never changes anything.
    (The zones of a region are chosen and checked by M(cairn.platform.networking).)
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
notes:
  - Supports check mode; the result is the same in both modes and RV(ignore:changed) is always false.
  - Owns no resources, so it takes none of the ownership options (O(ignore:environment), O(ignore:stack), O(ignore:tags)).
  - The partition is read from the caller's ARN, so it is right for every partition (V(aws), V(aws-cn), V(aws-us-gov)).
"""

EXAMPLES = r"""
- name: Learn the account of the stack's credentials
  cairn.platform.account_info:
    region: us-east-1
  register: account

- name: Template an ARN from it
  ansible.builtin.debug:
    msg: "arn:{{ account.partition }}:iam::{{ account.account_id }}:role/cairn/deploy"
"""

RETURN = r"""
account_id:
  description: The 12-digit account id of the credentials.
  returned: always
  type: str
  sample: "123456789012"
partition:
  description: The AWS partition of the account, as used in ARNs.
  returned: always
  type: str
  sample: aws
region:
  description: The region the module ran against.
  returned: always
  type: str
  sample: us-east-1
caller_arn:
  description: The ARN of the identity making the calls (a user, or an assumed-role session).
  returned: always
  type: str
  sample: "arn:aws:sts::123456789012:assumed-role/deploy/ci-1234"
changes:
  description: Always empty; the module changes nothing. Present so every result has the same shape.
  returned: always
  type: list
  elements: dict
plan_summary:
  description: Always C(0 to create, 0 to update, 0 to delete).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cairn.platform.plugins.module_utils.aws import CONNECTION_ARGUMENT_SPEC, AwsConnection
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, describe_exception
from ansible_collections.cairn.platform.plugins.module_utils.plan import Plan


def read_account(connection):
    """The account facts, from one STS call."""
    try:
        identity = connection.client("sts").get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a sentence
        message, details = describe_exception(exc, "reading the caller identity")
        raise CairnError(message, **details)
    return {
        "account_id": identity["Account"],
        # arn:<partition>:sts::<account>:... names the partition for any region, opt-in or not.
        "partition": identity["Arn"].split(":")[1],
        "region": connection.region,
        "caller_arn": identity["Arn"],
    }


def main():
    # Plain AnsibleModule: CairnModule always adds the ownership options, which an info module has no use for.
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGUMENT_SPEC), supports_check_mode=True)
    plan = Plan(check_mode=module.check_mode)
    try:
        facts = read_account(AwsConnection(module.params))
    except CairnError as exc:
        module.fail_json(msg=exc.message, changes=plan.changes, **exc.details)
    module.exit_json(**plan.result(**facts))


if __name__ == "__main__":
    main()

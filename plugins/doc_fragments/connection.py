# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module (set them once with module_defaults group/cairn.platform.aws).
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region of the stack, for example V(us-east-1).
      - Without it, E(AWS_REGION), E(AWS_DEFAULT_REGION) or the profile's region apply.
      - The module fails before any API call when no region can be found.
    type: str
    aliases: [aws_region]
  profile:
    description:
      - A named profile from the AWS config files. Profiles that assume a role (C(role_arn) with
        C(source_profile) or C(credential_source)) work as they do in the AWS CLI.
      - Without it, E(AWS_PROFILE) or the rest of the SDK credential chain applies.
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - An access key id. Must be given together with O(secret_key).
    type: str
    aliases: [aws_access_key_id]
  secret_key:
    description:
      - The secret access key that goes with O(access_key). Never printed.
    type: str
    aliases: [aws_secret_access_key]
  session_token:
    description:
      - A session token for temporary credentials. Never printed.
    type: str
    aliases: [aws_session_token]
  endpoint_url:
    description:
      - Send every API call to this URL instead of the public AWS endpoint (a VPC interface
        endpoint, a proxy, or a local emulator).
      - Without it, the SDK's own E(AWS_ENDPOINT_URL) and E(AWS_ENDPOINT_URL_<SERVICE>) apply.
    type: str
    aliases: [aws_endpoint_url]
  retry_mode:
    description:
      - botocore's retry mode for throttling and transient errors.
      - V(adaptive) also rate-limits the client side, useful in busy accounts.
    type: str
    choices: [standard, adaptive]
    default: standard
  max_attempts:
    description:
      - The most attempts botocore makes for one API call, the first included.
    type: int
    default: 10
requirements:
  - python >= 3.9
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
"""

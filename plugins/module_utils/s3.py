# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 naming rules, checked before any API call by every module that names a bucket."""

from __future__ import annotations

import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

_BUCKET_CHARS = re.compile(r"^[a-z0-9.\-]+$")
_IP_SHAPED = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(field, name):
    """Refuse a name S3 would refuse, with the rule it breaks."""
    rules = ("AWS bucket names are 3 to 63 lowercase letters, digits, dots and hyphens, starting and "
             "ending with a letter or digit")
    if not isinstance(name, str) or not 3 <= len(name) <= 63:
        raise InputError("{0}: {1!r} is {2} characters long; {3}.".format(field, name, len(name or ""), rules))
    if not _BUCKET_CHARS.match(name):
        raise InputError("{0}: {1!r} contains characters S3 does not allow (uppercase, underscore, space ...); "
                         "{2}.".format(field, name, rules))
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise InputError("{0}: {1!r} must start and end with a letter or digit; {2}.".format(field, name, rules))
    if ".." in name:
        raise InputError("{0}: {1!r} has two adjacent dots, which S3 does not allow.".format(field, name))
    if _IP_SHAPED.match(name):
        raise InputError("{0}: {1!r} is shaped like an IP address, which S3 does not allow.".format(field, name))
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            raise InputError("{0}: {1!r} starts with {2!r}, a prefix AWS reserves.".format(field, name, prefix))
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            raise InputError("{0}: {1!r} ends with {2!r}, a suffix AWS reserves.".format(field, name, suffix))

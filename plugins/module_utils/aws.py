# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS clients built the standard way: amazon.aws's connection options over the SDK's own chain.

Nothing here knows about emulators: with no endpoint_url option, boto3 honours
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> by itself.
"""

from __future__ import annotations

import os

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.version import COLLECTION_NAME, COLLECTION_VERSION

try:
    import boto3
    import botocore
    from botocore.config import Config

    HAS_SDK = True
    SDK_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through require_sdk()
    HAS_SDK = False
    SDK_IMPORT_ERROR = exc

MIN_BOTOCORE = (1, 34, 0)

CONNECTION_ARGUMENT_SPEC = dict(
    region=dict(type="str", aliases=["aws_region"]),
    profile=dict(type="str", aliases=["aws_profile"]),
    access_key=dict(type="str", aliases=["aws_access_key_id"], no_log=False),
    secret_key=dict(type="str", aliases=["aws_secret_access_key"], no_log=True),
    session_token=dict(type="str", aliases=["aws_session_token"], no_log=True),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url"]),
    retry_mode=dict(type="str", default="standard", choices=["standard", "adaptive"]),
    max_attempts=dict(type="int", default=10),
)


def require_sdk():
    """Raise InputError when boto3/botocore are missing or too old."""
    if not HAS_SDK:
        raise InputError(
            "cairn.platform needs boto3 and botocore on the Python that runs the module ({0}); "
            "install requirements.txt there or set ansible_python_interpreter.".format(SDK_IMPORT_ERROR)
        )
    version = tuple(int(part) for part in botocore.__version__.split(".")[:3])
    if version < MIN_BOTOCORE:
        raise InputError(
            "cairn.platform needs botocore >= {0}; found {1}.".format(".".join(map(str, MIN_BOTOCORE)), botocore.__version__)
        )


class AwsConnection:
    """One boto3 session per module run; clients share its credentials, region and retry config."""

    def __init__(self, params):
        require_sdk()
        if params.get("max_attempts") is not None and params["max_attempts"] < 1:
            raise InputError("max_attempts must be at least 1; got {0}.".format(params["max_attempts"]))
        if bool(params.get("access_key")) != bool(params.get("secret_key")):
            raise InputError("access_key and secret_key must be given together (or neither, to use the SDK chain).")
        session_args = {}
        if params.get("profile"):
            session_args["profile_name"] = params["profile"]
        if params.get("access_key"):
            session_args["aws_access_key_id"] = params["access_key"]
            session_args["aws_secret_access_key"] = params["secret_key"]
            if params.get("session_token"):
                session_args["aws_session_token"] = params["session_token"]
        # botocore alone reads only AWS_DEFAULT_REGION; amazon.aws also honours AWS_REGION.
        region = params.get("region") or os.environ.get("AWS_REGION")
        if region:
            session_args["region_name"] = region
        try:
            self.session = boto3.session.Session(**session_args)
        except botocore.exceptions.ProfileNotFound as exc:
            raise InputError("profile: {0}.".format(exc))
        self.region = self.session.region_name
        if not self.region:
            raise InputError(
                "region is missing: set the region option (or aws_region in the inventory), "
                "AWS_REGION/AWS_DEFAULT_REGION, or a region in the AWS profile."
            )
        self.endpoint_url = params.get("endpoint_url") or None
        self.config = Config(
            # total_max_attempts counts the first attempt too, as the option's documentation says.
            retries={"mode": params.get("retry_mode") or "standard", "total_max_attempts": params.get("max_attempts") or 10},
            user_agent_extra="{0}/{1}".format(COLLECTION_NAME, COLLECTION_VERSION),
        )
        self._clients = {}

    def client(self, service, region=None):
        """The client of `service` in `region` (the connection's own by default), made once per run."""
        key = (service, region or self.region)
        if key not in self._clients:
            kwargs = {"config": self.config, "region_name": key[1]}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[key] = self.session.client(service, **kwargs)
        return self._clients[key]


def paginate(client, operation, result_key, **kwargs):
    """All items of a paginated describe/list call."""
    if client.can_paginate(operation):
        items = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(result_key, []))
        return items
    return client.__getattribute__(operation)(**kwargs).get(result_key, [])

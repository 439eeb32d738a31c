# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS clients built the standard way: amazon.aws's connection options over the SDK's own chain.

Nothing here knows about emulators: with no endpoint_url option, boto3 honours
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> by itself.
"""

from __future__ import annotations

import os
import sys
import time

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.version import COLLECTION_NAME, COLLECTION_VERSION

_SDK_ALREADY_LOADED = "boto3" in sys.modules
IMPORTED_BY_PID = os.getpid()  # in Ansible's worker this module was imported by the controller, before the fork
_import_started = time.monotonic()
try:
    import boto3
    import botocore
    import botocore.loaders
    import botocore.session
    from botocore.config import Config

    HAS_SDK = True
    SDK_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through require_sdk()
    HAS_SDK = False
    SDK_IMPORT_ERROR = exc

# Where a module's time goes (reported when CAIRN_PROFILE is set, see module.py): SDK import, client
# creation, and the API calls themselves (from botocore's before-call to after-call, retries included).
TIMINGS = dict(
    sdk_import_seconds=0.0 if _SDK_ALREADY_LOADED else time.monotonic() - _import_started,
    client_seconds=0.0,
    api_seconds=0.0,
    api_calls=0,
)

MIN_BOTOCORE = (1, 34, 0)

# The services the collection's modules call; their models are parsed once per process.
SERVICES = (
    "accessanalyzer", "acm", "cloudfront", "cloudtrail", "ec2", "eks", "elasticache", "elbv2", "iam", "kms", "logs",
    "rds", "resourcegroupstaggingapi", "route53", "s3", "secretsmanager", "ssm", "sts", "wafv2",
)
_MODEL_TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")
_shared_loader = None

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


def shared_loader():
    """One botocore data loader per process: a service model is parsed once, not once per session.

    The models are read-only data; botocore's Loader caches what it has loaded on the instance.
    """
    global _shared_loader
    if _shared_loader is None:
        _shared_loader = botocore.loaders.create_loader()
    return _shared_loader


def preload_service_models(services=SERVICES):
    """Parse the models of `services` now (the controller does it once before forking its workers)."""
    if not HAS_SDK:
        return
    loader = shared_loader()
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        loader.load_data(name)
    for service in services:
        for type_name in _MODEL_TYPES:
            try:
                loader.load_service_model(service, type_name)
            except botocore.exceptions.DataNotFoundError:  # a model botocore does not ship for this service
                pass


def _session_with_shared_loader(**session_args):
    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    session = boto3.session.Session(botocore_session=core, **session_args)
    if session_args.get("profile_name"):
        core.get_scoped_config()  # an unknown profile fails here (ProfileNotFound), as boto3's own loader set-up makes it
    # boto3 appends its own data path to the loader of every session it makes; keep it once.
    paths = shared_loader().search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


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
            self.session = _session_with_shared_loader(**session_args)
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
            started = time.monotonic()
            client = self.session.client(service, **kwargs)
            client.meta.events.register("before-call", _call_started)
            client.meta.events.register("after-call", _call_ended)
            client.meta.events.register("after-call-error", _call_ended)
            TIMINGS["client_seconds"] += time.monotonic() - started
            self._clients[key] = client
        return self._clients[key]


def _call_started(context=None, **_kwargs):
    if context is not None:
        context["cairn_started"] = time.monotonic()


def _call_ended(context=None, **_kwargs):
    if context is not None and "cairn_started" in context:
        TIMINGS["api_seconds"] += time.monotonic() - context.pop("cairn_started")
        TIMINGS["api_calls"] += 1


def paginate(client, operation, result_key, **kwargs):
    """All items of a paginated describe/list call."""
    if client.can_paginate(operation):
        items = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(result_key, []))
        return items
    return client.__getattribute__(operation)(**kwargs).get(result_key, [])

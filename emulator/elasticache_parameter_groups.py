"""A small model of ElastiCache cache parameter groups (AWS query protocol, API version 2015-02-02).

moto (5.2.5) handles ElastiCache but has no cache parameter groups (NotImplementedError, HTTP 500). This
model answers the parameter-group operations and leaves every other ElastiCache request to moto:

- CreateCacheParameterGroup, DescribeCacheParameterGroups, DescribeCacheParameters (Source filter),
  ModifyCacheParameterGroup, ResetCacheParameterGroup, DeleteCacheParameterGroup: always ours.
- ListTagsForResource, AddTagsToResource, RemoveTagsFromResource: ours when ResourceName is a parameter
  group ARN (``arn:<partition>:elasticache:<region>:<account>:parametergroup:<name>``); moto answers
  InvalidARN for it on ListTagsForResource and tags ARNs blindly on the other two.
- CreateReplicationGroup, ModifyReplicationGroup, CreateCacheCluster, ModifyCacheCluster with a
  CacheParameterGroupName that is not an AWS default group (``default.*``): answered with
  CacheParameterGroupNotFound when no such group exists here (moto accepts any name), else moto's.

Only the ``redis7`` family is modelled, with a realistic subset of its parameters (PARAMETERS below) and
its two default groups. Faithful to the API reference
(https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/) and to botocore's service model
(botocore/data/elasticache/2015-02-02/service-2.json), which also drives request parsing and the XML of
the responses. emulator/README.md lists what is modelled and what is not.

State is kept per account and region; the model knows nothing about WSGI (see emulator/server.py).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import threading
import uuid
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from emulator.access_analyzer import Request, Response

SIGNING_NAME = "elasticache"
BOTOCORE_SERVICE = "elasticache"
XMLNS = "http://elasticache.amazonaws.com/doc/2015-02-02/"
FAMILY = "redis7"
# CreateCacheParameterGroup: every family of the API reference; only FAMILY is modelled (others: 501).
FAMILIES = ("memcached1.4", "memcached1.5", "memcached1.6", "redis2.6", "redis2.8", "redis3.2", "redis4.0",
            "redis5.0", "redis6.x", "redis7", "valkey7", "valkey8")
MAX_GROUPS = 150  # ElastiCache quota: parameter groups per Region
MAX_TAGS = 50  # tags per resource
MAX_PARAMETERS_PER_CALL = 20  # ModifyCacheParameterGroup: "A maximum of 20 parameters may be modified per request"
SOURCES = ("user", "system", "engine-default")
NAME = re.compile(r"^[a-z][a-z0-9-]*$")
GROUP_ARN = re.compile(r"^arn:([^:]+):elasticache:([^:]+):([^:]+):parametergroup:(.+)$")

OWN_OPERATIONS = ("CreateCacheParameterGroup", "DescribeCacheParameterGroups", "DescribeCacheParameters",
                  "ModifyCacheParameterGroup", "ResetCacheParameterGroup", "DeleteCacheParameterGroup")
TAG_OPERATIONS = ("ListTagsForResource", "AddTagsToResource", "RemoveTagsFromResource")
USES_A_GROUP = ("CreateReplicationGroup", "ModifyReplicationGroup", "CreateCacheCluster", "ModifyCacheCluster")


class Parameter(NamedTuple):
    name: str
    default: str
    data_type: str  # string | integer
    allowed: str | None  # AWS's AllowedValues notation: "yes,no" or integer ranges "0-", "1-65000", "0,20-"
    modifiable: bool
    change_type: str  # immediate | requires-reboot
    description: str
    source: str = "engine-default"  # of the default value: Redis's own default, or "system" (set by ElastiCache)


_POLICIES = "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,noeviction"
_YES_NO = "yes,no"
# A subset of the redis7 family (names, defaults, types and change types as in default.redis7).
PARAMETERS = tuple(sorted((
    Parameter("acllog-max-len", "128", "integer", "1-10000", True, "immediate", "The maximum length of the ACL log"),
    Parameter("active-expire-effort", "1", "integer", "1-10", True, "immediate",
              "The amount of effort that redis uses to expire items in the active expiration job"),
    Parameter("activedefrag", "no", "string", _YES_NO, True, "immediate", "Enabled active memory defragmentation"),
    Parameter("close-on-replica-write", "yes", "string", _YES_NO, True, "immediate",
              "If enabled, clients who attempt to write to a read-only replica will be disconnected.", "system"),
    Parameter("cluster-allow-pubsubshard-when-down", "yes", "string", _YES_NO, True, "immediate",
              "Allow the cluster to serve shard pubsub traffic when the cluster is down"),
    Parameter("cluster-allow-reads-when-down", "no", "string", _YES_NO, True, "immediate",
              "Allow the cluster to serve read traffic when the cluster is down"),
    Parameter("cluster-enabled", "no", "string", _YES_NO, True, "requires-reboot", "Enable cluster mode"),
    Parameter("cluster-require-full-coverage", "no", "string", _YES_NO, True, "immediate",
              "Whether cluster becomes unavailable if one or more slots are not covered", "system"),
    Parameter("databases", "16", "integer", "1-1200000", True, "requires-reboot",
              "Set the number of databases."),
    Parameter("hash-max-listpack-entries", "128", "integer", "0-", True, "immediate",
              "The maximum number of hash entries in order for the dataset to be compressed."),
    Parameter("lazyfree-lazy-eviction", "no", "string", _YES_NO, True, "immediate", "Perform an asynchronous delete on evictions"),
    Parameter("lazyfree-lazy-expire", "no", "string", _YES_NO, True, "immediate", "Perform an asynchronous delete on expired keys"),
    Parameter("lazyfree-lazy-server-del", "no", "string", _YES_NO, True, "immediate",
              "Perform an asynchronous delete on key updates"),
    Parameter("lazyfree-lazy-user-del", "no", "string", _YES_NO, True, "immediate",
              "Specifies whether the default behavior of DEL command acts the same as UNLINK."),
    Parameter("lua-time-limit", "5000", "integer", "5000", False, "immediate",
              "Max execution time of a Lua script in milliseconds. 0 or negative for unlimited execution without warnings."),
    Parameter("maxclients", "65000", "integer", "1-65000", False, "requires-reboot",
              "The maximum number of Redis clients.", "system"),
    Parameter("maxmemory-policy", "volatile-lru", "string", _POLICIES, True, "immediate",
              "Max memory policy.", "system"),
    Parameter("maxmemory-samples", "3", "integer", "1-", True, "immediate", "Max memory samples."),
    Parameter("notify-keyspace-events", "", "string", None, True, "immediate",
              "The keyspace events for Redis to notify Pub/Sub clients about. By default all notifications are disabled"),
    Parameter("repl-backlog-size", "1048576", "integer", "16384-", True, "immediate",
              "The replication backlog size in bytes for PSYNC. Minimum value is 16K."),
    Parameter("reserved-memory-percent", "25", "integer", "0-100", True, "immediate",
              "The percent of memory reserved for non-cache memory usage.", "system"),
    Parameter("set-max-intset-entries", "512", "integer", "0-", True, "immediate",
              "The limit in the size of the set in order for the dataset to be compressed."),
    Parameter("slowlog-log-slower-than", "10000", "integer", "0-", True, "immediate",
              "The execution time, in microseconds, to exceed in order for the command to get logged."),
    Parameter("slowlog-max-len", "128", "integer", "0-", True, "immediate",
              "The length of the slow log."),
    Parameter("tcp-keepalive", "300", "integer", "0-", True, "immediate",
              "If non-zero, send ACKs every given number of seconds."),
    Parameter("timeout", "0", "integer", "0,20-", True, "immediate",
              "Close connection if client is idle for a given number of seconds, or never if 0."),
    Parameter("zset-max-listpack-entries", "128", "integer", "0-", True, "immediate",
              "The maximum number of sorted set entries in order for the dataset to be compressed."),
), key=lambda parameter: parameter.name))
BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}
MINIMUM_ENGINE_VERSION = "7.0.0"
# The AWS default groups of the family: name -> (description, values set by ElastiCache).
DEFAULT_GROUPS = {
    "default.redis7": ("Default parameter group for redis7", {}),
    "default.redis7.cluster.on": ("Customized default parameter group for redis7 with cluster mode on",
                                  {"cluster-enabled": ("yes", "system")}),
}


class ServiceError(Exception):
    """A query-protocol error: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message)


def group_not_found(name: str) -> ServiceError:
    return ServiceError("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)


# --------------------------------------------------------------------------------------------
# The query protocol, driven by botocore's model of the real API
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(BOTOCORE_SERVICE)


def _serialized_name(shape: Any, default: str) -> str:
    return shape.serialization.get("name", default)


def parse(shape: Any, form: dict[str, str], prefix: str = "") -> Any:
    """The input structure of a form-encoded query request (the inverse of botocore's QuerySerializer)."""
    kind = shape.type_name
    if kind == "structure":
        result = {}
        for name, member in shape.members.items():
            key = _serialized_name(member, name)
            key = f"{prefix}.{key}" if prefix else key
            value = parse(member, form, key)
            if value is not None:
                result[name] = value
        return result if result or not prefix else None
    if kind == "list":
        if form.get(prefix) == "":  # botocore sends an empty list as "Name="
            return []
        member = shape.member
        if shape.serialization.get("flattened"):
            item_prefix = prefix
        else:
            item_prefix = f"{prefix}.{_serialized_name(member, 'member')}"
        items, index = [], 1
        while any(key == f"{item_prefix}.{index}" or key.startswith(f"{item_prefix}.{index}.") for key in form):
            items.append(parse(member, form, f"{item_prefix}.{index}"))
            index += 1
        return items if items else None
    if prefix not in form:
        return None
    value = form[prefix]
    if kind == "boolean":
        return value.lower() == "true"
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError as exc:
            raise invalid(f"Invalid value {value!r} for {prefix}: an integer is required.") from exc
    return value


def to_xml(shape: Any, value: Any, name: str) -> str:
    """botocore's QueryParser reads this back as ``value`` (non-flattened lists, member names from the model)."""
    kind = shape.type_name
    if kind == "structure":
        inner = "".join(
            to_xml(member, value[member_name], _serialized_name(member, member_name))
            for member_name, member in shape.members.items()
            if value.get(member_name) is not None
        )
    elif kind == "list":
        item_name = _serialized_name(shape.member, "member")
        inner = "".join(to_xml(shape.member, item, item_name) for item in value)
    elif kind == "boolean":
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return f"<{name}>{inner}</{name}>"


def success(operation: str, result: dict[str, Any] | None, request_id: str) -> Response:
    output = service_model().operation_model(operation).output_shape
    body = f'<{operation}Response xmlns="{XMLNS}">'
    if output is not None:
        body += to_xml(output, result or {}, f"{operation}Result")
    body += f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    return Response(200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())


def failure(error: ServiceError, request_id: str) -> Response:
    body = (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type><Code>{escape(error.code)}</Code>'
            f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return Response(error.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode())


def form_of(request: Request) -> dict[str, str]:
    """Query-string and form-body parameters, first value of each (the body wins)."""
    form = {key: values[0] for key, values in request.query.items() if values}
    if request.body:
        parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        form.update({key: values[0] for key, values in parsed.items() if values})
    return form


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
def _allowed(parameter: Parameter, value: str) -> bool:
    if parameter.allowed is None:
        return True
    if parameter.data_type != "integer":
        return value in parameter.allowed.split(",")
    try:
        number = int(value)
    except ValueError:
        return False
    for part in parameter.allowed.split(","):
        low, dash, high = part.partition("-")
        if not dash and number == int(low):
            return True
        if dash and number >= int(low) and (not high or number <= int(high)):
            return True
    return False


class Group:
    def __init__(self, name: str, description: str, arn: str, system: bool = False,
                 values: dict[str, tuple[str, str]] | None = None, tags: dict[str, str | None] | None = None):
        self.name, self.description, self.arn, self.system = name, description, arn, system
        self.family = FAMILY
        self.base = dict(values or {})  # what the group has when nothing is set: the default group's values
        self.values = dict(self.base)  # parameter name -> (value, source) where it differs from the engine default
        self.tags: dict[str, str | None] = dict(tags or {})

    def summary(self) -> dict[str, Any]:
        return {"CacheParameterGroupName": self.name, "CacheParameterGroupFamily": self.family,
                "Description": self.description, "IsGlobal": False, "ARN": self.arn}

    def parameters(self) -> list[dict[str, Any]]:
        found = []
        for parameter in PARAMETERS:
            value, source = self.values.get(parameter.name, (parameter.default, parameter.source))
            item = {"ParameterName": parameter.name, "ParameterValue": value, "Description": parameter.description,
                    "Source": source, "DataType": parameter.data_type, "AllowedValues": parameter.allowed,
                    "IsModifiable": parameter.modifiable, "MinimumEngineVersion": MINIMUM_ENGINE_VERSION,
                    "ChangeType": parameter.change_type}
            found.append(item)
        return found

    def tag_list(self) -> list[dict[str, Any]]:
        return [{"Key": key, "Value": value} for key, value in self.tags.items()]


class RegionState:
    def __init__(self, partition: str, region: str, account: str):
        self.arn_prefix = f"arn:{partition}:elasticache:{region}:{account}:parametergroup:"
        self.groups: dict[str, Group] = {
            name: Group(name, description, self.arn_prefix + name, system=True, values=values)
            for name, (description, values) in DEFAULT_GROUPS.items()
        }

    def group(self, name: Any) -> Group:
        key = str(name or "").lower()
        if key not in self.groups:
            raise group_not_found(name)
        return self.groups[key]

    def own(self, name: Any, operation: str) -> Group:
        group = self.group(name)
        if group.system:
            raise ServiceError("InvalidCacheParameterGroupState",
                               f"{operation}: {group.name} is a default parameter group; default parameter groups cannot be changed or deleted.")
        return group


def _page(items: list[Any], params: dict[str, Any], key: Callable[[Any], str]) -> tuple[list[Any], str | None]:
    """MaxRecords (20-100, default 100) and an opaque Marker: the key of the last item returned."""
    limit = params.get("MaxRecords", 100)
    if not 20 <= limit <= 100:
        raise invalid(f"MaxRecords must be between 20 and 100; got {limit}.")
    if params.get("Marker"):
        try:
            after = base64.urlsafe_b64decode(params["Marker"].encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise invalid("Invalid Marker.") from exc
        items = [item for item in items if key(item) > after]
    page = items[:limit]
    marker = base64.urlsafe_b64encode(key(page[-1]).encode()).decode() if len(items) > limit else None
    return page, marker


def _tags(tag_list: list[dict[str, Any]] | None, existing: dict[str, str | None] | None = None) -> dict[str, str | None]:
    tags = dict(existing or {})
    for tag in tag_list or []:
        if not tag.get("Key"):
            raise invalid("A tag key must be given (Tags.Tag.N.Key).")
        tags[tag["Key"]] = tag.get("Value")
    if len(tags) > MAX_TAGS:
        raise ServiceError("TagQuotaPerResourceExceeded",
                           f"The request cannot be processed because it would cause the resource to have more than {MAX_TAGS} tags.")
    return tags


def groups_in_use(account: str, region: str, name: str) -> list[str]:
    """Replication groups and cache clusters of moto that use the group (moto 5.2.5's ElastiCache backend).

    If moto's internals move, nothing is found and deletion is not refused (see emulator/README.md).
    """
    try:
        from moto.elasticache.models import elasticache_backends

        backend = elasticache_backends[account][region]
        users = [("replication group", rg_id, rg) for rg_id, rg in backend.replication_groups.items()]
        users += [("cache cluster", cc_id, cc) for cc_id, cc in backend.cache_clusters.items()]
    except Exception:  # noqa: BLE001 - moto internals moved
        return []
    return [f"{kind} {ident}" for kind, ident, item in users
            if str(getattr(item, "cache_parameter_group_name", None) or "").lower() == name]


class CacheParameterGroupsBackend:
    """Cache parameter groups per (account, region). Thread-safe: moto's server is threaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], RegionState] = {}
        self.handlers: dict[str, Callable[[RegionState, Request, dict[str, Any]], dict[str, Any] | None]] = {
            "CreateCacheParameterGroup": self.create_cache_parameter_group,
            "DescribeCacheParameterGroups": self.describe_cache_parameter_groups,
            "DescribeCacheParameters": self.describe_cache_parameters,
            "ModifyCacheParameterGroup": self.modify_cache_parameter_group,
            "ResetCacheParameterGroup": self.reset_cache_parameter_group,
            "DeleteCacheParameterGroup": self.delete_cache_parameter_group,
            "ListTagsForResource": self.list_tags_for_resource,
            "AddTagsToResource": self.add_tags_to_resource,
            "RemoveTagsFromResource": self.remove_tags_from_resource,
        }

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    # -- entry point ------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        """Our answer, or None when moto is to answer the request."""
        form = form_of(request)
        operation = form.get("Action")
        if operation in TAG_OPERATIONS:
            if not (form.get("ResourceName") or "").startswith("arn:") or ":parametergroup:" not in form["ResourceName"]:
                return None
        elif operation in USES_A_GROUP:
            return self.check_group_exists(request, form)
        elif operation not in OWN_OPERATIONS:
            return None
        request_id = str(uuid.uuid4())
        try:
            params = self._params(operation, form)
            with self._lock:
                result = self.handlers[operation](self._region(request), request, params)
        except ServiceError as error:
            return failure(error, request_id)
        return success(operation, result, request_id)

    def check_group_exists(self, request: Request, form: dict[str, str]) -> Response | None:
        """AWS refuses a group that does not exist; moto accepts any name. AWS default groups are moto's business."""
        name = form.get("CacheParameterGroupName")
        if not name or name.lower().startswith("default."):
            return None
        with self._lock:
            if name.lower() in self._region(request).groups:
                return None
        return failure(group_not_found(name), str(uuid.uuid4()))

    def _region(self, request: Request) -> RegionState:
        key = (request.account_id, request.region)
        if key not in self._state:
            self._state[key] = RegionState(request.partition, request.region, request.account_id)
        return self._state[key]

    @staticmethod
    def _params(operation: str, form: dict[str, str]) -> dict[str, Any]:
        shape = service_model().operation_model(operation).input_shape
        params = parse(shape, form) or {}
        for name in shape.required_members:
            if name not in params:
                raise ServiceError("MissingParameter", f"The request must contain the parameter {name}.")
        return params

    # -- parameter groups -------------------------------------------------------------------
    def create_cache_parameter_group(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        name, family = params["CacheParameterGroupName"].lower(), params["CacheParameterGroupFamily"]
        if not 1 <= len(name) <= 255 or not NAME.match(name) or "--" in name or name.endswith("-"):
            raise invalid(f"Invalid parameter group name {params['CacheParameterGroupName']!r}: it must begin with a letter, "
                          "contain only ASCII letters, digits and hyphens, not end with a hyphen nor contain two consecutive hyphens.")
        if family not in FAMILIES:
            raise invalid(f"Invalid CacheParameterGroupFamily {family!r}; valid values are {' | '.join(FAMILIES)}.")
        if family != FAMILY:
            raise ServiceError("NotImplemented", f"CacheParameterGroupFamily {family} is not modelled by the local emulator "
                               f"(only {FAMILY}; see emulator/README.md).", 501)
        if name in state.groups:
            raise ServiceError("CacheParameterGroupAlreadyExists", f"Cache Parameter Group {name} already exists.")
        if sum(1 for group in state.groups.values() if not group.system) >= MAX_GROUPS:
            raise ServiceError("CacheParameterGroupQuotaExceeded",
                               f"The request cannot be processed because it would exceed the maximum of {MAX_GROUPS} parameter groups.")
        # "A newly created CacheParameterGroup is an exact duplicate of the default parameter group for the family."
        group = Group(name, params["Description"], state.arn_prefix + name, values=state.groups["default." + FAMILY].base,
                      tags=_tags(params.get("Tags")))
        state.groups[name] = group
        return {"CacheParameterGroup": group.summary()}

    def describe_cache_parameter_groups(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("CacheParameterGroupName"):
            groups = [state.group(params["CacheParameterGroupName"])]
        else:
            groups = sorted(state.groups.values(), key=lambda group: group.name)
        page, marker = _page(groups, params, lambda group: group.name)
        return {"CacheParameterGroups": [group.summary() for group in page], "Marker": marker}

    def describe_cache_parameters(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        group = state.group(params["CacheParameterGroupName"])
        source = params.get("Source")
        if source is not None and source not in SOURCES:
            raise invalid(f"Invalid Source {source!r}; valid values are {' | '.join(SOURCES)}.")
        parameters = [item for item in group.parameters() if source is None or item["Source"] == source]
        page, marker = _page(parameters, params, lambda item: item["ParameterName"])
        return {"Parameters": page, "CacheNodeTypeSpecificParameters": [], "Marker": marker}

    @staticmethod
    def _names_and_values(params: dict[str, Any], with_values: bool) -> list[tuple[str, str | None]]:
        items = params.get("ParameterNameValues") or []
        if with_values and not 1 <= len(items) <= MAX_PARAMETERS_PER_CALL:
            raise invalid(f"ParameterNameValues must name 1 to {MAX_PARAMETERS_PER_CALL} parameters; got {len(items)}.")
        found = []
        for item in items:
            name, value = item.get("ParameterName"), item.get("ParameterValue")
            if not name:
                raise invalid("Each ParameterNameValue needs a ParameterName.")
            parameter = BY_NAME.get(name)
            if parameter is None:
                raise invalid(f"Unknown parameter {name} for family {FAMILY} (the local emulator models a subset; see emulator/README.md).")
            if not parameter.modifiable:
                raise invalid(f"Parameter {name} is not modifiable.")
            if with_values:
                if value is None:
                    raise invalid(f"Parameter {name} needs a ParameterValue.")
                if not _allowed(parameter, value):
                    raise invalid(f"Invalid value {value!r} for parameter {name}; allowed values: {parameter.allowed}.")
            found.append((name, value))
        return found

    def modify_cache_parameter_group(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        group = state.own(params["CacheParameterGroupName"], "ModifyCacheParameterGroup")
        for name, value in self._names_and_values(params, with_values=True):  # all checked before any is set
            group.values[name] = (value, "user")
        return {"CacheParameterGroupName": group.name}

    def reset_cache_parameter_group(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        group = state.own(params["CacheParameterGroupName"], "ResetCacheParameterGroup")
        names = self._names_and_values(params, with_values=False)
        if params.get("ResetAllParameters"):
            if names:
                raise ServiceError("InvalidParameterCombination",
                                   "ResetAllParameters and ParameterNameValues cannot be given together.")
            group.values = dict(group.base)
        else:
            if not names:
                raise invalid("Give ParameterNameValues (the parameters to reset) or ResetAllParameters=true.")
            for name, _value in names:
                if name in group.base:
                    group.values[name] = group.base[name]
                else:
                    group.values.pop(name, None)
        return {"CacheParameterGroupName": group.name}

    def delete_cache_parameter_group(self, state: RegionState, request: Request, params: dict[str, Any]) -> None:
        group = state.own(params["CacheParameterGroupName"], "DeleteCacheParameterGroup")
        users = groups_in_use(request.account_id, request.region, group.name)
        if users:
            raise ServiceError("InvalidCacheParameterGroupState",
                               f"Cache parameter group {group.name} is in use by {', '.join(users)}.")
        del state.groups[group.name]
        return None

    # -- tags of parameter groups -----------------------------------------------------------
    @staticmethod
    def _tagged(state: RegionState, arn: str) -> Group:
        found = GROUP_ARN.match(arn)
        if not found:
            raise ServiceError("InvalidARN", f"ARN {arn} is invalid.")
        if not arn.startswith(state.arn_prefix):  # another partition, region or account
            raise group_not_found(found.group(4))
        return state.group(found.group(4))

    def list_tags_for_resource(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return {"TagList": self._tagged(state, params["ResourceName"]).tag_list()}

    def add_tags_to_resource(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        group = self._tagged(state, params["ResourceName"])
        group.tags = _tags(params.get("Tags"), group.tags)
        return {"TagList": group.tag_list()}

    def remove_tags_from_resource(self, state: RegionState, _request: Request, params: dict[str, Any]) -> dict[str, Any]:
        group = self._tagged(state, params["ResourceName"])
        keys = params.get("TagKeys") or []
        missing = [key for key in keys if key not in group.tags]
        if missing:
            raise ServiceError("TagNotFound", f"The tag(s) {', '.join(missing)} were not found on the resource.", 404)
        for key in keys:
            del group.tags[key]
        return {"TagList": group.tag_list()}

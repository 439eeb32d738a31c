"""Start-up patches that make moto's RDS DB instances answer as the AWS API reference says.

moto 5.2.5 gets three things wrong that the data tier's end-to-end flow (plugins/modules/rds_postgres.py
in site.yml) depends on. Each patch below is small, replaces or wraps one moto function or adds one
read-only property, and is documented against the RDS API reference
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/) and emulator/README.md:

performance-insights
    CreateDBInstance, CreateDBInstanceReadReplica and ModifyDBInstance take EnablePerformanceInsights,
    PerformanceInsightsKMSKeyId and PerformanceInsightsRetentionPeriod; DescribeDBInstances reports
    PerformanceInsightsEnabled, PerformanceInsightsKMSKeyId and PerformanceInsightsRetentionPeriod.
    moto drops them on create and never reports PerformanceInsightsEnabled.
cross-region-replica
    CreateDBInstanceReadReplica in region B with SourceDBInstanceIdentifier = the ARN of an instance of
    region A: DBSubnetGroupName (and DBParameterGroupName, KmsKeyId) name resources of region B, and
    without DBParameterGroupName the replica gets the engine's default group. moto looks the subnet group
    up in region A (DBSubnetGroupNotFoundFault) and keeps the source's parameter group, which does not
    exist in region B (HTTP 500 on every later describe).
replica-delete
    DeleteDBInstance of a cross-region replica: moto unlinks it from its source by identifier while the
    source lists it by ARN (HTTP 500, and the replica is half deleted). Deleting any read replica also
    force-deleted the source's master user secret (the replica shares moto's secret object); the secret
    belongs to the source and stays.

``apply()`` runs in the launcher process before moto serves anything (emulator/server.py). Every patch
checks first that the moto internals it touches are there and look as expected; if not (a moto upgrade),
that patch is skipped with one line on stderr and the server runs without it. ``apply()`` twice is harmless.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from types import SimpleNamespace
from typing import Any, Callable

PATCHED = "_cairn_rds_fidelity"  # marks our wrappers, so apply() twice does not wrap twice
STATE = "_cairn_performance_insights"  # (enabled, kms key ARN, retention days) of one DB instance

# Request keys as moto's RDS responses hand them to the backend (botocore.xform_name of the API names).
ENABLE, KMS_KEY, RETENTION = (
    "enable_performance_insights",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
)
PI_KEYS = (ENABLE, KMS_KEY, RETENTION)
DISABLED = (False, None, None)
DEFAULT_RETENTION = 7  # days, "7 (default)" in the API reference
VALID_RETENTION = frozenset([7, 731] + [31 * months for months in range(1, 24)])  # 7, month * 31 (1-23), 731
DEFAULT_KMS_KEY = "alias/aws/rds"  # "If you don't specify ... Amazon RDS uses your default KMS key"
_RDS_ARN = re.compile(r"^arn:[^:]+:rds:([^:]+):[^:]*:db:")


def _log(message: str) -> None:
    print(f"emulator: rds_fidelity: {message}", file=sys.stderr, flush=True)


def _has_parameters(function: Any, *names: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return all(name in parameters for name in names)


def _mark(wrapper: Callable) -> Callable:
    setattr(wrapper, PATCHED, True)
    return wrapper


def _already(function: Any) -> bool:
    return bool(getattr(function, PATCHED, False))


def _region_of(source_identifier: Any) -> str | None:
    found = _RDS_ARN.match(source_identifier) if isinstance(source_identifier, str) else None
    return found.group(1) if found else None


# ------------------------------------------------------------------------------------------------
# performance-insights
# ------------------------------------------------------------------------------------------------
def _boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _integer(value: Any, moto: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError as exc:
        raise moto.InvalidParameterValue(f"Invalid value {value!r} for PerformanceInsightsRetentionPeriod.") from exc


def performance_insights(backend: Any, request: dict[str, Any], current: tuple = DISABLED, moto: Any = None) -> tuple:
    """The (enabled, key ARN, retention) an instance has after a request with these PI keys.

    Create: ``current`` is DISABLED. Modify: an omitted EnablePerformanceInsights keeps the current
    setting; once on, an omitted key or retention keeps the current one (or takes the default when
    Performance Insights is being turned on). Off reports neither key nor retention.
    """
    enable = _boolean(request.get(ENABLE))
    enabled = current[0] if enable is None else enable
    retention = _integer(request.get(RETENTION), moto)
    if retention is not None and retention not in VALID_RETENTION:
        raise moto.InvalidParameterValue(
            f"Invalid PerformanceInsightsRetentionPeriod {retention}: valid values are 7, month * 31 "
            "(where month is 1-23) and 731."
        )
    if not enabled:
        return DISABLED
    was_on = bool(current[0])
    if retention is None:
        retention = current[2] if was_on and current[2] else DEFAULT_RETENTION
    key = request.get(KMS_KEY)
    if key:
        key_arn = key_arn_of(backend, key, moto)
    elif was_on and current[1]:
        key_arn = current[1]
    else:
        key_arn = key_arn_of(backend, DEFAULT_KMS_KEY, moto)
    return (True, key_arn, retention)


def key_arn_of(backend: Any, key: str, moto: Any) -> str:
    """The ARN of a key id, ARN, alias name or alias ARN of the backend's region; else KMSKeyNotAccessibleFault."""
    try:
        return backend._validate_kms_key(key)  # pylint: disable=protected-access
    except (KeyError, TypeError, AttributeError) as exc:  # moto 5.2.5 fails on an unknown alias with a TypeError
        raise moto.KMSKeyNotAccessibleFault(key) from exc


def _patch_performance_insights(moto: Any) -> str | None:
    instance_class, backend_class = moto.DBInstance, moto.RDSBackend
    if _already(getattr(instance_class, "update", None)):
        return None
    if any(hasattr(instance_class, name) for name in (
            "performance_insights_enabled", "performance_insights_kms_key_id", "performance_insights_retention_period")):
        return "moto's DBInstance has Performance Insights attributes of its own now"
    if not hasattr(backend_class, "_validate_kms_key") or not all(
            hasattr(moto, name) for name in ("InvalidParameterValue", "KMSKeyNotAccessibleFault")):
        return "RDSBackend._validate_kms_key, InvalidParameterValue or KMSKeyNotAccessibleFault is gone"
    if not _has_parameters(instance_class.__init__, "backend") or not callable(getattr(instance_class, "update", None)):
        return "DBInstance.__init__(backend, ...) or DBInstance.update is not as expected"

    original_init, original_update = instance_class.__init__, instance_class.update

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        request = {key: kwargs.pop(key) for key in PI_KEYS if key in kwargs}
        backend = args[0] if args else kwargs.get("backend")
        state = performance_insights(backend, request, DISABLED, moto) if request.get(ENABLE) else DISABLED
        original_init(self, *args, **kwargs)
        setattr(self, STATE, state)

    @functools.wraps(original_update)
    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        request = {key: kwargs.pop(key) for key in PI_KEYS if key in kwargs}
        state = None
        if any(value is not None for value in request.values()):
            state = performance_insights(self.backend, request, getattr(self, STATE, DISABLED), moto)
        original_update(self, *args, **kwargs)
        if state is not None:
            setattr(self, STATE, state)

    def _state(self: Any) -> tuple:
        return getattr(self, STATE, DISABLED)

    instance_class.__init__ = _mark(__init__)
    instance_class.update = _mark(update)
    instance_class.performance_insights_enabled = property(lambda self: bool(_state(self)[0]))
    instance_class.performance_insights_kms_key_id = property(lambda self: _state(self)[1])
    instance_class.performance_insights_retention_period = property(lambda self: _state(self)[2])
    return None


# ------------------------------------------------------------------------------------------------
# cross-region-replica (also gives every read replica its own Performance Insights settings)
# ------------------------------------------------------------------------------------------------
def _patch_read_replica(moto: Any, with_performance_insights: bool) -> str | None:
    backend_class = moto.RDSBackend
    create = getattr(backend_class, "create_db_instance_read_replica", None)
    if create is None or not _has_parameters(create, "db_kwargs"):
        return "RDSBackend.create_db_instance_read_replica(db_kwargs) is not as expected"
    if not hasattr(backend_class, "_validate_kms_key") or not all(
            hasattr(moto, name) for name in ("DBParameterGroupNotFoundError", "KMSKeyNotAccessibleFault", "InvalidParameterValue")):
        return "RDSBackend._validate_kms_key, DBParameterGroupNotFoundError or KMSKeyNotAccessibleFault is gone"
    if _already(create):
        return None

    @functools.wraps(create)
    def create_db_instance_read_replica(self: Any, db_kwargs: Any) -> Any:
        kwargs = dict(db_kwargs.items())  # moto's XFormedDict -> snake_case keys, request order kept
        request = {key: kwargs.pop(key) for key in PI_KEYS if key in kwargs} if with_performance_insights else {}
        # A replica has its own Performance Insights settings (off unless asked for), not its source's.
        state = performance_insights(self, request, DISABLED, moto) if request.get(ENABLE) else DISABLED
        source_region = _region_of(kwargs.get("source_db_instance_identifier"))
        cross_region = source_region is not None and source_region != self.region_name
        group = kwargs.get("db_parameter_group_name")
        if cross_region:
            if group and not str(group).startswith("default.") and group not in self.db_parameter_groups:
                raise moto.DBParameterGroupNotFoundError(group)
            if kwargs.get("kms_key_id"):
                kwargs["kms_key_id"] = key_arn_of(self, kwargs["kms_key_id"], moto)
            # moto copies the source and applies the request in order; the replica must belong to this
            # region's backend before DBSubnetGroupName is looked up.
            kwargs = {"backend": self, **kwargs}
        replica = create(self, kwargs)
        if cross_region:
            if not group:
                replica.db_parameter_group_name = None  # the engine's default group, of this region
            if not kwargs.get("availability_zone"):
                replica.availability_zone = f"{self.region_name}a"  # not the source's zone
        if with_performance_insights:
            setattr(replica, STATE, state)
        return replica

    backend_class.create_db_instance_read_replica = _mark(create_db_instance_read_replica)
    return None


# ------------------------------------------------------------------------------------------------
# replica-delete
# ------------------------------------------------------------------------------------------------
def _patch_replica_delete(moto: Any) -> str | None:
    instance_class, backend_class = moto.DBInstance, moto.RDSBackend
    remove = getattr(instance_class, "remove_replica", None)
    delete = getattr(backend_class, "delete_db_instance", None)
    if remove is None or not _has_parameters(remove, "replica"):
        return "DBInstance.remove_replica(replica) is not as expected"
    if delete is None or not _has_parameters(delete, "db_instance_identifier"):
        return "RDSBackend.delete_db_instance(db_instance_identifier, ...) is not as expected"
    if not hasattr(backend_class, "find_db_from_id") or not hasattr(moto, "DBInstanceNotFoundError"):
        return "RDSBackend.find_db_from_id or DBInstanceNotFoundError is gone"
    if _already(delete):
        return None

    @functools.wraps(remove)
    def remove_replica(self: Any, replica: Any) -> None:
        # add_replica lists a cross-region replica by ARN, a same-region one by identifier.
        for name in (replica.db_instance_arn, replica.db_instance_identifier):
            if name in self.replicas:
                self.replicas.remove(name)
                return

    @functools.wraps(delete)
    def delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        database = self.databases.get(db_instance_identifier) if isinstance(db_instance_identifier, str) else None
        saved = None
        if database is not None and getattr(database, "is_replica", False):
            saved = (database.is_replica, getattr(database, "manage_master_user_password", None))
            # The master user secret is the source's: a replica's deletion leaves it alone.
            if saved[1]:
                database.manage_master_user_password = False
            # A source that is already gone leaves nothing to unlink.
            try:
                self.find_db_from_id(database.source_db_instance_identifier)
            except moto.DBInstanceNotFoundError:
                database.is_replica = False
        try:
            return delete(self, db_instance_identifier, *args, **kwargs)
        finally:
            if saved is not None and self.databases.get(db_instance_identifier) is database:  # refused: undo
                database.is_replica, database.manage_master_user_password = saved

    instance_class.remove_replica = _mark(remove_replica)
    backend_class.delete_db_instance = _mark(delete_db_instance)
    return None


def apply() -> list[str]:
    """Apply every patch whose moto internals are as expected; returns the names applied."""
    try:
        from moto.rds import exceptions, models
    except ImportError as exc:
        _log(f"skipped every patch: {exc}")
        return []
    # What the patches use of moto, in one place (a name moto no longer has is simply absent).
    moto = SimpleNamespace(**{name: getattr(source, name) for source, names in (
        (models, ("DBInstance", "RDSBackend")),
        (exceptions, ("InvalidParameterValue", "DBParameterGroupNotFoundError", "DBInstanceNotFoundError",
                      "KMSKeyNotAccessibleFault")),
    ) for name in names if hasattr(source, name)})

    applied: list[str] = []
    for name, patch in (
        ("performance-insights", lambda: _patch_performance_insights(moto)),
        ("cross-region-replica", lambda: _patch_read_replica(moto, "performance-insights" in applied)),
        ("replica-delete", lambda: _patch_replica_delete(moto)),
    ):
        try:
            reason = patch()
        except Exception as exc:  # noqa: BLE001 - moto internals moved: run unpatched, say so
            reason = f"{type(exc).__name__}: {exc}"
        if reason:
            _log(f"skipped {name}: {reason}")
        else:
            applied.append(name)
    return applied

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_postgres
short_description: Converge the RDS for PostgreSQL database of one region stack, with its replicas
version_added: 0.1.0
description:
  - Creates, updates or deletes the PostgreSQL database of one region stack as one unit, with a plan
    of every change.
  - A DB subnet group on O(subnet_ids) and a DB parameter group of the engine's family (for example
    C(postgres16)) with TLS forced, C(pgaudit) and C(pg_stat_statements) preloaded and connection,
    slow-query and lock logging, merged with O(parameters).
  - The primary instance, encrypted, Multi-AZ, with storage autoscaling, 35 days of automated backups,
    Performance Insights, enhanced monitoring, CloudWatch log exports and deletion protection. RDS
    generates the master password and keeps it in Secrets Manager (C(ManageMasterUserPassword));
    the module returns the secret's ARN and never reads or prints the password.
  - Same-region read replicas named C(<identifier>-replica-<n>); lowering O(read_replicas.count)
    deletes the highest-numbered ones.
  - With O(replica_source_arn), the stack's instance is a cross-region read replica of another
    region's primary (the disaster-recovery stack), with its own KMS key, subnet group and
    parameter group.
  - Modifies like a careful DBA. Changes that AWS defers to the maintenance window wait for it unless
    O(apply_immediately=true); a value already pending in C(PendingModifiedValues) is not drift;
    changes that need a reboot or the maintenance window carry a note in RV(changes). A major engine
    upgrade needs O(allow_major_version_upgrade=true); storage only grows. Every refusal happens before
    the first write.
  - O(state=absent) deletes the replicas first, then the primary with a final snapshot, then its
    parameter and subnet groups. It refuses while deletion protection is on unless
    O(force_disable_deletion_protection=true).
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the database to these options; V(absent) deletes it (with a final snapshot).
    type: str
    choices: [present, absent]
    default: present
  identifier:
    description:
      - The DB instance identifier of the stack's instance. Defaults to C(<stack>-postgres).
      - 1 to 63 lowercase letters, digits and hyphens, starting with a letter. With read replicas it must
        leave room for the C(-replica-<n>) suffix.
      - The subnet group is named after it, the parameter group C(<identifier>-pg<major>).
    type: str
  engine_version:
    description:
      - The PostgreSQL version, major and minor, for example V(16.9). Checked against the versions
        RDS offers (a list kept in the module, see the notes).
      - A newer minor version upgrades the instance (in the maintenance window unless
        O(apply_immediately=true)). A version older than the instance's (after an automatic minor
        upgrade) is left alone with a warning, as AWS cannot downgrade.
      - A new major version needs O(allow_major_version_upgrade=true) and brings a parameter group of
        the new family; the old one is deleted once no instance uses it.
      - With O(replica_source_arn), only its major counts; it names the parameter group family. The
        replica follows its source's version.
    type: str
    default: "16.9"
  allow_major_version_upgrade:
    description:
      - Allow a change of O(engine_version) to a new major version. Without it the module refuses
        before any write.
    type: bool
    default: false
  auto_minor_version_upgrade:
    description:
      - Let RDS apply minor engine upgrades in the maintenance window.
    type: bool
    default: true
  instance_class:
    description:
      - The DB instance class, for example V(db.r6g.large) or V(db.t4g.medium).
      - A change applies in the maintenance window unless O(apply_immediately=true), and restarts the
        instance (a failover with Multi-AZ).
    type: str
    default: db.r6g.large
  allocated_storage:
    description:
      - Storage in GiB (20 to 65536).
      - Storage only grows; a smaller value fails before any write, unless storage autoscaling
        (O(max_allocated_storage)) has grown the instance beyond it, which is not drift.
    type: int
    default: 100
  max_allocated_storage:
    description:
      - The upper limit in GiB for storage autoscaling; must be greater than O(allocated_storage).
      - Unset turns storage autoscaling off.
    type: int
  storage_type:
    description:
      - The storage type.
    type: str
    choices: [gp3, gp2]
    default: gp3
  multi_az:
    description:
      - Run a standby in another availability zone.
    type: bool
    default: true
  storage_encrypted:
    description:
      - Encrypt the storage. It cannot change after creation.
    type: bool
    default: true
  kms_key_id:
    description:
      - The KMS key (key id, key ARN, alias name or alias ARN) that encrypts the storage, in this
        stack's region. Unset uses the account's C(aws/rds) key.
      - Required with O(replica_source_arn) when O(storage_encrypted=true), since a cross-region replica
        needs a key of its own region.
      - It cannot change after creation; a different key fails before any write.
    type: str
  master_username:
    description:
      - The master user name. It cannot change after creation.
      - The password is generated by RDS and kept in Secrets Manager; see RV(master_user_secret_arn).
      - Ignored with O(replica_source_arn).
    type: str
    default: cairn_admin
  master_user_secret_kms_key_id:
    description:
      - The KMS key that encrypts the master user secret in Secrets Manager. Unset uses the
        C(aws/secretsmanager) key. AWS cannot change it once the secret exists.
    type: str
  master_user_password:
    description:
      - Never set this. The module takes no password; RDS generates the master password into
        Secrets Manager.
      - The option exists only so that a password given by mistake is refused with a clear message
        before any API call and is masked in every output.
    type: str
    aliases: [password, master_password]
  db_name:
    description:
      - The name of the database created with the instance. It cannot change after creation.
    type: str
  subnet_ids:
    description:
      - The subnets of the DB subnet group (the stack's database subnets), at least two, in
        different availability zones. Required when O(state=present).
    type: list
    elements: str
  vpc_security_group_ids:
    description:
      - The VPC security groups of the instance and its replicas. Unset leaves them as they are
        (the VPC's default group on creation).
    type: list
    elements: str
  parameters:
    description:
      - PostgreSQL parameters, merged over the defaults C(rds.force_ssl=1),
        C(shared_preload_libraries=pg_stat_statements,pgaudit), C(pgaudit.log=ddl,role),
        C(pgaudit.role=rds_pgaudit), C(log_min_duration_statement=1000), C(log_connections=1),
        C(log_disconnections=1), C(log_lock_waits=1) and C(log_temp_files=10240).
      - C(shared_preload_libraries) always keeps C(pg_stat_statements) and C(pgaudit);
        C(rds.force_ssl) cannot be turned off.
      - Parameters of the group that are not in the merged set are reset to the engine default.
      - A change to a static parameter of a group in use is reported with the note C(needs a reboot);
        the module never reboots the instance.
    type: dict
    default: {}
  backup_retention_days:
    description:
      - Days of automated backups, 1 to 35.
    type: int
    default: 35
  backup_window:
    description:
      - The daily backup window in UTC, C(hh24:mi-hh24:mi), at least 30 minutes, not overlapping
        O(maintenance_window). Unset leaves it to AWS.
    type: str
  maintenance_window:
    description:
      - The weekly maintenance window in UTC, C(ddd:hh24:mi-ddd:hh24:mi), at least 30 minutes.
        Unset leaves it to AWS.
    type: str
  performance_insights:
    description:
      - Performance Insights.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Turn Performance Insights on.
        type: bool
        default: true
      kms_key_id:
        description:
          - The KMS key of the Performance Insights data. Unset uses the account's C(aws/rds) key.
          - AWS cannot change it while Performance Insights is on.
        type: str
      retention_days:
        description: Days to keep the data, 7 (free), a multiple of 31 up to 713 (months), or 731.
        type: int
        default: 7
  monitoring_interval:
    description:
      - Seconds between enhanced monitoring samples; V(0) turns enhanced monitoring off.
      - Anything else needs O(monitoring_role_arn).
    type: int
    choices: [0, 1, 5, 10, 15, 30, 60]
    default: 60
  monitoring_role_arn:
    description:
      - The IAM role that lets RDS publish enhanced monitoring metrics (trusted by
        C(monitoring.rds.amazonaws.com), with C(AmazonRDSEnhancedMonitoringRole)).
    type: str
  enabled_cloudwatch_logs_exports:
    description:
      - The logs RDS publishes to CloudWatch Logs.
    type: list
    elements: str
    choices: [postgresql, upgrade, iam-db-auth-error]
    default: [postgresql, upgrade]
  deletion_protection:
    description:
      - Refuse deletion in AWS itself. See O(force_disable_deletion_protection).
    type: bool
    default: true
  copy_tags_to_snapshot:
    description:
      - Copy the instance's tags to its snapshots.
    type: bool
    default: true
  iam_database_authentication:
    description:
      - Allow IAM database authentication.
    type: bool
    default: false
  ca_certificate:
    description:
      - The certificate authority of the server certificate. A change applies in the maintenance
        window unless O(apply_immediately=true).
    type: str
    default: rds-ca-rsa2048-g1
  read_replicas:
    description:
      - Same-region read replicas, named C(<identifier>-replica-<n>).
    type: dict
    default: {}
    suboptions:
      count:
        description:
          - How many, 0 to 15. Lowering it deletes the highest-numbered replicas. Read replicas take no
            final snapshot (AWS refuses one for a replica).
          - Must be 0 with O(replica_source_arn).
        type: int
        default: 0
      instance_class:
        description: The replicas' instance class. Defaults to O(instance_class).
        type: str
  replica_source_arn:
    description:
      - The ARN of the primary instance in another region. The stack's instance is then a
        cross-region read replica of it, created with O(kms_key_id), this stack's subnet group
        and C(SourceRegion); the parameter group is attached right after creation (AWS takes none
        for a PostgreSQL replica's creation), which needs a reboot to apply its static parameters.
      - Options that belong to the source (O(engine_version) beyond its major,
        O(allocated_storage), backups, the master user) are not applied to the replica.
    type: str
  apply_immediately:
    description:
      - Apply deferrable changes (instance class, storage, Multi-AZ, engine version, CA certificate,
        IAM authentication) now instead of in the next maintenance window. Changes that AWS always
        applies at once are not affected.
    type: bool
    default: false
  force_disable_deletion_protection:
    description:
      - With O(state=absent), turn deletion protection off before deleting. Without it, deletion of a
        protected instance is refused before any write.
    type: bool
    default: false
  wait:
    description:
      - Wait for new instances to become available (replicas need an available primary) and for
        deleted ones to be gone (their groups can go only then).
      - Nothing waits when nothing changed, nor in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds all waits of one run may take together.
    type: int
    default: 3600
notes:
  - The instance is found by its identifier, the groups by their names; ownership is judged by the
    tags read back. A rerun with the same input makes no mutating call.
  - In check mode, subnet, security group, KMS key, role and source ARNs that an earlier task only planned
    (C(known after apply)) are accepted and planned with; outside check mode they are refused before any call.
  - RDS creates take no idempotency token; instances are born with their ownership tags, so a create
    that AWS answers with C(DBInstanceAlreadyExists) after a retry adopts the instance only when it
    carries them.
  - The emulator (moto 5.2.5) has no C(DescribeDBEngineVersions), so O(engine_version) is checked
    against a list kept in this module (PostgreSQL 14 to 18 minor versions offered by RDS). Extend
    E(SUPPORTED_ENGINE_VERSIONS) when RDS adds versions.
  - Emulator gaps covered by botocore Stubber tests (which validate every request against the real
    RDS API model), in C(tests/unit/test_rds_postgres_stubber.py).
  - C(PendingModifiedValues) - moto applies every modification at once and never reports pending
    values. A pending value equal to the desired one must not be modified again; a deferred change
    must carry its maintenance-window note.
  - C(ParameterApplyStatus=pending-reboot) - moto always reports C(in-sync); a pending reboot is
    reported in RV(db_instance.pending_reboot) and as a warning.
  - Cross-region replicas, their deletion and Performance Insights read-back are wrong in moto itself;
    the project's emulator patches them (C(emulator/rds_fidelity.py), documented in C(emulator/README.md)),
    and Stubber tests check the requests (subnet group, C(KmsKeyId), C(SourceRegion); C(SkipFinalSnapshot)
    for a replica, as AWS refuses a final snapshot of one; Performance Insights drift).
  - C(ResetDBParameterGroup) - not implemented by moto; resetting a parameter removed from the set
    is checked by Stubber.
  - C(DescribeDBParameters) - moto ignores C(Source=user) and returns no C(ApplyType); the module
    falls back to a list of static PostgreSQL parameters.
seealso:
  - name: Amazon RDS for PostgreSQL user guide
    description: Parameters, replicas, upgrades and the master password in Secrets Manager.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_PostgreSQL.html
"""

EXAMPLES = r"""
- name: Converge the production database of us-east-1
  cairn.platform.rds_postgres:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    engine_version: "16.9"
    instance_class: db.r6g.xlarge
    allocated_storage: 200
    max_allocated_storage: 1000
    kms_key_id: alias/cairn/prod/rds
    master_user_secret_kms_key_id: alias/cairn/prod/secrets
    subnet_ids: "{{ cairn_networking.database_subnet_ids }}"
    vpc_security_group_ids: ["{{ db_security_group_id }}"]
    performance_insights:
      kms_key_id: alias/cairn/prod/rds
      retention_days: 31
    monitoring_role_arn: "arn:aws:iam::123456789012:role/prod-us-east-1-rds-monitoring"
    read_replicas:
      count: 1
    parameters:
      log_min_duration_statement: 500
    backup_window: "03:00-03:30"
    maintenance_window: "sun:05:00-sun:05:30"
  register: database

- name: The cross-region replica in the DR stack
  cairn.platform.rds_postgres:
    environment: prod
    stack: prod-us-west-2
    region: us-west-2
    engine_version: "16.9"
    replica_source_arn: "{{ database.db_instance.arn }}"
    kms_key_id: alias/cairn/prod/rds
    subnet_ids: "{{ dr_networking.database_subnet_ids }}"
    monitoring_role_arn: "arn:aws:iam::123456789012:role/prod-us-west-2-rds-monitoring"

- name: Delete a development database (a final snapshot is always taken)
  cairn.platform.rds_postgres:
    environment: dev
    stack: dev-us-east-1
    region: us-east-1
    state: absent
    force_disable_deletion_protection: true
"""

RETURN = r"""
changes:
  description:
    - Every change made, or planned in check mode, in the order it happens.
    - Changes that wait for the maintenance window or a reboot carry a C(note).
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: db_instance
      resource: prod-us-east-1-postgres
      fields: {instance_class: {before: db.r6g.large, after: db.r6g.xlarge}}
      note: applies at the next maintenance window (apply_immediately is false)
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
db_instance:
  description: The stack's instance as AWS reports it (C(known after apply) values in check mode).
  returned: when state=present
  type: dict
  contains:
    identifier: {description: The DB instance identifier., type: str, returned: always}
    arn: {description: Its ARN (the O(replica_source_arn) of the DR stack)., type: str, returned: always}
    status: {description: The instance status., type: str, returned: always}
    endpoint: {description: Address and port., type: dict, returned: always, sample: {address: db.abc.us-east-1.rds.amazonaws.com, port: 5432}}
    engine_version: {description: The running engine version., type: str, returned: always}
    instance_class: {description: The instance class., type: str, returned: always}
    multi_az: {description: Whether a standby runs., type: bool, returned: always}
    allocated_storage: {description: Storage in GiB., type: int, returned: always}
    max_allocated_storage: {description: "Autoscaling limit in GiB, or null.", type: int, returned: always}
    kms_key_id: {description: The storage key ARN., type: str, returned: always}
    parameter_group: {description: The attached parameter group., type: str, returned: always}
    read_replica_source: {description: "The source of a replica, or null.", type: str, returned: always}
    pending_modified_values: {description: Changes AWS holds for the maintenance window (snake_case)., type: dict, returned: always}
    pending_reboot: {description: True when static parameters wait for a reboot., type: bool, returned: always}
master_user_secret_arn:
  description: ARN of the Secrets Manager secret with the master credentials (null for a replica). Never its value.
  returned: when state=present
  type: str
read_replicas:
  description: The same-region replicas in number order.
  returned: when state=present
  type: list
  elements: dict
  sample:
    - identifier: prod-us-east-1-postgres-replica-1
      arn: "arn:aws:rds:us-east-1:123456789012:db:prod-us-east-1-postgres-replica-1"
      endpoint: {address: prod-us-east-1-postgres-replica-1.abc.us-east-1.rds.amazonaws.com, port: 5432}
      instance_class: db.r6g.large
      status: available
subnet_group:
  description: The DB subnet group.
  returned: when state=present
  type: dict
  sample:
    name: prod-us-east-1-postgres
    arn: "arn:aws:rds:us-east-1:123456789012:subgrp:prod-us-east-1-postgres"
    vpc_id: vpc-0abc
    subnet_ids: [subnet-1, subnet-2, subnet-3]
parameter_group:
  description: The DB parameter group and the parameters the module keeps in it.
  returned: when state=present
  type: dict
  sample:
    name: prod-us-east-1-postgres-pg16
    family: postgres16
    arn: "arn:aws:rds:us-east-1:123456789012:pg:prod-us-east-1-postgres-pg16"
    parameters: {rds.force_ssl: "1", shared_preload_libraries: "pg_stat_statements,pgaudit"}
final_snapshot_identifier:
  description: The final snapshot of the deleted primary.
  returned: when state=absent and a primary was deleted
  type: str
  sample: prod-us-east-1-postgres-final-20261124-101500
waited_seconds: {description: Seconds spent waiting on AWS in this run., returned: always, type: float}
"""

import datetime
import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import ROLE_ARN
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "rds_postgres"
ENGINE = "postgres"
DB_ROLE_TAG = "cairn:db-role"

# RDS for PostgreSQL minor versions per major. moto has no DescribeDBEngineVersions, so the module
# keeps the list (release notes: docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes).
SUPPORTED_ENGINE_VERSIONS = {
    "14": ("14.12", "14.13", "14.15", "14.17", "14.18", "14.19"),
    "15": ("15.7", "15.8", "15.10", "15.12", "15.13", "15.14"),
    "16": ("16.3", "16.4", "16.6", "16.8", "16.9", "16.10"),
    "17": ("17.1", "17.2", "17.4", "17.5", "17.6"),
    "18": ("18.1",),
}
REQUIRED_LIBRARIES = ("pg_stat_statements", "pgaudit")
DEFAULT_PARAMETERS = {
    "rds.force_ssl": "1",
    "shared_preload_libraries": ",".join(REQUIRED_LIBRARIES),
    "pgaudit.log": "ddl,role",
    "pgaudit.role": "rds_pgaudit",
    "log_min_duration_statement": "1000",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
    "log_temp_files": "10240",
}
# Static parameters apply only at a reboot (ApplyMethod pending-reboot). AWS reports ApplyType for
# parameters already set; this list covers the others (and moto, which reports none).
STATIC_PARAMETERS = frozenset((
    "autovacuum_max_workers", "huge_pages", "max_connections", "max_locks_per_transaction",
    "max_logical_replication_workers", "max_pred_locks_per_transaction", "max_prepared_transactions",
    "max_replication_slots", "max_wal_senders", "max_worker_processes", "pg_stat_statements.max",
    "rds.logical_replication", "shared_buffers", "shared_preload_libraries", "track_activity_query_size",
    "track_commit_timestamp", "wal_buffers", "cron.database_name", "cron.max_running_jobs",
))
MAX_PARAMETERS_PER_CALL = 20
LOG_EXPORTS = ("postgresql", "upgrade", "iam-db-auth-error")
# The endpoint of an instance only planned (check mode): PostgreSQL's port, the address known after apply.
PLANNED_ENDPOINT = {"address": UNKNOWN, "port": 5432}
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
PI_RETENTION_DAYS = (7, 731) + tuple(31 * month for month in range(1, 24))
MAX_READ_REPLICAS = 15
MIN_STORAGE = 20
MAX_STORAGE = 65536
RESERVED_USERNAMES = ("rdsadmin", "rdsrepladmin", "rds_superuser")
INSTANCE_FAMILIES = ("c", "m", "r", "t", "x", "z")
WEEK_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_INSTANCE_CLASS = re.compile(r"^db\.(?P<family>[a-z]+)(?P<generation>\d+)[a-z\-]*\.(?:nano|micro|small|medium|large|\d*xlarge|metal)$")
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]+$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]+$")
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:(?:key|alias)/.+$")
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$")
_DB_ARN = re.compile(r"^arn:aws[a-z-]*:rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):db:(?P<id>[a-z][a-z0-9-]*)$")
_CA = re.compile(r"^rds-ca-[a-z0-9-]+$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")

NOTE_WINDOW = "applies at the next maintenance window (apply_immediately is false); until then it waits in PendingModifiedValues"
NOTE_NOW = "applies now (apply_immediately is true); an instance class or engine version change restarts the instance"
NOTE_STATIC = "needs a reboot: static parameter(s) {0} apply at the instance's next reboot (the module never reboots)"
NOTE_GROUP = "needs a reboot: the instance applies the parameter group {0} fully at its next reboot (the module never reboots)"
NOTE_REPLICA_DELETE = "read replica: no final snapshot (AWS refuses one for a replica; the primary and its backups hold the data)"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    identifier=dict(type="str"),
    engine_version=dict(type="str", default="16.9"),
    allow_major_version_upgrade=dict(type="bool", default=False),
    auto_minor_version_upgrade=dict(type="bool", default=True),
    instance_class=dict(type="str", default="db.r6g.large"),
    allocated_storage=dict(type="int", default=100),
    max_allocated_storage=dict(type="int"),
    storage_type=dict(type="str", default="gp3", choices=["gp3", "gp2"]),
    multi_az=dict(type="bool", default=True),
    storage_encrypted=dict(type="bool", default=True),
    kms_key_id=dict(type="str"),
    master_username=dict(type="str", default="cairn_admin"),
    master_user_secret_kms_key_id=dict(type="str"),
    master_user_password=dict(type="str", no_log=True, aliases=["password", "master_password"]),
    db_name=dict(type="str"),
    subnet_ids=dict(type="list", elements="str"),
    vpc_security_group_ids=dict(type="list", elements="str"),
    parameters=dict(type="dict", default={}),
    backup_retention_days=dict(type="int", default=35),
    backup_window=dict(type="str"),
    maintenance_window=dict(type="str"),
    performance_insights=dict(
        type="dict",
        default={},
        options=dict(
            enabled=dict(type="bool", default=True),
            kms_key_id=dict(type="str"),
            retention_days=dict(type="int", default=7),
        ),
    ),
    monitoring_interval=dict(type="int", default=60, choices=list(MONITORING_INTERVALS)),
    monitoring_role_arn=dict(type="str"),
    enabled_cloudwatch_logs_exports=dict(type="list", elements="str", default=["postgresql", "upgrade"], choices=list(LOG_EXPORTS)),
    deletion_protection=dict(type="bool", default=True),
    copy_tags_to_snapshot=dict(type="bool", default=True),
    iam_database_authentication=dict(type="bool", default=False),
    ca_certificate=dict(type="str", default="rds-ca-rsa2048-g1"),
    read_replicas=dict(
        type="dict",
        default={},
        options=dict(
            count=dict(type="int", default=0),
            instance_class=dict(type="str"),
        ),
    ),
    replica_source_arn=dict(type="str"),
    apply_immediately=dict(type="bool", default=False),
    force_disable_deletion_protection=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=3600),
)


# ---------------------------------------------------------------------------------------------
# Pure planning: input checks, names and the desired state (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
def parse_version(text):
    match = _VERSION.match(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_engine_version(version):
    parsed = parse_version(version)
    if parsed is None:
        raise InputError(
            "engine_version: give a major and minor version such as 16.9; got {0!r}.".format(version))
    major = str(parsed[0])
    if major not in SUPPORTED_ENGINE_VERSIONS:
        raise InputError("engine_version: RDS for PostgreSQL has no major version {0} here; supported majors are {1}.".format(
            major, ", ".join(sorted(SUPPORTED_ENGINE_VERSIONS, key=int))))
    if version not in SUPPORTED_ENGINE_VERSIONS[major]:
        raise InputError("engine_version: {0} is not a version RDS offers for PostgreSQL {1}; choose one of {2}.".format(
            version, major, ", ".join(SUPPORTED_ENGINE_VERSIONS[major])))
    return major


def check_instance_class(field, value):
    match = _INSTANCE_CLASS.match(value or "")
    if not match or match.group("family")[0] not in INSTANCE_FAMILIES:
        raise InputError(
            "{0}: {1!r} is not an RDS instance class; use the form db.<family><generation>[attributes].<size> "
            "with a family starting with {2}, for example db.r6g.large or db.t4g.medium.".format(
                field, value, ", ".join(INSTANCE_FAMILIES)))


def replica_identifier(identifier, number):
    return "{0}-replica-{1}".format(identifier, number)


def parameter_group_name(identifier, major):
    return "{0}-pg{1}".format(identifier, major)


def final_snapshot_identifier(identifier, now):
    return "{0}-final-{1}".format(identifier, now.strftime("%Y%m%d-%H%M%S"))


def parameter_value(name, value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InputError("parameters: {0} needs a value (a string, number or boolean); got {1!r}.".format(name, value))


def merge_parameters(user_parameters):
    """The defaults with the user's values over them; the TLS and audit baseline cannot be dropped."""
    merged = dict(DEFAULT_PARAMETERS)
    for name, value in (user_parameters or {}).items():
        if not isinstance(name, str) or not _PARAMETER_NAME.match(name):
            raise InputError("parameters: {0!r} is not a PostgreSQL parameter name.".format(name))
        merged[name] = parameter_value(name, value)
    if merged["rds.force_ssl"] != "1":
        raise InputError("parameters: rds.force_ssl must stay 1; the platform accepts only TLS connections to the database.")
    libraries = [lib.strip() for lib in merged["shared_preload_libraries"].split(",") if lib.strip()]
    for required in REQUIRED_LIBRARIES:
        if required not in libraries:
            libraries.append(required)
    merged["shared_preload_libraries"] = ",".join(libraries)
    return merged


WEEK_MINUTES = 7 * 1440


def window_minutes(first, length):
    """Minutes of the week a window covers, from minute `first` of the week (it may wrap past the week's end)."""
    return {(first + minute) % WEEK_MINUTES for minute in range(length)}


def check_windows(backup_window, maintenance_window):
    backup = maintenance = None
    if backup_window is not None:
        match = _BACKUP_WINDOW.match(backup_window)
        if not match:
            raise InputError("backup_window: use hh24:mi-hh24:mi in UTC, for example 03:00-03:30; got {0!r}.".format(backup_window))
        start = int(match.group(1)) * 60 + int(match.group(2))
        length = (int(match.group(3)) * 60 + int(match.group(4)) - start) % 1440
        if length < 30:
            raise InputError("backup_window: AWS needs at least 30 minutes; {0} is shorter.".format(backup_window))
        backup = set().union(*(window_minutes(day * 1440 + start, length) for day in range(7)))
    if maintenance_window is not None:
        match = _MAINTENANCE_WINDOW.match(maintenance_window.lower())
        if not match:
            raise InputError("maintenance_window: use ddd:hh24:mi-ddd:hh24:mi in UTC, for example sun:05:00-sun:05:30; "
                             "got {0!r}.".format(maintenance_window))
        start = WEEK_DAYS.index(match.group(1)) * 1440 + int(match.group(2)) * 60 + int(match.group(3))
        end = WEEK_DAYS.index(match.group(4)) * 1440 + int(match.group(5)) * 60 + int(match.group(6))
        length = (end - start) % WEEK_MINUTES
        if length < 30:
            raise InputError("maintenance_window: AWS needs at least 30 minutes; {0} is shorter.".format(maintenance_window))
        maintenance = window_minutes(start, length)
    if backup and maintenance and backup & maintenance:
        raise InputError("backup_window: {0} overlaps maintenance_window {1}; AWS needs them apart.".format(
            backup_window, maintenance_window))


def check_kms_key(field, key_id, region):
    if key_id is None or is_unknown(key_id):
        return
    if not isinstance(key_id, str) or not key_id.strip():
        raise InputError("{0}: give a key id, key ARN, alias name or alias ARN.".format(field))
    match = _KMS_ARN.match(key_id)
    if key_id.startswith("arn:") and not match:
        raise InputError("{0}: {1!r} is not a KMS key or alias ARN.".format(field, key_id))
    if match and region and match.group("region") != region:
        raise InputError(
            "{0}: the key {1} lives in {2}, but this stack's region is {3}; KMS keys are regional, give a key of {3}.".format(
                field, key_id, match.group("region"), region))


def build_spec(params, region=None):
    """All checks that need no API call, in the order a person reads the options."""
    if params.get("master_user_password") is not None:
        raise InputError(
            "master_user_password: this module takes no password. RDS generates the master password into "
            "Secrets Manager (ManageMasterUserPassword) and the module returns the secret's ARN; remove the option.")
    identifier = params.get("identifier") or "{0}-postgres".format(params["stack"])
    if len(identifier) > 63 or not _IDENTIFIER.match(identifier):
        raise InputError(
            "identifier: {0!r} is not a DB instance identifier (1 to 63 lowercase letters, digits and single hyphens, "
            "starting with a letter, not ending with a hyphen).".format(identifier))
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    spec = {
        "state": params["state"],
        "identifier": identifier,
        "subnet_group_name": identifier,
        "wait": params["wait"],
        "wait_timeout": params["wait_timeout"],
        "force_disable_deletion_protection": params["force_disable_deletion_protection"],
        "apply_immediately": params["apply_immediately"],
    }
    if params["state"] == "absent":
        return spec

    major = check_engine_version(params["engine_version"])
    check_instance_class("instance_class", params["instance_class"])
    replicas = dict(params.get("read_replicas") or {})
    count = replicas.get("count") if replicas.get("count") is not None else 0
    if not 0 <= count <= MAX_READ_REPLICAS:
        raise InputError("read_replicas.count: RDS allows 0 to {0} read replicas per instance; got {1}.".format(MAX_READ_REPLICAS, count))
    replica_class = replicas.get("instance_class") or params["instance_class"]
    if replicas.get("instance_class"):
        check_instance_class("read_replicas.instance_class", replica_class)
    if count and len(replica_identifier(identifier, count)) > 63:
        raise InputError("identifier: {0!r} leaves no room for the replica suffix -replica-{1} within 63 characters.".format(identifier, count))

    allocated = params["allocated_storage"]
    if not MIN_STORAGE <= allocated <= MAX_STORAGE:
        raise InputError("allocated_storage: RDS for PostgreSQL takes {0} to {1} GiB; got {2}.".format(MIN_STORAGE, MAX_STORAGE, allocated))
    maximum = params.get("max_allocated_storage")
    if maximum is not None:
        if maximum <= allocated:
            raise InputError(
                "max_allocated_storage: the storage autoscaling limit must be greater than allocated_storage ({0} GiB); "
                "got {1}. Leave it unset to turn autoscaling off.".format(allocated, maximum))
        if maximum > MAX_STORAGE:
            raise InputError("max_allocated_storage: at most {0} GiB; got {1}.".format(MAX_STORAGE, maximum))

    retention = params["backup_retention_days"]
    if not 1 <= retention <= 35:
        raise InputError("backup_retention_days: RDS keeps automated backups 1 to 35 days; got {0}.".format(retention))
    check_windows(params.get("backup_window"), params.get("maintenance_window"))

    insights = dict(params.get("performance_insights") or {})
    if insights.get("enabled") is None:
        insights["enabled"] = True
    if insights.get("retention_days") is None:
        insights["retention_days"] = 7
    if insights["enabled"] and insights["retention_days"] not in PI_RETENTION_DAYS:
        raise InputError(
            "performance_insights.retention_days: AWS accepts 7, a multiple of 31 from 31 to 713 (months), or 731; "
            "got {0}.".format(insights["retention_days"]))
    if not insights["enabled"] and insights.get("kms_key_id"):
        raise InputError("performance_insights.kms_key_id: given while performance_insights.enabled is false.")

    interval = params["monitoring_interval"]
    role_arn = params.get("monitoring_role_arn")
    if interval and not role_arn:
        raise InputError("monitoring_role_arn: required when monitoring_interval is {0} (enhanced monitoring publishes "
                         "with that role); or set monitoring_interval to 0.".format(interval))
    if role_arn and not is_unknown(role_arn) and not ROLE_ARN.match(role_arn):
        raise InputError("monitoring_role_arn: {0!r} is not an IAM role ARN.".format(role_arn))

    subnet_ids = params.get("subnet_ids")
    if not subnet_ids:
        raise InputError("subnet_ids: required when state=present (the stack's database subnets, at least two zones).")
    bad = [s for s in subnet_ids if not is_unknown(s) and not _SUBNET_ID.match(s or "")]
    if bad:
        raise InputError("subnet_ids: {0} not subnet ids (subnet-...).".format(", ".join(map(repr, bad))))
    if len(set(subnet_ids)) < 2 and not any(is_unknown(s) for s in subnet_ids):
        raise InputError("subnet_ids: a DB subnet group needs subnets in at least two availability zones; got {0}.".format(len(set(subnet_ids))))
    groups = params.get("vpc_security_group_ids")
    if groups is not None:
        bad = [g for g in groups if not is_unknown(g) and not _SECURITY_GROUP_ID.match(g or "")]
        if bad or not groups:
            raise InputError("vpc_security_group_ids: give security group ids (sg-...); got {0}.".format(groups))

    if not _USERNAME.match(params["master_username"] or "") or params["master_username"].lower() in RESERVED_USERNAMES:
        raise InputError("master_username: {0!r} is not allowed (1 to 63 letters, digits or underscores, starting with a letter, "
                         "not one of {1}).".format(params["master_username"], ", ".join(RESERVED_USERNAMES)))
    if params.get("db_name") is not None and not _USERNAME.match(params["db_name"]):
        raise InputError("db_name: {0!r} is not a database name (1 to 63 letters, digits or underscores, starting with a letter).".format(params["db_name"]))
    if not _CA.match(params["ca_certificate"] or ""):
        raise InputError("ca_certificate: {0!r} is not an RDS certificate authority such as rds-ca-rsa2048-g1.".format(params["ca_certificate"]))
    exports = params["enabled_cloudwatch_logs_exports"]
    if len(set(exports)) != len(exports):
        raise InputError("enabled_cloudwatch_logs_exports: a log type is listed twice.")

    if not params["storage_encrypted"] and params.get("kms_key_id"):
        raise InputError("kms_key_id: given while storage_encrypted is false; encrypt the storage or drop the key.")
    for field, key_id in (("kms_key_id", params.get("kms_key_id")),
                          ("master_user_secret_kms_key_id", params.get("master_user_secret_kms_key_id")),
                          ("performance_insights.kms_key_id", insights.get("kms_key_id"))):
        check_kms_key(field, key_id, region)

    source_arn = params.get("replica_source_arn")
    source = None
    if source_arn:
        # A placeholder stands for a primary only planned in its own region (check mode).
        match = _DB_ARN.match(source_arn)
        if not match and not is_unknown(source_arn):
            raise InputError("replica_source_arn: {0!r} is not a DB instance ARN (arn:aws:rds:<region>:<account>:db:<id>).".format(source_arn))
        if match and region and match.group("region") == region:
            raise InputError("replica_source_arn: the source is in this stack's region {0}; use read_replicas for same-region "
                             "replicas.".format(region))
        if count:
            raise InputError("read_replicas.count: must be 0 with replica_source_arn (this module makes no replicas of a replica).")
        if params["storage_encrypted"] and not params.get("kms_key_id"):
            raise InputError("kms_key_id: required with replica_source_arn; an encrypted cross-region replica needs a key of its own region.")
        source = {"arn": source_arn, "region": match.group("region") if match else UNKNOWN,
                  "identifier": match.group("id") if match else UNKNOWN}

    spec.update(
        engine_version=params["engine_version"],
        major=major,
        parameter_group_name=parameter_group_name(identifier, major),
        parameter_group_family=ENGINE + major,
        parameters=merge_parameters(params.get("parameters")),
        allow_major_version_upgrade=params["allow_major_version_upgrade"],
        auto_minor_version_upgrade=params["auto_minor_version_upgrade"],
        instance_class=params["instance_class"],
        allocated_storage=allocated,
        max_allocated_storage=maximum,
        storage_type=params["storage_type"],
        multi_az=params["multi_az"],
        storage_encrypted=params["storage_encrypted"],
        kms_key_id=params.get("kms_key_id"),
        master_username=params["master_username"],
        master_user_secret_kms_key_id=params.get("master_user_secret_kms_key_id"),
        db_name=params.get("db_name"),
        subnet_ids=sorted(set(subnet_ids)) if not any(is_unknown(s) for s in subnet_ids) else list(subnet_ids),
        vpc_security_group_ids=sorted(set(groups)) if groups is not None else None,
        backup_retention_days=retention,
        backup_window=params.get("backup_window"),
        maintenance_window=params["maintenance_window"].lower() if params.get("maintenance_window") else None,
        performance_insights=insights,
        monitoring_interval=interval,
        monitoring_role_arn=role_arn if interval else None,
        enabled_cloudwatch_logs_exports=sorted(exports),
        deletion_protection=params["deletion_protection"],
        copy_tags_to_snapshot=params["copy_tags_to_snapshot"],
        iam_database_authentication=params["iam_database_authentication"],
        ca_certificate=params["ca_certificate"],
        replica_count=count,
        replica_instance_class=replica_class,
        source=source,
    )
    return spec


# ---- comparing an instance with the spec ------------------------------------------------------
# Fields AWS may hold in PendingModifiedValues until the maintenance window (unless ApplyImmediately).
DEFERRED_FIELDS = ("instance_class", "allocated_storage", "storage_type", "multi_az", "engine_version",
                   "ca_certificate", "iam_database_authentication")
# Fields that belong to the source of a replica.
SOURCE_ONLY_FIELDS = ("engine_version", "allocated_storage", "backup_retention_days", "backup_window",
                      "master_user_secret")


def current_fields(instance):
    """The instance as the spec's fields, a pending value standing in for the current one."""
    pending = instance.get("PendingModifiedValues") or {}

    def effective(key):
        return pending[key] if key in pending else instance.get(key)

    exports = set(instance.get("EnabledCloudwatchLogsExports") or [])
    pending_exports = pending.get("PendingCloudwatchLogsExports") or {}
    exports |= set(pending_exports.get("LogTypesToEnable") or [])
    exports -= set(pending_exports.get("LogTypesToDisable") or [])
    groups = instance.get("DBParameterGroups") or []
    return {
        "instance_class": effective("DBInstanceClass"),
        "allocated_storage": effective("AllocatedStorage"),
        "max_allocated_storage": instance.get("MaxAllocatedStorage"),
        "storage_type": effective("StorageType"),
        "multi_az": bool(effective("MultiAZ")),
        "engine_version": effective("EngineVersion"),
        "backup_retention_days": effective("BackupRetentionPeriod"),
        "backup_window": instance.get("PreferredBackupWindow"),
        "maintenance_window": (instance.get("PreferredMaintenanceWindow") or "").lower() or None,
        "performance_insights": bool(instance.get("PerformanceInsightsEnabled")),
        "performance_insights_kms_key_id": instance.get("PerformanceInsightsKMSKeyId"),
        "performance_insights_retention_days": instance.get("PerformanceInsightsRetentionPeriod"),
        "monitoring_interval": instance.get("MonitoringInterval") or 0,
        "monitoring_role_arn": instance.get("MonitoringRoleArn"),
        "enabled_cloudwatch_logs_exports": sorted(exports),
        "deletion_protection": bool(instance.get("DeletionProtection")),
        "copy_tags_to_snapshot": bool(instance.get("CopyTagsToSnapshot")),
        "iam_database_authentication": bool(effective("IAMDatabaseAuthenticationEnabled")),
        "vpc_security_group_ids": sorted(g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups") or []
                                         if g.get("Status") not in ("removing", "removed")),
        "ca_certificate": effective("CACertificateIdentifier"),
        "auto_minor_version_upgrade": bool(instance.get("AutoMinorVersionUpgrade")),
        "publicly_accessible": bool(instance.get("PubliclyAccessible")),
        "parameter_group": groups[0]["DBParameterGroupName"] if groups else None,
        "master_user_secret": bool(instance.get("MasterUserSecret")),
    }


class InstanceChange:
    """One field to change: its before/after for the plan and its part of the ModifyDBInstance call."""

    def __init__(self, field, before, after, kwargs, timing):
        self.field, self.before, self.after, self.kwargs, self.timing = field, before, after, kwargs, timing


def instance_changes(spec, instance, keys):
    """The changes taking `instance` to `spec`, and warnings; CairnError for changes AWS cannot make.

    `keys` maps the spec's KMS key ids to the ARNs AWS reports. Pure: unit-tested directly.
    """
    current = current_fields(instance)
    replica = spec["source"] is not None
    changes, warnings = [], []
    identifier = instance["DBInstanceIdentifier"]

    def add(field, after, kwargs, timing="immediate", before=None):
        before = current[field] if before is None else before
        if replica and field in SOURCE_ONLY_FIELDS:
            return
        changes.append(InstanceChange(field, before, after, kwargs, timing))

    def differs(field, desired):
        return current[field] != desired

    # Engine version: minor upgrades only forward; a major one only when asked for.
    if not replica:
        desired_version, current_version = parse_version(spec["engine_version"]), parse_version(current["engine_version"])
        if current_version and desired_version != current_version:
            if desired_version[0] < current_version[0]:
                raise CairnError("engine_version: {0} runs PostgreSQL {1}; AWS cannot downgrade to {2}.".format(
                    identifier, current["engine_version"], spec["engine_version"]))
            if desired_version[0] > current_version[0]:
                if not spec["allow_major_version_upgrade"]:
                    raise CairnError(
                        "engine_version: {0} -> {1} is a major version upgrade of {2}; set allow_major_version_upgrade: true "
                        "to do it (test it on a copy first: extensions and the parameter group change with the major).".format(
                            current["engine_version"], spec["engine_version"], identifier))
                add("engine_version", spec["engine_version"],
                    {"EngineVersion": spec["engine_version"], "AllowMajorVersionUpgrade": True,
                     "DBParameterGroupName": spec["parameter_group_name"]}, "deferred")
            elif desired_version[1] > current_version[1]:
                add("engine_version", spec["engine_version"], {"EngineVersion": spec["engine_version"]}, "deferred")
            else:
                warnings.append("engine_version: {0} already runs {1}, newer than {2} (an automatic minor upgrade); AWS cannot "
                                "downgrade, so set engine_version to {1}.".format(identifier, current["engine_version"], spec["engine_version"]))
        elif current_version is None:
            raise CairnError("engine_version: {0} reports the version {1!r}, which the module cannot compare.".format(identifier, current["engine_version"]))

    # Storage grows only; storage autoscaling growing it beyond the spec is not drift.
    if not replica and current["allocated_storage"] != spec["allocated_storage"]:
        if spec["allocated_storage"] > current["allocated_storage"]:
            add("allocated_storage", spec["allocated_storage"], {"AllocatedStorage": spec["allocated_storage"]}, "deferred")
        elif spec["max_allocated_storage"] is None:
            raise CairnError(
                "allocated_storage: {0} has {1} GiB; RDS storage cannot shrink (asked for {2} GiB). Keep {1} or more.".format(
                    identifier, current["allocated_storage"], spec["allocated_storage"]))
    allocated_now = max(current["allocated_storage"] or 0, spec["allocated_storage"] if not replica else 0)
    if spec["max_allocated_storage"] is not None and spec["max_allocated_storage"] <= allocated_now:
        raise CairnError(
            "max_allocated_storage: {0} already has {1} GiB; the autoscaling limit must be greater (got {2}).".format(
                identifier, allocated_now, spec["max_allocated_storage"]))
    if differs("max_allocated_storage", spec["max_allocated_storage"]):
        # AWS turns autoscaling off when the limit equals the allocated storage.
        add("max_allocated_storage", spec["max_allocated_storage"],
            {"MaxAllocatedStorage": spec["max_allocated_storage"] or allocated_now})

    for field, key, timing in (("instance_class", "DBInstanceClass", "deferred"), ("storage_type", "StorageType", "deferred"),
                               ("multi_az", "MultiAZ", "deferred"), ("ca_certificate", "CACertificateIdentifier", "deferred"),
                               ("iam_database_authentication", "EnableIAMDatabaseAuthentication", "deferred"),
                               ("backup_window", "PreferredBackupWindow", "immediate"),
                               ("maintenance_window", "PreferredMaintenanceWindow", "immediate"),
                               ("deletion_protection", "DeletionProtection", "immediate"),
                               ("copy_tags_to_snapshot", "CopyTagsToSnapshot", "immediate"),
                               ("auto_minor_version_upgrade", "AutoMinorVersionUpgrade", "immediate")):
        desired = spec[field]
        if desired is not None and differs(field, desired):
            add(field, desired, {key: desired}, timing)

    if differs("backup_retention_days", spec["backup_retention_days"]):
        # From 0 (backups off) the change restarts I/O and waits for the window; nonzero to nonzero applies at once.
        add("backup_retention_days", spec["backup_retention_days"], {"BackupRetentionPeriod": spec["backup_retention_days"]},
            "deferred" if not current["backup_retention_days"] else "immediate")
    if differs("publicly_accessible", False):
        add("publicly_accessible", False, {"PubliclyAccessible": False})
    if spec["vpc_security_group_ids"] is not None and differs("vpc_security_group_ids", spec["vpc_security_group_ids"]):
        add("vpc_security_group_ids", spec["vpc_security_group_ids"], {"VpcSecurityGroupIds": spec["vpc_security_group_ids"]})
    if differs("enabled_cloudwatch_logs_exports", spec["enabled_cloudwatch_logs_exports"]):
        wanted, have = set(spec["enabled_cloudwatch_logs_exports"]), set(current["enabled_cloudwatch_logs_exports"])
        configuration = {}
        if wanted - have:
            configuration["EnableLogTypes"] = sorted(wanted - have)
        if have - wanted:
            configuration["DisableLogTypes"] = sorted(have - wanted)
        add("enabled_cloudwatch_logs_exports", spec["enabled_cloudwatch_logs_exports"], {"CloudwatchLogsExportConfiguration": configuration})

    insights = spec["performance_insights"]
    if insights["enabled"]:
        key_arn = keys.get(insights.get("kms_key_id"))
        before = {"enabled": current["performance_insights"], "retention_days": current["performance_insights_retention_days"]}
        after = {"enabled": True, "retention_days": insights["retention_days"]}
        if key_arn:
            before["kms_key_id"], after["kms_key_id"] = current["performance_insights_kms_key_id"], key_arn
            if current["performance_insights"] and not is_unknown(key_arn) and current["performance_insights_kms_key_id"] not in (None, key_arn):
                raise CairnError(
                    "performance_insights.kms_key_id: {0} encrypts Performance Insights with {1}; AWS cannot change the key "
                    "while Performance Insights is on (turn it off in one run and on again with the new key).".format(
                        identifier, current["performance_insights_kms_key_id"]))
        if before != after:
            kwargs = {"EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": insights["retention_days"]}
            if key_arn:
                kwargs["PerformanceInsightsKMSKeyId"] = key_arn
            changes.append(InstanceChange("performance_insights", before, after, kwargs, "immediate"))
    elif current["performance_insights"]:
        changes.append(InstanceChange("performance_insights", {"enabled": True}, {"enabled": False},
                                      {"EnablePerformanceInsights": False}, "immediate"))

    before = {"interval": current["monitoring_interval"], "role_arn": current["monitoring_role_arn"] if current["monitoring_interval"] else None}
    after = {"interval": spec["monitoring_interval"], "role_arn": spec["monitoring_role_arn"]}
    if before != after:
        kwargs = {"MonitoringInterval": spec["monitoring_interval"]}
        if spec["monitoring_role_arn"]:
            kwargs["MonitoringRoleArn"] = spec["monitoring_role_arn"]
        changes.append(InstanceChange("enhanced_monitoring", before, after, kwargs, "immediate"))

    if not any(change.field == "engine_version" and "DBParameterGroupName" in change.kwargs for change in changes):
        if differs("parameter_group", spec["parameter_group_name"]):
            add("parameter_group", spec["parameter_group_name"], {"DBParameterGroupName": spec["parameter_group_name"]}, "reboot")

    if not current["master_user_secret"]:
        kwargs = {"ManageMasterUserPassword": True}
        if spec["master_user_secret_kms_key_id"]:
            kwargs["MasterUserSecretKmsKeyId"] = keys.get(spec["master_user_secret_kms_key_id"])
        add("master_user_secret", True, kwargs)
    return changes, warnings


def check_immutable(spec, instance, keys):
    """Refuse, before any write, settings that cannot change on an existing instance."""
    identifier = instance["DBInstanceIdentifier"]
    if instance.get("Engine") != ENGINE:
        raise CairnError("identifier: {0} is a {1} instance, not PostgreSQL; choose another identifier.".format(identifier, instance.get("Engine")))
    if bool(instance.get("StorageEncrypted")) != spec["storage_encrypted"]:
        raise CairnError("storage_encrypted: {0} has it {1}; encryption cannot change on an existing instance (restore a snapshot "
                         "into a new one instead).".format(identifier, bool(instance.get("StorageEncrypted"))))
    key_arn = keys.get(spec["kms_key_id"])
    if key_arn and not is_unknown(key_arn) and instance.get("KmsKeyId") not in (None, key_arn):
        raise CairnError("kms_key_id: {0} is encrypted with {1}; the storage key cannot change (asked for {2}).".format(
            identifier, instance.get("KmsKeyId"), key_arn))
    source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
    if spec["source"] is None:
        if source:
            raise CairnError("replica_source_arn: {0} is a read replica of {1}; give replica_source_arn, or promote it first.".format(identifier, source))
        if instance.get("MasterUsername") not in (None, spec["master_username"]):
            raise CairnError("master_username: {0} has the master user {1!r}; it cannot change.".format(identifier, instance.get("MasterUsername")))
        if spec["db_name"] is not None and instance.get("DBName") not in (None, spec["db_name"]):
            raise CairnError("db_name: {0} was created with the database {1!r}; it cannot change.".format(identifier, instance.get("DBName")))
        secret = instance.get("MasterUserSecret") or {}
        secret_key = keys.get(spec["master_user_secret_kms_key_id"])
        if secret and secret_key and not is_unknown(secret_key) and secret.get("KmsKeyId") not in (None, secret_key):
            raise CairnError("master_user_secret_kms_key_id: the secret of {0} is encrypted with {1}; AWS cannot change the key of "
                             "a managed master user secret.".format(identifier, secret.get("KmsKeyId")))
    else:
        if not source:
            raise CairnError(
                "replica_source_arn: {0} is a standalone instance (promoted?), not a replica of {1}; remove replica_source_arn "
                "from this stack's settings to manage it as a primary.".format(identifier, spec["source"]["arn"]))
        if not is_unknown(spec["source"]["arn"]) and source not in (spec["source"]["arn"], spec["source"]["identifier"]):
            raise CairnError("replica_source_arn: {0} replicates {1}, not {2}.".format(identifier, source, spec["source"]["arn"]))
        current_major = (parse_version(instance.get("EngineVersion")) or (None,))[0]
        if current_major is not None and str(current_major) != spec["major"]:
            raise CairnError("engine_version: the replica {0} runs PostgreSQL {1}; give a {1}.x version (a replica follows its "
                             "source's major).".format(identifier, current_major))


def group_changes(changes, apply_immediately):
    """Plan records: (note, [changes]) by how the change takes effect, in a stable order."""
    immediate = [c for c in changes if c.timing == "immediate"]
    deferred = [c for c in changes if c.timing == "deferred"]
    reboot = [c for c in changes if c.timing == "reboot"]
    records = []
    if immediate:
        records.append((None, immediate))
    if deferred:
        note = NOTE_NOW if apply_immediately else NOTE_WINDOW
        major = [c for c in deferred if c.field == "engine_version" and "AllowMajorVersionUpgrade" in c.kwargs]
        if major:
            note = "major version upgrade {0} -> {1} with the parameter group of the new family; {2}".format(
                major[0].before, major[0].after, note)
        records.append((note, deferred))
    if reboot:
        records.append((NOTE_GROUP.format(reboot[0].after), reboot))
    return records


def before_after(changes):
    return {change.field: change.before for change in changes}, {change.field: change.after for change in changes}


def chunks(items, size):
    return [items[index:index + size] for index in range(0, len(items), size)]


class RdsPostgresConverger:
    """Reads the stack's database with a handful of describe calls, then converges it."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.rds = cm.client("rds")
        self.region = cm.connection.region
        self.clock = WaitClock(spec["wait_timeout"])
        self.check_mode = cm.check_mode
        self.identifier = spec["identifier"]
        self.keys = {}
        self.current = {}
        self.instance_plan = None
        self.new_instances = []
        self.available = set()

    # ---- helpers -------------------------------------------------------------------------
    def warn(self, message):
        self.cm.module.warn(message)

    def owned(self, tags):
        return self.owner.owns(tags)

    def tags_for(self, name, db_role=None):
        return self.owner.desired_tags(name=name, extra={DB_ROLE_TAG: db_role} if db_role else None)

    def reconcile_tags(self, resource_type, label, arn, current, desired):
        apply_tag_changes(
            self.cm, self.plan, self.owner, resource_type, label, current, desired,
            action="tagging {0} {1}".format(resource_type, label),
            add=lambda to_set: self.rds.add_tags_to_resource(ResourceName=arn, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.rds.remove_tags_from_resource(ResourceName=arn, TagKeys=to_remove))

    def list_tags(self, arn):
        with self.cm.doing("reading the tags of " + arn):
            return boto3_tag_list_to_dict(self.rds.list_tags_for_resource(ResourceName=arn).get("TagList"))

    def resolve_keys(self):
        """KMS key ids as the ARNs AWS reports, so aliases compare equal to what describe returns."""
        spec = self.spec
        wanted = [spec.get("kms_key_id"), spec.get("master_user_secret_kms_key_id"),
                  (spec.get("performance_insights") or {}).get("kms_key_id")]
        for key_id in filter(None, wanted):
            if key_id in self.keys:
                continue
            if is_unknown(key_id) or _KEY_ARN.match(key_id):
                self.keys[key_id] = key_id
                continue
            with self.cm.doing("looking up the KMS key " + key_id):
                try:
                    self.keys[key_id] = self.cm.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
                except Exception as exc:
                    if error_code(exc) == "NotFoundException":
                        raise CairnError("The KMS key {0} does not exist in {1}.".format(key_id, self.region))
                    raise

    # ---- read ----------------------------------------------------------------------------
    def read(self):
        ids = [self.identifier] + [replica_identifier(self.identifier, n) for n in range(1, MAX_READ_REPLICAS + 1)]
        with self.cm.doing("reading the stack's DB instances"):
            instances = paginate(self.rds, "describe_db_instances", "DBInstances",
                                 Filters=[{"Name": "db-instance-id", "Values": ids}])
        by_id = {i["DBInstanceIdentifier"]: i for i in instances}
        self.current["primary"] = by_id.get(self.identifier)
        self.current["replicas"] = {n: by_id[replica_identifier(self.identifier, n)]
                                    for n in range(1, MAX_READ_REPLICAS + 1) if replica_identifier(self.identifier, n) in by_id}
        self.current["subnet_group"] = self.read_subnet_group()
        self.current["parameter_groups"] = self.read_parameter_groups()

    def read_subnet_group(self):
        name = self.spec["subnet_group_name"]
        with self.cm.doing("reading the DB subnet group " + name):
            try:
                group = self.rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
            except Exception as exc:
                if error_code(exc) == "DBSubnetGroupNotFoundFault":
                    return None
                raise
        return {"group": group, "tags": self.list_tags(group["DBSubnetGroupArn"])}

    def read_parameter_groups(self):
        """The stack's parameter groups of every family, by name, with tags (and parameters of the desired one)."""
        pattern = re.compile("^" + re.escape(self.identifier) + r"-pg\d+$")
        with self.cm.doing("reading DB parameter groups"):
            groups = [g for g in paginate(self.rds, "describe_db_parameter_groups", "DBParameterGroups")
                      if pattern.match(g["DBParameterGroupName"])]
        found = {}
        for group in groups:
            entry = {"group": group, "tags": self.list_tags(group["DBParameterGroupArn"]), "parameters": None}
            if group["DBParameterGroupName"] == self.spec.get("parameter_group_name") and self.owned(entry["tags"]):
                with self.cm.doing("reading the parameters of " + group["DBParameterGroupName"]):
                    entry["parameters"] = {p["ParameterName"]: p for p in paginate(
                        self.rds, "describe_db_parameters", "Parameters",
                        DBParameterGroupName=group["DBParameterGroupName"], Source="user")
                        if p.get("ParameterValue") is not None}
            found[group["DBParameterGroupName"]] = entry
        return found

    # ---- preflight -----------------------------------------------------------------------
    def check_owned(self, kind, name, tags):
        if not self.owned(tags):
            raise CairnError(
                "{0} {1} exists without the ownership tags of stack {2} (component {3}); it is not managed by cairn.platform "
                "and is left alone. Choose another identifier, or tag it to adopt it.".format(kind, name, self.owner.stack, COMPONENT))

    def preflight(self):
        """Every refusal before the first write: ownership, immutable settings, impossible changes."""
        primary = self.current["primary"]
        if primary is not None:
            self.check_owned("The DB instance", self.identifier, boto3_tag_list_to_dict(primary.get("TagList")))
        for number, replica in sorted(self.current["replicas"].items()):
            self.check_owned("The DB instance", replica["DBInstanceIdentifier"], boto3_tag_list_to_dict(replica.get("TagList")))
            if replica.get("ReadReplicaSourceDBInstanceIdentifier") not in (self.identifier, (primary or {}).get("DBInstanceArn")):
                raise CairnError("{0} is not a read replica of {1}; rename or delete it.".format(replica["DBInstanceIdentifier"], self.identifier))
        if self.current["subnet_group"]:
            self.check_owned("The DB subnet group", self.spec["subnet_group_name"], self.current["subnet_group"]["tags"])
        for name, entry in self.current["parameter_groups"].items():
            self.check_owned("The DB parameter group", name, entry["tags"])
        if self.spec["state"] == "absent":
            self.check_deletion_protection()
            return
        desired_group = self.current["parameter_groups"].get(self.spec["parameter_group_name"])
        if desired_group and desired_group["group"].get("DBParameterGroupFamily") != self.spec["parameter_group_family"]:
            raise CairnError("The DB parameter group {0} has the family {1}, not {2}; delete it first.".format(
                self.spec["parameter_group_name"], desired_group["group"].get("DBParameterGroupFamily"), self.spec["parameter_group_family"]))
        if primary is not None:
            check_immutable(self.spec, primary, self.keys)
            self.instance_plan = instance_changes(self.spec, primary, self.keys)
        for number in sorted(self.current["replicas"]):
            if number > self.spec["replica_count"]:
                self.check_replica_deletable(self.current["replicas"][number])

    def check_deletion_protection(self):
        protected = [i["DBInstanceIdentifier"] for i in self.instances_to_delete() if i.get("DeletionProtection")]
        if protected and not self.spec["force_disable_deletion_protection"]:
            raise CairnError(
                "Deletion protection is on for {0}; refusing to delete. Turn it off (deletion_protection: false) in a run "
                "of its own, or set force_disable_deletion_protection: true.".format(", ".join(protected)))

    def check_replica_deletable(self, replica):
        if replica.get("DeletionProtection"):
            raise CairnError(
                "read_replicas.count: {0} would be deleted but has deletion protection on; turn it off first.".format(
                    replica["DBInstanceIdentifier"]))

    def instances_to_delete(self):
        replicas = [self.current["replicas"][n] for n in sorted(self.current["replicas"], reverse=True)]
        return replicas + ([self.current["primary"]] if self.current["primary"] else [])

    # ---- converge ------------------------------------------------------------------------
    def present(self):
        self.resolve_keys()
        self.read()
        self.preflight()
        subnet_group = self.ensure_subnet_group()
        parameter_group = self.ensure_parameter_group()
        instance = self.ensure_instance()
        replicas = self.ensure_replicas(instance)
        self.prune_parameter_groups(instance, replicas)
        self.wait_for_new_instances()
        return self.result(instance, replicas, subnet_group, parameter_group)

    def ensure_subnet_group(self):
        name = self.spec["subnet_group_name"]
        desired_tags = self.tags_for(name)
        subnet_ids = self.spec["subnet_ids"]
        current = self.current["subnet_group"]
        if current is None:
            if not self.plan.create("db_subnet_group", name, {"subnet_ids": subnet_ids, "tags": desired_tags}):
                return {"name": name, "arn": UNKNOWN, "vpc_id": UNKNOWN, "subnet_ids": subnet_ids}
            with self.cm.doing("creating the DB subnet group " + name):
                group = self.rds.create_db_subnet_group(
                    DBSubnetGroupName=name, DBSubnetGroupDescription="cairn.platform: database subnets of " + self.identifier,
                    SubnetIds=subnet_ids, Tags=dict_to_boto3_tag_list(desired_tags))["DBSubnetGroup"]
            return self.subnet_group_summary(group)
        group = current["group"]
        current_ids = sorted(s["SubnetIdentifier"] for s in group.get("Subnets", []))
        if self.plan.update("db_subnet_group", name, {"subnet_ids": current_ids}, {"subnet_ids": subnet_ids}):
            with self.cm.doing("changing the subnets of the DB subnet group " + name):
                group = self.rds.modify_db_subnet_group(
                    DBSubnetGroupName=name, DBSubnetGroupDescription=group.get("DBSubnetGroupDescription") or name,
                    SubnetIds=subnet_ids)["DBSubnetGroup"]
        self.reconcile_tags("db_subnet_group", name, group["DBSubnetGroupArn"], current["tags"], desired_tags)
        summary = self.subnet_group_summary(group)
        if self.check_mode:
            summary["subnet_ids"] = subnet_ids
        return summary

    @staticmethod
    def subnet_group_summary(group):
        return {"name": group["DBSubnetGroupName"], "arn": group.get("DBSubnetGroupArn"), "vpc_id": group.get("VpcId"),
                "subnet_ids": sorted(s["SubnetIdentifier"] for s in group.get("Subnets", []))}

    def parameter_in_use(self):
        """Whether an existing instance already runs with the desired group (so parameter changes reach it now)."""
        instances = [self.current["primary"]] + list(self.current["replicas"].values())
        return any(current_fields(i)["parameter_group"] == self.spec["parameter_group_name"] for i in instances if i)

    def ensure_parameter_group(self):
        name, family = self.spec["parameter_group_name"], self.spec["parameter_group_family"]
        desired = self.spec["parameters"]
        desired_tags = self.tags_for(name)
        entry = self.current["parameter_groups"].get(name)
        summary = {"name": name, "family": family, "arn": UNKNOWN, "parameters": desired}
        if entry is None:
            if not self.plan.create("db_parameter_group", name, {"family": family, "parameters": desired, "tags": desired_tags}):
                return summary
            with self.cm.doing("creating the DB parameter group " + name):
                group = self.rds.create_db_parameter_group(
                    DBParameterGroupName=name, DBParameterGroupFamily=family,
                    Description="cairn.platform: PostgreSQL {0} parameters of {1}".format(self.spec["major"], self.identifier),
                    Tags=dict_to_boto3_tag_list(desired_tags))["DBParameterGroup"]
                self.set_parameters(name, desired, {})
            summary["arn"] = group["DBParameterGroupArn"]
            return summary
        summary["arn"] = entry["group"]["DBParameterGroupArn"]
        current = entry["parameters"] or {}
        values = {key: item.get("ParameterValue") for key, item in current.items()}
        changed = {key: value for key, value in desired.items() if values.get(key) != value}
        removed = sorted(key for key in values if key not in desired)
        in_use = self.parameter_in_use()

        def is_static(key):
            apply_type = (current.get(key) or {}).get("ApplyType")
            return apply_type == "static" if apply_type else key in STATIC_PARAMETERS

        static = sorted(key for key in list(changed) + removed if is_static(key))
        dynamic = sorted(key for key in list(changed) + removed if not is_static(key))
        write = False
        for keys, note in ((dynamic, None), (static, NOTE_STATIC.format(", ".join(static)) if in_use else None)):
            if not keys:
                continue
            before = {"parameters": {key: values.get(key) for key in keys}}
            after = {"parameters": {key: desired.get(key) for key in keys}}
            write = self.plan.update("db_parameter_group", name, before, after, note=note) or write
        if write:
            with self.cm.doing("changing the parameters of " + name):
                self.set_parameters(name, changed, current)
                self.reset_parameters(name, removed, current)
        self.reconcile_tags("db_parameter_group", name, summary["arn"], entry["tags"], desired_tags)
        return summary

    @staticmethod
    def apply_method(key, current):
        apply_type = (current.get(key) or {}).get("ApplyType")
        static = apply_type == "static" if apply_type else key in STATIC_PARAMETERS
        return "pending-reboot" if static else "immediate"

    def set_parameters(self, name, values, current):
        items = [{"ParameterName": key, "ParameterValue": values[key], "ApplyMethod": self.apply_method(key, current)}
                 for key in sorted(values)]
        for batch in chunks(items, MAX_PARAMETERS_PER_CALL):
            self.rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=batch)

    def reset_parameters(self, name, keys, current):
        items = [{"ParameterName": key, "ApplyMethod": self.apply_method(key, current)} for key in keys]
        for batch in chunks(items, MAX_PARAMETERS_PER_CALL):
            self.rds.reset_db_parameter_group(DBParameterGroupName=name, ResetAllParameters=False, Parameters=batch)

    # ---- the stack's instance --------------------------------------------------------------
    def instance_settings(self):
        """Create arguments shared by primaries and replicas."""
        spec = self.spec
        kwargs = dict(
            DBInstanceClass=spec["instance_class"],
            MultiAZ=spec["multi_az"],
            StorageType=spec["storage_type"],
            PubliclyAccessible=False,
            AutoMinorVersionUpgrade=spec["auto_minor_version_upgrade"],
            CopyTagsToSnapshot=spec["copy_tags_to_snapshot"],
            DeletionProtection=spec["deletion_protection"],
            EnableIAMDatabaseAuthentication=spec["iam_database_authentication"],
            EnableCloudwatchLogsExports=spec["enabled_cloudwatch_logs_exports"],
            CACertificateIdentifier=spec["ca_certificate"],
            MonitoringInterval=spec["monitoring_interval"],
        )
        if spec["monitoring_role_arn"]:
            kwargs["MonitoringRoleArn"] = spec["monitoring_role_arn"]
        if spec["max_allocated_storage"] is not None:
            kwargs["MaxAllocatedStorage"] = spec["max_allocated_storage"]
        if spec["vpc_security_group_ids"] is not None:
            kwargs["VpcSecurityGroupIds"] = spec["vpc_security_group_ids"]
        insights = spec["performance_insights"]
        kwargs["EnablePerformanceInsights"] = insights["enabled"]
        if insights["enabled"]:
            kwargs["PerformanceInsightsRetentionPeriod"] = insights["retention_days"]
            if insights.get("kms_key_id"):
                kwargs["PerformanceInsightsKMSKeyId"] = self.keys[insights["kms_key_id"]]
        return kwargs

    def planned_instance(self, **extra):
        """What a create plans, in the spec's field names (no secret: the password never exists here)."""
        spec = self.spec
        desired = {field: spec[field] for field in (
            "instance_class", "multi_az", "storage_type", "storage_encrypted", "deletion_protection", "copy_tags_to_snapshot",
            "iam_database_authentication", "enabled_cloudwatch_logs_exports", "ca_certificate", "monitoring_interval",
            "max_allocated_storage", "vpc_security_group_ids")}
        desired["performance_insights"] = dict(spec["performance_insights"])
        desired["kms_key_id"] = self.keys.get(spec["kms_key_id"])
        desired.update(extra)
        return desired

    def ensure_instance(self):
        primary = self.current["primary"]
        if primary is None:
            return self.create_replica_instance() if self.spec["source"] else self.create_primary()
        return self.modify_instance(primary)

    def create_primary(self):
        spec = self.spec
        tags = self.tags_for(self.identifier, "primary")
        desired = self.planned_instance(
            engine_version=spec["engine_version"], allocated_storage=spec["allocated_storage"],
            backup_retention_days=spec["backup_retention_days"], backup_window=spec["backup_window"],
            maintenance_window=spec["maintenance_window"], master_username=spec["master_username"],
            master_user_secret="managed by RDS in Secrets Manager", db_name=spec["db_name"],
            parameter_group=spec["parameter_group_name"], subnet_group=spec["subnet_group_name"], tags=tags)
        if not self.plan.create("db_instance", self.identifier, desired):
            return None
        kwargs = self.instance_settings()
        kwargs.update(
            DBInstanceIdentifier=self.identifier, Engine=ENGINE, EngineVersion=spec["engine_version"],
            AllocatedStorage=spec["allocated_storage"], StorageEncrypted=spec["storage_encrypted"],
            MasterUsername=spec["master_username"], ManageMasterUserPassword=True,
            DBSubnetGroupName=spec["subnet_group_name"], DBParameterGroupName=spec["parameter_group_name"],
            BackupRetentionPeriod=spec["backup_retention_days"], Tags=dict_to_boto3_tag_list(tags))
        if spec["kms_key_id"]:
            kwargs["KmsKeyId"] = self.keys[spec["kms_key_id"]]
        if spec["master_user_secret_kms_key_id"]:
            kwargs["MasterUserSecretKmsKeyId"] = self.keys[spec["master_user_secret_kms_key_id"]]
        for key, field in (("DBName", "db_name"), ("PreferredBackupWindow", "backup_window"),
                           ("PreferredMaintenanceWindow", "maintenance_window")):
            if spec[field] is not None:
                kwargs[key] = spec[field]
        instance = self.create_instance("create_db_instance", kwargs)
        self.new_instances.append(self.identifier)
        return instance

    def create_replica_instance(self):
        """The DR stack's instance: a cross-region replica of the source, with this region's key and subnets."""
        spec = self.spec
        tags = self.tags_for(self.identifier, "cross-region-replica")
        desired = self.planned_instance(replica_source_arn=spec["source"]["arn"], source_region=spec["source"]["region"],
                                        subnet_group=spec["subnet_group_name"], tags=tags)
        created = None
        if self.plan.create("db_instance", self.identifier, desired, note="cross-region read replica of " + spec["source"]["arn"]):
            kwargs = self.instance_settings()
            kwargs.update(
                DBInstanceIdentifier=self.identifier, SourceDBInstanceIdentifier=spec["source"]["arn"],
                SourceRegion=spec["source"]["region"], DBSubnetGroupName=spec["subnet_group_name"],
                Tags=dict_to_boto3_tag_list(tags))
            if spec["kms_key_id"]:
                kwargs["KmsKeyId"] = self.keys[spec["kms_key_id"]]
            # CreateDBInstanceReadReplica takes no parameter group for PostgreSQL: attached right after.
            created = self.create_instance("create_db_instance_read_replica", kwargs)
        if not self.spec["wait"]:
            self.warn("{0}: the parameter group {1} is attached by the next run, once the new replica is available "
                      "(wait is false).".format(self.identifier, spec["parameter_group_name"]))
            return created
        if created is not None:
            self.wait_available(self.identifier)
            created = self.describe_instance(self.identifier)
        current_group = current_fields(created)["parameter_group"] if created else "(the engine's default group)"
        if self.plan.update("db_instance", self.identifier, {"parameter_group": current_group},
                            {"parameter_group": spec["parameter_group_name"]}, note=NOTE_GROUP.format(spec["parameter_group_name"])):
            with self.cm.doing("attaching the parameter group to " + self.identifier):
                created = self.rds.modify_db_instance(DBInstanceIdentifier=self.identifier,
                                                      DBParameterGroupName=spec["parameter_group_name"],
                                                      ApplyImmediately=spec["apply_immediately"])["DBInstance"]
        return created

    def create_instance(self, operation, kwargs):
        identifier = kwargs["DBInstanceIdentifier"]
        with self.cm.doing("creating the DB instance " + identifier):
            try:
                return getattr(self.rds, operation)(**kwargs)["DBInstance"]
            except Exception as exc:
                # A retry of a create that reached AWS: the instance is ours when it carries our tags.
                if error_code(exc) != "DBInstanceAlreadyExists":
                    raise
                instance = self.describe_instance(identifier)
                self.check_owned("The DB instance", identifier, boto3_tag_list_to_dict(instance.get("TagList")))
                return instance

    def describe_instance(self, identifier):
        with self.cm.doing("reading the DB instance " + identifier):
            return self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]

    def modify_instance(self, instance):
        changes, warnings = self.instance_plan
        for message in warnings:
            self.warn(message)
        kwargs = {}
        for note, group in group_changes(changes, self.spec["apply_immediately"]):
            before, after = before_after(group)
            if self.plan.update("db_instance", self.identifier, before, after, note=note):
                for change in group:
                    kwargs.update(change.kwargs)
        if kwargs:
            kwargs.update(DBInstanceIdentifier=self.identifier, ApplyImmediately=self.spec["apply_immediately"])
            with self.cm.doing("modifying the DB instance " + self.identifier):
                instance = self.rds.modify_db_instance(**kwargs)["DBInstance"]
        db_role = "cross-region-replica" if self.spec["source"] else "primary"
        self.reconcile_tags("db_instance", self.identifier, instance["DBInstanceArn"],
                            boto3_tag_list_to_dict(self.current["primary"].get("TagList")), self.tags_for(self.identifier, db_role))
        return instance

    # ---- same-region read replicas -----------------------------------------------------------
    def ensure_replicas(self, primary):
        spec = self.spec
        existing = self.current["replicas"]
        # Highest numbers go first, so 2 -> 1 removes replica-2.
        for number in sorted(existing, reverse=True):
            if number > spec["replica_count"]:
                self.delete_replica(existing[number])
        replicas = []
        primary_pending = self.identifier in self.new_instances or primary is None
        for number in range(1, spec["replica_count"] + 1):
            name = replica_identifier(self.identifier, number)
            replica = existing.get(number)
            if replica is None:
                if primary_pending and not spec["wait"]:
                    self.warn("{0} is created by the next run, once the new primary is available (wait is false).".format(name))
                    continue
                replica = self.create_replica(name, primary_pending)
            else:
                replica = self.converge_replica(name, replica)
            replicas.append(self.replica_summary(name, replica))
        return replicas

    def create_replica(self, name, primary_pending):
        spec = self.spec
        tags = self.tags_for(name, "read-replica")
        desired = self.planned_instance(source=self.identifier, instance_class=spec["replica_instance_class"],
                                        multi_az=False, deletion_protection=False, tags=tags)
        if not self.plan.create("db_read_replica", name, desired):
            return None
        if primary_pending:
            # A replica needs an available source with backups on.
            self.wait_available(self.identifier)
        kwargs = self.instance_settings()
        kwargs.update(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=self.identifier,
                      DBInstanceClass=spec["replica_instance_class"], MultiAZ=False, DeletionProtection=False,
                      Tags=dict_to_boto3_tag_list(tags))
        replica = self.create_instance("create_db_instance_read_replica", kwargs)
        self.new_instances.append(name)
        return replica

    def converge_replica(self, name, replica):
        tags = boto3_tag_list_to_dict(replica.get("TagList"))
        current = current_fields(replica)
        kwargs = {}
        desired_class = self.spec["replica_instance_class"]
        note = NOTE_NOW if self.spec["apply_immediately"] else NOTE_WINDOW
        if self.plan.update("db_read_replica", name, {"instance_class": current["instance_class"]},
                            {"instance_class": desired_class}, note=note):
            kwargs["DBInstanceClass"] = desired_class
        # After a major upgrade a replica may come back with the engine's default group; a group of another
        # family cannot be attached, so only a replica on the desired major is compared.
        group = self.spec["parameter_group_name"]
        on_major = str((parse_version(replica.get("EngineVersion")) or (None,))[0]) == self.spec["major"]
        if on_major and self.plan.update("db_read_replica", name, {"parameter_group": current["parameter_group"]},
                                         {"parameter_group": group}, note=NOTE_GROUP.format(group)):
            kwargs["DBParameterGroupName"] = group
        if kwargs:
            with self.cm.doing("modifying the read replica " + name):
                replica = self.rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=self.spec["apply_immediately"],
                                                      **kwargs)["DBInstance"]
        self.reconcile_tags("db_read_replica", name, replica["DBInstanceArn"], tags, self.tags_for(name, "read-replica"))
        return replica

    def delete_replica(self, replica):
        name = replica["DBInstanceIdentifier"]
        if replica.get("DeletionProtection"):
            self.disable_deletion_protection("db_read_replica", name)
        if self.plan.delete("db_read_replica", name, {"arn": replica["DBInstanceArn"]}, note=NOTE_REPLICA_DELETE):
            with self.cm.doing("deleting the read replica " + name):
                # FinalDBSnapshotIdentifier "can't be specified when deleting a read replica" (DeleteDBInstance).
                self.rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
            return True
        return False

    @staticmethod
    def replica_summary(name, replica):
        if replica is None:
            return {"identifier": name, "arn": UNKNOWN, "endpoint": PLANNED_ENDPOINT, "instance_class": None, "status": UNKNOWN}
        endpoint = replica.get("Endpoint") or {}
        return {"identifier": name, "arn": replica.get("DBInstanceArn"),
                "endpoint": {"address": endpoint.get("Address"), "port": endpoint.get("Port")} if endpoint else None,
                "instance_class": replica.get("DBInstanceClass"), "status": replica.get("DBInstanceStatus")}

    # ---- parameter groups of older majors ----------------------------------------------------
    def prune_parameter_groups(self, instance, replicas):
        """Delete the stack's groups of other families once no instance uses them (after a major upgrade)."""
        if instance is None:
            return
        pending = (instance.get("PendingModifiedValues") or {}).get("EngineVersion")
        if pending or (parse_version(instance.get("EngineVersion")) or (None,))[0] != int(self.spec["major"]):
            return  # the upgrade has not happened yet: the old group is still needed
        in_use = {g["DBParameterGroupName"] for i in [instance] + list(self.current["replicas"].values())
                  for g in (i.get("DBParameterGroups") or [])}
        for name, entry in sorted(self.current["parameter_groups"].items()):
            if name == self.spec["parameter_group_name"] or name in in_use:
                continue
            if self.plan.delete("db_parameter_group", name, {"family": entry["group"].get("DBParameterGroupFamily")},
                                note="no instance uses it since the major version upgrade"):
                with self.cm.doing("deleting the DB parameter group " + name):
                    self.rds.delete_db_parameter_group(DBParameterGroupName=name)

    # ---- waits -------------------------------------------------------------------------------
    def wait_available(self, identifier):
        if self.check_mode or identifier in self.available:
            return
        with self.cm.doing("waiting for {0} to be available".format(identifier)):
            self.clock.waiter(self.rds, "db_instance_available", "DB instance {0} to be available".format(identifier),
                              delay=30, DBInstanceIdentifier=identifier)
        self.available.add(identifier)

    def wait_for_new_instances(self):
        if not self.spec["wait"]:
            return
        for identifier in self.new_instances:
            self.wait_available(identifier)

    def wait_deleted(self, identifiers):
        for identifier in identifiers:
            with self.cm.doing("waiting for {0} to be deleted".format(identifier)):
                self.clock.waiter(self.rds, "db_instance_deleted", "DB instance {0} to be deleted".format(identifier),
                                  delay=30, DBInstanceIdentifier=identifier)

    # ---- removal -------------------------------------------------------------------------------
    def absent(self):
        self.read()
        self.preflight()
        result = {}
        primary = self.current["primary"]
        replicas = [r for r in self.instances_to_delete() if r is not primary]
        for replica in replicas:
            self.delete_replica(replica)
        deleted = [r["DBInstanceIdentifier"] for r in replicas]
        waiting = self.spec["wait"] and not self.check_mode
        if deleted and primary is not None and waiting:
            # Deleting a source promotes the replicas it still has: let them go first.
            self.wait_deleted(deleted)
            deleted = []
        if primary is not None:
            snapshot = self.delete_primary(primary)
            if snapshot:
                result["final_snapshot_identifier"] = snapshot
            deleted.append(self.identifier)
        if deleted and not self.check_mode:
            if not waiting:
                self.warn("The DB subnet and parameter groups of {0} stay until its instances are gone; rerun with "
                          "state=absent then (wait is false).".format(self.identifier))
                result["waited_seconds"] = round(self.clock.waited, 1)
                return result
            # The groups can go only once no instance uses them.
            self.wait_deleted(deleted)
        for name in sorted(self.current["parameter_groups"]):
            if self.plan.delete("db_parameter_group", name, {"family": self.current["parameter_groups"][name]["group"].get("DBParameterGroupFamily")}):
                with self.cm.doing("deleting the DB parameter group " + name):
                    self.rds.delete_db_parameter_group(DBParameterGroupName=name)
        if self.current["subnet_group"] and self.plan.delete("db_subnet_group", self.spec["subnet_group_name"], {
                "vpc_id": self.current["subnet_group"]["group"].get("VpcId")}):
            with self.cm.doing("deleting the DB subnet group " + self.spec["subnet_group_name"]):
                self.rds.delete_db_subnet_group(DBSubnetGroupName=self.spec["subnet_group_name"])
        result["waited_seconds"] = round(self.clock.waited, 1)
        return result

    def disable_deletion_protection(self, resource_type, identifier):
        # Reached only with force_disable_deletion_protection (preflight refuses otherwise).
        if self.plan.update(resource_type, identifier, {"deletion_protection": True}, {"deletion_protection": False},
                            note="force_disable_deletion_protection is true"):
            with self.cm.doing("turning deletion protection off for " + identifier):
                self.rds.modify_db_instance(DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)

    def delete_primary(self, primary):
        identifier = self.identifier
        if primary.get("DeletionProtection"):
            self.disable_deletion_protection("db_instance", identifier)
        if primary.get("ReadReplicaSourceDBInstanceIdentifier"):
            if self.plan.delete("db_instance", identifier, {"arn": primary["DBInstanceArn"]}, note=NOTE_REPLICA_DELETE):
                with self.cm.doing("deleting the DB instance " + identifier):
                    self.rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
            return None
        snapshot = final_snapshot_identifier(identifier, datetime.datetime.now(datetime.timezone.utc))
        note = "final snapshot {0}; automated backups are kept for their retention period".format(snapshot)
        cross_region = [r for r in primary.get("ReadReplicaDBInstanceIdentifiers") or [] if r.startswith("arn:")]
        if cross_region:
            note += "; AWS promotes its cross-region replicas ({0}) to standalone instances".format(", ".join(cross_region))
        if self.plan.delete("db_instance", identifier, {"arn": primary["DBInstanceArn"]}, note=note):
            with self.cm.doing("deleting the DB instance {0} with the final snapshot {1}".format(identifier, snapshot)):
                self.rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=False,
                                            FinalDBSnapshotIdentifier=snapshot, DeleteAutomatedBackups=False)
        return snapshot

    # ---- result --------------------------------------------------------------------------------
    def result(self, instance, replicas, subnet_group, parameter_group):
        if self.spec["source"]:  # a replica has no credentials of its own (moto echoes the source's secret)
            secret_arn = None
        elif instance is not None:
            secret_arn = (instance.get("MasterUserSecret") or {}).get("SecretArn")
        else:
            secret_arn = UNKNOWN
        return {
            "db_instance": self.instance_summary(instance),
            "master_user_secret_arn": secret_arn,
            "read_replicas": replicas,
            "subnet_group": subnet_group,
            "parameter_group": parameter_group,
            "waited_seconds": round(self.clock.waited, 1),
        }

    def instance_summary(self, instance):
        if instance is None:
            return {"identifier": self.identifier, "arn": UNKNOWN, "status": UNKNOWN, "endpoint": PLANNED_ENDPOINT,
                    "engine_version": self.spec["engine_version"] if not self.spec["source"] else UNKNOWN,
                    "instance_class": self.spec["instance_class"], "multi_az": self.spec["multi_az"],
                    "allocated_storage": self.spec["allocated_storage"], "max_allocated_storage": self.spec["max_allocated_storage"],
                    "kms_key_id": self.keys.get(self.spec["kms_key_id"]) or UNKNOWN,
                    "parameter_group": self.spec["parameter_group_name"],
                    "read_replica_source": (self.spec["source"] or {}).get("arn"),
                    "pending_modified_values": {}, "pending_reboot": False}
        endpoint = instance.get("Endpoint") or {}
        groups = instance.get("DBParameterGroups") or []
        pending_reboot = any(g.get("ParameterApplyStatus") == "pending-reboot" for g in groups)
        if pending_reboot:
            self.warn("{0} has parameter changes waiting for a reboot (ParameterApplyStatus pending-reboot); reboot it in a "
                      "maintenance slot to apply them.".format(instance["DBInstanceIdentifier"]))
        return {
            "identifier": instance["DBInstanceIdentifier"],
            "arn": instance.get("DBInstanceArn"),
            "status": instance.get("DBInstanceStatus"),
            "endpoint": {"address": endpoint.get("Address"), "port": endpoint.get("Port")} if endpoint else None,
            "engine_version": instance.get("EngineVersion"),
            "instance_class": instance.get("DBInstanceClass"),
            "multi_az": instance.get("MultiAZ"),
            "allocated_storage": instance.get("AllocatedStorage"),
            "max_allocated_storage": instance.get("MaxAllocatedStorage"),
            "kms_key_id": instance.get("KmsKeyId"),
            "parameter_group": groups[0]["DBParameterGroupName"] if groups else None,
            "read_replica_source": instance.get("ReadReplicaSourceDBInstanceIdentifier"),
            "pending_modified_values": camel_dict_to_snake_dict(instance.get("PendingModifiedValues") or {}),
            "pending_reboot": pending_reboot,
        }


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        # The region comes from the options or the SDK chain, without an API call.
        spec = build_spec(cm.params, region=cm.connection.region)
        converger = RdsPostgresConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

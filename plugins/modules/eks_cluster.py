#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_cluster
short_description: Converge the EKS cluster (control plane) of one region stack
version_added: 0.1.0
description:
  - Creates, updates or deletes one EKS cluster with a plan of every change.
  - The control-plane log group C(/aws/eks/<name>/cluster) is converged (retention, KMS key, ownership tags) B(before)
    the cluster is created, so EKS never creates it unmanaged and without retention.
  - The cluster is created with a private API endpoint (always on) and an optional public endpoint limited to
    O(public_access_cidrs), every listed control-plane log type, Kubernetes secrets envelope-encrypted with
    O(encryption_key_arn), authentication through access entries (bootstrap cluster-creator admin off), and the
    ownership tags.
  - Later changes are C(UpdateClusterConfig) calls, one per aspect (subnets and security groups, endpoint access,
    logging, authentication mode), because EKS refuses several aspects in one call and runs one update at a time;
    C(AssociateEncryptionConfig) when secrets encryption is missing; C(UpdateClusterVersion) for an upgrade. Each
    update is waited for with C(DescribeUpdate) before the next one starts.
  - "Kubernetes version: the same version changes nothing; one minor above the cluster's is a planned upgrade
    (reported in RV(changes) with the field C(version)); two or more minors above, or any lower version, is an error.
    That check needs the cluster's current version, so the module reads the cluster once (C(DescribeCluster)) and
    fails before any write."
  - Access entries (STANDARD type) with Kubernetes groups, an optional username and EKS access policies at cluster or
    namespace scope are converged to O(access_entries).
  - O(state=absent) deletes the cluster only when it carries the stack's ownership tags, and only once it has no node
    groups or Fargate profiles left (those belong to M(cairn.platform.eks_nodegroups), which runs first on teardown);
    then its log group.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the cluster to these options; V(absent) deletes it when the stack owns it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The cluster name; 1 to 100 letters, digits, hyphens or underscores, starting with a letter or digit.
    type: str
    required: true
  kubernetes_version:
    description:
      - The Kubernetes version of the control plane, C(1.NN) (for example V(1.31)). Required when O(state=present).
      - Upgrades go one minor at a time; a skip of two minors or a downgrade is refused before any write.
      - Only a version EKS offers on the day of the run is accepted, from its release calendar (1.28 to 1.35 are known);
        one past its end of extended support, or one EKS does not offer, is refused before any call. A version in
        extended support (after its end of standard support) is accepted, but AWS bills the cluster extra per hour.
    type: str
  role_arn:
    description:
      - The IAM role EKS uses to manage the cluster. Required when O(state=present). It cannot change once created.
    type: str
  subnet_ids:
    description:
      - The subnets of the control plane's network interfaces, at least two in different zones. Required when
        O(state=present).
    type: list
    elements: str
  security_group_ids:
    description:
      - Extra security groups of the control plane's network interfaces (EKS adds its own cluster security group).
    type: list
    elements: str
    default: []
  endpoint_public_access:
    description:
      - Open the public API endpoint as well, limited to O(public_access_cidrs). The private endpoint is always on.
    type: bool
    default: false
  public_access_cidrs:
    description:
      - The IPv4 CIDR blocks allowed to reach the public endpoint. Required (non-empty) when
        O(endpoint_public_access=true); must be empty otherwise.
    type: list
    elements: str
    default: []
  logging:
    description:
      - Control-plane logging and its log group C(/aws/eks/<name>/cluster).
    type: dict
    default: {}
    suboptions:
      types:
        description:
          - The log types EKS sends; the others are turned off.
        type: list
        elements: str
        choices: [api, audit, authenticator, controllerManager, scheduler]
        default: [api, audit, authenticator, controllerManager, scheduler]
      retention_days:
        description:
          - Days CloudWatch Logs keeps the records; one of the values CloudWatch Logs accepts.
        type: int
        default: 90
      kms_key_id:
        description:
          - ARN of a KMS key that encrypts the log group.
        type: str
  encryption_key_arn:
    description:
      - ARN of the symmetric KMS key (in the cluster's region) that envelope-encrypts Kubernetes secrets. Required when
        O(state=present).
      - A cluster without secrets encryption gets it (C(AssociateEncryptionConfig)); EKS can neither remove it nor change
        the key, so a different key is an error.
    type: str
  authentication_mode:
    description:
      - How the cluster authenticates IAM principals. V(API) uses access entries only; V(API_AND_CONFIG_MAP) also
        honours the C(aws-auth) ConfigMap.
      - EKS changes the mode only towards V(API) (C(API_AND_CONFIG_MAP) to C(API)); the other way is refused.
    type: str
    choices: [API, API_AND_CONFIG_MAP]
    default: API
  access_entries:
    description:
      - The cluster's STANDARD access entries (cluster admins, the CI/CD deploy role, ...).
    type: list
    elements: dict
    default: []
    suboptions:
      principal_arn:
        description: ARN of the IAM role or user.
        type: str
        required: true
      kubernetes_groups:
        description:
          - Kubernetes groups the principal belongs to (bound by your own RBAC objects); compared as a set. Names may
            not start with C(system:).
        type: list
        elements: str
        default: []
      username:
        description:
          - The Kubernetes username. Unset leaves EKS's generated one alone. May not start with C(system:), C(eks:),
            C(aws:), C(amazon:) or C(iam:).
        type: str
      access_policies:
        description:
          - EKS access policies associated with the entry.
        type: list
        elements: dict
        default: []
        suboptions:
          policy:
            description:
              - An access policy name (for example V(AmazonEKSClusterAdminPolicy), V(AmazonEKSAdminPolicy),
                V(AmazonEKSEditPolicy), V(AmazonEKSViewPolicy)) or its full ARN
                C(arn:<partition>:eks::aws:cluster-access-policy/<name>).
            type: str
            required: true
          namespaces:
            description:
              - The namespaces the policy applies to; empty means the whole cluster. A name may end in C(*).
            type: list
            elements: str
            default: []
  purge_access_entries:
    description:
      - Delete STANDARD access entries that are not in O(access_entries). Entries EKS created for nodes and Fargate
        (types C(EC2_LINUX), C(EC2_WINDOWS), C(FARGATE_LINUX), C(EC2), C(HYBRID_LINUX), C(HYPERPOD_LINUX)) are never
        touched.
    type: bool
    default: true
  wait:
    description:
      - Wait for the cluster to be ACTIVE after a create, for the last update to finish, and (O(state=absent)) for the
        cluster to be gone before its log group is deleted.
      - Between two updates, and before writing access entries, the module always waits, because EKS runs one update at a
        time and accepts access entries only on an active cluster. Nothing waits when nothing changed, nor in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds all waits of one run may take together.
    type: int
    default: 1800
notes:
  - "Reads per run: C(DescribeCluster), the log group (C(DescribeLogGroups), C(ListTagsForResource)),
    C(ListAccessEntries) and, per entry, C(DescribeAccessEntry) and C(ListAssociatedAccessPolicies). A rerun with the
    same input makes no mutating call."
  - Cluster tags are converged with the O(tags)/O(purge_tags) contract; access entries are born with the ownership tags,
    their tags are not converged afterwards.
  - A version upgrade of the control plane comes before the node groups' (M(cairn.platform.eks_nodegroups)) and add-ons'
    (M(cairn.platform.eks_addons)), which the compute role runs after this module.
  - In check mode a teardown of a cluster that still has node groups or Fargate profiles plans the cluster's deletion
    (those are planned for deletion by M(cairn.platform.eks_nodegroups)); a real run refuses it until they are gone.
  - "Local emulator (moto 5.2.5) gaps: it has no route for C(DescribeUpdate), C(UpdateClusterVersion), access entries
    and access policies, answers C(UpdateClusterConfig) without an update, and reports no C(accessConfig),
    C(clusterSecurityGroupId) or C(vpcId). The project's emulator model (C(emulator/eks_fidelity.py)) answers those;
    botocore Stubber tests check every such request against the real EKS API model. When a cluster reports no
    C(accessConfig), its authentication mode is not compared."
seealso:
  - name: Amazon EKS access entries
    description: Access entries and access policies.
    link: https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html
  - name: Review access policy permissions
    description: The EKS access policies and what they allow.
    link: https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html
  - name: Update existing cluster to new Kubernetes version
    description: Why control-plane upgrades go one minor at a time.
    link: https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html
"""

EXAMPLES = r"""
- name: Converge the production cluster of us-east-1
  cairn.platform.eks_cluster:
    environment: prod
    stack: prod-us-east-1
    name: prod-us-east-1
    kubernetes_version: "1.31"
    role_arn: "{{ cairn_security.roles.eks_cluster.arn }}"
    subnet_ids: "{{ cairn_networking.private_subnet_ids }}"
    endpoint_public_access: true
    public_access_cidrs: [203.0.113.0/24]
    encryption_key_arn: "{{ cairn_security.keys.eks.arn }}"
    logging:
      retention_days: 365
    access_entries:
      - principal_arn: arn:aws:iam::123456789012:role/platform-admins
        access_policies:
          - policy: AmazonEKSClusterAdminPolicy
      - principal_arn: arn:aws:iam::123456789012:role/cicd-deploy
        kubernetes_groups: [deployers]
        access_policies:
          - policy: AmazonEKSEditPolicy
            namespaces: [apps, batch, cron]
  register: cluster

- name: Plan the upgrade to the next minor (check mode never writes)
  cairn.platform.eks_cluster:
    environment: prod
    stack: prod-us-east-1
    name: prod-us-east-1
    kubernetes_version: "1.32"
    role_arn: "{{ cairn_security.roles.eks_cluster.arn }}"
    subnet_ids: "{{ cairn_networking.private_subnet_ids }}"
    encryption_key_arn: "{{ cairn_security.keys.eks.arn }}"
  check_mode: true

- name: Delete the cluster (after eks_nodegroups removed its node groups and Fargate profiles)
  cairn.platform.eks_cluster:
    environment: dev
    stack: dev-us-east-1
    name: dev-us-east-1
    state: absent
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: eks_cluster
      resource: prod-us-east-1
      fields: {version: {before: "1.30", after: "1.31"}}
      note: UpdateClusterVersion 1.30 -> 1.31
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
cluster:
  description: The cluster as EKS reports it at the end of the run (values not known yet in check mode are
    C((known after apply))).
  returned: when state=present
  type: dict
  sample:
    name: prod-us-east-1
    arn: arn:aws:eks:us-east-1:123456789012:cluster/prod-us-east-1
    status: ACTIVE
    version: "1.31"
    platform_version: eks.12
    endpoint: https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com
    certificate_authority_data: LS0tLS1CRUdJTi...
    oidc_issuer: https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789
    cluster_security_group_id: sg-0123456789abcdef0
    vpc_id: vpc-0123456789abcdef0
access_entries:
  description: The cluster's access entries after the run (STANDARD ones as converged, and those EKS made for nodes).
  returned: when state=present
  type: list
  elements: dict
  sample:
    - principal_arn: arn:aws:iam::123456789012:role/platform-admins
      type: STANDARD
      kubernetes_groups: []
      username: arn:aws:sts::123456789012:assumed-role/platform-admins/{{SessionName}}
      access_policies:
        - {policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", namespaces: []}
log_group:
  description: The control-plane log group.
  returned: when state=present
  type: dict
  sample: {name: /aws/eks/prod-us-east-1/cluster, arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/prod-us-east-1/cluster"}
waited_seconds:
  description: Seconds spent waiting on EKS in this run.
  returned: always
  type: float
"""

import ipaddress
import re
import uuid

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.eks import check_cluster_name, check_kubernetes_version, kubernetes_minor
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import ROLE_ARN
from ansible_collections.cairn.platform.plugins.module_utils.logs import LogGroupConverger, check_retention_days
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import apply_tag_changes
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "eks"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# EKS access policies (aws eks list-access-policies; "Review access policy permissions" in the EKS User Guide).
ACCESS_POLICIES = (
    "AmazonAIOpsAssistantPolicy",
    "AmazonARCRegionSwitchScalingPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSSecretReaderPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterEventPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
)
STANDARD = "STANDARD"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str", required=True),
    kubernetes_version=dict(type="str"),
    role_arn=dict(type="str"),
    subnet_ids=dict(type="list", elements="str"),
    security_group_ids=dict(type="list", elements="str", default=[]),
    endpoint_public_access=dict(type="bool", default=False),
    public_access_cidrs=dict(type="list", elements="str", default=[]),
    logging=dict(
        type="dict",
        default={},
        options=dict(
            types=dict(type="list", elements="str", choices=LOG_TYPES, default=list(LOG_TYPES)),
            retention_days=dict(type="int", default=90),
            kms_key_id=dict(type="str", no_log=False),
        ),
    ),
    encryption_key_arn=dict(type="str", no_log=False),
    authentication_mode=dict(type="str", default="API", choices=["API", "API_AND_CONFIG_MAP"]),
    access_entries=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            principal_arn=dict(type="str", required=True),
            kubernetes_groups=dict(type="list", elements="str", default=[]),
            username=dict(type="str"),
            access_policies=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    policy=dict(type="str", required=True),
                    namespaces=dict(type="list", elements="str", default=[]),
                ),
            ),
        ),
    ),
    purge_access_entries=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks, version steps and the cluster updates (no API calls)
# ---------------------------------------------------------------------------------------------
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/-]+$")
_POLICY_ARN = re.compile(r"^arn:(aws[a-z-]*):eks::aws:cluster-access-policy/([A-Za-z0-9]+)$")
# A namespace name, or a prefix ending in * (EKS access scopes accept such wildcards).
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^[a-z0-9][-a-z0-9]*\*$")
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


def version_step(current, desired):
    """None when equal, 'upgrade' for one minor up; InputError (naming both) for a skip or a downgrade."""
    now, wanted = kubernetes_minor("the cluster's version", current), kubernetes_minor("kubernetes_version", desired)
    if now == wanted:
        return None
    if wanted == now + 1:
        return "upgrade"
    if wanted < now:
        raise InputError("kubernetes_version: the cluster runs {0}; EKS cannot downgrade to {1}. Nothing was changed.".format(current, desired))
    raise InputError(
        "kubernetes_version: the cluster runs {0}; EKS upgrades one minor at a time, so {1} (a skip of {2} minors) is refused. "
        "Set 1.{3} first, then {1}. Nothing was changed.".format(current, desired, wanted - now, now + 1))


def policy_arn(field, policy, partition):
    """A short access policy name or a full ARN -> the full ARN."""
    if policy in ACCESS_POLICIES:
        return "arn:{0}:eks::aws:cluster-access-policy/{1}".format(partition, policy)
    match = _POLICY_ARN.match(policy or "")
    if match:
        return policy
    raise InputError("{0}: {1!r} is not an EKS access policy; use one of {2} or a full ARN "
                     "arn:{3}:eks::aws:cluster-access-policy/<name>.".format(field, policy, ", ".join(ACCESS_POLICIES), partition))


def access_scope(namespaces):
    """The AccessScope of EKS: namespaces, or the whole cluster when none are listed."""
    if namespaces:
        return {"type": "namespace", "namespaces": sorted(namespaces)}
    return {"type": "cluster"}


def scope_namespaces(scope):
    """[] for cluster scope, else the sorted namespaces (how policies are compared and reported)."""
    if (scope or {}).get("type") == "namespace":
        return sorted(scope.get("namespaces") or [])
    return []


def build_access_entries(entries, partition):
    desired = {}
    for index, entry in enumerate(entries or []):
        field = "access_entries[{0}]".format(index)
        principal = entry.get("principal_arn")
        if not principal or not (_PRINCIPAL_ARN.match(principal) or is_unknown(principal)):
            raise InputError("{0}.principal_arn: {1!r} is not the ARN of an IAM role or user "
                             "(arn:aws:iam::<account>:role/<name>).".format(field, principal))
        if principal in desired:
            raise InputError("{0}.principal_arn: {1} is listed twice; list each principal once.".format(field, principal))
        groups = entry.get("kubernetes_groups") or []
        for group in groups:
            if not group or group.startswith("system:"):
                raise InputError("{0}.kubernetes_groups: {1!r} is not allowed; EKS refuses empty group names and names starting "
                                 "with system:.".format(field, group))
        if len(set(groups)) != len(groups):
            raise InputError("{0}.kubernetes_groups: a group is listed twice.".format(field))
        username = entry.get("username")
        if username is not None and (not username or username.startswith(RESERVED_USERNAME_PREFIXES)):
            raise InputError("{0}.username: {1!r} is not allowed; it may not be empty nor start with {2}.".format(
                field, username, ", ".join(RESERVED_USERNAME_PREFIXES)))
        policies = {}
        for number, association in enumerate(entry.get("access_policies") or []):
            policy_field = "{0}.access_policies[{1}]".format(field, number)
            arn = policy_arn(policy_field + ".policy", association.get("policy"), partition)
            if arn in policies:
                raise InputError("{0}.policy: {1} is listed twice for {2}; list each policy once with all its "
                                 "namespaces.".format(policy_field, association.get("policy"), principal))
            namespaces = association.get("namespaces") or []
            for namespace in namespaces:
                if not namespace or len(namespace) > 63 or not _NAMESPACE.match(namespace):
                    raise InputError("{0}.namespaces: {1!r} is not a Kubernetes namespace name (lowercase letters, digits and "
                                     "hyphens, at most 63, optionally ending in *).".format(policy_field, namespace))
            if len(set(namespaces)) != len(namespaces):
                raise InputError("{0}.namespaces: a namespace is listed twice.".format(policy_field))
            policies[arn] = sorted(namespaces)
        desired[principal] = {"kubernetes_groups": sorted(groups), "username": username, "access_policies": policies}
    return desired


def check_cidrs(cidrs):
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise InputError("public_access_cidrs: {0!r} is not a CIDR block ({1}).".format(cidr, exc))
        if network.version != 4:
            raise InputError("public_access_cidrs: {0!r} is not IPv4; the EKS public endpoint takes IPv4 CIDR blocks.".format(cidr))
    if len(set(cidrs)) != len(cidrs):
        raise InputError("public_access_cidrs: a CIDR block is listed twice.")
    return sorted(cidrs)


def build_spec(params, partition="aws"):
    """All checks that need no API call, in the order a person reads the options."""
    name = check_cluster_name("name", params["name"])
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    logging = dict(params.get("logging") or {})
    for key, option in ARGUMENT_SPEC["logging"]["options"].items():
        if logging.get(key) is None and "default" in option:
            logging[key] = list(option["default"]) if isinstance(option["default"], list) else option["default"]
    spec = {"state": params["state"], "name": name, "wait": params["wait"], "wait_timeout": params["wait_timeout"],
            "log_group_name": "/aws/eks/{0}/cluster".format(name)}
    if params["state"] == "absent":
        return spec
    unknown = [log_type for log_type in logging["types"] if log_type not in LOG_TYPES]
    if unknown:
        raise InputError("logging.types: {0} {1} not an EKS log type; choose from {2}.".format(
            ", ".join(repr(t) for t in unknown), "is" if len(unknown) == 1 else "are", ", ".join(LOG_TYPES)))
    if len(set(logging["types"])) != len(logging["types"]):
        raise InputError("logging.types: a log type is listed twice.")
    check_retention_days("logging.retention_days", logging["retention_days"])
    version = params.get("kubernetes_version")
    if not version:
        raise InputError("kubernetes_version: required when state=present (for example \"1.31\").")
    check_kubernetes_version("kubernetes_version", version)
    role_arn = params.get("role_arn")
    if not role_arn:
        raise InputError("role_arn: required when state=present; give the ARN of the EKS cluster role.")
    if not (ROLE_ARN.match(role_arn) or is_unknown(role_arn)):
        raise InputError("role_arn: {0!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).".format(role_arn))
    subnet_ids = params.get("subnet_ids") or []
    if len(subnet_ids) < 2:
        raise InputError("subnet_ids: EKS needs at least two subnets in different availability zones; got {0}.".format(len(subnet_ids)))
    known_subnets = [subnet for subnet in subnet_ids if not is_unknown(subnet)]  # new subnets are only planned
    if len(set(known_subnets)) != len(known_subnets):
        raise InputError("subnet_ids: a subnet is listed twice.")
    security_group_ids = params.get("security_group_ids") or []
    if len(set(security_group_ids)) != len(security_group_ids):
        raise InputError("security_group_ids: a security group is listed twice.")
    cidrs = params.get("public_access_cidrs") or []
    if params["endpoint_public_access"]:
        if not cidrs:
            raise InputError("public_access_cidrs: required when endpoint_public_access is true; list the CIDR blocks allowed "
                             "to reach the public endpoint (EKS would otherwise open it to 0.0.0.0/0).")
    elif cidrs:
        raise InputError("public_access_cidrs: given while endpoint_public_access is false; turn the public endpoint on or "
                         "leave the list empty.")
    cidrs = check_cidrs(cidrs)
    key_arn = params.get("encryption_key_arn")
    if not key_arn:
        raise InputError("encryption_key_arn: required when state=present; Kubernetes secrets are envelope-encrypted with this "
                         "KMS key.")
    if not (_KMS_KEY_ARN.match(key_arn) or is_unknown(key_arn)):
        raise InputError("encryption_key_arn: {0!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>).".format(key_arn))
    spec.update(
        version=version,
        role_arn=role_arn,
        subnet_ids=sorted(subnet_ids),
        security_group_ids=sorted(security_group_ids),
        endpoint_public_access=params["endpoint_public_access"],
        public_access_cidrs=cidrs,
        log_types=sorted(logging["types"]),
        retention_days=logging["retention_days"],
        log_kms_key_id=logging.get("kms_key_id"),
        encryption_key_arn=key_arn,
        authentication_mode=params["authentication_mode"],
        access_entries=build_access_entries(params.get("access_entries"), partition),
        purge_access_entries=params["purge_access_entries"],
    )
    return spec


def enabled_log_types(cluster):
    types = set()
    for setting in (cluster.get("logging") or {}).get("clusterLogging", []):
        if setting.get("enabled"):
            types.update(setting.get("types") or [])
    return sorted(types)


def encryption_key(cluster):
    for config in cluster.get("encryptionConfig") or []:
        if "secrets" in (config.get("resources") or []):
            return (config.get("provider") or {}).get("keyArn")
    return None


def current_settings(cluster):
    """The settings of a described cluster, in the shape of desired_settings()."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    public = bool(vpc.get("endpointPublicAccess"))
    current = {
        "version": cluster.get("version"),
        "role_arn": cluster.get("roleArn"),
        "subnet_ids": sorted(vpc.get("subnetIds") or []),
        "security_group_ids": sorted(vpc.get("securityGroupIds") or []),
        "endpoint_private_access": bool(vpc.get("endpointPrivateAccess")),
        "endpoint_public_access": public,
        # With the public endpoint off EKS still reports 0.0.0.0/0; the list means nothing then.
        "public_access_cidrs": sorted(vpc.get("publicAccessCidrs") or []) if public else [],
        "log_types": enabled_log_types(cluster),
        "encryption_key_arn": encryption_key(cluster),
    }
    mode = (cluster.get("accessConfig") or {}).get("authenticationMode")
    if mode:
        current["authentication_mode"] = mode
    return current


def desired_settings(spec):
    return {
        "version": spec["version"],
        "role_arn": spec["role_arn"],
        "subnet_ids": spec["subnet_ids"],
        "security_group_ids": spec["security_group_ids"],
        "endpoint_private_access": True,
        "endpoint_public_access": spec["endpoint_public_access"],
        "public_access_cidrs": spec["public_access_cidrs"],
        "log_types": spec["log_types"],
        "encryption_key_arn": spec["encryption_key_arn"],
        "authentication_mode": spec["authentication_mode"],
    }


def refusals(current, desired):
    """Reasons the cluster cannot become `desired` in place; checked before any write."""
    reasons = []
    if current["role_arn"] != desired["role_arn"]:
        reasons.append("role_arn: the cluster uses {0}; EKS cannot change a cluster's role (asked for {1})".format(
            current["role_arn"], desired["role_arn"]))
    key = current["encryption_key_arn"]
    if key and key != desired["encryption_key_arn"]:
        reasons.append("encryption_key_arn: secrets are encrypted with {0}; EKS can neither change nor remove that key "
                       "(asked for {1})".format(key, desired["encryption_key_arn"]))
    mode = current.get("authentication_mode")
    if mode and mode != desired["authentication_mode"] and not (mode == "CONFIG_MAP" or desired["authentication_mode"] == "API"):
        reasons.append("authentication_mode: the cluster uses {0}; EKS changes the mode only towards API (CONFIG_MAP -> "
                       "API_AND_CONFIG_MAP -> API), not to {1}".format(mode, desired["authentication_mode"]))
    return reasons


def logging_request(types):
    """UpdateClusterConfig logging: the listed types on, all others off."""
    settings = [{"types": list(types), "enabled": True}] if types else []
    off = [log_type for log_type in LOG_TYPES if log_type not in types]
    if off:
        settings.append({"types": off, "enabled": False})
    return {"clusterLogging": settings}


def cluster_updates(current, desired):
    """[(aspect, fields, operation, kwargs)] of the updates that take `current` to `desired`, in the order they run.

    One aspect per call: EKS refuses an UpdateClusterConfig that changes several aspects at once.
    """
    def differs(*keys):
        return any(key in current and current[key] != desired[key] for key in keys)

    def fields(*keys):
        return [key for key in keys if key in current and current[key] != desired[key]]

    updates = []
    if differs("subnet_ids", "security_group_ids"):
        updates.append(("subnets", fields("subnet_ids", "security_group_ids"), "update_cluster_config",
                        {"resourcesVpcConfig": {"subnetIds": desired["subnet_ids"], "securityGroupIds": desired["security_group_ids"]}}))
    if differs("endpoint_private_access", "endpoint_public_access", "public_access_cidrs"):
        vpc = {"endpointPrivateAccess": True, "endpointPublicAccess": desired["endpoint_public_access"]}
        if desired["endpoint_public_access"]:
            vpc["publicAccessCidrs"] = desired["public_access_cidrs"]
        updates.append(("endpoint_access", fields("endpoint_private_access", "endpoint_public_access", "public_access_cidrs"),
                        "update_cluster_config", {"resourcesVpcConfig": vpc}))
    if differs("log_types"):
        updates.append(("logging", ["log_types"], "update_cluster_config", {"logging": logging_request(desired["log_types"])}))
    if current.get("encryption_key_arn") is None:
        updates.append(("encryption", ["encryption_key_arn"], "associate_encryption_config",
                        {"encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": desired["encryption_key_arn"]}}]}))
    if differs("authentication_mode"):
        updates.append(("authentication_mode", ["authentication_mode"], "update_cluster_config",
                        {"accessConfig": {"authenticationMode": desired["authentication_mode"]}}))
    if current["version"] != desired["version"]:
        updates.append(("version", ["version"], "update_cluster_version", {"version": desired["version"]}))
    return updates


def entry_state(entry, policies):
    """An access entry as the module compares it: groups as a set, policies as {arn: namespaces}."""
    return {
        "kubernetes_groups": sorted(set(entry.get("kubernetesGroups") or [])),
        "username": entry.get("username"),
        "access_policies": {p["policyArn"]: scope_namespaces(p.get("accessScope")) for p in policies},
    }


def entry_changes(current, desired):
    """(update_entry, associate {arn: namespaces}, disassociate [arn]) taking `current` to `desired`."""
    update = current["kubernetes_groups"] != desired["kubernetes_groups"] or (
        desired["username"] is not None and current["username"] != desired["username"])
    associate = {arn: namespaces for arn, namespaces in desired["access_policies"].items()
                 if current["access_policies"].get(arn) != namespaces}
    disassociate = sorted(arn for arn in current["access_policies"] if arn not in desired["access_policies"])
    return update, associate, disassociate


def comparable(current, desired):
    """`current` with the username left out when the user leaves it to EKS."""
    if desired["username"] is None:
        return dict(current, username=None)
    return current


class ClusterConverger:
    """Reads the cluster once, refuses what EKS cannot do in place, then converges one aspect per update."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.name = spec["name"]
        self.owner = cm.ownership()
        self.eks = cm.client("eks")
        self.clock = WaitClock(spec["wait_timeout"])
        self.check_mode = cm.check_mode
        self.log_groups = LogGroupConverger(cm, self.owner, self.plan)
        self.cluster = None
        self.writes = 0
        self.pending_update = None  # id of the last update EKS has not finished
        self.update_delay = 15
        self.entries = {}  # principal ARN -> (describe answer, associated policies)
        self.entries_read = False

    # ---- reads ---------------------------------------------------------------------------
    def describe_cluster(self):
        with self.cm.doing("reading EKS cluster " + self.name):
            try:
                cluster = self.eks.describe_cluster(name=self.name)["cluster"]
            except Exception as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                return None
        arn = cluster.get("arn") or ""
        if arn.count(":") >= 5:
            self.cm.remember_account_id(arn.split(":")[4])
        return cluster

    def read_access_entries(self, principals):
        """Describe each entry and its policies; `principals` are the ARNs ListAccessEntries returned."""
        for principal in principals:
            with self.cm.doing("reading access entry {0} of cluster {1}".format(principal, self.name)):
                entry = self.eks.describe_access_entry(clusterName=self.name, principalArn=principal)["accessEntry"]
                policies = []
                if entry.get("type", STANDARD) == STANDARD:
                    policies = paginate(self.eks, "list_associated_access_policies", "associatedAccessPolicies",
                                        clusterName=self.name, principalArn=principal)
            self.entries[principal] = (entry, policies)
        self.entries_read = True

    def list_access_entries(self):
        with self.cm.doing("listing the access entries of cluster " + self.name):
            return paginate(self.eks, "list_access_entries", "accessEntries", clusterName=self.name)

    # ---- waits ---------------------------------------------------------------------------
    def wait_update(self, update_id, what):
        def probe():
            with self.cm.doing("reading update {0} of cluster {1}".format(update_id, self.name)):
                update = self.eks.describe_update(name=self.name, updateId=update_id)["update"]
            status = update.get("status")
            if status == "Successful":
                return update
            if status in ("Failed", "Cancelled"):
                errors = "; ".join("{0}: {1}".format(e.get("errorCode"), e.get("errorMessage")) for e in update.get("errors") or [])
                raise CairnError("EKS reports update {0} ({1}) of cluster {2} as {3}{4}.".format(
                    update_id, what, self.name, status, ": " + errors if errors else ""), update_id=update_id)
            return None
        self.clock.poll(probe, "{0} of cluster {1} (update {2})".format(what, self.name, update_id), delay=self.update_delay)

    def settle(self):
        """Wait until EKS accepts the next write: the last update finished, the cluster ACTIVE."""
        if self.check_mode:
            return
        if self.pending_update:
            update_id, what = self.pending_update
            self.wait_update(update_id, what)
            self.pending_update = None
        elif (self.cluster or {}).get("status") != "ACTIVE":
            self.clock.waiter(self.eks, "cluster_active", "cluster {0} to be ACTIVE".format(self.name), delay=15, name=self.name)
        if self.cluster is not None:
            self.cluster["status"] = "ACTIVE"

    # ---- present -------------------------------------------------------------------------
    def preflight(self):
        """Refuse, before any write, a cluster we do not own and changes EKS cannot make."""
        cluster = self.cluster
        if cluster is not None:
            self.refuse_cluster_changes(cluster)
        self.log_groups.check_owned(self.spec["log_group_name"], field="logging")

    def refuse_cluster_changes(self, cluster):
        if not self.owner.owns(cluster.get("tags")):
            raise CairnError("name: EKS cluster {0} exists but does not carry the ownership tags of stack {1}; cairn.platform "
                             "never takes over a cluster it does not own. Choose another name or tag it by hand to adopt "
                             "it.".format(self.name, self.owner.stack))
        status = cluster.get("status")
        if status in ("DELETING", "FAILED"):
            raise CairnError("name: EKS cluster {0} is {1}; wait until it is gone (or delete it) before converging it "
                             "again.".format(self.name, status))
        # Raises InputError for a skip or a downgrade: one read, zero writes.
        version_step(cluster.get("version"), self.spec["version"])
        reasons = refusals(current_settings(cluster), desired_settings(self.spec))
        if reasons:
            raise CairnError("EKS cluster {0} cannot become what was asked: {1}. Nothing was changed.".format(self.name, "; ".join(reasons)))

    def present(self):
        self.cluster = self.describe_cluster()
        self.preflight()
        spec = self.spec
        log_group_arn = self.log_groups.ensure(spec["log_group_name"], spec["retention_days"], kms_key_id=spec["log_kms_key_id"],
                                               tags=self.desired_tags(), field="logging")
        if self.cluster is None:
            self.create_cluster()
            current_entries = {}
        else:
            self.update_cluster()
            self.reconcile_tags()
            self.read_access_entries(self.list_access_entries())
            current_entries = self.entries
        self.converge_access_entries(current_entries)
        if self.writes and spec["wait"]:
            self.settle()
        if self.writes and not self.check_mode:
            self.cluster = self.describe_cluster()
            self.entries = {}
            self.entries_read = False
            if self.cluster.get("status") == "ACTIVE":
                self.read_access_entries(self.list_access_entries())
        return {"cluster": self.cluster_result(), "access_entries": self.entries_result(),
                "log_group": {"name": spec["log_group_name"], "arn": log_group_arn},
                "waited_seconds": round(self.clock.waited, 1)}

    def desired_tags(self):
        return self.owner.desired_tags(name=self.name)

    def create_cluster(self):
        spec = self.spec
        desired = desired_settings(spec)
        desired.pop("endpoint_private_access")
        if not self.plan.create("eks_cluster", self.name, dict(desired, endpoint_private_access=True, tags=self.desired_tags()),
                                note="CreateCluster (takes about 10 minutes)"):
            return
        vpc = {"subnetIds": spec["subnet_ids"], "securityGroupIds": spec["security_group_ids"], "endpointPrivateAccess": True,
               "endpointPublicAccess": spec["endpoint_public_access"]}
        if spec["endpoint_public_access"]:
            vpc["publicAccessCidrs"] = spec["public_access_cidrs"]
        with self.cm.doing("creating EKS cluster " + self.name):
            self.cluster = self.eks.create_cluster(
                name=self.name, version=spec["version"], roleArn=spec["role_arn"], resourcesVpcConfig=vpc,
                logging=logging_request(spec["log_types"]),
                encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": spec["encryption_key_arn"]}}],
                accessConfig={"authenticationMode": spec["authentication_mode"], "bootstrapClusterCreatorAdminPermissions": False},
                tags=self.desired_tags(), clientRequestToken=str(uuid.uuid4()))["cluster"]
        self.writes += 1

    def update_cluster(self):
        current, desired = current_settings(self.cluster), desired_settings(self.spec)
        if self.cluster.get("status") != "ACTIVE" and cluster_updates(current, desired) and not self.check_mode:
            # An update of an earlier run (wait=false) is still running: plan from what it leaves behind.
            self.settle()
            self.cluster = self.describe_cluster()
            self.refuse_cluster_changes(self.cluster)
            current = current_settings(self.cluster)
        for aspect, fields, operation, kwargs in cluster_updates(current, desired):
            before = {field: current.get(field) for field in fields}
            after = {field: desired[field] for field in fields}
            if aspect == "version":
                note = "UpdateClusterVersion {0} -> {1}; node groups and add-ons follow".format(current["version"], desired["version"])
            elif aspect == "encryption":
                note = "AssociateEncryptionConfig: secrets envelope encryption (cannot be removed later)"
            else:
                note = "UpdateClusterConfig ({0})".format(aspect.replace("_", " "))
            if not self.plan.update("eks_cluster", self.name, before, after, note=note):
                continue
            self.settle()
            what = "the {0} update".format(aspect.replace("_", " "))
            with self.cm.doing("updating {0} of EKS cluster {1}".format(aspect.replace("_", " "), self.name)):
                if operation == "associate_encryption_config":
                    answer = self.eks.associate_encryption_config(clusterName=self.name, clientRequestToken=str(uuid.uuid4()), **kwargs)
                else:
                    answer = getattr(self.eks, operation)(name=self.name, clientRequestToken=str(uuid.uuid4()), **kwargs)
            self.writes += 1
            update_id = (answer.get("update") or {}).get("id")
            # Without an update id only the cluster status tells when EKS is done.
            self.pending_update = (update_id, what) if update_id else None
            self.cluster["status"] = "UPDATING"

    def reconcile_tags(self):
        arn = self.cluster["arn"]
        apply_tag_changes(
            self.cm, self.plan, self.owner, "eks_cluster", self.name, self.cluster.get("tags") or {}, self.desired_tags(),
            action="tagging EKS cluster " + self.name,
            add=lambda to_set: self.eks.tag_resource(resourceArn=arn, tags=to_set),
            remove=lambda to_remove: self.eks.untag_resource(resourceArn=arn, tagKeys=to_remove))

    # ---- access entries ------------------------------------------------------------------
    def converge_access_entries(self, current_entries):
        desired_entries = self.spec["access_entries"]
        for principal, desired in sorted(desired_entries.items()):
            if principal in current_entries:
                entry, policies = current_entries[principal]
                if entry.get("type", STANDARD) != STANDARD:
                    raise CairnError("access_entries: {0} already has an access entry of type {1}, made by EKS for nodes or "
                                     "Fargate; use another principal.".format(principal, entry.get("type")))
                self.update_entry(principal, entry_state(entry, policies), desired)
            else:
                self.create_entry(principal, desired)
        if not self.spec["purge_access_entries"]:
            return
        for principal, (entry, policies) in sorted(current_entries.items()):
            if principal in desired_entries or entry.get("type", STANDARD) != STANDARD:
                continue
            if self.plan.delete("eks_access_entry", principal, entry_state(entry, policies), note="not in access_entries"):
                self.before_entry_write()
                with self.cm.doing("deleting access entry {0} of cluster {1}".format(principal, self.name)):
                    self.eks.delete_access_entry(clusterName=self.name, principalArn=principal)
                self.writes += 1

    def before_entry_write(self):
        """Access entries need an ACTIVE cluster; a pending update or create is waited for first."""
        if self.pending_update or (self.cluster or {}).get("status") != "ACTIVE":
            self.settle()

    def associate(self, principal, associations):
        for arn, namespaces in sorted(associations.items()):
            with self.cm.doing("associating access policy {0} with {1} on cluster {2}".format(arn.rsplit("/", 1)[-1], principal, self.name)):
                self.eks.associate_access_policy(clusterName=self.name, principalArn=principal, policyArn=arn,
                                                 accessScope=access_scope(namespaces))
            self.writes += 1

    def create_entry(self, principal, desired):
        if not self.plan.create("eks_access_entry", principal, dict(desired, type=STANDARD)):
            return
        self.before_entry_write()
        kwargs = {"clusterName": self.name, "principalArn": principal, "type": STANDARD, "tags": self.desired_tags(),
                  "kubernetesGroups": desired["kubernetes_groups"], "clientRequestToken": str(uuid.uuid4())}
        if desired["username"] is not None:
            kwargs["username"] = desired["username"]
        with self.cm.doing("creating access entry {0} of cluster {1}".format(principal, self.name)):
            self.eks.create_access_entry(**kwargs)
        self.writes += 1
        self.associate(principal, desired["access_policies"])

    def update_entry(self, principal, current, desired):
        update, associate, disassociate = entry_changes(current, desired)
        if not self.plan.update("eks_access_entry", principal, comparable(current, desired), desired):
            return
        self.before_entry_write()
        if update:
            kwargs = {"clusterName": self.name, "principalArn": principal, "kubernetesGroups": desired["kubernetes_groups"],
                      "clientRequestToken": str(uuid.uuid4())}
            if desired["username"] is not None:
                kwargs["username"] = desired["username"]
            with self.cm.doing("updating access entry {0} of cluster {1}".format(principal, self.name)):
                self.eks.update_access_entry(**kwargs)
            self.writes += 1
        # Associating a policy again replaces its scope.
        self.associate(principal, associate)
        for arn in disassociate:
            with self.cm.doing("disassociating access policy {0} from {1} on cluster {2}".format(arn.rsplit("/", 1)[-1], principal, self.name)):
                self.eks.disassociate_access_policy(clusterName=self.name, principalArn=principal, policyArn=arn)
            self.writes += 1

    # ---- absent --------------------------------------------------------------------------
    def absent(self):
        self.cluster = self.describe_cluster()
        if self.cluster is not None and not self.owner.owns(self.cluster.get("tags")):
            self.cm.module.warn("EKS cluster {0} does not carry the ownership tags of stack {1}; it was left alone.".format(
                self.name, self.owner.stack))
            return {"waited_seconds": 0.0}
        if self.cluster is not None and self.cluster.get("status") != "DELETING":
            with self.cm.doing("listing the node groups and Fargate profiles of cluster " + self.name):
                node_groups = paginate(self.eks, "list_nodegroups", "nodegroups", clusterName=self.name)
                profiles = paginate(self.eks, "list_fargate_profiles", "fargateProfileNames", clusterName=self.name)
            note = None
            if node_groups or profiles:
                dependents = "node groups {0}".format(", ".join(node_groups)) if node_groups else ""
                if profiles:
                    dependents += "{0}Fargate profiles {1}".format(" and " if dependents else "", ", ".join(profiles))
                if not self.check_mode:
                    raise CairnError("EKS cluster {0} still has {1}; delete them first with cairn.platform.eks_nodegroups "
                                     "(state=absent), which runs before eks_cluster on teardown. Nothing was "
                                     "changed.".format(self.name, dependents))
                note = "after its {0} are deleted (planned by eks_nodegroups)".format(dependents)
            if self.plan.delete("eks_cluster", self.name, {"arn": self.cluster["arn"], "version": self.cluster.get("version")}, note=note):
                with self.cm.doing("deleting EKS cluster " + self.name):
                    self.eks.delete_cluster(name=self.name)
                self.writes += 1
        if self.cluster is not None and self.spec["wait"] and not self.check_mode:
            self.clock.waiter(self.eks, "cluster_deleted", "the deletion of cluster " + self.name, delay=30, name=self.name)
        # EKS writes its logs there until the cluster is gone.
        self.log_groups.delete(self.spec["log_group_name"])
        return {"waited_seconds": round(self.clock.waited, 1)}

    # ---- result --------------------------------------------------------------------------
    def cluster_result(self):
        cluster = self.cluster
        if cluster is None:  # check mode before creation
            return {"name": self.name, "arn": UNKNOWN, "status": UNKNOWN, "version": self.spec["version"], "platform_version": UNKNOWN,
                    "endpoint": UNKNOWN, "certificate_authority_data": UNKNOWN, "oidc_issuer": UNKNOWN,
                    "cluster_security_group_id": UNKNOWN, "vpc_id": UNKNOWN}
        vpc = cluster.get("resourcesVpcConfig") or {}
        return {
            "name": cluster.get("name"), "arn": cluster.get("arn"), "status": cluster.get("status"), "version": cluster.get("version"),
            "platform_version": cluster.get("platformVersion"), "endpoint": cluster.get("endpoint"),
            "certificate_authority_data": (cluster.get("certificateAuthority") or {}).get("data"),
            "oidc_issuer": ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer"),
            "cluster_security_group_id": vpc.get("clusterSecurityGroupId"), "vpc_id": vpc.get("vpcId"),
        }

    def entries_result(self):
        if self.check_mode or not self.entries_read:
            # What the entries will be: the desired ones, plus EKS's own that are never touched.
            result = [{"principal_arn": principal, "type": STANDARD, "kubernetes_groups": desired["kubernetes_groups"],
                       "username": desired["username"],
                       "access_policies": [{"policy_arn": arn, "namespaces": namespaces}
                                           for arn, namespaces in sorted(desired["access_policies"].items())]}
                      for principal, desired in sorted(self.spec["access_entries"].items())]
            kept = {principal for principal, (entry, dummy) in self.entries.items()
                    if entry.get("type", STANDARD) != STANDARD or not self.spec["purge_access_entries"]}
            result += [self.entry_result(principal) for principal in sorted(kept - set(self.spec["access_entries"]))]
            return sorted(result, key=lambda entry: entry["principal_arn"])
        return [self.entry_result(principal) for principal in sorted(self.entries)]

    def entry_result(self, principal):
        entry, policies = self.entries[principal]
        return {"principal_arn": principal, "type": entry.get("type", STANDARD),
                "kubernetes_groups": sorted(entry.get("kubernetesGroups") or []), "username": entry.get("username"),
                "access_policies": sorted(({"policy_arn": p["policyArn"], "namespaces": scope_namespaces(p.get("accessScope"))}
                                           for p in policies), key=lambda p: p["policy_arn"])}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.partition() if cm.params["state"] == "present" else "aws")
        converger = ClusterConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_nodegroups
short_description: Converge the managed node groups and Fargate profiles of one EKS cluster
version_added: 0.1.0
description:
  - Creates, updates or deletes the EKS managed node groups and Fargate profiles of one region stack's cluster as
    one unit, with a plan of every change.
  - Node groups, typically an V(ON_DEMAND) system group and V(SPOT) application groups with several instance types,
    get their scaling limits, Kubernetes labels, taints, update configuration and Kubernetes version. Labels, taints,
    the minimum and maximum size and the update configuration change in place (C(UpdateNodegroupConfig)); a node
    version behind the control plane is upgraded (C(UpdateNodegroupVersion), a rolling replacement of the nodes
    bounded by the update configuration). Each update is waited for with C(DescribeUpdate).
  - The desired size is set when a node group is created and then left to the cluster autoscaler. A rerun never resets
    it; only when a new minimum or maximum excludes the live desired size is it moved to the nearest limit, and that
    is reported.
  - What EKS cannot change in place (capacity type, instance types, AMI type, disk size, subnets, node role) is refused
    with an error before any write that names a new node group to create instead (blue/green); a node group is never
    replaced silently.
  - Fargate profiles cannot change at all; a profile whose selectors, pod execution role or subnets differ is deleted
    and created again (both planned). EKS accepts one Fargate profile operation per cluster at a time, so they run one
    after the other, each waited for.
  - O(purge=true) deletes this stack's node groups and profiles that are no longer listed. O(state=absent) deletes all of
    them and waits until they are gone, so that M(cairn.platform.eks_cluster) can delete the cluster next.
  - Ownership is judged by the tags EKS reports back for each node group and profile; those without this stack's
    ownership tags are never changed or deleted (a listed name that exists without them is refused).
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the node groups and profiles to these options; V(absent) deletes what the stack owns.
    type: str
    choices: [present, absent]
    default: present
  cluster_name:
    description:
      - The EKS cluster, created before by M(cairn.platform.eks_cluster).
    type: str
    required: true
  kubernetes_version:
    description:
      - The control plane's Kubernetes version, C(major.minor) such as V(1.31). Required when O(state=present).
      - Node groups default to it and may never be above it. A real run also refuses node versions above the version
        the control plane runs now (upgrade the cluster first); check mode plans them, since the cluster's own task
        may have planned that upgrade.
      - Only a version EKS offers on the day of the run is accepted, from its release calendar (1.28 to 1.35 are known);
        one past its end of extended support, or one EKS does not offer, is refused before any call. A version in
        extended support (after its end of standard support) is accepted, but AWS bills the cluster extra per hour.
      - The same holds for O(node_groups[].version).
    type: str
  node_role_arn:
    description:
      - The IAM role of the nodes (with C(AmazonEKSWorkerNodePolicy), C(AmazonEC2ContainerRegistryReadOnly) and the
        CNI policy). Required when O(node_groups) is not empty. Cannot change on an existing node group.
    type: str
  subnet_ids:
    description:
      - The private subnets nodes and Fargate pods run in, unless a node group or profile names its own.
    type: list
    elements: str
    default: []
  node_groups:
    description:
      - The managed node groups of the stack.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The node group's name, 1 to 63 letters, digits, C(-) or C(_), starting with a letter or digit.
        type: str
        required: true
      capacity_type:
        description:
          - V(ON_DEMAND) or V(SPOT). Spot groups should list at least two instance types (the module warns otherwise),
            so that EKS can fall back when one Spot pool runs dry.
        type: str
        choices: [ON_DEMAND, SPOT]
        default: ON_DEMAND
      instance_types:
        description: The EC2 instance types, for example V([m6i.large, m5.large]). Cannot change once created.
        type: list
        elements: str
        required: true
      ami_type:
        description: The EKS AMI type. Cannot change once created.
        type: str
        default: AL2023_x86_64_STANDARD
      disk_size:
        description: The root volume size in GiB. Cannot change once created.
        type: int
        default: 50
      min_size:
        description: The fewest nodes, 0 or more.
        type: int
        required: true
      max_size:
        description: The most nodes, 1 to 450 (the EKS limit per managed node group) and not below O(node_groups[].min_size).
        type: int
        required: true
      desired_size:
        description:
          - The nodes to start with, between min and max. Defaults to O(node_groups[].min_size).
          - Used when the node group is created only; afterwards the cluster autoscaler owns it.
        type: int
      labels:
        description:
          - Kubernetes labels of the nodes. Labels set on the node group before and not listed are removed.
          - Keys are Kubernetes label keys (an optional DNS prefix and C(/), then a name) of at most 63 characters
            in total; values 1 to 63 characters.
        type: dict
        default: {}
      taints:
        description: Kubernetes taints of the nodes. Taints set before and not listed are removed.
        type: list
        elements: dict
        default: []
        suboptions:
          key:
            description: The taint's key (label-key rules, at most 63 characters).
            type: str
            required: true
          value:
            description: The taint's value, 0 to 63 characters.
            type: str
          effect:
            description: The taint's effect.
            type: str
            required: true
            choices: [NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE]
      update_config:
        description:
          - How many nodes a rolling update may take away at a time. Give one of the two.
          - Defaults to V(max_unavailable_percentage=33).
        type: dict
        suboptions:
          max_unavailable:
            description: Nodes, 1 to 100.
            type: int
          max_unavailable_percentage:
            description: Percent of the nodes, 1 to 100.
            type: int
      version:
        description:
          - The nodes' Kubernetes version, C(major.minor). Defaults to O(kubernetes_version); may not be above it.
          - A node group behind it is upgraded in place (a rolling update); a lower version than the nodes run is
            refused (EKS cannot downgrade nodes).
          - A new node group starts at the control plane's version (EKS takes no other), so a lower version only
            holds back an existing node group, for example while its workloads are checked against the new version.
        type: str
      subnet_ids:
        description: Subnets of this node group instead of O(subnet_ids). Cannot change once created.
        type: list
        elements: str
  fargate_profiles:
    description:
      - The Fargate profiles of the stack, for example for the C(batch) and C(cron) namespaces.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The profile's name, 1 to 100 letters, digits, C(-) or C(_), starting with a letter or digit.
        type: str
        required: true
      pod_execution_role_arn:
        description: The pod execution role (with C(AmazonEKSFargatePodExecutionRolePolicy)).
        type: str
        required: true
      selectors:
        description: 1 to 5 selectors; a pod that matches any of them runs on Fargate.
        type: list
        elements: dict
        required: true
        suboptions:
          namespace:
            description: The Kubernetes namespace (required, not empty).
            type: str
            required: true
          labels:
            description: Pod labels that must all match, at most 5.
            type: dict
            default: {}
      subnet_ids:
        description:
          - Subnets of the profile instead of O(subnet_ids). EKS takes private subnets only (no route to an internet
            gateway) and refuses others.
        type: list
        elements: str
  purge:
    description:
      - Delete this stack's node groups and Fargate profiles (judged by their ownership tags) that are not listed.
        New node groups are created before old ones are deleted.
    type: bool
    default: true
  wait:
    description:
      - Wait until created node groups are active, and (with purge or O(state=absent)) until deleted ones are gone.
      - Node group updates are always followed to their end with C(DescribeUpdate), so a failed update fails the run;
        Fargate profile operations are waited for when another one follows, because EKS accepts one at a time per
        cluster. Nothing waits when nothing changed, nor in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds all waits of one run may take together.
    type: int
    default: 1800
notes:
  - "Reads per run: C(DescribeCluster), C(ListNodegroups) and C(DescribeNodegroup) of each node group,
    C(ListFargateProfiles) and C(DescribeFargateProfile) of each profile (their tags come with the describe answer).
    A rerun with the same input makes no mutating call."
  - "EKS tags the Auto Scaling groups of managed node groups with the cluster autoscaler's auto-discovery tags
    (C(k8s.io/cluster-autoscaler/enabled) and C(k8s.io/cluster-autoscaler/<cluster>)) by itself, so the autoscaler
    finds them without any tag from this module. Node group tags do not propagate to the Auto Scaling group or the
    instances."
  - The desired size is never compared after creation, so the cluster autoscaler and this module do not fight over it.
    To set it by hand, use C(aws eks update-nodegroup-config).
  - Reordering O(node_groups[].instance_types) is not a change (the list is compared as a set).
  - "Emulator: moto has no C(UpdateNodegroupVersion) or C(DescribeUpdate), tags clusters only and drops C(updateConfig)
    at C(CreateNodegroup); the project's model (C(emulator/eks_fidelity.py)) adds them. Still not modelled, so covered
    by botocore Stubber tests: updates in progress and failed updates (the emulator completes every update at once),
    the CREATING, UPDATING and DELETING states (it creates and deletes at once), and EKS's refusal of a second Fargate
    profile operation while one runs."
seealso:
  - module: cairn.platform.eks_cluster
  - name: Updating a managed node group
    description: How EKS updates node versions and configuration.
    link: https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html
  - name: Fargate profiles
    description: Selectors and subnets of Fargate profiles.
    link: https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html
"""

EXAMPLES = r"""
- name: System and Spot application node groups, plus Fargate for batch and cron
  cairn.platform.eks_nodegroups:
    environment: prod
    stack: prod-us-east-1
    cluster_name: prod-us-east-1
    kubernetes_version: "1.31"
    node_role_arn: "{{ roles.eks_nodes.arn }}"
    subnet_ids: "{{ cairn_networking.private_subnet_ids }}"
    node_groups:
      - name: system
        capacity_type: ON_DEMAND
        instance_types: [m6i.large]
        min_size: 2
        max_size: 4
        labels: {cairn.io/pool: system}
        taints:
          - {key: CriticalAddonsOnly, value: "true", effect: NO_SCHEDULE}
      - name: apps-spot
        capacity_type: SPOT
        instance_types: [m6i.xlarge, m5.xlarge, m6a.xlarge]
        min_size: 3
        max_size: 30
        desired_size: 6
        labels: {cairn.io/pool: apps}
        update_config: {max_unavailable_percentage: 25}
    fargate_profiles:
      - name: batch
        pod_execution_role_arn: "{{ roles.eks_fargate.arn }}"
        selectors: [{namespace: batch}]
      - name: cron
        pod_execution_role_arn: "{{ roles.eks_fargate.arn }}"
        selectors: [{namespace: cron}]

- name: Delete every node group and profile of the stack (before the cluster)
  cairn.platform.eks_nodegroups:
    environment: dev
    stack: dev-us-east-1
    cluster_name: dev-us-east-1
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
      resource_type: eks_nodegroup
      resource: apps-spot
      fields: {scaling: {before: {min_size: 3, max_size: 30, desired_size: 8}, after: {min_size: 3, max_size: 40, desired_size: 8}}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
node_groups:
  description: The listed node groups as EKS reports them at the end of the run (planned values in check mode).
  returned: when state=present
  type: list
  elements: dict
  sample:
    - name: apps-spot
      arn: "arn:aws:eks:us-east-1:123456789012:nodegroup/prod-us-east-1/apps-spot/0ac9a5c1-1c3e-4a6e-9d1f-1c2b3d4e5f60"
      status: ACTIVE
      capacity_type: SPOT
      instance_types: [m6i.xlarge, m5.xlarge, m6a.xlarge]
      ami_type: AL2023_x86_64_STANDARD
      disk_size: 50
      scaling: {min_size: 3, max_size: 30, desired_size: 6}
      update_config: {max_unavailable_percentage: 25}
      version: "1.31"
      release_version: 1.31.2-20241121
      labels: {cairn.io/pool: apps}
      taints: []
      subnet_ids: [subnet-0a, subnet-0b, subnet-0c]
      autoscaling_groups: [eks-apps-spot-0ac9a5c1-1c3e-4a6e-9d1f-1c2b3d4e5f60]
fargate_profiles:
  description: The listed Fargate profiles as EKS reports them at the end of the run.
  returned: when state=present
  type: list
  elements: dict
  sample:
    - name: batch
      arn: "arn:aws:eks:us-east-1:123456789012:fargateprofile/prod-us-east-1/batch/5ac9a5c1-1c3e-4a6e-9d1f-1c2b3d4e5f60"
      status: ACTIVE
      pod_execution_role_arn: "arn:aws:iam::123456789012:role/prod-us-east-1-eks-fargate"
      selectors: [{namespace: batch, labels: {}}]
      subnet_ids: [subnet-0a, subnet-0b, subnet-0c]
cluster_version:
  description: The Kubernetes version the control plane runs (null when the cluster does not exist yet, in check mode).
  returned: always
  type: str
not_owned:
  description: Node groups and profiles on the cluster without this stack's ownership tags; they were left alone.
  returned: always
  type: list
  elements: dict
  sample: [{resource_type: eks_nodegroup, resource: legacy}]
waited_seconds:
  description: Seconds spent waiting on AWS in this run.
  returned: always
  type: float
"""

import hashlib
import re
import uuid

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.eks import check_kubernetes_version, reported_minor
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import ROLE_ARN
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import apply_tag_changes
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "eks_nodegroups"
NODEGROUP = "eks_nodegroup"
FARGATE_PROFILE = "eks_fargate_profile"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    cluster_name=dict(type="str", required=True),
    kubernetes_version=dict(type="str"),
    node_role_arn=dict(type="str"),
    subnet_ids=dict(type="list", elements="str", default=[]),
    node_groups=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            capacity_type=dict(type="str", default="ON_DEMAND", choices=["ON_DEMAND", "SPOT"]),
            instance_types=dict(type="list", elements="str", required=True),
            ami_type=dict(type="str", default="AL2023_x86_64_STANDARD"),
            disk_size=dict(type="int", default=50),
            min_size=dict(type="int", required=True),
            max_size=dict(type="int", required=True),
            desired_size=dict(type="int"),
            labels=dict(type="dict", default={}),
            taints=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    key=dict(type="str", required=True, no_log=False),
                    value=dict(type="str"),
                    effect=dict(type="str", required=True, choices=["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]),
                ),
            ),
            update_config=dict(
                type="dict",
                options=dict(
                    max_unavailable=dict(type="int"),
                    max_unavailable_percentage=dict(type="int"),
                ),
                mutually_exclusive=[["max_unavailable", "max_unavailable_percentage"]],
            ),
            version=dict(type="str"),
            subnet_ids=dict(type="list", elements="str"),
        ),
    ),
    fargate_profiles=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            pod_execution_role_arn=dict(type="str", required=True),
            selectors=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    namespace=dict(type="str", required=True),
                    labels=dict(type="dict", default={}),
                ),
            ),
            subnet_ids=dict(type="list", elements="str"),
        ),
    ),
    purge=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1800),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the requests that take the live state to the desired one
# ---------------------------------------------------------------------------------------------
AMI_TYPES = (
    "AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64", "CUSTOM", "BOTTLEROCKET_ARM_64", "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64_FIPS", "BOTTLEROCKET_x86_64_FIPS", "BOTTLEROCKET_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA",
    "WINDOWS_CORE_2019_x86_64", "WINDOWS_FULL_2019_x86_64", "WINDOWS_CORE_2022_x86_64", "WINDOWS_FULL_2022_x86_64",
    "AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA",
)
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")
DEFAULT_UPDATE_CONFIG = {"max_unavailable_percentage": 33}
# EKS API limits: label and taint keys 1-63 characters, label values 1-63, taint values 0-63, 50 taints per
# node group; a Fargate profile takes 5 selectors of 5 labels each.
MAX_KEY = 63
MAX_TAINTS = 50
MAX_SELECTORS = 5
MAX_SELECTOR_LABELS = 5
MAX_UNAVAILABLE = 100
MAX_DISK_GIB = 16384
MAX_NODES = 450  # EKS service quota: nodes per managed node group
_NODEGROUP_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,62}$")
_PROFILE_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_INSTANCE_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9]+$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]+$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def parse_version(field, value):
    """'1.31' -> (1, 31) when EKS offers the version today; anything else is refused."""
    return 1, check_kubernetes_version(field, value)


def live_version(value):
    """A version as EKS reports it ('1.31'), as a tuple; None when it cannot be read."""
    minor = reported_minor(value)
    return None if minor is None else (1, minor)


def check_label_key(field, key):
    """A Kubernetes label key ([prefix/]name) that the EKS API takes (at most 63 characters in all)."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
        raise InputError("{0}: the key {1!r} must be 1 to {2} characters (an EKS limit).".format(field, key, MAX_KEY))
    prefix, slash, name = key.rpartition("/")
    if (slash and not _DNS_SUBDOMAIN.match(prefix)) or not _LABEL_NAME.match(name):
        raise InputError(
            "{0}: {1!r} is not a valid Kubernetes label key: an optional DNS prefix (lowercase letters, digits, '-', "
            "'.') and '/', then a name of letters, digits, '-', '_' or '.' that starts and ends with a letter or "
            "digit.".format(field, key)
        )
    return key


def label_value(field, key, value, allow_empty=False):
    if isinstance(value, bool):
        value = "true" if value else "false"
    if value is None or isinstance(value, (dict, list)):
        raise InputError("{0}: {1} needs a single string value; got {2!r}.".format(field, key, value))
    value = str(value)
    if not value and allow_empty:
        return value
    if len(value) > MAX_KEY or not _LABEL_NAME.match(value):
        raise InputError(
            "{0}: the value {1!r} of {2} is not a valid Kubernetes label value ({3}1 to 63 letters, digits, '-', '_' or "
            "'.', starting and ending with a letter or digit).".format(field, value, key, "empty or " if allow_empty else "")
        )
    return value


def check_labels(field, labels):
    return {check_label_key(field, key): label_value(field, key, value) for key, value in sorted((labels or {}).items())}


def check_taints(field, taints):
    result, seen = [], set()
    for taint in taints or []:
        key = check_label_key(field, taint.get("key"))
        effect = taint.get("effect")
        if effect not in TAINT_EFFECTS:
            raise InputError("{0}: the effect {1!r} of taint {2} is not one of {3}.".format(field, effect, key, ", ".join(TAINT_EFFECTS)))
        if (key, effect) in seen:
            raise InputError("{0}: the taint {1} with effect {2} is listed twice.".format(field, key, effect))
        seen.add((key, effect))
        value = taint.get("value")
        value = label_value(field, key, value, allow_empty=True) if value is not None else None
        result.append({"key": key, "value": value or None, "effect": effect})
    if len(result) > MAX_TAINTS:
        raise InputError("{0}: a node group takes at most {1} taints; got {2}.".format(field, MAX_TAINTS, len(result)))
    return sort_taints(result)


def sort_taints(taints):
    return sorted(taints, key=lambda taint: (taint["key"], taint["effect"]))


def check_role_arn(field, value):
    if not value:
        raise InputError("{0}: required; give the ARN of the IAM role.".format(field))
    if not is_unknown(value) and not ROLE_ARN.match(value):
        raise InputError("{0}: {1!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).".format(field, value))
    return value


def check_subnets(field, subnets):
    subnets = list(subnets or [])
    if not subnets:
        raise InputError("{0}: at least one subnet is needed (the stack's private subnets).".format(field))
    for subnet in subnets:
        if not is_unknown(subnet) and not _SUBNET.match(subnet or ""):
            raise InputError("{0}: {1!r} is not a subnet id (subnet-...).".format(field, subnet))
    known = [subnet for subnet in subnets if not is_unknown(subnet)]  # new subnets are only planned
    if len(set(known)) != len(known):
        raise InputError("{0}: a subnet is listed twice.".format(field))
    return sorted(subnets)


def check_scaling(field, min_size, max_size, desired_size):
    for name, value in (("min_size", min_size), ("max_size", max_size), ("desired_size", desired_size)):
        if value is not None and value < 0:
            raise InputError("{0}.{1}: sizes cannot be negative; got {2}.".format(field, name, value))
    if max_size < 1:
        raise InputError("{0}.max_size: must be at least 1 (EKS refuses a node group that can hold no node); got {1}.".format(field, max_size))
    if max_size > MAX_NODES:
        raise InputError("{0}.max_size: {1} is above {2}, the most nodes EKS allows in one managed node group; split the "
                         "capacity over more node groups.".format(field, max_size, MAX_NODES))
    if min_size > max_size:
        raise InputError("{0}: min_size {1} is above max_size {2}; min_size <= desired_size <= max_size must hold.".format(
            field, min_size, max_size))
    desired = min_size if desired_size is None else desired_size
    if not min_size <= desired <= max_size:
        raise InputError("{0}.desired_size: {1} is outside [min_size {2}, max_size {3}]; min_size <= desired_size <= max_size "
                         "must hold.".format(field, desired, min_size, max_size))
    return {"min_size": min_size, "max_size": max_size, "desired_size": desired}


def check_update_config(field, update_config):
    update_config = {key: value for key, value in (update_config or {}).items() if value is not None}
    if not update_config:
        return dict(DEFAULT_UPDATE_CONFIG)
    if len(update_config) > 1:
        raise InputError("{0}: give max_unavailable or max_unavailable_percentage, not both.".format(field))
    [(key, value)] = update_config.items()
    if not 1 <= value <= MAX_UNAVAILABLE:
        raise InputError("{0}.{1}: must be 1 to {2}; got {3}.".format(field, key, MAX_UNAVAILABLE, value))
    return {key: value}


def suggest_new_name(name, taken):
    """A name for the blue/green replacement: name-2, or the next number when the name ends in one."""
    match = re.match(r"^(.*?)-(\d+)$", name)
    stem, number = (match.group(1), int(match.group(2)) + 1) if match else (name, 2)
    candidate = "{0}-{1}".format(stem, number)
    while candidate in taken:
        number += 1
        candidate = "{0}-{1}".format(stem, number)
    return candidate


def build_nodegroup(index, group, params, control_plane, warnings):
    name = group.get("name")
    field = "node_groups[{0}]".format(name if name else index)
    if not name or not _NODEGROUP_NAME.match(name):
        raise InputError("{0}.name: {1!r} must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit.".format(field, name))
    capacity_type = group.get("capacity_type") or "ON_DEMAND"
    if capacity_type not in CAPACITY_TYPES:
        raise InputError("{0}.capacity_type: {1!r} is not one of {2}.".format(field, capacity_type, ", ".join(CAPACITY_TYPES)))
    instance_types = list(group.get("instance_types") or [])
    if not instance_types:
        raise InputError("{0}.instance_types: list at least one instance type (for example m6i.large).".format(field))
    for instance_type in instance_types:
        if not _INSTANCE_TYPE.match(instance_type or ""):
            raise InputError("{0}.instance_types: {1!r} is not an EC2 instance type (like m6i.large).".format(field, instance_type))
    if len(set(instance_types)) != len(instance_types):
        raise InputError("{0}.instance_types: an instance type is listed twice.".format(field))
    if capacity_type == "SPOT" and len(instance_types) < 2:
        warnings.append("{0}: a Spot node group with one instance type ({1}) has no other Spot pool to fall back to; list "
                        "at least two of the same size.".format(field, instance_types[0]))
    ami_type = group.get("ami_type") or "AL2023_x86_64_STANDARD"
    if ami_type not in AMI_TYPES:
        raise InputError("{0}.ami_type: {1!r} is not an EKS AMI type; choose one of {2}.".format(field, ami_type, ", ".join(AMI_TYPES)))
    disk_size = group.get("disk_size")
    disk_size = 50 if disk_size is None else disk_size
    if not 1 <= disk_size <= MAX_DISK_GIB:
        raise InputError("{0}.disk_size: must be 1 to {1} GiB; got {2}.".format(field, MAX_DISK_GIB, disk_size))
    scaling = check_scaling(field, group.get("min_size"), group.get("max_size"), group.get("desired_size"))
    version_text = group.get("version") or params["kubernetes_version"]
    version = parse_version(field + ".version", version_text)
    if version > control_plane:
        raise InputError("{0}.version: {1} is above kubernetes_version {2}; nodes may never run a newer Kubernetes than the "
                         "control plane.".format(field, version_text, params["kubernetes_version"]))
    subnets = group.get("subnet_ids")
    subnets = check_subnets(field + ".subnet_ids" if subnets else "subnet_ids", subnets if subnets else params.get("subnet_ids"))
    return {
        "name": name,
        "capacity_type": capacity_type,
        "instance_types": instance_types,
        "ami_type": ami_type,
        "disk_size": disk_size,
        "scaling": scaling,
        "labels": check_labels(field + ".labels", group.get("labels")),
        "taints": check_taints(field + ".taints", group.get("taints")),
        "update_config": check_update_config(field + ".update_config", group.get("update_config")),
        "version": "{0}.{1}".format(*version),
        "subnet_ids": subnets,
        "node_role_arn": check_role_arn("node_role_arn", params.get("node_role_arn")),
    }


def normalize_selectors(selectors):
    """Selectors in a stable order: [{namespace, labels}] sorted, so order in the input or answer is not a change."""
    normalized = [{"namespace": s.get("namespace"), "labels": {str(k): str(v) for k, v in (s.get("labels") or {}).items()}}
                  for s in selectors or []]
    return sorted(normalized, key=lambda s: (s["namespace"] or "", sorted(s["labels"].items())))


def build_profile(index, profile, params):
    name = profile.get("name")
    field = "fargate_profiles[{0}]".format(name if name else index)
    if not name or not _PROFILE_NAME.match(name):
        raise InputError("{0}.name: {1!r} must be 1 to 100 letters, digits, '-' or '_', starting with a letter or digit.".format(field, name))
    selectors = profile.get("selectors") or []
    if not 1 <= len(selectors) <= MAX_SELECTORS:
        raise InputError("{0}.selectors: a Fargate profile takes 1 to {1} selectors; got {2}.".format(field, MAX_SELECTORS, len(selectors)))
    for selector in selectors:
        namespace = selector.get("namespace")
        if not namespace:
            raise InputError("{0}.selectors: every selector needs a namespace; an empty namespace matches nothing.".format(field))
        if len(namespace) > 63 or not _DNS_LABEL.match(namespace):
            raise InputError("{0}.selectors: {1!r} is not a Kubernetes namespace name (1 to 63 lowercase letters, digits "
                             "or '-').".format(field, namespace))
        labels = selector.get("labels") or {}
        if len(labels) > MAX_SELECTOR_LABELS:
            raise InputError("{0}.selectors[{1}].labels: a selector takes at most {2} labels; got {3}.".format(
                field, namespace, MAX_SELECTOR_LABELS, len(labels)))
    normalized = normalize_selectors(
        [dict(s, labels=check_labels("{0}.selectors[{1}].labels".format(field, s["namespace"]), s.get("labels"))) for s in selectors])
    if len({(s["namespace"], tuple(sorted(s["labels"].items()))) for s in normalized}) != len(normalized):
        raise InputError("{0}.selectors: a selector is listed twice.".format(field))
    subnets = profile.get("subnet_ids")
    return {
        "name": name,
        "pod_execution_role_arn": check_role_arn(field + ".pod_execution_role_arn", profile.get("pod_execution_role_arn")),
        "selectors": normalized,
        "subnet_ids": check_subnets(field + ".subnet_ids" if subnets else "subnet_ids", subnets if subnets else params.get("subnet_ids")),
    }


def build_spec(params):
    """Every check that needs no API call; bad input fails here, before the first call."""
    if not params.get("cluster_name"):
        raise InputError("cluster_name: required.")
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    spec = {"state": params["state"], "cluster_name": params["cluster_name"], "purge": params["purge"], "wait": params["wait"],
            "wait_timeout": params["wait_timeout"], "warnings": [], "node_groups": [], "fargate_profiles": []}
    if params["state"] == "absent":
        return spec
    if not params.get("kubernetes_version"):
        raise InputError("kubernetes_version: required when state=present; give the control plane's version (for example 1.31).")
    control_plane = parse_version("kubernetes_version", params["kubernetes_version"])
    spec["kubernetes_version"] = "{0}.{1}".format(*control_plane)
    for kind, items, builder in (
        ("node_groups", params.get("node_groups") or [],
         lambda i, item: build_nodegroup(i, item, params, control_plane, spec["warnings"])),
        ("fargate_profiles", params.get("fargate_profiles") or [], lambda i, item: build_profile(i, item, params)),
    ):
        names = [item.get("name") for item in items]
        duplicates = sorted({name for name in names if names.count(name) > 1 and name})
        if duplicates:
            raise InputError("{0}: the name {1} is listed more than once; names are unique per cluster.".format(kind, ", ".join(duplicates)))
        spec[kind] = [builder(index, item) for index, item in enumerate(items)]
    return spec


def live_nodegroup(group):
    """A node group as DescribeNodegroup reports it, in the module's terms."""
    scaling = group.get("scalingConfig") or {}
    update = group.get("updateConfig") or {}
    return {
        "capacity_type": group.get("capacityType"),
        "instance_types": list(group.get("instanceTypes") or []),
        "ami_type": group.get("amiType"),
        "disk_size": group.get("diskSize"),
        "scaling": {"min_size": scaling.get("minSize"), "max_size": scaling.get("maxSize"), "desired_size": scaling.get("desiredSize")},
        "labels": dict(group.get("labels") or {}),
        "taints": sort_taints([{"key": t.get("key"), "value": t.get("value") or None, "effect": t.get("effect")}
                               for t in group.get("taints") or []]),
        "update_config": {key: value for key, value in (
            ("max_unavailable", update.get("maxUnavailable")),
            ("max_unavailable_percentage", update.get("maxUnavailablePercentage"))) if value is not None},
        "version": group.get("version"),
        "subnet_ids": sorted(group.get("subnets") or []),
        "node_role_arn": group.get("nodeRole"),
    }


IMMUTABLE_NODEGROUP_FIELDS = ("capacity_type", "instance_types", "ami_type", "disk_size", "subnet_ids", "node_role_arn")


def immutable_differences(live, desired):
    """[(field, live value, desired value)] of what EKS cannot change on an existing node group."""
    differences = []
    for field in IMMUTABLE_NODEGROUP_FIELDS:
        want, have = desired[field], live[field]
        if want is None or is_unknown(want) or (isinstance(want, list) and any(is_unknown(item) for item in want)):
            continue  # only planned by an earlier task: nothing to compare yet
        if field == "instance_types":
            want, have = sorted(want), sorted(have)
        if field == "disk_size" and have is None:
            continue  # a node group made from a launch template reports no disk size
        if want != have:
            differences.append((field, have, want))
    return differences


def desired_scaling(live_scaling, spec_scaling):
    """The scaling config to converge to: the new limits, and the live desired size moved into them only if it must."""
    desired = live_scaling.get("desired_size")
    low, high = spec_scaling["min_size"], spec_scaling["max_size"]
    if desired is None:
        desired = spec_scaling["desired_size"]
    return {"min_size": low, "max_size": high, "desired_size": min(max(desired, low), high)}


def config_state(live):
    return {key: live[key] for key in ("labels", "taints", "scaling", "update_config")}


def config_request(before, after):
    """UpdateNodegroupConfig arguments taking `before` to `after`; {} when nothing differs.

    Empty label or taint payloads are left out (EKS refuses an empty one), and desiredSize is sent only when it
    must move, so the cluster autoscaler keeps owning it.
    """
    request = {}
    if before["labels"] != after["labels"]:
        add = {k: v for k, v in after["labels"].items() if before["labels"].get(k) != v}
        remove = sorted(k for k in before["labels"] if k not in after["labels"])
        labels = {}
        if add:
            labels["addOrUpdateLabels"] = add
        if remove:
            labels["removeLabels"] = remove
        request["labels"] = labels
    if before["taints"] != after["taints"]:
        old = {(t["key"], t["effect"]): t for t in before["taints"]}
        new = {(t["key"], t["effect"]): t for t in after["taints"]}
        taints = {}
        add = [taint_request(t) for identity, t in sorted(new.items()) if old.get(identity) != t]
        remove = [{"key": key, "effect": effect} for (key, effect) in sorted(old) if (key, effect) not in new]
        if add:
            taints["addOrUpdateTaints"] = add
        if remove:
            taints["removeTaints"] = remove
        request["taints"] = taints
    if before["scaling"] != after["scaling"]:
        scaling = {"minSize": after["scaling"]["min_size"], "maxSize": after["scaling"]["max_size"]}
        if before["scaling"]["desired_size"] != after["scaling"]["desired_size"]:
            scaling["desiredSize"] = after["scaling"]["desired_size"]
        request["scalingConfig"] = scaling
    if before["update_config"] != after["update_config"]:
        request["updateConfig"] = update_config_request(after["update_config"])
    return request


def taint_request(taint):
    request = {"key": taint["key"], "effect": taint["effect"]}
    if taint.get("value"):
        request["value"] = taint["value"]
    return request


def update_config_request(update_config):
    if "max_unavailable" in update_config:
        return {"maxUnavailable": update_config["max_unavailable"]}
    return {"maxUnavailablePercentage": update_config["max_unavailable_percentage"]}


def config_note(before, after):
    notes = []
    moved = before["scaling"]["desired_size"] != after["scaling"]["desired_size"]
    if moved:
        notes.append("the live desired size {0} is outside the new limits and moves to {1}".format(
            before["scaling"]["desired_size"], after["scaling"]["desired_size"]))
    return "; ".join(notes) or None


def live_profile(profile):
    return {
        "pod_execution_role_arn": profile.get("podExecutionRoleArn"),
        "selectors": normalize_selectors(profile.get("selectors")),
        "subnet_ids": sorted(profile.get("subnets") or []),
    }


def profile_differences(live, desired):
    """The fields that make a Fargate profile be replaced (none of them can change in place)."""
    differences = []
    for field in ("selectors", "pod_execution_role_arn", "subnet_ids"):
        want = desired[field]
        if is_unknown(want) or (isinstance(want, list) and any(is_unknown(item) for item in want if isinstance(item, str))):
            continue
        if live[field] != want:
            differences.append(field)
    return differences


def client_token(*parts):
    """An idempotency token for one create of one run; across runs resources are found by their tags instead."""
    return "cairn-" + hashlib.sha256("/".join(str(part) for part in parts).encode()).hexdigest()[:40]


# ---------------------------------------------------------------------------------------------
# Converging against EKS
# ---------------------------------------------------------------------------------------------
class NodegroupsConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.spec = spec
        self.plan = cm.plan
        self.check_mode = cm.check_mode
        self.owner = cm.ownership()
        self.eks = cm.client("eks")
        self.cluster_name = spec["cluster_name"]
        self.clock = WaitClock(spec["wait_timeout"])
        self.run_nonce = uuid.uuid4().hex
        self.cluster = None
        self.nodegroups = {}  # name -> DescribeNodegroup answer
        self.profiles = {}  # name -> DescribeFargateProfile answer
        self.cluster_ready = False

    def token(self, *parts):
        return client_token(self.run_nonce, self.cluster_name, *parts)

    def desired_tags(self):
        return self.owner.desired_tags()

    # ---- reading -------------------------------------------------------------------------
    def read(self):
        with self.cm.doing("reading EKS cluster " + self.cluster_name):
            try:
                self.cluster = self.eks.describe_cluster(name=self.cluster_name)["cluster"]
            except Exception as exc:  # noqa: BLE001 - a missing cluster is an answer, not a failure
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                self.cluster = None
        if self.cluster is None:
            return
        with self.cm.doing("listing the node groups of cluster " + self.cluster_name):
            names = paginate(self.eks, "list_nodegroups", "nodegroups", clusterName=self.cluster_name)
            for name in names:
                group = self.describe_nodegroup(name)
                if group is not None:
                    self.nodegroups[name] = group
        with self.cm.doing("listing the Fargate profiles of cluster " + self.cluster_name):
            names = paginate(self.eks, "list_fargate_profiles", "fargateProfileNames", clusterName=self.cluster_name)
            for name in names:
                profile = self.describe_profile(name)
                if profile is not None:
                    self.profiles[name] = profile

    def describe_nodegroup(self, name):
        try:
            return self.eks.describe_nodegroup(clusterName=self.cluster_name, nodegroupName=name)["nodegroup"]
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) == "ResourceNotFoundException":
                return None  # deleted between the list and the describe
            raise

    def describe_profile(self, name):
        try:
            return self.eks.describe_fargate_profile(clusterName=self.cluster_name, fargateProfileName=name)["fargateProfile"]
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def owns(self, resource):
        return self.owner.owns(resource.get("tags") or {})

    def not_owned(self):
        found = [{"resource_type": NODEGROUP, "resource": name} for name, group in sorted(self.nodegroups.items()) if not self.owns(group)]
        found += [{"resource_type": FARGATE_PROFILE, "resource": name} for name, p in sorted(self.profiles.items()) if not self.owns(p)]
        return found

    # ---- checks before any write ----------------------------------------------------------
    def preflight(self):
        """Everything that would make the run fail half way is refused here, before the first write."""
        spec = self.spec
        if self.cluster is None:
            if not self.check_mode and (spec["node_groups"] or spec["fargate_profiles"]):
                raise CairnError("cluster_name: the EKS cluster {0} does not exist; converge it first with "
                                 "cairn.platform.eks_cluster.".format(self.cluster_name))
            return
        cluster_version = live_version(self.cluster.get("version"))
        taken = set(self.nodegroups) | {group["name"] for group in spec["node_groups"]}
        for desired in spec["node_groups"]:
            name = desired["name"]
            field = "node_groups[{0}]".format(name)
            wanted = live_version(desired["version"])
            if cluster_version and wanted > cluster_version and not self.check_mode:
                raise CairnError(
                    "{0}.version: {1} is above the version the control plane runs now ({2}); upgrade the cluster first "
                    "(cairn.platform.eks_cluster), then the node groups.".format(field, desired["version"], self.cluster["version"]))
            group = self.nodegroups.get(name)
            if group is None or group.get("status") == "DELETING":
                # EKS starts a new node group at the cluster's version and takes no other.
                if cluster_version and wanted < cluster_version:
                    raise CairnError(
                        "{0}.version: a new node group starts at the control plane's version {1}; EKS accepts no other, "
                        "so {2} can only hold back an existing node group. Remove version or set it to {1}.".format(
                            field, self.cluster["version"], desired["version"]))
                continue
            if not self.owns(group):
                raise CairnError(
                    "{0}: node group {1} exists on cluster {2} but does not carry the ownership tags of stack {3}; it is "
                    "never taken over. Choose another name or adopt it by tagging it.".format(field, name, self.cluster_name, self.owner.stack))
            if group.get("status") == "CREATE_FAILED":
                issues = "; ".join(issue.get("message", "") for issue in (group.get("health") or {}).get("issues", []))
                raise CairnError("{0}: node group {1} is CREATE_FAILED ({2}); remove it from node_groups so purge deletes it, "
                                 "then add it again.".format(field, name, issues or "no health issue reported"))
            live = live_nodegroup(group)
            differences = immutable_differences(live, desired)
            if differences:
                fields = [difference[0] for difference in differences]
                what = "; ".join("{0} {1} -> {2}".format(f, have, want) for f, have, want in differences)
                raise CairnError(
                    "{0}: {1} cannot change on an existing node group ({2}); EKS has no in-place change for {3}. Add a "
                    "node group under a new name (for example {4}) with the new settings, let the workloads move, then "
                    "remove {5} from node_groups (blue/green). Nothing was changed.".format(
                        field, ", ".join(fields), what,
                        "it" if len(differences) == 1 else "them", suggest_new_name(name, taken), name),
                    immutable_fields=fields)
            have = live_version(live["version"])
            if have and wanted < have:
                raise CairnError("{0}.version: the nodes run {1}; EKS cannot downgrade nodes to {2}. Nothing was "
                                 "changed.".format(field, live["version"], desired["version"]))
        for desired in spec["fargate_profiles"]:
            profile = self.profiles.get(desired["name"])
            if profile is not None and not self.owns(profile):
                raise CairnError(
                    "fargate_profiles[{0}]: Fargate profile {0} exists on cluster {1} but does not carry the ownership "
                    "tags of stack {2}; it is never replaced. Choose another name.".format(desired["name"], self.cluster_name, self.owner.stack))

    def before_write(self):
        """EKS takes node group and profile changes only while the cluster is ACTIVE (not during its own update)."""
        if self.check_mode or self.cluster_ready:
            return
        if self.cluster.get("status") != "ACTIVE":
            self.clock.waiter(self.eks, "cluster_active", "cluster " + self.cluster_name, delay=15, name=self.cluster_name)
        self.cluster_ready = True

    # ---- node groups ----------------------------------------------------------------------
    def planned_nodegroup(self, desired):
        return {key: desired[key] for key in ("capacity_type", "instance_types", "ami_type", "disk_size", "scaling", "labels",
                                              "taints", "update_config", "version", "subnet_ids", "node_role_arn")}

    def create_nodegroup(self, desired):
        name = desired["name"]
        if not self.plan.create(NODEGROUP, name, self.planned_nodegroup(desired),
                                note="desired size {0} now; the cluster autoscaler owns it afterwards".format(desired["scaling"]["desired_size"])):
            self.nodegroups.pop(name, None)  # check mode: a node group still being deleted is not the one planned
            return
        self.before_write()
        scaling = desired["scaling"]
        kwargs = dict(
            clusterName=self.cluster_name, nodegroupName=name,
            scalingConfig={"minSize": scaling["min_size"], "maxSize": scaling["max_size"], "desiredSize": scaling["desired_size"]},
            diskSize=desired["disk_size"], subnets=desired["subnet_ids"], instanceTypes=desired["instance_types"],
            amiType=desired["ami_type"], nodeRole=desired["node_role_arn"], capacityType=desired["capacity_type"],
            updateConfig=update_config_request(desired["update_config"]), version=desired["version"],
            tags=self.desired_tags(), clientRequestToken=self.token("nodegroup", name),
        )
        if desired["labels"]:
            kwargs["labels"] = desired["labels"]
        if desired["taints"]:
            kwargs["taints"] = [taint_request(t) for t in desired["taints"]]
        with self.cm.doing("creating node group {0} of cluster {1}".format(name, self.cluster_name)):
            self.nodegroups[name] = self.eks.create_nodegroup(**kwargs)["nodegroup"]

    def wait_nodegroup_active(self, name):
        self.clock.waiter(self.eks, "nodegroup_active", "node group {0} to be ACTIVE".format(name), delay=15,
                          clusterName=self.cluster_name, nodegroupName=name)

    def wait_update(self, name, update, what):
        """Follow one update with DescribeUpdate until EKS reports it done; a failed update is an error."""
        if update.get("status") in (None, "InProgress"):
            def probe():
                with self.cm.doing("reading update {0} of node group {1}".format(update["id"], name)):
                    current = self.eks.describe_update(name=self.cluster_name, updateId=update["id"], nodegroupName=name)["update"]
                return current if current.get("status") != "InProgress" else None
            update = self.clock.poll(probe, what, delay=15)
        if update.get("status") != "Successful":
            errors = "; ".join("{0}: {1}".format(e.get("errorCode"), e.get("errorMessage")) for e in update.get("errors") or [])
            raise CairnError("EKS reports {0} as {1} (update {2}){3}.".format(
                what, update.get("status"), update.get("id"), ": " + errors if errors else ""), update_id=update.get("id"))
        return update

    def ensure_active(self, name):
        """An update needs the node group ACTIVE (EKS refuses one while it is creating or updating)."""
        if self.nodegroups[name].get("status") in ("CREATING", "UPDATING"):
            self.wait_nodegroup_active(name)

    def converge_config(self, desired):
        name = desired["name"]
        live = live_nodegroup(self.nodegroups[name])
        before = config_state(live)
        after = {"labels": desired["labels"], "taints": desired["taints"],
                 "scaling": desired_scaling(live["scaling"], desired["scaling"]), "update_config": desired["update_config"]}
        request = config_request(before, after)
        if not request:
            return False
        if not self.plan.update(NODEGROUP, name, before, after, note=config_note(before, after)):
            return True  # check mode: planned, not made
        self.before_write()
        self.ensure_active(name)
        with self.cm.doing("updating the configuration of node group {0}".format(name)):
            update = self.eks.update_nodegroup_config(clusterName=self.cluster_name, nodegroupName=name,
                                                      clientRequestToken=self.token("config", name), **request)["update"]
        self.wait_update(name, update, "the configuration update of node group " + name)
        return True

    def converge_version(self, desired):
        name = desired["name"]
        have = self.nodegroups[name].get("version")
        if live_version(have) is None or live_version(have) >= live_version(desired["version"]):
            return False
        note = "rolling update of the nodes ({0})".format(
            ", ".join("{0}={1}".format(k, v) for k, v in sorted(desired["update_config"].items())))
        if self.cluster is not None and live_version(self.cluster.get("version")) < live_version(desired["version"]):
            note += "; after the control plane's upgrade to {0}".format(desired["version"])
        if not self.plan.update(NODEGROUP, name, {"version": have}, {"version": desired["version"]}, note=note):
            return True  # check mode: planned, not made
        self.before_write()
        self.ensure_active(name)
        with self.cm.doing("upgrading node group {0} to Kubernetes {1}".format(name, desired["version"])):
            update = self.eks.update_nodegroup_version(clusterName=self.cluster_name, nodegroupName=name, version=desired["version"],
                                                       clientRequestToken=self.token("version", name, desired["version"]))["update"]
        self.wait_update(name, update, "the upgrade of node group {0} to {1}".format(name, desired["version"]))
        return True

    def converge_tags(self, kind, name, resource):
        def add(tags):
            self.eks.tag_resource(resourceArn=arn, tags=tags)

        def remove(keys):
            self.eks.untag_resource(resourceArn=arn, tagKeys=keys)

        arn = resource.get("nodegroupArn") or resource.get("fargateProfileArn")
        before = len(self.plan.changes)
        apply_tag_changes(self.cm, self.plan, self.owner, kind, name, resource.get("tags") or {}, self.desired_tags(),
                          "tagging {0} {1}".format(kind.replace("_", " "), name), add, remove)
        return len(self.plan.changes) > before

    def delete_nodegroup(self, name, note=None):
        group = self.nodegroups[name]
        if group.get("status") == "DELETING":
            return True  # already going; only wait
        if not self.plan.delete(NODEGROUP, name, {"arn": group.get("nodegroupArn"), "capacity_type": group.get("capacityType")}, note=note):
            return False
        self.before_write()
        with self.cm.doing("deleting node group {0} of cluster {1}".format(name, self.cluster_name)):
            try:
                self.eks.delete_nodegroup(clusterName=self.cluster_name, nodegroupName=name)
            except Exception as exc:  # noqa: BLE001
                if error_code(exc) != "ResourceNotFoundException":
                    raise
        return True

    def wait_nodegroup_deleted(self, name):
        self.clock.waiter(self.eks, "nodegroup_deleted", "the deletion of node group " + name, delay=15,
                          clusterName=self.cluster_name, nodegroupName=name)

    # ---- Fargate profiles: one operation per cluster at a time ---------------------------
    def wait_profile(self, name, waiter, what):
        self.clock.waiter(self.eks, waiter, what, delay=10, clusterName=self.cluster_name, fargateProfileName=name)

    def create_profile(self, desired, note=None):
        name = desired["name"]
        if not self.plan.create(FARGATE_PROFILE, name, {k: desired[k] for k in ("pod_execution_role_arn", "selectors", "subnet_ids")},
                                note=note):
            return False
        self.before_write()
        with self.cm.doing("creating Fargate profile {0} of cluster {1}".format(name, self.cluster_name)):
            self.profiles[name] = self.eks.create_fargate_profile(
                fargateProfileName=name, clusterName=self.cluster_name, podExecutionRoleArn=desired["pod_execution_role_arn"],
                subnets=desired["subnet_ids"],
                selectors=[{"namespace": s["namespace"], "labels": s["labels"]} if s["labels"] else {"namespace": s["namespace"]}
                           for s in desired["selectors"]],
                tags=self.desired_tags(), clientRequestToken=self.token("fargate", name),
            )["fargateProfile"]
        return True

    def delete_profile(self, name, note=None):
        profile = self.profiles[name]
        if profile.get("status") == "DELETING":
            return True
        before = live_profile(profile)
        before["arn"] = profile.get("fargateProfileArn")
        if not self.plan.delete(FARGATE_PROFILE, name, before, note=note):
            return False
        self.before_write()
        with self.cm.doing("deleting Fargate profile {0} of cluster {1}".format(name, self.cluster_name)):
            try:
                self.eks.delete_fargate_profile(clusterName=self.cluster_name, fargateProfileName=name)
            except Exception as exc:  # noqa: BLE001
                if error_code(exc) != "ResourceNotFoundException":
                    raise
        return True

    def profile_operations(self):
        """The Fargate profile operations of a present run, in order: (action, desired or name, note)."""
        listed = {p["name"]: p for p in self.spec["fargate_profiles"]}
        operations = []
        if self.spec["purge"]:
            for name, profile in sorted(self.profiles.items()):
                if name not in listed and self.owns(profile):
                    operations.append(("delete", name, "no longer listed"))
        for desired in self.spec["fargate_profiles"]:
            profile = self.profiles.get(desired["name"])
            if profile is None:
                operations.append(("create", desired, None))
                continue
            if profile.get("status") == "DELETING":
                operations.append(("wait_deleted", desired["name"], None))
                operations.append(("create", desired, None))
                continue
            differences = profile_differences(live_profile(profile), desired)
            if differences:
                reason = "{0} changed; a Fargate profile cannot change in place".format(", ".join(differences))
                operations.append(("delete", desired["name"], "replaced: " + reason))
                operations.append(("create", desired, "replacement: " + reason))
            elif profile.get("status") in ("CREATING",):
                operations.append(("wait_active", desired["name"], None))
        return operations

    def run_profile_operations(self, operations):
        pending = None  # (name, waiter, what) of the last operation, waited before the next one
        for action, target, note in operations:
            if action in ("wait_deleted", "wait_active"):
                if not self.check_mode and (self.spec["wait"] or action == "wait_deleted"):
                    if pending:
                        self.wait_profile(*pending)
                        pending = None
                    waiter = "fargate_profile_deleted" if action == "wait_deleted" else "fargate_profile_active"
                    self.wait_profile(target, waiter, "Fargate profile " + target)
                continue
            if pending:
                self.wait_profile(*pending)
                pending = None
            if action == "delete":
                if self.delete_profile(target, note=note) and not self.check_mode:
                    pending = (target, "fargate_profile_deleted", "the deletion of Fargate profile " + target)
            elif self.create_profile(target, note=note) and not self.check_mode:
                pending = (target["name"], "fargate_profile_active", "Fargate profile {0} to be ACTIVE".format(target["name"]))
        if pending and self.spec["wait"]:
            self.wait_profile(*pending)

    # ---- present / absent -----------------------------------------------------------------
    def present(self):
        self.read()
        self.preflight()
        touched = set()
        created = []
        for desired in self.spec["node_groups"]:
            group = self.nodegroups.get(desired["name"])
            if group is not None and group.get("status") == "DELETING":
                if not self.check_mode:
                    self.wait_nodegroup_deleted(desired["name"])
                group = None
            if group is None:
                self.create_nodegroup(desired)
                created.append(desired["name"])
                touched.add(desired["name"])
        if self.spec["wait"] and not self.check_mode:
            for name in created:
                self.wait_nodegroup_active(name)
        for desired in self.spec["node_groups"]:
            name = desired["name"]
            if name in created or name not in self.nodegroups:
                continue
            changed = self.converge_config(desired)
            changed = self.converge_tags(NODEGROUP, name, self.nodegroups[name]) or changed
            if changed:
                touched.add(name)
        # Rolling node upgrades last and one node group at a time, so capacity drops in one group only.
        for desired in self.spec["node_groups"]:
            name = desired["name"]
            if name not in created and name in self.nodegroups and self.converge_version(desired):
                touched.add(name)
        if self.cluster is not None:
            operations = self.profile_operations()
            self.run_profile_operations(operations)
            # A profile created in this run is born with the right tags (in check mode the old one is still read).
            remade = {target["name"] for action, target, _note in operations if action == "create"}
            for desired in self.spec["fargate_profiles"]:
                profile = self.profiles.get(desired["name"])
                if profile is not None and desired["name"] not in remade and self.owns(profile):
                    self.converge_tags(FARGATE_PROFILE, desired["name"], profile)
        else:
            for desired in self.spec["fargate_profiles"]:
                self.create_profile(desired)
        self.purge_nodegroups()
        return self.result(touched)

    def purge_nodegroups(self):
        if not self.spec["purge"]:
            return
        listed = {group["name"] for group in self.spec["node_groups"]}
        deleted = [name for name, group in sorted(self.nodegroups.items())
                   if name not in listed and self.owns(group) and self.delete_nodegroup(name, note="no longer listed")]
        if self.spec["wait"] and not self.check_mode:
            for name in deleted:
                self.wait_nodegroup_deleted(name)

    def absent(self):
        self.read()
        if self.cluster is None:
            return {"cluster_version": None, "not_owned": [], "waited_seconds": round(self.clock.waited, 1)}
        deleted = [name for name, group in sorted(self.nodegroups.items()) if self.owns(group) and self.delete_nodegroup(name)]
        operations = [("delete", name, None) for name, profile in sorted(self.profiles.items()) if self.owns(profile)]
        self.run_profile_operations(operations)
        if self.spec["wait"] and not self.check_mode:
            for name in deleted:
                self.wait_nodegroup_deleted(name)
        return {"cluster_version": self.cluster.get("version"), "not_owned": self.not_owned(),
                "waited_seconds": round(self.clock.waited, 1)}

    # ---- result --------------------------------------------------------------------------
    def result(self, touched):
        node_groups = []
        for desired in self.spec["node_groups"]:
            name = desired["name"]
            group = self.nodegroups.get(name)
            if group is not None and name in touched and not self.check_mode:
                with self.cm.doing("reading node group " + name):
                    group = self.describe_nodegroup(name) or group
            node_groups.append(nodegroup_result(name, group, desired, self.check_mode and name in touched))
        profiles = []
        for desired in self.spec["fargate_profiles"]:
            profile = self.profiles.get(desired["name"])
            replaced = any(c["resource"] == desired["name"] and c["resource_type"] == FARGATE_PROFILE for c in self.plan.changes)
            if profile is None or (self.check_mode and replaced):
                profiles.append({"name": desired["name"], "arn": UNKNOWN, "status": UNKNOWN,
                                 "pod_execution_role_arn": desired["pod_execution_role_arn"], "selectors": desired["selectors"],
                                 "subnet_ids": desired["subnet_ids"]})
            else:
                live = live_profile(profile)
                profiles.append({"name": desired["name"], "arn": profile.get("fargateProfileArn"), "status": profile.get("status"),
                                 "pod_execution_role_arn": live["pod_execution_role_arn"], "selectors": live["selectors"],
                                 "subnet_ids": live["subnet_ids"]})
        return {
            "node_groups": node_groups,
            "fargate_profiles": profiles,
            "cluster_version": self.cluster.get("version") if self.cluster else None,
            "not_owned": self.not_owned(),
            "waited_seconds": round(self.clock.waited, 1),
        }


RESULT_FIELDS = ("capacity_type", "instance_types", "ami_type", "disk_size", "scaling", "update_config", "version", "labels",
                 "taints", "subnet_ids")


def nodegroup_result(name, group, desired, planned):
    """The result entry of a node group: what EKS reports, or in check mode what the plan leads to."""
    if group is None:
        planned_fields = {k: desired[k] for k in RESULT_FIELDS}
        return dict(name=name, arn=UNKNOWN, status=UNKNOWN, release_version=UNKNOWN, autoscaling_groups=UNKNOWN, **planned_fields)
    live = live_nodegroup(group)
    release = group.get("releaseVersion")
    if planned:  # check mode: the live node group with the planned changes applied
        live.update(labels=desired["labels"], taints=desired["taints"], update_config=desired["update_config"],
                    scaling=desired_scaling(live["scaling"], desired["scaling"]))
        if live_version(live["version"]) and live_version(live["version"]) < live_version(desired["version"]):
            live["version"], release = desired["version"], UNKNOWN  # EKS picks the AMI release of the new version
    return dict(
        name=name, arn=group.get("nodegroupArn"), status=group.get("status"), release_version=release,
        autoscaling_groups=[asg.get("name") for asg in (group.get("resources") or {}).get("autoScalingGroups") or []],
        **{k: live[k] for k in RESULT_FIELDS}
    )


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        for warning in spec["warnings"]:
            cm.module.warn(warning)
        converger = NodegroupsConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

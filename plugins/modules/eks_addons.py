#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_addons
short_description: Converge the EKS managed add-ons of one cluster, with versions pinned per Kubernetes version
version_added: 0.1.0
description:
  - Creates, updates, adopts and deletes the Amazon EKS add-ons of one cluster (C(vpc-cni), C(coredns),
    C(kube-proxy), C(aws-ebs-csi-driver), C(amazon-cloudwatch-observability), C(adot), or any other EKS add-on
    given with an explicit version), each with its version, IRSA role and configuration values.
  - Every add-on version defaults to the version this module pins for O(kubernetes_version) (see the table in
    the notes). An explicit O(addons[].version) is checked against the Kubernetes version before any API call
    (C(kube-proxy) must have the cluster's minor; C(coredns) must be of the series EKS ships for that minor; the
    other add-ons must be at least the documented minimum for that Kubernetes version).
  - Configuration values are sent as JSON and compared by meaning with what EKS reports (JSON or YAML), so a
    rerun with the same values never updates.
  - Add-ons this stack created carry the ownership tags. An add-on that exists without them (EKS can create
    C(vpc-cni), C(coredns) and C(kube-proxy) itself) is adopted only when it is listed in O(addons) - updated to
    the desired settings and tagged, and reported as adopted. Add-ons without our ownership tags are never
    deleted.
  - O(purge=true) deletes the add-ons this stack owns that are no longer listed. O(state=absent) deletes every
    add-on of the cluster this stack owns.
  - All reads happen first; every error (a version EKS cannot downgrade, an add-on of another stack, the cluster
    running another Kubernetes version) is raised before the first write.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the listed add-ons; V(absent) deletes every add-on of the cluster this stack owns.
    type: str
    choices: [present, absent]
    default: present
  cluster_name:
    description:
      - The EKS cluster's name.
    type: str
    required: true
  kubernetes_version:
    description:
      - The Kubernetes version (C(major.minor), for example V(1.31)) of the cluster's control plane. Required when
        O(state=present). Selects the pinned add-on versions and the compatibility rules.
      - The module reads the cluster once (C(DescribeCluster)); when the cluster runs another version a real run
        fails without any write (check mode only warns, since an earlier task may only have planned the upgrade).
      - Only a version EKS offers on the day of the run is accepted, from its release calendar (1.28 to 1.35 are known);
        one past its end of extended support, or one EKS does not offer, is refused before any call. A version in
        extended support (after its end of standard support) is accepted, but AWS bills the cluster extra per hour.
    type: str
  addons:
    description:
      - The add-ons the cluster should have. Each name at most once.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The EKS add-on name, for example V(vpc-cni).
        type: str
        required: true
      version:
        description:
          - The add-on version, for example V(v1.20.1-eksbuild.3). Defaults to the version pinned for
            O(kubernetes_version); required for add-ons outside the pinned table.
          - Must suit O(kubernetes_version) (see the description). EKS cannot downgrade an add-on; a lower
            version than the installed one is refused.
        type: str
      service_account_role_arn:
        description:
          - The IAM role (IRSA) bound to the add-on's service account. Unset leaves the current binding alone
            (EKS cannot unbind a role through C(UpdateAddon); delete and recreate the add-on instead).
          - The roles each add-on needs are listed in the notes.
        type: str
      configuration_values:
        description:
          - The add-on's configuration (its JSON schema comes from C(aws eks describe-addon-configuration)),
            sent as JSON. Unset leaves the current configuration alone; V({}) clears it.
        type: dict
      resolve_conflicts:
        description:
          - How EKS treats fields in the cluster that differ from the add-on's defaults when it creates or
            updates the add-on. Not compared (EKS does not report it).
        type: str
        choices: [OVERWRITE, PRESERVE, NONE]
        default: OVERWRITE
  purge:
    description:
      - Delete the add-ons this stack owns (by ownership tags) that O(addons) does not list.
    type: bool
    default: true
  wait:
    description:
      - Wait until every created or updated add-on is C(ACTIVE) and every deleted one is gone. An add-on that
        is still C(CREATING) or C(UPDATING) is waited for before it is updated.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds all waits of one run may take together.
    type: int
    default: 1200
notes:
  - "Pinned versions (C(PINNED_ADDON_VERSIONS) in the module). Sources: the Amazon EKS User Guide tables
    'Amazon VPC CNI versions', 'CoreDNS versions' and 'kube-proxy versions' for C(vpc-cni), C(coredns),
    C(kube-proxy); an AWS CDK EKS sample's add-on version map (from C(aws eks describe-addon-versions)) for
    C(aws-ebs-csi-driver) and C(amazon-cloudwatch-observability); the C(adot) version map of
    awslabs/cdk-eks-blueprints for C(adot)."
  - "1.30: vpc-cni v1.20.1-eksbuild.3, coredns v1.11.4-eksbuild.24, kube-proxy v1.30.14-eksbuild.8,
    aws-ebs-csi-driver v1.52.1-eksbuild.1, amazon-cloudwatch-observability v4.7.0-eksbuild.1, adot v0.109.0-eksbuild.2."
  - "1.31: vpc-cni v1.20.1-eksbuild.3, coredns v1.11.4-eksbuild.24, kube-proxy v1.31.10-eksbuild.8,
    aws-ebs-csi-driver v1.52.1-eksbuild.1, amazon-cloudwatch-observability v4.7.0-eksbuild.1, adot v0.109.0-eksbuild.2."
  - "1.32: vpc-cni v1.20.1-eksbuild.3, coredns v1.11.4-eksbuild.24, kube-proxy v1.32.6-eksbuild.8,
    aws-ebs-csi-driver v1.52.1-eksbuild.1, amazon-cloudwatch-observability v4.7.0-eksbuild.1, adot v0.131.0-eksbuild.1."
  - "1.33: vpc-cni v1.20.1-eksbuild.3, coredns v1.12.4-eksbuild.1, kube-proxy v1.33.3-eksbuild.6,
    aws-ebs-csi-driver v1.52.1-eksbuild.1, amazon-cloudwatch-observability v4.7.0-eksbuild.1, adot v0.131.0-eksbuild.1."
  - "Compatibility rules (C(COMPATIBLE_ADDON_VERSIONS)): kube-proxy C(v1.<minor>.*) only; coredns series v1.11 on
    1.30 to 1.32, v1.12 or v1.13 on 1.33; at least vpc-cni v1.18.3 / v1.19.0 / v1.19.2 / v1.20.1,
    aws-ebs-csi-driver v1.36.0 / v1.52.1 / v1.52.1 / v1.52.1, amazon-cloudwatch-observability v1.7.0 / v4.7.0 /
    v4.7.0 / v4.7.0, adot v0.109.0 / v0.109.0 / v0.131.0 / v0.131.0 on 1.30 / 1.31 / 1.32 / 1.33. Minimums are
    the oldest versions the sources show for that Kubernetes version, so they may be stricter than EKS."
  - "IRSA roles (made by cairn.platform.iam_roles, passed as O(addons[].service_account_role_arn)):
    vpc-cni - AmazonEKS_CNI_Policy (service account kube-system/aws-node); aws-ebs-csi-driver -
    AmazonEBSCSIDriverPolicy (kube-system/ebs-csi-controller-sa); amazon-cloudwatch-observability -
    CloudWatchAgentServerPolicy and AWSXrayWriteOnlyAccess (amazon-cloudwatch/cloudwatch-agent); adot -
    AmazonPrometheusRemoteWriteAccess, AWSXrayWriteOnlyAccess and CloudWatchAgentServerPolicy (the collector's
    service account). coredns and kube-proxy need no AWS access."
  - "Reads per run: C(DescribeCluster), C(ListAddons) and C(DescribeAddon) of every add-on the cluster has that is
    listed or (for purge and O(state=absent)) may be ours. A rerun with the same input makes no mutating call."
  - C(coredns) (and add-ons with a Deployment) stay C(DEGRADED) or C(CREATING) while the cluster has no node to
    run on; converge node groups or Fargate profiles first. A failed wait reports the add-on's health issues.
  - "Emulator gap: moto answers no add-on call; the project's emulator model (emulator/eks_fidelity.py) serves
    them for the local demo, and botocore Stubber tests check every request against the real EKS API model."
seealso:
  - name: Amazon EKS add-ons
    description: Managed add-ons, versions and compatibility.
    link: https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html
"""

EXAMPLES = r"""
- name: Converge the add-ons of the production cluster (versions pinned for 1.31)
  cairn.platform.eks_addons:
    environment: prod
    stack: prod-us-east-1
    cluster_name: prod-us-east-1
    kubernetes_version: "1.31"
    addons:
      - name: vpc-cni
        service_account_role_arn: "{{ roles['eks-vpc-cni'].arn }}"
        configuration_values:
          env:
            ENABLE_PREFIX_DELEGATION: "true"
      - name: coredns
      - name: kube-proxy
      - name: aws-ebs-csi-driver
        service_account_role_arn: "{{ roles['eks-ebs-csi'].arn }}"
      - name: amazon-cloudwatch-observability
        service_account_role_arn: "{{ roles['eks-cloudwatch'].arn }}"
      - name: adot
        service_account_role_arn: "{{ roles['eks-adot'].arn }}"

- name: Plan only (check mode never writes)
  cairn.platform.eks_addons:
    environment: prod
    stack: prod-us-east-1
    cluster_name: prod-us-east-1
    kubernetes_version: "1.32"
    addons: [{name: vpc-cni}, {name: coredns}, {name: kube-proxy}]
  check_mode: true

- name: Delete every add-on this stack owns
  cairn.platform.eks_addons:
    environment: dev
    stack: dev-us-east-1
    cluster_name: dev-us-east-1
    state: absent
"""

RETURN = r"""
addons:
  description:
    - The listed add-ons as EKS reports them at the end of the run; in check mode the planned values over what
      exists (C((known after apply)) for what only a create would tell).
    - C(adopted) is true for an add-on this run took over (it had no ownership tags); C(health_issues) are EKS's.
  returned: when state=present
  type: list
  elements: dict
  sample:
    - name: vpc-cni
      version: v1.20.1-eksbuild.3
      status: ACTIVE
      service_account_role_arn: "arn:aws:iam::123456789012:role/prod-eks-vpc-cni"
      arn: "arn:aws:eks:us-east-1:123456789012:addon/prod-us-east-1/vpc-cni/1ac7-..."
      configuration_values: {env: {ENABLE_PREFIX_DELEGATION: "true"}}
      health_issues: []
      adopted: false
changes:
  description: Every change made, or planned in check mode (resource_type C(eks_addon)).
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: eks_addon
      resource: kube-proxy
      fields: {version: {before: v1.30.14-eksbuild.8, after: v1.31.10-eksbuild.8}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
waited_seconds:
  description: Seconds spent waiting on EKS in this run.
  returned: always
  type: float
"""

import json
import re
import uuid

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core ships PyYAML
    yaml = None

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.eks import check_cluster_name, check_kubernetes_version, offered_versions
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.iam import ROLE_ARN
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import MANAGED_BY_TAG, MANAGED_BY_VALUE, STACK_TAG
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "eks-addons"
RESOURCE_TYPE = "eks_addon"

# Pinned add-on versions per Kubernetes minor: the default when an add-on lists no version.
# Every string is a published EKS add-on version. Sources:
#   vpc-cni, coredns, kube-proxy: Amazon EKS User Guide tables "Amazon VPC CNI versions", "CoreDNS versions",
#     "kube-proxy versions" (docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html,
#     managing-coredns.html, managing-kube-proxy.html).
#   aws-ebs-csi-driver, amazon-cloudwatch-observability: an AWS CDK EKS sample's addonVersions map for 1.30-1.33
#     (from `aws eks describe-addon-versions`).
#   adot: awslabs/cdk-eks-blueprints, lib/addons/adot versionMap.
# The emulator's add-on model (emulator/eks_fidelity.py) reads the same strings.
PINNED_ADDON_VERSIONS = {
    "1.30": {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "coredns": "v1.11.4-eksbuild.24",
        "kube-proxy": "v1.30.14-eksbuild.8",
        "aws-ebs-csi-driver": "v1.52.1-eksbuild.1",
        "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
        "adot": "v0.109.0-eksbuild.2",
    },
    "1.31": {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "coredns": "v1.11.4-eksbuild.24",
        "kube-proxy": "v1.31.10-eksbuild.8",
        "aws-ebs-csi-driver": "v1.52.1-eksbuild.1",
        "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
        "adot": "v0.109.0-eksbuild.2",
    },
    "1.32": {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "coredns": "v1.11.4-eksbuild.24",
        "kube-proxy": "v1.32.6-eksbuild.8",
        "aws-ebs-csi-driver": "v1.52.1-eksbuild.1",
        "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
        "adot": "v0.131.0-eksbuild.1",
    },
    "1.33": {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "coredns": "v1.12.4-eksbuild.1",
        "kube-proxy": "v1.33.3-eksbuild.6",
        "aws-ebs-csi-driver": "v1.52.1-eksbuild.1",
        "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
        "adot": "v0.131.0-eksbuild.1",
    },
}

# Which explicit versions suit a Kubernetes minor, per add-on:
#   {"series": (...)}: the version's "major.minor" must be one of these;
#   {"minimum": "vX.Y.Z"}: the version must be at least this (eksbuild number ignored).
# kube-proxy follows the cluster's minor. coredns series: what the EKS User Guide lists per minor (v1.13 on
# 1.33 per the later CDK sample). Minimums: the oldest version the sources above show for that minor (the
# EKS User Guide's earlier tables for vpc-cni), so they may be stricter than EKS itself.
COMPATIBLE_ADDON_VERSIONS = {
    "kube-proxy": {minor: {"series": (minor,)} for minor in PINNED_ADDON_VERSIONS},
    "coredns": {
        "1.30": {"series": ("1.11",)}, "1.31": {"series": ("1.11",)}, "1.32": {"series": ("1.11",)},
        "1.33": {"series": ("1.12", "1.13")},
    },
    "vpc-cni": {
        "1.30": {"minimum": "v1.18.3"}, "1.31": {"minimum": "v1.19.0"}, "1.32": {"minimum": "v1.19.2"},
        "1.33": {"minimum": "v1.20.1"},
    },
    "aws-ebs-csi-driver": {
        "1.30": {"minimum": "v1.36.0"}, "1.31": {"minimum": "v1.52.1"}, "1.32": {"minimum": "v1.52.1"},
        "1.33": {"minimum": "v1.52.1"},
    },
    "amazon-cloudwatch-observability": {
        "1.30": {"minimum": "v1.7.0"}, "1.31": {"minimum": "v4.7.0"}, "1.32": {"minimum": "v4.7.0"},
        "1.33": {"minimum": "v4.7.0"},
    },
    "adot": {
        "1.30": {"minimum": "v0.109.0"}, "1.31": {"minimum": "v0.109.0"}, "1.32": {"minimum": "v0.131.0"},
        "1.33": {"minimum": "v0.131.0"},
    },
}

# The IRSA role each add-on wants (documentation for the lead's iam_roles; the module only passes the ARN).
ADDON_IRSA_POLICIES = {
    "vpc-cni": ("AmazonEKS_CNI_Policy",),
    "aws-ebs-csi-driver": ("AmazonEBSCSIDriverPolicy",),
    "amazon-cloudwatch-observability": ("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"),
    "adot": ("AmazonPrometheusRemoteWriteAccess", "AWSXrayWriteOnlyAccess", "CloudWatchAgentServerPolicy"),
    "coredns": (),
    "kube-proxy": (),
}

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    cluster_name=dict(type="str", required=True),
    kubernetes_version=dict(type="str"),
    addons=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            version=dict(type="str"),
            service_account_role_arn=dict(type="str"),
            configuration_values=dict(type="dict"),
            resolve_conflicts=dict(type="str", default="OVERWRITE", choices=["OVERWRITE", "PRESERVE", "NONE"]),
        ),
    ),
    purge=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1200),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks, versions, configuration comparison (no API calls)
# ---------------------------------------------------------------------------------------------
_ADDON_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
# EKS add-on versions: v<major>.<minor>.<patch>-eksbuild.<n> (a few kube-proxy builds carry -minimal).
_ADDON_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-minimal)?-eksbuild\.(\d+)$")
# States in which EKS refuses another change of the add-on until it settles.
_BUSY = ("CREATING", "UPDATING")


def parse_version(version):
    """'v1.20.1-eksbuild.3' -> (1, 20, 1, 3); None when it is not of that form."""
    match = _ADDON_VERSION.match(version or "")
    return tuple(int(part) for part in match.groups()) if match else None


def supported_kubernetes_versions():
    return sorted(PINNED_ADDON_VERSIONS, key=lambda minor: tuple(int(p) for p in minor.split(".")))


def check_compatible(name, version, kubernetes_version):
    """Refuse an add-on version that does not suit the Kubernetes version (see COMPATIBLE_ADDON_VERSIONS)."""
    rule = COMPATIBLE_ADDON_VERSIONS.get(name, {}).get(kubernetes_version)
    if rule is None:
        return
    parts = parse_version(version)
    if "series" in rule:
        series = "{0}.{1}".format(parts[0], parts[1])
        if series not in rule["series"]:
            raise InputError(
                "addons[{0}].version: {1} does not match Kubernetes {2}; {0} on {2} must be v{3}.x (pinned: {4}).".format(
                    name, version, kubernetes_version, ".x or v".join(rule["series"]),
                    PINNED_ADDON_VERSIONS[kubernetes_version][name])
            )
    elif parts[:3] < parse_version(rule["minimum"] + "-eksbuild.1")[:3]:
        raise InputError(
            "addons[{0}].version: {1} is older than {2}, the oldest {0} known to support Kubernetes {3} "
            "(pinned: {4}).".format(name, version, rule["minimum"], kubernetes_version,
                                    PINNED_ADDON_VERSIONS[kubernetes_version][name])
        )


def canonical_configuration(value, field):
    """The configuration as plain JSON data (what EKS will echo back), or InputError."""
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise InputError("{0}: cannot be sent as JSON ({1}).".format(field, exc))


def configuration_json(value):
    """configurationValues as sent: compact JSON with sorted keys, so equal values give equal requests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_configuration(text):
    """EKS's configurationValues (JSON or YAML text) as data; '' or None is {}; unparsable text stays text."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        if yaml is None:  # pragma: no cover
            return text
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    return {} if value is None else value


def build_addon(entry, index, kubernetes_version):
    name = entry.get("name") or ""
    field = "addons[{0}]".format(name or index)
    if not _ADDON_NAME.match(name):
        raise InputError("{0}.name: {1!r} is not an EKS add-on name (lowercase letters, digits, '.', '_' or '-').".format(field, name))
    version = entry.get("version")
    if version is None:
        version = PINNED_ADDON_VERSIONS[kubernetes_version].get(name)
        if version is None:
            raise InputError(
                "{0}.version: no version is pinned for {1} (pinned add-ons: {2}); give the version explicitly.".format(
                    field, name, ", ".join(sorted(PINNED_ADDON_VERSIONS[kubernetes_version])))
            )
    elif not parse_version(version):
        raise InputError("{0}.version: {1!r} is not an EKS add-on version like v1.20.1-eksbuild.3.".format(field, version))
    else:
        check_compatible(name, version, kubernetes_version)
    role = entry.get("service_account_role_arn")
    if role is not None and not is_unknown(role) and not ROLE_ARN.match(role):
        raise InputError("{0}.service_account_role_arn: {1!r} is not an IAM role ARN.".format(field, role))
    configuration = entry.get("configuration_values")
    if configuration is not None:
        configuration = canonical_configuration(configuration, field + ".configuration_values")
    return {"name": name, "version": version, "service_account_role_arn": role, "configuration_values": configuration,
            "resolve_conflicts": entry.get("resolve_conflicts") or "OVERWRITE"}


def build_spec(params):
    """All checks that need no API call."""
    spec = {"state": params["state"], "purge": params["purge"], "wait": params["wait"], "wait_timeout": params["wait_timeout"]}
    if params["wait_timeout"] < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    cluster_name = check_cluster_name("cluster_name", params.get("cluster_name") or "")
    spec["cluster_name"] = cluster_name
    spec["kubernetes_version"] = params.get("kubernetes_version")
    spec["addons"] = []
    if params["state"] == "absent":
        return spec
    kubernetes_version = params.get("kubernetes_version")
    if not kubernetes_version:
        raise InputError("kubernetes_version: required when state=present (it selects the pinned add-on versions).")
    kubernetes_version = str(kubernetes_version)
    check_kubernetes_version("kubernetes_version", kubernetes_version)
    if kubernetes_version not in PINNED_ADDON_VERSIONS:
        offered = offered_versions()  # pins of versions EKS no longer runs are no choice
        raise InputError("kubernetes_version: no add-on versions are pinned for Kubernetes {0}; supported: {1}.".format(
            kubernetes_version, ", ".join(v for v in supported_kubernetes_versions() if v in offered)))
    spec["kubernetes_version"] = kubernetes_version
    seen = set()
    for index, entry in enumerate(params.get("addons") or []):
        addon = build_addon(entry, index, kubernetes_version)
        if addon["name"] in seen:
            raise InputError("addons: {0} is listed twice; list each add-on once.".format(addon["name"]))
        seen.add(addon["name"])
        spec["addons"].append(addon)
    return spec


def desired_fields(addon, tags):
    """The compared fields of a desired add-on; unset role or configuration are not compared."""
    fields = {"version": addon["version"], "tags": tags}
    if addon["service_account_role_arn"] is not None:
        fields["service_account_role_arn"] = addon["service_account_role_arn"]
    if addon["configuration_values"] is not None:
        fields["configuration_values"] = addon["configuration_values"]
    return fields


def current_fields(live, desired):
    """The same fields as EKS reports them (configuration parsed, so it compares by meaning)."""
    fields = {"version": live.get("addonVersion"), "tags": dict(live.get("tags") or {})}
    if "service_account_role_arn" in desired:
        fields["service_account_role_arn"] = live.get("serviceAccountRoleArn")
    if "configuration_values" in desired:
        fields["configuration_values"] = parse_configuration(live.get("configurationValues"))
    return fields


def update_request(addon, current, desired):
    """UpdateAddon parameters for the fields (other than tags) that differ, or None."""
    request = {}
    if current["version"] != desired["version"]:
        request["addonVersion"] = desired["version"]
    if "service_account_role_arn" in desired and current["service_account_role_arn"] != desired["service_account_role_arn"]:
        request["serviceAccountRoleArn"] = desired["service_account_role_arn"]
    if "configuration_values" in desired and current["configuration_values"] != desired["configuration_values"]:
        request["configurationValues"] = configuration_json(desired["configuration_values"])
    if not request:
        return None
    request["resolveConflicts"] = addon["resolve_conflicts"]
    return request


def check_no_downgrade(name, current, desired):
    before, after = parse_version(current), parse_version(desired)
    if before and after and after < before:
        raise CairnError(
            "addons[{0}].version: {0} runs {1}; EKS cannot downgrade it to {2}. Set version: {1} (or newer), or "
            "delete the add-on first.".format(name, current, desired)
        )


# ---------------------------------------------------------------------------------------------
# Convergence
# ---------------------------------------------------------------------------------------------
class AddonsConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.spec = spec
        self.plan = cm.plan
        self.check_mode = cm.check_mode
        self.owner = cm.ownership()
        self.eks = cm.client("eks")
        self.clock = WaitClock(spec["wait_timeout"])
        self.cluster_name = spec["cluster_name"]
        self.cluster = None
        self.live = {}
        self.adopted = set()

    # ---- reads ---------------------------------------------------------------------------
    def _not_found(self, action, call, **kwargs):
        """`call(**kwargs)`, or None when EKS answers ResourceNotFoundException."""
        with self.cm.doing(action):
            try:
                return call(**kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised unless it is "not found"
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

    def read_cluster(self):
        answer = self._not_found("reading cluster " + self.cluster_name, self.eks.describe_cluster, name=self.cluster_name)
        self.cluster = answer["cluster"] if answer else None
        return self.cluster

    def describe_addon(self, name):
        answer = self._not_found("reading add-on {0} of cluster {1}".format(name, self.cluster_name), self.eks.describe_addon,
                                 clusterName=self.cluster_name, addonName=name)
        return answer["addon"] if answer else None

    def read_addons(self, wanted):
        """DescribeAddon of every existing add-on in `wanted` (a set of names, or None for all)."""
        with self.cm.doing("listing the add-ons of cluster " + self.cluster_name):
            names = paginate(self.eks, "list_addons", "addons", clusterName=self.cluster_name)
        for name in names:
            if wanted is not None and name not in wanted:
                continue
            addon = self.describe_addon(name)
            if addon is not None:
                self.live[name] = addon

    def check_cluster(self):
        """The cluster must exist and run kubernetes_version (a real run fails; check mode only warns)."""
        cluster = self.read_cluster()
        if cluster is None:
            if self.check_mode:
                self.cm.module.warn("Cluster {0} does not exist (yet); every add-on is planned as a create.".format(self.cluster_name))
                return False
            raise CairnError("Cluster {0} was not found; create it first (cairn.platform.eks_cluster).".format(self.cluster_name))
        running = cluster.get("version")
        wanted = self.spec["kubernetes_version"]
        if running and running != wanted:
            message = ("Cluster {0} runs Kubernetes {1} but kubernetes_version is {2}; the add-on versions are pinned "
                       "for {2}. Upgrade the control plane first (cairn.platform.eks_cluster).".format(self.cluster_name, running, wanted))
            if not self.check_mode:
                raise CairnError(message)
            self.cm.module.warn(message + " (check mode: planned against {0}.)".format(wanted))
        return True

    # ---- planning (no write) -------------------------------------------------------------
    def ownership_of(self, name, live):
        """True when ours, False when it has no cairn ownership (adoptable); error when another stack's."""
        tags = live.get("tags") or {}
        if self.owner.owns(tags):
            return True
        if tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE:
            raise CairnError(
                "Add-on {0} of cluster {1} belongs to cairn.platform stack {2!r} (component {3!r}), not to this one; "
                "refusing to change it.".format(name, self.cluster_name, tags.get(STACK_TAG), tags.get("cairn:component"))
            )
        return False

    def plan_present(self):
        """Every action of the run, with all errors raised before the first write."""
        actions = []
        for addon in self.spec["addons"]:
            name = addon["name"]
            live = self.live.get(name)
            if live is None or live.get("status") == "DELETING":
                if live is not None and not self.spec["wait"] and not self.check_mode:
                    raise CairnError("Add-on {0} is being deleted; rerun once it is gone, or with wait=true.".format(name))
                actions.append(("create", addon, live))
                continue
            owned = self.ownership_of(name, live)
            check_no_downgrade(name, live.get("addonVersion"), addon["version"])
            actions.append(("update", addon, dict(live, _adopt=not owned)))
        if self.spec["purge"]:
            listed = {addon["name"] for addon in self.spec["addons"]}
            for name, live in sorted(self.live.items()):
                if name not in listed and live.get("status") != "DELETING" and self.owner.owns(live.get("tags")):
                    actions.append(("delete", {"name": name}, live))
        return actions

    # ---- writes --------------------------------------------------------------------------
    def create(self, addon, live):
        name = addon["name"]
        tags = self.owner.desired_tags()
        desired = {"version": addon["version"], "service_account_role_arn": addon["service_account_role_arn"],
                   "configuration_values": addon["configuration_values"], "tags": tags}
        note = "the previous add-on is still being deleted; waiting for it first" if live is not None else None
        if not self.plan.create(RESOURCE_TYPE, name, {k: v for k, v in desired.items() if v is not None}, note=note):
            return False
        if live is not None:
            self.clock.waiter(self.eks, "addon_deleted", "the deletion of add-on " + name, delay=10,
                              clusterName=self.cluster_name, addonName=name)
        request = dict(clusterName=self.cluster_name, addonName=name, addonVersion=addon["version"],
                       resolveConflicts=addon["resolve_conflicts"], clientRequestToken=str(uuid.uuid4()), tags=tags)
        if addon["service_account_role_arn"]:
            request["serviceAccountRoleArn"] = addon["service_account_role_arn"]
        if addon["configuration_values"] is not None:
            request["configurationValues"] = configuration_json(addon["configuration_values"])
        with self.cm.doing("creating add-on {0} {1} on cluster {2}".format(name, addon["version"], self.cluster_name)):
            self.eks.create_addon(**request)
        return True

    def update(self, addon, live):
        """Update version/role/configuration and tags; an add-on without ownership tags is adopted. True when written."""
        name = addon["name"]
        adopt = live.pop("_adopt")
        desired_tags = self.owner.desired_tags()
        to_set, to_remove = self.owner.tag_changes(live.get("tags") or {}, desired_tags)
        after_tags = {key: value for key, value in (live.get("tags") or {}).items() if key not in to_remove}
        after_tags.update(to_set)
        desired = desired_fields(addon, after_tags)
        current = current_fields(live, desired)
        request = update_request(addon, current, desired)
        note = "adopting an add-on without ownership tags (created outside this stack, e.g. by EKS)" if adopt else None
        if current != desired and adopt:
            self.adopted.add(name)
        if not self.plan.update(RESOURCE_TYPE, name, current, desired, note=note):
            return False
        if request:
            if live.get("status") in _BUSY and self.spec["wait"]:
                self.wait_active(name)
            request.update(clusterName=self.cluster_name, addonName=name, clientRequestToken=str(uuid.uuid4()))
            with self.cm.doing("updating add-on {0} of cluster {1}".format(name, self.cluster_name)):
                self.eks.update_addon(**request)
        arn = live.get("addonArn")
        if to_set:
            with self.cm.doing("tagging add-on {0}".format(name)):
                self.eks.tag_resource(resourceArn=arn, tags=to_set)
        if to_remove:
            with self.cm.doing("untagging add-on {0}".format(name)):
                self.eks.untag_resource(resourceArn=arn, tagKeys=to_remove)
        return bool(request)

    def delete(self, name, live, note):
        before = {"version": live.get("addonVersion"), "arn": live.get("addonArn")}
        if not self.plan.delete(RESOURCE_TYPE, name, before, note=note):
            return False
        with self.cm.doing("deleting add-on {0} of cluster {1}".format(name, self.cluster_name)):
            self.eks.delete_addon(clusterName=self.cluster_name, addonName=name)
        return True

    # ---- waits ---------------------------------------------------------------------------
    def wait_active(self, name):
        try:
            self.clock.waiter(self.eks, "addon_active", "add-on {0} to be ACTIVE".format(name), delay=10,
                              clusterName=self.cluster_name, addonName=name)
        except CairnError as exc:
            addon = self.describe_addon(name) or {}
            issues = [issue.get("code", "") + ": " + issue.get("message", "") for issue in (addon.get("health") or {}).get("issues", [])]
            if issues:
                raise CairnError("{0} Status {1}; health issues: {2}".format(exc.message, addon.get("status"), "; ".join(issues)),
                                 **exc.details)
            raise

    def wait_deleted(self, name):
        self.clock.waiter(self.eks, "addon_deleted", "the deletion of add-on " + name, delay=10,
                          clusterName=self.cluster_name, addonName=name)

    # ---- state=present -------------------------------------------------------------------
    def present(self):
        cluster_exists = self.check_cluster()
        if cluster_exists:
            wanted = None if self.spec["purge"] else {addon["name"] for addon in self.spec["addons"]}
            self.read_addons(wanted)
        actions = self.plan_present()
        to_activate, to_delete = [], []
        for kind, addon, live in actions:
            if kind == "create" and self.create(addon, live):
                to_activate.append(addon["name"])
            elif kind == "update" and self.update(addon, live):
                to_activate.append(addon["name"])
            elif kind == "delete" and self.delete(addon["name"], live, "purge: owned by this stack and no longer listed"):
                to_delete.append(addon["name"])
        if self.spec["wait"]:
            for name in to_activate:
                self.wait_active(name)
            for name in to_delete:
                self.wait_deleted(name)
        return {"addons": [self.result_addon(addon, addon["name"] in to_activate) for addon in self.spec["addons"]],
                "waited_seconds": round(self.clock.waited, 1)}

    def result_addon(self, addon, written):
        name = addon["name"]
        live = self.live.get(name)
        if written and not self.check_mode:
            live = self.describe_addon(name) or live
        adopted = name in self.adopted
        if self.check_mode or live is None:
            # Planned values over what exists now.
            live = dict(live or {})
            planned = {"addonVersion": addon["version"]}
            if addon["service_account_role_arn"] is not None:
                planned["serviceAccountRoleArn"] = addon["service_account_role_arn"]
            if addon["configuration_values"] is not None:
                planned["configurationValues"] = configuration_json(addon["configuration_values"])
            live.update(planned)
            live.setdefault("status", UNKNOWN)
            live.setdefault("addonArn", UNKNOWN)
        return {"name": name, "version": live.get("addonVersion"), "status": live.get("status"),
                "service_account_role_arn": live.get("serviceAccountRoleArn"), "arn": live.get("addonArn"),
                "configuration_values": parse_configuration(live.get("configurationValues")),
                "health_issues": (live.get("health") or {}).get("issues", []), "adopted": adopted}

    # ---- state=absent --------------------------------------------------------------------
    def absent(self):
        if self.read_cluster() is None:
            return {"waited_seconds": 0.0}
        self.read_addons(None)
        deleted = []
        for name, live in sorted(self.live.items()):
            if live.get("status") == "DELETING" or not self.owner.owns(live.get("tags")):
                continue
            if self.delete(name, live, "state=absent"):
                deleted.append(name)
        if self.spec["wait"]:
            for name in deleted:
                self.wait_deleted(name)
        return {"waited_seconds": round(self.clock.waited, 1)}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = AddonsConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

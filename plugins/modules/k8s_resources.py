#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_resources
short_description: Server-side apply Kubernetes objects to an EKS cluster, with a plan, a diff and pruning
version_added: 0.1.0
description:
  - Applies a list of Kubernetes objects to the EKS cluster O(cluster_name) of the region with server-side apply,
    and deletes (prunes) the objects of this stack that are no longer listed.
  - The module reads the cluster's endpoint and certificate authority with EKS C(DescribeCluster) and signs in
    the way C(aws eks get-token) does, with the module's AWS credentials (a presigned STS C(GetCallerIdentity)
    URL with the header C(x-k8s-aws-id=<cluster name>), valid 60 seconds, renewed during long runs). The caller
    needs an EKS access entry with enough rights (cluster admin, for example).
  - Each object is read first (GET) and compared with the manifest on the fields the manifest sets only; fields
    the API server defaults or other field managers set are ignored. Maps are compared key by key, lists item by
    item (same length, each item compared the same way), scalars as given. A field this module applied before
    (its C(managedFields) entry) that the manifest no longer sets is a difference too, since the next apply
    removes it (a dropped label or annotation, for example). An object that differs is applied
    with one server-side apply C(PATCH) (C(application/apply-patch+yaml), O(field_manager), C(force=true));
    an object that matches is not written. A rerun with the same manifests makes GET requests only.
  - "Order: CustomResourceDefinitions, then Namespaces, then ServiceAccounts and Secrets, then RBAC (ClusterRole,
    ClusterRoleBinding, Role, RoleBinding), then the rest in the order given, then custom resources (the kinds a
    CustomResourceDefinition defines), then admission webhook configurations last, so that the objects of the same
    run never wait on a webhook whose pods are not running yet. Pruning and O(state=absent) go in the reverse order."
  - With O(wait=true), a CustomResourceDefinition this run creates or changes is read until the API server reports it
    C(Established) before the objects that follow are applied (the API server serves a new kind only then).
  - Every object gets the labels C(app.kubernetes.io/managed-by=cairn.platform) and C(cairn.platform/stack=<stack>)
    (and C(cairn.platform/set=<manifest_set>) when O(manifest_set) is set); pruning finds objects by them.
  - "Kinds (a fixed table, no API discovery): v1 Namespace, ServiceAccount, Secret, ConfigMap, Service;
    rbac.authorization.k8s.io/v1 ClusterRole, ClusterRoleBinding, Role, RoleBinding; apps/v1 Deployment;
    autoscaling/v2 HorizontalPodAutoscaler; policy/v1 PodDisruptionBudget; networking.k8s.io/v1 IngressClass;
    apiextensions.k8s.io/v1 CustomResourceDefinition; admissionregistration.k8s.io/v1 MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration; and the AWS Load Balancer Controller's custom resources elbv2.k8s.aws/v1beta1
    IngressClassParams (cluster-scoped) and TargetGroupBinding."
  - "Secrets: the module applies only Secrets whose data it makes itself, so that no secret value ever passes
    through Ansible's arguments or output. A Secret manifest carries the annotation
    C(cairn.platform/generate-tls: <DNS name>[,<DNS name>...]), sets no C(data) or C(stringData), and gets the
    C(kubernetes.io/tls) data C(ca.crt), C(tls.crt) and C(tls.key): a new certificate authority and a serving
    certificate for those names signed by it (ECDSA P-256, valid 10 years, as Helm's C(genCA) and C(genSignedCert)
    make for charts' webhooks). It is generated only when the Secret is missing or lacks one of the three keys;
    a Secret that has them keeps them on every later run (delete it to rotate, then restart the pods that mount it).
    The data never appears in C(changes), C(diff) or the result: it reads V((redacted\\))."
  - "CA injection: an admission webhook configuration with the annotation C(cairn.platform/inject-ca-from:
    <namespace>/<secret name>), naming a generated Secret of the same O(manifests), gets that Secret's C(ca.crt)
    as C(clientConfig.caBundle) of each of its webhooks (what cert-manager's CA injector does with its own
    annotation). In check mode, before the Secret exists, the caBundle reads V((known after apply\\))."
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
requirements:
  - kubernetes (the Kubernetes Python client)
  - cryptography (only to generate a TLS Secret)
options:
  state:
    description:
      - V(present) applies O(manifests) and prunes; V(absent) deletes the listed objects that carry this stack's
        labels (an object without them is left alone, with a warning).
    type: str
    choices: [present, absent]
    default: present
  cluster_name:
    description:
      - The EKS cluster to apply to, in the module's region.
    type: str
    required: true
  manifests:
    description:
      - Full Kubernetes objects (C(apiVersion), C(kind), C(metadata.name), C(metadata.namespace) for namespaced
        kinds), for example the documents of a rendered template (C(lookup('template', ...) | from_yaml_all)).
        Empty documents (null) are skipped.
      - Fields the API server sets (C(metadata.uid), C(resourceVersion), C(creationTimestamp), C(generation),
        C(managedFields)) and C(status) are refused. Label and annotation values must be strings.
      - Write scalar values the way the API server stores them (for example cpu V(500m) rather than V(0.5)), since
        they are compared as given.
    type: list
    elements: raw
    default: []
  field_manager:
    description:
      - The server-side apply field manager that owns the fields this module sets.
    type: str
    default: cairn-platform
  force_conflicts:
    description:
      - Apply with C(force=true), taking over fields another field manager set. V(false) makes such a conflict an
        error.
    type: bool
    default: true
  prune:
    description:
      - With O(state=present), delete the objects carrying this stack's labels (and O(manifest_set)'s) that are not
        listed, of the kinds listed. Kinds not listed are never pruned.
      - Deleting a Namespace deletes everything in it.
    type: bool
    default: true
  manifest_set:
    description:
      - A name for this set of manifests, for a stack that applies several sets with separate tasks. It is written
        to the label C(cairn.platform/set), and pruning then only considers objects of the same set.
      - Unset, pruning only considers the stack's objects that belong to no set, so a task without a set never
        deletes the objects of another role's set.
    type: str
  server_dry_run:
    description:
      - Before the first write, send every apply the run needs with C(dryRun=All), so that the API server's
        validation and admission run for all of them before any is written. Objects in a Namespace, or of a kind whose
        CustomResourceDefinition, this run creates are checked at apply time only. Not done in check mode (which makes
        GET requests only).
    type: bool
    default: false
  request_timeout:
    description:
      - Seconds one request to the Kubernetes API may take.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the API server's certificate against the cluster's certificate authority from C(DescribeCluster).
    type: bool
    default: true
  wait:
    description:
      - Wait until each CustomResourceDefinition this run creates or changes is C(Established) before applying the
        objects after it. Never in check mode, and not when no CustomResourceDefinition was written.
    type: bool
    default: true
  wait_timeout:
    description:
      - The most seconds the waits of a run may take, counted from the first.
    type: int
    default: 60
notes:
  - "Requests: EKS C(DescribeCluster); per object a GET; per kind listed and O(prune) a list with a label selector
    (a custom kind whose CustomResourceDefinition is not installed yet lists as empty); a server-side apply C(PATCH)
    per object that differs; a C(DELETE) per object pruned; a GET per second of a CustomResourceDefinition it waits
    for. Check mode makes GET requests only, and plans the same changes as a real run."
  - In check mode against a cluster that does not exist yet (planned by an earlier task), every object is planned
    as a create without contacting the cluster.
  - The ownership options C(tags) and C(purge_tags) do not apply to Kubernetes objects (they carry labels).
  - "Local emulator: the project's emulator answers the cluster endpoint with a small model of the Kubernetes API
    server (emulator/kube_api.py): server-side apply with field managers, the kinds above, labelSelector lists,
    Namespace existence checks, custom kinds served only once their CustomResourceDefinition exists (which it reports
    Established at once), a few server defaults. It does not run admission webhooks (nor the AWS Load Balancer
    Controller), does not normalise quantities and treats every list as atomic. HTTP-level unit tests check the
    exact requests."
seealso:
  - name: Server-side apply
    description: How the API server merges applied configurations and tracks field managers.
    link: https://kubernetes.io/docs/reference/using-api/server-side-apply/
  - name: aws eks get-token
    description: The bearer token this module makes the same way.
    link: https://awscli.amazonaws.com/v2/documentation/api/latest/reference/eks/get-token.html
"""

EXAMPLES = r"""
- name: Namespaces, service accounts, cluster autoscaler and HPAs of the stack
  cairn.platform.k8s_resources:
    environment: prod
    stack: prod-us-east-1
    cluster_name: prod-us-east-1
    manifests: "{{ lookup('template', 'namespaces.yml.j2') | from_yaml_all
                   + lookup('template', 'hpa.yml.j2') | from_yaml_all }}"
  register: k8s

- name: Plan only (GET requests only)
  cairn.platform.k8s_resources:
    environment: prod
    stack: prod-us-east-1
    cluster_name: prod-us-east-1
    manifests: "{{ manifests }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
objects:
  description: Every object listed, and every object pruned, with what the run did to it (or plans to, in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {api_version: v1, kind: Namespace, namespace: null, name: apps, action: create}
    - {api_version: autoscaling/v2, kind: HorizontalPodAutoscaler, namespace: apps, name: orders, action: update}
    - {api_version: apps/v1, kind: Deployment, namespace: kube-system, name: old, action: delete}
changes:
  description: >-
    Every change made or planned; an update lists the differing fields by path (for example
    C(spec.maxReplicas)) with the live value as C(before) and the manifest's as C(after).
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: HorizontalPodAutoscaler
      resource: apps/orders
      fields: {spec.maxReplicas: {before: 10, after: 20}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
cluster:
  description: The cluster applied to.
  returned: always
  type: dict
  sample: {name: prod-us-east-1, endpoint: "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"}
waited_seconds:
  description: Seconds spent waiting for CustomResourceDefinitions to be established.
  returned: always
  type: float
"""

import base64
import copy
import datetime
import json
import os
import re
import tempfile
import time

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

try:
    from kubernetes import client as kube_client
    from kubernetes.client.rest import ApiException
    import urllib3

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # reported before any call
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

COMPONENT = "kubernetes"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "cairn.platform"
STACK_LABEL = "cairn.platform/stack"
SET_LABEL = "cairn.platform/set"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
TOKEN_PREFIX = "k8s-aws-v1."
K8S_AWS_ID_HEADER = "x-k8s-aws-id"
TOKEN_LIFETIME = 60  # seconds, as `aws eks get-token` presigns
TOKEN_RENEW_AFTER = 45

# (apiVersion, kind) -> (plural, namespaced, apply rank). Rank: CustomResourceDefinitions, Namespaces, ServiceAccounts
# and Secrets, RBAC, the rest, custom resources (kinds a CRD defines), admission webhook configurations.
# Same kinds as emulator/kube_api.py's table (tests/unit/test_k8s_resources_secrets_and_crds.py compares them).
CRD_KIND = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
CUSTOM_RESOURCE_RANK = 5
KINDS = {
    CRD_KIND: ("customresourcedefinitions", False, 0),
    ("v1", "Namespace"): ("namespaces", False, 1),
    ("v1", "ServiceAccount"): ("serviceaccounts", True, 2),
    ("v1", "Secret"): ("secrets", True, 2),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False, 3),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False, 3),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True, 3),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True, 3),
    ("v1", "ConfigMap"): ("configmaps", True, 4),
    ("v1", "Service"): ("services", True, 4),
    ("apps/v1", "Deployment"): ("deployments", True, 4),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True, 4),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True, 4),
    ("networking.k8s.io/v1", "IngressClass"): ("ingressclasses", False, 4),
    ("elbv2.k8s.aws/v1beta1", "IngressClassParams"): ("ingressclassparams", False, CUSTOM_RESOURCE_RANK),
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"): ("targetgroupbindings", True, CUSTOM_RESOURCE_RANK),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): ("mutatingwebhookconfigurations", False, 6),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): ("validatingwebhookconfigurations", False, 6),
}
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
# Generated TLS Secrets and CA injection (see DOCUMENTATION).
TLS_ANNOTATION = "cairn.platform/generate-tls"
INJECT_CA_ANNOTATION = "cairn.platform/inject-ca-from"
TLS_KEYS = ("ca.crt", "tls.crt", "tls.key")
PUBLIC_TLS_KEYS = ("ca.crt", "tls.crt")
TLS_SECRET_TYPE = "kubernetes.io/tls"
TLS_VALID_DAYS = 3650  # as Helm charts' genCA/genSignedCert webhook certificates
REDACTED = "(redacted)"
SERVER_SET_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    cluster_name=dict(type="str", required=True),
    manifests=dict(type="list", elements="raw", default=[]),
    field_manager=dict(type="str", default="cairn-platform"),
    force_conflicts=dict(type="bool", default=True),
    prune=dict(type="bool", default=True),
    manifest_set=dict(type="str"),
    server_dry_run=dict(type="bool", default=False),
    request_timeout=dict(type="int", default=30),
    validate_certs=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=60),
)


# ---- input ---------------------------------------------------------------------------------------
def api_path(api_version):
    """/api/v1 for the core group, /apis/<group>/<version> for the others."""
    return "/api/" + api_version if "/" not in api_version else "/apis/" + api_version


def object_path(api_version, kind, namespace, name):
    plural, namespaced, _rank = KINDS[(api_version, kind)]
    if namespaced:
        return "{0}/namespaces/{1}/{2}/{3}".format(api_path(api_version), namespace, plural, name)
    return "{0}/{1}/{2}".format(api_path(api_version), plural, name)


def collection_path(api_version, kind):
    """Every namespace's objects of a kind (a namespaced kind's list across namespaces)."""
    return "{0}/{1}".format(api_path(api_version), KINDS[(api_version, kind)][0])


def crd_name(api_version, kind):
    """The CustomResourceDefinition (<plural>.<group>) that defines a custom kind of the table, else None."""
    plural, _namespaced, rank = KINDS[(api_version, kind)]
    return "{0}.{1}".format(plural, api_version.split("/")[0]) if rank == CUSTOM_RESOURCE_RANK else None


def ref_of(obj):
    """(apiVersion, kind, namespace or None, name)."""
    metadata = obj.get("metadata") or {}
    return obj["apiVersion"], obj["kind"], metadata.get("namespace"), metadata["name"]


def display(ref):
    api_version, kind, namespace, name = ref
    return "{0} {1}".format(kind, "{0}/{1}".format(namespace, name) if namespace else name)


def resource_name(ref):
    return "{0}/{1}".format(ref[2], ref[3]) if ref[2] else ref[3]


def check_label_value(field, value):
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
        raise InputError(
            "{0}: {1!r} cannot be a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit).".format(field, value))


def check_name(where, kind, name):
    if not isinstance(name, str) or not name:
        raise InputError("{0}: metadata.name is required.".format(where))
    if kind == "Namespace":
        valid, rule = len(name) <= 63 and _DNS_LABEL.match(name), "a DNS label (at most 63 lowercase letters, digits or '-')"
    elif kind == "Service":
        valid, rule = len(name) <= 63 and _DNS_1035_LABEL.match(name), "a DNS-1035 label (a lowercase letter first, at most 63)"
    elif kind in RBAC_KINDS:
        valid, rule = name not in (".", "..") and "/" not in name and "%" not in name, "a path segment (no '/' or '%')"
    else:
        valid, rule = len(name) <= 253 and _DNS_SUBDOMAIN.match(name), "a DNS subdomain (lowercase letters, digits, '-' and '.')"
    if not valid:
        raise InputError("{0}: metadata.name {1!r} is not valid for a {2}: it must be {3}.".format(where, name, kind, rule))


def ownership_labels(stack, manifest_set):
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, STACK_LABEL: stack}
    if manifest_set:
        labels[SET_LABEL] = manifest_set
    return labels


def label_selector(labels):
    return ",".join("{0}={1}".format(key, value) for key, value in sorted(labels.items()))


def build_manifests(manifests, stack, manifest_set):
    """Validate the manifests (before any call) and return them labelled, in apply order."""
    check_label_value("stack", stack)
    if manifest_set is not None:
        check_label_value("manifest_set", manifest_set)
    labels = ownership_labels(stack, manifest_set)
    desired, seen = [], {}
    for index, manifest in enumerate(manifests or []):
        where = "manifests[{0}]".format(index)
        if manifest is None:
            continue  # an empty YAML document
        if not isinstance(manifest, dict):
            raise InputError("{0}: a manifest must be a mapping (a Kubernetes object); got {1}.".format(where, type(manifest).__name__))
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if (api_version, kind) not in KINDS:
            known = ", ".join("{0} {1}".format(k[0], k[1]) for k in KINDS)
            raise InputError("{0}: apiVersion {1!r} kind {2!r} is not a kind this module applies; it knows: {3}.".format(
                where, api_version, kind, known))
        metadata = manifest.get("metadata")
        if not isinstance(metadata, dict):
            raise InputError("{0}: metadata (with at least a name) is required.".format(where))
        name = metadata.get("name")
        check_name(where, kind, name)
        where = "{0} ({1} {2})".format(where, kind, name)
        namespaced = KINDS[(api_version, kind)][1]
        namespace = metadata.get("namespace")
        if namespaced:
            if not namespace:
                raise InputError("{0}: metadata.namespace is required for a {1}.".format(where, kind))
            if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS_LABEL.match(namespace):
                raise InputError("{0}: metadata.namespace {1!r} is not a valid namespace name.".format(where, namespace))
        elif namespace:
            raise InputError("{0}: a {1} is cluster-scoped; remove metadata.namespace ({2!r}).".format(where, kind, namespace))
        for field in SERVER_SET_METADATA:
            if field in metadata:
                raise InputError("{0}: metadata.{1} is set by the API server; remove it from the manifest.".format(where, field))
        if "status" in manifest:
            raise InputError("{0}: status is written by controllers, not applied; remove it from the manifest.".format(where))
        for field in ("labels", "annotations"):
            values = metadata.get(field)
            if values is None:
                continue
            if not isinstance(values, dict):
                raise InputError("{0}: metadata.{1} must be a mapping.".format(where, field))
            for key, value in values.items():
                if not isinstance(value, str):
                    raise InputError("{0}: metadata.{1}.{2} must be a string (quote it in YAML); got {3!r}.".format(where, field, key, value))
        for key, value in labels.items():
            current = (metadata.get("labels") or {}).get(key)
            if current is not None and current != value:
                raise InputError("{0}: the label {1} is set by the module (to {2!r}); remove it from the manifest.".format(where, key, value))
        if kind == "CustomResourceDefinition":
            check_crd(where, manifest)
        if kind == "Secret":
            check_secret(where, manifest)
        elif TLS_ANNOTATION in (metadata.get("annotations") or {}):
            raise InputError("{0}: the annotation {1} belongs on a Secret.".format(where, TLS_ANNOTATION))
        check_ca_injection(where, manifest)
        ref = (api_version, kind, namespace if namespaced else None, name)
        check_ranges("manifests[{0}] ({1})".format(index, display(ref)), manifest)
        if ref in seen:
            raise InputError("{0}: {1} is listed twice (also manifests[{2}]).".format(where, display(ref), seen[ref]))
        seen[ref] = index
        obj = copy.deepcopy(manifest)
        obj["metadata"].setdefault("labels", {})
        if obj["metadata"]["labels"] is None:
            obj["metadata"]["labels"] = {}
        obj["metadata"]["labels"].update(labels)
        desired.append(obj)
    tls_secrets = {"{0}/{1}".format(obj["metadata"]["namespace"], obj["metadata"]["name"]) for obj in desired if obj["kind"] == "Secret"}
    for obj in desired:
        source = (obj["metadata"].get("annotations") or {}).get(INJECT_CA_ANNOTATION)
        if source is not None and source not in tls_secrets:
            raise InputError("{0} {1}: the annotation {2} names the Secret {3!r}, which is not among the manifests; list the "
                             "Secret (with the annotation {4}) in the same task.".format(
                                 obj["kind"], obj["metadata"]["name"], INJECT_CA_ANNOTATION, source, TLS_ANNOTATION))
    return sorted(desired, key=lambda obj: KINDS[(obj["apiVersion"], obj["kind"])][2])  # stable: manifest order within a rank


def _count(value):
    """An integer count, or None when unset or not a plain integer (the API server reports other types itself)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_ranges(where, manifest):
    """Counts the API server refuses: HPA replica bounds, negative Deployment replicas, a PDB with both bounds."""
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
    kind = manifest.get("kind")
    if kind == "HorizontalPodAutoscaler":
        low, high = _count(spec.get("minReplicas")), _count(spec.get("maxReplicas"))
        if low is not None and low < 1:
            raise InputError("{0}: spec.minReplicas is {1}; it must be at least 1.".format(where, low))
        if high is not None and high < 1:
            raise InputError("{0}: spec.maxReplicas is {1}; it must be at least 1.".format(where, high))
        if high is not None and (1 if low is None else low) > high:
            raise InputError("{0}: spec.minReplicas {1} is above spec.maxReplicas {2}; minReplicas <= maxReplicas must "
                             "hold.".format(where, 1 if low is None else low, high))
    elif kind == "Deployment":
        replicas = _count(spec.get("replicas"))
        if replicas is not None and replicas < 0:
            raise InputError("{0}: spec.replicas is {1}; it must be 0 or more.".format(where, replicas))
    elif kind == "PodDisruptionBudget":
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            raise InputError("{0}: spec.minAvailable ({1!r}) and spec.maxUnavailable ({2!r}) are both set; a "
                             "PodDisruptionBudget takes only one of them.".format(where, spec["minAvailable"], spec["maxUnavailable"]))


def check_crd(where, manifest):
    """The API server requires a CustomResourceDefinition's name to be <spec.names.plural>.<spec.group>."""
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    expected = "{0}.{1}".format(names.get("plural"), spec.get("group"))
    if manifest["metadata"]["name"] != expected:
        raise InputError("{0}: a CustomResourceDefinition must be named <spec.names.plural>.<spec.group> ({1!r}).".format(where, expected))


def tls_names(value):
    return [name.strip() for name in str(value).split(",") if name.strip()]


def check_secret(where, manifest):
    """A Secret is applied only with data the module generates (no secret value in Ansible's arguments or output)."""
    annotations = manifest["metadata"].get("annotations") or {}
    for field in ("data", "stringData"):
        if manifest.get(field):
            raise InputError(
                "{0}: a Secret's {1} cannot be given: values in a task's arguments show in Ansible's output and logs. This "
                "module applies only Secrets it fills itself (annotation {2}); store other secrets in AWS Secrets Manager "
                "or SSM.".format(where, field, TLS_ANNOTATION))
    if TLS_ANNOTATION not in annotations:
        raise InputError("{0}: a Secret needs the annotation {1}: <DNS names of the serving certificate, comma-separated> "
                         "(the module generates its TLS data; it applies no other Secrets).".format(where, TLS_ANNOTATION))
    names = tls_names(annotations[TLS_ANNOTATION])
    if not names:
        raise InputError("{0}: the annotation {1} must list at least one DNS name.".format(where, TLS_ANNOTATION))
    for name in names:
        if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            raise InputError("{0}: {1!r} in the annotation {2} is not a DNS name.".format(where, name, TLS_ANNOTATION))
    if manifest.get("type", TLS_SECRET_TYPE) != TLS_SECRET_TYPE:
        raise InputError("{0}: a generated Secret has type {1}; got {2!r}.".format(where, TLS_SECRET_TYPE, manifest.get("type")))
    if manifest.get("immutable"):
        raise InputError("{0}: a generated Secret cannot be immutable (a missing key is filled in later).".format(where))


def check_ca_injection(where, manifest):
    source = (manifest["metadata"].get("annotations") or {}).get(INJECT_CA_ANNOTATION)
    if source is None:
        return
    if manifest["kind"] not in WEBHOOK_KINDS:
        raise InputError("{0}: the annotation {1} applies to {2} only.".format(where, INJECT_CA_ANNOTATION, " and ".join(WEBHOOK_KINDS)))
    parts = source.split("/")
    if len(parts) != 2 or not all(_DNS_LABEL.match(part) or _DNS_SUBDOMAIN.match(part) for part in parts):
        raise InputError("{0}: the annotation {1} must be <namespace>/<secret name>; got {2!r}.".format(where, INJECT_CA_ANNOTATION, source))
    webhooks = manifest.get("webhooks")
    if not isinstance(webhooks, list) or not webhooks:
        raise InputError("{0}: webhooks (a non-empty list) is required with the annotation {1}.".format(where, INJECT_CA_ANNOTATION))
    for position, webhook in enumerate(webhooks):
        client = webhook.get("clientConfig") if isinstance(webhook, dict) else None
        if not isinstance(client, dict):
            raise InputError("{0}: webhooks[{1}].clientConfig is required.".format(where, position))
        if client.get("caBundle"):
            raise InputError("{0}: webhooks[{1}].clientConfig.caBundle is filled in from {2}; remove it from the manifest.".format(
                where, position, source))


def build_spec(params):
    if params.get("request_timeout") is not None and params["request_timeout"] < 1:
        raise InputError("request_timeout must be at least 1 second; got {0}.".format(params["request_timeout"]))
    if not params.get("field_manager"):
        raise InputError("field_manager must not be empty.")
    if len(params["field_manager"]) > 128:
        raise InputError("field_manager may be at most 128 characters.")
    if not params.get("cluster_name"):
        raise InputError("cluster_name is required.")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise InputError("wait_timeout must be 0 or more seconds; got {0}.".format(params["wait_timeout"]))
    manifests = build_manifests(params.get("manifests"), params["stack"], params.get("manifest_set"))
    return dict(params, manifests=manifests)


# ---- comparison ----------------------------------------------------------------------------------
def _empty(value):
    return value is None or value == {} or value == []


def differences(desired, live, path=""):
    """[(path, live value, desired value)] of the fields `desired` sets that `live` does not match.

    Maps: only the keys desired sets. Lists: same length, items compared the same way. Scalars: as given.
    An empty map/list or null in the manifest matches an absent field (the API server omits empty fields).
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [] if _empty(desired) and _empty(live) else [(path, live, desired)]
        found = []
        for key, value in desired.items():
            child = "{0}.{1}".format(path, key) if path else str(key)
            if key not in live:
                if not _empty(value):
                    found.append((child, None, value))
                continue
            found.extend(differences(value, live[key], child))
        return found
    if isinstance(desired, list):
        if not isinstance(live, list):
            return [] if _empty(desired) and _empty(live) else [(path, live, desired)]
        if len(desired) != len(live):
            return [(path, live, desired)]
        found = []
        for index, (want, have) in enumerate(zip(desired, live)):
            found.extend(differences(want, have, "{0}[{1}]".format(path, index)))
        return found
    if desired is None:
        return []
    return [] if desired == live else [(path, live, desired)]


def abandoned_fields(owned, desired, path=""):
    """Paths our field manager set on its last apply (its managedFields fieldsV1) that the manifest no longer sets.

    The next apply removes them, so they are a difference although `differences` (desired's own fields) sees none.
    Descends through maps only ("f:" keys); list items ("k:", "v:", "i:") are compared whole by `differences`.
    """
    found = []
    for key, children in (owned or {}).items():
        if not key.startswith("f:"):
            continue
        name = key[2:]
        child = "{0}.{1}".format(path, name) if path else name
        if not isinstance(desired, dict) or name not in desired:
            found.append(child)
        elif isinstance(desired[name], dict) and children:
            found.extend(abandoned_fields(children, desired[name], child))
    return found


def owned_fields(live, field_manager):
    """The fieldsV1 set `field_manager` applied to the live object, or {}."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply":
            return entry.get("fieldsV1") or {}
    return {}


def value_at(obj, path):
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


# ---- generated TLS Secrets, CA injection, redaction ---------------------------------------------------
def generate_tls(dns_names, days=TLS_VALID_DAYS):
    """A new CA and a serving certificate for `dns_names` signed by it, as the data of a kubernetes.io/tls Secret
    (base64 of PEM): ca.crt, tls.crt, tls.key. ECDSA P-256 keys, SHA-256 signatures."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:
        raise CairnError("Generating the TLS Secret needs the cryptography Python package on the Python that runs the module "
                         "({0}); pip install cryptography.".format(exc))
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)

    def usage(**allowed):
        flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False)
        flags.update(allowed)
        return x509.KeyUsage(**flags)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns_names[0] + " CA")[:64])])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0][:64])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pems = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "tls.crt": cert.public_bytes(serialization.Encoding.PEM),
        "tls.key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    }
    return {name: base64.b64encode(pem).decode("ascii") for name, pem in pems.items()}


def inject_ca(obj, ca_bundle):
    """A copy of a webhook configuration with `ca_bundle` as every webhook's clientConfig.caBundle."""
    out = copy.deepcopy(obj)
    for webhook in out["webhooks"]:
        webhook["clientConfig"]["caBundle"] = ca_bundle
    return out


def redact(obj):
    """What `changes` and `diff` may show of an object: a Secret's values replaced by REDACTED."""
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {key: REDACTED for key in out[field]}
    return out


def redact_found(kind, found):
    """`differences` results of a Secret with the data values replaced by REDACTED."""
    if kind != "Secret":
        return found

    def hide(value):
        if isinstance(value, dict):
            return {key: REDACTED for key in value}
        return None if value is None else REDACTED

    return [(path, hide(have), hide(want)) if path.split(".")[0] in ("data", "stringData") else (path, have, want)
            for path, have, want in found]


def established(crd):
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions if isinstance(c, dict))


# ---- the Kubernetes API --------------------------------------------------------------------------
def eks_token(sts, cluster_name):
    """A bearer token for EKS, made as `aws eks get-token` makes it (awscli/customizations/eks/get_token.py)."""
    def provide(params, context, **_kwargs):
        if K8S_AWS_ID_HEADER in params:
            context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)

    def inject(request, **_kwargs):
        if K8S_AWS_ID_HEADER in request.context:
            request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]

    events = sts.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", provide, unique_id="cairn-k8s-aws-id-params")
    events.register("before-sign.sts.GetCallerIdentity", inject, unique_id="cairn-k8s-aws-id-header")
    url = sts.generate_presigned_url("get_caller_identity", Params={K8S_AWS_ID_HEADER: cluster_name},
                                     ExpiresIn=TOKEN_LIFETIME, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")


_HINTS = {
    401: "the token was refused: the AWS identity needs an EKS access entry on the cluster",
    403: "the AWS identity's access entry lacks the RBAC rights for this; give it an access policy such as AmazonEKSClusterAdminPolicy",
    409: "another field manager owns the field; set force_conflicts=true to take it over",
}


def api_error(exc, method, what):
    """A sentence from an ApiException: the API server's Status.message when it sent one."""
    message, reason = None, getattr(exc, "reason", None)
    body = getattr(exc, "body", None)
    if body:
        try:
            answer = json.loads(body)
            if isinstance(answer, dict):
                message, reason = answer.get("message") or message, answer.get("reason") or reason
        except (TypeError, ValueError):
            message = str(body)[:500]
    status = getattr(exc, "status", 0)
    if not status:
        sentence = "Could not reach the Kubernetes API while {0} {1}: {2}".format(method, what, exc.reason)
    else:
        sentence = "The Kubernetes API refused {0} of {1}: {2} {3}: {4}".format(method, what, status, reason, message or "(no message)")
    hint = _HINTS.get(status)
    if hint:
        sentence += " ({0})".format(hint)
    return CairnError(sentence.rstrip(".") + ".", http_status=status, reason=reason)


class KubeApi:
    """The few REST calls the module makes, on paths from the kind table (no discovery)."""

    def __init__(self, endpoint, ca_data, token_source, request_timeout, validate_certs):
        self.token_source = token_source
        self.timeout = request_timeout
        self.ca_file = None
        configuration = kube_client.Configuration(host=endpoint.rstrip("/"))
        if endpoint.startswith("https://"):
            configuration.verify_ssl = validate_certs
            if ca_data and validate_certs:
                handle, self.ca_file = tempfile.mkstemp(prefix="cairn-eks-ca-", suffix=".crt")
                with os.fdopen(handle, "wb") as ca:
                    ca.write(base64.b64decode(ca_data))
                configuration.ssl_ca_cert = self.ca_file
        configuration.api_key_prefix = {"authorization": "Bearer"}
        self.configuration = configuration
        self.token_time = None
        self.api = kube_client.ApiClient(configuration)

    def close(self):
        try:
            self.api.close()
        finally:
            if self.ca_file:
                os.unlink(self.ca_file)
                self.ca_file = None

    def _token(self):
        if self.token_time is None or time.monotonic() - self.token_time > TOKEN_RENEW_AFTER:
            self.configuration.api_key = {"authorization": self.token_source()}
            self.token_time = time.monotonic()

    def call(self, method, path, what, query=None, body=None, content_type=None, missing_ok=False):
        self._token()
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            return self.api.call_api(path, method, query_params=list(query or []), header_params=headers, body=body,
                                     auth_settings=["BearerToken"], response_type="object", _return_http_data_only=True,
                                     _preload_content=True, _request_timeout=self.timeout)
        except ApiException as exc:
            if method == "GET" and exc.status == 404 and (query is None or missing_ok):
                return None
            raise api_error(exc, method, what)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # connection, TLS, timeout
            raise CairnError("Could not reach the Kubernetes API at {0} while {1} {2}: {3}: {4}.".format(
                self.configuration.host, method, what, type(exc).__name__, exc))

    def get(self, ref):
        return self.call("GET", object_path(ref[0], ref[1], ref[2], ref[3]), display(ref))

    def list(self, api_version, kind, selector):
        answer = self.call("GET", collection_path(api_version, kind), "the {0} list".format(kind),
                           query=[("labelSelector", selector)], missing_ok=True)  # a custom kind not (yet) served: none
        return (answer or {}).get("items") or []

    def apply(self, obj, field_manager, force, dry_run=False):
        ref = ref_of(obj)
        query = [("fieldManager", field_manager), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self.call("PATCH", object_path(*ref), display(ref), query=query, body=obj, content_type=APPLY_CONTENT_TYPE)

    def delete(self, ref):
        return self.call("DELETE", object_path(*ref), display(ref), query=[("propagationPolicy", "Background")])


# ---- converge ------------------------------------------------------------------------------------
class K8sConverger:
    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.check_mode = cm.check_mode
        self.objects = []
        self.cluster = {"name": spec["cluster_name"], "endpoint": None}
        self.kube = None
        self.clock = None  # a WaitClock from the first wait on
        self.ca_bundles = {}  # "<namespace>/<name>" of a generated TLS Secret -> its ca.crt (base64), for injection

    def connect(self):
        """The cluster's endpoint and CA (DescribeCluster) and a client; None when the cluster does not exist."""
        name = self.spec["cluster_name"]
        eks = self.cm.client("eks")
        with self.cm.doing("reading EKS cluster " + name):
            try:
                cluster = eks.describe_cluster(name=name)["cluster"]
            except Exception as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                return None
        endpoint = cluster.get("endpoint")
        if not endpoint:
            raise CairnError("EKS cluster {0} has no API endpoint yet (status {1}); rerun once it is ACTIVE.".format(name, cluster.get("status")))
        self.cluster["endpoint"] = endpoint
        sts = self.cm.client("sts")

        def token():
            with self.cm.doing("signing the EKS token of cluster " + name):
                return eks_token(sts, name)

        self.kube = KubeApi(endpoint, (cluster.get("certificateAuthority") or {}).get("data"), token,
                            self.spec["request_timeout"], self.spec["validate_certs"])
        return cluster

    def record(self, ref, action):
        self.objects.append({"api_version": ref[0], "kind": ref[1], "namespace": ref[2], "name": ref[3], "action": action})

    def present(self):
        spec = self.spec
        desired = spec["manifests"]
        if self.connect() is None:
            if not self.check_mode:
                raise CairnError("EKS cluster {0} does not exist in this region; create it (cairn.platform.eks_cluster) first.".format(
                    spec["cluster_name"]))
            for obj in desired:  # planned by an earlier task in check mode: everything is a create
                ref = ref_of(obj)
                obj = self.resolve(obj, None)
                self.plan.create(ref[1], resource_name(ref), redact(obj), note="the cluster is planned, not created yet")
                self.record(ref, "create")
            self.cluster["endpoint"] = UNKNOWN
            return self.result()
        try:
            writes = []
            for obj in desired:
                ref = ref_of(obj)
                live = self.kube.get(ref)
                obj = self.resolve(obj, live)
                if live is None:
                    writes.append((obj, "create", None))
                    continue
                found = differences(obj, live) + [
                    (path, value_at(live, path), None) for path in abandoned_fields(owned_fields(live, spec["field_manager"]), obj)]
                writes.append((obj, "update" if found else "none", redact_found(ref[1], found)))
            if spec["server_dry_run"] and not self.check_mode:
                self.dry_run(writes)
            written_crds = []
            for obj, action, found in writes:
                ref = ref_of(obj)
                if written_crds and ref[:2] != CRD_KIND:
                    self.wait_established(written_crds)  # before the kinds they define are applied
                    written_crds = []
                if action == "create":
                    write = self.plan.create(ref[1], resource_name(ref), redact(obj))
                elif action == "update":
                    write = self.plan.update(ref[1], resource_name(ref), {path: have for path, have, _want in found},
                                             {path: want for path, _have, want in found})
                else:
                    write = False
                if write:
                    self.kube.apply(obj, spec["field_manager"], spec["force_conflicts"])
                    if ref[:2] == CRD_KIND:
                        written_crds.append(ref)
                self.record(ref, action)
            self.wait_established(written_crds)
            if spec["prune"]:
                self.prune({ref_of(obj) for obj in desired}, desired)
        finally:
            self.kube.close()
        return self.result()

    def resolve(self, obj, live):
        """The object to compare and apply. A generated TLS Secret gets its data: the live Secret's when it has all of
        TLS_KEYS (never rewritten), else new (in check mode: UNKNOWN). A webhook configuration with INJECT_CA_ANNOTATION
        gets that Secret's CA (manifests are sorted, so the Secret was resolved first)."""
        annotations = obj["metadata"].get("annotations") or {}
        if obj["kind"] == "Secret":
            live_data = (live or {}).get("data") or {}
            for key, value in live_data.items():  # masked, should anything ever echo them (the certificates are public)
                if key not in PUBLIC_TLS_KEYS:
                    self.hide(value)
            if all(live_data.get(key) for key in TLS_KEYS):
                data = {key: live_data[key] for key in TLS_KEYS}
            elif self.check_mode:
                data = {key: UNKNOWN for key in TLS_KEYS}
            else:
                data = generate_tls(tls_names(annotations[TLS_ANNOTATION]))
                self.hide(data["tls.key"])
            self.ca_bundles["{0}/{1}".format(obj["metadata"]["namespace"], obj["metadata"]["name"])] = data["ca.crt"]
            return dict(obj, type=obj.get("type", TLS_SECRET_TYPE), data=data)
        source = annotations.get(INJECT_CA_ANNOTATION)
        if source is not None:
            return inject_ca(obj, self.ca_bundles[source])
        return obj

    def hide(self, value):
        """Add a secret value (base64, and its decoded text) to the values Ansible masks in all output."""
        if not isinstance(value, str) or not value or value == UNKNOWN:
            return
        self.cm.module.no_log_values.add(value)
        try:
            self.cm.module.no_log_values.add(base64.b64decode(value).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass

    def dry_run(self, writes):
        """Every apply the run needs with dryRun=All first, except objects a Namespace or CRD of this run must exist for."""
        spec = self.spec
        creating = {(ref_of(obj)[1], ref_of(obj)[3]) for obj, action, _found in writes if action == "create"}
        for obj, action, _found in writes:
            ref = ref_of(obj)
            if action == "none" or ("Namespace", ref[2]) in creating or ("CustomResourceDefinition", crd_name(ref[0], ref[1])) in creating:
                continue
            self.kube.apply(obj, spec["field_manager"], spec["force_conflicts"], dry_run=True)

    def wait_established(self, refs):
        """Read each CustomResourceDefinition until the API server reports it Established (it serves the kind then)."""
        if not refs or not self.spec.get("wait") or self.check_mode:
            return
        if self.clock is None:
            self.clock = WaitClock(self.spec.get("wait_timeout") or 0)
        for ref in refs:
            self.clock.poll(lambda ref=ref: established(self.kube.get(ref)),
                            "CustomResourceDefinition {0} to be Established".format(ref[3]), delay=1)

    def prune(self, keep, desired):
        """Delete this stack's (and set's) objects of the kinds listed that are not listed, in reverse apply order."""
        selector = label_selector(ownership_labels(self.cm.params["stack"], self.spec.get("manifest_set")))
        if not self.spec.get("manifest_set"):
            # Without a set, prune only objects outside every set: another role's set is not ours to delete.
            selector += ",!" + SET_LABEL
        kinds = []
        for obj in desired:
            if (obj["apiVersion"], obj["kind"]) not in kinds:
                kinds.append((obj["apiVersion"], obj["kind"]))
        kinds.sort(key=lambda kind: -KINDS[kind][2])
        doomed = []
        for api_version, kind in kinds:
            for item in self.kube.list(api_version, kind, selector):
                metadata = item.get("metadata") or {}
                ref = (api_version, kind, metadata.get("namespace") if KINDS[(api_version, kind)][1] else None, metadata.get("name"))
                if ref not in keep:
                    doomed.append((ref, item))
        for ref, item in doomed:
            if self.plan.delete(ref[1], resource_name(ref), before={"labels": (item.get("metadata") or {}).get("labels")},
                                note="pruned: carries this stack's labels but is no longer listed"):
                self.kube.delete(ref)
            self.record(ref, "delete")

    def absent(self):
        spec = self.spec
        if self.connect() is None:
            for obj in spec["manifests"]:
                self.record(ref_of(obj), "none")
            return self.result()
        labels = ownership_labels(self.cm.params["stack"], spec.get("manifest_set"))
        try:
            for obj in reversed(spec["manifests"]):
                ref = ref_of(obj)
                live = self.kube.get(ref)
                if live is None:
                    self.record(ref, "none")
                    continue
                live_labels = (live.get("metadata") or {}).get("labels") or {}
                if any(live_labels.get(key) != value for key, value in labels.items()):
                    self.cm.module.warn("{0} was not deleted: it does not carry this stack's labels ({1}).".format(
                        display(ref), label_selector(labels)))
                    self.record(ref, "none")
                    continue
                if self.plan.delete(ref[1], resource_name(ref), before={"labels": live_labels}):
                    self.kube.delete(ref)
                self.record(ref, "delete")
        finally:
            self.kube.close()
        return self.result()

    def result(self):
        return {"objects": self.objects, "cluster": self.cluster, "waited_seconds": round(self.clock.waited, 1) if self.clock else 0.0}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        if not HAS_KUBERNETES:
            raise InputError("cairn.platform.k8s_resources needs the kubernetes Python client on the Python that runs the module "
                             "({0}); pip install kubernetes.".format(KUBERNETES_IMPORT_ERROR))
        spec = build_spec(cm.params)
        converger = K8sConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()

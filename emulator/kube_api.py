"""A small model of the Kubernetes API server behind each emulated EKS cluster endpoint.

moto's EKS has clusters but no Kubernetes API. The emulator's EKS answer gives a cluster the endpoint
``http://<host>/_eks/<region>/<cluster name>``; emulator/server.py sends every request whose path starts with
``/_eks/`` here (WSGI). ``GET /_eks/_requests`` answers the log of requests served ({method, path, query}),
cleared by ``reset()`` (``POST /moto-api/reset``), so tests can count writes from outside.

Modelled, following the kube-apiserver's behaviour (https://kubernetes.io/docs/reference/using-api/):

- The kinds of cairn.platform.k8s_resources' table only (``KINDS``): their REST paths, namespaced or not.
  Any other path answers 404 ``the server could not find the requested resource``, like the real server
  for an unknown resource. No discovery (/api, /apis), no watch, no status subresources.
- Custom resources (``CUSTOM_KINDS``, the AWS Load Balancer Controller's elbv2.k8s.aws kinds) are served only while
  a CustomResourceDefinition ``<plural>.<group>`` exists that serves their version: before, their paths answer that
  404 too, as the real server does. A CustomResourceDefinition is ``Established`` at once (status.acceptedNames and
  the NamesAccepted/Established conditions, set when it is created; the real apiextensions controller takes a
  moment). Deleting it deletes its custom resources (the real server finalizes them asynchronously). Its schema is
  not enforced (no validation, pruning or defaulting of custom resources).
- Authentication: a bearer token starting ``k8s-aws-v1.`` (what ``aws eks get-token`` makes); else 401
  ``Unauthorized``. The token is not verified further (its signed header x-k8s-aws-id is not in the URL).
- Any cluster name is accepted: the cluster's existence is moto's business (DescribeCluster); each
  region+cluster gets its own empty store.
- GET object (404 ``Status`` ``<plural>[.<group>] "<name>" not found``), GET list (per namespace or across
  namespaces, ``labelSelector`` with =, ==, !=, exists, !exists, in, notin; items without kind/apiVersion,
  as the real server lists them).
- Server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml`` (body YAML or JSON),
  ``fieldManager`` required (422), ``force``; creates the object when missing; sets metadata.uid,
  creationTimestamp, resourceVersion (a per-cluster counter, bumped only when the object changes: a no-op
  apply leaves the object and its resourceVersion alone), generation (kinds with a spec; bumped when
  anything outside metadata/status changes) and managedFields (one ``Apply`` entry per manager, fieldsV1).
  Field ownership: each manager owns what its last apply configuration set; a field it no longer sets is
  removed unless another manager sets it; a field another manager set to a different value is a 409
  conflict unless ``force=true``, which moves it to the applier. Simplification: every list is atomic
  (the real server merges associative lists such as containers by key); values are stored as sent
  (the real server normalises quantities such as cpu "0.5" -> "500m").
- A few server defaults, so that a client diff has to ignore fields it did not set: Namespace
  spec.finalizers/status.phase and the kubernetes.io/metadata.name label; Deployment replicas, strategy,
  revisionHistoryLimit, progressDeadlineSeconds, pod restartPolicy/dnsPolicy/schedulerName/
  terminationGracePeriodSeconds, container imagePullPolicy/terminationMessagePath/Policy; Service type,
  clusterIP, sessionAffinity, port protocol; Secret type Opaque. Defaults are owned by no manager.
- A namespaced object needs its Namespace: 404 ``namespaces "<ns>" not found`` otherwise. A new cluster has the
  Namespaces default, kube-node-lease, kube-public and kube-system (managed by ``kube-apiserver``, operation Update).
- ``dryRun=All`` on apply and delete: the answer the write would give, nothing stored.
- DELETE answers a ``Status`` Success with details; deleting a Namespace removes its objects at once
  (the real server sets phase Terminating and finalizes asynchronously).
- Other patch types answer 415, POST/PUT 405: the module only applies.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import threading
import uuid
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote

import yaml

PREFIX = "/_eks/"
REQUESTS_PATH = "/_eks/_requests"
APPLY_PATCH = "application/apply-patch+yaml"

# (apiVersion, kind) -> (plural, namespaced, has generation). Same kinds as plugins/modules/k8s_resources.py's table.
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
KINDS: dict[tuple[str, str], tuple[str, bool, bool]] = {
    CRD: ("customresourcedefinitions", False, True),
    ("v1", "Namespace"): ("namespaces", False, False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True, False),
    ("v1", "Secret"): ("secrets", True, False),
    ("v1", "ConfigMap"): ("configmaps", True, False),
    ("v1", "Service"): ("services", True, False),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False, False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False, False),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True, False),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True, False),
    ("apps/v1", "Deployment"): ("deployments", True, True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True, True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True, True),
    ("networking.k8s.io/v1", "IngressClass"): ("ingressclasses", False, True),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): ("mutatingwebhookconfigurations", False, True),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): ("validatingwebhookconfigurations", False, True),
    ("elbv2.k8s.aws/v1beta1", "IngressClassParams"): ("ingressclassparams", False, True),
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"): ("targetgroupbindings", True, True),
}
# Kinds a CustomResourceDefinition defines: served only while it exists.
CUSTOM_KINDS = {("elbv2.k8s.aws/v1beta1", "IngressClassParams"), ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")}
# (apiVersion, plural) -> kind
_BY_PLURAL = {(api_version, plural): kind for (api_version, kind), (plural, _n, _g) in KINDS.items()}

_STATUS_TEXT = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type", 422: "Unprocessable Entity"}
_REASONS = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
            415: "UnsupportedMediaType", 422: "Invalid"}


class KubeError(Exception):
    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def status(code: int, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A metav1.Status as the API server sends it."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}}
    if code < 300:
        body["status"] = "Success"
    else:
        body.update(status="Failure", message=message, reason=_REASONS.get(code, "InternalError"))
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _qualified(api_version: str, plural: str) -> str:
    group = _group(api_version)
    return f"{plural}.{group}" if group else plural


# --- label selectors -------------------------------------------------------------------------------------

def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _matches(labels: dict[str, str], selector: str) -> bool:
    for requirement in _split_selector(selector):
        found = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", requirement)
        if found:
            values = {value.strip() for value in found.group(3).split(",")}
            present = found.group(1) in labels and labels[found.group(1)] in values
            if present != (found.group(2) == "in"):
                return False
        elif "!=" in requirement:
            key, value = (part.strip() for part in requirement.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in requirement:
            key, value = (part.strip() for part in re.split(r"==?", requirement, maxsplit=1))
            if labels.get(key) != value:
                return False
        elif requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
        elif requirement not in labels:
            return False
    return True


# --- apply: field ownership ------------------------------------------------------------------------------

def _leaves(value: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """Leaf paths of an apply configuration; lists are atomic (one leaf); an empty map owns nothing."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    else:
        yield path, value


def _remove(config: dict[str, Any], path: tuple) -> None:
    node = config
    for key in path[:-1]:
        node = node.get(key)
        if not isinstance(node, dict):
            return
    node.pop(path[-1], None)


def _get(config: Any, path: tuple) -> tuple[bool, Any]:
    node = config
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _merge(base: dict[str, Any], config: dict[str, Any]) -> None:
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _fields_v1(config: Any, top: bool = True) -> dict[str, Any]:
    """The fieldsV1 set of an apply configuration (apiVersion, kind, name and namespace are not fields)."""
    if not isinstance(config, dict):
        return {}
    fields = {}
    for key, value in config.items():
        if top and key in ("apiVersion", "kind"):
            continue
        if top and key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in ("name", "namespace")}
            if not value:
                continue
        fields[f"f:{key}"] = _fields_v1(value, False)
    return fields


def _defaults(kind: str, obj: dict[str, Any]) -> None:
    """Fill in the server defaults modelled (only where absent)."""
    metadata = obj["metadata"]
    if kind == "Namespace":
        metadata.setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", metadata["name"])
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif kind == "Deployment":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
        pod = spec.setdefault("template", {}).setdefault("spec", {})
        pod.setdefault("restartPolicy", "Always")
        pod.setdefault("dnsPolicy", "ClusterFirst")
        pod.setdefault("schedulerName", "default-scheduler")
        pod.setdefault("terminationGracePeriodSeconds", 30)
        pod.setdefault("securityContext", {})
        for container in pod.get("containers") or []:
            if isinstance(container, dict):
                image = str(container.get("image", ""))
                container.setdefault("imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image else "IfNotPresent")
                container.setdefault("terminationMessagePath", "/dev/termination-log")
                container.setdefault("terminationMessagePolicy", "File")
                container.setdefault("resources", {})
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        digest = uuid.uuid5(uuid.NAMESPACE_DNS, f"{metadata.get('namespace')}/{metadata['name']}").bytes
        spec.setdefault("clusterIP", f"10.100.{digest[0]}.{max(digest[1], 1)}")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])


SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class _Cluster:
    def __init__(self) -> None:
        self.revision = 0
        # (api_version, kind, namespace, name) -> {"object": dict, "configs": {manager: config}, "order": [managers]}
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        now = _now()
        for name in SYSTEM_NAMESPACES:  # a new cluster has them, written by the API server itself (operation Update)
            self.revision += 1
            namespace = {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": now,
                                      "resourceVersion": str(self.revision),
                                      "managedFields": [{"manager": "kube-apiserver", "operation": "Update", "apiVersion": "v1",
                                                         "time": now, "fieldsType": "FieldsV1",
                                                         "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}}]}}
            _defaults("Namespace", namespace)
            self.objects[("v1", "Namespace", "", name)] = {"object": namespace, "configs": {}, "order": []}


class KubeApiServer:
    """WSGI application for /_eks/<region>/<cluster>/... (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.clusters: dict[tuple[str, str], _Cluster] = {}
            self.requests: list[dict[str, str]] = []

    # --- WSGI --------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        query_string = environ.get("QUERY_STRING", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self._lock:
            if path == REQUESTS_PATH and method == "GET":
                code, answer = 200, list(self.requests)
            else:
                self.requests.append({"method": method, "path": path, "query": query_string})
                try:
                    code, answer = self._handle(method, path, parse_qs(query_string, keep_blank_values=True),
                                                environ.get("CONTENT_TYPE", ""), environ.get("HTTP_AUTHORIZATION", ""), body)
                except KubeError as error:
                    code, answer = error.code, status(error.code, error.message, error.details)
        payload = json.dumps(answer).encode()
        start_response(f"{code} {_STATUS_TEXT.get(code, 'Error')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                        ("Audit-Id", str(uuid.uuid4()))])
        return [payload]

    # --- routing -----------------------------------------------------------------------------------------
    def _handle(self, method: str, path: str, query: dict[str, list[str]], content_type: str, authorization: str,
                body: bytes) -> tuple[int, Any]:
        parts = [unquote(part) for part in path[len(PREFIX):].split("/")]
        if len(parts) < 3 or not parts[0] or not parts[1]:
            raise KubeError(404, "the server could not find the requested resource", {})
        region, cluster_name, rest = parts[0], parts[1], parts[2:]
        if not authorization.startswith("Bearer k8s-aws-v1.") or len(authorization) <= len("Bearer k8s-aws-v1."):
            raise KubeError(401, "Unauthorized")
        cluster = self.clusters.setdefault((region, cluster_name), _Cluster())
        api_version, namespace, plural, name = self._route(rest)
        kind = _BY_PLURAL.get((api_version, plural))
        if kind is None:
            raise KubeError(404, "the server could not find the requested resource", {})
        _plural, namespaced, _generation = KINDS[(api_version, kind)]
        if (api_version, kind) in CUSTOM_KINDS and not _served(cluster, api_version, plural):
            raise KubeError(404, "the server could not find the requested resource", {})
        if namespaced != (namespace is not None) and name is not None:
            raise KubeError(404, "the server could not find the requested resource", {})
        if namespace is not None and not namespaced:
            raise KubeError(404, "the server could not find the requested resource", {})
        dry_run = query.get("dryRun", [""])[0] == "All"
        if name is None:
            if method != "GET":
                raise KubeError(405, f"{method} on a collection is not modelled by the emulator")
            return 200, self._list(cluster, api_version, kind, namespace, query.get("labelSelector", [""])[0])
        key = (api_version, kind, namespace or "", name)
        if method == "GET":
            return 200, copy.deepcopy(self._existing(cluster, key)["object"])
        if method == "DELETE":
            return 200, self._delete(cluster, key, dry_run)
        if method == "PATCH":
            if content_type.split(";")[0].strip() != APPLY_PATCH:
                raise KubeError(415, f"the emulator models server-side apply ({APPLY_PATCH}) only, not {content_type!r}")
            manager = query.get("fieldManager", [""])[0]
            if not manager:
                raise KubeError(422, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                                {"group": "meta.k8s.io", "kind": "PatchOptions",
                                 "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                             "field": "fieldManager"}]})
            force = query.get("force", ["false"])[0] == "true"
            return self._apply(cluster, key, body, manager, force, dry_run)
        raise KubeError(405, f"{method} is not modelled by the emulator (server-side apply only)")

    @staticmethod
    def _route(rest: list[str]) -> tuple[str, str | None, str, str | None]:
        if rest[0] == "api" and len(rest) >= 3:
            api_version, tail = rest[1], rest[2:]
        elif rest[0] == "apis" and len(rest) >= 4:
            api_version, tail = f"{rest[1]}/{rest[2]}", rest[3:]
        else:
            raise KubeError(404, "the server could not find the requested resource", {})
        namespace = None
        if tail[0] == "namespaces" and len(tail) >= 3:
            namespace, tail = tail[1], tail[2:]
        if len(tail) == 1:
            return api_version, namespace, tail[0], None
        if len(tail) == 2 and tail[1]:
            return api_version, namespace, tail[0], tail[1]
        raise KubeError(404, "the server could not find the requested resource", {})

    # --- operations --------------------------------------------------------------------------------------
    @staticmethod
    def _not_found(api_version: str, kind: str, name: str) -> KubeError:
        plural = KINDS[(api_version, kind)][0]
        details = {"name": name, "group": _group(api_version), "kind": plural}
        if not details["group"]:
            del details["group"]  # the real server omits an empty group
        return KubeError(404, f"{_qualified(api_version, plural)} \"{name}\" not found", details)

    def _existing(self, cluster: _Cluster, key: tuple[str, str, str, str]) -> dict[str, Any]:
        entry = cluster.objects.get(key)
        if entry is None:
            raise self._not_found(key[0], key[1], key[3])
        return entry

    def _list(self, cluster: _Cluster, api_version: str, kind: str, namespace: str | None, selector: str) -> dict[str, Any]:
        items = []
        for (entry_api_version, entry_kind, entry_namespace, _name), entry in sorted(cluster.objects.items()):
            if (entry_api_version, entry_kind) != (api_version, kind) or (namespace is not None and entry_namespace != namespace):
                continue
            if selector and not _matches(entry["object"]["metadata"].get("labels") or {}, selector):
                continue
            item = copy.deepcopy(entry["object"])
            item.pop("kind", None)
            item.pop("apiVersion", None)
            items.append(item)
        return {"kind": f"{kind}List", "apiVersion": api_version, "metadata": {"resourceVersion": str(cluster.revision)}, "items": items}

    def _delete(self, cluster: _Cluster, key: tuple[str, str, str, str], dry_run: bool) -> dict[str, Any]:
        entry = self._existing(cluster, key)
        api_version, kind, _namespace, name = key
        details = {"name": name, "group": _group(api_version), "kind": KINDS[(api_version, kind)][0],
                   "uid": entry["object"]["metadata"]["uid"]}
        if not details["group"]:
            del details["group"]
        if not dry_run:
            del cluster.objects[key]
            if kind == "Namespace":
                for other in [other for other in cluster.objects if other[2] == name]:
                    del cluster.objects[other]
            if (api_version, kind) == CRD:
                for other in [other for other in cluster.objects if other[:2] in CUSTOM_KINDS
                              and f"{KINDS[other[:2]][0]}.{_group(other[0])}" == name]:
                    del cluster.objects[other]
            cluster.revision += 1
        return status(200, "", details)

    def _apply(self, cluster: _Cluster, key: tuple[str, str, str, str], body: bytes, manager: str, force: bool,
               dry_run: bool) -> tuple[int, dict[str, Any]]:
        api_version, kind, namespace, name = key
        try:
            config = yaml.safe_load(body.decode() or "{}")
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise KubeError(400, f"error decoding YAML: {error}") from None
        if not isinstance(config, dict):
            raise KubeError(400, "the body of an apply patch must be an object")
        if config.get("apiVersion") != api_version or config.get("kind") != kind:
            raise KubeError(400, f"the apiVersion/kind of the object ({config.get('apiVersion')}, {config.get('kind')}) "
                                 f"does not match the request ({api_version}, {kind})")
        metadata = config.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("name") != name:
            raise KubeError(400, f"the name of the object ({(metadata or {}).get('name')}) does not match the name on the URL ({name})")
        if namespace and metadata.get("namespace", namespace) != namespace:
            raise KubeError(400, "the namespace of the provided object does not match the namespace sent on the request")
        if "managedFields" in metadata:
            raise KubeError(400, "metadata.managedFields must be nil")
        if namespace and ("v1", "Namespace", "", namespace) not in cluster.objects:
            raise KubeError(404, f"namespaces \"{namespace}\" not found", {"name": namespace, "kind": "namespaces"})

        config = copy.deepcopy(config)
        config.pop("status", None)
        for system_field in ("uid", "resourceVersion", "creationTimestamp", "generation", "namespace", "name"):
            config["metadata"].pop(system_field, None)
        old = cluster.objects.get(key)
        configs = copy.deepcopy(old["configs"]) if old else {}
        order = [m for m in (old["order"] if old else []) if m != manager] + [manager]
        conflicts = []
        for other in [m for m in order if m != manager]:
            for path, value in _leaves(config):
                present, theirs = _get(configs[other], path)
                if present and theirs != value:
                    conflicts.append((other, path))
        if conflicts and not force:
            fields = "; ".join(f'conflict with "{other}": .{".".join(path)}' for other, path in conflicts)
            raise KubeError(409, f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: {fields}",
                            {"causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{other}"',
                                         "field": "." + ".".join(path)} for other, path in conflicts]})
        for other, path in conflicts:  # force: the applier takes the field over
            _remove(configs[other], path)
        configs[manager] = config

        content: dict[str, Any] = {}
        for each in order:
            _merge(content, configs[each])
        content["apiVersion"], content["kind"] = api_version, kind
        content.setdefault("metadata", {})["name"] = name
        if namespace:
            content["metadata"]["namespace"] = namespace
        _defaults(kind, content)

        previous = old["object"] if old else None
        if (api_version, kind) == CRD:
            content["status"] = _crd_status(content, (previous or {}).get("status"))
        times = {entry["manager"]: entry["time"] for entry in (previous or {}).get("metadata", {}).get("managedFields", [])}
        fields = {each: _fields_v1(configs[each]) for each in order}
        old_fields = {each: _fields_v1(cfg) for each, cfg in (old["configs"].items() if old else [])}
        if previous is not None:
            old_content = copy.deepcopy(previous)
            for system_field in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
                old_content["metadata"].pop(system_field, None)
            if old_content == content and old_fields == fields:
                return 200, copy.deepcopy(previous)  # no-op: nothing written, resourceVersion unchanged

        now = _now()
        metadata = content["metadata"]
        metadata["uid"] = previous["metadata"]["uid"] if previous else str(uuid.uuid4())
        metadata["creationTimestamp"] = previous["metadata"]["creationTimestamp"] if previous else now
        if KINDS[(api_version, kind)][2]:
            generation = previous["metadata"].get("generation", 1) if previous else 1
            if previous is not None and _spec_of(previous) != _spec_of(content):
                generation += 1
            metadata["generation"] = generation
        metadata["resourceVersion"] = str(cluster.revision + 1)
        kept = [entry for entry in (previous or {}).get("metadata", {}).get("managedFields", []) if entry["operation"] != "Apply"]
        metadata["managedFields"] = kept + [
            {"manager": each, "operation": "Apply", "apiVersion": api_version,
             "time": now if each == manager or each not in times else times[each],
             "fieldsType": "FieldsV1", "fieldsV1": fields[each]}
            for each in order
        ]
        if dry_run:
            if previous is None:
                metadata.pop("resourceVersion")
            else:
                metadata["resourceVersion"] = previous["metadata"]["resourceVersion"]
            return (201 if previous is None else 200), content
        cluster.revision += 1
        cluster.objects[key] = {"object": content, "configs": configs, "order": order}
        return (201 if previous is None else 200), copy.deepcopy(content)


def _served(cluster: _Cluster, api_version: str, plural: str) -> bool:
    """True when a CustomResourceDefinition <plural>.<group> exists and serves the version."""
    group, _slash, version = api_version.partition("/")
    entry = cluster.objects.get((CRD[0], CRD[1], "", f"{plural}.{group}"))
    if entry is None:
        return False
    versions = (entry["object"].get("spec") or {}).get("versions") or []
    return any(isinstance(v, dict) and v.get("name") == version and v.get("served", False) for v in versions)


def _crd_status(crd: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What the apiextensions controller reports: the names accepted and the kind Established (kept once set)."""
    names = (crd.get("spec") or {}).get("names") or {}
    accepted = {key: names[key] for key in ("plural", "singular", "kind", "listKind", "shortNames", "categories") if key in names}
    conditions = (previous or {}).get("conditions")
    if not conditions:
        now = _now()
        conditions = [{"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
                       "message": "no conflicts found"},
                      {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
                       "message": "the initial names have been accepted"}]
    stored = sorted({v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if isinstance(v, dict) and v.get("storage")})
    return {"acceptedNames": accepted, "conditions": conditions, "storedVersions": stored}


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}

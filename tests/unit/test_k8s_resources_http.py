"""k8s_resources at the HTTP layer of the kubernetes client: the exact requests of create, rerun, update, check mode,
prune and API errors.

The module runs in-process (support.modules.run_module). EKS DescribeCluster is answered by botocore Stubber (checked
against the real EKS model); the STS presign is local. Every request the kubernetes client sends through
urllib3.PoolManager.request is recorded (method, path, query, content type, body, Authorization) and answered by
emulator/kube_api.py's model of the API server, or by a canned answer a test sets for one request.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from botocore.stub import Stubber
from werkzeug.test import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: emulator/ is not a package on the test path
from emulator.kube_api import KubeApiServer  # noqa: E402
from support.modules import ModuleFailed, run_module  # noqa: E402

from ansible_collections.cairn.platform.plugins.module_utils.aws import AwsConnection  # noqa: E402

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

CLUSTER = "prod-use1"
HOST = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
STACK = "prod-us-east-1"
LABELS = {"app.kubernetes.io/managed-by": "cairn.platform", "cairn.platform/stack": STACK}
# Without a manifest_set, prune considers only the stack's objects outside every set.
SELECTOR = "app.kubernetes.io/managed-by=cairn.platform,cairn.platform/stack=" + STACK + ",!cairn.platform/set"
APPLY_QUERY = [("fieldManager", "cairn-platform"), ("force", "true")]
APPLY = "application/apply-patch+yaml"

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
ACCOUNT = {"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": "orders", "namespace": "apps", "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/orders"}}}
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "orders", "namespace": "apps"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"}, "minReplicas": 2, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}

NS_PATH = "/api/v1/namespaces/apps"
SA_PATH = "/api/v1/namespaces/apps/serviceaccounts/orders"
HPA_PATH = "/apis/autoscaling/v2/namespaces/apps/horizontalpodautoscalers/orders"
ROLE_PATH = "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader"


class FakeResponse:
    def __init__(self, status, reason, data, headers):
        self.status, self.reason, self.data, self._headers = status, reason, data, headers

    def getheaders(self):
        return self._headers

    def getheader(self, name, default=None):
        return self._headers.get(name, default)


class FakeKube:
    """urllib3.PoolManager.request of the kubernetes client, answered by the kube model (or a canned answer)."""

    def __init__(self):
        self.model = KubeApiServer()
        self.wsgi = Client(self.model)
        self.requests = []
        self.canned = {}  # (method, path) -> (status, body dict)

    def __call__(self, _pool, method, url, fields=None, body=None, headers=None, **_kwargs):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == HOST
        query = parse_qsl(parts.query, keep_blank_values=True) if parts.query else list(fields or [])
        headers = dict(headers or {})
        self.requests.append({"method": method, "path": parts.path, "query": query, "content_type": headers.get("Content-Type"),
                              "body": json.loads(body) if body else None, "authorization": headers.get("authorization")})
        if (method, parts.path) in self.canned:
            status, answer = self.canned.pop((method, parts.path))
            return FakeResponse(status, "Canned", json.dumps(answer).encode(), {"Content-Type": "application/json"})
        answer = self.wsgi.open(f"/_eks/us-east-1/{CLUSTER}{parts.path}", method=method, query_string=urlencode(query),
                                data=body, headers={k: v for k, v in headers.items() if k.lower() != "content-length"})
        return FakeResponse(answer.status_code, answer.status.split(" ", 1)[1], answer.get_data(), dict(answer.headers))

    def calls(self):
        """(method, path, query) of each request, in order."""
        return [(r["method"], r["path"], r["query"]) for r in self.requests]

    def writes(self):
        return [(m, p, q) for m, p, q in self.calls() if m != "GET"]

    def reset_log(self):
        self.requests.clear()

    def seed(self, obj, manager="someone-else"):
        """Apply an object straight to the model (not through the module)."""
        meta = obj["metadata"]
        from ansible_collections.cairn.platform.plugins.modules.k8s_resources import object_path
        path = object_path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        answer = self.wsgi.patch(f"/_eks/us-east-1/{CLUSTER}{path}?fieldManager={manager}&force=true", data=json.dumps(obj),
                                 headers={"Authorization": "Bearer k8s-aws-v1.seed", "Content-Type": APPLY})
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)

    def live(self, path):
        answer = self.wsgi.get(f"/_eks/us-east-1/{CLUSTER}{path}", headers={"Authorization": "Bearer k8s-aws-v1.seed"})
        return json.loads(answer.get_data()) if answer.status_code == 200 else None


@pytest.fixture
def kube(monkeypatch):
    fake = FakeKube()

    def request(pool, *args, **kwargs):  # a plain function, so the pool arrives as the first argument
        return fake(pool, *args, **kwargs)

    monkeypatch.setattr("urllib3.PoolManager.request", request)
    return fake


@pytest.fixture
def eks(monkeypatch):
    """DescribeCluster answered by Stubber (any number of runs); records how many were made."""
    state = {"exists": True, "describes": 0}
    original = AwsConnection.client

    def client(self, service, region=None):
        made = original(self, service, region)
        if service == "eks" and not getattr(made, "_cairn_stubbed", False):
            stubber = Stubber(made)
            for _attempt in range(5):
                if state["exists"]:
                    stubber.add_response("describe_cluster", {"cluster": {
                        "name": CLUSTER, "arn": f"arn:aws:eks:us-east-1:123456789012:cluster/{CLUSTER}", "status": "ACTIVE",
                        "endpoint": HOST, "version": "1.31", "certificateAuthority": {"data": base64.b64encode(CA_PEM).decode()}}},
                        {"name": CLUSTER})
                else:
                    stubber.add_client_error("describe_cluster", "ResourceNotFoundException", "No cluster found for name: " + CLUSTER, 404,
                                             expected_params={"name": CLUSTER})
            stubber.activate()
            made._cairn_stubbed = True
        return made

    monkeypatch.setattr(AwsConnection, "client", client)
    return state


def run(manifests, check_mode=False, diff=False, **args):
    module_args = dict(environment="prod", stack=STACK, region="us-east-1", access_key="AKIDEXAMPLE", secret_key="secret",
                       cluster_name=CLUSTER, manifests=manifests)
    module_args.update(args)
    return run_module("k8s_resources", module_args, check_mode=check_mode, diff=diff)


def labelled(obj):
    out = json.loads(json.dumps(obj))
    out["metadata"].setdefault("labels", {}).update(LABELS)
    return out


# ---- create ---------------------------------------------------------------------------------------------
def test_create_applies_in_order_with_server_side_apply(kube, eks):
    result = run([HPA, ROLE, ACCOUNT, NAMESPACE], diff=True)
    assert result["changed"] is True
    # Namespaces, ServiceAccounts, RBAC, the rest: each a GET then one apply PATCH; then prune lists each kind.
    assert kube.calls() == [
        ("GET", NS_PATH, []), ("GET", SA_PATH, []), ("GET", ROLE_PATH, []), ("GET", HPA_PATH, []),
        ("PATCH", NS_PATH, APPLY_QUERY), ("PATCH", SA_PATH, APPLY_QUERY), ("PATCH", ROLE_PATH, APPLY_QUERY), ("PATCH", HPA_PATH, APPLY_QUERY),
        ("GET", "/apis/autoscaling/v2/horizontalpodautoscalers", [("labelSelector", SELECTOR)]),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", [("labelSelector", SELECTOR)]),
        ("GET", "/api/v1/serviceaccounts", [("labelSelector", SELECTOR)]),
        ("GET", "/api/v1/namespaces", [("labelSelector", SELECTOR)]),
    ]
    patches = [r for r in kube.requests if r["method"] == "PATCH"]
    assert {r["content_type"] for r in patches} == {APPLY}
    assert patches[3]["body"] == labelled(HPA)  # the manifest plus the ownership labels, nothing else
    assert [(o["kind"], o["namespace"], o["name"], o["action"]) for o in result["objects"]] == [
        ("Namespace", None, "apps", "create"), ("ServiceAccount", "apps", "orders", "create"),
        ("ClusterRole", None, "reader", "create"), ("HorizontalPodAutoscaler", "apps", "orders", "create")]
    assert [(c["action"], c["resource_type"], c["resource"]) for c in result["changes"]] == [
        ("create", "Namespace", "apps"), ("create", "ServiceAccount", "apps/orders"), ("create", "ClusterRole", "reader"),
        ("create", "HorizontalPodAutoscaler", "apps/orders")]
    assert result["diff"]["after"]["HorizontalPodAutoscaler/apps/orders"]["spec"]["maxReplicas"] == 10
    live = kube.live(HPA_PATH)
    assert live["metadata"]["labels"] == LABELS
    assert [(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]] == [("cairn-platform", "Apply")]
    assert result["cluster"] == {"name": CLUSTER, "endpoint": HOST}


def test_the_bearer_token_is_made_like_aws_eks_get_token(kube, eks):
    run([NAMESPACE])
    tokens = {r["authorization"] for r in kube.requests}
    assert len(tokens) == 1
    token = tokens.pop()
    assert token.startswith("Bearer k8s-aws-v1.")
    encoded = token[len("Bearer k8s-aws-v1."):]
    assert "=" not in encoded
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc.startswith("sts.") and query["Action"] == ["GetCallerIdentity"] and query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/") and "/us-east-1/sts/aws4_request" in query["X-Amz-Credential"][0]


def test_the_ca_file_is_written_for_the_run_and_removed(kube, eks, monkeypatch):
    from kubernetes.client import rest

    seen = []
    original = rest.RESTClientObject.__init__

    def init(self, configuration, *args, **kwargs):
        with open(configuration.ssl_ca_cert, "rb") as ca:
            seen.append((configuration.ssl_ca_cert, ca.read(), configuration.verify_ssl))
        original(self, configuration, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "__init__", init)
    run([NAMESPACE])
    assert seen and seen[0][1] == CA_PEM and seen[0][2] is True
    assert not os.path.exists(seen[0][0])


# ---- rerun, update ----------------------------------------------------------------------------------------
def test_rerun_makes_gets_only_and_changes_nothing(kube, eks):
    run([NAMESPACE, ACCOUNT, HPA])
    version = kube.live(HPA_PATH)["metadata"]["resourceVersion"]
    kube.reset_log()
    result = run([NAMESPACE, ACCOUNT, HPA])
    assert result["changed"] is False and result["changes"] == []
    assert kube.writes() == []
    assert {o["action"] for o in result["objects"]} == {"none"}
    assert kube.live(HPA_PATH)["metadata"]["resourceVersion"] == version


def test_server_defaults_and_other_managers_fields_are_not_a_difference(kube, eks):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "apps"},
                  "spec": {"selector": {"matchLabels": {"app": "orders"}},
                           "template": {"metadata": {"labels": {"app": "orders"}},
                                        "spec": {"containers": [{"name": "orders", "image": "orders:1.2.3", "securityContext": {}}]}}}}
    run([NAMESPACE, deployment])
    path = "/apis/apps/v1/namespaces/apps/deployments/orders"
    live = kube.live(path)
    assert live["spec"]["replicas"] == 1 and live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    kube.seed({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "apps"},
               "spec": {"replicas": 7}}, manager="cluster-autoscaler-ish")  # another manager owns replicas (an HPA would)
    kube.reset_log()
    result = run([NAMESPACE, deployment])
    assert result["changed"] is False and kube.writes() == []


def test_one_field_changed_is_one_apply_with_a_field_diff(kube, eks):
    run([NAMESPACE, HPA])
    changed = json.loads(json.dumps(HPA))
    changed["spec"]["maxReplicas"] = 20
    kube.reset_log()
    result = run([NAMESPACE, changed], diff=True)
    assert kube.writes() == [("PATCH", HPA_PATH, APPLY_QUERY)]
    assert result["changes"] == [{"action": "update", "resource_type": "HorizontalPodAutoscaler", "resource": "apps/orders",
                                  "fields": {"spec.maxReplicas": {"before": 10, "after": 20}}}]
    assert result["diff"] == {"before": {"HorizontalPodAutoscaler/apps/orders": {"spec.maxReplicas": 10}},
                              "after": {"HorizontalPodAutoscaler/apps/orders": {"spec.maxReplicas": 20}}}
    assert [o["action"] for o in result["objects"]] == ["none", "update"]
    assert kube.live(HPA_PATH)["spec"]["maxReplicas"] == 20 and kube.live(HPA_PATH)["metadata"]["generation"] == 2


def test_lists_are_compared_item_by_item(kube, eks):
    run([NAMESPACE, HPA])
    more = json.loads(json.dumps(HPA))
    more["spec"]["metrics"].append({"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}})
    result = run([NAMESPACE, more], check_mode=True)
    assert list(result["changes"][0]["fields"]) == ["spec.metrics"]
    other = json.loads(json.dumps(HPA))
    other["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 60
    result = run([NAMESPACE, other], check_mode=True)
    assert result["changes"][0]["fields"] == {"spec.metrics[0].resource.target.averageUtilization": {"before": 70, "after": 60}}


# ---- check mode -------------------------------------------------------------------------------------------
def test_check_mode_makes_gets_only_and_plans_what_the_real_run_does(kube, eks):
    run([NAMESPACE, HPA])
    changed = json.loads(json.dumps(HPA))
    changed["spec"]["minReplicas"] = 3
    wanted = [NAMESPACE, ACCOUNT, changed]
    kube.reset_log()
    planned = run(wanted, check_mode=True)
    assert {m for m, _p, _q in kube.calls()} == {"GET"}
    assert kube.live(SA_PATH) is None
    real = run(wanted)
    assert planned["changes"] == real["changes"] and planned["objects"] == real["objects"]
    assert [(c["action"], c["resource"]) for c in real["changes"]] == [("create", "apps/orders"), ("update", "apps/orders")]


def test_check_mode_against_a_planned_cluster_plans_every_create_without_any_request(kube, eks):
    eks["exists"] = False
    result = run([NAMESPACE, HPA], check_mode=True)
    assert kube.requests == []
    assert [(c["action"], c["resource_type"]) for c in result["changes"]] == [("create", "Namespace"), ("create", "HorizontalPodAutoscaler")]
    assert result["cluster"]["endpoint"] == "(known after apply)"
    with pytest.raises(ModuleFailed) as failure:
        run([NAMESPACE])
    assert "does not exist" in failure.value.result["msg"] and kube.requests == []


# ---- prune, absent ----------------------------------------------------------------------------------------
def test_prune_deletes_this_stacks_unlisted_objects_of_the_kinds_listed(kube, eks):
    old = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "old", "namespace": "apps"}}
    run([NAMESPACE, ACCOUNT, old, HPA])
    foreign = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "foreign", "namespace": "apps", "labels": {"cairn.platform/stack": "other"}}}
    kube.seed(foreign)
    kube.reset_log()
    result = run([NAMESPACE, ACCOUNT], diff=True)
    assert kube.writes() == [("DELETE", "/api/v1/namespaces/apps/serviceaccounts/old", [("propagationPolicy", "Background")])]
    # The HPA's kind is no longer listed: never pruned; another stack's object: never pruned.
    assert kube.live(HPA_PATH) is not None and kube.live("/api/v1/namespaces/apps/serviceaccounts/foreign") is not None
    assert result["changes"][0]["action"] == "delete" and result["changes"][0]["resource"] == "apps/old"
    assert {"kind": "ServiceAccount", "namespace": "apps", "name": "old", "action": "delete", "api_version": "v1"} in result["objects"]


def test_prune_in_check_mode_lists_but_does_not_delete(kube, eks):
    old = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "old", "namespace": "apps"}}
    run([NAMESPACE, ACCOUNT, old])
    kube.reset_log()
    result = run([NAMESPACE, ACCOUNT], check_mode=True)
    assert kube.writes() == [] and [c["action"] for c in result["changes"]] == ["delete"]
    assert run([NAMESPACE, ACCOUNT], prune=False)["changed"] is False


def test_manifest_set_scopes_the_labels_and_the_prune(kube, eks):
    run([NAMESPACE], manifest_set="base")
    run([ACCOUNT], manifest_set="workloads")
    kube.reset_log()
    result = run([NAMESPACE], manifest_set="base")
    assert result["changed"] is False
    with_set = "app.kubernetes.io/managed-by=cairn.platform,cairn.platform/set=base,cairn.platform/stack=" + STACK
    assert ("GET", "/api/v1/namespaces", [("labelSelector", with_set)]) in kube.calls()
    assert kube.live(SA_PATH)["metadata"]["labels"]["cairn.platform/set"] == "workloads"
    # A task without a set never prunes a set's objects.
    other = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "other", "namespace": "apps"}}
    without_set = run([other])
    assert [(c["action"], c["resource"]) for c in without_set["changes"]] == [("create", "apps/other")]
    assert kube.live(SA_PATH)["metadata"]["labels"]["cairn.platform/set"] == "workloads"


def test_state_absent_deletes_in_reverse_order_only_what_is_ours(kube, eks):
    run([NAMESPACE, ACCOUNT, HPA])
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": {"cairn.platform/stack": "other"}}},
              manager="cairn-platform")
    kube.reset_log()
    result = run([NAMESPACE, ACCOUNT, HPA], state="absent")
    assert kube.writes() == [("DELETE", HPA_PATH, [("propagationPolicy", "Background")]),
                             ("DELETE", SA_PATH, [("propagationPolicy", "Background")])]
    assert any("not deleted" in warning for warning in result["warnings"])
    kube.reset_log()
    again = run([NAMESPACE, ACCOUNT, HPA], state="absent")
    assert again["changed"] is False and kube.writes() == []


# ---- errors -----------------------------------------------------------------------------------------------
def test_an_api_error_becomes_a_sentence_with_the_status_message(kube, eks):
    kube.canned[("PATCH", HPA_PATH)] = (422, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Invalid", "code": 422,
        "message": 'HorizontalPodAutoscaler.autoscaling "orders" is invalid: spec.maxReplicas: Invalid value: 0: must be greater than 0'})
    with pytest.raises(ModuleFailed) as failure:
        run([NAMESPACE, HPA])
    result = failure.value.result
    assert result["msg"] == ('The Kubernetes API refused PATCH of HorizontalPodAutoscaler apps/orders: 422 Invalid: '
                             'HorizontalPodAutoscaler.autoscaling "orders" is invalid: spec.maxReplicas: Invalid value: 0: must be greater than 0.')
    assert result["http_status"] == 422
    assert [c["resource_type"] for c in result["changes"]] == ["Namespace", "HorizontalPodAutoscaler"]  # what was done before


def test_unauthorized_says_what_to_fix(kube, eks):
    kube.canned[("GET", NS_PATH)] = (401, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                           "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    with pytest.raises(ModuleFailed) as failure:
        run([NAMESPACE])
    assert failure.value.result["msg"].startswith("The Kubernetes API refused GET of Namespace apps: 401 Unauthorized: Unauthorized")
    assert "access entry" in failure.value.result["msg"]
    assert kube.writes() == []


def test_a_missing_namespace_is_the_servers_404_message(kube, eks):
    with pytest.raises(ModuleFailed) as failure:
        run([ACCOUNT])
    assert failure.value.result["msg"] == ('The Kubernetes API refused PATCH of ServiceAccount apps/orders: 404 NotFound: '
                                           'namespaces "apps" not found.')


def test_a_conflict_without_force_is_refused_with_the_fields(kube, eks):
    run([NAMESPACE, HPA])
    kube.seed({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "orders", "namespace": "apps"},
               "spec": {"maxReplicas": 30}}, manager="kubectl")
    kube.reset_log()
    with pytest.raises(ModuleFailed) as failure:
        run([NAMESPACE, HPA], force_conflicts=False)
    assert kube.writes() == [("PATCH", HPA_PATH, [("fieldManager", "cairn-platform"), ("force", "false")])]
    assert "409 Conflict" in failure.value.result["msg"] and ".spec.maxReplicas" in failure.value.result["msg"]
    result = run([NAMESPACE, HPA])  # force (the default) takes the field back
    assert result["changes"][0]["fields"] == {"spec.maxReplicas": {"before": 30, "after": 10}}
    assert kube.live(HPA_PATH)["spec"]["maxReplicas"] == 10


def test_server_dry_run_checks_every_apply_before_the_first_write(kube, eks):
    run([NAMESPACE])
    kube.canned[("PATCH", HPA_PATH)] = (422, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                              "reason": "Invalid", "code": 422, "message": "spec.metrics: Required value"})
    kube.reset_log()
    with pytest.raises(ModuleFailed):
        run([NAMESPACE, ACCOUNT, HPA], server_dry_run=True)
    assert kube.writes() == [("PATCH", SA_PATH, APPLY_QUERY + [("dryRun", "All")]), ("PATCH", HPA_PATH, APPLY_QUERY + [("dryRun", "All")])]
    assert kube.live(SA_PATH) is None
    kube.reset_log()
    run([NAMESPACE, ACCOUNT, HPA], server_dry_run=True)
    assert kube.writes() == [("PATCH", SA_PATH, APPLY_QUERY + [("dryRun", "All")]), ("PATCH", HPA_PATH, APPLY_QUERY + [("dryRun", "All")]),
                             ("PATCH", SA_PATH, APPLY_QUERY), ("PATCH", HPA_PATH, APPLY_QUERY)]


def test_an_unreachable_endpoint_is_a_clear_error(kube, eks, monkeypatch):
    import urllib3

    def refuse(*_args, **_kwargs):
        raise urllib3.exceptions.MaxRetryError(None, HOST + NS_PATH, "connection refused")

    monkeypatch.setattr("urllib3.PoolManager.request", refuse)
    with pytest.raises(ModuleFailed) as failure:
        run([NAMESPACE])
    assert failure.value.result["msg"].startswith("Could not reach the Kubernetes API at " + HOST + " while GET Namespace apps")

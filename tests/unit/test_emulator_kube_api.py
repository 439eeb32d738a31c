"""emulator/kube_api.py: the model of the Kubernetes API server behind the emulated EKS endpoints; and the
k8s_resources module end to end against the running emulator (EKS by moto + the project's EKS endpoint model)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from werkzeug.test import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: emulator/ is not a package on the test path
from emulator.kube_api import KubeApiServer  # noqa: E402
from support.modules import run_module  # noqa: E402
from support.network import vpc_with_subnets  # noqa: E402

BASE = "/_eks/us-east-1/demo"
AUTH = {"Authorization": "Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8"}
APPLY = dict(AUTH, **{"Content-Type": "application/apply-patch+yaml"})
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "apps", "labels": {"tier": "front"}},
          "spec": {"selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}
DEPLOY_PATH = BASE + "/apis/apps/v1/namespaces/apps/deployments/web"


@pytest.fixture
def api():
    return Client(KubeApiServer())


def body(response):
    return json.loads(response.get_data())


def apply(api, path, obj, manager="m1", query="", status=None):
    response = api.patch(f"{path}?fieldManager={manager}{query}", data=json.dumps(obj), headers=APPLY)
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)
    return body(response)


def with_ns(api):
    apply(api, BASE + "/api/v1/namespaces/apps", NS, status=201)


# ---- authentication and routing ---------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer abc"}, {"Authorization": "Bearer k8s-aws-v1."}, {"Authorization": "k8s-aws-v1.x"}])
def test_a_request_without_an_eks_bearer_token_is_401(api, headers):
    response = api.get(BASE + "/api/v1/namespaces/apps", headers=headers)
    assert response.status_code == 401
    assert body(response) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                              "reason": "Unauthorized", "code": 401}


def test_get_of_a_missing_object_is_the_servers_404_status(api):
    response = api.get(BASE + "/api/v1/namespaces/apps", headers=AUTH)
    assert response.status_code == 404 and response.headers["Content-Type"] == "application/json"
    assert body(response) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": 'namespaces "apps" not found', "reason": "NotFound",
                              "details": {"name": "apps", "kind": "namespaces"}, "code": 404}
    assert body(api.get(DEPLOY_PATH, headers=AUTH))["message"] == 'deployments.apps "web" not found'
    assert body(api.get(DEPLOY_PATH, headers=AUTH))["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


@pytest.mark.parametrize("path", ["/api/v1/pods", "/apis/batch/v1/namespaces/a/jobs/x", "/apis/autoscaling/v1/namespaces/a/horizontalpodautoscalers/x",
                                  "/api/v1/namespaces/a/namespaces/b", "/version", "/apis"])
def test_unknown_resources_are_404(api, path):
    response = api.get(BASE + path, headers=AUTH)
    assert response.status_code == 404 and body(response)["message"] == "the server could not find the requested resource"


# ---- server-side apply ------------------------------------------------------------------------------------
def test_apply_creates_with_server_set_metadata_and_defaults(api):
    created = apply(api, BASE + "/api/v1/namespaces/apps", NS, status=201)
    meta = created["metadata"]
    assert meta["resourceVersion"] == "5" and len(meta["uid"]) == 36  # after the 4 system namespaces and meta["creationTimestamp"].endswith("Z")
    assert "generation" not in meta  # a Namespace has none
    assert meta["labels"] == {"kubernetes.io/metadata.name": "apps"} and created["status"] == {"phase": "Active"}
    assert [(m["manager"], m["operation"], m["fieldsType"]) for m in meta["managedFields"]] == [("m1", "Apply", "FieldsV1")]
    deployment = apply(api, DEPLOY_PATH, DEPLOY, status=201)
    assert deployment["metadata"]["generation"] == 1 and deployment["metadata"]["resourceVersion"] == "6"
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert deployment["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"] == {"f:labels": {"f:tier": {}}}
    assert body(api.get(DEPLOY_PATH, headers=AUTH)) == deployment


def test_a_no_op_apply_changes_nothing_and_a_change_bumps_versions(api):
    with_ns(api)
    first = apply(api, DEPLOY_PATH, DEPLOY, status=201)
    again = apply(api, DEPLOY_PATH, DEPLOY, status=200)
    assert again == first  # resourceVersion, generation and managedFields time unchanged
    changed = json.loads(json.dumps(DEPLOY))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    updated = apply(api, DEPLOY_PATH, changed, status=200)
    assert int(updated["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert updated["metadata"]["generation"] == 2 and updated["metadata"]["uid"] == first["metadata"]["uid"]
    relabelled = json.loads(json.dumps(changed))
    relabelled["metadata"]["labels"]["tier"] = "back"
    assert apply(api, DEPLOY_PATH, relabelled)["metadata"]["generation"] == 2  # metadata only: no new generation


def test_field_ownership_between_managers(api):
    with_ns(api)
    apply(api, DEPLOY_PATH, DEPLOY, manager="cairn", status=201)
    scaler = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "apps"}, "spec": {"replicas": 5}}
    both = apply(api, DEPLOY_PATH, scaler, manager="hpa", status=200)
    assert [m["manager"] for m in both["metadata"]["managedFields"]] == ["cairn", "hpa"]
    assert both["spec"]["replicas"] == 5 and both["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"
    clash = dict(DEPLOY, spec=dict(DEPLOY["spec"], replicas=2))
    conflict = api.patch(DEPLOY_PATH + "?fieldManager=cairn", data=json.dumps(clash), headers=APPLY)
    assert conflict.status_code == 409 and body(conflict)["reason"] == "Conflict"
    assert body(conflict)["message"] == 'Apply failed with 1 conflict: conflict with "hpa": .spec.replicas'
    taken = apply(api, DEPLOY_PATH, clash, manager="cairn", query="&force=true", status=200)
    assert taken["spec"]["replicas"] == 2
    # The field cairn stops setting goes back to the server default; hpa no longer owns it either.
    dropped = apply(api, DEPLOY_PATH, DEPLOY, manager="cairn", status=200)
    assert dropped["spec"]["replicas"] == 1
    labels_removed = dict(DEPLOY, metadata={"name": "web", "namespace": "apps"})
    assert "tier" not in (apply(api, DEPLOY_PATH, labels_removed, manager="cairn")["metadata"].get("labels") or {})


@pytest.mark.parametrize("query,headers,status,words", [
    ("", APPLY, 422, "fieldManager: Required value"),
    ("?fieldManager=m", dict(AUTH, **{"Content-Type": "application/merge-patch+json"}), 415, "server-side apply"),
    ("?fieldManager=m", dict(AUTH, **{"Content-Type": "application/strategic-merge-patch+json"}), 415, "server-side apply"),
])
def test_apply_requirements(api, query, headers, status, words):
    with_ns(api)
    response = api.patch(DEPLOY_PATH + query, data=json.dumps(DEPLOY), headers=headers)
    assert response.status_code == status and words in body(response)["message"]


@pytest.mark.parametrize("obj,words", [
    (dict(DEPLOY, kind="StatefulSet"), "does not match the request"),
    (dict(DEPLOY, metadata={"name": "other", "namespace": "apps"}), "does not match the name on the URL"),
    (dict(DEPLOY, metadata={"name": "web", "namespace": "other"}), "namespace of the provided object does not match"),
    (dict(DEPLOY, metadata={"name": "web", "namespace": "apps", "managedFields": []}), "managedFields must be nil"),
])
def test_apply_of_a_mismatched_object_is_400(api, obj, words):
    with_ns(api)
    response = api.patch(DEPLOY_PATH + "?fieldManager=m", data=json.dumps(obj), headers=APPLY)
    assert response.status_code == 400 and words in body(response)["message"]


def test_yaml_bodies_are_accepted(api):
    yaml_body = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
    response = api.patch(BASE + "/api/v1/namespaces/apps?fieldManager=kubectl", data=yaml_body, headers=APPLY)
    assert response.status_code == 201


def test_a_namespaced_object_needs_its_namespace(api):
    response = api.patch(DEPLOY_PATH + "?fieldManager=m", data=json.dumps(DEPLOY), headers=APPLY)
    assert response.status_code == 404
    assert body(response)["message"] == 'namespaces "apps" not found' and body(response)["details"] == {"name": "apps", "kind": "namespaces"}


def test_dry_run_answers_without_storing(api):
    with_ns(api)
    dry = apply(api, DEPLOY_PATH, DEPLOY, query="&dryRun=All", status=201)
    assert dry["metadata"]["name"] == "web" and "resourceVersion" not in dry["metadata"]
    assert api.get(DEPLOY_PATH, headers=AUTH).status_code == 404
    apply(api, DEPLOY_PATH, DEPLOY, status=201)
    assert api.delete(DEPLOY_PATH + "?dryRun=All", headers=AUTH).status_code == 200
    assert api.get(DEPLOY_PATH, headers=AUTH).status_code == 200


def test_a_new_cluster_has_the_system_namespaces(api):
    answer = body(api.get(BASE + "/api/v1/namespaces", headers=AUTH))
    assert [item["metadata"]["name"] for item in answer["items"]] == ["default", "kube-node-lease", "kube-public", "kube-system"]
    system = body(api.get(BASE + "/api/v1/namespaces/kube-system", headers=AUTH))
    assert system["metadata"]["managedFields"][0]["manager"] == "kube-apiserver" and system["status"] == {"phase": "Active"}
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"}}
    apply(api, BASE + "/api/v1/namespaces/kube-system/serviceaccounts/cluster-autoscaler", account, status=201)
    labelled = apply(api, BASE + "/api/v1/namespaces/kube-system", dict(NS, metadata={"name": "kube-system", "labels": {"a": "b"}}), status=200)
    assert [(m["manager"], m["operation"]) for m in labelled["metadata"]["managedFields"]] == [("kube-apiserver", "Update"), ("m1", "Apply")]


# ---- lists and deletes ------------------------------------------------------------------------------------
def test_lists_filter_by_namespace_and_label_selector(api):
    with_ns(api)
    apply(api, BASE + "/api/v1/namespaces/ops", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})
    for namespace, name, labels in (("apps", "a", {"team": "x", "tier": "1"}), ("apps", "b", {"team": "y"}), ("ops", "c", {"team": "x"})):
        apply(api, f"{BASE}/api/v1/namespaces/{namespace}/configmaps/{name}",
              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, "labels": labels}}, status=201)

    def names(path, selector=""):
        answer = body(api.get(BASE + path, query_string={"labelSelector": selector} if selector else None, headers=AUTH))
        assert answer["kind"] == "ConfigMapList" and answer["apiVersion"] == "v1"
        assert all("kind" not in item and "apiVersion" not in item for item in answer["items"])
        return [item["metadata"]["name"] for item in answer["items"]]

    assert names("/api/v1/configmaps") == ["a", "b", "c"]
    assert names("/api/v1/namespaces/apps/configmaps") == ["a", "b"]
    assert names("/api/v1/configmaps", "team=x") == ["a", "c"]
    assert names("/api/v1/configmaps", "team==x,tier=1") == ["a"]
    assert names("/api/v1/configmaps", "team!=x") == ["b"]
    assert names("/api/v1/configmaps", "tier") == ["a"]
    assert names("/api/v1/configmaps", "!tier") == ["b", "c"]
    assert names("/api/v1/configmaps", "team in (y, z)") == ["b"]
    assert names("/api/v1/configmaps", "team notin (y)") == ["a", "c"]


def test_delete_answers_a_status_and_a_namespace_takes_its_objects(api):
    with_ns(api)
    created = apply(api, DEPLOY_PATH, DEPLOY, status=201)
    response = api.delete(DEPLOY_PATH, headers=AUTH)
    assert response.status_code == 200
    assert body(response) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": {"name": "web", "group": "apps", "kind": "deployments", "uid": created["metadata"]["uid"]},
                              "code": 200}
    assert api.delete(DEPLOY_PATH, headers=AUTH).status_code == 404
    apply(api, DEPLOY_PATH, DEPLOY, status=201)
    assert api.delete(BASE + "/api/v1/namespaces/apps", headers=AUTH).status_code == 200
    assert api.get(DEPLOY_PATH, headers=AUTH).status_code == 404


def test_clusters_are_separate_and_the_request_log_resets():
    server = KubeApiServer()
    api = Client(server)
    apply(api, BASE + "/api/v1/namespaces/apps", NS, status=201)
    assert api.get("/_eks/eu-west-1/demo/api/v1/namespaces/apps", headers=AUTH).status_code == 404
    assert api.get("/_eks/us-east-1/other/api/v1/namespaces/apps", headers=AUTH).status_code == 404
    log = body(api.get("/_eks/_requests"))
    assert [(r["method"], r["path"]) for r in log] == [
        ("PATCH", BASE + "/api/v1/namespaces/apps"), ("GET", "/_eks/eu-west-1/demo/api/v1/namespaces/apps"),
        ("GET", "/_eks/us-east-1/other/api/v1/namespaces/apps")]
    assert log[0]["query"] == "fieldManager=m1"
    server.reset()
    assert body(api.get("/_eks/_requests")) == []
    assert api.get(BASE + "/api/v1/namespaces/apps", headers=AUTH).status_code == 404


# ---- end to end: the module against the running emulator --------------------------------------------------
def _kube_requests(emulator):
    with urllib.request.urlopen(emulator.endpoint_url + "/_eks/_requests", timeout=10) as answer:
        return json.loads(answer.read())


def _cluster(aws_env, name):
    """An EKS cluster in moto whose endpoint is the kube model's (emulator/server.py routes /_eks/*, and
    emulator/eks_fidelity.py answers endpoint = http://<host>/_eks/<region>/<cluster>); skips without them."""
    try:
        _kube_requests(aws_env)
    except Exception as exc:  # noqa: BLE001 - any failure means the route is not there
        pytest.skip("the emulator does not route /_eks/ to the kube model: {0}".format(exc))
    _vpc_id, subnets = vpc_with_subnets()
    eks = boto3.client("eks", region_name="us-east-1")
    eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": subnets})
    endpoint = eks.describe_cluster(name=name)["cluster"]["endpoint"]
    if "/_eks/us-east-1/" + name not in endpoint:
        pytest.skip("the emulator's EKS answer does not point at the kube model (endpoint {0})".format(endpoint))
    return endpoint


def test_module_end_to_end_against_the_emulator(aws_env):
    _cluster(aws_env, "e2e")
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "apps"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5}}
    args = dict(environment="test", stack="test-us-east-1", cluster_name="e2e", manifests=[NS, hpa])

    planned = run_module("k8s_resources", args, check_mode=True)
    assert {r["method"] for r in _kube_requests(aws_env)} == {"GET"}
    created = run_module("k8s_resources", args)
    assert [c["action"] for c in created["changes"]] == [c["action"] for c in planned["changes"]] == ["create", "create"]
    assert [r["method"] for r in _kube_requests(aws_env)].count("PATCH") == 2
    before = len(_kube_requests(aws_env))
    rerun = run_module("k8s_resources", args)
    assert rerun["changed"] is False
    assert {r["method"] for r in _kube_requests(aws_env)[before:]} == {"GET"}
    bigger = dict(hpa, spec=dict(hpa["spec"], maxReplicas=9))
    updated = run_module("k8s_resources", dict(args, manifests=[NS, bigger]))
    assert updated["changes"][0]["fields"] == {"spec.maxReplicas": {"before": 5, "after": 9}}
    annotated = dict(bigger, metadata=dict(bigger["metadata"], annotations={"cairn.example/owner": "web-team"}))
    run_module("k8s_resources", dict(args, manifests=[NS, annotated]))
    dropped = run_module("k8s_resources", dict(args, manifests=[NS, bigger]))  # the annotation is no longer listed
    assert dropped["changes"][0]["fields"] == {"metadata.annotations": {"before": {"cairn.example/owner": "web-team"}, "after": None}}
    assert run_module("k8s_resources", dict(args, manifests=[NS, bigger]))["changed"] is False
    gone = run_module("k8s_resources", dict(args, manifests=[NS, bigger], state="absent"))
    assert [c["resource_type"] for c in gone["changes"]] == ["HorizontalPodAutoscaler", "Namespace"]


def test_the_compute_templates_apply_and_rerun_clean_on_the_emulator(aws_env):
    from test_compute_manifests import SAMPLE_VARS, plain, render

    _cluster(aws_env, SAMPLE_VARS["compute_cluster_name"])
    manifests = [plain(obj) for name in ("namespaces.yml.j2", "service_accounts.yml.j2", "cluster_autoscaler.yml.j2", "hpa.yml.j2")
                 for obj in render(name)]
    args = dict(environment="test", stack="test-us-east-1", cluster_name=SAMPLE_VARS["compute_cluster_name"], manifests=manifests)
    created = run_module("k8s_resources", args)
    assert len(created["changes"]) == len(manifests) == 13
    assert [o["kind"] for o in created["objects"]][:3] == ["Namespace"] * 3
    before = len(_kube_requests(aws_env))
    rerun = run_module("k8s_resources", args)
    assert rerun["changed"] is False and {r["method"] for r in _kube_requests(aws_env)[before:]} == {"GET"}

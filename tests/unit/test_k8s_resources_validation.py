"""k8s_resources: input checks (before any call), the kind table's paths, the comparison and the token."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from support.modules import ModuleFailed, run_module

from ansible_collections.cairn.platform.plugins.module_utils.aws import AwsConnection
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.k8s_resources import (
    KINDS,
    api_error,
    build_manifests,
    collection_path,
    differences,
    eks_token,
    object_path,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

STACK = "prod-us-east-1"
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
SA = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "orders", "namespace": "apps"}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "apps"}, "spec": {}}
CROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cluster-autoscaler"}, "rules": []}


def refused(manifests, stack=STACK, manifest_set=None):
    with pytest.raises(InputError) as failure:
        build_manifests(manifests, stack, manifest_set)
    return failure.value.message


# ---- the kind table ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("api_version,kind,namespace,path", [
    ("v1", "Namespace", None, "/api/v1/namespaces/x"),
    ("v1", "ServiceAccount", "apps", "/api/v1/namespaces/apps/serviceaccounts/x"),
    ("v1", "ConfigMap", "apps", "/api/v1/namespaces/apps/configmaps/x"),
    ("v1", "Service", "apps", "/api/v1/namespaces/apps/services/x"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", None, "/apis/rbac.authorization.k8s.io/v1/clusterroles/x"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/x"),
    ("rbac.authorization.k8s.io/v1", "Role", "apps", "/apis/rbac.authorization.k8s.io/v1/namespaces/apps/roles/x"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "apps", "/apis/rbac.authorization.k8s.io/v1/namespaces/apps/rolebindings/x"),
    ("apps/v1", "Deployment", "apps", "/apis/apps/v1/namespaces/apps/deployments/x"),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "apps", "/apis/autoscaling/v2/namespaces/apps/horizontalpodautoscalers/x"),
    ("policy/v1", "PodDisruptionBudget", "apps", "/apis/policy/v1/namespaces/apps/poddisruptionbudgets/x"),
    ("v1", "Secret", "apps", "/api/v1/namespaces/apps/secrets/x"),
    ("networking.k8s.io/v1", "IngressClass", None, "/apis/networking.k8s.io/v1/ingressclasses/x"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", None,
     "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/x"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", None,
     "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/x"),
    ("elbv2.k8s.aws/v1beta1", "IngressClassParams", None, "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams/x"),
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", "apps", "/apis/elbv2.k8s.aws/v1beta1/namespaces/apps/targetgroupbindings/x"),
])
def test_paths_of_every_kind(api_version, kind, namespace, path):
    assert object_path(api_version, kind, namespace, "x") == path
    assert collection_path(api_version, kind) == path.rsplit("/", 1)[0].replace("/namespaces/apps", "")


def test_the_table_has_exactly_the_documented_kinds():
    assert len(KINDS) == 18
    assert KINDS[("apiextensions.k8s.io/v1", "CustomResourceDefinition")][2] < KINDS[("v1", "Namespace")][2] \
        < KINDS[("v1", "ServiceAccount")][2] < KINDS[("rbac.authorization.k8s.io/v1", "Role")][2] \
        < KINDS[("apps/v1", "Deployment")][2] < KINDS[("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")][2] \
        < KINDS[("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")][2]


# ---- manifests --------------------------------------------------------------------------------------------
def test_manifests_are_labelled_and_sorted_namespaces_accounts_rbac_rest():
    out = build_manifests([DEPLOY, CROLE, None, SA, NS], STACK, None)
    assert [(m["kind"], m["metadata"]["name"]) for m in out] == [
        ("Namespace", "apps"), ("ServiceAccount", "orders"), ("ClusterRole", "cluster-autoscaler"), ("Deployment", "orders")]
    assert out[0]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "cairn.platform", "cairn.platform/stack": STACK}
    assert "labels" not in NS["metadata"]  # the input is not modified
    with_set = build_manifests([NS], STACK, "base")
    assert with_set[0]["metadata"]["labels"]["cairn.platform/set"] == "base"


@pytest.mark.parametrize("manifest,words", [
    ("apiVersion: v1", "must be a mapping"),
    ({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "a"}}, "not a kind this module applies"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "a"}}, "not a kind this module applies"),
    ({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x", "namespace": "a"}}, "autoscaling/v2"),
    ({"apiVersion": "v1", "kind": "Namespace"}, "metadata (with at least a name) is required"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "metadata.name is required"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Apps"}}, "is not valid for a Namespace"),
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web", "namespace": "a"}}, "DNS-1035"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web_1", "namespace": "a"}}, "DNS subdomain"),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "a/b"}}, "path segment"),
    ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}}, "metadata.namespace is required"),
    ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "Bad_ns"}}, "not a valid namespace"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "namespace": "y"}}, "cluster-scoped"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "resourceVersion": "5"}}, "set by the API server"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "managedFields": []}}, "set by the API server"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "status": {"phase": "Active"}}, "status is written by controllers"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"tier": 1}}}, "must be a string (quote it"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "annotations": {"a": True}}}, "must be a string"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"cairn.platform/stack": "other"}}}, "set by the module"),
])
def test_bad_manifests_are_refused(manifest, words):
    assert words in refused([manifest])


def test_duplicates_and_bad_label_values_are_refused():
    assert "listed twice (also manifests[0])" in refused([NS, NS])
    assert refused([NS], stack="x" * 64).startswith("stack:")
    assert refused([NS], manifest_set="has space").startswith("manifest_set:")


def test_bad_input_fails_before_any_call(monkeypatch):
    def no_client(self, service):
        raise AssertionError("a client was made for " + service)

    monkeypatch.setattr(AwsConnection, "client", no_client)
    args = dict(environment="prod", stack=STACK, region="us-east-1", access_key="a", secret_key="b", cluster_name="c")
    for bad in ([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}], [SA, SA]):
        with pytest.raises(ModuleFailed) as failure:
            run_module("k8s_resources", dict(args, manifests=bad))
        assert failure.value.result["changes"] == []
    with pytest.raises(ModuleFailed) as failure:
        run_module("k8s_resources", dict(args, manifests=[NS], request_timeout=0))
    assert "request_timeout" in failure.value.result["msg"]


# ---- comparison -------------------------------------------------------------------------------------------
def test_only_the_fields_the_manifest_sets_are_compared():
    live = {"spec": {"replicas": 3, "strategy": {"type": "RollingUpdate"}, "template": {"spec": {"containers": [
        {"name": "a", "image": "a:1", "imagePullPolicy": "IfNotPresent"}]}}}, "status": {"x": 1}}
    assert differences({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}}}, live) == []
    assert differences({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}}}, live) == [
        ("spec.template.spec.containers[0].image", "a:1", "a:2")]
    two = [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
    assert differences({"spec": {"template": {"spec": {"containers": two}}}}, live)[0][0] == "spec.template.spec.containers"
    assert differences({"spec": {"paused": True}}, live) == [("spec.paused", None, True)]


def test_scalars_are_compared_as_given_and_empties_match_absent():
    assert differences({"cpu": "500m"}, {"cpu": "0.5"}) == [("cpu", "0.5", "500m")]
    assert differences({"a": {}, "b": [], "c": None}, {}) == []
    assert differences({"a": {}}, {"a": None}) == []
    assert differences({"a": {"b": 1}}, {"a": "x"}) == [("a", "x", {"b": 1})]


# ---- token and errors -------------------------------------------------------------------------------------
def test_eks_token_is_a_presigned_get_caller_identity_with_the_cluster_header():
    sts = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="eu-west-1").client("sts")
    token = eks_token(sts, "my-cluster")
    assert token.startswith("k8s-aws-v1.") and not token.endswith("=")
    body = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert eks_token(sts, "my-cluster").startswith("k8s-aws-v1.")  # handlers registered once, still works


class _Exc:
    def __init__(self, status, body, reason="Reason"):
        self.status, self.body, self.reason = status, body, reason


def test_api_errors_carry_the_status_message_and_a_hint():
    error = api_error(_Exc(403, '{"kind":"Status","message":"forbidden: User cannot patch","reason":"Forbidden","code":403}'),
                      "PATCH", "Deployment apps/x")
    assert error.message.startswith("The Kubernetes API refused PATCH of Deployment apps/x: 403 Forbidden: forbidden: User cannot patch")
    assert "AmazonEKSClusterAdminPolicy" in error.message and error.details["http_status"] == 403
    assert "not json" in api_error(_Exc(500, "not json"), "GET", "x").message
    assert api_error(_Exc(0, None, "SSLError"), "GET", "x").message.startswith("Could not reach the Kubernetes API")


def test_a_field_we_applied_and_no_longer_set_is_a_difference():
    from ansible_collections.cairn.platform.plugins.modules.k8s_resources import abandoned_fields, owned_fields

    live = {"metadata": {"name": "api", "labels": {"team": "a", "tier": "web"}, "managedFields": [
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:other": {}}}}},
        {"manager": "cairn-platform", "operation": "Apply", "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:team": {}, "f:tier": {}}},
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {'k:{"name":"api"}': {}}}}}}}]},
        "spec": {"replicas": 2}}
    owned = owned_fields(live, "cairn-platform")
    desired = {"metadata": {"name": "api", "labels": {"team": "a"}}, "spec": {"template": {"spec": {"containers": []}}}}
    assert abandoned_fields(owned, desired) == ["metadata.labels.tier", "spec.replicas"]
    assert abandoned_fields(owned_fields(live, "someone-else"), desired) == []
    same = {"metadata": {"name": "api", "labels": {"team": "a", "tier": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "api"}]}}}}
    assert abandoned_fields(owned, same) == []


# ---- counts the API server refuses ---------------------------------------------------------------------------
def hpa(**spec):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "orders", "namespace": "apps"},
            "spec": dict({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"}}, **spec)}


def pdb(**spec):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "orders", "namespace": "apps"}, "spec": spec}


@pytest.mark.parametrize("spec,words", [
    (dict(minReplicas=5, maxReplicas=3), "spec.minReplicas 5 is above spec.maxReplicas 3"),
    (dict(minReplicas=2, maxReplicas=0), "spec.maxReplicas is 0; it must be at least 1"),
    (dict(minReplicas=0, maxReplicas=3), "spec.minReplicas is 0; it must be at least 1"),
    (dict(minReplicas=-1, maxReplicas=3), "spec.minReplicas is -1"),
    (dict(maxReplicas=-2), "spec.maxReplicas is -2"),
])
def test_hpa_replica_ranges_are_refused_naming_the_object_and_values(spec, words):
    message = refused([hpa(**spec)])
    assert message.startswith("manifests[0] (HorizontalPodAutoscaler apps/orders): ") and words in message


@pytest.mark.parametrize("spec", [dict(minReplicas=2, maxReplicas=10), dict(minReplicas=3, maxReplicas=3), dict(maxReplicas=1)])
def test_valid_hpa_ranges_are_accepted(spec):
    assert build_manifests([hpa(**spec)], STACK, None)[0]["spec"]["maxReplicas"] == spec["maxReplicas"]


def test_negative_deployment_replicas_are_refused():
    message = refused([dict(DEPLOY, spec={"replicas": -1})])
    assert message == "manifests[0] (Deployment apps/orders): spec.replicas is -1; it must be 0 or more."
    assert build_manifests([dict(DEPLOY, spec={"replicas": 0})], STACK, None)[0]["spec"]["replicas"] == 0


def test_a_pdb_with_both_bounds_is_refused():
    message = refused([pdb(minAvailable=1, maxUnavailable="50%")])
    assert message.startswith("manifests[0] (PodDisruptionBudget apps/orders): spec.minAvailable (1) and spec.maxUnavailable ('50%')")
    assert build_manifests([pdb(maxUnavailable=1)], STACK, None) and build_manifests([pdb(minAvailable="50%")], STACK, None)

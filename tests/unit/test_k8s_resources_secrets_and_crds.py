"""k8s_resources: the kinds added for the AWS Load Balancer Controller. The kind table in step with the emulator's;
generated TLS Secrets whose data never reaches changes, diff or the result and is never rewritten once present; CA
injection into webhook configurations; CustomResourceDefinitions applied first and waited for; custom kinds whose CRD
is not installed yet. HTTP-level, with the fixtures of test_k8s_resources_http (the kube model answers the requests)."""

from __future__ import annotations

import base64
import datetime
import json
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.test import Client

from support.modules import ModuleFailed

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: emulator/ is not a package on the test path
from emulator import kube_api  # noqa: E402
from test_k8s_resources_http import CLUSTER, LABELS, eks, kube, run  # noqa: E402,F401 pylint: disable=unused-import

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError  # noqa: E402
from ansible_collections.cairn.platform.plugins.modules.k8s_resources import (  # noqa: E402
    KINDS,
    REDACTED,
    build_manifests,
    build_spec,
    crd_name,
    generate_tls,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

STACK = "prod-us-east-1"
NAMES = "hooks.kube-system,hooks.kube-system.svc,hooks.kube-system.svc.cluster.local"
SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
          "metadata": {"name": "hooks-tls", "namespace": "kube-system", "annotations": {"cairn.platform/generate-tls": NAMES}}}
WEBHOOK = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
           "metadata": {"name": "hooks", "annotations": {"cairn.platform/inject-ca-from": "kube-system/hooks-tls"}},
           "webhooks": [{"name": "v1.hooks.example", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                         "clientConfig": {"service": {"name": "hooks", "namespace": "kube-system", "path": "/validate"}},
                         "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                        {"name": "v2.hooks.example", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                         "clientConfig": {"service": {"name": "hooks", "namespace": "kube-system", "path": "/validate2"}}}]}
SECRET_PATH = "/api/v1/namespaces/kube-system/secrets/hooks-tls"
WEBHOOK_PATH = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/hooks"
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
       "spec": {"group": "elbv2.k8s.aws", "scope": "Namespaced",
                "names": {"kind": "TargetGroupBinding", "listKind": "TargetGroupBindingList", "plural": "targetgroupbindings",
                          "singular": "targetgroupbinding"},
                "versions": [{"name": "v1beta1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/targetgroupbindings.elbv2.k8s.aws"
TGB = {"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding", "metadata": {"name": "orders", "namespace": "kube-system"},
       "spec": {"serviceRef": {"name": "orders", "port": 8080}, "targetType": "ip",
                "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders/0123456789abcdef"}}
TGB_PATH = "/apis/elbv2.k8s.aws/v1beta1/namespaces/kube-system/targetgroupbindings/orders"


def refused(manifests):
    with pytest.raises(InputError) as failure:
        build_manifests(manifests, STACK, None)
    return failure.value.message


def everything_said(result):
    return json.dumps(result, default=str)


def secret_values(live):
    return list((live.get("data") or {}).values()) + [
        base64.b64decode(value).decode() for value in (live.get("data") or {}).values()]


# ---- the kind table ---------------------------------------------------------------------------------------
def test_the_module_and_the_emulator_serve_the_same_kinds():
    assert set(KINDS) == set(kube_api.KINDS)
    for key, (plural, namespaced, _rank) in KINDS.items():
        assert kube_api.KINDS[key][:2] == (plural, namespaced), key
    custom = {key for key in KINDS if crd_name(*key)}
    assert custom == kube_api.CUSTOM_KINDS == {("elbv2.k8s.aws/v1beta1", "IngressClassParams"), ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")}
    assert crd_name("elbv2.k8s.aws/v1beta1", "TargetGroupBinding") == "targetgroupbindings.elbv2.k8s.aws"


def test_crds_first_custom_resources_after_the_rest_webhook_configurations_last():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hooks", "namespace": "kube-system"}, "spec": {}}
    out = build_manifests([WEBHOOK, TGB, SECRET, service, CRD], STACK, None)
    assert [m["kind"] for m in out] == ["CustomResourceDefinition", "Secret", "Service", "TargetGroupBinding",
                                        "ValidatingWebhookConfiguration"]


# ---- input checks -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change,words", [
    (lambda s: s.update(data={"tls.key": "c2VjcmV0"}), "a Secret's data cannot be given"),
    (lambda s: s.update(stringData={"password": "hunter2"}), "a Secret's stringData cannot be given"),
    (lambda s: s["metadata"].pop("annotations"), "needs the annotation cairn.platform/generate-tls"),
    (lambda s: s["metadata"]["annotations"].update({"cairn.platform/generate-tls": " , "}), "at least one DNS name"),
    (lambda s: s["metadata"]["annotations"].update({"cairn.platform/generate-tls": "Hooks_Svc"}), "is not a DNS name"),
    (lambda s: s.update(type="Opaque"), "has type kubernetes.io/tls"),
    (lambda s: s.update(immutable=True), "cannot be immutable"),
])
def test_a_secret_is_applied_only_with_data_the_module_makes(change, words):
    secret = json.loads(json.dumps(SECRET))
    change(secret)
    message = refused([secret])
    assert message.startswith("manifests[0] (Secret hooks-tls): ") and words in message
    assert "hunter2" not in message and "c2VjcmV0" not in message


def test_ca_injection_and_crd_names_are_checked_before_any_call():
    assert "belongs on a Secret" in refused([dict(WEBHOOK, metadata=dict(WEBHOOK["metadata"], annotations={
        "cairn.platform/generate-tls": "a.b"}))])
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "x", "namespace": "a", "annotations": {"cairn.platform/inject-ca-from": "kube-system/hooks-tls"}}}
    assert "applies to MutatingWebhookConfiguration and ValidatingWebhookConfiguration only" in refused([deployment])
    assert "which is not among the manifests" in refused([WEBHOOK])
    bad_source = json.loads(json.dumps(WEBHOOK))
    bad_source["metadata"]["annotations"]["cairn.platform/inject-ca-from"] = "hooks-tls"
    assert "must be <namespace>/<secret name>" in refused([SECRET, bad_source])
    with_bundle = json.loads(json.dumps(WEBHOOK))
    with_bundle["webhooks"][1]["clientConfig"]["caBundle"] = "Zm9v"
    assert "webhooks[1].clientConfig.caBundle is filled in from kube-system/hooks-tls" in refused([SECRET, with_bundle])
    misnamed = json.loads(json.dumps(CRD))
    misnamed["metadata"]["name"] = "tgbs.elbv2.k8s.aws"
    assert "'targetgroupbindings.elbv2.k8s.aws'" in refused([misnamed])
    with pytest.raises(InputError, match="wait_timeout must be 0 or more"):
        build_spec(dict(stack=STACK, cluster_name="c", field_manager="m", request_timeout=5, wait_timeout=-1, manifests=[]))


# ---- the generated certificate ----------------------------------------------------------------------------
def test_generated_tls_data_is_a_ca_and_a_serving_certificate_for_the_names():
    names = NAMES.split(",")
    data = generate_tls(names)
    assert set(data) == {"ca.crt", "tls.crt", "tls.key"}
    ca = x509.load_pem_x509_certificate(base64.b64decode(data["ca.crt"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))
    key = serialization.load_pem_private_key(base64.b64decode(data["tls.key"]), password=None)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == names
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc < now and cert.not_valid_after_utc - now > datetime.timedelta(days=3649)
    assert generate_tls(names)["tls.key"] != data["tls.key"]  # a new key each time it is generated


# ---- Secrets and CA injection over HTTP -------------------------------------------------------------------
def test_a_generated_secret_is_created_once_redacted_everywhere_and_its_ca_injected(kube, eks):
    result = run([WEBHOOK, SECRET], diff=True)
    live_secret, live_webhook = kube.live(SECRET_PATH), kube.live(WEBHOOK_PATH)
    assert sorted(live_secret["data"]) == ["ca.crt", "tls.crt", "tls.key"] and live_secret["type"] == "kubernetes.io/tls"
    assert [w["clientConfig"]["caBundle"] for w in live_webhook["webhooks"]] == [live_secret["data"]["ca.crt"]] * 2
    # The Secret's data is in neither changes nor diff nor anywhere else in the result.
    (secret_change,) = [c for c in result["changes"] if c["resource_type"] == "Secret"]
    assert secret_change["fields"]["data"] == {"before": None, "after": {"ca.crt": REDACTED, "tls.crt": REDACTED, "tls.key": REDACTED}}
    assert result["diff"]["after"]["Secret/kube-system/hooks-tls"]["data"] == {"ca.crt": REDACTED, "tls.crt": REDACTED, "tls.key": REDACTED}
    said = everything_said(result)
    for value in secret_values(live_secret):
        if "PRIVATE KEY" in value or value == live_secret["data"]["tls.key"]:
            assert value not in said
    patches = [r for r in kube.requests if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [SECRET_PATH, WEBHOOK_PATH]  # the Secret first: its CA goes into the webhooks
    # A rerun keeps the Secret as it is: GET requests only, nothing changed, nothing said.
    kube.reset_log()
    again = run([WEBHOOK, SECRET], diff=True)
    assert again["changed"] is False and kube.writes() == []
    assert kube.live(SECRET_PATH)["data"] == live_secret["data"]
    assert kube.live(SECRET_PATH)["metadata"]["resourceVersion"] == live_secret["metadata"]["resourceVersion"]


def test_check_mode_plans_the_secret_redacted_and_the_ca_as_known_after_apply(kube, eks):
    planned = run([WEBHOOK, SECRET], check_mode=True, diff=True)
    assert {m for m, _p, _q in kube.calls()} == {"GET"} and kube.live(SECRET_PATH) is None
    real = run([WEBHOOK, SECRET], diff=True)
    secret_changes = [[c for c in r["changes"] if c["resource_type"] == "Secret"] for r in (planned, real)]
    assert secret_changes[0] == secret_changes[1]
    webhook = planned["diff"]["after"]["ValidatingWebhookConfiguration/hooks"]
    assert {w["clientConfig"]["caBundle"] for w in webhook["webhooks"]} == {"(known after apply)"}
    assert [(c["action"], c["resource"]) for c in planned["changes"]] == [(c["action"], c["resource"]) for c in real["changes"]]


def test_an_incomplete_secret_is_filled_and_the_change_is_redacted(kube, eks):
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    partial = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
               "metadata": {"name": "hooks-tls", "namespace": "kube-system"}, "data": {"tls.crt": "b2xkLWNlcnQ=", "tls.key": "b2xkLWtleQ=="}}
    kube.seed(partial)
    result = run([SECRET, WEBHOOK])
    (change,) = [c for c in result["changes"] if c["resource_type"] == "Secret"]
    assert change["action"] == "update"
    for path, values in change["fields"].items():
        if path.startswith("data"):
            assert values["after"] == REDACTED and values["before"] in (REDACTED, None), (path, values)
    assert "b2xkLWtleQ==" not in everything_said(result) and "old-key" not in everything_said(result)
    live = kube.live(SECRET_PATH)
    assert sorted(live["data"]) == ["ca.crt", "tls.crt", "tls.key"] and live["data"]["tls.key"] != "b2xkLWtleQ=="
    assert kube.live(WEBHOOK_PATH)["webhooks"][0]["clientConfig"]["caBundle"] == live["data"]["ca.crt"]


def test_a_complete_secret_made_elsewhere_is_kept_and_its_ca_used(kube, eks):
    """Like Helm's keepTLSSecret: a controller installed with Helm keeps its certificate."""
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    made = generate_tls(NAMES.split(","))
    kube.seed({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "data": made,
               "metadata": {"name": "hooks-tls", "namespace": "kube-system"}}, manager="helm")
    result = run([SECRET, WEBHOOK], diff=True)
    (change,) = [c for c in result["changes"] if c["resource_type"] == "Secret"]
    assert change["action"] == "update" and not any(path.startswith("data") for path in change["fields"])
    assert kube.live(SECRET_PATH)["data"] == made
    assert kube.live(WEBHOOK_PATH)["webhooks"][1]["clientConfig"]["caBundle"] == made["ca.crt"]
    assert made["tls.key"] not in everything_said(result)
    assert kube.live(SECRET_PATH)["metadata"]["labels"] == LABELS


def test_deleting_a_secret_says_nothing_of_its_data(kube, eks):
    run([SECRET, WEBHOOK])
    key = kube.live(SECRET_PATH)["data"]["tls.key"]
    gone = run([SECRET, WEBHOOK], state="absent", diff=True)
    assert [c["resource_type"] for c in gone["changes"]] == ["ValidatingWebhookConfiguration", "Secret"]
    assert key not in everything_said(gone) and kube.live(SECRET_PATH) is None


# ---- CustomResourceDefinitions and custom resources -------------------------------------------------------
def test_a_crd_is_applied_and_established_before_its_kind(kube, eks):
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    kube.reset_log()
    planned = run([TGB, CRD], check_mode=True)
    # Before the CRD exists the kind is not served: its GET and its list answer 404, planned as a create.
    selector = [("labelSelector", "app.kubernetes.io/managed-by=cairn.platform,cairn.platform/stack=" + STACK + ",!cairn.platform/set")]
    assert kube.calls() == [("GET", CRD_PATH, []), ("GET", TGB_PATH, []),
                            ("GET", "/apis/elbv2.k8s.aws/v1beta1/targetgroupbindings", selector),
                            ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", selector)]
    assert [(c["action"], c["resource_type"]) for c in planned["changes"]] == [("create", "CustomResourceDefinition"), ("create", "TargetGroupBinding")]
    kube.reset_log()
    created = run([TGB, CRD])
    assert [(m, p) for m, p, _q in kube.calls()][:5] == [("GET", CRD_PATH), ("GET", TGB_PATH), ("PATCH", CRD_PATH), ("GET", CRD_PATH),
                                                         ("PATCH", TGB_PATH)]
    assert created["changes"] == planned["changes"] and created["waited_seconds"] >= 0
    assert kube.live(TGB_PATH)["spec"]["targetType"] == "ip"
    kube.reset_log()
    assert run([TGB, CRD])["changed"] is False and kube.writes() == []


def test_a_crd_that_never_becomes_established_times_out(kube, eks, monkeypatch):
    monkeypatch.setattr(kube_api, "_crd_status", lambda crd, previous: {})  # an API server that never establishes it
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    with pytest.raises(ModuleFailed) as failure:
        run([CRD, TGB], wait_timeout=0)
    assert "Timed out waiting for CustomResourceDefinition targetgroupbindings.elbv2.k8s.aws to be Established" in failure.value.result["msg"]
    assert [(m, p) for m, p, _q in kube.calls()][-2:] == [("PATCH", CRD_PATH), ("GET", CRD_PATH)]  # the binding is not applied
    assert [c["resource_type"] for c in failure.value.result["changes"]] == ["CustomResourceDefinition"]


def test_without_wait_the_crd_is_not_read_again(kube, eks):
    kube.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    kube.reset_log()
    run([CRD, TGB], wait=False, prune=False)
    assert [(m, p) for m, p, _q in kube.calls()] == [("GET", CRD_PATH), ("GET", TGB_PATH), ("PATCH", CRD_PATH), ("PATCH", TGB_PATH)]


# ---- the emulator's model of the new kinds ----------------------------------------------------------------
def test_the_model_serves_a_custom_kind_only_while_its_crd_exists():
    api = Client(kube_api.KubeApiServer())
    base, auth = "/_eks/us-east-1/" + CLUSTER, {"Authorization": "Bearer k8s-aws-v1.x"}
    apply_headers = dict(auth, **{"Content-Type": "application/apply-patch+yaml"})
    assert api.get(base + TGB_PATH, headers=auth).status_code == 404
    assert json.loads(api.get(base + TGB_PATH, headers=auth).get_data())["message"] == "the server could not find the requested resource"
    assert api.patch(base + TGB_PATH + "?fieldManager=m", data=json.dumps(TGB), headers=apply_headers).status_code == 404
    created = api.patch(base + CRD_PATH + "?fieldManager=m", data=json.dumps(CRD), headers=apply_headers)
    assert created.status_code == 201
    status = json.loads(created.get_data())["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {"NamesAccepted": "True", "Established": "True"}
    assert status["acceptedNames"]["kind"] == "TargetGroupBinding" and status["storedVersions"] == ["v1beta1"]
    assert api.patch(base + TGB_PATH + "?fieldManager=m", data=json.dumps(TGB), headers=apply_headers).status_code == 201
    again = api.patch(base + CRD_PATH + "?fieldManager=m", data=json.dumps(CRD), headers=apply_headers)
    assert json.loads(again.get_data())["metadata"]["resourceVersion"] == json.loads(created.get_data())["metadata"]["resourceVersion"]
    assert api.delete(base + CRD_PATH, headers=auth).status_code == 200
    assert api.get(base + TGB_PATH, headers=auth).status_code == 404  # not served, and gone with its CRD
    api.patch(base + CRD_PATH + "?fieldManager=m", data=json.dumps(CRD), headers=apply_headers)
    assert api.get(base + TGB_PATH, headers=auth).status_code == 404


def test_the_model_defaults_a_secrets_type():
    api = Client(kube_api.KubeApiServer())
    base, headers = "/_eks/us-east-1/" + CLUSTER, {"Authorization": "Bearer k8s-aws-v1.x", "Content-Type": "application/apply-patch+yaml"}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}, "data": {"a": "Yg=="}}
    answer = api.patch(base + "/api/v1/namespaces/default/secrets/s?fieldManager=m", data=json.dumps(secret), headers=headers)
    assert answer.status_code == 201 and json.loads(answer.get_data())["type"] == "Opaque"

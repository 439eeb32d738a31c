"""roles/load_balancing/templates: the AWS Load Balancer Controller v2.13.3 (as its Helm chart renders it with default
values) and one TargetGroupBinding per microservice, rendered the way the role gets them (Ansible's Templar,
`lookup('template', ...) | from_yaml_all`).

Checked offline: the built-in kinds with kubernetes-validate --strict for Kubernetes 1.31 and 1.32 (the cluster's
version and the next minor); the custom resources against the openAPIV3Schema of the CRDs the template ships (made
structural: a field the schema does not name would be pruned by the API server, so it fails here); the CRDs and the
IRSA role's policy byte-for-byte against the v2.13.3 release (hashes of the upstream files); the Deployment's
arguments; the IRSA annotation against the role's trusted subject; k8s_resources' pure validation of every object; and
a converge, a rerun with no write and a check-mode plan through k8s_resources against the emulator.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import urllib.request
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from cryptography import x509

from support.modules import run_module
from test_compute_manifests import plain
from test_shipped_policies import render as render_iam_vars

from ansible_collections.cairn.platform.plugins.modules.iam_roles import build_spec as iam_build_spec
from ansible_collections.cairn.platform.plugins.modules.k8s_resources import KINDS, REDACTED, build_manifests

TEMPLATES = Path(__file__).resolve().parents[2] / "roles" / "load_balancing" / "templates"
VERSIONS = ("1.31.0", "1.32.0")
ACCOUNT = "123456789012"
ROLE_ARN = "arn:aws:iam::{0}:role/cairn/prod-us-east-1-eks-lb-controller".format(ACCOUNT)
IMAGE = "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon/aws-load-balancer-controller:v2.13.3"
ALB_SG = "sg-0a1b2c3d4e5f60718"
VPC = "vpc-0123456789abcdef0"
TG = "arn:aws:elasticloadbalancing:us-east-1:{0}:targetgroup/prod-us-east-1-{1}/0123456789abcdef"
CONTROLLER = "aws_load_balancer_controller.yml.j2"
BINDINGS = "target_group_bindings.yml.j2"

SAMPLE_VARS = {
    "cairn_region": "us-east-1",
    "compute_cluster_name": "prod-us-east-1",
    "load_balancing_vpc_id": VPC,
    "load_balancing_controller_role_arn": ROLE_ARN,
    "load_balancing_controller_image": IMAGE,
    "load_balancing_alb_security_group_id": ALB_SG,
    "load_balancing_app_port": 8080,
    "load_balancing_services": [
        {"name": "orders", "namespace": "apps", "port": 8080, "target_group_arn": TG.format(ACCOUNT, "orders")},
        {"name": "web", "namespace": "apps", "port": 80, "target_port": 3000, "target_group_arn": TG.format(ACCOUNT, "web")},
        {"name": "reports", "namespace": "batch", "target_group_arn": TG.format(ACCOUNT, "reports")},
    ],
}

# sha256 of the canonical JSON (sorted keys, no spaces) of kubernetes-sigs/aws-load-balancer-controller v2.13.3's
# docs/install/iam_policy.json and of the two documents of helm/aws-load-balancer-controller/crds/crds.yaml.
UPSTREAM_POLICY_SHA256 = "bb9e48240ace4258c78d152ce98175ee6a118f0715faad4ff5a3e394c9d66171"
UPSTREAM_CRD_SHA256 = {
    "ingressclassparams.elbv2.k8s.aws": "d511c7c7b70a09f59e17717637ca96f5e506d69f0939226bd450bcf34db004d0",
    "targetgroupbindings.elbv2.k8s.aws": "fb27bd523d0004212074296a74d48140c69aa26f4fcc89ea0a4b6fe4c0ee2119",
}


def render(name, **overrides):
    """The template's objects as plain data, the way the role gets them."""
    variables = dict(SAMPLE_VARS, **overrides)
    templar = Templar(loader=DataLoader(), variables=variables)
    expression = "{{{{ lookup('template', '{0}') | from_yaml_all | list }}}}".format(TEMPLATES / name)
    return [plain(obj) for obj in templar.template(trust_as_template(expression)) if obj is not None]


def by_kind(objects):
    found = {}
    for obj in objects:
        found.setdefault(obj["kind"], []).append(obj)
    return found


def canonical_sha256(document):
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def structural(schema):
    """The schema with additionalProperties false wherever it names the properties: what the API server keeps of a
    custom resource (it prunes unknown fields, so a typo would be dropped silently and differ on every run)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schema(kind, version="v1beta1"):
    (crd,) = [c for c in by_kind(render(CONTROLLER))["CustomResourceDefinition"] if c["spec"]["names"]["kind"] == kind]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert served["served"] and served["storage"]
    return structural(served["schema"]["openAPIV3Schema"])


# ---- schemas ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("template", [CONTROLLER, BINDINGS])
def test_every_built_in_object_validates_strictly(template, version):
    objects = render(template)
    assert objects
    built_in = [obj for obj in objects if not obj["apiVersion"].startswith("elbv2.k8s.aws/")]
    for obj in built_in:
        kubernetes_validate.validate(obj, version, strict=True)
    assert {obj["kind"] for obj in built_in} == ({
        "CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Service",
        "Deployment", "PodDisruptionBudget", "IngressClass", "Secret", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration"} if template == CONTROLLER else set())


def test_strict_validation_catches_a_typo_in_a_crd_and_a_webhook():
    crd = render(CONTROLLER)[0]
    crd["spec"]["scopes"] = "Cluster"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(crd, "1.31.0", strict=True)
    webhook = by_kind(render(CONTROLLER))["ValidatingWebhookConfiguration"][0]
    webhook["webhooks"][0]["failurePolicyy"] = "Fail"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(webhook, "1.31.0", strict=True)


def test_the_crd_schemas_accept_the_rendered_custom_resources():
    bindings = render(BINDINGS)
    assert [b["metadata"]["name"] for b in bindings] == ["orders", "web", "reports"]
    for binding in bindings:
        jsonschema.validate(binding, crd_schema("TargetGroupBinding"))
    for params in by_kind(render(CONTROLLER))["IngressClassParams"]:
        jsonschema.validate(params, crd_schema("IngressClassParams"))


@pytest.mark.parametrize("change", [
    lambda b: b["spec"].update(targetType="pod"),
    lambda b: b["spec"].update(targetGroupArn=b["spec"]["targetGroupARN"]),
    lambda b: b["spec"]["networking"]["ingress"][0]["from"][0]["securityGroup"].update(groupId=ALB_SG),
    lambda b: b["spec"]["networking"]["ingress"][0]["ports"][0].update(protocol="HTTP"),
    lambda b: b["spec"].pop("serviceRef"),
])
def test_the_crd_schema_refuses_what_the_api_server_would(change):
    binding = render(BINDINGS)[0]
    change(binding)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(binding, crd_schema("TargetGroupBinding"))


def test_the_crds_are_the_releases_and_agree_with_the_kind_table():
    crds = by_kind(render(CONTROLLER))["CustomResourceDefinition"]
    assert {crd["metadata"]["name"]: canonical_sha256(crd) for crd in crds} == UPSTREAM_CRD_SHA256
    for crd in crds:
        kind = ("{0}/v1beta1".format(crd["spec"]["group"]), crd["spec"]["names"]["kind"])
        plural, namespaced, rank = KINDS[kind]
        assert (plural, namespaced) == (crd["spec"]["names"]["plural"], crd["spec"]["scope"] == "Namespaced")
        assert rank > KINDS[("apiextensions.k8s.io/v1", "CustomResourceDefinition")][2]


def test_the_module_accepts_every_rendered_object_and_orders_them():
    objects = render(CONTROLLER) + render(BINDINGS)
    out = build_manifests(objects, "prod-us-east-1", None)
    kinds = [obj["kind"] for obj in out]
    assert kinds[:2] == ["CustomResourceDefinition"] * 2
    assert kinds[-2:] == ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
    assert kinds.index("Secret") < kinds.index("Deployment") < kinds.index("IngressClassParams") < kinds.index("TargetGroupBinding")
    assert len(out) == 15 + 3


# ---- what the objects say ---------------------------------------------------------------------------------
def test_the_deployment_is_the_charts_with_the_stacks_arguments():
    objects = by_kind(render(CONTROLLER))
    (deployment,) = objects["Deployment"]
    assert deployment["metadata"]["namespace"] == "kube-system" and deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["--cluster-name=prod-us-east-1", "--ingress-class=alb", "--aws-region=us-east-1",
                                 "--aws-vpc-id=" + VPC]
    assert container["image"] == IMAGE and container["imagePullPolicy"] == "IfNotPresent"
    assert pod["priorityClassName"] == "system-cluster-critical" and pod["serviceAccountName"] == "aws-load-balancer-controller"
    assert pod["securityContext"] == {"fsGroup": 65534}
    assert container["securityContext"] == {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False}
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"webhook-server": 9443, "metrics-server": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 61779, "scheme": "HTTP"}
    assert container["volumeMounts"] == [{"mountPath": "/tmp/k8s-webhook-server/serving-certs", "name": "cert", "readOnly": True}]
    assert pod["volumes"] == [{"name": "cert", "secret": {"defaultMode": 420, "secretName": "aws-load-balancer-tls"}}]
    (pdb,) = objects["PodDisruptionBudget"]
    assert pdb["spec"] == {"selector": deployment["spec"]["selector"], "maxUnavailable": 1}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "aws-load-balancer-controller",
                                                             "app.kubernetes.io/instance": "aws-load-balancer-controller"}
    (ingress_class,) = objects["IngressClass"]
    assert ingress_class["metadata"]["name"] == "alb" and ingress_class["spec"] == {"controller": "ingress.k8s.aws/alb"}


def test_the_service_account_is_the_irsa_roles_trusted_subject():
    (account,) = by_kind(render(CONTROLLER))["ServiceAccount"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    variables = render_iam_vars("prod-primary")
    assert variables["compute_iam_role_names"]["lb_controller"] == "prod-us-east-1-eks-lb-controller"
    (role,) = [r for r in variables["compute_iam_roles"] if r["name"] == variables["compute_iam_role_names"]["lb_controller"]]
    assert role["trust"]["oidc"]["subjects"] == ["system:serviceaccount:{0}:{1}".format(
        account["metadata"]["namespace"], account["metadata"]["name"])]
    assert role["trust"]["oidc"]["audiences"] == ["sts.amazonaws.com"]
    for binding in by_kind(render(CONTROLLER))["ClusterRoleBinding"] + by_kind(render(CONTROLLER))["RoleBinding"]:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "aws-load-balancer-controller", "namespace": "kube-system"}]


def test_the_irsa_role_carries_the_published_policy_and_the_iam_module_accepts_it():
    variables = render_iam_vars("prod-primary")
    (role,) = [r for r in variables["compute_iam_roles"] if r["name"].endswith("-eks-lb-controller")]
    assert list(role["inline_policies"]) == ["AWSLoadBalancerControllerIAMPolicy"]
    assert canonical_sha256(role["inline_policies"]["AWSLoadBalancerControllerIAMPolicy"]) == UPSTREAM_POLICY_SHA256
    roles = [dict({"description": "", "path": "/cairn/", "max_session_duration": 3600}, **r) for r in variables["compute_iam_roles"]]
    spec = iam_build_spec({"state": "present", "purge_roles": False, "component": "compute",
                           "oidc_providers": variables["compute_iam_oidc_providers"], "roles": roles})
    assert "prod-us-east-1-eks-lb-controller" in [r["name"] for r in spec["roles"]]


def test_the_webhooks_call_the_webhook_service_with_the_ca_of_the_generated_secret():
    objects = by_kind(render(CONTROLLER))
    (service,) = objects["Service"]
    (secret,) = objects["Secret"]
    assert secret["metadata"]["name"] == "aws-load-balancer-tls" and secret["type"] == "kubernetes.io/tls"
    assert "data" not in secret and "stringData" not in secret
    names = secret["metadata"]["annotations"]["cairn.platform/generate-tls"].split(",")
    assert "{0}.kube-system.svc".format(service["metadata"]["name"]) in names  # the name the API server calls
    hooks = objects["MutatingWebhookConfiguration"] + objects["ValidatingWebhookConfiguration"]
    assert [w["name"] for hook in hooks for w in hook["webhooks"]] == [
        "mpod.elbv2.k8s.aws", "mservice.elbv2.k8s.aws", "mtargetgroupbinding.elbv2.k8s.aws",
        "vingressclassparams.elbv2.k8s.aws", "vtargetgroupbinding.elbv2.k8s.aws", "vingress.elbv2.k8s.aws"]
    for hook in hooks:
        assert hook["metadata"]["annotations"]["cairn.platform/inject-ca-from"] == "kube-system/aws-load-balancer-tls"
        for webhook in hook["webhooks"]:
            assert webhook["clientConfig"]["service"]["name"] == service["metadata"]["name"]
            assert webhook["clientConfig"]["service"]["namespace"] == "kube-system" and "caBundle" not in webhook["clientConfig"]
    # The controller's own objects are exempt from its webhooks (they exist before its pods answer).
    selector = {"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["aws-load-balancer-controller"]}
    assert selector in hooks[0]["webhooks"][1]["objectSelector"]["matchExpressions"]  # mservice: failurePolicy Fail
    assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "aws-load-balancer-controller"


def test_one_binding_per_microservice_with_the_pod_side_rule():
    orders, web, reports = render(BINDINGS)
    assert orders == {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": "orders", "namespace": "apps", "labels": {"app.kubernetes.io/name": "orders"}},
        "spec": {"serviceRef": {"name": "orders", "port": 8080}, "targetGroupARN": TG.format(ACCOUNT, "orders"),
                 "targetType": "ip", "ipAddressType": "ipv4", "vpcID": VPC,
                 "networking": {"ingress": [{"from": [{"securityGroup": {"groupID": ALB_SG}}],
                                             "ports": [{"protocol": "TCP", "port": 8080}]}]}}}
    assert web["spec"]["serviceRef"]["port"] == 80 and web["spec"]["networking"]["ingress"][0]["ports"][0]["port"] == 3000
    assert reports["metadata"]["namespace"] == "batch" and reports["spec"]["serviceRef"]["port"] == 8080  # load_balancing_app_port
    assert render(BINDINGS, load_balancing_services=[]) == []


def test_check_mode_inputs_known_after_apply_still_render_and_validate():
    unknown = "(known after apply)"
    services = [dict(s, target_group_arn=unknown) for s in SAMPLE_VARS["load_balancing_services"]]
    objects = render(CONTROLLER, load_balancing_controller_role_arn=unknown, load_balancing_vpc_id=unknown) + render(
        BINDINGS, load_balancing_services=services, load_balancing_alb_security_group_id=unknown)
    build_manifests(objects, "prod-us-east-1", None)
    assert by_kind(objects)["TargetGroupBinding"][0]["spec"]["targetGroupARN"] == unknown


# ---- through k8s_resources against the emulator ------------------------------------------------------------
def test_the_controller_and_bindings_converge_and_rerun_clean_on_the_emulator(aws_env):
    from test_emulator_kube_api import _cluster, _kube_requests

    endpoint = _cluster(aws_env, "prod-us-east-1")
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in ("apps", "batch")]
    manifests = namespaces + render(CONTROLLER) + render(BINDINGS)
    args = dict(environment="test", stack="test-us-east-1", cluster_name="prod-us-east-1", manifests=manifests)

    planned = run_module("k8s_resources", args, check_mode=True, diff=True)
    assert {r["method"] for r in _kube_requests(aws_env)} == {"GET"}
    created = run_module("k8s_resources", args, diff=True)
    assert [(c["action"], c["resource_type"], c["resource"]) for c in created["changes"]] == [
        (c["action"], c["resource_type"], c["resource"]) for c in planned["changes"]]
    assert len(created["changes"]) == len(manifests) == 2 + 15 + 3
    assert [o["kind"] for o in created["objects"]][:3] == ["CustomResourceDefinition", "CustomResourceDefinition", "Namespace"]

    def live(path):
        request = urllib.request.Request(endpoint + path, headers={"Authorization": "Bearer k8s-aws-v1.test"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    secret = live("/api/v1/namespaces/kube-system/secrets/aws-load-balancer-tls")
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    assert "aws-load-balancer-webhook-service.kube-system.svc" in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    for plural in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        hook = live("/apis/admissionregistration.k8s.io/v1/{0}/aws-load-balancer-webhook".format(plural))
        assert {w["clientConfig"]["caBundle"] for w in hook["webhooks"]} == {secret["data"]["ca.crt"]}
    said = json.dumps(created) + json.dumps(planned)
    assert secret["data"]["tls.key"] not in said and base64.b64decode(secret["data"]["tls.key"]).decode() not in said
    (secret_change,) = [c for c in created["changes"] if c["resource_type"] == "Secret"]
    assert set(secret_change["fields"]["data"]["after"].values()) == {REDACTED}
    binding = live("/apis/elbv2.k8s.aws/v1beta1/namespaces/apps/targetgroupbindings/orders")
    assert binding["spec"]["networking"]["ingress"][0]["from"] == [{"securityGroup": {"groupID": ALB_SG}}]

    before = len(_kube_requests(aws_env))
    rerun = run_module("k8s_resources", args)
    assert rerun["changed"] is False and rerun["waited_seconds"] == 0
    assert {r["method"] for r in _kube_requests(aws_env)[before:]} == {"GET"}
    assert live("/api/v1/namespaces/kube-system/secrets/aws-load-balancer-tls")["data"] == secret["data"]
    assert run_module("k8s_resources", args, check_mode=True)["changes"] == []

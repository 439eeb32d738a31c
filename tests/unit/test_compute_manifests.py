"""roles/compute/templates: each renders (Ansible's Templar, as `lookup('template', ...) | from_yaml_all` does in the
role) a YAML stream of objects that validates with kubernetes-validate --strict, and that k8s_resources accepts.

Kubernetes versions: the cluster runs 1.31 (compute_kubernetes_version); kubernetes-validate 1.37 ships the schemas of
1.25.0 to 1.37.0, so the objects are validated for exactly 1.31.0 and the next minor, 1.32.0 (the one-minor upgrade
the cluster module allows), and for <compute_kubernetes_version>.0 of the sample variables.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.cairn.platform.plugins.modules.k8s_resources import build_manifests

TEMPLATES = Path(__file__).resolve().parents[2] / "roles" / "compute" / "templates"
VERSIONS = ("1.31.0", "1.32.0")
ROLE = "arn:aws:iam::123456789012:role/"

SAMPLE_VARS = {
    "compute_cluster_name": "prod-us-east-1",
    "compute_kubernetes_version": "1.31",
    "compute_namespaces": ["apps", "batch", "cron"],
    "compute_service_accounts": [
        {"name": "orders", "namespace": "apps", "role_arn": ROLE + "prod-us-east-1-orders"},
        {"name": "reports", "namespace": "batch"},
    ],
    "compute_cluster_autoscaler_images": {
        "1.30": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.4",
        "1.31": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.2",
        "1.32": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1",
    },
    "compute_cluster_autoscaler": {
        "enabled": True,
        "role_arn": ROLE + "prod-us-east-1-cluster-autoscaler",
        "image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.2",
        "utilization_threshold": "0.6",
        "namespace": "kube-system",
    },
    "compute_rps_metric_name": "http_requests_per_second",
    "compute_microservices": [
        {"name": "orders", "namespace": "apps", "min_replicas": 2, "max_replicas": 20, "cpu_target_percent": 60,
         "memory_target_percent": 70, "rps_target": 50, "queue_depth_target": 100, "queue_name": "orders-events"},
        {"name": "web", "namespace": "apps", "min_replicas": 3, "max_replicas": 30, "cpu_target_percent": 60,
         "memory_target_percent": 75, "rps_target": 0.5},
    ],
}


def render(name, **overrides):
    """The template's objects, the way the role gets them."""
    variables = dict(SAMPLE_VARS, **overrides)
    templar = Templar(loader=DataLoader(), variables=variables)
    expression = "{{{{ lookup('template', '{0}') | from_yaml_all | list }}}}".format(TEMPLATES / name)
    return [obj for obj in templar.template(trust_as_template(expression)) if obj is not None]


def plain(value):
    """Plain Python containers (Ansible's templating returns tagged/lazy ones)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError("unexpected {0!r} in a rendered manifest".format(type(value)))


def validate_all(objects, version):
    for obj in objects:
        kubernetes_validate.validate(plain(obj), version, strict=True)


@pytest.mark.parametrize("version", VERSIONS + (SAMPLE_VARS["compute_kubernetes_version"] + ".0",))
@pytest.mark.parametrize("template", ["namespaces.yml.j2", "service_accounts.yml.j2", "cluster_autoscaler.yml.j2", "hpa.yml.j2"])
def test_every_object_validates_strictly(template, version):
    objects = render(template)
    assert objects
    validate_all(objects, version)
    build_manifests([plain(obj) for obj in objects], "prod-us-east-1", None)  # the module accepts them as they are


def test_strict_validation_catches_a_typo():
    hpa = plain(render("hpa.yml.j2")[0])
    hpa["spec"]["maxReplica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, "1.31.0", strict=True)


def test_namespaces_and_service_accounts():
    namespaces = render("namespaces.yml.j2")
    assert [(n["kind"], n["metadata"]["name"]) for n in namespaces] == [("Namespace", "apps"), ("Namespace", "batch"), ("Namespace", "cron")]
    assert namespaces[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    accounts = render("service_accounts.yml.j2")
    assert accounts[0]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE + "prod-us-east-1-orders"
    assert "annotations" not in accounts[1]["metadata"]
    assert render("namespaces.yml.j2", compute_namespaces=[]) == []


def test_cluster_autoscaler_follows_upstreams_aws_example():
    objects = render("cluster_autoscaler.yml.j2")
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ServiceAccount", "cluster-autoscaler"), ("ClusterRole", "cluster-autoscaler"), ("Role", "cluster-autoscaler"),
        ("ClusterRoleBinding", "cluster-autoscaler"), ("RoleBinding", "cluster-autoscaler"), ("Deployment", "cluster-autoscaler")]
    account, deployment = objects[0], objects[-1]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE + "prod-us-east-1-cluster-autoscaler"
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.2"
    for flag in ("--cloud-provider=aws",
                 "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod-us-east-1",
                 "--scale-down-utilization-threshold=0.6", "--balance-similar-node-groups", "--skip-nodes-with-system-pods=false",
                 "--expander=least-waste"):
        assert flag in container["command"]
    assert pod["priorityClassName"] == "system-cluster-critical" and pod["serviceAccountName"] == "cluster-autoscaler"
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["nodeSelector"] == {"eks.amazonaws.com/capacityType": "ON_DEMAND"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "600Mi"}


def test_cluster_autoscaler_image_from_the_pinned_map_and_disabled():
    settings = dict(SAMPLE_VARS["compute_cluster_autoscaler"])
    del settings["image"]
    objects = render("cluster_autoscaler.yml.j2", compute_cluster_autoscaler=settings, compute_kubernetes_version="1.32")
    assert objects[-1]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.32.1")
    validate_all(objects, "1.32.0")
    assert render("cluster_autoscaler.yml.j2", compute_cluster_autoscaler=dict(settings, enabled=False)) == []


def test_hpa_per_microservice_with_resource_and_external_metrics():
    orders, web = render("hpa.yml.j2")
    assert orders["apiVersion"] == "autoscaling/v2" and orders["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"}
    assert (orders["spec"]["minReplicas"], orders["spec"]["maxReplicas"]) == (2, 20)
    metrics = orders["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "Resource", "External", "External"]
    assert metrics[0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}
    assert metrics[1]["resource"] == {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert metrics[2]["external"] == {"metric": {"name": "http_requests_per_second",
                                                 "selector": {"matchLabels": {"service": "orders", "namespace": "apps"}}},
                                      "target": {"type": "AverageValue", "averageValue": "50"}}
    assert metrics[3]["external"]["metric"]["selector"] == {"matchLabels": {"queue": "orders-events"}}
    assert metrics[3]["external"]["target"] == {"type": "AverageValue", "averageValue": "100"}
    assert orders["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    # No queue: no queue metric; a fractional target is written as the API server stores it.
    assert [m["type"] for m in web["spec"]["metrics"]] == ["Resource", "Resource", "External"]
    assert web["spec"]["metrics"][2]["external"]["target"]["averageValue"] == "500m"

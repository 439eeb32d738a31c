"""eks_addons: the pinned table, the compatibility rules and every bad input, all refused before any API call."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cairn.platform.plugins.module_utils import eks
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.eks_addons import (
    ADDON_IRSA_POLICIES,
    ARGUMENT_SPEC,
    COMPATIBLE_ADDON_VERSIONS,
    PINNED_ADDON_VERSIONS,
    build_spec,
    check_compatible,
    configuration_json,
    parse_configuration,
    parse_version,
    update_request,
)
from support.modules import ModuleFailed, run_module

ADDONS = ("vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "amazon-cloudwatch-observability", "adot")


def params(**overrides):
    """Module parameters as AnsibleModule hands them over (defaults filled in)."""
    values = {key: option.get("default") for key, option in ARGUMENT_SPEC.items()}
    values.update(environment="prod", stack="prod-us-east-1", tags=None, purge_tags=True, cluster_name="prod-us-east-1",
                  kubernetes_version="1.31")
    values.update(overrides)
    values["addons"] = [dict({"version": None, "service_account_role_arn": None, "configuration_values": None,
                              "resolve_conflicts": "OVERWRITE"}, **entry) for entry in values["addons"] or []]
    return values


def refused(**overrides):
    with pytest.raises(InputError) as failure:
        build_spec(params(**overrides))
    return failure.value.message


# ---- the pinned table -------------------------------------------------------------------------------------------
def test_every_supported_minor_pins_all_six_add_ons_with_eksbuild_versions():
    assert sorted(PINNED_ADDON_VERSIONS) == ["1.30", "1.31", "1.32", "1.33"]
    for minor, pins in PINNED_ADDON_VERSIONS.items():
        assert sorted(pins) == sorted(ADDONS), minor
        for name, version in pins.items():
            assert parse_version(version), (minor, name, version)
            assert "-eksbuild." in version


@pytest.mark.parametrize("minor", sorted(PINNED_ADDON_VERSIONS))
def test_every_pinned_version_passes_its_own_compatibility_rules(minor):
    for name, version in PINNED_ADDON_VERSIONS[minor].items():
        check_compatible(name, version, minor)
        assert COMPATIBLE_ADDON_VERSIONS[name][minor]


def test_kube_proxy_is_pinned_to_the_cluster_minor():
    for minor, pins in PINNED_ADDON_VERSIONS.items():
        assert pins["kube-proxy"].startswith("v{0}.".format(minor))


def test_the_irsa_needs_are_documented_for_every_pinned_add_on():
    assert set(ADDON_IRSA_POLICIES) == set(ADDONS)
    assert ADDON_IRSA_POLICIES["vpc-cni"] == ("AmazonEKS_CNI_Policy",)
    assert ADDON_IRSA_POLICIES["aws-ebs-csi-driver"] == ("AmazonEBSCSIDriverPolicy",)
    assert set(ADDON_IRSA_POLICIES["amazon-cloudwatch-observability"]) == {"CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"}
    assert set(ADDON_IRSA_POLICIES["adot"]) == {"AmazonPrometheusRemoteWriteAccess", "AWSXrayWriteOnlyAccess",
                                                "CloudWatchAgentServerPolicy"}


# ---- defaults ---------------------------------------------------------------------------------------------------
def test_versions_default_to_the_pins_of_the_kubernetes_version():
    spec = build_spec(params(kubernetes_version="1.33", addons=[{"name": name} for name in ADDONS]))
    assert {a["name"]: a["version"] for a in spec["addons"]} == PINNED_ADDON_VERSIONS["1.33"]
    assert all(a["resolve_conflicts"] == "OVERWRITE" for a in spec["addons"])


def test_compatible_explicit_versions_are_accepted():
    spec = build_spec(params(addons=[
        {"name": "kube-proxy", "version": "v1.31.3-eksbuild.2"},
        {"name": "coredns", "version": "v1.11.3-eksbuild.1"},
        {"name": "vpc-cni", "version": "v1.21.1-eksbuild.1"},
        {"name": "eks-pod-identity-agent", "version": "v1.3.9-eksbuild.5"},  # outside the table: not checked
    ]))
    assert [a["version"] for a in spec["addons"]] == ["v1.31.3-eksbuild.2", "v1.11.3-eksbuild.1", "v1.21.1-eksbuild.1",
                                                      "v1.3.9-eksbuild.5"]


def test_configuration_is_canonical_json_data():
    spec = build_spec(params(addons=[{"name": "coredns", "configuration_values": {"b": 1, "a": {"c": [1, "x"]}}}]))
    assert spec["addons"][0]["configuration_values"] == {"a": {"c": [1, "x"]}, "b": 1}
    assert configuration_json({"b": 1, "a": True}) == '{"a":true,"b":1}'


def test_state_absent_needs_neither_kubernetes_version_nor_addons():
    spec = build_spec(params(state="absent", kubernetes_version=None))
    assert spec["addons"] == [] and spec["cluster_name"] == "prod-us-east-1"


# ---- bad input --------------------------------------------------------------------------------------------------
def test_kube_proxy_of_another_minor_is_refused():
    message = refused(addons=[{"name": "kube-proxy", "version": "v1.30.14-eksbuild.8"}])
    assert message == ("addons[kube-proxy].version: v1.30.14-eksbuild.8 does not match Kubernetes 1.31; kube-proxy on "
                       "1.31 must be v1.31.x (pinned: v1.31.10-eksbuild.8).")
    assert "does not match Kubernetes 1.31" in refused(addons=[{"name": "kube-proxy", "version": "v1.32.6-eksbuild.8"}])


def test_coredns_of_another_series_is_refused():
    message = refused(kubernetes_version="1.33", addons=[{"name": "coredns", "version": "v1.11.4-eksbuild.24"}])
    assert "coredns on 1.33 must be v1.12.x or v1.13.x" in message
    assert "must be v1.11.x" in refused(addons=[{"name": "coredns", "version": "v1.12.4-eksbuild.1"}])


@pytest.mark.parametrize("name,version,minor", [
    ("vpc-cni", "v1.18.5-eksbuild.1", "1.32"),
    ("aws-ebs-csi-driver", "v1.36.0-eksbuild.1", "1.31"),
    ("amazon-cloudwatch-observability", "v1.7.0-eksbuild.1", "1.33"),
    ("adot", "v0.109.0-eksbuild.2", "1.32"),
])
def test_versions_older_than_the_minimum_for_the_kubernetes_version_are_refused(name, version, minor):
    message = refused(kubernetes_version=minor, addons=[{"name": name, "version": version}])
    assert message.startswith("addons[{0}].version: {1} is older than".format(name, version))
    assert "Kubernetes " + minor in message


@pytest.mark.parametrize("version", ["1.20.1", "v1.20.1", "latest", "v1.20-eksbuild.1", "v1.20.1-eksbuild"])
def test_malformed_versions_are_refused(version):
    assert "is not an EKS add-on version" in refused(addons=[{"name": "vpc-cni", "version": version}])


def test_an_add_on_outside_the_table_needs_an_explicit_version():
    message = refused(addons=[{"name": "metrics-server"}])
    assert message.startswith("addons[metrics-server].version: no version is pinned for metrics-server")


@pytest.mark.parametrize("name", ["", "VPC-CNI", "-cni", "vpc cni", "a" * 101])
def test_bad_add_on_names_are_refused(name):
    assert "is not an EKS add-on name" in refused(addons=[{"name": name}])


def test_an_add_on_listed_twice_is_refused():
    assert refused(addons=[{"name": "coredns"}, {"name": "coredns"}]) == "addons: coredns is listed twice; list each add-on once."


@pytest.mark.parametrize("role", ["prod-eks-vpc-cni", "arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/x"])
def test_bad_role_arns_are_refused(role):
    assert "is not an IAM role ARN" in refused(addons=[{"name": "vpc-cni", "service_account_role_arn": role}])


def test_a_role_known_only_after_apply_is_accepted_for_planning():
    spec = build_spec(params(addons=[{"name": "vpc-cni", "service_account_role_arn": "(known after apply)"}]))
    assert spec["addons"][0]["service_account_role_arn"] == "(known after apply)"


def test_a_configuration_that_is_not_json_is_refused():
    assert "cannot be sent as JSON" in refused(addons=[{"name": "coredns", "configuration_values": {"x": {1, 2}}}])


@pytest.mark.parametrize("version,message", [
    (None, "kubernetes_version: required when state=present"),
    ("1.31.2", "is not a Kubernetes version like 1.31"),
    ("v1.31", "is not a Kubernetes version like 1.31"),
    ("1.29", "no add-on versions are pinned for Kubernetes 1.29; supported: 1.30, 1.31, 1.32, 1.33."),
    ("1.34", "no add-on versions are pinned for Kubernetes 1.34"),
])
def test_bad_kubernetes_versions_are_refused(version, message):
    assert message in refused(kubernetes_version=version, addons=[{"name": "coredns"}])


@pytest.mark.parametrize("version,message", [
    ("1.28", "kubernetes_version: Kubernetes 1.28 reached the end of EKS extended support on 2025-11-26"),
    ("1.36", "kubernetes_version: EKS does not offer Kubernetes 1.36; it offers 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35."),
])
def test_versions_eks_does_not_offer_are_refused(version, message):
    assert refused(kubernetes_version=version, addons=[{"name": "coredns"}]).startswith(message)


def test_only_offered_versions_are_named_as_supported(monkeypatch):
    monkeypatch.setattr(eks, "utc_today", lambda: datetime.date(2026, 8, 1))  # 1.30 is past its end of extended support
    assert refused(kubernetes_version="1.34", addons=[{"name": "coredns"}]).endswith("supported: 1.31, 1.32, 1.33.")


@pytest.mark.parametrize("name", ["", "-prod", "prod cluster", "x" * 101])
def test_bad_cluster_names_are_refused(name):
    assert "is not an EKS cluster name" in refused(cluster_name=name)


def test_a_negative_wait_timeout_is_refused():
    assert refused(wait_timeout=-1).startswith("wait_timeout:")


# ---- bad input through the module: fails before any API call ----------------------------------------------------
@pytest.mark.parametrize("args,message", [
    (dict(addons=[{"name": "kube-proxy", "version": "v1.30.14-eksbuild.8"}]), "does not match Kubernetes 1.31"),
    (dict(addons=[{"name": "coredns", "resolve_conflicts": "MERGE"}]), "resolve_conflicts"),
    (dict(kubernetes_version="1.35"), "no add-on versions are pinned"),
])
def test_the_module_fails_on_bad_input_without_calling_aws(clean_sdk_env, monkeypatch, args, message):
    import botocore.client

    def no_call(*a, **k):
        raise AssertionError("an API call was made")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_call)
    full = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", cluster_name="prod-us-east-1",
                kubernetes_version="1.31")
    full.update(args)
    with pytest.raises(ModuleFailed) as failure:
        run_module("eks_addons", full)
    assert message in failure.value.result["msg"]
    # Argument-spec errors (choices) fail in AnsibleModule itself, before the plan exists.
    assert failure.value.result.get("changes", []) == []


# ---- configuration comparison ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    (None, {}), ("", {}), ("  ", {}), ("{}", {}),
    ('{"replicaCount": 2}', {"replicaCount": 2}),
    ("replicaCount: 2\n", {"replicaCount": 2}),
    ("env:\n  A: 'true'\n", {"env": {"A": "true"}}),
    ("{not: [valid", "{not: [valid"),
])
def test_eks_configuration_text_is_parsed_as_json_or_yaml(text, value):
    assert parse_configuration(text) == value


def test_update_request_sends_only_what_differs():
    addon = {"resolve_conflicts": "PRESERVE"}
    desired = {"version": "v2", "service_account_role_arn": "r2", "configuration_values": {"a": 1}}
    assert update_request(addon, dict(desired), desired) is None
    assert update_request(addon, dict(desired, version="v1"), desired) == {"addonVersion": "v2", "resolveConflicts": "PRESERVE"}
    assert update_request(addon, dict(desired, configuration_values={"a": 2}), desired) == {
        "configurationValues": '{"a":1}', "resolveConflicts": "PRESERVE"}
    assert update_request(addon, {"version": "v2"}, {"version": "v2"}) is None

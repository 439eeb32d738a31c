"""The pure planning functions of plugins/modules/security_groups.py (no API calls)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.tags import OWNERSHIP_ARGUMENT_SPEC
from ansible_collections.cairn.platform.plugins.modules.security_groups import (
    ARGUMENT_SPEC,
    build_spec,
    check_public_ingress,
    flatten_permissions,
    parse_ports,
    parse_protocol,
    parse_rule,
    rule_text,
    to_permissions,
)

VARS_FILE = Path(__file__).resolve().parents[2] / "roles" / "security" / "vars" / "security_groups.yml"
VPC = "vpc-0123456789abcdef0"


def refused(field, func, *args):
    with pytest.raises(InputError) as err:
        func(*args)
    assert field in err.value.message, err.value.message
    return err.value.message


def params(groups, **extra):
    """Module parameters as AnsibleModule would hand them over (defaults filled in)."""
    raw = dict(environment="prod", stack="prod-us-east-1", vpc_id=VPC, groups=groups)
    raw.update(extra)
    spec = dict(OWNERSHIP_ARGUMENT_SPEC)
    spec.update(ARGUMENT_SPEC)
    result = ArgumentSpecValidator(spec).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


# ---- protocols and ports -----------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [
    ("tcp", "tcp"), ("TCP", "tcp"), ("udp", "udp"), ("icmp", "icmp"), ("icmpv6", "icmpv6"), ("all", "-1"),
    ("-1", "-1"), ("6", "tcp"), ("17", "udp"), ("1", "icmp"), ("58", "icmpv6"), ("50", "50"), (47, "47"), ("0", "0"),
])
def test_protocols_are_named_as_aws_reports_them(value, expected):
    assert parse_protocol("p", value) == expected


@pytest.mark.parametrize("value", ["gre", "256", "-2", "", "tcp6"])
def test_unknown_protocols_are_refused(value):
    assert "unknown protocol" in refused("p", parse_protocol, "p", value)


@pytest.mark.parametrize("value,expected", [(443, (443, 443)), ("443", (443, 443)), ("1024-2048", (1024, 2048)),
                                            (" 0 - 65535 ", (0, 65535)), (0, (0, 0))])
def test_ports(value, expected):
    assert parse_ports("f", value) == expected


@pytest.mark.parametrize("value,words", [(65536, "0 to 65535"), (-1, "0 to 65535"), ("2048-1024", "backwards"),
                                         ("http", "a port such as"), (True, "a port such as"), ("1-2-3", "a port such as")])
def test_bad_ports(value, words):
    assert words in refused("f", parse_ports, "f", value)


# ---- rules ---------------------------------------------------------------------------------------
def test_rule_keys_carry_ports_only_where_aws_has_them():
    names = ["app"]
    assert parse_rule("r", {"protocol": "tcp", "ports": "80-81", "cidr_ipv4": "10.0.0.0/8"}, names) == (
        ("tcp", 80, 81, "ipv4", "10.0.0.0/8"), None)
    assert parse_rule("r", {"protocol": "all", "group": "app", "description": "x"}, names) == (("-1", None, None, "group", "app"), "x")
    assert parse_rule("r", {"protocol": "icmp", "cidr_ipv4": "10.0.0.0/8"}, names)[0] == ("icmp", -1, -1, "ipv4", "10.0.0.0/8")
    assert parse_rule("r", {"protocol": "icmpv6", "icmp_type": 128, "cidr_ipv6": "2001:DB8::/32"}, names)[0] == (
        "icmpv6", 128, -1, "ipv6", "2001:db8::/32")
    assert parse_rule("r", {"protocol": "50", "prefix_list_id": "pl-12345678"}, names)[0] == ("50", None, None, "prefix_list", "pl-12345678")
    assert parse_rule("r", {"ports": 5432, "group": "sg-0123456789abcdef0"}, names)[0][4] == "sg-0123456789abcdef0"


@pytest.mark.parametrize("rule,field,words", [
    ({"protocol": "icmp", "ports": 8, "cidr_ipv4": "10.0.0.0/8"}, "r.ports", "icmp_type"),
    ({"protocol": "icmp", "icmp_code": 0, "cidr_ipv4": "10.0.0.0/8"}, "r.icmp_code", "needs icmp_type"),
    ({"protocol": "icmp", "icmp_type": 300, "cidr_ipv4": "10.0.0.0/8"}, "r.icmp_type", "0 and 255"),
    ({"protocol": "tcp", "ports": 22, "icmp_type": 8, "cidr_ipv4": "10.0.0.0/8"}, "r.icmp_type", "only icmp"),
    ({"protocol": "50", "ports": 1, "cidr_ipv4": "10.0.0.0/8"}, "r.ports", "protocol 50"),
    ({"ports": 1, "cidr_ipv4": "10.0.0.1/8"}, "r.cidr_ipv4", "host bits"),
    ({"ports": 1, "cidr_ipv4": "::/0"}, "r.cidr_ipv4", "not an IPv4 network"),
    ({"ports": 1, "cidr_ipv6": "10.0.0.0/8"}, "r.cidr_ipv6", "not an IPv6 network"),
    ({"ports": 1, "prefix_list_id": "pl-x"}, "r.prefix_list_id", "not a prefix list id"),
    ({"ports": 1, "group": "sg-xyz"}, "r.group", "neither a group"),
    ({"ports": 1, "cidr_ipv4": "10.0.0.0/8", "cidr_ipv6": "::/0"}, "r", "cidr_ipv4, cidr_ipv6"),
    ({"ports": 1, "cidr_ipv4": "10.0.0.0/8", "description": "naïve"}, "r.description", "AWS allows no others"),
    ({"ports": 1, "cidr_ipv4": "10.0.0.0/8", "description": "x" * 256}, "r.description", "up to 255"),
])
def test_bad_rules(rule, field, words):
    assert words in refused(field, parse_rule, "r", rule, ["app"])


@pytest.mark.parametrize("key,allowed", [
    (("tcp", 443, 443, "ipv4", "0.0.0.0/0"), ()),
    (("tcp", 80, 80, "ipv6", "::/0"), ()),
    (("udp", 443, 443, "ipv6", "::/0"), ()),
    (("tcp", 25, 25, "ipv4", "0.0.0.0/0"), (25,)),
    (("tcp", 22, 22, "ipv4", "10.0.0.0/8"), ()),
    (("-1", None, None, "group", "app"), ()),
])
def test_public_ingress_allowed(key, allowed):
    check_public_ingress("f", key, set(allowed))


@pytest.mark.parametrize("key", [
    ("tcp", 22, 22, "ipv4", "0.0.0.0/0"),
    ("tcp", 80, 443, "ipv4", "0.0.0.0/0"),
    ("-1", None, None, "ipv6", "::/0"),
    ("icmp", -1, -1, "ipv4", "0.0.0.0/0"),
    ("tcp", 0, 65535, "ipv6", "::/0"),
])
def test_public_ingress_refused(key):
    assert "allow_public_ingress_ports" in refused("f", check_public_ingress, "f", key, set())


# ---- build_spec ------------------------------------------------------------------------------
def test_build_spec_fills_names_and_descriptions():
    spec = build_spec(params([{"name": "db", "ingress": [{"ports": 5432, "group": "app"}]}, {"name": "app"}]))
    db = spec["groups"][0]
    assert db["group_name"] == "prod-us-east-1-db"
    assert db["description"] == "db of prod-us-east-1 (cairn.platform)"
    assert db["ingress"] == {("tcp", 5432, 5432, "group", "app"): None}
    assert db["egress"] == {}


def test_build_spec_refuses_duplicate_rules_and_names():
    rule = {"ports": 5432, "group": "app", "description": "a"}
    message = refused("groups[db].ingress[1]", build_spec, params([{"name": "db", "ingress": [rule, dict(rule, description="b")]}, {"name": "app"}]))
    assert "groups[db].ingress[0]" in message
    refused("groups: db listed more than once", build_spec, params([{"name": "db"}, {"name": "db"}]))
    refused("groups[0].name", build_spec, params([{"name": "-db"}]))


def test_build_spec_absent_needs_no_vpc_and_refuses_a_bad_one():
    assert build_spec(params([], state="absent", vpc_id=None))["groups"] == []
    refused("vpc_id", build_spec, params([], vpc_id="vpc-1"))
    refused("vpc_id: required", build_spec, params([], vpc_id=None))
    refused("allow_public_ingress_ports", build_spec, params([], allow_public_ingress_ports=[70000]))


def test_the_role_vars_file_is_valid_least_privilege_input():
    text = jinja2.Template(VARS_FILE.read_text()).render(security_app_port=8080, security_vpc_cidr="10.40.0.0/16")
    groups = yaml.safe_load(text)["security_groups_definition"]
    spec = build_spec(params(groups))
    by_name = {group["name"]: group for group in spec["groups"]}
    assert sorted(by_name) == ["alb", "app", "db", "redis"]
    # Only the ALB is reachable from the internet, and only on 80/443.
    for name, group in by_name.items():
        public = [key for key in group["ingress"] if key[3] in ("ipv4", "ipv6") and key[4] in ("0.0.0.0/0", "::/0")]
        assert (name == "alb") == bool(public)
        assert all(key[1] in (80, 443) for key in public)
    assert set(by_name["db"]["ingress"]) == {("tcp", 5432, 5432, "group", "app")}
    assert set(by_name["redis"]["ingress"]) == {("tcp", 6379, 6379, "group", "app")}
    assert by_name["db"]["egress"] == by_name["redis"]["egress"] == {}
    # The app group, and the pods (IP targets in the cluster security group) on the app port inside the VPC only.
    assert set(by_name["alb"]["egress"]) == {("tcp", 8080, 8080, "group", "app"), ("tcp", 8080, 8080, "ipv4", "10.40.0.0/16")}
    assert ("udp", 53, 53, "ipv4", "10.40.0.0/16") in by_name["app"]["egress"]


# ---- AWS shapes ------------------------------------------------------------------------------
def test_flatten_and_back_round_trip():
    permissions = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "web"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "UserIdGroupPairs": [], "PrefixListIds": []},
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0", "UserId": "123456789012"}]},
        {"IpProtocol": "50", "FromPort": -1, "ToPort": -1, "PrefixListIds": [{"PrefixListId": "pl-12345678"}]},
    ]
    rules = flatten_permissions(permissions)
    assert rules == {
        ("tcp", 443, 443, "ipv4", "0.0.0.0/0"): {"description": "web", "peer": {"CidrIp": "0.0.0.0/0"}},
        ("tcp", 443, 443, "ipv6", "::/0"): {"description": None, "peer": {"CidrIpv6": "::/0"}},
        ("-1", None, None, "group", "sg-0123456789abcdef0"): {
            "description": None, "peer": {"GroupId": "sg-0123456789abcdef0", "UserId": "123456789012"}},
        ("50", None, None, "prefix_list", "pl-12345678"): {"description": None, "peer": {"PrefixListId": "pl-12345678"}},
    }
    back = to_permissions([(key, rule["description"], rule["peer"]) for key, rule in rules.items()])
    assert flatten_permissions(back) == rules
    assert {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0", "UserId": "123456789012"}]} in back


def test_rule_text():
    labels = {"sg-1": "app"}
    assert rule_text(("tcp", 443, 443, "ipv4", "0.0.0.0/0"), "web", labels) == "tcp:443 0.0.0.0/0 (web)"
    assert rule_text(("udp", 1024, 2048, "ipv6", "::/0"), None, labels) == "udp:1024-2048 ::/0"
    assert rule_text(("-1", None, None, "group", "sg-1"), None, labels) == "all group:app"
    assert rule_text(("-1", None, None, "group", "sg-2"), None, labels) == "all group:sg-2"
    assert rule_text(("icmp", 8, -1, "ipv4", "10.0.0.0/8"), None, labels) == "icmp:8/all 10.0.0.0/8"
    assert rule_text(("icmp", -1, -1, "ipv4", "10.0.0.0/8"), None, labels) == "icmp:all 10.0.0.0/8"
    assert rule_text(("50", None, None, "prefix_list", "pl-1"), None, labels) == "proto-50 pl-1"

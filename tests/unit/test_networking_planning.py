"""The pure planning functions of plugins/modules/networking.py (no API calls).

Every refusal must name the option the user has to fix, so each error test asserts the field name.
"""

from __future__ import annotations

import ipaddress
import re

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.tags import OWNERSHIP_ARGUMENT_SPEC
from ansible_collections.cairn.platform.plugins.module_utils.logs import LOG_RETENTION_DAYS
from ansible_collections.cairn.platform.plugins.modules.networking import (
    ARGUMENT_SPEC,
    build_spec,
    check_az_count,
    check_endpoint_names,
    check_flow_logs,
    choose_zones,
    client_token,
    default_subnets,
    endpoint_service_name,
    ipv6_subnet,
    parse_vpc_cidr,
    plan_subnets,
    route_kwargs,
    route_targets,
    sg_permissions,
    sg_rules,
)


def refused(field, func, *args, **kwargs):
    """Call func expecting an InputError whose message names `field`; return the message."""
    with pytest.raises(InputError) as err:
        func(*args, **kwargs)
    assert field in err.value.message, err.value.message
    return err.value.message


# ---- parse_vpc_cidr -------------------------------------------------------------------------------
@pytest.mark.parametrize("cidr", ["10.40.0.0/16", "10.40.16.0/20", "192.168.0.0/24", "10.0.0.0/28"])
def test_parse_vpc_cidr_accepts_16_to_28(cidr):
    assert parse_vpc_cidr(cidr) == ipaddress.IPv4Network(cidr)


@pytest.mark.parametrize("cidr", ["10.40.0.0/15", "10.40.0.0/29", "10.40.0.1/16", "not-a-cidr", "10.40.0.0", "2600::/56",
                                  "300.0.0.0/16", None, ""])
def test_parse_vpc_cidr_refuses(cidr):
    refused("cidr_block", parse_vpc_cidr, cidr)


# ---- default_subnets ------------------------------------------------------------------------------
def test_default_layout_of_a_16():
    assert default_subnets(ipaddress.IPv4Network("10.40.0.0/16"), 3) == {
        "private": ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"],
        "public": ["10.40.128.0/24", "10.40.129.0/24", "10.40.130.0/24"],
        "database": ["10.40.144.0/24", "10.40.145.0/24", "10.40.146.0/24"],
    }


def test_default_layout_of_a_20():
    assert default_subnets(ipaddress.IPv4Network("10.1.16.0/20"), 2) == {
        "private": ["10.1.16.0/24", "10.1.17.0/24"],
        "public": ["10.1.24.0/28", "10.1.24.16/28"],
        "database": ["10.1.25.0/28", "10.1.25.16/28"],
    }


@pytest.mark.parametrize("prefix", [16, 17, 18, 19, 20])
@pytest.mark.parametrize("az_count", [1, 2, 3, 4, 5, 6])
def test_default_layout_is_valid_for_every_supported_size(prefix, az_count):
    vpc = ipaddress.IPv4Network("10.0.0.0/{0}".format(prefix))
    layout = plan_subnets(vpc, az_count, {"public": None, "private": None, "database": None})
    assert layout == default_subnets(vpc, az_count)
    subnets = [ipaddress.IPv4Network(c) for tier in layout.values() for c in tier]
    assert len(subnets) == 3 * az_count
    assert all(s.subnet_of(vpc) for s in subnets)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1:]:
            assert not a.overlaps(b)


@pytest.mark.parametrize("cidr", ["10.0.0.0/21", "10.0.0.0/24"])
def test_default_layout_needs_a_20_or_larger(cidr):
    message = refused("cidr_block", default_subnets, ipaddress.IPv4Network(cidr), 3)
    assert "public_subnets" in message  # tells the way out


# ---- plan_subnets ---------------------------------------------------------------------------------
VPC = ipaddress.IPv4Network("10.40.0.0/16")
NONE = {"public": None, "private": None, "database": None}


def test_explicit_subnets_are_used():
    explicit = {"public": ["10.40.200.0/24", "10.40.201.0/24"], "private": ["10.40.0.0/18", "10.40.64.0/18"],
                "database": ["10.40.210.0/26", "10.40.210.64/26"]}
    assert plan_subnets(VPC, 2, explicit) == explicit


def test_small_vpc_with_every_tier_explicit_needs_no_default_layout():
    vpc = ipaddress.IPv4Network("10.9.0.0/24")
    explicit = {"public": ["10.9.0.0/28"], "private": ["10.9.0.64/26"], "database": ["10.9.0.16/28"]}
    assert plan_subnets(vpc, 1, explicit) == explicit


def test_one_explicit_tier_and_default_for_the_rest():
    layout = plan_subnets(VPC, 2, dict(NONE, database=["10.40.250.0/24", "10.40.251.0/24"]))
    assert layout["database"] == ["10.40.250.0/24", "10.40.251.0/24"]
    assert layout["private"] == ["10.40.0.0/20", "10.40.16.0/20"]
    assert layout["public"] == ["10.40.128.0/24", "10.40.129.0/24"]


@pytest.mark.parametrize("tier", ["public", "private", "database"])
def test_empty_list_is_refused(tier):
    refused(tier + "_subnets", plan_subnets, VPC, 2, dict(NONE, **{tier: []}))


@pytest.mark.parametrize("tier", ["public", "private", "database"])
def test_wrong_count_is_refused(tier):
    message = refused(tier + "_subnets", plan_subnets, VPC, 3, dict(NONE, **{tier: ["10.40.250.0/24"]}))
    assert "3" in message


@pytest.mark.parametrize("cidr", ["10.40.250.1/24", "bogus", "10.40.250.0/33"])
def test_invalid_cidr_is_refused(cidr):
    refused("public_subnets", plan_subnets, VPC, 1, dict(NONE, public=[cidr]))


def test_subnet_outside_the_vpc_is_refused():
    message = refused("private_subnets", plan_subnets, VPC, 1, dict(NONE, private=["10.41.0.0/24"]))
    assert "cidr_block" in message


def test_subnet_prefix_beyond_28_is_refused():
    refused("database_subnets", plan_subnets, VPC, 1, dict(NONE, database=["10.40.250.0/29"]))


def test_overlap_within_a_tier_is_refused():
    refused("public_subnets", plan_subnets, VPC, 2, dict(NONE, public=["10.40.200.0/24", "10.40.200.128/25"]))


def test_overlap_between_tiers_names_both_fields():
    explicit = {"public": ["10.40.200.0/24"], "private": ["10.40.0.0/20"], "database": ["10.40.200.0/26"]}
    message = refused("database_subnets", plan_subnets, VPC, 1, explicit)
    assert "public_subnets" in message


def test_explicit_tier_overlapping_the_default_layout_is_refused():
    # public given inside the default private /20: the clash names both tiers.
    message = refused("public_subnets", plan_subnets, VPC, 1, dict(NONE, public=["10.40.0.0/24"]))
    assert "private_subnets" in message


# ---- ipv6_subnet ----------------------------------------------------------------------------------
def test_ipv6_subnets_per_tier_and_zone():
    vpc6 = "2600:1f18:abcd:ef00::/56"
    assert ipv6_subnet(vpc6, "public", 0) == "2600:1f18:abcd:ef00::/64"
    assert ipv6_subnet(vpc6, "public", 2) == "2600:1f18:abcd:ef02::/64"
    assert ipv6_subnet(vpc6, "private", 1) == "2600:1f18:abcd:ef11::/64"
    assert ipv6_subnet(vpc6, "database", 2) == "2600:1f18:abcd:ef22::/64"


def test_ipv6_subnets_are_distinct_64s_inside_the_56():
    vpc6 = ipaddress.IPv6Network("2a05:d018:1:ab00::/56")
    subnets = [ipaddress.IPv6Network(ipv6_subnet(str(vpc6), tier, i))
               for tier in ("public", "private", "database") for i in range(6)]
    assert len(set(subnets)) == len(subnets)
    assert all(s.prefixlen == 64 and s.subnet_of(vpc6) for s in subnets)


# ---- endpoint names -------------------------------------------------------------------------------
def test_endpoint_service_name():
    assert endpoint_service_name("us-east-1", "logs") == "com.amazonaws.us-east-1.logs"
    assert endpoint_service_name("eu-west-1", "ecr.api") == "com.amazonaws.eu-west-1.ecr.api"
    assert endpoint_service_name("us-east-1", "com.amazonaws.us-east-1.sts") == "com.amazonaws.us-east-1.sts"
    assert endpoint_service_name("us-east-1", "aws.sagemaker.us-east-1.notebook") == "aws.sagemaker.us-east-1.notebook"


def test_check_endpoint_names_accepts_short_and_full_names():
    check_endpoint_names("interface_endpoints", ["logs", "ecr.api", "ecr.dkr", "com.amazonaws.us-east-1.sts"])
    check_endpoint_names("interface_endpoints", [])


@pytest.mark.parametrize("field", ["gateway_endpoints", "interface_endpoints"])
@pytest.mark.parametrize("name", ["Logs", "ecr api", "-logs", "logs.", "", "s", 42, None])
def test_check_endpoint_names_refuses_bad_names(field, name):
    refused(field, check_endpoint_names, field, ["logs", name])


def test_check_endpoint_names_refuses_duplicates():
    message = refused("interface_endpoints", check_endpoint_names, "interface_endpoints", ["logs", "sts", "logs"])
    assert "logs" in message


# ---- flow logs, az_count, zones -----------------------------------------------------------------
@pytest.mark.parametrize("days", LOG_RETENTION_DAYS)
def test_check_flow_logs_accepts_cloudwatch_retentions(days):
    check_flow_logs({"retention_days": days, "log_group_name": "/cairn/prod/prod-us-east-1/vpc-flow-logs"})


@pytest.mark.parametrize("days", [0, 2, 31, 100, 3650, None])
def test_check_flow_logs_refuses_other_retentions(days):
    refused("flow_logs.retention_days", check_flow_logs, {"retention_days": days})


@pytest.mark.parametrize("name", ["has space", "bad*name", "x" * 513, "ünïcode"])
def test_check_flow_logs_refuses_bad_log_group_names(name):
    refused("flow_logs.log_group_name", check_flow_logs, {"retention_days": 30, "log_group_name": name})


@pytest.mark.parametrize("count", [1, 3, 6])
def test_check_az_count_accepts_1_to_6(count):
    check_az_count(count)


@pytest.mark.parametrize("count", [0, -1, 7])
def test_check_az_count_refuses(count):
    refused("az_count", check_az_count, count)


AVAILABLE = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]


def test_choose_zones_defaults_to_the_first_available():
    assert choose_zones("us-east-1", 3, None, AVAILABLE) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert choose_zones("us-east-1", 3, [], AVAILABLE) == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_choose_zones_uses_the_requested_zones_in_their_order():
    assert choose_zones("us-east-1", 2, ["us-east-1d", "us-east-1b"], AVAILABLE) == ["us-east-1d", "us-east-1b"]


def test_choose_zones_refuses_unknown_zone():
    message = refused("availability_zones", choose_zones, "us-east-1", 2, ["us-east-1a", "us-east-1z"], AVAILABLE)
    assert "us-east-1z" in message


def test_choose_zones_refuses_count_mismatch():
    message = refused("availability_zones", choose_zones, "us-east-1", 3, ["us-east-1a", "us-east-1b"], AVAILABLE)
    assert "az_count" in message


def test_choose_zones_refuses_duplicates():
    refused("availability_zones", choose_zones, "us-east-1", 2, ["us-east-1a", "us-east-1a"], AVAILABLE)


def test_choose_zones_refuses_more_zones_than_the_region_has():
    message = refused("az_count", choose_zones, "us-east-1", 5, None, AVAILABLE)
    assert "us-east-1" in message


# ---- build_spec -----------------------------------------------------------------------------------
def params(**overrides):
    """Module params as AnsibleModule passes them: validated by the module's argument spec, defaults applied."""
    values = {"environment": "prod", "stack": "prod-us-east-1", "cidr_block": "10.40.0.0/16"}
    values.update(overrides)
    result = ArgumentSpecValidator(dict(ARGUMENT_SPEC, **OWNERSHIP_ARGUMENT_SPEC)).validate(values)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_build_spec_defaults():
    spec = build_spec(params())
    assert spec == {
        "state": "present",
        "name": "prod-us-east-1",
        "wait": True,
        "wait_timeout": 600,
        "cidr_block": "10.40.0.0/16",
        "ipv6": False,
        "az_count": 3,
        "availability_zones": None,
        "subnets": default_subnets(ipaddress.IPv4Network("10.40.0.0/16"), 3),
        "nat_gateway_mode": "one_per_az",
        "gateway_endpoints": ["s3", "dynamodb"],
        "interface_endpoints": ["logs", "monitoring"],
        "flow_logs": {"enabled": True, "retention_days": 90, "traffic_type": "ALL",
                      "log_group_name": "/cairn/prod/prod-us-east-1/vpc-flow-logs", "kms_key_id": None,
                      "max_aggregation_interval": 60},
    }


def test_build_spec_name_and_flow_log_options():
    spec = build_spec(params(name="core", flow_logs={"retention_days": 30, "log_group_name": "/custom/flow"}))
    assert spec["name"] == "core"
    assert spec["flow_logs"]["retention_days"] == 30
    assert spec["flow_logs"]["log_group_name"] == "/custom/flow"
    assert spec["flow_logs"]["traffic_type"] == "ALL"
    assert spec["flow_logs"]["enabled"] is True


def test_build_spec_does_not_mutate_params():
    p = params(flow_logs={"retention_days": 30})
    before = dict(p["flow_logs"])
    build_spec(p)
    assert p["flow_logs"] == before


def test_build_spec_absent_needs_no_cidr():
    spec = build_spec(params(state="absent", cidr_block=None, az_count=99))
    assert spec == {"state": "absent", "name": "prod-us-east-1", "wait": True, "wait_timeout": 600}


def test_build_spec_disabled_flow_logs_skip_the_retention_check():
    spec = build_spec(params(flow_logs={"enabled": False, "retention_days": 2}))
    assert spec["flow_logs"]["enabled"] is False


def test_build_spec_explicit_zones_pass_through():
    spec = build_spec(params(az_count=2, availability_zones=["us-east-1b", "us-east-1c"]))
    assert spec["availability_zones"] == ["us-east-1b", "us-east-1c"]
    assert len(spec["subnets"]["public"]) == 2


def test_build_spec_full_gateway_service_names_are_accepted():
    spec = build_spec(params(gateway_endpoints=["com.amazonaws.us-east-1.s3"]))
    assert spec["gateway_endpoints"] == ["com.amazonaws.us-east-1.s3"]


@pytest.mark.parametrize("field, overrides", [
    ("cidr_block", {"cidr_block": None}),
    ("cidr_block", {"cidr_block": ""}),
    ("cidr_block", {"cidr_block": "10.40.0.0/8"}),
    ("cidr_block", {"cidr_block": "10.40.0.0/24"}),  # too small for the default layout
    ("wait_timeout", {"wait_timeout": -1}),
    ("wait_timeout", {"wait_timeout": -1, "state": "absent"}),
    ("az_count", {"az_count": 0}),
    ("az_count", {"az_count": 7}),
    ("availability_zones", {"availability_zones": ["us-east-1a"]}),
    ("public_subnets", {"public_subnets": ["10.40.200.0/24"]}),
    ("private_subnets", {"private_subnets": ["10.99.0.0/24", "10.99.1.0/24", "10.99.2.0/24"]}),
    ("database_subnets", {"database_subnets": []}),
    ("gateway_endpoints", {"gateway_endpoints": ["ec2"]}),
    ("gateway_endpoints", {"gateway_endpoints": ["S3"]}),
    ("gateway_endpoints", {"gateway_endpoints": ["s3", "s3"]}),
    ("interface_endpoints", {"interface_endpoints": ["logs", "Bad Name"]}),
    ("interface_endpoints", {"interface_endpoints": ["logs", "logs"]}),
    ("flow_logs.retention_days", {"flow_logs": {"retention_days": 45}}),
    ("flow_logs.log_group_name", {"flow_logs": {"log_group_name": "bad name"}}),
])
def test_build_spec_refusals_name_the_field(field, overrides):
    refused(field, build_spec, params(**overrides))


def test_build_spec_refuses_a_service_that_is_both_gateway_and_interface():
    refused("interface_endpoints", build_spec, params(gateway_endpoints=["s3"], interface_endpoints=["s3", "logs"]))


# ---- client_token ---------------------------------------------------------------------------------
def test_client_token_is_deterministic_and_valid():
    token = client_token("subnet-1", "eipalloc-1", "nat")
    assert token == client_token("subnet-1", "eipalloc-1", "nat")
    assert len(token) <= 64  # EC2 ClientToken limit
    assert re.match(r"^[a-z0-9-]+$", token)
    assert token.startswith("cairn-")


def test_client_token_differs_for_different_parts():
    tokens = {client_token("vpc-1", "rt", role) for role in ("public", "private-us-east-1a", "database")}
    tokens.add(client_token("vpc-2", "rt", "public"))
    tokens.add(client_token("vpc-1", "vpce", "public"))
    assert len(tokens) == 5
    first = client_token("subnet-1", "eipalloc-1", "nat")
    assert client_token(first, "nat-0abc") != first  # the retry token of a dead NAT gateway


# ---- routes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", [
    {"DestinationCidrBlock": "10.40.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
    {"DestinationIpv6CidrBlock": "2600:1f18::/56", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
    {"DestinationPrefixListId": "pl-63a5400a", "GatewayId": "vpce-1", "Origin": "CreateRoute", "State": "active"},
    {"DestinationCidrBlock": "10.40.0.0/16", "Origin": "CreateRouteTable", "State": "active", "GatewayId": "x"},
])
def test_route_targets_ignores_local_and_prefix_list_routes(route):
    assert route_targets(route) is None


@pytest.mark.parametrize("route, expected", [
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "Origin": "CreateRoute", "State": "active"},
     ("0.0.0.0/0", "igw-1")),
    ({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "Origin": "CreateRoute", "State": "active"},
     ("0.0.0.0/0", "nat-1")),
    ({"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "Origin": "CreateRoute", "State": "active"},
     ("::/0", "eigw-1")),
    ({"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1", "Origin": "CreateRoute", "State": "active"},
     ("::/0", "igw-1")),
    ({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "Origin": "CreateRoute", "State": "blackhole"},
     ("0.0.0.0/0", "blackhole:nat-1")),
    ({"DestinationCidrBlock": "172.16.0.0/12", "TransitGatewayId": "tgw-1", "Origin": "CreateRoute", "State": "active"},
     ("172.16.0.0/12", "tgw-1")),
    ({"DestinationCidrBlock": "172.16.0.0/12", "Origin": "CreateRoute", "State": "active"},
     ("172.16.0.0/12", "unknown")),
])
def test_route_targets(route, expected):
    assert route_targets(route) == expected


@pytest.mark.parametrize("destination, target, expected", [
    ("0.0.0.0/0", "igw-1", {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}),
    ("0.0.0.0/0", "nat-1", {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}),
    ("::/0", "eigw-1", {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1"}),
    ("::/0", "igw-1", {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}),
])
def test_route_kwargs_round_trip(destination, target, expected):
    kwargs = route_kwargs(destination, target)
    assert kwargs == expected
    assert route_targets(dict(kwargs, Origin="CreateRoute", State="active")) == (destination, target)


# ---- security group rules -------------------------------------------------------------------------
def test_sg_rules_flattens_permissions_and_ignores_descriptions():
    permissions = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "10.40.0.0/16", "Description": "vpc"}, {"CidrIp": "10.41.0.0/16"}],
         "Ipv6Ranges": [{"CidrIpv6": "2600:1f18::/56"}],
         "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "123456789012"}],
         "PrefixListIds": [{"PrefixListId": "pl-1"}]},
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []},
    ]
    assert sg_rules(permissions) == {
        ("tcp", 443, 443, "ipv4", "10.40.0.0/16"),
        ("tcp", 443, 443, "ipv4", "10.41.0.0/16"),
        ("tcp", 443, 443, "ipv6", "2600:1f18::/56"),
        ("tcp", 443, 443, "group", "sg-1"),
        ("tcp", 443, 443, "prefix_list", "pl-1"),
        ("-1", None, None, "ipv4", "0.0.0.0/0"),
    }
    assert sg_rules(None) == set()
    assert sg_rules([]) == set()


def test_sg_permissions_round_trip():
    rules = {
        ("tcp", 443, 443, "ipv4", "10.40.0.0/16"),
        ("tcp", 443, 443, "ipv6", "2600:1f18::/56"),
        ("tcp", 5432, 5432, "group", "sg-1"),
        ("tcp", 443, 443, "prefix_list", "pl-1"),
        ("udp", 53, 53, "ipv4", "10.40.0.0/16"),
        ("-1", None, None, "ipv4", "0.0.0.0/0"),
    }
    permissions = sg_permissions(rules)
    assert sg_rules(permissions) == rules
    assert permissions == sg_permissions(set(reversed(sorted(rules, key=str))))  # deterministic
    all_traffic = [p for p in permissions if p["IpProtocol"] == "-1"]
    assert all_traffic == [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def test_sg_permissions_validate_against_the_ec2_model():
    # The permissions are sent as IpPermissions of AuthorizeSecurityGroupIngress: botocore must accept them.
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ec2")
    shape = model.operation_model("AuthorizeSecurityGroupIngress").input_shape
    rules = {("tcp", 443, 443, "ipv4", "10.40.0.0/16"), ("-1", None, None, "ipv6", "::/0")}
    report = ParamValidator().validate({"GroupId": "sg-1", "IpPermissions": sg_permissions(rules)}, shape)
    assert not report.has_errors(), report.generate_report()

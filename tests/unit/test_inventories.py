"""Every inventory of the repo, checked as data before anything talks to AWS.

The inventories are loaded with Ansible's own inventory API (the same code ansible-playbook
uses: hosts.yml, group_vars/, host_vars/, variable precedence, templating), then for every
host (= region stack) we prove:

* the VPC CIDR is set and well formed (/16 to /20);
* no two VPC CIDRs overlap, across all environments and regions;
* the subnets (explicit lists, or the module's default layout) lie inside the VPC CIDR,
  one per zone, and never overlap each other;
* the NAT rule: prod one NAT gateway per zone, every other environment a single one;
* region and stack naming: host = stack = <environment>-<region>, region per host;
* the plan's per-environment settings (flow-log retention, IPv6, endpoints, connection);
* every host's variables pass the networking role's meta/argument_specs.yml, validated with
  the same ArgumentSpecValidator that Ansible runs before the role's first task.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from pathlib import Path

import pytest
import yaml

from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.vars.manager import VariableManager
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.modules.networking import TIERS, parse_vpc_cidr, plan_subnets

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"
ROLE = REPO / "roles" / "networking"

# The platform plan: which stacks each environment has, and in which role.
EXPECTED_TOPOLOGY = {
    "local": {"local-us-east-1": "primary", "local-us-west-2": "dr_standby"},
    "dev": {"dev-us-east-1": "primary"},
    "staging": {"staging-us-east-1": "primary", "staging-us-west-2": "dr_standby"},
    "prod": {"prod-us-east-1": "primary", "prod-us-west-2": "dr_standby", "prod-eu-west-1": "eu_residency"},
}
EXPECTED_REGION = {
    "primary": "us-east-1",
    "dr_standby": "us-west-2",
    "eu_residency": "eu-west-1",
}
LOWER_ENVIRONMENTS = {"local", "dev", "staging"}
CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                             1827, 2192, 2557, 2922, 3288, 3653]
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

# Variables the checks read; only these are templated (ansible_python_interpreter and friends
# need a running play).
CHECKED_VARS = (
    "cairn_environment", "cairn_stack", "cairn_region", "cairn_stack_role", "cairn_tags",
    "aws_endpoint_url", "aws_profile", "aws_access_key", "aws_secret_key", "aws_session_token",
    "ansible_connection",
)


def _load_yaml(path: Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


ROLE_SPEC = _load_yaml(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
ROLE_DEFAULTS = _load_yaml(ROLE / "defaults" / "main.yml") or {}


def _load_inventory(inventory_dir: Path) -> dict[str, dict]:
    """Host name -> variables as a play would see them (precedence applied, templated)."""
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(inventory_dir)])
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = {}
    for host in inventory.get_hosts():
        host_vars = variables.get_vars(host=host, include_hostvars=False)
        templar = Templar(loader=loader, variables=host_vars)
        wanted = set(CHECKED_VARS) | set(ROLE_SPEC)
        hosts[host.name] = {
            name: templar.template(host_vars[name]) for name in wanted if name in host_vars
        }
        hosts[host.name]["ansible_python_interpreter"] = host_vars.get("ansible_python_interpreter")
    return hosts


def _discover() -> dict[str, dict[str, dict]]:
    found = {}
    for inventory_dir in sorted(p for p in INVENTORIES.iterdir() if (p / "hosts.yml").is_file()):
        found[inventory_dir.name] = _load_inventory(inventory_dir)
    return found


ALL = _discover()
HOSTS = [(env, name, hostvars) for env, hosts in ALL.items() for name, hostvars in hosts.items()]
HOST_IDS = [host[1] for host in HOSTS]


def role_inputs(hostvars: dict) -> dict:
    """The role's variables for a host: role defaults, overridden by the inventory."""
    inputs = dict(ROLE_DEFAULTS)
    inputs.update({name: value for name, value in hostvars.items() if name in ROLE_SPEC})
    return inputs


def subnet_plan(inputs: dict) -> dict[str, list[ipaddress.IPv4Network]]:
    """Subnets per tier, by the very rules the networking module applies before its first API call."""
    vpc = parse_vpc_cidr(inputs["networking_cidr_block"])
    explicit = {tier: inputs.get(f"networking_{tier}_subnets") or None for tier in TIERS}
    layout = plan_subnets(vpc, inputs["networking_az_count"], explicit)
    return {tier: [ipaddress.ip_network(cidr) for cidr in cidrs] for tier, cidrs in layout.items()}


def subnet_problems(inputs: dict) -> list[str]:
    """Why the module would refuse the subnet plan of one stack (empty list = fine)."""
    try:
        subnet_plan(inputs)
    except InputError as exc:
        return [exc.message]
    return []


# ---------------------------------------------------------------------------------------------
# The inventories as a whole


def test_every_environment_of_the_plan_has_an_inventory():
    assert sorted(ALL) == sorted(EXPECTED_TOPOLOGY)


@pytest.mark.parametrize("env", sorted(EXPECTED_TOPOLOGY))
def test_each_inventory_has_the_planned_region_stacks(env):
    stacks = {name: hostvars.get("cairn_stack_role") for name, hostvars in ALL[env].items()}
    assert stacks == EXPECTED_TOPOLOGY[env]


@pytest.mark.parametrize("env", sorted(EXPECTED_TOPOLOGY))
def test_each_environment_has_exactly_one_primary_and_distinct_regions(env):
    roles = [hostvars["cairn_stack_role"] for hostvars in ALL[env].values()]
    regions = [hostvars["cairn_region"] for hostvars in ALL[env].values()]
    assert roles.count("primary") == 1
    assert len(regions) == len(set(regions)), f"{env}: two stacks in one region: {regions}"


def test_no_two_vpc_cidrs_overlap_across_environments_and_regions():
    vpcs = [(name, ipaddress.ip_network(hostvars["networking_cidr_block"], strict=True))
            for _env, name, hostvars in HOSTS]
    assert len(vpcs) == sum(len(hosts) for hosts in EXPECTED_TOPOLOGY.values())
    overlaps = [f"{a} {net_a} overlaps {b} {net_b}"
                for (a, net_a), (b, net_b) in itertools.combinations(vpcs, 2) if net_a.overlaps(net_b)]
    assert not overlaps


def test_every_stack_has_its_own_name_across_all_inventories():
    names = [host[1] for host in HOSTS]
    assert len(names) == len(set(names))


# ---------------------------------------------------------------------------------------------
# Every host


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_vpc_cidr_is_set_and_well_formed(env, host, hostvars):
    cidr = hostvars.get("networking_cidr_block")
    assert cidr, f"{host}: networking_cidr_block is not set"
    network = ipaddress.ip_network(cidr, strict=True)  # raises on host bits set
    assert network.version == 4
    assert 16 <= network.prefixlen <= 20, f"{host}: {cidr} is not /16../20"
    assert network.is_private, f"{host}: {cidr} is not an RFC 1918 range"


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_subnets_stay_inside_the_vpc_and_do_not_overlap(env, host, hostvars):
    assert subnet_problems(role_inputs(hostvars)) == []


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_explicit_availability_zones_match_the_region_and_count(env, host, hostvars):
    inputs = role_inputs(hostvars)
    zones = inputs["networking_availability_zones"]
    if zones:
        assert len(zones) == inputs["networking_az_count"]
        assert len(set(zones)) == len(zones)
        assert all(zone.startswith(hostvars["cairn_region"]) for zone in zones)


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_nat_gateway_mode_prod_one_per_az_lower_environments_single(env, host, hostvars):
    expected = "one_per_az" if env == "prod" else "single"
    assert role_inputs(hostvars)["networking_nat_gateway_mode"] == expected


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_region_and_stack_naming_are_consistent(env, host, hostvars):
    region = hostvars.get("cairn_region")
    assert hostvars.get("cairn_environment") == env, f"{host}: inventories/{env} says another environment"
    assert region and REGION_RE.match(region), f"{host}: cairn_region {region!r} is not a region name"
    assert host == f"{env}-{region}", f"{host}: host name must be <environment>-<region>"
    assert hostvars.get("cairn_stack") == host
    assert EXPECTED_REGION[hostvars["cairn_stack_role"]] == region


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_per_environment_settings_follow_the_plan(env, host, hostvars):
    inputs = role_inputs(hostvars)
    assert inputs["networking_flow_logs_retention_days"] == (30 if env in {"local", "dev"} else 90)
    assert inputs["networking_ipv6"] is (env in {"staging", "prod"})
    assert inputs["networking_flow_logs_enabled"] is True
    assert {"s3", "dynamodb"} <= set(inputs["networking_gateway_endpoints"])
    assert {"logs", "monitoring"} <= set(inputs["networking_interface_endpoints"])
    if env == "prod":
        assert {"ecr.api", "ecr.dkr", "sts", "secretsmanager", "ssm"} <= set(
            inputs["networking_extra_interface_endpoints"])
    for key in ("owner", "cost-center", "data-classification"):
        assert key in hostvars.get("cairn_tags", {}), f"{host}: cairn_tags has no {key}"
    user_tags = {**hostvars.get("cairn_tags", {}), **(inputs.get("cairn_stack_tags") or {}),
                 **inputs["networking_tags"]}
    assert not [k for k in user_tags if k.startswith(("aws:", "cairn:"))], "reserved tag prefix"


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_connection_settings(env, host, hostvars):
    assert hostvars.get("ansible_connection") == "local"
    assert hostvars.get("ansible_python_interpreter") == "{{ ansible_playbook_python }}"
    if env == "local":
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", hostvars["aws_endpoint_url"])
        assert hostvars["aws_access_key"] == "testing"
        assert hostvars["aws_secret_key"] == "testing"
        assert "aws_profile" not in hostvars
    else:
        # Real accounts: the SDK chain or a named profile, never an endpoint or keys in the inventory.
        for name in ("aws_endpoint_url", "aws_access_key", "aws_secret_key", "aws_session_token"):
            assert name not in hostvars, f"{host}: {name} does not belong in a real environment's inventory"


@pytest.mark.parametrize("env,host,hostvars", HOSTS, ids=HOST_IDS)
def test_host_vars_pass_the_role_argument_specs(env, host, hostvars):
    inputs = role_inputs(hostvars)
    # The same call the validate_argument_spec action makes before the role's first task.
    result = ArgumentSpecValidator(ROLE_SPEC).validate(inputs, validate_role_argument_spec=True)
    assert result.error_messages == []
    # ... and the rule a type cannot express (the role's first task asserts it).
    if inputs["networking_state"] == "present":
        assert inputs["networking_cidr_block"]


# ---------------------------------------------------------------------------------------------
# The role's spec and defaults themselves


def test_role_defaults_match_the_argument_specs():
    for name, value in ROLE_DEFAULTS.items():
        assert name in ROLE_SPEC, f"defaults/main.yml sets {name}, which argument_specs does not document"
        assert ROLE_SPEC[name].get("default") == value, f"{name}: default differs between defaults and spec"
    undocumented = [name for name, spec in ROLE_SPEC.items()
                    if not spec.get("description")]
    assert not undocumented


def test_retention_choices_are_exactly_cloudwatch_values():
    assert ROLE_SPEC["networking_flow_logs_retention_days"]["choices"] == CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("override,fragment", [
    ({"networking_nat_gateway_mode": "two"}, "networking_nat_gateway_mode"),
    ({"networking_flow_logs_retention_days": 45}, "networking_flow_logs_retention_days"),
    ({"networking_az_count": 7}, "networking_az_count"),
    ({"networking_az_count": 0}, "networking_az_count"),
    ({"networking_ipv6": "maybe"}, "networking_ipv6"),
    ({"networking_gateway_endpoints": ["s3", "sqs"]}, "networking_gateway_endpoints"),
    ({"networking_state": "gone"}, "networking_state"),
    ({"cairn_environment": None}, "cairn_environment"),
])
def test_role_argument_specs_reject_bad_input(override, fragment):
    inputs = role_inputs(ALL["prod"]["prod-us-east-1"])
    inputs.update(override)
    if override.get("cairn_environment", "") is None:
        del inputs["cairn_environment"]
    result = ArgumentSpecValidator(ROLE_SPEC).validate(inputs, validate_role_argument_spec=True)
    assert any(fragment in message for message in result.error_messages), result.error_messages


@pytest.mark.parametrize("tier,cidrs,fragment", [
    ("private", ["10.40.0.0/20", "10.40.16.0/20", "10.40.128.0/20"], "overlaps"),
    ("public", ["10.40.128.0/24", "10.40.129.0/24", "10.99.0.0/24"], "outside the VPC"),
])
def test_subnet_checker_catches_explicit_overlaps_and_strays(tier, cidrs, fragment):
    inputs = role_inputs(ALL["prod"]["prod-us-east-1"])
    inputs[f"networking_{tier}_subnets"] = cidrs
    problems = subnet_problems(inputs)
    assert problems and fragment in problems[0]


def test_default_layout_matches_interface():
    plan = subnet_plan(role_inputs(ALL["prod"]["prod-us-east-1"]))
    assert [str(n) for n in plan["private"]] == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
    assert [str(n) for n in plan["public"]] == ["10.40.128.0/24", "10.40.129.0/24", "10.40.130.0/24"]
    assert [str(n) for n in plan["database"]] == ["10.40.144.0/24", "10.40.145.0/24", "10.40.146.0/24"]


def test_default_layout_fits_every_allowed_prefix_and_zone_count():
    for prefix, zones in itertools.product(range(16, 21), range(1, 7)):
        inputs = dict(ROLE_DEFAULTS, networking_cidr_block=f"10.0.0.0/{prefix}", networking_az_count=zones)
        assert subnet_problems(inputs) == [], (prefix, zones)

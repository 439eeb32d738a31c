"""The data and compute roles' inputs: every inventory passes their argument specs, the defaults are
documented, and the data tier's replication pairs hold. (The networking role has its own, deeper checks
in tests/unit/test_inventories.py.)

The stacks' variables are read as a play sees them and validated with the same ArgumentSpecValidator
call the role's validate_argument_spec makes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.template import Templar
from ansible.vars.manager import VariableManager

REPO = Path(__file__).resolve().parents[2]
ROLES = ("data", "compute")


def role_files(role):
    meta = REPO / "roles" / role / "meta" / "argument_specs.yml"
    return (yaml.safe_load(meta.read_text())["argument_specs"]["main"]["options"],
            yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()))


def stacks(role):
    """[(environment, {host: the role's inputs as a play sees them})] for every inventory."""
    spec, _defaults = role_files(role)
    found = []
    for inventory_dir in sorted(p for p in (REPO / "inventories").iterdir() if (p / "hosts.yml").is_file()):
        loader = DataLoader()
        inventory = InventoryManager(loader=loader, sources=[str(inventory_dir)])
        variables = VariableManager(loader=loader, inventory=inventory)
        hosts = {}
        defaults = loader.load_from_file(str(REPO / "roles" / role / "defaults" / "main.yml"), trusted_as_template=True)
        for host in inventory.get_hosts():
            host_vars = variables.get_vars(host=host, include_hostvars=False)
            merged = {name: value for name, value in defaults.items() if name in spec}
            merged.update({name: host_vars[name] for name in spec if name in host_vars})
            hosts[host.name] = Templar(loader=loader, variables={**host_vars, **merged}).template(merged)
        found.append((inventory_dir.name, hosts))
    return found


SPEC, DEFAULTS = role_files("data")
DERIVED = {name for name in DEFAULTS if name not in SPEC}
STACKS = stacks("data")
HOSTS = [(env, name, hostvars, hosts) for env, hosts in STACKS for name, hostvars in hosts.items()]
ALL_ROLES_HOSTS = [(role, name, hostvars) for role in ROLES for _env, hosts in stacks(role) for name, hostvars in hosts.items()]


@pytest.mark.parametrize("role,host,hostvars", ALL_ROLES_HOSTS, ids=["{0}-{1}".format(h[0], h[1]) for h in ALL_ROLES_HOSTS])
def test_every_stack_passes_the_role_argument_spec(role, host, hostvars):
    result = ArgumentSpecValidator(role_files(role)[0]).validate(hostvars, validate_role_argument_spec=True)
    assert result.error_messages == []


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_match_the_spec_and_every_option_is_documented(role):
    spec, defaults = role_files(role)
    for name, value in defaults.items():
        if name not in spec:  # derived: computed from other inputs, not meant to be set in inventories
            assert "Derived" in (REPO / "roles" / role / "defaults" / "main.yml").read_text().split(name + ":")[0], name
            continue
        if isinstance(value, str) and "{{" in value:
            assert "default" not in spec[name], "{0}: a templated default is documented in the description instead".format(name)
        elif "default" in spec[name]:
            assert spec[name]["default"] == value, name
        else:  # a long structured default is described in words
            assert isinstance(value, (list, dict)) and "default" in str(spec[name]["description"]).lower(), name
    assert all(entry.get("description") for entry in spec.values())


@pytest.mark.parametrize("env,host,hostvars,hosts", HOSTS, ids=[h[1] for h in HOSTS])
def test_replication_pairs_point_at_each_other(env, host, hostvars, hosts):
    role = hostvars["cairn_stack_role"]
    if role == "primary" and hostvars.get("cairn_dr_stack"):
        partner = hosts[hostvars["cairn_dr_stack"]]
        assert partner["cairn_stack_role"] == "dr_standby"
        assert partner["cairn_primary_stack"] == host
        assert partner["cairn_region"] != hostvars["cairn_region"]
    if role == "dr_standby":
        assert hosts[hostvars["cairn_primary_stack"]]["cairn_stack_role"] == "primary"


def test_prod_protects_its_databases_and_waits_for_the_maintenance_window():
    prod = dict(STACKS)["prod"]
    for hostvars in prod.values():
        assert hostvars["data_rds_deletion_protection"] is True
        assert hostvars["data_rds_apply_immediately"] is False
        assert hostvars["data_rds_backup_retention_days"] == 35
        assert hostvars["data_rds_multi_az"] is True


@pytest.mark.parametrize("override,fragment", [
    ({"data_rds_read_replica_count": "two"}, "data_rds_read_replica_count"),
    ({"data_state": "gone"}, "data_state"),
    ({"cairn_stack_role": "secondary"}, "cairn_stack_role"),
    ({"data_rds_multi_az": "perhaps"}, "data_rds_multi_az"),
])
def test_argument_spec_rejects_bad_input(override, fragment):
    hostvars = dict(dict(STACKS)["prod"]["prod-us-east-1"])
    hostvars.update(override)
    result = ArgumentSpecValidator(SPEC).validate(hostvars, validate_role_argument_spec=True)
    assert any(fragment in message for message in result.error_messages), result.error_messages

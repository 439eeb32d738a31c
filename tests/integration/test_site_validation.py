"""Bad input anywhere in an inventory is refused before the first write of site.yml: with 0 API calls of any kind
recorded by the emulator, with and without --check, naming the stack and the variable as the inventory spells it,
and listing the problems of every stack in one run (the cairn.platform.validate_inputs step, first in site.yml).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PRIMARY, DR = "local-us-east-1", "local-us-west-2"


@pytest.fixture
def inventory(tmp_path):
    """A copy of inventories/local that a test spoils through its group_vars and host_vars."""
    target = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", target)
    return target


def set_vars(inventory, where, **values):
    """Override variables in group_vars/all.yml (where="all") or host_vars/<host>.yml, as a user edits them."""
    path = inventory / ("group_vars/all.yml" if where == "all" else "host_vars/{0}.yml".format(where))
    data = yaml.safe_load(path.read_text()) or {}
    data.update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def run_site(emulator, inventory, *extra):
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    env.update(CAIRN_EMULATOR_PORT=str(urlsplit(emulator.endpoint_url).port), ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml", "-i", str(inventory), *extra]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def refused(emulator, inventory, *extra):
    """Run site.yml; it must fail in the validation step with no API call. Returns its output."""
    with emulator.recording() as calls:
        done = run_site(emulator, inventory, *extra)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "found before any change was made" in output, output[-3000:]
    assert calls == [], [c.operation for c in calls][:10]
    return output


BAD_NODE_GROUP = {"name": "system", "capacity_type": "ON_DEMAND", "instance_types": ["m7i.large"], "min_size": 5, "max_size": 2,
                  "desired_size": 3}
BAD_HPA = {"name": "api", "namespace": "apps", "min_replicas": 10, "max_replicas": 2, "cpu_target_percent": 60}
CASES = [
    # (where, variables, words the message must hold)
    ("all", {"data_rds_backup_retention_days": 40}, [PRIMARY, "data_rds_backup_retention_days", "35"]),
    (DR, {"compute_node_groups": [BAD_NODE_GROUP]}, [DR, "compute_node_groups", "min_size"]),
    ("all", {"compute_kubernetes_version": "1.99"}, [PRIMARY, DR, "compute_kubernetes_version", "1.99"]),
    ("all", {"security_github_repository": "platform"}, [PRIMARY, "owner/name"]),
    ("all", {"cairn_tags": {"owner": "x" * 300}}, [PRIMARY, DR, "256"]),
    ("all", {"compute_microservices": [BAD_HPA]}, [PRIMARY, "compute_microservices", "minReplicas"]),
    (PRIMARY, {"networking_nat_gateway_mode": "triple"}, [PRIMARY, "networking_nat_gateway_mode", "per_az"]),
    ("all", {"load_balancing_ssl_policy": "ELBSecurityPolicy-2016-08"}, [PRIMARY, DR, "load_balancing_ssl_policy"]),
]


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("where, values, words", CASES, ids=[next(iter(case[1])) for case in CASES])
def test_bad_inventory_value_is_refused_before_any_call(emulator, inventory, where, values, words, check_mode):
    emulator.reset()
    set_vars(inventory, where, **values)
    output = refused(emulator, inventory, *(["--check", "--diff"] if check_mode else []))
    for word in words:
        assert word in output, (word, output[-3000:])


def test_problems_of_two_stacks_are_reported_in_one_run(emulator, inventory):
    emulator.reset()
    set_vars(inventory, PRIMARY, data_rds_backup_retention_days=0)
    set_vars(inventory, DR, networking_cidr_block="10.10.0.0/16")  # the primary's range
    output = refused(emulator, inventory)
    assert "{0}: ".format(PRIMARY) in output and "data_rds_backup_retention_days" in output
    assert "{0}: networking_cidr_block".format(PRIMARY) in output or "{0}: networking_cidr_block".format(DR) in output
    assert "overlaps" in output


def test_validation_alone_needs_no_credentials_and_passes_on_every_shipped_inventory(emulator):
    for environment in ("local", "dev", "staging", "prod"):
        with emulator.recording() as calls:
            done = run_site(emulator, REPO / "inventories" / environment, "--tags", "validate")
        assert done.returncode == 0, (environment, (done.stdout + done.stderr)[-3000:])
        assert calls == []

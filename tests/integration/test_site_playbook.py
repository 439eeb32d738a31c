"""End to end: site.yml on the local inventory against the emulator, as a user runs it.

Plan (check mode) on an empty account, converge, no-op rerun, plan on the converged account;
calls counted by the emulator's recorder, changes collected by the cairn.platform.plan callback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from support.emulator import mutating_calls

REPO = Path(__file__).resolve().parents[2]


def playbook(emulator, tmp_path, *extra):
    """Run site.yml on the local inventory; it must succeed. Returns (stdout, sorted changes)."""
    done, changes = run_playbook(emulator, tmp_path, *extra)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout, changes


def run_playbook(emulator, tmp_path, *extra):
    """Run site.yml on the local inventory: (the finished process, sorted (host, action, type, name) changes)."""
    plan_file = tmp_path / "plan.json"
    plan_file.unlink(missing_ok=True)  # a failed run writes none: never read the previous run's
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    env.update(
        CAIRN_EMULATOR_PORT=str(urlsplit(emulator.endpoint_url).port),
        ANSIBLE_CALLBACKS_ENABLED="cairn.platform.plan",
        CAIRN_PLAN_FILE=str(plan_file),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml", "-i", "inventories/local", *extra]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    changes = json.loads(plan_file.read_text()) if plan_file.exists() else {}
    return done, sorted(
        (host, change["action"], change["resource_type"], change["resource"])
        for host, host_changes in changes.items() for change in host_changes
    )


def shared_validation_records(changes):
    """ACM's DNS validation records, by the name they validate: ACM asks for the same record for a name in every region,
    so each stack whose certificate covers the name plans it, and whichever runs first writes it."""
    return {c[3].split(".", 1)[1] for c in changes if c[2] == "acm_validation_record"}


def same_plan(planned, applied):
    """Equal, except that a planned name "(known after apply)" (the OIDC provider named by the issuer of a cluster
    that is only planned) stands for any applied name of the same host, action and type, and that a validation record
    shared by the stacks is written once."""
    import collections

    if shared_validation_records(planned) != shared_validation_records(applied):
        return False
    planned = [c for c in planned if c[2] != "acm_validation_record"]
    applied = [c for c in applied if c[2] != "acm_validation_record"]
    unknown = collections.Counter(c[:3] for c in planned if "(known after apply)" in c[3])
    remainder = collections.Counter(applied) - collections.Counter(c for c in planned if "(known after apply)" not in c[3])
    return sum(remainder.values()) == len(applied) - (len(planned) - sum(unknown.values())) and \
        collections.Counter(c[:3] for c in remainder.elements()) == unknown


@pytest.fixture
def empty_emulator(emulator):
    emulator.reset()
    return emulator


def test_plan_converge_rerun_and_plan_again(empty_emulator, tmp_path):
    emulator = empty_emulator
    with emulator.recording() as calls:
        planned = playbook(emulator, tmp_path, "--check", "--diff")[1]
    assert mutating_calls(calls) == [], mutating_calls(calls)[:5]
    kinds = {change[2] for change in planned}
    assert {"vpc", "subnet", "nat_gateway", "iam_role", "kms_key", "security_group", "web_acl", "cloudtrail_trail"} <= kinds
    assert {"s3_bucket", "db_instance", "db_read_replica", "replication_group", "ssm_parameter"} <= kinds
    assert {"eks_cluster", "eks_access_entry", "iam_oidc_provider", "eks_nodegroup", "eks_fargate_profile", "eks_addon",
            "Namespace", "Deployment", "HorizontalPodAutoscaler"} <= kinds
    assert {"acm_certificate", "cloudfront_distribution", "origin_access_control", "TargetGroupBinding"} <= kinds

    roles = {change[3] for change in planned if change[2] == "iam_role"}
    assert {"cairn-local-ci-deploy", "local-us-east-1-break-glass-restore", "local-us-east-1-eks-cluster"} <= roles

    output, applied = playbook(emulator, tmp_path)
    import collections
    extra = collections.Counter(planned) - collections.Counter(applied)
    missing = collections.Counter(applied) - collections.Counter(planned)
    assert same_plan(planned, applied), "check mode planned something else than the run did: planned only {0}, applied only {1}".format(
        sorted(extra)[:10], sorted(missing)[:10])
    counts = [sum(1 for change in applied if change[1] == action) for action in ("create", "update", "delete")]
    assert "total - {0} to create, {1} to update, {2} to delete".format(*counts) in output

    with emulator.recording() as calls:
        output, rerun = playbook(emulator, tmp_path)
    assert rerun == []
    assert mutating_calls(calls) == []
    assert "changed=0" in output

    with emulator.recording() as calls:
        replanned = playbook(emulator, tmp_path, "--check", "--diff")[1]
    assert replanned == [] and mutating_calls(calls) == []

"""The collection's modules run in Ansible's worker process (plugins/plugin_utils/in_worker.py) and answer
exactly as in their own process: same result, same failure, same check mode, same API calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.emulator import mutating_calls

REPO = Path(__file__).resolve().parents[2]


def run_adhoc(module, args, execution, *extra):
    env = dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "cairn.platform." + module,
               "-a", json.dumps(args), "-e", "cairn_module_execution=" + execution, "-vvvv", *extra]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)  # failures are results
    # The default callback: "localhost | SUCCESS => {...}" (or FAILED!), the result as JSON.
    marker = next(line for line in proc.stdout.splitlines() if line.startswith("localhost | "))
    start = proc.stdout.index(marker) + len(marker.split("=>")[0]) + 2
    result = json.JSONDecoder().raw_decode(proc.stdout[start:].lstrip())[0]
    result["status"] = marker.split("|")[1].split("=>")[0].strip()  # SUCCESS, CHANGED, FAILED!
    return result, proc.stdout


def comparable(result):
    return {key: value for key, value in result.items() if key not in ("invocation", "_ansible_no_log", "_ansible_verbose_always")}


@pytest.mark.parametrize("check", [False, True])
def test_same_answer_in_the_worker_as_in_its_own_process(aws_env, check):
    extra = ["--check"] if check else []
    with aws_env.recording() as calls:
        in_worker, log = run_adhoc("account_info", {"region": "us-west-2"}, "in_worker", *extra)
    assert "runs in the worker process" in log
    subprocess_result, log = run_adhoc("account_info", {"region": "us-west-2"}, "subprocess", *extra)
    assert "runs in its own process (cairn_module_execution: subprocess)" in log
    assert comparable(in_worker) == comparable(subprocess_result)
    assert in_worker["status"] == "SUCCESS" and in_worker["account_id"] and in_worker["region"] == "us-west-2"
    assert [c.operation for c in calls] == ["GetCallerIdentity"] and not mutating_calls(calls)


def test_failure_reads_the_same_in_the_worker(aws_env):
    bad = {"environment": "dev", "stack": "dev-us-east-1", "cidr_block": "10.0.0.0/33", "availability_zones": 2}
    with aws_env.recording() as calls:
        in_worker = run_adhoc("networking", bad, "in_worker")[0]
    subprocess_result = run_adhoc("networking", bad, "subprocess")[0]
    assert in_worker["status"] == subprocess_result["status"] == "FAILED!"
    assert in_worker["msg"] == subprocess_result["msg"]
    assert "cidr_block" in in_worker["msg"]
    assert not calls  # refused before the first API call, in the worker too

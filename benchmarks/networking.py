#!/usr/bin/env python3
"""Benchmark: site.yml against a fresh local emulator, with every AWS API call counted.

    .venv/bin/python benchmarks/networking.py [--inventory inventories/prod] [--strict]

Scenarios, in this order, on one fresh moto_server:
  1. converge      first converge of an empty account
  2. rerun         the same playbook again (no-op)
  3. check         --check --diff on the converged account
  4. check-empty   --check --diff on an empty account (after a reset)

For each: wall time of ansible-playbook, SDK invocations seen by the emulator (retries of one
invocation count once), mutating invocations, and hosts reporting changed. For the rerun:
the most describe calls of one operation in one region (target: 1, i.e. one describe per
resource type per region). Targets: 0 mutating calls in rerun/check/check-empty, changed=0
on rerun and check. Results: benchmarks/results/networking-<UTC time>.json (gitignored).

The inventory is used as is; when it names no endpoint (prod does not), the emulator is
reached through the SDK's own environment: AWS_ENDPOINT_URL and fake credentials, with
AWS_PROFILE and the user's ~/.aws removed from the environment of the run.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import sys
import time
import urllib.request
from urllib.parse import parse_qs
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.emulator import Emulator, parse_entry  # noqa: E402  (the test harness, reused)

CREDENTIAL_REGION = re.compile(r"Credential=[^/\s,]+/\d{8}/([^/\s,]+)/")
READ_PREFIXES = ("Describe", "Get", "List")


def run_environment(endpoint_url: str) -> dict:
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(name, None)
    for name in [n for n in env if n.startswith("AWS_ENDPOINT_URL")]:
        env.pop(name)
    env.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        # The local inventory derives its endpoint from this; other inventories ignore it.
        CAIRN_EMULATOR_PORT=endpoint_url.rsplit(":", 1)[1],
        ANSIBLE_CALLBACKS_ENABLED="cairn.platform.plan",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def regional_calls(endpoint_url: str) -> list[dict]:
    """The last recording, one dict per SDK invocation, with its region (retries once)."""
    with urllib.request.urlopen(endpoint_url + "/moto-api/recorder/download-recording", timeout=60) as resp:
        text = resp.read().decode("utf-8")
    calls, seen = [], set()
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        parsed = parse_entry(entry)
        if parsed is None:
            continue
        invocation_id, call = parsed
        if invocation_id:
            if invocation_id in seen:
                continue
            seen.add(invocation_id)
        headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
        match = CREDENTIAL_REGION.search(headers.get("authorization", ""))
        calls.append({"service": call.service, "operation": call.operation, "mutating": call.mutating,
                      "region": match.group(1) if match else "unknown",
                      "resource": described_resource(call.operation, entry)})
    return calls


RECAP_LINE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def described_resource(operation: str, entry: dict) -> str:
    """What a read call reads: the operation, plus the attribute for Describe*Attribute calls.

    DescribeVpcAttribute takes one attribute per call (enableDnsSupport, enableDnsHostnames
    ...), so two calls for two attributes are two resource types, not a repeated describe.
    """
    if not operation.endswith("Attribute"):
        return operation
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8", "replace")
        except ValueError:
            body = ""
    attribute = (parse_qs(body).get("Attribute") or [None])[0]
    return f"{operation}({attribute})" if attribute else operation


def summarize_play(stdout: str, plan_file: Path) -> dict:
    """Per-host stats (PLAY RECAP) and the planned changes (the cairn.platform.plan callback's file)."""
    stats = {}
    for host, ok, changed, unreachable, failed in RECAP_LINE.findall(stdout):
        stats[host] = {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable), "failures": int(failed)}
    changes = json.loads(plan_file.read_text()) if plan_file.exists() else {}
    return {
        "stats": stats,
        "hosts_changed": sorted(h for h, s in stats.items() if s["changed"]),
        "hosts_failed": sorted(h for h, s in stats.items() if s["failures"] or s["unreachable"]),
        "planned_changes": {host: len(host_changes) for host, host_changes in changes.items()},
    }


def failure_messages(stdout: str, stderr: str) -> list[str]:
    lines = [line.strip() for line in stdout.splitlines() if line.startswith(("fatal:", "failed:", "ERROR", "[ERROR]"))]
    lines += [line.strip() for line in stderr.splitlines() if "ERROR" in line]
    return lines or [(stdout + stderr)[-2000:]]


def inventory_regions(inventory: str) -> list[str]:
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", inventory, "--list"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    hostvars = json.loads(proc.stdout).get("_meta", {}).get("hostvars", {})
    return sorted({v["cairn_region"] for v in hostvars.values() if v.get("cairn_region")})


def warm_up(emulator: Emulator, regions: list[str]) -> float:
    """Read-only calls that make moto load its backends (IAM managed policies, EC2 per region).

    moto builds a region's backend on first use (about 1 s for EC2, again after each reset);
    without this the first scenario would time the emulator, not the collection. Nothing is
    created, so the account stays empty.
    """
    import boto3

    started = time.monotonic()
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    session.client("iam", region_name="us-east-1", endpoint_url=emulator.endpoint_url).list_roles()
    for region in regions:
        for service, call in (("ec2", "describe_vpcs"), ("logs", "describe_log_groups"), ("sts", "get_caller_identity")):
            getattr(session.client(service, region_name=region, endpoint_url=emulator.endpoint_url), call)()
    return time.monotonic() - started


def kubernetes_requests(endpoint_url: str) -> list[dict]:
    """Requests the emulator's Kubernetes API model served since its last reset (emulator/kube_api.py)."""
    with urllib.request.urlopen(endpoint_url + "/_eks/_requests", timeout=60) as resp:
        return json.loads(resp.read())


def run_scenario(name: str, emulator: Emulator, inventory: str, playbook: str, extra: list[str]) -> dict:
    command = [str(Path(sys.executable).parent / "ansible-playbook"), playbook, "-i", inventory, *extra]
    env = run_environment(emulator.endpoint_url)
    work_dir = Path(tempfile.mkdtemp(prefix=f"cairn-bench-{name}-"))
    env["CAIRN_PLAN_FILE"] = str(work_dir / "plan.json")
    kube_before = len(kubernetes_requests(emulator.endpoint_url))
    with emulator.recording() as calls:
        started = time.monotonic()
        proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
    regional = regional_calls(emulator.endpoint_url)
    kube = kubernetes_requests(emulator.endpoint_url)[kube_before:]
    if len(regional) != len(calls):  # both parse the same recording
        print(f"warning: {name}: recorder parsed {len(calls)} vs {len(regional)} calls", file=sys.stderr)

    describe = collections.Counter(
        (c["region"], f"{c['service']}:{c['resource']}") for c in regional
        if not c["mutating"] and c["operation"].startswith(READ_PREFIXES))
    per_region = {}
    for (region, operation), count in describe.items():
        best = per_region.get(region)
        if best is None or count > best["count"]:
            per_region[region] = {"operation": operation, "count": count}
    worst = max(({"region": r, **v} for r, v in per_region.items()), key=lambda v: v["count"], default=None)

    result = {
        "scenario": name,
        "command": " ".join(command[1:]),
        "returncode": proc.returncode,
        "wall_seconds": round(wall, 2),
        "api_calls": len(regional),
        "mutating_calls": sum(1 for c in regional if c["mutating"]),
        # In-cluster requests (the emulator's Kubernetes API model; AWS's recorder does not see them).
        "kubernetes_requests": len(kube),
        "kubernetes_writes": sum(1 for r in kube if r["method"] != "GET"),
        "mutating_operations": dict(collections.Counter(
            f"{c['region']} {c['service']}:{c['operation']}" for c in regional if c["mutating"])),
        "calls_by_operation": dict(collections.Counter(
            f"{c['service']}:{c['operation']}" for c in regional).most_common()),
        "calls_by_region": dict(collections.Counter(c["region"] for c in regional)),
        "max_describe_per_operation_by_region": per_region,
        "worst_describe": worst,
        "repeated_describes": {f"{r} {op}": n for (r, op), n in sorted(describe.items()) if n > 1},
        **summarize_play(proc.stdout, work_dir / "plan.json"),
    }
    shutil.rmtree(work_dir, ignore_errors=True)
    if proc.returncode != 0:
        result["failures"] = failure_messages(proc.stdout, proc.stderr)
        result["output_tail"] = (proc.stdout + proc.stderr)[-4000:]
    return result


def print_table(results: list[dict]) -> None:
    header = (f"{'scenario':<12} {'rc':>3} {'wall s':>7} {'API calls':>9} {'mutating':>8} {'k8s req':>7} {'k8s wr':>6} "
              f"{'changed hosts':>13} {'planned':>7}")
    print(header)
    print("-" * len(header))
    for r in results:
        planned = sum(r.get("planned_changes", {}).values())
        print(f"{r['scenario']:<12} {r['returncode']:>3} {r['wall_seconds']:>7.2f} {r['api_calls']:>9} "
              f"{r['mutating_calls']:>8} {r['kubernetes_requests']:>7} {r['kubernetes_writes']:>6} "
              f"{len(r.get('hosts_changed', [])):>13} {planned:>7}")


def check_targets(by_name: dict) -> list[tuple[str, bool, str]]:
    verdicts = []
    for name in ("rerun", "check", "check-empty"):
        r = by_name[name]
        verdicts.append((f"{name}: 0 mutating calls", r["mutating_calls"] == 0,
                         f"{r['mutating_calls']} {r['mutating_operations'] or ''}".strip()))
        verdicts.append((f"{name}: 0 Kubernetes writes", r["kubernetes_writes"] == 0, str(r["kubernetes_writes"])))
    for name in ("rerun", "check"):
        r = by_name[name]
        verdicts.append((f"{name}: changed=0", not r.get("hosts_changed"), ", ".join(r.get("hosts_changed", [])) or "0"))
    verdicts.append(("check-empty: reports changes", bool(by_name["check-empty"].get("hosts_changed")),
                     f"{sum(by_name['check-empty'].get('planned_changes', {}).values())} planned changes"))
    worst = by_name["rerun"]["worst_describe"]
    verdicts.append(("rerun: <= 1 describe per operation per region",
                     worst is None or worst["count"] <= 1,
                     "worst: " + (f"{worst['count']}x {worst['operation']} in {worst['region']}" if worst else "none")))
    for name, r in by_name.items():
        verdicts.append((f"{name}: playbook succeeded", r["returncode"] == 0, "; ".join(r.get("failures", []))[:500] or "ok"))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", default="inventories/prod")
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--output-dir", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--tags", default="networking",
                        help="roles to run (ansible-playbook --tags); 'all' runs the whole site.yml")
    args = parser.parse_args()
    tags = [] if args.tags == "all" else ["--tags", args.tags]

    scenarios = [
        ("converge", tags, False),
        ("rerun", tags, False),
        ("check", tags + ["--check", "--diff"], False),
        ("check-empty", tags + ["--check", "--diff"], True),
    ]
    results = []
    regions = inventory_regions(args.inventory)
    with Emulator() as emulator:
        print(f"emulator: {emulator.endpoint_url}  inventory: {args.inventory} ({', '.join(regions)})  "
              f"playbook: {args.playbook}  tags: {args.tags}")
        for index, (name, extra, reset_first) in enumerate(scenarios):
            if index == 0 or reset_first:
                emulator.reset()
                warm_up(emulator, regions)
            result = run_scenario(name, emulator, args.inventory, args.playbook, extra)
            results.append(result)
            print(f"  {name}: rc={result['returncode']} {result['wall_seconds']} s, "
                  f"{result['api_calls']} calls, {result['mutating_calls']} mutating", flush=True)

    by_name = {r["scenario"]: r for r in results}
    print()
    print_table(results)

    print("\nrerun: most describe calls of one operation, per region")
    for region, worst in sorted(by_name["rerun"]["max_describe_per_operation_by_region"].items()):
        print(f"  {region:<12} {worst['count']:>3}x {worst['operation']}")
    if by_name["rerun"]["repeated_describes"]:
        print("  repeated:", ", ".join(f"{k} x{v}" for k, v in by_name["rerun"]["repeated_describes"].items()))

    verdicts = check_targets(by_name)
    print("\ntargets")
    for label, ok, detail in verdicts:
        print(f"  [{'PASS' if ok else 'MISS'}] {label:<48} {detail}")

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "benchmark": "networking",
        "created": stamp,
        "inventory": args.inventory,
        "playbook": args.playbook,
        "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "targets": [{"target": label, "met": ok, "detail": detail} for label, ok, detail in verdicts],
        "scenarios": results,
    }
    path = out_dir / f"networking-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    (out_dir / "networking-latest.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    missed = [label for label, ok, _ in verdicts if not ok]
    return 1 if (args.strict and missed) or any(r["returncode"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

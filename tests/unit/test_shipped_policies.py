"""Every IAM policy the collection ships, rendered with sample values and linted offline.

roles/security/vars/iam_roles.yml is rendered by Ansible's own Templar (the filters the file uses
are Ansible's), each trust and inline policy is linted by parliament (with its community auditors)
and each inline policy by cloudsplaining. A finding fails the test unless
tests/unit/policy_lint_allowlist.yml lists it with a reason; an allow-list entry that matches no
finding fails too. Then the house rules: no Allow of "*" or "service:*", Resource "*" only for
actions without resource-level permissions (policy_sentry's offline IAM database; a published third-party
policy shipped verbatim may be allow-listed under tool "house-rules"), every OIDC trust restricted by sub and
aud, GitHub subjects pinned to one repository, break-glass behind MFA.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.cairn.platform.plugins.modules.iam_roles import (
    PROVIDER_ARN,
    as_list,
    build_spec,
    build_trust_policy,
    check_web_identity_conditions,
    provider_arn,
    web_identity_principals,
)

REPO = Path(__file__).resolve().parents[2]
VARS_FILE = REPO / "roles" / "security" / "vars" / "iam_roles.yml"
COMPUTE_VARS_FILE = REPO / "roles" / "compute" / "vars" / "iam_roles.yml"  # IRSA and Fargate roles
ALLOWLIST_FILE = Path(__file__).resolve().parent / "policy_lint_allowlist.yml"
ROLE_PREFIX = "security_iam_role_"
ACCOUNT = "123456789012"
GITHUB_REPOSITORY = "acme/cairn-platform"

# Sample stacks: the primary with everything switched on, and a stack that owns no account-wide IAM.
SCENARIOS = {
    "prod-primary": dict(
        cairn_account_id=ACCOUNT, cairn_partition="aws", cairn_region="us-east-1", cairn_environment="prod",
        cairn_stack="prod-us-east-1", cairn_stack_role="primary", security_github_repository=GITHUB_REPOSITORY,
        security_github_environments=["production"],
        security_break_glass_principals=["arn:aws:iam::{0}:user/alice".format(ACCOUNT),
                                         "arn:aws:iam::{0}:role/oncall".format(ACCOUNT)],
    ),
    "prod-eu-residency": dict(
        cairn_account_id=ACCOUNT, cairn_partition="aws", cairn_region="eu-west-1", cairn_environment="prod",
        cairn_stack="prod-eu-west-1", cairn_stack_role="eu_residency", security_github_repository=GITHUB_REPOSITORY,
        security_github_environments=["production"], security_break_glass_principals=[],
    ),
}
# What a break-glass principal may do: restore from recovery points, follow the jobs, pass the backup role.
RESTORE_ACTIONS = {
    "backup:StartRestoreJob", "backup:DescribeRecoveryPoint", "backup:GetRecoveryPointRestoreMetadata",
    "backup:ListRecoveryPointsByBackupVault", "backup:DescribeRestoreJob", "backup:ListRestoreJobs", "iam:PassRole",
}


def plain(value):
    """Templar's tagged containers as plain JSON data."""
    return json.loads(json.dumps(value))


def render(scenario):
    loader = DataLoader()
    data = loader.load_from_file(str(VARS_FILE), trusted_as_template=True)
    data.update(loader.load_from_file(str(COMPUTE_VARS_FILE), trusted_as_template=True))
    compute = dict(compute_cluster_name=SCENARIOS[scenario]["cairn_stack"],
                   compute_oidc_issuer="https://oidc.eks.{0}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE".format(
                       SCENARIOS[scenario]["cairn_region"]))
    templar = Templar(loader=loader, variables=dict(data, **SCENARIOS[scenario], **compute))
    return {key: plain(templar.template(value)) for key, value in data.items()}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def rendered(request):
    return request.param, render(request.param)


@pytest.fixture(scope="module")
def primary():
    return render("prod-primary")


def arn_for_url(url):
    return provider_arn("aws", ACCOUNT, url)


def shipped_roles(variables):
    """{role key: role} for every role variable, whether or not this stack's list includes it, and the compute roles."""
    roles = {key[len(ROLE_PREFIX):]: value for key, value in variables.items() if key.startswith(ROLE_PREFIX)}
    stack = variables["compute_iam_role_names"]["fargate"][:-len("-eks-fargate")]
    roles.update({"compute_" + role["name"][len(stack) + 1:]: role for role in variables["compute_iam_roles"]})
    return roles


def trust_of(role):
    return role.get("trust_policy") or build_trust_policy(role["trust"], arn_for_url)


def documents(role):
    """(policy label, kind, document) for the trust policy and every inline policy of a role."""
    yield "trust", "trust", trust_of(role)
    for name, document in sorted(role.get("inline_policies", {}).items()):
        yield name, "identity", document


def statements(document):
    return document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]


# ---------------------------------------------------------------------------------------------
# Linters
# ---------------------------------------------------------------------------------------------
def parliament_findings(document, kind, role_arn):
    from parliament import analyze_policy_string

    if kind == "trust":
        # A trust policy's resource is the role itself; parliament wants it spelled out.
        document = dict(document, Statement=[dict(s, Resource=role_arn) for s in statements(document)])
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    for finding in policy.findings:
        location = finding.location if isinstance(finding.location, dict) else {}
        detail = " ".join([str(finding.detail or "")] + [str(a) for a in location.get("actions", [])])
        yield finding.issue, detail


def cloudsplaining_findings(document):
    from cloudsplaining.command.scan_policy_file import scan_policy

    for category, result in scan_policy(document, {}).items():
        if isinstance(result, dict):
            for item in result.get("findings", []):
                yield category, item if isinstance(item, str) else json.dumps(item, sort_keys=True)


def lint_all(variables):
    """[(role key, policy label, tool, issue, detail)] over every shipped policy."""
    findings = []
    for key, role in sorted(shipped_roles(variables).items()):
        role_arn = "arn:aws:iam::{0}:role/cairn/{1}".format(ACCOUNT, role["name"])
        for label, kind, document in documents(role):
            for issue, detail in parliament_findings(document, kind, role_arn):
                findings.append((key, label, "parliament", issue, detail))
            if kind == "identity":
                for issue, detail in cloudsplaining_findings(document):
                    findings.append((key, label, "cloudsplaining", issue, detail))
    return findings


def allowlist():
    entries = yaml.safe_load(ALLOWLIST_FILE.read_text()) or []
    for entry in entries:
        assert set(entry) <= {"role", "policy", "tool", "issue", "detail", "reason"}, entry
        assert entry.get("reason", "").strip(), "allow-list entry without a reason: {0}".format(entry)
    return entries


def allows(entry, finding):
    role, label, tool, issue, detail = finding
    return (entry["role"] in ("*", role) and entry["policy"] == label and tool in as_list(entry["tool"])
            and entry["issue"] == issue and entry.get("detail", "").lower() in detail.lower())


def test_every_lint_finding_is_allow_listed_with_a_reason(rendered):
    scenario, variables = rendered
    entries = allowlist()
    unexplained = [finding for finding in lint_all(variables) if not any(allows(entry, finding) for entry in entries)]
    assert unexplained == [], "findings not in {0}: {1}".format(ALLOWLIST_FILE.name, unexplained)


def test_every_allow_list_entry_still_matches_a_finding(primary):
    findings = lint_all(primary) + resource_star_findings(primary)
    stale = [entry for entry in allowlist() if not any(allows(entry, finding) for finding in findings)]
    assert stale == [], "allow-list entries that match nothing (remove them): {0}".format(stale)


def test_the_linters_do_find_problems():
    """A guard against a silent linter: a deliberately bad policy yields findings from both."""
    bad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole", "s3:PutBucketPolicy"], "Resource": "*"}]}
    assert list(parliament_findings(bad, "identity", None))
    assert {issue for issue, _detail in cloudsplaining_findings(bad)} >= {"DataExfiltration", "ResourceExposure"}


# ---------------------------------------------------------------------------------------------
# House rules
# ---------------------------------------------------------------------------------------------
def test_the_module_accepts_every_shipped_role(rendered):
    """The stack's role list passes the module's own checks (malformed documents, wildcards, OIDC conditions)."""
    scenario, variables = rendered
    roles = variables["security_iam_roles"]
    params = {"state": "present", "purge_roles": True, "component": "security",
              "oidc_providers": variables["security_iam_oidc_providers"], "roles": roles}
    for role in params["roles"]:
        for key, default in (("description", ""), ("path", "/cairn/"), ("max_session_duration", 3600)):
            role.setdefault(key, default)
    spec = build_spec(params)
    assert len(spec["roles"]) == {"prod-primary": 7, "prod-eu-residency": 5}[scenario]


def test_no_allow_of_every_action(rendered):
    _scenario, variables = rendered
    for key, role in shipped_roles(variables).items():
        for label, _kind, document in documents(role):
            for statement in statements(document):
                assert "NotAction" not in statement, (key, label)
                for action in as_list(statement.get("Action", [])):
                    assert action != "*" and not fnmatch.fnmatchcase(action, "*:[*]"), (key, label, action)


def resource_star_findings(variables):
    """[(role key, policy label, "house-rules", "RESOURCE_STAR", actions)] for each statement that allows, on
    Resource "*", actions that support resource-level permissions."""
    from policy_sentry.querying.actions import remove_actions_that_are_not_wildcard_arn_only

    findings = []
    for key, role in sorted(shipped_roles(variables).items()):
        for label, kind, document in documents(role):
            if kind != "identity":
                continue
            for statement in statements(document):
                if "*" not in as_list(statement.get("Resource", [])):
                    continue
                actions = as_list(statement["Action"])
                wide = sorted(set(actions) - set(remove_actions_that_are_not_wildcard_arn_only(actions)))
                if wide:
                    findings.append((key, label, "house-rules", "RESOURCE_STAR", " ".join(wide)))
    return findings


def test_resource_star_only_for_actions_without_resource_level_permissions(rendered):
    _scenario, variables = rendered
    entries = allowlist()
    unexplained = [finding for finding in resource_star_findings(variables) if not any(allows(entry, finding) for entry in entries)]
    assert unexplained == [], "Resource \"*\" for actions that support resource-level permissions: {0}".format(unexplained)


def test_every_oidc_trust_names_sub_and_aud(rendered):
    _scenario, variables = rendered
    oidc_trusts = 0
    for key, role in shipped_roles(variables).items():
        trust = trust_of(role)
        check_web_identity_conditions(trust, key)
        for statement in statements(trust):
            for federated in web_identity_principals(statement):
                oidc_trusts += 1
                host = PROVIDER_ARN.match(federated).group(3)
                keys = {name for entries in statement["Condition"].values() for name in entries}
                assert {host + ":sub", host + ":aud"} <= keys, (key, keys)
    assert oidc_trusts == 1 + 6  # the CI deploy role, and the six IRSA roles of the compute tier


def test_github_subjects_are_one_repository_and_protected_refs_only(primary):
    trust = trust_of(shipped_roles(primary)["ci_deploy"])
    (statement,) = statements(trust)
    condition = statement["Condition"]
    assert "StringLike" not in condition, "no wildcards in GitHub subjects"
    assert condition["StringEquals"]["token.actions.githubusercontent.com:aud"] == ["sts.amazonaws.com"]
    assert sorted(condition["StringEquals"]["token.actions.githubusercontent.com:sub"]) == [
        "repo:{0}:environment:production".format(GITHUB_REPOSITORY),
        "repo:{0}:ref:refs/heads/main".format(GITHUB_REPOSITORY),
    ]


def test_break_glass_needs_named_principals_mfa_and_only_restores(primary):
    role = shipped_roles(primary)["break_glass_restore"]
    (statement,) = statements(trust_of(role))
    assert statement["Principal"]["AWS"] == sorted(SCENARIOS["prod-primary"]["security_break_glass_principals"])
    assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert int(statement["Condition"]["NumericLessThanEquals"]["aws:MultiFactorAuthAge"]) <= 3600
    actions = {action for document in role["inline_policies"].values() for s in statements(document)
               for action in as_list(s["Action"])}
    assert actions <= RESTORE_ACTIONS
    pass_role = [s for document in role["inline_policies"].values() for s in statements(document)
                 if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role and all(s["Condition"]["StringEquals"]["iam:PassedToService"] == "backup.amazonaws.com" for s in pass_role)


def test_service_roles_trust_their_service_and_attach_the_aws_policies(primary):
    roles = shipped_roles(primary)
    expected = {
        "eks_cluster": ("eks.amazonaws.com", {"AmazonEKSClusterPolicy"}),
        "eks_nodes": ("ec2.amazonaws.com", {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly",
                                            "AmazonEKS_CNI_Policy"}),
        "rds_monitoring": ("monitoring.rds.amazonaws.com", {"AmazonRDSEnhancedMonitoringRole"}),
        "s3_replication": ("s3.amazonaws.com", set()),
        "backup": ("backup.amazonaws.com", {"AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"}),
    }
    for key, (service, managed) in expected.items():
        (statement,) = statements(trust_of(roles[key]))
        assert as_list(statement["Principal"]["Service"]) == [service], key
        assert {arn.rsplit("/", 1)[-1] for arn in roles[key].get("managed_policy_arns", [])} == managed, key


def test_account_wide_iam_only_on_the_primary_stack():
    primary, eu = render("prod-primary"), render("prod-eu-residency")
    assert [p["url"] for p in primary["security_iam_oidc_providers"]] == ["https://token.actions.githubusercontent.com"]
    assert "cairn-prod-ci-deploy" in [role["name"] for role in primary["security_iam_roles"]]
    assert "prod-us-east-1-break-glass-restore" in [role["name"] for role in primary["security_iam_roles"]]
    assert eu["security_iam_oidc_providers"] == []
    names = [role["name"] for role in eu["security_iam_roles"]]
    assert names == ["prod-eu-west-1-eks-cluster", "prod-eu-west-1-eks-nodes", "prod-eu-west-1-rds-monitoring",
                     "prod-eu-west-1-s3-replication", "prod-eu-west-1-backup"]
    # Per-stack names never collide across the stacks of one account.
    assert not set(names) & {role["name"] for role in primary["security_iam_roles"]}

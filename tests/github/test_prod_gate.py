"""The prod gate, proven on the plan: a merge to `main` by the owning team alone cannot reach prod.

Each way into prod is checked against what the org stack declares: who may change the workflows
(CODEOWNERS, the ruleset), which events and refs start a deploy (the workflows, the environments'
branch policies), who may dispatch prod (the release gate's own script, run here with bash), and
what the deploy role can trust (the OIDC subject the template produces).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess

import pytest
import yaml

from components.config.stack_file import stack_file_config
from components.shared.catalog import WORKFLOWS_DIR, load_catalog
from components.shared.naming import (
    DEPLOY_WORKFLOW_PATH,
    DEPLOY_WORKFLOW_REPOSITORY,
    OIDC_SUBJECT_CLAIM_KEYS,
    deploy_workflow_ref,
    legacy_deploy_subject,
    pinned_deploy_subject,
)
from tests.conftest import stack_plan
from tests.github.test_organization import STACK_FILE
from tests.github.test_repositories import (
    DEPLOYMENT_POLICY,
    ENVIRONMENT,
    FILE,
    RULESET,
    TEAM_REPOSITORY,
    enterprise_plan,
    under,
)
from tools.plan import Plan

CATALOG = load_catalog()
ORG = CATALOG.organization
DEPLOYABLE = sorted(service.repository for service in CATALOG.deployable)
REPO_OIDC = (
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
)
ORG_RULESET = "github:index/organizationRuleset:OrganizationRuleset"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
TEAMS = STACK_FILE["pyairtable-infra:teams"]


def logins(team: str) -> list[str]:
    return TEAMS[team].get("maintainers", []) + TEAMS[team].get("members", [])


def files_of(plan: Plan, repository: str) -> dict[str, str]:
    return {f["inputs"]["file"]: f["inputs"]["content"] for f in under(plan, repository, FILE)}


def code_owners(codeowners: str, path: str) -> list[str]:
    """GitHub's rule: the last matching line decides, and its owners are any-of."""
    owners: list[str] = []
    for line in codeowners.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, *names = line.split()
        anchored = pattern.lstrip("/")
        if pattern == "*" or (pattern.endswith("/") and path.startswith(anchored)) or fnmatch.fnmatch(path, anchored):
            owners = names
    return owners


Case = tuple[str, str, str, str]
"""(environment, triggering actor, event, ref) of one dispatch."""
HARNESS = """
while IFS=$'\\t' read -r ENVIRONMENT TRIGGERING_ACTOR EVENT REF; do
  ( export ENVIRONMENT TRIGGERING_ACTOR EVENT REF; eval "$GATE" ) >/dev/null 2>&1
  echo $?
done
"""


def gate_verdicts(cases: list[Case]) -> list[int]:
    """The release gate's own script, run as the runner would (bash, jq, the plan's PROD_RELEASERS),
    once per case in one shell: the exit status of each."""
    (step,) = yaml.safe_load((WORKFLOWS_DIR / "release-gate.yml").read_text())["jobs"]["authorize"]["steps"]
    releasers = next(
        v["inputs"]["value"]
        for v in stack_plan("org").of_type(ORG_VARIABLE)
        if v["inputs"]["variableName"] == "PROD_RELEASERS"
    )
    bash = shutil.which("bash")
    assert bash and shutil.which("jq"), "bash and jq run the gate (both are on GitHub's runners)"
    environ = {"PATH": os.environ["PATH"], "RELEASERS": releasers, "GATE": step["run"]}
    lines = "".join("\t".join(case) + "\n" for case in cases)
    done = subprocess.run([bash, "-c", HARNESS], env=environ, input=lines, capture_output=True, text=True, check=True)
    verdicts = [int(line) for line in done.stdout.split()]
    assert len(verdicts) == len(cases)
    return verdicts


def dispatch(environment: str, actor: str, event: str = "workflow_dispatch", ref: str = "refs/heads/main") -> Case:
    return (environment, actor, event, ref)


@pytest.mark.parametrize("repository", DEPLOYABLE)
def test_a_merge_to_main_never_deploys(org_plan: Plan, repository: str) -> None:
    files = files_of(org_plan, repository)
    ci = yaml.safe_load(files[".github/workflows/ci.yml"])
    assert "deploy.yml" not in files[".github/workflows/ci.yml"]
    assert all("environment" not in job for job in ci["jobs"].values())
    release = yaml.safe_load(files[".github/workflows/release.yml"])
    assert list(release[True]) == ["workflow_dispatch"]  # PyYAML reads `on` as True
    (job,) = release["jobs"].values()
    assert job["uses"] == f"{ORG}/{DEPLOY_WORKFLOW_REPOSITORY}/{DEPLOY_WORKFLOW_PATH}@main"
    # No other seeded workflow reaches an environment or the deploy workflow.
    for path, text in files.items():
        if path.startswith(".github/workflows/") and path != ".github/workflows/release.yml":
            assert "deploy.yml" not in text and "environment:" not in text, path


@pytest.mark.parametrize("repository", DEPLOYABLE)
def test_only_devops_can_change_the_deploy_path(org_plan: Plan, repository: str) -> None:
    service = CATALOG.service(repository.removeprefix("pyairtable-"))
    codeowners = files_of(org_plan, repository)[".github/CODEOWNERS"]
    for path in (".github/workflows/release.yml", ".github/workflows/ci.yml", ".github/CODEOWNERS"):
        assert code_owners(codeowners, path) == [f"@{ORG}/devops"], path
    assert code_owners(codeowners, "main.go") == [f"@{ORG}/{service.owner}"]
    (ruleset,) = under(org_plan, repository, RULESET)
    pull_request = ruleset["inputs"]["rules"]["pullRequest"]
    assert pull_request["requireCodeOwnerReview"] and pull_request["requireLastPushApproval"]
    assert pull_request["dismissStaleReviewsOnPush"]
    assert [actor["actorType"] for actor in ruleset["inputs"]["bypassActors"]] == ["Integration"]
    # No team can edit the ruleset or the environments (admin), the owning team included.
    permissions = {t["inputs"]["permission"] for t in under(org_plan, repository, TEAM_REPOSITORY)}
    assert "admin" not in permissions


@pytest.mark.parametrize("repository", DEPLOYABLE)
def test_prod_takes_main_only(org_plan: Plan, repository: str) -> None:
    patterns = [
        p["inputs"]["branchPattern"]
        for p in under(org_plan, repository, DEPLOYMENT_POLICY)
        if p["inputs"]["environment"] == "prod"
    ]
    assert patterns == ["main"]
    (prod,) = [e for e in under(org_plan, repository, ENVIRONMENT) if e["inputs"]["environment"] == "prod"]
    assert prod["inputs"]["deploymentBranchPolicy"]["customBranchPolicies"] is True


def test_who_can_dispatch_what() -> None:
    devops = logins("devops")
    assert len(devops) >= 3
    people = [(team, login) for team in TEAMS for login in logins(team)]
    cases = [dispatch(environment, login) for _, login in people for environment in ("prod", "staging")]
    refused = [
        dispatch("prod", devops[0], event="push"),  # not by a push or a merge
        dispatch("prod", devops[0], ref="refs/heads/feature"),  # not from a branch
        dispatch("prod", devops[0], ref="refs/tags/v1.0.0"),  # not from a tag
        dispatch("prod", "ops-lead-impostor"),  # not by anyone outside the list
    ]
    verdicts = gate_verdicts([*cases, dispatch("prod", devops[0].upper()), *refused])
    for index, (team, login) in enumerate(people):
        prod, staging = verdicts[2 * index], verdicts[2 * index + 1]
        assert (prod == 0) is (team == "devops"), (team, login)
        assert staging == 0, login  # staging and dev: the environment's branch policy is the gate
    assert verdicts[len(cases)] == 0  # logins ignore case
    assert all(verdict != 0 for verdict in verdicts[len(cases) + 1 :])


def test_the_owning_teams_alone_cannot_reach_prod() -> None:
    """Every owning team but devops: no member may dispatch prod, and none is a code owner of the path."""
    releasers = {login.casefold() for login in logins("devops")}
    owners: set[str] = set()
    for service in CATALOG.deployable:
        assert service.owner != "devops"
        team = {login.casefold() for login in logins(service.owner)}
        assert not team & releasers, service.name
        owners |= team
    assert all(verdict != 0 for verdict in gate_verdicts([dispatch("prod", login) for login in sorted(owners)]))


def test_the_deploy_job_is_bound_to_the_environment_and_the_service_role() -> None:
    deploy = yaml.safe_load((WORKFLOWS_DIR / "deploy.yml").read_text())
    jobs = deploy["jobs"]
    assert jobs["gate"]["uses"].endswith("/release-gate.yml@main")
    job = jobs["deploy"]
    assert job["needs"] == "gate"
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    steps = {step.get("name"): step for step in job["steps"]}
    assert steps["Assume the service's deploy role"]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert "rollout undo" in steps["Roll back on failure"]["run"]
    assert "image.digest=${DIGEST}" in steps["Render the manifests, the image pinned by digest"]["run"]


def subject(keys: tuple[str, ...], repository: str, environment: str, workflow_ref: str) -> str:
    """The `sub` GitHub builds from a subject template (its documented `key:value` joining)."""
    values = {
        "repo": f"repo:{ORG}/{repository}",
        "context": f"environment:{environment}",
        "job_workflow_ref": f"job_workflow_ref:{workflow_ref}",
    }
    return ":".join(values[key] for key in keys)


@pytest.mark.parametrize("repository", DEPLOYABLE)
def test_trust_conditions_follow_the_rollout_switch(org_plan: Plan, repository: str) -> None:
    # Checked in: legacy (GitHub's default sub), until every environment stack trusts both formats.
    (legacy,) = under(org_plan, repository, REPO_OIDC)
    assert legacy["inputs"]["useDefault"] is True and "includeClaimKeys" not in legacy["inputs"]
    assert subject(("repo", "context"), repository, "prod", "") == legacy_deploy_subject(ORG, repository, "prod")
    # Pinned: the repository opts in to the template; the deploy job's sub names the deploy workflow
    # at main of pyairtable-infra, which is the path the release workflow calls.
    (pinned,) = under(enterprise_plan(), repository, REPO_OIDC)
    assert pinned["inputs"]["useDefault"] is False
    assert tuple(pinned["inputs"]["includeClaimKeys"]) == OIDC_SUBJECT_CLAIM_KEYS
    token_sub = subject(OIDC_SUBJECT_CLAIM_KEYS, repository, "prod", deploy_workflow_ref(ORG))
    assert token_sub == pinned_deploy_subject(ORG, repository, "prod")
    called = files_of(org_plan, repository)[".github/workflows/release.yml"]
    uses = yaml.safe_load(called)["jobs"]["release"]["uses"]
    assert uses.replace("@main", "@refs/heads/main") == deploy_workflow_ref(ORG)
    assert f".github/workflows/{DEPLOY_WORKFLOW_PATH.rsplit('/', 1)[1]}" in files_of(
        org_plan, DEPLOY_WORKFLOW_REPOSITORY
    )


def test_no_template_outside_the_deployable_repositories(org_plan: Plan) -> None:
    # pyairtable-infra keeps GitHub's default sub: its own `pulumi up` roles trust that format.
    templated = {t["inputs"]["repository"] for t in org_plan.of_type(REPO_OIDC)}
    assert templated == set(DEPLOYABLE)


@pytest.mark.parametrize("repository", [*DEPLOYABLE, "pyairtable-infra"])
def test_enterprise_adds_devops_reviewers_without_self_review_or_admin_bypass(repository: str) -> None:
    plan = enterprise_plan()
    devops_id = int(plan.outputs["teamIds"]["devops"])
    environments = {e["inputs"]["environment"]: e["inputs"] for e in under(plan, repository, ENVIRONMENT)}
    prod = environments["prod"]
    assert prod["reviewers"] == [{"teams": [devops_id]}]
    assert (prod["preventSelfReview"], prod["canAdminsBypass"]) == (True, False)
    assert all("reviewers" not in inputs for name, inputs in environments.items() if name != "prod")


def test_enterprise_uses_organization_rulesets_with_the_same_rules(org_plan: Plan) -> None:
    plan = enterprise_plan()
    assert plan.of_type(RULESET) == []
    organization = {r["inputs"]["conditions"]["repositoryName"]["includes"][0]: r for r in plan.of_type(ORG_RULESET)}
    assert set(organization) == {service.repository for service in CATALOG.services}
    for repository, ruleset in organization.items():
        (team_ruleset,) = under(org_plan, repository, RULESET)
        assert ruleset["inputs"]["rules"] == team_ruleset["inputs"]["rules"]
        assert ruleset["inputs"]["bypassActors"] == team_ruleset["inputs"]["bypassActors"]


def test_infrastructure_prod_up_has_the_same_gate(org_plan: Plan) -> None:
    (ruleset,) = under(org_plan, "pyairtable-infra", RULESET)
    assert ruleset["inputs"]["rules"]["pullRequest"]["requiredApprovingReviewCount"] == 2
    policies = {
        p["inputs"]["environment"]: p["inputs"]["branchPattern"]
        for p in under(org_plan, "pyairtable-infra", DEPLOYMENT_POLICY)
    }
    assert policies == {"org": "main", "dev": "main", "staging": "main", "prod": "main"}
    # The release gate is reusable: the infrastructure's up workflow calls it with its stack name.
    assert gate_verdicts([dispatch("prod", logins("platform")[0])]) != [0]
    assert org_plan.outputs["prodGate"]["releasers"] == sorted(logins("devops"), key=str.casefold)
    assert stack_file_config("org")[0]["pyairtable-infra:branchProtection"] == "rulesets"

"""The catalog's repositories on GitHub: protection flags, imports, rulesets or classic protection, seeded
files, deploy environments and team permissions, for every repository of the catalog."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from components.config.stack_file import environment_configs
from components.github.files import DEPENDABOT_PATH, reusable_workflow_files
from components.shared.catalog import ENVIRONMENTS, load_catalog, workflow_job_names
from components.shared.naming import cluster_name, deploy_role_arn
from tools.plan import Plan, build_plan

REPOSITORY = "github:index/repository:Repository"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
FILE = "github:index/repositoryFile:RepositoryFile"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
DEPLOYMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
TEAM_REPOSITORY = "github:index/teamRepository:TeamRepository"

CATALOG = load_catalog()
SERVICES = {service.repository: service for service in CATALOG.services}
EXISTING = {"pyairtable-docs", "pyairtable-infra"}
EXPECTED_APPROVALS = {"pyairtable-infra": 2, "pyairtable-auth": 2}


@cache
def classic_plan() -> Plan:
    return build_plan("org", {"branchProtection": "classic"})


def under(plan: Plan, repository: str, type_token: str) -> list[dict[str, Any]]:
    """The resources of one type that belong to one repository's component."""
    return [r for r in plan.of_type(type_token) if r["parent"].endswith(f"::{repository}")]


def test_every_catalog_repository_is_declared_once(org_plan: Plan) -> None:
    assert sorted(r["inputs"]["name"] for r in org_plan.of_type(REPOSITORY)) == sorted(SERVICES)


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_repository_can_never_be_deleted_and_is_private_squash_only(org_plan: Plan, repository: str) -> None:
    (declared,) = under(org_plan, repository, REPOSITORY)
    inputs, options = declared["inputs"], declared["options"]
    assert options["protect"] is True
    assert inputs["archiveOnDestroy"] is True
    assert inputs["visibility"] == "private"
    assert (inputs["allowSquashMerge"], inputs["allowMergeCommit"], inputs["allowRebaseMerge"]) == (True, False, False)
    assert inputs["deleteBranchOnMerge"] is True
    assert inputs["vulnerabilityAlerts"] is True
    service = SERVICES[repository]
    assert inputs["description"] == service.description
    assert set(inputs["topics"]) == {"pyairtable", service.language.value, service.kind.value}


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_existing_repositories_are_imported_and_new_ones_created(org_plan: Plan, repository: str) -> None:
    (declared,) = under(org_plan, repository, REPOSITORY)
    if repository in EXISTING:
        assert declared["options"]["import"] == repository
        assert "autoInit" not in declared["inputs"]
    else:
        assert declared["options"]["import"] is None
        assert declared["inputs"]["autoInit"] is True
    assert org_plan.outputs["importedRepositories"] == sorted(EXISTING)


def test_repository_urls_are_exported(org_plan: Plan) -> None:
    assert org_plan.outputs["repositoryUrls"] == {name: f"https://github.com/pyairtable/{name}" for name in SERVICES}


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_ruleset_protects_the_default_branch(org_plan: Plan, repository: str) -> None:
    (ruleset,) = under(org_plan, repository, RULESET)
    assert under(org_plan, repository, BRANCH_PROTECTION) == []
    inputs = ruleset["inputs"]
    assert (inputs["target"], inputs["enforcement"]) == ("branch", "active")
    assert inputs["conditions"]["refName"] == {"includes": ["~DEFAULT_BRANCH"], "excludes": []}
    rules = inputs["rules"]
    assert rules["pullRequest"]["requiredApprovingReviewCount"] == EXPECTED_APPROVALS.get(repository, 1)
    assert rules["pullRequest"]["dismissStaleReviewsOnPush"] is True
    assert rules["pullRequest"]["allowedMergeMethods"] == ["squash"]
    assert (rules["nonFastForward"], rules["deletion"], rules["requiredLinearHistory"]) == (True, True, True)
    expected_checks = expected_status_checks(repository)
    if expected_checks:
        checks = rules["requiredStatusChecks"]["requiredChecks"]
        assert [check["context"] for check in checks] == expected_checks
        assert {check["integrationId"] for check in checks} == {15368}
    else:
        assert "requiredStatusChecks" not in rules
    assert inputs["bypassActors"] == [{"actorType": "OrganizationAdmin", "bypassMode": "always"}]


def expected_status_checks(repository: str) -> list[str]:
    """Independently of catalog.py: `ci / <job name>` of the language workflow's jobs, read here."""
    language = SERVICES[repository].language.value
    if language == "docs":
        return []
    return [f"ci / {name}" for name in workflow_job_names(f"{language}-service.yml")]


def test_status_check_names_are_the_reusable_workflows_job_names() -> None:
    assert expected_status_checks("pyairtable-gateway") == ["ci / lint", "ci / test", "ci / build"]
    assert expected_status_checks("pyairtable-ai") == ["ci / ruff", "ci / pytest", "ci / build"]


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_classic_mode_declares_branch_protection_instead(repository: str) -> None:
    plan = classic_plan()
    assert under(plan, repository, RULESET) == []
    (protection,) = under(plan, repository, BRANCH_PROTECTION)
    inputs = protection["inputs"]
    assert inputs["pattern"] == "main"
    assert inputs["repositoryId"] == f"R_mock_{repository}"  # the repository's node id
    (reviews,) = inputs["requiredPullRequestReviews"]
    assert reviews["requiredApprovingReviewCount"] == EXPECTED_APPROVALS.get(repository, 1)
    assert reviews["dismissStaleReviews"] is True
    assert (inputs["allowsForcePushes"], inputs["allowsDeletions"], inputs["requiredLinearHistory"]) == (
        False,
        False,
        True,
    )
    checks = expected_status_checks(repository)
    if checks:
        assert inputs["requiredStatusChecks"] == [{"contexts": checks, "strict": True}]
    else:
        assert "requiredStatusChecks" not in inputs


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_seeded_files(org_plan: Plan, repository: str) -> None:
    service = SERVICES[repository]
    files = {f["inputs"]["file"]: f for f in under(org_plan, repository, FILE)}
    expected = {".github/CODEOWNERS"}
    if repository not in EXISTING:
        expected |= {"README.md", "CLAUDE.md"}
    if service.language.value != "docs":
        expected.add(".github/workflows/ci.yml")
    if repository == "pyairtable-infra":
        expected |= set(reusable_workflow_files())
    elif repository not in EXISTING and service.language.value != "docs":
        expected.add(DEPENDABOT_PATH)  # seeded once, then the team's (components/github/files.py)
    assert set(files) == expected
    for path, declared in files.items():
        team_owned = path in {"README.md", "CLAUDE.md", DEPENDABOT_PATH}
        assert declared["options"]["ignoreChanges"] == (["content"] if team_owned else []), path
        assert declared["inputs"]["branch"] == "main"
        assert declared["inputs"]["overwriteOnCreate"] is True
    owner = f"@pyairtable/{service.owner}"
    assert f"* {owner}\n" in files[".github/CODEOWNERS"]["inputs"]["content"]
    assert "@pyairtable/devops" in files[".github/CODEOWNERS"]["inputs"]["content"]
    if "README.md" in files:
        readme = files["README.md"]["inputs"]["content"]
        assert service.description in readme
        assert "pyairtable-docs" in readme
    if "CLAUDE.md" in files:
        claude = files["CLAUDE.md"]["inputs"]["content"]
        if service.language.value == "go" and service.kind.value == "service":
            for standard in ("Fiber v3", "Zap", "GORM", "PostgreSQL", "circuit breaker", "pyairtable-shared"):
                assert standard in claude
        if service.language.value == "python" and service.kind.value == "service":
            for standard in ("FastAPI", "SQLAlchemy", "PostgreSQL", "Redis", "asyncio"):
                assert standard in claude
    if ".github/workflows/ci.yml" in files:
        ci = files[".github/workflows/ci.yml"]["inputs"]["content"]
        workflow = f"pyairtable/pyairtable-infra/.github/workflows/{service.language.value}-service.yml@main"
        assert f"uses: {workflow}" in ci
        assert ("container-publish.yml@main" in ci) == service.deploys


def test_infra_repository_carries_the_reusable_workflows_verbatim(org_plan: Plan) -> None:
    files = {f["inputs"]["file"]: f["inputs"]["content"] for f in under(org_plan, "pyairtable-infra", FILE)}
    for name in ("go-service.yml", "python-service.yml", "container-publish.yml"):
        assert files[f".github/workflows/{name}"] == reusable_workflow_files()[f".github/workflows/{name}"]


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_deploy_environments(org_plan: Plan, repository: str) -> None:
    service = SERVICES[repository]
    environments = {e["inputs"]["environment"]: e["inputs"] for e in under(org_plan, repository, ENVIRONMENT)}
    if not service.deploys:
        assert environments == {}
        assert under(org_plan, repository, ENVIRONMENT_VARIABLE) == []
        return
    assert set(environments) == set(ENVIRONMENTS)
    devops_id = int(org_plan.outputs["teamIds"]["devops"])
    prod = environments["prod"]
    assert prod["reviewers"] == [{"teams": [devops_id]}]
    assert prod["preventSelfReview"] is True
    assert prod["canAdminsBypass"] is False
    for name in ("staging", "prod"):
        assert environments[name]["deploymentBranchPolicy"] == {
            "protectedBranches": False,
            "customBranchPolicies": True,
        }
    assert "reviewers" not in environments["staging"]
    assert "deploymentBranchPolicy" not in environments["dev"]
    policies = {
        p["inputs"]["environment"]: p["inputs"]["branchPattern"] for p in under(org_plan, repository, DEPLOYMENT_POLICY)
    }
    assert policies == {"staging": "main", "prod": "main"}

    configs = environment_configs()
    variables = {
        (v["inputs"]["environment"], v["inputs"]["variableName"]): v["inputs"]["value"]
        for v in under(org_plan, repository, ENVIRONMENT_VARIABLE)
    }
    expected = {}
    for environment in ENVIRONMENTS:
        config = configs[environment]
        expected[(environment, "AWS_REGION")] = config.aws_region
        expected[(environment, "EKS_CLUSTER_NAME")] = cluster_name(environment)
        expected[(environment, "AWS_DEPLOY_ROLE_ARN")] = deploy_role_arn(config.aws_account_id, environment)
        expected[(environment, "IMAGE_REGISTRY")] = (
            f"{config.aws_account_id}.dkr.ecr.{config.aws_region}.amazonaws.com/ghcr/{load_catalog().organization}"
        )
    assert variables == expected
    assert variables[("prod", "AWS_DEPLOY_ROLE_ARN")] == "arn:aws:iam::333333333333:role/pyairtable-prod-github-deploy"


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_team_permissions(org_plan: Plan, repository: str) -> None:
    team_ids = org_plan.outputs["teamIds"]
    slug_of = {team_id: slug for slug, team_id in team_ids.items()}
    permissions = {
        slug_of[t["inputs"]["teamId"]]: t["inputs"]["permission"] for t in under(org_plan, repository, TEAM_REPOSITORY)
    }
    owner = SERVICES[repository].owner
    expected = {slug: "pull" for slug in team_ids}
    expected[owner] = "maintain"
    expected["devops"] = "admin"
    assert permissions == expected


def test_permissions_use_numeric_team_ids(org_plan: Plan) -> None:
    assert all(t["inputs"]["teamId"].isdigit() for t in org_plan.of_type(TEAM_REPOSITORY))

"""The catalog's repositories on GitHub: protection flags, imports, rulesets or classic protection, seeded
files, deploy environments and team permissions, for every repository of the catalog."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_github as github
import pytest

from components.config.org import BranchProtection
from components.config.stack_file import environment_configs
from components.github.files import DEPENDABOT_PATH, deploy_files, reusable_workflow_files
from components.github.repositories import GitHubRepository, GitHubRepositoryArgs
from components.shared.catalog import ENVIRONMENTS, load_catalog, workflow_job_names
from components.shared.naming import cluster_name, service_deploy_role_arn
from tests.github.test_organization import GITHUB
from tools.plan import Plan, build_plan

REPOSITORY = "github:index/repository:Repository"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
FILE = "github:index/repositoryFile:RepositoryFile"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
DEPLOYMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
TEAM_REPOSITORY = "github:index/teamRepository:TeamRepository"
ACCESS_LEVEL = "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel"

CATALOG = load_catalog()
SERVICES = {service.repository: service for service in CATALOG.services}
EXISTING = {"pyairtable-docs", "pyairtable-infra"}
EXPECTED_APPROVALS = {"pyairtable-infra": 2, "pyairtable-auth": 2}


@cache
def classic_plan() -> Plan:
    """One repository without required checks (docs) under classic protection, planned on its own:
    the config refuses classic for the checked-in catalog (tests/github/test_plans.py)."""

    def program() -> None:
        provider = github.Provider("github", owner="pyairtable")
        GitHubRepository(
            "pyairtable-docs",
            GitHubRepositoryArgs(
                service=SERVICES["pyairtable-docs"],
                files=(),
                team_ids={"devops": "1", "platform": "2"},
                devops_team="devops",
                branch_protection=BranchProtection.CLASSIC,
                organization_rulesets=False,
                bypass_app_id=GITHUB["automationApp"]["appId"],
                import_existing=False,
                secret_scanning=False,
                environments=(),
                oidc_subject=None,
                share_workflows=False,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return build_plan("org", program=program)


@cache
def enterprise_plan() -> Plan:
    """Enterprise, Secret Protection, pinned subjects: the other branch of every plan-dependent choice, in one run."""
    github = {**GITHUB, "oidcSubject": "pinned", "addOns": ["secretProtection"]}
    return build_plan("org", {"githubPlan": "enterprise", "secretScanning": True, "github": github})


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
    assert rules["pullRequest"]["requireLastPushApproval"] is True
    assert rules["pullRequest"]["requireCodeOwnerReview"] is True
    # The automation App alone may bypass: no organization admin, team or repository role.
    app_id = GITHUB["automationApp"]["appId"]
    assert inputs["bypassActors"] == [{"actorId": app_id, "actorType": "Integration", "bypassMode": "always"}]
    # The required checks run pyairtable-infra's shared workflows: the ruleset waits for the sharing.
    (access,) = org_plan.of_type(ACCESS_LEVEL)
    assert access["inputs"] == {"repository": "pyairtable-infra", "accessLevel": "organization"}
    assert access["urn"] in ruleset["options"]["dependsOn"]


def expected_status_checks(repository: str) -> list[str]:
    """Independently of catalog.py: `ci / <job name>` of the language workflow's jobs, read here."""
    return [f"ci / {name}" for name in workflow_job_names(ci_workflow(repository))] if ci_workflow(repository) else []


def ci_workflow(repository: str) -> str:
    """The reusable workflow a repository's ci.yml calls: the Pulumi project's own, else its language's."""
    service = SERVICES[repository]
    if service.kind.value == "infrastructure":
        return "pulumi-project.yml"
    return "" if service.language.value == "docs" else f"{service.language.value}-service.yml"


def test_status_check_names_are_the_reusable_workflows_job_names() -> None:
    assert expected_status_checks("pyairtable-gateway") == ["ci / lint", "ci / test", "ci / build", "ci / secrets"]
    assert expected_status_checks("pyairtable-ai") == ["ci / ruff", "ci / pytest", "ci / build", "ci / secrets"]
    assert expected_status_checks("pyairtable-infra") == ["ci / test", "ci / secrets"]


def test_classic_mode_declares_branch_protection_that_holds_admins_too() -> None:
    plan = classic_plan()
    assert plan.of_type(RULESET) == []
    (protection,) = plan.of_type(BRANCH_PROTECTION)
    inputs = protection["inputs"]
    assert inputs["pattern"] == "main"
    assert inputs["repositoryId"] == "R_mock_pyairtable-docs"  # the repository's node id
    assert inputs["enforceAdmins"] is True
    (reviews,) = inputs["requiredPullRequestReviews"]
    assert reviews["requiredApprovingReviewCount"] == 1
    assert (reviews["dismissStaleReviews"], reviews["requireLastPushApproval"]) == (True, True)
    assert (inputs["allowsForcePushes"], inputs["allowsDeletions"], inputs["requiredLinearHistory"]) == (
        False,
        False,
        True,
    )
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
    if service.deploys:
        expected.add(".github/workflows/release.yml")
    if repository == "pyairtable-infra":
        expected |= set(reusable_workflow_files()) | set(deploy_files())
    elif repository not in EXISTING and service.language.value != "docs":
        expected.add(DEPENDABOT_PATH)  # seeded once, then the team's (components/github/files.py)
    assert set(files) == expected
    for path, declared in files.items():
        team_owned = path in {"README.md", "CLAUDE.md", DEPENDABOT_PATH}
        assert declared["options"]["ignoreChanges"] == (["content"] if team_owned else []), path
        # Dropping a seeded file from the program (adopting, a catalog edit) leaves it in the repository.
        assert declared["options"]["retainOnDelete"] is team_owned, path
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
        workflow = f"pyairtable/pyairtable-infra/.github/workflows/{ci_workflow(repository)}@main"
        assert f"uses: {workflow}" in ci
        assert ("container-publish.yml@main" in ci) == service.deploys


def test_infra_repository_carries_the_reusable_workflows_verbatim(org_plan: Plan) -> None:
    files = {f["inputs"]["file"]: f["inputs"]["content"] for f in under(org_plan, "pyairtable-infra", FILE)}
    for name in ("go-service.yml", "python-service.yml", "container-publish.yml", "pulumi-project.yml"):
        assert files[f".github/workflows/{name}"] == reusable_workflow_files()[f".github/workflows/{name}"]


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_deploy_environments(org_plan: Plan, repository: str) -> None:
    service = SERVICES[repository]
    environments = {e["inputs"]["environment"]: e["inputs"] for e in under(org_plan, repository, ENVIRONMENT)}
    policies: dict[str, set[str]] = {}
    for policy in under(org_plan, repository, DEPLOYMENT_POLICY):
        policies.setdefault(policy["inputs"]["environment"], set()).add(policy["inputs"]["branchPattern"])
    if repository == "pyairtable-infra":
        # One environment per stack for its own `pulumi up`, each from main only.
        assert set(environments) == {"org", "dev", "staging", "prod"}
        assert policies == {name: {"main"} for name in environments}
        return
    if not service.deploys:
        assert environments == {}
        assert under(org_plan, repository, ENVIRONMENT_VARIABLE) == []
        return
    assert set(environments) == set(ENVIRONMENTS)
    for environment in environments.values():
        # On Team, required reviewers on private repositories are refused by GitHub (422).
        assert "reviewers" not in environment
        assert environment["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    assert policies == {"dev": {"main", "dev/*"}, "staging": {"main"}, "prod": {"main"}}

    configs = environment_configs()
    variables = {
        (v["inputs"]["environment"], v["inputs"]["variableName"]): v["inputs"]["value"]
        for v in under(org_plan, repository, ENVIRONMENT_VARIABLE)
    }
    expected = {}
    for environment in ENVIRONMENTS:
        config = configs[environment]
        expected[(environment, "AWS_ACCOUNT_ID")] = config.aws_account_id
        expected[(environment, "AWS_REGION")] = config.aws_region
        expected[(environment, "EKS_CLUSTER_NAME")] = cluster_name(environment)
        expected[(environment, "AWS_DEPLOY_ROLE_ARN")] = service_deploy_role_arn(
            config.aws_account_id, environment, service.name
        )
        expected[(environment, "IMAGE_REGISTRY")] = (
            f"{config.aws_account_id}.dkr.ecr.{config.aws_region}.amazonaws.com/ghcr/{load_catalog().organization}"
        )
    assert variables == expected
    assert variables[("prod", "AWS_DEPLOY_ROLE_ARN")] == (
        f"arn:aws:iam::333333333333:role/pyairtable-prod-deploy-{service.name}"
    )


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
    expected["devops"] = "maintain"  # never admin: only the automation App edits rulesets and environments
    assert permissions == expected


def test_permissions_use_numeric_team_ids(org_plan: Plan) -> None:
    assert all(t["inputs"]["teamId"].isdigit() for t in org_plan.of_type(TEAM_REPOSITORY))


def test_every_file_under_github_deploy_is_seeded_into_the_infrastructure_repository(tmp_path: Path) -> None:
    assert deploy_files(tmp_path / "missing") == {}  # issue 15's chart not there yet: nothing seeded
    chart = tmp_path / "deploy"
    (chart / "service" / "templates").mkdir(parents=True)
    (chart / "service" / "Chart.yaml").write_text("name: service\n")
    (chart / "service" / "templates" / "deployment.yaml").write_text("kind: Deployment\n")
    assert deploy_files(chart) == {
        "deploy/service/Chart.yaml": "name: service\n",
        "deploy/service/templates/deployment.yaml": "kind: Deployment\n",
    }


@pytest.mark.parametrize("repository", sorted(SERVICES))
def test_repositories_wait_for_the_org_settings_and_scan_where_the_plan_allows(org_plan: Plan, repository: str) -> None:
    settings_urn = org_plan.one("github:index/organizationSettings:OrganizationSettings")["urn"]
    (declared,) = under(org_plan, repository, REPOSITORY)
    assert settings_urn in declared["options"]["dependsOn"]
    assert "securityAndAnalysis" not in declared["inputs"]  # Team without the add-on: gitleaks instead
    settings = enterprise_plan().one("github:index/organizationSettings:OrganizationSettings")["inputs"]
    assert settings["secretScanningEnabledForNewRepositories"] is True
    assert settings["secretScanningPushProtectionEnabledForNewRepositories"] is True
    (scanned,) = under(enterprise_plan(), repository, REPOSITORY)
    # With the add-on, every repository, adopted ones included (the org flags reach new ones only).
    assert scanned["inputs"]["securityAndAnalysis"] == {
        "secretScanning": {"status": "enabled"},
        "secretScanningPushProtection": {"status": "enabled"},
    }

"""The registry in the org plan: the machine user's seat and read access, the workflows and their settings."""

from __future__ import annotations

import json

import yaml

from components.config.org import OrgConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.github.files import INFRA_REPOSITORY
from components.registry.organization import PULL_TEAM, REGISTRY_ENVIRONMENT, REGISTRY_SECRETS
from components.shared.catalog import WORKFLOWS_DIR, load_catalog
from tools.plan import Plan

CATALOG = load_catalog()
FILE = "github:index/repositoryFile:RepositoryFile"


def _config() -> OrgConfig:
    config = parse_stack_config("org", stack_file_config("org")[0])
    assert isinstance(config, OrgConfig)
    return config


def test_the_machine_user_is_a_member_with_pull_on_every_deployable_repository(org_plan: Plan) -> None:
    user = _config().registry.machine_user
    memberships = org_plan.of_type("github:index/membership:Membership")
    (membership,) = [m for m in memberships if m["name"].startswith("registry")]
    assert membership["inputs"] == {"username": user, "role": "member"}
    team = org_plan.one("github:index/team:Team", "registry-team")
    assert team["inputs"]["name"] == PULL_TEAM and team["inputs"]["privacy"] == "closed"
    access = {
        r["inputs"]["repository"]: r["inputs"]["permission"]
        for r in org_plan.of_type("github:index/teamRepository:TeamRepository")
        if r["name"].startswith("registry-team-")
    }
    assert access == {service.repository: "pull" for service in CATALOG.deployable}
    assert org_plan.outputs["registryMachineUser"] == user


def test_the_registry_environment_holds_the_configured_settings(org_plan: Plan) -> None:
    settings = _config().registry
    environment = org_plan.one("github:index/repositoryEnvironment:RepositoryEnvironment", "registry-environment")
    assert (environment["inputs"]["repository"], environment["inputs"]["environment"]) == (
        INFRA_REPOSITORY,
        REGISTRY_ENVIRONMENT,
    )
    branch = org_plan.one(
        "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
        "registry-environment-branch",
    )
    assert branch["inputs"]["branchPattern"] == "main"
    variables = {
        v["inputs"]["variableName"]: v["inputs"]["value"]
        for v in org_plan.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
        if v["inputs"]["environment"] == REGISTRY_ENVIRONMENT
    }
    assert json.loads(variables["REGISTRY_PACKAGES"]) == sorted(service.name for service in CATALOG.deployable)
    assert variables["RETENTION_KEEP_NEWEST"] == str(settings.retention.keep_newest)
    assert variables["RETENTION_MIN_AGE_DAYS"] == str(settings.retention.untagged_min_age_days)
    assert variables["RETENTION_DRY_RUN"] == str(settings.retention.dry_run).lower()
    assert variables["PULL_TOKEN_EXPIRES_ON"] == settings.token_expires_on.isoformat()
    assert variables["LEGACY_NAMESPACE"] == settings.migration.legacy_namespace
    migration = json.loads(variables["MIGRATION_PACKAGES"])
    assert {legacy: target["package"] for legacy, target in migration.items()} == settings.migration.packages
    for target in migration.values():
        assert target["repository"] == CATALOG.service(target["package"]).repository


def test_no_secret_value_is_declared(org_plan: Plan) -> None:
    # The tokens are environment secrets a person sets; the stack never holds one.
    secrets = org_plan.of_type("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
    assert not [s for s in secrets if s["inputs"].get("secretName") in REGISTRY_SECRETS]
    workflows = " ".join(path.read_text() for path in WORKFLOWS_DIR.glob("registry-*.yml"))
    assert {name for name in REGISTRY_SECRETS if f"secrets.{name}" in workflows} == set(REGISTRY_SECRETS)


def test_the_retention_and_migration_workflows_are_seeded(org_plan: Plan) -> None:
    seeded = {
        f["inputs"]["file"]: f["inputs"]["content"]
        for f in org_plan.of_type(FILE)
        if f["inputs"]["repository"] == INFRA_REPOSITORY
    }
    for name in ("registry-retention.yml", "registry-migration.yml"):
        assert seeded[f".github/workflows/{name}"] == (WORKFLOWS_DIR / name).read_text()
    retention = yaml.safe_load(seeded[".github/workflows/registry-retention.yml"])
    triggers = retention.get("on", retention.get(True))
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["workflow_dispatch"]["inputs"]["apply"]["default"] is False  # dry run by default
    migration = yaml.safe_load(seeded[".github/workflows/registry-migration.yml"])
    assert migration.get("on", migration.get(True))["workflow_dispatch"]["inputs"]["dry_run"]["default"] is True

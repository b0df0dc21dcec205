"""The registry's side of the org stack: the machine user the clusters pull as, and the workflows' settings.

pulumi-github has no resource for packages, so the capability is built from what exists:
- the machine user is an org member (a paid seat) in a closed team `image-pull` that may read each
  deployable repository, so it can read their packages (linked packages inherit repository access)
  whatever the organization's base permission;
- the GitHub environment `registry` of pyairtable-infra, deployable from `main` only, holds the
  settings of the retention and migration workflows as variables, and (set by a person) the
  secrets they need; the workflows themselves are seeded with the other files of `github/workflows/`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.registry.settings import OrgRegistrySettings
from components.shared.catalog import Catalog

PULL_TEAM = "image-pull"
"""The team that holds only the machine user, with `pull` on every deployable repository."""
REGISTRY_ENVIRONMENT = "registry"
"""The GitHub environment of pyairtable-infra whose jobs manage packages (retention, migration)."""
REGISTRY_SECRETS = ("REGISTRY_ADMIN_TOKEN", "REGISTRY_ADMIN_USER", "LEGACY_REGISTRY_TOKEN")
"""Environment secrets a person sets (GitHub Packages takes classic tokens only; never in Pulumi's state)."""


def registry_variables(settings: OrgRegistrySettings, catalog: Catalog) -> dict[str, str]:
    """The `registry` environment's variables: what the retention and migration workflows read."""
    repositories = {service.name: service.repository for service in catalog.deployable}
    return {
        "REGISTRY_PACKAGES": json.dumps(sorted(repositories)),
        "RETENTION_KEEP_NEWEST": str(settings.retention.keep_newest),
        "RETENTION_MIN_AGE_DAYS": str(settings.retention.untagged_min_age_days),
        "RETENTION_DRY_RUN": str(settings.retention.dry_run).lower(),
        "PULL_TOKEN_EXPIRES_ON": settings.token_expires_on.isoformat(),
        "PULL_TOKEN_WARNING_DAYS": str(settings.expiry_warning_days),
        "LEGACY_NAMESPACE": settings.migration.legacy_namespace,
        "MIGRATION_PACKAGES": json.dumps(
            {
                legacy: {"package": service, "repository": repositories[service]}
                for legacy, service in sorted(settings.migration.packages.items())
            },
            sort_keys=True,
        ),
    }


@dataclass(frozen=True)
class RegistryOrganizationArgs:
    """Inputs of `RegistryOrganization`."""

    settings: OrgRegistrySettings
    """The org stack's `registry` config."""
    catalog: Catalog
    """The catalog: its deployable services are the packages."""
    repositories: Mapping[str, pulumi.Resource]
    """Every catalog repository's component, by repository name (team access waits for them)."""
    infra_repository: str
    """The repository that runs the retention and migration workflows (pyairtable-infra)."""
    default_branch: str
    """The only branch that may deploy to the `registry` environment."""


class RegistryOrganization(pulumi.ComponentResource):
    """The machine user's membership and read access, and the `registry` environment with its variables."""

    machine_user: str
    """The machine user's login: it holds a paid seat (the seat check counts it)."""

    def __init__(self, name: str, args: RegistryOrganizationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:registry:RegistryOrganization", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.machine_user = args.settings.machine_user
        login = self.machine_user.casefold()

        membership = github.Membership(f"{name}-member-{login}", username=self.machine_user, role="member", opts=child)
        team = github.Team(
            f"{name}-team",
            name=PULL_TEAM,
            description="The registry machine user: reads the deployable repositories' packages, nothing else.",
            privacy="closed",
            create_default_maintainer=False,
            opts=child,
        )
        github.TeamMembership(
            f"{name}-team-{login}",
            team_id=team.id,
            username=self.machine_user,
            role="member",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[membership])),
        )
        for service in args.catalog.deployable:
            github.TeamRepository(
                f"{name}-team-{service.repository}",
                team_id=team.id,
                repository=service.repository,
                permission="pull",
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[args.repositories[service.repository]])
                ),
            )

        after_infra = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[args.repositories[args.infra_repository]])
        )
        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=args.infra_repository,
            environment=REGISTRY_ENVIRONMENT,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            opts=after_infra,
        )
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{name}-environment-branch",
            repository=args.infra_repository,
            environment=environment.environment,
            branch_pattern=args.default_branch,
            opts=child,
        )
        for variable, value in sorted(registry_variables(args.settings, args.catalog).items()):
            github.ActionsEnvironmentVariable(
                f"{name}-variable-{variable.lower().replace('_', '-')}",
                repository=args.infra_repository,
                environment=environment.environment,
                variable_name=variable,
                value=value,
                opts=child,
            )
        self.register_outputs({"machineUser": self.machine_user, "environment": REGISTRY_ENVIRONMENT})

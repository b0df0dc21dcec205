"""The `org` stack: the GitHub organization, its teams and the catalog's repositories."""

from __future__ import annotations

import pulumi
import pulumi_github as github

from components.config.org import OrgConfig
from components.config.stack_file import environment_configs
from components.github.files import DEFAULT_BRANCH, INFRA_REPOSITORY, repository_files
from components.github.organization import GitHubOrganization, GitHubOrganizationArgs
from components.github.repositories import GitHubRepository, GitHubRepositoryArgs, deploy_variables
from components.registry.organization import RegistryOrganization, RegistryOrganizationArgs
from components.shared.catalog import Catalog

DEVOPS_TEAM = "devops"


def org_stack(config: OrgConfig, catalog: Catalog) -> None:
    """Declare the organization and every catalog repository; export their URLs and team ids."""
    github_provider = github.Provider("github", owner=catalog.organization)
    with_github = pulumi.ResourceOptions(providers=[github_provider])
    organization = GitHubOrganization(
        catalog.organization,
        GitHubOrganizationArgs(
            billing_email=config.billing_email,
            company=config.company,
            secret_scanning=config.secret_scanning,
            teams=config.teams,
            # No registry variables: the host is fixed in the workflows (components/registry).
            actions_variables={},
        ),
        opts=with_github,
    )
    environment_variables = deploy_variables(environment_configs(), catalog.organization)
    repositories = {
        service.repository: GitHubRepository(
            service.repository,
            GitHubRepositoryArgs(
                service=service,
                files=repository_files(
                    catalog,
                    service,
                    DEVOPS_TEAM,
                    seed_team_files=service.repository not in config.existing_repositories,
                ),
                team_ids=organization.team_ids,
                devops_team=DEVOPS_TEAM,
                branch_protection=config.branch_protection,
                import_existing=service.repository in config.existing_repositories,
                environment_variables=environment_variables,
            ),
            opts=with_github,
        )
        for service in catalog.services
    }
    registry = RegistryOrganization(
        "registry",
        RegistryOrganizationArgs(
            settings=config.registry,
            catalog=catalog,
            repositories=repositories,
            infra_repository=INFRA_REPOSITORY,
            default_branch=DEFAULT_BRANCH,
        ),
        opts=with_github,
    )
    pulumi.export("repositoryUrls", {name: repository.url for name, repository in repositories.items()})
    pulumi.export("teamIds", organization.team_ids)
    pulumi.export("importedRepositories", sorted(config.existing_repositories))
    pulumi.export("registryMachineUser", registry.machine_user)

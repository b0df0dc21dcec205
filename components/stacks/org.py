"""The `org` stack: the GitHub organization, its teams and the catalog's repositories."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi
import pulumi_github as github

from components.config.org import GATING_TEAM, OrgConfig
from components.config.stack_file import environment_configs
from components.github.actions_policy import third_party_action_patterns
from components.github.files import DEFAULT_BRANCH, INFRA_REPOSITORY, repository_files
from components.github.organization import GitHubOrganization, GitHubOrganizationArgs
from components.github.prod_gate import (
    DEPLOY_READER_APP_VARIABLE,
    PROD_RELEASERS_VARIABLE,
    infrastructure_environments,
    releasers_variable,
    service_environments,
)
from components.github.repositories import GitHubRepository, GitHubRepositoryArgs
from components.github.settings import AuthMode
from components.registry.organization import RegistryOrganization, RegistryOrganizationArgs
from components.shared.catalog import Catalog

APP_PRIVATE_KEY_VARIABLE = "GITHUB_APP_PEM_FILE"
"""Where the automation App's private key comes from (the provider's own variable; never config)."""


def github_provider(config: OrgConfig, catalog: Catalog, environ: Mapping[str, str]) -> github.Provider:
    """The GitHub provider, authenticated as the automation App (or, for trials, with GITHUB_TOKEN).

    The App's ids are not secret and come from config (the rulesets name the App as bypass actor);
    its private key comes from the environment as a secret. `make preflight STACK=org` checks it is set.
    """
    if config.github.auth is AuthMode.TOKEN:
        return github.Provider("github", owner=catalog.organization)
    app = config.github.automation_app
    return github.Provider(
        "github",
        owner=catalog.organization,
        app_auth=github.ProviderAppAuthArgs(
            id=str(app.app_id),
            installation_id=str(app.installation_id),
            pem_file=pulumi.Output.secret(environ.get(APP_PRIVATE_KEY_VARIABLE, "")),
        ),
    )


def org_stack(config: OrgConfig, catalog: Catalog) -> None:
    """Declare the organization and every catalog repository; export their URLs and team ids."""
    with_github = pulumi.ResourceOptions(providers=[github_provider(config, catalog, os.environ)])
    seeded = {
        service.repository: repository_files(
            catalog, service, GATING_TEAM, seed_team_files=service.repository not in config.existing_repositories
        )
        for service in catalog.services
    }
    workflows = [
        seeded_file.content
        for files in seeded.values()
        for seeded_file in files
        if seeded_file.path.startswith(".github/workflows/")
    ]
    organization = GitHubOrganization(
        catalog.organization,
        GitHubOrganizationArgs(
            organization=catalog.organization,
            billing_email=config.billing_email,
            company=config.company,
            profile=config.github.profile,
            default_repository_permission=config.github.default_repository_permission,
            secret_scanning=config.secret_scanning,
            owners=config.github.owners,
            teams=config.teams,
            allowed_action_patterns=third_party_action_patterns(workflows, catalog.organization),
            # No registry variables: the host is fixed in the workflows (components/registry).
            actions_variables={
                PROD_RELEASERS_VARIABLE: releasers_variable(config.gating_logins()),
                DEPLOY_READER_APP_VARIABLE: str(config.github.deploy_reader_app_id),
            },
        ),
        opts=with_github,
    )
    configs = environment_configs()
    reviewers = config.environment_reviewers

    def declare(service_name: str, depends_on: list[pulumi.Resource]) -> GitHubRepository:
        service = catalog.service(service_name)
        infrastructure = service.repository == INFRA_REPOSITORY
        return GitHubRepository(
            service.repository,
            GitHubRepositoryArgs(
                service=service,
                files=seeded[service.repository],
                team_ids=organization.team_ids,
                devops_team=GATING_TEAM,
                branch_protection=config.branch_protection,
                organization_rulesets=config.organization_rulesets,
                bypass_app_id=config.github.automation_app.app_id,
                import_existing=service.repository in config.existing_repositories,
                secret_scanning=config.secret_scanning,
                environments=infrastructure_environments(reviewers=reviewers)
                if infrastructure
                else service_environments(service, configs, catalog.organization, reviewers=reviewers),
                oidc_subject=config.github.oidc_subject if service.deploys else None,
                share_workflows=infrastructure,
                depends_on=depends_on,
            ),
            opts=with_github,
        )

    # pyairtable-infra first: every other repository's required checks run its shared workflows.
    infra_name = next(service.name for service in catalog.services if service.repository == INFRA_REPOSITORY)
    infra = declare(infra_name, [organization.settings])
    sharing = [organization.settings, *([infra.workflow_access] if infra.workflow_access else [])]
    repositories = {
        service.repository: infra if service.name == infra_name else declare(service.name, sharing)
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
    pulumi.export(
        "prodGate",
        {
            "releasers": list(config.gating_logins()),
            "requiredReviewers": reviewers,
            "organizationRulesets": config.organization_rulesets,
            "oidcSubject": config.github.oidc_subject.value,
            "secretScanning": "github" if config.secret_scanning else "gitleaks",
        },
    )

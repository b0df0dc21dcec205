"""pyairtable-infra: reads the stack's config, builds explicit providers, wires components, exports.

Stack `org` declares the GitHub organization; stacks `dev`, `staging` and `prod` declare one AWS
environment each. No resource is declared by two stacks.
"""

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.catalog import load_catalog
from components.config import EnvironmentConfig, OrgConfig, environment_configs, read_stack_config
from components.cost import compute_bill
from components.github_files import repository_files
from components.github_org import GitHubOrganization, GitHubOrganizationArgs
from components.github_repositories import GitHubRepository, GitHubRepositoryArgs, deploy_variables
from components.pricing import load_prices

DEVOPS_TEAM = "devops"

config = read_stack_config()
catalog = load_catalog()

if isinstance(config, OrgConfig):
    github_provider = github.Provider("github", owner=catalog.organization)
    with_github = pulumi.ResourceOptions(providers=[github_provider])
    organization = GitHubOrganization(
        catalog.organization,
        GitHubOrganizationArgs(
            billing_email=config.billing_email,
            company=config.company,
            secret_scanning=config.secret_scanning,
            teams=config.teams,
            actions_variables={"REGISTRY": catalog.registry_url, "REGISTRY_HOST": catalog.registry},
        ),
        opts=with_github,
    )
    environment_variables = deploy_variables(environment_configs())
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
    pulumi.export("repositoryUrls", {name: repository.url for name, repository in repositories.items()})
    pulumi.export("teamIds", organization.team_ids)
    pulumi.export("importedRepositories", sorted(config.existing_repositories))
elif isinstance(config, EnvironmentConfig):
    aws_provider = aws.Provider(
        "aws",
        region=config.aws_region,
        allowed_account_ids=[config.aws_account_id],
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=config.aws_role_arn, session_name="pulumi")]
        if config.aws_role_arn
        else None,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={
                "Environment": config.environment,
                "Project": "pyairtable",
                "ManagedBy": "pulumi",
                "CostCenter": config.cost_center,
            }
        ),
    )

pulumi.export("cost", compute_bill(config, catalog, load_prices()))

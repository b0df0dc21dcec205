"""pyairtable-infra: reads the stack's config, builds explicit providers, wires components, exports.

Stack `org` declares the GitHub organization; stacks `dev`, `staging` and `prod` declare one AWS
environment each. No resource is declared by two stacks.
"""

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.catalog import load_catalog
from components.config import EnvironmentConfig, OrgConfig, read_stack_config
from components.cost import compute_bill
from components.pricing import load_prices

config = read_stack_config()
catalog = load_catalog()

if isinstance(config, OrgConfig):
    github_provider = github.Provider("github", owner=catalog.organization)
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

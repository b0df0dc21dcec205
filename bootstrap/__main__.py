"""pyairtable-bootstrap: per AWS account, what every other stack needs first (README "Operations").

One stack per account (`dev`, `staging`, `prod`): the state bucket and its backup, a secrets key per
pyairtable-infra stack kept here, the GitHub Actions OIDC provider (this is its only owner), and the
up, preview and drift roles of those stacks. Run by an administrator, never by CI.
"""

import sys
from pathlib import Path

# Pulumi runs this file from bootstrap/; the shared components live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from bootstrap.ci_access import StackAccess, StackAccessArgs
from bootstrap.cost import bootstrap_items
from bootstrap.settings import BOOTSTRAP_KEY_STACK, parse_bootstrap_config
from bootstrap.state_backend import StateBackend, StateBackendArgs
from components.config.common import ORG_STACK
from components.cost.bill import price_items
from components.cost.prices import load_prices
from components.delivery.names import backend_url, secrets_key_alias
from components.shared.catalog import load_catalog
from components.shared.iam import WEB_IDENTITY_AUDIENCE
from components.shared.kms import KeyAccess, key_policy, role_user_statement, rotating_key

bootstrap = parse_bootstrap_config(
    pulumi.get_stack(), {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
)
environment = bootstrap.environment
account, region = environment.aws_account_id, environment.aws_region
provider = aws.Provider(
    "aws",
    region=region,
    allowed_account_ids=[account],
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={"Environment": bootstrap.account, "Project": "pyairtable", "ManagedBy": "pulumi-bootstrap",
              "CostCenter": environment.cost_center}
    ),
)  # fmt: skip
with_aws = pulumi.ResourceOptions(provider=provider)
# People administer the bootstrap's keys (the CI roles it creates never do); one role may delete them.
people = [arn for arn in environment.admin_role_arns if "pyairtable-infra-" not in arn]
key_access = KeyAccess(administrators=people, break_glass_role_arn=environment.break_glass_role_arn)

backend = StateBackend(
    "state",
    StateBackendArgs(
        account_id=account,
        state_version_days=bootstrap.settings.state_version_days,
        backup_retention_days=bootstrap.settings.backup_retention_days,
        region=region,
        key_access=key_access,
    ),
    opts=with_aws,
)
# One per URL per account: environment stacks refer to it by ARN (components/delivery/names.py).
github = aws.iam.OpenIdConnectProvider(
    "github-actions",
    url="https://token.actions.githubusercontent.com",
    client_id_lists=[WEB_IDENTITY_AUDIENCE],
    opts=pulumi.ResourceOptions(provider=provider, protect=True),
)
# The bootstrap's own secrets provider (it holds no secret today; the stack file names it).
rotating_key(
    "bootstrap-secrets",
    alias=secrets_key_alias(BOOTSTRAP_KEY_STACK),
    description="Secrets provider of this account's bootstrap stack",
    # Only the administrators who run the bootstrap use it.
    policy=pulumi.Output.json_dumps(
        key_policy(
            key_access,
            *(role_user_statement(f"AdministratorUses{index}", arn) for index, arn in enumerate(people)),
        )
    ),
    opts=with_aws,
    protect=True,
)
organization = load_catalog().organization
access = {
    stack: StackAccess(
        stack,
        StackAccessArgs(
            stack=stack,
            account_id=account,
            region=region,
            organization=organization,
            oidc_provider_arn=github.arn,
            bucket_arn=backend.bucket_arn,
            state_key_arn=backend.key_arn,
            other_stacks=[other for other in bootstrap.settings.stacks if other != stack],
            administrator_role_arns=people,
            manages_account=stack != ORG_STACK,
            key_access=key_access,
        ),
        opts=with_aws,
    )
    for stack in bootstrap.settings.stacks
}

pulumi.export("backendUrl", backend_url(account, region))
pulumi.export(
    "cost", price_items(region, bootstrap.settings.budget_usd, bootstrap_items(bootstrap.settings), load_prices())
)
pulumi.export("stateBucket", backend.bucket_name)
pulumi.export("githubOidcProviderArn", github.arn)
pulumi.export(
    "stacks",
    {
        stack: {
            "upRoleArn": item.up_role_arn,
            "previewRoleArn": item.preview_role_arn,
            "driftRoleArn": item.drift_role_arn,
        }
        for stack, item in access.items()
    },
)

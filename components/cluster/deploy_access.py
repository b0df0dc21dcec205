"""GitHub Actions deploys through OIDC: no long-lived AWS keys anywhere.

The account trusts GitHub's OIDC issuer; the deploy role trusts only the catalog's deployable
repositories, and only in the GitHub environment of the same name as this environment (whose
protection rules, e.g. required reviewers for prod, the org stack declares).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared.iam import WEB_IDENTITY_AUDIENCE, policy_document, web_identity_trust_policy

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = GITHUB_OIDC_URL.removeprefix("https://")


def deploy_subjects(organization: str, repositories: Sequence[str], environment: str) -> list[str]:
    """The OIDC `sub` claims allowed to deploy: `repo:<org>/<repo>:environment:<env>` per repository."""
    return [f"repo:{organization}/{repository}:environment:{environment}" for repository in repositories]


@dataclass(frozen=True)
class DeployAccessArgs:
    """Inputs of `DeployAccess`."""

    environment: str
    """Environment name, also the GitHub environment the workflows must run in."""
    organization: str
    """GitHub organization of the repositories."""
    repositories: Sequence[str]
    """Repositories that may deploy (the catalog's deployable services)."""
    role_name: str
    """Name of the deploy role (from `components.shared.naming.deploy_role_name`)."""
    cluster_arn: str
    """ARN of the environment's cluster, the only one the role may describe."""


class DeployAccess(pulumi.ComponentResource):
    """The account's GitHub OIDC provider and the environment's deploy role."""

    role_arn: pulumi.Output[str]
    """ARN of the deploy role (also granted namespace-scoped edit through an EKS access entry)."""

    def __init__(self, name: str, args: DeployAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:deploy_access:DeployAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # No thumbprint: IAM validates GitHub's issuer against its own trusted CAs.
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=GITHUB_OIDC_URL,
            client_id_lists=[WEB_IDENTITY_AUDIENCE],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=f"GitHub Actions deploys of the {args.environment} environment (OIDC, no keys)",
            assume_role_policy=web_identity_trust_policy(
                provider.arn,
                GITHUB_OIDC_ISSUER,
                deploy_subjects(args.organization, args.repositories, args.environment),
            ),
            max_session_duration=3600,
            opts=child,
        )
        # Enough to write a kubeconfig (`aws eks update-kubeconfig`); what it may do inside the
        # cluster is the access entry's business.
        aws.iam.RolePolicy(
            f"{name}-describe-cluster",
            role=role.id,
            policy=json.dumps(
                policy_document({"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": args.cluster_arn})
            ),
            opts=child,
        )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn, "oidcProviderArn": provider.arn})

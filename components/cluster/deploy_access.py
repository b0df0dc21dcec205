"""GitHub Actions deploys through OIDC: one role per deployable service and environment, no long-lived keys.

Each role trusts only its own repository's jobs in the GitHub environment of this environment's
name, and only tokens meant for STS. Which `sub` formats it accepts follows config
`cluster.deploySubjects`: during the rollout of the organization's subject template both the default
format and the one that pins the devops-owned deploy workflow (`job_workflow_ref`) are accepted; after
the switch, only the pinned one (README "Deploy access"). AWS evaluates only `sub` and `aud` of
GitHub's token, so the workflow can be pinned only through `sub`.

The account's GitHub OIDC provider is not declared here: an account holds one per issuer URL, so the
bootstrap project owns it and every stack builds its ARN from the account id (no lookup).

Inside the cluster a role gets nothing from EKS access policies: its access entry maps it to the
Kubernetes group `deploy_group(service)`, which `components.cluster.namespaces` binds to a Role in
that service's namespace only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cluster.settings import DeploySubjects
from components.shared.iam import policy_document, web_identity_trust_policy
from components.shared.naming import legacy_deploy_subject, pinned_deploy_subject, service_deploy_role_name

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = GITHUB_OIDC_URL.removeprefix("https://")


def github_oidc_provider_arn(account_id: str) -> str:
    """ARN of the account's GitHub Actions OIDC provider (owned by the bootstrap project)."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_ISSUER}"


def deploy_group(service: str) -> str:
    """The Kubernetes group a service's deploy role is mapped to (bound in its namespace only)."""
    return f"pyairtable:deploy:{service}"


def deploy_subjects(organization: str, repository: str, environment: str, accepted: DeploySubjects) -> list[str]:
    """The OIDC `sub` claims one repository's deploy job may present in one environment."""
    pinned = pinned_deploy_subject(organization, repository, environment)
    if accepted is DeploySubjects.PINNED:
        return [pinned]
    return [legacy_deploy_subject(organization, repository, environment), pinned]


@dataclass(frozen=True)
class DeployService:
    """One deployable service: its catalog name and repository."""

    name: str
    """Catalog service name (also its namespace)."""
    repository: str
    """GitHub repository whose deploy job assumes the role."""


@dataclass(frozen=True)
class DeployAccessArgs:
    """Inputs of `DeployAccess`."""

    environment: str
    """Environment name, also the GitHub environment the deploy jobs must run in."""
    organization: str
    """GitHub organization of the repositories."""
    services: Sequence[DeployService]
    """The catalog's deployable services: one role each."""
    account_id: str
    """The environment's AWS account (holds the GitHub OIDC provider)."""
    cluster_arn: str
    """ARN of the environment's cluster, the only one the roles may describe."""
    accepted_subjects: DeploySubjects
    """Which `sub` formats the roles trust (config `cluster.deploySubjects`)."""


class DeployAccess(pulumi.ComponentResource):
    """One GitHub Actions deploy role per deployable service of the environment."""

    role_arns: dict[str, pulumi.Output[str]]
    """Deploy role ARN by service name (each mapped by an access entry to `deploy_group(service)`)."""

    def __init__(self, name: str, args: DeployAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:deploy_access:DeployAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provider_arn = github_oidc_provider_arn(args.account_id)
        # Enough to write a kubeconfig (`aws eks update-kubeconfig`); what a role may do inside the
        # cluster is its access entry's and Kubernetes RBAC's business.
        describe_cluster = json.dumps(
            policy_document({"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": args.cluster_arn})
        )
        self.role_arns = {}
        for service in args.services:
            role = aws.iam.Role(
                f"{name}-{service.name}",
                name=service_deploy_role_name(args.environment, service.name),
                description=f"GitHub Actions deploys of {service.name} to {args.environment} (OIDC, no keys)",
                assume_role_policy=web_identity_trust_policy(
                    provider_arn,
                    GITHUB_OIDC_ISSUER,
                    deploy_subjects(args.organization, service.repository, args.environment, args.accepted_subjects),
                ),
                max_session_duration=3600,
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-{service.name}-describe-cluster", role=role.id, policy=describe_cluster, opts=child
            )
            self.role_arns[service.name] = role.arn
        self.register_outputs({"roleArns": self.role_arns, "oidcProviderArn": provider_arn})

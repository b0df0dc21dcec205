"""Cloud names derived from an environment's name, shared by the org stack and the environment stacks.

The org stack writes these into GitHub environment variables; the environment stacks create the
resources under the same names. Deriving both from here means neither side types them by hand.
"""

from __future__ import annotations


def cluster_name(environment: str) -> str:
    """EKS cluster name, e.g. `pyairtable-prod`."""
    return f"pyairtable-{environment}"


PROD_ENVIRONMENT = "prod"
"""The environment whose data and workloads are protected from deletion, and which gets the floors."""

MONITORING_NAMESPACE = "monitoring"
"""The platform namespace of Prometheus, Alertmanager and Grafana on every cluster."""

NODE_EXPORTER_NAMESPACE = "node-exporter"
"""The namespace of the node exporter alone: it needs the host's network and PID namespaces, so it
is the only workload that runs under the `privileged` Pod Security level."""

EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
"""The namespace of External Secrets Operator."""

PLATFORM_NAMESPACES = ("default", MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE, EXTERNAL_SECRETS_NAMESPACE)
"""Namespaces the platform (or Kubernetes) creates; no service may be named like one."""
PLATFORM_NAMESPACE_PREFIXES = ("kube-", "amazon-", "aws-", "eks-")
"""Prefixes of the namespaces Kubernetes, EKS and AWS add-ons create (kube-system, amazon-cloudwatch...)."""


def is_platform_namespace(namespace: str) -> bool:
    """Whether `namespace` is, or may become, one the platform owns."""
    return namespace in PLATFORM_NAMESPACES or namespace.startswith(PLATFORM_NAMESPACE_PREFIXES)


GRAFANA_ADMIN_SECRET = "grafana-admin"
"""Secrets Manager name segment and Kubernetes Secret of Grafana's admin login."""

ALERTMANAGER_SECRET = "alertmanager-receivers"
"""Kubernetes Secret holding one `<receiver>-url` key per configured Alertmanager receiver."""


INFRA_REPOSITORY = "pyairtable-infra"
"""This project's repository: it hosts the reusable workflows and runs `pulumi preview` and `pulumi up`."""

DEPLOY_WORKFLOW_REPOSITORY = INFRA_REPOSITORY
"""The repository that owns the reusable deploy workflow (devops-owned, CODEOWNERS-guarded)."""

DEPLOY_WORKFLOW_PATH = ".github/workflows/deploy.yml"
"""Path of the reusable deploy workflow inside `DEPLOY_WORKFLOW_REPOSITORY`."""

OIDC_SUBJECT_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
"""The organization's customized OIDC subject template: AWS reads only `sub` and `aud`, so pinning
the deploy workflow means putting `job_workflow_ref` into `sub` (GitHub joins the keys in this order)."""


def deploy_workflow_ref(organization: str) -> str:
    """`job_workflow_ref` of the reusable deploy workflow at `main`, as GitHub writes it into the token."""
    return f"{organization}/{DEPLOY_WORKFLOW_REPOSITORY}/{DEPLOY_WORKFLOW_PATH}@refs/heads/main"


def legacy_deploy_subject(organization: str, repository: str, environment: str) -> str:
    """GitHub's default `sub` for a job bound to a GitHub environment (before the template applies)."""
    return f"repo:{organization}/{repository}:environment:{environment}"


def pinned_deploy_subject(organization: str, repository: str, environment: str) -> str:
    """`sub` under `OIDC_SUBJECT_CLAIM_KEYS`: the repository, its environment and the pinned deploy workflow."""
    return (
        f"{legacy_deploy_subject(organization, repository, environment)}"
        f":job_workflow_ref:{deploy_workflow_ref(organization)}"
    )


def service_deploy_role_name(environment: str, service: str) -> str:
    """IAM role one service's deploy job assumes in one environment (at most 64 characters)."""
    return f"pyairtable-{environment}-deploy-{service}"


def role_arn(account_id: str, role_name: str) -> str:
    """ARN of a role in an account (roles live at the root path here)."""
    return f"arn:aws:iam::{account_id}:role/{role_name}"


def service_deploy_role_arn(account_id: str, environment: str, service: str) -> str:
    """ARN of `service_deploy_role_name` in the environment's account."""
    return role_arn(account_id, service_deploy_role_name(environment, service))


REGISTRY_HOST = "ghcr.io"
"""The only container registry the platform publishes to and pulls from (upstream of every cache).

A constant, not catalog data: the publish workflow hands every repository's `GITHUB_TOKEN` to this
host, so no config or catalog edit may redirect it.
"""

PULL_THROUGH_CACHE_PREFIX = "ghcr"
"""ECR repository prefix of each environment's pull-through cache of `REGISTRY_HOST`."""


def image_repository(organization: str, service: str) -> str:
    """The organization's image of a service on GHCR, e.g. `ghcr.io/pyairtable/gateway`."""
    return f"{REGISTRY_HOST}/{organization}/{service}"


def pull_through_cache_registry(account_id: str, region: str) -> str:
    """The ECR registry host of an environment's account and region (its pull-through cache)."""
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


def cached_registry_path(account_id: str, region: str, organization: str) -> str:
    """Where an environment's nodes pull the organization's images: its cache of `ghcr.io/<organization>`."""
    return f"{pull_through_cache_registry(account_id, region)}/{PULL_THROUGH_CACHE_PREFIX}/{organization}"


def cached_image_repository(account_id: str, region: str, organization: str, service: str) -> str:
    """The image a deploy to an environment references: the cache path of `image_repository`.

    e.g. `111111111111.dkr.ecr.us-east-1.amazonaws.com/ghcr/pyairtable/gateway` caches
    `ghcr.io/pyairtable/gateway`; deploys add `@sha256:<digest>` (the publish workflow's output).
    """
    return f"{cached_registry_path(account_id, region, organization)}/{service}"

"""The prod gate, as data: which refs may deploy where, who may release to prod, and what AWS trusts.

GitHub Team enforces no required reviewers on environments of private repositories (the API
answers 422, data/github/plans.yaml), so on Team the gate is:

- a merge to `main` never deploys: only the managed `release.yml` does, by a manual dispatch;
- `release.yml` and every workflow are owned by devops alone (CODEOWNERS, code-owner review, last
  push approval, no bypass but the automation App), so the owning team cannot change the path;
- the deploy workflow's gate lets only `PROD_RELEASERS` (the devops team, from config) dispatch prod;
- the prod environment takes `main` only, so a branch with an edited workflow cannot enter it;
- the service's deploy role (issue 13) trusts the repository, the environment and, once
  `oidcSubject` is `pinned`, the deploy workflow at `main` of pyairtable-infra.

With Enterprise, prod environments also get required reviewers from devops, no self-review and no
admin bypass. The functions here are pure so that tests can ask "who can reach prod" of the plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from components.config.common import STACKS
from components.config.environment import EnvironmentConfig
from components.github.files import DEFAULT_BRANCH
from components.shared.catalog import ENVIRONMENTS, Service
from components.shared.naming import cached_registry_path, cluster_name, service_deploy_role_arn

GATED_ENVIRONMENT = "prod"
"""The environment only the gating team may release to (and, on Enterprise, must approve)."""
DEV_BRANCH_PATTERN = "dev/*"
"""Branches that may deploy to dev besides `main`: trying a change in dev is a deliberate branch name."""
PROD_RELEASERS_VARIABLE = "PROD_RELEASERS"
"""Organization variable: JSON list of the logins the release gate lets dispatch prod."""
DEPLOY_READER_APP_VARIABLE = "DEPLOY_READER_APP_ID"
"""Organization variable: the id of the read-only App the deploy workflow reads the chart with."""


@dataclass(frozen=True)
class GitHubEnvironment:
    """One GitHub environment of a repository, as the org stack declares it."""

    name: str
    """Environment name (a deploy environment, or a stack name in pyairtable-infra)."""
    branch_patterns: tuple[str, ...]
    """The only branches whose runs may enter the environment (a custom deployment branch policy)."""
    required_reviewers: bool
    """Devops must approve each job (Enterprise only; prevent self-review, no admin bypass)."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """Actions variables of the environment."""


def branch_patterns(environment: str) -> tuple[str, ...]:
    """`main` everywhere, plus `dev/*` branches in dev."""
    return (DEFAULT_BRANCH, DEV_BRANCH_PATTERN) if environment == "dev" else (DEFAULT_BRANCH,)


def deploy_variables(
    service: Service, environment: str, config: EnvironmentConfig, organization: str
) -> dict[str, str]:
    """The variables the deploy workflow reads in one environment, derived from that stack's config.

    The environment stacks create the cluster and the service's deploy role under the same names
    (`components.shared.naming`), so neither side types them.
    """
    return {
        "AWS_ACCOUNT_ID": config.aws_account_id,
        "AWS_REGION": config.aws_region,
        "EKS_CLUSTER_NAME": cluster_name(environment),
        "AWS_DEPLOY_ROLE_ARN": service_deploy_role_arn(config.aws_account_id, environment, service.name),
        # Deploys reference `<IMAGE_REGISTRY>/<service>@<digest>`: the environment's pull-through cache.
        "IMAGE_REGISTRY": cached_registry_path(config.aws_account_id, config.aws_region, organization),
    }


def service_environments(
    service: Service, configs: Mapping[str, EnvironmentConfig], organization: str, *, reviewers: bool
) -> tuple[GitHubEnvironment, ...]:
    """The dev, staging and prod environments of a deployable service (none for the others)."""
    if not service.deploys:
        return ()
    return tuple(
        GitHubEnvironment(
            environment,
            branch_patterns(environment),
            reviewers and environment == GATED_ENVIRONMENT,
            deploy_variables(service, environment, configs[environment], organization),
        )
        for environment in ENVIRONMENTS
    )


def infrastructure_environments(*, reviewers: bool) -> tuple[GitHubEnvironment, ...]:
    """pyairtable-infra's environments, one per stack, `main` only: its `pulumi up` jobs bind to them."""
    return tuple(
        GitHubEnvironment(stack, (DEFAULT_BRANCH,), reviewers and stack == GATED_ENVIRONMENT) for stack in STACKS
    )


def releasers_variable(logins: Iterable[str]) -> str:
    """The value of PROD_RELEASERS: the gating team's logins as a compact JSON list."""
    return json.dumps(sorted(logins, key=str.casefold), separators=(",", ":"))

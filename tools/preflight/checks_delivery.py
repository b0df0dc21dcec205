"""Preflight checks of delivery: the bootstrap ran in this account, and the configured path into
the VPC works (`make preflight STACK=<env>`).

- `bootstrap`: the state bucket exists with versioning on, and the GitHub OIDC provider exists
  (both created by bootstrap/, which must run before any environment stack).
- `delivery path`: on `public`, this machine's egress address is inside `publicAccessCidrs` (else
  `pulumi up` cannot reach the cluster); on `codebuild`, the runner project exists and its GitHub
  connection has been completed by hand (a new connection stays PENDING until someone accepts it).
"""

from __future__ import annotations

import ipaddress
import json

from components.config.environment import EnvironmentConfig
from components.delivery.names import (
    github_oidc_provider_arn,
    runner_connection_name,
    runner_project_name,
    state_bucket_name,
)
from tools.preflight.core import Check, CheckResult, CommandResult, PreflightContext

EGRESS_ADDRESS_URL = "https://checkip.amazonaws.com"
"""Answers with the caller's public IPv4 address (an AWS endpoint, as the cluster sees the caller)."""
NOT_INSTALLED = 127


def _unavailable(name: str, result: CommandResult, tool: str) -> CheckResult | None:
    """A skip when the tool is missing, None otherwise."""
    if result.returncode == NOT_INSTALLED:
        return CheckResult(name, "skip", f"{tool} is not installed here", f"install {tool} and run again")
    return None


def check_bootstrap(context: PreflightContext) -> CheckResult:
    """The account's state bucket (versioned) and GitHub OIDC provider exist."""
    name = "bootstrap"
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(name, "skip", "the org stack has no AWS account of its own (its state lives in prod's)")
    bucket = state_bucket_name(config.aws_account_id)
    result = context.run(["aws", "s3api", "get-bucket-versioning", "--bucket", bucket, "--output", "json"])
    if skipped := _unavailable(name, result, "the AWS CLI"):
        return skipped
    fix = "run the bootstrap first: cd bootstrap && pulumi up --stack " + config.environment
    if result.returncode != 0:
        detail = f"state bucket {bucket} is missing or unreadable: {result.stderr.strip()}"
        return CheckResult(name, "fail", detail, fix)
    status = (json.loads(result.stdout or "{}") or {}).get("Status")
    if status != "Enabled":
        return CheckResult(name, "fail", f"state bucket {bucket} has versioning {status or 'never enabled'}", fix)
    provider = github_oidc_provider_arn(config.aws_account_id)
    result = context.run(["aws", "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", provider])
    if result.returncode != 0:
        return CheckResult(name, "fail", f"no GitHub OIDC provider {provider}", fix)
    return CheckResult(name, "pass", f"state bucket {bucket} (versioned) and {provider} exist")


def check_delivery_path(context: PreflightContext) -> CheckResult:
    """The configured way into the cluster works from here (public) or is ready (codebuild)."""
    name = "delivery path"
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(name, "skip", "the org stack talks to GitHub only")
    if config.delivery.path == "public":
        return _public_path(name, context, config)
    return _codebuild_path(name, context, config)


def _public_path(name: str, context: PreflightContext, config: EnvironmentConfig) -> CheckResult:
    """This machine's egress address is one the public endpoint admits."""
    result = context.run(["curl", "--silent", "--fail", "--max-time", "10", EGRESS_ADDRESS_URL])
    if skipped := _unavailable(name, result, "curl"):
        return skipped
    try:
        address = ipaddress.ip_address(result.stdout.strip())
    except ValueError:
        return CheckResult(name, "skip", f"could not learn this machine's address from {EGRESS_ADDRESS_URL}")
    allowed = [str(cidr) for cidr in config.public_access_cidrs if address in cidr]
    if allowed:
        return CheckResult(name, "pass", f"{address} is inside publicAccessCidrs ({', '.join(allowed)})")
    return CheckResult(
        name,
        "fail",
        f"{address} is outside publicAccessCidrs {[str(c) for c in config.public_access_cidrs]}: "
        "the public endpoint will refuse this machine",
        "run from the runners whose egress CIDRs are configured, or switch delivery.path to codebuild",
    )


def _codebuild_path(name: str, context: PreflightContext, config: EnvironmentConfig) -> CheckResult:
    """The runner project exists and its GitHub connection is completed."""
    project = runner_project_name(config.environment)
    region = ["--region", config.aws_region, "--output", "json"]
    result = context.run(["aws", "codebuild", "batch-get-projects", "--names", project, *region])
    if skipped := _unavailable(name, result, "the AWS CLI"):
        return skipped
    projects = (json.loads(result.stdout or "{}") or {}).get("projects", []) if result.returncode == 0 else []
    if not projects:
        return CheckResult(
            name,
            "skip",
            f"runner project {project} does not exist yet",
            "the first `pulumi up` creates it (from a machine inside publicAccessCidrs); see README Delivery",
        )
    result = context.run(["aws", "codeconnections", "list-connections", "--provider-type-filter", "GitHub", *region])
    connections = (json.loads(result.stdout or "{}") or {}).get("Connections", []) if result.returncode == 0 else []
    statuses = {item.get("ConnectionName"): item.get("ConnectionStatus") for item in connections}
    status = statuses.get(runner_connection_name(config.environment))
    if status != "AVAILABLE":
        return CheckResult(
            name,
            "fail",
            f"the GitHub connection of {project} is {status or 'missing'}",
            "complete it in the console (Developer Tools > Connections > Update pending connection)",
        )
    return CheckResult(name, "pass", f"runner project {project} exists and its GitHub connection is AVAILABLE")


CHECKS: list[Check] = [check_bootstrap, check_delivery_path]

"""Preflight checks of an environment's cluster that only a real machine and account can answer.

- `endpoint_path`: the configured way to the API server works from here: with a public endpoint,
  this machine's egress address is inside `publicAccessCidrs` (else every Kubernetes call times out).
- `kubernetes_support_calendar`: EKS's own end-of-standard-support date for the pinned version is
  the one in data/upstream/aws/eks-kubernetes-versions.yaml.
- `secret_names_free`: no secret of the environment is scheduled for deletion (its name would stay
  reserved, and `pulumi up` after a rebuild would fail; README "Rebuilding dev or staging").
- `caller_administers_keys`: the identity running Pulumi is an administrator of the KMS key policies
  (KMS's lockout check refuses a policy that would lock its creator out).
- `addon_versions_offered`: EKS offers every pinned add-on version (`addonVersions`) for the pinned
  Kubernetes version; a pin it does not offer fails the first `pulumi up` halfway through.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from components.config.environment import EnvironmentConfig
from components.shared.aws_limits import load_kubernetes_versions
from components.shared.catalog import secret_prefix
from tools.preflight.core import Check, CheckResult, PreflightContext

EGRESS_ADDRESS_URL = "https://checkip.amazonaws.com"


def _environment(context: PreflightContext, name: str) -> EnvironmentConfig | CheckResult:
    if not isinstance(context.config, EnvironmentConfig):
        return CheckResult(name, "skip", f"stack {context.stack!r} has no cluster")
    return context.config


def _not_run(name: str, argv: Sequence[str], returncode: int, stderr: str) -> CheckResult:
    if returncode == 127:
        return CheckResult(name, "skip", f"{argv[0]} is not installed here", f"install {argv[0]}")
    return CheckResult(name, "fail", f"`{' '.join(argv[:4])} ...` failed: {stderr.strip()[:300]}")


def _aws_json(
    context: PreflightContext, config: EnvironmentConfig, name: str, *arguments: str
) -> dict[str, Any] | CheckResult:
    """The JSON answer of `aws <arguments>` in the environment's region, or the check's skip or failure."""
    argv = ["aws", *arguments, "--region", config.aws_region, "--output", "json"]
    result = context.run(argv)
    if result.returncode != 0:
        return _not_run(name, argv, result.returncode, result.stderr)
    return json.loads(result.stdout or "{}")


def endpoint_path(context: PreflightContext) -> CheckResult:
    """The configured path to the API server: this machine's egress address is an allowed CIDR."""
    name = "cluster endpoint reachable from here"
    config = _environment(context, name)
    if isinstance(config, CheckResult):
        return config
    if not config.cluster.endpoint_public_access:
        return CheckResult(name, "fail", "the public endpoint is off and no path into the VPC is declared")
    argv = ["curl", "--silent", "--fail", "--max-time", "10", EGRESS_ADDRESS_URL]
    result = context.run(argv)
    if result.returncode != 0:
        return _not_run(name, argv, result.returncode, result.stderr)
    try:
        address = ipaddress.ip_address(result.stdout.strip())
    except ValueError:
        return CheckResult(name, "fail", f"{EGRESS_ADDRESS_URL} answered {result.stdout.strip()[:60]!r}")
    if any(address in cidr for cidr in config.public_access_cidrs):
        return CheckResult(name, "pass", f"egress address {address} is inside publicAccessCidrs")
    return CheckResult(
        name,
        "fail",
        f"egress address {address} is outside publicAccessCidrs {[str(c) for c in config.public_access_cidrs]}",
        "run from the runners whose egress ranges are configured, or add this range to publicAccessCidrs",
    )


def kubernetes_support_calendar(context: PreflightContext) -> CheckResult:
    """EKS's end of standard support for the pinned version matches the vendored table."""
    name = "EKS support calendar matches the version table"
    config = _environment(context, name)
    if isinstance(config, CheckResult):
        return config
    answer = _aws_json(
        context, config, name, "eks", "describe-cluster-versions", "--cluster-versions", config.kubernetes_version
    )
    if isinstance(answer, CheckResult):
        return answer
    versions = answer.get("clusterVersions", [])
    row = load_kubernetes_versions().find(config.kubernetes_version)
    if not versions or row is None:
        return CheckResult(name, "fail", f"EKS does not list Kubernetes {config.kubernetes_version}")
    aws_end = datetime.date.fromisoformat(str(versions[0]["endOfStandardSupportDate"])[:10])
    if aws_end != row.end_of_standard_support:
        return CheckResult(
            name,
            "fail",
            f"EKS ends standard support of {config.kubernetes_version} on {aws_end}, the table says "
            f"{row.end_of_standard_support}",
            "correct data/upstream/aws/eks-kubernetes-versions.yaml",
        )
    return CheckResult(name, "pass", f"Kubernetes {config.kubernetes_version}: standard support until {aws_end}")


def secret_names_free(context: PreflightContext) -> CheckResult:
    """No secret of the environment is scheduled for deletion (its name stays reserved meanwhile)."""
    name = "Secrets Manager names free"
    config = _environment(context, name)
    if isinstance(config, CheckResult):
        return config
    prefix = secret_prefix(config.environment)
    answer = _aws_json(
        context, config, name, "secretsmanager", "list-secrets", "--include-planned-deletion", "--filters",
        f"Key=name,Values={prefix}",
    )  # fmt: skip
    if isinstance(answer, CheckResult):
        return answer
    pending = [s["Name"] for s in answer.get("SecretList", []) if s.get("DeletedDate")]
    if pending:
        return CheckResult(
            name,
            "fail",
            f"{len(pending)} secret(s) under {prefix} are scheduled for deletion: {pending[:5]}",
            "restore and import them, force-delete them, or wait (README 'Rebuilding dev or staging')",
        )
    return CheckResult(name, "pass", f"no secret under {prefix} is scheduled for deletion")


def caller_administers_keys(context: PreflightContext) -> CheckResult:
    """The identity Pulumi runs as is a key administrator (KMS refuses a policy that locks its creator out)."""
    name = "Pulumi's identity administers the KMS keys"
    config = _environment(context, name)
    if isinstance(config, CheckResult):
        return config
    if config.aws_role_arn:
        return CheckResult(name, "pass", f"Pulumi assumes {config.aws_role_arn}, an administrator of every key")
    answer = _aws_json(context, config, name, "sts", "get-caller-identity")
    if isinstance(answer, CheckResult):
        return answer
    caller = str(answer.get("Arn", ""))
    # arn:aws:sts::<account>:assumed-role/<role>/<session> -> arn:aws:iam::<account>:role/<role>
    parts = caller.split(":")
    role = ""
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = f"arn:aws:iam::{parts[4]}:role/{parts[5].split('/')[1]}"
    if role in config.key_access.administrators:
        return CheckResult(name, "pass", f"{caller} is {role}, an administrator of every key")
    return CheckResult(
        name,
        "fail",
        f"{caller} is not one of the key administrators {list(config.key_access.administrators)}",
        "set awsRoleArn, or run as one of adminRoleArns",
    )


def addon_versions_offered(context: PreflightContext) -> CheckResult:
    """Every pinned add-on version is one EKS offers for the pinned Kubernetes version."""
    name = "EKS add-on versions offered"
    config = _environment(context, name)
    if isinstance(config, CheckResult):
        return config
    missing = []
    for addon, version in sorted(config.addon_versions.items()):
        answer = _aws_json(
            context, config, name, "eks", "describe-addon-versions", "--addon-name", addon,
            "--kubernetes-version", config.kubernetes_version,
        )  # fmt: skip
        if isinstance(answer, CheckResult):
            return answer
        offered = {
            info.get("addonVersion") for found in answer.get("addons", []) for info in found.get("addonVersions", [])
        }
        if version not in offered:
            missing.append(f"{addon} {version}")
    if missing:
        return CheckResult(
            name,
            "fail",
            f"EKS offers no {', '.join(missing)} for Kubernetes {config.kubernetes_version}",
            "pin a version `aws eks describe-addon-versions --kubernetes-version "
            f"{config.kubernetes_version} --addon-name <addon>` lists, in addonVersions",
        )
    return CheckResult(name, "pass", f"every pinned add-on is offered for Kubernetes {config.kubernetes_version}")


CHECKS: list[Check] = [
    endpoint_path,
    kubernetes_support_calendar,
    secret_names_free,
    caller_administers_keys,
    addon_versions_offered,
]

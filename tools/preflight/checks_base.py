"""The base preflight checks: what every first `pulumi preview` needs from the machine it runs on.

- the Pulumi CLI, within Pulumi.yaml's `requiredPulumiVersion`;
- the `aws` CLI (the kubeconfig of every cluster runs `aws eks get-token`);
- AWS credentials that reach the stack's account (`sts get-caller-identity`, and the role the
  provider assumes), since the provider's `allowedAccountIds` refuses any other account;
- what the org stack's GitHub credentials may do: the automation App installation's permissions, or
  (token mode) a classic token's scopes from the `X-OAuth-Scopes` header (`workflow` included:
  seeding `.github/workflows/*` needs it); checks_github.py checks that the key or token is set;
- the selected backend (`pulumi whoami`), the stack in it (`pulumi stack ls`), and its secrets provider;
- that this machine can reach the cluster API: its egress IP inside `publicAccessCidrs` (the public
  endpoint is on), without which the Kubernetes provider fails and, with `refresh: always`, so
  does every later preview.

Each check asks `context.run` for commands, so tests fake them (tests/tools/test_preflight.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import project_document
from components.github.settings import AuthMode
from components.shared.catalog import load_catalog
from components.shared.paths import PROJECT_ROOT
from tools.preflight.core import CheckResult, PreflightContext, first_line, not_run

INSTALL_PULUMI = "install a CLI in range: https://www.pulumi.com/docs/iac/download-install/ (or `pulumi self-update`)"
INSTALL_AWS = "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"

CLASSIC_TOKEN_SCOPES = ("repo", "admin:org", "workflow")
"""What a classic token needs for the org stack: repositories and their settings (`repo`), teams and org
settings (`admin:org`), and committing `.github/workflows/*` (`workflow`, else GitHub refuses the file)."""

APP_PERMISSIONS = {
    "administration": "write",
    "contents": "write",
    "workflows": "write",
    "environments": "write",
    "actions_variables": "write",
    "members": "write",
    "organization_administration": "write",
    "organization_actions_variables": "write",
}
"""What a GitHub App installation needs for what the org stack declares: repositories, rulesets and
environments (administration), seeded files (contents, and workflows for `.github/workflows/*`),
environment variables, teams and memberships (members), org settings and org Actions variables."""

# --- versions --------------------------------------------------------------------------------------

Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """`v3.230.0` or `3.230.0-alpha.1` -> (3, 230, 0); None when it is no version."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


_COMPARISONS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": lambda have, want: have >= want,
    "<=": lambda have, want: have <= want,
    ">": lambda have, want: have > want,
    "<": lambda have, want: have < want,
    "!=": lambda have, want: have != want,
    "!": lambda have, want: have != want,
    "==": lambda have, want: have == want,
    "=": lambda have, want: have == want,
    "": lambda have, want: have == want,
}


def version_in_range(version: Version, version_range: str) -> bool:
    """blang/semver `ParseRange` semantics: space-separated comparators AND-ed, `||` OR-ed."""
    for alternative in version_range.split("||"):
        comparators = alternative.split()
        if comparators and all(_holds(version, comparator) for comparator in comparators):
            return True
    return False


def _holds(version: Version, comparator: str) -> bool:
    match = re.fullmatch(r"(>=|<=|!=|==|>|<|=|!)?v?(\d+\.\d+\.\d+)", comparator)
    wanted = parse_version(comparator)
    if match is None or wanted is None:
        raise ValueError(f"{comparator!r} is not a version comparator")
    return _COMPARISONS[match[1] or ""](version, wanted)


def required_pulumi_version() -> str:
    """Pulumi.yaml's `requiredPulumiVersion`."""
    return str(project_document(PROJECT_ROOT / "Pulumi.yaml").get("requiredPulumiVersion", ""))


# --- the checks ------------------------------------------------------------------------------------


def check_pulumi_cli(context: PreflightContext) -> CheckResult:
    """The Pulumi CLI is installed and within `requiredPulumiVersion` (else the CLI stops every preview)."""
    name, wanted = "pulumi-cli", required_pulumi_version()
    result = context.run(["pulumi", "version"])
    if result.returncode == 127:
        return CheckResult(name, "fail", "the Pulumi CLI is not on PATH", INSTALL_PULUMI)
    version = parse_version(result.stdout)
    if result.returncode != 0 or version is None:
        return CheckResult(name, "fail", f"`pulumi version` failed: {first_line(result)}", INSTALL_PULUMI)
    shown = ".".join(map(str, version))
    if wanted and not version_in_range(version, wanted):
        return CheckResult(name, "fail", f"Pulumi CLI {shown} is outside {wanted!r} (Pulumi.yaml)", INSTALL_PULUMI)
    return CheckResult(name, "pass", f"Pulumi CLI {shown} satisfies {wanted!r}")


def check_aws_cli(context: PreflightContext) -> CheckResult:
    """The `aws` CLI: each cluster's kubeconfig runs `aws eks get-token` for the Kubernetes provider."""
    name = "aws-cli"
    if isinstance(context.config, OrgConfig):
        return CheckResult(name, "pass", "not needed: the org stack uses no AWS")
    result = context.run(["aws", "--version"])
    if result.returncode != 0:
        return CheckResult(name, "fail", f"the aws CLI is not usable: {first_line(result)}", INSTALL_AWS)
    return CheckResult(
        name, "pass", (result.stdout or result.stderr).split()[0] if result.stdout + result.stderr else ""
    )


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def check_aws_credentials(context: PreflightContext) -> CheckResult:  # noqa: PLR0911 (one verdict per way to fail)
    """Credentials reach the stack's account: directly, or through the role the provider assumes."""
    name = "aws-credentials"
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(name, "pass", "not needed: the org stack uses no AWS")
    fix = "set AWS credentials (aws configure sso / AWS_PROFILE) that may act in account " + config.aws_account_id
    skipped = not_run(name, context, "aws sts get-caller-identity")
    if skipped:
        return skipped
    identity = context.run(["aws", "sts", "get-caller-identity", "--output", "json"])
    skipped = not_run(name, context, "aws sts get-caller-identity", identity)
    if skipped:
        return skipped
    if identity.returncode != 0:
        return CheckResult(name, "fail", f"no usable AWS credentials: {first_line(identity)}", fix)
    caller = json.loads(identity.stdout)
    if not config.aws_role_arn:
        if caller.get("Account") != config.aws_account_id:
            return CheckResult(
                name,
                "fail",
                f"credentials are for account {caller.get('Account')}, not awsAccountId "
                f"{config.aws_account_id}; the provider's allowedAccountIds refuses them",
                fix,
            )
        return CheckResult(name, "pass", f"{caller.get('Arn')} in account {config.aws_account_id}")
    assumed = context.run(
        [
            "aws",
            "sts",
            "assume-role",
            "--role-arn",
            config.aws_role_arn,
            "--role-session-name",
            "pyairtable-preflight",
            "--duration-seconds",
            "900",
            "--query",
            "AssumedRoleUser.Arn",
            "--output",
            "text",
        ]
    )
    if assumed.returncode != 0:
        return CheckResult(
            name,
            "fail",
            f"{caller.get('Arn')} cannot assume awsRoleArn {config.aws_role_arn}: {first_line(assumed)}",
            f"let {caller.get('Arn')} assume {config.aws_role_arn} (its trust policy), or use credentials that may",
        )
    account = _account_of(assumed.stdout.strip())
    if account != config.aws_account_id:
        return CheckResult(
            name,
            "fail",
            f"awsRoleArn is in account {account}, not awsAccountId {config.aws_account_id}",
            "make awsRoleArn a role of the stack's account (pulumi config set awsRoleArn ...)",
        )
    return CheckResult(name, "pass", f"{caller.get('Arn')} assumes {config.aws_role_arn} in account {account}")


def _headers(text: str) -> Mapping[str, str]:
    """HTTP headers of `gh api --include` output, names lowercased."""
    headers = {}
    for line in text.splitlines():
        if not line.strip():
            break
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    return headers


def check_github_credentials(context: PreflightContext) -> CheckResult:
    """What the org stack's GitHub credentials may do: the App installation's permissions, or a token's scopes.

    `checks_github.automation_credentials` checks that the key or token is there; this one asks GitHub
    what it grants (`github.auth` app: the installation of `github.automationApp.appId`; token: the
    classic token's `X-OAuth-Scopes`).
    """
    name = "github-credentials"
    config = context.config
    if not isinstance(config, OrgConfig):
        return CheckResult(name, "pass", "not needed: environment stacks use no GitHub credentials")
    organization = load_catalog().organization
    token_mode = config.github.auth is AuthMode.TOKEN
    if token_mode and not context.environ.get("GITHUB_TOKEN"):
        return CheckResult(name, "skip", "github.auth is token but GITHUB_TOKEN is not set: nothing to ask GitHub")
    what = "gh api --include /user" if token_mode else f"gh api /orgs/{organization}/installations"
    skipped = not_run(name, context, what)
    if skipped:
        return skipped
    if token_mode:
        return _check_token(name, context, organization)
    return _check_app(name, context, organization, str(config.github.automation_app.app_id))


def _check_app(name: str, context: PreflightContext, organization: str, app_id: str) -> CheckResult:
    result = context.run(["gh", "api", f"/orgs/{organization}/installations"])
    skipped = not_run(name, context, f"gh api /orgs/{organization}/installations", result)
    if skipped:
        return skipped
    if result.returncode != 0:
        return CheckResult(
            name,
            "fail",
            f"cannot list the App installations of {organization}: {first_line(result)}",
            f"run as an owner of {organization} (gh auth login) to read the installation's permissions",
        )
    installations = json.loads(result.stdout).get("installations", [])
    mine = [item for item in installations if str(item.get("app_id")) == app_id]
    if not mine:
        return CheckResult(
            name,
            "fail",
            f"GitHub App {app_id} is not installed on {organization}",
            f"install the App on {organization} (Settings > GitHub Apps)",
        )
    granted = mine[0].get("permissions", {})
    missing = sorted(
        f"{permission}: {level}"
        for permission, level in APP_PERMISSIONS.items()
        if granted.get(permission) not in (level, "admin")
    )
    if missing:
        return CheckResult(
            name,
            "fail",
            f"App {app_id} lacks {', '.join(missing)}",
            "grant them in the App's settings (Permissions), then accept the new permissions on the installation",
        )
    return CheckResult(name, "pass", f"App {app_id} on {organization} has every permission the org stack needs")


def _check_token(name: str, context: PreflightContext, organization: str) -> CheckResult:
    result = context.run(["gh", "api", "--include", "/user"])
    skipped = not_run(name, context, "gh api --include /user", result)
    if skipped:
        return skipped
    if result.returncode != 0:
        return CheckResult(
            name, "fail", f"GITHUB_TOKEN is refused: {first_line(result)}", "export a valid GITHUB_TOKEN"
        )
    scopes_header = _headers(result.stdout).get("x-oauth-scopes")
    if scopes_header is None:
        # Fine-grained and App tokens list no scopes; their access shows only when the org stack runs.
        return CheckResult(
            name,
            "skip",
            "GITHUB_TOKEN lists no scopes (a fine-grained or App token): its permissions are not checkable here",
            "give it administration, contents, workflows, environments, variables and members (write) on "
            f"{organization}",
        )
    scopes = {scope.strip() for scope in scopes_header.split(",") if scope.strip()}
    # Broader scopes include narrower ones (admin:org includes write:org and read:org).
    missing = [scope for scope in CLASSIC_TOKEN_SCOPES if scope not in scopes]
    if missing:
        return CheckResult(
            name,
            "fail",
            f"GITHUB_TOKEN lacks scopes {missing} (has {sorted(scopes)})",
            f"create a classic token with {', '.join(CLASSIC_TOKEN_SCOPES)} (`workflow` to commit .github/workflows/*)",
        )
    return CheckResult(name, "pass", f"GITHUB_TOKEN has scopes {', '.join(CLASSIC_TOKEN_SCOPES)}")


def check_backend(context: PreflightContext) -> CheckResult:
    """A backend is selected (`pulumi login`) and holds the stack (`pulumi stack init` the first time)."""
    name = "pulumi-backend"
    skipped = not_run(name, context, "pulumi whoami; pulumi stack ls")
    if skipped:
        return skipped
    whoami = context.run(["pulumi", "whoami", "--json"])
    skipped = not_run(name, context, "pulumi whoami", whoami)
    if skipped:
        return skipped
    if whoami.returncode != 0:
        return CheckResult(
            name,
            "fail",
            f"no backend selected: {first_line(whoami)}",
            "pulumi login (Pulumi Cloud) or pulumi login s3://<state-bucket> (self-managed)",
        )
    backend = json.loads(whoami.stdout).get("url", "?")
    stacks = context.run(["pulumi", "stack", "ls", "--json"])
    if stacks.returncode != 0:
        return CheckResult(name, "fail", f"`pulumi stack ls` failed on {backend}: {first_line(stacks)}", "pulumi login")
    names = {str(item.get("name", "")).rsplit("/", 1)[-1] for item in json.loads(stacks.stdout or "[]")}
    if context.stack not in names:
        return CheckResult(
            name,
            "fail",
            f"backend {backend} has no stack {context.stack}",
            f"pulumi stack init {context.stack} (add --secrets-provider awskms://... on a self-managed backend)",
        )
    return CheckResult(name, "pass", f"stack {context.stack} on {backend}")


def check_secrets_provider(context: PreflightContext) -> CheckResult:
    """The stack's secrets provider can be used here (the passphrase provider needs its passphrase)."""
    name = "secrets-provider"
    stack_file = project_document(PROJECT_ROOT / f"Pulumi.{context.stack}.yaml")
    provider = str(stack_file.get("secretsprovider", ""))
    if provider.startswith(("awskms://", "azurekeyvault://", "gcpkms://", "hashivault://")):
        return CheckResult(
            name,
            "pass",
            f"{provider.split('://', maxsplit=1)[0]} key {provider.split('://', 1)[1].split('?', maxsplit=1)[0]}",
        )
    if provider == "passphrase" or "encryptionsalt" in stack_file:
        if context.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or context.environ.get(
            "PULUMI_CONFIG_PASSPHRASE_FILE"
        ):
            return CheckResult(name, "pass", "passphrase provider, passphrase set")
        return CheckResult(
            name,
            "fail",
            "the passphrase provider needs PULUMI_CONFIG_PASSPHRASE (or _FILE) to read the stack",
            "export PULUMI_CONFIG_PASSPHRASE_FILE=<file>, or pulumi stack change-secrets-provider awskms://...",
        )
    return CheckResult(name, "pass", "Pulumi Cloud's provider (no secretsprovider in the stack file)")


def check_cluster_api_reachable(context: PreflightContext) -> CheckResult:  # noqa: PLR0911 (one verdict per case)
    """This machine's egress IP is inside `publicAccessCidrs`, or the Kubernetes provider cannot reach the API."""
    name = "cluster-api"
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(name, "pass", "not needed: the org stack has no cluster")
    # A private-only cluster is reached through its private path, which checks_cluster.py covers.
    if not config.cluster.endpoint_public_access:
        return CheckResult(name, "skip", "the public endpoint is off: the cluster checks cover the private path")
    skipped = not_run(name, context, "curl https://checkip.amazonaws.com (this machine's egress IP)")
    if skipped:
        return skipped
    result = context.run(["curl", "--silent", "--show-error", "--max-time", "10", "https://checkip.amazonaws.com"])
    skipped = not_run(name, context, "curl https://checkip.amazonaws.com (this machine's egress IP)", result)
    if skipped:
        return skipped
    try:
        address = ipaddress.ip_address(result.stdout.strip())
    except ValueError:
        return CheckResult(name, "skip", f"could not learn this machine's egress IP: {first_line(result)}")
    cidrs = [str(cidr) for cidr in config.public_access_cidrs]
    if any(address in cidr for cidr in config.public_access_cidrs):
        return CheckResult(name, "pass", f"egress IP {address} is inside publicAccessCidrs {cidrs}")
    return CheckResult(
        name,
        "fail",
        f"egress IP {address} is outside publicAccessCidrs {cidrs}: the Kubernetes provider, and with "
        "`refresh: always` every later preview, would fail",
        f"run from a network inside {cidrs}, or add {address}/32: pulumi config set --path "
        f"'publicAccessCidrs[{len(cidrs)}]' {address}/32",
    )


CHECKS = [
    check_pulumi_cli,
    check_aws_cli,
    check_aws_credentials,
    check_github_credentials,
    check_backend,
    check_secrets_provider,
    check_cluster_api_reachable,
]

"""Preflight of the registry: the pull-through cache's GHCR token, as far as GitHub shows it.

The token is a classic personal access token of the machine user (GitHub Packages accepts no other
kind), stored by a person in the environment's `ecr-pullthroughcache/` secret. Only GitHub can say
what it may do and when it expires: its API answers a classic token with the headers
`X-OAuth-Scopes` and `GitHub-Authentication-Token-Expiration`. The token is handed to curl in a
header file readable only by this user, never on a command line.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections.abc import Callable

from components.config.environment import EnvironmentConfig
from components.registry.pull_path import credential_secret_name
from components.shared.catalog import load_catalog
from tools.preflight.core import Check, CheckResult, CommandResult, PreflightContext

NAME = "registry pull token"
REQUIRED_SCOPE = "read:packages"
GITHUB_USER_API = "https://api.github.com/user"


def _headers(response: str) -> tuple[int, dict[str, str]]:
    """Status and headers (lowercase names) of the last HTTP response in curl's `--include` output."""
    head = response.replace("\r\n", "\n").split("\n\n")
    blocks = [block for block in head if block.startswith("HTTP/")]
    if not blocks:
        return 0, {}
    lines = blocks[-1].split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def token_problems(
    headers: dict[str, str], expected_expiry: datetime.date, today: datetime.date, warning_days: int
) -> list[str]:
    """What is wrong with the token, from GitHub's response headers (empty: nothing)."""
    problems = []
    scopes = {scope.strip() for scope in headers.get("x-oauth-scopes", "").split(",") if scope.strip()}
    if REQUIRED_SCOPE not in scopes:
        problems.append(f"its scopes {sorted(scopes)} lack {REQUIRED_SCOPE} (is it a classic token?)")
    extra = sorted(scopes - {REQUIRED_SCOPE})
    if extra:
        problems.append(f"it also has {extra}: the clusters need {REQUIRED_SCOPE} only")
    expiry_header = headers.get("github-authentication-token-expiration", "")
    if not expiry_header:
        problems.append("it never expires; give it an expiry so that rotation is scheduled and alerted")
        return problems
    expires_on = datetime.date.fromisoformat(expiry_header.split()[0])
    if expires_on != expected_expiry:
        problems.append(f"it expires on {expires_on}, but registry.tokenExpiresOn says {expected_expiry}")
    if (expires_on - today).days <= warning_days:
        problems.append(f"it expires on {expires_on}, within {warning_days} days")
    return problems


def _stored_token(context: PreflightContext, secret: str, region: str, fix: str) -> str | CheckResult:
    """The token in the cache's credential secret, or the result that says why there is none."""
    stored = context.run(
        [
            "aws", "secretsmanager", "get-secret-value", "--secret-id", secret,
            "--region", region, "--query", "SecretString", "--output", "text",
        ]
    )  # fmt: skip
    if stored.returncode == 127:
        return CheckResult(NAME, "skip", "the AWS CLI is not installed", "install the AWS CLI v2")
    if stored.returncode != 0:
        return CheckResult(NAME, "fail", f"cannot read {secret}: {stored.stderr.strip()}", fix)
    try:
        return str(json.loads(stored.stdout)["accessToken"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return CheckResult(NAME, "fail", f"{secret} holds no JSON login with an accessToken", fix)


def _ask_github(context: PreflightContext, token: str) -> CommandResult:
    """GitHub's answer to the token (curl `--include`), the token passed in a private header file."""
    descriptor, header_file = tempfile.mkstemp(prefix="pyairtable-preflight-")
    try:
        with os.fdopen(descriptor, "w") as file:  # mkstemp: readable by this user only
            file.write(f"Authorization: token {token}\n")
        command = ["curl", "--silent", "--show-error", "--include", "--header", f"@{header_file}", GITHUB_USER_API]
        return context.run(command)
    finally:
        os.unlink(header_file)


def check_pull_token(
    context: PreflightContext, today: Callable[[], datetime.date] = datetime.date.today
) -> CheckResult:
    """The stored token answers GitHub, holds `read:packages` only, and expires when config says."""
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(NAME, "skip", "the token lives in the environment stacks' accounts")
    secret = credential_secret_name(load_catalog().organization)
    fix = (
        f"create a classic token (read:packages only, with an expiry) as the machine user, then "
        f"`aws secretsmanager put-secret-value --secret-id {secret} --secret-string "
        '\'{"username": "<login>", "accessToken": "<token>"}\'` and set registry.tokenExpiresOn'
    )
    token = _stored_token(context, secret, config.aws_region, fix)
    if isinstance(token, CheckResult):
        return token
    answer = _ask_github(context, token)
    if answer.returncode == 127:
        return CheckResult(NAME, "skip", "curl is not installed", "install curl")
    status, headers = _headers(answer.stdout)
    if status != 200:
        return CheckResult(NAME, "fail", f"GitHub refuses the token in {secret} (HTTP {status or 'no answer'})", fix)
    settings = config.registry
    problems = token_problems(headers, settings.token_expires_on, today(), settings.expiry_warning_days)
    if problems:
        return CheckResult(NAME, "fail", f"the token in {secret}: " + "; ".join(problems), fix)
    return CheckResult(NAME, "pass", f"{secret}: {REQUIRED_SCOPE} only, expires on {settings.token_expires_on}")


CHECKS: tuple[Check, ...] = (check_pull_token,)

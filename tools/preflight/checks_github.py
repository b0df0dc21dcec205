"""Preflight of the org stack: what only the real GitHub organization can tell (through the `gh` CLI).

- two-factor authentication is required for members (the provider cannot set it);
- the plan GitHub bills is the plan the config declares (the stack's protections depend on it);
- the automation App's private key is in the environment (or, in token mode, GITHUB_TOKEN);
- the deploy workflow's chart-reader key is an organization secret (no program may hold its value).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from components.config.org import OrgConfig
from components.github.files import DEPLOY_READER_SECRET
from components.github.settings import AuthMode
from components.shared.catalog import load_catalog
from components.stacks.org import APP_PRIVATE_KEY_VARIABLE
from tools.preflight.core import Check, CheckResult, CommandResult, PreflightContext

GH_MISSING = 127
# The plan names the REST API reports (`GET /orgs/{org}` -> plan.name), by the config's plan.
GITHUB_PLAN_NAMES = {"free": {"free"}, "team": {"team"}, "enterprise": {"enterprise", "business_plus"}}


OrgCheckBody = Callable[[PreflightContext, str, OrgConfig, str], CheckResult]


def org_check(name: str) -> Callable[[OrgCheckBody], Check]:
    """A check of the org stack named `name`: skipped on the environment stacks; the body gets the
    context, the name, the org config and the organization's login."""

    def wrap(body: OrgCheckBody) -> Check:
        @functools.wraps(body)
        def check(context: PreflightContext) -> CheckResult:
            if not isinstance(context.config, OrgConfig):
                return CheckResult(name, "skip", f"stack {context.stack!r} declares no GitHub resource")
            return body(context, name, context.config, load_catalog().organization)

        return check

    return wrap


def _organization_facts(context: PreflightContext, name: str, organization: str) -> tuple[dict, CheckResult | None]:
    result: CommandResult = context.run(["gh", "api", f"orgs/{organization}"])
    if result.returncode == GH_MISSING:
        return {}, CheckResult(name, "skip", "the GitHub CLI (gh) is not installed", "install gh and `gh auth login`")
    if result.returncode != 0:
        detail = f"gh api orgs/{organization} failed: {result.stderr.strip()[:200]}"
        return {}, CheckResult(name, "skip", detail, "gh auth login as an organization owner")
    try:
        return json.loads(result.stdout), None
    except json.JSONDecodeError:
        return {}, CheckResult(name, "fail", f"gh api orgs/{organization} answered no JSON")


@org_check("github two-factor authentication required")
def two_factor_required(context: PreflightContext, name: str, config: OrgConfig, organization: str) -> CheckResult:
    """Members must use two-factor authentication; pulumi-github cannot set it, so it is checked here."""
    facts, problem = _organization_facts(context, name, organization)
    if problem:
        return problem
    if facts.get("two_factor_requirement_enabled") is True:
        return CheckResult(name, "pass", f"{organization} requires two-factor authentication")
    return CheckResult(
        name,
        "fail",
        f"{organization} does not require two-factor authentication "
        f"(two_factor_requirement_enabled = {facts.get('two_factor_requirement_enabled')!r})",
        f"Settings > Authentication security > Require two-factor authentication (https://github.com/organizations/{organization}/settings/security)",
    )


@org_check("github plan matches githubPlan")
def plan_matches_config(context: PreflightContext, name: str, config: OrgConfig, organization: str) -> CheckResult:
    """GitHub bills the plan `githubPlan` declares: every protection of the stack was checked against it."""
    facts, problem = _organization_facts(context, name, organization)
    if problem:
        return problem
    plan = str((facts.get("plan") or {}).get("name", "")).casefold()
    if not plan:
        return CheckResult(name, "skip", "the token may not read the organization's plan (owners only)")
    if plan in GITHUB_PLAN_NAMES[config.github_plan]:
        return CheckResult(name, "pass", f"{organization} is on {plan}, as githubPlan {config.github_plan} declares")
    return CheckResult(
        name,
        "fail",
        f"{organization} is on {plan!r} but githubPlan is {config.github_plan!r}: protections checked against the "
        "declared plan would fail or not be enforced",
        "set pyairtable-infra:githubPlan to the billed plan (or change the plan), then preview again",
    )


@org_check("github automation credentials")
def automation_credentials(context: PreflightContext, name: str, config: OrgConfig, organization: str) -> CheckResult:
    """The provider's credentials are in the environment: the App's key, or a token in trial mode."""
    if config.github.auth is AuthMode.TOKEN:
        if context.environ.get("GITHUB_TOKEN"):
            return CheckResult(
                name, "pass", "token mode: GITHUB_TOKEN is set (rulesets will refuse its commits of managed files)"
            )
        return CheckResult(name, "fail", "github.auth is token but GITHUB_TOKEN is not set", "export GITHUB_TOKEN")
    if context.environ.get(APP_PRIVATE_KEY_VARIABLE, "").strip().startswith("-----BEGIN"):
        return CheckResult(
            name, "pass", f"{APP_PRIVATE_KEY_VARIABLE} holds a PEM key for App {config.github.automation_app.app_id}"
        )
    return CheckResult(
        name,
        "fail",
        f"github.auth is app but {APP_PRIVATE_KEY_VARIABLE} holds no PEM private key",
        f'export {APP_PRIVATE_KEY_VARIABLE}="$(cat automation-app.private-key.pem)"',
    )


@org_check("github deploy reader secret")
def deploy_reader_secret(context: PreflightContext, name: str, config: OrgConfig, organization: str) -> CheckResult:
    """The chart reader's key is an organization secret, set by an owner: the deploy workflow needs it."""
    result = context.run(["gh", "api", f"orgs/{organization}/actions/secrets/{DEPLOY_READER_SECRET}"])
    if result.returncode == GH_MISSING:
        return CheckResult(name, "skip", "the GitHub CLI (gh) is not installed", "install gh and `gh auth login`")
    if result.returncode == 0:
        return CheckResult(name, "pass", f"organization secret {DEPLOY_READER_SECRET} exists")
    return CheckResult(
        name,
        "fail",
        f"organization secret {DEPLOY_READER_SECRET} is missing or unreadable: {result.stderr.strip()[:200]}",
        f"gh secret set {DEPLOY_READER_SECRET} --org {organization} --visibility selected "
        f"--repos <the deployable repositories> < deploy-reader.private-key.pem "
        f"(App {config.github.deploy_reader_app_id}, contents: read on pyairtable-infra only)",
    )


CHECKS: tuple[Check, ...] = (two_factor_required, plan_matches_config, automation_credentials, deploy_reader_secret)

"""`make preflight STACK=org`: the GitHub checks, each run against a fake `gh` (no network, no CLI)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from components.config.stack_file import parse_stack_config, stack_file_config
from tests.github.test_organization import GITHUB, parse_org
from tools.preflight import checks_github
from tools.preflight.core import CheckResult, CommandResult, PreflightContext

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"


def context(
    answers: dict[str, CommandResult], environ: dict[str, str] | None = None, **overrides: object
) -> tuple[PreflightContext, list[list[str]]]:
    """A context whose `gh api <path>` answers come from `answers` (missing path: the CLI is absent)."""
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> CommandResult:
        calls.append(list(argv))
        assert argv[:2] == ["gh", "api"]
        return answers.get(argv[2], CommandResult(127, "", "gh: command not found"))

    return PreflightContext("org", parse_org(overrides), environ or {}, run), calls


def org_answer(**facts: object) -> dict[str, CommandResult]:
    return {"orgs/pyairtable": CommandResult(0, json.dumps(facts))}


def test_every_check_is_listed() -> None:
    assert [check.__name__ for check in checks_github.CHECKS] == [
        "two_factor_required",
        "plan_matches_config",
        "automation_credentials",
        "deploy_reader_secret",
    ]


@pytest.mark.parametrize(
    ("facts", "status"),
    [({"two_factor_requirement_enabled": True}, "pass"), ({"two_factor_requirement_enabled": False}, "fail")],
)
def test_two_factor_authentication(facts: dict[str, object], status: str) -> None:
    ctx, calls = context(org_answer(**facts))
    result = checks_github.two_factor_required(ctx)
    assert result.status == status, result
    assert calls == [["gh", "api", "orgs/pyairtable"]]
    if status == "fail":
        assert "Require two-factor authentication" in result.fix


@pytest.mark.parametrize(
    ("billed", "status"), [("team", "pass"), ("free", "fail"), ("enterprise", "fail"), (None, "skip")]
)
def test_plan_matches_the_declared_plan(billed: str | None, status: str) -> None:
    ctx, _ = context(org_answer(plan={"name": billed} if billed else {}))
    result = checks_github.plan_matches_config(ctx)
    assert result.status == status, result
    if status == "fail":
        assert f"{billed!r} but githubPlan is 'team'" in result.detail


def test_enterprise_config_accepts_the_enterprise_plan_names() -> None:
    for billed in ("enterprise", "business_plus"):
        ctx, _ = context(org_answer(plan={"name": billed}), githubPlan="enterprise")
        assert checks_github.plan_matches_config(ctx).status == "pass"


def test_a_missing_cli_or_failing_api_skips_with_a_fix() -> None:
    ctx, _ = context({})
    for check in (checks_github.two_factor_required, checks_github.plan_matches_config):
        result = check(ctx)
        assert (result.status, result.fix) == ("skip", "install gh and `gh auth login`")
    denied, _ = context({"orgs/pyairtable": CommandResult(1, "", "HTTP 401: Bad credentials")})
    assert checks_github.two_factor_required(denied).status == "skip"
    assert "401" in checks_github.two_factor_required(denied).detail


def test_automation_credentials() -> None:
    assert checks_github.automation_credentials(context({}, {"GITHUB_APP_PEM_FILE": PEM})[0]).status == "pass"
    missing = checks_github.automation_credentials(context({}, {"GITHUB_TOKEN": "x"})[0])
    assert (missing.status, "GITHUB_APP_PEM_FILE" in missing.fix) == ("fail", True)
    token_mode = {"github": {**GITHUB, "auth": "token"}}
    assert checks_github.automation_credentials(context({}, {"GITHUB_TOKEN": "x"}, **token_mode)[0]).status == "pass"
    assert checks_github.automation_credentials(context({}, {}, **token_mode)[0]).status == "fail"


def test_deploy_reader_secret() -> None:
    path = "orgs/pyairtable/actions/secrets/DEPLOY_READER_PRIVATE_KEY"
    assert checks_github.deploy_reader_secret(context({path: CommandResult(0, "{}")})[0]).status == "pass"
    missing = checks_github.deploy_reader_secret(context({path: CommandResult(1, "", "HTTP 404")})[0])
    assert missing.status == "fail" and "gh secret set DEPLOY_READER_PRIVATE_KEY --org pyairtable" in missing.fix


def test_environment_stacks_are_skipped() -> None:
    config = parse_stack_config("dev", stack_file_config("dev")[0])
    ctx = PreflightContext("dev", config, {}, lambda argv: CommandResult(0))
    results: list[CheckResult] = [check(ctx) for check in checks_github.CHECKS]
    assert {result.status for result in results} == {"skip"}

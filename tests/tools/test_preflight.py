"""`make preflight`: every base check passes, fails with its fix, or says it could not run, with the commands faked."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import pytest

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import StackConfig, parse_stack_config, stack_file_config
from components.github.settings import AuthMode
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from tools.preflight import checks_base, runner
from tools.preflight.core import CheckResult, CommandResult, PreflightContext

NO_NETWORK = CommandResult(255, "", "Could not connect to the endpoint URL: https://sts.amazonaws.com/")
MISSING = CommandResult(127, "", "command not found")


@cache
def stack_config(stack: str) -> StackConfig:
    return parse_stack_config(stack, stack_file_config(stack)[0])


class FakeRun:
    """Answers commands by their leading words; anything unexpected is an error, and every call is recorded."""

    def __init__(self, answers: Mapping[str, CommandResult]) -> None:
        self.answers = dict(answers)
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        self.calls.append(list(argv))
        command = " ".join(argv)
        matches = [prefix for prefix in self.answers if command.startswith(prefix)]
        if not matches:
            raise AssertionError(f"unexpected command: {command}")
        return self.answers[max(matches, key=len)]


def context(stack: str, answers: Mapping[str, CommandResult], **options: object) -> PreflightContext:
    return PreflightContext(stack, stack_config(stack), run=FakeRun(answers), **options)  # type: ignore[arg-type]


def ok(stdout: str) -> CommandResult:
    return CommandResult(0, stdout, "")


# --- Pulumi CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status", "fragment"),
    [
        (ok("v3.230.1\n"), "pass", "3.230.1"),
        (ok("v3.100.0\n"), "fail", "outside '>=3.219.0"),
        (ok("v4.0.0\n"), "fail", "outside"),
        (MISSING, "fail", "not on PATH"),
    ],
)
def test_pulumi_cli_version_is_checked_against_the_project_range(
    answer: CommandResult, status: str, fragment: str
) -> None:
    result = checks_base.check_pulumi_cli(context("dev", {"pulumi version": answer}))
    assert (result.status, fragment in result.detail) == (status, True), result
    assert status == "pass" or "pulumi" in result.fix.lower()


@pytest.mark.parametrize(
    ("version", "version_range", "inside"),
    [
        ((3, 230, 0), ">=3.219.0 <4.0.0", True),
        ((3, 218, 9), ">=3.219.0 <4.0.0", False),
        ((3, 7, 7), "<3.4.0 || >3.8.0 !3.7.7", False),
        ((3, 9, 0), "<3.4.0 || >3.8.0", True),
    ],
)
def test_version_ranges_follow_blang_semver(version: tuple[int, int, int], version_range: str, inside: bool) -> None:
    assert checks_base.version_in_range(version, version_range) is inside


# --- AWS ------------------------------------------------------------------------------------------


def identity(account: str) -> CommandResult:
    return ok(json.dumps({"Account": account, "Arn": f"arn:aws:iam::{account}:user/alice", "UserId": "AIDA"}))


def test_aws_credentials_must_assume_the_role_in_the_stack_account() -> None:
    config = stack_config("dev")
    assert isinstance(config, EnvironmentConfig) and config.aws_role_arn
    role = f"arn:aws:sts::{config.aws_account_id}:assumed-role/pyairtable-pulumi/pyairtable-preflight\n"
    answers = {"aws sts get-caller-identity": identity("999999999999"), "aws sts assume-role": ok(role)}
    assert checks_base.check_aws_credentials(context("dev", answers)).status == "pass"
    refused = {**answers, "aws sts assume-role": CommandResult(254, "", "An error occurred (AccessDenied)")}
    result = checks_base.check_aws_credentials(context("dev", refused))
    assert result.status == "fail" and "cannot assume" in result.detail and result.fix
    elsewhere = {**answers, "aws sts assume-role": ok(role.replace(config.aws_account_id, "999999999999"))}
    assert "not awsAccountId" in checks_base.check_aws_credentials(context("dev", elsewhere)).detail


def test_aws_credentials_without_a_role_must_be_the_stack_account(monkeypatch: pytest.MonkeyPatch) -> None:
    config = stack_config("dev")
    assert isinstance(config, EnvironmentConfig)
    without_role = config.model_copy(update={"aws_role_arn": ""})
    run = FakeRun({"aws sts get-caller-identity": identity("999999999999")})
    result = checks_base.check_aws_credentials(PreflightContext("dev", without_role, run=run))
    assert result.status == "fail" and "999999999999" in result.detail and config.aws_account_id in result.detail
    run = FakeRun({"aws sts get-caller-identity": identity(config.aws_account_id)})
    assert checks_base.check_aws_credentials(PreflightContext("dev", without_role, run=run)).status == "pass"


def test_aws_cli_is_required_for_environments_only() -> None:
    assert checks_base.check_aws_cli(context("dev", {"aws --version": MISSING})).status == "fail"
    assert (
        checks_base.check_aws_cli(context("dev", {"aws --version": ok("aws-cli/2.31.0 Python/3.13")})).status == "pass"
    )
    assert checks_base.check_aws_cli(context("org", {})).status == "pass"


# --- GitHub ---------------------------------------------------------------------------------------


def user_response(scopes: str | None) -> CommandResult:
    header = f"X-Oauth-Scopes: {scopes}\r\n" if scopes is not None else ""
    return ok(f'HTTP/2.0 200 OK\r\nContent-Type: application/json\r\n{header}\r\n{{"login": "ops-lead"}}')


def token_mode(environ: dict[str, str], answers: dict[str, CommandResult]) -> PreflightContext:
    """The org stack with `github.auth: token` (a sandbox trial)."""
    config = stack_config("org")
    assert isinstance(config, OrgConfig)
    token_config = config.model_copy(update={"github": config.github.model_copy(update={"auth": AuthMode.TOKEN})})
    return PreflightContext("org", token_config, environ=environ, run=FakeRun(answers))


@pytest.mark.parametrize(
    ("scopes", "status"),
    [("admin:org, repo, workflow", "pass"), ("admin:org, repo", "fail"), (None, "skip")],
)
def test_github_token_scopes_come_from_the_oauth_scopes_header(scopes: str | None, status: str) -> None:
    run = {"gh api --include /user": user_response(scopes)}
    result = checks_base.check_github_credentials(token_mode({"GITHUB_TOKEN": "t"}, run))
    assert result.status == status, result
    if status == "fail":
        assert "workflow" in result.detail and "workflow" in result.fix


def test_token_mode_without_a_token_leaves_it_to_the_github_checks() -> None:
    assert checks_base.check_github_credentials(token_mode({}, {})).status == "skip"


def app_check(answer: object) -> CheckResult:
    run = {f"gh api /orgs/{load_catalog().organization}/installations": ok(json.dumps(answer))}
    return checks_base.check_github_credentials(context("org", run))


def test_the_automation_app_installation_needs_every_permission() -> None:
    config = stack_config("org")
    assert isinstance(config, OrgConfig) and config.github.auth is AuthMode.APP
    app_id = config.github.automation_app.app_id
    permissions = dict(checks_base.APP_PERMISSIONS)
    installations = {"installations": [{"app_id": app_id, "permissions": permissions}]}
    assert app_check(installations).status == "pass"
    permissions["workflows"] = "read"
    result = app_check(installations)
    assert result.status == "fail" and "workflows: write" in result.detail
    assert "not installed" in app_check({"installations": [{"app_id": app_id + 1, "permissions": {}}]}).detail


# --- backend and secrets --------------------------------------------------------------------------


def test_backend_must_be_selected_and_hold_the_stack() -> None:
    whoami = ok(json.dumps({"user": "ops", "url": "https://app.pulumi.com/ops"}))
    listed = ok(json.dumps([{"name": "pyairtable/pyairtable-infra/dev"}]))
    assert (
        checks_base.check_backend(context("dev", {"pulumi whoami": whoami, "pulumi stack ls": listed})).status == "pass"
    )
    result = checks_base.check_backend(context("prod", {"pulumi whoami": whoami, "pulumi stack ls": listed}))
    assert result.status == "fail" and "pulumi stack init prod" in result.fix
    logged_out = CommandResult(
        255, "", "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
    )
    assert "pulumi login" in checks_base.check_backend(context("dev", {"pulumi whoami": logged_out})).fix


def test_the_passphrase_provider_needs_its_passphrase(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert checks_base.check_secrets_provider(context("dev", {})).status == "pass"  # Pulumi Cloud's provider
    monkeypatch.setattr(checks_base, "project_document", lambda path: {"secretsprovider": "passphrase"})
    assert checks_base.check_secrets_provider(context("dev", {})).status == "fail"
    assert (
        checks_base.check_secrets_provider(context("dev", {}, environ={"PULUMI_CONFIG_PASSPHRASE": ""})).status
        == "pass"
    )


# --- the cluster API ------------------------------------------------------------------------------


def test_the_egress_ip_must_be_inside_public_access_cidrs() -> None:
    config = stack_config("dev")
    assert isinstance(config, EnvironmentConfig)
    inside = str(next(config.public_access_cidrs[0].hosts()))
    assert checks_base.check_cluster_api_reachable(context("dev", {"curl": ok(f"{inside}\n")})).status == "pass"
    result = checks_base.check_cluster_api_reachable(context("dev", {"curl": ok("198.51.100.7\n")}))
    assert result.status == "fail" and "198.51.100.7/32" in result.fix


# --- offline, and the runner ----------------------------------------------------------------------


def test_offline_every_network_check_says_plainly_that_it_did_not_run() -> None:
    offline = context("dev", {"pulumi version": ok("v3.230.0"), "aws --version": ok("aws-cli/2.31.0")}, offline=True)
    results = runner.run_checks(offline, checks_base.CHECKS)
    skipped = {result.name for result in results if result.status == "skip"}
    assert {"aws-credentials", "pulumi-backend", "cluster-api"} <= skipped
    assert all("not run (offline)" in result.detail for result in results if result.status == "skip")
    assert offline.run.calls == [["pulumi", "version"], ["aws", "--version"]]  # type: ignore[attr-defined]


def test_without_network_a_check_skips_instead_of_failing() -> None:
    result = checks_base.check_aws_credentials(context("dev", {"aws sts get-caller-identity": NO_NETWORK}))
    assert result.status == "skip" and "not run (no network)" in result.detail


def test_the_runner_finds_every_checks_module_and_the_base_checks_come_first() -> None:
    modules = runner.check_modules()
    assert modules[0] is checks_base
    names = [module.__name__.rsplit(".", 1)[1] for module in modules]
    on_disk = sorted(path.stem for path in Path(runner.__file__).parent.glob("checks_*.py"))
    assert sorted(names) == on_disk
    assert runner.discover_checks()[: len(checks_base.CHECKS)] == checks_base.CHECKS


def test_a_module_without_checks_and_a_crashing_check_are_reported() -> None:
    class Broken:
        __name__ = "tools.preflight.checks_broken"

    with pytest.raises(ConfigError, match="CHECKS list"):
        runner.discover_checks([Broken()])  # type: ignore[list-item]

    def check_explodes(_: PreflightContext) -> CheckResult:
        raise KeyError("boom")

    [result] = runner.run_checks(context("dev", {}), [check_explodes])
    assert result.status == "fail" and "KeyError" in result.detail


def test_the_report_names_what_could_not_run_and_each_fix() -> None:
    results = [
        CheckResult("a", "pass", "fine"),
        CheckResult("b", "fail", "broken", "do this"),
        CheckResult("c", "skip", "not run (offline): x"),
    ]
    text = runner.render("dev", results)
    assert "FAIL  b  broken" in text and "fix: do this" in text
    assert "1 passed, 1 failed, 1 skipped" in text and "not run here (run again where they can run): c" in text
    skipped_elsewhere = runner.render("org", [CheckResult("d", "skip", "stack 'org' has no data stores")])
    assert "skipped for the reason shown above: d" in skipped_elsewhere and "not run here" not in skipped_elsewhere


def broken_config(stack: str, values: object) -> StackConfig:
    raise ConfigError(f"stack {stack!r}: config key 'x' is wrong")


def test_a_bad_stack_config_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(runner, "parse_stack_config", broken_config)
    assert runner.main(["dev", "--offline"]) == 2
    assert capsys.readouterr().err == "error: stack 'dev': config key 'x' is wrong\n"

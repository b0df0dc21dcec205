"""The registry's preflight check, with a fake `run` standing in for the AWS CLI and curl."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from tools.preflight.checks_registry import CHECKS, check_pull_token
from tools.preflight.core import CommandResult, PreflightContext

TOKEN = "ghp_offline_test_value"
CONFIG = environment_configs()["prod"]
EXPIRES = CONFIG.registry.token_expires_on
TODAY = EXPIRES - datetime.timedelta(days=CONFIG.registry.expiry_warning_days + 30)


def github_answer(status: int = 200, scopes: str = "read:packages", expiry: str | None = None) -> str:
    headers = [f"HTTP/2 {status}", f"x-oauth-scopes: {scopes}"]
    headers.append(f"github-authentication-token-expiration: {expiry or f'{EXPIRES} 00:00:00 UTC'}")
    return "\r\n".join(headers) + '\r\n\r\n{"login": "pyairtable-registry-bot"}'


class FakeRun:
    """Answers the two commands the check runs, and records what it was given."""

    def __init__(self, secret: CommandResult, github: CommandResult) -> None:
        self.secret, self.github = secret, github
        self.calls: list[list[str]] = []
        self.header_files: list[str] = []

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        self.calls.append(list(argv))
        if argv[0] == "aws":
            return self.secret
        header = next(arg for arg in argv if arg.startswith("@"))
        self.header_files.append(Path(header[1:]).read_text())
        return self.github


def run_check(github: CommandResult, secret: CommandResult | None = None) -> tuple[str, str, FakeRun]:
    login = json.dumps({"username": "pyairtable-registry-bot", "accessToken": TOKEN})
    fake = FakeRun(secret or CommandResult(0, login), github)
    result = check_pull_token(PreflightContext("prod", CONFIG, run=fake), today=lambda: TODAY)
    return result.status, result.detail, fake


def test_a_read_only_token_expiring_as_configured_passes() -> None:
    status, detail, fake = run_check(CommandResult(0, github_answer()))
    assert status == "pass", detail
    assert fake.calls[0][:4] == ["aws", "secretsmanager", "get-secret-value", "--secret-id"]
    assert "ecr-pullthroughcache/" in fake.calls[0][4]
    # The token reaches curl in a header file, never on its command line.
    assert fake.header_files == [f"Authorization: token {TOKEN}\n"]
    assert not any(TOKEN in arg for call in fake.calls for arg in call)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (github_answer(scopes="read:packages, write:packages"), "write:packages"),
        (github_answer(scopes="repo"), "lack read:packages"),
        (github_answer(expiry="2031-01-01 00:00:00 UTC"), "but registry.tokenExpiresOn says"),
        (github_answer(status=401), "HTTP 401"),
        ("HTTP/2 200\r\nx-oauth-scopes: read:packages\r\n\r\n{}", "never expires"),
    ],
)
def test_a_token_that_is_wrong_fails_with_the_reason(answer: str, fragment: str) -> None:
    status, detail, _ = run_check(CommandResult(0, answer))
    assert status == "fail"
    assert fragment in detail


def test_a_token_close_to_its_expiry_fails() -> None:
    login = json.dumps({"username": "bot", "accessToken": TOKEN})
    fake = FakeRun(CommandResult(0, login), CommandResult(0, github_answer()))
    result = check_pull_token(PreflightContext("prod", CONFIG, run=fake), today=lambda: EXPIRES)
    assert result.status == "fail" and "within" in result.detail


def test_an_empty_secret_or_missing_tools() -> None:
    assert run_check(CommandResult(0), CommandResult(0, "null"))[0] == "fail"
    assert run_check(CommandResult(0), CommandResult(254, "", "ResourceNotFoundException"))[0] == "fail"
    assert run_check(CommandResult(0), CommandResult(127))[0] == "skip"
    assert run_check(CommandResult(127))[0] == "skip"


def test_the_org_stack_is_skipped_and_the_check_is_listed() -> None:
    org = parse_stack_config("org", stack_file_config("org")[0])
    result = check_pull_token(PreflightContext("org", org, run=FakeRun(CommandResult(1), CommandResult(1))))
    assert result.status == "skip"
    assert (check_pull_token,) == CHECKS

"""The traffic preflight checks, against a fake command runner (no DNS, no AWS account)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from tools.preflight.checks_traffic import CHECKS, certificate_is_issued, zone_is_delegated
from tools.preflight.core import CommandResult, PreflightContext

ZONE = "dev.pyairtable.io"
SERVERS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com", "ns-3.awsdns-03.net", "ns-4.awsdns-04.co.uk"]


def fake(answers: dict[str, CommandResult]) -> tuple[list[list[str]], Callable[[Sequence[str]], CommandResult]]:
    """A runner answering by the command's first two words, recording every call."""
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> CommandResult:
        calls.append(list(argv))
        key = " ".join(argv[:3]) if argv[0] == "aws" else argv[0]
        return answers.get(key, CommandResult(127, "", f"{argv[0]}: command not found"))

    return calls, run


def route53(servers: list[str] = SERVERS, zone: str = ZONE) -> dict[str, CommandResult]:
    return {
        "aws route53 list-hosted-zones-by-name": CommandResult(
            0, json.dumps({"HostedZones": [{"Id": "/hostedzone/Z123", "Name": f"{zone}."}]})
        ),
        "aws route53 get-hosted-zone": CommandResult(0, json.dumps({"DelegationSet": {"NameServers": servers}})),
    }


def context(answers: dict[str, CommandResult]) -> tuple[list[list[str]], PreflightContext]:
    calls, run = fake(answers)
    return calls, PreflightContext(stack="dev", config=environment_configs()["dev"], run=run)


def test_checks_are_listed() -> None:
    assert (zone_is_delegated, certificate_is_issued) == CHECKS


def test_delegation_passes_when_the_public_dns_answers_with_the_zones_servers() -> None:
    calls, ctx = context({**route53(), "dig": CommandResult(0, "".join(f"{s.upper()}.\n" for s in SERVERS))})
    result = zone_is_delegated(ctx)
    assert result.status == "pass", result
    assert ["dig", "+short", "NS", ZONE] in calls
    assert any(call[:3] == ["aws", "route53", "list-hosted-zones-by-name"] and ZONE in call for call in calls)


def test_delegation_fails_with_the_record_to_create_when_missing() -> None:
    _, ctx = context({**route53(), "dig": CommandResult(0, "")})
    result = zone_is_delegated(ctx)
    assert result.status == "fail"
    assert "not delegated" in result.detail
    assert "pyairtable.io" in result.fix and all(server in result.fix for server in SERVERS)


def test_delegation_fails_when_the_parent_points_at_other_servers() -> None:
    _, ctx = context({**route53(), "dig": CommandResult(0, "ns-9.awsdns-09.org.\n")})
    result = zone_is_delegated(ctx)
    assert result.status == "fail" and "not to the stack's zone" in result.detail


def test_delegation_fails_before_the_zone_exists() -> None:
    answers = route53(zone="other.pyairtable.io")
    _, ctx = context({**answers, "dig": CommandResult(0, "")})
    result = zone_is_delegated(ctx)
    assert result.status == "fail" and "pulumi up" in result.fix


@pytest.mark.parametrize("missing", ["aws", "dig"])
def test_a_missing_tool_is_a_skip_not_a_failure(missing: str) -> None:
    answers = {**route53(), "dig": CommandResult(0, "\n".join(SERVERS))}
    answers = {key: value for key, value in answers.items() if not key.startswith(missing)}
    _, ctx = context(answers)
    result = zone_is_delegated(ctx)
    assert result.status == "skip" and "not installed" in result.detail


@pytest.mark.parametrize(("status", "expected"), [("ISSUED", "pass"), ("PENDING_VALIDATION", "fail")])
def test_certificate_status(status: str, expected: str) -> None:
    listed = {"CertificateSummaryList": [{"DomainName": ZONE, "Status": status}]}
    calls, ctx = context({"aws acm list-certificates": CommandResult(0, json.dumps(listed))})
    result = certificate_is_issued(ctx)
    assert result.status == expected
    assert calls == [["aws", "acm", "list-certificates", "--region", "us-east-1", "--output", "json"]]
    if expected == "fail":
        assert "delegate the zone first" in result.fix


def test_org_stack_is_skipped() -> None:
    org = parse_stack_config("org", stack_file_config("org")[0])
    _, run = fake({})
    ctx = PreflightContext(stack="org", config=org, run=run)
    assert zone_is_delegated(ctx).status == certificate_is_issued(ctx).status == "skip"

"""The cluster's preflight checks, each run against a fake command runner: pass, fail with a fix, or skip."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence

import pytest

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from components.shared.aws_limits import load_kubernetes_versions
from tools.preflight import checks_cluster
from tools.preflight.core import CommandResult, PreflightContext


def context(answers: Mapping[str, CommandResult], stack: str = "dev") -> PreflightContext:
    """A context whose runner answers by the command's first words (`aws eks`, `curl`)."""

    def run(argv: Sequence[str]) -> CommandResult:
        for prefix, answer in answers.items():
            if " ".join(argv).startswith(prefix):
                return answer
        raise AssertionError(f"unexpected command {argv}")

    return PreflightContext(stack=stack, config=environment_configs()[stack], run=run)


def ok(document: object) -> CommandResult:
    return CommandResult(0, json.dumps(document) if not isinstance(document, str) else document)


def test_every_check_is_listed() -> None:
    assert [
        checks_cluster.endpoint_path,
        checks_cluster.kubernetes_support_calendar,
        checks_cluster.secret_names_free,
        checks_cluster.caller_administers_keys,
        checks_cluster.addon_versions_offered,
    ] == checks_cluster.CHECKS


@pytest.mark.parametrize(("address", "status"), [("203.0.113.7\n", "pass"), ("198.51.100.7", "fail")])
def test_endpoint_path_checks_the_egress_address(address: str, status: str) -> None:
    result = checks_cluster.endpoint_path(context({"curl": ok(address)}))
    assert result.status == status
    if status == "fail":
        assert "198.51.100.7 is outside publicAccessCidrs" in result.detail and result.fix


def test_a_missing_tool_skips_and_says_so() -> None:
    result = checks_cluster.endpoint_path(context({"curl": CommandResult(127, "", "curl: command not found")}))
    assert (result.status, result.detail) == ("skip", "curl is not installed here")


def test_the_org_stack_has_no_cluster() -> None:
    config = parse_stack_config("org", stack_file_config("org")[0])
    result = checks_cluster.secret_names_free(PreflightContext(stack="org", config=config, run=lambda argv: ok({})))
    assert result.status == "skip"


@pytest.mark.parametrize(("days_later", "status"), [(0, "pass"), (44, "fail")])
def test_the_support_calendar_matches_eks(days_later: int, status: str) -> None:
    version = environment_configs()["dev"].kubernetes_version
    row = load_kubernetes_versions().find(version)
    assert row is not None
    end = f"{row.end_of_standard_support + datetime.timedelta(days=days_later)}T00:00:00Z"
    answer = ok({"clusterVersions": [{"clusterVersion": version, "endOfStandardSupportDate": end}]})
    assert checks_cluster.kubernetes_support_calendar(context({"aws eks": answer})).status == status


def test_secrets_scheduled_for_deletion_fail_with_the_way_out() -> None:
    listing = {"SecretList": [{"Name": "pyairtable/dev/auth/jwt-signing-key", "DeletedDate": "2026-11-30T00:00:00Z"}]}
    result = checks_cluster.secret_names_free(context({"aws secretsmanager": ok(listing)}))
    assert result.status == "fail" and "pyairtable/dev/auth/jwt-signing-key" in result.detail
    assert "Rebuilding" in result.fix
    assert checks_cluster.secret_names_free(context({"aws secretsmanager": ok({"SecretList": []})})).status == "pass"


def caller_check_status(caller_arn: str) -> str:
    """The key-administrator check's status when Pulumi runs with ambient credentials as `caller_arn`."""
    ambient = environment_configs()["dev"].model_copy(update={"aws_role_arn": ""})
    context = PreflightContext("dev", ambient, run=lambda argv: ok({"Arn": caller_arn}))
    return checks_cluster.caller_administers_keys(context).status


def test_the_caller_must_administer_the_keys_when_no_role_is_assumed() -> None:
    assert caller_check_status("arn:aws:sts::111111111111:assumed-role/pyairtable-admin/me") == "pass"
    assert caller_check_status("arn:aws:sts::111111111111:assumed-role/someone-else/me") == "fail"
    assert checks_cluster.caller_administers_keys(context({})).status == "pass"


def test_addon_versions_must_be_offered_for_the_pinned_kubernetes_version() -> None:
    config = environment_configs()["dev"]
    offered = {"addons": [{"addonVersions": [{"addonVersion": v} for v in config.addon_versions.values()]}]}
    assert checks_cluster.addon_versions_offered(context({"aws eks describe-addon-versions": ok(offered)})).status == (
        "pass"
    )
    stale = {"addons": [{"addonVersions": [{"addonVersion": "v0.0.1-eksbuild.1"}]}]}
    result = checks_cluster.addon_versions_offered(context({"aws eks describe-addon-versions": ok(stale)}))
    assert result.status == "fail"
    assert f"for Kubernetes {config.kubernetes_version}" in result.detail and "describe-addon-versions" in result.fix

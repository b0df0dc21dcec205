"""The data stores' preflight checks, against a fake AWS CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from tools.preflight.checks_datastores import (
    POSTGRES_PARAMETERS,
    REDIS_PARAMETERS,
    postgres_version_is_orderable,
    rotation_templates_exist,
)
from tools.preflight.core import CommandResult, PreflightContext


def _context(answers: dict[str, CommandResult], calls: list[list[str]] | None = None) -> PreflightContext:
    def run(argv: Sequence[str]) -> CommandResult:
        if calls is not None:
            calls.append(list(argv))
        key = next((key for key in answers if key in " ".join(argv)), "")
        return answers.get(key, CommandResult(0, "[]"))

    return PreflightContext(stack="prod", config=environment_configs()["prod"], run=run)


def test_the_orderable_check_asks_for_the_configured_version_and_class() -> None:
    calls: list[list[str]] = []
    passing = _context({"describe-orderable": CommandResult(0, json.dumps(["db.m7g.large"]))}, calls)
    assert postgres_version_is_orderable(passing).status == "pass"
    config = environment_configs()["prod"].postgres
    assert {config.engine_version, config.instance_class} <= set(calls[0])
    failing = postgres_version_is_orderable(_context({"describe-orderable": CommandResult(0, "[]")}))
    assert failing.status == "fail" and "postgres.instanceClass" in failing.fix
    assert postgres_version_is_orderable(_context({"describe-orderable": CommandResult(127)})).status == "skip"
    assert (
        postgres_version_is_orderable(_context({"describe-orderable": CommandResult(255, "", "denied")})).status
        == "fail"
    )


def test_the_template_check_fails_on_a_missing_version_or_parameter() -> None:
    both = {
        "PostgreSQLRotationMultiUser": CommandResult(0, json.dumps(sorted(POSTGRES_PARAMETERS))),
        "ElasticacheUserRotation": CommandResult(0, json.dumps(sorted(REDIS_PARAMETERS))),
    }
    assert rotation_templates_exist(_context(both)).status == "pass"
    missing_parameter = {**both, "ElasticacheUserRotation": CommandResult(0, json.dumps(["endpoint"]))}
    result = rotation_templates_exist(_context(missing_parameter))
    assert result.status == "fail" and "userName" in result.detail
    missing_version = {**both, "PostgreSQLRotationMultiUser": CommandResult(254, "", "NotFoundException")}
    assert "NotFoundException" in rotation_templates_exist(_context(missing_version)).detail


def test_the_org_stack_has_no_data_stores() -> None:
    org = parse_stack_config("org", stack_file_config("org")[0])
    context = PreflightContext(stack="org", config=org)
    assert postgres_version_is_orderable(context).status == rotation_templates_exist(context).status == "skip"

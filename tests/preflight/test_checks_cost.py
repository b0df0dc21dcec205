"""The CostCenter cost-allocation tag check, against a fake AWS CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from components.config.stack_file import environment_configs
from tests.conftest import stack_plan
from tools.preflight.checks_cost import CHECKS, COST_ALLOCATION_TAG, cost_allocation_tag_active
from tools.preflight.core import CommandResult, PreflightContext


def context(result: CommandResult, seen: list[Sequence[str]] | None = None) -> PreflightContext:
    def run(argv: Sequence[str]) -> CommandResult:
        if seen is not None:
            seen.append(argv)
        return result

    return PreflightContext(stack="dev", config=environment_configs()["dev"], run=run)


def answer(*tags: dict[str, str]) -> CommandResult:
    return CommandResult(0, json.dumps({"CostAllocationTags": list(tags)}))


def test_active_tag_passes_and_asks_for_exactly_that_tag() -> None:
    seen: list[Sequence[str]] = []
    tag = {"TagKey": COST_ALLOCATION_TAG, "Type": "UserDefined", "Status": "Active", "LastUpdatedDate": "2026-11-02"}
    result = cost_allocation_tag_active(context(answer(tag), seen))
    assert result.status == "pass"
    (argv,) = seen
    assert argv[:3] == ["aws", "ce", "list-cost-allocation-tags"]
    assert argv[argv.index("--tag-keys") + 1] == COST_ALLOCATION_TAG


@pytest.mark.parametrize(
    ("result", "status", "fix"),
    [
        (answer({"TagKey": COST_ALLOCATION_TAG, "Type": "UserDefined", "Status": "Inactive"}), "fail", "Status=Active"),
        (answer(), "fail", "wait a day"),
        (CommandResult(254, "", "An error occurred (AccessDeniedException)"), "skip", "management (payer) account"),
        (CommandResult(127, "", "aws: command not found"), "skip", "install AWS CLI"),
        (CommandResult(0, "not json"), "fail", ""),
    ],
)
def test_every_other_answer_says_what_to_do(result: CommandResult, status: str, fix: str) -> None:
    verdict = cost_allocation_tag_active(context(result))
    assert verdict.status == status
    assert fix in verdict.fix


def test_the_check_is_listed() -> None:
    assert cost_allocation_tag_active in CHECKS


def test_the_checked_tag_is_the_one_every_environment_resource_carries() -> None:
    provider = stack_plan("dev").one("pulumi:providers:aws", "aws")
    assert COST_ALLOCATION_TAG in json.loads(provider["inputs"]["defaultTags"])["tags"]

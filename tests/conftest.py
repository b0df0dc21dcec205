"""Fixtures: the offline plan of every stack, built once per test session from the real program."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from components.config.common import STACKS
from components.shared.catalog import ENVIRONMENTS
from tools.plan import Plan, build_plan


@cache
def stack_plan(stack: str) -> Plan:
    """The plan of one stack with its checked-in config (cached: the program is deterministic)."""
    return build_plan(stack)


def helm_release(plan: Plan, component: str) -> dict[str, Any]:
    """The Helm release of a component of an environment plan (ESO and Monitoring each have one)."""
    return plan.one("kubernetes:helm.sh/v3:Release", f"{component}-release")


@pytest.fixture(params=STACKS)
def any_plan(request: pytest.FixtureRequest) -> Plan:
    """The plan of each stack in turn."""
    return stack_plan(request.param)


@pytest.fixture(params=ENVIRONMENTS)
def env_plan(request: pytest.FixtureRequest) -> Plan:
    """The plan of each environment stack in turn."""
    return stack_plan(request.param)


@pytest.fixture
def org_plan() -> Plan:
    """The plan of the org stack."""
    return stack_plan("org")

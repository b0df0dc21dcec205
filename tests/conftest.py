"""Fixtures: the offline plan of every stack, built once per test session from the real program."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.config.common import STACKS
from components.config.stack_file import parse_stack_config, stack_file_config
from components.cost.prices import load_prices
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.errors import ConfigError
from tools.plan import Plan, build_plan

GATE_FILE = "test_stack_files.py"
"""The tests that report an invalid stack file, catalog or price table (see `pytest_ignore_collect`)."""


@cache
def project_data_error() -> str | None:
    """The config error of the first invalid stack file, the catalog or the price table; None when all are valid."""
    try:
        load_catalog()
        load_prices()
        for stack in STACKS:
            parse_stack_config(stack, stack_file_config(stack)[0])
    except ConfigError as error:
        return str(error)
    return None


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """With invalid project data, collect only the gate: one clear failure instead of hundreds of errors.

    Test modules read the catalog at import time, so the others are not even imported.
    """
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if collection_path.name == GATE_FILE or project_data_error() is None:
        return None
    return True


@cache
def stack_plan(stack: str) -> Plan:
    """The plan of one stack with its checked-in config (cached: the program is deterministic)."""
    return build_plan(stack)


def helm_release(plan: Plan, component: str) -> dict[str, Any]:
    """The Helm release of a component of an environment plan (ESO and Monitoring each have one)."""
    return plan.one("kubernetes:helm.sh/v3:Release", f"{component}-release")


@cache
def _variant_plan(stack: str, overrides: str) -> Plan:
    return build_plan(stack, json.loads(overrides))


def variant_plan(stack: str, overrides: dict[str, Any]) -> Plan:
    """The plan of a stack with some config replaced, built once per session for equal overrides."""
    return _variant_plan(stack, json.dumps(overrides, sort_keys=True))


NAT_INSTANCE_VARIANT = {"natGateways": "instance", "natInstanceType": "t4g.micro"}
"""dev's egress through a NAT instance of a type the price table lacks (NAT, unpriced-line and bill tests)."""


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

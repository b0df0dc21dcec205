"""The `registry` config key of each kind of stack: what is refused, and the line that says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config.common import PROJECT
from components.config.org import OrgConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.shared.errors import ConfigError

KEY = f"{PROJECT}:registry"


def _registry(stack: str) -> dict[str, Any]:
    return json.loads(stack_file_config(stack)[0][KEY])


def _parse(stack: str, registry: dict[str, Any] | None) -> object:
    raw = stack_file_config(stack)[0]
    if registry is None:
        del raw[KEY]
    else:
        raw[KEY] = json.dumps(registry)
    return parse_stack_config(stack, raw)


def test_the_machine_user_is_exposed_for_the_seat_check() -> None:
    config = _parse("org", _registry("org"))
    assert isinstance(config, OrgConfig)
    assert config.registry.machine_user == _registry("org")["machineUser"]


@pytest.mark.parametrize("stack", ["org", "dev"])
def test_the_key_is_required(stack: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{KEY}' is required but not set"):
        _parse(stack, None)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"machineUser": "not a login"}, "registry.machineUser"),
        ({"tokenExpiresOn": "next year"}, "registry.tokenExpiresOn"),
        ({"retention": {"keepNewest": 0, "untaggedMinAgeDays": 14, "dryRun": True}}, "registry.retention.keepNewest"),
        ({"retention": {"keepNewest": 5, "untaggedMinAgeDays": 0, "dryRun": True}}, "untaggedMinAgeDays"),
        (
            {"migration": {"legacyNamespace": "reg-kris", "packages": {"old-gateway": "billing"}}},
            "not deployable|allowed: deployable catalog services",
        ),
        ({"migration": {"legacyNamespace": "reg-kris", "packages": {}}}, "registry.migration.packages"),
        ({"publishing": {"buildsPerMonth": -1, "minutesPerBuild": 6}}, "buildsPerMonth"),
        ({"colour": "blue"}, "registry.colour"),
    ],
)
def test_bad_org_settings_are_refused(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        _parse("org", {**_registry("org"), **change})
    assert "stack 'org'" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"expiryWarningDays": 0}, "registry.expiryWarningDays"),
        ({"cache": {"keepImagesPerRepository": 0, "storedGib": 1}}, "registry.cache.keepImagesPerRepository"),
        ({"cache": {"keepImagesPerRepository": 10, "storedGib": -1}}, "registry.cache.storedGib"),
    ],
)
def test_bad_environment_settings_are_refused(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        _parse("staging", {**_registry("staging"), **change})

"""Pulumi.yaml declares the config keys the models read, and the README documents every key."""

from __future__ import annotations

import ipaddress
import re
import typing
from enum import Enum

import yaml
from pydantic import BaseModel

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import project_config_schema
from components.shared.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
# Values the engine hands over as strings: IPv4 networks parse from their text.
PULUMI_TYPES = {int: "integer", bool: "boolean", str: "string", ipaddress.IPv4Network: "string"}


def model_keys(model: type[BaseModel]) -> dict[str, object]:
    """Config key -> annotation of every field a stack sets."""
    return {field.alias or name: field.annotation for name, field in model.model_fields.items() if name != "stack"}


def pulumi_type(annotation: object) -> str | None:
    """The Pulumi project-schema type of a field, or None where the schema has no type for it (objects)."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        return "array" if pulumi_type(item) is not None else None
    if origin is typing.Literal:
        return PULUMI_TYPES.get(type(typing.get_args(annotation)[0]))
    if origin is typing.Annotated:
        return pulumi_type(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "string"
    return PULUMI_TYPES.get(annotation)  # type: ignore[call-overload]


def test_project_file_basics() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "pyairtable-infra"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["config"]["pulumi:disable-default-providers"] == {"value": ["*"]}


def test_every_declarable_key_is_declared_with_its_type_and_a_description() -> None:
    schema = project_config_schema()
    keys = model_keys(OrgConfig) | model_keys(EnvironmentConfig)
    for key, annotation in keys.items():
        expected = pulumi_type(annotation)
        if expected is None:
            assert key not in schema, f"{key} is an object: Pulumi's project schema cannot declare it"
            continue
        assert key in schema, f"{key} ({expected}) is not declared in Pulumi.yaml"
        assert schema[key]["type"] == expected, f"{key}: Pulumi.yaml says {schema[key]['type']}, model {expected}"
        assert schema[key].get("description"), f"{key} has no description in Pulumi.yaml"
    declared = {key for key in schema if ":" not in key}
    assert declared <= set(keys), f"Pulumi.yaml declares keys no model reads: {sorted(declared - set(keys))}"


def test_readme_documents_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Za-z]+)`", readme))
    for key in model_keys(OrgConfig) | model_keys(EnvironmentConfig):
        assert key in documented, f"README.md does not document config key {key}"

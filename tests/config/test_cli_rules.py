"""The offline plan hands the program its config exactly as the Pulumi CLI does (components/config/cli.py).

Each rule of the CLI (pulumi/pulumi pkg/workspace/config.go, sdk/go/common/workspace/project.go) is
proved with a crafted violation, and every stack's config is checked in the encoding Go prints.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config.cli import (
    GoYamlLoader,
    go_json,
    load_yaml_file,
    merge_config,
    project_declarations,
    stack_values,
)
from components.config.common import PROJECT, STACKS
from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import (
    REQUIRED_KEYS_WITH_UNSET_DEFAULT,
    parse_stack_config,
    project_config_schema,
    stack_file_config,
)
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.plan import build_plan

# --- Go's encoding, from Go's documented behaviour (encoding/json, strconv, yaml.v3) --------------

GO_JSON = [
    ({"b": 1, "a": "<x>&"}, '{"a":"\\u003cx\\u003e\\u0026","b":1}'),
    (["api", "audit", "authenticator"], '["api","audit","authenticator"]'),
    ({"z": [True, False, None], "é": "ü"}, '{"z":[true,false,null],"é":"ü"}'),
    ('line\nsep\u2028\x01\b\f\t"\\', '"line\\nsep\\u2028\\u0001\\b\\f\\t\\"\\\\"'),
    (1.0, "1"),
    (0.5, "0.5"),
    (123456789.0, "123456789"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (0.000001, "0.000001"),
    (1e-7, "1e-7"),
    (-1.5e-10, "-1.5e-10"),
    (-0.0, "-0"),
    ({2: "a", True: "b"}, '{"2":"a","true":"b"}'),
]


@pytest.mark.parametrize(("value", "expected"), GO_JSON)
def test_values_are_encoded_as_go_json_marshal_prints_them(value: Any, expected: str) -> None:
    assert go_json(value) == expected


def test_nan_cannot_be_encoded_as_in_go() -> None:
    with pytest.raises(ConfigError, match="unsupported value"):
        go_json({"x": math.nan})


GO_YAML = [
    ("yes", "yes"),  # YAML 1.1 booleans stay strings in yaml.v3
    ("on", "on"),
    ("True", True),
    ("2026-01-01", "2026-01-01"),  # timestamps stay text when decoded into interface{}
    ("0777", 511),  # a leading zero is octal
    ("0o17", 15),
    ("0x1F", 31),
    ("1_000", 1000),
    ("1e3", 1000.0),  # a float without a dot, unlike YAML 1.1
    ("08", 8.0),  # not octal, so a float
    ("~", None),
    ("'0777'", "0777"),
]


@pytest.mark.parametrize(("text", "expected"), GO_YAML)
def test_yaml_scalars_resolve_as_in_yaml_v3(text: str, expected: Any) -> None:
    value = yaml.load(f"key: {text}\n", Loader=GoYamlLoader)["key"]
    assert value == expected and type(value) is type(expected)


# --- every stack, as the CLI hands it over --------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_gets_go_encoded_values(stack: str) -> None:
    values, _ = stack_file_config(stack)
    stack_file = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key, value in stack_file.items():
        text = values[key]
        if isinstance(value, str):
            assert text == value
        elif isinstance(value, bool):
            assert text == ("true" if value else "false")
        elif isinstance(value, int):
            assert text == str(value)
        else:
            # Compact, keys sorted: no value here needs Go's HTML escaping, so Python's compact dump agrees.
            assert text == json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False), key
    # Every project default reaches every stack, in the CLI's encoding.
    for key, declaration in project_config_schema().items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if full_key not in stack_file and isinstance(declaration, dict) and "default" in declaration:
            default = declaration["default"]
            assert (values[full_key] if isinstance(default, str) else json.loads(values[full_key])) == default, key


def test_the_org_stack_accepts_the_cli_encoded_environment_defaults() -> None:
    # The bug: the CLI hands over `["api","audit","authenticator"]`; the program compared it with Python's
    # `json.dumps` of the default and refused the org stack with "applies to environment stacks only".
    values, _ = stack_file_config("org")
    default = project_config_schema()["clusterLogTypes"]["default"]
    assert values[f"{PROJECT}:clusterLogTypes"] == '["' + '","'.join(default) + '"]'  # compact, no spaces
    scanning = yaml.safe_load((PROJECT_ROOT / "Pulumi.org.yaml").read_text())["config"][f"{PROJECT}:secretScanning"]
    assert values[f"{PROJECT}:secretScanning"] == ("true" if scanning else "false")  # Go's bool, not Python's
    assert isinstance(parse_stack_config("org", values), OrgConfig)
    spaced = {**values, f"{PROJECT}:clusterLogTypes": "[ " + ", ".join(json.dumps(item) for item in default) + " ]"}
    assert isinstance(parse_stack_config("org", spaced), OrgConfig)  # decoded values are compared
    changed = {**values, f"{PROJECT}:clusterLogTypes": json.dumps(list(reversed(default)))}
    with pytest.raises(ConfigError, match="applies to environment stacks only"):
        parse_stack_config("org", changed)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_from_the_cli_encoding(stack: str) -> None:
    values, _ = stack_file_config(stack)
    config = parse_stack_config(stack, values)
    assert isinstance(config, OrgConfig if stack == "org" else EnvironmentConfig)


# --- the CLI's rules, each with a crafted violation -----------------------------------------------


def merged(config: dict[str, Any], stack_config: dict[str, Any], stack: str = "dev") -> dict[str, str]:
    declarations = project_declarations({"name": "test", "config": config})
    return merge_config(stack, "test", declarations, stack_values({"config": stack_config}, "test", "s3cret"))[0]


def test_a_declared_key_without_default_stops_a_stack_that_lacks_it() -> None:
    # pulumi/pulumi TestStackConfigErrorsWhenMissing{,Two,Multiple}StackValueForConfigTypeWithNoDefault
    with pytest.raises(ConfigError, match=r"^Stack 'dev' is missing configuration value 'values'$"):
        merged({"values": {"type": "array", "items": {"type": "string"}}}, {})
    with pytest.raises(ConfigError, match=r"^Stack 'dev' is missing configuration values 'a' and 'b'$"):
        merged({"b": {"type": "string"}, "a": {"type": "string"}}, {})
    with pytest.raises(ConfigError, match=r"^Stack 'dev' is missing configuration values 'a', 'b' and 'c'$"):
        merged({"c": {"description": "untyped, still required"}, "b": {"type": "string"}, "a": {"type": "string"}}, {})
    assert merged({"a": {"type": "string"}}, {"test:a": "set"}) == {"test:a": "set"}


def test_the_checked_in_project_stops_a_stack_without_budget() -> None:
    with pytest.raises(ConfigError, match=r"^Stack 'dev' is missing configuration value 'budgetUsd'$"):
        build_plan("dev", {"budgetUsd": None})


def test_defaults_and_values_fill_what_the_stack_does_not_set() -> None:
    config = {
        "size": {"type": "integer", "default": 3},
        "zones": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "flag": True,  # shorthand: a project key's default
        "aws:region": "us-east-1",  # shorthand: another namespace's value
        "pulumi:disable-default-providers": {"value": ["*"]},
    }
    assert merged(config, {"test:size": 5}) == {
        "test:size": "5",
        "test:zones": '["a","b"]',
        "test:flag": "true",
        "aws:region": "us-east-1",
        "pulumi:disable-default-providers": '["*"]',
    }


BAD_TYPES = [
    ({"type": "integer"}, "abc", "integer"),
    ({"type": "integer"}, 1.5, "integer"),
    ({"type": "boolean"}, "yes", "boolean"),  # yaml.v3 keeps `yes` a string
    ({"type": "string"}, ["a"], "string"),
    ({"type": "array", "items": {"type": "string"}}, "a", "array<string>"),
    ({"type": "array", "items": {"type": "integer"}}, [1, "x"], "array<integer>"),
    ({"type": "object"}, ["a"], "object"),
]


@pytest.mark.parametrize(("declaration", "value", "type_name"), BAD_TYPES)
def test_a_typed_key_of_another_type_stops_the_stack(declaration: dict[str, Any], value: Any, type_name: str) -> None:
    with pytest.raises(ConfigError, match=f"^Stack 'dev' with configuration key 'key' must be of type '{type_name}'$"):
        merged({"key": declaration}, {"test:key": value})


GOOD_TYPES = [
    ({"type": "integer"}, "42"),  # strings that parse as integers pass, as in Go
    ({"type": "integer"}, 42),
    ({"type": "boolean"}, "true"),
    ({"type": "string"}, 42),  # every scalar reaches the check as a string
    ({"type": "array", "items": {"type": "integer"}}, [1, 2.0]),
    ({"type": "object"}, {"a": 1}),
]


@pytest.mark.parametrize(("declaration", "value"), GOOD_TYPES)
def test_values_the_cli_accepts(declaration: dict[str, Any], value: Any) -> None:
    merged({"key": declaration}, {"test:key": value})


def test_a_secret_declaration_needs_a_secure_value() -> None:
    with pytest.raises(ConfigError, match="must be encrypted as it's secret"):
        merged({"token": {"type": "string", "secret": True}}, {"test:token": "plain"})
    assert merged({"token": {"type": "string", "secret": True}}, {"test:token": {"secure": "v1:x"}}) == {
        "test:token": "s3cret"
    }


BAD_PROJECTS = [
    ({"k": {"type": "string", "default": "a", "value": "b"}}, "cannot have both a 'default' and 'value'"),
    ({"k": {"type": "array"}}, "declares an array but does not specify the underlying type"),
    ({"k": {"type": "integer", "default": "many"}}, "default value specified for configuration key 'k' is not of"),
    ({"aws:region": {"type": "string", "value": "x"}}, "not namespaced by the project and should not define a type"),
    ({"aws:region": {"default": "x"}}, "Did you mean to use the 'value' attribute"),
    ({"aws:region": {"description": "x"}}, "must provide an attribute 'value'"),
]


@pytest.mark.parametrize(("config", "message"), BAD_PROJECTS)
def test_an_invalid_project_declaration_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        project_declarations({"name": "test", "config": config})


def test_a_bare_stack_key_belongs_to_the_project_and_a_bad_key_is_refused() -> None:
    assert merged({}, {"size": "1"}) == {"test:size": "1"}
    with pytest.raises(ConfigError, match="could not parse a:b:c as a configuration key"):
        merged({}, {"a:b:c": "1"})


# --- the checked-in project file ------------------------------------------------------------------


def test_the_project_file_starts_a_real_preview_on_every_stack() -> None:
    project = load_yaml_file(PROJECT_ROOT / "Pulumi.yaml")
    assert "typechecker" not in project["runtime"]["options"]
    assert project["requiredPulumiVersion"].startswith(">=3.219.0")
    declarations = project_declarations(project)
    without_default = sorted(key for key, d in declarations.items() if not (d.has_default or d.has_value))
    # Only keys that every stack sets may go without a default.
    for key in without_default:
        for stack in STACKS:
            stack_file = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
            assert f"{PROJECT}:{key}" in stack_file, f"{key} has no default and stack {stack} does not set it"


@pytest.mark.parametrize("key", sorted(REQUIRED_KEYS_WITH_UNSET_DEFAULT))
def test_a_required_key_left_to_its_unset_default_is_refused_by_the_program(key: str) -> None:
    org_keys = {field.alias for field in OrgConfig.model_fields.values()}
    stack = "org" if key in org_keys else "dev"
    assert "default" in project_config_schema()[key] and "required" in project_config_schema()[key]["description"]
    values, _ = stack_file_config(stack, overrides={key: None})
    with pytest.raises(ConfigError, match=f"config key '{PROJECT}:{key}' is required but not set"):
        parse_stack_config(stack, values)


# --- YAML errors name the file and the line -------------------------------------------------------


def test_a_tab_in_a_stack_file_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        (tmp_path / name).write_text((PROJECT_ROOT / name).read_text())
    stack_file = tmp_path / "Pulumi.dev.yaml"
    lines = stack_file.read_text().splitlines()
    lines[3] = "\t" + lines[3].lstrip()
    stack_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        stack_file_config("dev", tmp_path)
    message = str(caught.value)
    assert f"{stack_file}:4: YAML syntax error" in message and "tab" in message and "\n" not in message


def test_a_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\nconfig:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match=r"Pulumi.yaml:\d+: YAML syntax error"):
        load_yaml_file(tmp_path / "Pulumi.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml_file(tmp_path / "missing.yaml")

"""Reading a stack's config: Pulumi.yaml defaults, the stack file, the engine's encoding, one error per problem.

Defaults live in `Pulumi.yaml` (the engine applies them to every stack); object-valued keys have no
project-level schema in Pulumi, so each stack file sets them. A bad value raises `ConfigError`, a
`pulumi.RunError`, whose one-line message names the stack, the key, the value and what is allowed:
the engine prints it without a Python traceback.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from components.cluster.settings import evaluation_date, kubernetes_support_warning
from components.config.cli import (
    Declaration,
    StackValue,
    config_text,
    load_yaml_file,
    merge_config,
    parse_key,
    project_declarations,
    stack_values,
)
from components.config.common import ORG_STACK, PROJECT, PROJECT_FILE, SECURE_TEST_VALUE, STACKS
from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError, InvalidKeyError

StackConfig = OrgConfig | EnvironmentConfig

REQUIRED_KEYS_WITH_UNSET_DEFAULT = frozenset(
    {
        "billingEmail",
        "githubSeats",
        "awsAccountId",
        "vpcCidr",
        "availabilityZones",
        "adminRoleArns",
        "capacityStrategy",
    }
)
"""Keys one kind of stack must set. The CLI refuses any stack lacking a declared key without default,
so Pulumi.yaml gives each a default ("", 0, []) that only means "unset": the program refuses it on
its own kind of stack ("is required but not set") and ignores it on the other."""

_MODEL_BY_KIND: dict[str, type[OrgConfig] | type[EnvironmentConfig]] = {
    ORG_STACK: OrgConfig,
    "environment": EnvironmentConfig,
}


def _keys_of(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()} - {"stack"}


@cache
def project_document(path: Path = PROJECT_FILE) -> dict[str, Any]:
    """Pulumi.yaml as the CLI reads it (Go's YAML rules); a syntax error names the file and line."""
    document = load_yaml_file(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: a Pulumi project file is a map (name, runtime, config, ...)")
    return document


def project_config_schema(path: Path = PROJECT_FILE) -> dict[str, dict[str, Any]]:
    """The `config:` declarations of Pulumi.yaml (type, default, description per project key)."""
    return project_document(path).get("config") or {}


@cache
def project_config_declarations(path: Path = PROJECT_FILE) -> dict[str, Declaration]:
    """The `config:` declarations after the CLI's shorthand rewrite and `Project.Validate`."""
    try:
        return project_declarations(project_document(path))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def stack_file_config(
    stack: str, root: Path = PROJECT_FILE.parent, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would hand the program of `stack`: its strings, and the keys that are secret.

    The CLI's rules run first (components/config/cli.py): Pulumi.yaml's declarations are validated,
    defaults and `value:` entries fill the keys the stack file does not set, a declared key without
    default that the stack lacks stops the stack, typed keys are type-checked; then every value is
    encoded as the Go CLI encodes it. `secure:` values cannot be decrypted offline: each becomes a
    test value, marked secret. `overrides` replace stack file values (YAML values, as `pulumi config
    set` would store them; None removes a key) before the rules run.
    """
    project_file = root / "Pulumi.yaml"
    project = str(project_document(project_file).get("name", PROJECT))
    declarations = project_config_declarations(project_file)
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise ConfigError(f"stack {stack!r}: no stack file {stack_file.name}; stacks: {list(STACKS)}")
    try:
        values = stack_values(load_yaml_file(stack_file), project, SECURE_TEST_VALUE)
    except ConfigError as error:
        raise ConfigError(str(error) if str(error).startswith(str(stack_file)) else f"{stack_file}: {error}") from None
    for key, value in (overrides or {}).items():
        full_key = parse_key(project, key)
        if value is None:
            values.pop(full_key, None)
        else:
            values[full_key] = StackValue.from_stack_file(value, secure=False)
    return merge_config(stack, project, declarations, values)


def encode_config_value(value: Any) -> str:
    """A config value as the CLI hands it to the program (Go's encoding), for code that crafts raw config."""
    return config_text(value)


def _decode(raw: str) -> Any:
    """Pulumi hands every value over as a string; objects and arrays arrive JSON-encoded."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def decode_as_declared(raw: str, declaration: Declaration) -> Any:
    """A value the CLI handed over, decoded by its Pulumi.yaml type so it compares with the declared default."""
    if declaration.type == "integer" and re.fullmatch(r"[+-]?[0-9]+", raw):
        return int(raw)
    if declaration.type == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if declaration.type in ("array", "object"):
        return _decode(raw)
    return raw


def _is_project_default(key: str, raw: str, declarations: Mapping[str, Declaration]) -> bool:
    """Whether the CLI handed over the project's own default for `key` (decoded values compared)."""
    declaration = declarations.get(key)
    if declaration is None or not declaration.has_default:
        return False
    return decode_as_declared(raw, declaration) == declaration.default


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def parse_stack_config(stack: str, raw: Mapping[str, str]) -> StackConfig:
    """Validate one stack's raw config (`{"pyairtable-infra:key": "value"}`) into its model.

    Raises `ConfigError` naming the stack, the key, the bad value and what is allowed.
    """
    if stack not in STACKS:
        raise ConfigError(f"stack {stack!r} is not a stack of {PROJECT}; allowed: {list(STACKS)}")
    model = _MODEL_BY_KIND[ORG_STACK if stack == ORG_STACK else "environment"]
    other = EnvironmentConfig if model is OrgConfig else OrgConfig
    own_keys, other_keys = _keys_of(model), _keys_of(other) - _keys_of(model)
    declarations = project_config_declarations()

    values: dict[str, Any] = {}
    for full_key, raw_value in sorted(raw.items()):
        namespace, _, key = full_key.partition(":")
        if namespace == "pulumi":
            continue
        if namespace != PROJECT:
            raise ConfigError(
                f"stack {stack!r}: config key {full_key!r} configures a default provider, but default "
                f"providers are disabled; use the {PROJECT}:* keys (see README, Configuration)"
            )
        value = _decode(raw_value)
        if key in other_keys:
            if _is_project_default(key, raw_value, declarations):
                continue  # a project-wide default of the other kind of stack, applied by the engine
            kind = "environment" if other is EnvironmentConfig else "org"
            raise ConfigError(
                f"stack {stack!r}: config key {full_key!r} = {_show(value)} applies to {kind} stacks only"
            )
        if key not in own_keys:
            close = difflib.get_close_matches(key, sorted(own_keys), n=1)
            hint = f"; did you mean '{PROJECT}:{close[0]}'?" if close else ""
            raise ConfigError(f"stack {stack!r}: unknown config key {full_key!r}{hint}")
        if key in REQUIRED_KEYS_WITH_UNSET_DEFAULT and _is_project_default(key, raw_value, declarations):
            continue  # Pulumi.yaml's default of a key this kind of stack must set only marks it unset
        values[key] = value

    try:
        return model.model_validate({**values, "stack": stack})
    except ValidationError as error:
        raise ConfigError(_describe(stack, error, values)) from None


def _describe(stack: str, error: ValidationError, values: Mapping[str, Any]) -> str:
    """One line per problem: stack, key (with the path inside an object), value, what is allowed."""
    lines = []
    for issue in error.errors():
        location = [str(part) for part in issue["loc"]]
        key = location[0] if location else "(config)"
        path = ".".join(location)
        message = issue["msg"].removeprefix("Value error, ")
        cause = issue.get("ctx", {}).get("error")
        if isinstance(cause, InvalidKeyError):
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{cause.key}' = {_show(cause.value)}: {cause.message}")
        elif issue["type"] == "missing":
            lines.append(
                f"stack {stack!r}: config key '{PROJECT}:{path}' is required but not set"
                + (f" (set it in Pulumi.{stack}.yaml)" if len(location) == 1 else "")
            )
        elif key in values or len(location) > 1:
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{path}' = {_show(issue['input'])}: {message}")
        else:
            lines.append(f"stack {stack!r}: config: {message}")
    return "\n".join(lines)


def read_stack_config() -> StackConfig:
    """Read this stack's config from the Pulumi runtime and validate it."""
    # The language host passes config through PULUMI_CONFIG (real engine) or set_all_config (mocks);
    # the public Config API has no way to list keys, which the unknown-key check needs.
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {key for key in raw if runtime_config.is_config_secret(key)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    refuse_secret_values(pulumi.get_stack(), secret_keys)
    config = parse_stack_config(pulumi.get_stack(), raw)
    if isinstance(config, EnvironmentConfig):
        others = environment_configs()
        check_vpcs_apart(config, others)
        check_accounts_apart(config, others)
        warning = kubernetes_support_warning(config.stack, config.kubernetes_version, evaluation_date())
        if warning:
            pulumi.log.warn(warning)
    return config


def refuse_secret_values(stack: str, secret_keys: set[str]) -> None:
    """No config key of this project holds a credential, so none may be set with `--secret`.

    Credentials come from the environment (GITHUB_TOKEN, the AWS role) or live in Secrets Manager.
    A value set as a secret would be read into plain models and could surface unmasked in a resource
    input or output; refusing it keeps secrets from ever being revealed by this program.
    """
    own = sorted(key for key in secret_keys if key.startswith(f"{PROJECT}:"))
    if own:
        raise ConfigError(
            f"stack {stack!r}: config key {own[0]!r} is set as a secret, but no {PROJECT} key holds a credential; "
            "allowed: a plain value (`pulumi config set`), with credentials in the environment or Secrets Manager"
        )


def environment_configs(root: Path = PROJECT_FILE.parent) -> dict[str, EnvironmentConfig]:
    """Every environment stack's config, read from its stack file in the project.

    The org stack derives GitHub environment variables from them, and each environment checks that
    its VPC does not overlap another's, without either stack reading the other's state.
    """
    configs = {}
    for environment in ENVIRONMENTS:
        config = parse_stack_config(environment, stack_file_config(environment, root)[0])
        assert isinstance(config, EnvironmentConfig)
        configs[environment] = config
    return configs


def check_vpcs_apart(config: EnvironmentConfig, others: Mapping[str, EnvironmentConfig]) -> None:
    """Environments' VPCs must not overlap (peering, VPN and flow-log analysis rely on it)."""
    for environment, other in others.items():
        if environment != config.environment and config.vpc_cidr.overlaps(other.vpc_cidr):
            raise ConfigError(
                f"stack {config.stack!r}: config key '{PROJECT}:vpcCidr' = '{config.vpc_cidr}' overlaps "
                f"stack {environment!r} ({other.vpc_cidr}); allowed: a CIDR no other environment uses"
            )


def check_accounts_apart(config: EnvironmentConfig, others: Mapping[str, EnvironmentConfig]) -> None:
    """Each environment has its own AWS account, unless both list each other in `accountSharedWith`.

    Separate accounts bound what a leaked dev credential can reach; sharing one is an exception
    both stacks must state.
    """
    for environment, other in others.items():
        if environment == config.environment or other.aws_account_id != config.aws_account_id:
            continue
        if environment in config.account_shared_with and config.environment in other.account_shared_with:
            continue
        raise ConfigError(
            f"stack {config.stack!r}: config key '{PROJECT}:awsAccountId' = '{config.aws_account_id}' is also "
            f"stack {environment!r}'s account; allowed: an account of its own, or both stacks listing each "
            f"other in '{PROJECT}:accountSharedWith'"
        )

"""Reading a stack's config: Pulumi.yaml defaults, the stack file, the engine's encoding, one error per problem.

Defaults live in `Pulumi.yaml` (the engine applies them to every stack); object-valued keys have no
project-level schema in Pulumi, so each stack file sets them. A bad value raises `ConfigError`, a
`pulumi.RunError`, whose one-line message names the stack, the key, the value and what is allowed:
the engine prints it without a Python traceback.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from components.cluster.settings import evaluation_date, kubernetes_support_warning
from components.config.common import ORG_STACK, PROJECT, PROJECT_FILE, SECURE_TEST_VALUE, STACKS
from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError, InvalidKeyError

StackConfig = OrgConfig | EnvironmentConfig

_MODEL_BY_KIND: dict[str, type[OrgConfig] | type[EnvironmentConfig]] = {
    ORG_STACK: OrgConfig,
    "environment": EnvironmentConfig,
}


def _keys_of(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()} - {"stack"}


@cache
def project_config_schema(path: Path = PROJECT_FILE) -> dict[str, dict[str, Any]]:
    """The `config:` declarations of Pulumi.yaml (type, default, description per project key)."""
    return yaml.safe_load(path.read_text()).get("config", {})


def stack_file_config(stack: str, root: Path = PROJECT_FILE.parent) -> tuple[dict[str, str], list[str]]:
    """The config the engine would hand the program: Pulumi.yaml defaults overlaid by Pulumi.<stack>.yaml.

    Values are strings as the engine passes them (objects and arrays JSON-encoded); `secure:` values
    cannot be decrypted offline and are replaced by a test value, marked secret.
    """
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in project_config_schema(root / "Pulumi.yaml").items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(spec, dict) and "value" in spec:
            values[full_key] = encode_config_value(spec["value"])
        elif isinstance(spec, dict) and "default" in spec:
            values[full_key] = encode_config_value(spec["default"])
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise ConfigError(f"stack {stack!r}: no stack file {stack_file.name}; stacks: {list(STACKS)}")
    for key, value in (yaml.safe_load(stack_file.read_text()) or {}).get("config", {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECURE_TEST_VALUE
            secret_keys.append(key)
        else:
            values[key] = encode_config_value(value)
    return values, secret_keys


def encode_config_value(value: Any) -> str:
    """Encode a YAML config value the way the engine hands it to the program."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _decode(raw: str) -> Any:
    """Pulumi hands every value over as a string; objects and arrays arrive JSON-encoded."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


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
    defaults = {
        key: spec["default"]
        for key, spec in project_config_schema().items()
        if isinstance(spec, dict) and "default" in spec
    }

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
            if key in defaults and raw_value == encode_config_value(defaults[key]):
                continue  # a project-wide default of the other kind of stack, applied by the engine
            kind = "environment" if other is EnvironmentConfig else "org"
            raise ConfigError(
                f"stack {stack!r}: config key {full_key!r} = {_show(value)} applies to {kind} stacks only"
            )
        if key not in own_keys:
            close = difflib.get_close_matches(key, sorted(own_keys), n=1)
            hint = f"; did you mean '{PROJECT}:{close[0]}'?" if close else ""
            raise ConfigError(f"stack {stack!r}: unknown config key {full_key!r}{hint}")
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
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{path}' is required but not set")
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

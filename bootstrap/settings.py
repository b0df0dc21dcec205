"""The bootstrap's config: which stacks keep their state in this account, plus what the environment
stack file of the same name already says (account id, region, administrators), read, never retyped.

A bootstrap stack is named after its AWS account's environment (`dev`, `staging`, `prod`). The org
stack needs no AWS account of its own: it keeps its state in one chosen account (prod), listed in
that account's `pyairtable-bootstrap:stacks`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from components.config.common import STACKS, FrozenModel
from components.config.environment import EnvironmentConfig
from components.config.stack_file import encode_config_value, environment_configs
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT

PROJECT = "pyairtable-bootstrap"
BOOTSTRAP_KEY_STACK = "bootstrap"
"""Name under which the bootstrap's own secrets key is derived (`alias/pyairtable-pulumi-bootstrap`)."""


class BootstrapSettings(FrozenModel):
    """`pyairtable-bootstrap:*` of one account's bootstrap stack."""

    stacks: tuple[str, ...] = Field(min_length=1)
    """The pyairtable-infra stacks whose state, secrets key and CI roles live in this account."""
    state_version_days: int = Field(alias="stateVersionDays", default=90, ge=30, le=3650)
    """Days an overwritten state file's old version is kept (the newest 10 are always kept)."""
    backup_retention_days: int = Field(alias="backupRetentionDays", default=35, ge=1, le=35)
    """Days AWS Backup keeps the bucket's recovery points (35: the most continuous backup allows)."""

    state_storage_gib: int = Field(alias="stateStorageGib", default=1, ge=1)
    """Estimated size of the bucket, old versions included, in GiB (for the cost output)."""
    budget_usd: int = Field(alias="budgetUsd", default=25, ge=0)
    """Monthly budget of the account's bootstrap; the `cost` output reports overBudget against it."""

    @field_validator("stacks")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [stack for stack in value if stack not in STACKS]
        if unknown or len(set(value)) != len(value):
            raise ValueError(f"{list(value)} must name distinct stacks of pyairtable-infra: {list(STACKS)}")
        return value


class Bootstrap(FrozenModel):
    """Everything the bootstrap program needs for one account."""

    account: str
    settings: BootstrapSettings
    environment: EnvironmentConfig
    """The environment stack of the same name: account id, region, administrators."""


def parse_bootstrap_config(stack: str, raw: Mapping[str, str]) -> Bootstrap:
    """Validate a bootstrap stack's raw config; `ConfigError` names the stack, key, value and what is allowed."""
    if stack not in ENVIRONMENTS:
        raise ConfigError(
            f"stack {stack!r} is not a bootstrap stack; allowed: one per AWS account {list(ENVIRONMENTS)}"
        )
    values: dict[str, Any] = {}
    for full_key, text in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace == "pulumi":
            continue
        if namespace != PROJECT:
            raise ConfigError(f"stack {stack!r}: config key {full_key!r} is not a {PROJECT} key")
        values[key] = json.loads(text) if text[:1] in "[{" else text
    try:
        settings = BootstrapSettings.model_validate(values)
    except ValidationError as error:
        issue = error.errors()[0]
        key = ".".join(str(part) for part in issue["loc"]) or "(config)"
        raise ConfigError(
            f"stack {stack!r}: config key '{PROJECT}:{key}' = {json.dumps(issue.get('input'))}: "
            f"{issue['msg'].removeprefix('Value error, ')}"
        ) from None
    if stack not in settings.stacks:
        raise ConfigError(
            f"stack {stack!r}: config key '{PROJECT}:stacks' = {json.dumps(list(settings.stacks))} "
            f"must include the account's own environment {stack!r}"
        )
    return Bootstrap(account=stack, settings=settings, environment=environment_configs()[stack])


def hosted_stacks(account: str) -> tuple[str, ...]:
    """The pyairtable-infra stacks whose state lives in `account`, from its bootstrap stack file."""
    path = PROJECT_ROOT / "bootstrap" / f"Pulumi.{account}.yaml"
    raw = (yaml.safe_load(path.read_text()) or {}).get("config", {})
    values = {key: encode_config_value(value) for key, value in raw.items()}
    return parse_bootstrap_config(account, values).settings.stacks


def host_account(stack: str) -> str:
    """The AWS account (named by its environment) that keeps `stack`'s state and secrets key."""
    hosts = [account for account in ENVIRONMENTS if stack in hosted_stacks(account)]
    if len(hosts) != 1:
        raise ConfigError(
            f"stack {stack!r} must keep its state in exactly one account's bootstrap "
            f"(config key '{PROJECT}:stacks'); found {hosts or 'none'}"
        )
    return hosts[0]

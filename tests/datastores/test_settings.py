"""The data stores' config keys: every refusal is proven on a crafted value, and prod's floors hold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config.environment import EnvironmentConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.datastores.limits import capabilities, check_identifier, enum, matches
from components.datastores.settings import PROD_BACKUP_RETENTION_FLOOR_DAYS
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError

PROJECT = "pyairtable-infra"


def _parse(stack: str, key: str, changes: dict[str, Any], **scalars: Any) -> EnvironmentConfig:
    """The stack's checked-in config with some fields of one object key changed (as `pulumi config set` would)."""
    raw, _ = stack_file_config(stack)
    value = {**json.loads(raw[f"{PROJECT}:{key}"]), **changes}
    raw[f"{PROJECT}:{key}"] = json.dumps(value)
    for name, scalar in scalars.items():
        raw[f"{PROJECT}:{name}"] = str(scalar)
    config = parse_stack_config(stack, raw)
    assert isinstance(config, EnvironmentConfig)
    return config


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_every_environment_sets_the_three_keys(stack: str) -> None:
    config = _parse(stack, "postgres", {})
    assert config.postgres.engine_version in capabilities()["postgres"]["engineVersions"]
    assert config.redis.parameter_group_family.startswith(config.redis.engine)
    assert config.backups.retention_days >= 1


@pytest.mark.parametrize(
    ("key", "changes", "message"),
    [
        ("postgres", {"engineVersion": "17.99"}, "is not a pinned RDS PostgreSQL version"),
        ("postgres", {"instanceClass": "m7g.large"}, "is not an RDS instance class"),
        ("postgres", {"instanceClass": "db.x2iedn.large"}, "is not an instance class offered for PostgreSQL"),
        ("postgres", {"allocatedStorageGib": 10}, "gp3 storage for PostgreSQL is 20 to 65536 GiB"),
        ("postgres", {"maxAllocatedStorageGib": 19}, "must be between allocatedStorageGib"),
        ("postgres", {"backupRetentionDays": 0}, "point-in-time recovery"),
        ("postgres", {"backupRetentionDays": 36}, "point-in-time recovery"),
        ("postgres", {"databaseInsights": "full"}, "is not a Database Insights mode"),
        ("postgres", {"databaseInsights": "advanced"}, "advanced mode needs at least 465 days"),
        ("postgres", {"performanceInsightsRetentionDays": 30}, "is not a retention RDS accepts"),
        ("postgres", {"monitoringIntervalSeconds": 45}, "is not an Enhanced Monitoring interval"),
        ("postgres", {"logRetentionDays": 10}, "is not a CloudWatch Logs retention"),
        ("postgres", {"rotationDays": 0}, "greater than or equal to 1"),
        ("redis", {"nodeType": "cache.t2.micro"}, "is not an ElastiCache node type"),
        ("redis", {"engineVersion": "6.2"}, "redis versions allowed"),
        ("redis", {"engine": "valkey", "engineVersion": "7.1"}, "valkey versions allowed"),
        ("redis", {"multiAz": True, "nodesPerGroup": 1}, "needs a replica"),
        ("redis", {"snapshotRetentionDays": 36}, "0 to 35 days"),
        ("backups", {"schedule": "daily"}, "is not an AWS Backup schedule"),
        ("backups", {"retentionDays": 0}, "greater than or equal to 1"),
    ],
)
def test_what_the_services_refuse_is_a_config_error(key: str, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"stack 'dev': config key '{PROJECT}:{key}") as error:
        _parse("dev", key, changes)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("key", "changes", "names"),
    [
        ("postgres", {"multiAz": False}, "postgres.multiAz"),
        ("postgres", {"finalSnapshot": False}, "postgres.finalSnapshot"),
        ("postgres", {"backupRetentionDays": PROD_BACKUP_RETENTION_FLOOR_DAYS - 1}, "postgres.backupRetentionDays"),
        ("postgres", {"instanceClass": "db.t4g.large"}, "postgres.instanceClass"),
        ("redis", {"multiAz": False}, "redis.multiAz"),
        ("redis", {"snapshotRetentionDays": 0}, "redis.snapshotRetentionDays"),
        ("backups", {"enabled": False}, "backups.enabled"),
        ("backups", {"retentionDays": PROD_BACKUP_RETENTION_FLOOR_DAYS - 1}, "backups.retentionDays"),
    ],
)
def test_prod_floors(key: str, changes: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigError, match=f"stack 'prod': config key '{PROJECT}:{names}'.*allowed in prod"):
        _parse("prod", key, changes)
    # The same value is fine where no floor applies.
    _parse("staging", key, changes if key != "redis" or "multiAz" not in changes else {})


def test_the_refresh_interval_leaves_half_a_rotation_period_of_margin() -> None:
    # One day of rotation: ESO must re-read at least every 12 hours.
    _parse("dev", "postgres", {"rotationDays": 1}, secretRefreshInterval="12h")
    with pytest.raises(ConfigError, match=r"postgres\.rotationDays' = 1: the previous login stays valid"):
        _parse("dev", "postgres", {"rotationDays": 1}, secretRefreshInterval="13h")
    with pytest.raises(ConfigError, match=r"redis\.rotationDays' = 1"):
        _parse("dev", "redis", {"rotationDays": 1}, secretRefreshInterval="13h")


def test_identifier_rule_comes_from_botocore() -> None:
    assert check_identifier("pyairtable-prod-postgres") is None
    for bad in ("1abc", "a--b", "a-", "a_b", "a" * 64):
        assert check_identifier(bad) is not None, bad
    assert matches("elasticache", "UserId", "pyairtable-dev-auth")
    assert not matches("elasticache", "UserId", "pyairtable-dev-../auth")
    assert enum("rds", "DatabaseInsightsMode") == ("standard", "advanced")
    assert matches("backup", "BackupVaultName", "pyairtable-prod-volumes")
    assert not matches("backup", "BackupVaultName", "a" * 51)

"""The data stores' settings: one object-valued config key per store (`postgres`, `redis`, `backups`).

Each model checks what the service refuses (from `components.datastores.limits`) and
`check_floors` adds what prod requires; both run while the stack config is parsed, before any
resource is declared, so a bad value is a `ConfigError` line naming the key.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.config.common import FrozenModel
from components.datastores.limits import capabilities, enum, matches
from components.shared.errors import InvalidKeyError

PROD_BACKUP_RETENTION_FLOOR_DAYS = 7
"""Prod keeps at least a week of point-in-time recovery, snapshots and volume backups."""
PROD_ENVIRONMENT = "prod"


def _allowed(value: object, allowed: object, what: str) -> None:
    if value not in allowed:  # type: ignore[operator]
        raise ValueError(f"{value!r} is not {what}; allowed: {list(allowed)}")  # type: ignore[call-overload]


class PostgresSettings(FrozenModel):
    """Config key `postgres`: the environment's RDS for PostgreSQL instance."""

    engine_version: str = Field(alias="engineVersion")
    """Pinned engine version (minor upgrades are a config change, never automatic)."""
    instance_class: str = Field(alias="instanceClass")
    allocated_storage_gib: int = Field(alias="allocatedStorageGib")
    max_allocated_storage_gib: int = Field(alias="maxAllocatedStorageGib")
    """Storage autoscaling ceiling (equal to allocatedStorageGib: no autoscaling)."""
    multi_az: bool = Field(alias="multiAz")
    backup_retention_days: int = Field(alias="backupRetentionDays")
    """Automated backups and point-in-time recovery window."""
    final_snapshot: bool = Field(alias="finalSnapshot")
    """Take a snapshot when the instance is deleted."""
    database_insights: str = Field(alias="databaseInsights", default="standard")
    performance_insights_retention_days: int = Field(alias="performanceInsightsRetentionDays", default=7)
    monitoring_interval_seconds: int = Field(alias="monitoringIntervalSeconds", default=0)
    """Enhanced Monitoring (OS metrics) interval; 0 turns it off."""
    log_retention_days: int = Field(alias="logRetentionDays")
    """Retention of the exported PostgreSQL logs in CloudWatch Logs."""
    rotation_days: int = Field(alias="rotationDays", ge=1, le=1000)
    """Secrets Manager rotates each service login (alternating two users) every this many days."""
    backup_storage_gib: int = Field(alias="backupStorageGib", default=0, ge=0)
    """Estimated backup storage beyond the free allowance (for the cost output)."""

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str) -> str:
        _allowed(value, capabilities()["postgres"]["engineVersions"], "a pinned RDS PostgreSQL version")
        return value

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not matches("rds", "DBInstanceClass", value):
            raise ValueError(f"{value!r} is not an RDS instance class (db.<family>.<size>)")
        _allowed(value, capabilities()["postgres"]["instanceClasses"], "an instance class offered for PostgreSQL")
        return value

    @field_validator("database_insights")
    @classmethod
    def _insights(cls, value: str) -> str:
        _allowed(value, enum("rds", "DatabaseInsightsMode"), "a Database Insights mode")
        return value

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _insights_retention(cls, value: int) -> int:
        _allowed(value, capabilities()["postgres"]["performanceInsightsRetentionDays"], "a retention RDS accepts")
        return value

    @field_validator("monitoring_interval_seconds")
    @classmethod
    def _monitoring(cls, value: int) -> int:
        _allowed(value, capabilities()["postgres"]["monitoringIntervalSeconds"], "an Enhanced Monitoring interval")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        from components.config.environment import LOG_RETENTION_DAYS  # noqa: PLC0415 (config imports this module)

        _allowed(value, LOG_RETENTION_DAYS, "a CloudWatch Logs retention")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> PostgresSettings:
        table = capabilities()["postgres"]
        storage = table["storageGib"]
        if not storage["min"] <= self.allocated_storage_gib <= storage["max"]:
            raise InvalidKeyError(
                "postgres.allocatedStorageGib",
                self.allocated_storage_gib,
                f"gp3 storage for PostgreSQL is {storage['min']} to {storage['max']} GiB",
            )
        if not self.allocated_storage_gib <= self.max_allocated_storage_gib <= storage["max"]:
            raise InvalidKeyError(
                "postgres.maxAllocatedStorageGib",
                self.max_allocated_storage_gib,
                f"must be between allocatedStorageGib ({self.allocated_storage_gib}) and {storage['max']} GiB",
            )
        retention = table["backupRetentionDays"]
        if not retention["min"] <= self.backup_retention_days <= retention["max"]:
            raise InvalidKeyError(
                "postgres.backupRetentionDays",
                self.backup_retention_days,
                f"automated backups (and point-in-time recovery) keep {retention['min']} to {retention['max']} days",
            )
        advanced = table["advancedInsightsRetentionDays"]
        if self.database_insights == "advanced" and self.performance_insights_retention_days < advanced:
            raise InvalidKeyError(
                "postgres.performanceInsightsRetentionDays",
                self.performance_insights_retention_days,
                f"Database Insights advanced mode needs at least {advanced} days of Performance Insights retention",
            )
        return self

    @property
    def major_version(self) -> int:
        """The engine's major version (the parameter group family is `postgres<major>`)."""
        return int(capabilities()["postgres"]["engineVersions"][self.engine_version]["major"])

    @property
    def vcpus(self) -> int:
        """vCPUs of the instance class (Database Insights advanced is billed per vCPU-hour)."""
        return int(capabilities()["postgres"]["instanceClasses"][self.instance_class]["vcpu"])


class RedisSettings(FrozenModel):
    """Config key `redis`: one ElastiCache replication group per Redis use of the catalog."""

    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = Field(alias="engineVersion")
    node_type: str = Field(alias="nodeType")
    nodes_per_group: int = Field(alias="nodesPerGroup", ge=1, le=6)
    """Primary plus replicas in each replication group (multi-AZ needs at least 2)."""
    multi_az: bool = Field(alias="multiAz")
    """Replicas in other zones with automatic failover."""
    snapshot_retention_days: int = Field(alias="snapshotRetentionDays")
    rotation_days: int = Field(alias="rotationDays", ge=1, le=1000)
    """Secrets Manager rotates each service's cache user (two passwords, no outage) every this many days."""

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        _allowed(value, capabilities()["redis"]["nodeTypes"], "an ElastiCache node type")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> RedisSettings:
        table = capabilities()["redis"]
        versions = table["engineVersions"][self.engine]
        if self.engine_version not in versions:
            raise InvalidKeyError(
                "redis.engineVersion", self.engine_version, f"{self.engine} versions allowed: {list(versions)}"
            )
        if self.multi_az and self.nodes_per_group < 2:
            raise InvalidKeyError(
                "redis.nodesPerGroup",
                self.nodes_per_group,
                "multiAz with automatic failover needs a replica: nodesPerGroup >= 2",
            )
        retention = table["snapshotRetentionDays"]
        if not retention["min"] <= self.snapshot_retention_days <= retention["max"]:
            raise InvalidKeyError(
                "redis.snapshotRetentionDays",
                self.snapshot_retention_days,
                f"ElastiCache keeps automatic snapshots {retention['min']} to {retention['max']} days",
            )
        return self

    @property
    def parameter_group_family(self) -> str:
        """The parameter group family of the engine version (e.g. `redis7`)."""
        return str(capabilities()["redis"]["engineVersions"][self.engine][self.engine_version]["family"])


class BackupSettings(FrozenModel):
    """Config key `backups`: AWS Backup of the environment's persistent volumes (Prometheus)."""

    enabled: bool
    schedule: str = "cron(0 5 * * ? *)"
    """When the daily backup starts (AWS Backup cron, UTC)."""
    retention_days: int = Field(alias="retentionDays", ge=1, le=36500)
    volume_gib_estimate: int = Field(alias="volumeGibEstimate", default=0, ge=0)
    """Estimated incremental backup storage per month (for the cost output)."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        # AWS Backup takes six-field cron expressions (minutes hours day-of-month month day-of-week year).
        if not re.fullmatch(r"cron\((\S+ ){5}\S+\)", value):
            raise ValueError(
                f"{value!r} is not an AWS Backup schedule; allowed: cron(<6 fields>), e.g. cron(0 5 * * ? *)"
            )
        return value


def _seconds(duration: str) -> int:
    """Seconds of an ESO refresh interval (`30m`, `1h`; validated by the environment config)."""
    units = {"s": 1, "m": 60, "h": 3600}
    return int(duration[:-1]) * units[duration[-1]]


def check_floors(
    environment: str,
    *,
    postgres: PostgresSettings,
    redis: RedisSettings,
    backups: BackupSettings,
    refresh_interval: str,
    prometheus_storage_gib: int,
) -> None:
    """Prod's floors, and how rotation relates to ESO's refresh; raises `InvalidKeyError` on the first breach.

    After a rotation the previous login stays valid for one whole rotation period (the other of two
    users, or the second password), so a running pod must see the new value well within it: ESO
    re-reads every refresh interval and Reloader restarts the pods at once. The interval must leave
    at least half of the shortest period as margin.
    """
    for key, days in (("postgres.rotationDays", postgres.rotation_days), ("redis.rotationDays", redis.rotation_days)):
        if timedelta(seconds=_seconds(refresh_interval)) * 2 > timedelta(days=days):
            raise InvalidKeyError(
                key,
                days,
                f"the previous login stays valid for one rotation period; ESO's secretRefreshInterval "
                f"{refresh_interval} must be at most half of it",
            )
    if environment != PROD_ENVIRONMENT:
        return
    floor = PROD_BACKUP_RETENTION_FLOOR_DAYS
    checks = (
        ("postgres.multiAz", postgres.multi_az, postgres.multi_az, "prod runs PostgreSQL Multi-AZ"),
        ("postgres.finalSnapshot", postgres.final_snapshot, postgres.final_snapshot, "prod takes a final snapshot"),
        (
            "postgres.backupRetentionDays",
            postgres.backup_retention_days,
            postgres.backup_retention_days >= floor,
            f"prod keeps at least {floor} days of point-in-time recovery",
        ),
        (
            "postgres.instanceClass",
            postgres.instance_class,
            not capabilities()["postgres"]["instanceClasses"][postgres.instance_class]["burstable"],
            "prod runs a non-burstable class (burstable classes throttle when their CPU credits run out)",
        ),
        ("redis.multiAz", redis.multi_az, redis.multi_az, "prod runs Redis multi-AZ with automatic failover"),
        (
            "redis.snapshotRetentionDays",
            redis.snapshot_retention_days,
            redis.snapshot_retention_days >= floor,
            f"prod keeps at least {floor} days of Redis snapshots",
        ),
        (
            "backups.enabled",
            backups.enabled,
            backups.enabled or prometheus_storage_gib == 0,
            "prod backs up its persistent volumes (Prometheus has a volume)",
        ),
        (
            "backups.retentionDays",
            backups.retention_days,
            backups.retention_days >= floor,
            f"prod keeps volume backups at least {floor} days",
        ),
    )
    for key, value, holds, rule in checks:
        if not holds:
            raise InvalidKeyError(key, value, f"{rule}; allowed in prod: see README 'Data stores'")

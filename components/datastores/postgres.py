"""The environment's PostgreSQL: one RDS instance in the private subnets, reachable from the cluster's pods only.

- Network: a subnet group of the private subnets (no public address), a security group that admits
  PostgreSQL's port from the cluster security group (every managed node, so every pod) and from the
  rotation functions, and nothing else.
- Encryption: storage, Performance Insights and the master secret with the data stores' CMK; TLS
  required by the parameter group (`rds.force_ssl = 1`), with the DBA's logging parameters.
- Master user: managed by RDS (`manage_master_user_password`). RDS keeps the password in its own
  secret `rds!db-...` and rotates it; the value never reaches Pulumi's state, and the secret sits
  outside `pyairtable/<env>/`, so ESO's policy cannot read it and no service gets it.
- Version: pinned (`postgres.engineVersion`); no automatic minor or major upgrade (README: upgrade path).
- Durability: automated backups with point-in-time recovery (`backupRetentionDays`); prod is Multi-AZ,
  deletion-protected, `protect`ed and takes a final snapshot.
- Observability: Database Insights (`databaseInsights`) on Performance Insights, optional Enhanced
  Monitoring, and the `postgresql` and `upgrade` logs exported to log groups declared first with a
  retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.datastores.limits import check_identifier
from components.datastores.network import cluster_only_security_group
from components.datastores.settings import PostgresSettings
from components.shared.errors import ConfigError
from components.shared.iam import service_trust_policy
from components.shared.naming import cluster_name

PORT = 5432
MASTER_USERNAME = "pyairtable_master"
"""The RDS master login (not `postgres` or `admin`): used only by the provisioning Job and the rotation functions."""
LOG_EXPORTS = ("postgresql", "upgrade")
"""The logs a DBA reads: the server log (connections, slow statements, errors) and upgrade runs."""
ENHANCED_MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
"""The RDS certificate authority the server certificate chains to (clients verify it: sslmode=verify-full)."""

PARAMETERS = {
    # TLS only: RDS refuses unencrypted connections.
    "rds.force_ssl": "1",
    # What a DBA expects in the server log.
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
    "log_min_duration_statement": "1000",
    "log_temp_files": "0",
    "log_autovacuum_min_duration": "10000",
    # Passwords hashed with SCRAM only.
    "password_encryption": "scram-sha-256",
}
"""Parameter group settings (all dynamic: applied without a reboot)."""


def instance_identifier(environment: str) -> str:
    """The RDS instance identifier, e.g. `pyairtable-prod` (checked against AWS's identifier rule)."""
    identifier = f"{cluster_name(environment)}-postgres"
    problem = check_identifier(identifier)
    if problem:
        raise ConfigError(f"stack {environment!r}: RDS instance identifier {problem}")
    return identifier


@dataclass(frozen=True)
class PostgresArgs:
    """Inputs of `Postgres`."""

    environment: str
    """Environment name (identifiers and tags)."""
    settings: PostgresSettings
    """The `postgres` config key."""
    vpc_id: pulumi.Input[str]
    """The environment's VPC."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets (one per zone): the only place the instance gets addresses."""
    cluster_security_group_id: pulumi.Input[str]
    """The EKS cluster security group: the pods' source, admitted on the PostgreSQL port."""
    kms_key_arn: pulumi.Input[str]
    """The data stores' customer-managed key."""
    logs_key_arn: pulumi.Input[str]
    """The environment's CloudWatch Logs key: the exported DBA logs are encrypted like every log group."""
    protect: bool
    """Prod: `protect`, deletion protection."""


class Postgres(pulumi.ComponentResource):
    """RDS for PostgreSQL with its subnet group, security group, parameter group, logs and monitoring."""

    address: pulumi.Output[str]
    """Host name of the instance (the endpoint services connect to, port `PORT`)."""
    master_secret_arn: pulumi.Output[str]
    """ARN of the RDS-managed master secret (`rds!db-...`): read only by the provisioning Job and rotation."""
    security_group_id: pulumi.Output[str]
    """The instance's security group; the rotation functions' group gets a rule on it."""
    identifier: str
    """The instance identifier."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:Postgres", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.identifier = instance_identifier(args.environment)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=self.identifier,
            description=f"Private subnets of {cluster_name(args.environment)}",
            subnet_ids=list(args.private_subnet_ids),
            opts=child,
        )
        security_group = cluster_only_security_group(
            name,
            group_name=self.identifier,
            store="PostgreSQL",
            vpc_id=args.vpc_id,
            cluster_security_group_id=args.cluster_security_group_id,
            port=PORT,
            opts=child,
        )
        family = f"postgres{settings.major_version}"
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-parameters",
            name=f"{self.identifier}-{family}",
            family=family,
            description=f"TLS only and DBA logging, {family}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=key, value=value, apply_method="immediate")
                for key, value in PARAMETERS.items()
            ],
            opts=child,
        )
        # Declared before the instance so RDS writes into groups with a retention (it would create
        # them without one, kept for ever).
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{log}",
                name=f"/aws/rds/instance/{self.identifier}/{log}",
                retention_in_days=settings.log_retention_days,
                kms_key_id=args.logs_key_arn,
                opts=child,
            )
            for log in LOG_EXPORTS
        ]
        monitoring_role_arn: pulumi.Input[str] | None = None
        if settings.monitoring_interval_seconds:
            monitoring_role = aws.iam.Role(
                f"{name}-monitoring",
                assume_role_policy=service_trust_policy("monitoring.rds.amazonaws.com"),
                opts=child,
            )
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-monitoring", role=monitoring_role.name, policy_arn=ENHANCED_MONITORING_POLICY_ARN, opts=child
            )
            monitoring_role_arn = pulumi.Output.all(monitoring_role.arn, attachment.id).apply(lambda values: values[0])

        instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=self.identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            # Upgrades are config changes reviewed in a preview (README: PostgreSQL upgrade path).
            auto_minor_version_upgrade=False,
            allow_major_version_upgrade=False,
            instance_class=settings.instance_class,
            storage_type="gp3",
            allocated_storage=settings.allocated_storage_gib,
            max_allocated_storage=settings.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            port=PORT,
            multi_az=settings.multi_az,
            parameter_group_name=parameter_group.name,
            ca_cert_identifier=CA_CERTIFICATE,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            backup_retention_period=settings.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            delete_automated_backups=not args.protect,
            deletion_protection=args.protect,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=f"{self.identifier}-final" if settings.final_snapshot else None,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            database_insights_mode=settings.database_insights,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role_arn,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.protect, depends_on=log_groups)
            ),
        )
        self.address = instance.address
        self.master_secret_arn = instance.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn if secrets and secrets[0].secret_arn else ""
        )
        self.security_group_id = security_group.id
        self.register_outputs(
            {"address": self.address, "identifier": self.identifier, "securityGroupId": security_group.id}
        )

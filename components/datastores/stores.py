"""The environment's data stores as one component: their key, PostgreSQL, Redis, and each service's login."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.datastores.connections import StoreConnection
from components.datastores.counts import DATASTORE_KMS_KEYS
from components.datastores.postgres import PORT as POSTGRES_PORT
from components.datastores.postgres import Postgres, PostgresArgs
from components.datastores.redis import PORT as REDIS_PORT
from components.datastores.redis import Redis, RedisArgs
from components.datastores.settings import PostgresSettings, RedisSettings
from components.shared.catalog import Catalog, SecretStore
from components.shared.kms import (
    GRANT_ACTIONS,
    USER_ACTIONS,
    KeyAccess,
    key_policy,
    rotating_key,
    via_service_user_statement,
)
from components.shared.naming import cluster_name


def database_role(service: str) -> str:
    """The PostgreSQL role and database of a service (`-` is not an unquoted identifier character).

    AWS's multi-user rotation alternates it with `<role>_clone`, which must fit in 63 characters.
    """
    return service.replace("-", "_")


DATASTORE_KEY_SERVICES = ("rds", "elasticache", "backup", "secretsmanager")
"""The AWS services that encrypt with the data stores' key on the account's behalf."""


@dataclass(frozen=True)
class DatastoresArgs:
    """Inputs of `Datastores`."""

    environment: str
    """Environment name."""
    catalog: Catalog
    """Which services log in to PostgreSQL and Redis, and with which Redis use."""
    postgres: PostgresSettings
    """The `postgres` config key."""
    redis: RedisSettings
    """The `redis` config key."""
    aws_provider: aws.Provider
    """The environment's AWS provider."""
    vpc_id: pulumi.Input[str]
    """The environment's VPC."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets."""
    cluster_security_group_id: pulumi.Input[str]
    """The EKS cluster security group (the pods' source)."""
    protect: bool
    """Prod: protect the key, the instance and the replication groups."""
    key_access: KeyAccess
    """Who administers the data stores' key and who alone may schedule its deletion."""
    account_id: str
    """The environment's AWS account (the key serves only its principals)."""
    region: str
    """The environment's region (the services the key serves are regional endpoints)."""
    logs_key_arn: pulumi.Input[str]
    """The environment's CloudWatch Logs key, for the database's exported logs."""


class Datastores(pulumi.ComponentResource):
    """The data stores' KMS key, the PostgreSQL instance and the Redis replication groups."""

    kms_key_arn: pulumi.Output[str]
    """The data stores' customer-managed key (storage, snapshots, the RDS master secret, backups)."""
    postgres: Postgres
    """The PostgreSQL instance."""
    redis: Redis
    """The Redis replication groups and users."""
    connections: dict[tuple[str, SecretStore], StoreConnection]
    """Each service's login coordinates by (service, store), for its secret (`ServiceSecretsArgs.connections`)."""

    def __init__(self, name: str, args: DatastoresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:Datastores", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        # Key users: the account's principals only through the services that store data with it
        # (RDS, ElastiCache, AWS Backup) or keep the RDS master secret (Secrets Manager).
        users = [
            via_service_user_statement(
                f"UseThrough{service.title()}",
                args.account_id,
                f"{service}.{args.region}.amazonaws.com",
                (*USER_ACTIONS, *GRANT_ACTIONS),
            )
            for service in DATASTORE_KEY_SERVICES
        ]
        key = rotating_key(
            f"{name}-key",
            alias=f"alias/{cluster_name(args.environment)}-{DATASTORE_KMS_KEYS[0]}",
            description=f"PostgreSQL, Redis and backups of {cluster_name(args.environment)}",
            policy=json.dumps(key_policy(args.key_access, *users)),
            opts=child,
            protect=args.protect,
        )
        self.kms_key_arn = key.arn
        self.postgres = Postgres(
            f"{name}-postgres",
            PostgresArgs(
                environment=args.environment,
                settings=args.postgres,
                vpc_id=args.vpc_id,
                private_subnet_ids=args.private_subnet_ids,
                cluster_security_group_id=args.cluster_security_group_id,
                kms_key_arn=key.arn,
                logs_key_arn=args.logs_key_arn,
                protect=args.protect,
            ),
            opts=child,
        )
        redis_users = [(service, secret.use) for service, secret in args.catalog.store_users(SecretStore.REDIS)]
        self.redis = Redis(
            f"{name}-redis",
            RedisArgs(
                environment=args.environment,
                settings=args.redis,
                users=[(service, use) for service, use in redis_users if use is not None],
                vpc_id=args.vpc_id,
                private_subnet_ids=args.private_subnet_ids,
                cluster_security_group_id=args.cluster_security_group_id,
                kms_key_arn=key.arn,
                protect=args.protect,
            ),
            opts=child,
        )

        self.connections = {}
        for service, _ in args.catalog.store_users(SecretStore.POSTGRES):
            role = database_role(service.name)
            self.connections[(service.name, SecretStore.POSTGRES)] = StoreConnection(
                store=SecretStore.POSTGRES,
                details={
                    "engine": "postgres",
                    "host": self.postgres.address,
                    "port": POSTGRES_PORT,
                    "dbname": role,
                    "username": role,
                    # Rotation reads the RDS-managed master secret to create and alter the two users.
                    "masterarn": self.postgres.master_secret_arn,
                    # Never fall back to plain text.
                    "ssl": "true",
                },
                initial_password=True,
            )
        for service_name, login in self.redis.users.items():
            self.connections[(service_name, SecretStore.REDIS)] = StoreConnection(
                store=SecretStore.REDIS,
                details={
                    "host": login.host,
                    "port": REDIS_PORT,
                    "username": login.user_name,
                    # The bond AWS's ElastiCache rotation function follows to the user it modifies.
                    "user_arn": login.user.arn,
                },
                initial_password=False,
                ready=[login.user],
            )
        self.register_outputs(
            {"kmsKeyArn": key.arn, "postgresAddress": self.postgres.address, "postgres": self.postgres.identifier}
        )

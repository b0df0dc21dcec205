"""The environment's Redis: one ElastiCache replication group per Redis use, with RBAC users per service.

The catalog marks each service's Redis login with a use (`cache` or `durable`); uses need different
`maxmemory-policy` (a cache evicts, a job queue must not), so each declared use gets its own
replication group and parameter group. Every group:
- sits in the private subnets behind a security group admitting the cluster's pods (and nothing else);
- encrypts in transit (TLS required) and at rest with the data stores' CMK;
- in prod: a replica in another zone with automatic failover, and daily snapshots;
- authenticates through an RBAC user group, never the group-wide AUTH token: a disabled `default`
  user (Redis requires one) and one user per service of that use, whose access is limited to its
  own key prefix `<service>:`. A user holds up to two passwords, which is what lets Secrets Manager
  rotate it without an outage (the new password is added beside the old one; see `rotation.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.datastores.limits import capabilities, check_identifier, matches
from components.datastores.network import cluster_only_security_group
from components.datastores.settings import RedisSettings
from components.shared.catalog import MAXMEMORY_POLICY, RedisUse, Service
from components.shared.errors import ConfigError
from components.shared.naming import cluster_name

PORT = 6379
DISABLED_DEFAULT_ACCESS = "off -@all"
"""The `default` user every user group must contain: switched off, no commands, no keys."""


def replication_group_id(environment: str, use: RedisUse) -> str:
    """Replication group id, e.g. `pyairtable-prod-cache` (checked against ElastiCache's rule)."""
    identifier = f"{cluster_name(environment)}-{use.value}"
    problem = check_identifier(identifier, capabilities()["redis"]["replicationGroupIdMaxLength"])
    if problem:
        raise ConfigError(f"stack {environment!r}: ElastiCache replication group id {problem}")
    return identifier


def user_id(environment: str, service: str) -> str:
    """The ElastiCache user id of a service (unique per account and region, so the environment is in it)."""
    value = f"{cluster_name(environment)}-{service}"
    if not matches("elasticache", "UserId", value):
        raise ConfigError(f"stack {environment!r}: ElastiCache user id {value!r} breaks botocore's UserId pattern")
    return value


def access_string(service: str) -> str:
    """A service's ACL: its own keys and channels (`<service>:*`), every command except the dangerous ones."""
    return f"on ~{service}:* &{service}:* +@all -@dangerous"


@dataclass(frozen=True)
class RedisArgs:
    """Inputs of `Redis`."""

    environment: str
    """Environment name (identifiers)."""
    settings: RedisSettings
    """The `redis` config key."""
    users: Sequence[tuple[Service, RedisUse]]
    """Every service that logs in to Redis, with its use (from the catalog)."""
    vpc_id: pulumi.Input[str]
    """The environment's VPC."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets."""
    cluster_security_group_id: pulumi.Input[str]
    """The EKS cluster security group (the pods' source)."""
    kms_key_arn: pulumi.Input[str]
    """The data stores' customer-managed key."""
    protect: bool
    """Prod: `protect` the replication groups."""


@dataclass(frozen=True)
class RedisUser:
    """One service's cache login, as the secrets and rotation need it."""

    user: aws.elasticache.User
    """The RBAC user (its ARN goes into the service's secret; rotation modifies its passwords)."""
    user_name: str
    """The name the service logs in with (its service name)."""
    host: pulumi.Output[str]
    """Primary endpoint of the replication group of the service's use."""


class Redis(pulumi.ComponentResource):
    """Replication groups per Redis use, their parameter groups, user groups and users."""

    users: dict[str, RedisUser]
    """Each Redis-using service's login, by service name."""
    security_group_id: pulumi.Output[str]
    """The groups' security group; the rotation functions call the ElastiCache API, not Redis."""

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:datastores:Redis", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        base = f"{cluster_name(args.environment)}-redis"

        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            name=base,
            description="Private subnets",
            subnet_ids=list(args.private_subnet_ids),
            opts=child,
        )
        security_group = cluster_only_security_group(
            name,
            group_name=base,
            store="Redis",
            vpc_id=args.vpc_id,
            cluster_security_group_id=args.cluster_security_group_id,
            port=PORT,
            opts=child,
        )
        # Its password is random and the user is switched off: nobody logs in as `default`.
        self._random_options = pulumi.ResourceOptions(
            parent=self, provider=random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        )
        default_password = random.RandomPassword(
            f"{name}-default-password",
            length=capabilities()["redis"]["passwordLength"]["max"] // 2,
            special=False,
            opts=self._random_options,
        )

        self.users = {}
        uses = sorted({use for _, use in args.users}, key=list(RedisUse).index)
        for use in uses:
            group_id = replication_group_id(args.environment, use)
            default_user = aws.elasticache.User(
                f"{name}-{use.value}-default",
                user_id=f"{group_id}-default",
                user_name="default",
                engine=settings.engine,
                access_string=DISABLED_DEFAULT_ACCESS,
                authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                    type="password", passwords=[default_password.result]
                ),
                opts=child,
            )
            users = {
                service.name: self._service_user(name, args, service)
                for service, service_use in args.users
                if service_use is use
            }
            user_group = aws.elasticache.UserGroup(
                f"{name}-{use.value}-users",
                user_group_id=group_id,
                engine=settings.engine,
                user_ids=[default_user.user_id, *(user.user_id for user in users.values())],
                opts=child,
            )
            family = settings.parameter_group_family
            parameter_group = aws.elasticache.ParameterGroup(
                f"{name}-{use.value}-parameters",
                name=f"{group_id}-{family}",
                family=family,
                description=f"maxmemory-policy for {use.value} data",
                parameters=[
                    aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value=MAXMEMORY_POLICY[use])
                ],
                opts=child,
            )
            group = aws.elasticache.ReplicationGroup(
                f"{name}-{use.value}",
                replication_group_id=group_id,
                description=f"Redis for {use.value} data of {cluster_name(args.environment)}",
                engine=settings.engine,
                engine_version=settings.engine_version,
                auto_minor_version_upgrade=False,
                node_type=settings.node_type,
                # The bill counts the same: components/datastores/counts.py redis_node_count.
                num_cache_clusters=settings.nodes_per_group,
                multi_az_enabled=settings.multi_az,
                automatic_failover_enabled=settings.multi_az,
                port=PORT,
                parameter_group_name=parameter_group.name,
                subnet_group_name=subnet_group.name,
                security_group_ids=[security_group.id],
                transit_encryption_enabled=True,
                transit_encryption_mode="required",
                at_rest_encryption_enabled=True,
                kms_key_id=args.kms_key_arn,
                user_group_ids=[user_group.user_group_id],
                snapshot_retention_limit=settings.snapshot_retention_days,
                snapshot_window="03:00-04:00" if settings.snapshot_retention_days else None,
                final_snapshot_identifier=f"{group_id}-final" if args.protect else None,
                maintenance_window="sun:05:00-sun:06:00",
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
            )
            for service_name, user in users.items():
                self.users[service_name] = RedisUser(user, service_name, group.primary_endpoint_address)
        self.security_group_id = security_group.id
        self.register_outputs({"userIds": {key: value.user.user_id for key, value in self.users.items()}})

    def _service_user(self, name: str, args: RedisArgs, service: Service) -> aws.elasticache.User:
        """A service's user. Its first password is a placeholder that never reaches the service: the first
        rotation (at once, see `rotation.py`) replaces it, and later ones are Secrets Manager's, so the
        passwords are ignored here after creation (a `pulumi up` never reverts a rotation)."""
        placeholder = random.RandomPassword(
            f"{name}-{service.name}-initial",
            length=capabilities()["redis"]["passwordLength"]["max"] // 2,
            special=False,
            opts=self._random_options,
        )
        return aws.elasticache.User(
            f"{name}-{service.name}",
            user_id=user_id(args.environment, service.name),
            user_name=service.name,
            engine=args.settings.engine,
            access_string=access_string(service.name),
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[placeholder.result]
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["authenticationMode", "passwords"]),
        )

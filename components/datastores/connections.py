"""How a service's store login is laid out in its secret and its Kubernetes Secret.

A store login lives in ONE Secrets Manager secret as JSON (the layout AWS's rotation functions
read and write), so host, port, database, user and password change together: with two alternating
PostgreSQL users the user name changes at each rotation, and a pod must never pair one user's name
with the other's password. The service's ExternalSecret extracts each JSON property into its own
key of the service's Kubernetes Secret, from the same secret version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.shared.catalog import SecretStore

POSTGRES_KEYS = {"host": "host", "port": "port", "name": "dbname", "user": "username", "password": "password"}
"""Kubernetes Secret key suffix -> JSON property of a PostgreSQL login (AWS's RDS rotation layout)."""
REDIS_KEYS = {"host": "host", "port": "port", "user": "username", "password": "password"}
"""Kubernetes Secret key suffix -> JSON property of a Redis login (AWS's ElastiCache user rotation layout)."""
KEYS = {SecretStore.POSTGRES: POSTGRES_KEYS, SecretStore.REDIS: REDIS_KEYS}


def key_prefix(secret_name: str) -> str:
    """`database-password` -> `database`: the Kubernetes keys are `database-host`, `database-user`, ..."""
    return secret_name.removesuffix("-password")


@dataclass(frozen=True)
class StoreConnection:
    """Where one service's login points, known before any password exists."""

    store: SecretStore
    """PostgreSQL or Redis."""
    details: Mapping[str, pulumi.Input[str | int]]
    """The JSON properties other than the password (host, port, user, and what rotation needs)."""
    initial_password: bool
    """Whether the first version carries a password. PostgreSQL: yes, the provisioning Job creates the
    role with it, and rotation needs a working current login. Redis: no, the first rotation sets one."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """Resources the login's secret version must wait for (the server objects it names)."""

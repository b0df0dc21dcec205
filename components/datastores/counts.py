"""How many of each billable data-store thing an environment declares: the components and the bill use the same rules.

`components/cost/bill_of_materials.py` prices these counts; `Postgres`, `Redis`, `Datastores` and
`VolumeBackups` declare the resources they count (tests/cost/test_bill_matches_plan.py holds the two
together).
"""

from __future__ import annotations

import math

from components.datastores.limits import capabilities
from components.datastores.settings import BackupSettings, PostgresSettings, RedisSettings
from components.shared.catalog import Catalog, RedisUse

DATASTORE_KMS_KEYS = ("datastores",)
"""The data stores' customer-managed key: storage, snapshots, the RDS master secret and backups."""


def postgres_standby_count(settings: PostgresSettings) -> int:
    """Multi-AZ runs a standby of the same class in another zone (billed like the primary)."""
    return 1 if settings.multi_az else 0


def postgres_storage_gib(settings: PostgresSettings) -> int:
    """Provisioned gp3 storage of the primary (the standby's is the same again)."""
    return settings.allocated_storage_gib


def redis_uses(catalog: Catalog) -> tuple[RedisUse, ...]:
    """The replication groups: one per Redis use of the catalog."""
    return catalog.redis_uses()


def redis_node_count(settings: RedisSettings, catalog: Catalog) -> int:
    """Cache nodes: `nodesPerGroup` in each replication group."""
    return len(redis_uses(catalog)) * settings.nodes_per_group


def redis_snapshot_gib(settings: RedisSettings, catalog: Catalog) -> int:
    """Upper bound of snapshot storage beyond the free one per group: full node memory per extra retained day."""
    memory = capabilities()["redis"]["nodeTypes"][settings.node_type]["memoryGib"]
    extra_days = max(0, settings.snapshot_retention_days - 1)
    return math.ceil(len(redis_uses(catalog)) * extra_days * memory)


def volume_backup_gib(settings: BackupSettings) -> int:
    """Estimated AWS Backup storage of the volumes (`backups.volumeGibEstimate`), when backups are on."""
    return settings.volume_gib_estimate if settings.enabled else 0

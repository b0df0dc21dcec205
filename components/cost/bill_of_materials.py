"""How many of each billable thing a stack declares, derived from its config and the catalog.

The first step of the bill, which flows one way: this module counts (`environment_items`,
`org_items`), `prices.PriceTable.quote` prices each item's `PriceRef`, and `bill` adds. Nothing here
reads a price. The counting rules are the single source for both the `cost` output and the components
that declare the resources, so the bill cannot drift from what is declared: a component that creates
NAT gateways asks `nat_gateway_count`, and the bill prices the same number
(tests/cost/test_bill_matches_plan.py holds every item to the plan).

To bill a new capability: give it a counting function here (or in its package, imported here) that
its component uses too, add the figure under `regions.<region>.rates.<name>` (or `github.rates`) of
data/prices.yaml with source and date, append a `LineItem(..., Rate("<name>"), ...)` in
`environment_items` / `org_items`, and hold its quantity to the plan in test_bill_matches_plan.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from components.config.environment import CapacityStrategy, EnvironmentConfig, NatGateways, Reservation
from components.config.org import OrgConfig
from components.cost.prices import (
    ControlPlane,
    GitHubSeat,
    OnDemandNodes,
    PriceRef,
    Rate,
    ReservedNodes,
    SpotNodes,
)
from components.datastores import counts as datastores
from components.network.nat_instance import ROOT_VOLUME_GIB as NAT_INSTANCE_ROOT_GIB
from components.registry.cost import (
    ACTIONS_INCLUDED_MINUTES,
    CREDENTIAL_SECRETS_PER_ENVIRONMENT,
    billed_publishing_minutes,
    publishing_minutes,
)
from components.shared.catalog import Catalog
from components.shared.naming import GRAFANA_ADMIN_SECRET
from components.traffic.billing import (
    WAF_MANAGED_RULE_GROUPS,
    certificate_alarm_count,
    hosted_zone_count,
    load_balancer_count,
    web_acl_count,
)

KMS_KEYS_PER_ENVIRONMENT = ("eks-secrets", "secrets-manager", "logs", *datastores.DATASTORE_KMS_KEYS)
"""The customer-managed KMS keys of an environment: the EKS secrets envelope key, the Secrets Manager key,
the CloudWatch Logs key and the data stores' key."""


@dataclass(frozen=True)
class NodeGroup:
    """One EKS managed node group as the stack declares it."""

    role: Literal["spot", "on-demand-base", "reserved"]
    """Why the group exists: the spot capacity, the on-demand base under it (mixed), or reserved on-demand nodes."""
    capacity_type: Literal["SPOT", "ON_DEMAND"]
    """The node group's `capacityType`, as EKS spells it."""
    instance_types: tuple[str, ...]
    """Instance types of the group, in priority order (on-demand groups launch the first)."""
    min_size: int
    """Fewest nodes."""
    desired_size: int
    """Desired nodes of the group (what the bill counts)."""
    max_size: int
    """Most nodes."""

    @property
    def capacity_label(self) -> str:
        """The value of the `pyairtable.io/capacity-type` node label: `spot` or `on-demand`."""
        return "spot" if self.capacity_type == "SPOT" else "on-demand"


@dataclass(frozen=True)
class ReservationCoverage:
    """How much of one reservation the node group uses."""

    reservation: Reservation
    """The declared reservation."""
    covered_nodes: int
    """Nodes of the reserved node group this reservation covers."""

    @property
    def unused(self) -> int:
        """Reserved instances bought but running nothing (still billed for the whole term)."""
        return self.reservation.count - self.covered_nodes


def control_plane_count(config: EnvironmentConfig) -> int:
    """EKS control planes: one cluster per environment, always on standard support."""
    del config  # one per environment, whatever the config says
    return 1


def node_groups(config: EnvironmentConfig) -> tuple[NodeGroup, ...]:
    """The managed node groups of the cluster, per `capacityStrategy`: the layout the `NodeGroups`
    component declares and the bill prices (config has already validated the combination).

    spot: one SPOT group sized by `nodes` across `nodes.instanceTypes`; mixed: a fixed ON_DEMAND base
    of `onDemandBaseCount` nodes of `nodes.instanceTypes[0]` (it keeps the environment up through a
    wave of spot interruptions) plus that SPOT group; reserved: one ON_DEMAND group sized by `nodes`
    of the reserved types (EKS launches on-demand nodes from the first listed type).
    """
    nodes = config.nodes
    sizes = (nodes.min_size, nodes.desired_size, nodes.max_size)
    spot = NodeGroup("spot", "SPOT", nodes.instance_types, *sizes)
    if config.capacity_strategy is CapacityStrategy.SPOT:
        return (spot,)
    if config.capacity_strategy is CapacityStrategy.MIXED:
        base_count = config.on_demand_base_count
        base = NodeGroup("on-demand-base", "ON_DEMAND", nodes.instance_types[:1], base_count, base_count, base_count)
        return (base, spot)
    return (NodeGroup("reserved", "ON_DEMAND", nodes.instance_types, *sizes),)


def node_count(config: EnvironmentConfig) -> int:
    """Desired nodes of every node group together."""
    return sum(group.desired_size for group in node_groups(config))


def root_volume_gib(config: EnvironmentConfig) -> int:
    """GiB of encrypted gp3 root volumes: one of `nodes.diskSizeGib` per node."""
    return node_count(config) * config.nodes.disk_size_gib


def reservation_coverage(config: EnvironmentConfig) -> tuple[ReservationCoverage, ...]:
    """Each declared reservation and the reserved group's nodes it covers, in config order.

    Reservations cover the group's desired nodes up to their count (`config.reserved_node_count`);
    a reservation of a type the group does not run covers nothing. Nodes left over are
    `config.uncovered_node_count`.
    """
    remaining = node_count(config) if config.capacity_strategy is CapacityStrategy.RESERVED else 0
    coverage = []
    for reservation in config.reservations:
        covered = min(remaining, reservation.count) if reservation.instance_type in config.nodes.instance_types else 0
        remaining -= covered
        coverage.append(ReservationCoverage(reservation, covered))
    return tuple(coverage)


def nat_gateway_count(config: EnvironmentConfig) -> int:
    """Managed NAT gateways: one shared (`single`), one per availability zone (`perAz`), else none."""
    if config.nat_gateways is NatGateways.SINGLE:
        return 1
    return len(config.availability_zones) if config.nat_gateways is NatGateways.PER_AZ else 0


def nat_instance_count(config: EnvironmentConfig) -> int:
    """NAT instances (components/network/nat_instance.py): one with `natGateways: instance`, else none."""
    return 1 if config.nat_gateways is NatGateways.INSTANCE else 0


def public_ipv4_count(config: EnvironmentConfig) -> int:
    """Public IPv4 addresses: one Elastic IP per NAT gateway or NAT instance (the cluster endpoint's is AWS's)."""
    return nat_gateway_count(config) + nat_instance_count(config)


def budget_count(config: EnvironmentConfig) -> int:
    """AWS Budgets of the environment (components/cost/budget.py): one monthly cost budget."""
    del config  # one per environment
    return 1


def prometheus_volume_gib(config: EnvironmentConfig) -> int:
    """GiB of gp3 Prometheus volumes: `prometheusReplicas` x `prometheusStorageGib` (0: no volume)."""
    return config.prometheus_replicas * config.prometheus_storage_gib


def monitoring_secret_names(config: EnvironmentConfig) -> tuple[str, ...]:
    """Secrets Manager secrets of the monitoring stack: Grafana's admin login and one per alert receiver."""
    return (GRAFANA_ADMIN_SECRET, *(receiver.name for receiver in config.alert_receivers))


def service_secret_count(catalog: Catalog) -> int:
    """Secrets Manager secrets of the services: what each deployable service owns (a shared secret is
    its owner's; a key pair is two, private and public)."""
    return sum(len(service.stored_secret_names) for service in catalog.deployable)


def secret_count(config: EnvironmentConfig, catalog: Catalog) -> int:
    """Every Secrets Manager secret of the environment: the services', the monitoring ones and the registry's."""
    return service_secret_count(catalog) + len(monitoring_secret_names(config)) + CREDENTIAL_SECRETS_PER_ENVIRONMENT


def kms_key_count(config: EnvironmentConfig) -> int:
    """Customer-managed KMS keys of the environment (see `KMS_KEYS_PER_ENVIRONMENT`)."""
    del config  # the same keys in every environment
    return len(KMS_KEYS_PER_ENVIRONMENT)


def interface_endpoint_count(config: EnvironmentConfig) -> int:
    """Interface endpoint network interfaces: one per configured interface endpoint and zone (the S3
    gateway endpoint has no hourly price)."""
    return len(config.network.interface_endpoints) * len(config.availability_zones)


@dataclass(frozen=True)
class LineItem:
    """One counted line of a bill: what, how many, and the price it needs (not the price itself)."""

    item: str
    """The line's name, stable across changes (reports and diffs match lines by it)."""
    quantity: int
    """How many units the stack declares or is estimated to use."""
    unit: str
    """What one unit is, e.g. `node-month` or `GB`."""
    price: PriceRef
    """Which figure of the price table prices one unit."""
    note: str = ""
    """Where the quantity comes from (config keys, the catalog)."""
    running_share: Decimal = Decimal(1)
    """Share of the month the units run: below 1 under dev's off-hours schedule (`scaling.offHours`)."""


def node_running_share(config: EnvironmentConfig) -> Decimal:
    """Share of the month the nodes (and their root volumes) exist: the working hours of `scaling.offHours`,
    or all of it. The schedule scales every node group to zero outside them."""
    off_hours = config.scaling.off_hours
    return Decimal(1) if off_hours is None else Decimal(str(round(off_hours.running_share, 4)))


GITHUB_ADD_ONS = {"secretProtection": "GitHub Secret Protection", "codeSecurity": "GitHub Code Security"}
"""The line of each paid add-on of `github.addOns` (its price is `github.rates.<add-on>`)."""


def active_committers(config: OrgConfig) -> int:
    """Committers an add-on is billed for: every distinct configured person (an upper estimate;
    GitHub counts those who pushed to a private repository in the last 90 days)."""
    return len({login.casefold() for login in config.all_logins()})


def org_items(config: OrgConfig) -> list[LineItem]:
    """The org stack's bill of materials: the GitHub plan's seats (Enterprise seats included), the
    paid add-ons per active committer, and the container registry."""
    add_ons = [
        LineItem(
            GITHUB_ADD_ONS[add_on],
            active_committers(config),
            "committer-month",
            Rate(add_on, scope="github", cite_notes=True),
            f"github.addOns {add_on}; committers estimated as the distinct people of teams and owners",
        )
        for add_on in sorted(set(config.github.add_ons))
    ]
    return [
        LineItem(
            f"GitHub {config.github_plan} plan",
            config.github_seats,
            "seat-month",
            GitHubSeat(config.github_plan),
            f"githubPlan {config.github_plan}, githubSeats {config.github_seats} (people and the registry "
            f"machine user {config.registry.machine_user})",
        ),
        *add_ons,
        LineItem(
            "GitHub Container Registry (ghcr.io)",
            1,
            "organization-month",
            Rate("containerRegistry", scope="github", cite_notes=True),
        ),
        LineItem(
            "GitHub Actions minutes publishing images",
            billed_publishing_minutes(config.registry, config.github_plan),
            "minute",
            Rate("actionsLinuxMinute", scope="github"),
            f"registry.publishing: {publishing_minutes(config.registry)} minutes "
            f"({config.registry.publishing.builds_per_month} builds x {config.registry.publishing.minutes_per_build}) "
            f"beyond the {ACTIONS_INCLUDED_MINUTES[config.github_plan]} the {config.github_plan} plan includes "
            "(CI draws from them too: a floor)",
        ),
    ]


def environment_items(config: EnvironmentConfig, catalog: Catalog) -> list[LineItem]:
    """An environment stack's bill of materials, in the order the bill lists it."""
    items = [
        LineItem(
            "EKS control plane",
            control_plane_count(config),
            "cluster-month",
            ControlPlane(),
            f"standard support (Kubernetes {config.kubernetes_version})",
        ),
        *_node_group_items(config),
        LineItem(
            "node root volumes (gp3)",
            root_volume_gib(config),
            "GB-month",
            Rate("ebsGp3"),
            f"{node_count(config)} nodes x {config.nodes.disk_size_gib} GiB, encrypted",
            running_share=node_running_share(config),
        ),
    ]
    items += _egress_items(config)
    if prometheus_volume_gib(config):
        items.append(
            LineItem(
                "Prometheus volumes (gp3)",
                prometheus_volume_gib(config),
                "GB-month",
                Rate("ebsGp3"),
                f"prometheusReplicas {config.prometheus_replicas} x "
                f"prometheusStorageGib {config.prometheus_storage_gib} GiB",
            )
        )
    monitoring_secrets = monitoring_secret_names(config)
    items += [
        LineItem(
            "Secrets Manager secrets",
            secret_count(config, catalog),
            "secret-month",
            Rate("secretsManagerSecret"),
            f"{service_secret_count(catalog)} service secrets of {len(catalog.deployable)} deployable services + "
            f"{len(monitoring_secrets)} monitoring ({', '.join(monitoring_secrets)}) + "
            f"{CREDENTIAL_SECRETS_PER_ENVIRONMENT} registry pull credential",
        ),
        LineItem(
            "KMS keys",
            kms_key_count(config),
            "key-month",
            Rate("kmsKey"),
            f"customer-managed: {', '.join(KMS_KEYS_PER_ENVIRONMENT)}",
        ),
        *_traffic_items(config, catalog),
        *_datastore_items(config, catalog),
        *(
            [
                LineItem(
                    "VPC interface endpoints",
                    interface_endpoint_count(config),
                    "endpoint-AZ-month",
                    Rate("vpcEndpoint", hourly=True),
                    f"network.vpcEndpoints {', '.join(s.value for s in config.network.interface_endpoints)} x "
                    f"{len(config.availability_zones)} zones; data processed is not priced",
                )
            ]
            if interface_endpoint_count(config)
            else []
        ),
        LineItem(
            "ECR pull-through cache storage",
            config.registry.cache.stored_gib,
            "GB-month",
            Rate("ecrStorage"),
            f"estimate from registry.cache.storedGib (at most {config.registry.cache.keep_images_per_repository} "
            f"images per service, a lifecycle rule)",
        ),
        LineItem(
            "CloudWatch Logs ingestion",
            config.log_ingestion_gib_per_month,
            "GB",
            Rate("cloudwatchLogsIngestion"),
            "estimate from logIngestionGibPerMonth (control-plane and flow logs); storage is not priced",
        ),
        LineItem(
            "AWS Budgets budget",
            budget_count(config),
            "budget-month",
            Rate("awsBudget", cite_notes=True),
            f"budgetUsd {config.budget_usd}, forecast and actual alerts",
        ),
    ]
    if config.delivery.runner_project_count:
        items.append(
            LineItem(
                "CI runners in the VPC (CodeBuild)",
                config.delivery.build_minutes_per_month,
                "build-minute",
                Rate("codebuildLinux", variant=config.delivery.runner_compute_type),
                f"delivery.path codebuild, estimate from delivery.buildMinutesPerMonth; "
                f"{config.delivery.runner_compute_type}, billed per minute, nothing while idle",
            )
        )
    return items


def _traffic_items(config: EnvironmentConfig, catalog: Catalog) -> list[LineItem]:
    """The ALB (hours and estimated capacity units), the Route 53 zone and its queries, the WAF, the alarm."""
    traffic = config.traffic
    items = []
    load_balancers = load_balancer_count(catalog)
    if load_balancers:
        public = ", ".join(service.name for service in catalog.public)
        items += [
            LineItem(
                "application load balancer",
                load_balancers,
                "load-balancer-month",
                Rate("albHour", hourly=True),
                f"internet-facing, for {public}",
            ),
            LineItem(
                "load balancer capacity units",
                load_balancers * traffic.load_balancer_capacity_units,
                "LCU-month",
                Rate("albLcuHour", hourly=True),
                "estimate from traffic.loadBalancerCapacityUnits (average LCUs per hour)",
            ),
        ]
    items += [
        LineItem(
            "Route 53 hosted zone",
            hosted_zone_count(config),
            "zone-month",
            Rate("route53HostedZone"),
            traffic.zone_name(config.environment),
        ),
        LineItem(
            "Route 53 queries",
            traffic.dns_queries_millions_per_month,
            "million queries",
            Rate("route53Queries"),
            "estimate from traffic.dnsQueriesMillionsPerMonth (standard queries; alias queries to the ALB are free)",
        ),
    ]
    acls = web_acl_count(config)
    if acls:
        items += [
            LineItem(
                "WAF web ACL", acls, "web-ACL-month", Rate("wafWebAcl"), "on the ALB (traffic.webApplicationFirewall)"
            ),
            LineItem(
                "WAF rules",
                acls * len(WAF_MANAGED_RULE_GROUPS),
                "rule-month",
                Rate("wafRule"),
                ", ".join(WAF_MANAGED_RULE_GROUPS),
            ),
            LineItem(
                "WAF requests",
                traffic.waf_requests_millions_per_month,
                "million requests",
                Rate("wafRequests"),
                "estimate from traffic.wafRequestsMillionsPerMonth",
            ),
        ]
    items.append(
        LineItem(
            "certificate expiry alarm",
            certificate_alarm_count(config),
            "alarm-month",
            Rate("cloudwatchAlarm"),
            "CloudWatch alarm on the certificate's DaysToExpiry",
        )
    )
    return items


def _datastore_items(config: EnvironmentConfig, catalog: Catalog) -> list[LineItem]:
    """PostgreSQL (instance, Multi-AZ standby, storage, backups beyond the free allowance, Database
    Insights), Redis (nodes, snapshots beyond the free one) and volume backups (docs/cost.md)."""
    postgres, redis = config.postgres, config.redis
    standby = datastores.postgres_standby_count(postgres)
    storage = datastores.postgres_storage_gib(postgres)
    items = [
        LineItem(
            "PostgreSQL instance",
            1,
            "instance-month",
            Rate("rdsPostgresInstance", postgres.instance_class, hourly=True),
            f"{postgres.instance_class}, PostgreSQL {postgres.engine_version}",
        ),
        LineItem(
            "PostgreSQL storage (gp3)",
            storage,
            "GB-month",
            Rate("rdsGp3Storage"),
            "postgres.allocatedStorageGib; gp3 has no per-I/O charge (3,000 IOPS baseline included)",
        ),
    ]
    if standby:
        items += [
            LineItem(
                "PostgreSQL Multi-AZ standby",
                standby,
                "instance-month",
                Rate("rdsPostgresInstance", postgres.instance_class, hourly=True),
                "postgres.multiAz: a synchronous standby of the same class in another zone",
            ),
            LineItem(
                "PostgreSQL Multi-AZ standby storage (gp3)",
                standby * storage,
                "GB-month",
                Rate("rdsGp3Storage"),
                "the standby's copy of the storage",
            ),
        ]
    if postgres.backup_storage_gib:
        items.append(
            LineItem(
                "PostgreSQL backups beyond the free allowance",
                postgres.backup_storage_gib,
                "GB-month",
                Rate("rdsBackupStorage"),
                f"estimate from postgres.backupStorageGib ({postgres.backup_retention_days} days of point-in-time "
                "recovery; backups up to the provisioned storage are free)",
            )
        )
    if postgres.database_insights == "advanced":
        items.append(
            LineItem(
                "Database Insights (advanced)",
                postgres.vcpus * (1 + standby),
                "vCPU-month",
                Rate("rdsDatabaseInsightsAdvanced", hourly=True),
                "postgres.databaseInsights advanced; standard mode is free",
            )
        )
    engine = "Valkey" if redis.engine == "valkey" else "Redis"
    items.append(
        LineItem(
            f"{engine} nodes",
            datastores.redis_node_count(redis, catalog),
            "node-month",
            Rate(f"elasticache{engine}Node", redis.node_type, hourly=True),
            f"{len(datastores.redis_uses(catalog))} replication groups "
            f"({', '.join(use.value for use in datastores.redis_uses(catalog))}) x redis.nodesPerGroup "
            f"{redis.nodes_per_group} {redis.node_type}",
        )
    )
    snapshot_gib = datastores.redis_snapshot_gib(redis, catalog)
    if snapshot_gib:
        items.append(
            LineItem(
                f"{engine} snapshots beyond the free one",
                snapshot_gib,
                "GB-month",
                Rate("elasticacheSnapshotStorage"),
                f"upper bound: full node memory for each of redis.snapshotRetentionDays "
                f"{redis.snapshot_retention_days} - 1 days per group",
            )
        )
    backup_gib = datastores.volume_backup_gib(config.backups)
    if backup_gib:
        items.append(
            LineItem(
                "volume backups (AWS Backup)",
                backup_gib,
                "GB-month",
                Rate("backupEbsSnapshot"),
                f"estimate from backups.volumeGibEstimate, kept backups.retentionDays {config.backups.retention_days}",
            )
        )
    return items


def _egress_items(config: EnvironmentConfig) -> list[LineItem]:
    """How the private subnets reach the internet: managed NAT gateways, or a NAT instance, or nothing."""
    items = []
    nat_count = nat_gateway_count(config)
    if nat_count:
        items.append(
            LineItem(
                "NAT gateways",
                nat_count,
                "gateway-month",
                Rate("natGateway", hourly=True),
                f"natGateways {config.nat_gateways.value}"
                + ("" if nat_count == 1 else f": one per zone of {len(config.availability_zones)}"),
            )
        )
    if nat_instance_count(config):
        items += [
            LineItem(
                f"NAT instance ({config.nat_instance_type})",
                nat_instance_count(config),
                "instance-month",
                OnDemandNodes(config.nat_instance_type, key="natInstanceType"),
                "natGateways instance: one on-demand instance in the first zone",
            ),
            LineItem(
                "NAT instance root volume (gp3)",
                nat_instance_count(config) * NAT_INSTANCE_ROOT_GIB,
                "GB-month",
                Rate("ebsGp3"),
                f"{NAT_INSTANCE_ROOT_GIB} GiB, encrypted",
            ),
        ]
    if public_ipv4_count(config):
        items.append(
            LineItem(
                "public IPv4 addresses",
                public_ipv4_count(config),
                "address-month",
                Rate("publicIpv4", hourly=True),
                "one Elastic IP per NAT gateway or NAT instance",
            )
        )
    if nat_count:
        items.append(
            LineItem(
                "NAT data processed",
                config.nat_data_gib_per_month,
                "GB",
                Rate("natDataProcessed"),
                "estimate from natDataGibPerMonth; internet data transfer out is not priced",
            )
        )
    return items


def _node_group_items(config: EnvironmentConfig) -> list[LineItem]:
    """The nodes of each group: spot at the mean of its types, on-demand, or covered by reservations."""
    items = []
    for group in node_groups(config):
        if group.capacity_type == "SPOT":
            items.append(
                LineItem(
                    "node group spot",
                    group.desired_size,
                    "node-month",
                    SpotNodes(group.instance_types, config.spot_savings_percent),
                    f"SPOT across {', '.join(group.instance_types)}, priced at the mean of the types' spot prices "
                    "(on-demand x (1 - savings))",
                    running_share=node_running_share(config),
                )
            )
        elif group.role == "reserved":
            items += _reserved_items(config, group)
        else:
            instance_type = group.instance_types[0]
            items.append(
                LineItem(
                    f"node group {group.role}",
                    group.desired_size,
                    "node-month",
                    OnDemandNodes(instance_type),
                    f"ON_DEMAND {instance_type} (onDemandBaseCount {group.desired_size})",
                    running_share=node_running_share(config),
                )
            )
    return items


def _reserved_items(config: EnvironmentConfig, group: NodeGroup) -> list[LineItem]:
    """Covered nodes per reservation, reserved instances that run nothing, and uncovered nodes on-demand."""
    items = []
    uncovered = config.uncovered_node_count
    for coverage in reservation_coverage(config):
        reservation = coverage.reservation
        instance_type, term, option = reservation.instance_type, reservation.term_years, reservation.payment_option
        items.append(
            LineItem(
                f"node group reserved ({instance_type}, {term}-year {option.value})",
                coverage.covered_nodes,
                "node-month",
                ReservedNodes(instance_type, term, option.value),
                f"ON_DEMAND nodes covered by a reservation of {reservation.count}; {coverage.covered_nodes} of "
                f"{group.desired_size} nodes covered, {uncovered} uncovered",
            )
        )
        if coverage.unused:
            items.append(
                LineItem(
                    f"reserved instances unused ({instance_type})",
                    coverage.unused,
                    "instance-month",
                    ReservedNodes(instance_type, term, option.value, running=False),
                    f"{coverage.unused} of {reservation.count} reserved instances run no node but are billed "
                    "for the term",
                )
            )
    if uncovered:
        instance_type = group.instance_types[0]
        items.append(
            LineItem(
                "node group reserved: uncovered on-demand",
                uncovered,
                "node-month",
                OnDemandNodes(instance_type),
                f"{uncovered} of {group.desired_size} nodes uncovered by reservations, at the on-demand "
                f"price of {instance_type} (the group's first type)",
                running_share=node_running_share(config),
            )
        )
    return items

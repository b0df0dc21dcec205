"""How many of each billable thing an environment stack declares, derived from its config and the catalog.

These counting rules are the single source for both the `cost` output (components/cost.py) and the
components that declare the resources, so the bill cannot drift from what is declared: a component
that creates NAT gateways asks `nat_gateway_count`, and the bill prices the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.config.environment import CapacityStrategy, EnvironmentConfig, NatGateways, Reservation
from components.shared.catalog import Catalog
from components.shared.naming import GRAFANA_ADMIN_SECRET

KMS_KEYS_PER_ENVIRONMENT = ("eks-secrets", "secrets-manager")
"""The customer-managed KMS keys of an environment: the EKS secrets envelope key and the Secrets Manager key."""


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
    """NAT gateways: one shared (`natGateways: single`) or one per availability zone (`perAz`)."""
    return 1 if config.nat_gateways is NatGateways.SINGLE else len(config.availability_zones)


def public_ipv4_count(config: EnvironmentConfig) -> int:
    """Public IPv4 addresses: one Elastic IP per NAT gateway (the cluster endpoint's is AWS's)."""
    return nat_gateway_count(config)


def prometheus_volume_gib(config: EnvironmentConfig) -> int:
    """GiB of gp3 Prometheus volumes: `prometheusReplicas` x `prometheusStorageGib` (0: no volume)."""
    return config.prometheus_replicas * config.prometheus_storage_gib


def monitoring_secret_names(config: EnvironmentConfig) -> tuple[str, ...]:
    """Secrets Manager secrets of the monitoring stack: Grafana's admin login and one per alert receiver."""
    return (GRAFANA_ADMIN_SECRET, *(receiver.name for receiver in config.alert_receivers))


def service_secret_count(catalog: Catalog) -> int:
    """Secrets Manager secrets of the services: one per catalog secret of each deployable service."""
    return sum(len(service.secrets) for service in catalog.deployable)


def secret_count(config: EnvironmentConfig, catalog: Catalog) -> int:
    """Every Secrets Manager secret of the environment: the services' plus the monitoring ones."""
    return service_secret_count(catalog) + len(monitoring_secret_names(config))


def kms_key_count(config: EnvironmentConfig) -> int:
    """Customer-managed KMS keys of the environment (see `KMS_KEYS_PER_ENVIRONMENT`)."""
    del config  # the same keys in every environment
    return len(KMS_KEYS_PER_ENVIRONMENT)

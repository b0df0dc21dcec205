"""The `cost` stack output: the monthly bill of what a stack declares, priced from data/prices.yaml.

`compute_bill` is a pure function of the stack's config, the catalog and the price table. It counts
with components/bill_of_materials.py, the same rules the components declare resources with, so the
bill follows the declared resources. Output shape (a public interface, see docs/cost.md):

    {"currency": "USD", "region": <AWS region, or "global" for the org stack>, "pricesAsOf": <oldest
     asOf of the figures used>, "monthlyUsd", "onDemandMonthlyUsd", "savingsPercent", "budgetUsd",
     "overBudget", "items": [{"item", "quantity", "unit", "unitPriceUsd", "monthlyUsd", "note"}]}

Money is computed in decimal and rounded to cents per item (half up); the totals are the sums of the
rounded items, so the table adds up. A month is the table's `hoursPerMonth` (730) hours.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from components.config.common import PROJECT
from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import StackConfig
from components.cost import bill_of_materials as bom
from components.cost.prices import Price, PriceTable, RegionPrices, UnpricedError
from components.shared.catalog import Catalog
from components.shared.errors import ConfigError

ORG_REGION = "global"
"""The `region` of the org stack's bill: GitHub bills the organization, not an AWS region."""

CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _usd(price: Price) -> Decimal:
    return Decimal(str(price.usd))


@dataclass(frozen=True)
class _Line:
    """One bill item, with what the same capacity would cost all on-demand."""

    item: str
    quantity: int
    unit: str
    unit_price: Decimal
    note: str
    on_demand_unit_price: Decimal | None = None
    """The on-demand price of the same unit when it differs (discounted capacity); None: the same."""

    @property
    def monthly(self) -> Decimal:
        return _money(self.quantity * self.unit_price)

    @property
    def on_demand_monthly(self) -> Decimal:
        price = self.unit_price if self.on_demand_unit_price is None else self.on_demand_unit_price
        return _money(self.quantity * price)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "quantity": self.quantity,
            "unit": self.unit,
            "unitPriceUsd": float(self.unit_price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "monthlyUsd": float(self.monthly),
            "note": self.note,
        }


class _Priced:
    """Records which figures a bill used, for `pricesAsOf`."""

    def __init__(self, hours_per_month: int) -> None:
        self.hours = Decimal(hours_per_month)
        self.dates: list[datetime.date] = []

    def per_unit(self, price: Price) -> Decimal:
        self.dates.append(price.as_of)
        return _usd(price)

    def per_month(self, price: Price) -> Decimal:
        """An hourly price times the hours of a month."""
        return self.per_unit(price) * self.hours


def compute_bill(config: StackConfig, catalog: Catalog, prices: PriceTable) -> dict[str, Any]:
    """The stack's monthly bill in the `cost` output shape (see the module docstring).

    Raises `ConfigError` naming the stack and key when the price table lacks a figure the config needs.
    """
    try:
        if isinstance(config, OrgConfig):
            return _org_bill(config, prices)
        return _environment_bill(config, catalog, prices)
    except UnpricedError as error:
        raise ConfigError(
            f"stack {config.stack!r}: config key '{PROJECT}:{error.key}' = {error.value!r}: {error.message}"
        ) from None


def _bill(region: str, priced: _Priced, budget_usd: int, lines: list[_Line]) -> dict[str, Any]:
    monthly = sum((line.monthly for line in lines), Decimal(0))
    on_demand = sum((line.on_demand_monthly for line in lines), Decimal(0))
    savings = (on_demand - monthly) / on_demand * 100 if on_demand else Decimal(0)
    return {
        "currency": "USD",
        "region": region,
        "pricesAsOf": min(priced.dates).isoformat(),
        "monthlyUsd": float(monthly),
        "onDemandMonthlyUsd": float(on_demand),
        "savingsPercent": float(savings.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        "budgetUsd": float(budget_usd),
        "overBudget": monthly > budget_usd,
        "items": [line.as_dict() for line in lines],
    }


def _org_bill(config: OrgConfig, prices: PriceTable) -> dict[str, Any]:
    priced = _Priced(prices.hours_per_month)
    registry = prices.github.container_registry
    lines = [
        _Line(
            f"GitHub {config.github_plan} plan",
            config.github_seats,
            "seat-month",
            priced.per_unit(prices.github.plans[config.github_plan]),
            f"githubPlan {config.github_plan}, githubSeats {config.github_seats}",
        ),
        _Line(
            "GitHub Container Registry (ghcr.io)",
            1,
            "organization-month",
            priced.per_unit(registry),
            registry.notes or "",
        ),
    ]
    return _bill(ORG_REGION, priced, config.budget_usd, lines)


def _environment_bill(config: EnvironmentConfig, catalog: Catalog, prices: PriceTable) -> dict[str, Any]:
    region = prices.region(config.aws_region)
    priced = _Priced(prices.hours_per_month)
    lines = [
        _Line(
            "EKS control plane",
            bom.control_plane_count(config),
            "cluster-month",
            priced.per_month(region.eks_control_plane.standard),
            f"standard support (Kubernetes {config.kubernetes_version}); extended support would be "
            f"${region.eks_control_plane.extended.usd:.2f}/cluster-hour",
        )
    ]
    for group in bom.node_groups(config):
        if group.capacity_type == "SPOT":
            lines.append(_spot_line(config, region, priced, group))
        elif group.role == "reserved":
            lines += _reserved_lines(config, region, priced, group)
        else:
            instance_type = group.instance_types[0]
            lines.append(
                _Line(
                    f"node group {group.role}",
                    group.desired_size,
                    "node-month",
                    priced.per_month(region.on_demand(instance_type, "nodes.instanceTypes")),
                    f"ON_DEMAND {instance_type} (onDemandBaseCount {group.desired_size})",
                )
            )
    gp3 = priced.per_unit(region.ebs_gp3)
    nat_count = bom.nat_gateway_count(config)
    lines += [
        _Line(
            "node root volumes (gp3)",
            bom.root_volume_gib(config),
            "GB-month",
            gp3,
            f"{bom.node_count(config)} nodes x {config.nodes.disk_size_gib} GiB, encrypted",
        ),
        _Line(
            "NAT gateways",
            nat_count,
            "gateway-month",
            priced.per_month(region.nat_gateway),
            f"natGateways {config.nat_gateways.value}"
            + ("" if nat_count == 1 else f": one per zone of {len(config.availability_zones)}"),
        ),
        _Line(
            "public IPv4 addresses",
            bom.public_ipv4_count(config),
            "address-month",
            priced.per_month(region.public_ipv4),
            "one Elastic IP per NAT gateway",
        ),
        _Line(
            "NAT data processed",
            config.nat_data_gib_per_month,
            "GB",
            priced.per_unit(region.nat_data_processed),
            "estimate from natDataGibPerMonth; internet data transfer out is not priced",
        ),
    ]
    prometheus_gib = bom.prometheus_volume_gib(config)
    if prometheus_gib:
        lines.append(
            _Line(
                "Prometheus volumes (gp3)",
                prometheus_gib,
                "GB-month",
                gp3,
                f"prometheusReplicas {config.prometheus_replicas} x "
                f"prometheusStorageGib {config.prometheus_storage_gib} GiB",
            )
        )
    service_secrets = bom.service_secret_count(catalog)
    monitoring_secrets = bom.monitoring_secret_names(config)
    lines += [
        _Line(
            "Secrets Manager secrets",
            bom.secret_count(config, catalog),
            "secret-month",
            priced.per_unit(region.secrets_manager_secret),
            f"{service_secrets} service secrets of {len(catalog.deployable)} deployable services + "
            f"{len(monitoring_secrets)} monitoring ({', '.join(monitoring_secrets)})",
        ),
        _Line(
            "KMS keys",
            bom.kms_key_count(config),
            "key-month",
            priced.per_unit(region.kms_key),
            f"customer-managed: {', '.join(bom.KMS_KEYS_PER_ENVIRONMENT)}",
        ),
        _Line(
            "CloudWatch Logs ingestion",
            config.log_ingestion_gib_per_month,
            "GB",
            priced.per_unit(region.cloudwatch_logs_ingestion),
            "estimate from logIngestionGibPerMonth (control-plane and flow logs); storage is not priced",
        ),
    ]
    return _bill(config.aws_region, priced, config.budget_usd, lines)


def _spot_line(
    config: EnvironmentConfig,
    region: RegionPrices,
    priced: _Priced,
    group: bom.NodeGroup,
) -> _Line:
    """The spot group, priced at the mean of its types' spot prices (any of them may be launched)."""
    on_demand_prices, spot_prices, savings_text = [], [], []
    for instance_type in group.instance_types:
        on_demand = priced.per_month(region.on_demand(instance_type, "nodes.instanceTypes"))
        savings = Decimal(str(region.spot_savings(instance_type, config.spot_savings_percent)))
        if instance_type in config.spot_savings_percent:
            savings_text.append(f"{instance_type} {float(savings):g}% (spotSavingsPercent)")
        else:
            priced.dates.append(region.spot_savings_percent[instance_type].as_of)
            savings_text.append(f"{instance_type} {float(savings):g}%")
        on_demand_prices.append(on_demand)
        spot_prices.append(on_demand * (1 - savings / 100))
    count = Decimal(len(group.instance_types))
    return _Line(
        "node group spot",
        group.desired_size,
        "node-month",
        sum(spot_prices, Decimal(0)) / count,
        f"SPOT across {', '.join(group.instance_types)}, priced at the mean of the types' spot prices "
        f"(on-demand x (1 - savings)); savings: {', '.join(savings_text)}",
        on_demand_unit_price=sum(on_demand_prices, Decimal(0)) / count,
    )


def _reserved_lines(
    config: EnvironmentConfig, region: RegionPrices, priced: _Priced, group: bom.NodeGroup
) -> list[_Line]:
    """Covered nodes at each reservation's effective rate, uncovered nodes at on-demand, unused RIs billed."""
    lines = []
    uncovered = config.uncovered_node_count
    for coverage in bom.reservation_coverage(config):
        reservation = coverage.reservation
        instance_type = reservation.instance_type
        rate = priced.per_month(
            region.reserved(instance_type, reservation.term_years, reservation.payment_option.value)
        )
        on_demand = region.on_demand(instance_type, "reservations")
        name = (
            f"node group reserved ({instance_type}, {reservation.term_years}-year {reservation.payment_option.value})"
        )
        lines.append(
            _Line(
                name,
                coverage.covered_nodes,
                "node-month",
                rate,
                f"ON_DEMAND nodes covered by a reservation of {reservation.count}; {coverage.covered_nodes} of "
                f"{group.desired_size} nodes covered, {uncovered} uncovered; effective hourly rate incl. upfront",
                on_demand_unit_price=priced.per_month(on_demand),
            )
        )
        if coverage.unused:
            lines.append(
                _Line(
                    f"reserved instances unused ({instance_type})",
                    coverage.unused,
                    "instance-month",
                    rate,
                    f"{coverage.unused} of {reservation.count} reserved instances run no node but are billed "
                    "for the term",
                    on_demand_unit_price=Decimal(0),
                )
            )
    if uncovered:
        instance_type = group.instance_types[0]
        lines.append(
            _Line(
                "node group reserved: uncovered on-demand",
                uncovered,
                "node-month",
                priced.per_month(region.on_demand(instance_type, "nodes.instanceTypes")),
                f"{uncovered} of {group.desired_size} nodes uncovered by reservations, at the on-demand "
                f"price of {instance_type} (the group's first type)",
            )
        )
    return lines

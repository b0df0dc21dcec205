"""The `cost` stack output: the monthly bill of what a stack declares, priced from data/prices.yaml.

`compute_bill` is a pure function of the stack's config, the catalog and the price table, and the
last step of a one-way flow: `bill_of_materials` counts (the same rules the components declare
resources with, so the bill follows the declared resources), `prices` quotes each item, this adds.
Output shape (a public interface, see docs/cost.md):

    {"currency": "USD", "region": <AWS region, or "global" for the org stack>, "pricesAsOf": <oldest
     asOf of the figures used>, "monthlyUsd", "onDemandMonthlyUsd", "savingsPercent", "budgetUsd",
     "overBudget", "items": [{"item", "quantity", "unit", "unitPriceUsd", "monthlyUsd", "note"}]}

Money is computed in decimal and rounded to cents per item (half up); the totals are the sums of the
rounded items, so the table adds up. A month is the table's `hoursPerMonth` (730) hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from components.config.common import PROJECT
from components.config.org import OrgConfig
from components.config.stack_file import StackConfig
from components.cost import bill_of_materials as bom
from components.cost.bill_of_materials import LineItem
from components.cost.prices import PriceTable, Quote, UnpricedError
from components.shared.catalog import Catalog
from components.shared.errors import ConfigError

ORG_REGION = "global"
"""The `region` of the org stack's bill: GitHub bills the organization, not an AWS region."""

CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class _Line:
    """A counted item with its quote: what it costs a month, and what it would cost on-demand."""

    item: LineItem
    quote: Quote

    @property
    def monthly(self) -> Decimal:
        return _money(self.item.quantity * self.quote.unit_usd)

    @property
    def on_demand_monthly(self) -> Decimal:
        on_demand = self.quote.on_demand_unit_usd
        return _money(self.item.quantity * (self.quote.unit_usd if on_demand is None else on_demand))

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.item,
            "quantity": self.item.quantity,
            "unit": self.item.unit,
            "unitPriceUsd": float(self.quote.unit_usd.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "monthlyUsd": float(self.monthly),
            "note": "; ".join(note for note in (self.item.note, self.quote.note) if note),
        }


def compute_bill(config: StackConfig, catalog: Catalog, prices: PriceTable) -> dict[str, Any]:
    """The stack's monthly bill in the `cost` output shape (see the module docstring).

    Raises `ConfigError` naming the stack and key when the price table lacks a figure the config needs.
    """
    if isinstance(config, OrgConfig):
        region, items = ORG_REGION, bom.org_items(config)
    else:
        region, items = config.aws_region, bom.environment_items(config, catalog)
    try:
        return price_items(region, config.budget_usd, items, prices)
    except UnpricedError as error:
        raise ConfigError(
            f"stack {config.stack!r}: config key '{PROJECT}:{error.key}' = {error.value!r}: {error.message}"
        ) from None


def price_items(region: str, budget_usd: int, items: list[LineItem], prices: PriceTable) -> dict[str, Any]:
    """The bill of counted items in `region` (the `cost` output shape); the bootstrap prices its own
    items through here. Raises `UnpricedError` when the table lacks a figure."""
    lines = [_Line(item, prices.quote(item.price, None if region == ORG_REGION else region)) for item in items]
    return _total(region, budget_usd, lines)


def _total(region: str, budget_usd: int, lines: list[_Line]) -> dict[str, Any]:
    """Add the lines: the totals are sums of the rounded lines, so the table adds up."""
    monthly = sum((line.monthly for line in lines), Decimal(0))
    on_demand = sum((line.on_demand_monthly for line in lines), Decimal(0))
    savings = (on_demand - monthly) / on_demand * 100 if on_demand else Decimal(0)
    return {
        "currency": "USD",
        "region": region,
        "pricesAsOf": min(date for line in lines for date in line.quote.as_of).isoformat(),
        "monthlyUsd": float(monthly),
        "onDemandMonthlyUsd": float(on_demand),
        "savingsPercent": float(savings.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        "budgetUsd": float(budget_usd),
        "overBudget": monthly > budget_usd,
        "items": [line.as_dict() for line in lines],
    }

"""The `cost` stack output: the monthly bill of what a stack declares, priced from data/prices.yaml.

`compute_bill` is a pure function of the stack's config, the catalog and the price table, and the
last step of a one-way flow: `bill_of_materials` counts (the same rules the components declare
resources with, so the bill follows the declared resources), `prices` quotes each item, this adds.
Output shape (a public interface, see docs/cost.md):

    {"currency": "USD", "region": <AWS region, or "global" for the org stack>, "pricesAsOf": <oldest
     asOf of the figures used>, "monthlyUsd", "onDemandMonthlyUsd", "savingsPercent", "budgetUsd",
     "overBudget", "items": [{"item", "quantity", "unit", "unitPriceUsd", "monthlyUsd", "note"}]}

A line under an off-hours schedule (`LineItem.running_share` below 1) costs its share of the month
and its note says what the schedule saves against running around the clock; its on-demand
comparison runs the same hours, so `savingsPercent` stays the saving of the capacity's pricing.

An item the price table cannot price (an instance type or region it lacks) never stops the program:
it is billed as an **unpriced** line, listed first, at $0 with `"unpriced": true` and a note naming the
missing figure and the config key that asked for it (`export_cost` also logs a warning). No valid
config is blocked by the price table; `make prices` or data/price-sources.yaml adds the figure.

Money is computed in decimal and rounded to cents per item (half up); the totals are the sums of the
rounded items, so the table adds up. A month is the table's `hoursPerMonth` (730) hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pulumi

from components.config.common import PROJECT
from components.config.org import OrgConfig
from components.config.stack_file import StackConfig
from components.cost import bill_of_materials as bom
from components.cost.bill_of_materials import LineItem
from components.cost.prices import PriceTable, Quote, UnpricedError
from components.shared.catalog import Catalog

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
    unpriced: str | None = None
    """Why the table could not price the item (None: priced)."""

    @property
    def around_the_clock(self) -> Decimal:
        """What the units would cost running the whole month (no off-hours schedule)."""
        return _money(self.item.quantity * self.quote.unit_usd)

    @property
    def monthly(self) -> Decimal:
        return _money(self.item.quantity * self.quote.unit_usd * self.item.running_share)

    @property
    def on_demand_monthly(self) -> Decimal:
        on_demand = self.quote.on_demand_unit_usd
        unit = self.quote.unit_usd if on_demand is None else on_demand
        return _money(self.item.quantity * unit * self.item.running_share)

    def as_dict(self) -> dict[str, Any]:
        schedule = ""
        if self.item.running_share != 1:
            schedule = (
                f"running {float(self.item.running_share):.1%} of the month (scaling.offHours) saves "
                f"${self.around_the_clock - self.monthly:,.2f} of ${self.around_the_clock:,.2f} around the clock"
            )
        line = {
            "item": self.item.item,
            "quantity": self.item.quantity,
            "unit": self.item.unit,
            "unitPriceUsd": float(self.quote.unit_usd.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "monthlyUsd": float(self.monthly),
            "note": "; ".join(note for note in (self.item.note, schedule, self.quote.note, self.unpriced) if note),
        }
        return line | {"unpriced": True} if self.unpriced else line


def _priced(item: LineItem, prices: PriceTable, region: str | None) -> _Line:
    """The item with its quote, or an unpriced line ($0) saying which figure is missing."""
    try:
        return _Line(item, prices.quote(item.price, region))
    except UnpricedError as error:
        reason = f"UNPRICED: config key '{PROJECT}:{error.key}' = {error.value!r}: {error.message}"
        return _Line(item, Quote(Decimal(0), None, ()), unpriced=reason)


def compute_bill(config: StackConfig, catalog: Catalog, prices: PriceTable) -> dict[str, Any]:
    """The stack's monthly bill in the `cost` output shape (see the module docstring); unpriced lines first."""
    if isinstance(config, OrgConfig):
        region, items = ORG_REGION, bom.org_items(config)
    else:
        region, items = config.aws_region, bom.environment_items(config, catalog)
    return price_items(region, config.budget_usd, items, prices)


def price_items(region: str, budget_usd: int, items: list[LineItem], prices: PriceTable) -> dict[str, Any]:
    """The bill of counted items in `region` (the `cost` output shape); the bootstrap prices its own
    items through here."""
    lines = [_priced(item, prices, None if region == ORG_REGION else region) for item in items]
    lines.sort(key=lambda line: line.unpriced is None)  # stable: unpriced first, the rest in bill order
    return _total(region, budget_usd, lines)


def unpriced_items(bill: dict[str, Any]) -> list[dict[str, Any]]:
    """The bill's unpriced lines."""
    return [item for item in bill["items"] if item.get("unpriced")]


def export_cost(config: StackConfig, catalog: Catalog, prices: PriceTable) -> dict[str, Any]:
    """Export the `cost` output, and warn (as `pulumi preview` shows it) about every unpriced line."""
    bill = compute_bill(config, catalog, prices)
    for item in unpriced_items(bill):
        pulumi.log.warn(f"cost: {item['item']} ({item['quantity']:g} {item['unit']}) is unpriced: {item['note']}")
    pulumi.export("cost", bill)
    return bill


def _total(region: str, budget_usd: int, lines: list[_Line]) -> dict[str, Any]:
    """Add the lines: the totals are sums of the rounded lines, so the table adds up."""
    dates = [date for line in lines for date in line.quote.as_of]
    monthly = sum((line.monthly for line in lines), Decimal(0))
    on_demand = sum((line.on_demand_monthly for line in lines), Decimal(0))
    savings = (on_demand - monthly) / on_demand * 100 if on_demand else Decimal(0)
    return {
        "currency": "USD",
        "region": region,
        "pricesAsOf": min(dates).isoformat() if dates else "none (every line is unpriced)",
        "monthlyUsd": float(monthly),
        "onDemandMonthlyUsd": float(on_demand),
        "savingsPercent": float(savings.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        "budgetUsd": float(budget_usd),
        "overBudget": monthly > budget_usd,
        "items": [line.as_dict() for line in lines],
    }

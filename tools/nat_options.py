"""What each egress option would cost a stack: its bill with every `natGateways` choice, side by side.

    python -m tools.nat_options dev        # the Markdown table docs/cost.md shows

`single`, `perAz` and `instance` are the stack's own bill with `natGateways` replaced (the same
counting and prices as the `cost` output). `none` is the bill without NAT plus what replaces it: an
interface endpoint per zone for each of `ENDPOINTS_WITHOUT_NAT` (S3 is a gateway endpoint: free) and
the NAT data estimate through the endpoints instead. Prod may only use the managed options.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal

from components.config.environment import EnvironmentConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.cost.bill import compute_bill
from components.cost.prices import PriceTable, load_prices
from components.network.egress import ENDPOINTS_WITHOUT_NAT, NON_PROD_ONLY, NatGateways
from components.shared.catalog import Catalog, load_catalog

GATEWAY_ENDPOINTS = ("s3",)
"""Endpoints of the gateway kind: a route-table entry, no hourly or per-GB charge."""


@dataclass(frozen=True)
class Option:
    """One egress option's monthly cost for the stack."""

    option: NatGateways
    monthly: Decimal
    egress: Decimal
    """The part of the bill that is egress (NAT, its addresses and data, or the endpoints)."""


def _config(stack: str, **overrides: str) -> EnvironmentConfig:
    values, _ = stack_file_config(stack)
    values.update({f"pyairtable-infra:{key}": value for key, value in overrides.items()})
    config = parse_stack_config(stack, values)
    assert isinstance(config, EnvironmentConfig)
    return config


def _egress_usd(bill: dict) -> Decimal:
    names = ("NAT", "public IPv4")
    return sum((Decimal(str(i["monthlyUsd"])) for i in bill["items"] if i["item"].startswith(names)), Decimal(0))


def endpoints_usd(config: EnvironmentConfig, prices: PriceTable) -> Decimal:
    """Interface endpoints in every zone for a month, and the NAT data estimate through them."""
    region = prices.region(config.aws_region)
    interface = [name for name in ENDPOINTS_WITHOUT_NAT if name not in GATEWAY_ENDPOINTS]
    hourly = Decimal(str(region.rate("vpcEndpoint").usd)) * prices.hours_per_month
    data = Decimal(str(region.rate("vpcEndpointData").usd)) * config.nat_data_gib_per_month
    return (hourly * len(interface) * len(config.availability_zones) + data).quantize(Decimal("0.01"))


def options(stack: str, catalog: Catalog | None = None, prices: PriceTable | None = None) -> list[Option]:
    """Every option the stack may use, with its monthly bill."""
    catalog, prices = catalog or load_catalog(), prices or load_prices()
    found = []
    for option in NatGateways:
        if stack == "prod" and option in NON_PROD_ONLY:
            continue
        if option is NatGateways.NONE:
            # Price it from the bill with a NAT instance minus the instance's lines: `none` itself is
            # refused by config until the endpoints exist, which is what this figure is for.
            base = compute_bill(_config(stack, natGateways="instance"), catalog, prices)
            config = _config(stack)
            egress = endpoints_usd(config, prices)
            monthly = Decimal(str(base["monthlyUsd"])) - _egress_usd(base) + egress
        else:
            bill = compute_bill(_config(stack, natGateways=option.value), catalog, prices)
            monthly, egress = Decimal(str(bill["monthlyUsd"])), _egress_usd(bill)
        found.append(Option(option, monthly, egress))
    return found


def render(stack: str, rows: list[Option], current: NatGateways) -> str:
    """A Markdown table: option, egress cost, the whole bill, and the change against the stack's choice."""
    base = next(row.monthly for row in rows if row.option is current)
    lines = [
        f"| {stack}: natGateways | egress / month | bill / month | against `{current.value}` |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        change = row.monthly - base
        mark = " (now)" if row.option is current else ""
        lines.append(
            f"| `{row.option.value}`{mark} | ${row.egress:,.2f} | ${row.monthly:,.2f} | "
            f"{'+' if change >= 0 else '-'}${abs(change):,.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: the table for one environment stack."""
    args = argv if argv is not None else sys.argv[1:]
    stack = args[0] if args else "dev"
    config = _config(stack)
    print(render(stack, options(stack), config.nat_gateways), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

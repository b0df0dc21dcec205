"""What each egress option costs: the figures docs/cost.md shows, derived from the price table."""

from __future__ import annotations

from decimal import Decimal

from components.config.stack_file import environment_configs
from components.cost.prices import Price, load_prices
from components.network.egress import ENDPOINTS_WITHOUT_NAT, NatGateways
from components.network.nat_instance import ROOT_VOLUME_GIB
from components.shared.paths import PROJECT_ROOT
from tools.nat_options import options, render

HOURS = Decimal(load_prices().hours_per_month)


def usd(price: Price) -> Decimal:
    return Decimal(str(price.usd))


def test_a_nat_instance_saves_the_gateway_and_its_data_fee_less_the_instance() -> None:
    config = environment_configs()["dev"]
    region = load_prices().region(config.aws_region)
    by_option = {row.option: row for row in options("dev")}
    gateway = (
        usd(region.rate("natGateway")) * HOURS + usd(region.rate("natDataProcessed")) * config.nat_data_gib_per_month
    )
    instance = usd(region.on_demand(config.nat_instance_type, "natInstanceType")) * HOURS
    volume = usd(region.rate("ebsGp3")) * ROOT_VOLUME_GIB
    saving = by_option[NatGateways.SINGLE].monthly - by_option[NatGateways.INSTANCE].monthly
    # Each line is rounded to cents, so the saving is within a cent per line of the exact figure.
    assert abs(saving - (gateway - instance - volume)) <= Decimal("0.03")


def test_no_nat_is_priced_as_the_endpoints_it_needs_in_every_zone() -> None:
    config = environment_configs()["dev"]
    region = load_prices().region(config.aws_region)
    by_option = {row.option: row for row in options("dev")}
    interface = len(ENDPOINTS_WITHOUT_NAT) - 1  # s3 is a gateway endpoint
    expected = usd(region.rate("vpcEndpoint")) * HOURS * interface * len(config.availability_zones)
    expected += usd(region.rate("vpcEndpointData")) * config.nat_data_gib_per_month
    assert by_option[NatGateways.NONE].egress == expected.quantize(Decimal("0.01"))


def test_prod_is_offered_only_managed_gateways() -> None:
    assert {row.option for row in options("prod")} == {NatGateways.SINGLE, NatGateways.PER_AZ}


def test_docs_show_every_option_the_tool_prices() -> None:
    """docs/cost.md pastes `python -m tools.nat_options`; its figures are refreshed like the pasted bill
    (a routine price change must not fail the suite), but every option and the command must be there."""
    docs = (PROJECT_ROOT / "docs" / "cost.md").read_text()
    assert "python -m tools.nat_options" in docs
    for stack in ("dev", "staging"):
        header = render(stack, options(stack), environment_configs()[stack].nat_gateways).splitlines()[0]
        assert header in docs
        for row in options(stack):
            assert f"| `{row.option.value}`" in docs

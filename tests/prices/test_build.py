"""`make prices` end to end on the slices: every figure found, with its source URL and date."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from components.cost.prices import PRICES_PATH, load_prices, parse_prices
from components.shared.errors import ConfigError
from tools.prices.build import InUse, PriceSources, in_use, load_sources, refresh, wanted_instance_types
from tools.prices.download import SPOT_ADVISOR_URL, offer_url
from tools.prices.rules import GLOBAL_FIGURES, SERVICE_FIGURES
from tools.prices.table import header_of, write_table

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTED = FIXTURES / "documented-format"
TODAY = datetime.date(2026, 12, 24)
PUBLISHED = datetime.date(2026, 12, 1)
"""The slices' publicationDate: offer figures carry it, Spot Advisor figures the day they were read."""


def fake_fetch(url: str, name: str) -> Path:
    """Hand over the slice for a URL, as the real download would hand over the downloaded file."""
    if url == SPOT_ADVISOR_URL:
        return FIXTURES / "spot-advisor-data.alexei-led-spotinfo.json"
    assert url.startswith("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/"), url
    return DOCUMENTED / name


SOURCES = PriceSources.model_validate(
    {
        "instanceSizes": ["xlarge"],
        "instanceTypes": ["t4g.nano"],
        "rdsInstanceClasses": ["db.t4g.micro"],
        "elasticacheNodeTypes": ["cache.t4g.micro"],
    }
)
USED = InUse(frozenset({"us-east-1"}), frozenset({"m6i.large", "m6a.large", "m5.large", "m5a.large"}))


@pytest.fixture(scope="module")
def table():
    return refresh(SOURCES, USED, fake_fetch, TODAY)


def _usd(offer: str, usage_suffix: str, **attributes: str) -> Decimal:
    """The first-tier price of the product in a slice, read with the standard library."""
    raw = json.loads((DOCUMENTED / f"{offer}-us-east-1.json").read_text())
    for sku, product in raw["products"].items():
        attrs = product["attributes"]
        if attrs["usagetype"].endswith(usage_suffix) and all(attrs.get(k) == v for k, v in attributes.items()):
            (term,) = raw["terms"]["OnDemand"][sku].values()
            dimensions = sorted(term["priceDimensions"].values(), key=lambda d: Decimal(d["beginRange"]))
            return Decimal(dimensions[0]["pricePerUnit"]["USD"])
    raise AssertionError(f"{offer}: no {usage_suffix}")


def test_every_service_figure_is_priced_with_source_and_date(table) -> None:
    figures = table.regions["us-east-1"]
    for figure in SERVICE_FIGURES:
        priced = figures[figure.rule.key]
        assert priced.source == offer_url(figure.offer, "us-east-1")
        assert priced.as_of == PUBLISHED
        assert priced.unit == figure.table_unit
    for figure in GLOBAL_FIGURES:
        assert table.global_figures[figure.rule.key].source == offer_url(figure.offer, "global")
    assert table.missing == []


def test_figures_are_the_files_prices_first_tier_and_per_table_unit(table) -> None:
    figures = table.regions["us-east-1"]
    assert figures["natGateway"].usd == _usd("AmazonEC2", "NatGateway-Hours")
    assert figures["ebsGp3"].usd == _usd("AmazonEC2", "EBS:VolumeUsage.gp3")
    assert figures["eksControlPlane.extended"].usd == _usd("AmazonEKS", "extendedSupport")
    # Tiered: the first tier, whatever order the file lists the tiers in.
    assert figures["cloudwatchLogsIngestion"].usd == _usd("AmazonCloudWatch", "DataProcessing-Bytes")
    # Per request in the offer, per million in the table.
    assert figures["wafRequests"].usd == _usd("awswaf", "Request") * 1_000_000
    assert figures["rdsPostgresInstance.db.t4g.micro"].usd == _usd(
        "AmazonRDS", "InstanceUsage:db.t4g.micro", deploymentOption="Single-AZ"
    )
    assert figures["ec2OnDemand.m6i.large"].usd == _usd("AmazonEC2", "BoxUsage:m6i.large", operatingSystem="Linux")


def test_families_in_use_are_priced_at_every_listed_size(table) -> None:
    assert wanted_instance_types(USED.instance_types, SOURCES) >= {"m6i.xlarge", "m5a.xlarge", "t4g.nano"}
    assert "ec2OnDemand.m6i.xlarge" in table.regions["us-east-1"]
    # A size the family lacks in a region is not an error; a type a stack uses would be.
    assert "ec2OnDemand.m5a.xlarge" not in table.regions["us-east-1"]


def test_a_used_type_missing_from_the_offer_is_reported() -> None:
    used = InUse(USED.regions, USED.instance_types | {"c7i.large"})
    assert "us-east-1: ec2OnDemand.c7i.large" in refresh(SOURCES, used, fake_fetch, TODAY).missing


def test_reserved_rates_are_standard_terms_only(table) -> None:
    rates = table.reserved["us-east-1"]["m6i.large"]
    assert set(rates) == {1, 3}
    assert set(rates[1]) == {"no-upfront", "partial-upfront", "all-upfront"}
    # 1-year partial upfront: $250 upfront over 8,760 hours plus $0.0285 an hour (the slice's terms).
    assert rates[1]["partial-upfront"].usd == (Decimal(250) / 8760 + Decimal("0.0285")).quantize(Decimal("0.0001"))
    assert rates[1]["no-upfront"].usd == Decimal("0.0600")  # not the convertible 0.069 of the same term


def test_spot_savings_come_from_the_advisor_dated_today(table) -> None:
    raw = json.loads((FIXTURES / "spot-advisor-data.alexei-led-spotinfo.json").read_text())
    saving = table.spot["us-east-1"]["m6i.large"]
    assert saving.percent == raw["spot_advisor"]["us-east-1"]["Linux"]["m6i.large"]["s"]
    assert (saving.source, saving.as_of) == (SPOT_ADVISOR_URL, TODAY)


def test_in_use_reads_the_environment_stack_files() -> None:
    used = in_use()
    assert "us-east-1" in used.regions
    assert {"m6i.large", "m5.large"} <= used.instance_types


def test_the_checked_in_sources_file_is_valid() -> None:
    sources = load_sources()
    assert sources.reserved_offering_class == "standard"
    assert "t4g.nano" in sources.instance_types


def test_the_fresh_figures_are_written_into_the_table_and_the_rest_kept(table, tmp_path: Path) -> None:
    original = PRICES_PATH.read_text()
    path = tmp_path / "prices.yaml"
    path.write_text(original)
    write_table(path, table)
    written = parse_prices(yaml.safe_load(path.read_text()), str(path))  # what the program would read
    region = written.regions["us-east-1"]
    fresh = table.regions["us-east-1"]
    assert region.rate("natGateway").usd == float(fresh["natGateway"].usd)
    assert region.rate("natGateway").source == fresh["natGateway"].source
    assert region.rate("natGateway").as_of == PUBLISHED
    assert region.rate("rdsPostgresInstance", "db.t4g.micro").usd == float(
        fresh["rdsPostgresInstance.db.t4g.micro"].usd
    )
    assert region.eks_control_plane.extended.usd == float(fresh["eksControlPlane.extended"].usd)
    assert region.ec2_on_demand["m6i.xlarge"].usd == float(fresh["ec2OnDemand.m6i.xlarge"].usd)
    assert region.spot_savings_percent["m6i.large"].percent == table.spot["us-east-1"]["m6i.large"].percent
    assert region.reserved("m6i.large", 1, "no-upfront").usd == float(
        table.reserved["us-east-1"]["m6i.large"][1]["no-upfront"].usd
    )
    # Not read by `make prices`: kept with its own source and date.
    before = load_prices()
    assert written.github == before.github
    assert written.regions["eu-west-1"] == before.regions["eu-west-1"]
    assert region.rate("awsBudget") == before.regions["us-east-1"].rate("awsBudget")
    # The header comment survives; a leaf figure stays on one line.
    assert path.read_text().startswith(header_of(original))
    assert "natGateway: {usd: 0.045, unit: gateway-hour, source: 'https://pricing" in path.read_text()


def test_a_table_the_program_would_refuse_is_not_written(table, tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES_PATH.read_text().replace("hoursPerMonth: 730", "hoursPerMonth: -1"))
    before = path.read_text()
    with pytest.raises(ConfigError, match="hoursPerMonth"):
        write_table(path, table)
    assert path.read_text() == before

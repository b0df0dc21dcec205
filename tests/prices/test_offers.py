"""The offer-file parser on slices of real offer files (tests/prices/fixtures/README.md)."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tools.prices.offers import HOURS_PER_YEAR, OfferFormatError, ProductRule, publication_date, read_offer
from tools.prices.rules import SERVICE_FIGURES, ec2_instance, instance_key

FIXTURES = Path(__file__).parent / "fixtures"
LYFT = FIXTURES / "AmazonEC2-us-east-1.lyft-awspricing.json"
OPENCOST = FIXTURES / "AmazonEC2-us-east-2.opencost.json"


def _terms(path: Path, sku: str, kind: str) -> list[dict]:
    """The raw terms of a SKU, read with the standard library (the expected values' source)."""
    return list(json.loads(path.read_text())["terms"][kind][sku].values())


def test_on_demand_price_and_date_come_from_the_file() -> None:
    prices = read_offer(LYFT, [ec2_instance("c4.large").rule])
    (term,) = _terms(LYFT, "4C7N4APU9GEUZ6H6", "OnDemand")
    (dimension,) = term["priceDimensions"].values()
    assert prices.on_demand[instance_key("c4.large")].usd == Decimal(dimension["pricePerUnit"]["USD"])
    assert prices.published == datetime.date(2016, 12, 13)
    assert prices.missing == []


def test_reserved_rates_amortize_the_upfront_fee_over_the_term() -> None:
    key = instance_key("c4.large")
    offers = read_offer(LYFT, [ec2_instance("c4.large").rule], reserved_keys=[key]).reserved[key]
    raw = _terms(LYFT, "4C7N4APU9GEUZ6H6", "Reserved")
    assert len(offers) == len(raw)
    for term, offer in zip(raw, offers, strict=True):
        dimensions = term["priceDimensions"].values()
        upfront = sum((Decimal(d["pricePerUnit"]["USD"]) for d in dimensions if d["unit"] == "Quantity"), Decimal(0))
        hourly = sum((Decimal(d["pricePerUnit"]["USD"]) for d in dimensions if d["unit"] == "Hrs"), Decimal(0))
        years = int(term["termAttributes"]["LeaseContractLength"][0])
        assert offer.offering_class == term["termAttributes"]["OfferingClass"]
        assert offer.effective_hourly_usd == upfront / (years * HOURS_PER_YEAR) + hourly


def test_only_the_linux_shared_used_row_is_an_instance_price() -> None:
    """The opencost slice: a Windows BYOL row, and an m5.large whose only term is an upfront fee."""
    prices = read_offer(OPENCOST, [ec2_instance("m5.large").rule, ec2_instance("p3.8xlarge").rule])
    assert prices.on_demand == {}
    assert prices.missing == [instance_key("m5.large"), instance_key("p3.8xlarge")]


def test_gp3_storage_from_a_real_regional_file() -> None:
    gp3 = next(figure for figure in SERVICE_FIGURES if figure.rule.key == "ebsGp3")
    prices = read_offer(OPENCOST, [gp3.rule])
    assert prices.on_demand["ebsGp3"].usd == Decimal("0.08")
    assert prices.on_demand["ebsGp3"].unit == "GB-Mo"
    assert prices.published == datetime.date(2023, 3, 22)


def test_the_date_is_read_without_building_the_products() -> None:
    """Streaming: the products after the date are never parsed (here they are not even valid JSON)."""
    stream = io.BytesIO(b'{"offerCode": "AmazonEC2", "publicationDate": "2025-11-20T18:00:00Z", "products": {BROKEN')
    assert publication_date(stream) == datetime.date(2025, 11, 20)
    with pytest.raises(OfferFormatError):
        publication_date(io.BytesIO(b'{"offerCode": "AmazonEC2", "products": {}}'))


def test_a_dimension_without_a_usd_price_is_a_format_error(tmp_path: Path) -> None:
    broken = json.loads(OPENCOST.read_text())
    term = broken["terms"]["OnDemand"]["M6UGCCQ3CDJQAA37"]["M6UGCCQ3CDJQAA37.JRTCKXETXF"]
    next(iter(term["priceDimensions"].values()))["pricePerUnit"] = {"CNY": "0.53"}
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(broken))
    rule = ProductRule("ebsGp3", "Storage", {"volumeApiName": "gp3"}, "EBS:VolumeUsage.gp3", "GB-Mo")
    with pytest.raises(OfferFormatError, match="USD"):
        read_offer(path, [rule])

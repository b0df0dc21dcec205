"""Read AWS Price List bulk offer files (JSON) streaming: the products a figure needs and their prices.

An offer file (`https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/<region>/index.json`)
is one JSON object: `publicationDate`, `products` ({sku: {productFamily, attributes}}) and `terms`
({"OnDemand"|"Reserved": {sku: {offerTermCode: {termAttributes, priceDimensions: {rateCode:
{unit, pricePerUnit: {USD}, beginRange, description}}}}}}). EC2's regional file is hundreds of
megabytes, so it is never loaded whole: one streaming pass (ijson) picks the SKUs that match a
`ProductRule`, a second pass reads only those SKUs' terms. Numbers are kept as `Decimal` strings.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import ijson

HOURS_PER_YEAR = 8760
"""AWS amortizes a reservation's upfront fee over 365 x 24 hours a year."""

PURCHASE_OPTIONS = {"No Upfront": "no-upfront", "Partial Upfront": "partial-upfront", "All Upfront": "all-upfront"}
"""Offer-file `PurchaseOption` -> the config spelling of `reservations[].paymentOption`."""


class OfferFormatError(ValueError):
    """An offer file does not have the documented shape (or lacks a figure the table needs)."""


@dataclass(frozen=True)
class ProductRule:
    """Which product of an offer file one figure of the price table is."""

    key: str
    """The figure's key in the price table (e.g. `natGateway`, `ec2OnDemand.m6i.large`)."""
    product_family: str | None
    """`productFamily` to match exactly (None: any)."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Attributes that must equal these values."""
    usage_type_suffix: str = ""
    """`usagetype` must end with this (regional files prefix it with a region code such as `USE1-`)."""
    unit: str = ""
    """The price dimension's unit to take (`Hrs`, `GB`, `GB-Mo`, ...); empty: the product's only unit."""

    def matches(self, product: Mapping[str, Any]) -> bool:
        """Whether a product record of the offer file is the one this figure prices."""
        attributes = product.get("attributes") or {}
        if self.product_family is not None and product.get("productFamily") != self.product_family:
            return False
        if not str(attributes.get("usagetype", "")).endswith(self.usage_type_suffix):
            return False
        return all(attributes.get(name) == value for name, value in self.attributes.items())


@dataclass(frozen=True)
class Dimension:
    """One price dimension of a term."""

    unit: str
    usd: Decimal
    begin_range: Decimal
    description: str


@dataclass(frozen=True)
class ReservedOffer:
    """One reserved term of a product: its length, class, payment option and the price it implies."""

    years: int
    offering_class: str
    payment_option: str
    upfront_usd: Decimal
    hourly_usd: Decimal

    @property
    def effective_hourly_usd(self) -> Decimal:
        """The upfront fee amortized over the term plus the hourly fee (what the RI pricing page shows)."""
        return self.upfront_usd / (self.years * HOURS_PER_YEAR) + self.hourly_usd


def publication_date(stream: BinaryIO) -> datetime.date:
    """The offer file's `publicationDate` (the date every figure read from it carries).

    Read from the parser's events, so it never builds the `products` object that follows it.
    """
    for prefix, event, value in ijson.parse(stream):
        if prefix == "publicationDate" and event == "string":
            return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
        if prefix in ("products", "terms") and event == "start_map":
            break
    raise OfferFormatError("offer file has no publicationDate before its products")


def match_products(stream: BinaryIO, rules: Iterable[ProductRule]) -> dict[str, list[ProductRule]]:
    """SKU -> the rules its product matches, from one streaming pass over `products`."""
    rules = list(rules)
    matched: dict[str, list[ProductRule]] = {}
    for sku, product in ijson.kvitems(stream, "products"):
        hits = [rule for rule in rules if rule.matches(product)]
        if hits:
            matched[sku] = hits
    return matched


def _dimension(raw: Mapping[str, Any]) -> Dimension:
    try:
        return Dimension(
            unit=str(raw["unit"]),
            usd=Decimal(str(raw["pricePerUnit"]["USD"])),
            begin_range=Decimal(str(raw.get("beginRange", "0"))),
            description=str(raw.get("description", "")),
        )
    except (KeyError, ArithmeticError) as error:
        raise OfferFormatError(f"price dimension without a USD price or unit: {dict(raw)!r}") from error


def on_demand_dimensions(stream: BinaryIO, skus: Iterable[str]) -> dict[str, list[Dimension]]:
    """SKU -> its on-demand price dimensions, from one streaming pass over `terms.OnDemand`."""
    wanted = set(skus)
    found: dict[str, list[Dimension]] = {}
    for sku, terms in ijson.kvitems(stream, "terms.OnDemand"):
        if sku in wanted:
            found[sku] = [_dimension(raw) for term in terms.values() for raw in term["priceDimensions"].values()]
    return found


def reserved_offers(stream: BinaryIO, skus: Iterable[str]) -> dict[str, list[ReservedOffer]]:
    """SKU -> its reserved terms, from one streaming pass over `terms.Reserved`."""
    wanted = set(skus)
    found: dict[str, list[ReservedOffer]] = {}
    for sku, terms in ijson.kvitems(stream, "terms.Reserved"):
        if sku not in wanted:
            continue
        for term in terms.values():
            attributes = term.get("termAttributes") or {}
            length = str(attributes.get("LeaseContractLength", ""))
            if length not in ("1yr", "3yr") or attributes.get("PurchaseOption") not in PURCHASE_OPTIONS:
                continue
            dimensions = [_dimension(raw) for raw in term["priceDimensions"].values()]
            found.setdefault(sku, []).append(
                ReservedOffer(
                    years=int(length[0]),
                    offering_class=str(attributes.get("OfferingClass", "")),
                    payment_option=PURCHASE_OPTIONS[attributes["PurchaseOption"]],
                    upfront_usd=sum((d.usd for d in dimensions if d.unit == "Quantity"), Decimal(0)),
                    hourly_usd=sum((d.usd for d in dimensions if d.unit == "Hrs"), Decimal(0)),
                )
            )
    return found


def first_tier(dimensions: Iterable[Dimension], unit: str) -> Dimension | None:
    """The dimension of `unit` (any unit when empty) with the lowest range: a tiered price's first tier."""
    candidates = sorted((d for d in dimensions if not unit or d.unit == unit), key=lambda d: d.begin_range)
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class OfferPrices:
    """What one offer file said about the figures asked of it."""

    published: datetime.date
    on_demand: dict[str, Dimension]
    """Figure key -> its first-tier on-demand dimension."""
    reserved: dict[str, list[ReservedOffer]]
    """Figure key -> its reserved offers (only for rules asked with `reserved=True`)."""
    missing: list[str]
    """Figure keys the file has no product or price for."""


def read_offer(path: Path, rules: Iterable[ProductRule], reserved_keys: Iterable[str] = ()) -> OfferPrices:
    """Every rule's price from one offer file, in three streaming passes (date, products, terms)."""
    rules = list(rules)
    reserved_keys = set(reserved_keys)
    with path.open("rb") as stream:
        published = publication_date(stream)
    with path.open("rb") as stream:
        skus = match_products(stream, rules)
    with path.open("rb") as stream:
        dimensions = on_demand_dimensions(stream, skus)
    reserved_by_sku: dict[str, list[ReservedOffer]] = {}
    reserved_skus = [sku for sku, hits in skus.items() if any(rule.key in reserved_keys for rule in hits)]
    if reserved_skus:
        with path.open("rb") as stream:
            reserved_by_sku = reserved_offers(stream, reserved_skus)
    on_demand: dict[str, Dimension] = {}
    reserved: dict[str, list[ReservedOffer]] = {}
    for sku, hits in skus.items():
        for rule in hits:
            dimension = first_tier(dimensions.get(sku, []), rule.unit)
            # Several SKUs can match one rule (e.g. a zero-priced free-tier twin); the priced one wins.
            if dimension is not None and (rule.key not in on_demand or dimension.usd > on_demand[rule.key].usd):
                on_demand[rule.key] = dimension
            if rule.key in reserved_keys and sku in reserved_by_sku:
                reserved.setdefault(rule.key, []).extend(reserved_by_sku[sku])
    missing = sorted({rule.key for rule in rules} - set(on_demand))
    return OfferPrices(published, on_demand, reserved, missing)

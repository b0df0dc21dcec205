"""The price table (data/prices.yaml) and the one step that prices what the bill of materials counted.

The bill flows one way: `bill_of_materials` counts line items, each naming the price it needs as a
`PriceRef`; `PriceTable.quote` turns a `PriceRef` into a `Quote` (USD per unit, the on-demand price of
the same unit, the dates of the figures used); `bill` adds. Every figure of the table carries its
source URL and the date it is believed valid. A look-up that the table cannot answer raises
`UnpricedError`, which names the config key that asked for it and what the table allows.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from components.shared.data_files import load_data_file, validate_data
from components.shared.errors import InvalidKeyError
from components.shared.paths import DATA_DIR

PRICES_PATH = DATA_DIR / "prices.yaml"

Url = Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+\.[a-z]{2,}(/[^\s]*)?$")]
PaymentOptionName = Literal["no-upfront", "partial-upfront", "all-upfront"]


class UnpricedError(InvalidKeyError):
    """The price table has no figure for something a stack's config declares (`key` names the config key)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Price(_Frozen):
    """One figure in USD per `unit`, with where it comes from and when it was valid."""

    usd: float = Field(ge=0)
    unit: str = Field(min_length=1)
    source: Url
    as_of: datetime.date = Field(alias="asOf")
    notes: str | None = None


class SpotSavings(_Frozen):
    """The Spot Instance Advisor's average saving of one instance type over on-demand, in percent."""

    percent: float = Field(gt=0, lt=100)
    source: Url
    as_of: datetime.date = Field(alias="asOf")
    notes: str | None = None


class ReservedTerm(_Frozen):
    """Effective hourly rates of one reserved-instance term, per payment option."""

    no_upfront: Price = Field(alias="no-upfront")
    partial_upfront: Price = Field(alias="partial-upfront")
    all_upfront: Price = Field(alias="all-upfront")

    def option(self, payment_option: str) -> Price:
        """The rate of a payment option, by its config spelling (`no-upfront`, ...)."""
        return {
            "no-upfront": self.no_upfront,
            "partial-upfront": self.partial_upfront,
            "all-upfront": self.all_upfront,
        }[payment_option]


class EksControlPlane(_Frozen):
    """EKS cluster-hour prices: standard support, and extended support for older Kubernetes versions."""

    standard: Price
    extended: Price


Rates = dict[str, Price | dict[str, Price]]
"""Figures by name; a name may map to variants (`rdsInstance: {db.t4g.micro: ..., db.m7g.large: ...}`)."""


def _rate(rates: Rates, scope: str, name: str, variant: str | None) -> Price:
    """One named figure of `rates` (the variant of it, when it has variants)."""
    figure = rates.get(name)
    if variant is not None and isinstance(figure, dict):
        figure = figure.get(variant)
    if not isinstance(figure, Price):
        spelled = name if variant is None else f"{name}.{variant}"
        raise UnpricedError(
            "(price table)", spelled, f"data/prices.yaml has no figure {scope}.rates.{spelled}; rates: {sorted(rates)}"
        )
    return figure


class RegionPrices(_Frozen):
    """Every AWS figure of one region: EC2 capacity in its own shape, everything else as named rates."""

    eks_control_plane: EksControlPlane = Field(alias="eksControlPlane")
    ec2_on_demand: dict[str, Price] = Field(alias="ec2OnDemand", min_length=1)
    spot_savings_percent: dict[str, SpotSavings] = Field(alias="spotSavingsPercent")
    ec2_reserved: dict[str, dict[Literal[1, 3], ReservedTerm]] = Field(alias="ec2Reserved")
    rates: Rates

    def rate(self, name: str, variant: str | None = None) -> Price:
        """A named figure of the region (`rates.<name>` or `rates.<name>.<variant>`)."""
        return _rate(self.rates, "regions.<region>", name, variant)

    def on_demand(self, instance_type: str, key: str) -> Price:
        """The on-demand hourly price of an instance type; `key` is the config key that names the type."""
        if instance_type not in self.ec2_on_demand:
            raise UnpricedError(
                key,
                instance_type,
                f"instance type {instance_type!r} has no on-demand price in data/prices.yaml; "
                f"priced types: {sorted(self.ec2_on_demand)}",
            )
        return self.ec2_on_demand[instance_type]

    def spot_savings(self, instance_type: str, overrides: Mapping[str, float]) -> float:
        """Spot saving in percent: the stack's `spotSavingsPercent` override, else the Spot Advisor figure."""
        if instance_type in overrides:
            return overrides[instance_type]
        if instance_type not in self.spot_savings_percent:
            raise UnpricedError(
                "nodes.instanceTypes",
                instance_type,
                f"instance type {instance_type!r} has no spot savings figure in data/prices.yaml; "
                f"types with one: {sorted(self.spot_savings_percent)} (or set spotSavingsPercent.{instance_type})",
            )
        return self.spot_savings_percent[instance_type].percent

    def reserved(self, instance_type: str, term_years: int, payment_option: str) -> Price:
        """The effective hourly rate of a reservation."""
        terms = self.ec2_reserved.get(instance_type, {})
        if term_years not in terms:
            priced = [
                f"{t} ({', '.join(str(y) for y in sorted(self.ec2_reserved[t]))} years)" for t in self.ec2_reserved
            ]
            raise UnpricedError(
                "reservations",
                instance_type,
                f"no reserved-instance price in data/prices.yaml for {instance_type!r}, {term_years}-year term; "
                f"priced reservations: {sorted(priced)}",
            )
        return terms[term_years].option(payment_option)


class GitHubPrices(_Frozen):
    """The org stack's figures: the GitHub plan per seat, and named rates (the container registry, ...)."""

    plans: dict[Literal["free", "team", "enterprise"], Price]
    rates: Rates

    def rate(self, name: str, variant: str | None = None) -> Price:
        """A named figure of the organization's bill (`github.rates.<name>`)."""
        return _rate(self.rates, "github", name, variant)


class PriceTable(_Frozen):
    """The whole table."""

    currency: Literal["USD"]
    hours_per_month: int = Field(alias="hoursPerMonth", gt=0)
    regions: dict[str, RegionPrices] = Field(min_length=1)
    github: GitHubPrices

    def region(self, region: str) -> RegionPrices:
        """The prices of an AWS region; `UnpricedError` (key awsRegion) when the table has none."""
        if region not in self.regions:
            raise UnpricedError(
                "awsRegion",
                region,
                f"region {region!r} has no prices in data/prices.yaml; priced regions: {sorted(self.regions)}",
            )
        return self.regions[region]

    def quote(self, ref: PriceRef, region: str | None = None) -> Quote:
        """The price of one unit of a line item (`region`: the stack's AWS region; None for the org stack)."""
        hours = Decimal(self.hours_per_month)
        if isinstance(ref, GitHubSeat):
            return _quote(self.github.plans[ref.plan], hours, Rate(ref.plan))
        if isinstance(ref, Rate) and ref.scope == "github":
            return _quote(self.github.rate(ref.name, ref.variant), hours, ref)
        return _region_quote(self.region(str(region)), hours, ref)


@dataclass(frozen=True)
class Rate:
    """A named figure: `regions.<region>.rates.<name>[.<variant>]`, or `github.rates.<name>` (scope github)."""

    name: str
    variant: str | None = None
    hourly: bool = False
    """The figure is per hour: the unit price is the figure times the hours of a month."""
    scope: Literal["region", "github"] = "region"
    cite_notes: bool = False
    """The figure's `notes` in the table explain the line (e.g. why the registry is free)."""


@dataclass(frozen=True)
class GitHubSeat:
    """A seat of a GitHub plan for a month."""

    plan: Literal["free", "team", "enterprise"]


@dataclass(frozen=True)
class ControlPlane:
    """An EKS control plane at standard support for a month."""


@dataclass(frozen=True)
class OnDemandNodes:
    """An on-demand node of one instance type for a month; `key` is the config key that names the type."""

    instance_type: str
    key: str = "nodes.instanceTypes"


@dataclass(frozen=True)
class SpotNodes:
    """A spot node that may be any of `instance_types`: the mean of their spot prices for a month."""

    instance_types: tuple[str, ...]
    savings_overrides: Mapping[str, float] = field(default_factory=dict)
    """The stack's `spotSavingsPercent`, which replaces the Spot Advisor figure of a type."""


@dataclass(frozen=True)
class ReservedNodes:
    """A reserved instance for a month, at its effective rate; `running` False: bought but running nothing."""

    instance_type: str
    term_years: int
    payment_option: str
    running: bool = True


PriceRef = Rate | GitHubSeat | ControlPlane | OnDemandNodes | SpotNodes | ReservedNodes
"""What a line item of the bill of materials is priced with."""


@dataclass(frozen=True)
class Quote:
    """The price of one unit of a line item, and what the same unit costs on-demand."""

    unit_usd: Decimal
    on_demand_unit_usd: Decimal | None
    """The on-demand price of the same unit when it differs (discounted capacity); None: the same."""
    as_of: tuple[datetime.date, ...]
    """The dates of the figures used (the bill reports the oldest)."""
    note: str = ""
    """What the price adds to the item's note (the savings used, what an alternative would cost)."""


_HOURLY = Rate("hourly", hourly=True)


def _usd(price: Price) -> Decimal:
    return Decimal(str(price.usd))


def _quote(price: Price, hours: Decimal, ref: Rate) -> Quote:
    unit = _usd(price) * hours if ref.hourly else _usd(price)
    return Quote(unit, None, (price.as_of,), (price.notes or "") if ref.cite_notes else "")


def _region_quote(prices: RegionPrices, hours: Decimal, ref: PriceRef) -> Quote:
    """The price of a unit of an AWS line item in one region."""
    match ref:
        case Rate():
            return _quote(prices.rate(ref.name, ref.variant), hours, ref)
        case ControlPlane():
            quote = _quote(prices.eks_control_plane.standard, hours, _HOURLY)
            extended = prices.eks_control_plane.extended.usd
            return dataclass_replace(quote, note=f"extended support would be ${extended:.2f}/cluster-hour")
        case OnDemandNodes():
            return _quote(prices.on_demand(ref.instance_type, ref.key), hours, _HOURLY)
        case SpotNodes():
            return _spot_quote(prices, hours, ref)
        case ReservedNodes():
            return _reserved_quote(prices, hours, ref)
    raise TypeError(f"not a price reference of a region: {ref!r}")


def _reserved_quote(prices: RegionPrices, hours: Decimal, ref: ReservedNodes) -> Quote:
    """A reserved instance at its effective rate; on-demand you would buy a running one, not an unused one."""
    rate = prices.reserved(ref.instance_type, ref.term_years, ref.payment_option)
    if not ref.running:
        return Quote(_usd(rate) * hours, Decimal(0), (rate.as_of,))
    on_demand = prices.on_demand(ref.instance_type, "reservations")
    return Quote(
        _usd(rate) * hours,
        _usd(on_demand) * hours,
        (rate.as_of, on_demand.as_of),
        "effective hourly rate incl. upfront",
    )


def _spot_quote(prices: RegionPrices, hours: Decimal, ref: SpotNodes) -> Quote:
    """The mean of the types' spot prices (on-demand x (1 - savings)): any of them may be launched."""
    on_demand_prices, spot_prices, savings_text, dates = [], [], [], []
    for instance_type in ref.instance_types:
        price = prices.on_demand(instance_type, "nodes.instanceTypes")
        dates.append(price.as_of)
        on_demand = _usd(price) * hours
        savings = Decimal(str(prices.spot_savings(instance_type, ref.savings_overrides)))
        if instance_type in ref.savings_overrides:
            savings_text.append(f"{instance_type} {float(savings):g}% (spotSavingsPercent)")
        else:
            dates.append(prices.spot_savings_percent[instance_type].as_of)
            savings_text.append(f"{instance_type} {float(savings):g}%")
        on_demand_prices.append(on_demand)
        spot_prices.append(on_demand * (1 - savings / 100))
    count = Decimal(len(ref.instance_types))
    return Quote(
        sum(spot_prices, Decimal(0)) / count,
        sum(on_demand_prices, Decimal(0)) / count,
        tuple(dates),
        f"savings: {', '.join(savings_text)}",
    )


def parse_prices(data: object, source: str = str(PRICES_PATH)) -> PriceTable:
    """Validate price data (as loaded from YAML) into a `PriceTable`."""
    return validate_data(PriceTable, data, source)


@cache
def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    """Read and validate the price table (once per process)."""
    return load_data_file(PriceTable, path)

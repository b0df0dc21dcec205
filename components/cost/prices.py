"""The price table (data/prices.yaml) as validated models, and the look-ups the `cost` output makes.

Every figure of the table carries its source URL and the date it is believed valid. A look-up that
the table cannot answer (a region without prices, an instance type without a price) raises
`UnpricedError`, which names the config key that asked for it and what the table allows; the config
models turn it into a `ConfigError` before any resource is declared.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from components.shared.data_files import load_data_file, validate_data
from components.shared.paths import DATA_DIR

PRICES_PATH = DATA_DIR / "prices.yaml"

Url = Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+\.[a-z]{2,}(/[^\s]*)?$")]
PaymentOptionName = Literal["no-upfront", "partial-upfront", "all-upfront"]


class UnpricedError(ValueError):
    """The price table has no figure for something a stack's config declares."""

    def __init__(self, key: str, value: object, message: str) -> None:
        super().__init__(message)
        self.key, self.value, self.message = key, value, message


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


class RegionPrices(_Frozen):
    """Every AWS figure of one region."""

    eks_control_plane: EksControlPlane = Field(alias="eksControlPlane")
    ec2_on_demand: dict[str, Price] = Field(alias="ec2OnDemand", min_length=1)
    spot_savings_percent: dict[str, SpotSavings] = Field(alias="spotSavingsPercent")
    ec2_reserved: dict[str, dict[Literal[1, 3], ReservedTerm]] = Field(alias="ec2Reserved")
    nat_gateway: Price = Field(alias="natGateway")
    nat_data_processed: Price = Field(alias="natDataProcessed")
    public_ipv4: Price = Field(alias="publicIpv4")
    ebs_gp3: Price = Field(alias="ebsGp3")
    secrets_manager_secret: Price = Field(alias="secretsManagerSecret")
    kms_key: Price = Field(alias="kmsKey")
    cloudwatch_logs_ingestion: Price = Field(alias="cloudwatchLogsIngestion")

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
    """The org stack's figures: the GitHub plan per seat and the container registry."""

    plans: dict[Literal["free", "team", "enterprise"], Price]
    container_registry: Price = Field(alias="containerRegistry")


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


def parse_prices(data: object, source: str = str(PRICES_PATH)) -> PriceTable:
    """Validate price data (as loaded from YAML) into a `PriceTable`."""
    return validate_data(PriceTable, data, source)


@cache
def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    """Read and validate the price table (once per process)."""
    return load_data_file(PriceTable, path)

"""Assemble a fresh price table from the offer files and the Spot Advisor data.

What is priced: the regions and EC2 instance families the environment stacks use (from their stack
files), every size of those families listed in data/price-sources.yaml, and that file's extra
regions, types, database classes and cache node types. Every figure keeps the URL it was read from
and the offer file's publication date (Spot Advisor figures: the day they were read).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from components.config.common import FrozenModel
from components.config.stack_file import stack_file_config
from components.shared.catalog import ENVIRONMENTS
from components.shared.data_files import load_data_file
from components.shared.paths import DATA_DIR
from tools.prices.download import SPOT_ADVISOR_URL, offer_url
from tools.prices.offers import ReservedOffer, read_offer
from tools.prices.rules import GLOBAL_FIGURES, Figure, instance_key, region_figures
from tools.prices.spot_advisor import spot_figures

SOURCES_PATH = DATA_DIR / "price-sources.yaml"


class PriceSources(FrozenModel):
    """data/price-sources.yaml: what to price beyond what the stacks use."""

    regions: tuple[str, ...] = ()
    instance_sizes: tuple[str, ...] = Field(alias="instanceSizes", default=())
    instance_types: tuple[str, ...] = Field(alias="instanceTypes", default=())
    rds_instance_classes: tuple[str, ...] = Field(alias="rdsInstanceClasses", default=())
    elasticache_node_types: tuple[str, ...] = Field(alias="elasticacheNodeTypes", default=())
    reserved_offering_class: str = Field(alias="reservedOfferingClass", default="standard")


@dataclass(frozen=True)
class InUse:
    """What the environment stacks' config files use."""

    regions: frozenset[str]
    instance_types: frozenset[str]


def in_use(stacks: Iterable[str] = ENVIRONMENTS) -> InUse:
    """Regions and instance types (nodes and reservations) of the environment stacks' config files."""
    regions, types = set(), set()
    for stack in stacks:
        values, _ = stack_file_config(stack)
        regions.add(values["pyairtable-infra:awsRegion"])
        types.update(json.loads(values["pyairtable-infra:nodes"])["instanceTypes"])
        reservations = json.loads(values.get("pyairtable-infra:reservations", "[]"))
        types.update(reservation["instanceType"] for reservation in reservations)
    return InUse(frozenset(regions), frozenset(types))


def wanted_instance_types(used: Iterable[str], sources: PriceSources) -> set[str]:
    """The used types, every listed size of their families, and the extra types."""
    families = {instance_type.split(".", 1)[0] for instance_type in used}
    return (
        set(used)
        | {f"{family}.{size}" for family in families for size in sources.instance_sizes}
        | set(sources.instance_types)
    )


@dataclass(frozen=True)
class PricedFigure:
    """One figure of the fresh table."""

    usd: Decimal
    unit: str
    source: str
    as_of: datetime.date
    notes: str = ""


@dataclass(frozen=True)
class SpotSaving:
    """A spot saving with its interruption bucket."""

    percent: int
    interruption: str
    source: str
    as_of: datetime.date


@dataclass
class Refresh:
    """The fresh table: figures per region, reserved rates, spot savings, and what could not be found."""

    regions: dict[str, dict[str, PricedFigure]] = field(default_factory=dict)
    reserved: dict[str, dict[str, dict[int, dict[str, PricedFigure]]]] = field(default_factory=dict)
    """region -> instance type -> term years -> payment option -> effective hourly rate."""
    spot: dict[str, dict[str, SpotSaving]] = field(default_factory=dict)
    global_figures: dict[str, PricedFigure] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    """`region: key` of every figure asked for and not found (a type not sold in a region, ...)."""


Fetch = Callable[[str, str], Path]
"""(url, cache file name) -> the downloaded file."""


def _reserved_rates(
    offers: list[ReservedOffer], offering_class: str, source: str, as_of: datetime.date
) -> dict[int, dict[str, PricedFigure]]:
    rates: dict[int, dict[str, PricedFigure]] = {}
    for offer in offers:
        if offer.offering_class != offering_class:
            continue
        rates.setdefault(offer.years, {})[offer.payment_option] = PricedFigure(
            offer.effective_hourly_usd.quantize(Decimal("0.0001")),
            "instance-hour",
            source,
            as_of,
            f"{offering_class.capitalize()} RI, Linux, shared tenancy, regional; effective hourly = upfront "
            f"${offer.upfront_usd} over {offer.years} x 8,760 h + ${offer.hourly_usd}/h.",
        )
    return rates


def _read(
    figures: list[Figure], path: Path, source: str, reserved_keys: Iterable[str] = ()
) -> tuple[dict[str, PricedFigure], dict[str, list[ReservedOffer]], datetime.date, list[str]]:
    prices = read_offer(path, [figure.rule for figure in figures], reserved_keys)
    priced = {
        figure.rule.key: PricedFigure(
            prices.on_demand[figure.rule.key].usd * figure.per,
            figure.table_unit,
            source,
            prices.published,
            figure.notes,
        )
        for figure in figures
        if figure.rule.key in prices.on_demand
    }
    return priced, prices.reserved, prices.published, prices.missing


def refresh(
    sources: PriceSources,
    used: InUse,
    fetch: Fetch,
    today: datetime.date,
) -> Refresh:
    """Read every figure for every region; `fetch` downloads (or, in tests, hands over a slice)."""
    table = Refresh()
    regions = sorted(used.regions | set(sources.regions))
    types = wanted_instance_types(used.instance_types, sources)
    for region in regions:
        figures = region_figures(types, sources.rds_instance_classes, sources.elasticache_node_types)
        table.regions[region] = {}
        for offer, offer_figures in figures.items():
            url = offer_url(offer, region)
            reserved_keys = [instance_key(t) for t in types] if offer == "AmazonEC2" else []
            priced, reserved, published, missing = _read(
                offer_figures, fetch(url, f"{offer}-{region}.json"), url, reserved_keys
            )
            table.regions[region].update(priced)
            for key, offers in reserved.items():
                instance_type = key.removeprefix("ec2OnDemand.")
                rates = _reserved_rates(offers, sources.reserved_offering_class, url, published)
                if rates:
                    table.reserved.setdefault(region, {})[instance_type] = rates
            # A size missing from a family is normal (not every family has every size); a used type is not.
            table.missing += [
                f"{region}: {key}"
                for key in missing
                if not key.startswith("ec2OnDemand.") or key.removeprefix("ec2OnDemand.") in used.instance_types
            ]
    for figure in GLOBAL_FIGURES:
        url = offer_url(figure.offer, "global")
        priced, _, _, missing = _read([figure], fetch(url, f"{figure.offer}-global.json"), url)
        table.global_figures.update(priced)
        table.missing += [f"global: {key}" for key in missing]
    with fetch(SPOT_ADVISOR_URL, "spot-advisor-data.json").open("rb") as stream:
        for region, by_type in spot_figures(stream, regions, types).items():
            table.spot[region] = {
                instance_type: SpotSaving(figure.savings_percent, figure.interruption, SPOT_ADVISOR_URL, today)
                for instance_type, figure in by_type.items()
            }
    return table


def load_sources(path: Path = SOURCES_PATH) -> PriceSources:
    """Read data/price-sources.yaml."""
    return load_data_file(PriceSources, path)

"""The price table: every figure sourced and dated, the figures the issue names, and unpriced config billed as such."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import environment_configs, parse_stack_config
from components.cost.bill import compute_bill
from components.cost.bill_of_materials import environment_items, org_items
from components.cost.prices import PRICES_PATH, load_prices, parse_prices
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from tests.config.test_config import raw_config
from tests.conftest import NAT_INSTANCE_VARIANT, variant_plan

LATEST_VALID_DATE = datetime.date(2026, 11, 30)


def figures(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every figure of the raw table: a mapping holding a `usd` or `percent` value."""
    if isinstance(node, dict):
        if "usd" in node or "percent" in node:
            yield path, node
            return
        for key, value in node.items():
            yield from figures(value, f"{path}.{key}" if path else str(key))


def raw_table() -> dict[str, Any]:
    return yaml.safe_load(PRICES_PATH.read_text())


def test_every_figure_has_a_source_url_and_an_iso_date_not_in_the_future() -> None:
    found = list(figures(raw_table()))
    assert found, "the table has no figures"
    for path, figure in found:
        assert re.match(r"^https://[a-z0-9.-]+\.(com|aws)/\S*$", figure.get("source", "")), path
        assert isinstance(figure.get("asOf"), datetime.date), f"{path}: asOf must be an ISO date (YYYY-MM-DD)"
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", figure["asOf"].isoformat())
        assert figure["asOf"] <= LATEST_VALID_DATE, path


def test_aws_figures_come_from_aws_and_github_figures_from_github() -> None:
    for path, figure in figures(raw_table()):
        host = "github.com" if path.startswith("github") else "aws.amazon.com"
        assert f"https://{host}/" in figure["source"] or f"https://docs.{host}/" in figure["source"], path


def test_every_region_prices_what_the_bill_of_materials_names() -> None:
    """Each stack's bill, re-priced in every region of the table: no item lacks a figure anywhere."""
    prices = load_prices()
    catalog = load_catalog()
    for config in environment_configs().values():
        for region in prices.regions:
            for item in environment_items(config, catalog):
                assert prices.quote(item.price, region).unit_usd >= 0, (region, item.item)
    for stack in ("org",):
        config = parse_stack_config(stack, raw_config(stack))
        assert isinstance(config, OrgConfig)
        for item in org_items(config):
            assert prices.quote(item.price).unit_usd >= 0, item.item


def test_the_table_is_consistent() -> None:
    """Relations that hold for any honest table, whatever its figures."""
    prices = load_prices()
    assert prices.hours_per_month == 730  # 8,760 hours a year / 12, as AWS's calculator counts
    for region in prices.regions.values():
        assert region.eks_control_plane.extended.usd > region.eks_control_plane.standard.usd
        assert set(region.spot_savings_percent) <= set(region.ec2_on_demand)
        for instance_type, terms in region.ec2_reserved.items():
            on_demand = region.on_demand(instance_type, "reservations").usd
            for term in terms.values():
                # a reservation is cheaper than on-demand, and more so with more upfront
                assert 0 < term.all_upfront.usd <= term.partial_upfront.usd <= term.no_upfront.usd < on_demand
            if {1, 3} <= set(terms):
                assert terms[3].no_upfront.usd < terms[1].no_upfront.usd
    plans = prices.github.plans
    assert plans["free"].usd == 0 < plans["team"].usd < plans["enterprise"].usd


def test_every_instance_type_of_the_stack_configs_is_priced() -> None:
    for config in environment_configs().values():
        region = load_prices().region(config.aws_region)
        for instance_type in config.nodes.instance_types:
            region.on_demand(instance_type, "nodes.instanceTypes")


def test_a_figure_without_source_is_refused() -> None:
    table = raw_table()
    del table["regions"]["us-east-1"]["rates"]["kmsKey"]["source"]
    with pytest.raises(ConfigError, match=r"prices.yaml: regions.us-east-1.rates.kmsKey.*source: Field required"):
        parse_prices(table, "data/prices.yaml")


def unpriced(stack: str, **overrides: str) -> list[dict[str, Any]]:
    """The unpriced lines of a stack's bill with some config replaced (the config itself is valid)."""
    config = parse_stack_config(stack, raw_config(stack, **overrides))
    bill = compute_bill(config, load_catalog(), load_prices())
    lines = [item for item in bill["items"] if item.get("unpriced")]
    # Listed first, at $0, and the total is the priced lines only.
    assert bill["items"][: len(lines)] == lines
    assert all(item["monthlyUsd"] == 0 for item in lines)
    assert bill["monthlyUsd"] == round(sum(item["monthlyUsd"] for item in bill["items"]), 2)
    return lines


def test_a_region_without_prices_plans_with_every_aws_line_unpriced() -> None:
    lines = unpriced("dev", awsRegion="ap-south-1", availabilityZones='["ap-south-1a", "ap-south-1b"]')
    assert "EKS control plane" in [item["item"] for item in lines]
    assert (
        "UNPRICED: config key 'pyairtable-infra:awsRegion' = 'ap-south-1': region 'ap-south-1' has no prices "
        "in data/prices.yaml; priced regions: ['eu-west-1', 'us-east-1']"
    ) in lines[0]["note"]


def test_an_instance_type_without_a_price_is_an_unpriced_line() -> None:
    nodes = {
        "instanceTypes": ["c7g.large", "m6i.large", "m5.large"],
        "minSize": 1,
        "desiredSize": 2,
        "maxSize": 4,
        "diskSizeGib": 50,
    }
    (line,) = unpriced("dev", nodes=json.dumps(nodes))
    assert (line["item"], line["quantity"]) == ("node group spot", 2)
    assert "config key 'pyairtable-infra:nodes.instanceTypes' = 'c7g.large'" in line["note"]
    assert "no on-demand price" in line["note"] and "m6i.large" in line["note"]  # what is priced


def test_a_reservation_without_a_price_is_an_unpriced_line() -> None:
    nodes = {"instanceTypes": ["t3.large"], "minSize": 3, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 80}
    reservations = [{"instanceType": "t3.large", "count": 3, "termYears": 1, "paymentOption": "no-upfront"}]
    (line,) = unpriced("prod", nodes=json.dumps(nodes), reservations=json.dumps(reservations))
    assert line["item"] == "node group reserved (t3.large, 1-year no-upfront)"
    assert "'pyairtable-infra:reservations' = 't3.large': no reserved-instance price" in line["note"]


def test_an_unpriced_config_plans_with_a_warning() -> None:
    """The program, not only the bill: `pulumi preview` shows the warning and the plan completes."""
    plan = variant_plan("dev", NAT_INSTANCE_VARIANT)
    (line,) = [item for item in plan.outputs["cost"]["items"] if item.get("unpriced")]
    assert line["item"] == "NAT instance (t4g.micro)"
    assert "'pyairtable-infra:natInstanceType' = 't4g.micro'" in line["note"]
    assert [w for w in plan.warnings if "NAT instance (t4g.micro)" in w and "unpriced" in w], plan.warnings


BAD_SPOT_SAVINGS = [
    ('{"m6i.large": 0}', ["spotSavingsPercent", "m6i.large: 0.0", "0 < percent < 100"]),
    ('{"m6i.large": 100}', ["0 < percent < 100"]),
    ('{"m6i.lrage": 50}', ["m6i.lrage", "did you mean"]),
    ('{"t3.large": 50}', ["spotSavingsPercent", "not in nodes.instanceTypes", "m6i.large"]),
]


@pytest.mark.parametrize(("value", "fragments"), BAD_SPOT_SAVINGS)
def test_bad_spot_savings_override_is_refused(value: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("dev", raw_config("dev", spotSavingsPercent=value))
    message = str(caught.value)
    assert "stack 'dev'" in message
    for fragment in fragments:
        assert fragment in message, message


def test_spot_savings_override_is_optional_and_parsed() -> None:
    config = parse_stack_config("dev", raw_config("dev", spotSavingsPercent='{"m5.large": 65.5}'))
    assert isinstance(config, EnvironmentConfig)
    assert config.spot_savings_percent == {"m5.large": 65.5}
    default = parse_stack_config("dev", raw_config("dev"))
    assert isinstance(default, EnvironmentConfig)
    assert default.spot_savings_percent == {}

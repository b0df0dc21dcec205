"""The `cost` output: bills computed by hand from data/prices.yaml's figures, held to the cent.

The expected figures below are written out as arithmetic with the price table's numbers (us-east-1
and eu-west-1, 730 hours a month), not computed by calling the program.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.cost.bill import compute_bill
from components.cost.prices import load_prices
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from tests.conftest import stack_plan
from tools.plan import Plan

# Secrets of the deployable services in data/services.yaml, counted by hand:
# gateway 2 + auth 6 + airtable 2 + ai 2 + platform 2 + analytics 1 + workflow 2.
SERVICE_SECRETS = 2 + 6 + 2 + 2 + 2 + 1 + 2

BILL_KEYS = {
    "currency",
    "region",
    "pricesAsOf",
    "monthlyUsd",
    "onDemandMonthlyUsd",
    "savingsPercent",
    "budgetUsd",
    "overBudget",
    "items",
}
ITEM_KEYS = {"item", "quantity", "unit", "unitPriceUsd", "monthlyUsd", "note"}


def config_of(stack: str, **overrides: Any) -> EnvironmentConfig | OrgConfig:
    """A checked-in stack config with some keys replaced (given as Python values)."""
    values, _ = stack_file_config(stack)
    for key, value in overrides.items():
        values[f"pyairtable-infra:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return parse_stack_config(stack, values)


def bill_of(config: EnvironmentConfig | OrgConfig) -> dict[str, Any]:
    return compute_bill(config, load_catalog(), load_prices())


def items_by_name(bill: dict[str, Any]) -> dict[str, float]:
    return {item["item"]: item["monthlyUsd"] for item in bill["items"]}


def test_spot_bill_by_hand() -> None:
    config = config_of(
        "dev",
        budgetUsd=200,
        nodes={
            "instanceTypes": ["m6i.large", "m6a.large", "m5.large"],
            "minSize": 1,
            "desiredSize": 3,
            "maxSize": 4,
            "diskSizeGib": 20,
        },
        spotSavingsPercent={"m5.large": 70},
        natGateways="single",
        prometheusStorageGib=0,
        alertReceivers=[{"name": "dev-alerts", "kind": "slack"}],
        logIngestionGibPerMonth=4,
        natDataGibPerMonth=10,
    )
    bill = bill_of(config)
    # spot per node-hour: m6i 0.096 x (1 - 0.58) = 0.04032; m6a 0.0864 x (1 - 0.55) = 0.03888;
    # m5 0.096 x (1 - 0.70, the config override) = 0.0288; mean = 0.108 / 3 = 0.036; x 730 = 26.28
    assert bill["items"][1]["unitPriceUsd"] == 26.28
    assert items_by_name(bill) == {
        "EKS control plane": 73.00,  # 0.10 x 730
        "node group spot": 78.84,  # 3 x 26.28
        "node root volumes (gp3)": 4.80,  # 3 nodes x 20 GiB x 0.08
        "NAT gateways": 32.85,  # 1 x 0.045 x 730
        "public IPv4 addresses": 3.65,  # 1 x 0.005 x 730
        "NAT data processed": 0.45,  # 10 x 0.045
        "Secrets Manager secrets": 7.60,  # (17 + grafana-admin + dev-alerts) x 0.40
        "KMS keys": 2.00,  # 2 x 1.00
        "CloudWatch Logs ingestion": 2.00,  # 4 x 0.50
    }
    assert bill["monthlyUsd"] == 205.19
    # on-demand: mean (0.096 + 0.0864 + 0.096) / 3 = 0.0928 x 730 = 67.744 x 3 nodes = 203.232 -> 203.23
    assert bill["onDemandMonthlyUsd"] == 329.58  # 205.19 - 78.84 + 203.23
    assert bill["savingsPercent"] == 37.7  # (329.58 - 205.19) / 329.58 = 37.74%
    assert bill["budgetUsd"] == 200.0
    assert bill["overBudget"] is True
    assert bill["region"] == "us-east-1"
    assert bill["pricesAsOf"] == "2025-06-01"
    spot = bill["items"][1]
    assert "mean of the types' spot prices" in spot["note"]
    assert "m5.large 70% (spotSavingsPercent)" in spot["note"]


def test_mixed_bill_by_hand_in_eu_west_1() -> None:
    config = config_of(
        "staging",
        awsRegion="eu-west-1",
        availabilityZones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        natGateways="perAz",
        onDemandBaseCount=2,
        nodes={
            "instanceTypes": ["m6i.large", "m6a.large", "m5.large", "m5a.large"],
            "minSize": 1,
            "desiredSize": 2,
            "maxSize": 5,
            "diskSizeGib": 30,
        },
        prometheusReplicas=2,
        prometheusStorageGib=10,
        alertReceivers=[{"name": "a", "kind": "slack"}, {"name": "b", "kind": "webhook"}],
        logIngestionGibPerMonth=10,
        natDataGibPerMonth=100,
    )
    bill = bill_of(config)
    assert items_by_name(bill) == {
        "EKS control plane": 73.00,
        "node group on-demand-base": 156.22,  # 2 x 0.107 x 730 = 2 x 78.11
        # spot: 0.107 x 0.38 = 0.04066; 0.0963 x 0.42 = 0.040446; 0.107 x 0.36 = 0.03852; 0.096 x 0.40 = 0.0384
        # mean = 0.158026 / 4 = 0.0395065 x 730 = 28.839745 x 2 nodes = 57.67949
        "node group spot": 57.68,
        "node root volumes (gp3)": 10.56,  # (2 + 2) nodes x 30 GiB x 0.088
        "NAT gateways": 105.12,  # 3 zones x 0.048 x 730 = 3 x 35.04
        "public IPv4 addresses": 10.95,  # 3 x 0.005 x 730
        "NAT data processed": 4.80,  # 100 x 0.048
        "Prometheus volumes (gp3)": 1.76,  # 2 x 10 GiB x 0.088
        "Secrets Manager secrets": 8.00,  # (17 + 1 + 2) x 0.40
        "KMS keys": 2.00,
        "CloudWatch Logs ingestion": 5.70,  # 10 x 0.57
    }
    assert bill["monthlyUsd"] == 435.79
    # on-demand spot equivalent: (0.107 + 0.0963 + 0.107 + 0.096) / 4 = 0.101575 x 730 x 2 = 148.2995
    assert bill["onDemandMonthlyUsd"] == 526.41  # 435.79 - 57.68 + 148.30
    assert bill["savingsPercent"] == 17.2  # 90.62 / 526.41
    assert bill["region"] == "eu-west-1"
    assert bill["overBudget"] is False


def test_reserved_bill_by_hand_with_an_uncovered_node() -> None:
    config = config_of(
        "prod",
        availabilityZones=["us-east-1a", "us-east-1b"],
        nodes={"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 4, "maxSize": 6, "diskSizeGib": 40},
        reservations=[{"instanceType": "m6i.large", "count": 3, "termYears": 3, "paymentOption": "all-upfront"}],
    )
    assert isinstance(config, EnvironmentConfig)
    assert (config.reserved_node_count, config.uncovered_node_count) == (3, 1)
    bill = bill_of(config)
    assert items_by_name(bill) == {
        "EKS control plane": 73.00,
        "node group reserved (m6i.large, 3-year all-upfront)": 81.25,  # 3 x 0.0371 x 730 = 81.249
        "node group reserved: uncovered on-demand": 70.08,  # 1 x 0.096 x 730
        "node root volumes (gp3)": 12.80,  # 4 x 40 x 0.08
        "NAT gateways": 65.70,  # 2 zones x 32.85
        "public IPv4 addresses": 7.30,  # 2 x 3.65
        "NAT data processed": 9.00,  # 200 x 0.045
        "Prometheus volumes (gp3)": 16.00,  # 2 x 100 x 0.08
        "Secrets Manager secrets": 8.00,  # (17 + grafana-admin + prod-pager + prod-alerts) x 0.40
        "KMS keys": 2.00,
        "CloudWatch Logs ingestion": 20.00,  # 40 x 0.50
    }
    assert bill["monthlyUsd"] == 365.13
    assert bill["onDemandMonthlyUsd"] == 494.12  # 365.13 - 81.25 + 3 x 70.08
    assert bill["savingsPercent"] == 26.1  # 128.99 / 494.12
    reserved, uncovered = bill["items"][1], bill["items"][2]
    assert "3 of 4 nodes covered, 1 uncovered" in reserved["note"]
    assert uncovered["quantity"] == 1
    assert "1 of 4 nodes uncovered" in uncovered["note"]


def test_unused_reservations_are_billed_and_save_nothing() -> None:
    config = config_of(
        "prod",
        reservations=[{"instanceType": "m6i.large", "count": 5, "termYears": 3, "paymentOption": "all-upfront"}],
    )
    bill = bill_of(config)
    items = items_by_name(bill)
    assert items["node group reserved (m6i.large, 3-year all-upfront)"] == 81.25  # 3 covered x 27.083
    assert items["reserved instances unused (m6i.large)"] == 54.17  # 2 x 0.0371 x 730 = 54.166
    assert "node group reserved: uncovered on-demand" not in items
    # 73 + 81.25 + 54.17 + 19.20 (3 x 80 GiB) + 98.55 + 10.95 + 9.00 + 16.00 + 8.00 + 2.00 + 20.00
    assert bill["monthlyUsd"] == 392.12
    # on-demand you would not buy the two unused instances: they count 0 there; 3 nodes x 70.08
    assert bill["onDemandMonthlyUsd"] == 466.94  # 392.12 - 81.25 - 54.17 + 210.24


def test_org_bill_by_hand() -> None:
    bill = bill_of(config_of("org", githubPlan="enterprise", githubSeats=10, budgetUsd=200))
    assert bill["region"] == "global"
    assert items_by_name(bill) == {"GitHub enterprise plan": 210.00, "GitHub Container Registry (ghcr.io)": 0.00}
    assert (bill["monthlyUsd"], bill["onDemandMonthlyUsd"], bill["savingsPercent"]) == (210.0, 210.0, 0.0)
    assert bill["overBudget"] is True
    registry = bill["items"][1]
    assert "currently free" in registry["note"]


def test_every_stack_exports_cost_in_exactly_the_shape(any_plan: Plan) -> None:
    bill = any_plan.outputs["cost"]
    assert set(bill) == BILL_KEYS
    assert bill["currency"] == "USD"
    assert isinstance(bill["overBudget"], bool)
    for key in ("monthlyUsd", "onDemandMonthlyUsd", "savingsPercent", "budgetUsd"):
        assert isinstance(bill[key], float), key
    assert bill["items"]
    for item in bill["items"]:
        assert set(item) == ITEM_KEYS
        assert item["monthlyUsd"] == round(item["monthlyUsd"], 2)
        assert item["note"]
    assert bill["monthlyUsd"] == round(sum(item["monthlyUsd"] for item in bill["items"]), 2)
    assert bill["onDemandMonthlyUsd"] >= bill["monthlyUsd"]


def test_exported_bill_is_compute_bill_of_the_stack_config(any_plan: Plan) -> None:
    config = parse_stack_config(any_plan.stack, stack_file_config(any_plan.stack)[0])
    expected = bill_of(config)
    assert any_plan.outputs["cost"] == expected


def test_budgets_come_from_each_stacks_config() -> None:
    for stack, budget in (("org", 150.0), ("dev", 300.0), ("staging", 450.0), ("prod", 900.0)):
        assert stack_plan(stack).outputs["cost"]["budgetUsd"] == budget


def test_three_control_planes_cost_219_a_month() -> None:
    # The sanity figure: three EKS control planes at standard support, 3 x 0.10 x 730.
    control_planes = [
        items_by_name(stack_plan(stack).outputs["cost"])["EKS control plane"] for stack in ("dev", "staging", "prod")
    ]
    assert sum(control_planes) == 219.0


def test_missing_price_in_the_table_is_a_config_error_naming_the_stack() -> None:
    prices = load_prices()
    without_eu = prices.model_copy(update={"regions": {"us-east-1": prices.regions["us-east-1"]}})
    config = config_of("dev", awsRegion="eu-west-1", availabilityZones=["eu-west-1a", "eu-west-1b"])
    with pytest.raises(ConfigError) as caught:
        compute_bill(config, load_catalog(), without_eu)
    message = str(caught.value)
    assert "stack 'dev'" in message
    assert "pyairtable-infra:awsRegion" in message
    assert "'eu-west-1'" in message
    assert "priced regions: ['us-east-1']" in message

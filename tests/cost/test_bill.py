"""The `cost` output: bills computed by hand from data/prices.yaml's figures, held to the cent.

The expected figures below are written out as arithmetic with the price table's numbers (us-east-1
and eu-west-1, 730 hours a month), not computed by calling the program.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from components.config.environment import EnvironmentConfig
from components.config.org import OrgConfig
from components.config.stack_file import parse_stack_config, stack_file_config
from components.cost.bill import compute_bill
from components.cost.prices import Price, Rates, RegionPrices, load_prices
from components.datastores.limits import capabilities
from components.shared.catalog import SecretKind, SecretSource, load_catalog
from tests.cost.test_prices import figures, raw_table
from tools.plan import Plan

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


def money(value: Decimal) -> float:
    """Cents, half up, as the bill rounds each item."""
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def usd(price: Price) -> Decimal:
    return Decimal(str(price.usd))


def monthly(price: Price) -> Decimal:
    """An hourly figure for a month of the table's hours."""
    return usd(price) * load_prices().hours_per_month


def spot_prices(region: RegionPrices, types: list[str], overrides: dict[str, float]) -> tuple[Decimal, Decimal]:
    """Monthly (spot, on-demand) price of a node that may be any of `types`: the means over the types."""
    on_demand = [monthly(region.on_demand(t, "nodes.instanceTypes")) for t in types]
    savings = [Decimal(str(overrides.get(t, region.spot_savings(t, {})))) for t in types]
    spot = [price * (1 - saving / 100) for price, saving in zip(on_demand, savings, strict=True)]
    return sum(spot, Decimal(0)) / len(types), sum(on_demand, Decimal(0)) / len(types)


def secrets_of(config: EnvironmentConfig) -> int:
    """The services' own secrets (a shared one is its owner's, a key pair is two), Grafana's admin,
    and one per receiver."""
    services = load_catalog().deployable
    owned = sum(1 for service in services for secret in service.secrets if secret.source is not SecretSource.SHARED)
    key_pairs = sum(1 for service in services for secret in service.secrets if secret.kind is SecretKind.KEY_PAIR)
    return owned + key_pairs + 1 + len(config.alert_receivers) + 1  # the last: the registry's credential


def variant(rates: Rates, name: str, key: str) -> Price:
    figure = rates[name]
    assert isinstance(figure, dict), name
    return figure[key]


def datastore_items(config: EnvironmentConfig) -> dict[str, float]:
    """PostgreSQL, Redis and volume backups, priced from the table by hand."""
    rates = load_prices().region(config.aws_region).rates
    postgres, redis = config.postgres, config.redis
    instance = monthly(variant(rates, "rdsPostgresInstance", postgres.instance_class))
    storage = postgres.allocated_storage_gib * usd(rate(rates, "rdsGp3Storage"))
    items = {"PostgreSQL instance": money(instance), "PostgreSQL storage (gp3)": money(storage)}
    if postgres.multi_az:
        items["PostgreSQL Multi-AZ standby"] = money(instance)
        items["PostgreSQL Multi-AZ standby storage (gp3)"] = money(storage)
    if postgres.backup_storage_gib:
        items["PostgreSQL backups beyond the free allowance"] = money(
            postgres.backup_storage_gib * usd(rate(rates, "rdsBackupStorage"))
        )
    groups = len(load_catalog().redis_uses())  # one replication group per Redis use of the catalog
    node = monthly(variant(rates, "elasticacheRedisNode", redis.node_type))
    items["Redis nodes"] = money(groups * redis.nodes_per_group * node)
    if redis.snapshot_retention_days > 1:
        memory = Decimal(str(capabilities()["redis"]["nodeTypes"][redis.node_type]["memoryGib"]))
        gib = math.ceil(groups * (redis.snapshot_retention_days - 1) * memory)
        items["Redis snapshots beyond the free one"] = money(gib * usd(rate(rates, "elasticacheSnapshotStorage")))
    if config.backups.enabled and config.backups.volume_gib_estimate:
        items["volume backups (AWS Backup)"] = money(
            config.backups.volume_gib_estimate * usd(rate(rates, "backupEbsSnapshot"))
        )
    return items


def common_items(config: EnvironmentConfig, nodes: int) -> dict[str, float]:
    """The items every environment bill has beside its node groups, priced from the table by hand."""
    region = load_prices().region(config.aws_region)
    rates = region.rates
    nat = 1 if config.nat_gateways.value == "single" else len(config.availability_zones)
    items = {
        "EKS control plane": money(monthly(region.eks_control_plane.standard)),
        "node root volumes (gp3)": money(nodes * config.nodes.disk_size_gib * usd(rate(rates, "ebsGp3"))),
        "NAT gateways": money(nat * monthly(rate(rates, "natGateway"))),
        "public IPv4 addresses": money(nat * monthly(rate(rates, "publicIpv4"))),
        "NAT data processed": money(config.nat_data_gib_per_month * usd(rate(rates, "natDataProcessed"))),
        "Secrets Manager secrets": money(secrets_of(config) * usd(rate(rates, "secretsManagerSecret"))),
        # EKS secrets, Secrets Manager, CloudWatch Logs and data stores keys.
        "KMS keys": money(4 * usd(rate(rates, "kmsKey"))),
        "ECR pull-through cache storage": money(config.registry.cache.stored_gib * usd(rate(rates, "ecrStorage"))),
        "CloudWatch Logs ingestion": money(
            config.log_ingestion_gib_per_month * usd(rate(rates, "cloudwatchLogsIngestion"))
        ),
        "AWS Budgets budget": money(usd(rate(rates, "awsBudget"))),
    }
    endpoints = len(config.network.interface_endpoints) * len(config.availability_zones)
    if endpoints:
        items["VPC interface endpoints"] = money(endpoints * monthly(rate(rates, "vpcEndpoint")))
    volume = config.prometheus_replicas * config.prometheus_storage_gib
    if volume:
        items["Prometheus volumes (gp3)"] = money(volume * usd(rate(rates, "ebsGp3")))
    if config.delivery.path == "codebuild":
        per_minute = rates["codebuildLinux"]
        assert isinstance(per_minute, dict)
        minute = per_minute[config.delivery.runner_compute_type]
        items["CI runners in the VPC (CodeBuild)"] = money(config.delivery.build_minutes_per_month * usd(minute))
    return {**items, **datastore_items(config), **traffic_items(config)}


def traffic_items(config: EnvironmentConfig) -> dict[str, float]:
    """The catalog's one public service behind one ALB, the zone and its queries, the WAF where on, the alarm."""
    rates = load_prices().region(config.aws_region).rates
    traffic = config.traffic
    items = {
        "application load balancer": money(monthly(rate(rates, "albHour"))),
        "load balancer capacity units": money(
            traffic.load_balancer_capacity_units * monthly(rate(rates, "albLcuHour"))
        ),
        "Route 53 hosted zone": money(usd(rate(rates, "route53HostedZone"))),
        "Route 53 queries": money(traffic.dns_queries_millions_per_month * usd(rate(rates, "route53Queries"))),
        "certificate expiry alarm": money(usd(rate(rates, "cloudwatchAlarm"))),
    }
    if traffic.web_application_firewall:
        items |= {
            "WAF web ACL": money(usd(rate(rates, "wafWebAcl"))),
            "WAF rules": money(usd(rate(rates, "wafRule"))),
            "WAF requests": money(traffic.waf_requests_millions_per_month * usd(rate(rates, "wafRequests"))),
        }
    return items


def rate(rates: Rates, name: str) -> Price:
    figure = rates[name]
    assert isinstance(figure, Price), name
    return figure


def test_spot_bill_by_hand() -> None:
    types = ["m6i.large", "m6a.large", "m5.large"]
    config = config_of(
        "dev",
        budgetUsd=1,
        nodes={"instanceTypes": types, "minSize": 1, "desiredSize": 3, "maxSize": 4, "diskSizeGib": 20},
        spotSavingsPercent={"m5.large": 70},
        natGateways="single",
        prometheusStorageGib=0,
        alertReceivers=[{"name": "dev-alerts", "kind": "slack"}],
        logIngestionGibPerMonth=4,
        natDataGibPerMonth=10,
        # Around the clock: tests/scaling prices dev's off-hours schedule.
        scaling={"platformReplicas": 1},
    )
    assert isinstance(config, EnvironmentConfig)
    bill = bill_of(config)
    spot, on_demand = spot_prices(load_prices().region("us-east-1"), types, {"m5.large": 70})
    expected = {"node group spot": money(3 * spot), **common_items(config, nodes=3)}
    assert "Prometheus volumes (gp3)" not in expected
    assert items_by_name(bill) == expected
    assert bill["items"][1]["unitPriceUsd"] == float(spot.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    total = round(sum(expected.values()), 2)
    all_on_demand = round(total - expected["node group spot"] + money(3 * on_demand), 2)
    assert (bill["monthlyUsd"], bill["onDemandMonthlyUsd"]) == (total, all_on_demand)
    assert bill["savingsPercent"] == round((all_on_demand - total) / all_on_demand * 100, 1)
    assert (bill["budgetUsd"], bill["overBudget"]) == (1.0, True)
    assert bill["region"] == "us-east-1"
    assert bill["pricesAsOf"] == min(figure["asOf"] for _, figure in figures(raw_table())).isoformat()
    spot_item = bill["items"][1]
    assert "mean of the types' spot prices" in spot_item["note"]
    assert "m5.large 70% (spotSavingsPercent)" in spot_item["note"]


def test_mixed_bill_by_hand_in_eu_west_1() -> None:
    types = ["m6i.large", "m6a.large", "m5.large", "m5a.large"]
    config = config_of(
        "staging",
        awsRegion="eu-west-1",
        availabilityZones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        natGateways="perAz",
        onDemandBaseCount=2,
        nodes={"instanceTypes": types, "minSize": 1, "desiredSize": 2, "maxSize": 5, "diskSizeGib": 30},
        spotSavingsPercent={},
        prometheusReplicas=2,
        prometheusStorageGib=10,
        alertReceivers=[{"name": "a", "kind": "slack"}, {"name": "b", "kind": "webhook"}],
        logIngestionGibPerMonth=10,
        natDataGibPerMonth=100,
    )
    assert isinstance(config, EnvironmentConfig)
    region = load_prices().region("eu-west-1")
    spot, on_demand = spot_prices(region, types, {})
    expected = {
        "node group on-demand-base": money(2 * monthly(region.on_demand("m6i.large", "nodes.instanceTypes"))),
        "node group spot": money(2 * spot),
        **common_items(config, nodes=2 + 2),
    }
    bill = bill_of(config)
    assert items_by_name(bill) == expected
    total = round(sum(expected.values()), 2)
    assert bill["monthlyUsd"] == total
    assert bill["onDemandMonthlyUsd"] == round(total - expected["node group spot"] + money(2 * on_demand), 2)
    assert bill["region"] == "eu-west-1"


def test_reserved_bill_by_hand_with_an_uncovered_node() -> None:
    config = config_of(
        "prod",
        availabilityZones=["us-east-1a", "us-east-1b"],
        nodes={"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 4, "maxSize": 6, "diskSizeGib": 40},
        reservations=[{"instanceType": "m6i.large", "count": 3, "termYears": 3, "paymentOption": "all-upfront"}],
    )
    assert isinstance(config, EnvironmentConfig)
    assert (config.reserved_node_count, config.uncovered_node_count) == (3, 1)
    region = load_prices().region("us-east-1")
    reserved = monthly(region.reserved("m6i.large", 3, "all-upfront"))
    on_demand = monthly(region.on_demand("m6i.large", "nodes.instanceTypes"))
    expected = {
        "node group reserved (m6i.large, 3-year all-upfront)": money(3 * reserved),
        "node group reserved: uncovered on-demand": money(on_demand),
        **common_items(config, nodes=4),
    }
    bill = bill_of(config)
    assert items_by_name(bill) == expected
    total = round(sum(expected.values()), 2)
    assert bill["monthlyUsd"] == total
    all_on_demand = round(
        total - expected["node group reserved (m6i.large, 3-year all-upfront)"] + 3 * money(on_demand), 2
    )
    assert bill["onDemandMonthlyUsd"] == all_on_demand
    reserved_item, uncovered_item = bill["items"][1], bill["items"][2]
    assert "3 of 4 nodes covered, 1 uncovered" in reserved_item["note"]
    assert uncovered_item["quantity"] == 1
    assert "1 of 4 nodes uncovered" in uncovered_item["note"]


def test_unused_reservations_are_billed_and_save_nothing() -> None:
    nodes = {"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 80}
    config = config_of(
        "prod",
        nodes=nodes,
        reservations=[{"instanceType": "m6i.large", "count": 5, "termYears": 3, "paymentOption": "all-upfront"}],
    )
    assert isinstance(config, EnvironmentConfig)
    region = load_prices().region("us-east-1")
    reserved = monthly(region.reserved("m6i.large", 3, "all-upfront"))
    bill = bill_of(config)
    items = items_by_name(bill)
    assert items["node group reserved (m6i.large, 3-year all-upfront)"] == money(3 * reserved)
    assert items["reserved instances unused (m6i.large)"] == money(2 * reserved)
    assert "node group reserved: uncovered on-demand" not in items
    # on-demand you would not buy the two unused instances: they count 0 there
    on_demand = money(3 * monthly(region.on_demand("m6i.large", "nodes.instanceTypes")))
    expected_on_demand = bill["monthlyUsd"] - money(3 * reserved) - money(2 * reserved) + on_demand
    assert bill["onDemandMonthlyUsd"] == round(expected_on_demand, 2)


def test_org_bill_by_hand() -> None:
    bill = bill_of(config_of("org", githubPlan="enterprise", githubSeats=20, budgetUsd=1))
    github = load_prices().github
    registry = github.rates["containerRegistry"]
    assert isinstance(registry, Price)
    assert bill["region"] == "global"
    assert items_by_name(bill) == {
        "GitHub enterprise plan": money(20 * usd(github.plans["enterprise"])),
        "GitHub Container Registry (ghcr.io)": money(usd(registry)),
        # The enterprise plan's 50,000 included minutes cover the configured publishing.
        "GitHub Actions minutes publishing images": 0.0,
    }
    assert bill["monthlyUsd"] == bill["onDemandMonthlyUsd"] == round(sum(items_by_name(bill).values()), 2)
    assert bill["overBudget"] is True
    assert bill["items"][1]["note"] == registry.notes


def test_every_stack_exports_cost_in_exactly_the_shape(any_plan: Plan) -> None:
    bill = any_plan.outputs["cost"]
    assert set(bill) == BILL_KEYS
    assert bill["currency"] == "USD"
    assert isinstance(bill["overBudget"], bool)
    for key in ("monthlyUsd", "onDemandMonthlyUsd", "savingsPercent", "budgetUsd"):
        assert isinstance(bill[key], float), key
    assert bill["items"]
    for item in bill["items"]:
        assert set(item) == ITEM_KEYS  # the checked-in stacks price every line: no `unpriced` key
        assert item["monthlyUsd"] == round(item["monthlyUsd"], 2)
        assert item["note"]
    assert bill["monthlyUsd"] == round(sum(item["monthlyUsd"] for item in bill["items"]), 2)
    assert bill["onDemandMonthlyUsd"] >= bill["monthlyUsd"]


def test_exported_bill_is_compute_bill_of_the_stack_config(any_plan: Plan) -> None:
    config = parse_stack_config(any_plan.stack, stack_file_config(any_plan.stack)[0])
    expected = bill_of(config)
    assert any_plan.outputs["cost"] == expected


def test_budgets_come_from_each_stacks_config(any_plan: Plan) -> None:
    config = parse_stack_config(any_plan.stack, stack_file_config(any_plan.stack)[0])
    assert any_plan.outputs["cost"]["budgetUsd"] == config.budget_usd


def test_a_figure_missing_from_the_table_is_an_unpriced_line_naming_the_key() -> None:
    prices = load_prices()
    without_eu = prices.model_copy(update={"regions": {"us-east-1": prices.regions["us-east-1"]}})
    config = config_of("dev", awsRegion="eu-west-1", availabilityZones=["eu-west-1a", "eu-west-1b"])
    bill = compute_bill(config, load_catalog(), without_eu)
    assert bill["items"] and all(item.get("unpriced") for item in bill["items"])
    note = bill["items"][0]["note"]
    assert "pyairtable-infra:awsRegion" in note and "'eu-west-1'" in note and "priced regions: ['us-east-1']" in note
    assert bill["monthlyUsd"] == 0
    assert bill["pricesAsOf"].startswith("none")

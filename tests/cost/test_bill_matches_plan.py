"""The bill cannot drift from what is declared: every counted quantity of the `cost` output equals the
number of resources (or their sizes) in the same stack's plan.

`components/bill_of_materials.py` counts from config; the components declare from the same config.
These tests hold the two together for every environment and for changed configs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from components.config.org import OrgConfig
from components.config.stack_file import encode_config_value, environment_configs, parse_stack_config, stack_file_config
from components.cost.bill_of_materials import org_items
from components.cost.prices import load_prices
from components.registry.cost import ACTIONS_INCLUDED_MINUTES, billed_publishing_minutes
from components.shared.catalog import ENVIRONMENTS
from components.shared.paths import PROJECT_ROOT
from tests.conftest import NAT_INSTANCE_VARIANT, stack_plan, variant_plan
from tools.plan import Plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
MONITORING_RELEASE = "monitoring-release"
# Configs that move every counted quantity away from the checked-in stacks.
TWO_RECEIVERS = [{"name": "a", "kind": "slack"}, {"name": "b", "kind": "webhook"}]
FIVE_RESERVED_NODES = {"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 5, "maxSize": 6, "diskSizeGib": 80}
VARIANTS = [
    ("dev", {"natGateways": "perAz", "alertReceivers": TWO_RECEIVERS}),
    ("dev", NAT_INSTANCE_VARIANT),
    ("staging", {"onDemandBaseCount": 2, "prometheusStorageGib": 0}),
    ("prod", {"nodes": FIVE_RESERVED_NODES}),
    ("prod", {"prometheusReplicas": 3, "prometheusStorageGib": 150, "natGateways": "single"}),
    ("dev", {"delivery": {"path": "codebuild", "buildMinutesPerMonth": 900}}),
    # Data stores: a Multi-AZ staging database on more storage, and three Redis nodes per group.
    (
        "staging",
        {
            "postgres": {
                "engineVersion": "17.6",
                "instanceClass": "db.t4g.small",
                "allocatedStorageGib": 40,
                "maxAllocatedStorageGib": 100,
                "multiAz": True,
                "backupRetentionDays": 7,
                "finalSnapshot": True,
                "logRetentionDays": 30,
                "rotationDays": 60,
            },
            "redis": {
                "engineVersion": "7.1",
                "nodeType": "cache.t4g.small",
                "nodesPerGroup": 3,
                "multiAz": True,
                "snapshotRetentionDays": 1,
                "rotationDays": 60,
            },
        },
    ),
]


def bill_quantity(plan: Plan, pattern: str) -> float:
    """Sum of the quantities of the bill items whose name matches `pattern` (0 when none)."""
    return sum(item["quantity"] for item in plan.outputs["cost"]["items"] if re.fullmatch(pattern, item["item"]))


def node_groups(plan: Plan) -> list[dict[str, Any]]:
    return [group["inputs"] for group in plan.of_type(NODE_GROUP)]


def disk_of(plan: Plan, group: dict[str, Any]) -> float:
    """Root volume size of a node group, read from the launch template it names."""
    template_id = group["launchTemplate"]["id"]
    (template,) = [t for t in plan.of_type(LAUNCH_TEMPLATE) if f"{t['name']}-id" == template_id]
    return template["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]


def prometheus_volume_gib(plan: Plan) -> float:
    spec = plan.one("kubernetes:helm.sh/v3:Release", MONITORING_RELEASE)["inputs"]["values"]["prometheus"][
        "prometheusSpec"
    ]
    storage = spec.get("storageSpec")
    if not storage:
        return 0
    size = storage["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
    return spec["replicas"] * int(size.removesuffix("Gi"))


def assert_bill_matches(plan: Plan) -> None:
    groups = node_groups(plan)
    assert bill_quantity(plan, "EKS control plane") == len(plan.of_type("aws:eks/cluster:Cluster")) == 1
    spot = sum(g["scalingConfig"]["desiredSize"] for g in groups if g["capacityType"] == "SPOT")
    on_demand = sum(g["scalingConfig"]["desiredSize"] for g in groups if g["capacityType"] == "ON_DEMAND")
    assert bill_quantity(plan, r"node group spot") == spot
    assert bill_quantity(plan, r"node group (on-demand-base|reserved.*)") == on_demand
    assert bill_quantity(plan, r"node root volumes \(gp3\)") == sum(
        g["scalingConfig"]["desiredSize"] * disk_of(plan, g) for g in groups
    )
    assert bill_quantity(plan, "NAT gateways") == len(plan.of_type("aws:ec2/natGateway:NatGateway"))
    nat_instances = plan.of_type("aws:ec2/instance:Instance")
    assert bill_quantity(plan, r"NAT instance \(.*\)") == len(nat_instances)
    assert bill_quantity(plan, r"NAT instance root volume \(gp3\)") == sum(
        template["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
        for template in plan.of_type(LAUNCH_TEMPLATE)
        if template["name"].endswith("nat-instance-lt")
    )
    assert bill_quantity(plan, "AWS Budgets budget") == len(plan.of_type("aws:budgets/budget:Budget")) == 1
    assert bill_quantity(plan, "public IPv4 addresses") == len(plan.of_type("aws:ec2/eip:Eip"))
    assert bill_quantity(plan, r"Prometheus volumes \(gp3\)") == prometheus_volume_gib(plan)
    assert bill_quantity(plan, "Secrets Manager secrets") == len(plan.of_type("aws:secretsmanager/secret:Secret"))
    assert bill_quantity(plan, "KMS keys") == len(plan.of_type("aws:kms/key:Key"))
    # Traffic: one ALB per Ingress group of internet-facing Ingresses (the controller creates it), the
    # zone, the WAF's ACLs and their rules, the certificate alarm.
    groups_of_public_ingresses = {
        ingress["inputs"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"]
        for ingress in plan.of_type("kubernetes:networking.k8s.io/v1:Ingress")
        if ingress["inputs"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    }
    assert bill_quantity(plan, "application load balancer") == len(groups_of_public_ingresses)
    assert bill_quantity(plan, "Route 53 hosted zone") == len(plan.of_type("aws:route53/zone:Zone"))
    acls = plan.of_type("aws:wafv2/webAcl:WebAcl")
    assert bill_quantity(plan, "WAF web ACL") == len(acls)
    assert bill_quantity(plan, "WAF rules") == sum(len(acl["inputs"]["rules"]) for acl in acls)
    alarms = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert bill_quantity(plan, "certificate expiry alarm") == len(alarms)
    runner_minutes = bill_quantity(plan, r"CI runners in the VPC \(CodeBuild\)")
    assert bool(runner_minutes) == bool(plan.of_type("aws:codebuild/project:Project"))
    interface = [e["inputs"] for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")]
    interface = [e for e in interface if e["vpcEndpointType"] == "Interface"]
    assert bill_quantity(plan, "VPC interface endpoints") == sum(len(e["subnetIds"]) for e in interface)
    # The cache's storage is an estimate (nothing in the plan sizes it), but only where a cache rule exists.
    caches = len(plan.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule"))
    stored = environment_configs()[plan.stack].registry.cache.stored_gib
    assert bill_quantity(plan, r"ECR pull-through cache storage") == caches * stored
    assert_data_stores_match(plan)


def assert_data_stores_match(plan: Plan) -> None:
    """PostgreSQL, Redis and volume backups: the bill's quantities are the plan's sizes and counts."""
    [instance] = [r["inputs"] for r in plan.of_type("aws:rds/instance:Instance")]
    copies = 2 if instance["multiAz"] else 1
    assert bill_quantity(plan, "PostgreSQL instance") == 1
    assert bill_quantity(plan, "PostgreSQL Multi-AZ standby") == copies - 1
    assert (
        bill_quantity(plan, r"PostgreSQL (Multi-AZ standby )?storage \(gp3\)") == copies * instance["allocatedStorage"]
    )
    groups = [r["inputs"] for r in plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")]
    assert bill_quantity(plan, "(Redis|Valkey) nodes") == sum(g["numCacheClusters"] for g in groups)
    assert (bill_quantity(plan, r"volume backups \(AWS Backup\)") > 0) is bool(plan.of_type("aws:backup/plan:Plan"))


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_the_bill_counts_what_the_stack_declares(stack: str) -> None:
    assert_bill_matches(stack_plan(stack))


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_the_bill_follows_a_changed_config(stack: str, overrides: dict[str, Any]) -> None:
    plan = variant_plan(stack, overrides)
    assert plan.outputs["cost"] != stack_plan(stack).outputs["cost"]
    assert_bill_matches(plan)


def test_uncovered_reserved_nodes_are_billed_and_warned() -> None:
    plan = variant_plan("prod", {"nodes": FIVE_RESERVED_NODES})
    assert bill_quantity(plan, r"node group reserved: uncovered on-demand") == 2
    assert any("2" in warning and "reserv" in warning for warning in plan.warnings), plan.warnings


def test_the_org_bill_prices_seats_and_the_registry() -> None:
    plan = stack_plan("org")
    config = parse_stack_config("org", stack_file_config("org")[0])
    assert isinstance(config, OrgConfig)
    assert bill_quantity(plan, "GitHub team plan") == config.github_seats
    assert bill_quantity(plan, "GitHub Secret Protection") == 0  # no add-on configured
    assert bill_quantity(plan, r"GitHub Container Registry \(ghcr\.io\)") == 1
    # The machine user's membership is one of the seats (the seat check counts it with the people).
    members = {m["inputs"]["username"].casefold() for m in plan.of_type("github:index/membership:Membership")}
    assert config.registry.machine_user.casefold() in members


def test_publishing_minutes_are_billed_beyond_the_included_minutes() -> None:
    settings = parse_stack_config("org", stack_file_config("org")[0])
    assert isinstance(settings, OrgConfig)
    publishing = settings.registry.publishing
    included = ACTIONS_INCLUDED_MINUTES[settings.github_plan]
    assert bill_quantity(stack_plan("org"), "GitHub Actions minutes publishing images") == max(
        0, publishing.builds_per_month * publishing.minutes_per_build - included
    )
    busy = {"builds_per_month": 1000, "minutes_per_build": 6}
    registry = settings.registry.model_copy(update={"publishing": settings.registry.publishing.model_copy(update=busy)})
    assert billed_publishing_minutes(registry, "team") == 1000 * 6 - ACTIONS_INCLUDED_MINUTES["team"]
    assert billed_publishing_minutes(registry, "enterprise") == 0


def test_enterprise_seats_and_secret_protection_are_priced_per_committer() -> None:
    github = yaml.safe_load((PROJECT_ROOT / "Pulumi.org.yaml").read_text())["config"]["pyairtable-infra:github"]
    overrides = {
        "githubPlan": "enterprise",
        "secretScanning": True,
        "github": {**github, "addOns": ["secretProtection"]},
    }
    config = parse_stack_config(
        "org",
        {
            **stack_file_config("org")[0],
            **{f"pyairtable-infra:{k}": encode_config_value(v) for k, v in overrides.items()},
        },
    )
    assert isinstance(config, OrgConfig)
    items = {item.item: item for item in org_items(config)}
    people = len({login.casefold() for login in config.all_logins()})
    assert items["GitHub enterprise plan"].quantity == config.github_seats
    assert items["GitHub Secret Protection"].quantity == people
    prices = load_prices()
    assert prices.quote(items["GitHub Secret Protection"].price).unit_usd == prices.github.rate("secretProtection").usd

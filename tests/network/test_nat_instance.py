"""The NAT options of non-prod: one NAT instance, or none where nothing needs the internet."""

from __future__ import annotations

import base64

import pytest

from components.config.stack_file import parse_stack_config
from components.network.egress import (
    ENDPOINTS_WITHOUT_NAT,
    PLATFORM_IMAGE_REGISTRIES,
    EgressFacts,
    no_nat_blockers,
)
from components.network.nat_instance import ROOT_VOLUME_GIB, ami_parameter
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from tests.config.test_config import raw_config
from tests.conftest import NAT_INSTANCE_VARIANT, variant_plan
from tools.plan import Plan

NAT_TYPE = NAT_INSTANCE_VARIANT["natInstanceType"]


def instance_plan() -> Plan:
    """dev with its egress through a NAT instance of a non-default type."""
    return variant_plan("dev", NAT_INSTANCE_VARIANT)


def test_a_nat_instance_replaces_the_nat_gateways() -> None:
    plan = instance_plan()
    assert plan.of_type("aws:ec2/natGateway:NatGateway") == []
    interface = plan.one("aws:ec2/networkInterface:NetworkInterface", "network-nat-instance-eni")
    assert interface["inputs"]["sourceDestCheck"] is False
    assert interface["inputs"]["subnetId"] == "network-public-us-east-1a-id"
    instance = plan.one("aws:ec2/instance:Instance")
    assert instance["inputs"]["primaryNetworkInterface"]["networkInterfaceId"] == "network-nat-instance-eni-id"
    template = plan.one("aws:ec2/launchTemplate:LaunchTemplate", "network-nat-instance-lt")["inputs"]
    assert template["instanceType"] == NAT_TYPE
    assert template["imageId"] == f"resolve:ssm:{ami_parameter(NAT_TYPE)}"
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == ROOT_VOLUME_GIB
    script = base64.b64decode(template["userData"]).decode()
    assert "masquerade" in script and "10.10.0.0/16" in script
    (eip,) = plan.of_type("aws:ec2/eip:Eip")
    assert eip["inputs"]["networkInterface"] == "network-nat-instance-eni-id"


def test_private_subnets_route_to_the_instance() -> None:
    plan = instance_plan()
    tables = [t for t in plan.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t["name"]]
    assert len(tables) == 2
    for table in tables:
        (route,) = table["inputs"]["routes"]
        assert route["cidrBlock"] == "0.0.0.0/0"
        assert route["networkInterfaceId"] == "network-nat-instance-eni-id"


def test_the_instance_accepts_only_the_vpc() -> None:
    group = instance_plan().one("aws:ec2/securityGroup:SecurityGroup", "network-nat-instance-sg")["inputs"]
    assert [rule["cidrBlocks"] for rule in group["ingress"]] == [["10.10.0.0/16"]]


@pytest.mark.parametrize(
    ("instance_type", "architecture"), [("t4g.nano", "arm64"), ("c6gn.large", "arm64"), ("t3.nano", "x86_64")]
)
def test_the_ami_follows_the_architecture(instance_type: str, architecture: str) -> None:
    assert ami_parameter(instance_type).endswith(architecture)


@pytest.mark.parametrize("option", ["instance", "none"])
def test_prod_keeps_managed_nat_gateways(option: str) -> None:
    with pytest.raises(ConfigError, match="prod keeps managed NAT gateways"):
        parse_stack_config("prod", raw_config("prod", natGateways=option))


def test_no_nat_is_refused_with_every_reason() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config("dev", raw_config("dev", natGateways="none"))
    message = str(caught.value)
    assert "natGateways" in message and "VPC endpoints missing" in message and "pull-through" in message
    calling = [service.name for service in load_catalog().deployable if service.external_egress]
    assert calling, "the catalog declares no service that calls the internet: this test needs one"
    assert f"services {', '.join(calling)} call the internet" in message


def test_a_nat_instance_type_must_exist() -> None:
    with pytest.raises(ConfigError, match=r"t4g\.nanoo"):
        parse_stack_config("dev", raw_config("dev", natGateways="instance", natInstanceType="t4g.nanoo"))


ALL_THERE = EgressFacts(
    vpc_endpoints=frozenset(ENDPOINTS_WITHOUT_NAT),
    pull_through_registries=frozenset(PLATFORM_IMAGE_REGISTRIES),
    services_with_external_egress=(),
)


def test_no_nat_works_when_everything_is_inside_the_vpc() -> None:
    assert no_nat_blockers(ALL_THERE) == []


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (EgressFacts(ALL_THERE.vpc_endpoints - {"sts"}, ALL_THERE.pull_through_registries, ()), "for sts"),
        (EgressFacts(ALL_THERE.vpc_endpoints, ALL_THERE.pull_through_registries - {"quay.io"}, ()), "quay.io"),
        (EgressFacts(ALL_THERE.vpc_endpoints, ALL_THERE.pull_through_registries, ("llm",)), "services llm"),
        (EgressFacts(ALL_THERE.vpc_endpoints, ALL_THERE.pull_through_registries, None), "does not declare"),
    ],
)
def test_each_missing_fact_blocks_no_nat(facts: EgressFacts, reason: str) -> None:
    (blocker,) = no_nat_blockers(facts)
    assert reason in blocker

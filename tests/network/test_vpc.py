"""The network of every environment: subnets per zone, load balancer tags, NAT by config, flow logs."""

from __future__ import annotations

import ipaddress
import json

import pytest

from components.config.stack_file import environment_configs
from components.network.vpc import subnet_layout
from components.shared.errors import ConfigError
from tools.plan import Plan, build_plan

SUBNET = "aws:ec2/subnet:Subnet"


def test_layout_of_a_slash_16_over_three_zones() -> None:
    indexes = {"us-east-1a": 0, "us-east-1b": 1, "us-east-1c": 2}
    layout = subnet_layout(ipaddress.IPv4Network("10.30.0.0/16"), indexes, 4)
    assert [(s.private_cidr, s.public_cidr) for s in layout] == [
        ("10.30.0.0/18", "10.30.192.0/20"),
        ("10.30.64.0/18", "10.30.208.0/20"),
        ("10.30.128.0/18", "10.30.224.0/20"),
    ]


def test_adding_or_reordering_zones_never_moves_the_others() -> None:
    vpc = ipaddress.IPv4Network("10.10.0.0/16")
    two = {s.zone: s for s in subnet_layout(vpc, {"us-east-1a": 0, "us-east-1b": 1}, 4)}
    three = {s.zone: s for s in subnet_layout(vpc, {"us-east-1c": 2, "us-east-1b": 1, "us-east-1a": 0}, 4)}
    assert {zone: three[zone] for zone in two} == two
    # A removed zone's slot stays free: b keeps its CIDRs without a.
    assert subnet_layout(vpc, {"us-east-1b": 1}, 4)[0] == two["us-east-1b"]


@pytest.mark.parametrize(
    ("cidr", "slots"), [("10.0.0.0/16", 4), ("10.0.0.0/16", 8), ("10.0.0.0/20", 8), ("10.0.0.0/24", 4)]
)
def test_layout_subnets_are_inside_the_vpc_and_apart(cidr: str, slots: int) -> None:
    vpc = ipaddress.IPv4Network(cidr)
    indexes = {f"us-east-1{letter}": index for index, letter in enumerate("abcdefg"[: slots - 1])}
    subnets = [
        ipaddress.IPv4Network(c) for s in subnet_layout(vpc, indexes, slots) for c in (s.private_cidr, s.public_cidr)
    ]
    assert len(subnets) == 2 * (slots - 1)
    for index, subnet in enumerate(subnets):
        assert subnet.subnet_of(vpc)
        assert subnet.prefixlen <= 28
        assert not any(subnet.overlaps(other) for other in subnets[index + 1 :])


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ({"us-east-1a": 0, "us-east-1b": 0}, "share a subnet index"),
        ({"us-east-1a": 0, "us-east-1b": 3}, r"outside 0\.\.2"),
    ],
)
def test_bad_subnet_indexes_are_refused(indexes: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        subnet_layout(ipaddress.IPv4Network("10.0.0.0/16"), indexes, 4)


def test_environment_subnets_per_zone(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    subnets = env_plan.of_type(SUBNET)
    private = [s["inputs"] for s in subnets if "-private-" in s["name"]]
    public = [s["inputs"] for s in subnets if "-public-" in s["name"]]
    zones = list(config.availability_zones)
    assert sorted(s["availabilityZone"] for s in private) == zones
    assert sorted(s["availabilityZone"] for s in public) == zones
    for subnet in private:
        assert subnet["mapPublicIpOnLaunch"] is False
        assert subnet["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in subnet["tags"]
    for subnet in public:
        assert subnet["tags"]["kubernetes.io/role/elb"] == "1"
    for subnet in private + public:
        assert ipaddress.IPv4Network(subnet["cidrBlock"]).subnet_of(config.vpc_cidr)
    vpc = env_plan.one("aws:ec2/vpc:Vpc")["inputs"]
    assert vpc["cidrBlock"] == str(config.vpc_cidr)
    assert vpc["enableDnsHostnames"] is True
    assert vpc["enableDnsSupport"] is True


def test_nat_gateways_follow_config(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    expected = len(config.availability_zones) if config.nat_gateways.value == "perAz" else 1
    assert len(env_plan.of_type("aws:ec2/natGateway:NatGateway")) == expected
    assert len(env_plan.of_type("aws:ec2/eip:Eip")) == expected
    assert {"dev": 1, "staging": 1, "prod": 3}[env_plan.stack] == expected
    nat_ids = {f"{nat['name']}-id" for nat in env_plan.of_type("aws:ec2/natGateway:NatGateway")}
    private_tables = [t for t in env_plan.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t["name"]]
    assert len(private_tables) == len(config.availability_zones)
    used = {table["inputs"]["routes"][0]["natGatewayId"] for table in private_tables}
    assert used == nat_ids
    public_table = env_plan.one("aws:ec2/routeTable:RouteTable", "network-public")
    assert public_table["inputs"]["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": "network-igw-id"}]


def test_flow_logs_with_retention_and_a_scoped_role(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    group = env_plan.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")["inputs"]
    assert group["retentionInDays"] == config.flow_log_retention_days
    flow_log = env_plan.one("aws:ec2/flowLog:FlowLog")["inputs"]
    assert flow_log["vpcId"] == "network-vpc-id"
    assert flow_log["trafficType"] == "ALL"
    assert flow_log["logDestinationType"] == "cloud-watch-logs"
    assert flow_log["iamRoleArn"] == "arn:aws:mock:::role/network-flow-logs"
    role = env_plan.one("aws:iam/role:Role", "network-flow-logs")["inputs"]
    assert "vpc-flow-logs.amazonaws.com" in role["assumeRolePolicy"]
    assert group["kmsKeyId"] == "arn:aws:mock:::key/logs-key-key"


def test_the_flow_log_role_describes_groups_on_star_in_its_own_statement(env_plan: Plan) -> None:
    """logs:DescribeLogGroups takes no log-group resource (parliament RESOURCE_MISMATCH when scoped)."""
    policy = env_plan.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs")
    write, describe = json.loads(policy["inputs"]["policy"])["Statement"]
    assert describe == {
        "Sid": "DescribeLogGroups",
        "Effect": "Allow",
        "Action": "logs:DescribeLogGroups",
        "Resource": "*",
    }
    assert "logs:DescribeLogGroups" not in write["Action"]
    group_arn = "arn:aws:mock:::loggroup/" + f"/aws/vpc/pyairtable-{env_plan.stack}/flow-logs"
    assert write["Resource"] == [group_arn, f"{group_arn}:*"]
    flow_log = env_plan.one("aws:ec2/flowLog:FlowLog")
    assert policy["urn"] in flow_log["options"]["dependsOn"], "flow logs keep their permissions until they are gone"


def test_vpc_endpoints_follow_config(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    endpoints = {e["inputs"]["serviceName"]: e["inputs"] for e in env_plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {f"com.amazonaws.{config.aws_region}.{s.value}" for s in config.network.vpc_endpoints}
    private_subnets = sorted(s["name"] + "-id" for s in env_plan.of_type(SUBNET) if "-private-" in s["name"])
    for name, endpoint in endpoints.items():
        if name.endswith(".s3"):
            assert endpoint["vpcEndpointType"] == "Gateway"
            assert len(endpoint["routeTableIds"]) == len(config.availability_zones)
        else:
            assert endpoint["vpcEndpointType"] == "Interface"
            assert endpoint["privateDnsEnabled"] is True
            assert sorted(endpoint["subnetIds"]) == private_subnets
    # the network's own security groups (the data stores declare theirs)
    groups = [g for g in env_plan.of_type("aws:ec2/securityGroup:SecurityGroup") if g["parent"].endswith("::network")]
    assert len(groups) == (1 if config.network.interface_endpoints else 0)
    for group in groups:
        [rule] = group["inputs"]["ingress"]
        assert (rule["fromPort"], rule["toPort"], rule["cidrBlocks"]) == (443, 443, [str(config.vpc_cidr)])


def test_one_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"availabilityZones.*at least 2 availability zones"):
        build_plan("dev", {"availabilityZones": ["us-east-1a"]})


def test_a_vpc_too_small_for_its_slots_is_refused() -> None:
    network = {"subnetIndexes": {"a": 0, "b": 1}, "subnetSlots": 8}
    with pytest.raises(ConfigError, match=r"network.subnetIndexes.*10.10.0.0/24 is too small for 8 subnet slots.*/30"):
        build_plan("dev", {"vpcCidr": "10.10.0.0/24", "network": network})


def test_a_smaller_vpc_still_plans() -> None:
    plan = build_plan("dev", {"vpcCidr": "10.10.0.0/24"})
    cidrs = sorted((s["inputs"]["cidrBlock"] for s in plan.of_type(SUBNET)), key=ipaddress.IPv4Network)
    assert cidrs == ["10.10.0.0/26", "10.10.0.64/26", "10.10.0.192/28", "10.10.0.208/28"]


def test_flow_logs_assume_their_role_only_for_this_account(env_plan: Plan) -> None:
    account = environment_configs()[env_plan.stack].aws_account_id
    role = env_plan.one("aws:iam/role:Role", "network-flow-logs")
    [statement] = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


def test_the_default_security_group_allows_nothing(env_plan: Plan) -> None:
    group = env_plan.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "network-default-security-group")
    assert group["inputs"]["vpcId"] == "network-vpc-id"
    assert not group["inputs"].get("ingress") and not group["inputs"].get("egress")

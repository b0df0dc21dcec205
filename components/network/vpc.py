"""An environment's network: a VPC with public and private subnets per zone, NAT and flow logs.

Subnet CIDRs are derived from the VPC CIDR and each zone's fixed slot (config `network`), so adding
a zone never renumbers the others. Private subnets get most of the space: with the VPC CNI every pod
takes a VPC address. The configured VPC endpoints keep AWS API traffic (STS, Secrets Manager, ECR,
S3, CloudWatch Logs) off the NAT gateways; the flow log group is encrypted with the logs key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.network.nat_instance import NatInstance, NatInstanceArgs
from components.network.settings import GATEWAY_ENDPOINT_SERVICES, VpcEndpointService
from components.shared.iam import policy_document, service_trust_policy

# AWS refuses subnets smaller than /28.
SMALLEST_SUBNET_PREFIX = 28


@dataclass(frozen=True)
class SubnetLayout:
    """The CIDRs of one zone's subnets."""

    zone: str
    """Availability zone name, e.g. `us-east-1a`."""
    private_cidr: str
    """Private subnet (nodes, pods, internal load balancers)."""
    public_cidr: str
    """Public subnet (NAT gateways, internet-facing load balancers)."""


def subnet_layout(vpc_cidr: ipaddress.IPv4Network, subnet_indexes: Mapping[str, int], slots: int) -> list[SubnetLayout]:
    """Split the VPC by explicit slots: zone `z` gets private block `subnet_indexes[z]` of `slots`.

    The VPC is cut into `slots` equal blocks; a zone's private subnet is the block at its index,
    and the last block, cut into `slots` again, holds the public subnets at the same index. A zone's
    CIDRs depend only on its own index, so adding a zone never moves the others. A /16 with four
    slots gives /18 private and /20 public subnets. Raises ValueError for an index outside
    0..slots-2, an index used twice, or a public subnet smaller than AWS allows.
    """
    extra_bits = slots.bit_length() - 1
    public_prefix = vpc_cidr.prefixlen + 2 * extra_bits
    if public_prefix > SMALLEST_SUBNET_PREFIX:
        raise ValueError(
            f"{vpc_cidr} is too small for {slots} subnet slots: public subnets would be /{public_prefix}, "
            f"AWS allows /{SMALLEST_SUBNET_PREFIX} at most"
        )
    indexes = list(subnet_indexes.values())
    if len(set(indexes)) != len(indexes):
        raise ValueError(f"two zones share a subnet index: {dict(subnet_indexes)}")
    outside = {zone: index for zone, index in subnet_indexes.items() if not 0 <= index <= slots - 2}
    if outside:
        raise ValueError(
            f"subnet indexes {outside} are outside 0..{slots - 2} (the last of {slots} slots holds the public subnets)"
        )
    blocks = list(vpc_cidr.subnets(prefixlen_diff=extra_bits))
    public_blocks = list(blocks[-1].subnets(prefixlen_diff=extra_bits))
    return [
        SubnetLayout(zone=zone, private_cidr=str(blocks[index]), public_cidr=str(public_blocks[index]))
        for zone, index in subnet_indexes.items()
    ]


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of `Network`."""

    environment: str
    """Environment name, used in the Name tags."""
    cluster_name: str
    """EKS cluster that will use the subnets (named in the Name tags)."""
    vpc_cidr: ipaddress.IPv4Network
    """IPv4 range of the VPC."""
    subnet_indexes: Mapping[str, int]
    """Zone -> its subnet slot (config `network.subnetIndexes`, in zone order; at least two zones)."""
    subnet_slots: int
    """Blocks the VPC is cut into (config `network.subnetSlots`)."""
    region: str
    """The environment's region (VPC endpoint service names)."""
    vpc_endpoints: Sequence[VpcEndpointService]
    """Services reached through VPC endpoints instead of NAT (config `network.vpcEndpoints`)."""
    logs_key_arn: pulumi.Input[str]
    """Customer-managed key that encrypts the flow log group."""
    nat_gateway_per_zone: bool
    """One NAT gateway per zone (config `perAz`); otherwise one shared by every zone (`single`)."""
    flow_log_retention_days: int
    """Retention of the VPC flow log group, in days."""
    account_id: str
    """The environment's AWS account: flow logs may assume their role only on its behalf."""
    protect: bool
    """Protect the VPC from deletion (prod)."""
    nat_instance_type: str | None = None
    """Egress through one NAT instance of this type instead of NAT gateways (`natGateways: instance`)."""
    internet_egress: bool = True
    """False: the private subnets get no default route at all (`natGateways: none`)."""


class Network(pulumi.ComponentResource):
    """VPC, subnets, internet and NAT gateways, route tables and VPC flow logs of one environment."""

    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets, one per zone in config order (nodes and the cluster's network interfaces)."""
    public_subnet_ids: list[pulumi.Output[str]]
    """Public subnets, one per zone in config order."""
    private_subnet_cidrs: list[str]
    """CIDRs of the private subnets (where the interface endpoints' network interfaces live)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        layout = subnet_layout(args.vpc_cidr, args.subnet_indexes, args.subnet_slots)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(args.vpc_cidr),
            # The private cluster endpoint resolves through the VPC's DNS; EKS needs both on.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": args.cluster_name},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        # Adopting the VPC's default security group with no rules strips the allow-all rules AWS puts
        # in it, so nothing launched without an explicit group can talk to anything.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-security-group", vpc_id=vpc.id, opts=child)
        internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": args.cluster_name}, opts=child
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for subnet in layout:
            # Nothing is launched into the public subnets: NAT gateways and load balancers bring their
            # own addresses, so no subnet hands out public IPs.
            public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{subnet.zone}",
                    vpc_id=vpc.id,
                    cidr_block=subnet.public_cidr,
                    availability_zone=subnet.zone,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{args.cluster_name}-public-{subnet.zone}", "kubernetes.io/role/elb": "1"},
                    opts=child,
                )
            )
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{subnet.zone}",
                    vpc_id=vpc.id,
                    cidr_block=subnet.private_cidr,
                    availability_zone=subnet.zone,
                    map_public_ip_on_launch=False,
                    tags={
                        "Name": f"{args.cluster_name}-private-{subnet.zone}",
                        "kubernetes.io/role/internal-elb": "1",
                    },
                    opts=child,
                )
            )

        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=internet_gateway.id)],
            tags={"Name": f"{args.cluster_name}-public"},
            opts=child,
        )
        for subnet_spec, subnet in zip(layout, public_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{subnet_spec.zone}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child
            )

        # perAz: each zone leaves through its own NAT gateway, so losing a zone never cuts the others
        # off. single: every zone shares the first zone's gateway (cheaper; a zone failure is an outage).
        nat_count = len(layout) if args.nat_gateway_per_zone else 1
        if args.nat_instance_type or not args.internet_egress:
            nat_count = 0
        nat_gateway_ids: list[pulumi.Output[str]] = []
        for subnet_spec, subnet in list(zip(layout, public_subnets, strict=True))[:nat_count]:
            address = aws.ec2.Eip(
                f"{name}-nat-{subnet_spec.zone}",
                domain="vpc",
                tags={"Name": f"{args.cluster_name}-nat-{subnet_spec.zone}"},
                opts=child,
            )
            nat_gateway = aws.ec2.NatGateway(
                f"{name}-nat-{subnet_spec.zone}",
                allocation_id=address.id,
                subnet_id=subnet.id,
                connectivity_type="public",
                tags={"Name": f"{args.cluster_name}-nat-{subnet_spec.zone}"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[internet_gateway])),
            )
            nat_gateway_ids.append(nat_gateway.id)

        nat_instance = (
            NatInstance(
                f"{name}-nat-instance",
                NatInstanceArgs(args.cluster_name, vpc.id, args.vpc_cidr, public_subnets[0].id, args.nat_instance_type),
                opts=child,
            )
            if args.nat_instance_type and args.internet_egress
            else None
        )
        private_route_tables: list[aws.ec2.RouteTable] = []
        for index, (subnet_spec, subnet) in enumerate(zip(layout, private_subnets, strict=True)):
            if nat_instance is not None:
                default_routes = [
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0", network_interface_id=nat_instance.network_interface_id
                    )
                ]
            elif nat_gateway_ids:
                nat_gateway_id = nat_gateway_ids[index if args.nat_gateway_per_zone else 0]
                default_routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_gateway_id)]
            else:
                default_routes = []  # natGateways none: the VPC endpoints are the only way out
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{subnet_spec.zone}",
                vpc_id=vpc.id,
                routes=default_routes,
                tags={"Name": f"{args.cluster_name}-private-{subnet_spec.zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{subnet_spec.zone}",
                subnet_id=subnet.id,
                route_table_id=private_routes.id,
                opts=child,
            )
            private_route_tables.append(private_routes)

        self._flow_logs(name, args, vpc, child)
        self._endpoints(name, args, vpc, (private_subnets, private_route_tables), child)

        self.vpc_id = vpc.id
        self.private_subnet_ids = [subnet.id for subnet in private_subnets]
        self.public_subnet_ids = [subnet.id for subnet in public_subnets]
        self.private_subnet_cidrs = [subnet.private_cidr for subnet in layout]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    @staticmethod
    def _flow_logs(name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions) -> None:
        """Every accepted and rejected flow of the VPC to CloudWatch Logs, with a role scoped to its group."""
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{args.cluster_name}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=service_trust_policy("vpc-flow-logs.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=pulumi.Output.json_dumps(flow_log_policy(log_group.arn)),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            # Created after (and on destroy deleted before) the permissions it delivers with.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[role_policy])),
        )

    @staticmethod
    def _endpoints(
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        private: tuple[Sequence[aws.ec2.Subnet], Sequence[aws.ec2.RouteTable]],
        child: pulumi.ResourceOptions,
    ) -> None:
        """VPC endpoints of the configured services: their traffic stays off the NAT gateways.

        `private` holds the private subnets (interface endpoints) and their route tables (gateway endpoints).
        """
        private_subnets, private_route_tables = private
        interface = [service for service in args.vpc_endpoints if service not in GATEWAY_ENDPOINT_SERVICES]
        security_group = None
        if interface:
            security_group = aws.ec2.SecurityGroup(
                f"{name}-endpoints",
                description="HTTPS from the VPC to its interface endpoints",
                vpc_id=vpc.id,
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        description="HTTPS from the VPC",
                        protocol="tcp",
                        from_port=443,
                        to_port=443,
                        cidr_blocks=[str(args.vpc_cidr)],
                    )
                ],
                tags={"Name": f"{args.cluster_name}-endpoints"},
                opts=child,
            )
        for service in args.vpc_endpoints:
            suffix = service.value.replace(".", "-")
            if service in GATEWAY_ENDPOINT_SERVICES:
                aws.ec2.VpcEndpoint(
                    f"{name}-endpoint-{suffix}",
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{args.region}.{service.value}",
                    vpc_endpoint_type="Gateway",
                    route_table_ids=[table.id for table in private_route_tables],
                    tags={"Name": f"{args.cluster_name}-{suffix}"},
                    opts=child,
                )
                continue
            assert security_group is not None
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{suffix}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service.value}",
                vpc_endpoint_type="Interface",
                # The service's public name resolves to the endpoint inside the VPC: no client change.
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in private_subnets],
                security_group_ids=[security_group.id],
                tags={"Name": f"{args.cluster_name}-{suffix}"},
                opts=child,
            )


def flow_log_policy(log_group_arn: pulumi.Input[str]) -> dict[str, object]:
    """The flow-log role's policy: write to its own group; describe groups on `*`, the only resource that
    action takes (scoped to one group it never applies: parliament RESOURCE_MISMATCH)."""
    return policy_document(
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
        },
        {"Sid": "DescribeLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
    )

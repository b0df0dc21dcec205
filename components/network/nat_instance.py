"""A NAT instance: the cheap egress for non-prod private subnets (`natGateways: instance`).

One small EC2 instance (default t4g.nano) in the first zone's public subnet forwards the private
subnets' traffic to the internet with source NAT. It costs the instance hours, a small root volume
and one public IPv4 address; a managed NAT gateway costs an hourly fee about ten times a t4g.nano's
plus a fee per GB processed. What it gives up (README "NAT options"): one instance in one zone is a
single point of failure (EC2 auto-recovery restarts it on a host failure, minutes of no egress),
bandwidth is the instance's (t4g.nano: up to 5 Gbit/s burst), and its OS is ours to patch (the AMI
is the latest Amazon Linux 2023, resolved from AWS's public SSM parameter at each launch).

No data-source call: the AMI is resolved by EC2 at launch (`resolve:ssm:` in the launch template).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ROOT_VOLUME_GIB = 8
"""Root volume of the NAT instance (Amazon Linux 2023's minimum); the bill prices it as gp3."""
ARM64_TYPE = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.")
"""Graviton families (t4g, m7g, c6gn, ...) run arm64 images; every other family x86_64."""


def ami_parameter(instance_type: str) -> str:
    """AWS's public SSM parameter of the latest Amazon Linux 2023 AMI for the type's architecture."""
    architecture = "arm64" if ARM64_TYPE.match(instance_type) else "x86_64"
    return f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"


def user_data(vpc_cidr: ipaddress.IPv4Network) -> str:
    """Boot script: IP forwarding on, and source NAT of the VPC's traffic out of the default interface."""
    return "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf",
            "sysctl --system",
            "dnf install -y nftables",
            "interface=\"$(ip route show default | awk '{print $5; exit}')\"",
            "cat > /etc/sysconfig/nftables.conf <<EOF",
            "table ip nat {",
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat;",
            f'    oifname "$interface" ip saddr {vpc_cidr} masquerade',
            "  }",
            "}",
            "EOF",
            "systemctl enable --now nftables",
            "",
        ]
    )


@dataclass(frozen=True)
class NatInstanceArgs:
    """Inputs of `NatInstance`."""

    name_prefix: str
    """Prefix of the Name tags (the cluster name)."""
    vpc_id: pulumi.Input[str]
    """The VPC the instance serves."""
    vpc_cidr: ipaddress.IPv4Network
    """Traffic from this range is forwarded (and nothing else is accepted)."""
    public_subnet_id: pulumi.Input[str]
    """The public subnet the instance runs in (its zone is the single point of failure)."""
    instance_type: str
    """EC2 instance type (config `natInstanceType`)."""


class NatInstance(pulumi.ComponentResource):
    """One EC2 NAT instance on its own network interface with an Elastic IP; private routes target the interface."""

    network_interface_id: pulumi.Output[str]
    """The NAT's network interface: the target of the private subnets' default route."""

    def __init__(self, name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:network:NatInstance", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description="NAT instance: forwards traffic from the VPC to the internet",
            vpc_id=args.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="everything from inside the VPC (it is forwarded)",
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=[str(args.vpc_cidr)],
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="the forwarded traffic, to the internet",
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                )
            ],
            tags={"Name": f"{args.name_prefix}-nat-instance"},
            opts=child,
        )
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            image_id=f"resolve:ssm:{ami_parameter(args.instance_type)}",
            instance_type=args.instance_type,
            user_data=base64.b64encode(user_data(args.vpc_cidr).encode()).decode(),
            # IMDSv2 only, not reachable from anything the instance forwards.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=ROOT_VOLUME_GIB, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={"Name": f"{args.name_prefix}-nat-instance"}
                )
                for kind in ("instance", "volume")
            ],
            opts=child,
        )
        # The route targets this interface, not the instance: a replaced instance takes it over, so no
        # route changes. A NAT forwards packets addressed to others: EC2 drops them unless the
        # source/destination check is off.
        interface = aws.ec2.NetworkInterface(
            f"{name}-eni",
            subnet_id=args.public_subnet_id,
            security_groups=[security_group.id],
            source_dest_check=False,
            tags={"Name": f"{args.name_prefix}-nat-instance"},
            opts=child,
        )
        aws.ec2.Instance(
            f"{name}-instance",
            launch_template=aws.ec2.InstanceLaunchTemplateArgs(id=launch_template.id, version="$Latest"),
            primary_network_interface=aws.ec2.InstancePrimaryNetworkInterfaceArgs(network_interface_id=interface.id),
            maintenance_options=aws.ec2.InstanceMaintenanceOptionsArgs(auto_recovery="default"),
            tags={"Name": f"{args.name_prefix}-nat-instance"},
            opts=child,
        )
        aws.ec2.Eip(
            f"{name}-eip",
            domain="vpc",
            network_interface=interface.id,
            tags={"Name": f"{args.name_prefix}-nat-instance"},
            opts=child,
        )
        self.network_interface_id = interface.id
        self.register_outputs({"networkInterfaceId": self.network_interface_id})

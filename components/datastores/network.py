"""The data stores' security groups: each store admits its port from the cluster security group only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def tcp_rule(
    name: str,
    *,
    direction: str,
    security_group_id: pulumi.Input[str],
    port: int,
    description: str,
    opts: pulumi.ResourceOptions,
    peer_security_group_id: pulumi.Input[str] | None = None,
    cidr: str | None = None,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """One TCP port to or from a peer security group (or a CIDR), as its own rule resource."""
    rule = aws.vpc.SecurityGroupIngressRule if direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    return rule(
        name,
        security_group_id=security_group_id,
        referenced_security_group_id=peer_security_group_id,
        cidr_ipv4=cidr,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        opts=opts,
    )


def cluster_only_security_group(
    name: str,
    *,
    group_name: str,
    store: str,
    vpc_id: pulumi.Input[str],
    cluster_security_group_id: pulumi.Input[str],
    port: int,
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A store's security group: `port` from the EKS cluster security group (every node, so every pod), nothing else."""
    security_group = aws.ec2.SecurityGroup(
        f"{name}-security-group",
        name=group_name,
        description=f"{store}: the cluster's pods only",
        vpc_id=vpc_id,
        opts=opts,
    )
    tcp_rule(
        f"{name}-from-cluster",
        direction="ingress",
        security_group_id=security_group.id,
        peer_security_group_id=cluster_security_group_id,
        port=port,
        description=f"{store} from the cluster's nodes and pods",
        opts=opts,
    )
    return security_group

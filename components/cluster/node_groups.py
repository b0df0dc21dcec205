"""Managed node groups by capacity strategy: spot (dev), on-demand base plus spot (staging), reserved (prod).

Every group launches from a template that requires IMDSv2 and encrypts its gp3 root volume, rolls
one node at a time, and runs with a node role that holds only the two policies nodes need. IMDSv2 answers one hop only:
pods cannot reach the node's credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.cost.bill_of_materials import NodeGroup
from components.shared.iam import service_trust_policy

# The only managed policies a node needs: join the cluster and pull images. The VPC CNI has its own
# role (IRSA, components.cluster.eks), so AmazonEKS_CNI_Policy is not the node's.
NODE_POLICY_ARNS = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
CAPACITY_LABEL = "pyairtable.io/capacity-type"
# Amazon Linux 2023 (AL2 images end with Kubernetes 1.32); its root device is /dev/xvda.
AMI_TYPE = "AL2023_x86_64_STANDARD"
ROOT_DEVICE = "/dev/xvda"
# One hop: IMDSv2's answer dies before it reaches a pod's network namespace, so no pod can take the
# node role's credentials (Checkov CKV_AWS_341, EKS Best Practices). Pods get AWS access through
# IRSA; controllers that read IMDS for their region or VPC id take them from config instead, and any
# node class not made from these templates (Karpenter's EC2NodeClass) must set the same limit.
IMDS_HOP_LIMIT = 1


@dataclass(frozen=True)
class NodeGroupsArgs:
    """Inputs of `NodeGroups`."""

    cluster_name: pulumi.Input[str]
    """The cluster the nodes join (an output of the cluster, so groups wait for it)."""
    kubernetes_version: str
    """Kubernetes version of the nodes; EKS picks the matching AL2023 image."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets the nodes run in."""
    groups: Sequence[NodeGroup]
    """The groups of the capacity strategy (`bill_of_materials.node_groups`, which the bill prices too)."""
    disk_size_gib: int
    """Root volume of every node, in GiB."""
    uncovered_node_count: int
    """Desired on-demand nodes no reservation covers (reserved only); a warning names them."""
    instance_tags: Mapping[str, str]
    """Tags for the instances and volumes the groups launch (provider default tags do not reach them)."""
    wait_for: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources the nodes must not start before (the networking add-ons, so pods get addresses)."""


class NodeGroups(pulumi.ComponentResource):
    """The node IAM role, one launch template per group, and the managed node groups."""

    node_groups: list[aws.eks.NodeGroup]
    """The managed node groups, in the order of `args.groups`."""
    summary: list[dict[str, object]]
    """Per group: name, capacityType, instanceTypes, minSize, desiredSize, maxSize (the stack output)."""
    role_name: pulumi.Output[str]
    """The node role's name, for capabilities that attach their own policy to it (the registry's cache)."""

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:node_groups:NodeGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.uncovered_node_count:
            pulumi.log.warn(
                f"{args.uncovered_node_count} desired on-demand node(s) are not covered by a reservation "
                f"and are billed at the on-demand price; buy a reservation or lower nodes.desiredSize",
                resource=self,
            )

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            opts=child,
        )
        self.role_name = role.name
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy_arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=policy_arn, opts=child
            )
            for policy_arn in NODE_POLICY_ARNS
        ]

        self.node_groups = []
        for spec in args.groups:
            launch_template = aws.ec2.LaunchTemplate(
                f"{name}-{spec.role}",
                description=f"Nodes of the {spec.role} group: IMDSv2 only, encrypted gp3 root volume",
                update_default_version=True,
                metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                    http_endpoint="enabled",
                    http_tokens="required",
                    http_put_response_hop_limit=IMDS_HOP_LIMIT,
                ),
                block_device_mappings=[
                    aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                        device_name=ROOT_DEVICE,
                        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                            volume_size=args.disk_size_gib,
                            volume_type="gp3",
                            encrypted="true",
                            delete_on_termination="true",
                        ),
                    )
                ],
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(
                        resource_type=resource_type, tags=dict(args.instance_tags)
                    )
                    for resource_type in ("instance", "volume")
                ],
                opts=child,
            )
            node_group = aws.eks.NodeGroup(
                f"{name}-{spec.role}",
                cluster_name=args.cluster_name,
                # A prefix, not a fixed name: replacing a group (new instance types) creates the new
                # one before deleting the old, so capacity never drops to zero.
                node_group_name_prefix=f"{spec.role}-",
                node_role_arn=role.arn,
                subnet_ids=list(args.subnet_ids),
                version=args.kubernetes_version,
                ami_type=AMI_TYPE,
                capacity_type=spec.capacity_type,
                instance_types=list(spec.instance_types),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=spec.min_size, desired_size=spec.desired_size, max_size=spec.max_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=launch_template.id, version=launch_template.latest_version.apply(str)
                ),
                labels={CAPACITY_LABEL: spec.capacity_label},
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[*attachments, *args.wait_for])
                ),
            )
            self.node_groups.append(node_group)

        self.summary = [
            {
                "name": node_group.node_group_name,
                "capacityType": spec.capacity_type,
                "instanceTypes": list(spec.instance_types),
                "minSize": spec.min_size,
                "desiredSize": spec.desired_size,
                "maxSize": spec.max_size,
            }
            for spec, node_group in zip(args.groups, self.node_groups, strict=True)
        ]
        self.register_outputs({"nodeGroups": self.summary, "nodeRoleArn": role.arn})

"""What an environment stack declares for its delivery: the preview role's read access to the
cluster, and, on the `codebuild` path, the CodeBuild-hosted GitHub Actions runners inside the VPC.

The roles themselves (up and preview, trusted through the account's GitHub OIDC provider) belong to
the bootstrap (`bootstrap/`), which runs before any environment stack; this stack only refers to
them by the ARN `components.delivery.names` derives from the account id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.delivery.names import (
    drift_role_name,
    preview_role_name,
    runner_connection_name,
    runner_label,
    runner_project_name,
)
from components.delivery.settings import DeliverySettings
from components.shared.iam import policy_document, service_trust_policy
from components.shared.naming import role_arn

VIEW_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
"""Read access to every Kubernetes object, Secrets included: a refresh reads Helm's release records,
which Helm stores as Secrets (README "Delivery" documents this risk)."""
HTTPS = 443
CODEBUILD_LOG_GROUP_PREFIX = "/aws/codebuild/"


@dataclass(frozen=True)
class DeliveryArgs:
    """Inputs of `Delivery`."""

    environment: str
    """Environment name (also the GitHub environment the up job runs in)."""
    account_id: str
    """The environment's AWS account, where the bootstrap created the preview role."""
    region: str
    """The environment's AWS region."""
    organization: str
    """GitHub organization whose jobs the runners take."""
    settings: DeliverySettings
    """The `delivery` config key: which path, and the runners' size."""
    runner_repositories: Sequence[str]
    """Repositories whose queued jobs the runners take (pyairtable-infra first)."""
    vpc_id: pulumi.Input[str]
    """VPC of the environment."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets the runners attach to (they leave through the NAT gateways)."""
    cluster_name: pulumi.Input[str]
    """The cluster the preview role may read."""
    cluster_security_group_id: pulumi.Input[str]
    """The control plane's security group, which must admit the runners on 443."""
    logs_key_arn: pulumi.Input[str]
    """The environment's CloudWatch Logs key: the runners' build logs are encrypted with it."""


class Delivery(pulumi.ComponentResource):
    """The read-only roles' view access entries, and the in-VPC runners when `delivery.path` is `codebuild`."""

    runner_label: str | None
    """`runs-on` of a job that must run inside the VPC; None on the `public` path."""

    def __init__(self, name: str, args: DeliveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:delivery:Delivery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The read-only roles (pull-request previews, the nightly drift check) may view the cluster.
        readers = {
            "preview": role_arn(args.account_id, preview_role_name(args.environment)),
            "drift": role_arn(args.account_id, drift_role_name(args.environment)),
        }
        for reader, principal in readers.items():
            entry = aws.eks.AccessEntry(
                f"{name}-{reader}", cluster_name=args.cluster_name, principal_arn=principal, type="STANDARD", opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-{reader}-view",
                cluster_name=args.cluster_name,
                principal_arn=principal,
                policy_arn=VIEW_POLICY_ARN,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )
        self.runner_label = None
        project_name: pulumi.Output[str] | None = None
        if args.settings.runner_project_count:
            project_name = self._runner(name, args, child)
            self.runner_label = runner_label(args.environment)
        self.register_outputs({"readerRoleArns": readers, "runnerProject": project_name})

    def _runner(self, name: str, args: DeliveryArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """A CodeBuild project that runs queued GitHub Actions jobs in the private subnets."""
        settings = args.settings
        project = runner_project_name(args.environment)
        # Completed by hand once (the console's "Update pending connection" installs the AWS
        # Connector GitHub App); until then the webhook cannot be created: `make preflight` says so.
        connection = aws.codeconnections.Connection(
            f"{name}-github", name=runner_connection_name(args.environment), provider_type="GitHub", opts=child
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-runner-logs",
            name=f"{CODEBUILD_LOG_GROUP_PREFIX}{project}",
            retention_in_days=settings.runner_log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-runner",
            name=project,
            description=f"GitHub Actions runners of {args.environment}: HTTPS out only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        # Out: GitHub, the AWS APIs and the cluster's private endpoint, all HTTPS. DNS goes to the
        # VPC resolver, which security groups do not filter. Nothing comes in.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-runner-https",
            security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS to GitHub, AWS APIs and the EKS endpoint",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoint-from-runner",
            security_group_id=args.cluster_security_group_id,
            referenced_security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="The CI runners reach the private API endpoint",
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-runner",
            name=project,
            description=f"CodeBuild runners of {args.environment}: logs, VPC attachment, the GitHub connection",
            assume_role_policy=service_trust_policy("codebuild.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        subnet_arns = [
            pulumi.Output.concat(f"arn:aws:ec2:{args.region}:{args.account_id}:subnet/", subnet)
            for subnet in args.subnet_ids
        ]
        aws.iam.RolePolicy(
            f"{name}-runner",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": pulumi.Output.concat(log_group.arn, ":*"),
                    },
                    {
                        # CodeBuild's documented VPC permissions; the Describe calls take no resource.
                        "Effect": "Allow",
                        "Action": [
                            "ec2:CreateNetworkInterface",
                            "ec2:DeleteNetworkInterface",
                            "ec2:DescribeDhcpOptions",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DescribeSecurityGroups",
                            "ec2:DescribeSubnets",
                            "ec2:DescribeVpcs",
                        ],
                        "Resource": "*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "ec2:CreateNetworkInterfacePermission",
                        "Resource": f"arn:aws:ec2:{args.region}:{args.account_id}:network-interface/*",
                        "Condition": {
                            "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                            "ArnEquals": {"ec2:Subnet": subnet_arns},
                        },
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["codeconnections:GetConnectionToken", "codeconnections:GetConnection"],
                        "Resource": connection.arn,
                    },
                )
            ),
            opts=child,
        )
        codebuild_project = aws.codebuild.Project(
            f"{name}-runner",
            name=project,
            description=f"GitHub Actions runners inside the {args.environment} VPC (label {project})",
            service_role=role.arn,
            build_timeout=settings.runner_timeout_minutes,
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=settings.runner_compute_type,
                image=settings.runner_image,
                image_pull_credentials_type="CODEBUILD",
            ),
            # An organization webhook takes its jobs from the source it names, not from one repository.
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location="CODEBUILD_DEFAULT_WEBHOOK_SOURCE_LOCATION",
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=connection.arn),
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args.vpc_id, subnets=list(args.subnet_ids), security_group_ids=[security_group.id]
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=log_group.name
                )
            ),
            opts=child,
        )
        repositories = "|".join(args.runner_repositories)
        aws.codebuild.Webhook(
            f"{name}-runner",
            project_name=codebuild_project.name,
            build_type="BUILD",
            scope_configuration=aws.codebuild.WebhookScopeConfigurationArgs(
                name=args.organization, scope="GITHUB_ORGANIZATION"
            ),
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[
                        aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED"),
                        # Only these repositories' jobs get a runner inside the VPC.
                        aws.codebuild.WebhookFilterGroupFilterArgs(
                            type="REPOSITORY_NAME", pattern=f"^({repositories})$"
                        ),
                    ]
                )
            ],
            opts=child,
        )
        return codebuild_project.name

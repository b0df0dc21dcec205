"""An environment's EKS cluster, hardened by default, with its nodes, add-ons and Kubernetes provider.

Secrets are envelope-encrypted with a dedicated, rotating KMS key; control-plane logs go to a log
group created before the cluster (so EKS never creates an unmanaged one without retention); access
is by EKS access entries only (authentication mode API, no aws-auth ConfigMap); the version is pinned
and stays on standard support (API-created clusters default to extended support, six times the price).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.cluster.deploy_access import deploy_group
from components.cluster.node_groups import NodeGroups, NodeGroupsArgs
from components.config.environment import EKS_ADDONS
from components.shared.iam import (
    WEB_IDENTITY_AUDIENCE,
    policy_document,
    service_account_subject,
    service_trust_policy,
    web_identity_trust_policy,
)
from components.shared.kms import KeyAccess, key_policy, role_user_statement, rotating_key

CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
EBS_CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
# The VPC CNI (aws-node) assigns pod addresses with its own role (IRSA), so the node role, which
# every pod on a node could reach through IMDS before hop limit 1, no longer holds these rights.
CNI_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")
# Networking add-ons run as DaemonSets and must be in place before nodes join (or pods get no
# address); coredns and the EBS CSI controller are Deployments that only become healthy on nodes.
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
ADDONS_AFTER_NODES = tuple(addon for addon in EKS_ADDONS if addon not in ADDONS_BEFORE_NODES)
# NetworkPolicy objects are ignored unless the VPC CNI's network policy agent is on.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}
STORAGE_CLASS_NAME = "gp3"


def kubeconfig_document(cluster_name: str, server: str, certificate_authority: str, region: str, role_arn: str) -> str:
    """A kubeconfig (JSON) that authenticates with `aws eks get-token`: no long-lived token in the file."""
    arguments = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region]
    if role_arn:
        arguments += ["--role-arn", role_arn]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": server, "certificate-authority-data": certificate_authority},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": arguments,
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        }
    )


def _issuer_of(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    """The cluster's OIDC issuer URL (EKS always creates one)."""
    return next(oidc.issuer for identity in identities for oidc in identity.oidcs or [] if oidc.issuer)


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of `Cluster`."""

    cluster_name: str
    """EKS cluster name (from `components.shared.naming.cluster_name`)."""
    kubernetes_version: str
    """Pinned Kubernetes version (standard support only)."""
    region: str
    """AWS region, for the kubeconfig."""
    aws_role_arn: str
    """Role the kubeconfig assumes to get a token (the one the AWS provider assumes), granted cluster
    admin; empty: ambient credentials, which must then belong to one of `admin_role_arns`."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets for the control plane's network interfaces and the nodes."""
    endpoint_public_access: bool
    """Whether the API server has a public endpoint (config `cluster.endpointPublicAccess`)."""
    public_access_cidrs: Sequence[str]
    """Public CIDRs that may reach the public endpoint (config refuses wide and private ranges)."""
    log_types: Sequence[str]
    """Control-plane log types (all five)."""
    log_retention_days: int
    """Retention of the control-plane log group, in days."""
    logs_key_arn: pulumi.Input[str]
    """Customer-managed key that encrypts the control-plane log group."""
    key_access: KeyAccess
    """Administrators and the break-glass role of the secrets-encryption key."""
    admin_role_arns: Sequence[str]
    """IAM roles granted cluster admin through access entries."""
    deploy_role_arns: Mapping[str, pulumi.Input[str]]
    """Each deployable service's deploy role; its access entry maps it to `deploy_group(service)` only."""
    addon_versions: Mapping[str, str]
    """Pinned version of every add-on of `EKS_ADDONS`."""
    reclaim_volumes: bool
    """Default StorageClass keeps a volume after its claim is deleted (prod: data survives mistakes)."""
    protect: bool
    """Protect the cluster and its KMS key from deletion (prod)."""
    node_groups: NodeGroupsArgs
    """The nodes (their `cluster_name` and `wait_for` are filled in here)."""


class Cluster(pulumi.ComponentResource):
    """KMS key, log group, IAM, the EKS cluster, access entries, OIDC provider, nodes, add-ons, provider."""

    name: pulumi.Output[str]
    """Cluster name."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubernetes_provider: kubernetes.Provider
    """The provider every Kubernetes resource of this cluster must use."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) using `aws eks get-token`."""
    oidc_provider_arn: pulumi.Output[str]
    """IAM OIDC provider of the cluster, for IRSA trust policies."""
    oidc_issuer: pulumi.Output[str]
    """Issuer URL without "https://", as IRSA trust conditions need it."""
    storage_class_name: str
    """The default StorageClass (gp3, encrypted)."""
    node_groups: NodeGroups
    """The nodes."""
    cluster_security_group_id: pulumi.Output[str]
    """The security group EKS creates for the cluster and attaches to managed nodes (so to every pod
    on them): data stores admit it, and only it."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect))

        role = aws.iam.Role(
            f"{name}-cluster",
            assume_role_policy=service_trust_policy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster", role=role.name, policy_arn=CLUSTER_POLICY_ARN, opts=child
        )
        # Not `-secrets`: that alias is the Secrets Manager key's (service_secrets.SecretsKey), and
        # alias names are unique per account and region. The key policy names the cluster role as
        # the key's only user, so the role exists first.
        key = rotating_key(
            f"{name}-secrets",
            alias=f"alias/{args.cluster_name}-eks-secrets",
            description=f"Envelope encryption of Kubernetes secrets in {args.cluster_name}",
            policy=pulumi.Output.json_dumps(
                key_policy(
                    args.key_access,
                    role_user_statement(
                        "ClusterRoleEnvelopeEncryption",
                        role.arn,
                        ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"),
                    ),
                )
            ),
            opts=child,
            protect=args.protect,
        )
        key_policy_of_role = aws.iam.RolePolicy(
            f"{name}-cluster-secrets-key",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                policy_document(
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                        "Resource": key.arn,
                    }
                )
            ),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            # The name EKS writes to; declaring it first gives it our retention and key.
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )

        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(args.log_types),
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=args.endpoint_public_access,
                public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            ),
            deletion_protection=args.protect,
            # The role's policies outlive the cluster on destroy (as in the pulumi-aws and Terraform
            # examples): without them EKS cannot delete the network interfaces and security groups it
            # made, and they would strand the VPC.
            opts=pulumi.ResourceOptions.merge(
                protected,
                pulumi.ResourceOptions(depends_on=[log_group, role, cluster_policy, key_policy_of_role]),
            ),
        )
        access = self._grant_access(name, args, cluster, child)

        issuer_url = cluster.identities.apply(_issuer_of)
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=[WEB_IDENTITY_AUDIENCE],
            opts=child,
        )
        self.oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))
        self.oidc_provider_arn = oidc_provider.arn

        cni_role, cni_policy = self._irsa_role(name, "vpc-cni", oidc_provider.arn, CNI_SERVICE_ACCOUNT, CNI_POLICY_ARN)
        addons_before_nodes = [
            self._addon(
                name,
                args,
                cluster,
                addon,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[cni_policy]))
                if addon == "vpc-cni"
                else child,
                service_account_role_arn=cni_role.arn if addon == "vpc-cni" else None,
            )
            for addon in ADDONS_BEFORE_NODES
        ]
        node_groups_args = dataclasses.replace(
            args.node_groups, cluster_name=cluster.name, wait_for=addons_before_nodes
        )
        self.node_groups = NodeGroups(f"{name}-nodes", node_groups_args, opts=child)

        ebs_csi_role, ebs_csi_policy = self._irsa_role(
            name, "ebs-csi", oidc_provider.arn, EBS_CSI_SERVICE_ACCOUNT, EBS_CSI_POLICY_ARN
        )
        addons_after_nodes = {
            addon: self._addon(
                name,
                args,
                cluster,
                addon,
                # The EBS CSI driver keeps its policy until it is gone (it detaches volumes on delete).
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[self.node_groups, *([ebs_csi_policy] if addon == "aws-ebs-csi-driver" else [])]
                    ),
                ),
                service_account_role_arn=ebs_csi_role.arn if addon == "aws-ebs-csi-driver" else None,
            )
            for addon in ADDONS_AFTER_NODES
        }

        self.name = cluster.name
        self.endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster.vpc_config.apply(lambda config: config.cluster_security_group_id or "")
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster.name, cluster.endpoint, cluster.certificate_authority.apply(lambda authority: authority.data)
            ).apply(lambda values: kubeconfig_document(values[0], values[1], values[2], args.region, args.aws_role_arn))
        )
        self.kubernetes_provider = kubernetes.Provider(
            f"{name}-kubernetes",
            kubeconfig=self.kubeconfig,
            # Nothing this provider installs may start before there are nodes with the add-ons that
            # give pods addresses, DNS and volumes: a Helm release waits for its pods (ESO's is atomic
            # with a 5-minute timeout) and would roll back while the node groups are still creating.
            # Nor before the role it authenticates as has its access entry.
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=[*access, self.node_groups, *addons_after_nodes.values()]),
            ),
        )

        self.storage_class_name = STORAGE_CLASS_NAME
        kubernetes.storage.v1.StorageClass(
            f"{name}-{STORAGE_CLASS_NAME}",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=STORAGE_CLASS_NAME,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            # Without kmsKeyId the volumes use the account's default EBS key, which the driver's
            # managed policy already may use.
            parameters={"type": "gp3", "encrypted": "true"},
            reclaim_policy="Retain" if args.reclaim_volumes else "Delete",
            # The volume is created in the zone the pod is scheduled to, never stranded in another.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.kubernetes_provider,
                depends_on=[addons_after_nodes["aws-ebs-csi-driver"]],
            ),
        )
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcIssuer": self.oidc_issuer,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _irsa_role(
        self,
        name: str,
        suffix: str,
        oidc_provider_arn: pulumi.Input[str],
        service_account: tuple[str, str],
        policy_arn: str,
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """A role only `service_account` may assume (IRSA), with one managed policy attached."""
        role = aws.iam.Role(
            f"{name}-{suffix}",
            assume_role_policy=web_identity_trust_policy(
                oidc_provider_arn, self.oidc_issuer, [service_account_subject(*service_account)]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-{suffix}", role=role.name, policy_arn=policy_arn, opts=pulumi.ResourceOptions(parent=self)
        )
        return role, attachment

    @staticmethod
    def _grant_access(
        name: str, args: ClusterArgs, cluster: aws.eks.Cluster, child: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Access entries: cluster admin for the admin roles and the role Pulumi runs as; each deploy role
        only its Kubernetes group, which RBAC binds in its own service's namespace.

        The cluster grants its creator nothing (no bootstrap admin), and the Kubernetes provider
        authenticates as `aws_role_arn`: without its own entry every Kubernetes resource would be refused.
        A deploy role gets no EKS access policy at all: `AmazonEKSEditPolicy` would let it read every
        Secret, exec into pods and edit NetworkPolicies in each namespace of its scope.
        """
        admins: list[str] = list(dict.fromkeys([*args.admin_role_arns, *filter(None, [args.aws_role_arn])]))
        granted: list[pulumi.Resource] = []
        for arn in admins:
            suffix = f"admin-{arn.rsplit('/', 1)[1]}"
            entry = aws.eks.AccessEntry(
                f"{name}-{suffix}", cluster_name=cluster.name, principal_arn=arn, type="STANDARD", opts=child
            )
            granted.append(
                aws.eks.AccessPolicyAssociation(
                    f"{name}-{suffix}",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=CLUSTER_ADMIN_POLICY_ARN,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=child,
                )
            )
        for service, role_arn in args.deploy_role_arns.items():
            aws.eks.AccessEntry(
                f"{name}-deploy-{service}",
                cluster_name=cluster.name,
                principal_arn=role_arn,
                type="STANDARD",
                kubernetes_groups=[deploy_group(service)],
                opts=child,
            )
        return granted

    @staticmethod
    def _addon(
        name: str,
        args: ClusterArgs,
        cluster: aws.eks.Cluster,
        addon: str,
        *,
        opts: pulumi.ResourceOptions,
        service_account_role_arn: pulumi.Input[str] | None = None,
    ) -> aws.eks.Addon:
        """One managed add-on at its pinned version; it takes over what EKS installed at creation."""
        configuration = ADDON_CONFIGURATION.get(addon)
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=args.addon_versions[addon],
            configuration_values=json.dumps(configuration) if configuration else None,
            service_account_role_arn=service_account_role_arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=opts,
        )

"""External Secrets Operator (ESO) on an environment's cluster, and its store for AWS Secrets Manager.

ESO runs in its own namespace (Pod Security `restricted`, default-deny network policies with its
allowances) from the upstream Helm chart (pinned), with the CRDs the chart installs, annotated to be
kept by Helm; in prod the namespace and the release are protected. Its controller's service account
assumes an IAM role (IRSA) that may read only this environment's secrets (`pyairtable/<env>/*`) and
decrypt only with this environment's secrets KMS key. One `ClusterSecretStore` points at Secrets
Manager in the environment's region; the `ExternalSecret`s of `components.secrets.service_secrets`
read through it.

CRD ordering: every custom resource (the store here, the ExternalSecrets elsewhere) depends on the
Helm release that installs the CRDs, so `pulumi up` creates them only after the release (and with it
the CRDs) is deployed; see the README section "Secrets" for how preview treats them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.cluster.namespaces import (
    HTTPS,
    PROMETHEUS_PODS,
    WEBHOOK_PORT,
    PolicySpec,
    allow_dns,
    cidr_peer,
    declare_policies,
    default_deny,
    internet_egress,
    namespace_peer,
    pod_security_labels,
    private_subnets_egress,
    tcp,
)
from components.config.environment import EnvironmentConfig
from components.shared.catalog import secret_prefix
from components.shared.controllers import HelmChart, ReleaseArgs, controller_release, disruption_budget, zone_spread
from components.shared.iam import policy_document, service_account_subject, web_identity_trust_policy
from components.shared.naming import (
    EXTERNAL_SECRETS_NAMESPACE,
    MONITORING_NAMESPACE,
    NODE_EXPORTER_NAMESPACE,
    cluster_name,
)

CHART = "external-secrets"
CHART_VERSION = "2.9.0"
CHART_REPOSITORY = "https://charts.external-secrets.io"
NAMESPACE = EXTERNAL_SECRETS_NAMESPACE
SERVICE_ACCOUNT = "external-secrets"
API_VERSION = "external-secrets.io/v1"
CLUSTER_SECRET_STORE = "aws-secrets-manager"
"""Name of the ClusterSecretStore every ExternalSecret of the platform reads through."""

# Sized from ESO's own recommendations for a few hundred ExternalSecrets; memory limits equal
# requests' headroom so a leak is OOM-killed rather than starving the node.
CONTROLLER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
WEBHOOK_RESOURCES = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
CERT_CONTROLLER_RESOURCES = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}

READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds")


@dataclass(frozen=True)
class ExternalSecretsOperatorArgs:
    """Inputs of `ExternalSecretsOperator`."""

    config: EnvironmentConfig
    """The environment's validated stack config (region, account, environment name)."""
    aws_provider: aws.Provider
    """The environment's AWS provider (the IAM role and its policy)."""
    kubernetes_provider: kubernetes.Provider
    """The provider of the environment's EKS cluster."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider, trusted by the controller's role (IRSA)."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer URL without `https://` (the prefix of the IRSA condition keys)."""
    secrets_kms_key_arn: pulumi.Input[str]
    """ARN of the environment's secrets KMS key (`SecretsKey.arn`); the only key ESO may decrypt with."""
    namespaces: Mapping[str, kubernetes.core.v1.Namespace]
    """The namespaces allowed to use the store: each catalog service's, plus `monitoring`."""
    private_subnet_cidrs: Sequence[str] = ()
    """The private subnets (API server and endpoint interfaces), for ESO's network policies."""
    protect: bool = False
    """Protect the namespace and the release from deletion (prod)."""


def read_policy(region: str, account_id: str, environment: str, kms_key_arn: str) -> str:
    """The controller's IAM policy: read this environment's secrets, decrypt with its key, nothing else."""
    secrets_arn = f"arn:aws:secretsmanager:{region}:{account_id}:secret:{secret_prefix(environment)}*"
    return json.dumps(
        policy_document(
            {
                "Sid": "ReadEnvironmentSecrets",
                "Effect": "Allow",
                "Action": list(READ_ACTIONS),
                "Resource": secrets_arn,
            },
            {
                "Sid": "DecryptWithSecretsKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                # Only as Secrets Manager decrypts a secret for ESO: the role cannot decrypt other data
                # encrypted with the key by calling KMS directly.
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        )
    )


CRD_KEEP_ANNOTATIONS = {"helm.sh/resource-policy": "keep"}
"""Helm leaves resources with this annotation in place when the release is uninstalled or replaced: a
replaced release must not delete the CRDs, and with them every ExternalSecret and store."""


def network_policies(vpc_cidr: str, private_subnet_cidrs: Sequence[str]) -> list[PolicySpec]:
    """ESO's namespace: DNS; Secrets Manager and STS on 443 (endpoints in the private subnets, or the
    internet); the API server; the webhook reachable from the control plane; Prometheus scrapes."""
    return [
        default_deny(),
        allow_dns(),
        PolicySpec(
            "allow-egress",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [internet_egress(vpc_cidr), private_subnets_egress(private_subnet_cidrs, (HTTPS,))],
            },
        ),
        PolicySpec(
            "allow-ingress",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [cidr_peer(cidr) for cidr in private_subnet_cidrs], "ports": tcp(WEBHOOK_PORT)},
                    {"from": [namespace_peer(MONITORING_NAMESPACE, PROMETHEUS_PODS)]},
                ],
            },
        ),
    ]


def helm_values(role_arn: pulumi.Input[str], replicas: int) -> dict[str, Any]:
    """Values of the external-secrets chart (tests check every key path against the chart's values.yaml).

    The controller and the webhook run `replicas` pods spread over zones, with a disruption budget
    (the controller elects a leader); the cert controller only renews the webhook's certificate, so
    one pod that is briefly rescheduled is enough.
    """
    return {
        "replicaCount": replicas,
        "leaderElect": replicas > 1,
        "podDisruptionBudget": disruption_budget(replicas),
        "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": CHART}),
        # The chart renders the CRDs as templates, so `helm upgrade` also upgrades them; the keep
        # annotation leaves them (and every ExternalSecret) in place if the release is ever removed.
        "installCRDs": True,
        "crds": {"annotations": dict(CRD_KEEP_ANNOTATIONS)},
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "resources": CONTROLLER_RESOURCES,
        "webhook": {
            "resources": WEBHOOK_RESOURCES,
            "replicaCount": replicas,
            "podDisruptionBudget": disruption_budget(replicas),
            "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": f"{CHART}-webhook"}),
        },
        "certController": {"resources": CERT_CONTROLLER_RESOURCES},
    }


class ExternalSecretsOperator(pulumi.ComponentResource):
    """ESO installed by Helm, its IRSA role, and the ClusterSecretStore for AWS Secrets Manager."""

    release: kubernetes.helm.v3.Release
    """The Helm release; it installs the ESO CRDs, so every ESO custom resource depends on it."""
    cluster_secret_store: kubernetes.apiextensions.CustomResource
    """The ClusterSecretStore (`CLUSTER_SECRET_STORE`); ExternalSecrets depend on it."""
    cluster_secret_store_name: str
    """Name of the ClusterSecretStore, for `spec.secretStoreRef` of ExternalSecrets."""
    role_arn: pulumi.Output[str]
    """ARN of the controller's IAM role."""

    def __init__(
        self, name: str, args: ExternalSecretsOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pyairtable:secrets:ExternalSecretsOperator", name, None, opts)
        config = args.config
        aws_options = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)

        role = aws.iam.Role(
            f"{name}-role",
            name=f"{cluster_name(config.environment)}-external-secrets",
            description="External Secrets Operator: reads this environment's secrets from Secrets Manager (IRSA).",
            # IRSA: only ESO's service account, with a token meant for STS, may assume the role.
            assume_role_policy=web_identity_trust_policy(
                args.oidc_provider_arn, args.oidc_issuer, service_account_subject(NAMESPACE, SERVICE_ACCOUNT)
            ),
            opts=aws_options,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-read-secrets",
            role=role.id,
            policy=pulumi.Output.from_input(args.secrets_kms_key_arn).apply(
                lambda key_arn: read_policy(config.aws_region, config.aws_account_id, config.environment, key_arn)
            ),
            opts=aws_options,
        )
        protected = pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(protect=args.protect))
        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                # The chart's pods run as non-root with every capability dropped: `restricted` holds.
                labels={"app.kubernetes.io/managed-by": "pulumi", **pod_security_labels("restricted")},
            ),
            opts=protected,
        )
        declare_policies(
            name,
            namespace.metadata.name,
            network_policies(str(config.vpc_cidr), args.private_subnet_cidrs),
            pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        self.release = controller_release(
            name,
            ReleaseArgs(
                HelmChart(CHART, CHART_VERSION, CHART_REPOSITORY),
                helm_values(role.arn, config.scaling.platform_replicas),
                # The controller must be able to read secrets as soon as it starts.
                depends_on=[policy],
                namespace=namespace.metadata.name,
            ),
            protected,
        )
        self.cluster_secret_store_name = CLUSTER_SECRET_STORE
        self.cluster_secret_store = kubernetes.apiextensions.CustomResource(
            f"{name}-store",
            api_version=API_VERSION,
            kind="ClusterSecretStore",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=CLUSTER_SECRET_STORE),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": config.aws_region,
                        "auth": {
                            "jwt": {
                                "serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": namespace.metadata.name}
                            }
                        },
                    }
                },
                # Without this, an ExternalSecret in any namespace could read every service's secrets.
                # The node exporter's namespace reads no secrets.
                "conditions": [
                    {
                        "namespaces": [
                            args.namespaces[key].metadata.name
                            for key in sorted(args.namespaces)
                            if key != NODE_EXPORTER_NAMESPACE
                        ]
                    }
                ],
            },
            opts=pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        self.role_arn = role.arn
        self.register_outputs(
            {"roleArn": role.arn, "releaseStatus": self.release.status, "clusterSecretStore": CLUSTER_SECRET_STORE}
        )

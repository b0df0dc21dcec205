"""A program that declares the secrets components on their own, with stand-ins for the cluster.

The cluster component (EKS, OIDC provider, namespaces) is built elsewhere; here a Kubernetes
provider, the namespaces and the OIDC values are declared directly, as the cluster would hand them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.catalog import Catalog, load_catalog
from components.config import EnvironmentConfig, read_stack_config
from components.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.service_secrets import (
    MONITORING_NAMESPACE,
    SecretsKey,
    SecretsKeyArgs,
    ServiceSecrets,
    ServiceSecretsArgs,
)
from tools.plan import Plan, build_plan

OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/MOCKCLUSTER"


def oidc_provider_arn(config: EnvironmentConfig) -> str:
    """The IAM OIDC provider ARN the cluster component would output."""
    return f"arn:aws:iam::{config.aws_account_id}:oidc-provider/{OIDC_ISSUER}"


def secrets_program(catalog: Catalog | None = None) -> Callable[[], object]:
    """A zero-argument program for `build_plan(stack, program=...)`."""

    def program() -> None:
        config = read_stack_config()
        assert isinstance(config, EnvironmentConfig)
        services = catalog or load_catalog()
        aws_provider = aws.Provider("aws", region=config.aws_region, allowed_account_ids=[config.aws_account_id])
        kubernetes_provider = kubernetes.Provider("k8s", kubeconfig="{}")
        namespaces = {
            name: kubernetes.core.v1.Namespace(
                f"namespace-{name}", metadata={"name": name}, opts=pulumi.ResourceOptions(provider=kubernetes_provider)
            )
            for name in [*(service.namespace for service in services.deployable), MONITORING_NAMESPACE]
        }
        key = SecretsKey("secrets-key", SecretsKeyArgs(config=config, aws_provider=aws_provider))
        operator = ExternalSecretsOperator(
            "external-secrets",
            ExternalSecretsOperatorArgs(
                config=config,
                aws_provider=aws_provider,
                kubernetes_provider=kubernetes_provider,
                oidc_provider_arn=oidc_provider_arn(config),
                oidc_issuer=OIDC_ISSUER,
                secrets_kms_key_arn=key.arn,
                namespaces=namespaces,
            ),
        )
        secrets = ServiceSecrets(
            "service-secrets",
            ServiceSecretsArgs(
                config=config,
                catalog=services,
                aws_provider=aws_provider,
                kubernetes_provider=kubernetes_provider,
                namespaces=namespaces,
                secrets_kms_key_arn=key.arn,
                operator=operator,
            ),
        )
        # The public interface other components use, exported so tests can read it from the plan.
        pulumi.export("grafanaAdminSecretName", secrets.grafana_admin_secret_name)
        pulumi.export("alertmanagerSecretName", secrets.alertmanager_secret_name)
        pulumi.export("grafanaAdminRotation", secrets.grafana_admin_rotation)
        pulumi.export("monitoringSecrets", [resource.urn for resource in secrets.monitoring_secrets])
        pulumi.export("kubernetesSecretNames", secrets.kubernetes_secret_names)
        pulumi.export("clusterSecretStoreName", operator.cluster_secret_store_name)

    return program


@cache
def secrets_plan(stack: str) -> Plan:
    """The plan of the secrets components for one environment stack (cached)."""
    return build_plan(stack, program=secrets_program())

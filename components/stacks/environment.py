"""An environment stack (`dev`, `staging`, `prod`): network, EKS, secrets, monitoring, traffic, scaling."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.cluster.deploy_access import DeployAccess, DeployAccessArgs, DeployService
from components.cluster.eks import Cluster, ClusterArgs
from components.cluster.namespaces import ServiceNamespaces, ServiceNamespacesArgs
from components.cluster.node_groups import NodeGroupsArgs
from components.config.environment import EnvironmentConfig, NatGateways
from components.cost.bill_of_materials import node_groups
from components.cost.budget import EnvironmentBudget, EnvironmentBudgetArgs
from components.datastores.backups import VolumeBackups, VolumeBackupsArgs
from components.datastores.reloader import Reloader, ReloaderArgs
from components.datastores.rotation import StoreLogins, StoreLoginsArgs
from components.datastores.stores import Datastores, DatastoresArgs
from components.delivery.delivery import Delivery, DeliveryArgs
from components.delivery.names import INFRA_REPOSITORY
from components.network.vpc import Network, NetworkArgs, subnet_layout
from components.observability.monitoring import Monitoring, MonitoringArgs
from components.registry.admission import ImageAdmission, ImageAdmissionArgs
from components.registry.pull_path import PullThroughCache, PullThroughCacheArgs
from components.scaling.autoscaler import Scaling, ScalingArgs, ignored_scaling_fields
from components.secrets.operator import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.secrets.service_secrets import SecretsKey, SecretsKeyArgs, ServiceSecrets, ServiceSecretsArgs
from components.shared.catalog import Catalog
from components.shared.kms import LogsKey, LogsKeyArgs
from components.shared.naming import MONITORING_NAMESPACE, cached_image_repository, cluster_name
from components.traffic.ingress import Traffic, TrafficArgs


def environment_stack(config: EnvironmentConfig, catalog: Catalog) -> None:
    """Declare one environment's AWS and Kubernetes resources; export the cluster's coordinates."""
    # Default tags reach every AWS resource; the launch templates repeat them for the instances and
    # volumes that node groups launch, which the provider's default tags never see.
    default_tags = {
        "Environment": config.environment,
        "Project": "pyairtable",
        "ManagedBy": "pulumi",
        "CostCenter": config.cost_center,
    }
    aws_provider = aws.Provider(
        "aws",
        region=config.aws_region,
        allowed_account_ids=[config.aws_account_id],
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=config.aws_role_arn, session_name="pulumi")]
        if config.aws_role_arn
        else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags),
    )
    aws_options = pulumi.ResourceOptions(provider=aws_provider)
    # Prod's cluster, VPC, KMS keys and secrets are protected; dev and staging stay disposable.
    protect = config.environment == "prod"
    name_of_cluster = cluster_name(config.environment)

    logs_key = LogsKey(
        "logs-key",
        LogsKeyArgs(
            alias=f"alias/{name_of_cluster}-logs",
            region=config.aws_region,
            account_id=config.aws_account_id,
            access=config.key_access,
            protect=protect,
        ),
        opts=aws_options,
    )
    network = Network(
        "network",
        NetworkArgs(
            environment=config.environment,
            cluster_name=name_of_cluster,
            vpc_cidr=config.vpc_cidr,
            subnet_indexes=config.subnet_indexes,
            subnet_slots=config.network.subnet_slots,
            region=config.aws_region,
            vpc_endpoints=config.network.vpc_endpoints,
            logs_key_arn=logs_key.arn,
            nat_gateway_per_zone=config.nat_gateways is NatGateways.PER_AZ,
            nat_instance_type=config.nat_instance_type if config.nat_gateways is NatGateways.INSTANCE else None,
            internet_egress=config.nat_gateways is not NatGateways.NONE,
            flow_log_retention_days=config.flow_log_retention_days,
            account_id=config.aws_account_id,
            protect=protect,
        ),
        opts=aws_options,
    )
    deploy_access = DeployAccess(
        "deploy",
        DeployAccessArgs(
            environment=config.environment,
            organization=catalog.organization,
            services=[DeployService(service.name, service.repository) for service in catalog.deployable],
            account_id=config.aws_account_id,
            cluster_arn=f"arn:aws:eks:{config.aws_region}:{config.aws_account_id}:cluster/{name_of_cluster}",
            accepted_subjects=config.cluster.deploy_subjects,
        ),
        opts=aws_options,
    )
    cluster = Cluster(
        "eks",
        ClusterArgs(
            cluster_name=name_of_cluster,
            kubernetes_version=config.kubernetes_version,
            region=config.aws_region,
            aws_role_arn=config.aws_role_arn,
            subnet_ids=network.private_subnet_ids,
            endpoint_public_access=config.cluster.endpoint_public_access,
            public_access_cidrs=[str(cidr) for cidr in config.public_access_cidrs],
            log_types=config.cluster_log_types,
            log_retention_days=config.cluster_log_retention_days,
            logs_key_arn=logs_key.arn,
            key_access=config.key_access,
            admin_role_arns=config.admin_role_arns,
            deploy_role_arns=deploy_access.role_arns,
            addon_versions=config.addon_versions,
            reclaim_volumes=protect,
            protect=protect,
            platform_replicas=config.scaling.platform_replicas,
            node_groups=NodeGroupsArgs(
                cluster_name=name_of_cluster,
                kubernetes_version=config.kubernetes_version,
                subnet_ids=network.private_subnet_ids,
                groups=node_groups(config),
                disk_size_gib=config.nodes.disk_size_gib,
                uncovered_node_count=config.uncovered_node_count,
                instance_tags=default_tags,
                ignored_scaling_fields=ignored_scaling_fields(config),
            ),
        ),
        opts=aws_options,
    )
    service_namespaces = ServiceNamespaces(
        "namespaces",
        ServiceNamespacesArgs(
            catalog=catalog,
            quota=config.namespace_quota,
            vpc_cidr=config.vpc_cidr,
            private_subnet_cidrs=network.private_subnet_cidrs,
            interface_endpoints=bool(config.network.interface_endpoints),
            kubernetes_provider=cluster.kubernetes_provider,
            protect=protect,
        ),
        opts=pulumi.ResourceOptions(provider=cluster.kubernetes_provider),
    )
    # --- Data stores (components/datastores): servers before the secrets that point at them. ---
    datastores = Datastores(
        "datastores",
        DatastoresArgs(
            environment=config.environment,
            catalog=catalog,
            postgres=config.postgres,
            redis=config.redis,
            aws_provider=aws_provider,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            cluster_security_group_id=cluster.cluster_security_group_id,
            protect=protect,
            key_access=config.key_access,
            account_id=config.aws_account_id,
            region=config.aws_region,
            logs_key_arn=logs_key.arn,
        ),
    )
    secrets_key = SecretsKey("secrets-key", SecretsKeyArgs(config=config, aws_provider=aws_provider, protect=protect))
    secrets_operator = ExternalSecretsOperator(
        "external-secrets",
        ExternalSecretsOperatorArgs(
            config=config,
            aws_provider=aws_provider,
            kubernetes_provider=cluster.kubernetes_provider,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            secrets_kms_key_arn=secrets_key.arn,
            namespaces=service_namespaces.namespaces,
            private_subnet_cidrs=network.private_subnet_cidrs,
            protect=protect,
        ),
    )
    service_secrets = ServiceSecrets(
        "service-secrets",
        ServiceSecretsArgs(
            config=config,
            catalog=catalog,
            aws_provider=aws_provider,
            kubernetes_provider=cluster.kubernetes_provider,
            namespaces=service_namespaces.namespaces,
            secrets_kms_key_arn=secrets_key.arn,
            operator=secrets_operator,
            protect=protect,
            connections=datastores.connections,
        ),
    )
    StoreLogins(
        "store-logins",
        StoreLoginsArgs(
            environment=config.environment,
            region=config.aws_region,
            account_id=config.aws_account_id,
            catalog=catalog,
            datastores=datastores,
            login_secrets={
                key: (stored.secret, stored.version or stored.secret)
                for key, stored in service_secrets.store_secrets.items()
            },
            secrets_kms_key_arn=secrets_key.arn,
            postgres_rotation_days=config.postgres.rotation_days,
            redis_rotation_days=config.redis.rotation_days,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            private_subnet_cidrs=[
                subnet.private_cidr
                for subnet in subnet_layout(config.vpc_cidr, config.subnet_indexes, config.network.subnet_slots)
            ],
            namespaces=service_namespaces.namespaces,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            aws_provider=aws_provider,
            kubernetes_provider=cluster.kubernetes_provider,
        ),
    )
    Reloader("reloader", ReloaderArgs(kubernetes_provider=cluster.kubernetes_provider))
    if config.backups.enabled:
        VolumeBackups(
            "volume-backups",
            VolumeBackupsArgs(
                environment=config.environment,
                settings=config.backups,
                kms_key_arn=datastores.kms_key_arn,
                protect=protect,
            ),
            opts=aws_options,
        )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config=config,
            catalog=catalog,
            kubernetes_provider=cluster.kubernetes_provider,
            namespaces=service_namespaces.namespaces,
            storage_class_name=cluster.storage_class_name,
            grafana_admin_secret_name=service_secrets.grafana_admin_secret_name,
            alertmanager_secret_name=service_secrets.alertmanager_secret_name,
            grafana_admin_rotation=service_secrets.grafana_admin_rotation,
            secrets_ready=service_secrets.monitoring_secrets,
        ),
    )

    traffic = Traffic(
        "traffic",
        TrafficArgs(
            config=config,
            catalog=catalog,
            aws_provider=aws_provider,
            kubernetes_provider=cluster.kubernetes_provider,
            vpc_id=network.vpc_id,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            namespaces=service_namespaces.namespaces,
            monitoring_release=monitoring.release,
            protect=protect,
        ),
    )
    Scaling(
        "scaling",
        ScalingArgs(
            config=config,
            aws_provider=aws_provider,
            kubernetes_provider=cluster.kubernetes_provider,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            node_groups=list(zip(node_groups(config), cluster.node_groups.node_groups, strict=True)),
            monitoring_release=monitoring.release,
            monitoring_namespace=service_namespaces.namespaces[MONITORING_NAMESPACE],
        ),
    )
    PullThroughCache(
        "registry-cache",
        PullThroughCacheArgs(
            organization=catalog.organization,
            account_id=config.aws_account_id,
            region=config.aws_region,
            node_role_name=cluster.node_groups.role_name,
            keep_images_per_repository=config.registry.cache.keep_images_per_repository,
            recovery_window_days=config.secret_recovery_window_days,
            protect=protect,
        ),
        opts=aws_options,
    )
    ImageAdmission(
        "registry-admission",
        ImageAdmissionArgs(
            environment=config.environment,
            organization=catalog.organization,
            account_id=config.aws_account_id,
            region=config.aws_region,
            namespaces=[service.namespace for service in catalog.deployable],
            token_expires_on=config.registry.token_expires_on,
            expiry_warning_days=config.registry.expiry_warning_days,
            kubernetes_provider=cluster.kubernetes_provider,
            monitoring_release=monitoring.release,
            monitoring_namespace=service_namespaces.namespaces[MONITORING_NAMESPACE],
        ),
    )

    # Delivery: the read-only preview role may view the cluster; on the `codebuild` path, CI's runners
    # live in the private subnets (README "Delivery": bootstrap order and cost).
    delivery = Delivery(
        "delivery",
        DeliveryArgs(
            environment=config.environment,
            account_id=config.aws_account_id,
            region=config.aws_region,
            organization=catalog.organization,
            settings=config.delivery,
            runner_repositories=[INFRA_REPOSITORY]
            + ([service.repository for service in catalog.deployable] if config.delivery.deploy_repositories else []),
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            cluster_name=cluster.name,
            cluster_security_group_id=cluster.cluster_security_group_id,
            logs_key_arn=logs_key.arn,
        ),
        opts=aws_options,
    )

    # The budget watches the whole account (one account per environment) against the same budgetUsd
    # the `cost` output compares the estimate with.
    EnvironmentBudget(
        "budget",
        EnvironmentBudgetArgs(
            environment=config.environment,
            account_id=config.aws_account_id,
            budget_usd=config.budget_usd,
            alerts=config.budget_alerts,
        ),
        opts=aws_options,
    )

    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("nodeGroups", cluster.node_groups.summary)
    pulumi.export("deployRoleArns", deploy_access.role_arns)
    pulumi.export("postgresAddress", datastores.postgres.address)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    # The NS records to create in the parent zone (README "Traffic": zone, then delegation, then ACM).
    pulumi.export("dnsZone", {"name": traffic.zone_name, "nameServers": traffic.name_servers})
    pulumi.export(
        "imageRepositories",
        {
            service.name: cached_image_repository(
                config.aws_account_id, config.aws_region, catalog.organization, service.name
            )
            for service in catalog.deployable
        },
    )
    pulumi.export("delivery", {"path": config.delivery.path, "runnerLabel": delivery.runner_label})

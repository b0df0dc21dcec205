"""Config of an environment stack (`dev`, `staging`, `prod`): account, network, cluster, capacity, secrets."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.cluster.settings import ClusterSettings
from components.config.common import (
    AWS_REGIONS,
    DURATION_PATTERN,
    FrozenModel,
    InstanceType,
    Slug,
    check_instance_type,
)
from components.cost.settings import BudgetAlerts
from components.datastores.settings import BackupSettings, PostgresSettings, RedisSettings, check_floors
from components.delivery.settings import DeliverySettings
from components.network.egress import NON_PROD_ONLY, EgressFacts, NatGateways, no_nat_blockers
from components.network.settings import NetworkSettings
from components.network.vpc import subnet_layout
from components.registry.settings import EnvironmentRegistrySettings
from components.scaling.settings import ScalingSettings
from components.shared.aws_limits import load_aws_limits, load_kubernetes_versions
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.errors import InvalidKeyError
from components.shared.kms import KeyAccess
from components.shared.naming import PROD_ENVIRONMENT, REGISTRY_HOST
from components.traffic.settings import TrafficSettings, dns_name_problem

# The control-plane log types EKS accepts; every one is required (CIS EKS 2.1.1, Checkov CKV_AWS_37):
# the controller manager's and scheduler's logs are where a failing reconcile or placement shows.
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
REQUIRED_EKS_LOG_TYPES = EKS_LOG_TYPES
# Prod floors: audit logs kept a year (CKV_AWS_338), rotation neither churning nor stale.
PROD_MIN_LOG_RETENTION_DAYS = 365
PROD_ROTATION_DAYS = (30, 365)
# A public endpoint accepts only narrow ranges: wider than this is a provider's range, not an egress.
WIDEST_PUBLIC_ACCESS_PREFIX = 16
# Ranges no client reaches the public endpoint from: RFC 1918, shared (RFC 6598), loopback, link-local,
# "this network", multicast and reserved. (Documentation ranges stay allowed as placeholders.)
NON_PUBLIC_RANGES = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "224.0.0.0/3",
    )
)
ROLE_ARN_PATTERN = r"^arn:aws:iam::([0-9]{12}):role/[\w+=,.@/-]+$"
# The managed add-ons every cluster runs; `addonVersions` pins each of them per stack.
EKS_ADDONS = ("vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent")
# CloudWatch Logs accepts only these retention periods (0 means forever).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def check_log_retention(value: int) -> int:
    """A retention period CloudWatch Logs accepts."""
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"{value} is not a CloudWatch Logs retention; allowed: {list(LOG_RETENTION_DAYS)}")
    return value


class CapacityStrategy(StrEnum):
    """How an environment buys its nodes."""

    SPOT = "spot"
    """Spot nodes only, diversified across instance types (dev)."""
    MIXED = "mixed"
    """An on-demand base plus spot above it (staging)."""
    RESERVED = "reserved"
    """On-demand nodes covered by a reservation (prod)."""


class NodePool(FrozenModel):
    """The nodes that run the services (for `mixed`, the spot part above the on-demand base)."""

    instance_types: tuple[InstanceType, ...] = Field(alias="instanceTypes", min_length=1)
    min_size: int = Field(alias="minSize", ge=0)
    desired_size: int = Field(alias="desiredSize", ge=1)
    max_size: int = Field(alias="maxSize", ge=1)
    disk_size_gib: int = Field(alias="diskSizeGib", ge=20)

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for instance_type in value:
            check_instance_type(instance_type)
        if len(set(value)) != len(value):
            raise ValueError(f"instance types are listed twice: {list(value)}")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> NodePool:
        limits = load_aws_limits()
        if not limits.gp3_min_gib.value <= self.disk_size_gib <= limits.gp3_max_gib.value:
            raise ValueError(
                f"diskSizeGib {self.disk_size_gib} is outside gp3's {limits.gp3_min_gib.value}.."
                f"{limits.gp3_max_gib.value} GiB ({limits.gp3_max_gib.source})"
            )
        if self.max_size > limits.node_group_max_size.value:
            raise ValueError(
                f"maxSize {self.max_size} is above {limits.node_group_max_size.value} nodes per managed node group "
                f"({limits.node_group_max_size.source})"
            )
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"minSize <= desiredSize <= maxSize must hold, got {self.min_size} <= {self.desired_size} <= "
                f"{self.max_size}"
            )
        return self


class PaymentOption(StrEnum):
    """EC2 reserved instance payment options."""

    NO_UPFRONT = "no-upfront"
    PARTIAL_UPFRONT = "partial-upfront"
    ALL_UPFRONT = "all-upfront"


class Reservation(FrozenModel):
    """A reserved-instance purchase that covers on-demand nodes (bought outside Pulumi)."""

    instance_type: InstanceType = Field(alias="instanceType")
    count: int = Field(ge=1)
    term_years: Literal[1, 3] = Field(alias="termYears")
    payment_option: PaymentOption = Field(alias="paymentOption")

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return check_instance_type(value)


class NamespaceQuota(FrozenModel):
    """The resource quota of each service namespace."""

    requests_cpu: str = Field(alias="requestsCpu", pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    requests_memory: str = Field(alias="requestsMemory", pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")
    limits_cpu: str = Field(alias="limitsCpu", pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    limits_memory: str = Field(alias="limitsMemory", pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")
    pods: int = Field(ge=1)


class AlertReceiver(FrozenModel):
    """An Alertmanager receiver; its URL is supplied in Secrets Manager, never in config."""

    name: Slug
    kind: Literal["slack", "webhook", "pagerduty"]


class EnvironmentConfig(FrozenModel):
    """Configuration of an environment stack (`dev`, `staging`, `prod`): its AWS account and cluster."""

    stack: str
    budget_usd: int = Field(alias="budgetUsd", ge=0)
    budget_alerts: BudgetAlerts = Field(alias="budgetAlerts")
    """Who the environment's AWS Budget alerts, and when (components/cost/settings.py)."""
    aws_region: str = Field(alias="awsRegion")
    aws_account_id: str = Field(alias="awsAccountId", pattern=r"^[0-9]{12}$")
    aws_role_arn: str = Field(alias="awsRoleArn", pattern=r"^(arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+)?$")
    cost_center: str = Field(alias="costCenter", min_length=1)
    vpc_cidr: ipaddress.IPv4Network = Field(alias="vpcCidr")
    availability_zones: tuple[str, ...] = Field(alias="availabilityZones")
    nat_gateways: NatGateways = Field(alias="natGateways")
    nat_instance_type: InstanceType = Field(alias="natInstanceType", default="t4g.nano")
    """EC2 type of the NAT instance (`natGateways: instance`)."""
    flow_log_retention_days: int = Field(alias="flowLogRetentionDays")
    kubernetes_version: str = Field(alias="kubernetesVersion")
    cluster_log_types: tuple[str, ...] = Field(alias="clusterLogTypes")
    cluster_log_retention_days: int = Field(alias="clusterLogRetentionDays")
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...] = Field(alias="publicAccessCidrs", default=())
    admin_role_arns: tuple[str, ...] = Field(alias="adminRoleArns", min_length=1)
    break_glass_role_arn: str = Field(alias="breakGlassRoleArn")
    """The only principal allowed to schedule the deletion of the environment's KMS keys."""
    account_shared_with: tuple[str, ...] = Field(alias="accountSharedWith", default=())
    """Other environments allowed to use this environment's AWS account (default: none)."""
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    """The cluster's endpoint and deploy-subject settings (config key `cluster`)."""
    network: NetworkSettings
    """Subnet slots per zone and VPC endpoints (config key `network`)."""
    addon_versions: dict[str, str] = Field(alias="addonVersions")
    capacity_strategy: CapacityStrategy = Field(alias="capacityStrategy")
    nodes: NodePool
    on_demand_base_count: int = Field(alias="onDemandBaseCount", ge=0)
    reservations: tuple[Reservation, ...] = ()
    namespace_quota: NamespaceQuota = Field(alias="namespaceQuota")
    secret_rotation_days: int = Field(alias="secretRotationDays")
    secret_recovery_window_days: int = Field(alias="secretRecoveryWindowDays", ge=7, le=30)
    secret_refresh_interval: str = Field(alias="secretRefreshInterval")
    prometheus_retention: str = Field(alias="prometheusRetention", pattern=DURATION_PATTERN)
    prometheus_storage_gib: int = Field(alias="prometheusStorageGib", ge=0)
    prometheus_replicas: int = Field(alias="prometheusReplicas", ge=1)
    alert_receivers: tuple[AlertReceiver, ...] = Field(alias="alertReceivers")
    log_ingestion_gib_per_month: int = Field(alias="logIngestionGibPerMonth", ge=0)
    nat_data_gib_per_month: int = Field(alias="natDataGibPerMonth", ge=0)
    spot_savings_percent: dict[InstanceType, float] = Field(alias="spotSavingsPercent", default_factory=dict)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    """Spot savings over on-demand per instance type, in percent, replacing the price table's Spot Advisor figure."""
    traffic: TrafficSettings
    """DNS zone, certificate, public host and WAF of the environment (`components.traffic`)."""
    scaling: ScalingSettings
    """Platform replicas and the nodes' off-hours (`components.scaling`)."""
    postgres: PostgresSettings
    """The environment's PostgreSQL (components/datastores)."""
    redis: RedisSettings
    """The environment's Redis replication groups (components/datastores)."""
    backups: BackupSettings
    """AWS Backup of the environment's persistent volumes (components/datastores)."""
    registry: EnvironmentRegistrySettings
    """The pull-through cache of the organization's GHCR images and its token's expiry (components/registry)."""

    @property
    def environment(self) -> str:
        """The environment's name: the stack name, also the GitHub environment and secret path segment."""
        return self.stack

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"{value!r} is not an AWS region known to pulumi-aws")
        return value

    @field_validator("flow_log_retention_days", "cluster_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # EKS refuses a cluster whose subnets are not in at least two zones; perAz NAT needs them too.
        if len(value) < 2:
            raise ValueError(f"EKS needs subnets in at least 2 availability zones, got {len(value)}: {list(value)}")
        return value

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, value: str) -> str:
        known = [row.version for row in load_kubernetes_versions().versions]
        if value not in known:
            raise ValueError(
                f"{value!r} is not in the EKS version table (data/upstream/aws/eks-kubernetes-versions.yaml); "
                f"allowed: {known}"
            )
        return value

    @field_validator("cluster_log_types")
    @classmethod
    def _log_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [log_type for log_type in value if log_type not in EKS_LOG_TYPES]
        if unknown:
            raise ValueError(f"unknown log types {unknown}; allowed: {list(EKS_LOG_TYPES)}")
        missing = [log_type for log_type in REQUIRED_EKS_LOG_TYPES if log_type not in value]
        if missing:
            raise ValueError(f"log types {missing} are required; the list must include {list(REQUIRED_EKS_LOG_TYPES)}")
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _narrow_and_public(cls, value: tuple[ipaddress.IPv4Network, ...]) -> tuple[ipaddress.IPv4Network, ...]:
        limit = load_aws_limits().public_access_cidrs_max
        if len(value) > limit.value:
            raise ValueError(f"{len(value)} CIDRs; EKS accepts at most {limit.value} ({limit.source})")
        for cidr in value:
            if cidr.prefixlen < WIDEST_PUBLIC_ACCESS_PREFIX:
                raise ValueError(
                    f"{cidr} is too wide for the cluster API; allowed: /{WIDEST_PUBLIC_ACCESS_PREFIX} or longer"
                )
            if any(cidr.overlaps(private) for private in NON_PUBLIC_RANGES):
                raise ValueError(
                    f"{cidr} is not a public range (RFC 1918, shared, loopback, link-local or reserved); the public "
                    "endpoint only sees public addresses, and private ones reach the private endpoint anyway"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"a CIDR is listed twice: {[str(cidr) for cidr in value]}")
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
            if not re.match(ROLE_ARN_PATTERN, arn):
                raise ValueError(f"{arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return value

    @field_validator("account_shared_with")
    @classmethod
    def _shared_with(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in ENVIRONMENTS]
        if unknown:
            raise ValueError(f"{unknown} are not environments; allowed: {list(ENVIRONMENTS)}")
        return value

    @field_validator("break_glass_role_arn")
    @classmethod
    def _break_glass(cls, value: str) -> str:
        if not re.match(ROLE_ARN_PATTERN, value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return value

    @field_validator("alert_receivers")
    @classmethod
    def _unique_receivers(cls, value: tuple[AlertReceiver, ...]) -> tuple[AlertReceiver, ...]:
        names = [receiver.name for receiver in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"receiver names {twice} are used twice; Alertmanager refuses duplicate receivers")
        if "null" in names:
            raise ValueError("'null' is the receiver that swallows Watchdog; choose another name")
        return value

    @field_validator("cost_center")
    @classmethod
    def _tag_value(cls, value: str) -> str:
        limit = load_aws_limits().tag_value_max_length
        if len(value) > limit.value:
            raise ValueError(f"{len(value)} characters; a tag value has at most {limit.value} ({limit.source})")
        return value

    @field_validator("addon_versions")
    @classmethod
    def _addons(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(EKS_ADDONS))
        if unknown:
            raise ValueError(f"unknown add-ons {unknown}; allowed: {list(EKS_ADDONS)}")
        missing = sorted(set(EKS_ADDONS) - set(value))
        if missing:
            raise ValueError(f"add-ons {missing} need a pinned version")
        for addon, version in value.items():
            if not re.match(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$", version):
                raise ValueError(f"{addon} version {version!r} is not an EKS add-on version (v<x.y.z>-eksbuild.<n>)")
        return value

    @field_validator("spot_savings_percent")
    @classmethod
    def _spot_savings(cls, value: dict[str, float]) -> dict[str, float]:
        for instance_type, percent in value.items():
            check_instance_type(instance_type)
            if not 0 < percent < 100:
                raise ValueError(f"{instance_type}: {percent} is not a saving in percent; allowed: 0 < percent < 100")
        return value

    @field_validator("secret_rotation_days")
    @classmethod
    def _rotation(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"rotation period must be a positive number of days, got {value}")
        return value

    @field_validator("secret_refresh_interval")
    @classmethod
    def _refresh_interval(cls, value: str) -> str:
        # ESO parses it as a Go duration (no d, w or y), and 0s would sync once and never again,
        # so a rotated secret would never reach Kubernetes.
        if not re.match(r"^[0-9]+(s|m|h)$", value) or int(value[:-1]) == 0:
            raise ValueError(
                f"{value!r} is not a refresh interval External Secrets Operator accepts; allowed: a positive "
                "number of seconds, minutes or hours such as 30m or 1h (no d, w or y)"
            )
        return value

    @model_validator(mode="after")
    def _network(self) -> EnvironmentConfig:
        if not 16 <= self.vpc_cidr.prefixlen <= 24:
            raise InvalidKeyError(
                "vpcCidr", str(self.vpc_cidr), f"{self.vpc_cidr} must have a prefix between /16 and /24"
            )
        for zone in self.availability_zones:
            if not re.match(rf"^{re.escape(self.aws_region)}[a-z]$", zone):
                raise InvalidKeyError(
                    "availabilityZones",
                    list(self.availability_zones),
                    f"{zone!r} is not a zone of region {self.aws_region}",
                )
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise InvalidKeyError(
                "availabilityZones",
                list(self.availability_zones),
                f"a zone is listed twice: {list(self.availability_zones)}",
            )
        indexes = self.network.subnet_indexes
        letters = [zone[-1] for zone in self.availability_zones]
        missing = [letter for letter in letters if letter not in indexes]
        if missing:
            # Letters without a zone keep their slot reserved (a zone removed, or about to be added).
            raise InvalidKeyError(
                "network.subnetIndexes",
                indexes,
                f"zone letters {missing} of availabilityZones have no subnet index; give each a free slot "
                f"and never change an existing zone's index (its subnets would be replaced)",
            )
        try:
            subnet_layout(self.vpc_cidr, self.subnet_indexes, self.network.subnet_slots)
        except ValueError as error:
            raise InvalidKeyError("network.subnetIndexes", indexes, str(error)) from None
        return self

    @property
    def key_access(self) -> KeyAccess:
        """Who administers the environment's KMS keys (the admin roles and the Pulumi role, which KMS's
        lockout check needs) and the one role that may schedule their deletion."""
        return KeyAccess(
            administrators=tuple(dict.fromkeys([*self.admin_role_arns, *filter(None, [self.aws_role_arn])])),
            break_glass_role_arn=self.break_glass_role_arn,
        )

    @property
    def subnet_indexes(self) -> dict[str, int]:
        """Zone name -> subnet slot, in the order of `availabilityZones`."""
        return {zone: self.network.subnet_indexes[zone[-1]] for zone in self.availability_zones}

    @model_validator(mode="after")
    def _own_account(self) -> EnvironmentConfig:
        # A role of another account would be assumed across accounts: a stack must manage only its own.
        arns = {"awsRoleArn": [self.aws_role_arn] if self.aws_role_arn else [], "adminRoleArns": self.admin_role_arns}
        arns["breakGlassRoleArn"] = [self.break_glass_role_arn]
        for key, values in arns.items():
            for arn in values:
                match = re.match(ROLE_ARN_PATTERN, arn)
                if match and match.group(1) != self.aws_account_id:
                    raise InvalidKeyError(
                        key,
                        arn if key != "adminRoleArns" else list(values),
                        f"{arn} is in account {match.group(1)}, not the environment's account {self.aws_account_id}",
                    )
        return self

    @model_validator(mode="after")
    def _endpoint(self) -> EnvironmentConfig:
        if self.cluster.endpoint_public_access and not self.public_access_cidrs:
            raise InvalidKeyError(
                "publicAccessCidrs",
                [],
                "a public endpoint needs the CIDRs allowed to reach it (the runners' egress ranges); "
                "EKS would otherwise open it to 0.0.0.0/0",
            )
        if not self.cluster.endpoint_public_access:
            # Without a public endpoint, CI (GitHub-hosted runners reach only Azure privately), the
            # Kubernetes provider and people need a declared way into the VPC first.
            raise InvalidKeyError(
                "cluster.endpointPublicAccess",
                False,
                "no path into the VPC is declared yet (runners in the VPC or SSM, README 'Cluster endpoint'); "
                "allowed: true, with publicAccessCidrs limited to the runners' egress ranges",
            )
        return self

    @model_validator(mode="after")
    def _prod_floors(self) -> EnvironmentConfig:
        if self.environment != PROD_ENVIRONMENT:
            return self
        if not any(receiver.kind == "pagerduty" for receiver in self.alert_receivers):
            raise InvalidKeyError(
                "alertReceivers",
                [receiver.name for receiver in self.alert_receivers],
                "prod needs at least one paging receiver (kind pagerduty)",
            )
        if self.prometheus_storage_gib <= 0:
            raise InvalidKeyError(
                "prometheusStorageGib", self.prometheus_storage_gib, "prod keeps its metrics on a volume; allowed: > 0"
            )
        if self.cluster_log_retention_days < PROD_MIN_LOG_RETENTION_DAYS:
            raise InvalidKeyError(
                "clusterLogRetentionDays",
                self.cluster_log_retention_days,
                f"prod keeps its audit logs at least {PROD_MIN_LOG_RETENTION_DAYS} days",
            )
        low, high = PROD_ROTATION_DAYS
        if not low <= self.secret_rotation_days <= high:
            raise InvalidKeyError(
                "secretRotationDays", self.secret_rotation_days, f"prod rotates between {low} and {high} days"
            )
        return self

    @model_validator(mode="after")
    def _datastore_floors(self) -> EnvironmentConfig:
        check_floors(
            self.environment,
            postgres=self.postgres,
            redis=self.redis,
            backups=self.backups,
            refresh_interval=self.secret_refresh_interval,
            prometheus_storage_gib=self.prometheus_storage_gib,
        )
        return self

    @property
    def egress_facts(self) -> EgressFacts:
        """What decides whether the private subnets can do without NAT (components/network/egress.py).

        Every environment caches the organization's GHCR images (components/registry/pull_path.py);
        the VPC endpoints come from `network.vpcEndpoints`, the services that call the internet from
        the catalog's `externalEgress`.
        """
        return EgressFacts(
            vpc_endpoints=frozenset(service.value for service in self.network.vpc_endpoints),
            pull_through_registries=frozenset({REGISTRY_HOST}),
            services_with_external_egress=tuple(
                service.name for service in load_catalog().deployable if service.external_egress
            ),
        )

    @model_validator(mode="after")
    def _nat(self) -> EnvironmentConfig:
        check_instance_type(self.nat_instance_type)
        if self.nat_gateways in NON_PROD_ONLY and self.stack == "prod":
            raise InvalidKeyError(
                "natGateways",
                self.nat_gateways.value,
                "prod keeps managed NAT gateways (a NAT instance is a single point of failure); allowed: single, perAz",
            )
        if self.nat_gateways is NatGateways.NONE:
            blockers = no_nat_blockers(self.egress_facts)
            if blockers:
                raise InvalidKeyError(
                    "natGateways",
                    self.nat_gateways.value,
                    f"private subnets without NAT cannot work yet: {'; '.join(blockers)}; allowed now: single, perAz, "
                    'instance (README "NAT options")',
                )
        return self

    @model_validator(mode="after")
    def _kube_proxy_matches_cluster(self) -> EnvironmentConfig:
        # kube-proxy is built per Kubernetes minor version; EKS offers a cluster only the builds of
        # its own minor, so any other pin is a version the cluster does not support.
        kube_proxy = self.addon_versions["kube-proxy"]
        if not kube_proxy.startswith(f"v{self.kubernetes_version}."):
            raise InvalidKeyError(
                "addonVersions",
                self.addon_versions,
                f"kube-proxy {kube_proxy} does not match kubernetesVersion {self.kubernetes_version}; "
                f"allowed: v{self.kubernetes_version}.<patch>-eksbuild.<n>",
            )
        return self

    @model_validator(mode="after")
    def _capacity(self) -> EnvironmentConfig:
        strategy = self.capacity_strategy
        types = self.nodes.instance_types
        if strategy in (CapacityStrategy.SPOT, CapacityStrategy.MIXED):
            if len(types) < 3:
                raise InvalidKeyError(
                    "nodes.instanceTypes",
                    list(types),
                    f"capacityStrategy {strategy.value} needs at least 3 interchangeable spot instance "
                    f"types in nodes.instanceTypes, got {list(types)}",
                )
            sizes = sorted({instance_type.split(".", 1)[1] for instance_type in types})
            if len(sizes) != 1:
                raise InvalidKeyError(
                    "nodes.instanceTypes",
                    list(types),
                    f"spot instance types must be of one size to be interchangeable, got sizes {sizes}",
                )
        if strategy is CapacityStrategy.MIXED and self.on_demand_base_count < 1:
            raise InvalidKeyError(
                "onDemandBaseCount",
                self.on_demand_base_count,
                "capacityStrategy mixed needs onDemandBaseCount >= 1 (the on-demand base)",
            )
        if strategy is not CapacityStrategy.MIXED and self.on_demand_base_count:
            raise InvalidKeyError(
                "onDemandBaseCount",
                self.on_demand_base_count,
                f"applies to capacityStrategy mixed only, not {strategy.value}",
            )
        if strategy is CapacityStrategy.RESERVED:
            reserved = {reservation.instance_type for reservation in self.reservations}
            uncovered = [instance_type for instance_type in types if instance_type not in reserved]
            if uncovered:
                raise InvalidKeyError(
                    "nodes.instanceTypes",
                    list(types),
                    f"capacityStrategy reserved: instance types {uncovered} have no reservation; "
                    f"reserved types: {sorted(reserved)}",
                )
        elif self.reservations:
            raise InvalidKeyError(
                "reservations",
                [r.instance_type for r in self.reservations],
                f"reservations apply to capacityStrategy reserved only, not {strategy.value}",
            )
        return self

    @model_validator(mode="after")
    def _spot_savings_apply(self) -> EnvironmentConfig:
        # A figure the price table lacks never stops the program (the bill shows an unpriced line);
        # an override for a type the stack does not run is a mistake in the config itself.
        stale = sorted(set(self.spot_savings_percent) - set(self.nodes.instance_types))
        if stale:
            raise InvalidKeyError(
                "spotSavingsPercent",
                self.spot_savings_percent,
                f"instance types {stale} are not in nodes.instanceTypes; allowed: {list(self.nodes.instance_types)}",
            )
        return self

    @model_validator(mode="after")
    def _traffic_and_scaling(self) -> EnvironmentConfig:
        # The zone and the certificate are named after the environment: check the names AWS will see.
        problem = dns_name_problem(self.traffic.zone_name(self.environment))
        if problem:
            raise InvalidKeyError("traffic.parentDomain", self.traffic.parent_domain, problem)
        if self.environment == "prod":
            if not self.traffic.web_application_firewall:
                raise InvalidKeyError(
                    "traffic.webApplicationFirewall", False, "prod's load balancer needs the WAF; allowed: true"
                )
            if self.prometheus_replicas < 2:
                raise InvalidKeyError(
                    "prometheusReplicas",
                    self.prometheus_replicas,
                    "prod runs Prometheus and Alertmanager on at least 2 replicas (a node loss must not stop them)",
                )
            if self.scaling.platform_replicas < 2:
                raise InvalidKeyError(
                    "scaling.platformReplicas",
                    self.scaling.platform_replicas,
                    "prod runs every platform component on at least 2 replicas (a node loss must not stop it)",
                )
            if self.scaling.off_hours is not None:
                raise InvalidKeyError(
                    "scaling.offHours",
                    self.scaling.off_hours.model_dump(by_alias=True),
                    "prod runs around the clock; allowed: unset",
                )
        return self

    @property
    def reserved_node_count(self) -> int:
        """Nodes covered by the declared reservations (for the node group's instance types)."""
        return sum(r.count for r in self.reservations if r.instance_type in self.nodes.instance_types)

    @property
    def uncovered_node_count(self) -> int:
        """Desired on-demand nodes that no reservation covers (reserved strategy only)."""
        if self.capacity_strategy is not CapacityStrategy.RESERVED:
            return 0
        return max(0, self.nodes.desired_size - self.reserved_node_count)

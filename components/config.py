"""Stack configuration: parsed once into validated, frozen models before any resource is declared.

Defaults live in `Pulumi.yaml` (the engine applies them to every stack); object-valued keys have no
project-level schema in Pulumi, so each stack file sets them. A bad value raises `ConfigError`, a
`pulumi.RunError`, whose one-line message names the stack, the key, the value and what is allowed:
the engine prints it without a Python traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pulumi
import pulumi_aws as aws
import yaml
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.catalog import ENVIRONMENTS, load_catalog
from components.errors import ConfigError
from components.network import subnet_layout
from components.pricing import UnpricedError, load_prices

PROJECT = "pyairtable-infra"
PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
ORG_STACK = "org"
STACKS = (ORG_STACK, *ENVIRONMENTS)

# Kubernetes versions in EKS standard support when this was written (AWS "Amazon EKS Kubernetes
# release calendar"). Extended support costs six times as much, so older versions are refused.
SUPPORTED_KUBERNETES_VERSIONS = ("1.33", "1.34", "1.35")
# The control-plane log types EKS accepts, and the ones this platform always keeps.
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
REQUIRED_EKS_LOG_TYPES = ("api", "audit", "authenticator")
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
INSTANCE_TYPES = frozenset(member.value for member in aws.ec2.InstanceType)
AWS_REGIONS = frozenset(member.value for member in aws.Region)
_DURATION = r"^[0-9]+(s|m|h|d|w|y)$"
SECURE_TEST_VALUE = "offline-plan-test-value"


class CapacityStrategy(StrEnum):
    """How an environment buys its nodes."""

    SPOT = "spot"
    """Spot nodes only, diversified across instance types (dev)."""
    MIXED = "mixed"
    """An on-demand base plus spot above it (staging)."""
    RESERVED = "reserved"
    """On-demand nodes covered by a reservation (prod)."""


class NatGateways(StrEnum):
    """How many NAT gateways an environment's private subnets share."""

    SINGLE = "single"
    PER_AZ = "perAz"


class BranchProtection(StrEnum):
    """How default branches are protected (rulesets on private repositories need a paid plan)."""

    RULESETS = "rulesets"
    CLASSIC = "classic"


class InvalidKeyError(ValueError):
    """Raised by a validator that checks several keys together, to name the key that is wrong."""

    def __init__(self, key: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.key, self.value, self.message = key, value, message


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _check_instance_type(value: str) -> str:
    if value not in INSTANCE_TYPES:
        close = difflib.get_close_matches(value, sorted(INSTANCE_TYPES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"{value!r} is not an EC2 instance type known to pulumi-aws{hint}")
    return value


InstanceType = Annotated[str, Field(min_length=1)]
GitHubLogin = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", max_length=39)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


class NodePool(_Model):
    """The nodes that run the services (for `mixed`, the spot part above the on-demand base)."""

    instance_types: tuple[InstanceType, ...] = Field(alias="instanceTypes", min_length=1)
    min_size: int = Field(alias="minSize", ge=0)
    desired_size: int = Field(alias="desiredSize", ge=1)
    max_size: int = Field(alias="maxSize", ge=1)
    disk_size_gib: int = Field(alias="diskSizeGib", ge=20, le=1000)

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for instance_type in value:
            _check_instance_type(instance_type)
        if len(set(value)) != len(value):
            raise ValueError(f"instance types are listed twice: {list(value)}")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> NodePool:
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


class Reservation(_Model):
    """A reserved-instance purchase that covers on-demand nodes (bought outside Pulumi)."""

    instance_type: InstanceType = Field(alias="instanceType")
    count: int = Field(ge=1)
    term_years: Literal[1, 3] = Field(alias="termYears")
    payment_option: PaymentOption = Field(alias="paymentOption")

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return _check_instance_type(value)


class NamespaceQuota(_Model):
    """The resource quota of each service namespace."""

    requests_cpu: str = Field(alias="requestsCpu", pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    requests_memory: str = Field(alias="requestsMemory", pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")
    limits_cpu: str = Field(alias="limitsCpu", pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    limits_memory: str = Field(alias="limitsMemory", pattern=r"^[0-9]+(Ki|Mi|Gi|Ti)$")
    pods: int = Field(ge=1)


class AlertReceiver(_Model):
    """An Alertmanager receiver; its URL is supplied in Secrets Manager, never in config."""

    name: Slug
    kind: Literal["slack", "webhook", "pagerduty"]


class Team(_Model):
    """A GitHub team: its members by login."""

    description: str = Field(min_length=1)
    maintainers: tuple[GitHubLogin, ...] = ()
    members: tuple[GitHubLogin, ...] = ()

    @model_validator(mode="after")
    def _one_role_each(self) -> Team:
        # GitHub logins are case-insensitive: `Alice` and `alice` are one person, and one membership.
        maintainers = [login.casefold() for login in self.maintainers]
        members = [login.casefold() for login in self.members]
        both = sorted(set(maintainers) & set(members))
        if both:
            raise ValueError(f"logins listed as both maintainer and member: {both}; allowed: one role per login")
        for role, logins in (("maintainers", maintainers), ("members", members)):
            twice = sorted({login for login in logins if logins.count(login) > 1})
            if twice:
                raise ValueError(f"logins listed twice in {role}: {twice}; allowed: each login once")
        return self


class OrgConfig(_Model):
    """Configuration of the `org` stack: the GitHub organization."""

    stack: str
    budget_usd: int = Field(alias="budgetUsd", ge=0)
    billing_email: str = Field(alias="billingEmail", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    company: str = Field(min_length=1)
    github_plan: Literal["free", "team", "enterprise"] = Field(alias="githubPlan")
    github_seats: int = Field(alias="githubSeats", ge=1)
    secret_scanning: bool = Field(alias="secretScanning")
    branch_protection: BranchProtection = Field(alias="branchProtection")
    teams: dict[Slug, Team]
    existing_repositories: tuple[str, ...] = Field(alias="existingRepositories")

    @model_validator(mode="after")
    def _against_catalog(self) -> OrgConfig:
        catalog = load_catalog()
        owners = sorted({service.owner for service in catalog.services} | {"devops"})
        missing = [owner for owner in owners if owner not in self.teams]
        if missing:
            raise InvalidKeyError(
                "teams",
                sorted(self.teams),
                f"teams {missing} are named by the catalog (owners, and devops for prod reviews) "
                f"but not configured; configured teams: {sorted(self.teams)}",
            )
        repositories = {service.repository for service in catalog.services}
        unknown = sorted(set(self.existing_repositories) - repositories)
        if unknown:
            raise InvalidKeyError(
                "existingRepositories",
                list(self.existing_repositories),
                f"{unknown} are not in the catalog; allowed: {sorted(repositories)}",
            )
        return self


class EnvironmentConfig(_Model):
    """Configuration of an environment stack (`dev`, `staging`, `prod`): its AWS account and cluster."""

    stack: str
    budget_usd: int = Field(alias="budgetUsd", ge=0)
    aws_region: str = Field(alias="awsRegion")
    aws_account_id: str = Field(alias="awsAccountId", pattern=r"^[0-9]{12}$")
    aws_role_arn: str = Field(alias="awsRoleArn", pattern=r"^(arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+)?$")
    cost_center: str = Field(alias="costCenter", min_length=1)
    vpc_cidr: ipaddress.IPv4Network = Field(alias="vpcCidr")
    availability_zones: tuple[str, ...] = Field(alias="availabilityZones")
    nat_gateways: NatGateways = Field(alias="natGateways")
    flow_log_retention_days: int = Field(alias="flowLogRetentionDays")
    kubernetes_version: str = Field(alias="kubernetesVersion")
    cluster_log_types: tuple[str, ...] = Field(alias="clusterLogTypes")
    cluster_log_retention_days: int = Field(alias="clusterLogRetentionDays")
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...] = Field(alias="publicAccessCidrs", min_length=1)
    admin_role_arns: tuple[str, ...] = Field(alias="adminRoleArns", min_length=1)
    addon_versions: dict[str, str] = Field(alias="addonVersions")
    capacity_strategy: CapacityStrategy = Field(alias="capacityStrategy")
    nodes: NodePool
    on_demand_base_count: int = Field(alias="onDemandBaseCount", ge=0)
    reservations: tuple[Reservation, ...] = ()
    namespace_quota: NamespaceQuota = Field(alias="namespaceQuota")
    secret_rotation_days: int = Field(alias="secretRotationDays")
    secret_recovery_window_days: int = Field(alias="secretRecoveryWindowDays", ge=7, le=30)
    secret_refresh_interval: str = Field(alias="secretRefreshInterval")
    prometheus_retention: str = Field(alias="prometheusRetention", pattern=_DURATION)
    prometheus_storage_gib: int = Field(alias="prometheusStorageGib", ge=0)
    prometheus_replicas: int = Field(alias="prometheusReplicas", ge=1)
    alert_receivers: tuple[AlertReceiver, ...] = Field(alias="alertReceivers")
    log_ingestion_gib_per_month: int = Field(alias="logIngestionGibPerMonth", ge=0)
    nat_data_gib_per_month: int = Field(alias="natDataGibPerMonth", ge=0)
    spot_savings_percent: dict[InstanceType, float] = Field(alias="spotSavingsPercent", default_factory=dict)
    """Spot savings over on-demand per instance type, in percent, replacing the price table's Spot Advisor figure."""

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
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention; allowed: {list(LOG_RETENTION_DAYS)}")
        return value

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
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(
                f"{value!r} is not in EKS standard support; allowed: {list(SUPPORTED_KUBERNETES_VERSIONS)}"
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
    def _not_open(cls, value: tuple[ipaddress.IPv4Network, ...]) -> tuple[ipaddress.IPv4Network, ...]:
        for cidr in value:
            if cidr.prefixlen < 8:
                raise ValueError(f"{cidr} opens the cluster API to the internet; allowed: prefixes of /8 or longer")
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
            if not re.match(r"^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+$", arn):
                raise ValueError(f"{arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
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
            _check_instance_type(instance_type)
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
        try:
            subnet_layout(self.vpc_cidr, self.availability_zones)
        except ValueError as error:
            raise InvalidKeyError("vpcCidr", str(self.vpc_cidr), str(error)) from None
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
    def _priced(self) -> EnvironmentConfig:
        # The `cost` output prices everything the stack declares; a figure missing from the price
        # table stops the program here, before any resource is declared, instead of at the export.
        stale = sorted(set(self.spot_savings_percent) - set(self.nodes.instance_types))
        if stale:
            raise InvalidKeyError(
                "spotSavingsPercent",
                self.spot_savings_percent,
                f"instance types {stale} are not in nodes.instanceTypes; allowed: {list(self.nodes.instance_types)}",
            )
        try:
            region = load_prices().region(self.aws_region)
            for instance_type in self.nodes.instance_types:
                region.on_demand(instance_type, "nodes.instanceTypes")
                if self.capacity_strategy is not CapacityStrategy.RESERVED:
                    region.spot_savings(instance_type, self.spot_savings_percent)
            for reservation in self.reservations:
                region.reserved(reservation.instance_type, reservation.term_years, reservation.payment_option)
        except UnpricedError as error:
            raise InvalidKeyError(error.key, error.value, error.message) from None
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


StackConfig = OrgConfig | EnvironmentConfig

_MODEL_BY_KIND: dict[str, type[OrgConfig] | type[EnvironmentConfig]] = {
    ORG_STACK: OrgConfig,
    "environment": EnvironmentConfig,
}


def _keys_of(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()} - {"stack"}


@cache
def project_config_schema(path: Path = PROJECT_FILE) -> dict[str, dict[str, Any]]:
    """The `config:` declarations of Pulumi.yaml (type, default, description per project key)."""
    return yaml.safe_load(path.read_text()).get("config", {})


def stack_file_config(stack: str, root: Path = PROJECT_FILE.parent) -> tuple[dict[str, str], list[str]]:
    """The config the engine would hand the program: Pulumi.yaml defaults overlaid by Pulumi.<stack>.yaml.

    Values are strings as the engine passes them (objects and arrays JSON-encoded); `secure:` values
    cannot be decrypted offline and are replaced by a test value, marked secret.
    """
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in project_config_schema(root / "Pulumi.yaml").items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(spec, dict) and "value" in spec:
            values[full_key] = encode_config_value(spec["value"])
        elif isinstance(spec, dict) and "default" in spec:
            values[full_key] = encode_config_value(spec["default"])
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise ConfigError(f"stack {stack!r}: no stack file {stack_file.name}; stacks: {list(STACKS)}")
    for key, value in (yaml.safe_load(stack_file.read_text()) or {}).get("config", {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECURE_TEST_VALUE
            secret_keys.append(key)
        else:
            values[key] = encode_config_value(value)
    return values, secret_keys


def encode_config_value(value: Any) -> str:
    """Encode a YAML config value the way the engine hands it to the program."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _decode(raw: str) -> Any:
    """Pulumi hands every value over as a string; objects and arrays arrive JSON-encoded."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def parse_stack_config(stack: str, raw: Mapping[str, str]) -> StackConfig:
    """Validate one stack's raw config (`{"pyairtable-infra:key": "value"}`) into its model.

    Raises `ConfigError` naming the stack, the key, the bad value and what is allowed.
    """
    if stack not in STACKS:
        raise ConfigError(f"stack {stack!r} is not a stack of {PROJECT}; allowed: {list(STACKS)}")
    model = _MODEL_BY_KIND[ORG_STACK if stack == ORG_STACK else "environment"]
    other = EnvironmentConfig if model is OrgConfig else OrgConfig
    own_keys, other_keys = _keys_of(model), _keys_of(other) - _keys_of(model)
    defaults = {
        key: spec["default"]
        for key, spec in project_config_schema().items()
        if isinstance(spec, dict) and "default" in spec
    }

    values: dict[str, Any] = {}
    for full_key, raw_value in sorted(raw.items()):
        namespace, _, key = full_key.partition(":")
        if namespace == "pulumi":
            continue
        if namespace != PROJECT:
            raise ConfigError(
                f"stack {stack!r}: config key {full_key!r} configures a default provider, but default "
                f"providers are disabled; use the {PROJECT}:* keys (see README, Configuration)"
            )
        value = _decode(raw_value)
        if key in other_keys:
            if key in defaults and raw_value == encode_config_value(defaults[key]):
                continue  # a project-wide default of the other kind of stack, applied by the engine
            kind = "environment" if other is EnvironmentConfig else "org"
            raise ConfigError(
                f"stack {stack!r}: config key {full_key!r} = {_show(value)} applies to {kind} stacks only"
            )
        if key not in own_keys:
            close = difflib.get_close_matches(key, sorted(own_keys), n=1)
            hint = f"; did you mean '{PROJECT}:{close[0]}'?" if close else ""
            raise ConfigError(f"stack {stack!r}: unknown config key {full_key!r}{hint}")
        values[key] = value

    try:
        return model.model_validate({**values, "stack": stack})
    except ValidationError as error:
        raise ConfigError(_describe(stack, error, values)) from None


def _describe(stack: str, error: ValidationError, values: Mapping[str, Any]) -> str:
    """One line per problem: stack, key (with the path inside an object), value, what is allowed."""
    lines = []
    for issue in error.errors():
        location = [str(part) for part in issue["loc"]]
        key = location[0] if location else "(config)"
        path = ".".join(location)
        message = issue["msg"].removeprefix("Value error, ")
        cause = issue.get("ctx", {}).get("error")
        if isinstance(cause, InvalidKeyError):
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{cause.key}' = {_show(cause.value)}: {cause.message}")
        elif issue["type"] == "missing":
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{path}' is required but not set")
        elif key in values or len(location) > 1:
            lines.append(f"stack {stack!r}: config key '{PROJECT}:{path}' = {_show(issue['input'])}: {message}")
        else:
            lines.append(f"stack {stack!r}: config: {message}")
    return "\n".join(lines)


def read_stack_config() -> StackConfig:
    """Read this stack's config from the Pulumi runtime and validate it."""
    # The language host passes config through PULUMI_CONFIG (real engine) or set_all_config (mocks);
    # the public Config API has no way to list keys, which the unknown-key check needs.
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {key for key in raw if runtime_config.is_config_secret(key)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    refuse_secret_values(pulumi.get_stack(), secret_keys)
    config = parse_stack_config(pulumi.get_stack(), raw)
    if isinstance(config, EnvironmentConfig):
        check_vpcs_apart(config, environment_configs())
    return config


def refuse_secret_values(stack: str, secret_keys: set[str]) -> None:
    """No config key of this project holds a credential, so none may be set with `--secret`.

    Credentials come from the environment (GITHUB_TOKEN, the AWS role) or live in Secrets Manager.
    A value set as a secret would be read into plain models and could surface unmasked in a resource
    input or output; refusing it keeps secrets from ever being revealed by this program.
    """
    own = sorted(key for key in secret_keys if key.startswith(f"{PROJECT}:"))
    if own:
        raise ConfigError(
            f"stack {stack!r}: config key {own[0]!r} is set as a secret, but no {PROJECT} key holds a credential; "
            "allowed: a plain value (`pulumi config set`), with credentials in the environment or Secrets Manager"
        )


def environment_configs(root: Path = PROJECT_FILE.parent) -> dict[str, EnvironmentConfig]:
    """Every environment stack's config, read from its stack file in the project.

    The org stack derives GitHub environment variables from them, and each environment checks that
    its VPC does not overlap another's, without either stack reading the other's state.
    """
    configs = {}
    for environment in ENVIRONMENTS:
        config = parse_stack_config(environment, stack_file_config(environment, root)[0])
        assert isinstance(config, EnvironmentConfig)
        configs[environment] = config
    return configs


def check_vpcs_apart(config: EnvironmentConfig, others: Mapping[str, EnvironmentConfig]) -> None:
    """Environments' VPCs must not overlap (peering, VPN and flow-log analysis rely on it)."""
    for environment, other in others.items():
        if environment != config.environment and config.vpc_cidr.overlaps(other.vpc_cidr):
            raise ConfigError(
                f"stack {config.stack!r}: config key '{PROJECT}:vpcCidr' = '{config.vpc_cidr}' overlaps "
                f"stack {environment!r} ({other.vpc_cidr}); allowed: a CIDR no other environment uses"
            )

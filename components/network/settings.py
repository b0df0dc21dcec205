"""The network's settings (config key `pyairtable-infra:network`): subnet slots per zone and VPC endpoints.

Subnet CIDRs come from an explicit index per zone: the program cannot see state, and deriving them
from the zones' positions in a list would renumber every subnet (and so replace it) when a zone is
added or the list reordered. The map is keyed by the zone's letter (the `a` of `us-east-1a`). The
VPC is cut into `subnetSlots` blocks; slot `i` is a private subnet, and the last block, cut the same
way, holds the public subnets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator

from components.config.common import FrozenModel


class VpcEndpointService(StrEnum):
    """AWS services reachable through a VPC endpoint instead of the NAT gateways."""

    STS = "sts"
    SECRETS_MANAGER = "secretsmanager"
    ECR_API = "ecr.api"
    ECR_DKR = "ecr.dkr"
    S3 = "s3"
    LOGS = "logs"


GATEWAY_ENDPOINT_SERVICES = frozenset({VpcEndpointService.S3})
"""Services reached through a gateway endpoint (route table entries, no hourly price); the others
are interface endpoints with one network interface per zone, billed per AZ-hour."""


class NetworkSettings(FrozenModel):
    """Subnet slots and VPC endpoints of one environment."""

    subnet_indexes: dict[Annotated[str, Field(pattern=r"^[a-z]$")], int] = Field(alias="subnetIndexes", min_length=1)
    """Zone letter -> its subnet slot; never change a zone's slot (its subnets would be replaced). A letter
    without a zone in `availabilityZones` keeps its slot reserved."""
    subnet_slots: int = Field(alias="subnetSlots", default=4)
    """Equal blocks the VPC is cut into (a power of two); the last holds the public subnets."""
    vpc_endpoints: tuple[VpcEndpointService, ...] = Field(alias="vpcEndpoints", default=())
    """Services reached through VPC endpoints (interface endpoints cost per zone and hour)."""

    @field_validator("subnet_slots")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 2 or value & (value - 1):
            raise ValueError(f"{value} is not a power of two of at least 2; allowed: 2, 4, 8, 16, ...")
        return value

    @field_validator("vpc_endpoints")
    @classmethod
    def _unique(cls, value: tuple[VpcEndpointService, ...]) -> tuple[VpcEndpointService, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"an endpoint is listed twice: {[service.value for service in value]}")
        return value

    @property
    def interface_endpoints(self) -> tuple[VpcEndpointService, ...]:
        """The configured endpoints that are interface endpoints (priced per zone and hour)."""
        return tuple(service for service in self.vpc_endpoints if service not in GATEWAY_ENDPOINT_SERVICES)

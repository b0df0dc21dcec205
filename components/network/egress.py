"""How private subnets reach the outside, and when they may do without NAT at all.

`natGateways` chooses the egress of the private subnets: managed NAT gateways (`single`, `perAz`),
one NAT instance (`instance`, non-prod), or none (`none`, non-prod). Without NAT a node reaches only
the VPC: every image must come through the ECR pull-through cache (issue 16), every AWS API the
cluster calls through a VPC endpoint (issue 13), and no service may need the internet (the catalog's
external egress, issue 13). `no_nat_blockers` turns those facts into the reasons `none` cannot work;
config validation refuses `none` while any reason remains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class NatGateways(StrEnum):
    """How the private subnets of an environment reach the internet."""

    SINGLE = "single"
    """One managed NAT gateway shared by every zone."""
    PER_AZ = "perAz"
    """One managed NAT gateway per zone (a zone failure cuts off only that zone)."""
    INSTANCE = "instance"
    """One small EC2 NAT instance (components/network/nat_instance.py); non-prod only."""
    NONE = "none"
    """No NAT: VPC endpoints and the pull-through cache only; non-prod only, see `no_nat_blockers`."""

    @property
    def managed_gateways(self) -> bool:
        """Whether the option uses AWS's managed NAT gateways."""
        return self in (NatGateways.SINGLE, NatGateways.PER_AZ)


NON_PROD_ONLY = (NatGateways.INSTANCE, NatGateways.NONE)
"""Options prod may not use: one instance is a single point of failure; none cannot reach a new API."""

ENDPOINTS_WITHOUT_NAT = ("ec2", "ecr.api", "ecr.dkr", "s3", "sts", "secretsmanager", "eks-auth")
"""VPC endpoints (service names after `com.amazonaws.<region>.`) a cluster of this platform needs
without NAT: nodes describe themselves (ec2) and pull images (ecr.api, ecr.dkr and s3 for the image
layers); IRSA roles (ESO, the EBS CSI driver) exchange tokens (sts); ESO reads secrets
(secretsmanager); the pod identity agent (eks-auth). From the EKS user guide, "Deploy private
clusters with limited internet access". A capability that calls another API adds it here."""

PLATFORM_IMAGE_REGISTRIES = ("quay.io", "registry.k8s.io", "docker.io", "ghcr.io")
"""Registries the platform's charts pull from (kube-prometheus-stack: quay.io, registry.k8s.io and
docker.io for Grafana; External Secrets Operator: ghcr.io). EKS add-on images come from AWS's own ECR
through the ecr endpoints."""


@dataclass(frozen=True)
class EgressFacts:
    """What the stack declares that decides whether private subnets can do without NAT."""

    vpc_endpoints: frozenset[str]
    """Endpoint service names the stack declares (issue 13's per-environment config)."""
    pull_through_registries: frozenset[str]
    """Upstream registries served by an ECR pull-through cache rule (issue 16)."""
    services_with_external_egress: tuple[str, ...] | None
    """Services the catalog says call the internet; None: the catalog does not say yet."""


def no_nat_blockers(facts: EgressFacts, registries: Iterable[str] = PLATFORM_IMAGE_REGISTRIES) -> list[str]:
    """Every reason the private subnets need NAT (empty: `natGateways: none` works)."""
    blockers = []
    missing_endpoints = [endpoint for endpoint in ENDPOINTS_WITHOUT_NAT if endpoint not in facts.vpc_endpoints]
    if missing_endpoints:
        blockers.append(f"VPC endpoints missing for {', '.join(missing_endpoints)}")
    uncached = [registry for registry in registries if registry not in facts.pull_through_registries]
    if uncached:
        blockers.append(f"images from {', '.join(uncached)} come through no ECR pull-through cache")
    if facts.services_with_external_egress is None:
        blockers.append("the catalog does not declare which services call the internet")
    elif facts.services_with_external_egress:
        blockers.append(f"services {', '.join(facts.services_with_external_egress)} call the internet")
    return blockers

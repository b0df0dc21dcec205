"""Which product of which offer file each figure of the price table is.

Each `Figure` names the offer (`offerCode` of the bulk API), the product rule that picks its SKU and
the unit the table writes. The attribute names and usage types follow AWS's Price List documentation
("Reading the offer files") and the offer files themselves; the slices under
tests/prices/fixtures/ hold one real or documented-format record per rule (see their README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tools.prices.offers import ProductRule

LINUX_SHARED = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "licenseModel": "No License required",
    "capacitystatus": "Used",
}
"""An EC2 instance as the clusters run it: Linux, shared tenancy, no licensed software, billed usage."""


@dataclass(frozen=True)
class Figure:
    """One figure of the price table and where in the offer files it comes from."""

    offer: str
    """The bulk API offer code (`AmazonEC2`, `AmazonEKS`, ...)."""
    rule: ProductRule
    """The product whose on-demand price is the figure."""
    table_unit: str
    """The unit the price table writes (`instance-hour`, `GB`, ...)."""
    notes: str = ""
    """What the figure covers, written beside it in the table."""
    regional: bool = True
    """False for offers priced once for all regions (Route 53): read from the offer's global file."""
    per: int = 1
    """Offer units per table unit: 1,000,000 when the offer prices one request and the table a million."""


def instance_key(instance_type: str) -> str:
    """The table key of an EC2 on-demand price."""
    return f"ec2OnDemand.{instance_type}"


def ec2_instance(instance_type: str) -> Figure:
    """The on-demand hourly price of a Linux EC2 instance type (and, in the same SKU, its reserved terms)."""
    return Figure(
        "AmazonEC2",
        ProductRule(
            instance_key(instance_type),
            "Compute Instance",
            {"instanceType": instance_type, **LINUX_SHARED},
            usage_type_suffix=f"BoxUsage:{instance_type}",
            unit="Hrs",
        ),
        "instance-hour",
        "Linux, shared tenancy.",
    )


def _figure(offer: str, rule: ProductRule, table_unit: str, notes: str = "") -> Figure:
    return Figure(offer, rule, table_unit, notes)


_rule = ProductRule

SERVICE_FIGURES: tuple[Figure, ...] = (
    _figure(
        "AmazonEKS",
        _rule("eksControlPlane.standard", "Compute", {}, "AmazonEKS-Hours:perCluster", "Hrs"),
        "cluster-hour",
    ),
    _figure(
        "AmazonEKS",
        _rule("eksControlPlane.extended", "Compute", {}, "AmazonEKS-Hours:extendedSupport", "Hrs"),
        "cluster-hour",
    ),
    _figure("AmazonEC2", _rule("natGateway", "NAT Gateway", {}, "NatGateway-Hours", "Hrs"), "gateway-hour"),
    _figure(
        "AmazonEC2",
        _rule("natDataProcessed", "NAT Gateway", {}, "NatGateway-Bytes", "GB"),
        "GB",
        "Per GB processed by a NAT gateway (data transfer out to the internet is billed separately).",
    ),
    _figure(
        "AmazonEC2",
        _rule("ebsGp3", "Storage", {"volumeApiName": "gp3"}, "EBS:VolumeUsage.gp3", "GB-Mo"),
        "GB-month",
        "Storage only: the free baseline of 3000 IOPS and 125 MB/s is assumed sufficient.",
    ),
    _figure(
        "AmazonVPC",
        _rule("publicIpv4", "VPC Public IPv4 Address", {}, "PublicIPv4:InUseAddress", "Hrs"),
        "address-hour",
        "Every public IPv4 address, attached or not, since 2024-02-01.",
    ),
    _figure("AmazonVPC", _rule("vpcEndpoint", "VpcEndpoint", {}, "VpcEndpoint-Hours", "Hrs"), "endpoint-AZ-hour"),
    _figure("AmazonVPC", _rule("vpcEndpointData", "VpcEndpoint", {}, "VpcEndpoint-Bytes", "GB"), "GB"),
    _figure(
        "AWSELB", _rule("albHour", "Load Balancer-Application", {}, "LoadBalancerUsage", "Hrs"), "load-balancer-hour"
    ),
    _figure("AWSELB", _rule("albLcu", "Load Balancer-Application", {}, "LCUUsage", "LCU-Hrs"), "LCU-hour"),
    _figure(
        "AWSSecretsManager",
        _rule("secretsManagerSecret", "Secret", {}, "AWSSecretsManager-Secrets", ""),
        "secret-month",
        "API calls ($0.05 per 10,000) are not priced.",
    ),
    _figure(
        "awskms",
        _rule("kmsKey", "Encryption Key", {}, "KMS-Keys", ""),
        "key-month",
        "Customer-managed key; requests beyond the 20,000/month free tier are not priced.",
    ),
    _figure(
        "AmazonCloudWatch",
        _rule("cloudwatchLogsIngestion", "Data Payload", {}, "DataProcessing-Bytes", "GB"),
        "GB",
        "Standard log class, ingestion, first tier.",
    ),
    _figure(
        "AmazonCloudWatch",
        _rule("cloudwatchLogsStorage", "Storage Snapshot", {}, "TimedStorage-ByteHrs", "GB-Mo"),
        "GB-month",
    ),
    _figure("awswaf", _rule("wafWebAcl", None, {}, "WebACL", ""), "web-ACL-month"),
    _figure("awswaf", _rule("wafRule", None, {}, "Rule", ""), "rule-month"),
    Figure("awswaf", _rule("wafRequests", None, {}, "Request", ""), "million-requests", per=1_000_000),
    _figure(
        "AmazonS3",
        _rule("s3Standard", "Storage", {"volumeType": "Standard"}, "TimedStorage-ByteHrs", "GB-Mo"),
        "GB-month",
        "Standard storage class, first tier.",
    ),
)
"""Every per-region figure that is not an instance type."""

GLOBAL_FIGURES: tuple[Figure, ...] = (
    Figure(
        "AmazonRoute53",
        ProductRule("route53HostedZone", "DNS Zone", {}, "HostedZone", ""),
        "zone-month",
        "First 25 hosted zones.",
        regional=False,
    ),
    Figure(
        "AmazonRoute53",
        ProductRule("route53Queries", "DNS Query", {}, "DNS-Queries", ""),
        "million-queries",
        "Standard queries, first billion a month.",
        regional=False,
        per=1_000_000,
    ),
)
"""Figures priced once for every region."""


def rds_instance(instance_class: str) -> Figure:
    """A single-AZ PostgreSQL instance hour."""
    attributes = {"instanceType": instance_class, "databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}
    rule = _rule(
        f"rdsPostgresInstance.{instance_class}",
        "Database Instance",
        attributes,
        f"InstanceUsage:{instance_class}",
        "Hrs",
    )
    return _figure("AmazonRDS", rule, "instance-hour", "PostgreSQL, Single-AZ.")


def cache_node(node_type: str) -> Figure:
    """An ElastiCache (Redis OSS) node hour."""
    attributes = {"instanceType": node_type, "cacheEngine": "Redis"}
    rule = _rule(f"elasticacheRedisNode.{node_type}", "Cache Instance", attributes, f"NodeUsage:{node_type}", "Hrs")
    return _figure("AmazonElastiCache", rule, "node-hour", "Redis OSS, on-demand node.")


def region_figures(
    instance_types: Iterable[str], rds_classes: Iterable[str] = (), cache_types: Iterable[str] = ()
) -> dict[str, list[Figure]]:
    """Offer code -> the figures to read from that offer's regional file."""
    figures = [
        *SERVICE_FIGURES,
        *(ec2_instance(t) for t in sorted(set(instance_types))),
        *(rds_instance(c) for c in sorted(set(rds_classes))),
        *(cache_node(t) for t in sorted(set(cache_types))),
    ]
    by_offer: dict[str, list[Figure]] = {}
    for figure in figures:
        by_offer.setdefault(figure.offer, []).append(figure)
    return by_offer

"""Settings of the traffic capability (`pyairtable-infra:traffic`): the environment's DNS zone, TLS, WAF.

One object-valued config key per environment stack. The zone is a delegated subdomain of a parent
zone that lives outside these stacks (`<environment>.<parentDomain>`); each public service of the
catalog (the gateway) is served at `<service>.<zone>`, e.g. `gateway.dev.pyairtable.io`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from components.config.common import FrozenModel

# A DNS name of lower-case labels (no trailing dot); Route 53 and ACM take names this way.
DNS_NAME_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$"
# ACM refuses a certificate whose first domain name (its subject CN) is longer than 64 characters.
ACM_FIRST_NAME_MAX = 64
# Route 53 and DNS: a name is at most 253 characters, each label at most 63.
DNS_NAME_MAX = 253
DNS_LABEL_MAX = 63

TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
)
"""ALB security policies allowed: TLS 1.2 or later only (the older `ELBSecurityPolicy-2016-08` admits TLS 1.0)."""


class TrafficSettings(FrozenModel):
    """How requests reach the environment: zone, certificate, the public host, WAF, and usage for the bill."""

    parent_domain: str = Field(alias="parentDomain", pattern=DNS_NAME_PATTERN)
    """The parent zone (outside these stacks) that delegates `<environment>.<parentDomain>` to this stack's zone."""
    web_application_firewall: bool = Field(alias="webApplicationFirewall", default=False)
    """Attach a WAF web ACL with the AWS managed common rule set to the ALB (prod requires it)."""
    tls_policy: str = Field(alias="tlsPolicy", default=TLS_POLICIES[0])
    """The ALB's HTTPS listener security policy (TLS 1.2 or later)."""
    load_balancer_capacity_units: int = Field(alias="loadBalancerCapacityUnits", default=1, ge=0)
    """Estimated ALB capacity units (LCU) used on average per hour, for the bill (1 LCU: 25 new
    connections a second, 3,000 active a minute, or 1 GB processed an hour)."""
    dns_queries_millions_per_month: int = Field(alias="dnsQueriesMillionsPerMonth", default=1, ge=0)
    """Estimated Route 53 queries to the zone per month, in millions, for the bill."""
    waf_requests_millions_per_month: int = Field(alias="wafRequestsMillionsPerMonth", default=1, ge=0)
    """Estimated requests the WAF inspects per month, in millions, for the bill."""

    @field_validator("tls_policy")
    @classmethod
    def _tls(cls, value: str) -> str:
        if value not in TLS_POLICIES:
            raise ValueError(f"{value!r} is not an allowed ALB TLS policy; allowed: {list(TLS_POLICIES)}")
        return value

    def zone_name(self, environment: str) -> str:
        """The environment's delegated zone, e.g. `dev.pyairtable.io`."""
        return f"{environment}.{self.parent_domain}"

    def public_host(self, environment: str, service: str) -> str:
        """The host name of a public service, e.g. `gateway.dev.pyairtable.io` (the wildcard certificate covers it)."""
        return f"{service}.{self.zone_name(environment)}"


def dns_name_problem(name: str) -> str | None:
    """Why Route 53 or ACM would refuse `name` as a zone or certificate name, or None."""
    if not re.match(DNS_NAME_PATTERN, name):
        return f"{name!r} is not a DNS name of lower-case labels"
    if len(name) > DNS_NAME_MAX:
        return f"{name!r} is {len(name)} characters; DNS allows at most {DNS_NAME_MAX}"
    long_labels = [label for label in name.split(".") if len(label) > DNS_LABEL_MAX]
    if long_labels:
        return f"labels {long_labels} are longer than {DNS_LABEL_MAX} characters"
    if len(name) > ACM_FIRST_NAME_MAX:
        return f"{name!r} is {len(name)} characters; ACM allows at most {ACM_FIRST_NAME_MAX} for a certificate's name"
    return None

"""Preflight checks of the traffic capability: what only the real DNS and a real account can tell.

The order of a first deployment (README "Traffic"): `pulumi up` creates the environment's zone and
outputs its name servers; someone creates the NS record of `<environment>.<parentDomain>` in the
parent zone (outside these stacks); ACM's DNS validation can only succeed after that, so the
certificate stays pending (and the Ingress waits) until the delegation answers.

- `zone_is_delegated`: the public DNS answers the zone's NS query with the name servers Route 53
  assigned to the stack's zone (`dig`, `aws route53`).
- `certificate_is_issued`: ACM has issued the zone's certificate (`aws acm`).
"""

from __future__ import annotations

import json

from components.config.environment import EnvironmentConfig
from tools.preflight.core import Check, CheckResult, CommandResult, PreflightContext

DELEGATION = "traffic: zone delegated"
CERTIFICATE = "traffic: certificate issued"


def _names(text: str) -> set[str]:
    """Name servers as DNS prints them, normalized (lower case, no trailing dot)."""
    return {line.strip().rstrip(".").lower() for line in text.splitlines() if line.strip()}


def _missing_tool(name: str, result: CommandResult, tool: str) -> CheckResult | None:
    if result.returncode == 127:
        return CheckResult(name, "skip", f"{tool} is not installed here", f"install {tool} and run again")
    return None


def _zone_name_servers(context: PreflightContext, zone: str) -> tuple[set[str] | None, CheckResult | None]:
    """The name servers Route 53 assigned to the stack's zone, or the result that explains why not."""
    listed = context.run(
        ["aws", "route53", "list-hosted-zones-by-name", "--dns-name", zone, "--max-items", "1", "--output", "json"]
    )
    skipped = _missing_tool(DELEGATION, listed, "the AWS CLI")
    if skipped:
        return None, skipped
    if listed.returncode != 0:
        return None, CheckResult(
            DELEGATION, "skip", f"aws route53 failed: {listed.stderr.strip()}", "use the stack's AWS credentials"
        )
    zones = [z for z in json.loads(listed.stdout or "{}").get("HostedZones", []) if z.get("Name") == f"{zone}."]
    if not zones:
        return None, CheckResult(
            DELEGATION, "fail", f"no Route 53 zone {zone} in this account", "run `pulumi up` first: it creates the zone"
        )
    described = context.run(["aws", "route53", "get-hosted-zone", "--id", zones[0]["Id"], "--output", "json"])
    if described.returncode != 0:
        return None, CheckResult(DELEGATION, "skip", f"aws route53 failed: {described.stderr.strip()}")
    servers = json.loads(described.stdout).get("DelegationSet", {}).get("NameServers", [])
    return _names("\n".join(servers)), None


def zone_is_delegated(context: PreflightContext) -> CheckResult:
    """The parent zone delegates `<environment>.<parentDomain>` to the stack's zone."""
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(DELEGATION, "skip", "the org stack has no DNS zone")
    zone = config.traffic.zone_name(config.environment)
    expected, problem = _zone_name_servers(context, zone)
    if problem is not None:
        return problem
    assert expected is not None
    answered = context.run(["dig", "+short", "NS", zone])
    skipped = _missing_tool(DELEGATION, answered, "dig")
    if skipped:
        return skipped
    found = _names(answered.stdout)
    fix = (
        f"create the NS record {zone} in the zone {config.traffic.parent_domain} with the values of the stack "
        f"output dnsZone.nameServers: {', '.join(sorted(expected))}"
    )
    if not found:
        return CheckResult(DELEGATION, "fail", f"{zone} is not delegated: the public DNS has no NS record", fix)
    if found != expected:
        return CheckResult(
            DELEGATION,
            "fail",
            f"{zone} is delegated to {sorted(found)}, not to the stack's zone {sorted(expected)}",
            fix,
        )
    return CheckResult(DELEGATION, "pass", f"{zone} is delegated to the stack's zone ({len(found)} name servers)")


def certificate_is_issued(context: PreflightContext) -> CheckResult:
    """ACM issued the zone's certificate (DNS validation succeeded, so the ALB can serve HTTPS)."""
    config = context.config
    if not isinstance(config, EnvironmentConfig):
        return CheckResult(CERTIFICATE, "skip", "the org stack has no certificate")
    zone = config.traffic.zone_name(config.environment)
    listed = context.run(["aws", "acm", "list-certificates", "--region", config.aws_region, "--output", "json"])
    skipped = _missing_tool(CERTIFICATE, listed, "the AWS CLI")
    if skipped:
        return skipped
    if listed.returncode != 0:
        return CheckResult(
            CERTIFICATE, "skip", f"aws acm failed: {listed.stderr.strip()}", "use the stack's AWS credentials"
        )
    statuses = [
        c.get("Status", "")
        for c in json.loads(listed.stdout or "{}").get("CertificateSummaryList", [])
        if c.get("DomainName") == zone
    ]
    if "ISSUED" in statuses:
        return CheckResult(CERTIFICATE, "pass", f"the certificate of {zone} is issued")
    if statuses:
        return CheckResult(
            CERTIFICATE,
            "fail",
            f"the certificate of {zone} is {statuses[0]}",
            "delegate the zone first (check 'traffic: zone delegated'); ACM then validates within minutes",
        )
    return CheckResult(
        CERTIFICATE, "fail", f"no certificate for {zone} in {config.aws_region}", "run `pulumi up` first"
    )


CHECKS: tuple[Check, ...] = (zone_is_delegated, certificate_is_issued)

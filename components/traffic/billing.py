"""What the traffic capability declares that AWS bills, counted from config and the catalog.

The `Traffic` component declares from these counts and `components.cost.bill_of_materials` prices
the same numbers, so the bill follows what is declared (tests/cost/test_bill_matches_plan.py).
"""

from __future__ import annotations

from components.config.environment import EnvironmentConfig
from components.shared.catalog import Catalog

WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet",)
"""The WAF's rules: AWS's managed common rule set (one billed rule, no subscription fee)."""


def load_balancer_count(catalog: Catalog) -> int:
    """Application load balancers: one internet-facing ALB shared by every public service (an Ingress
    group), none when the catalog has no public service."""
    return 1 if catalog.public else 0


def hosted_zone_count(config: EnvironmentConfig) -> int:
    """Route 53 hosted zones: the environment's delegated zone."""
    del config  # one per environment
    return 1


def web_acl_count(config: EnvironmentConfig) -> int:
    """WAF web ACLs: one on the ALB where `traffic.webApplicationFirewall` is on."""
    return 1 if config.traffic.web_application_firewall else 0


def certificate_alarm_count(config: EnvironmentConfig) -> int:
    """CloudWatch alarms: the certificate's DaysToExpiry alarm."""
    del config  # one per environment
    return 1

"""What the registry adds to the bills, counted from config (the figures live in data/prices.yaml).

GHCR storage and transfer are free today, so the organization pays for the registry through GitHub
Actions (publishing minutes beyond what the plan includes) and the machine user's seat; each
environment pays for its pull-through cache's ECR storage and its credential secret.
"""

from __future__ import annotations

from components.registry.settings import OrgRegistrySettings

ACTIONS_INCLUDED_MINUTES = {"free": 2000, "team": 3000, "enterprise": 50000}
"""GitHub-hosted runner minutes a month each plan includes for private repositories.

Source: GitHub Docs, "About billing for GitHub Actions" (included storage and minutes), as of
2025-06; Linux minutes count once. Every other workflow (CI) draws from the same allowance, so this
estimate of the publishing overage is a floor.
"""


def publishing_minutes(settings: OrgRegistrySettings) -> int:
    """Runner minutes a month spent publishing images: builds x minutes per build."""
    return settings.publishing.builds_per_month * settings.publishing.minutes_per_build


def billed_publishing_minutes(settings: OrgRegistrySettings, plan: str) -> int:
    """Publishing minutes beyond the plan's included minutes (what GitHub bills)."""
    return max(0, publishing_minutes(settings) - ACTIONS_INCLUDED_MINUTES[plan])


CREDENTIAL_SECRETS_PER_ENVIRONMENT = 1
"""Secrets Manager secrets the pull-through cache declares: its GHCR credential."""

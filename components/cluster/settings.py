"""The cluster's settings (config key `pyairtable-infra:cluster`) and the EKS support calendar check.

`endpointPublicAccess` makes the public API endpoint a choice; turning it off needs a declared path
into the VPC for CI and people (runners in the VPC or SSM, the delivery issue's), which this program
does not declare yet, so config refuses it until then. `deploySubjects` steers the rollout of the
workflow-pinned OIDC subject: the deploy roles trust both formats first, then only the pinned one.
"""

from __future__ import annotations

import datetime
import os
from enum import StrEnum

from pydantic import Field

from components.config.common import FrozenModel
from components.shared.aws_limits import load_kubernetes_versions
from components.shared.errors import ConfigError

SUPPORT_WARNING_DAYS = 60
"""Days before the end of standard support that a plan starts warning."""
TODAY_VARIABLE = "PYAIRTABLE_TODAY"
"""Environment variable holding the date (YYYY-MM-DD) the support check uses instead of today; the
offline plan sets it, so plans and snapshots do not change with the calendar."""


class DeploySubjects(StrEnum):
    """Which GitHub OIDC `sub` formats the deploy roles accept (the rollout of the pinned subject)."""

    LEGACY_AND_PINNED = "legacyAndPinned"
    """Both `repo:ORG/REPO:environment:ENV` and the form with `job_workflow_ref` (while the org's
    subject template is switched)."""
    PINNED = "pinned"
    """Only the form that pins the devops-owned deploy workflow (after the switch)."""


class ClusterSettings(FrozenModel):
    """Settings of the environment's EKS cluster beyond its size and version."""

    endpoint_public_access: bool = Field(alias="endpointPublicAccess", default=True)
    """Whether the API server has a public endpoint (restricted to `publicAccessCidrs`)."""
    deploy_subjects: DeploySubjects = Field(alias="deploySubjects", default=DeploySubjects.LEGACY_AND_PINNED)
    """OIDC subject formats the per-service deploy roles trust."""


def evaluation_date() -> datetime.date:
    """The date the support check runs on: `PYAIRTABLE_TODAY` if set, else today."""
    configured = os.environ.get(TODAY_VARIABLE)
    if not configured:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(configured)
    except ValueError:
        raise ConfigError(f"{TODAY_VARIABLE}={configured!r} is not a date; allowed: YYYY-MM-DD") from None


def kubernetes_support_warning(stack: str, version: str, today: datetime.date) -> str | None:
    """Refuse a version past (or missing from) the EKS calendar; return a warning within 60 days of its end.

    With `upgradePolicy: STANDARD` EKS upgrades a cluster itself when standard support ends, after
    which the pinned version would plan a downgrade that fails; refusing first keeps the pin honest.
    """
    table = load_kubernetes_versions()
    row = table.find(version)
    key = "'pyairtable-infra:kubernetesVersion'"
    supported = [r.version for r in table.versions if r.end_of_standard_support >= today]
    if row is None:
        raise ConfigError(
            f"stack {stack!r}: config key {key} = {version!r} is not in the EKS version table "
            f"(data/upstream/aws/eks-kubernetes-versions.yaml); allowed: {supported}"
        )
    if today > row.end_of_standard_support:
        raise ConfigError(
            f"stack {stack!r}: config key {key} = {version!r} left EKS standard support on "
            f"{row.end_of_standard_support} (today is {today}); EKS would upgrade the cluster itself. "
            f"allowed: {supported}"
        )
    days_left = (row.end_of_standard_support - today).days
    newer = [candidate for candidate in supported if candidate > version] or supported
    if days_left <= SUPPORT_WARNING_DAYS:
        return (
            f"stack {stack!r}: Kubernetes {version} leaves EKS standard support on {row.end_of_standard_support} "
            f"({days_left} day{'s' if days_left != 1 else ''} left); upgrade to one of {newer} before then"
        )
    return None

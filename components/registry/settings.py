"""Config of the registry capability: one object-valued key `pyairtable-infra:registry` per stack.

The org stack's value configures the machine user, retention, the migration from the legacy personal
namespace and the publish estimate for the bill; an environment's value configures its pull-through
cache and how early the pull token's expiry alerts.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import Field, model_validator

from components.config.common import FrozenModel, GitHubLogin
from components.shared.catalog import load_catalog

# GHCR package names are lowercase; the legacy names are whatever the personal namespace holds.
PackageName = Annotated[str, Field(pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*$", max_length=100)]
# GitHub's classic personal access tokens expire at most a year after creation (or never, which we refuse).
MAXIMUM_TOKEN_LIFETIME_DAYS = 366


class Retention(FrozenModel):
    """What the scheduled retention workflow keeps of every service's package."""

    keep_newest: int = Field(alias="keepNewest", ge=1, le=1000)
    """Newest tagged versions kept whatever their tags (semver-tagged versions are always kept)."""
    untagged_min_age_days: int = Field(alias="untaggedMinAgeDays", ge=1, le=3650)
    """A version no kept version references is deleted only once it is older than this."""
    dry_run: bool = Field(alias="dryRun")
    """True: the scheduled run only reports what it would delete (the default until someone reads a report)."""


class Migration(FrozenModel):
    """The one-off move of images from a personal namespace to the organization."""

    legacy_namespace: GitHubLogin = Field(alias="legacyNamespace")
    """The personal account whose GHCR packages hold today's images."""
    packages: dict[PackageName, PackageName] = Field(min_length=1)
    """Legacy package name -> catalog service (the organization's package of the same name)."""

    @model_validator(mode="after")
    def _services_exist(self) -> Migration:
        deployable = {service.name for service in load_catalog().deployable}
        unknown = sorted(set(self.packages.values()) - deployable)
        if unknown:
            raise ValueError(f"packages map to {unknown}; allowed: deployable catalog services {sorted(deployable)}")
        return self


class Publishing(FrozenModel):
    """How much publishing costs in Actions minutes (an estimate for the bill, from config)."""

    builds_per_month: int = Field(alias="buildsPerMonth", ge=0)
    """Image builds per month across all services (pushes to main plus release tags)."""
    minutes_per_build: int = Field(alias="minutesPerBuild", gt=0, le=360)
    """Billed Linux runner minutes per build (multi-arch build, push, attestations)."""


class OrgRegistrySettings(FrozenModel):
    """`pyairtable-infra:registry` of the org stack."""

    machine_user: GitHubLogin = Field(alias="machineUser")
    """The machine user whose classic token (read:packages only) the clusters pull with (an org member: a paid seat)."""
    token_expires_on: datetime.date = Field(alias="tokenExpiresOn")
    """When the machine user's token expires; the workflows warn `expiryWarningDays` before."""
    expiry_warning_days: int = Field(alias="expiryWarningDays", ge=1, le=90)
    """How many days before the expiry the retention workflow starts failing with a rotation notice."""
    retention: Retention
    migration: Migration
    publishing: Publishing


class CacheSettings(FrozenModel):
    """The environment's ECR pull-through cache of the organization's GHCR images."""

    keep_images_per_repository: int = Field(alias="keepImagesPerRepository", ge=1, le=1000)
    """Cached images kept per service (an ECR lifecycle rule); an expired one is fetched again on its next pull."""
    stored_gib: int = Field(alias="storedGib", ge=0)
    """Estimated GiB the cache stores (for the bill): images kept x services x compressed image size."""


class EnvironmentRegistrySettings(FrozenModel):
    """`pyairtable-infra:registry` of an environment stack."""

    token_expires_on: datetime.date = Field(alias="tokenExpiresOn")
    """When the pull token stored in this environment's `ecr-pullthroughcache/` secret expires."""
    expiry_warning_days: int = Field(alias="expiryWarningDays", ge=1, le=90)
    """How many days before the expiry an alert fires in this environment's Alertmanager."""
    cache: CacheSettings

"""The org stack's `pyairtable-infra:github` config object: identity, owners, profile, add-ons, rollout switches.

The older scalar keys (githubPlan, githubSeats, secretScanning, branchProtection,
existingRepositories) stay where they are; everything this capability added lives in this one object.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from components.config.common import FrozenModel, GitHubLogin
from components.github.plans import AddOn


class AuthMode(StrEnum):
    """How the org stack authenticates to GitHub."""

    APP = "app"
    """As the automation GitHub App (ids from config, private key from GITHUB_APP_PEM_FILE): the one bypass actor."""
    TOKEN = "token"
    """With GITHUB_TOKEN, for trying the program on a sandbox organization: rulesets then refuse its file commits."""


class OidcSubject(StrEnum):
    """The `sub` of the deploy jobs' OIDC tokens (README "The prod gate", rollout order)."""

    LEGACY = "legacy"
    """GitHub's default: `repo:ORG/REPO:environment:ENV`."""
    PINNED = "pinned"
    """The organization template `repo`, `context`, `job_workflow_ref`: the deploy workflow is in `sub`."""


class AutomationApp(FrozenModel):
    """The GitHub App the org stack runs as: the only actor that may bypass the rulesets."""

    app_id: int = Field(alias="appId", ge=1)
    installation_id: int = Field(alias="installationId", ge=1)


class Profile(FrozenModel):
    """The organization's public profile; OrganizationSettings would blank any field left out."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1, max_length=160)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    blog: str = Field(pattern=r"^https://\S+$")
    location: str = Field(min_length=1)


class GitHubSettings(FrozenModel):
    """`pyairtable-infra:github` of the org stack (README "Configuration", org keys)."""

    auth: AuthMode = AuthMode.APP
    automation_app: AutomationApp = Field(alias="automationApp")
    deploy_reader_app_id: int = Field(alias="deployReaderAppId", ge=1)
    add_ons: tuple[AddOn, ...] = Field(alias="addOns", default=())
    profile: Profile
    owners: tuple[GitHubLogin, ...] = Field(min_length=1)
    max_owners: int = Field(alias="maxOwners", ge=1, le=10)
    default_repository_permission: Literal["none", "read"] = Field(alias="defaultRepositoryPermission", default="none")
    oidc_subject: OidcSubject = Field(alias="oidcSubject", default=OidcSubject.LEGACY)
    seeded_repositories: tuple[str, ...] = Field(alias="seededRepositories")

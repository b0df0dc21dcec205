"""Config of the `org` stack: the GitHub organization, its plan, teams and adopted repositories."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from components.config.common import FrozenModel, GitHubLogin, Slug
from components.registry.settings import OrgRegistrySettings
from components.shared.catalog import load_catalog
from components.shared.errors import InvalidKeyError


class BranchProtection(StrEnum):
    """How default branches are protected (rulesets on private repositories need a paid plan)."""

    RULESETS = "rulesets"
    CLASSIC = "classic"


class Team(FrozenModel):
    """A GitHub team: its members by login."""

    description: str = Field(min_length=1)
    maintainers: tuple[GitHubLogin, ...] = ()
    members: tuple[GitHubLogin, ...] = ()

    @model_validator(mode="after")
    def _one_role_each(self) -> Team:
        # GitHub logins are case-insensitive: `Alice` and `alice` are one person, and one membership.
        maintainers = [login.casefold() for login in self.maintainers]
        members = [login.casefold() for login in self.members]
        both = sorted(set(maintainers) & set(members))
        if both:
            raise ValueError(f"logins listed as both maintainer and member: {both}; allowed: one role per login")
        for role, logins in (("maintainers", maintainers), ("members", members)):
            twice = sorted({login for login in logins if logins.count(login) > 1})
            if twice:
                raise ValueError(f"logins listed twice in {role}: {twice}; allowed: each login once")
        return self


class OrgConfig(FrozenModel):
    """Configuration of the `org` stack: the GitHub organization."""

    stack: str
    budget_usd: int = Field(alias="budgetUsd", ge=0)
    billing_email: str = Field(alias="billingEmail", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    company: str = Field(min_length=1)
    github_plan: Literal["free", "team", "enterprise"] = Field(alias="githubPlan")
    github_seats: int = Field(alias="githubSeats", ge=1)
    secret_scanning: bool = Field(alias="secretScanning")
    branch_protection: BranchProtection = Field(alias="branchProtection")
    teams: dict[Slug, Team]
    existing_repositories: tuple[str, ...] = Field(alias="existingRepositories")
    registry: OrgRegistrySettings
    """Machine user, retention, migration and publishing estimate of the registry (components/registry)."""

    @model_validator(mode="after")
    def _against_catalog(self) -> OrgConfig:
        catalog = load_catalog()
        owners = sorted({service.owner for service in catalog.services} | {"devops"})
        missing = [owner for owner in owners if owner not in self.teams]
        if missing:
            raise InvalidKeyError(
                "teams",
                sorted(self.teams),
                f"teams {missing} are named by the catalog (owners, and devops for prod reviews) "
                f"but not configured; configured teams: {sorted(self.teams)}",
            )
        repositories = {service.repository for service in catalog.services}
        unknown = sorted(set(self.existing_repositories) - repositories)
        if unknown:
            raise InvalidKeyError(
                "existingRepositories",
                list(self.existing_repositories),
                f"{unknown} are not in the catalog; allowed: {sorted(repositories)}",
            )
        return self

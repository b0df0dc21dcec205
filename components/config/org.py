"""Config of the `org` stack: the GitHub organization, its plan, teams and adopted repositories."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from components.config.common import FrozenModel, GitHubLogin, Slug
from components.github.plans import FeatureName, Visibility, load_plan_table, shortfalls
from components.github.settings import GitHubSettings
from components.registry.settings import OrgRegistrySettings
from components.shared.catalog import Catalog, load_catalog
from components.shared.errors import InvalidKeyError

GATING_TEAM = "devops"
"""The team that owns the pipelines and gates prod (CODEOWNERS of workflows, release dispatch, reviewers)."""


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
    github: GitHubSettings

    @property
    def organization_rulesets(self) -> bool:
        """Organization rulesets where the plan has them (enterprise); repository rulesets otherwise."""
        return not shortfalls(
            load_plan_table(), self.github_plan, self.github.add_ons, [("organizationRulesets", "private")]
        )

    @property
    def environment_reviewers(self) -> bool:
        """Required reviewers on prod environments where the plan enforces them on private repositories."""
        return not shortfalls(
            load_plan_table(), self.github_plan, self.github.add_ons, [("environmentRequiredReviewers", "private")]
        )

    def used_features(self, catalog: Catalog) -> list[tuple[FeatureName, Visibility]]:
        """Every plan-gated feature the org stack declares with this config (all repositories are private)."""
        used: list[tuple[FeatureName, Visibility]] = [
            ("privateWorkflowSharing", "private"),
            ("oidcSubjectCustomization", "private"),
            (
                "rulesets" if self.branch_protection is BranchProtection.RULESETS else "classicBranchProtection",
                "private",
            ),
        ]
        if catalog.deployable:
            used.extend((("environments", "private"), ("environmentBranchPolicies", "private")))
        if self.secret_scanning:
            used.extend((("secretScanning", "private"), ("pushProtection", "private")))
        return used

    @model_validator(mode="after")
    def _against_catalog(self) -> OrgConfig:
        catalog = load_catalog()
        owners = sorted({service.owner for service in catalog.services} | {GATING_TEAM})
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
        self._check_seeding(repositories)
        self._check_plan(catalog)
        self._check_people(catalog)
        return self

    def _check_seeding(self, repositories: set[str]) -> None:
        # The program cannot see its state, so `seededRepositories` is the record of the repositories
        # this stack created and seeded. Every catalog repository is in exactly one of the two lists:
        # a repository cannot silently flip from seeded to adopted (which would drop its seeded
        # README and CLAUDE.md from state and ask to import a repository already managed).
        seeded, existing = set(self.github.seeded_repositories), set(self.existing_repositories)
        both = sorted(seeded & existing)
        if both:
            raise InvalidKeyError(
                "existingRepositories",
                list(self.existing_repositories),
                f"{both} are recorded in github.seededRepositories: this stack created and seeded them, so they "
                "cannot become adopted repositories; allowed: each repository in one of the two lists, for good",
            )
        unknown = sorted(seeded - repositories)
        missing = sorted(repositories - seeded - existing)
        if unknown or missing:
            raise InvalidKeyError(
                "github",
                {"seededRepositories": list(self.github.seeded_repositories)},
                (f"seededRepositories {unknown} are not in the catalog; " if unknown else "")
                + (
                    f"catalog repositories {missing} are in neither seededRepositories (create and seed) nor "
                    "existingRepositories (adopt); allowed: every catalog repository in exactly one of them"
                    if missing
                    else ""
                ),
            )

    def _check_plan(self, catalog: Catalog) -> None:
        missing = shortfalls(load_plan_table(), self.github_plan, self.github.add_ons, self.used_features(catalog))
        if missing:
            raise InvalidKeyError(
                "githubPlan", self.github_plan, "; ".join(shortfall.describe(self.github_plan) for shortfall in missing)
            )
        if self.branch_protection is BranchProtection.CLASSIC:
            checked = sorted(service.repository for service in catalog.services if service.required_status_checks)
            if checked:
                raise InvalidKeyError(
                    "branchProtection",
                    self.branch_protection.value,
                    "classic protection enforces admins, and no App can bypass its required status checks, so the "
                    f"org stack could not commit CODEOWNERS and ci.yml to {checked}; allowed: rulesets (bypassed by "
                    "the automation App only)",
                )

    def _check_people(self, catalog: Catalog) -> None:
        spellings: dict[str, set[str]] = {}
        for login in self.all_logins():
            spellings.setdefault(login.casefold(), set()).add(login)
        differing = sorted(sorted(names) for names in spellings.values() if len(names) > 1)
        if differing:
            raise InvalidKeyError(
                "teams",
                differing,
                f"logins {differing} differ only in case (GitHub logins ignore case: one person); "
                "allowed: one spelling per login across teams and github.owners",
            )
        if len(self.github.owners) > self.github.max_owners:
            raise InvalidKeyError(
                "github",
                {"owners": list(self.github.owners)},
                f"{len(self.github.owners)} organization owners, more than maxOwners {self.github.max_owners}; "
                "allowed: at most maxOwners (owners bypass nothing here, but can change every setting)",
            )
        # The registry's machine user is an org member too (components/registry): a seat like a person's.
        people = len(set(spellings) | {self.registry.machine_user.casefold()})
        if self.github_seats < people:
            raise InvalidKeyError(
                "githubSeats",
                self.github_seats,
                f"{people} distinct members, owners and the registry machine user need {people} paid seats; "
                f"allowed: githubSeats >= {people}",
            )
        gate = self.teams[GATING_TEAM]
        gatekeepers = len(gate.maintainers) + len(gate.members)
        approvals = max(service.required_approvals for service in catalog.services)
        if gatekeepers < approvals + 1:
            raise InvalidKeyError(
                "teams",
                sorted(self.teams),
                f"team {GATING_TEAM!r} has {gatekeepers} people, but a change to its own repositories needs "
                f"{approvals} approvals from code owners other than its author; allowed: at least {approvals + 1} "
                f"people in {GATING_TEAM!r}",
            )

    def all_logins(self) -> list[str]:
        """Every login the config names (team maintainers and members, organization owners), as spelled."""
        return [
            *(login for team in self.teams.values() for login in (*team.maintainers, *team.members)),
            *self.github.owners,
        ]

    def gating_logins(self) -> tuple[str, ...]:
        """The logins of the gating team, sorted (the only people who may dispatch a prod release)."""
        gate = self.teams[GATING_TEAM]
        return tuple(sorted((*gate.maintainers, *gate.members), key=str.casefold))

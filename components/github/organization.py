"""The GitHub organization itself: settings and profile, owners, teams, the Actions policy and variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.config.org import Team
from components.github.settings import Profile
from components.shared.naming import OIDC_SUBJECT_CLAIM_KEYS

TEAM_ROLES = {"maintainer": "maintainers", "member": "members"}
"""GitHub team roles, and the config field that lists the logins of each."""


@dataclass(frozen=True)
class GitHubOrganizationArgs:
    """Inputs of `GitHubOrganization`."""

    organization: str
    """The organization's login (slug)."""
    billing_email: str
    """Billing email of the organization."""
    company: str
    """Company name shown on the organization's profile."""
    profile: Profile
    """Name, description, email, blog and location: OrganizationSettings blanks any it is not given."""
    default_repository_permission: str
    """Base permission of members on every repository (`none` or `read`; teams grant the rest)."""
    secret_scanning: bool
    """GitHub secret scanning and push protection for new repositories (config checks the plan allows it)."""
    owners: tuple[str, ...]
    """Organization owners (Membership role admin), by login; nobody else is made an owner here."""
    teams: Mapping[str, Team]
    """Teams by slug, with their maintainers and members by login."""
    allowed_action_patterns: tuple[str, ...]
    """`owner/repo@*` of the third-party actions the workflows use (GitHub-owned ones are allowed too)."""
    actions_variables: Mapping[str, str]
    """Organization Actions variables the reusable workflows read (REGISTRY, PROD_RELEASERS, ...)."""


class GitHubOrganization(pulumi.ComponentResource):
    """Organization settings, owners, teams and members, the Actions policy, the OIDC template, variables."""

    team_ids: dict[str, pulumi.Output[str]]
    """Numeric team id by slug (the id GitHub keeps across renames; slugs would force replacement)."""

    def __init__(self, name: str, args: GitHubOrganizationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:github:Organization", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        profile = args.profile
        self.settings = github.OrganizationSettings(
            f"{name}-settings",
            billing_email=args.billing_email,
            company=args.company,
            # Every profile field is set: the provider sends empty strings for the ones left out.
            name=profile.name,
            description=profile.description,
            email=profile.email,
            blog=profile.blog,
            location=profile.location,
            # Teams grant each repository's access; the base permission adds nothing on top (README).
            default_repository_permission=args.default_repository_permission,
            # Repositories come from the catalog only: members create none, of any visibility.
            members_can_create_repositories=False,
            members_can_create_public_repositories=False,
            members_can_create_private_repositories=False,
            members_can_create_public_pages=False,
            members_can_fork_private_repositories=False,
            dependency_graph_enabled_for_new_repositories=True,
            dependabot_alerts_enabled_for_new_repositories=True,
            dependabot_security_updates_enabled_for_new_repositories=True,
            secret_scanning_enabled_for_new_repositories=args.secret_scanning,
            secret_scanning_push_protection_enabled_for_new_repositories=args.secret_scanning,
            web_commit_signoff_required=True,
            # A destroy of this resource resets every security setting and the billing email
            # (integrations/terraform-provider-github): refuse it, and keep the settings if it leaves state.
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        after_settings = pulumi.ResourceOptions(parent=self, depends_on=[self.settings])

        for login in sorted(args.owners, key=str.casefold):
            github.Membership(
                f"{name}-owner-{login.casefold()}",
                username=login,
                role="admin",
                # Dropping an owner from config demotes them to member instead of removing them.
                downgrade_on_destroy=True,
                opts=child,
            )

        self.teams: dict[str, github.Team] = {}
        for slug, team in sorted(args.teams.items()):
            self.teams[slug] = github.Team(
                f"{name}-team-{slug}",
                name=slug,
                description=team.description,
                privacy="closed",
                # Otherwise the token's user becomes a maintainer of every team Pulumi creates.
                create_default_maintainer=False,
                opts=child,
            )
            for role, field in TEAM_ROLES.items():
                for login in getattr(team, field):
                    github.TeamMembership(
                        f"{name}-team-{slug}-{login.casefold()}",
                        team_id=self.teams[slug].id,
                        username=login,
                        role=role,
                        opts=child,
                    )
        self.team_ids = {slug: team.id for slug, team in self.teams.items()}

        self.actions_permissions = github.ActionsOrganizationPermissions(
            f"{name}-actions-permissions",
            enabled_repositories="all",
            allowed_actions="selected",
            allowed_actions_config=github.ActionsOrganizationPermissionsAllowedActionsConfigArgs(
                github_owned_allowed=True,
                verified_allowed=False,
                patterns_alloweds=list(args.allowed_action_patterns),
            ),
            # Off on purpose: GitHub applies it to reusable workflows too, and the callers name the
            # organization's reusable workflows by branch (`@main`), which the deploy role's pinned
            # subject requires. Third-party actions are SHA-pinned and checked by zizmor (README).
            sha_pinning_required=False,
            opts=after_settings,
        )
        github.ActionsOrganizationWorkflowPermissions(
            f"{name}-workflow-permissions",
            organization_slug=args.organization,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
            opts=after_settings,
        )
        # Applies to no repository by itself (existing and new repositories opt in one by one); the
        # deployable repositories opt in through their own template when `oidcSubject` is pinned.
        github.ActionsOrganizationOidcSubjectClaimCustomizationTemplate(
            f"{name}-oidc-subject",
            include_claim_keys=list(OIDC_SUBJECT_CLAIM_KEYS),
            opts=after_settings,
        )

        for variable, value in sorted(args.actions_variables.items()):
            github.ActionsOrganizationVariable(
                f"{name}-variable-{variable.lower().replace('_', '-')}",
                variable_name=variable,
                value=value,
                # Every repository is private; no public repository should read the org's variables.
                visibility="private",
                opts=child,
            )

        self.register_outputs({"teamIds": self.team_ids})

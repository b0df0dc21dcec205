"""The GitHub organization itself: its settings (the security baseline), teams and Actions variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.config.org import Team

TEAM_ROLES = {"maintainer": "maintainers", "member": "members"}
"""GitHub team roles, and the config field that lists the logins of each."""


@dataclass(frozen=True)
class GitHubOrganizationArgs:
    """Inputs of `GitHubOrganization`."""

    billing_email: str
    """Billing email of the organization."""
    company: str
    """Company name shown on the organization's profile."""
    secret_scanning: bool
    """Secret scanning and push protection for new repositories (private ones need a paid plan)."""
    teams: Mapping[str, Team]
    """Teams by slug, with their maintainers and members by login."""
    actions_variables: Mapping[str, str]
    """Organization Actions variables the reusable workflows read (e.g. REGISTRY)."""


class GitHubOrganization(pulumi.ComponentResource):
    """Organization settings with a security baseline, the teams and their members, Actions variables."""

    team_ids: dict[str, pulumi.Output[str]]
    """Numeric team id by slug (the id GitHub keeps across renames; slugs would force replacement)."""

    def __init__(self, name: str, args: GitHubOrganizationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:github:Organization", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.settings = github.OrganizationSettings(
            f"{name}-settings",
            billing_email=args.billing_email,
            company=args.company,
            # Members see every repository but change only what their team is granted.
            default_repository_permission="read",
            members_can_create_public_repositories=False,
            members_can_create_public_pages=False,
            members_can_fork_private_repositories=False,
            dependency_graph_enabled_for_new_repositories=True,
            dependabot_alerts_enabled_for_new_repositories=True,
            dependabot_security_updates_enabled_for_new_repositories=True,
            secret_scanning_enabled_for_new_repositories=args.secret_scanning,
            secret_scanning_push_protection_enabled_for_new_repositories=args.secret_scanning,
            web_commit_signoff_required=True,
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

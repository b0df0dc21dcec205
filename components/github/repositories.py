"""One repository of the catalog on GitHub: the repository, team access, default-branch protection,
seeded files, and the deploy environments with their variables.

Nothing here can delete code: repositories are `protect`ed and archived (not deleted) on destroy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.config.environment import EnvironmentConfig
from components.config.org import BranchProtection
from components.github.files import DEFAULT_BRANCH, SeededFile
from components.shared.catalog import ENVIRONMENTS, Service
from components.shared.naming import cached_registry_path, cluster_name, deploy_role_arn

GITHUB_ACTIONS_APP_ID = 15368
"""The GitHub Actions app: required checks must come from it, so no other app can fake a green check."""
PROTECTED_ENVIRONMENTS = ("staging", "prod")
"""Environments that deploy only from the default branch (dev also takes feature branches)."""
REVIEWED_ENVIRONMENT = "prod"
"""The environment whose deployments the devops team approves."""


def team_permissions(service: Service, teams: Mapping[str, object], devops_team: str) -> dict[str, str]:
    """Each team's permission on a repository: admin for devops, maintain for the owner, read (pull) else."""
    permissions = {}
    for slug in sorted(teams):
        if slug == devops_team:
            permissions[slug] = "admin"
        elif slug == service.owner:
            permissions[slug] = "maintain"
        else:
            permissions[slug] = "pull"
    return permissions


def deploy_variables(environments: Mapping[str, EnvironmentConfig], organization: str) -> dict[str, dict[str, str]]:
    """The Actions variables of each GitHub environment, derived from that environment stack's config.

    The environment stacks create the cluster and the deploy role under the same names
    (`components.shared.naming`), so neither side types them.
    """
    return {
        environment: {
            "AWS_REGION": config.aws_region,
            "EKS_CLUSTER_NAME": cluster_name(environment),
            "AWS_DEPLOY_ROLE_ARN": deploy_role_arn(config.aws_account_id, environment),
            # Deploys reference `<IMAGE_REGISTRY>/<service>@<digest>`: the environment's pull-through cache.
            "IMAGE_REGISTRY": cached_registry_path(config.aws_account_id, config.aws_region, organization),
        }
        for environment, config in environments.items()
    }


@dataclass(frozen=True)
class GitHubRepositoryArgs:
    """Inputs of `GitHubRepository`."""

    service: Service
    """The catalog entry of the repository."""
    files: tuple[SeededFile, ...]
    """Files committed to the default branch (`github_files.repository_files`)."""
    team_ids: Mapping[str, pulumi.Input[str]]
    """Numeric id of every team, by slug."""
    devops_team: str
    """Slug of the team that administers every repository and approves prod deployments."""
    branch_protection: BranchProtection
    """Rulesets, or classic branch protection where rulesets are not available on the plan."""
    import_existing: bool
    """The repository already exists: adopt it with Pulumi's import instead of creating it."""
    environment_variables: Mapping[str, Mapping[str, str]]
    """Actions variables by GitHub environment (used only when the service deploys)."""


class GitHubRepository(pulumi.ComponentResource):
    """A catalog repository with its team access, default-branch protection, files and environments."""

    def __init__(self, name: str, args: GitHubRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:github:Repository", name, None, opts)
        service = args.service
        child = pulumi.ResourceOptions(parent=self)

        self.repository = github.Repository(
            f"{name}-repository",
            name=service.repository,
            description=service.description,
            topics=sorted({"pyairtable", service.language.value, service.kind.value}),
            visibility="private",
            allow_squash_merge=True,
            allow_merge_commit=False,
            allow_rebase_merge=False,
            squash_merge_commit_title="PR_TITLE",
            squash_merge_commit_message="PR_BODY",
            delete_branch_on_merge=True,
            vulnerability_alerts=True,
            web_commit_signoff_required=True,
            # auto_init only acts on creation; an adopted repository already has its history, and
            # declaring it would make the import's inputs differ from what GitHub reports.
            auto_init=None if args.import_existing else True,
            # A destroy archives the repository instead of deleting it, and `protect` refuses even that.
            archive_on_destroy=True,
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, import_=service.repository if args.import_existing else None
            ),
        )
        repository_name = self.repository.name

        for slug, permission in team_permissions(service, args.team_ids, args.devops_team).items():
            github.TeamRepository(
                f"{name}-team-{slug}",
                team_id=args.team_ids[slug],
                repository=repository_name,
                permission=permission,
                opts=child,
            )

        if args.branch_protection is BranchProtection.RULESETS:
            self._ruleset(name, service, repository_name, child)
        else:
            self._classic_protection(name, service, child)

        for seeded in args.files:
            github.RepositoryFile(
                f"{name}-file-{seeded.path.lstrip('.').replace('/', '-').replace('.', '-').lower()}",
                repository=repository_name,
                branch=DEFAULT_BRANCH,
                file=seeded.path,
                content=seeded.content,
                commit_message=f"chore: {'seed' if seeded.team_owned else 'update'} {seeded.path} (pyairtable-infra)",
                # A new repository's auto-init README is replaced; managed files replace whatever is there.
                overwrite_on_create=True,
                # Seeded once: after that the team owns the text, and a catalog change never reverts it.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["content"] if seeded.team_owned else None),
            )

        if service.deploys:
            self._environments(name, repository_name, args, child)

        self.url = self.repository.html_url
        self.register_outputs({"url": self.url, "name": repository_name})

    def _ruleset(
        self, name: str, service: Service, repository_name: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> None:
        checks = (
            github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                required_checks=[
                    github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(
                        context=check, integration_id=GITHUB_ACTIONS_APP_ID
                    )
                    for check in service.required_status_checks
                ],
                strict_required_status_checks_policy=True,
            )
            if service.required_status_checks
            else None
        )
        github.RepositoryRuleset(
            f"{name}-ruleset",
            name="default-branch",
            repository=repository_name,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(includes=["~DEFAULT_BRANCH"], excludes=[])
            ),
            # The org stack commits the managed files (CODEOWNERS, ci.yml) straight to the default
            # branch as an organization admin; GitHub records every bypass in the audit log.
            bypass_actors=[
                github.RepositoryRulesetBypassActorArgs(actor_type="OrganizationAdmin", bypass_mode="always")
            ],
            rules=github.RepositoryRulesetRulesArgs(
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=service.required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_code_owner_review=True,
                    required_review_thread_resolution=True,
                    allowed_merge_methods=["squash"],
                ),
                required_status_checks=checks,
                non_fast_forward=True,
                deletion=True,
                required_linear_history=True,
            ),
            opts=child,
        )

    def _classic_protection(self, name: str, service: Service, child: pulumi.ResourceOptions) -> None:
        github.BranchProtection(
            f"{name}-branch-protection",
            repository_id=self.repository.node_id,
            pattern=DEFAULT_BRANCH,
            required_pull_request_reviews=[
                github.BranchProtectionRequiredPullRequestReviewArgs(
                    required_approving_review_count=service.required_approvals,
                    dismiss_stale_reviews=True,
                    require_code_owner_reviews=True,
                )
            ],
            required_status_checks=[
                github.BranchProtectionRequiredStatusCheckArgs(
                    strict=True, contexts=list(service.required_status_checks)
                )
            ]
            if service.required_status_checks
            else None,
            required_linear_history=True,
            allows_force_pushes=False,
            allows_deletions=False,
            require_conversation_resolution=True,
            # Admins (the org stack's identity) may push the managed files; everyone else needs a PR.
            enforce_admins=False,
            opts=child,
        )

    def _environments(
        self, name: str, repository_name: pulumi.Output[str], args: GitHubRepositoryArgs, child: pulumi.ResourceOptions
    ) -> None:
        devops_team_id = pulumi.Output.from_input(args.team_ids[args.devops_team]).apply(int)
        for environment in ENVIRONMENTS:
            protected = environment in PROTECTED_ENVIRONMENTS
            reviewed = environment == REVIEWED_ENVIRONMENT
            github_environment = github.RepositoryEnvironment(
                f"{name}-environment-{environment}",
                repository=repository_name,
                environment=environment,
                reviewers=[github.RepositoryEnvironmentReviewerArgs(teams=[devops_team_id])] if reviewed else None,
                prevent_self_review=True if reviewed else None,
                can_admins_bypass=False if reviewed else None,
                # A custom policy naming the default branch, not "protected branches": GitHub lets every
                # branch deploy under that setting when no classic protection rule exists (rulesets).
                deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                    protected_branches=False, custom_branch_policies=True
                )
                if protected
                else None,
                opts=child,
            )
            if protected:
                github.RepositoryEnvironmentDeploymentPolicy(
                    f"{name}-environment-{environment}-branch",
                    repository=repository_name,
                    environment=github_environment.environment,
                    branch_pattern=DEFAULT_BRANCH,
                    opts=child,
                )
            for variable, value in sorted(args.environment_variables[environment].items()):
                github.ActionsEnvironmentVariable(
                    f"{name}-environment-{environment}-{variable.lower().replace('_', '-')}",
                    repository=repository_name,
                    environment=github_environment.environment,
                    variable_name=variable,
                    value=value,
                    opts=child,
                )

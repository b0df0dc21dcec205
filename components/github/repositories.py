"""One repository of the catalog on GitHub: the repository, team access, default-branch protection,
seeded files, its GitHub environments with their variables, and its OIDC subject template.

Nothing here can delete code: repositories are `protect`ed and archived (not deleted) on destroy,
and the files seeded for the team are retained when they leave the program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_github as github

from components.config.org import BranchProtection
from components.github.files import DEFAULT_BRANCH, SeededFile
from components.github.prod_gate import GitHubEnvironment
from components.github.settings import OidcSubject
from components.shared.catalog import Service
from components.shared.naming import OIDC_SUBJECT_CLAIM_KEYS

GITHUB_ACTIONS_APP_ID = 15368
"""The GitHub Actions app: required checks must come from it, so no other app can fake a green check."""


def team_permissions(service: Service, teams: Mapping[str, object], devops_team: str) -> dict[str, str]:
    """Each team's permission: maintain for the owner and for devops, read (pull) for every other team.

    Devops reviews, approves and dispatches releases, which `maintain` covers; `admin` would let it
    edit rulesets and environments, which only the automation App changes (custom roles in between
    need Enterprise). With base permission `none`, these grants are all the access members have.
    """
    return {slug: "maintain" if slug in (devops_team, service.owner) else "pull" for slug in sorted(teams)}


@dataclass(frozen=True)
class GitHubRepositoryArgs:
    """Inputs of `GitHubRepository`."""

    service: Service
    """The catalog entry of the repository."""
    files: tuple[SeededFile, ...]
    """Files committed to the default branch (`files.repository_files`)."""
    team_ids: Mapping[str, pulumi.Input[str]]
    """Numeric id of every team, by slug."""
    devops_team: str
    """Slug of the team that owns the pipelines and gates prod."""
    branch_protection: BranchProtection
    """Rulesets, or classic branch protection (config refuses classic where the App could not commit)."""
    organization_rulesets: bool
    """Protect the default branch with an organization ruleset targeting this repository (Enterprise)."""
    bypass_app_id: int
    """The automation GitHub App: the only actor that may bypass the default branch's protection."""
    import_existing: bool
    """The repository already exists: adopt it with Pulumi's import instead of creating it."""
    secret_scanning: bool
    """Enable GitHub secret scanning and push protection on this repository (adopted ones included)."""
    environments: tuple[GitHubEnvironment, ...]
    """GitHub environments with their branch policies, reviewers and variables."""
    oidc_subject: OidcSubject | None
    """The `sub` format of this repository's OIDC tokens; None: leave GitHub's default untouched."""
    share_workflows: bool
    """Let every repository of the organization call this repository's reusable workflows."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Declared first: the organization's settings, and the sharing of the reusable workflows."""


class GitHubRepository(pulumi.ComponentResource):
    """A catalog repository with its team access, default-branch protection, files and environments."""

    workflow_access: github.ActionsRepositoryAccessLevel | None
    """The sharing of this repository's reusable workflows with the organization (None: not shared)."""

    def __init__(self, name: str, args: GitHubRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:github:Repository", name, None, opts)
        service = args.service
        child = pulumi.ResourceOptions(parent=self)

        enabled = github.RepositorySecurityAndAnalysisSecretScanningArgs(status="enabled")
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
            # Declared per repository (the organization's flags reach only new repositories), so
            # adopted repositories get scanning too; config refuses it where the plan lacks it.
            security_and_analysis=github.RepositorySecurityAndAnalysisArgs(
                secret_scanning=enabled,
                secret_scanning_push_protection=github.RepositorySecurityAndAnalysisSecretScanningPushProtectionArgs(
                    status="enabled"
                ),
            )
            if args.secret_scanning
            else None,
            # auto_init only acts on creation; an adopted repository already has its history, and
            # declaring it would make the import's inputs differ from what GitHub reports.
            auto_init=None if args.import_existing else True,
            # A destroy archives the repository instead of deleting it, and `protect` refuses even that.
            archive_on_destroy=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                import_=service.repository if args.import_existing else None,
                depends_on=list(args.depends_on),
            ),
        )
        repository_name = self.repository.name

        self.workflow_access = (
            github.ActionsRepositoryAccessLevel(
                f"{name}-workflow-access",
                repository=repository_name,
                access_level="organization",
                opts=child,
            )
            if args.share_workflows
            else None
        )
        # The required checks run this repository's or the shared reusable workflows: protect the
        # branch only once they can run, or every merge would wait on a check that never starts.
        protection_dependencies = [*args.depends_on, *([self.workflow_access] if self.workflow_access else [])]
        after_sharing = pulumi.ResourceOptions(parent=self, depends_on=protection_dependencies)

        for slug, permission in team_permissions(service, args.team_ids, args.devops_team).items():
            github.TeamRepository(
                f"{name}-team-{slug}",
                team_id=args.team_ids[slug],
                repository=repository_name,
                permission=permission,
                opts=child,
            )

        if args.branch_protection is BranchProtection.CLASSIC:
            self._classic_protection(name, service, after_sharing)
        elif args.organization_rulesets:
            github.OrganizationRuleset(
                f"{name}-organization-ruleset",
                name=f"{service.repository}-default-branch",
                target="branch",
                enforcement="active",
                conditions=cast(
                    Any,
                    {
                        "ref_name": {"includes": ["~DEFAULT_BRANCH"], "excludes": []},
                        "repository_name": {"includes": [service.repository], "excludes": []},
                    },
                ),
                bypass_actors=cast(Any, self._bypass_actors(args)),
                rules=cast(Any, self._rules(service)),
                opts=after_sharing,
            )
        else:
            github.RepositoryRuleset(
                f"{name}-ruleset",
                name="default-branch",
                repository=repository_name,
                target="branch",
                enforcement="active",
                conditions=cast(Any, {"ref_name": {"includes": ["~DEFAULT_BRANCH"], "excludes": []}}),
                bypass_actors=cast(Any, self._bypass_actors(args)),
                rules=cast(Any, self._rules(service)),
                opts=after_sharing,
            )

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
                # Seeded once: after that the team owns the text; a catalog change never reverts it,
                # and a config change that drops the file from the program leaves it in the repository.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    ignore_changes=["content"] if seeded.team_owned else None,
                    retain_on_delete=seeded.team_owned,
                ),
            )

        if args.oidc_subject is not None:
            pinned = args.oidc_subject is OidcSubject.PINNED
            github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
                f"{name}-oidc-subject",
                repository=repository_name,
                # The organization template reaches no existing repository: each opts in here.
                use_default=not pinned,
                include_claim_keys=list(OIDC_SUBJECT_CLAIM_KEYS) if pinned else None,
                opts=child,
            )

        self._environments(name, repository_name, args, child)

        self.url = self.repository.html_url
        self.register_outputs({"url": self.url, "name": repository_name})

    @staticmethod
    def _bypass_actors(args: GitHubRepositoryArgs) -> list[dict[str, Any]]:
        # Only the automation App, which commits the managed files; no admin, team or role.
        return [{"actor_type": "Integration", "actor_id": args.bypass_app_id, "bypass_mode": "always"}]

    @staticmethod
    def _rules(service: Service) -> dict[str, Any]:
        """The default branch's rules, in the shape both repository and organization rulesets take."""
        rules: dict[str, Any] = {
            "pull_request": {
                "required_approving_review_count": service.required_approvals,
                "dismiss_stale_reviews_on_push": True,
                "require_code_owner_review": True,
                # Whoever pushed last cannot be the approval: no one approves their own last change.
                "require_last_push_approval": True,
                "required_review_thread_resolution": True,
                "allowed_merge_methods": ["squash"],
            },
            "non_fast_forward": True,
            "deletion": True,
            "required_linear_history": True,
        }
        if service.required_status_checks:
            rules["required_status_checks"] = {
                "required_checks": [
                    {"context": check, "integration_id": GITHUB_ACTIONS_APP_ID}
                    for check in service.required_status_checks
                ],
                "strict_required_status_checks_policy": True,
            }
        return rules

    def _classic_protection(self, name: str, service: Service, opts: pulumi.ResourceOptions) -> None:
        github.BranchProtection(
            f"{name}-branch-protection",
            repository_id=self.repository.node_id,
            pattern=DEFAULT_BRANCH,
            required_pull_request_reviews=[
                github.BranchProtectionRequiredPullRequestReviewArgs(
                    required_approving_review_count=service.required_approvals,
                    dismiss_stale_reviews=True,
                    require_code_owner_reviews=True,
                    require_last_push_approval=True,
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
            # Admins are held to the rules too (config refuses classic where that blocks the App).
            enforce_admins=True,
            opts=opts,
        )

    def _environments(
        self, name: str, repository_name: pulumi.Output[str], args: GitHubRepositoryArgs, child: pulumi.ResourceOptions
    ) -> None:
        devops_team_id = pulumi.Output.from_input(args.team_ids[args.devops_team]).apply(int)
        for environment in args.environments:
            reviewed = environment.required_reviewers
            github_environment = github.RepositoryEnvironment(
                f"{name}-environment-{environment.name}",
                repository=repository_name,
                environment=environment.name,
                reviewers=[github.RepositoryEnvironmentReviewerArgs(teams=[devops_team_id])] if reviewed else None,
                prevent_self_review=True if reviewed else None,
                can_admins_bypass=False if reviewed else None,
                # A custom policy naming the branches, not "protected branches": GitHub lets every
                # branch deploy under that setting when no classic protection rule exists (rulesets).
                deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                    protected_branches=False, custom_branch_policies=True
                ),
                opts=child,
            )
            for pattern in environment.branch_patterns:
                github.RepositoryEnvironmentDeploymentPolicy(
                    f"{name}-environment-{environment.name}-branch"
                    + ("" if pattern == DEFAULT_BRANCH else f"-{pattern.replace('/', '-').replace('*', 'any')}"),
                    repository=repository_name,
                    environment=github_environment.environment,
                    branch_pattern=pattern,
                    opts=child,
                )
            for variable, value in sorted(environment.variables.items()):
                github.ActionsEnvironmentVariable(
                    f"{name}-environment-{environment.name}-{variable.lower().replace('_', '-')}",
                    repository=repository_name,
                    environment=github_environment.environment,
                    variable_name=variable,
                    value=value,
                    opts=child,
                )

"""The org stack's organization: security baseline, teams, memberships, Actions variables, bad input."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from components.config.org import OrgConfig
from components.config.stack_file import encode_config_value, parse_stack_config, stack_file_config
from components.shared.catalog import WORKFLOWS_DIR, load_catalog, parse_catalog
from components.shared.errors import ConfigError
from components.shared.naming import OIDC_SUBJECT_CLAIM_KEYS
from components.shared.paths import PROJECT_ROOT
from components.stacks.org import github_provider
from tests.conftest import stack_plan
from tools.plan import Plan, build_plan

SETTINGS = "github:index/organizationSettings:OrganizationSettings"
TEAM = "github:index/team:Team"
MEMBERSHIP = "github:index/teamMembership:TeamMembership"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
OWNER = "github:index/membership:Membership"
ACTIONS_PERMISSIONS = "github:index/actionsOrganizationPermissions:ActionsOrganizationPermissions"
WORKFLOW_PERMISSIONS = "github:index/actionsOrganizationWorkflowPermissions:ActionsOrganizationWorkflowPermissions"
ORG_OIDC = (
    "github:index/actionsOrganizationOidcSubjectClaimCustomizationTemplate:"
    "ActionsOrganizationOidcSubjectClaimCustomizationTemplate"
)
STACK_FILE = yaml.safe_load((PROJECT_ROOT / "Pulumi.org.yaml").read_text())["config"]
GITHUB = STACK_FILE["pyairtable-infra:github"]
TEAMS = {
    "platform": {"maintainers": ["reg-kris"], "members": ["platform-dev-1"]},
    "backend-go": {"maintainers": ["go-lead"], "members": ["go-dev-1", "go-dev-2"]},
    "ai-python": {"maintainers": ["py-lead"], "members": ["py-dev-1"]},
    "devops": {"maintainers": ["ops-lead"], "members": ["ops-dev-1", "ops-dev-2"]},
}


def test_organization_settings_are_the_security_baseline(org_plan: Plan) -> None:
    declared = org_plan.one(SETTINGS)
    settings = declared["inputs"]
    assert settings["billingEmail"] == "billing@pyairtable.com"
    assert settings["company"] == "PyAirtable"
    assert settings["defaultRepositoryPermission"] == GITHUB["defaultRepositoryPermission"] == "none"
    for flag in (
        "membersCanCreateRepositories",
        "membersCanCreatePublicRepositories",
        "membersCanCreatePrivateRepositories",
        "membersCanForkPrivateRepositories",
    ):
        assert settings[flag] is False, flag
    for flag in (
        "dependencyGraphEnabledForNewRepositories",
        "dependabotAlertsEnabledForNewRepositories",
        "dependabotSecurityUpdatesEnabledForNewRepositories",
        "webCommitSignoffRequired",
    ):
        assert settings[flag] is True, flag
    # The checked-in plan has no Secret Protection add-on: GitHub's scanning is off, gitleaks is in force.
    assert STACK_FILE["pyairtable-infra:secretScanning"] is False
    assert settings["secretScanningEnabledForNewRepositories"] is False
    assert settings["secretScanningPushProtectionEnabledForNewRepositories"] is False


def test_profile_comes_from_config_and_settings_survive_a_destroy(org_plan: Plan) -> None:
    declared = org_plan.one(SETTINGS)
    for field in ("name", "description", "email", "blog", "location"):
        assert declared["inputs"][field] == GITHUB["profile"][field], field
    assert (declared["options"]["protect"], declared["options"]["retainOnDelete"]) == (True, True)


def test_owners_are_managed_admin_memberships(org_plan: Plan) -> None:
    # Other memberships (the registry's machine user) are plain members; the admins are the owners.
    owners = {m["inputs"]["username"]: m["inputs"] for m in org_plan.of_type(OWNER) if m["inputs"]["role"] == "admin"}
    assert set(owners) == set(GITHUB["owners"])
    assert len(owners) <= GITHUB["maxOwners"]
    assert {(o["role"], o["downgradeOnDestroy"]) for o in owners.values()} == {("admin", True)}


def third_party_actions_in_workflows() -> set[str]:
    """Independently of actions_policy.py: `owner/repo@*` of every non-GitHub action a workflow file uses."""
    found = set()
    for path in WORKFLOWS_DIR.glob("*.yml"):
        for owner, repository in re.findall(r"uses:\s+([\w.-]+)/([\w.-]+)[^@\s]*@", path.read_text()):
            if owner not in {"actions", "github", "pyairtable"}:
                found.add(f"{owner}/{repository}@*")
    return found


def test_actions_policy_allows_github_and_exactly_the_actions_in_use(org_plan: Plan) -> None:
    permissions = org_plan.one(ACTIONS_PERMISSIONS)["inputs"]
    assert (permissions["enabledRepositories"], permissions["allowedActions"]) == ("all", "selected")
    allowed = permissions["allowedActionsConfig"]
    assert (allowed["githubOwnedAllowed"], allowed["verifiedAllowed"]) == (True, False)
    assert set(allowed["patternsAlloweds"]) == third_party_actions_in_workflows()
    assert "aws-actions/configure-aws-credentials@*" in allowed["patternsAlloweds"]
    # Off: it would also require SHAs for the organization's reusable workflows, called by branch.
    assert permissions["shaPinningRequired"] is False
    workflow = org_plan.one(WORKFLOW_PERMISSIONS)["inputs"]
    assert workflow == {
        "organizationSlug": "pyairtable",
        "defaultWorkflowPermissions": "read",
        "canApprovePullRequestReviews": False,
    }


def test_organization_oidc_template_is_the_shared_claim_keys(org_plan: Plan) -> None:
    assert org_plan.one(ORG_OIDC)["inputs"]["includeClaimKeys"] == list(OIDC_SUBJECT_CLAIM_KEYS)


def test_prod_releasers_are_the_devops_team_from_config(org_plan: Plan) -> None:
    variables = {v["inputs"]["variableName"]: v["inputs"]["value"] for v in org_plan.of_type(ORG_VARIABLE)}
    devops = STACK_FILE["pyairtable-infra:teams"]["devops"]
    assert sorted(json.loads(variables["PROD_RELEASERS"])) == sorted(devops["maintainers"] + devops["members"])
    assert variables["DEPLOY_READER_APP_ID"] == str(GITHUB["deployReaderAppId"])


def test_provider_authenticates_as_the_app_and_token_mode_is_plain() -> None:
    (provider,) = stack_plan("org").of_type("pulumi:providers:github")
    assert provider["inputs"]["appAuth"] == "[secret]"  # ids from config, the key from GITHUB_APP_PEM_FILE
    token_mode = parse_org({"github": {**GITHUB, "auth": "token"}})
    plan = build_plan("org", program=lambda: github_provider(token_mode, load_catalog(), {"GITHUB_TOKEN": "x"}))
    (token_provider,) = plan.of_type("pulumi:providers:github")
    assert "appAuth" not in token_provider["inputs"]  # the provider reads GITHUB_TOKEN itself
    assert stack_file_config("org")[0]["pyairtable-infra:githubPlan"] == "team"


def test_teams_and_memberships_come_from_config(org_plan: Plan) -> None:
    # The registry's own team (the machine user's read access) is tested in tests/registry.
    teams = {team["inputs"]["name"]: team for team in org_plan.of_type(TEAM) if team["name"] != "registry-team"}
    assert set(teams) == set(TEAMS)
    for team in teams.values():
        assert team["inputs"]["privacy"] == "closed"
        assert team["inputs"]["createDefaultMaintainer"] is False
    memberships = {
        (membership["inputs"]["teamId"], membership["inputs"]["username"]): membership["inputs"]["role"]
        for membership in org_plan.of_type(MEMBERSHIP)
        if not membership["name"].startswith("registry-")
    }
    team_ids = org_plan.outputs["teamIds"]
    expected = {
        (team_ids[slug], login): role
        for slug, roles in TEAMS.items()
        for role, field in (("maintainer", "maintainers"), ("member", "members"))
        for login in roles[field]
    }
    assert memberships == expected


def test_team_ids_are_numeric_ids_not_slugs(org_plan: Plan) -> None:
    team_ids = org_plan.outputs["teamIds"]
    assert set(team_ids) == set(TEAMS)
    assert all(team_id.isdigit() for team_id in team_ids.values()), team_ids
    assert len(set(team_ids.values())) == len(team_ids)


def test_no_org_actions_variable_can_redirect_the_registry(org_plan: Plan) -> None:
    # The publish workflow sends GITHUB_TOKEN to the registry host, so the host is a literal in the
    # workflow (components/registry), never a variable that a catalog or org edit could change.
    variables = {v["inputs"]["variableName"] for v in org_plan.of_type(ORG_VARIABLE)}
    assert not {"REGISTRY", "REGISTRY_HOST"} & variables
    assert all(v["inputs"]["visibility"] == "private" for v in org_plan.of_type(ORG_VARIABLE))


def test_no_environment_stack_declares_a_github_resource() -> None:
    for stack in ("dev", "staging", "prod"):
        github = [r["urn"] for r in stack_plan(stack).resources if "github" in r["type"].split(":")[0:3]]
        assert github == [], f"stack {stack} declares {github}"


def _teams(**changes: dict[str, object]) -> dict[str, object]:
    teams: dict[str, object] = {slug: {"description": slug, **roles} for slug, roles in TEAMS.items()}
    teams.update(changes)
    return teams


BAD_ORG_INPUT = [
    # The catalog names a team (owner) that the config does not declare.
    (
        {"teams": {slug: team for slug, team in _teams().items() if slug != "backend-go"}},
        ["stack 'org'", "pyairtable-infra:teams", "'backend-go'", "not configured", "configured teams"],
    ),
    # One login in two roles of a team, also when spelled with another case (GitHub logins ignore case).
    (
        {"teams": _teams(devops={"description": "d", "maintainers": ["ops-lead"], "members": ["Ops-Lead"]})},
        ["stack 'org'", "pyairtable-infra:teams.devops", "ops-lead", "both maintainer and member", "one role"],
    ),
    (
        {"teams": _teams(devops={"description": "d", "members": ["ops-dev-1", "ops-dev-1", "ops-dev-2"]})},
        ["pyairtable-infra:teams.devops", "listed twice", "ops-dev-1"],
    ),
    ({"existingRepositories": ["pyairtable-gatewy"]}, ["pyairtable-gatewy", "not in the catalog", "allowed"]),
]


@pytest.mark.parametrize(("overrides", "fragments"), BAD_ORG_INPUT)
def test_bad_org_input_stops_the_plan_before_anything_is_declared(
    overrides: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_plan("org", overrides)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def _catalog_with(**service: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "billing", "language": "go", "kind": "service", "description": "Billing.", "owner": "platform",
        "deploys": False,
    }  # fmt: skip
    return {"organization": "pyairtable", "services": [{**entry, **service}]}


@pytest.mark.parametrize(
    ("service", "fragments"),
    [
        ({"language": "rust"}, ["services.0.language = 'rust'", "'go', 'python' or 'docs'"]),
        ({"name": "Billing_Service"}, ["services.0.name = 'Billing_Service'", "pattern"]),
        ({"name": "b" * 41}, ["services.0.name", "at most 40"]),
    ],
)
def test_bad_catalog_entries_name_key_value_and_what_is_allowed(
    service: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(_catalog_with(**service), "services.yaml")
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_catalog_owner_that_is_no_team_is_refused_with_the_team_name() -> None:
    # The checked-in catalog's owners are all teams; a config without `platform` names it.
    with pytest.raises(ConfigError, match=r"teams \['platform'\] are named by the catalog"):
        build_plan("org", {"teams": {slug: team for slug, team in _teams().items() if slug != "platform"}})


def parse_org(overrides: dict[str, object]) -> OrgConfig:
    """The org stack's config with some keys replaced, validated as the program would (no plan run)."""
    values = stack_file_config("org")[0]
    values.update({f"pyairtable-infra:{key}": encode_config_value(value) for key, value in overrides.items()})
    config = parse_stack_config("org", values)
    assert isinstance(config, OrgConfig)
    return config


def _github(**changes: object) -> dict[str, object]:
    return {**GITHUB, **changes}


BAD_PEOPLE_AND_SEEDING = [
    # devops gates infra (2 approvals besides the author): two people cannot merge anything there.
    (
        {"teams": _teams(devops={"description": "d", "maintainers": ["ops-lead"], "members": ["ops-dev-1"]})},
        ["pyairtable-infra:teams", "team 'devops' has 2 people", "2 approvals", "at least 3"],
    ),
    # The checked-in people and the registry machine user do not fit in two seats.
    ({"githubSeats": 2}, ["pyairtable-infra:githubSeats", "distinct members, owners and the registry machine user"]),
    # One person spelled two ways in two places.
    (
        {"github": _github(owners=["Reg-Kris"])},
        ["pyairtable-infra:teams", "['Reg-Kris', 'reg-kris']", "differ only in case", "one spelling"],
    ),
    ({"github": _github(owners=["reg-kris", "ops-lead"], maxOwners=1)}, ["2 organization owners", "maxOwners 1"]),
    # A repository this stack seeded cannot flip to adopted (its seeded files would leave state).
    (
        {"existingRepositories": ["pyairtable-docs", "pyairtable-infra", "pyairtable-gateway"]},
        ["pyairtable-infra:existingRepositories", "pyairtable-gateway", "recorded in github.seededRepositories"],
    ),
    (
        {"github": _github(seededRepositories=[r for r in GITHUB["seededRepositories"] if r != "pyairtable-ai"])},
        ["pyairtable-infra:github", "['pyairtable-ai'] are in neither seededRepositories", "exactly one"],
    ),
    ({"github": _github(defaultRepositoryPermission="write")}, ["github.defaultRepositoryPermission", "'none'"]),
]


@pytest.mark.parametrize(("overrides", "fragments"), BAD_PEOPLE_AND_SEEDING)
def test_team_config_that_cannot_work_is_refused(overrides: dict[str, object], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_org(overrides)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_the_checked_in_people_fit_exactly() -> None:
    config = parse_org({})
    distinct = {login.casefold() for login in config.all_logins()} | {config.registry.machine_user.casefold()}
    assert len(distinct) == config.github_seats
    assert len(config.gating_logins()) == 3

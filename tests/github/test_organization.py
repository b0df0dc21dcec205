"""The org stack's organization: security baseline, teams, memberships, Actions variables, bad input."""

from __future__ import annotations

import pytest

from components.shared.catalog import parse_catalog
from components.shared.errors import ConfigError
from tests.conftest import stack_plan
from tools.plan import Plan, build_plan

SETTINGS = "github:index/organizationSettings:OrganizationSettings"
TEAM = "github:index/team:Team"
MEMBERSHIP = "github:index/teamMembership:TeamMembership"
ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
TEAMS = {
    "platform": {"maintainers": ["reg-kris"], "members": ["platform-dev-1"]},
    "backend-go": {"maintainers": ["go-lead"], "members": ["go-dev-1", "go-dev-2"]},
    "ai-python": {"maintainers": ["py-lead"], "members": ["py-dev-1"]},
    "devops": {"maintainers": ["ops-lead"], "members": ["ops-dev-1"]},
}


def test_organization_settings_are_the_security_baseline(org_plan: Plan) -> None:
    settings = org_plan.one(SETTINGS)["inputs"]
    assert settings["billingEmail"] == "billing@pyairtable.com"
    assert settings["company"] == "PyAirtable"
    assert settings["defaultRepositoryPermission"] == "read"
    assert settings["membersCanCreatePublicRepositories"] is False
    assert settings["membersCanForkPrivateRepositories"] is False
    for flag in (
        "dependencyGraphEnabledForNewRepositories",
        "dependabotAlertsEnabledForNewRepositories",
        "dependabotSecurityUpdatesEnabledForNewRepositories",
        "secretScanningEnabledForNewRepositories",
        "secretScanningPushProtectionEnabledForNewRepositories",
        "webCommitSignoffRequired",
    ):
        assert settings[flag] is True, flag


def test_secret_scanning_follows_config() -> None:
    settings = build_plan("org", {"secretScanning": False}).one(SETTINGS)["inputs"]
    assert settings["secretScanningEnabledForNewRepositories"] is False
    assert settings["secretScanningPushProtectionEnabledForNewRepositories"] is False
    assert settings["dependabotAlertsEnabledForNewRepositories"] is True


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
        {"teams": _teams(devops={"description": "d", "members": ["ops-dev-1", "ops-dev-1"]})},
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

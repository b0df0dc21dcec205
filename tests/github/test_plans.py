"""The GitHub plan capability table: every feature the org stack declares is enforceable on the declared
plan, what GitHub reserves for Enterprise or an add-on is refused below it, with the alternative named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.github.plans import PLANS_PATH, FeatureName, Visibility, load_plan_table, shortfalls
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from tests.github.test_organization import GITHUB, parse_org

TABLE = load_plan_table()
RAW = yaml.safe_load(PLANS_PATH.read_text())

# What GitHub's documentation says, restated here so that an edit of the table must also edit a test.
ENTERPRISE_ONLY_ON_PRIVATE = {
    "organizationRulesets",
    "customRepositoryRoles",
    "environmentRequiredReviewers",
    "environmentWaitTimers",
    "requiredWorkflows",
}
TEAM_ON_PRIVATE = {"rulesets", "classicBranchProtection", "environments", "environmentBranchPolicies"}
ADD_ON_ON_PRIVATE = {"secretScanning": "secretProtection", "pushProtection": "secretProtection"}
ADD_ON_ON_PRIVATE |= {"codeScanning": "codeSecurity"}


def test_every_feature_has_a_documentation_source_and_an_alternative() -> None:
    for name, feature in TABLE.features.items():
        assert feature.source.startswith("https://docs.github.com/"), name
        assert feature.alternative.strip(), name
    assert set(TABLE.features) == set(RAW["features"])


@pytest.mark.parametrize("feature", sorted(TABLE.features))
def test_private_repository_requirements_match_the_documentation(feature: str) -> None:
    needed = TABLE.features[feature].private  # type: ignore[index]
    if feature in ENTERPRISE_ONLY_ON_PRIVATE:
        assert (needed.plan, needed.addOn) == ("enterprise", None)
    elif feature in TEAM_ON_PRIVATE:
        assert (needed.plan, needed.addOn) == ("team", None)
    elif feature in ADD_ON_ON_PRIVATE:
        assert (needed.plan, needed.addOn) == ("team", ADD_ON_ON_PRIVATE[feature])
    else:
        assert (needed.plan, needed.addOn) == ("free", None), feature


def test_every_feature_the_checked_in_org_stack_uses_is_enforceable() -> None:
    config = parse_org({})
    used = config.used_features(load_catalog())
    assert {feature for feature, _ in used} >= {"rulesets", "environments", "environmentBranchPolicies"}
    assert shortfalls(TABLE, config.github_plan, config.github.add_ons, used) == []
    # On Team, the program picks what Team enforces: repository rulesets, no environment reviewers.
    assert (config.organization_rulesets, config.environment_reviewers) == (False, False)


def test_enterprise_gets_organization_rulesets_and_environment_reviewers() -> None:
    config = parse_org({"githubPlan": "enterprise"})
    assert (config.organization_rulesets, config.environment_reviewers) == (True, True)


REFUSED = [
    # Free has no protection for private repositories at all.
    ({"githubPlan": "free"}, ["pyairtable-infra:githubPlan", "rulesets on private repositories needs team", "free"]),
    (
        {"githubPlan": "free", "branchProtection": "classic"},
        ["classicBranchProtection on private repositories needs team"],
    ),
    # GitHub's secret scanning on private repositories needs the Secret Protection add-on.
    (
        {"secretScanning": True},
        [
            "secretScanning on private repositories needs team with the secretProtection add-on",
            "pushProtection",
            "alternative: secretScanning false",
            "gitleaks",
            "about-secret-scanning",
        ],
    ),
    # Classic protection enforces admins, and no App can then commit past required checks.
    ({"branchProtection": "classic"}, ["pyairtable-infra:branchProtection", "enforces admins", "pyairtable-gateway"]),
    ({"github": {**GITHUB, "addOns": ["advancedSecurity"]}}, ["github.addOns", "secretProtection"]),
]


@pytest.mark.parametrize(("overrides", "fragments"), REFUSED)
def test_what_the_plan_cannot_enforce_is_refused_with_the_alternative(
    overrides: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_org(overrides)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_secret_protection_add_on_makes_github_scanning_acceptable_on_team_only() -> None:
    with_add_on = {"secretScanning": True, "github": {**GITHUB, "addOns": ["secretProtection"]}}
    assert parse_org(with_add_on).secret_scanning is True
    used: list[tuple[FeatureName, Visibility]] = [("secretScanning", "private")]
    assert shortfalls(TABLE, "free", ("secretProtection",), used)  # cannot be bought on free
    assert shortfalls(TABLE, "enterprise", (), used)  # Enterprise alone does not include it
    assert not shortfalls(TABLE, "enterprise", ("secretProtection",), used)


def test_a_table_that_contradicts_itself_is_refused(tmp_path: Path) -> None:
    broken = yaml.safe_load(PLANS_PATH.read_text())
    broken["features"]["secretScanning"]["private"] = {"plan": "free", "addOn": "secretProtection"}
    path = tmp_path / "plans.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError, match="add-on secretProtection cannot be bought on free"):
        load_plan_table.__wrapped__(path)

"""GitHub's plans against what the org stack declares: the capability table (data/github/plans.yaml).

The program checks every feature it is about to declare against the declared plan and add-ons, and
refuses the config when GitHub would not enforce it (the API answers 422, or silently drops the
setting), naming the feature, the plan and add-on it needs, and the alternative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from components.shared.data_files import load_data_file
from components.shared.paths import PROJECT_ROOT

PLANS_PATH = PROJECT_ROOT / "data" / "github" / "plans.yaml"

Plan = Literal["free", "team", "enterprise"]
AddOn = Literal["secretProtection", "codeSecurity"]
Visibility = Literal["public", "private"]
FeatureName = Literal[
    "rulesets",
    "organizationRulesets",
    "classicBranchProtection",
    "customRepositoryRoles",
    "environments",
    "environmentBranchPolicies",
    "environmentRequiredReviewers",
    "environmentWaitTimers",
    "secretScanning",
    "pushProtection",
    "codeScanning",
    "requiredWorkflows",
    "privateWorkflowSharing",
    "oidcSubjectCustomization",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Requirement(_Frozen):
    """What one visibility needs for a feature: the least plan, and an add-on (or none)."""

    plan: Plan
    addOn: AddOn | None  # noqa: N815 - the table's own key


class AddOnAvailability(_Frozen):
    """The plans that can buy an add-on, and where GitHub says so."""

    plans: tuple[Plan, ...]
    source: str


class Feature(_Frozen):
    """One row of the table."""

    description: str
    public: Requirement
    private: Requirement
    alternative: str
    source: str

    def requirement(self, visibility: Visibility) -> Requirement:
        """The requirement on repositories of this visibility."""
        return self.public if visibility == "public" else self.private


class PlanTable(_Frozen):
    """The whole table: plans in order of capability, add-ons, features."""

    plans: tuple[Plan, ...]
    addOns: dict[AddOn, AddOnAvailability]  # noqa: N815 - the table's own key
    features: dict[FeatureName, Feature]

    @model_validator(mode="after")
    def _consistent(self) -> PlanTable:
        if sorted(self.plans) != sorted(("free", "team", "enterprise")):
            raise ValueError(f"plans must list free, team and enterprise once each, got {list(self.plans)}")
        for name, feature in self.features.items():
            if not feature.source.startswith("https://"):
                raise ValueError(f"feature {name}: source must be a documentation URL")
            for visibility in ("public", "private"):
                needed = feature.requirement(visibility)
                if needed.addOn is not None and needed.plan not in self.addOns[needed.addOn].plans:
                    raise ValueError(f"feature {name}: add-on {needed.addOn} cannot be bought on {needed.plan}")
        return self

    def rank(self, plan: Plan) -> int:
        """Position of a plan in the order of capability (free is 0)."""
        return self.plans.index(plan)


@dataclass(frozen=True)
class Shortfall:
    """A feature the declared plan cannot enforce, with what it would take."""

    feature: FeatureName
    visibility: Visibility
    needs: Requirement
    alternative: str
    source: str

    def describe(self, plan: Plan) -> str:
        """`environmentRequiredReviewers on private repositories needs enterprise (githubPlan is team); ...`."""
        needs = self.needs.plan + (f" with the {self.needs.addOn} add-on" if self.needs.addOn else "")
        return (
            f"{self.feature} on {self.visibility} repositories needs {needs} (githubPlan is {plan}); "
            f"alternative: {self.alternative} (source: {self.source})"
        )


@cache
def load_plan_table(path: Path = PLANS_PATH) -> PlanTable:
    """The capability table, validated (a broken table is a `ConfigError` naming the file)."""
    return load_data_file(PlanTable, path)


def enforceable(
    table: PlanTable, plan: Plan, add_ons: Iterable[AddOn], feature: FeatureName, visibility: Visibility
) -> bool:
    """Whether GitHub enforces `feature` on `visibility` repositories under this plan and add-ons."""
    needed = table.features[feature].requirement(visibility)
    has_add_on = needed.addOn is None or (needed.addOn in set(add_ons) and plan in table.addOns[needed.addOn].plans)
    return table.rank(plan) >= table.rank(needed.plan) and has_add_on


def shortfalls(
    table: PlanTable,
    plan: Plan,
    add_ons: Iterable[AddOn],
    used: Iterable[tuple[FeatureName, Visibility]],
) -> list[Shortfall]:
    """Every used (feature, visibility) the plan and add-ons do not enforce, in the order given."""
    add_ons = tuple(add_ons)
    return [
        Shortfall(
            feature,
            visibility,
            table.features[feature].requirement(visibility),
            table.features[feature].alternative,
            table.features[feature].source,
        )
        for feature, visibility in dict.fromkeys(used)
        if not enforceable(table, plan, add_ons, feature, visibility)
    ]

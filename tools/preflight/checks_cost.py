"""Preflight checks of the cost capability: what only the real AWS organization can tell.

The `CostCenter` tag groups real spend the way the bill groups the estimate (`make cost-actuals`,
Cost Explorer, the budgets' reports). AWS counts a tag in billing only once it is activated as a
cost-allocation tag, which only the organization's management (payer) account can do, and only after
the tag has appeared on billed usage (up to 24 hours after the first tagged resource). So it is a
documented step, checked here, never a resource of these stacks (README "Cost": "Budgets and the
CostCenter tag").
"""

from __future__ import annotations

import json

from tools.preflight.core import Check, CheckResult, PreflightContext

COST_ALLOCATION_TAG = "CostCenter"
"""The tag the environment stacks put on every AWS resource (components/stacks/environment.py)."""

ACTIVATE_COMMAND = (
    "aws ce update-cost-allocation-tags-status "
    f"--cost-allocation-tags-status TagKey={COST_ALLOCATION_TAG},Status=Active"
)


def cost_allocation_tag_active(context: PreflightContext) -> CheckResult:
    """The CostCenter tag is an active user-defined cost-allocation tag of the payer account."""
    name = "CostCenter cost-allocation tag is active"
    done = context.run(
        [
            "aws",
            "ce",
            "list-cost-allocation-tags",
            "--tag-keys",
            COST_ALLOCATION_TAG,
            "--type",
            "UserDefined",
            "--output",
            "json",
        ]
    )
    if done.returncode == 127:
        return CheckResult(name, "skip", "the AWS CLI is not installed", "install AWS CLI v2 and run preflight again")
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip()
        return CheckResult(
            name,
            "skip" if "AccessDenied" in message or "credentials" in message.lower() else "fail",
            f"Cost Explorer refused the question: {message}",
            "run this check with credentials of the organization's management (payer) account, which alone "
            "sees and activates cost-allocation tags",
        )
    try:
        tags = json.loads(done.stdout or "{}").get("CostAllocationTags", [])
    except json.JSONDecodeError:
        return CheckResult(name, "fail", f"unreadable answer from Cost Explorer: {done.stdout[:200]!r}")
    tag = next((tag for tag in tags if tag.get("TagKey") == COST_ALLOCATION_TAG), None)
    if tag is None:
        return CheckResult(
            name,
            "fail",
            f"billing has not seen the tag {COST_ALLOCATION_TAG} yet (it appears up to 24 hours after the first "
            "tagged resource is billed)",
            f"after the first `pulumi up`, wait a day, then in the management account: {ACTIVATE_COMMAND}",
        )
    if tag.get("Status") != "Active":
        return CheckResult(
            name,
            "fail",
            f"{COST_ALLOCATION_TAG} is {tag.get('Status', 'unknown')}: spend cannot be grouped by it, and "
            "`make cost-actuals` reads nothing",
            f"in the management account: {ACTIVATE_COMMAND} (takes effect for usage from then on)",
        )
    return CheckResult(name, "pass", f"{COST_ALLOCATION_TAG} active since {tag.get('LastUpdatedDate', '?')}")


CHECKS: list[Check] = [cost_allocation_tag_active]

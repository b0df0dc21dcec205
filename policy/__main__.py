"""The policy pack's entry point: every validator of `validators.py` as one mandatory stack policy.

Only this file constructs `PolicyPack` (which starts the policy server and never returns). Each
`PolicyResource` becomes the offline plan's resource shape, so the validators see the same thing in
a real preview as in the tests.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from validators import POLICIES, Resource, Validator, stack_of


def as_plan_resources(args: StackValidationArgs) -> list[Resource]:
    """The stack's resources in the offline plan's shape, their providers included once each."""
    resources: dict[str, dict[str, Any]] = {}
    for resource in args.resources:
        resources[resource.urn] = {
            "urn": resource.urn,
            "type": resource.resource_type,
            "name": resource.name,
            "inputs": dict(resource.props),
            "options": {"protect": resource.opts.protect},
        }
        provider = resource.provider
        if provider is not None and provider.urn not in resources:
            resources[provider.urn] = {
                "urn": provider.urn,
                "type": provider.resource_type,
                "name": provider.name,
                "inputs": dict(provider.props),
                "options": {"protect": False},
            }
    return list(resources.values())


def stack_policy(name: str, description: str, validator: Validator) -> StackValidationPolicy:
    """One mandatory policy reporting each violation on its resource."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = as_plan_resources(args)
        stack = stack_of(resources[0]["urn"]) if resources else ""
        for violation in validator(stack, resources):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


PolicyPack(
    name="pyairtable-infra",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[stack_policy(name, description, validator) for name, (description, validator) in POLICIES.items()],
)

"""Fixes from the review before the first real `pulumi up`: what the mocks accept but the engine or cloud would not."""

from __future__ import annotations

from tools.plan import Plan

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def waits_for(plan: Plan, urn: str) -> set[str]:
    """Every resource `urn` waits for, directly or through what it depends on."""
    options = {r["urn"]: r["options"]["dependsOn"] for r in plan.resources}
    found: set[str] = set()
    pending = list(options[urn])
    while pending:
        dependency = pending.pop()
        if dependency not in found:
            found.add(dependency)
            pending += options.get(dependency, [])
    return found


def test_kubernetes_provider_waits_for_the_nodes_and_every_addon(env_plan: Plan) -> None:
    """Every Kubernetes resource (Helm releases above all) is created only once nodes run the add-ons."""
    depends_on = waits_for(env_plan, env_plan.one(KUBERNETES_PROVIDER)["urn"])
    node_groups = {r["urn"] for r in env_plan.of_type("aws:eks/nodeGroup:NodeGroup")}
    addons = {r["urn"] for r in env_plan.of_type("aws:eks/addon:Addon")}
    assert node_groups and node_groups <= depends_on
    assert len(addons) == 5 and addons <= depends_on


def test_every_kubernetes_resource_uses_the_cluster_provider(env_plan: Plan) -> None:
    provider = env_plan.one(KUBERNETES_PROVIDER)["urn"]
    kubernetes = [r for r in env_plan.resources if r["type"].startswith("kubernetes:")]
    assert kubernetes and {r["provider"] for r in kubernetes} == {provider}

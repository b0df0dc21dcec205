"""Cluster access in order: Pulumi's own role is a cluster admin, and Kubernetes resources wait for nodes and add-ons.

The mocks accept a Kubernetes resource at any time; a real cluster refuses it until the provider's
identity has an access entry, and Helm releases fail until nodes and add-ons are up.
"""

from __future__ import annotations

import pytest

from components.config.stack_file import environment_configs
from components.shared.catalog import load_catalog
from tools.plan import Plan, build_plan

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


ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def test_the_role_pulumi_runs_as_is_cluster_admin_before_the_kubernetes_provider_is_used(env_plan: Plan) -> None:
    """No bootstrap admin for the creator: the Kubernetes provider's role (`aws eks get-token
    --role-arn awsRoleArn`) needs its own access entry, or every Kubernetes resource is refused."""
    role_arn = environment_configs()[env_plan.stack].aws_role_arn
    assert (
        env_plan.one("aws:eks/cluster:Cluster")["inputs"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"]
        is False
    )
    [association] = [a for a in env_plan.of_type(ASSOCIATION) if a["inputs"]["principalArn"] == role_arn]
    assert association["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    assert association["inputs"]["accessScope"] == {"type": "cluster"}
    assert association["urn"] in env_plan.one(KUBERNETES_PROVIDER)["options"]["dependsOn"]


DEV_ADMINS = set(environment_configs()["dev"].admin_role_arns)


@pytest.mark.parametrize(
    ("role_arn", "expected"),
    [
        # Already an admin: one entry, not two for the same principal (EKS refuses the second).
        ("arn:aws:iam::111111111111:role/pyairtable-admin", DEV_ADMINS),
        # Ambient credentials (as CI runs): only the configured admins.
        ("", DEV_ADMINS),
    ],
)
def test_admin_entries_for_other_pulumi_identities(role_arn: str, expected: set[str]) -> None:
    plan = build_plan(
        "dev", {"awsRoleArn": role_arn, "breakGlassRoleArn": "arn:aws:iam::111111111111:role/break-glass"}
    )
    admins = [
        a["inputs"]["principalArn"]
        for a in plan.of_type(ASSOCIATION)
        if a["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    ]
    assert sorted(admins) == sorted(expected)
    # Plus one entry per deployable service's deploy role, and the two read-only roles (delivery).
    assert len(plan.of_type(ACCESS_ENTRY)) == len(expected) + len(load_catalog().deployable) + 2

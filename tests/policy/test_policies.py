"""The policy pack's validators: no violation on any stack's offline plan, and each policy fires on a
crafted violation. Where today's program breaks a policy that another issue fixes, that stack's test
is an expected failure naming the issue; the policy itself is never weakened."""

from __future__ import annotations

import ast
import copy
import json
from typing import Any

import pytest
import yaml

from components.config.common import STACKS
from components.shared.paths import PROJECT_ROOT
from policy.validators import POLICIES, Violation, validate
from tests.conftest import stack_plan

FIXED_ELSEWHERE: dict[tuple[str, str], str] = {}
"""(policy, stack) -> the issue that fixes today's violation (an expected failure until then)."""


def cases() -> list[Any]:
    return [
        pytest.param(policy, stack, marks=pytest.mark.xfail(reason=FIXED_ELSEWHERE[(policy, stack)], strict=True))
        if (policy, stack) in FIXED_ELSEWHERE
        else (policy, stack)
        for policy in POLICIES
        for stack in STACKS
    ]


@pytest.mark.parametrize(("policy", "stack"), cases())
def test_no_stack_breaks_a_policy(policy: str, stack: str) -> None:
    _, validator = POLICIES[policy]
    assert validator(stack, stack_plan(stack).resources) == []


def resources_of(stack: str) -> list[dict[str, Any]]:
    return copy.deepcopy(stack_plan(stack).resources)


def first(resources: list[dict[str, Any]], type_token: str, **inputs: Any) -> dict[str, Any]:
    return next(
        r for r in resources if r["type"] == type_token and all(r["inputs"].get(k) == v for k, v in inputs.items())
    )


def fired(stack: str, resources: list[dict[str, Any]], policy: str) -> list[Violation]:
    return [violation for violation in validate(stack, resources) if violation.policy == policy]


def craft_default_password(resources: list[dict[str, Any]]) -> None:
    first(resources, "kubernetes:helm.sh/v3:Release", name="kube-prometheus-stack")["inputs"]["values"]["grafana"][
        "adminPassword"
    ] = "prom-operator"


def craft_literal_key(resources: list[dict[str, Any]]) -> None:
    first(resources, "github:index/repository:Repository")["inputs"]["description"] = "key AKIAIOSFODNN7EXAMPLE"


def craft(stack: str, path: str, value: Any, type_token: str, **match: Any):
    """A crafter that sets `inputs.<path>` (dots) of the first matching resource."""

    def apply(resources: list[dict[str, Any]]) -> None:
        target = first(resources, type_token, **match)["inputs"] if path else None
        *parents, last = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})  # type: ignore[union-attr]
        target[last] = value  # type: ignore[index]

    return apply


def unprotect_repository(resources: list[dict[str, Any]]) -> None:
    first(resources, "github:index/repository:Repository")["options"]["protect"] = False


def drop_ruleset(resources: list[dict[str, Any]]) -> None:
    resources.remove(first(resources, "github:index/repositoryRuleset:RepositoryRuleset"))


def provider_without_cost_center(resources: list[dict[str, Any]]) -> None:
    provider = first(resources, "pulumi:providers:aws")
    tags = json.loads(provider["inputs"]["defaultTags"])
    del tags["tags"]["CostCenter"]
    provider["inputs"]["defaultTags"] = json.dumps(tags)


def karpenter(capacity: str, hop: int) -> Any:
    def apply(resources: list[dict[str, Any]]) -> None:
        urn = "urn:pulumi:{s}::pyairtable-infra::kubernetes:karpenter.sh/v1:NodePool::default"
        stack = resources[0]["urn"].split("::")[0].removeprefix("urn:pulumi:")
        requirement = {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]}
        resources.append(
            {
                "urn": urn.format(s=stack),
                "type": "kubernetes:karpenter.sh/v1:NodePool",
                "name": "default",
                "inputs": {"spec": {"template": {"spec": {"requirements": [requirement]}}}},
                "options": {"protect": False},
            }
        )
        resources.append(
            {
                "urn": urn.format(s=stack).replace("karpenter.sh/v1:NodePool", "karpenter.k8s.aws/v1:EC2NodeClass"),
                "type": "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
                "name": "default",
                "inputs": {"spec": {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": hop}}},
                "options": {"protect": False},
            }
        )

    return apply


CLUSTER = "aws:eks/cluster:Cluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KPS = "kube-prometheus-stack"
GENERATED = {"SecretSource": "generated"}
VIOLATIONS = {
    "no-literal-credentials": [("dev", craft_default_password), ("org", craft_literal_key)],
    "repositories-protected": [
        ("org", unprotect_repository),
        ("org", craft("org", "archiveOnDestroy", False, "github:index/repository:Repository")),
    ],
    "default-branches-protected": [
        ("org", drop_ruleset),
        ("org", craft("org", "enforcement", "evaluate", "github:index/repositoryRuleset:RepositoryRuleset")),
    ],
    "prod-gated": [
        (
            "org",
            craft(
                "org",
                "deploymentBranchPolicy",
                None,
                "github:index/repositoryEnvironment:RepositoryEnvironment",
                environment="prod",
            ),
        ),
        (
            "org",
            craft(
                "org",
                "canAdminsBypass",
                True,
                "github:index/repositoryEnvironment:RepositoryEnvironment",
                environment="prod",
            ),
        ),
    ],
    "eks-encryption": [("prod", craft("prod", "encryptionConfig", None, CLUSTER))],
    "eks-logs": [("dev", craft("dev", "enabledClusterLogTypes", ["api", "authenticator"], CLUSTER))],
    "eks-endpoint": [
        ("prod", craft("prod", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"], CLUSTER)),
        ("prod", craft("prod", "vpcConfig.publicAccessCidrs", ["10.0.0.0/24"], CLUSTER)),
        ("prod", craft("prod", "vpcConfig.endpointPrivateAccess", False, CLUSTER)),
        ("prod", craft("prod", "vpcConfig.publicAccessCidrs", [f"198.51.{i}.0/24" for i in range(41)], CLUSTER)),
    ],
    "imdsv2-hop-limit-1": [
        ("dev", craft("dev", "metadataOptions.httpTokens", "optional", TEMPLATE)),
        ("dev", karpenter("spot", 2)),
    ],
    "kms-rotation": [("staging", craft("staging", "enableKeyRotation", False, "aws:kms/key:Key"))],
    "secrets-manager-cmk": [
        ("prod", craft("prod", "kmsKeyId", None, "aws:secretsmanager/secret:Secret", tags=GENERATED)),
        ("prod", craft("prod", "recoveryWindowInDays", 0, "aws:secretsmanager/secret:Secret", tags=GENERATED)),
    ],
    "capacity-by-environment": [
        ("dev", craft("dev", "capacityType", "ON_DEMAND", "aws:eks/nodeGroup:NodeGroup")),
        ("prod", craft("prod", "capacityType", "SPOT", "aws:eks/nodeGroup:NodeGroup")),
        ("prod", karpenter("spot", 1)),
    ],
    "required-tags": [
        ("dev", provider_without_cost_center),
        ("dev", craft("dev", "tagSpecifications", [{"resourceType": "instance", "tags": {}}], TEMPLATE)),
    ],
    "pinned-charts": [
        ("dev", craft("dev", "version", "~88.5", "kubernetes:helm.sh/v3:Release")),
        ("dev", craft("dev", "version", None, "kubernetes:helm.sh/v3:Release")),
    ],
    "no-latest-images": [
        ("prod", craft("prod", "values.grafana.image.tag", "latest", RELEASE, name=KPS)),
        ("staging", craft("staging", "values.grafana.image", "grafana/grafana", RELEASE, name=KPS)),
    ],
}


def test_every_policy_has_crafted_violations() -> None:
    assert set(VIOLATIONS) == set(POLICIES)


@pytest.mark.parametrize(
    ("policy", "stack", "crafter"),
    [(policy, stack, crafter) for policy, cases in VIOLATIONS.items() for stack, crafter in cases],
)
def test_each_policy_fires_on_a_crafted_violation(policy: str, stack: str, crafter: Any) -> None:
    resources = resources_of(stack)
    before = set(fired(stack, resources, policy))
    crafter(resources)
    assert set(fired(stack, resources, policy)) - before


def test_only_the_pull_through_cache_credential_may_use_the_aws_managed_key() -> None:
    resources = resources_of("prod")
    secrets = [r for r in resources if r["type"] == "aws:secretsmanager/secret:Secret"]
    exempt = [r for r in secrets if r["inputs"]["name"].startswith("ecr-pullthroughcache/")]
    assert exempt and all("kmsKeyId" not in r["inputs"] for r in exempt)
    exempt[0]["inputs"]["recoveryWindowInDays"] = 0  # the window still applies
    other = next(r for r in secrets if r not in exempt)
    del other["inputs"]["kmsKeyId"]
    assert sorted(v.urn or "" for v in fired("prod", resources, "secrets-manager-cmk")) == sorted(
        [exempt[0]["urn"], other["urn"]]
    )


def test_the_default_redis_user_is_no_login_only_while_it_is_switched_off() -> None:
    resources = resources_of("dev")
    assert fired("dev", resources, "no-literal-credentials") == []
    user = first(resources, "aws:elasticache/user:User", userName="default")
    user["inputs"]["accessString"] = "on ~* +@all"
    assert [v.urn for v in fired("dev", resources, "no-literal-credentials")] == [user["urn"]]


def test_the_controller_group_may_run_on_demand_in_dev_only() -> None:
    resources = resources_of("dev")
    group = first(resources, "aws:eks/nodeGroup:NodeGroup")
    group["inputs"] |= {"capacityType": "ON_DEMAND", "labels": {"pyairtable.io/node-role": "controllers"}}
    assert fired("dev", resources, "capacity-by-environment") == []


def test_dev_may_run_latest_images_but_not_a_default_password() -> None:
    resources = resources_of("dev")
    craft("dev", "values.grafana.image.tag", "latest", "kubernetes:helm.sh/v3:Release", name="kube-prometheus-stack")(
        resources
    )
    assert fired("dev", resources, "no-latest-images") == []


def test_the_pack_is_declared_for_the_cli() -> None:
    pack = yaml.safe_load((PROJECT_ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    requirements = (PROJECT_ROOT / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements
    entry = (PROJECT_ROOT / "policy" / "__main__.py").read_text()
    assert entry.count("PolicyPack(") == 1 and "EnforcementLevel.MANDATORY" in entry
    validators = ast.parse((PROJECT_ROOT / "policy" / "validators.py").read_text())
    imported = {alias.name for node in ast.walk(validators) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(validators) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("pulumi") for name in imported)

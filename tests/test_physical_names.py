"""No two resources of one type in a stack name the same cloud object.

The mocks accept anything; AWS, GitHub and Kubernetes refuse (or silently share) a second object
under a name that is already taken. For every type the program declares, `IDENTITY` says which
inputs identify the object in its scope (an alias name in the account, a file path on a branch of a
repository, a namespaced Kubernetes object by namespace and name, ...). A type without a physical
name (Pulumi auto-names it, or the cloud assigns an id) is listed in `NO_PHYSICAL_NAME`, so a new
type cannot slip through without a decision.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from tests.conftest import stack_plan
from tools.plan import Plan

Identity = Callable[[Mapping[str, Any]], tuple[Any, ...] | None]


def _fields(*paths: str) -> Identity:
    """The identity made of these input paths (dotted); None when the first is absent (auto-named)."""

    def identity(inputs: Mapping[str, Any]) -> tuple[Any, ...] | None:
        values = []
        for path in paths:
            value: Any = inputs
            for part in path.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            values.append(value)
        return None if values[0] is None else tuple(values)

    return identity


def _named_or_prefixed(name_key: str, prefix_key: str, *scope: str) -> Identity:
    """A fixed name, or a prefix (two equal prefixes leave two objects nobody can tell apart)."""

    def identity(inputs: Mapping[str, Any]) -> tuple[Any, ...] | None:
        scope_values = tuple(inputs.get(key) for key in scope)
        if inputs.get(name_key) is not None:
            return ("name", inputs[name_key], *scope_values)
        if inputs.get(prefix_key) is not None:
            return ("prefix", inputs[prefix_key], *scope_values)
        return None

    return identity


def _kubernetes_object(inputs: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A Kubernetes object is its kind (in the type token), namespace (None: cluster-scoped) and name."""
    metadata = inputs.get("metadata") or {}
    name = metadata.get("name")
    return None if name is None else (metadata.get("namespace"), name)


IDENTITY: dict[str, Identity] = {
    # AWS: names unique per account (and region for regional services).
    "aws:budgets/budget:Budget": _named_or_prefixed("name", "namePrefix", "accountId"),
    "aws:cloudwatch/logGroup:LogGroup": _named_or_prefixed("name", "namePrefix"),
    "aws:ec2/securityGroup:SecurityGroup": _named_or_prefixed("name", "namePrefix", "vpcId"),
    "aws:ec2/launchTemplate:LaunchTemplate": _named_or_prefixed("name", "namePrefix"),
    "aws:ec2/subnet:Subnet": _fields("cidrBlock", "vpcId"),
    # Two endpoints of one service in a VPC would both claim its private DNS name.
    "aws:ec2/vpcEndpoint:VpcEndpoint": _fields("serviceName", "vpcId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _fields("subnetId"),
    "aws:eks/cluster:Cluster": _fields("name"),
    # ECR: one pull-through cache rule and one creation template per prefix in a registry.
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": _fields("ecrRepositoryPrefix"),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _fields("prefix"),
    "aws:iam/policy:Policy": _named_or_prefixed("name", "namePrefix"),
    "aws:eks/accessEntry:AccessEntry": _fields("principalArn", "clusterName"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _fields("principalArn", "policyArn", "clusterName"),
    "aws:eks/addon:Addon": _fields("addonName", "clusterName"),
    "aws:eks/nodeGroup:NodeGroup": _named_or_prefixed("nodeGroupName", "nodeGroupNamePrefix", "clusterName"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _fields("url"),
    "aws:iam/role:Role": _named_or_prefixed("name", "namePrefix"),
    "aws:iam/rolePolicy:RolePolicy": _named_or_prefixed("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _fields("policyArn", "role"),
    "aws:kms/alias:Alias": _named_or_prefixed("name", "namePrefix"),
    "aws:secretsmanager/secret:Secret": _named_or_prefixed("name", "namePrefix"),
    # Two versions of one secret would take AWSCURRENT from each other on every update.
    "aws:secretsmanager/secretVersion:SecretVersion": _fields("secretId"),
    # Traffic and scaling. Route 53 creates a second zone of the same name without complaint: two
    # zones of one name would split the records between them.
    "aws:route53/zone:Zone": _fields("name"),
    "aws:route53/record:Record": _fields("name", "type", "zoneId"),
    "aws:acm/certificateValidation:CertificateValidation": _fields("certificateArn"),
    "aws:wafv2/webAcl:WebAcl": _fields("name", "scope"),
    "aws:sns/topic:Topic": _named_or_prefixed("name", "namePrefix"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named_or_prefixed("name", "namePrefix"),
    "aws:autoscaling/schedule:Schedule": _fields("scheduledActionName", "autoscalingGroupName"),
    # Data stores (components/datastores): identifiers and names unique per account and region.
    "aws:rds/instance:Instance": _fields("identifier"),
    "aws:rds/subnetGroup:SubnetGroup": _fields("name"),
    "aws:rds/parameterGroup:ParameterGroup": _fields("name"),
    "aws:elasticache/replicationGroup:ReplicationGroup": _fields("replicationGroupId"),
    "aws:elasticache/subnetGroup:SubnetGroup": _fields("name"),
    "aws:elasticache/parameterGroup:ParameterGroup": _fields("name"),
    "aws:elasticache/user:User": _fields("userId"),
    "aws:elasticache/userGroup:UserGroup": _fields("userGroupId"),
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": _fields("name"),
    # One rotation configuration per secret.
    "aws:secretsmanager/secretRotation:SecretRotation": _fields("secretId"),
    "aws:backup/vault:Vault": _fields("name"),
    "aws:backup/plan:Plan": _fields("name"),
    "aws:backup/selection:Selection": _fields("name", "planId"),
    # GitHub: scoped by the organization (the provider's owner) or by repository.
    "github:index/repository:Repository": _fields("name"),
    "github:index/team:Team": _fields("name"),
    "github:index/membership:Membership": _fields("username"),
    "github:index/teamMembership:TeamMembership": _fields("username", "teamId"),
    "github:index/teamRepository:TeamRepository": _fields("repository", "teamId"),
    "github:index/repositoryRuleset:RepositoryRuleset": _fields("name", "repository"),
    "github:index/branchProtection:BranchProtection": _fields("pattern", "repositoryId"),
    "github:index/repositoryFile:RepositoryFile": _fields("file", "branch", "repository"),
    "github:index/repositoryEnvironment:RepositoryEnvironment": _fields("environment", "repository"),
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy": _fields(
        "branchPattern", "environment", "repository"
    ),
    "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": _fields(
        "variableName", "environment", "repository"
    ),
    "github:index/actionsOrganizationVariable:ActionsOrganizationVariable": _fields("variableName"),
    # One settings object per organization: every declaration of it is the same object.
    "github:index/organizationSettings:OrganizationSettings": lambda inputs: ("organization",),
    # Delivery: the in-VPC CI runners (components/delivery/).
    "aws:codeconnections/connection:Connection": _fields("name"),
    "aws:codebuild/project:Project": _fields("name"),
    "aws:codebuild/webhook:Webhook": _fields("projectName"),
    "github:index/actionsOrganizationPermissions:ActionsOrganizationPermissions": lambda inputs: ("organization",),
    "github:index/actionsOrganizationOidcSubjectClaimCustomizationTemplate:"
    "ActionsOrganizationOidcSubjectClaimCustomizationTemplate": lambda inputs: ("organization",),
    "github:index/actionsOrganizationWorkflowPermissions:ActionsOrganizationWorkflowPermissions": _fields(
        "organizationSlug"
    ),
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
    "ActionsRepositoryOidcSubjectClaimCustomizationTemplate": _fields("repository"),
    "github:index/actionsRepositoryAccessLevel:ActionsRepositoryAccessLevel": _fields("repository"),
    "github:index/organizationRuleset:OrganizationRuleset": _fields("name"),
    # Helm: a release name is unique within its namespace.
    "kubernetes:helm.sh/v3:Release": _fields("name", "namespace"),
}
"""Per type: the inputs that identify the cloud object it creates (None: auto-named)."""

NO_PHYSICAL_NAME = frozenset(
    {
        # Cloud-assigned ids only; several of them in one scope are distinct objects.
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/instance:Instance",
        "aws:ec2/networkInterface:NetworkInterface",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/vpc:Vpc",
        "aws:kms/key:Key",
        # ACM gives every certificate its own ARN, even for a domain that already has one.
        "aws:acm/certificate:Certificate",
        # Security group rules: AWS assigns their ids (a duplicate rule is refused by content, not name).
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        # State only: nothing outside Pulumi's state.
        "random:index/randomPassword:RandomPassword",
        "time:index/rotating:Rotating",
        "tls:index/privateKey:PrivateKey",
    }
)


def identity_of(resource: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The physical identity of a resource (None: it has none, or is auto-named)."""
    type_token: str = resource["type"]
    if type_token.startswith("kubernetes:") and type_token != "kubernetes:helm.sh/v3:Release":
        return _kubernetes_object(resource["inputs"])
    if type_token in NO_PHYSICAL_NAME:
        return None
    return IDENTITY[type_token](resource["inputs"])


def collisions(resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every physical identity that more than one resource of a type claims, with their logical names."""
    claimed: dict[tuple[str, tuple[Any, ...]], list[str]] = {}
    for resource in resources:
        if not resource["custom"] or resource["type"].startswith("pulumi:providers:"):
            continue
        identity = identity_of(resource)
        if identity is not None:
            claimed.setdefault((resource["type"], identity), []).append(resource["name"])
    return [f"{type_token} {identity}: {names}" for (type_token, identity), names in claimed.items() if len(names) > 1]


def _custom_types(plan: Plan) -> set[str]:
    return {r["type"] for r in plan.resources if r["custom"] and not r["type"].startswith("pulumi:providers:")}


def test_every_declared_type_has_an_identity_rule(any_plan: Plan) -> None:
    unknown = {
        t
        for t in _custom_types(any_plan)
        if not t.startswith("kubernetes:") and t not in IDENTITY and t not in NO_PHYSICAL_NAME
    }
    assert unknown == set(), "decide what names each of these in the cloud, then add it to IDENTITY"


def test_no_two_resources_of_a_type_share_a_physical_name(any_plan: Plan) -> None:
    assert collisions(any_plan.resources) == []


def test_the_kms_aliases_differ(env_plan: Plan) -> None:
    names = sorted(alias["inputs"]["name"] for alias in env_plan.of_type("aws:kms/alias:Alias"))
    stack = env_plan.stack
    assert names == [f"alias/pyairtable-{stack}-{key}" for key in ("datastores", "eks-secrets", "logs", "secrets")]


def test_a_planted_alias_collision_is_found(env_plan: Plan) -> None:
    resources = copy.deepcopy(env_plan.resources)
    first, second, *_ = (r for r in resources if r["type"] == "aws:kms/alias:Alias")
    second["inputs"]["name"] = first["inputs"]["name"]
    assert collisions(resources) == [
        f"aws:kms/alias:Alias ('name', {first['inputs']['name']!r}): {[first['name'], second['name']]}"
    ]


@pytest.mark.parametrize("stack", ["org", "prod"])
def test_a_planted_duplicate_of_every_named_resource_is_found(stack: str) -> None:
    """Each rule works: a copy of any resource with a physical name (new logical name) collides."""
    plan = stack_plan(stack)
    checked = set()
    for resource in plan.resources:
        if resource["type"] in checked or not resource["custom"] or resource["type"].startswith("pulumi:providers:"):
            continue
        if identity_of(resource) is None:
            continue
        twin = {**copy.deepcopy(resource), "name": f"{resource['name']}-twin", "urn": f"{resource['urn']}-twin"}
        assert len(collisions([*plan.resources, twin])) == 1, resource["type"]
        checked.add(resource["type"])
    assert len(checked) >= (10 if stack == "org" else 20)


def _config_map(name: str, namespace: str) -> dict[str, Any]:
    return {
        "type": "kubernetes:core/v1:ConfigMap",
        "name": f"{namespace}-{name}",
        "custom": True,
        "inputs": {"metadata": {"name": name, "namespace": namespace}},
    }


def test_namespaced_kubernetes_objects_of_one_name_in_two_namespaces_do_not_collide() -> None:
    assert collisions([_config_map("a", "x"), _config_map("a", "y")]) == []
    assert len(collisions([_config_map("a", "x"), {**_config_map("a", "x"), "name": "other"}])) == 1

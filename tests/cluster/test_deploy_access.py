"""Deploy access: one role per deployable service, trusted by its repository alone, bound to its namespace alone.

The RBAC rules the plan declares are evaluated here the way the API server's RBAC authorizer does
(verbs, API groups, resources and namespaces of every Role/ClusterRole reachable from a group's
bindings), so "one repository cannot touch another's namespace or any Secret" is a computed fact.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel

from components.cluster.deploy_access import deploy_group, deploy_subjects, github_oidc_provider_arn
from components.cluster.settings import DeploySubjects
from components.config.stack_file import environment_configs
from components.shared.catalog import load_catalog
from components.shared.naming import (
    legacy_deploy_subject,
    pinned_deploy_subject,
    service_deploy_role_arn,
    service_deploy_role_name,
)
from tests.conftest import stack_plan
from tools.plan import Plan

WRITE = ("create", "update", "patch", "delete")


def rbac_objects(resources: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Roles, ClusterRoles and their bindings of a plan's resources, as Kubernetes objects."""
    kinds = {
        "kubernetes:rbac.authorization.k8s.io/v1:Role": "Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "RoleBinding",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "ClusterRoleBinding",
    }
    objects: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds.values()}
    for resource in resources:
        if resource["type"] in kinds:
            objects[kinds[resource["type"]]].append(resource["inputs"])
    return objects


def _matches(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def allowed(
    objects: Mapping[str, list[dict[str, Any]]], group: str, verb: str, api_group: str, resource: str, *, namespace: str
) -> bool:
    """Whether a member of Kubernetes group `group` may `verb` the `resource` (`pods/exec`: a subresource)
    of `api_group` in `namespace`, by the declared RBAC (the authorizer is allow-only)."""

    def subject_is_group(binding: Mapping[str, Any]) -> bool:
        return any(s["kind"] == "Group" and s["name"] == group for s in binding.get("subjects", []))

    def rules_of(kind: str, name: str, role_namespace: str | None) -> list[dict[str, Any]]:
        found = [
            role
            for role in objects[kind]
            if role["metadata"]["name"] == name
            and (kind == "ClusterRole" or role["metadata"]["namespace"] == role_namespace)
        ]
        return [rule for role in found for rule in role.get("rules", [])]

    rules: list[dict[str, Any]] = []
    for binding in objects["ClusterRoleBinding"]:
        if subject_is_group(binding):
            rules += rules_of("ClusterRole", binding["roleRef"]["name"], None)
    for binding in objects["RoleBinding"]:
        if subject_is_group(binding) and binding["metadata"]["namespace"] == namespace:
            ref = binding["roleRef"]
            rules += rules_of(ref["kind"], ref["name"], namespace)
    return any(
        _matches(rule.get("verbs", []), verb)
        and _matches(rule.get("apiGroups", []), api_group)
        and _matches(rule.get("resources", []), resource)
        for rule in rules
    )


def admits(expression: str, spec: dict[str, Any]) -> bool:
    """Whether the CEL `expression` admits a Service with this `spec` (core CEL, as the API server runs it)."""
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    return bool(program.evaluate({"object": json_to_cel({"spec": spec})}))


def test_no_github_oidc_provider_is_declared_its_arn_is_built(env_plan: Plan) -> None:
    """The bootstrap project owns the account's one GitHub OIDC provider; no invoke looks it up."""
    providers = [p["inputs"]["url"] for p in env_plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")]
    assert "https://token.actions.githubusercontent.com" not in providers
    account = environment_configs()[env_plan.stack].aws_account_id
    assert github_oidc_provider_arn(account) == (
        f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    )


def test_one_role_per_deployable_service_trusted_by_its_repository_alone(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    catalog = load_catalog()
    roles = {r["inputs"].get("name"): r["inputs"] for r in env_plan.of_type("aws:iam/role:Role")}
    for service in catalog.deployable:
        role = roles[service_deploy_role_name(env_plan.stack, service.name)]
        [statement] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": github_oidc_provider_arn(config.aws_account_id)}
        assert list(statement["Condition"]) == ["StringEquals"], "no wildcard (StringLike) subjects"
        assert statement["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [
                legacy_deploy_subject(catalog.organization, service.repository, env_plan.stack),
                pinned_deploy_subject(catalog.organization, service.repository, env_plan.stack),
            ],
        }
        others = [s.repository for s in catalog.services if s.name != service.name]
        assert not [other for other in others if f"/{other}:" in role["assumeRolePolicy"]]
    deploy_roles = [name for name in roles if name and "-deploy-" in name]
    assert len(deploy_roles) == len(catalog.deployable)
    assert env_plan.outputs["deployRoleArns"] == {
        s.name: f"arn:aws:mock:::role/{service_deploy_role_name(env_plan.stack, s.name)}" for s in catalog.deployable
    }
    assert service_deploy_role_arn(config.aws_account_id, env_plan.stack, "auth").endswith(
        service_deploy_role_name(env_plan.stack, "auth")
    )


def test_after_the_switch_only_the_pinned_subject_is_trusted() -> None:
    assert deploy_subjects("pyairtable", "pyairtable-auth", "prod", DeploySubjects.PINNED) == [
        pinned_deploy_subject("pyairtable", "pyairtable-auth", "prod")
    ]
    both = deploy_subjects("pyairtable", "pyairtable-auth", "prod", DeploySubjects.LEGACY_AND_PINNED)
    assert both == [legacy_deploy_subject("pyairtable", "pyairtable-auth", "prod"), both[1]]
    assert both[1].endswith(
        ":job_workflow_ref:pyairtable/pyairtable-infra/.github/workflows/deploy.yml@refs/heads/main"
    )


def test_deploy_roles_may_only_describe_their_cluster(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    cluster_arn = f"arn:aws:eks:{config.aws_region}:{config.aws_account_id}:cluster/pyairtable-{env_plan.stack}"
    for service in load_catalog().deployable:
        [policy] = [
            p
            for p in env_plan.of_type("aws:iam/rolePolicy:RolePolicy")
            if p["name"] == f"deploy-{service.name}-describe-cluster"
        ]
        assert json.loads(policy["inputs"]["policy"])["Statement"] == [
            {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn}
        ]
    attachments = [a["inputs"]["role"] for a in env_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert not [role for role in attachments if "-deploy-" in role]


def test_access_entries_map_each_deploy_role_to_its_group_and_nothing_else(env_plan: Plan) -> None:
    """No EKS access policy (AmazonEKSEditPolicy reads Secrets, execs, edits NetworkPolicies): a group only."""
    deploy_arns = env_plan.outputs["deployRoleArns"]
    entries = {e["inputs"]["principalArn"]: e["inputs"] for e in env_plan.of_type("aws:eks/accessEntry:AccessEntry")}
    associations = {
        a["inputs"]["principalArn"] for a in env_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    for service, arn in deploy_arns.items():
        assert entries[arn]["kubernetesGroups"] == [deploy_group(service)]
        assert entries[arn]["type"] == "STANDARD"
        assert arn not in associations


def test_one_repository_cannot_touch_another_namespace_or_any_secret(env_plan: Plan) -> None:
    objects = rbac_objects(env_plan.resources)
    services = load_catalog().deployable
    for service in services:
        group = deploy_group(service.name)
        own = service.namespace
        # What a deploy needs, in its own namespace.
        for api_group, resource in [
            ("apps", "deployments"),
            ("", "services"),
            ("", "configmaps"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
        ]:
            assert all(allowed(objects, group, verb, api_group, resource, namespace=own) for verb in WRITE), (
                service.name,
                resource,
            )
        assert allowed(objects, group, "watch", "apps", "replicasets", namespace=own), "rollout status"
        # Nothing more there.
        for verb, api_group, resource in [
            ("get", "", "secrets"),
            ("list", "", "secrets"),
            ("create", "", "pods/exec"),
            ("create", "", "pods/portforward"),
            ("create", "", "pods/attach"),
            ("update", "networking.k8s.io", "networkpolicies"),
            ("delete", "networking.k8s.io", "networkpolicies"),
            ("create", "rbac.authorization.k8s.io", "rolebindings"),
            ("create", "", "serviceaccounts"),
        ]:
            assert not allowed(objects, group, verb, api_group, resource, namespace=own), (service.name, verb, resource)
        # Nothing at all anywhere else.
        for other in [s.namespace for s in services if s.name != service.name] + ["monitoring", "kube-system"]:
            for api_group, resource in [("apps", "deployments"), ("", "services"), ("", "configmaps"), ("", "secrets")]:
                assert not any(
                    allowed(objects, group, verb, api_group, resource, namespace=other) for verb in ("get", *WRITE)
                )


def test_the_evaluator_sees_a_planted_secret_grant() -> None:
    """The RBAC evaluation can fail: a Secret-reading rule added to one deploy Role is found."""
    resources = copy.deepcopy(stack_plan("dev").resources)
    [role] = [
        r
        for r in resources
        if r["type"] == "kubernetes:rbac.authorization.k8s.io/v1:Role"
        and r["inputs"]["metadata"] == {"name": "deploy", "namespace": "auth"}
    ]
    role["inputs"]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    objects = rbac_objects(resources)
    assert allowed(objects, deploy_group("auth"), "get", "", "secrets", namespace="auth")
    assert not allowed(objects, deploy_group("analytics"), "get", "", "secrets", namespace="auth")


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_exposed_service_types_are_refused_in_service_namespaces(env_plan: Plan, service_type: str) -> None:
    """RBAC cannot restrict a Service's type: a ValidatingAdmissionPolicy does (its CEL evaluated here)."""
    policy = env_plan.one(
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", "namespaces-service-types"
    )["inputs"]
    binding = env_plan.one(
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding", "namespaces-service-types"
    )["inputs"]
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    selector = {"matchLabels": {"pyairtable.io/service-namespace": "true"}}
    assert binding["spec"]["matchResources"]["namespaceSelector"] == selector
    assert policy["spec"]["matchConstraints"]["namespaceSelector"] == selector
    [rule] = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["services"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
    [validation] = policy["spec"]["validations"]
    assert admits(validation["expression"], {}) and admits(validation["expression"], {"type": "ClusterIP"})
    assert not admits(validation["expression"], {"type": service_type})

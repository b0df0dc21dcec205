"""External Secrets Operator: the pinned chart and its values, IRSA, the store, CRD ordering, and
every ESO custom resource and Helm value checked against the upstream CRDs and chart files."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import pytest

from components.config.stack_file import environment_configs
from components.datastores.reloader import NAMESPACE as RELOADER_NAMESPACE
from components.datastores.rotation import NAMESPACE as DATASTORES_NAMESPACE
from components.secrets.operator import CHART_VERSION, CLUSTER_SECRET_STORE, NAMESPACE, SERVICE_ACCOUNT
from tests.conftest import helm_release, stack_plan
from tests.reference import values_schema
from tests.schemas import OpenValues, crd_errors, dig, reference_yaml, schema_errors, unknown_value_paths
from tools.plan import Plan

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
RESOURCE_KEYS = ("resources", "webhook.resources", "certController.resources")
CRDS = "external-secrets"
"""The reference folder of the ESO chart and its CRDs."""
# The chart's convention: a key whose default is an empty map (podAnnotations, serviceAccount.annotations,
# resources, ...) is free-form: its children are the user's, not the chart's.
OPEN_VALUES = OpenValues(empty_default_maps=True)


def _role(plan: Plan) -> dict[str, Any]:
    return plan.one(ROLE, "external-secrets-role")


def _policy(plan: Plan) -> dict[str, Any]:
    return plan.one(ROLE_POLICY, "external-secrets-read-secrets")


def _secrets_key_arn(plan: Plan) -> str:
    """The mocked ARN of the SecretsKey component's KMS key (not the cluster's own key)."""
    return f"arn:aws:mock:::key/{plan.one('aws:kms/key:Key', 'secrets-key-key')['name']}"


# --- upstream schemas -------------------------------------------------------------------------


@cache
def chart_values_schema() -> jsonschema.Draft202012Validator:
    """The external-secrets chart's values.schema.json."""
    return jsonschema.Draft202012Validator(values_schema("external-secrets"))


def chart_default_values() -> dict[str, Any]:
    """The external-secrets chart's values.yaml."""
    return reference_yaml("external-secrets/values.yaml")


def values_errors(values: dict[str, Any]) -> list[str]:
    """Schema errors plus unknown key paths of a set of chart values."""
    errors = [f"schema: {error}" for error in schema_errors(chart_values_schema(), values)]
    unknown = unknown_value_paths(values, [chart_default_values()], OPEN_VALUES)
    return errors + [f"unknown key {path}" for path in unknown]


# --- the release -------------------------------------------------------------------------------


def test_release_is_the_pinned_chart_in_its_own_namespace(env_plan: Plan) -> None:
    release = helm_release(env_plan, "external-secrets")["inputs"]
    assert release["chart"] == "external-secrets"
    assert release["version"] == CHART_VERSION == "2.9.0"
    assert release["repositoryOpts"] == {"repo": "https://charts.external-secrets.io"}
    assert release["namespace"] == NAMESPACE == "external-secrets"
    assert (
        env_plan.one("kubernetes:core/v1:Namespace", "external-secrets-namespace")["inputs"]["metadata"]["name"]
        == NAMESPACE
    )
    assert release["values"]["installCRDs"] is True
    # A replaced or removed release leaves the CRDs, and with them every ExternalSecret, in place.
    assert release["values"]["crds"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert helm_release(env_plan, "external-secrets")["options"]["protect"] is (env_plan.stack == "prod")
    namespace = env_plan.one("kubernetes:core/v1:Namespace", "external-secrets-namespace")
    assert namespace["options"]["protect"] is (env_plan.stack == "prod")
    assert namespace["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pinned_version_is_the_reference_chart() -> None:
    chart = reference_yaml("external-secrets/Chart.yaml")
    assert chart["version"] == CHART_VERSION


def test_every_eso_pod_has_requests_and_limits(env_plan: Plan) -> None:
    values = helm_release(env_plan, "external-secrets")["inputs"]["values"]
    for dotted in RESOURCE_KEYS:
        resources = dig(values, dotted)
        for kind in ("requests", "limits"):
            assert set(resources[kind]) == {"cpu", "memory"}, f"{dotted}.{kind}"


def test_helm_values_match_the_chart(env_plan: Plan) -> None:
    assert values_errors(helm_release(env_plan, "external-secrets")["inputs"]["values"]) == []


def test_reference_defaults_pass_the_values_check() -> None:
    assert values_errors(chart_default_values()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda v: v.update(installCrds=True), "unknown key installCrds"),
        (lambda v: v["webhook"].update(resource={}), "unknown key webhook.resource"),
        (lambda v: v["serviceAccount"].update(annotation={}), "unknown key serviceAccount.annotation"),
        (lambda v: v.update(installCRDs="yes"), "schema: installCRDs"),
    ],
)
def test_values_check_catches_a_misspelled_key_or_bad_type(change: Any, expected: str) -> None:
    values = copy.deepcopy(helm_release(stack_plan("dev"), "external-secrets")["inputs"]["values"])
    change(values)
    assert any(error.startswith(expected) for error in values_errors(values)), values_errors(values)


def test_free_form_maps_accept_any_key() -> None:
    values = {"podAnnotations": {"any/key": "x"}, "serviceAccount": {"annotations": {"a/b": "c"}}}
    assert values_errors(values) == []


# --- IRSA ------------------------------------------------------------------------------------


def test_role_trusts_exactly_the_eso_service_account_of_the_clusters_oidc_provider(env_plan: Plan) -> None:
    oidc_provider = env_plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "eks-oidc")
    issuer = oidc_provider["inputs"]["url"].removeprefix("https://")
    assert issuer == f"oidc.eks.mock/id/pyairtable-{env_plan.stack}"  # the mocked cluster's issuer
    trust = json.loads(_role(env_plan)["inputs"]["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Federated": f"arn:aws:mock:::openidconnectprovider/{oidc_provider['name']}"}
    assert statement["Principal"]["Federated"] == env_plan.outputs["oidcProviderArn"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }


def test_service_account_is_annotated_with_the_role(env_plan: Plan) -> None:
    role = _role(env_plan)
    account = helm_release(env_plan, "external-secrets")["inputs"]["values"]["serviceAccount"]
    assert account["name"] == SERVICE_ACCOUNT
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:mock:::role/{role['inputs']['name']}"}


def test_policy_reads_only_this_environments_secrets_with_its_key(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    policy = _policy(env_plan)
    assert policy["inputs"]["role"] == f"{_role(env_plan)['name']}-id"
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in statements] == [
        (
            "Allow",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
            f"arn:aws:secretsmanager:{config.aws_region}:{config.aws_account_id}:secret:pyairtable/{env_plan.stack}/*",
        ),
        ("Allow", "kms:Decrypt", _secrets_key_arn(env_plan)),
    ]


def test_release_waits_for_the_policy(env_plan: Plan) -> None:
    assert _policy(env_plan)["urn"] in helm_release(env_plan, "external-secrets")["options"]["dependsOn"]


# --- the store and CRD ordering ----------------------------------------------------------------


def test_store_reads_secrets_manager_in_the_region_as_the_eso_service_account(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    store = env_plan.one(STORE)["inputs"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["metadata"] == {"name": CLUSTER_SECRET_STORE}
    assert store["spec"]["provider"] == {
        "aws": {
            "service": "SecretsManager",
            "region": config.aws_region,
            "auth": {"jwt": {"serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}},
        }
    }


def test_store_serves_only_the_platform_namespaces(env_plan: Plan) -> None:
    # ESO's own namespace, and the data stores' Job and Reloader, which get no secrets through ESO
    # (the Job reads the RDS master login with its own role: ESO must never serve it).
    namespaces = {r["inputs"]["metadata"]["name"] for r in env_plan.of_type("kubernetes:core/v1:Namespace")} - {
        NAMESPACE,
        DATASTORES_NAMESPACE,
        RELOADER_NAMESPACE,
        "node-exporter",  # runs the node exporter alone, which reads no secrets
    }
    assert env_plan.one(STORE)["inputs"]["spec"]["conditions"] == [{"namespaces": sorted(namespaces)}]
    assert "monitoring" in namespaces


def test_every_eso_custom_resource_depends_on_the_release_that_installs_the_crds(env_plan: Plan) -> None:
    release = helm_release(env_plan, "external-secrets")["urn"]
    store = env_plan.one(STORE)
    assert release in store["options"]["dependsOn"]
    external_secrets = env_plan.of_type(EXTERNAL_SECRET)
    assert external_secrets
    for external_secret in external_secrets:
        assert release in external_secret["options"]["dependsOn"], external_secret["name"]
        assert store["urn"] in external_secret["options"]["dependsOn"], external_secret["name"]
    assert all(r["type"] in (STORE, EXTERNAL_SECRET) for r in env_plan.resources if "external-secrets.io" in r["type"])


# --- CRD schemas -------------------------------------------------------------------------------


def test_every_eso_custom_resource_matches_its_upstream_crd(env_plan: Plan) -> None:
    custom_resources = env_plan.of_type(STORE) + env_plan.of_type(EXTERNAL_SECRET)
    assert len(custom_resources) >= 3
    for resource in custom_resources:
        assert crd_errors(CRDS, resource["inputs"]) == [], resource["name"]


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("ExternalSecret", lambda m: m["spec"].update(refreshIntervall="1h"), "Additional properties"),
        ("ExternalSecret", lambda m: m["spec"]["data"][0].pop("secretKey"), "'secretKey' is a required property"),
        ("ExternalSecret", lambda m: m["spec"]["target"].update(deletionPolicy="Keep"), "is not one of"),
        ("ClusterSecretStore", lambda m: m["spec"]["provider"]["aws"].update(service="SecretManager"), "is not one of"),
        ("ClusterSecretStore", lambda m: m["spec"]["provider"]["aws"].pop("region"), "'region' is a required"),
    ],
)
def test_crd_check_catches_a_wrong_field(kind: str, change: Any, expected: str) -> None:
    plan = stack_plan("dev")
    manifest = copy.deepcopy(next(r["inputs"] for r in plan.resources if r["inputs"].get("kind") == kind))
    change(manifest)
    assert any(expected in error for error in crd_errors(CRDS, manifest)), crd_errors(CRDS, manifest)


def test_eso_decrypts_only_through_secrets_manager_in_its_region(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    policy = env_plan.one("aws:iam/rolePolicy:RolePolicy", "external-secrets-read-secrets")["inputs"]["policy"]
    [decrypt] = [s for s in json.loads(policy)["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{config.aws_region}.amazonaws.com"}
    }

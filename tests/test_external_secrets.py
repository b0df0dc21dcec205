"""External Secrets Operator: the pinned chart and its values, IRSA, the store, CRD ordering, and
every ESO custom resource and Helm value checked against the upstream CRDs and chart files."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

from components.catalog import ENVIRONMENTS
from components.config import environment_configs
from components.external_secrets import CHART_VERSION, CLUSTER_SECRET_STORE, NAMESPACE, SERVICE_ACCOUNT
from tools.plan import Plan

from .reference import reference_root
from .secrets_program import OIDC_ISSUER, oidc_provider_arn, secrets_plan

RELEASE = "kubernetes:helm.sh/v3:Release"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
RESOURCE_KEYS = ("resources", "webhook.resources", "certController.resources")


@pytest.fixture(params=ENVIRONMENTS)
def plan(request: pytest.FixtureRequest) -> Plan:
    """The secrets components' plan of each environment in turn."""
    return secrets_plan(request.param)


def _dig(values: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        values = values[part]
    return values


# --- upstream schemas -------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """A CRD's openAPIV3Schema as JSON Schema that refuses unknown fields.

    The API server silently prunes fields a structural schema does not declare, so a misspelled
    field would vanish instead of failing: refusing them here is what the cluster effectively does.
    `x-kubernetes-*` keys are dropped (an object with x-kubernetes-preserve-unknown-fields stays open).
    """
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _strict(value) for key, value in schema.items() if not key.startswith("x-kubernetes-")}
    open_object = schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema
    if "properties" in schema and not open_object:
        result["additionalProperties"] = False
    return result


@cache
def crd_validator(kind: str) -> jsonschema.Draft7Validator:
    """Validator of the `v1` schema of an ESO CRD from the reference data, by kind."""
    for path in sorted((reference_root() / "external-secrets" / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
            assert version["served"] and version["storage"]
            return jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))
    raise AssertionError(f"no CRD for kind {kind}")


def crd_errors(manifest: Mapping[str, Any]) -> list[str]:
    """Schema errors of one custom resource (apiVersion, kind, metadata, spec)."""
    validator = crd_validator(manifest["kind"])
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(dict(manifest))]


@cache
def chart_values_schema() -> jsonschema.Draft202012Validator:
    """The external-secrets chart's values.schema.json."""
    return jsonschema.Draft202012Validator(
        json.loads((reference_root() / "external-secrets" / "values.schema.json").read_text())
    )


@cache
def chart_default_values() -> dict[str, Any]:
    """The external-secrets chart's values.yaml."""
    return yaml.safe_load((reference_root() / "external-secrets" / "values.yaml").read_text())


def unknown_value_paths(values: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Key paths of `values` the chart does not have.

    A key whose default is an empty map (podAnnotations, serviceAccount.annotations, resources, ...)
    is free-form: its children are the user's, not the chart's.
    """
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            yield path
        elif isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            yield from unknown_value_paths(value, defaults[key], f"{path}.")


def values_errors(values: Mapping[str, Any]) -> list[str]:
    """Schema errors plus unknown key paths of a set of chart values."""
    errors = [
        f"schema: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in chart_values_schema().iter_errors(values)
    ]
    return errors + [f"unknown key {path}" for path in unknown_value_paths(values, chart_default_values())]


# --- the release -------------------------------------------------------------------------------


def test_release_is_the_pinned_chart_in_its_own_namespace(plan: Plan) -> None:
    release = plan.one(RELEASE)["inputs"]
    assert release["chart"] == "external-secrets"
    assert release["version"] == CHART_VERSION == "2.9.0"
    assert release["repositoryOpts"] == {"repo": "https://charts.external-secrets.io"}
    assert release["namespace"] == NAMESPACE == "external-secrets"
    assert (
        plan.one("kubernetes:core/v1:Namespace", "external-secrets-namespace")["inputs"]["metadata"]["name"]
        == NAMESPACE
    )
    assert release["values"]["installCRDs"] is True


def test_pinned_version_is_the_reference_chart() -> None:
    chart = yaml.safe_load((reference_root() / "external-secrets" / "Chart.yaml").read_text())
    assert chart["version"] == CHART_VERSION


def test_every_eso_pod_has_requests_and_limits(plan: Plan) -> None:
    values = plan.one(RELEASE)["inputs"]["values"]
    for dotted in RESOURCE_KEYS:
        resources = _dig(values, dotted)
        for kind in ("requests", "limits"):
            assert set(resources[kind]) == {"cpu", "memory"}, f"{dotted}.{kind}"


def test_helm_values_match_the_chart(plan: Plan) -> None:
    assert values_errors(plan.one(RELEASE)["inputs"]["values"]) == []


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
    values = copy.deepcopy(secrets_plan("dev").one(RELEASE)["inputs"]["values"])
    change(values)
    assert any(error.startswith(expected) for error in values_errors(values)), values_errors(values)


def test_free_form_maps_accept_any_key() -> None:
    values = {"podAnnotations": {"any/key": "x"}, "serviceAccount": {"annotations": {"a/b": "c"}}}
    assert values_errors(values) == []


# --- IRSA ------------------------------------------------------------------------------------


def test_role_trusts_exactly_the_eso_service_account(plan: Plan) -> None:
    config = environment_configs()[plan.stack]
    trust = json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Federated": oidc_provider_arn(config)}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC_ISSUER}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_service_account_is_annotated_with_the_role(plan: Plan) -> None:
    role = plan.one("aws:iam/role:Role")
    account = plan.one(RELEASE)["inputs"]["values"]["serviceAccount"]
    assert account["name"] == SERVICE_ACCOUNT
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:mock:::role/{role['inputs']['name']}"}


def test_policy_reads_only_this_environments_secrets_with_its_key(plan: Plan) -> None:
    config = environment_configs()[plan.stack]
    policy = plan.one("aws:iam/rolePolicy:RolePolicy")
    assert policy["inputs"]["role"] == f"{plan.one('aws:iam/role:Role')['name']}-id"
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in statements] == [
        (
            "Allow",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
            f"arn:aws:secretsmanager:{config.aws_region}:{config.aws_account_id}:secret:pyairtable/{plan.stack}/*",
        ),
        ("Allow", "kms:Decrypt", f"arn:aws:mock:::key/{plan.one('aws:kms/key:Key')['name']}"),
    ]


def test_release_waits_for_the_policy(plan: Plan) -> None:
    assert plan.one("aws:iam/rolePolicy:RolePolicy")["urn"] in plan.one(RELEASE)["options"]["dependsOn"]


# --- the store and CRD ordering ----------------------------------------------------------------


def test_store_reads_secrets_manager_in_the_region_as_the_eso_service_account(plan: Plan) -> None:
    config = environment_configs()[plan.stack]
    store = plan.one(STORE)["inputs"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["metadata"] == {"name": CLUSTER_SECRET_STORE}
    assert store["spec"]["provider"] == {
        "aws": {
            "service": "SecretsManager",
            "region": config.aws_region,
            "auth": {"jwt": {"serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}},
        }
    }


def test_store_serves_only_the_platform_namespaces(plan: Plan) -> None:
    namespaces = {r["inputs"]["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")} - {NAMESPACE}
    assert plan.one(STORE)["inputs"]["spec"]["conditions"] == [{"namespaces": sorted(namespaces)}]
    assert "monitoring" in namespaces


def test_every_eso_custom_resource_depends_on_the_release_that_installs_the_crds(plan: Plan) -> None:
    release = plan.one(RELEASE)["urn"]
    store = plan.one(STORE)
    assert release in store["options"]["dependsOn"]
    external_secrets = plan.of_type(EXTERNAL_SECRET)
    assert external_secrets
    for external_secret in external_secrets:
        assert release in external_secret["options"]["dependsOn"], external_secret["name"]
        assert store["urn"] in external_secret["options"]["dependsOn"], external_secret["name"]
    assert all(r["type"] in (STORE, EXTERNAL_SECRET) for r in plan.resources if "external-secrets.io" in r["type"])


# --- CRD schemas -------------------------------------------------------------------------------


def test_every_eso_custom_resource_matches_its_upstream_crd(plan: Plan) -> None:
    custom_resources = plan.of_type(STORE) + plan.of_type(EXTERNAL_SECRET)
    assert len(custom_resources) >= 3
    for resource in custom_resources:
        assert crd_errors(resource["inputs"]) == [], resource["name"]


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
    plan = secrets_plan("dev")
    manifest = copy.deepcopy(next(r["inputs"] for r in plan.resources if r["inputs"].get("kind") == kind))
    change(manifest)
    assert any(expected in error for error in crd_errors(manifest)), crd_errors(manifest)

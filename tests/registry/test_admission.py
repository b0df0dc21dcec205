"""The image admission policy, evaluated with cel-python (core CEL) on sample pods and workloads."""

from __future__ import annotations

import copy
import datetime
from functools import cache
from typing import Any

import celpy
import pytest
from celpy import celtypes
from celpy.adapter import json_to_cel

from components.config.environment import EnvironmentConfig
from components.config.stack_file import environment_configs
from components.registry.admission import POLICY_NAME, TOKEN_EXPIRY_ALERT, validation_actions
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.naming import MONITORING_NAMESPACE, cached_image_repository, image_repository
from tests.conftest import stack_plan
from tools.plan import Plan

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
DIGEST = "@sha256:" + "a1" * 32
CATALOG = load_catalog()


def _config(environment: str) -> EnvironmentConfig:
    return environment_configs()[environment]


def _policy_spec(environment: str) -> dict[str, Any]:
    return stack_plan(environment).one(POLICY, "registry-admission-policy")["inputs"]["spec"]


@cache
def _program(expression: str) -> celpy.Runner:
    """A compiled CEL program (compiling is the slow part; each expression is compiled once)."""
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def admitted(spec: dict[str, Any], obj: dict[str, Any]) -> bool:
    """Evaluate the declared variables in order, then every validation, as the API server does."""
    variables = celtypes.MapType({})
    activation: dict[str, Any] = {"object": json_to_cel(obj)}
    for variable in spec["variables"]:
        value = _program(variable["expression"]).evaluate({**activation, "variables": variables})
        variables[celtypes.StringType(variable["name"])] = value
    activation["variables"] = variables
    results = [_program(validation["expression"]).evaluate(activation) for validation in spec["validations"]]
    assert all(isinstance(result, celtypes.BoolType) for result in results), results
    return all(results)


def pod(*images: str, init: tuple[str, ...] = (), ephemeral: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": image} for i, image in enumerate(init)]
    if ephemeral:
        spec["ephemeralContainers"] = [{"name": f"e{i}", "image": image} for i, image in enumerate(ephemeral)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def deployment(*images: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": pod(*images)["spec"]}}}


def cronjob(*images: str) -> dict[str, Any]:
    template = {"template": {"spec": pod(*images)["spec"]}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": template}}}


def _sample_images(environment: str) -> tuple[list[str], list[str]]:
    config = _config(environment)
    ghcr = image_repository(CATALOG.organization, "gateway")
    cache = cached_image_repository(config.aws_account_id, config.aws_region, CATALOG.organization, "gateway")
    allowed = [
        f"{ghcr}:1.4.2",
        f"{ghcr}:2.0.0-rc.1",
        f"{ghcr}{DIGEST}",
        f"{ghcr}:1.4.2{DIGEST}",
        f"{cache}:1.4.2",
        f"{cache}{DIGEST}",
        f"{cache}:sha-0123456789ab{DIGEST}",  # a dev tag pinned by digest: the digest decides
    ]
    other_account = cached_image_repository("999999999999", config.aws_region, CATALOG.organization, "gateway")
    denied = [
        f"{ghcr}:latest",
        f"{ghcr}:main",
        f"{ghcr}:sha-0123456789ab",
        f"{ghcr}:v1.4.2",
        f"{ghcr}:1.4",
        ghcr,
        f"{cache}:latest",
        "ghcr.io/someone-else/gateway:1.4.2",
        "ghcr.io/pyairtable-evil/gateway:1.4.2",
        "docker.io/library/nginx:1.27.0",
        "nginx:1.27.0",
        f"evil.example/{ghcr}:1.4.2",
        "ghcrXio/pyairtable/gateway:1.4.2",
        f"{other_account}:1.4.2",
        f"{ghcr}{DIGEST[:-1]}",
        f"{ghcr}:1.4.2@sha256:XYZ",
    ]
    return allowed, denied


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_organizations_releases_and_digests_are_admitted(environment: str) -> None:
    spec = _policy_spec(environment)
    allowed, _ = _sample_images(environment)
    for image in allowed:
        assert admitted(spec, pod(image)), image
        assert admitted(spec, deployment(image)), image
        assert admitted(spec, cronjob(image)), image


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_everything_else_is_refused(environment: str) -> None:
    spec = _policy_spec(environment)
    allowed, denied = _sample_images(environment)
    for image in denied:
        assert not admitted(spec, pod(image)), image
        assert not admitted(spec, deployment(allowed[0], image)), image
        assert not admitted(spec, cronjob(image)), image


def test_init_and_ephemeral_containers_are_checked_too() -> None:
    spec = _policy_spec("prod")
    allowed, denied = _sample_images("prod")
    assert admitted(spec, pod(allowed[0], init=(allowed[2],), ephemeral=(allowed[4],)))
    assert not admitted(spec, pod(allowed[0], init=(denied[0],)))
    assert not admitted(spec, pod(allowed[0], ephemeral=(denied[-1],)))


def test_the_policy_matches_pods_and_every_workload_that_makes_them() -> None:
    rules = _policy_spec("staging")["matchConstraints"]["resourceRules"]
    resources = {(group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]}
    assert {("", "pods"), ("", "pods/ephemeralcontainers"), ("apps", "deployments"), ("batch", "cronjobs")} <= resources
    assert all(set(rule["operations"]) == {"CREATE", "UPDATE"} for rule in rules)
    assert _policy_spec("staging")["failurePolicy"] == "Fail"


def test_a_cache_path_of_another_environment_is_refused() -> None:
    staging = _config("staging")
    prod_spec = _policy_spec("prod")
    staging_cache = cached_image_repository(staging.aws_account_id, staging.aws_region, CATALOG.organization, "ai")
    if staging.aws_account_id != _config("prod").aws_account_id:
        assert not admitted(prod_spec, pod(f"{staging_cache}:1.0.0"))


def test_a_guard_catches_a_loosened_expression() -> None:
    # A planted policy without the tag rule admits `latest`: the sample pods would catch the change.
    spec = copy.deepcopy(_policy_spec("prod"))
    spec["validations"][0]["expression"] = "variables.images.all(image, image.startsWith('ghcr.io/pyairtable/'))"
    assert admitted(spec, pod("ghcr.io/pyairtable/gateway:latest"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dev_warns_staging_and_prod_deny_in_the_service_namespaces(environment: str) -> None:
    plan: Plan = stack_plan(environment)
    binding = plan.one(BINDING, "registry-admission-binding")
    spec = binding["inputs"]["spec"]
    expected = ["Warn", "Audit"] if environment == "dev" else ["Deny", "Audit"]
    assert spec["validationActions"] == expected == validation_actions(environment)
    policy = plan.one(POLICY, "registry-admission-policy")
    assert spec["policyName"] == POLICY_NAME == policy["inputs"]["metadata"]["name"]
    (selector,) = spec["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert selector["key"] == "kubernetes.io/metadata.name" and selector["operator"] == "In"
    assert selector["values"] == sorted(service.namespace for service in CATALOG.deployable)
    assert policy["urn"] in binding["options"]["dependsOn"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_token_expiry_alert_fires_from_the_warning_day(environment: str) -> None:
    config = _config(environment).registry
    rule = stack_plan(environment).one(PROMETHEUS_RULE, "registry-admission-token-expiry")
    assert rule["inputs"]["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert rule["inputs"]["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    (alert,) = rule["inputs"]["spec"]["groups"][0]["rules"]
    assert alert["alert"] == TOKEN_EXPIRY_ALERT
    warn_from = datetime.datetime.combine(
        config.token_expires_on - datetime.timedelta(days=config.expiry_warning_days), datetime.time(), datetime.UTC
    )
    assert alert["expr"] == f"vector(time()) > {int(warn_from.timestamp())}"
    assert any("monitoring-release" in urn for urn in rule["options"]["dependsOn"])

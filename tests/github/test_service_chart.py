"""The service defaults chart (github/deploy/service), rendered offline for every deployable service:
its objects follow the platform's contracts (labels, the `http` port, probes, budgets, autoscaling)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.github.files import DEPLOY_SOURCE_DIR, SERVICE_CHART_VALUES, deploy_files, with_catalog_ports
from components.observability.rules import METRICS_PORT_NAME, SERVICE_NAME_LABEL
from components.shared.catalog import Service, load_catalog
from components.shared.errors import ConfigError
from components.traffic.ingress import HEALTH_CHECK_PATH
from tests.chart_template import TemplateError, render_chart, render_template

DEPLOYABLE = load_catalog().deployable
CHART = DEPLOY_SOURCE_DIR / "service"
DIGEST = f"sha256:{'0' * 64}"


def seeded_ports() -> dict[str, int]:
    """The `ports` of the chart's values as the org stack seeds them."""
    return yaml.safe_load(with_catalog_ports(deploy_files(), load_catalog())[SERVICE_CHART_VALUES])["ports"]


def render(service: Service, **overrides: Any) -> dict[str, dict[str, Any]]:
    """The chart rendered as the deploy workflow renders it for `service`, by kind."""
    # What the deploy workflow sets (--set-string image.repository, image.digest, environment).
    image = {
        "repository": f"111111111111.dkr.ecr.us-east-1.amazonaws.com/ghcr/pyairtable/{service.name}",
        "digest": DIGEST,
    }
    values = {"image": image, "environment": "dev", "ports": seeded_ports(), **overrides}
    manifests = render_chart(CHART, service.name, service.namespace, values)
    by_kind = {manifest["kind"]: manifest for manifest in manifests}
    assert len(by_kind) == len(manifests)
    return by_kind


@pytest.mark.parametrize("service", DEPLOYABLE, ids=lambda service: service.name)
def test_chart_renders_the_four_defaults_in_the_services_namespace(service: Service) -> None:
    objects = render(service)
    assert set(objects) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for manifest in objects.values():
        assert manifest["metadata"]["name"] == service.name
        assert manifest["metadata"]["namespace"] == service.namespace
        assert manifest["metadata"]["labels"][SERVICE_NAME_LABEL] == service.name


@pytest.mark.parametrize("service", DEPLOYABLE, ids=lambda service: service.name)
def test_selectors_match_the_pods_and_the_platform_contracts(service: Service) -> None:
    objects = render(service)
    deployment, pod_service = objects["Deployment"], objects["Service"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = {SERVICE_NAME_LABEL: service.name}
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert pod_labels == {**selector, "pyairtable.io/environment": "dev"}
    assert pod_service["spec"]["selector"] == selector
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    # ServiceMonitor and the load balancer's NetworkPolicy: port `http` = the catalog port; ClusterIP only.
    assert pod_service["spec"]["type"] == "ClusterIP"
    assert pod_service["spec"]["ports"] == [
        {"name": METRICS_PORT_NAME, "port": service.port, "targetPort": METRICS_PORT_NAME, "protocol": "TCP"}
    ]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": METRICS_PORT_NAME, "containerPort": service.port, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH_CHECK_PATH, "port": METRICS_PORT_NAME}
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}


def test_pods_have_requests_restricted_security_zone_spread_and_no_fixed_replicas() -> None:
    deployment = render(DEPLOYABLE[0])["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == DEPLOYABLE[0].name
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    # The HPA owns the replica count; a fixed one would reset it on every deploy.
    assert "replicas" not in deployment["spec"]


def test_budget_and_autoscaler_keep_at_least_one_pod_per_disruption() -> None:
    objects = render(DEPLOYABLE[0])
    hpa, budget = objects["HorizontalPodAutoscaler"]["spec"], objects["PodDisruptionBudget"]["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
    assert budget["maxUnavailable"] < hpa["minReplicas"]


def test_a_service_may_override_a_default() -> None:
    spec = render(DEPLOYABLE[0], autoscaling={"minReplicas": 3, "maxReplicas": 9, "targetCPUUtilizationPercentage": 60})
    assert spec["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 9


def test_the_renderer_refuses_a_missing_image_unknown_values_and_unsupported_constructs() -> None:
    with pytest.raises(TemplateError, match=r"image\.digest is required"):
        render(DEPLOYABLE[0], image={"repository": "r", "digest": ""})
    with pytest.raises(TemplateError, match="index: no key 'newcomer'"):
        render_chart(
            CHART, "newcomer", "newcomer", {"image": {"repository": "r", "digest": DIGEST}, "ports": seeded_ports()}
        )
    context = {"Values": {"port": 1}, "Release": {"Name": "x"}}
    with pytest.raises(TemplateError, match=r"undefined value \.Values\.prot"):
        render_template("{{ .Values.prot }}", context)
    with pytest.raises(TemplateError, match="unsupported template construct 'if'"):
        render_template("{{ if .Values.port }}x{{ end }}", context)
    assert render_template("a:\n  {{- toYaml .Values | nindent 2 }}", context) == "a:\n  port: 1"


def test_the_org_stack_seeds_the_chart_into_the_infra_repository() -> None:
    files = deploy_files()
    chart = {"Chart.yaml", "values.yaml", "templates/deployment.yaml", "templates/service.yaml"}
    assert {f"deploy/service/{path}" for path in chart} <= set(files)


def test_the_seeded_ports_are_the_catalogs() -> None:
    assert yaml.safe_load((CHART / "values.yaml").read_text())["ports"] == {}
    assert seeded_ports() == {service.name: service.port for service in DEPLOYABLE}
    with pytest.raises(ConfigError, match=r"needs the line 'ports: \{\}'"):
        with_catalog_ports({SERVICE_CHART_VALUES: "ports:\n  gateway: 1\n"}, load_catalog())


def test_the_image_is_pinned_by_digest_from_the_workflows_values() -> None:
    [container] = render(DEPLOYABLE[0])["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(f"/{DEPLOYABLE[0].name}@{DIGEST}")

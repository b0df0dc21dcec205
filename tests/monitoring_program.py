"""Plans of the Monitoring component on its own, for each environment (the lead wires it into __main__.py)."""

from __future__ import annotations

from functools import cache

import pulumi
import pulumi_kubernetes as k8s

from components.catalog import load_catalog
from components.config import EnvironmentConfig, read_stack_config
from components.monitoring import MONITORING_NAMESPACE, Monitoring, MonitoringArgs
from tools.plan import Plan, build_plan

GRAFANA_ADMIN_SECRET = "grafana-admin"
ALERTMANAGER_SECRET = "alertmanager-receivers"
STORAGE_CLASS = "gp3"


def monitoring_program(rotation: str = "rotation-1", namespace_keys: tuple[str, ...] | None = None):
    """A program declaring what the other components would hand Monitoring, then Monitoring itself."""

    def program() -> None:
        config = read_stack_config()
        assert isinstance(config, EnvironmentConfig)
        catalog = load_catalog()
        provider = k8s.Provider("k8s", kubeconfig="{}")
        keys = namespace_keys or (MONITORING_NAMESPACE, *(service.name for service in catalog.deployable))
        namespaces = {
            key: k8s.core.v1.Namespace(
                f"namespace-{key}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=key, labels={"kubernetes.io/metadata.name": key}),
                opts=pulumi.ResourceOptions(provider=provider),
            )
            for key in keys
        }
        secrets_ready = [
            k8s.apiextensions.CustomResource(
                f"external-secret-{secret}",
                api_version="external-secrets.io/v1",
                kind="ExternalSecret",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=secret, namespace=MONITORING_NAMESPACE),
                spec={"target": {"name": secret}},
                opts=pulumi.ResourceOptions(provider=provider),
            )
            for secret in (GRAFANA_ADMIN_SECRET, ALERTMANAGER_SECRET)
        ]
        Monitoring(
            "monitoring",
            MonitoringArgs(
                config=config,
                catalog=catalog,
                kubernetes_provider=provider,
                namespaces=namespaces,
                storage_class_name=STORAGE_CLASS,
                grafana_admin_secret_name=GRAFANA_ADMIN_SECRET,
                alertmanager_secret_name=ALERTMANAGER_SECRET,
                grafana_admin_rotation=rotation,
                secrets_ready=secrets_ready,
            ),
        )

    return program


@cache
def monitoring_plan(environment: str, rotation: str = "rotation-1") -> Plan:
    """The plan of the Monitoring component for one environment (cached: deterministic)."""
    return build_plan(environment, program=monitoring_program(rotation))


RELEASE = "kubernetes:helm.sh/v3:Release"
CUSTOM_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


def release_values(plan: Plan) -> dict:
    """The Helm values of the release, as the engine receives them."""
    return plan.one(RELEASE)["inputs"]["values"]


def prometheus_objects(plan: Plan) -> list[dict]:
    """Every ServiceMonitor, PodMonitor and PrometheusRule the plan declares, as Kubernetes objects."""
    return [
        {key: resource["inputs"][key] for key in ("apiVersion", "kind", "metadata", "spec")}
        | {"options": resource["options"], "provider": resource["provider"]}
        for resource in plan.resources
        if resource["type"].startswith("kubernetes:monitoring.coreos.com/v1:")
    ]

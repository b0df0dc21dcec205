"""Monitoring: kube-prometheus-stack on the cluster, the services' ServiceMonitors, SLO rules and dashboards.

The chart is installed by Helm into the `monitoring` namespace (created by the namespaces component).
Its values are built by `monitoring_values`, a pure function, so tests can check every key against
the chart's upstream values.yaml and every selector against the objects declared here.

Grafana's admin credentials come from a Secret synced by ESO (`admin.existingSecret`), so the chart
never creates or uses a default password. Grafana applies GF_SECURITY_ADMIN_PASSWORD only when it
creates its database, so rotation takes effect in two steps: the rotation marker is a pod annotation
(a new marker rolls the pods, which read the new Secret value), and a postStart hook resets the admin
password from that variable (for a database that outlives the pod).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.config.environment import AlertReceiver, EnvironmentConfig
from components.observability.control_plane import (
    CONTROL_PLANE_TARGETS,
    PROMETHEUS_SERVICE_ACCOUNT,
    control_plane_rbac_rules,
    control_plane_service_monitor_spec,
    eks_values,
)
from components.observability.rules import (
    CAPACITY_TYPE_LABEL,
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    RELEASE_NAME,
    SELECTION_LABELS,
    dashboards,
    platform_rule_spec,
    service_monitor_spec,
    slo_rule_spec,
)
from components.shared.catalog import Catalog
from components.shared.errors import ConfigError
from components.shared.naming import MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE, PROD_ENVIRONMENT

CHART = "kube-prometheus-stack"
CHART_VERSION = "88.5.3"
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
CRD_JOB_BUSYBOX_TAG = "1.37.0"
"""busybox image of the chart's CRD upgrade job (the chart defaults to `latest`)."""

ALERTMANAGER_SECRETS_PATH = "/etc/alertmanager/secrets"
"""Where the operator mounts each Secret listed in alertmanagerSpec.secrets (as <path>/<secret>/<key>)."""

ROTATION_ANNOTATION = "pyairtable.io/grafana-admin-rotation"
"""Grafana pod annotation holding the rotation marker: a new value rolls the Grafana pods."""

# Runs in the Grafana container after it starts: set the admin password from the variable the chart
# fills from admin.existingSecret. The password goes through stdin, never the process list. The CLI
# retries while the server is still creating or migrating its database at first start.
ADMIN_PASSWORD_RESET_SCRIPT = """\
attempt=0
until printf '%s' "$GF_SECURITY_ADMIN_PASSWORD" | grafana cli --homepath "$GF_PATHS_HOME" \
--config "$GF_PATHS_CONFIG" admin reset-admin-password --password-from-stdin; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then exit 1; fi
  sleep 2
done
"""


def _resources(request_cpu: str, request_memory: str, limit_cpu: str, limit_memory: str) -> dict[str, dict[str, str]]:
    return {
        "requests": {"cpu": request_cpu, "memory": request_memory},
        "limits": {"cpu": limit_cpu, "memory": limit_memory},
    }


# Requests sized from the chart's typical use on a cluster of a few nodes and ~10 services; limits
# leave headroom for compaction and dashboard bursts. Prometheus memory grows with series, not with
# retention, so every environment gets the same size.
COMPONENT_RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "prometheus": _resources("200m", "1Gi", "1", "2Gi"),
    "alertmanager": _resources("20m", "64Mi", "100m", "128Mi"),
    "operator": _resources("50m", "128Mi", "200m", "256Mi"),
    "config-reloader": _resources("10m", "32Mi", "100m", "64Mi"),
    "webhook-patch-job": _resources("10m", "32Mi", "100m", "64Mi"),
    "grafana": _resources("50m", "256Mi", "500m", "512Mi"),
    "grafana-sidecars": _resources("10m", "64Mi", "100m", "128Mi"),
    "kube-state-metrics": _resources("20m", "64Mi", "200m", "256Mi"),
    "node-exporter": _resources("10m", "32Mi", "200m", "64Mi"),
}
"""Requests and limits of every container the chart runs (tests check each is placed in the values)."""

# Prometheus deletes the oldest blocks beyond this share of the volume, so it never fills the disk
# with the time-based retention alone (the alert in observability.py fires below 15% free).
RETENTION_SIZE_SHARE = 0.85


def _receiver(receiver: AlertReceiver, secret_name: str) -> dict[str, Any]:
    """An Alertmanager receiver reading its URL (or PagerDuty routing key) from the mounted Secret."""
    secret_file = f"{ALERTMANAGER_SECRETS_PATH}/{secret_name}/{receiver.name}-url"
    if receiver.kind == "slack":
        return {"name": receiver.name, "slack_configs": [{"api_url_file": secret_file, "send_resolved": True}]}
    if receiver.kind == "webhook":
        return {"name": receiver.name, "webhook_configs": [{"url_file": secret_file, "send_resolved": True}]}
    return {"name": receiver.name, "pagerduty_configs": [{"routing_key_file": secret_file, "send_resolved": True}]}


def alertmanager_config(receivers: Sequence[AlertReceiver], secret_name: str) -> dict[str, Any]:
    """Alertmanager's configuration: pages (severity critical) go to PagerDuty receivers, everything to the others.

    Without a PagerDuty receiver, pages go to every receiver. The `null` receiver swallows the
    chart's always-firing Watchdog and InfoInhibitor alerts.
    """
    pagers = [receiver for receiver in receivers if receiver.kind == "pagerduty"]
    notifiers = [receiver for receiver in receivers if receiver.kind != "pagerduty"]
    routes: list[dict[str, Any]] = [{"receiver": "null", "matchers": ['alertname =~ "Watchdog|InfoInhibitor"']}]
    routes += [{"receiver": r.name, "matchers": ['severity = "critical"'], "continue": True} for r in pagers]
    routes += [{"receiver": r.name, "continue": True} for r in notifiers]
    return {
        "global": {"resolve_timeout": "5m"},
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity =~ "warning|info"'],
                "equal": ["namespace", "alertname", "service"],
            },
        ],
        "route": {
            "receiver": "null",
            "group_by": ["namespace", "alertname", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": [{"name": "null"}, *(_receiver(receiver, secret_name) for receiver in receivers)],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def _prometheus_storage(config: EnvironmentConfig, storage_class_name: str) -> dict[str, Any]:
    if config.prometheus_storage_gib == 0:
        return {}
    return {
        "retentionSize": f"{int(config.prometheus_storage_gib * RETENTION_SIZE_SHARE)}GiB",
        "storageSpec": {
            "volumeClaimTemplate": {
                "spec": {
                    "storageClassName": storage_class_name,
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{config.prometheus_storage_gib}Gi"}},
                }
            }
        },
    }


def monitoring_values(
    config: EnvironmentConfig,
    *,
    storage_class_name: str,
    grafana_admin_secret_name: str,
    alertmanager_secret_name: str,
    grafana_admin_rotation: pulumi.Input[str],
    dashboard_namespace: pulumi.Input[str],
) -> dict[str, Any]:
    """The kube-prometheus-stack values of one environment (pure: the same inputs give the same values)."""
    # Explicit selectors instead of the chart's implicit release-label default: the selection test
    # reads these, and objects in every namespace (the services' own) are selected by the label.
    selector = {"matchLabels": dict(SELECTION_LABELS)}
    return {
        "alertmanager": {
            "config": alertmanager_config(config.alert_receivers, alertmanager_secret_name),
            "alertmanagerSpec": {
                "replicas": config.prometheus_replicas,
                # ServiceSecrets syncs this Secret only when there are receivers; mounting a missing
                # Secret would keep the Alertmanager pods from starting.
                "secrets": [alertmanager_secret_name] if config.alert_receivers else [],
                "resources": COMPONENT_RESOURCES["alertmanager"],
            },
        },
        "prometheusOperator": {
            "resources": COMPONENT_RESOURCES["operator"],
            "prometheusConfigReloader": {"resources": COMPONENT_RESOURCES["config-reloader"]},
            "admissionWebhooks": {"patch": {"resources": COMPONENT_RESOURCES["webhook-patch-job"]}},
        },
        "prometheus": {
            "serviceAccount": {"create": True, "name": PROMETHEUS_SERVICE_ACCOUNT},
            "prometheusSpec": {
                "replicas": config.prometheus_replicas,
                "retention": config.prometheus_retention,
                **_prometheus_storage(config, storage_class_name),
                "resources": COMPONENT_RESOURCES["prometheus"],
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "serviceMonitorSelector": selector,
                "podMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelector": selector,
                "ruleSelectorNilUsesHelmValues": False,
                "ruleSelector": selector,
            },
        },
        "grafana": {
            "admin": {
                "existingSecret": grafana_admin_secret_name,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "podAnnotations": {ROTATION_ANNOTATION: grafana_admin_rotation},
            "lifecycleHooks": {"postStart": {"exec": {"command": ["/bin/sh", "-c", ADMIN_PASSWORD_RESET_SCRIPT]}}},
            "resources": COMPONENT_RESOURCES["grafana"],
            "sidecar": {
                "resources": COMPONENT_RESOURCES["grafana-sidecars"],
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": DASHBOARD_LABEL_VALUE,
                    "searchNamespace": dashboard_namespace,
                },
            },
        },
        "kube-state-metrics": {
            "resources": COMPONENT_RESOURCES["kube-state-metrics"],
            # Exposes the node label as `label_pyairtable_io_capacity_type` on kube_node_labels.
            "metricLabelsAllowlist": [f"nodes=[{CAPACITY_TYPE_LABEL}]"],
        },
        "prometheus-node-exporter": {
            "resources": COMPONENT_RESOURCES["node-exporter"],
            # The only pod that needs host network and PID: its own `privileged` namespace, so
            # `monitoring` can enforce a stricter Pod Security level.
            "namespaceOverride": NODE_EXPORTER_NAMESPACE,
        },
        # A chart bump upgrades the CRDs too (Helm never upgrades a chart's crds/ folder), by a
        # pre-upgrade job running `kubectl apply --server-side`; busybox pinned, not `latest`.
        "crds": {"enabled": True, "upgradeJob": {"enabled": True, "image": {"busybox": {"tag": CRD_JOB_BUSYBOX_TAG}}}},
        **eks_values(),
    }


def _name_of(namespace: k8s.core.v1.Namespace) -> pulumi.Output[str]:
    # Every created namespace has a name (given or generated); the SDK types it as optional.
    return namespace.metadata.apply(lambda meta: str(meta.name))


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of the Monitoring component."""

    config: EnvironmentConfig
    """The environment's config: Prometheus sizing (retention, storage, replicas), alert receivers, capacity."""
    catalog: Catalog
    """The service catalog: one ServiceMonitor and SLO per deployable service."""
    kubernetes_provider: k8s.Provider
    """The provider of the environment's cluster."""
    namespaces: Mapping[str, k8s.core.v1.Namespace]
    """Namespaces by catalog service name, plus `monitoring` (the release's namespace); created elsewhere."""
    storage_class_name: str
    """The cluster's default gp3 StorageClass, for the Prometheus volume."""
    grafana_admin_secret_name: str
    """Secret in `monitoring` with keys `admin-user` and `admin-password` (synced by ESO)."""
    alertmanager_secret_name: str
    """Secret in `monitoring` with one key `<receiver name>-url` per alert receiver (synced by ESO)."""
    grafana_admin_rotation: pulumi.Input[str]
    """Changes exactly when the Grafana admin password rotates; rolls the Grafana pods."""
    secrets_ready: Sequence[pulumi.Resource]
    """The ExternalSecrets of the two Secrets above; the release waits for them."""


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack plus the platform's ServiceMonitors, PrometheusRules and Grafana dashboards."""

    release: k8s.helm.v3.Release
    """The Helm release; its CRDs must exist before any monitor or rule."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:monitoring:Monitoring", name, None, opts)
        required = [MONITORING_NAMESPACE, *(service.name for service in args.catalog.deployable)]
        missing = [key for key in required if key not in args.namespaces]
        if missing:
            raise ConfigError(
                f"stack {args.config.stack!r}: Monitoring needs namespaces {missing}; "
                f"given: {sorted(args.namespaces)}, required: {required}"
            )
        namespace_names = {key: _name_of(namespace) for key, namespace in args.namespaces.items()}
        monitoring_namespace = namespace_names[MONITORING_NAMESPACE]

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=RELEASE_NAME,
                chart=CHART,
                version=CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
                namespace=monitoring_namespace,
                create_namespace=False,
                cleanup_on_fail=True,
                max_history=10,
                timeout=900,
                values=monitoring_values(
                    args.config,
                    storage_class_name=args.storage_class_name,
                    grafana_admin_secret_name=args.grafana_admin_secret_name,
                    alertmanager_secret_name=args.alertmanager_secret_name,
                    grafana_admin_rotation=args.grafana_admin_rotation,
                    dashboard_namespace=monitoring_namespace,
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.kubernetes_provider,
                depends_on=[
                    args.namespaces[MONITORING_NAMESPACE],
                    *([args.namespaces[NODE_EXPORTER_NAMESPACE]] if NODE_EXPORTER_NAMESPACE in args.namespaces else []),
                    *args.secrets_ready,
                ],
                # Prod: removing the release would delete Prometheus's data and every alert.
                protect=args.config.environment == PROD_ENVIRONMENT,
            ),
        )
        after_release = pulumi.ResourceOptions(
            parent=self, provider=args.kubernetes_provider, depends_on=[self.release]
        )

        def custom_resource(suffix: str, kind: str, namespace: pulumi.Input[str], spec: dict[str, Any]) -> None:
            k8s.apiextensions.CustomResource(
                f"{name}-{suffix}",
                api_version="monitoring.coreos.com/v1",
                kind=kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=suffix, namespace=namespace, labels=dict(SELECTION_LABELS)),
                spec=spec,
                opts=after_release,
            )

        for service in args.catalog.deployable:
            service_namespace = namespace_names[service.name]
            custom_resource(
                f"{service.name}-metrics", "ServiceMonitor", service_namespace, service_monitor_spec(service)
            )
            custom_resource(f"{service.name}-slo", "PrometheusRule", service_namespace, slo_rule_spec(service))
        custom_resource("platform-alerts", "PrometheusRule", monitoring_namespace, platform_rule_spec(args.config))
        for target in CONTROL_PLANE_TARGETS:
            custom_resource(
                f"{target.job}-metrics",
                "ServiceMonitor",
                monitoring_namespace,
                control_plane_service_monitor_spec(target),
            )
        self._control_plane_access(name, args.kubernetes_provider, monitoring_namespace)

        for file_name, dashboard in dashboards(args.config).items():
            dashboard_name = f"dashboard-{file_name.removesuffix('.json')}"
            k8s.core.v1.ConfigMap(
                f"{name}-{dashboard_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=dashboard_name,
                    namespace=monitoring_namespace,
                    labels={DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
                ),
                data={file_name: dashboard},
                opts=pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider),
            )

        self.register_outputs({"release_name": self.release.name, "release_status": self.release.status})

    def _control_plane_access(self, name: str, provider: k8s.Provider, namespace: pulumi.Input[str]) -> None:
        """Let Prometheus's service account read the control-plane metrics EKS serves through the API server."""
        options = pulumi.ResourceOptions(parent=self, provider=provider)
        role_name = "pyairtable-eks-control-plane-metrics"
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-control-plane-metrics",
            metadata={"name": role_name},
            rules=cast("Any", control_plane_rbac_rules()),
            opts=options,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-control-plane-metrics",
            metadata={"name": role_name},
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role_name),
            subjects=[
                k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=PROMETHEUS_SERVICE_ACCOUNT, namespace=namespace)
            ],
            opts=pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=[role])),
        )

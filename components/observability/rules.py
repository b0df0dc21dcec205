"""Pure builders of what Prometheus and Grafana read: ServiceMonitors, alert rules and dashboards.

Nothing here declares a resource; `components/monitoring.py` wraps these specs in custom resources
and ConfigMaps. Keeping them pure lets the tests validate every object against the upstream CRD
schemas and check that Prometheus would select it.

Service contract: what every deployable service's manifests must follow for its ServiceMonitor and
SLO rules to work (the application repositories own these manifests):
- a Service in namespace `<service.namespace>`, labelled `app.kubernetes.io/name: <service.name>`;
- that Service has a port named `http` (METRICS_PORT_NAME) whose target is the pod's container port
  `<service.port>` from the catalog; targets on another container port are dropped;
- the service serves Prometheus metrics at `<service.metricsPath>` on that port;
- it exports the counter `http_requests_total` with the label `code` (the HTTP status code, as the
  Go promhttp and Python prometheus_client middlewares do): the availability SLI is the share of
  requests not answered with a 5xx.

Metric names the rules and dashboards read (DOCUMENTED_METRICS): the services' `http_requests_total`;
kube-state-metrics' `kube_node_status_condition`, `kube_node_labels`, `kube_node_spec_unschedulable`,
`kube_node_created` (nodes carry `pyairtable.io/capacity-type: spot|on-demand`, exposed by
kube-state-metrics as `label_pyairtable_io_capacity_type`); the kubelet's
`kubelet_volume_stats_available_bytes` and `kubelet_volume_stats_capacity_bytes`; for the traffic and
scaling alerts, kube-state-metrics' `kube_pod_status_phase`, the load balancer controller's
`controller_runtime_reconcile_errors_total`, external-dns' `external_dns_registry_errors_total` and
`external_dns_source_errors_total`, and the cluster autoscaler's `cluster_autoscaler_failed_scale_ups_total`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.config.environment import CapacityStrategy, EnvironmentConfig
from components.shared.catalog import Service
from components.shared.paths import DATA_DIR

RELEASE_NAME = "kube-prometheus-stack"
"""The Helm release name. The chart labels its own monitors and rules `release: <name>`."""

SELECTION_LABELS = {"release": RELEASE_NAME}
"""Labels on every ServiceMonitor and PrometheusRule; Prometheus' selectors (see monitoring.py) match them."""

METRICS_PORT_NAME = "http"
"""The Service port name every deployable service exposes its HTTP and metrics endpoint on."""

SERVICE_NAME_LABEL = "app.kubernetes.io/name"
"""The label that identifies a service's Kubernetes Service (its value is the catalog name)."""

CAPACITY_TYPE_LABEL = "pyairtable.io/capacity-type"
"""The node label the cluster component sets to `spot` or `on-demand`."""

CAPACITY_TYPE_METRIC_LABEL = "label_pyairtable_io_capacity_type"
"""The same label as kube-state-metrics exposes it on `kube_node_labels`."""

SLO_AVAILABILITY = 0.999
"""Availability objective of every service: 99.9% of requests are not answered with a 5xx."""

SCRAPE_INTERVAL = "30s"

REQUESTS_METRIC = "http_requests_total"
ERROR_RATIO_RECORD = "pyairtable:http_request_errors:ratio_rate"
"""Recorded error ratio of a service; the window is appended, e.g. `...:ratio_rate5m`."""

DOCUMENTED_METRICS = (
    REQUESTS_METRIC,
    "kube_node_status_condition",
    "kube_node_labels",
    "kube_node_spec_unschedulable",
    "kube_node_created",
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_capacity_bytes",
    "kube_pod_status_phase",
    "controller_runtime_reconcile_errors_total",
    "external_dns_registry_errors_total",
    "external_dns_source_errors_total",
    "cluster_autoscaler_failed_scale_ups_total",
)
"""Every metric an expression reads that no rule of ours records (see the module docstring)."""

SPOT_CHURN_NODES_PER_HOUR = 3
"""Spot nodes created within an hour that count as churn: more than the dev/staging pools replace normally."""

PROMETHEUS_VOLUME_FREE_RATIO = 0.15
"""Free share of the Prometheus volume below which a ticket is raised (retentionSize keeps ~15% free)."""

DASHBOARD_DIRECTORY = DATA_DIR / "dashboards"
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"


@dataclass(frozen=True)
class BurnRateAlert:
    """One multi-window burn-rate condition (Google SRE workbook, "Alerting on SLOs", table 5-8)."""

    long_window: str
    short_window: str
    burn_rate: float
    severity: str
    """`critical` pages, `warning` opens a ticket (the routes in monitoring.py follow this)."""


BURN_RATE_ALERTS = (
    BurnRateAlert("1h", "5m", 14.4, "critical"),
    BurnRateAlert("6h", "30m", 6, "critical"),
    BurnRateAlert("1d", "2h", 3, "warning"),
    BurnRateAlert("3d", "6h", 1, "warning"),
)


def _window_seconds(window: str) -> int:
    return int(window[:-1]) * {"m": 60, "h": 3600, "d": 86400}[window[-1]]


SLO_WINDOWS = tuple(
    sorted(
        {window for alert in BURN_RATE_ALERTS for window in (alert.long_window, alert.short_window)},
        key=_window_seconds,
    )
)
"""Every window an error ratio is recorded over."""


def service_monitor_spec(service: Service) -> dict[str, Any]:
    """The ServiceMonitor spec of one deployable service (lives in the service's namespace)."""
    return {
        "selector": {"matchLabels": {SERVICE_NAME_LABEL: service.name}},
        "namespaceSelector": {"matchNames": [service.namespace]},
        "endpoints": [
            {
                "port": METRICS_PORT_NAME,
                "path": service.metrics_path,
                "interval": SCRAPE_INTERVAL,
                # The catalog port is the contract: a Service whose `http` port targets another
                # container port is a mistake, and scraping it would measure the wrong process.
                "relabelings": [
                    {
                        "action": "keep",
                        "sourceLabels": ["__meta_kubernetes_pod_container_port_number"],
                        "regex": str(service.port),
                    }
                ],
            }
        ],
    }


def _error_ratio(service: Service, window: str) -> str:
    selector = f'namespace="{service.namespace}"'
    return (
        f'sum(rate({REQUESTS_METRIC}{{{selector},code=~"5.."}}[{window}]))\n'
        f"/\nsum(rate({REQUESTS_METRIC}{{{selector}}}[{window}]))"
    )


def _recorded(service: Service, window: str) -> str:
    return f'{ERROR_RATIO_RECORD}{window}{{service="{service.name}"}}'


def slo_rule_spec(service: Service) -> dict[str, Any]:
    """The availability SLO of one service: recorded error ratios and the burn-rate alerts."""
    error_budget = round(1 - SLO_AVAILABILITY, 6)
    recording = [
        {
            "record": f"{ERROR_RATIO_RECORD}{window}",
            "expr": _error_ratio(service, window),
            "labels": {"service": service.name},
        }
        for window in SLO_WINDOWS
    ]
    alerts = []
    for severity, alert_name, action in (
        ("critical", "ErrorBudgetBurnFast", "page"),
        ("warning", "ErrorBudgetBurnSlow", "ticket"),
    ):
        conditions = [
            f"({_recorded(service, alert.long_window)} > {alert.burn_rate * error_budget:g}"
            f" and {_recorded(service, alert.short_window)} > {alert.burn_rate * error_budget:g})"
            for alert in BURN_RATE_ALERTS
            if alert.severity == severity
        ]
        alerts.append(
            {
                "alert": alert_name,
                "expr": "\nor\n".join(conditions),
                "labels": {"severity": severity, "service": service.name, "slo": "availability"},
                "annotations": {
                    "summary": f"{service.name} burns its {SLO_AVAILABILITY:.1%} availability error budget ({action})",
                    "description": (
                        f"{service.name}: 5xx ratio {{{{ $value | humanizePercentage }}}} over the alert's windows, "
                        f"a burn rate that would exhaust the error budget of {error_budget:g} too early."
                    ),
                },
            }
        )
    return {
        "groups": [
            {"name": f"{service.name}-slo-recording", "rules": recording},
            {"name": f"{service.name}-slo-alerts", "rules": alerts},
        ]
    }


def _spot(expression: str) -> str:
    return f'{expression} and on(node) kube_node_labels{{{CAPACITY_TYPE_METRIC_LABEL}="spot"}}'


def platform_rule_spec(config: EnvironmentConfig) -> dict[str, Any]:
    """Cluster-wide alerts: nodes not ready; spot churn where spot capacity is used; Prometheus storage with a PV."""
    groups: list[dict[str, Any]] = [
        {
            "name": "nodes",
            "rules": [
                {
                    "alert": "NodeNotReady",
                    "expr": 'kube_node_status_condition{condition="Ready",status="true"} == 0',
                    "for": "10m",
                    "labels": {"severity": "warning"},
                    "annotations": {"summary": "Node {{ $labels.node }} has not been Ready for 10 minutes."},
                }
            ],
        }
    ]
    if config.capacity_strategy in (CapacityStrategy.SPOT, CapacityStrategy.MIXED):
        groups.append(
            {
                "name": "spot-capacity",
                "rules": [
                    {
                        # Managed node groups cordon a spot node on an interruption notice or a
                        # rebalance recommendation before draining it.
                        "alert": "SpotNodeInterrupted",
                        "expr": _spot("kube_node_spec_unschedulable == 1"),
                        "for": "2m",
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": "Spot node {{ $labels.node }} is cordoned: AWS is reclaiming it."},
                    },
                    {
                        "alert": "SpotNodeChurnHigh",
                        "expr": f"count({_spot('(time() - kube_node_created) < 3600')}) >= {SPOT_CHURN_NODES_PER_HOUR}",
                        "for": "5m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "{{ $value }} spot nodes created within an hour: spot capacity is unstable.",
                        },
                    },
                ],
            }
        )
    if config.prometheus_storage_gib > 0:
        volume = 'persistentvolumeclaim=~"prometheus-.*-db-prometheus-.*"'
        groups.append(
            {
                "name": "prometheus-storage",
                "rules": [
                    {
                        "alert": "PrometheusStorageLow",
                        "expr": (
                            f"kubelet_volume_stats_available_bytes{{{volume}}}\n/\n"
                            f"kubelet_volume_stats_capacity_bytes{{{volume}}} < {PROMETHEUS_VOLUME_FREE_RATIO}"
                        ),
                        "for": "15m",
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": "Volume {{ $labels.persistentvolumeclaim }} is almost full."},
                    },
                    {
                        "alert": "PrometheusStorageFillingUp",
                        "expr": f"predict_linear(kubelet_volume_stats_available_bytes{{{volume}}}[6h], 4 * 3600) < 0",
                        "for": "30m",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "Volume {{ $labels.persistentvolumeclaim }} will be full within 4 hours.",
                        },
                    },
                ],
            }
        )
    return {"groups": groups}


def dashboards(config: EnvironmentConfig) -> dict[str, str]:
    """Grafana dashboards as JSON text by file name: the files under data/dashboards/, titled per environment."""
    found = {}
    for path in sorted(DASHBOARD_DIRECTORY.glob("*.json")):
        dashboard = json.loads(path.read_text())
        dashboard["title"] = f"{dashboard['title']} ({config.environment})"
        found[path.name] = json.dumps(dashboard, indent=2, sort_keys=True)
    return found

"""kube-prometheus-stack on EKS: control-plane metrics through the API server, and a target for every default rule.

kube-prometheus-stack scrapes the controller manager, scheduler, etcd and kube-proxy the way a
self-managed cluster exposes them (node ports in kube-system). On EKS the control plane is not on
the nodes, so those targets never answer and `KubeControllerManagerDown`, `KubeSchedulerDown` and
friends would fire for ever. EKS 1.28 and later serves the metrics of the controller manager (`kcm`),
the scheduler (`ksh`) and etcd through the API server, at
`/apis/metrics.eks.amazonaws.com/v1/<component>/container/metrics`, to a client allowed `get` on
`<component>/metrics` of the API group `metrics.eks.amazonaws.com` (Amazon EKS User Guide, "Fetch
control plane raw metrics in Prometheus format").

So: the chart keeps its rules for those components (`enabled: true`) but creates neither their
Services nor its own ServiceMonitors; this module's ServiceMonitors scrape the `kubernetes` Service
at those paths and set `job` to the name the chart's rules select. kube-proxy's metrics address is
bound to 127.0.0.1 by the EKS add-on and cannot be changed, so its scraping and rules are off.
`DEFAULT_RULE_TARGETS` holds every default rule group of the chart to the job it needs (tests check
it against the chart's values.yaml, so a new group in a chart bump fails until it is placed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METRICS_API_GROUP = "metrics.eks.amazonaws.com"
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
PROMETHEUS_SERVICE_ACCOUNT = "kube-prometheus-stack-prometheus"
"""Prometheus's service account, named in the values so the control-plane RBAC can bind it."""


@dataclass(frozen=True)
class ControlPlaneTarget:
    """One control-plane component EKS serves metrics of through the API server."""

    component: str
    """The path segment of the metrics API (`kcm`, `ksh`, `etcd`)."""
    job: str
    """The `job` label the chart's rules select for this component."""
    values_key: str
    """The chart's values key of the component."""

    @property
    def path(self) -> str:
        """The metrics path on the API server."""
        return f"/apis/{METRICS_API_GROUP}/v1/{self.component}/container/metrics"


CONTROL_PLANE_TARGETS = (
    ControlPlaneTarget("kcm", "kube-controller-manager", "kubeControllerManager"),
    ControlPlaneTarget("ksh", "kube-scheduler", "kubeScheduler"),
    ControlPlaneTarget("etcd", "kube-etcd", "kubeEtcd"),
)

CHART_TARGET_JOBS = {
    "alertmanager": "alertmanager",
    "apiserver": "kubeApiServer",
    "kubelet": "kubelet",
    "kube-state-metrics": "kubeStateMetrics",
    "node-exporter": "nodeExporter",
    "prometheus": "prometheus",
    "prometheus-operator": "prometheusOperator",
    "coredns": "coreDns",
}
"""Jobs the chart scrapes itself on EKS, by the values key that must stay enabled for each."""

DEFAULT_RULE_TARGETS: dict[str, tuple[str, ...] | str] = {
    "alertmanager": ("alertmanager",),
    "configReloaders": ("prometheus", "alertmanager"),
    "general": ("prometheus",),
    "k8sContainerCpuUsageSecondsTotal": ("kubelet",),
    "k8sContainerMemoryCache": ("kubelet",),
    "k8sContainerMemoryRss": ("kubelet",),
    "k8sContainerMemorySwap": ("kubelet",),
    "k8sContainerResource": ("kube-state-metrics",),
    "k8sContainerMemoryWorkingSetBytes": ("kubelet",),
    "k8sPodOwner": ("kube-state-metrics",),
    "kubeApiserverAvailability": ("apiserver",),
    "kubeApiserverBurnrate": ("apiserver",),
    "kubeApiserverHistogram": ("apiserver",),
    "kubeApiserverSlos": ("apiserver",),
    "kubeControllerManager": ("kube-controller-manager",),
    "kubelet": ("kubelet",),
    "kubePrometheusGeneral": ("prometheus",),
    "kubePrometheusNodeRecording": ("node-exporter",),
    "kubernetesApps": ("kube-state-metrics",),
    "kubernetesResources": ("kube-state-metrics",),
    "kubernetesStorage": ("kubelet", "kube-state-metrics"),
    "kubernetesSystem": ("apiserver", "kubelet"),
    "kubeSchedulerAlerting": ("kube-scheduler",),
    "kubeSchedulerRecording": ("kube-scheduler",),
    "kubeStateMetrics": ("kube-state-metrics",),
    "network": ("node-exporter",),
    "node": ("node-exporter",),
    "nodeExporterAlerting": ("node-exporter",),
    "nodeExporterRecording": ("node-exporter",),
    "prometheus": ("prometheus",),
    "prometheusOperator": ("prometheus-operator",),
    # Disabled, with the reason (a string instead of jobs):
    "etcd": "EKS operates etcd: its membership and leader metrics are not part of what the API server "
    "serves, so etcdMembersDown and etcdNoLeader could only misfire; etcd is still scraped for storage size",
    "kubeProxy": "the kube-proxy add-on binds its metrics to 127.0.0.1 and its address cannot be changed",
    "windows": "the node groups run Amazon Linux 2023 only",
}
"""Every default rule group of kube-prometheus-stack: the jobs it needs (tuple), or why it is off (str)."""


def control_plane_service_monitor_spec(target: ControlPlaneTarget) -> dict[str, Any]:
    """A ServiceMonitor scraping one component's metrics through the `kubernetes` Service in `default`."""
    return {
        "namespaceSelector": {"matchNames": ["default"]},
        "selector": {"matchLabels": {"component": "apiserver", "provider": "kubernetes"}},
        "endpoints": [
            {
                "port": "https",
                "scheme": "https",
                "path": target.path,
                "bearerTokenFile": SERVICE_ACCOUNT_TOKEN,
                "tlsConfig": {"caFile": SERVICE_ACCOUNT_CA, "serverName": "kubernetes"},
                "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": target.job}],
            }
        ],
    }


def control_plane_rbac_rules() -> list[dict[str, Any]]:
    """What Prometheus needs to read the control-plane metrics through the API server."""
    return [
        {
            "apiGroups": [METRICS_API_GROUP],
            "resources": [f"{target.component}/metrics" for target in CONTROL_PLANE_TARGETS],
            "verbs": ["get"],
        }
    ]


def eks_values() -> dict[str, Any]:
    """The kube-prometheus-stack values that fit EKS (merged into the environment's values)."""
    values: dict[str, Any] = {
        target.values_key: {
            # Keep the component enabled so the chart renders its rules; scrape it through this
            # module's ServiceMonitor instead of the chart's Service and ServiceMonitor.
            "enabled": True,
            "service": {"enabled": False},
            "serviceMonitor": {"enabled": False},
        }
        for target in CONTROL_PLANE_TARGETS
    }
    for target in CONTROL_PLANE_TARGETS:
        if target.values_key != "kubeEtcd":  # etcd's rules match any job containing "etcd"
            values[target.values_key]["jobNameOverride"] = target.job
    values["kubeProxy"] = {"enabled": False}
    values["defaultRules"] = {
        "rules": {group: isinstance(target, tuple) for group, target in DEFAULT_RULE_TARGETS.items()}
    }
    return values

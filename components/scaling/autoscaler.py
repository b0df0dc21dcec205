"""Nodes that scale: metrics-server (HPAs), the cluster autoscaler on the managed node groups, and dev's off-hours.

Why the cluster autoscaler and not Karpenter: the capacity strategies are already managed node
groups that the bill prices one by one (`bill_of_materials.node_groups`): spot groups of one size
across several types (the autoscaler's rule for a mixed-instance group, checked in config), a
fixed on-demand base under them (mixed), and on-demand nodes of the reserved type (reserved: a
Reserved Instance is only a billing discount on that type, so the base is the group's `minSize`,
which config holds at or above the reserved count). EKS tags every managed group for the
autoscaler's discovery and rebalances spot capacity itself, so no interruption queue is needed, and
the autoscaler runs on the nodes it scales without a separate controller group: a scale-down never
removes the node it runs on while it is the only replica's (its PDB). Scheduled scaling for the
off-hours is a native action of the groups' Auto Scaling groups; Karpenter has no scale-to-zero schedule.

Pulumi and the autoscaler share each group's `scalingConfig`: the autoscaler changes `desiredSize`,
the off-hours schedule `minSize`, `desiredSize` and `maxSize`, so the node groups ignore those fields
(`ignored_scaling_fields`) and the nightly drift check stays clean. A change of `nodes.minSize` or
`maxSize` in a stack with off-hours reaches the group through the morning scale-up action.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.config.environment import CapacityStrategy, EnvironmentConfig
from components.cost.bill_of_materials import NodeGroup
from components.observability.rules import SELECTION_LABELS
from components.shared.controllers import (
    ROLE_ARN_ANNOTATION,
    AlertRulesArgs,
    HelmChart,
    IrsaControllerArgs,
    ReleaseArgs,
    alert_rules,
    controller_release,
    irsa_controller,
    zone_spread,
)
from components.shared.data_files import load_json
from components.shared.iam import policy_document
from components.shared.naming import MONITORING_NAMESPACE, cluster_name
from components.shared.paths import DATA_DIR

CLUSTER_AUTOSCALER = HelmChart("cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
METRICS_SERVER = HelmChart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")
CLUSTER_AUTOSCALER_POLICY = DATA_DIR / "upstream" / "cluster-autoscaler" / "iam_policy.json"
"""The autoscaler's recommended policy (data/upstream/README.md); we narrow its write statement."""
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
CLUSTER_AUTOSCALER_IMAGES = {"1.32": "v1.32.7", "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2"}
"""The autoscaler release of each Kubernetes minor (upstream tags `cluster-autoscaler-<version>`):
it must match the control plane's minor, whatever the chart's default image is."""
DISCOVERY_TAG = "k8s.io/cluster-autoscaler/{cluster}"
"""EKS tags every managed node group's Auto Scaling group `<this>=owned` (and `.../enabled=true`)."""
SCALING_FIELDS_OF_THE_AUTOSCALER = ("scalingConfig.desiredSize",)
SCALING_FIELDS_OF_THE_SCHEDULE = ("scalingConfig.desiredSize", "scalingConfig.maxSize", "scalingConfig.minSize")

AUTOSCALER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
METRICS_SERVER_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


def ignored_scaling_fields(config: EnvironmentConfig) -> tuple[str, ...]:
    """The node group fields Pulumi leaves to the autoscaler and, with off-hours, to the schedule."""
    return SCALING_FIELDS_OF_THE_SCHEDULE if config.scaling.off_hours else SCALING_FIELDS_OF_THE_AUTOSCALER


def cluster_autoscaler_policy(environment: str) -> str:
    """The upstream policy, its write statement limited to this cluster's node groups (tag conditions)."""
    upstream = load_json(CLUSTER_AUTOSCALER_POLICY)
    assert isinstance(upstream, dict)
    describe, change = upstream["Statement"]
    cluster = cluster_name(environment)
    return json.dumps(
        policy_document(
            {"Sid": "DiscoverNodeGroups", **describe},
            {
                "Sid": "ScaleThisClustersNodeGroups",
                **change,
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/{DISCOVERY_TAG.format(cluster=cluster)}": "owned",
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    }
                },
            },
        )
    )


def cluster_autoscaler_values(config: EnvironmentConfig, *, role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Values of the cluster-autoscaler chart (tests check every key path against its values.yaml)."""
    return {
        "cloudProvider": "aws",
        # From config, not from the instance metadata service (one IMDS hop: pods cannot reach it).
        "awsRegion": config.aws_region,
        "autoDiscovery": {"clusterName": cluster_name(config.environment)},
        "image": {"tag": CLUSTER_AUTOSCALER_IMAGES[config.kubernetes_version]},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                "annotations": {ROLE_ARN_ANNOTATION: role_arn},
            }
        },
        "replicaCount": config.scaling.platform_replicas,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": "aws-cluster-autoscaler"}),
        "resources": AUTOSCALER_RESOURCES,
        "extraArgs": {
            "logtostderr": True,
            "stderrthreshold": "info",
            "v": 2,
            # The spot group's types are of one size: treat them as one pool and keep zones balanced.
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-local-storage": False,
        },
        "serviceMonitor": {"enabled": True, "namespace": MONITORING_NAMESPACE, "selector": dict(SELECTION_LABELS)},
    }


def metrics_server_values(config: EnvironmentConfig) -> dict[str, Any]:
    """Values of the metrics-server chart: the resource metrics HPAs scale on."""
    return {
        "replicas": config.scaling.platform_replicas,
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "topologySpreadConstraints": zone_spread({"app.kubernetes.io/name": METRICS_SERVER.name}),
        "resources": METRICS_SERVER_RESOURCES,
        "metrics": {"enabled": True},
        "serviceMonitor": {"enabled": True, "additionalLabels": dict(SELECTION_LABELS)},
    }


def scaling_rule_spec() -> dict[str, Any]:
    """Alerts: pods that cannot be scheduled, and scale-ups the autoscaler could not make."""
    return {
        "groups": [
            {
                "name": "scaling",
                "rules": [
                    {
                        "alert": "PodsPending",
                        "expr": 'sum by (namespace) (kube_pod_status_phase{phase="Pending"}) > 0',
                        "for": "15m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "Pods in {{ $labels.namespace }} have been pending for 15 minutes",
                            "description": "No node fits them and the autoscaler did not add one: maxSize, quota or "
                            "spot capacity; see the autoscaler's status and events.",
                        },
                    },
                    {
                        "alert": "ClusterAutoscalerFailedScaleUp",
                        "expr": "sum(rate(cluster_autoscaler_failed_scale_ups_total[30m])) > 0",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "The cluster autoscaler failed to add nodes in the last 30 minutes",
                            "description": "A node group could not grow (spot capacity, instance limits or maxSize).",
                        },
                    },
                ],
            }
        ]
    }


def _auto_scaling_group_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    """The Auto Scaling group EKS created for a managed node group (one per group)."""
    return str((resources[0].autoscaling_groups or [])[0].name)


@dataclass(frozen=True)
class ScalingArgs:
    """Inputs of `Scaling`."""

    config: EnvironmentConfig
    """The environment's config: region, Kubernetes version, `scaling` (replicas, off-hours)."""
    aws_provider: aws.Provider
    """The environment's AWS provider (the autoscaler's role, the schedules)."""
    kubernetes_provider: kubernetes.Provider
    """The provider of the environment's cluster."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (IRSA trust of the autoscaler's role)."""
    oidc_issuer: pulumi.Input[str]
    """The issuer without `https://`."""
    node_groups: Sequence[tuple[NodeGroup, aws.eks.NodeGroup]]
    """Each declared node group with its layout (the off-hours schedule restores the layout's sizes)."""
    monitoring_release: pulumi.Resource
    """kube-prometheus-stack: its CRDs must exist before the charts' ServiceMonitors and our rules."""
    monitoring_namespace: kubernetes.core.v1.Namespace
    """The `monitoring` namespace (the alert rules go there)."""


class Scaling(pulumi.ComponentResource):
    """metrics-server, the cluster autoscaler with its IRSA role, the off-hours schedules, and alerts."""

    def __init__(self, name: str, args: ScalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:scaling:Scaling", name, None, opts)
        config = args.config
        aws_options = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)

        metrics_server = controller_release(
            f"{name}-metrics-server",
            ReleaseArgs(
                chart=METRICS_SERVER, values=metrics_server_values(config), depends_on=[args.monitoring_release]
            ),
            kubernetes_options,
        )
        autoscaler = irsa_controller(
            f"{name}-cluster-autoscaler",
            IrsaControllerArgs(
                chart=CLUSTER_AUTOSCALER,
                role_name=f"{cluster_name(config.environment)}-cluster-autoscaler",
                description="Cluster autoscaler: sets the desired size of this cluster's node groups (IRSA).",
                service_account=CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                policy=cluster_autoscaler_policy(config.environment),
                values=lambda role_arn: cluster_autoscaler_values(config, role_arn=role_arn),
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                wait_for=[args.monitoring_release],
            ),
            aws_options,
            kubernetes_options,
        )
        if config.capacity_strategy is CapacityStrategy.RESERVED and config.nodes.min_size < config.reserved_node_count:
            pulumi.log.warn(
                f"nodes.minSize {config.nodes.min_size} is below the {config.reserved_node_count} reserved nodes: "
                "the autoscaler may scale down to minSize and leave reserved instances running nothing",
                resource=self,
            )
        schedules = self._off_hours(name, args, aws_options)
        alert_rules(
            name,
            AlertRulesArgs(
                rule_name="scaling-alerts",
                spec=scaling_rule_spec(),
                monitoring_namespace=args.monitoring_namespace,
                monitoring_release=args.monitoring_release,
                selection_labels=SELECTION_LABELS,
            ),
            kubernetes_options,
        )
        self.register_outputs(
            {
                "metricsServerStatus": metrics_server.status,
                "clusterAutoscalerStatus": autoscaler.status,
                "offHoursSchedules": [schedule.scheduled_action_name for schedule in schedules],
            }
        )

    @staticmethod
    def _off_hours(name: str, args: ScalingArgs, options: pulumi.ResourceOptions) -> list[aws.autoscaling.Schedule]:
        """Two scheduled actions per node group: to zero at the end of the working day, back at its start."""
        off_hours = args.config.scaling.off_hours
        if off_hours is None:
            return []
        schedules = []
        for layout, node_group in args.node_groups:
            group_name = node_group.resources.apply(_auto_scaling_group_name)
            for action, recurrence, sizes in (
                ("stop", off_hours.stop_recurrence, (0, 0, 0)),
                ("start", off_hours.start_recurrence, (layout.min_size, layout.desired_size, layout.max_size)),
            ):
                minimum, desired, maximum = sizes
                schedules.append(
                    aws.autoscaling.Schedule(
                        f"{name}-{layout.role}-{action}",
                        scheduled_action_name=f"off-hours-{action}",
                        autoscaling_group_name=group_name,
                        recurrence=recurrence,
                        time_zone=off_hours.time_zone,
                        min_size=minimum,
                        desired_capacity=desired,
                        max_size=maximum,
                        opts=options,
                    )
                )
        return schedules

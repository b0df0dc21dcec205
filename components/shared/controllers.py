"""A controller installed by Helm into `kube-system` with its own IAM role (IRSA): the shape the
traffic and scaling capabilities repeat for the load balancer controller, external-dns and the
cluster autoscaler.

The role trusts only the controller's service account (audience STS), its policy is inline (one
role, one policy, deleted with it), and the release waits for the policy so that the controller
never starts without its permissions. Every release is atomic: a failed install or upgrade rolls
back instead of leaving a half-upgraded controller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components.shared.iam import service_account_subject, web_identity_trust_policy

CONTROLLER_NAMESPACE = "kube-system"
"""Where the platform's cluster controllers run (EKS's own add-ons run there too)."""
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The service account annotation IRSA reads."""
ZONE_TOPOLOGY_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class HelmChart:
    """A pinned chart: its name, version and repository (tests compare the version with the vendored Chart.yaml)."""

    name: str
    version: str
    repository: str


def zone_spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Spread a controller's replicas across zones (and nodes), so a zone or node loss leaves one running.

    `ScheduleAnyway`: with one zone left, replicas still schedule rather than stay pending.
    """
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(labels)},
        }
        for key in (ZONE_TOPOLOGY_KEY, "kubernetes.io/hostname")
    ]


def service_account_role(
    name: str,
    *,
    role_name: str,
    description: str,
    service_account: str,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    policy: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """An IAM role only `kube-system/<service_account>` may assume (IRSA), with one inline policy."""
    role = aws.iam.Role(
        f"{name}-role",
        name=role_name,
        description=description,
        assume_role_policy=web_identity_trust_policy(
            oidc_provider_arn, oidc_issuer, service_account_subject(CONTROLLER_NAMESPACE, service_account)
        ),
        opts=opts,
    )
    role_policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=opts)
    return role, role_policy


@dataclass(frozen=True)
class ReleaseArgs:
    """What differs between the controllers' Helm releases."""

    chart: HelmChart
    values: Mapping[str, Any]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    namespace: pulumi.Input[str] = CONTROLLER_NAMESPACE
    """Where the release goes: `kube-system` for the cluster's controllers, or the component's own namespace."""


def controller_release(name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions) -> kubernetes.helm.v3.Release:
    """A platform component's pinned Helm release: atomic (a failed install or upgrade rolls back instead
    of leaving a half-upgraded controller), cleaned up on failure, ten revisions of history."""
    return kubernetes.helm.v3.Release(
        f"{name}-release",
        name=args.chart.name,
        chart=args.chart.name,
        version=args.chart.version,
        repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=args.chart.repository),
        namespace=args.namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        values=dict(args.values),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(args.depends_on))),
    )


@dataclass(frozen=True)
class IrsaControllerArgs:
    """A controller with its own IAM role: the chart, the role, and the values that name the role."""

    chart: HelmChart
    role_name: str
    description: str
    service_account: str
    policy: pulumi.Input[str]
    values: Callable[[pulumi.Output[str]], Mapping[str, Any]]
    """The chart's values given the role's ARN (the service account's IRSA annotation)."""
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    wait_for: Sequence[pulumi.Resource] = ()
    """What the release must come after besides its policy (kube-prometheus-stack's CRDs)."""


def irsa_controller(
    name: str, args: IrsaControllerArgs, aws_options: pulumi.ResourceOptions, kubernetes_options: pulumi.ResourceOptions
) -> kubernetes.helm.v3.Release:
    """The controller's role and policy, then its release (which waits for the policy)."""
    role, role_policy = service_account_role(
        name,
        role_name=args.role_name,
        description=args.description,
        service_account=args.service_account,
        oidc_provider_arn=args.oidc_provider_arn,
        oidc_issuer=args.oidc_issuer,
        policy=args.policy,
        opts=aws_options,
    )
    return controller_release(
        name,
        ReleaseArgs(chart=args.chart, values=args.values(role.arn), depends_on=[role_policy, *args.wait_for]),
        kubernetes_options,
    )


def disruption_budget(replicas: int) -> dict[str, Any]:
    """A chart's `podDisruptionBudget` values: with two or more replicas a drain keeps one running.

    With a single replica a budget of `minAvailable: 1` would block every node drain (and an
    off-hours scale-down), so the budget is only enabled where there is a replica to spare.
    """
    return {"enabled": replicas > 1, "minAvailable": 1}


@dataclass(frozen=True)
class AlertRulesArgs:
    """Where a capability's alert rules go: the monitoring namespace, after the release with the CRDs."""

    rule_name: str
    spec: Mapping[str, Any]
    monitoring_namespace: kubernetes.core.v1.Namespace
    monitoring_release: pulumi.Resource
    selection_labels: Mapping[str, str]


def alert_rules(
    name: str, args: AlertRulesArgs, opts: pulumi.ResourceOptions
) -> kubernetes.apiextensions.CustomResource:
    """A PrometheusRule in `monitoring` that Prometheus selects, created after kube-prometheus-stack's CRDs."""
    return kubernetes.apiextensions.CustomResource(
        f"{name}-alerts",
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=kubernetes.meta.v1.ObjectMetaArgs(
            name=args.rule_name,
            namespace=args.monitoring_namespace.metadata.name,
            labels=dict(args.selection_labels),
        ),
        spec=dict(args.spec),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[args.monitoring_release, args.monitoring_namespace])
        ),
    )

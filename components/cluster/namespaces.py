"""One namespace per deployable catalog service, plus the platform's `monitoring` namespace.

Each service namespace gets the environment's resource quota, default container resources (a quota
on CPU and memory rejects pods that state none), a default-deny network policy with the allowances
below, and a service account for its workload.

Allowances (every other flow is denied in both directions):
- egress to cluster DNS (kube-dns in kube-system, port 53);
- ingress on the service's port from every service namespace: the gateway routes to all services,
  and services call each other (e.g. the Airtable gateway); the catalog has no call graph to narrow it;
- ingress on the service's port from `monitoring` (Prometheus scrapes `metricsPath` on that port);
- ingress to the gateway from the VPC: the load balancer's addresses (it must not preserve client IPs);
- egress to the service namespaces, to the VPC (databases, caches, VPC endpoints), and to the
  internet on 443 (AWS APIs incl. STS for IRSA, Airtable, LLM and OAuth providers), never to the
  instance metadata service (pods get AWS credentials through IRSA, not the node's role).
The `monitoring` namespace has no policies: its node exporter and Prometheus reach every node and
namespace; the monitoring component owns what runs there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.config.environment import NamespaceQuota
from components.shared.catalog import Catalog, Service
from components.shared.errors import ConfigError
from components.shared.naming import MONITORING_NAMESPACE

# The service that receives traffic from outside the cluster.
GATEWAY_SERVICE = "gateway"
SERVICE_NAMESPACE_LABEL = "pyairtable.io/service-namespace"
INSTANCE_METADATA_CIDR = "169.254.169.254/32"
# What a container gets when its manifest states no resources (small: the quota bounds the total).
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "512Mi"}


@dataclass(frozen=True)
class ServiceNamespacesArgs:
    """Inputs of `ServiceNamespaces`."""

    catalog: Catalog
    """The service catalog; every deployable service gets a namespace."""
    quota: NamespaceQuota
    """Resource quota of each service namespace."""
    vpc_cidr: ipaddress.IPv4Network
    """The VPC's range (load balancers, databases and endpoints live there)."""
    kubernetes_provider: kubernetes.Provider
    """The cluster's provider."""


class ServiceNamespaces(pulumi.ComponentResource):
    """Service namespaces with quota, limits, network policies and service accounts; plus `monitoring`."""

    namespaces: dict[str, kubernetes.core.v1.Namespace]
    """Namespaces by catalog service name, plus the key `monitoring`."""
    service_accounts: dict[str, kubernetes.core.v1.ServiceAccount]
    """The workload's service account by catalog service name (named like the service)."""

    def __init__(self, name: str, args: ServiceNamespacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:namespaces:ServiceNamespaces", name, None, opts)
        services = args.catalog.deployable
        if GATEWAY_SERVICE not in {service.name for service in services}:
            raise ConfigError(f"the catalog has no deployable service {GATEWAY_SERVICE!r} to receive external traffic")
        kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)

        self.namespaces = {
            MONITORING_NAMESPACE: kubernetes.core.v1.Namespace(
                f"{name}-{MONITORING_NAMESPACE}",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    name=MONITORING_NAMESPACE,
                    # The node exporter needs the host's network and PID namespaces.
                    labels={"pod-security.kubernetes.io/enforce": "privileged"},
                ),
                opts=kubernetes_options,
            )
        }
        self.service_accounts = {}
        for service in services:
            namespace = kubernetes.core.v1.Namespace(
                f"{name}-{service.name}",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    name=service.namespace,
                    labels={
                        SERVICE_NAMESPACE_LABEL: "true",
                        "app.kubernetes.io/part-of": "pyairtable",
                        "pyairtable.io/owner": service.owner,
                        # Services run as non-root without privileges; warn on anything that is not.
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                ),
                opts=kubernetes_options,
            )
            self.namespaces[service.name] = namespace
            in_namespace = pulumi.ResourceOptions.merge(
                kubernetes_options, pulumi.ResourceOptions(depends_on=[namespace])
            )
            metadata = kubernetes.meta.v1.ObjectMetaArgs(namespace=service.namespace)
            self._limits(name, service, args.quota, metadata, in_namespace)
            self._network_policies(name, service, args.vpc_cidr, metadata, in_namespace)
            self.service_accounts[service.name] = kubernetes.core.v1.ServiceAccount(
                f"{name}-{service.name}",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=service.name, namespace=service.namespace),
                # The services do not call the Kubernetes API; a component that grants an AWS role
                # (IRSA) adds the eks.amazonaws.com/role-arn annotation where it creates that role.
                automount_service_account_token=False,
                opts=in_namespace,
            )
        self.register_outputs({"namespaces": {key: ns.metadata.name for key, ns in self.namespaces.items()}})

    @staticmethod
    def _limits(
        name: str,
        service: Service,
        quota: NamespaceQuota,
        metadata: kubernetes.meta.v1.ObjectMetaArgs,
        opts: pulumi.ResourceOptions,
    ) -> None:
        kubernetes.core.v1.ResourceQuota(
            f"{name}-{service.name}-quota",
            metadata=metadata,
            spec=kubernetes.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": quota.requests_cpu,
                    "requests.memory": quota.requests_memory,
                    "limits.cpu": quota.limits_cpu,
                    "limits.memory": quota.limits_memory,
                    "pods": str(quota.pods),
                }
            ),
            opts=opts,
        )
        kubernetes.core.v1.LimitRange(
            f"{name}-{service.name}-defaults",
            metadata=metadata,
            spec=kubernetes.core.v1.LimitRangeSpecArgs(
                limits=[
                    kubernetes.core.v1.LimitRangeItemArgs(
                        type="Container", default_request=DEFAULT_REQUESTS, default=DEFAULT_LIMITS
                    )
                ]
            ),
            opts=opts,
        )

    @staticmethod
    def _network_policies(
        name: str,
        service: Service,
        vpc_cidr: ipaddress.IPv4Network,
        metadata: kubernetes.meta.v1.ObjectMetaArgs,
        opts: pulumi.ResourceOptions,
    ) -> None:
        networking = kubernetes.networking.v1
        every_pod = kubernetes.meta.v1.LabelSelectorArgs()
        service_namespaces = networking.NetworkPolicyPeerArgs(
            namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={SERVICE_NAMESPACE_LABEL: "true"})
        )
        service_port = [networking.NetworkPolicyPortArgs(protocol="TCP", port=service.port)]
        networking.NetworkPolicy(
            f"{name}-{service.name}-default-deny",
            metadata=metadata,
            spec=networking.NetworkPolicySpecArgs(pod_selector=every_pod, policy_types=["Ingress", "Egress"]),
            opts=opts,
        )
        ingress_peers = [
            service_namespaces,
            networking.NetworkPolicyPeerArgs(
                namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                )
            ),
        ]
        if service.name == GATEWAY_SERVICE:
            ingress_peers.append(networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=str(vpc_cidr))))
        networking.NetworkPolicy(
            f"{name}-{service.name}-allow-platform",
            metadata=metadata,
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=every_pod,
                policy_types=["Ingress", "Egress"],
                ingress=[networking.NetworkPolicyIngressRuleArgs(from_=ingress_peers, ports=service_port)],
                egress=[
                    networking.NetworkPolicyEgressRuleArgs(
                        to=[
                            networking.NetworkPolicyPeerArgs(
                                namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                            )
                        ],
                        ports=[
                            networking.NetworkPolicyPortArgs(protocol="UDP", port=53),
                            networking.NetworkPolicyPortArgs(protocol="TCP", port=53),
                        ],
                    ),
                    networking.NetworkPolicyEgressRuleArgs(
                        to=[
                            service_namespaces,
                            networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=str(vpc_cidr))),
                        ]
                    ),
                    networking.NetworkPolicyEgressRuleArgs(
                        to=[
                            networking.NetworkPolicyPeerArgs(
                                ip_block=networking.IPBlockArgs(cidr="0.0.0.0/0", except_=[INSTANCE_METADATA_CIDR])
                            )
                        ],
                        ports=[networking.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    ),
                ],
            ),
            opts=opts,
        )

"""Namespaces of the platform and of every deployable catalog service, with their guard rails.

Each service namespace gets the environment's resource quota and default container resources (a
quota on CPU and memory rejects pods that state none), Pod Security `restricted`, a service account
for its workload, a Role its deploy role's group is bound to, and network policies that deny every
flow but these (NetworkPolicies are additive: the data-store and ingress components add their own
flows in their own policies):
- egress to cluster DNS (kube-dns in kube-system, port 53);
- ingress on the service's port from the services that call it (catalog `calls`) and from
  Prometheus; egress to the services it calls, on their ports;
- egress on 443 outside the VPC, only for a service that declares `externalEgress` (NetworkPolicy
  cannot match host names), never to the instance metadata service;
- egress on 443 to the private subnets when the VPC has interface endpoints (their addresses).
Nothing else: no path to Prometheus, Alertmanager or Grafana, kubelets or the API server.

Platform namespaces: `monitoring` (Pod Security `baseline`, warn `restricted`; its own policies:
Prometheus scrapes, Alertmanager reaches its receivers, the operator's webhook is reachable from the
control plane), `node-exporter` (the only `privileged` namespace: host network and PID), and
`kube-system` (egress anywhere except the instance metadata service). External Secrets Operator's
namespace gets its policies where it is created (`components.secrets.operator`), from the builders here.

A ValidatingAdmissionPolicy refuses `LoadBalancer` and `NodePort` Services in the service namespaces:
RBAC cannot restrict a Service's type, and either would expose a service around the gateway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as kubernetes

from components.cluster.deploy_access import deploy_group
from components.config.environment import NamespaceQuota
from components.shared.catalog import Catalog, Service
from components.shared.naming import MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE

SERVICE_NAMESPACE_LABEL = "pyairtable.io/service-namespace"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
INSTANCE_METADATA_CIDR = "169.254.169.254/32"
HTTPS = 443
KUBELET_PORT = 10250
NODE_EXPORTER_PORT = 9100
WEBHOOK_PORT = 10250
"""The port the prometheus-operator and ESO admission webhooks listen on (both charts' default)."""
# What a container gets when its manifest states no resources (small: the quota bounds the total).
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "512Mi"}
# Pod labels of kube-prometheus-stack's pods (set by the operator on the StatefulSets it manages,
# and by the chart on its operator Deployment).
PROMETHEUS_PODS = {"app.kubernetes.io/name": "prometheus"}
ALERTMANAGER_PODS = {"app.kubernetes.io/name": "alertmanager"}
OPERATOR_PODS = {"app": "kube-prometheus-stack-operator"}

DEPLOY_RULES: tuple[dict[str, Any], ...] = (
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "deployments/scale"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": [""],
        "resources": ["services", "configmaps"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["policy"],
        "resources": ["poddisruptionbudgets"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
)
"""What a deploy may do in its own namespace: Deployments (and their rollout status), Services,
ConfigMaps, HPAs and PDBs. No Secrets, no pods/exec, pods/attach or pods/portforward, no
NetworkPolicies, ServiceAccounts, Roles or bindings."""

EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
SERVICE_TYPE_EXPRESSION = "!has(object.spec.type) || !(object.spec.type in ['LoadBalancer', 'NodePort'])"
"""CEL (core functions only) of the admission policy: a Service without a type is a ClusterIP."""


def pod_security_labels(enforce: str, warn: str | None = None) -> dict[str, str]:
    """Pod Security Admission labels: enforce one level, and warn and audit at `warn` (default: the same)."""
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/warn": warn or enforce,
        "pod-security.kubernetes.io/audit": warn or enforce,
    }


def namespace_peer(name: str, pods: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A NetworkPolicy peer: the pods (all, or those with `pods` labels) of the namespace `name`."""
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}
    if pods:
        peer["podSelector"] = {"matchLabels": dict(pods)}
    return peer


def cidr_peer(cidr: str, *excluded: str) -> dict[str, Any]:
    """A NetworkPolicy peer of an address range, minus `excluded` ranges."""
    block: dict[str, Any] = {"cidr": cidr}
    if excluded:
        block["except"] = list(excluded)
    return {"ipBlock": block}


def tcp(*ports: int) -> list[dict[str, Any]]:
    """NetworkPolicy ports: these TCP ports."""
    return [{"protocol": "TCP", "port": port} for port in ports]


DNS_EGRESS = {
    "to": [namespace_peer("kube-system", {"k8s-app": "kube-dns"})],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
"""Egress to the cluster's DNS, which every pod needs."""


def internet_egress(vpc_cidr: str, ports: Sequence[int] = (HTTPS,)) -> dict[str, Any]:
    """Egress to addresses outside the VPC on `ports`, never to the instance metadata service."""
    return {"to": [cidr_peer("0.0.0.0/0", vpc_cidr, INSTANCE_METADATA_CIDR)], "ports": tcp(*ports)}


def private_subnets_egress(private_subnet_cidrs: Sequence[str], ports: Sequence[int]) -> dict[str, Any]:
    """Egress to the private subnets (API server and endpoint interfaces, kubelets) on `ports`."""
    return {"to": [cidr_peer(cidr) for cidr in private_subnet_cidrs], "ports": tcp(*ports)}


@dataclass(frozen=True)
class PolicySpec:
    """One NetworkPolicy: its name suffix and spec (plain data, so tests can evaluate it)."""

    name: str
    """Policy name inside the namespace."""
    spec: dict[str, Any]
    """The NetworkPolicy spec (camelCase, as the API server takes it)."""


def default_deny() -> PolicySpec:
    """Deny every flow in and out of every pod of the namespace (the others add allowances)."""
    return PolicySpec("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_dns() -> PolicySpec:
    """Every pod may resolve names."""
    return PolicySpec("allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [DNS_EGRESS]})


def service_policies(
    service: Service, catalog: Catalog, vpc_cidr: str, endpoint_subnet_cidrs: Sequence[str]
) -> list[PolicySpec]:
    """The network policies of one service namespace (see the module docstring)."""
    assert service.port is not None
    callers = [other for other in catalog.deployable if service.name in other.calls]
    ingress_from = [namespace_peer(caller.namespace) for caller in callers]
    ingress_from.append(namespace_peer(MONITORING_NAMESPACE, PROMETHEUS_PODS))
    policies = [
        default_deny(),
        allow_dns(),
        PolicySpec(
            "allow-callers",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": ingress_from, "ports": tcp(service.port)}],
            },
        ),
    ]
    egress: list[dict[str, Any]] = []
    for callee_name in service.calls:
        callee = catalog.service(callee_name)
        assert callee.port is not None
        egress.append({"to": [namespace_peer(callee.namespace)], "ports": tcp(callee.port)})
    if service.external_egress:
        egress.append(internet_egress(vpc_cidr))
    if endpoint_subnet_cidrs:
        egress.append(private_subnets_egress(endpoint_subnet_cidrs, (HTTPS,)))
    if egress:
        policies.append(PolicySpec("allow-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress}))
    return policies


def monitoring_policies(vpc_cidr: str, private_subnet_cidrs: Sequence[str]) -> list[PolicySpec]:
    """The `monitoring` namespace: its own pods talk freely; out of it only what each component needs."""
    in_namespace = namespace_peer(MONITORING_NAMESPACE)
    return [
        default_deny(),
        allow_dns(),
        PolicySpec(
            "allow-within-namespace",
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [in_namespace]}],
                "egress": [{"to": [in_namespace]}],
            },
        ),
        # The operator, kube-state-metrics, Grafana's sidecars and Prometheus's discovery read the
        # API server, whose interfaces sit in the private subnets.
        PolicySpec(
            "allow-api-server",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [private_subnets_egress(private_subnet_cidrs, (HTTPS,))],
            },
        ),
        # Prometheus scrapes pods in every namespace, the kubelets and the node exporter (host network).
        PolicySpec(
            "allow-prometheus-scrapes",
            {
                "podSelector": {"matchLabels": PROMETHEUS_PODS},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"namespaceSelector": {}}]},
                    private_subnets_egress(private_subnet_cidrs, (KUBELET_PORT, NODE_EXPORTER_PORT)),
                ],
            },
        ),
        PolicySpec(
            "allow-alertmanager-receivers",
            {
                "podSelector": {"matchLabels": ALERTMANAGER_PODS},
                "policyTypes": ["Egress"],
                "egress": [internet_egress(vpc_cidr)],
            },
        ),
        PolicySpec(
            "allow-operator-webhook",
            {
                "podSelector": {"matchLabels": OPERATOR_PODS},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [cidr_peer(cidr) for cidr in private_subnet_cidrs], "ports": tcp(WEBHOOK_PORT)}],
            },
        ),
    ]


def kube_system_policies() -> list[PolicySpec]:
    """`kube-system`: egress anywhere but the instance metadata service (pods use IRSA, not the node's role).

    The add-ons that need IMDS (aws-node, kube-proxy, the Pod Identity agent) run on the host network,
    where NetworkPolicies do not apply.
    """
    return [
        PolicySpec(
            "deny-instance-metadata",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"to": [cidr_peer("0.0.0.0/0", INSTANCE_METADATA_CIDR)]}],
            },
        )
    ]


def declare_policies(
    prefix: str, namespace: pulumi.Input[str], policies: Sequence[PolicySpec], opts: pulumi.ResourceOptions
) -> list[kubernetes.networking.v1.NetworkPolicy]:
    """Declare `policies` in `namespace`, each as `<prefix>-<policy name>`."""
    return [
        kubernetes.networking.v1.NetworkPolicy(
            f"{prefix}-{policy.name}",
            metadata={"name": policy.name, "namespace": namespace},
            # Plain data (tests evaluate it) in the API's own camelCase, which the provider accepts.
            spec=cast("Any", policy.spec),
            opts=opts,
        )
        for policy in policies
    ]


def service_type_policy_spec() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy refusing exposed Service types in the service namespaces."""
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "namespaceSelector": {"matchLabels": {SERVICE_NAMESPACE_LABEL: "true"}},
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["services"],
                }
            ],
        },
        "validations": [
            {
                "expression": SERVICE_TYPE_EXPRESSION,
                "message": "Services in a service namespace are ClusterIP only; traffic enters through the gateway",
                "reason": "Forbidden",
            }
        ],
    }


@dataclass(frozen=True)
class ServiceNamespacesArgs:
    """Inputs of `ServiceNamespaces`."""

    catalog: Catalog
    """The service catalog; every deployable service gets a namespace."""
    quota: NamespaceQuota
    """Resource quota of each service namespace."""
    vpc_cidr: ipaddress.IPv4Network
    """The VPC's range (what "outside the VPC" excludes)."""
    private_subnet_cidrs: Sequence[str]
    """The private subnets: API server and interface-endpoint interfaces, kubelets."""
    interface_endpoints: bool
    """Whether the VPC has interface endpoints (services then reach them on 443 in the private subnets)."""
    kubernetes_provider: kubernetes.Provider
    """The cluster's provider."""
    protect: bool = False
    """Protect the service namespaces from deletion (prod: deleting one deletes its Secrets and workloads)."""


class ServiceNamespaces(pulumi.ComponentResource):
    """Service namespaces with quota, limits, Pod Security, RBAC and network policies; the platform namespaces."""

    namespaces: dict[str, kubernetes.core.v1.Namespace]
    """Namespaces by catalog service name, plus the keys `monitoring` and `node-exporter`."""
    service_accounts: dict[str, kubernetes.core.v1.ServiceAccount]
    """The workload's service account by catalog service name (named like the service)."""

    def __init__(self, name: str, args: ServiceNamespacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:namespaces:ServiceNamespaces", name, None, opts)
        kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        vpc_cidr = str(args.vpc_cidr)

        monitoring = kubernetes.core.v1.Namespace(
            f"{name}-{MONITORING_NAMESPACE}",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=MONITORING_NAMESPACE,
                # Baseline for everything; the chart's pods meet `restricted`, which is warned about.
                labels=pod_security_labels("baseline", "restricted"),
            ),
            opts=kubernetes_options,
        )
        node_exporter = kubernetes.core.v1.Namespace(
            f"{name}-{NODE_EXPORTER_NAMESPACE}",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=NODE_EXPORTER_NAMESPACE,
                # The node exporter alone needs the host's network and PID namespaces.
                labels=pod_security_labels("privileged"),
            ),
            opts=kubernetes_options,
        )
        self.namespaces = {MONITORING_NAMESPACE: monitoring, NODE_EXPORTER_NAMESPACE: node_exporter}
        declare_policies(
            f"{name}-{MONITORING_NAMESPACE}",
            monitoring.metadata.name,
            monitoring_policies(vpc_cidr, args.private_subnet_cidrs),
            pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(depends_on=[monitoring])),
        )
        declare_policies(f"{name}-kube-system", "kube-system", kube_system_policies(), kubernetes_options)

        self.service_accounts = {}
        endpoint_cidrs = list(args.private_subnet_cidrs) if args.interface_endpoints else []
        for service in args.catalog.deployable:
            namespace = kubernetes.core.v1.Namespace(
                f"{name}-{service.name}",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(
                    name=service.namespace,
                    labels={
                        SERVICE_NAMESPACE_LABEL: "true",
                        "app.kubernetes.io/part-of": "pyairtable",
                        "pyairtable.io/owner": service.owner,
                        **pod_security_labels("restricted"),
                    },
                ),
                opts=pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(protect=args.protect)),
            )
            self.namespaces[service.name] = namespace
            in_namespace = pulumi.ResourceOptions.merge(
                kubernetes_options, pulumi.ResourceOptions(depends_on=[namespace])
            )
            metadata = kubernetes.meta.v1.ObjectMetaArgs(namespace=service.namespace)
            self._limits(name, service, args.quota, metadata, in_namespace)
            declare_policies(
                f"{name}-{service.name}",
                service.namespace,
                service_policies(service, args.catalog, vpc_cidr, endpoint_cidrs),
                in_namespace,
            )
            self._deploy_role(name, service, in_namespace)
            self.service_accounts[service.name] = kubernetes.core.v1.ServiceAccount(
                f"{name}-{service.name}",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=service.name, namespace=service.namespace),
                # The services do not call the Kubernetes API; a component that grants an AWS role
                # (IRSA) adds the eks.amazonaws.com/role-arn annotation where it creates that role.
                automount_service_account_token=False,
                opts=in_namespace,
            )

        admission = kubernetes.admissionregistration.v1
        policy = admission.ValidatingAdmissionPolicy(
            f"{name}-service-types",
            metadata={"name": "pyairtable-service-types"},
            spec=cast("Any", service_type_policy_spec()),
            opts=kubernetes_options,
        )
        admission.ValidatingAdmissionPolicyBinding(
            f"{name}-service-types",
            metadata={"name": "pyairtable-service-types"},
            spec=cast(
                "Any",
                {
                    "policyName": "pyairtable-service-types",
                    "validationActions": ["Deny"],
                    "matchResources": {"namespaceSelector": {"matchLabels": {SERVICE_NAMESPACE_LABEL: "true"}}},
                },
            ),
            opts=pulumi.ResourceOptions.merge(kubernetes_options, pulumi.ResourceOptions(depends_on=[policy])),
        )
        self.register_outputs({"namespaces": {key: ns.metadata.name for key, ns in self.namespaces.items()}})

    @staticmethod
    def _deploy_role(name: str, service: Service, opts: pulumi.ResourceOptions) -> None:
        """The Role of the service's deploy group, in the service's namespace only."""
        rbac = kubernetes.rbac.v1
        role = rbac.Role(
            f"{name}-{service.name}-deploy",
            metadata={"name": "deploy", "namespace": service.namespace},
            rules=cast("Any", [dict(rule) for rule in DEPLOY_RULES]),
            opts=opts,
        )
        rbac.RoleBinding(
            f"{name}-{service.name}-deploy",
            metadata={"name": "deploy", "namespace": service.namespace},
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="deploy"),
            subjects=[
                rbac.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=deploy_group(service.name))
            ],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
        )

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

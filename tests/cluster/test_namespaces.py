"""Namespaces and their guard rails: quota, Pod Security, protection, and network policies evaluated flow by flow.

`flow_allowed` evaluates the declared NetworkPolicies the way Kubernetes does (a pod selected by any
policy of a direction is isolated in it; a flow passes if some policy's rule matches the peer and
port), so each allowance and each denial below is computed from the plan, not read off its text.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.cluster.namespaces import service_policies
from components.config.stack_file import environment_configs
from components.shared.catalog import Catalog, load_catalog, parse_catalog
from components.shared.errors import ConfigError
from components.shared.naming import NODE_EXPORTER_NAMESPACE
from tools.plan import Plan

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
IMDS = "169.254.169.254"
INTERNET = "93.184.216.34"


@dataclass(frozen=True)
class Pod:
    """One end of a flow: a pod (namespace and labels) or an address outside the pod network."""

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    return selector is not None and all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: Mapping[str, Any], other: Pod, own_namespace: str) -> bool:
    if "ipBlock" in peer:
        if other.ip is None:
            return False
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except", [])
        )
    if other.namespace is None:
        return False
    namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != own_namespace:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], other.labels)


def _port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    return not ports or any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports)


def _direction_allows(
    policies: Sequence[Mapping[str, Any]], pod: Pod, other: Pod, port: int, protocol: str, *, direction: str
) -> bool:
    """Whether `pod` may send (Egress) to or receive (Ingress) from `other` under its namespace's policies."""
    assert pod.namespace is not None
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    isolating = [
        p for p in policies if direction in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(peer, other, pod.namespace) for peer in peers)) and _port_matches(
                rule.get("ports"), port, protocol
            ):
                return True
    return False


def flow_allowed(
    policies_by_namespace: Mapping[str, Sequence[Mapping[str, Any]]],
    source: Pod,
    destination: Pod,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether a connection from `source` to `destination` on `port` passes both ends' policies."""
    if source.namespace is not None and not _direction_allows(
        policies_by_namespace.get(source.namespace, []), source, destination, port, protocol, direction="Egress"
    ):
        return False
    return destination.namespace is None or _direction_allows(
        policies_by_namespace.get(destination.namespace, []), destination, source, port, protocol, direction="Ingress"
    )


def policies_of(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The plan's NetworkPolicies by namespace."""
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in plan.of_type(POLICY):
        found.setdefault(resource["inputs"]["metadata"]["namespace"], []).append(resource["inputs"])
    return found


def in_namespace(plan: Plan, type_token: str, namespace: str) -> list[dict]:
    return [r["inputs"] for r in plan.of_type(type_token) if r["inputs"]["metadata"].get("namespace") == namespace]


def component_namespaces(plan: Plan) -> list[dict[str, Any]]:
    """The namespaces the ServiceNamespaces component declares (add-ons such as ESO bring their own)."""
    component = plan.one("pyairtable:namespaces:ServiceNamespaces")["urn"]
    return [ns for ns in plan.of_type("kubernetes:core/v1:Namespace") if ns["parent"] == component]


DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
ALERTMANAGER = Pod("monitoring", {"app.kubernetes.io/name": "alertmanager"})
GRAFANA = Pod("monitoring", {"app.kubernetes.io/name": "grafana"})


def test_namespaces_per_service_plus_monitoring_and_node_exporter(env_plan: Plan) -> None:
    names = sorted(ns["inputs"]["metadata"]["name"] for ns in component_namespaces(env_plan))
    expected = sorted([service.namespace for service in load_catalog().deployable] + ["monitoring", "node-exporter"])
    assert names == expected


def test_pod_security_restricted_for_services_privileged_only_for_the_node_exporter(env_plan: Plan) -> None:
    levels = {
        ns["inputs"]["metadata"]["name"]: ns["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for ns in env_plan.of_type("kubernetes:core/v1:Namespace")
    }
    assert [name for name, level in levels.items() if level == "privileged"] == [NODE_EXPORTER_NAMESPACE]
    for service in load_catalog().deployable:
        assert levels[service.namespace] == "restricted"
    assert levels["external-secrets"] == "restricted"
    assert levels["monitoring"] == "baseline"


def test_service_namespaces_are_protected_in_prod_only(env_plan: Plan) -> None:
    services = {s.namespace for s in load_catalog().deployable}
    for namespace in component_namespaces(env_plan):
        if namespace["inputs"]["metadata"]["name"] in services:
            assert namespace["options"]["protect"] is (env_plan.stack == "prod")


def test_quota_defaults_and_service_account_per_service(env_plan: Plan) -> None:
    quota = environment_configs()[env_plan.stack].namespace_quota
    for service in load_catalog().deployable:
        [resource_quota] = in_namespace(env_plan, "kubernetes:core/v1:ResourceQuota", service.namespace)
        assert resource_quota["spec"]["hard"] == {
            "requests.cpu": quota.requests_cpu,
            "requests.memory": quota.requests_memory,
            "limits.cpu": quota.limits_cpu,
            "limits.memory": quota.limits_memory,
            "pods": str(quota.pods),
        }
        [limits] = in_namespace(env_plan, "kubernetes:core/v1:LimitRange", service.namespace)
        assert limits["spec"]["limits"][0]["type"] == "Container"
        [account] = in_namespace(env_plan, "kubernetes:core/v1:ServiceAccount", service.namespace)
        assert account["metadata"]["name"] == service.name
        assert account["automountServiceAccountToken"] is False


def test_every_namespace_the_platform_runs_in_has_a_default_deny_or_an_egress_guard(env_plan: Plan) -> None:
    policies = policies_of(env_plan)
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for namespace in [s.namespace for s in load_catalog().deployable] + ["monitoring", "external-secrets"]:
        assert deny in [p["spec"] for p in policies[namespace]], namespace
    assert not flow_allowed(policies, Pod("kube-system", {"app": "ebs-csi-controller"}), Pod(ip=IMDS), 80)
    assert flow_allowed(policies, Pod("kube-system", {"app": "ebs-csi-controller"}), Pod(ip=INTERNET), 443)


def test_services_reach_dns_and_the_services_they_call_and_nothing_else_inside(env_plan: Plan) -> None:
    policies = policies_of(env_plan)
    config = environment_configs()[env_plan.stack]
    services = load_catalog().deployable
    kubelet = str(config.vpc_cidr.network_address + 10)
    for service in services:
        pod = Pod(service.namespace, {"app": service.name})
        assert flow_allowed(policies, pod, DNS, 53, "UDP")
        for other in services:
            if other.name == service.name:
                continue
            assert other.port is not None
            assert flow_allowed(policies, pod, Pod(other.namespace), other.port) == (other.name in service.calls), (
                service.name,
                other.name,
            )
        for platform, port in [(PROMETHEUS, 9090), (ALERTMANAGER, 9093), (GRAFANA, 3000)]:
            assert not flow_allowed(policies, pod, platform, port), (service.name, platform)
        assert not flow_allowed(policies, pod, Pod(ip=kubelet), 10250)
        assert not flow_allowed(policies, pod, Pod(ip=IMDS), 80)
        assert flow_allowed(policies, pod, Pod(ip=INTERNET), 443) == bool(service.external_egress), service.name
        assert not flow_allowed(policies, pod, Pod(ip=INTERNET), 80)


def test_services_admit_their_callers_and_prometheus_only(env_plan: Plan) -> None:
    policies = policies_of(env_plan)
    services = load_catalog().deployable
    for service in services:
        assert service.port is not None
        target = Pod(service.namespace, {"app": service.name})
        assert flow_allowed(policies, PROMETHEUS, target, service.port)
        assert not flow_allowed(policies, GRAFANA, target, service.port)
        for caller in services:
            if caller.name != service.name:
                allowed = flow_allowed(policies, Pod(caller.namespace), target, service.port)
                assert allowed == (service.name in caller.calls), (caller.name, service.name)


def test_interface_endpoints_are_reachable_where_the_vpc_has_them(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    policies = policies_of(env_plan)
    endpoint_address = str(config.vpc_cidr.network_address + 100)
    analytics = Pod("analytics", {})  # no external egress: only an endpoint could answer it
    assert flow_allowed(policies, analytics, Pod(ip=endpoint_address), 443) == bool(config.network.interface_endpoints)


def test_monitoring_reaches_what_it_must_and_only_alertmanager_leaves_the_vpc(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    policies = policies_of(env_plan)
    node = str(config.vpc_cidr.network_address + 20)
    assert flow_allowed(policies, PROMETHEUS, Pod(ip=node), 10250)
    assert flow_allowed(policies, PROMETHEUS, Pod(ip=node), 9100)
    assert flow_allowed(policies, PROMETHEUS, Pod("kube-system", {"k8s-app": "kube-dns"}), 9153)
    assert flow_allowed(policies, GRAFANA, PROMETHEUS, 9090)
    assert flow_allowed(policies, ALERTMANAGER, Pod(ip=INTERNET), 443)
    assert not flow_allowed(policies, GRAFANA, Pod(ip=INTERNET), 443)
    assert not flow_allowed(policies, PROMETHEUS, Pod(ip=INTERNET), 443)
    assert not flow_allowed(policies, ALERTMANAGER, Pod(ip=IMDS), 80)
    # The operator's admission webhook is reachable from the control plane's interfaces.
    operator = Pod("monitoring", {"app": "kube-prometheus-stack-operator"})
    assert flow_allowed(policies, Pod(ip=node), operator, 10250)


def test_external_secrets_reaches_aws_but_not_the_instance_metadata(env_plan: Plan) -> None:
    policies = policies_of(env_plan)
    controller = Pod("external-secrets", {"app.kubernetes.io/name": "external-secrets"})
    assert flow_allowed(policies, controller, Pod(ip=INTERNET), 443)
    assert flow_allowed(policies, controller, DNS, 53, "UDP")
    assert not flow_allowed(policies, controller, Pod(ip=IMDS), 80)
    assert not flow_allowed(policies, controller, Pod("auth"), 8081)


def test_a_call_removed_from_the_catalog_closes_the_flow() -> None:
    """The evaluation can fail: without `calls`, the gateway's policies no longer let it reach auth."""
    catalog = load_catalog()
    doctored = Catalog.model_validate(
        {
            **catalog.model_dump(by_alias=True),
            "services": [
                {**s.model_dump(by_alias=True), "calls": []} if s.name == "gateway" else s.model_dump(by_alias=True)
                for s in catalog.services
            ],
        }
    )
    policies = {
        s.namespace: [
            {"metadata": {"name": p.name}, "spec": p.spec} for p in service_policies(s, doctored, "10.0.0.0/16", [])
        ]
        for s in doctored.deployable
    }
    auth = doctored.service("auth")
    assert auth.port is not None
    assert not flow_allowed(policies, Pod("gateway"), Pod("auth"), auth.port)


def test_namespaced_resources_wait_for_their_namespace_and_use_the_cluster_provider(env_plan: Plan) -> None:
    provider = env_plan.one("pulumi:providers:kubernetes")["urn"]
    namespace_urns = {
        ns["inputs"]["metadata"]["name"]: ns["urn"] for ns in env_plan.of_type("kubernetes:core/v1:Namespace")
    }
    for resource in env_plan.resources:
        if resource["type"].startswith("kubernetes:"):
            assert resource["provider"] == provider
            namespace = resource["inputs"].get("metadata", {}).get("namespace")
            if namespace and namespace not in ("kube-system", "default"):  # Kubernetes creates these
                assert namespace_urns[namespace] in resource["options"]["dependsOn"], resource["urn"]


@pytest.mark.parametrize("name", ["monitoring", "kube-system", "aws-observability", "default", "node-exporter"])
def test_a_service_named_like_a_platform_namespace_is_refused(name: str) -> None:
    catalog = load_catalog().model_dump(by_alias=True)
    gateway = next(s for s in catalog["services"] if s["name"] == "gateway")
    gateway["name"] = name
    for service in catalog["services"]:
        service["calls"] = []
    with pytest.raises(ConfigError, match=f"namespace '{name}', which the platform owns"):
        parse_catalog(catalog)

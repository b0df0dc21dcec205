"""Service namespaces: one per deployable service plus monitoring, with quota, default deny and allowances."""

from __future__ import annotations

from typing import Any

from components.config.stack_file import environment_configs
from components.shared.catalog import load_catalog
from tools.plan import Plan

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def in_namespace(plan: Plan, type_token: str, namespace: str) -> list[dict]:
    return [r["inputs"] for r in plan.of_type(type_token) if r["inputs"]["metadata"].get("namespace") == namespace]


def platform_namespaces(plan: Plan) -> list[dict[str, Any]]:
    """The namespaces the ServiceNamespaces component declares (add-ons such as ESO bring their own)."""
    component = plan.one("pyairtable:namespaces:ServiceNamespaces")["urn"]
    return [ns for ns in plan.of_type("kubernetes:core/v1:Namespace") if ns["parent"] == component]


def test_one_namespace_per_deployable_service_plus_monitoring(env_plan: Plan) -> None:
    names = sorted(ns["inputs"]["metadata"]["name"] for ns in platform_namespaces(env_plan))
    expected = sorted([service.namespace for service in load_catalog().deployable] + ["monitoring"])
    assert names == expected
    assert "docs" not in names and "shared" not in names


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
    assert not in_namespace(env_plan, "kubernetes:core/v1:ResourceQuota", "monitoring")


def test_default_deny_in_both_directions(env_plan: Plan) -> None:
    for service in load_catalog().deployable:
        policies = in_namespace(env_plan, POLICY, service.namespace)
        deny = [p for p in policies if "ingress" not in p["spec"] and "egress" not in p["spec"]]
        assert len(deny) == 1
        assert deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_allowances(env_plan: Plan) -> None:
    vpc = str(environment_configs()[env_plan.stack].vpc_cidr)
    for service in load_catalog().deployable:
        # The gateway's own policy admitting the load balancer is the traffic capability's (tests/traffic).
        [allow] = [
            p
            for p in in_namespace(env_plan, POLICY, service.namespace)
            if "ingress" in p["spec"] and not p["metadata"].get("name", "").endswith("-from-load-balancer")
        ]
        [ingress] = allow["spec"]["ingress"]
        assert ingress["ports"] == [{"port": service.port, "protocol": "TCP"}]
        sources = ingress["from"]
        assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in sources
        assert {"namespaceSelector": {"matchLabels": {"pyairtable.io/service-namespace": "true"}}} in sources
        assert ({"ipBlock": {"cidr": vpc}} in sources) == (service.name == "gateway")
        dns, internal, internet = allow["spec"]["egress"]
        assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        assert sorted(p["protocol"] for p in dns["ports"]) == ["TCP", "UDP"]
        assert {"ipBlock": {"cidr": vpc}} in internal["to"]
        assert internet == {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
            "ports": [{"port": 443, "protocol": "TCP"}],
        }


def test_service_namespaces_are_labelled_for_the_policies(env_plan: Plan) -> None:
    for namespace in platform_namespaces(env_plan):
        labels = namespace["inputs"]["metadata"]["labels"]
        is_service = namespace["inputs"]["metadata"]["name"] != "monitoring"
        assert (labels.get("pyairtable.io/service-namespace") == "true") == is_service


def test_namespaced_resources_wait_for_their_namespace_and_use_the_cluster_provider(env_plan: Plan) -> None:
    provider = env_plan.one("pulumi:providers:kubernetes")["urn"]
    namespace_urns = {
        ns["inputs"]["metadata"]["name"]: ns["urn"] for ns in env_plan.of_type("kubernetes:core/v1:Namespace")
    }
    for resource in env_plan.resources:
        if resource["type"].startswith("kubernetes:"):
            assert resource["provider"] == provider
            namespace = resource["inputs"].get("metadata", {}).get("namespace")
            if namespace:
                assert namespace_urns[namespace] in resource["options"]["dependsOn"]

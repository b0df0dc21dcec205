"""kube-prometheus-stack fits EKS: every default rule group has a target the chart can reach, or is off with a reason.

The control plane's components are scraped through the API server (EKS's metrics API), with the RBAC
that needs; kube-proxy is not scraped; the chart's CRDs are upgraded with the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from components.observability.control_plane import (
    CHART_TARGET_JOBS,
    CONTROL_PLANE_TARGETS,
    DEFAULT_RULE_TARGETS,
    PROMETHEUS_SERVICE_ACCOUNT,
)
from tests.conftest import helm_release, stack_plan
from tests.schemas import reference_yaml
from tools.plan import Plan

UPSTREAM = "kube-prometheus-stack/values.yaml"


def _enabled(values: Mapping[str, Any], upstream: Mapping[str, Any], key: str) -> bool:
    """A chart component's `enabled`, from the values or else the chart's default."""
    return bool(values.get(key, {}).get("enabled", upstream[key]["enabled"]))


def unreachable_rule_groups(values: Mapping[str, Any], scraped_jobs: set[str]) -> list[str]:
    """Enabled default rule groups whose jobs nothing scrapes on EKS (empty: every alert can resolve)."""
    upstream = reference_yaml(UPSTREAM)
    rules = {**upstream["defaultRules"]["rules"], **values.get("defaultRules", {}).get("rules", {})}
    reachable = {job for job, key in CHART_TARGET_JOBS.items() if _enabled(values, upstream, key)} | scraped_jobs
    problems = []
    for group, enabled in rules.items():
        target = DEFAULT_RULE_TARGETS.get(group)
        if target is None:
            problems.append(f"{group}: not placed in DEFAULT_RULE_TARGETS")
        elif enabled and isinstance(target, str):
            problems.append(f"{group}: enabled, but off on EKS because {target}")
        elif enabled and isinstance(target, tuple):
            problems += [f"{group}: job {job} is not scraped" for job in target if job not in reachable]
    return problems


def scraped_control_plane_jobs(plan: Plan) -> set[str]:
    """Jobs the plan's control-plane ServiceMonitors produce (their `job` relabeling)."""
    jobs = set()
    for resource in plan.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"):
        for endpoint in resource["inputs"]["spec"]["endpoints"]:
            for relabeling in endpoint.get("relabelings", []):
                if relabeling.get("targetLabel") == "job":
                    jobs.add(relabeling["replacement"])
    return jobs


def values_of(plan: Plan) -> dict[str, Any]:
    return helm_release(plan, "monitoring")["inputs"]["values"]


def test_every_default_rule_group_of_the_chart_is_placed() -> None:
    assert set(DEFAULT_RULE_TARGETS) == set(reference_yaml(UPSTREAM)["defaultRules"]["rules"])


def test_every_enabled_rule_group_has_a_reachable_target(env_plan: Plan) -> None:
    assert unreachable_rule_groups(values_of(env_plan), scraped_control_plane_jobs(env_plan)) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"defaultRules": {"rules": {"kubeProxy": True}}}, "kubeProxy: enabled, but off on EKS"),
        ({"kubeStateMetrics": {"enabled": False}}, "job kube-state-metrics is not scraped"),
    ],
)
def test_a_rule_without_a_target_is_found(change: dict[str, Any], problem: str) -> None:
    values = values_of(stack_plan("dev"))
    doctored = {**values, **{key: {**values.get(key, {}), **part} for key, part in change.items()}}
    if "defaultRules" in change:
        doctored["defaultRules"] = {"rules": {**values["defaultRules"]["rules"], **change["defaultRules"]["rules"]}}
    problems = unreachable_rule_groups(doctored, scraped_control_plane_jobs(stack_plan("dev")))
    assert problems and all(problem in p or "not scraped" in p for p in problems)
    assert any(problem in p for p in problems)


def test_without_the_control_plane_monitors_their_rules_have_no_target() -> None:
    problems = unreachable_rule_groups(values_of(stack_plan("dev")), set())
    assert "kubeControllerManager: job kube-controller-manager is not scraped" in problems
    assert "kubeSchedulerAlerting: job kube-scheduler is not scraped" in problems


def test_control_plane_is_scraped_through_the_api_server(env_plan: Plan) -> None:
    values = values_of(env_plan)
    monitors = {
        r["inputs"]["metadata"]["name"]: r["inputs"]["spec"]
        for r in env_plan.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    }
    for target in CONTROL_PLANE_TARGETS:
        component = values[target.values_key]
        # The chart renders the rules (enabled) but neither a Service nor its own ServiceMonitor.
        assert component["enabled"] is True
        assert component["service"] == {"enabled": False} and component["serviceMonitor"] == {"enabled": False}
        if "jobNameOverride" in component:
            assert component["jobNameOverride"] == target.job
        spec = monitors[f"{target.job}-metrics"]
        assert spec["namespaceSelector"] == {"matchNames": ["default"]}
        [endpoint] = spec["endpoints"]
        assert endpoint["path"] == f"/apis/metrics.eks.amazonaws.com/v1/{target.component}/container/metrics"
        assert endpoint["scheme"] == "https" and endpoint["port"] == "https"
    assert values["kubeProxy"] == {"enabled": False}


def test_prometheus_may_read_the_control_plane_metrics(env_plan: Plan) -> None:
    values = values_of(env_plan)
    assert values["prometheus"]["serviceAccount"]["name"] == PROMETHEUS_SERVICE_ACCOUNT
    [role] = [r["inputs"] for r in env_plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")]
    assert role["rules"] == [
        {
            "apiGroups": ["metrics.eks.amazonaws.com"],
            "resources": [f"{t.component}/metrics" for t in CONTROL_PLANE_TARGETS],
            "verbs": ["get"],
        }
    ]
    [binding] = [r["inputs"] for r in env_plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": PROMETHEUS_SERVICE_ACCOUNT, "namespace": "monitoring"}
    ]


def test_crds_upgrade_with_the_chart_and_the_node_exporter_has_its_own_namespace(env_plan: Plan) -> None:
    values = values_of(env_plan)
    job = values["crds"]["upgradeJob"]
    assert job["enabled"] is True
    assert job["image"]["busybox"]["tag"] not in ("", "latest")
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"
    release = helm_release(env_plan, "monitoring")
    assert release["options"]["protect"] is (env_plan.stack == "prod")

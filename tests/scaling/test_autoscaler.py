"""Scaling: metrics-server and the cluster autoscaler (pinned, least privilege, values against their charts),
node groups that leave their scaling to the autoscaler and the schedule, dev's off-hours, and the
platform's disruption budgets and spread (prod: at least two replicas of each)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config.stack_file import environment_configs, parse_stack_config, stack_file_config
from components.scaling.autoscaler import CLUSTER_AUTOSCALER, CLUSTER_AUTOSCALER_IMAGES, METRICS_SERVER
from components.scaling.settings import Weekday
from components.shared.aws_limits import load_kubernetes_versions
from components.shared.errors import ConfigError
from components.shared.naming import cluster_name
from tests.conftest import stack_plan
from tests.upstream import release_inputs, unknown_chart_values, upstream_json, upstream_yaml
from tools.plan import Plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
AUTOSCALER_RELEASE = "scaling-cluster-autoscaler-release"
METRICS_SERVER_RELEASE = "scaling-metrics-server-release"
ZONE_KEY = "topology.kubernetes.io/zone"


def _config(plan: Plan) -> Any:
    return environment_configs()[plan.stack]


# --- charts and IAM -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chart", "release"), [(CLUSTER_AUTOSCALER, AUTOSCALER_RELEASE), (METRICS_SERVER, METRICS_SERVER_RELEASE)]
)
def test_charts_are_the_vendored_versions_and_their_values_exist_upstream(
    env_plan: Plan, chart: Any, release: str
) -> None:
    inputs = release_inputs(env_plan, release)
    assert (inputs["chart"], inputs["version"]) == (chart.name, upstream_yaml(f"{chart.name}/Chart.yaml")["version"])
    assert inputs["namespace"] == "kube-system" and inputs["atomic"] is True
    assert unknown_chart_values(chart, inputs["values"]) == []


def test_the_values_check_catches_a_misspelled_key() -> None:
    values = json.loads(json.dumps(release_inputs(stack_plan("dev"), AUTOSCALER_RELEASE)["values"]))
    values["autoDiscovery"]["cluster"] = "x"
    assert unknown_chart_values(CLUSTER_AUTOSCALER, values) == ["autoDiscovery.cluster"]


def test_autoscaler_policy_is_the_upstream_policy_narrowed_to_this_clusters_groups(env_plan: Plan) -> None:
    upstream = upstream_json("cluster-autoscaler/iam_policy.json")["Statement"]
    policy = json.loads(
        env_plan.one("aws:iam/rolePolicy:RolePolicy", "scaling-cluster-autoscaler-policy")["inputs"]["policy"]
    )
    describe, change = policy["Statement"]
    assert {key: describe[key] for key in ("Effect", "Action", "Resource")} == upstream[0]
    assert {key: change[key] for key in ("Effect", "Action", "Resource")} == upstream[1]
    assert "Condition" not in describe
    assert change["Condition"] == {
        "StringEquals": {
            f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name(env_plan.stack)}": "owned",
            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
        }
    }
    trust = json.loads(
        env_plan.one("aws:iam/role:Role", "scaling-cluster-autoscaler-role")["inputs"]["assumeRolePolicy"]
    )
    subjects = [v for k, v in trust["Statement"][0]["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:kube-system:cluster-autoscaler"]


def test_autoscaler_matches_the_cluster_and_reads_its_region_from_config(env_plan: Plan) -> None:
    config = _config(env_plan)
    values = release_inputs(env_plan, AUTOSCALER_RELEASE)["values"]
    assert values["awsRegion"] == config.aws_region
    assert values["autoDiscovery"] == {"clusterName": cluster_name(env_plan.stack)}
    assert values["image"]["tag"].startswith(f"v{config.kubernetes_version}.")


def test_every_supported_kubernetes_version_has_an_autoscaler_release() -> None:
    for row in load_kubernetes_versions().versions:
        assert CLUSTER_AUTOSCALER_IMAGES[row.version].startswith(f"v{row.version}."), row.version


def test_scaling_alerts_cover_pending_pods_and_failed_scale_ups(env_plan: Plan) -> None:
    rule = env_plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "scaling-alerts")["inputs"]
    expressions = {alert["alert"]: alert["expr"] for group in rule["spec"]["groups"] for alert in group["rules"]}
    assert "kube_pod_status_phase" in expressions["PodsPending"]
    assert "cluster_autoscaler_failed_scale_ups_total" in expressions["ClusterAutoscalerFailedScaleUp"]
    for release in (AUTOSCALER_RELEASE, METRICS_SERVER_RELEASE):
        monitor = release_inputs(env_plan, release)["values"]["serviceMonitor"]
        labels = monitor.get("additionalLabels") or monitor.get("selector")
        assert monitor["enabled"] is True and labels == {"release": "kube-prometheus-stack"}


# --- node groups -----------------------------------------------------------------------------------


def test_node_groups_leave_their_scaling_to_the_autoscaler_and_the_schedule(env_plan: Plan) -> None:
    config = _config(env_plan)
    for group in env_plan.of_type(NODE_GROUP):
        ignored = set(group["options"]["ignoreChanges"])
        assert "scalingConfig.desiredSize" in ignored
        with_schedule = {"scalingConfig.minSize", "scalingConfig.maxSize"} <= ignored
        assert with_schedule is (config.scaling.off_hours is not None)
        assert group["inputs"]["nodeRepairConfig"] == {"enabled": True}


def _expected_cron(clock: str, weekdays: list[str]) -> str:
    """Unix cron written by hand from config: Sunday is 0, Monday 1."""
    numbers = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
    hours, minutes = clock.split(":")
    return f"{int(minutes)} {int(hours)} * * {','.join(str(n) for n in sorted(numbers[d] for d in weekdays))}"


def test_off_hours_scale_every_group_to_zero_and_back_in_the_configured_time_zone(env_plan: Plan) -> None:
    config = _config(env_plan)
    schedules = env_plan.of_type(SCHEDULE)
    if config.scaling.off_hours is None:
        assert schedules == []
        return
    off_hours = json.loads(stack_file_config(env_plan.stack)[0]["pyairtable-infra:scaling"])["offHours"]
    groups = env_plan.of_type(NODE_GROUP)
    assert len(schedules) == 2 * len(groups)
    for group in groups:
        group_name = f"eks-{group['name']}-asg"
        actions = {
            s["inputs"]["scheduledActionName"]: s["inputs"]
            for s in schedules
            if s["inputs"]["autoscalingGroupName"] == group_name
        }
        stop, start = actions["off-hours-stop"], actions["off-hours-start"]
        assert stop["recurrence"] == _expected_cron(off_hours["end"], off_hours["weekdays"])
        assert start["recurrence"] == _expected_cron(off_hours["start"], off_hours["weekdays"])
        assert stop["timeZone"] == start["timeZone"] == off_hours["timeZone"]
        assert (stop["minSize"], stop["desiredCapacity"], stop["maxSize"]) == (0, 0, 0)
        sizes = group["inputs"]["scalingConfig"]
        assert (start["minSize"], start["desiredCapacity"], start["maxSize"]) == (
            sizes["minSize"],
            sizes["desiredSize"],
            sizes["maxSize"],
        )


def test_dev_has_off_hours_and_keeps_its_control_plane() -> None:
    plan = stack_plan("dev")
    assert plan.of_type(SCHEDULE)
    assert plan.one("aws:eks/cluster:Cluster")  # the schedule touches node groups only


def test_weekday_cron_numbers() -> None:
    assert [day.cron for day in Weekday] == [1, 2, 3, 4, 5, 6, 0]


# --- disruption budgets and spread ------------------------------------------------------------------


def _release_values(plan: Plan, name: str) -> dict[str, Any]:
    return release_inputs(plan, name)["values"]


def platform_components(plan: Plan) -> dict[str, tuple[int, bool, list[dict[str, Any]]]]:
    """Each multi-replica platform component: (replicas, has an enabled disruption budget, spread constraints)."""
    eso = _release_values(plan, "external-secrets-release")
    monitoring = _release_values(plan, "monitoring-release")
    controller = _release_values(plan, "traffic-load-balancer-controller-release")
    autoscaler = _release_values(plan, AUTOSCALER_RELEASE)
    metrics = _release_values(plan, METRICS_SERVER_RELEASE)
    coredns = json.loads(plan.one("aws:eks/addon:Addon", "eks-coredns")["inputs"]["configurationValues"])
    prometheus = monitoring["prometheus"]
    alertmanager = monitoring["alertmanager"]
    grafana = monitoring["grafana"]
    return {
        "external-secrets": (
            eso["replicaCount"],
            eso["podDisruptionBudget"]["enabled"],
            eso["topologySpreadConstraints"],
        ),
        "external-secrets-webhook": (
            eso["webhook"]["replicaCount"],
            eso["webhook"]["podDisruptionBudget"]["enabled"],
            eso["webhook"]["topologySpreadConstraints"],
        ),
        "prometheus": (
            prometheus["prometheusSpec"]["replicas"],
            prometheus["podDisruptionBudget"]["enabled"],
            prometheus["prometheusSpec"]["topologySpreadConstraints"],
        ),
        "alertmanager": (
            alertmanager["alertmanagerSpec"]["replicas"],
            alertmanager["podDisruptionBudget"]["enabled"],
            alertmanager["alertmanagerSpec"]["topologySpreadConstraints"],
        ),
        "grafana": (grafana["replicas"], bool(grafana["podDisruptionBudget"]), grafana["topologySpreadConstraints"]),
        "coredns": (
            coredns["replicaCount"],
            coredns["podDisruptionBudget"]["enabled"],
            coredns["topologySpreadConstraints"],
        ),
        "load-balancer-controller": (
            controller["replicaCount"],
            bool(controller["podDisruptionBudget"]),
            controller["topologySpreadConstraints"],
        ),
        "cluster-autoscaler": (
            autoscaler["replicaCount"],
            bool(autoscaler["podDisruptionBudget"]),
            autoscaler["topologySpreadConstraints"],
        ),
        "metrics-server": (
            metrics["replicas"],
            metrics["podDisruptionBudget"]["enabled"],
            metrics["topologySpreadConstraints"],
        ),
    }


def test_every_platform_component_with_replicas_to_spare_has_a_budget_and_zone_spread(env_plan: Plan) -> None:
    for component, (replicas, budget, spread) in platform_components(env_plan).items():
        if replicas > 1:
            assert budget, component
        assert ZONE_KEY in {constraint["topologyKey"] for constraint in spread}, component


def test_prod_runs_at_least_two_replicas_of_every_platform_component() -> None:
    for component, (replicas, _, _) in platform_components(stack_plan("prod")).items():
        assert replicas >= 2, component


# --- config ------------------------------------------------------------------------------------------


def _parse(stack: str, scaling: dict[str, Any]) -> Any:
    raw, _ = stack_file_config(stack)
    raw["pyairtable-infra:scaling"] = json.dumps(scaling)
    return parse_stack_config(stack, raw)


OFF_HOURS = {"timeZone": "Europe/Berlin", "weekdays": ["mon", "fri"], "start": "08:00", "end": "18:00"}


@pytest.mark.parametrize(
    ("stack", "scaling", "message"),
    [
        (
            "prod",
            {"platformReplicas": 1},
            "scaling.platformReplicas' = 1: prod runs every platform component on at least 2",
        ),
        ("prod", {"platformReplicas": 2, "offHours": OFF_HOURS}, "scaling.offHours'"),
        (
            "dev",
            {"platformReplicas": 1, "offHours": {**OFF_HOURS, "timeZone": "Mars/Olympus"}},
            "is not an IANA time zone",
        ),
        (
            "dev",
            {"platformReplicas": 1, "offHours": {**OFF_HOURS, "start": "19:00"}},
            "start 19:00 must be before end 18:00",
        ),
        (
            "dev",
            {"platformReplicas": 1, "offHours": {**OFF_HOURS, "weekdays": ["mon", "mon"]}},
            "a weekday is listed twice",
        ),
        ("dev", {"platformReplicas": 1, "offHours": {**OFF_HOURS, "end": "24:00"}}, "scaling.offHours.end' = '24:00'"),
    ],
)
def test_scaling_config_errors_name_the_key(stack: str, scaling: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        _parse(stack, scaling)
    assert f"stack '{stack}'" in str(error.value) and message in str(error.value)


def test_running_share_counts_the_working_hours_of_the_week() -> None:
    config = _parse("dev", {"platformReplicas": 1, "offHours": OFF_HOURS})
    assert config.scaling.off_hours.running_share == pytest.approx(2 * 10 / 168)


def _hours_of(cron: str) -> tuple[float, int]:
    """(hour of day, number of weekdays) of a `minute hour * * days` recurrence."""
    minute, hour, _, _, days = cron.split()
    return int(hour) + int(minute) / 60, len(days.split(","))


def test_dev_off_hours_schedule_is_in_the_bill() -> None:
    """The share of the month the bill charges dev's nodes for is the share the plan's schedule runs them."""
    plan = stack_plan("dev")
    actions = {s["inputs"]["scheduledActionName"]: s["inputs"]["recurrence"] for s in plan.of_type(SCHEDULE)}
    (stop, days), (start, _) = _hours_of(actions["off-hours-stop"]), _hours_of(actions["off-hours-start"])
    share = days * (stop - start) / (7 * 24)
    assert 0 < share < 1
    items = {item["item"]: item for item in plan.outputs["cost"]["items"]}
    for name in ("node group spot", "node root volumes (gp3)"):
        item = items[name]
        around_the_clock = item["quantity"] * item["unitPriceUsd"]
        assert item["monthlyUsd"] == pytest.approx(around_the_clock * share, abs=0.01), name
        assert f"running {share:.1%} of the month (scaling.offHours)" in item["note"], name
        saved, full = (
            float(x.replace(",", "")) for x in re.findall(r"saves \$([\d,.]+) of \$([\d,.]+)", item["note"])[0]
        )
        assert full == pytest.approx(around_the_clock, abs=0.01) and saved == pytest.approx(
            full - item["monthlyUsd"], abs=0.01
        )


def test_stacks_without_off_hours_bill_their_nodes_around_the_clock() -> None:
    for stack in ("staging", "prod"):
        assert "offHours" not in json.dumps(stack_plan(stack).outputs["cost"])
        assert all("scaling.offHours" not in item["note"] for item in stack_plan(stack).outputs["cost"]["items"])

"""What Prometheus and Grafana read: ServiceMonitors and PrometheusRules (validated against the upstream
CRD schemas and proven to be selected by the release's Prometheus), the SLO burn-rate alerts, the
environment-specific platform alerts and the dashboards."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from components.config.environment import CapacityStrategy
from components.config.stack_file import environment_configs
from components.observability.control_plane import CONTROL_PLANE_TARGETS
from components.observability.rules import (
    BURN_RATE_ALERTS,
    CAPACITY_TYPE_LABEL,
    CAPACITY_TYPE_METRIC_LABEL,
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    DOCUMENTED_METRICS,
    ERROR_RATIO_RECORD,
    METRICS_PORT_NAME,
    RELEASE_NAME,
    SERVICE_NAME_LABEL,
    SLO_AVAILABILITY,
    SLO_WINDOWS,
    platform_rule_spec,
    service_monitor_spec,
    slo_rule_spec,
)
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.naming import MONITORING_NAMESPACE
from tests.conftest import helm_release, stack_plan
from tests.schemas import crd_errors, reference_yaml
from tools.plan import Plan

CUSTOM_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
CRDS = "prometheus-operator"
"""The reference folder of the prometheus-operator CRDs."""


MONITORING_TYPE = "kubernetes:monitoring.coreos.com/v1:"
MONITORING_PARENT = "pyairtable:monitoring:Monitoring$"


def prometheus_objects(plan: Plan) -> list[dict[str, Any]]:
    """Every ServiceMonitor, PodMonitor and PrometheusRule the plan declares, as Kubernetes objects."""
    return [
        {key: resource["inputs"][key] for key in ("apiVersion", "kind", "metadata", "spec")}
        | {"options": resource["options"], "provider": resource["provider"]}
        for resource in plan.resources
        if resource["type"].startswith("kubernetes:monitoring.coreos.com/v1:")
    ]


# ---------------------------------------------------------------- CRD schemas


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Errors of one monitor or rule against its upstream CRD."""
    return crd_errors(CRDS, manifest)


def _manifest(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: obj[key] for key in ("apiVersion", "kind", "metadata", "spec")}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_monitor_and_rule_matches_the_upstream_crd_schema(environment: str) -> None:
    plan = stack_plan(environment)
    objects = prometheus_objects(plan)
    assert {obj["kind"] for obj in objects} <= set(CUSTOM_KINDS)
    # Monitoring's own; other capabilities add theirs (the registry's token-expiry rule), checked below too.
    monitoring = [r for r in plan.resources if r["type"].startswith(MONITORING_TYPE) and MONITORING_PARENT in r["urn"]]
    # Per service a monitor and an SLO rule, the platform alerts, one monitor per EKS control-plane target.
    assert len(monitoring) == 2 * len(load_catalog().deployable) + 1 + len(CONTROL_PLANE_TARGETS)
    for obj in objects:
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert schema_errors(_manifest(obj)) == [], obj["metadata"]["name"]


def test_the_schema_check_catches_a_misspelled_field_and_a_wrong_type() -> None:
    (monitor,) = [o for o in prometheus_objects(stack_plan("dev")) if o["metadata"]["name"] == "gateway-metrics"]
    broken = _manifest(copy.deepcopy(monitor))
    broken["spec"]["endpoints"][0]["pth"] = broken["spec"]["endpoints"][0].pop("path")
    broken["spec"]["endpoints"][0]["interval"] = "30 seconds"
    errors = schema_errors(broken)
    assert any("'pth' was unexpected" in error for error in errors), errors
    assert any(error.startswith("spec.endpoints.0.interval") for error in errors), errors
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "for": "soon"}]}]},
    }
    assert len(schema_errors(rule)) == 2  # `expr` missing, `for` not a duration


# ---------------------------------------------------------------- selection by Prometheus


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics: every matchLabels pair and every matchExpression must hold."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not holds:
            return False
    return True


SELECTOR_KEYS = {
    "ServiceMonitor": "serviceMonitor",
    "PodMonitor": "podMonitor",
    "PrometheusRule": "rule",
}


def chart_prometheus_spec() -> dict[str, Any]:
    """The chart's default `prometheus.prometheusSpec`."""
    return reference_yaml("kube-prometheus-stack/values.yaml")["prometheus"]["prometheusSpec"]


def is_selected(prometheus_spec: dict[str, Any], obj: dict[str, Any], namespace_labels: dict[str, str]) -> bool:
    """Whether the chart's Prometheus, given these values, selects the object.

    The chart turns an empty selector into `release: <release name>` while `*SelectorNilUsesHelmValues`
    is true; an empty namespace selector selects every namespace. Unset values take the chart's defaults.
    """
    spec = {**chart_prometheus_spec(), **prometheus_spec}
    prefix = SELECTOR_KEYS[obj["kind"]]
    selector = spec[f"{prefix}Selector"] or (
        {"matchLabels": {"release": RELEASE_NAME}} if spec[f"{prefix}SelectorNilUsesHelmValues"] else {}
    )
    namespace_selector = spec[f"{prefix}NamespaceSelector"]
    return selector_matches(selector, obj["metadata"].get("labels", {})) and selector_matches(
        namespace_selector, namespace_labels
    )


def namespace_labels(plan: Plan) -> dict[str, dict[str, str]]:
    return {
        ns["inputs"]["metadata"]["name"]: ns["inputs"]["metadata"].get("labels", {})
        for ns in plan.of_type("kubernetes:core/v1:Namespace")
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_prometheus_selects_every_monitor_and_rule_declared(environment: str) -> None:
    plan = stack_plan(environment)
    spec = helm_release(plan, "monitoring")["inputs"]["values"]["prometheus"]["prometheusSpec"]
    namespaces = namespace_labels(plan)
    objects = prometheus_objects(plan)
    assert objects
    for obj in objects:
        assert is_selected(spec, obj, namespaces[obj["metadata"]["namespace"]]), obj["metadata"]


def test_the_selection_check_fails_for_a_monitor_prometheus_would_ignore() -> None:
    plan = stack_plan("dev")
    spec = helm_release(plan, "monitoring")["inputs"]["values"]["prometheus"]["prometheusSpec"]
    namespaces = namespace_labels(plan)
    for obj in prometheus_objects(plan):
        unlabelled = copy.deepcopy(obj)
        unlabelled["metadata"]["labels"] = {"team": "backend-go"}
        assert not is_selected(spec, unlabelled, namespaces[obj["metadata"]["namespace"]])
    # With the chart's defaults only the release label counts; a namespace selector must hold too.
    monitor = next(o for o in prometheus_objects(plan) if o["kind"] == "ServiceMonitor")
    assert is_selected({}, monitor, {})
    assert not is_selected({}, {**monitor, "metadata": {"labels": {"app": "x"}}}, {})
    assert not is_selected(
        {**spec, "serviceMonitorNamespaceSelector": {"matchLabels": {"monitored": "yes"}}}, monitor, {}
    )


def test_selector_semantics() -> None:
    labels = {"release": RELEASE_NAME, "tier": "api"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "release", "operator": "DoesNotExist"}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)


# ---------------------------------------------------------------- ServiceMonitors


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_one_service_monitor_per_deployable_service_in_its_namespace(environment: str) -> None:
    plan = stack_plan(environment)
    release_urn = helm_release(plan, "monitoring")["urn"]
    monitors = {
        o["metadata"]["namespace"]: o
        for o in prometheus_objects(plan)
        if o["kind"] == "ServiceMonitor" and o["metadata"]["namespace"] != MONITORING_NAMESPACE
    }
    catalog = load_catalog()
    assert set(monitors) == {service.namespace for service in catalog.deployable}
    for service in catalog.deployable:
        monitor = monitors[service.namespace]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == METRICS_PORT_NAME
        assert endpoint["path"] == service.metrics_path
        assert endpoint["relabelings"][0]["regex"] == str(service.port)
        assert release_urn in monitor["options"]["dependsOn"], "the CRDs come with the release"


def test_a_service_following_the_naming_contract_is_scraped() -> None:
    """The contract in observability.py: Service labelled with the catalog name, port named `http`."""
    for service in load_catalog().deployable:
        spec = service_monitor_spec(service)
        contract_service = {
            "namespace": service.namespace,
            "labels": {SERVICE_NAME_LABEL: service.name},
            "ports": [{"name": "http", "port": 80, "targetPort": service.port}],
        }
        assert selector_matches(spec["selector"], contract_service["labels"])
        assert contract_service["namespace"] in spec["namespaceSelector"]["matchNames"]
        assert spec["endpoints"][0]["port"] in {port["name"] for port in contract_service["ports"]}
        other = (
            load_catalog().deployable[0] if service != load_catalog().deployable[0] else load_catalog().deployable[1]
        )
        assert not selector_matches(spec["selector"], {SERVICE_NAME_LABEL: other.name})


# ---------------------------------------------------------------- PromQL expressions

PROMQL_WORDS = frozenset(
    [
        "sum",
        "count",
        "rate",
        "by",
        "on",
        "and",
        "or",
        "unless",
        "time",
        "predict_linear",
        "vector",
        "group_left",
    ]
)


def metric_names(expression: str) -> set[str]:
    """Metric names an expression reads: identifiers outside strings, label matchers, ranges and label lists."""
    text = re.sub(r'"[^"]*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|on|group_left|without|ignoring)\s*\([^)]*\)", " ", text)
    return {word for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text) if word not in PROMQL_WORDS}


def recorded_names() -> set[str]:
    return {f"{ERROR_RATIO_RECORD}{window}" for window in SLO_WINDOWS}


def _balanced(expression: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for character in re.sub(r'"[^"]*"', "", expression):
        if character in depth:
            depth[character] += 1
        elif character in closing:
            depth[closing[character]] -= 1
            if depth[closing[character]] < 0:
                return False
    return not any(depth.values()) and expression.count('"') % 2 == 0


def all_rules(plan: Plan) -> list[dict[str, Any]]:
    return [
        rule
        for obj in prometheus_objects(plan)
        if obj["kind"] == "PrometheusRule"
        for group in obj["spec"]["groups"]
        for rule in group["rules"]
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_expression_is_well_formed_and_reads_only_documented_metrics(environment: str) -> None:
    rules = all_rules(stack_plan(environment))
    assert rules
    for rule in rules:
        expression = rule["expr"]
        assert expression.strip() and _balanced(expression), rule
        names = metric_names(expression)
        # A rule that reads no metric compares the clock to a date (the registry token's expiry).
        assert names or re.fullmatch(r"vector\(time\(\)\) > [0-9]+", expression), rule
        assert names <= set(DOCUMENTED_METRICS) | recorded_names(), (rule.get("alert") or rule["record"], names)


def test_the_metric_check_would_catch_an_undocumented_metric() -> None:
    assert metric_names('sum(rate(http_request_total{code=~"5.."}[5m])) by (namespace)') == {"http_request_total"}
    assert not _balanced("sum(rate(x[5m])")


def test_every_service_has_the_multi_window_burn_rate_alerts_of_the_sre_workbook() -> None:
    budget = 1 - SLO_AVAILABILITY
    expected = {
        "ErrorBudgetBurnFast": ("critical", [("1h", "5m", 14.4), ("6h", "30m", 6)]),
        "ErrorBudgetBurnSlow": ("warning", [("1d", "2h", 3), ("3d", "6h", 1)]),
    }
    assert {(a.long_window, a.short_window, a.burn_rate) for a in BURN_RATE_ALERTS} == {
        window for _, windows in expected.values() for window in windows
    }
    for service in load_catalog().deployable:
        recording, alerting = slo_rule_spec(service)["groups"]
        recorded = {rule["record"] for rule in recording["rules"]}
        assert all(rule["labels"] == {"service": service.name} for rule in recording["rules"])
        assert all(f'namespace="{service.namespace}"' in rule["expr"] for rule in recording["rules"])
        alerts = {rule["alert"]: rule for rule in alerting["rules"]}
        assert set(alerts) == set(expected)
        for name, (severity, windows) in expected.items():
            alert = alerts[name]
            assert alert["labels"] == {"severity": severity, "service": service.name, "slo": "availability"}
            conditions = alert["expr"].split("\nor\n")
            assert len(conditions) == len(windows)
            for condition, (long_window, short_window, factor) in zip(conditions, windows, strict=True):
                threshold = f"{factor * budget:g}"
                for window in (long_window, short_window):
                    series = f'{ERROR_RATIO_RECORD}{window}{{service="{service.name}"}} > {threshold}'
                    assert series in condition, (name, series)
                    assert f"{ERROR_RATIO_RECORD}{window}" in recorded
                assert " and " in condition


# ---------------------------------------------------------------- platform alerts per environment


def _alerts(plan: Plan) -> set[str]:
    return {rule["alert"] for rule in all_rules(plan) if "alert" in rule}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_platform_alerts_follow_the_environment(environment: str) -> None:
    config = environment_configs()[environment]
    alerts = _alerts(stack_plan(environment))
    assert "NodeNotReady" in alerts
    spot_backed = config.capacity_strategy in (CapacityStrategy.SPOT, CapacityStrategy.MIXED)
    assert ({"SpotNodeInterrupted", "SpotNodeChurnHigh"} <= alerts) is spot_backed
    assert bool({"SpotNodeInterrupted", "SpotNodeChurnHigh"} & alerts) is spot_backed
    has_volume = config.prometheus_storage_gib > 0
    assert ({"PrometheusStorageLow", "PrometheusStorageFillingUp"} <= alerts) is has_volume
    assert bool({"PrometheusStorageLow", "PrometheusStorageFillingUp"} & alerts) is has_volume


def test_the_checked_in_environments_get_spot_and_storage_alerts_where_they_apply() -> None:
    alerts = {environment: _alerts(stack_plan(environment)) for environment in ENVIRONMENTS}
    assert "SpotNodeChurnHigh" in alerts["dev"] and "SpotNodeChurnHigh" in alerts["staging"]
    assert "SpotNodeChurnHigh" not in alerts["prod"]
    assert "PrometheusStorageFillingUp" not in alerts["dev"]
    assert "PrometheusStorageFillingUp" in alerts["staging"] and "PrometheusStorageFillingUp" in alerts["prod"]


def test_spot_alerts_read_the_capacity_label_kube_state_metrics_exposes() -> None:
    config = environment_configs()["dev"]
    groups = {group["name"]: group for group in platform_rule_spec(config)["groups"]}
    for rule in groups["spot-capacity"]["rules"]:
        assert f'{CAPACITY_TYPE_METRIC_LABEL}="spot"' in rule["expr"]
    reserved = config.model_copy(update={"capacity_strategy": CapacityStrategy.RESERVED, "prometheus_storage_gib": 0})
    assert [group["name"] for group in platform_rule_spec(reserved)["groups"]] == ["nodes"]


def _kube_state_metrics_label(label: str) -> str:
    """kube-state-metrics' name for a Kubernetes label: `label_` plus the name with invalid characters as `_`."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_kube_state_metrics_is_told_to_expose_the_capacity_label(environment: str) -> None:
    allowlist = helm_release(stack_plan(environment), "monitoring")["inputs"]["values"]["kube-state-metrics"][
        "metricLabelsAllowlist"
    ]
    assert allowlist == [f"nodes=[{CAPACITY_TYPE_LABEL}]"]
    assert _kube_state_metrics_label(CAPACITY_TYPE_LABEL) == CAPACITY_TYPE_METRIC_LABEL


# ---------------------------------------------------------------- dashboards


def _dashboards(plan: Plan) -> dict[str, dict[str, Any]]:
    found = {}
    for config_map in plan.of_type("kubernetes:core/v1:ConfigMap"):
        if config_map["inputs"]["metadata"].get("namespace") != "monitoring":
            continue  # not a dashboard (e.g. the data stores' provisioning script)
        ((file_name, text),) = config_map["inputs"]["data"].items()
        found[file_name] = {"config_map": config_map, "json": json.loads(text)}
    return found


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dashboards_are_config_maps_the_grafana_sidecar_picks_up(environment: str) -> None:
    plan = stack_plan(environment)
    sidecar = helm_release(plan, "monitoring")["inputs"]["values"]["grafana"]["sidecar"]["dashboards"]
    dashboards = _dashboards(plan)
    assert set(dashboards) == {"platform-overview.json", "nodes-by-capacity-type.json"}
    assert sidecar["enabled"] is True
    for dashboard in dashboards.values():
        metadata = dashboard["config_map"]["inputs"]["metadata"]
        assert metadata["labels"] == {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE}
        assert metadata["labels"][sidecar["label"]] == sidecar["labelValue"]
        assert sidecar["searchNamespace"] in ("ALL", metadata["namespace"])
        assert dashboard["json"]["title"].endswith(f"({environment})")


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_overview_shows_availability_per_service_against_the_slo() -> None:
    overview = _dashboards(stack_plan("prod"))["platform-overview.json"]["json"]
    queries = _queries(overview)
    assert any(q.startswith(f"1 - {ERROR_RATIO_RECORD}") for q in queries)
    assert f"vector({SLO_AVAILABILITY})" in queries
    thresholds = [
        step["value"]
        for panel in overview["panels"]
        for step in panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
        if step["value"] is not None
    ]
    assert thresholds and set(thresholds) == {SLO_AVAILABILITY}
    for panel in overview["panels"]:
        assert all(target["legendFormat"] in ("{{service}}", "SLO 99.9%") for target in panel["targets"])


def test_the_nodes_dashboard_splits_by_capacity_type() -> None:
    nodes = _dashboards(stack_plan("staging"))["nodes-by-capacity-type.json"]["json"]
    for query in _queries(nodes):
        assert f"by ({CAPACITY_TYPE_METRIC_LABEL})" in query


@pytest.mark.parametrize("file_name", ["platform-overview.json", "nodes-by-capacity-type.json"])
def test_dashboard_queries_read_only_documented_or_recorded_metrics(file_name: str) -> None:
    dashboard = _dashboards(stack_plan("dev"))[file_name]["json"]
    for query in _queries(dashboard):
        assert _balanced(query), query
        assert metric_names(query) <= set(DOCUMENTED_METRICS) | recorded_names(), query

"""The Monitoring component: the kube-prometheus-stack release, its per-environment values, Grafana's
admin secret and rotation, Alertmanager receivers, and every Helm value key checked against upstream."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.config.environment import AlertReceiver, EnvironmentConfig
from components.config.stack_file import environment_configs, read_stack_config
from components.observability.monitoring import (
    ADMIN_PASSWORD_RESET_SCRIPT,
    ALERTMANAGER_SECRETS_PATH,
    CHART_VERSION,
    COMPONENT_RESOURCES,
    ROTATION_ANNOTATION,
    Monitoring,
    MonitoringArgs,
    alertmanager_config,
    monitoring_values,
)
from components.observability.rules import RELEASE_NAME
from components.shared.catalog import ENVIRONMENTS, load_catalog
from components.shared.errors import ConfigError
from components.shared.naming import ALERTMANAGER_SECRET, GRAFANA_ADMIN_SECRET, MONITORING_NAMESPACE
from tests.conftest import helm_release, stack_plan
from tests.reference import commented_out_keys
from tests.schemas import OpenValues, dig, leaves, reference_yaml, unknown_value_paths, walk
from tools.plan import Plan, build_plan


def env_config(environment: str) -> EnvironmentConfig:
    return environment_configs()[environment]


def release_values(plan: Plan) -> dict[str, Any]:
    """The Helm values of the monitoring release, as the engine receives them."""
    return helm_release(plan, "monitoring")["inputs"]["values"]


def storage_class(plan: Plan) -> str:
    """The name of the cluster's StorageClass, which Monitoring is handed."""
    return plan.one("kubernetes:storage.k8s.io/v1:StorageClass")["inputs"]["metadata"]["name"]


# ---------------------------------------------------------------- the release


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_release_installs_the_pinned_chart_into_monitoring_after_the_secrets(environment: str) -> None:
    plan = stack_plan(environment)
    release = helm_release(plan, "monitoring")
    inputs = release["inputs"]
    assert inputs["chart"] == "kube-prometheus-stack"
    assert inputs["version"] == CHART_VERSION == "88.5.3"
    assert inputs["repositoryOpts"] == {"repo": "https://prometheus-community.github.io/helm-charts"}
    assert inputs["namespace"] == "monitoring"
    assert inputs["createNamespace"] is False
    # A fixed release name: the selection labels and service names depend on it (no random suffix).
    assert inputs["name"] == RELEASE_NAME
    assert release["provider"] == plan.one("pulumi:providers:kubernetes", "eks-kubernetes")["urn"]
    monitoring_secrets = {
        r["urn"]
        for r in plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if r["inputs"]["metadata"]["namespace"] == MONITORING_NAMESPACE
    }
    assert len(monitoring_secrets) == 2
    assert monitoring_secrets <= set(release["options"]["dependsOn"])
    assert plan.one("kubernetes:core/v1:Namespace", "namespaces-monitoring")["urn"] in release["options"]["dependsOn"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_prometheus_is_sized_from_the_environment_config(environment: str) -> None:
    config = env_config(environment)
    plan = stack_plan(environment)
    spec = release_values(plan)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == config.prometheus_retention
    assert spec["replicas"] == config.prometheus_replicas
    assert release_values(plan)["alertmanager"]["alertmanagerSpec"]["replicas"] == config.prometheus_replicas
    if config.prometheus_storage_gib == 0:
        assert "storageSpec" not in spec and "retentionSize" not in spec
    else:
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == storage_class(plan)
        assert claim["accessModes"] == ["ReadWriteOnce"]
        assert claim["resources"]["requests"]["storage"] == f"{config.prometheus_storage_gib}Gi"
        size = int(spec["retentionSize"].removesuffix("GiB"))
        assert 0 < size < config.prometheus_storage_gib


def test_the_checked_in_environments_get_the_sizing_the_issue_asks_for() -> None:
    specs = {env: release_values(stack_plan(env))["prometheus"]["prometheusSpec"] for env in ENVIRONMENTS}
    assert "storageSpec" not in specs["dev"]
    assert specs["staging"]["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    assert specs["prod"]["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    assert specs["prod"]["replicas"] == 2
    days = {env: int(spec["retention"].removesuffix("d")) for env, spec in specs.items()}
    assert days["dev"] < days["staging"] < days["prod"]


_UNITS = {"": 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _quantity(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


# Where each component's containers take their resources from in the chart's values.
RESOURCE_PATHS = {
    "prometheus": ("prometheus", "prometheusSpec", "resources"),
    "alertmanager": ("alertmanager", "alertmanagerSpec", "resources"),
    "operator": ("prometheusOperator", "resources"),
    "config-reloader": ("prometheusOperator", "prometheusConfigReloader", "resources"),
    "webhook-patch-job": ("prometheusOperator", "admissionWebhooks", "patch", "resources"),
    "grafana": ("grafana", "resources"),
    "grafana-sidecars": ("grafana", "sidecar", "resources"),
    "kube-state-metrics": ("kube-state-metrics", "resources"),
    "node-exporter": ("prometheus-node-exporter", "resources"),
}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_component_has_requests_and_limits(environment: str) -> None:
    values = release_values(stack_plan(environment))
    assert set(RESOURCE_PATHS) == set(COMPONENT_RESOURCES)
    for component, path in RESOURCE_PATHS.items():
        resources = dig(values, path)
        assert resources == COMPONENT_RESOURCES[component], component
        for kind in ("cpu", "memory"):
            request, limit = resources["requests"][kind], resources["limits"][kind]
            assert 0 < _quantity(request) <= _quantity(limit), (component, kind, request, limit)
    # No resources block anywhere in the values is half filled.
    blocks = [(path, value) for path, value in walk(values) if path and path[-1] == "resources" and "spec" not in path]
    assert len(blocks) == len(RESOURCE_PATHS)
    for path, block in blocks:
        assert set(block) == {"requests", "limits"}, path


# ---------------------------------------------------------------- Grafana admin credentials and rotation


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_grafana_admin_comes_from_the_synced_secret_never_a_default_password(environment: str) -> None:
    grafana = release_values(stack_plan(environment))["grafana"]
    assert grafana["admin"] == {
        "existingSecret": GRAFANA_ADMIN_SECRET,
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    keys = {path[-1] for path, _ in walk(grafana) if path}
    # `adminPassword` (the chart's `prom-operator` default in older versions) would create a chart
    # Secret; an env override of GF_SECURITY_ADMIN_PASSWORD would bypass existingSecret.
    assert not keys & {"adminPassword", "adminUser", "env", "envFromSecret", "envRenderSecret"}
    assert "prom-operator" not in str(release_values(stack_plan(environment)))


def _values_with_rotation(plan: Plan, rotation: str) -> dict[str, Any]:
    """The values Monitoring computes for this plan's environment, with another rotation marker."""
    return monitoring_values(
        env_config(plan.stack),
        storage_class_name=storage_class(plan),
        grafana_admin_secret_name=GRAFANA_ADMIN_SECRET,
        alertmanager_secret_name=ALERTMANAGER_SECRET,
        grafana_admin_rotation=rotation,
        dashboard_namespace=MONITORING_NAMESPACE,
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_release_values_are_the_pure_values_with_the_grafana_admin_version(environment: str) -> None:
    """The stack hands monitoring_values the version id of the Grafana admin secret as rotation marker."""
    plan = stack_plan(environment)
    version = plan.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "service-secrets-monitoring-grafana-admin-version"
    )
    assert release_values(plan) == _values_with_rotation(plan, f"{version['name']}-version-id")


def test_a_password_rotation_rolls_grafana_and_changes_nothing_else() -> None:
    before = _values_with_rotation(stack_plan("prod"), "rotation-1")
    after = _values_with_rotation(stack_plan("prod"), "rotation-2")
    assert before["grafana"]["podAnnotations"] == {ROTATION_ANNOTATION: "rotation-1"}
    assert after["grafana"]["podAnnotations"] == {ROTATION_ANNOTATION: "rotation-2"}
    before_leaves, after_leaves = leaves(before), leaves(after)
    changed = [
        path
        for path in before_leaves.keys() | after_leaves.keys()
        if before_leaves.get(path, ...) != after_leaves.get(path, ...)
    ]
    assert changed == [("grafana", "podAnnotations", ROTATION_ANNOTATION)]


def test_grafana_resets_the_admin_password_from_the_secret_on_every_start() -> None:
    hook = release_values(stack_plan("dev"))["grafana"]["lifecycleHooks"]
    assert hook == {"postStart": {"exec": {"command": ["/bin/sh", "-c", ADMIN_PASSWORD_RESET_SCRIPT]}}}
    # The chart fills GF_SECURITY_ADMIN_PASSWORD from admin.existingSecret/passwordKey.
    assert "$GF_SECURITY_ADMIN_PASSWORD" in ADMIN_PASSWORD_RESET_SCRIPT
    # The grafana chart renders lifecycleHooks through `tpl`: template braces would be evaluated.
    assert "{{" not in ADMIN_PASSWORD_RESET_SCRIPT


def _run_hook(tmp_path: Path, failures_before_success: int) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the postStart script with a fake `grafana` (and `sleep`) that records its arguments and stdin."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "grafana").write_text(
        "#!/bin/sh\n"
        f'printf "%s|%s\\n" "$*" "$(cat)" >> {calls}\n'
        f'[ "$(wc -l < {calls})" -gt {failures_before_success} ]\n'
    )
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("grafana", "sleep"):
        (bin_dir / tool).chmod(0o755)
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GF_SECURITY_ADMIN_PASSWORD": "n3w-p@ss word",
        "GF_PATHS_HOME": "/usr/share/grafana",
        "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
    }
    result = subprocess.run(
        ["/bin/sh", "-c", ADMIN_PASSWORD_RESET_SCRIPT], env=environment, capture_output=True, text=True, check=False
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_the_reset_hook_passes_the_secret_password_on_stdin_and_retries(tmp_path: Path) -> None:
    result, calls = _run_hook(tmp_path, failures_before_success=2)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 3
    arguments, stdin = calls[-1].split("|")
    assert arguments == (
        "cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini admin reset-admin-password "
        "--password-from-stdin"
    )
    assert stdin == "n3w-p@ss word"
    assert "n3w-p@ss" not in arguments


def test_the_reset_hook_fails_the_container_when_grafana_never_accepts_it(tmp_path: Path) -> None:
    result, calls = _run_hook(tmp_path, failures_before_success=1000)
    assert result.returncode != 0
    assert len(calls) == 30


# ---------------------------------------------------------------- Alertmanager


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_configured_receiver_reads_its_url_from_the_mounted_secret(environment: str) -> None:
    config = env_config(environment)
    alertmanager = release_values(stack_plan(environment))["alertmanager"]
    assert alertmanager["alertmanagerSpec"]["secrets"] == [ALERTMANAGER_SECRET]
    receivers = {receiver["name"]: receiver for receiver in alertmanager["config"]["receivers"]}
    assert set(receivers) == {"null", *(receiver.name for receiver in config.alert_receivers)}
    field = {
        "slack": ("slack_configs", "api_url_file"),
        "webhook": ("webhook_configs", "url_file"),
        "pagerduty": ("pagerduty_configs", "routing_key_file"),
    }
    for receiver in config.alert_receivers:
        configs_key, file_key = field[receiver.kind]
        (target,) = receivers[receiver.name][configs_key]
        assert target[file_key] == f"{ALERTMANAGER_SECRETS_PATH}/{ALERTMANAGER_SECRET}/{receiver.name}-url"
    routed = {route["receiver"] for route in alertmanager["config"]["route"]["routes"]}
    assert routed | {alertmanager["config"]["route"]["receiver"]} <= set(receivers)
    assert {receiver.name for receiver in config.alert_receivers} <= routed


def _mounted_secrets_without_a_sync(plan: Plan) -> list[str]:
    """Secrets Alertmanager mounts that no ExternalSecret in `monitoring` creates (its pods would never start)."""
    synced = {
        r["inputs"]["spec"]["target"]["name"]
        for r in plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if r["inputs"]["metadata"]["namespace"] == MONITORING_NAMESPACE
    }
    mounted = release_values(plan)["alertmanager"]["alertmanagerSpec"]["secrets"]
    return [name for name in mounted if name not in synced]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_alertmanager_mounts_only_secrets_that_are_synced(environment: str) -> None:
    assert _mounted_secrets_without_a_sync(stack_plan(environment)) == []


def test_without_receivers_alertmanager_mounts_no_receiver_secret() -> None:
    """No receiver, no synced receiver Secret (ServiceSecrets skips it): nothing to mount either."""
    plan = build_plan("dev", {"alertReceivers": []})
    assert _mounted_secrets_without_a_sync(plan) == []
    assert release_values(plan)["alertmanager"]["alertmanagerSpec"]["secrets"] == []
    assert release_values(plan)["alertmanager"]["config"]["receivers"] == [{"name": "null"}]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_url_is_written_into_the_values(environment: str) -> None:
    strings = [value for _, value in walk(release_values(stack_plan(environment))) if isinstance(value, str)]
    assert not [text for text in strings if re.search(r"https?://", text)]


def test_pages_go_to_pagerduty_and_everything_to_chat_receivers() -> None:
    receivers = (
        AlertReceiver(name="pager", kind="pagerduty"),
        AlertReceiver(name="chat", kind="slack"),
        AlertReceiver(name="hook", kind="webhook"),
    )
    config = alertmanager_config(receivers, "secret")
    routes = {route["receiver"]: route for route in config["route"]["routes"]}
    assert routes["pager"]["matchers"] == ['severity = "critical"']
    assert "matchers" not in routes["chat"] and "matchers" not in routes["hook"]
    assert config["receivers"][3]["webhook_configs"][0]["url_file"] == f"{ALERTMANAGER_SECRETS_PATH}/secret/hook-url"
    # The Watchdog route comes first and stops there; the others continue so every receiver gets its share.
    assert config["route"]["routes"][0]["receiver"] == "null" and "continue" not in config["route"]["routes"][0]
    assert all(route["continue"] for route in config["route"]["routes"][1:])


def test_without_a_pager_pages_still_reach_every_receiver() -> None:
    config = alertmanager_config((AlertReceiver(name="chat", kind="slack"),), "secret")
    assert config["route"]["routes"][1] == {"receiver": "chat", "continue": True}


# ---------------------------------------------------------------- bad input


def test_a_missing_service_namespace_is_refused_by_name() -> None:
    """The stack always hands Monitoring every namespace, so a program of its own leaves one out."""

    def program() -> None:
        config = read_stack_config()
        assert isinstance(config, EnvironmentConfig)
        catalog = load_catalog()
        provider = k8s.Provider("k8s", kubeconfig="{}")
        with_provider = pulumi.ResourceOptions(provider=provider)
        keys = [MONITORING_NAMESPACE, *(service.name for service in catalog.deployable if service.name != "gateway")]
        namespaces = {key: k8s.core.v1.Namespace(key, metadata={"name": key}, opts=with_provider) for key in keys}
        Monitoring(
            "monitoring",
            MonitoringArgs(
                config=config,
                catalog=catalog,
                kubernetes_provider=provider,
                namespaces=namespaces,
                storage_class_name="gp3",
                grafana_admin_secret_name=GRAFANA_ADMIN_SECRET,
                alertmanager_secret_name=ALERTMANAGER_SECRET,
                grafana_admin_rotation="rotation-1",
                secrets_ready=[],
            ),
        )

    with pytest.raises(ConfigError, match=r"Monitoring needs namespaces \['gateway'\]"):
        build_plan("dev", program=program)


# ---------------------------------------------------------------- value keys against upstream values.yaml

# Maps whose children are free-form (Kubernetes objects, Alertmanager configuration, label selectors):
# the chart passes them through, so their keys are not in values.yaml.
OPEN_KEYS = frozenset({"resources", "annotations", "labels", "nodeSelector"})
OPEN_PATHS = frozenset(
    {
        "alertmanager.config",
        "prometheus.prometheusSpec.storageSpec",
        "prometheus.prometheusSpec.serviceMonitorSelector",
        "prometheus.prometheusSpec.podMonitorSelector",
        "prometheus.prometheusSpec.ruleSelector",
        "grafana.podAnnotations",
        "grafana.lifecycleHooks",
    }
)
# Keys the grafana chart documents only as a commented-out line (`# podAnnotations: {}`); a test below
# checks that the comment is still upstream.
COMMENTED_UPSTREAM = {"grafana.podAnnotations": ("grafana", "podAnnotations")}
# Keys of the kube-state-metrics (8.4.0) and prometheus-node-exporter (4.56.1) subcharts, whose
# values.yaml files are not in the reference; kube-prometheus-stack's values list only a few of theirs.
SUBCHART_KEYS = frozenset(
    {"kube-state-metrics.resources", "kube-state-metrics.metricLabelsAllowlist", "prometheus-node-exporter.resources"}
)


OPEN_VALUES = OpenValues(keys=OPEN_KEYS, paths=OPEN_PATHS, unlisted=frozenset(COMMENTED_UPSTREAM) | SUBCHART_KEYS)


def upstream_values(chart: str) -> dict[str, Any]:
    """The default values.yaml of a chart of the reference data."""
    return reference_yaml(f"{chart}/values.yaml")


def unknown_value_keys(values: dict[str, Any]) -> list[str]:
    """Every key path of `values` that the upstream charts do not have (grafana.* against both files)."""
    chart = upstream_values("kube-prometheus-stack")
    others = {key: value for key, value in values.items() if key != "grafana"}
    grafana_defaults = [chart["grafana"], upstream_values("grafana")]
    return unknown_value_paths(others, [chart], OPEN_VALUES) + unknown_value_paths(
        values.get("grafana", {}), grafana_defaults, OPEN_VALUES, "grafana"
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_value_key_exists_upstream(environment: str) -> None:
    assert unknown_value_keys(release_values(stack_plan(environment))) == []


def test_a_misspelled_value_key_is_caught() -> None:
    values = release_values(stack_plan("staging"))
    misspelled = copy.deepcopy(values)
    misspelled["prometheus"]["prometheusSpec"]["retension"] = "7d"
    misspelled["grafana"]["admin"]["existingSecrets"] = "x"
    misspelled["grafana"]["sidecar"]["dashboards"]["serchNamespace"] = "ALL"
    misspelled["alertmanager"]["alertmanagerSpec"]["secrets"] = ["x"]
    misspelled["alertmanagers"] = {}
    misspelled["prometheusOperator"]["admissionWebhooks"]["patch"] = "not a map"
    misspelled["prometheusOperator"]["prometheusConfigReloader"]["resources"] = {"anything": "goes"}
    assert sorted(unknown_value_keys(misspelled)) == [
        "alertmanagers",
        "grafana.admin.existingSecrets",
        "grafana.sidecar.dashboards.serchNamespace",
        "prometheus.prometheusSpec.retension",
        "prometheusOperator.admissionWebhooks.patch (a str here, a dict upstream)",
    ]


def test_the_allow_lists_are_small_and_still_match_upstream() -> None:
    assert len(OPEN_PATHS) <= 8 and len(SUBCHART_KEYS) <= 3 and len(COMMENTED_UPSTREAM) <= 1
    for path, (chart, key) in COMMENTED_UPSTREAM.items():
        assert key in commented_out_keys(chart), path
        assert key not in upstream_values(chart), f"{path} is a real key now: drop it from COMMENTED_UPSTREAM"
    chart = upstream_values("kube-prometheus-stack")
    for path in SUBCHART_KEYS:
        subchart, key = path.split(".")
        assert subchart in chart and key not in chart[subchart], f"{path} is in kube-prometheus-stack's values now"
    # The chart does not set a default admin password in this version; existingSecret makes it moot anyway.
    assert "adminPassword" not in chart["grafana"] and "adminPassword" not in upstream_values("grafana")

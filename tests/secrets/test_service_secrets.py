"""Service secrets: one Secrets Manager secret per catalog secret, generated values with rotation,
supplied values never written, one ExternalSecret per service, the monitoring secrets, bad input."""

from __future__ import annotations

import re

import pytest
import yaml

from components.config.stack_file import environment_configs
from components.datastores.connections import KEYS
from components.observability.monitoring import ROTATION_ANNOTATION
from components.secrets.service_secrets import GRAFANA_ADMIN_USER, PASSWORD_LENGTH, _fingerprint, check_secret_path
from components.shared.catalog import (
    ENVIRONMENTS,
    Catalog,
    SecretKind,
    SecretSource,
    Service,
    ServiceSecret,
    load_catalog,
    parse_catalog,
)
from components.shared.errors import ConfigError
from tests.conftest import helm_release, stack_plan
from tools.plan import ROOT, Plan, build_plan

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROTATING = "time:index/rotating:Rotating"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def _key_arn(plan: Plan) -> str:
    """The mocked ARN of the SecretsKey component's KMS key (the cluster has its own)."""
    return f"arn:aws:mock:::key/{plan.one('aws:kms/key:Key', 'secrets-key-key')['name']}"


def _secret(plan: Plan, path: str) -> dict:
    [found] = [r for r in plan.of_type(SECRET) if r["inputs"]["name"] == path]
    return found


def _versions_of(plan: Plan, secret: dict) -> list[dict]:
    return [r for r in plan.of_type(VERSION) if r["inputs"]["secretId"] == f"{secret['name']}-id"]


def _catalog_secrets() -> list[tuple[str, ServiceSecret]]:
    """Every catalog secret that has a Secrets Manager secret of its own (a shared one reads its owner's)."""
    return [
        (service.name, secret)
        for service in load_catalog().deployable
        for secret in service.secrets
        if secret.source is not SecretSource.SHARED
    ]


def _expected_entries(stack: str, service: Service) -> list[dict]:
    """The ExternalSecret data of a service, from the catalog's semantics and the login layouts."""
    catalog = load_catalog()
    entries = []
    for secret in service.secrets:
        path = service.secret_path(stack, secret)
        if secret.store is not None:
            prefix = secret.name.removesuffix("-password")
            entries += [
                {"secretKey": f"{prefix}-{key}", "remoteRef": {"key": path, "property": prop}}
                for key, prop in KEYS[secret.store].items()
            ]
        elif secret.kind is SecretKind.KEY_PAIR:
            entries += [
                {"secretKey": secret.name, "remoteRef": {"key": path}},
                {"secretKey": f"{secret.name}-public", "remoteRef": {"key": f"{path}-public"}},
            ]
        elif secret.source is not SecretSource.SHARED:
            entries.append({"secretKey": secret.name, "remoteRef": {"key": path}})
    for secret in service.secrets:
        if secret.source is SecretSource.SHARED:
            owner, owned = catalog.shared_source(secret)
            suffix = "-public" if owned.kind is SecretKind.KEY_PAIR else ""
            entries.append(
                {"secretKey": secret.name, "remoteRef": {"key": f"{owner.secret_path(stack, owned)}{suffix}"}}
            )
    return entries


def _external_secret(plan: Plan, name: str) -> dict:
    [found] = [r for r in plan.of_type(EXTERNAL_SECRET) if r["inputs"]["metadata"]["name"] == name]
    return found


def test_every_catalog_secret_is_a_kms_encrypted_secret_with_a_recovery_window(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    key_arn = _key_arn(env_plan)
    expected = {f"pyairtable/{env_plan.stack}/{service}/{secret.name}" for service, secret in _catalog_secrets()}
    expected |= {
        f"pyairtable/{env_plan.stack}/{service}/{secret.name}-public"
        for service, secret in _catalog_secrets()
        if secret.kind is SecretKind.KEY_PAIR
    }
    monitoring = {f"pyairtable/{env_plan.stack}/monitoring/grafana-admin"} | {
        f"pyairtable/{env_plan.stack}/monitoring/alertmanager-{receiver.name}" for receiver in config.alert_receivers
    }
    # The registry's cache credential is ECR's, under the prefix ECR demands (tests/registry).
    secrets = [s for s in env_plan.of_type(SECRET) if not s["inputs"]["name"].startswith("ecr-pullthroughcache/")]
    assert {r["inputs"]["name"] for r in secrets} == expected | monitoring
    assert len(secrets) == len(expected | monitoring)
    for secret in secrets:
        assert secret["inputs"]["kmsKeyId"] == key_arn
        assert secret["inputs"]["recoveryWindowInDays"] == config.secret_recovery_window_days >= 7


def test_kms_key_is_customer_managed_and_rotates(env_plan: Plan) -> None:
    key = env_plan.one("aws:kms/key:Key", "secrets-key-key")["inputs"]
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 30
    assert (
        env_plan.one("aws:kms/alias:Alias", "secrets-key-key")["inputs"]["name"]
        == f"alias/pyairtable-{env_plan.stack}-secrets"
    )


def test_generated_secrets_get_a_rotating_random_value(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    rotations = {r["name"]: r for r in env_plan.of_type(ROTATING)}
    passwords = {r["name"]: r for r in env_plan.of_type(PASSWORD)}
    # Rotated by the program: generated passwords that are neither fixed nor a store login (rotation
    # of store logins is Secrets Manager's, with the server: tests/datastores/test_rotation.py).
    generated = [
        (s, x) for s, x in _catalog_secrets() if x.source is SecretSource.GENERATED and x.rotates and x.store is None
    ]
    for service, secret in [
        *generated,
        ("monitoring", ServiceSecret(name="grafana-admin", source=SecretSource.GENERATED, description="-")),
    ]:
        stored = _secret(env_plan, f"pyairtable/{env_plan.stack}/{service}/{secret.name}")
        [version] = _versions_of(env_plan, stored)
        assert version["inputs"]["secretString"] == "[secret]"
        assert version["options"]["ignoreChanges"] == []
        rotation = rotations[f"{stored['name']}-rotation"]
        assert rotation["inputs"]["rotationDays"] == config.secret_rotation_days
        password = passwords[f"{stored['name']}-value"]
        assert password["inputs"]["length"] == PASSWORD_LENGTH >= 32
        assert password["inputs"]["special"] is False
        # The keeper is the rotation's timestamp (the mocks' fixed rfc3339): a new timestamp, a new value.
        assert password["inputs"]["keepers"] == {"rotation": "2026-01-01T00:00:00Z"}
        assert rotation["urn"] in password["options"]["dependsOn"]
        assert password["urn"] in version["options"]["dependsOn"]
    assert len(rotations) == len(generated) + 1


def test_rotation_period_comes_from_config() -> None:
    days = {stack: {r["inputs"]["rotationDays"] for r in stack_plan(stack).of_type(ROTATING)} for stack in ENVIRONMENTS}
    assert days == {stack: {environment_configs()[stack].secret_rotation_days} for stack in ENVIRONMENTS}
    assert days["dev"] == {30} and days["prod"] == {90}


def test_random_and_time_resources_use_the_components_providers(env_plan: Plan) -> None:
    [time_provider] = env_plan.of_type("pulumi:providers:time")
    random_provider = env_plan.one("pulumi:providers:random", "service-secrets-random")
    assert {r["provider"] for r in env_plan.of_type(ROTATING)} == {time_provider["urn"]}
    ours = [r for r in env_plan.of_type(PASSWORD) if r["name"].startswith("service-secrets-")]
    assert ours
    assert {r["provider"] for r in ours} == {random_provider["urn"]}


def test_supplied_secrets_are_never_written(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    supplied = [
        f"pyairtable/{env_plan.stack}/{s}/{x.name}" for s, x in _catalog_secrets() if x.source is SecretSource.SUPPLIED
    ]
    supplied += [f"pyairtable/{env_plan.stack}/monitoring/alertmanager-{r.name}" for r in config.alert_receivers]
    assert len(supplied) >= 4
    for path in supplied:
        secret = _secret(env_plan, path)
        assert _versions_of(env_plan, secret) == [], path
        assert not [r for r in env_plan.of_type(PASSWORD) if r["name"].startswith(secret["name"])], path
        assert secret["inputs"]["tags"] == {"SecretSource": "supplied"}


def test_one_external_secret_per_deployable_service(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    release = helm_release(env_plan, "external-secrets")["urn"]
    store = env_plan.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")["urn"]
    services = load_catalog().deployable
    assert all(service.secrets for service in services)
    for service in services:
        external_secret = _external_secret(env_plan, f"{service.name}-secrets")
        inputs = external_secret["inputs"]
        assert inputs["metadata"]["namespace"] == service.namespace
        assert inputs["spec"]["refreshInterval"] == config.secret_refresh_interval
        assert inputs["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
        assert inputs["spec"]["target"] == {
            "name": f"{service.name}-secrets",
            # Orphan: no owner reference, so deleting the ExternalSecret never garbage-collects the Secret.
            "creationPolicy": "Orphan",
            "deletionPolicy": "Retain",
        }
        assert inputs["spec"]["data"] == _expected_entries(env_plan.stack, service)
        depends_on = external_secret["options"]["dependsOn"]
        assert {release, store} <= set(depends_on)
        for entry in inputs["spec"]["data"]:
            assert _secret(env_plan, entry["remoteRef"]["key"])["urn"] in depends_on
    assert len(env_plan.of_type(EXTERNAL_SECRET)) == len(services) + 1 + bool(config.alert_receivers)


def test_external_secrets_resync_when_a_generated_value_rotates(env_plan: Plan) -> None:
    annotation = "pyairtable.io/secret-versions"
    versions = _external_secret(env_plan, "auth-secrets")["inputs"]["metadata"]["annotations"][annotation]
    assert versions == _fingerprint(
        [
            f"service-secrets-auth-{name}-version-version-id"
            for name in (
                "database-password",
                "jwt-signing-key",
                "jwt-signing-key-public",
                "totp-encryption-key",
                "redis-password",
            )
        ]
    )
    assert _fingerprint(["a", "b"]) != _fingerprint(["a", "c"])
    # Only supplied values: nothing the program writes, nothing to re-sync for.
    assert "annotations" not in _external_secret(env_plan, "alertmanager-receivers")["inputs"]["metadata"]


def test_monitoring_secrets(env_plan: Plan) -> None:
    config = environment_configs()[env_plan.stack]
    grafana = _external_secret(env_plan, "grafana-admin")
    path = f"pyairtable/{env_plan.stack}/monitoring/grafana-admin"
    assert grafana["inputs"]["metadata"]["namespace"] == "monitoring"
    assert grafana["inputs"]["spec"]["data"] == [
        {"secretKey": key, "remoteRef": {"key": path, "property": key}} for key in ("admin-user", "admin-password")
    ]
    alertmanager = _external_secret(env_plan, "alertmanager-receivers")
    assert alertmanager["inputs"]["metadata"]["namespace"] == "monitoring"
    assert alertmanager["inputs"]["spec"]["data"] == [
        {
            "secretKey": f"{r.name}-url",
            "remoteRef": {"key": f"pyairtable/{env_plan.stack}/monitoring/alertmanager-{r.name}"},
        }
        for r in config.alert_receivers
    ]
    assert GRAFANA_ADMIN_USER == "pyairtable-admin"


def test_the_monitoring_release_is_wired_to_the_monitoring_secrets(env_plan: Plan) -> None:
    """What ServiceSecrets hands Monitoring in __main__.py, as the Helm release receives it."""
    release = helm_release(env_plan, "monitoring")
    values = release["inputs"]["values"]
    grafana = _external_secret(env_plan, "grafana-admin")
    alertmanager = _external_secret(env_plan, "alertmanager-receivers")
    assert values["grafana"]["admin"]["existingSecret"] == grafana["inputs"]["spec"]["target"]["name"]
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == [alertmanager["inputs"]["spec"]["target"]["name"]]
    # The release waits for exactly the monitoring ExternalSecrets, not for the services' ones.
    waited_for = set(release["options"]["dependsOn"]) & {r["urn"] for r in env_plan.of_type(EXTERNAL_SECRET)}
    assert waited_for == {grafana["urn"], alertmanager["urn"]}
    # The version id of the Grafana admin login: it changes exactly when a new value is written.
    [grafana_version] = _versions_of(
        env_plan, _secret(env_plan, f"pyairtable/{env_plan.stack}/monitoring/grafana-admin")
    )
    assert grafana_version["name"] == "service-secrets-monitoring-grafana-admin-version"
    assert values["grafana"]["podAnnotations"] == {ROTATION_ANNOTATION: f"{grafana_version['name']}-version-id"}


def test_the_project_refreshes_before_every_update() -> None:
    """time.Rotating sees that its period is over only when read: without refresh, nothing rotates."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["options"] == {"refresh": "always"}


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -30])
def test_rotation_period_must_be_positive(days: int) -> None:
    with pytest.raises(ConfigError, match=f"secretRotationDays' = '{days}': rotation period must be a positive"):
        build_plan("dev", {"secretRotationDays": days})


@pytest.mark.parametrize("days", [0, 6, 31])
def test_recovery_window_is_never_immediate_deletion(days: int) -> None:
    with pytest.raises(ConfigError, match="secretRecoveryWindowDays"):
        build_plan("dev", {"secretRecoveryWindowDays": days})


@pytest.mark.parametrize("interval", ["1d", "0s", "0h", "90"])
def test_refresh_interval_must_be_a_positive_go_duration(interval: str) -> None:
    with pytest.raises(ConfigError, match=f"secretRefreshInterval' = '{interval}'.*no d, w or y"):
        build_plan("dev", {"secretRefreshInterval": interval})


def test_a_catalog_secret_without_a_source_is_a_config_error() -> None:
    data = yaml.safe_load((ROOT / "data" / "services.yaml").read_text())
    gateway = next(s for s in data["services"] if s["name"] == "gateway")
    del gateway["secrets"][0]["source"]
    with pytest.raises(ConfigError, match=r"services\.3\.secrets\.0\.source: Field required"):
        parse_catalog(data)
    gateway["secrets"][0]["source"] = "vault"
    with pytest.raises(
        ConfigError,
        match=r"services\.3\.secrets\.0\.source = 'vault': Input should be 'generated', 'supplied' or 'shared'",
    ):
        parse_catalog(data)


@pytest.mark.parametrize(
    "path",
    [
        "pyairtable/prod/auth/jwt-signing-key",
        "pyairtable/dev/../prod/auth/x",
        "other/dev/auth/x",
        "pyairtable/dev//x",
        "pyairtable/dev/a b",
    ],
)
def test_a_secret_path_outside_the_environment_is_refused(path: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"stack 'dev': secret path '{path}' is outside the environment")):
        check_secret_path("dev", path)
    assert check_secret_path("dev", "pyairtable/dev/auth/jwt-signing-key") == "pyairtable/dev/auth/jwt-signing-key"


def test_the_component_refuses_a_service_whose_path_escapes_the_environment() -> None:
    """A catalog built without validation (a future source of services) cannot escape `pyairtable/<env>/`."""
    catalog = load_catalog()
    airtable = catalog.service("airtable")
    # Its supplied secret only: a store login would be refused earlier, by the data stores' own name checks.
    supplied = tuple(secret for secret in airtable.secrets if secret.store is None)
    escaping = airtable.model_construct(**{**dict(airtable), "name": "../prod/airtable", "secrets": supplied})
    doctored = Catalog.model_construct(**{**dict(catalog), "services": (*catalog.services, escaping)})
    with pytest.raises(
        ConfigError, match=re.escape("'pyairtable/dev/../prod/airtable/airtable-api-key' is outside the environment")
    ):
        build_plan("dev", catalog=doctored)


def test_a_rotation_keeps_the_previous_version(env_plan: Plan) -> None:
    """A replaced SecretVersion is retained, so Secrets Manager keeps it labelled AWSPREVIOUS."""
    versions = env_plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert versions
    assert all(version["options"]["retainOnDelete"] for version in versions)

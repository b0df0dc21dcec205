"""The files the org stack seeds into each repository, rendered from the catalog (pure functions).

`README.md` and `CLAUDE.md` are seeded once and then belong to the owning team; `CODEOWNERS`,
`.github/workflows/ci.yml` and (deployable services) `.github/workflows/release.yml` stay managed
here. The reusable workflows under `github/workflows/` are copied into
`pyairtable-infra/.github/workflows/`, where every `ci.yml` and `release.yml` calls them, and every
file under `github/deploy/` (the service chart) into `pyairtable-infra/deploy/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from components.shared.catalog import (
    CI_JOB,
    CONTAINER_PUBLISH_WORKFLOW,
    ENVIRONMENTS,
    WORKFLOWS_DIR,
    Catalog,
    Kind,
    Language,
    Service,
)
from components.shared.errors import ConfigError
from components.shared.naming import INFRA_REPOSITORY
from components.shared.paths import PROJECT_ROOT

DOCS_REPOSITORY = "pyairtable-docs"
"""Where the platform's documentation lives; every README and CLAUDE.md points there."""
DEFAULT_BRANCH = "main"
"""Every repository's default branch (auto-init creates it; rulesets target `~DEFAULT_BRANCH`)."""
CI_WORKFLOW_PATH = ".github/workflows/ci.yml"
RELEASE_WORKFLOW_PATH = ".github/workflows/release.yml"
RELEASE_TAG_PATTERN = "v[0-9]+.[0-9]+.[0-9]+*"
"""Git tags that trigger a release build (a filter pattern; the tag rules refuse what is not semver)."""
DEPLOY_WORKFLOW = "deploy.yml"
"""The reusable deploy workflow (`naming.DEPLOY_WORKFLOW_PATH` in pyairtable-infra)."""
DEPLOY_SOURCE_DIR = PROJECT_ROOT / "github" / "deploy"
"""Deploy assets (the service chart) seeded into pyairtable-infra under `deploy/`; absent: nothing seeded."""
DEPLOY_READER_SECRET = "DEPLOY_READER_PRIVATE_KEY"
"""Organization Actions secret (set by an owner, never by this program): the chart reader App's key."""
MANAGED_NOTICE = "Managed by pyairtable-infra (stack org, components/github/files.py): edits here are overwritten."

GO_STANDARDS = (
    "Go, formatted with gofmt and linted with golangci-lint (`ci / lint`).",
    "HTTP with Fiber v3; structured logging with Zap (JSON, request id on every line).",
    "PostgreSQL through GORM; migrations are versioned and run before the new version serves.",
    "Redis through the shared client with a circuit breaker: a Redis outage degrades, never fails, a request.",
    "Config, logging, errors and middleware come from the shared Go library (`pyairtable-shared`); do not copy them.",
)
GO_LIBRARY_STANDARDS = (
    "Go, formatted with gofmt and linted with golangci-lint (`ci / lint`).",
    "This is the shared library of every Go service: config, Zap logging, errors, Fiber v3 middleware, "
    "the GORM + PostgreSQL setup and the Redis client with its circuit breaker.",
    "Changes are backwards compatible within a major version; every exported identifier is documented.",
)
PYTHON_STANDARDS = (
    "Python 3.12, linted and formatted with ruff (`ci / ruff`), tested with pytest (`ci / pytest`).",
    "HTTP with FastAPI; request handlers are `async def` and never block the event loop (asyncio).",
    "PostgreSQL through SQLAlchemy (async engine); migrations are versioned.",
    "Redis for caches and queues, through an async client with timeouts on every call.",
)
INFRASTRUCTURE_STANDARDS = (
    "Python 3.11+ Pulumi program; ruff, pyright (0 errors) and pytest on the offline plan (`make test`).",
    "Every change is reviewed as a plan diff (`make plan-diff`) and the checked-in snapshots.",
    "Default providers are disabled: every resource names its provider explicitly.",
)
DOCS_STANDARDS = (
    "Markdown, one page per topic; architecture decisions as numbered ADRs.",
    "Each service has its own folder under `services/<name>/`, kept current by the owning team.",
)


@dataclass(frozen=True)
class SeededFile:
    """A file the org stack commits to a repository."""

    path: str
    """Path inside the repository, e.g. `.github/CODEOWNERS`."""
    content: str
    """The file's text."""
    team_owned: bool
    """True: seeded once, then owned by the team (content changes are ignored); False: managed here."""


def standards(service: Service) -> tuple[str, ...]:
    """The coding standards a repository follows, by language and kind."""
    if service.kind is Kind.INFRASTRUCTURE:
        return INFRASTRUCTURE_STANDARDS
    if service.language is Language.GO:
        return GO_LIBRARY_STANDARDS if service.kind is Kind.LIBRARY else GO_STANDARDS
    if service.language is Language.PYTHON:
        return PYTHON_STANDARDS
    return DOCS_STANDARDS


def docs_url(catalog: Catalog, service: Service) -> str:
    """Where a repository's documentation lives in `pyairtable-docs`."""
    base = f"https://github.com/{catalog.organization}/{DOCS_REPOSITORY}"
    if service.repository == DOCS_REPOSITORY:
        return base
    return f"{base}/tree/{DEFAULT_BRANCH}/services/{service.name}"


def _bullets(lines: tuple[str, ...]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def render_readme(catalog: Catalog, service: Service) -> str:
    """README.md: what the repository is, who owns it, how it is built and deployed."""
    facts = [
        f"Owner: @{catalog.organization}/{service.owner}",
        f"Language: {service.language.value}; kind: {service.kind.value}",
    ]
    if service.deploys:
        facts += [
            f"Image: `{service.image(catalog.organization)}`",
            f"Serves HTTP on port {service.port}, Prometheus metrics on `{service.metrics_path}`",
            "Deploys through `.github/workflows/release.yml` to dev, staging and prod (prod: devops only)",
        ]
    if service.code_from:
        facts.append("Code from: " + ", ".join(f"`{source}`" for source in service.code_from))
    return (
        f"# {service.repository}\n\n{service.description}\n\n{_bullets(tuple(facts))}\n\n"
        f"Documentation: {docs_url(catalog, service)}\n\n"
        f"Contributing: see `CLAUDE.md` for the standards of this repository. The default branch takes\n"
        f"squash-merged pull requests with {service.required_approvals} approving review(s)"
        + (
            f" and the checks {', '.join(f'`{check}`' for check in service.required_status_checks)}"
            if service.required_status_checks
            else ""
        )
        + ".\n"
    )


def render_claude(catalog: Catalog, service: Service) -> str:
    """CLAUDE.md: the repository's context and standards for AI assistants (and new people)."""
    return (
        f"# {service.repository}: working agreement\n\n"
        f"{service.description}\n\n"
        f"## Standards\n{_bullets(standards(service))}\n\n"
        f"## Where things are\n"
        f"- Documentation: {docs_url(catalog, service)} (update it in the same change as the code).\n"
        f"- CI: `{CI_WORKFLOW_PATH}` calls the reusable workflows of `{catalog.organization}/{INFRA_REPOSITORY}`;"
        f" change them there, not here.\n"
        f"- Owners: `@{catalog.organization}/{service.owner}` (see `.github/CODEOWNERS`).\n\n"
        f"## Rules\n"
        f"- Small pull requests, squash-merged; never push to `{DEFAULT_BRANCH}`.\n"
        f"- Never commit secrets: runtime secrets come from AWS Secrets Manager through External Secrets.\n"
        + (
            "- The Dockerfile is multi-stage; its final stage is named `runtime` (the published image).\n"
            if service.deploys
            else ""
        )
    )


def render_codeowners(catalog: Catalog, service: Service, devops_team: str) -> str:
    """CODEOWNERS: the owning team reviews everything; devops alone owns the workflows and this file.

    GitHub applies the last matching line, and a line's owners are any-of: listing the owning team
    next to devops on `/.github/workflows/` would let the team alone approve its own deploy path.
    """
    owner = f"@{catalog.organization}/{service.owner}"
    devops = f"@{catalog.organization}/{devops_team}"
    github_owners = owner if service.owner == devops_team else f"{owner} {devops}"
    return (
        f"# {MANAGED_NOTICE}\n* {owner}\n/.github/ {github_owners}\n"
        f"/.github/workflows/ {devops}\n/.github/CODEOWNERS {devops}\n"
    )


def render_ci_workflow(catalog: Catalog, service: Service) -> str | None:
    """`.github/workflows/ci.yml`: calls the language's reusable workflow (and publishes images).

    Repositories without a reusable workflow (docs) get no `ci.yml` and no required status check.
    """
    if service.reusable_workflow is None:
        return None
    source = f"{catalog.organization}/{INFRA_REPOSITORY}/.github/workflows"
    text = (
        f"# {MANAGED_NOTICE}\n"
        "name: ci\n\n"
        "on:\n"
        "  pull_request:\n"
        "  push:\n"
        f"    branches: [{DEFAULT_BRANCH}]\n"
        # Release tags publish X.Y.Z images (components/registry/image_tags.py).
        f"    tags: ['{RELEASE_TAG_PATTERN}']\n\n"
        "permissions: {}\n\n"
        "jobs:\n"
        f"  {CI_JOB}:\n"
        f"    uses: {source}/{service.reusable_workflow}@{DEFAULT_BRANCH}\n"
        "    permissions:\n"
        "      contents: read\n"
    )
    if service.deploys:
        text += (
            "    with:\n"
            "      container: true\n"
            "  publish:\n"
            f"    needs: {CI_JOB}\n"
            "    if: github.event_name == 'push'\n"
            f"    uses: {source}/{CONTAINER_PUBLISH_WORKFLOW}@{DEFAULT_BRANCH}\n"
            "    permissions:\n"
            "      contents: read\n"
            "      packages: write # push the image with GITHUB_TOKEN\n"
            "      id-token: write # sign the image's build provenance\n"
            "      attestations: write # record the provenance in GitHub's attestation store\n"
            "    with:\n"
            f"      image: {service.name}\n"
        )
    return text


DEPENDABOT_PATH = ".github/dependabot.yml"
DEPENDABOT_ECOSYSTEMS = {Language.GO: "gomod", Language.PYTHON: "pip"}
"""Dependabot's package ecosystem of each language's dependency manifest."""


def render_dependabot(service: Service) -> str | None:
    """`.github/dependabot.yml` of a code repository: its language's dependencies, the SHA-pinned
    actions of its workflows, and the base image of a deployed service, weekly, after a week's
    cooldown. The infra repository checks its own in; the docs repository has no dependencies."""
    ecosystem = DEPENDABOT_ECOSYSTEMS.get(service.language)
    if ecosystem is None or service.repository == INFRA_REPOSITORY:
        return None
    ecosystems = [ecosystem, "github-actions", *(["docker"] if service.deploys else [])]
    updates = "".join(
        f"  - package-ecosystem: {name}\n    directory: /\n    schedule:\n      interval: weekly\n"
        "    cooldown:\n      default-days: 7\n"
        for name in ecosystems
    )
    return (
        f"# Seeded by pyairtable-infra (stack org) once; the owning team may tune it.\nversion: 2\nupdates:\n{updates}"
    )


EMBED_MARKER = re.compile(r"^(?P<indent>[ ]*)# embed: (?P<path>[\w./-]+\.py)$", re.MULTILINE)
"""A line of a workflow replaced, when seeded, by the named file of this project at the same indentation."""


def embed_files(text: str, root: Path = PROJECT_ROOT) -> str:
    """A workflow with each `# embed: <path>` line replaced by that file's lines.

    A reusable workflow runs in the calling repository, whose token cannot check pyairtable-infra
    out, so code it runs (the publish tag rules) is embedded at seed time; tests cover the file.
    """

    def embedded(match: re.Match[str]) -> str:
        path = root / match["path"]
        if not path.is_file() or root not in path.resolve().parents:
            raise ConfigError(f"workflow embeds {match['path']!r}, which is not a file of this project")
        lines = path.read_text().splitlines()
        return "\n".join(f"{match['indent']}{line}" if line else "" for line in lines)

    return EMBED_MARKER.sub(embedded, text)


def render_release_workflow(catalog: Catalog, service: Service) -> str | None:
    """`.github/workflows/release.yml`: the only way a deployable service reaches a cluster.

    A manual dispatch on `main` hands an image digest to the devops-owned deploy workflow, whose
    gate lets only devops release to prod; a push or a merge never deploys.
    """
    if not service.deploys:
        return None
    source = f"{catalog.organization}/{INFRA_REPOSITORY}/.github/workflows"
    return (
        f"# {MANAGED_NOTICE}\n"
        "name: release\n\n"
        "on:\n"
        "  workflow_dispatch:\n"
        "    inputs:\n"
        "      environment:\n"
        "        description: Where to deploy (prod only by devops, from main).\n"
        "        type: choice\n"
        f"        options: [{', '.join(ENVIRONMENTS)}]\n"
        "        required: true\n"
        "      digest:\n"
        "        description: The image digest published by ci (sha256:...).\n"
        "        type: string\n"
        "        required: true\n\n"
        "permissions: {}\n\n"
        "jobs:\n"
        "  release:\n"
        f"    uses: {source}/{DEPLOY_WORKFLOW}@{DEFAULT_BRANCH}\n"
        "    permissions:\n"
        "      contents: read\n"
        "      id-token: write # the deploy job's OIDC token for the service's deploy role\n"
        "    with:\n"
        "      environment: ${{ inputs.environment }}\n"
        f"      service: {service.name}\n"
        "      digest: ${{ inputs.digest }}\n"
        "    secrets:\n"
        f"      {DEPLOY_READER_SECRET}: ${{{{ secrets.{DEPLOY_READER_SECRET} }}}}\n"
    )


def deploy_files(directory: Path = DEPLOY_SOURCE_DIR) -> dict[str, str]:
    """Every file under `github/deploy/`, by its path in pyairtable-infra (`deploy/<path>`)."""
    if not directory.is_dir():
        return {}
    return {
        f"deploy/{path.relative_to(directory).as_posix()}": path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


SERVICE_CHART_VALUES = "deploy/service/values.yaml"
"""The service defaults chart's values: its `ports: {}` placeholder is filled from the catalog on seeding."""
PORTS_PLACEHOLDER = "ports: {}\n"


def with_catalog_ports(files: dict[str, str], catalog: Catalog) -> dict[str, str]:
    """The deploy files with each deployable service's catalog port written into the chart's values, so a
    port is typed once (data/services.yaml) and a new service deploys without editing the chart."""
    if SERVICE_CHART_VALUES not in files:
        return files
    text = files[SERVICE_CHART_VALUES]
    if PORTS_PLACEHOLDER not in text:
        raise ConfigError(
            f"github/{SERVICE_CHART_VALUES}: needs the line {PORTS_PLACEHOLDER.strip()!r} to fill from the catalog"
        )
    ports = "ports:\n" + "".join(f"  {service.name}: {service.port}\n" for service in catalog.deployable)
    return {**files, SERVICE_CHART_VALUES: text.replace(PORTS_PLACEHOLDER, ports)}


def reusable_workflow_files() -> dict[str, str]:
    """The workflows by their path in `pyairtable-infra` (`.github/workflows/<file>`), embeds resolved."""
    return {
        f".github/workflows/{path.name}": embed_files(path.read_text()) for path in sorted(WORKFLOWS_DIR.glob("*.yml"))
    }


def repository_files(
    catalog: Catalog, service: Service, devops_team: str, *, seed_team_files: bool
) -> tuple[SeededFile, ...]:
    """Every file the org stack commits to one repository.

    `seed_team_files` is False for adopted repositories: their README and CLAUDE.md already belong
    to the team, and seeding would overwrite them.
    """
    files = []
    if seed_team_files:
        files += [
            SeededFile("README.md", render_readme(catalog, service), team_owned=True),
            SeededFile("CLAUDE.md", render_claude(catalog, service), team_owned=True),
        ]
    files.append(SeededFile(".github/CODEOWNERS", render_codeowners(catalog, service, devops_team), team_owned=False))
    dependabot = render_dependabot(service)
    if dependabot is not None and seed_team_files:
        files.append(SeededFile(DEPENDABOT_PATH, dependabot, team_owned=True))
    for path, text in (
        (CI_WORKFLOW_PATH, render_ci_workflow(catalog, service)),
        (RELEASE_WORKFLOW_PATH, render_release_workflow(catalog, service)),
    ):
        if text is not None:
            files.append(SeededFile(path, text, team_owned=False))
    if service.repository == INFRA_REPOSITORY:
        managed = {**reusable_workflow_files(), **with_catalog_ports(deploy_files(), catalog)}
        files += [SeededFile(path, text, team_owned=False) for path, text in managed.items()]
    return tuple(files)

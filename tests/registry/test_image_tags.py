"""The publish workflow's tag rules, and the workflow that runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.github.files import RELEASE_TAG_PATTERN, render_ci_workflow, reusable_workflow_files
from components.registry import image_tags
from components.registry.image_tags import SEMVER_GIT_TAG, PublishError, main, plan_publish
from components.shared.catalog import CONTAINER_PUBLISH_WORKFLOW, WORKFLOWS_DIR, load_catalog
from components.shared.naming import REGISTRY_HOST

SHA = "0123456789abcdef0123456789abcdef01234567"
IMMUTABLE = "sha-0123456789ab"


def _plan(ref: str, *, exists: bool = False, image: str = "gateway") -> image_tags.PublishPlan:
    return plan_publish(
        ref=ref,
        sha=SHA,
        owner="PyAirtable",
        repository="PyAirtable/pyairtable-gateway",
        image=image,
        default_branch="main",
        immutable_tag_exists=exists,
    )


def test_a_release_tag_publishes_its_version_and_the_immutable_tag_only() -> None:
    plan = _plan("refs/tags/v1.4.2")
    assert (plan.channel, plan.tags, plan.version) == ("release", (IMMUTABLE, "1.4.2"), "1.4.2")
    assert plan.image == "ghcr.io/pyairtable/gateway"
    assert plan.build


def test_a_pre_release_is_a_release() -> None:
    assert _plan("refs/tags/v2.0.0-rc.1").tags == (IMMUTABLE, "2.0.0-rc.1")


def test_the_default_branch_is_dev_with_its_branch_tag_and_latest() -> None:
    plan = _plan("refs/heads/main")
    assert (plan.channel, plan.tags, plan.version) == ("dev", (IMMUTABLE, "main", "latest"), IMMUTABLE)


def test_another_branch_gets_its_name_but_never_latest() -> None:
    assert _plan("refs/heads/feature/login").tags == (IMMUTABLE, "feature-login")


def test_no_release_ever_carries_latest_or_a_branch_tag() -> None:
    for ref in ("refs/tags/v1.0.0", "refs/tags/v0.1.0-alpha"):
        plan = _plan(ref)
        assert "latest" not in plan.tags and "main" not in plan.tags


def test_an_existing_immutable_tag_is_promoted_never_rebuilt() -> None:
    plan = _plan("refs/tags/v1.4.2", exists=True)
    assert not plan.build
    assert plan.references == (f"ghcr.io/pyairtable/gateway:{IMMUTABLE}", "ghcr.io/pyairtable/gateway:1.4.2")


def test_labels_link_the_package_to_its_repository() -> None:
    labels = dict(label.split("=", 1) for label in _plan("refs/tags/v1.4.2").labels)
    assert labels["org.opencontainers.image.source"] == "https://github.com/PyAirtable/pyairtable-gateway"
    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.version"] == "1.4.2"


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("refs/tags/1.2.3", "not a release"),
        ("refs/tags/v1.2", "not a release"),
        ("refs/tags/v01.2.3", "not a release"),
        ("refs/tags/v1.2.3+build.5", "not a release"),
        ("refs/pull/7/merge", "pull requests never publish"),
        ("refs/heads/1.2.3", "reserved"),
        ("refs/heads/v1.2.3", "reserved"),
        ("refs/heads/latest", "reserved"),
        ("refs/heads/sha-0123", "reserved"),
        ("refs/heads/sha256-abc", "reserved"),
    ],
)
def test_refs_that_would_mislead_are_refused(ref: str, fragment: str) -> None:
    with pytest.raises(PublishError, match=fragment):
        _plan(ref)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(PublishError, match="DNS label"):
        _plan("refs/heads/main", image="Gateway")
    with pytest.raises(PublishError, match="40-digit"):
        plan_publish(
            ref="refs/heads/main", sha="abc", owner="o", repository="o/r", image="x", default_branch="main",
            immutable_tag_exists=False,
        )  # fmt: skip


def test_the_registry_host_is_the_one_constant() -> None:
    assert image_tags.REGISTRY_HOST == REGISTRY_HOST == "ghcr.io"


def test_main_writes_the_plan_for_the_workflow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    output = tmp_path / "output"
    environment = {
        "GITHUB_REF": "refs/tags/v3.1.0",
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY_OWNER": "pyairtable",
        "GITHUB_REPOSITORY": "pyairtable/pyairtable-auth",
        "IMAGE": "auth",
        "DEFAULT_BRANCH": "main",
        "GITHUB_OUTPUT": str(output),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    probed: list[str] = []
    monkeypatch.setattr(image_tags, "_existing_digest", lambda reference: probed.append(reference) or "sha256:ab")
    assert main() == 0
    assert probed == [f"ghcr.io/pyairtable/auth:{IMMUTABLE}"]
    text = output.read_text()
    assert "build<<EOF_PUBLISH_PLAN\nfalse\n" in text
    assert f"tags<<EOF_PUBLISH_PLAN\nghcr.io/pyairtable/auth:{IMMUTABLE},ghcr.io/pyairtable/auth:3.1.0\n" in text
    monkeypatch.setenv("GITHUB_REF", "refs/tags/nightly")
    assert main() == 1


def _publish_workflow(text: str) -> dict[Any, Any]:
    return yaml.safe_load(text)


def test_the_workflow_logs_in_to_the_literal_host_and_reads_no_variable() -> None:
    text = (WORKFLOWS_DIR / CONTAINER_PUBLISH_WORKFLOW).read_text()
    assert "vars." not in text
    steps = _publish_workflow(text)["jobs"]["publish"]["steps"]
    logins = [step for step in steps if step.get("uses", "").startswith("docker/login-action@")]
    assert [login["with"]["registry"] for login in logins] == [REGISTRY_HOST]


def test_the_publish_job_attests_and_outputs_the_digest() -> None:
    workflow = _publish_workflow((WORKFLOWS_DIR / CONTAINER_PUBLISH_WORKFLOW).read_text())
    job = workflow["jobs"]["publish"]
    build = next(step for step in job["steps"] if step.get("id") == "build")
    assert (build["with"]["provenance"], build["with"]["sbom"]) == ("mode=max", True)
    attest = next(step for step in job["steps"] if "attest-build-provenance" in step.get("uses", ""))
    assert attest["with"]["push-to-registry"] is True
    triggers = workflow[True]  # PyYAML reads the key `on` as True
    assert triggers["workflow_call"]["outputs"]["digest"]["value"] == "${{ jobs.publish.outputs.digest }}"
    assert job["outputs"]["digest"].startswith("${{ steps.build.outputs.digest")


def test_the_seeded_workflow_runs_this_very_module() -> None:
    seeded = reusable_workflow_files()[f".github/workflows/{CONTAINER_PUBLISH_WORKFLOW}"]
    steps = _publish_workflow(seeded)["jobs"]["publish"]["steps"]
    run = next(step["run"] for step in steps if step.get("id") == "plan")
    source = Path(image_tags.__file__).read_text()
    assert run == f"python3 - <<'PYTHON'\n{source}PYTHON\n"


def test_every_caller_grants_what_the_publish_job_needs_and_releases_trigger_it() -> None:
    # A called workflow's job gets at most what its caller's job grants: a missing scope fails the run.
    catalog = load_catalog()
    needed = _publish_workflow((WORKFLOWS_DIR / CONTAINER_PUBLISH_WORKFLOW).read_text())["jobs"]["publish"]
    for service in catalog.deployable:
        text = render_ci_workflow(catalog, service)
        assert text is not None
        caller = yaml.safe_load(text)
        assert caller["jobs"]["publish"]["permissions"] == needed["permissions"], service.name
        assert caller[True]["push"]["tags"] == [RELEASE_TAG_PATTERN]
    assert SEMVER_GIT_TAG.match("v1.2.3") and not SEMVER_GIT_TAG.match("v1.2")

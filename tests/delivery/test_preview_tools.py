"""The tools that read `pulumi preview --json`: the deletion guard, the reviewed-preview comparison, drift.

Each is tested on a fixture in Pulumi's preview JSON shape (fixtures/README.md) and on crafted steps
that must be refused.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools import deletion_guard, drift_report, reviewed_preview
from tools.preview_json import PreviewFormatError, check_preview, load_preview

FIXTURES = Path(__file__).parent / "fixtures"
DEV_PREVIEW = FIXTURES / "dev-preview.json"


def step(op: str, type_token: str, name: str, **fields: Any) -> dict[str, Any]:
    """A preview step of one resource, as the CLI prints it (the state carries the type)."""
    urn = f"urn:pulumi:dev::pyairtable-infra::pyairtable:test:Parent${type_token}::{name}"
    state = {"urn": urn, "custom": True, "type": type_token, "inputs": fields.pop("inputs", {})}
    key = "oldState" if op in {"delete", "delete-replaced", "discard"} else "newState"
    return {"op": op, "urn": urn, key: state, **fields}


def preview(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"config": {}, "steps": list(steps), "duration": 1, "changeSummary": {}}


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


# --- the deletion guard -----------------------------------------------------------------------


def test_the_fixture_passes_the_guard(capsys: pytest.CaptureFixture[str]) -> None:
    assert deletion_guard.main([str(DEV_PREVIEW)]) == 0
    assert "nothing protected" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "type_token"),
    [(kind, type_token) for kind, types in deletion_guard.PROTECTED_KINDS.items() for type_token in sorted(types)],
)
@pytest.mark.parametrize("op", ["delete", "replace", "delete-replaced"])
def test_every_protected_kind_is_refused(kind: str, type_token: str, op: str) -> None:
    offences = deletion_guard.find_offences(preview(step(op, type_token, "victim")))
    assert [(offence.kind, offence.op) for offence in offences] == [(kind, op)]


def test_the_guard_prints_each_offending_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(DEV_PREVIEW.read_text())
    document["steps"] += [
        step("delete", "aws:kms/key:Key", "secrets-key"),
        step("replace", "github:index/repository:Repository", "pyairtable-auth"),
        step("update", "aws:ec2/vpc:Vpc", "network-vpc"),  # an update is not a delete
    ]
    assert deletion_guard.main([str(write(tmp_path, "p.json", document))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("refused:")] == [
        "refused: delete of KMS key urn:pulumi:dev::pyairtable-infra::pyairtable:test:Parent"
        "$aws:kms/key:Key::secrets-key",
        "refused: replace of repository urn:pulumi:dev::pyairtable-infra::pyairtable:test:Parent"
        "$github:index/repository:Repository::pyairtable-auth",
    ]


def test_a_delete_step_without_state_is_typed_from_its_urn() -> None:
    bare = {"op": "delete", "urn": "urn:pulumi:dev::p::pyairtable:x:X$aws:eks/cluster:Cluster::eks"}
    assert [offence.kind for offence in deletion_guard.find_offences(preview(bare))] == ["cluster"]


@pytest.mark.parametrize("type_token", ["github:index/team:Team", "github:index/repositoryRuleset:RepositoryRuleset"])
def test_teams_and_rulesets_may_go_only_up_to_the_configured_share(type_token: str) -> None:
    kept = [step("same", type_token, f"kept-{index}") for index in range(8)]
    one_of_ten = preview(*kept, step("same", type_token, "kept-8"), step("delete", type_token, "gone-0"))
    assert deletion_guard.find_offences(one_of_ten, max_share=0.2) == []
    three_of_ten = preview(*kept[:7], *(step("delete", type_token, f"gone-{index}") for index in range(3)))
    offences = deletion_guard.find_offences(three_of_ten, max_share=0.2)
    assert len(offences) == 3 and all("3 of 10" in offence.kind for offence in offences)
    assert deletion_guard.find_offences(three_of_ten, max_share=0.5) == []


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"steps": {}}', '{"steps": [{"op": "create"}]}'], ids=["text", "list", "map", "urn"]
)
def test_a_malformed_preview_is_one_error_line(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert deletion_guard.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_an_empty_preview_has_no_steps() -> None:
    assert check_preview({"steps": None}) == {"steps": None}
    with pytest.raises(PreviewFormatError):
        load_preview(Path("/nonexistent/preview.json"))


# --- apply what was reviewed --------------------------------------------------------------------


def test_the_same_change_with_volatile_fields_moved_is_what_was_reviewed() -> None:
    reviewed = load_preview(DEV_PREVIEW)
    fresh = copy.deepcopy(reviewed)
    fresh["duration"] = 99
    fresh["changeSummary"]["same"] = 251
    fresh["config"] = {}
    for item in fresh["steps"]:
        for state in (item.get("oldState"), item.get("newState")):
            if state:
                state.update(modified="2026-12-01T04:00:00Z", outputs={"arn": "changed"}, id="other")
    fresh["steps"].append(fresh["steps"][0] | {"urn": fresh["steps"][0]["urn"] + "-extra"})  # a `same` step
    assert reviewed_preview.differences(reviewed, fresh) == []


def test_a_different_change_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reviewed = load_preview(DEV_PREVIEW)
    fresh = copy.deepcopy(reviewed)
    fresh["steps"][1]["newState"]["inputs"]["scalingConfig"]["desiredSize"] = 1
    fresh["steps"][2]["op"] = "update"
    fresh["steps"].append(step("create", "aws:iam/role:Role", "new-role"))
    del fresh["steps"][3]
    lines = reviewed_preview.differences(reviewed, fresh)
    assert [line.split(":")[0] for line in lines] == [
        "not reviewed",
        "reviewed but no longer planned",
        "planned differently",
        "planned differently",
    ]
    assert "desiredSize" in lines[2] and '"update"' in lines[3]
    code = reviewed_preview.main([str(DEV_PREVIEW), str(write(tmp_path, "fresh.json", fresh))])
    assert code == 1 and "refused:" in capsys.readouterr().out
    assert reviewed_preview.main([str(DEV_PREVIEW), str(DEV_PREVIEW)]) == 0


# --- drift --------------------------------------------------------------------------------------


def test_the_fixture_has_two_expected_changes_and_one_drift() -> None:
    report = drift_report.classify("dev", load_preview(DEV_PREVIEW))
    assert [reason for reason, _, _ in report.expected] == ["scheduled scaling", "rotation due"]
    assert [(op, urn.split("::")[-1]) for op, urn, _ in report.drift] == [("update", "eks-cluster")]
    assert "publicAccessCidrs" in report.markdown()


ROTATION_STEPS = [
    step("create", "time:index/rotating:Rotating", "auth-jwt-rotation"),
    step("replace", "random:index/randomPassword:RandomPassword", "v", detailedDiff={"keepers.rotation": {}}),
    step("replace", "aws:secretsmanager/secretVersion:SecretVersion", "ver", detailedDiff={"secretString": {}}),
    step(
        "update",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        "es",
        detailedDiff={f'metadata.annotations["{drift_report.SECRET_VERSIONS_ANNOTATION}"]': {}},
    ),
    step(
        "update",
        "kubernetes:helm.sh/v3:Release",
        "monitoring-release",
        detailedDiff={f'values.grafana.podAnnotations["{drift_report.ROTATION_ANNOTATION}"]': {}},
    ),
    step("update", "aws:eks/nodeGroup:NodeGroup", "ng", detailedDiff={"scalingConfig.desiredSize": {}}),
    step("update", "aws:autoscaling/group:Group", "asg", diffReasons=["desiredCapacity"]),
]


@pytest.mark.parametrize("expected", ROTATION_STEPS, ids=lambda s: s["urn"].split("::")[-1])
def test_each_expected_change_is_accepted(expected: dict[str, Any]) -> None:
    assert drift_report.classify("dev", preview(expected)).drift == []


NEAR_MISSES = [
    step("update", "aws:eks/nodeGroup:NodeGroup", "ng", detailedDiff={"scalingConfig.maxSize": {}}),
    step("update", "aws:eks/nodeGroup:NodeGroup", "ng", detailedDiff={}),
    step("replace", "aws:eks/nodeGroup:NodeGroup", "ng", detailedDiff={"scalingConfig.desiredSize": {}}),
    step("replace", "random:index/randomPassword:RandomPassword", "v", detailedDiff={"length": {}}),
    step("update", "aws:secretsmanager/secretVersion:SecretVersion", "ver", detailedDiff={"versionStages": {}}),
    step("update", "kubernetes:external-secrets.io/v1:ExternalSecret", "es", detailedDiff={"spec.data": {}}),
    step("update", "kubernetes:helm.sh/v3:Release", "monitoring-release", detailedDiff={"version": {}}),
]


@pytest.mark.parametrize("unexpected", NEAR_MISSES, ids=lambda s: f"{s['urn'].split('::')[-1]}-{s['op']}")
def test_a_near_miss_is_drift(unexpected: dict[str, Any], tmp_path: Path) -> None:
    report = drift_report.classify("dev", preview(unexpected))
    assert len(report.drift) == 1
    markdown = tmp_path / "drift.md"
    assert drift_report.main(["dev", str(write(tmp_path, "p.json", preview(unexpected))), "--markdown", str(markdown)])
    assert markdown.read_text().startswith("## Drift in stack `dev`")

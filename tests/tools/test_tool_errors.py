"""Tracebacks are bugs: every tool's bad input ends in one line on stderr and a non-zero exit."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import pytest

import tools.plan as plan_tool
from components.shared.catalog import Catalog
from components.shared.data_files import load_data_file
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools import bench, cost_report, plan_diff, snapshots
from tools.entry import run_main

BAD_CONFIG = "stack 'dev': config key 'pyairtable-infra:capacityStrategy' = 'cheap': Input should be 'spot'"


def refuse(*_: object, **__: object) -> Any:
    raise ConfigError(BAD_CONFIG)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("bench: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        (plan_tool, ["dev"]),
        (plan_diff, ["dev", "prod"]),
        (snapshots, []),
        (cost_report, ["--stack", "dev"]),
    ],
    ids=["plan", "plan-diff", "snapshots", "cost"],
)
def test_a_config_error_is_one_line_in_every_tool(
    module: Any, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(module, "build_plan", refuse)
    assert module.main(argv) == 2
    assert one_error_line(capsys) == f"error: {BAD_CONFIG}"


def failing_child(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(command, 2, "", f"error: {BAD_CONFIG}\n")


def planning_child(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(command, 0, "259 resources\n", "")


def test_a_config_error_in_bench_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench.subprocess, "run", failing_child)
    assert bench.main(["--runs", "1"]) == 2
    assert one_error_line(capsys) == f"error: the SDK modules the program loads: {BAD_CONFIG}"


def test_bench_reports_progress(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench.subprocess, "run", planning_child)
    assert bench.main(["--runs", "2"]) == 0
    captured = capsys.readouterr()
    assert "bench: plan dev, 200 services: run 2 of 2..." in captured.err
    assert "plan dev, 200 services" in captured.out and "259 resources" in captured.out


def test_a_config_error_in_the_synthetic_bench_child_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plan_tool, "build_plan", refuse)
    assert bench.plan_with_synthetic_catalog(10) == 2
    assert one_error_line(capsys) == f"error: {BAD_CONFIG}"


def test_a_bad_git_revision_in_plan_diff(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_diff.main(["dev@no-such-revision", "dev"]) == 2
    assert (
        one_error_line(capsys)
        == "error: 'dev@no-such-revision': 'no-such-revision' is not a git revision of this repository"
    )


def test_missing_and_bad_plan_files_in_plan_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_diff.main([str(tmp_path / "missing.json"), "dev"]) == 2
    assert "cannot read plan file" in one_error_line(capsys)
    (tmp_path / "bad.json").write_text("{not json")
    assert plan_diff.main([str(tmp_path / "bad.json"), "dev"]) == 2
    assert "is not a JSON plan" in one_error_line(capsys)
    (tmp_path / "other.json").write_text("[1, 2]")
    assert plan_diff.main([str(tmp_path / "other.json"), "dev"]) == 2
    assert "no 'resources' list" in one_error_line(capsys)


def test_a_tab_in_a_stack_file_through_make_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        (tmp_path / name).write_text((PROJECT_ROOT / name).read_text())
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace("  pyairtable-infra:natGateways", "\tpyairtable-infra:natGateways")
    )
    monkeypatch.setattr(plan_tool, "build_plan", functools.partial(plan_tool.build_plan, root=tmp_path))
    assert plan_tool.main(["dev"]) == 2
    line = one_error_line(capsys)
    assert f"{stack_file}:" in line and "tab" in line


def test_a_missing_or_broken_data_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the data file"):
        load_data_file(Catalog, tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("services:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_data_file(Catalog, tmp_path / "broken.yaml")


def test_a_missing_replacement_rules_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the replacement rules"):
        plan_diff.replacement_rules.__wrapped__(tmp_path / "force-new.json")


def closed_pipe() -> int:
    raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_a_tool_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    # `make plan-diff dev prod | head`: the reader goes away; the tool ends with a status, not a traceback.
    with pytest.raises(SystemExit) as ended:
        run_main(closed_pipe)
    assert ended.value.code == 1
    assert "Traceback" not in capsys.readouterr().err

"""make cost / cost-diff: the Markdown report, the PNG chart, reading Pulumi's outputs, and the diff."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stack_plan
from tools import cost_report
from tools.plan import build_plan

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class FakePulumi:
    """Answers `pulumi stack output cost --json --stack <s>` with the stack's planned cost output."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        stack = command[command.index("--stack") + 1]
        return subprocess.CompletedProcess(command, 0, json.dumps(stack_plan(stack).outputs["cost"]), "")


def test_make_cost_writes_the_report_and_the_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cost_report.main(["--out", str(tmp_path)]) == 0
    report = (tmp_path / "cost-report.md").read_text()
    assert report in capsys.readouterr().out
    for stack in ("org", "dev", "staging", "prod"):
        bill = stack_plan(stack).outputs["cost"]
        assert f"## {stack} ({bill['region']}): ${bill['monthlyUsd']:,.2f}/month" in report
    total = sum(stack_plan(stack).outputs["cost"]["monthlyUsd"] for stack in ("org", "dev", "staging", "prod"))
    assert f"| **total** | | **${total:,.2f}** |" in report
    assert "| ~$142/month for three environments | dev + staging + prod: $841.95 |" in report
    assert "| 60% savings from spot in dev | dev nodes: 57.8% below on-demand" in report
    assert "GHCR: $0.00" in report
    chart = tmp_path / "cost-chart.png"
    assert png_size(chart) == (900, 500)
    assert chart.stat().st_size > 10_000  # bars, labels and legend, not an empty canvas


def test_report_flags_a_stack_over_budget() -> None:
    bill = build_plan("dev", {"budgetUsd": 100}).outputs["cost"]
    report = cost_report.render_report({"dev": bill}, "test")
    assert "| dev | us-east-1 | $186.61 | $263.51 | 29.2% | $100.00 | **over budget** |" in report


def test_every_bill_item_has_a_chart_category(any_plan: Any) -> None:
    for item in any_plan.outputs["cost"]["items"]:
        assert cost_report.category(item["item"]) in cost_report.CATEGORIES


def test_from_pulumi_reads_stack_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost_report.shutil, "which", lambda name: f"/usr/bin/{name}")
    run = FakePulumi()
    bills = cost_report.pulumi_bills(["dev", "prod"], run=run)
    assert run.calls == [
        ["pulumi", "stack", "output", "cost", "--json", "--stack", "dev"],
        ["pulumi", "stack", "output", "cost", "--json", "--stack", "prod"],
    ]
    assert bills["prod"] == stack_plan("prod").outputs["cost"]


def test_from_pulumi_without_the_cli_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost_report.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="needs the Pulumi CLI on PATH"):
        cost_report.pulumi_bills(["dev"])


def test_cost_diff_of_a_doctored_config_shows_the_changed_items() -> None:
    before = {"dev": stack_plan("dev").outputs["cost"]}
    nodes = {
        "instanceTypes": ["m6i.large", "m6a.large", "m5.large", "m5a.large"],
        "minSize": 1,
        "desiredSize": 3,
        "maxSize": 4,
        "diskSizeGib": 50,
    }
    after = {"dev": build_plan("dev", {"nodes": nodes}).outputs["cost"]}
    # one more spot node: 3 x 28.0539 = 84.16 - 56.11 = +28.05; its 50 GiB root volume: 50 x 0.08 = +4.00
    assert cost_report.diff_bills(before, after) == [
        "dev: +$32.05/month ($186.61 -> $218.66)",
        "  ~ node group spot: 2 -> 3 nodes, +$28.05/month",
        "  ~ node root volumes (gp3): 100 -> 150 GB, +$4.00/month",
        "total: +$32.05/month",
    ]


def test_cost_diff_shows_items_added_and_removed_and_unchanged_stacks() -> None:
    old = {"staging": stack_plan("staging").outputs["cost"], "org": stack_plan("org").outputs["cost"]}
    new = {
        "staging": build_plan("staging", {"prometheusStorageGib": 0}).outputs["cost"],
        "org": stack_plan("org").outputs["cost"],
    }
    lines = cost_report.diff_bills(old, new)
    assert lines == [
        "staging: -$1.60/month ($266.14 -> $264.54)",
        "  - Prometheus volumes (gp3): 20 GB, -$1.60/month",
        "org: no change ($32.00/month)",
        "total: -$1.60/month",
    ]
    assert cost_report.diff_bills({"org": None}, {"org": stack_plan("org").outputs["cost"]})[:2] == [
        "org: +$32.00/month ($0.00 -> $32.00) (no cost output before)",
        "  + GitHub team plan: 8 seats, +$32.00/month",
    ]


def test_cost_diff_plans_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The base revision is planned in a temporary git worktree; HEAD has the cost output.
    assert cost_report.main(["--diff", "HEAD", "--stack", "org", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0] == "cost diff HEAD -> working tree"
    assert output[1].startswith("org: ")
    assert output[-1].startswith("total: ")
    assert (tmp_path / "cost-diff.md").read_text().startswith("```\ncost diff HEAD -> working tree\n")

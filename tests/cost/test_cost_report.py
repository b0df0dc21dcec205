"""make cost / cost-diff: the Markdown report, the PNG chart, reading Pulumi's outputs, and the diff."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.config.environment import EnvironmentConfig
from components.config.stack_file import environment_configs
from components.cost.prices import load_prices
from tests.conftest import stack_plan
from tools import cost_report
from tools.plan import build_plan

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def items_of(bill: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A bill's items by name."""
    return {item["item"]: item for item in bill["items"]}


def dev_config() -> EnvironmentConfig:
    """The checked-in dev stack's config."""
    return environment_configs()["dev"]


def dev_node_savings_percent() -> float:
    """Dev's spot nodes below on-demand, from the price table: 1 - mean spot price / mean on-demand price."""
    config = dev_config()
    region = load_prices().region(config.aws_region)
    on_demand = [region.on_demand(t, "nodes.instanceTypes").usd for t in config.nodes.instance_types]
    spot = [
        price * (1 - region.spot_savings(t, config.spot_savings_percent) / 100)
        for t, price in zip(config.nodes.instance_types, on_demand, strict=True)
    ]
    return (1 - sum(spot) / sum(on_demand)) * 100


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
    environments = sum(stack_plan(stack).outputs["cost"]["monthlyUsd"] for stack in ("dev", "staging", "prod"))
    assert f"| ~$142/month for three environments | dev + staging + prod: ${environments:,.2f} |" in report
    assert f"| 60% savings from spot in dev | dev nodes: {dev_node_savings_percent():.1f}% below on-demand" in report
    registry = items_of(stack_plan("org").outputs["cost"])["GitHub Container Registry (ghcr.io)"]["monthlyUsd"]
    assert f"GHCR: ${registry:,.2f}" in report
    chart = tmp_path / "cost-chart.png"
    assert png_size(chart) == (900, 500)
    assert chart.stat().st_size > 10_000  # bars, labels and legend, not an empty canvas


def test_report_flags_a_stack_over_budget() -> None:
    budget = int(stack_plan("dev").outputs["cost"]["monthlyUsd"]) // 2
    bill = build_plan("dev", {"budgetUsd": budget}).outputs["cost"]
    report = cost_report.render_report({"dev": bill}, "test")
    row = (
        f"| dev | {bill['region']} | ${bill['monthlyUsd']:,.2f} | ${bill['onDemandMonthlyUsd']:,.2f} | "
        f"{bill['savingsPercent']:.1f}% | ${budget:,.2f} | **over budget** |"
    )
    assert row in report


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
    nodes = dev_config().nodes
    more = nodes.desired_size + 1
    doctored = {**nodes.model_dump(by_alias=True), "desiredSize": more, "maxSize": max(nodes.max_size, more)}
    before = stack_plan("dev").outputs["cost"]
    after = build_plan("dev", {"nodes": {**doctored, "instanceTypes": list(nodes.instance_types)}}).outputs["cost"]
    old_items, new_items = items_of(before), items_of(after)
    spot = new_items["node group spot"]["monthlyUsd"] - old_items["node group spot"]["monthlyUsd"]
    volumes = nodes.disk_size_gib * new_items["node root volumes (gp3)"]["unitPriceUsd"]
    total = after["monthlyUsd"] - before["monthlyUsd"]
    assert round(total, 2) == round(spot + volumes, 2)  # one node and its root volume, nothing else
    assert cost_report.diff_bills({"dev": before}, {"dev": after}) == [
        f"dev: +${total:,.2f}/month (${before['monthlyUsd']:,.2f} -> ${after['monthlyUsd']:,.2f})",
        f"  ~ node group spot: {nodes.desired_size} -> {more} nodes, +${spot:,.2f}/month",
        f"  ~ node root volumes (gp3): {nodes.desired_size * nodes.disk_size_gib} -> {more * nodes.disk_size_gib} GB, "
        f"+${volumes:,.2f}/month",
        f"total: +${total:,.2f}/month",
    ]


def test_cost_diff_shows_items_added_and_removed_and_unchanged_stacks() -> None:
    old = {"staging": stack_plan("staging").outputs["cost"], "org": stack_plan("org").outputs["cost"]}
    new = {
        "staging": build_plan("staging", {"prometheusStorageGib": 0}).outputs["cost"],
        "org": stack_plan("org").outputs["cost"],
    }
    lines = cost_report.diff_bills(old, new)
    volumes = items_of(old["staging"])["Prometheus volumes (gp3)"]
    before, after, org = old["staging"]["monthlyUsd"], new["staging"]["monthlyUsd"], old["org"]["monthlyUsd"]
    assert lines == [
        f"staging: -${volumes['monthlyUsd']:,.2f}/month (${before:,.2f} -> ${after:,.2f})",
        f"  - Prometheus volumes (gp3): {volumes['quantity']:g} GB, -${volumes['monthlyUsd']:,.2f}/month",
        f"org: no change (${org:,.2f}/month)",
        f"total: -${volumes['monthlyUsd']:,.2f}/month",
    ]
    seats = items_of(old["org"])[next(name for name in items_of(old["org"]) if name.startswith("GitHub "))]
    assert cost_report.diff_bills({"org": None}, {"org": old["org"]})[:2] == [
        f"org: +${org:,.2f}/month ($0.00 -> ${org:,.2f}) (no cost output before)",
        f"  + {seats['item']}: {seats['quantity']:g} seats, +${seats['monthlyUsd']:,.2f}/month",
    ]


def test_cost_diff_plans_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The base revision is planned in a temporary git worktree; HEAD has the cost output.
    assert cost_report.main(["--diff", "HEAD", "--stack", "org", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0] == "cost diff HEAD -> working tree"
    assert output[1].startswith("org: ")
    assert output[-1].startswith("total: ")
    assert (tmp_path / "cost-diff.md").read_text().startswith("```\ncost diff HEAD -> working tree\n")

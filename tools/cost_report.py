"""The cost review: every stack's `cost` output as a report, a chart, and a diff against a git revision.

    python -m tools.cost_report                    # make cost: bills from the offline plan
    python -m tools.cost_report --from pulumi      # make cost FROM=pulumi: `pulumi stack output cost`
    python -m tools.cost_report --diff main        # make cost-diff BASE=main: change per stack and item

The report (build/cost-report.md, for a pull-request comment) has a table per stack, the total, each
stack against its budget and the whole against the planning document's estimates; the chart
(build/cost-chart.png) stacks each stack's monthly cost by category beside its on-demand equivalent.
The diff plans the base revision in a temporary git worktree (tools.plan_diff.load_plan) and prints
the monthly change per stack and per line item, as Infracost comments do.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from components.config.common import STACKS
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.entry import run_main
from tools.plan import build_plan
from tools.plan_diff import load_plan

ROOT = PROJECT_ROOT
BUILD = ROOT / "build"

Bill = dict[str, Any]

PLANNING_ESTIMATES = {
    "today": 50.0,
    "three environments": 142.0,
    "dev spot savings percent": 60.0,
    "registry move": 92.0,
}
"""The planning document's figures: "~$50/month today, ~$142/month for three environments,
60% savings from spot in dev, ~$92/month for the registry move"."""

CATEGORIES = (
    "compute",
    "data stores",
    "storage",
    "network",
    "traffic",
    "secrets and keys",
    "logs",
    "delivery",
    "GitHub",
    "other",
)
"""The chart's stack order; `category` sorts every bill item into one of them."""


CATEGORY_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("compute", ("eks", "node group", "reserved"), ()),
    ("data stores", ("postgresql", "redis", "valkey", "database insights"), ()),
    ("storage", ("ecr",), ("volume",)),
    ("network", ("nat", "public ipv4", "vpc"), ()),
    ("traffic", ("application load balancer", "load balancer capacity", "route 53", "waf", "certificate"), ()),
    ("secrets and keys", ("secrets manager", "kms"), ()),
    ("logs", (), ("logs",)),
    ("delivery", ("ci runners",), ()),
    ("GitHub", ("github",), ()),
    ("other", ("aws budgets",), ()),
)
"""(category, name prefixes, name parts), first match wins: a NAT instance's root volume is storage."""


def category(item: str) -> str:
    """The chart category of a bill item, by its name."""
    name = item.lower()
    for found, prefixes, parts in CATEGORY_RULES:
        if name.startswith(prefixes) or any(part in name for part in parts):
            return found
    raise ValueError(f"bill item {item!r} has no chart category; add it to tools/cost_report.CATEGORY_RULES")


def plan_bills(stacks: Sequence[str] = STACKS) -> dict[str, Bill]:
    """Each stack's `cost` output from the offline plan of the working tree."""
    return {stack: build_plan(stack).outputs["cost"] for stack in stacks}


def pulumi_bills(stacks: Sequence[str] = STACKS, run: Callable[..., Any] = subprocess.run) -> dict[str, Bill]:
    """Each stack's `cost` output as the Pulumi engine stored it (needs the CLI and a login)."""
    if shutil.which("pulumi") is None:
        raise SystemExit(
            "error: --from pulumi needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/) and "
            "`pulumi login`; without it use the offline plan: make cost"
        )
    bills = {}
    for stack in stacks:
        done = run(
            ["pulumi", "stack", "output", "cost", "--json", "--stack", stack],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"error: `pulumi stack output cost --stack {stack}` failed: {done.stderr.strip()}")
        bills[stack] = json.loads(done.stdout)
    return bills


def revision_bills(revision: str, stacks: Sequence[str] = STACKS) -> dict[str, Bill | None]:
    """Each stack's `cost` output at a git revision (None where that revision had no cost output)."""
    return {stack: load_plan(f"{stack}@{revision}")["outputs"].get("cost") for stack in stacks}


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def _quantity(value: float) -> str:
    return f"{value:g}"


def _plural(unit: str) -> str:
    """`node-month` -> `nodes`, `GB-month` -> `GB`: how a quantity change reads."""
    noun = unit.removesuffix("-month")
    if noun.isupper():
        return noun
    return noun + ("es" if noun.endswith("s") else "s")


def node_savings_percent(bill: Bill) -> float:
    """What the nodes save against the same nodes on-demand, in percent.

    Only node capacity is discounted in a bill, so the bill's saving in dollars over the node items'
    on-demand equivalent (their cost plus that saving) is the nodes' own saving.
    """
    saved = bill["onDemandMonthlyUsd"] - bill["monthlyUsd"]
    nodes = sum(item["monthlyUsd"] for item in bill["items"] if category(item["item"]) == "compute")
    nodes -= sum(item["monthlyUsd"] for item in bill["items"] if item["item"].startswith("EKS"))
    return round(100 * saved / (nodes + saved), 1) if nodes + saved else 0.0


def render_report(bills: Mapping[str, Bill], source: str) -> str:
    """The Markdown report: summary, a table per stack, and the planning document's estimates."""
    dates = sorted({bill["pricesAsOf"] for bill in bills.values()})
    total = round(sum(bill["monthlyUsd"] for bill in bills.values()), 2)
    total_on_demand = round(sum(bill["onDemandMonthlyUsd"] for bill in bills.values()), 2)
    total_budget = sum(bill["budgetUsd"] for bill in bills.values())
    lines = [
        "# Cost report",
        "",
        f"Source: {source}. Prices as of {', '.join(dates)} (data/prices.yaml); USD per month of 730 hours.",
        "",
        "| stack | region | monthly | on-demand equivalent | savings | budget | status |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for stack, bill in bills.items():
        status = (
            "**over budget**"
            if bill["overBudget"]
            else f"{100 * bill['monthlyUsd'] / bill['budgetUsd']:.0f}% of budget"
        )
        lines.append(
            f"| {stack} | {bill['region']} | {_usd(bill['monthlyUsd'])} | {_usd(bill['onDemandMonthlyUsd'])} | "
            f"{bill['savingsPercent']:.1f}% | {_usd(bill['budgetUsd'])} | {status} |"
        )
    lines.append(
        f"| **total** | | **{_usd(total)}** | {_usd(total_on_demand)} | | {_usd(total_budget)} | "
        f"{'**over budget**' if total > total_budget else 'within budget'} |"
    )
    for stack, bill in bills.items():
        lines += [
            "",
            f"## {stack} ({bill['region']}): {_usd(bill['monthlyUsd'])}/month",
            "",
            "| item | quantity | unit | unit price | monthly | note |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        lines += [
            f"| {item['item']} | {_quantity(item['quantity'])} | {item['unit']} | ${item['unitPriceUsd']:g} | "
            f"{_usd(item['monthlyUsd'])} | {item['note']} |"
            for item in bill["items"]
        ]
    lines += ["", *render_estimates(bills)]
    return "\n".join(lines) + "\n"


def render_estimates(bills: Mapping[str, Bill]) -> list[str]:
    """The planning document's figures beside what the stacks declare (the stacks present only)."""
    lines = [
        "## Against the planning document",
        "",
        "| planning document | what the stacks declare | difference |",
        "| --- | --- | --- |",
    ]
    environments = [stack for stack in ENVIRONMENTS if stack in bills]
    if "dev" in bills:
        dev = bills["dev"]["monthlyUsd"]
        lines.append(
            f"| ~$50/month today | dev alone (one environment, the closest to today): {_usd(dev)} | "
            f"{_signed(dev - PLANNING_ESTIMATES['today'])}/month |"
        )
    if environments:
        three = round(sum(bills[stack]["monthlyUsd"] for stack in environments), 2)
        lines.append(
            f"| ~$142/month for three environments | {' + '.join(environments)}: {_usd(three)} | "
            f"{_signed(three - PLANNING_ESTIMATES['three environments'])}/month "
            f"(x{three / PLANNING_ESTIMATES['three environments']:.1f}) |"
        )
    if "dev" in bills:
        nodes = node_savings_percent(bills["dev"])
        lines.append(
            f"| 60% savings from spot in dev | dev nodes: {nodes:.1f}% below on-demand; the whole dev bill: "
            f"{bills['dev']['savingsPercent']:.1f}% | {nodes - PLANNING_ESTIMATES['dev spot savings percent']:+.1f} "
            "points on the nodes |"
        )
    if "org" in bills:
        registry = sum(item["monthlyUsd"] for item in bills["org"]["items"] if "Container Registry" in item["item"])
        lines.append(
            f"| ~$92/month for the registry move | GHCR: {_usd(registry)} (free for container images); the org "
            f"stack with its GitHub seats: {_usd(bills['org']['monthlyUsd'])} | "
            f"{_signed(bills['org']['monthlyUsd'] - PLANNING_ESTIMATES['registry move'])}/month |"
        )
    return lines


def write_chart(bills: Mapping[str, Bill], path: Path) -> Path:
    """A PNG: per stack, the monthly cost stacked by category, and the on-demand equivalent beside it."""
    stacks = list(bills)
    positions = list(range(len(stacks)))
    width = 0.38
    # A bare Figure renders with the Agg backend and keeps no global pyplot state.
    figure = Figure(figsize=(9, 5), dpi=100)
    axes = figure.subplots()
    bottoms = [0.0] * len(stacks)
    for name in CATEGORIES:
        heights = [
            sum(item["monthlyUsd"] for item in bills[stack]["items"] if category(item["item"]) == name)
            for stack in stacks
        ]
        if any(heights):
            axes.bar([p - width / 2 for p in positions], heights, width, bottom=bottoms, label=name)
            bottoms = [bottom + height for bottom, height in zip(bottoms, heights, strict=True)]
    on_demand = [bills[stack]["onDemandMonthlyUsd"] for stack in stacks]
    axes.bar(
        [p + width / 2 for p in positions],
        on_demand,
        width,
        color="lightgrey",
        hatch="//",
        label="on-demand equivalent",
    )
    for position, stack in zip(positions, stacks, strict=True):
        axes.annotate(
            f"${bills[stack]['monthlyUsd']:,.0f}", (position - width / 2, bottoms[position]), ha="center", va="bottom"
        )
        # The budget across both bars of the stack: a bill over the line is over budget.
        budget = bills[stack]["budgetUsd"]
        axes.hlines(
            budget,
            position - width,
            position + width,
            colors="firebrick",
            linestyles="dashed",
            label="budget" if position == 0 else "_nolegend_",
        )
        axes.annotate(f"budget ${budget:,.0f}", (position + width, budget), ha="left", va="bottom", fontsize="small")
    axes.set_xticks(positions, stacks)
    axes.set_ylabel("USD per month")
    axes.set_title("Monthly cost per stack, by category, beside its on-demand equivalent; dashed: budget")
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def diff_bills(old: Mapping[str, Bill | None], new: Mapping[str, Bill]) -> list[str]:
    """The monthly change per stack and per line item, Infracost style.

    `dev: +$28.05/month ($186.61 -> $214.66)`, then one line per changed item, e.g.
    `  node group spot: 2 -> 3 nodes, +$28.05/month`. A stack without a bill before is all new.
    """
    lines = []
    total = 0.0
    for stack, bill in new.items():
        before = old.get(stack) or {"monthlyUsd": 0.0, "items": []}
        change = round(bill["monthlyUsd"] - before["monthlyUsd"], 2)
        total += change
        if not change and before["items"] == bill["items"]:
            lines.append(f"{stack}: no change ({_usd(bill['monthlyUsd'])}/month)")
            continue
        lines.append(
            f"{stack}: {_signed(change)}/month ({_usd(before['monthlyUsd'])} -> {_usd(bill['monthlyUsd'])})"
            + ("" if old.get(stack) else " (no cost output before)")
        )
        old_items = {item["item"]: item for item in before["items"]}
        new_items = {item["item"]: item for item in bill["items"]}
        for name in [*new_items, *(name for name in old_items if name not in new_items)]:
            lines += _item_change(name, old_items.get(name), new_items.get(name))
    lines.append(f"total: {_signed(round(total, 2))}/month")
    return lines


def _item_change(name: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    if before == after:
        return []
    if before is None:
        assert after is not None
        return [
            f"  + {name}: {_quantity(after['quantity'])} {_plural(after['unit'])}, {_signed(after['monthlyUsd'])}/month"
        ]
    if after is None:
        removed = f"{_quantity(before['quantity'])} {_plural(before['unit'])}"
        return [f"  - {name}: {removed}, {_signed(-before['monthlyUsd'])}/month"]
    parts = []
    if before["quantity"] != after["quantity"]:
        parts.append(f"{_quantity(before['quantity'])} -> {_quantity(after['quantity'])} {_plural(after['unit'])}")
    if before["unitPriceUsd"] != after["unitPriceUsd"]:
        parts.append(f"unit price ${before['unitPriceUsd']:g} -> ${after['unitPriceUsd']:g}")
    change = round(after["monthlyUsd"] - before["monthlyUsd"], 2)
    parts.append(f"{_signed(change)}/month")
    return [f"  ~ {name}: {', '.join(parts)}"]


def main(argv: list[str] | None = None) -> int:
    """Command line: write the report and chart, or print the diff against a revision."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", choices=("plan", "pulumi"), default="plan")
    parser.add_argument("--diff", metavar="REV", help="compare with the bills at this git revision")
    parser.add_argument("--stack", action="append", choices=STACKS, help="only this stack (repeatable)")
    parser.add_argument("--out", type=Path, default=BUILD, help="where to write the report and chart")
    args = parser.parse_args(argv)
    stacks = args.stack or list(STACKS)
    try:
        if args.diff:
            text = "\n".join(
                [
                    f"cost diff {args.diff} -> working tree",
                    *diff_bills(revision_bills(args.diff, stacks), plan_bills(stacks)),
                ]
            )
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "cost-diff.md").write_text(f"```\n{text}\n```\n")
            print(text)
            return 0
        bills = plan_bills(stacks) if args.source == "plan" else pulumi_bills(stacks)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    source = "offline plan of the working tree" if args.source == "plan" else "`pulumi stack output cost`"
    report = render_report(bills, source)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost-report.md").write_text(report)
    chart = write_chart(bills, args.out / "cost-chart.png")
    print(report)
    print(f"wrote {args.out / 'cost-report.md'} and {chart}")
    return 0


if __name__ == "__main__":
    run_main(main)

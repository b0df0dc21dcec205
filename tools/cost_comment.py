"""The pull-request cost comment: the change first, budget breaches flagged, the full bill folded below.

    python -m tools.cost_comment --base main       # make cost-diff BASE=main [FAIL_ON_BUDGET=1]

It leads with the monthly change per stack and per line item against the base revision, flags every
stack whose bill is over its `budgetUsd` (and says whether this change crossed it), lists any
unpriced line (a figure the price table lacks) before the rest, and keeps each stack's full bill in a
`<details>` block. It writes build/cost-diff.md (the comment the preview workflow posts) and
build/cost-chart.png (with each stack's budget marked), and exits 1 with FAIL_ON_BUDGET=1 when a
stack is over budget.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config.common import STACKS
from components.shared.errors import ConfigError
from tools.cost_report import BUILD, Bill, _signed, _usd, plan_bills, render_report, revision_bills, write_chart

MARKER = "<!-- pyairtable-infra cost comment -->"
"""First line of the comment: the workflow finds and updates its own comment by it."""


@dataclass(frozen=True)
class Breach:
    """A stack whose bill is over its budget after the change."""

    stack: str
    monthly: float
    budget: float
    crossed_now: bool
    """True when the base revision was within budget: this change crosses it."""

    def sentence(self) -> str:
        how = "crosses" if self.crossed_now else "stays over"
        return (
            f"**{self.stack}** {how} its budget: {_usd(self.monthly)}/month against {_usd(self.budget)} "
            f"(over by {_usd(self.monthly - self.budget)})"
        )


def breaches(old: Mapping[str, Bill | None], new: Mapping[str, Bill]) -> list[Breach]:
    """Every stack over budget after the change."""
    found = []
    for stack, bill in new.items():
        if bill["monthlyUsd"] > bill["budgetUsd"]:
            before = old.get(stack)
            crossed = before is None or before["monthlyUsd"] <= before["budgetUsd"]
            found.append(Breach(stack, bill["monthlyUsd"], bill["budgetUsd"], crossed))
    return found


def unpriced_items(bill: Bill) -> list[Mapping[str, Any]]:
    """Items the price table could not price (billed at $0 until it can)."""
    return [item for item in bill["items"] if item.get("unpriced")]


def _quantity(item: Mapping[str, Any] | None) -> str:
    return "" if item is None else f"{item['quantity']:g} {item['unit']}"


def item_changes(before: Bill | None, after: Bill) -> list[tuple[str, str, str, float]]:
    """(item, quantity before, quantity after, monthly change) of every item that changed."""
    old_items = {item["item"]: item for item in (before or {"items": []})["items"]}
    new_items = {item["item"]: item for item in after["items"]}
    changes = []
    for name in [*new_items, *(name for name in old_items if name not in new_items)]:
        old_item, new_item = old_items.get(name), new_items.get(name)
        if old_item == new_item:
            continue
        change = (new_item["monthlyUsd"] if new_item else 0.0) - (old_item["monthlyUsd"] if old_item else 0.0)
        changes.append((name, _quantity(old_item) or "-", _quantity(new_item) or "-", round(change, 2)))
    return changes


def render_comment(old: Mapping[str, Bill | None], new: Mapping[str, Bill], base: str) -> str:
    """The whole comment (Markdown)."""
    total = round(sum(b["monthlyUsd"] - (old.get(s) or {"monthlyUsd": 0.0})["monthlyUsd"] for s, b in new.items()), 2)
    over = breaches(old, new)
    dates = ", ".join(sorted({bill["pricesAsOf"] for bill in new.values()}))
    lines = [
        MARKER,
        f"## Cost: {_signed(total)}/month against `{base}`",
        "",
        f"Prices as of {dates} (data/prices.yaml, refreshed by `make prices`); USD per month of 730 hours.",
        "",
    ]
    if over:
        lines += [f"> [!WARNING]\n> {breach.sentence()}" for breach in over] + [""]
    lines += [
        "| stack | before | after | change | budget | status |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for stack, bill in new.items():
        before = old.get(stack)
        before_text = _usd(before["monthlyUsd"]) if before else "(no bill)"
        change = bill["monthlyUsd"] - (before["monthlyUsd"] if before else 0.0)
        share = 100 * bill["monthlyUsd"] / bill["budgetUsd"] if bill["budgetUsd"] else float("inf")
        status = "**over budget**" if bill["monthlyUsd"] > bill["budgetUsd"] else f"{share:.0f}% of budget"
        lines.append(
            f"| {stack} | {before_text} | {_usd(bill['monthlyUsd'])} | {_signed(round(change, 2))} | "
            f"{_usd(bill['budgetUsd'])} | {status} |"
        )
    unpriced = [(stack, item) for stack, bill in new.items() for item in unpriced_items(bill)]
    if unpriced:
        lines += ["", "### Unpriced (not in the price table: $0 until `make prices` covers them)", ""]
        lines += [f"- {stack}: {item['item']} ({item['note']})" for stack, item in unpriced]
    changed = [(stack, change) for stack, bill in new.items() for change in item_changes(old.get(stack), bill)]
    lines += ["", "### Changes by line item", ""]
    if changed:
        lines += ["| stack | item | before | after | monthly |", "| --- | --- | --- | --- | ---: |"]
        lines += [
            f"| {stack} | {name} | {was} | {now} | {_signed(change)} |" for stack, (name, was, now, change) in changed
        ]
    else:
        lines.append("No line item changed.")
    report = render_report(new, "offline plan of this branch").split("\n", 1)[1].lstrip("\n")
    lines += ["", "<details><summary>Full bill of every stack</summary>", "", report, "</details>", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """Command line: print and write the comment and the chart; exit 1 on a breach with FAIL_ON_BUDGET=1."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD", help="git revision to compare with")
    parser.add_argument("--stack", action="append", choices=STACKS, help="only this stack (repeatable)")
    parser.add_argument("--out", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    stacks = args.stack or list(STACKS)
    try:
        old, new = revision_bills(args.base, stacks), plan_bills(stacks)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    comment = render_comment(old, new, args.base)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost-diff.md").write_text(comment)
    write_chart(new, args.out / "cost-chart.png")
    print(comment)
    over = breaches(old, new)
    if over and environ.get("FAIL_ON_BUDGET") == "1":
        print(f"error: over budget: {', '.join(breach.stack for breach in over)} (FAIL_ON_BUDGET=1)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

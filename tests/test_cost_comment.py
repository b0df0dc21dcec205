"""The pull-request cost comment: change first, budget breaches flagged, the bill folded below."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import stack_plan
from tools import cost_comment
from tools.cost_comment import MARKER, breaches, render_comment

STACKS = ("org", "dev", "staging", "prod")


def bills() -> dict[str, dict]:
    """Every stack's planned bill, each within a budget of twice its total (the tests set the breaches)."""
    planned = {stack: copy.deepcopy(stack_plan(stack).outputs["cost"]) for stack in STACKS}
    for bill in planned.values():
        bill["budgetUsd"], bill["overBudget"] = float(round(bill["monthlyUsd"] * 2)), False
    return planned


def grown(bill: dict, item: str, extra_usd: float) -> dict:
    """The bill with one item (and the total) more expensive: a change a pull request could make."""
    bill = copy.deepcopy(bill)
    line = next(line for line in bill["items"] if line["item"] == item)
    line["quantity"] += 1
    line["monthlyUsd"] = round(line["monthlyUsd"] + extra_usd, 2)
    bill["monthlyUsd"] = round(bill["monthlyUsd"] + extra_usd, 2)
    return bill


def test_the_comment_leads_with_the_change_per_stack_and_item() -> None:
    old = bills()
    new = {**old, "dev": grown(old["dev"], "node group spot", 40.0)}
    comment = render_comment(old, new, "main")
    lines = comment.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## Cost: +$40.00/month against `main`"
    assert lines[3].startswith(f"Prices as of {new['dev']['pricesAsOf']}")
    dev_row = next(line for line in lines if line.startswith("| dev |"))
    assert f"${old['dev']['monthlyUsd']:,.2f} | ${new['dev']['monthlyUsd']:,.2f} | +$40.00" in dev_row
    item_row = next(line for line in lines if line.startswith("| dev | node group spot |"))
    assert item_row.endswith("| +$40.00 |")
    # The change comes before the folded bill, which holds every stack's table.
    assert comment.index("### Changes by line item") < comment.index("<details>")
    assert comment.index("<details>") < comment.index("## prod") < comment.index("</details>")


def test_a_stack_that_crosses_its_budget_is_flagged_first() -> None:
    old = bills()
    dev = old["dev"]
    over_by = 25.0
    new = {**old, "dev": grown(dev, "node group spot", dev["budgetUsd"] - dev["monthlyUsd"] + over_by)}
    (breach,) = breaches(old, new)
    assert (breach.stack, breach.crossed_now) == ("dev", True)
    comment = render_comment(old, new, "main")
    warning = comment.index("> [!WARNING]")
    assert warning < comment.index("| stack | before |")
    assert f"crosses its budget: ${new['dev']['monthlyUsd']:,.2f}/month" in comment
    assert f"(over by ${over_by:,.2f})" in comment


def test_no_change_says_so_and_flags_nothing() -> None:
    same = bills()
    comment = render_comment(same, same, "main")
    assert "## Cost: +$0.00/month" in comment and "No line item changed." in comment
    assert "[!WARNING]" not in comment


def test_unpriced_lines_are_listed_before_the_items() -> None:
    old = bills()
    new = copy.deepcopy(old)
    new["dev"]["items"].append(
        {
            "item": "node group spot: m9z.large",
            "quantity": 2,
            "unit": "node-month",
            "unitPriceUsd": 0.0,
            "monthlyUsd": 0.0,
            "note": "no price for m9z.large in us-east-1",
            "unpriced": True,
        }
    )
    comment = render_comment(old, new, "main")
    assert comment.index("### Unpriced") < comment.index("### Changes by line item")
    assert "- dev: node group spot: m9z.large (no price for m9z.large in us-east-1)" in comment


@pytest.mark.parametrize(("fail_on_budget", "code"), [("1", 1), ("", 0)])
def test_fail_on_budget_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail_on_budget: str, code: int
) -> None:
    old = bills()
    dev = old["dev"]
    new = {**old, "dev": grown(dev, "node group spot", dev["budgetUsd"])}
    monkeypatch.setattr(cost_comment, "revision_bills", lambda base, stacks: old)
    monkeypatch.setattr(cost_comment, "plan_bills", lambda stacks: new)
    monkeypatch.setattr(cost_comment, "write_chart", lambda bills, path: path)
    assert cost_comment.main(["--out", str(tmp_path)], environ={"FAIL_ON_BUDGET": fail_on_budget}) == code
    assert (tmp_path / "cost-diff.md").read_text().startswith(MARKER)

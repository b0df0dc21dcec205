"""Checked-in snapshots of every stack's offline plan, so a pull request shows its infrastructure change.

python -m tools.snapshots --write   # make snapshots: rewrite tests/snapshots/<stack>.json
python -m tools.snapshots           # compare, print the differences, exit 1 if any
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bootstrap.plan import ACCOUNTS, bootstrap_plan
from components.config.common import STACKS
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.entry import run_main
from tools.plan import build_plan
from tools.plan_diff import diff_plans, render

SNAPSHOT_DIR = PROJECT_ROOT / "tests" / "snapshots"


def snapshot_path(stack: str) -> Path:
    """Where a stack's snapshot lives."""
    return SNAPSHOT_DIR / f"{stack}.json"


def serialize(plan: dict[str, Any]) -> str:
    """The snapshot text: stable key order, so that git diffs show only real changes."""
    return json.dumps(plan, indent=2, sort_keys=True) + "\n"


def _read_snapshot(path: Path) -> dict[str, Any]:
    """A checked-in snapshot; a missing or unreadable one compares as an empty plan (and differs)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {"resources": [], "outputs": {}}


def main(argv: list[str] | None = None) -> int:
    """Write or compare every stack's snapshot."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the snapshots from the current program")
    args = parser.parse_args(argv)
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    differs = False
    plans = [(stack, lambda stack=stack: build_plan(stack)) for stack in STACKS]
    # The state-backend bootstrap (bootstrap/) is a project of its own, one stack per AWS account.
    plans += [(f"bootstrap-{account}", lambda account=account: bootstrap_plan(account)) for account in ACCOUNTS]
    for stack, plan_of in plans:
        try:
            plan = plan_of().as_json()
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        path = snapshot_path(stack)
        if args.write:
            path.write_text(serialize(plan))
            print(f"wrote {path.relative_to(SNAPSHOT_DIR.parent.parent)} ({len(plan['resources'])} resources)")
        elif _read_snapshot(path) != plan:
            differs = True
            old = _read_snapshot(path)
            print(render(diff_plans(old, plan), f"snapshot {stack}", f"program {stack}"))
    return 1 if differs else 0


if __name__ == "__main__":
    run_main(main)

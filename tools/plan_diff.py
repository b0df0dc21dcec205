"""Compare two offline plans: resources added, removed and changed, with the changed properties.

    python -m tools.plan_diff dev prod            # two stacks of the working tree
    python -m tools.plan_diff dev@main dev        # one stack at a git revision and now
    python -m tools.plan_diff old.json new.json   # two saved JSON plans

Resources are matched by URN with the stack name taken out, so two stacks compare resource by
resource. No credentials are needed: this is what a pull request changes, before `pulumi preview`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from components.config.common import STACKS
from components.shared.paths import PROJECT_ROOT
from tools.plan import build_plan

ROOT = PROJECT_ROOT


def load_plan(operand: str) -> dict[str, Any]:
    """A JSON plan from a file, a stack of the working tree, or `stack@rev` (a stack at a git revision)."""
    path = Path(operand)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    stack, _, revision = operand.partition("@")
    if stack not in STACKS:
        raise SystemExit(f"error: {operand!r} is not a JSON plan, a stack {list(STACKS)} or stack@revision")
    if not revision:
        return build_plan(stack).as_json()
    with tempfile.TemporaryDirectory() as checkout:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", checkout, revision], check=True, capture_output=True
        )
        try:
            output = Path(checkout) / "plan.json"
            subprocess.run(
                [sys.executable, "-m", "tools.plan", stack, "--json", str(output)],
                cwd=checkout,
                check=True,
                capture_output=True,
            )
            return json.loads(output.read_text())
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", checkout], check=False, capture_output=True
            )


def _key(resource: Mapping[str, Any]) -> str:
    """The URN without its stack, so the same resource of two stacks matches."""
    prefix, _, rest = resource["urn"].partition("::")
    return rest.partition("::")[2] if prefix.startswith("urn:pulumi:") else resource["urn"]


def changed_paths(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path whose value differs, as (path, before, after)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(old, new, f"{path}[{index}]")
    elif before != after:
        yield path, before, after


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Added, removed and changed resources between two plans, and changed outputs."""
    before = {_key(resource): resource for resource in old["resources"]}
    after = {_key(resource): resource for resource in new["resources"]}
    changed = {}
    for key in sorted(set(before) & set(after)):
        fields = ("inputs", "options", "provider", "parent")
        paths = [
            change
            for name in fields
            for change in changed_paths(_strip(before[key].get(name)), _strip(after[key].get(name)), name)
        ]
        if paths:
            changed[key] = paths
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": changed,
        "outputs": list(changed_paths(old.get("outputs", {}), new.get("outputs", {}))),
    }


def _strip(value: Any) -> Any:
    """URNs inside a plan name their stack; take it out so two stacks compare."""
    if isinstance(value, str) and value.startswith("urn:pulumi:"):
        return "(stack)" if value.split("::")[2] == "pulumi:pulumi:Stack" else _key({"urn": value})
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def render(diff: Mapping[str, Any], old_name: str, new_name: str) -> str:
    """The diff as text, in the order reviewers read: adds, removals, changes, outputs."""
    lines = [
        f"plan diff {old_name} -> {new_name}: {len(diff['added'])} to add, {len(diff['removed'])} to remove, "
        f"{len(diff['changed'])} to change"
    ]
    lines += [f"+ {key}" for key in diff["added"]]
    lines += [f"- {key}" for key in diff["removed"]]
    for key, paths in diff["changed"].items():
        lines.append(f"~ {key}")
        lines += [f"    {path}: {json.dumps(old)} -> {json.dumps(new)}" for path, old, new in paths]
    if diff["outputs"]:
        lines.append("outputs:")
        lines += [f"    {path}: {json.dumps(old)} -> {json.dumps(new)}" for path, old, new in diff["outputs"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the diff; exit 0 whether or not the plans differ."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args(argv)
    print(render(diff_plans(load_plan(args.old), load_plan(args.new)), args.old, args.new))
    return 0


if __name__ == "__main__":
    sys.exit(main())

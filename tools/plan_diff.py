"""Compare two offline plans: resources added, removed, changed and replaced, with the changed properties.

    python -m tools.plan_diff dev prod            # two stacks of the working tree
    python -m tools.plan_diff dev@main dev        # one stack at a git revision and now
    python -m tools.plan_diff old.json new.json   # two saved JSON plans

Resources are matched by URN with the stack name taken out (also inside every property that holds
a URN), so two stacks compare resource by resource. What a reviewer must see is marked:

- `-/+` a change of a property that forces the provider to replace the resource (delete and
  create), from data/upstream/replacement/force-new.json: the Terraform providers' `ForceNew`
  attributes and pulumi-kubernetes' immutable fields, each with its source; `~?` where the rule is
  conditional; a note where no rule is vendored for the type;
- `!` the deletion or replacement of a protected resource, which the engine refuses;
- policy documents and other JSON held in a string are compared as parsed JSON (`policy#Statement[0]`),
  so a reformatted policy is no change and a changed one shows the statement that changed.

No credentials are needed: this is what a pull request changes, before `pulumi preview`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from components.config.common import STACKS
from components.shared.errors import ConfigError
from components.shared.paths import DATA_DIR, PROJECT_ROOT
from tools.entry import run_main
from tools.plan import build_plan

ROOT = PROJECT_ROOT
REPLACEMENT_RULES = DATA_DIR / "upstream" / "replacement" / "force-new.json"
KUBERNETES_EVERY_KIND = "kubernetes:*"


class PlanDiffError(ConfigError):
    """A plan that cannot be read (missing file, bad JSON, unknown git revision): one line, no traceback."""


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed"


def load_plan(operand: str) -> dict[str, Any]:
    """A JSON plan from a file, a stack of the working tree, or `stack@rev` (a stack at a git revision)."""
    path = Path(operand)
    if path.suffix == ".json":
        try:
            plan = json.loads(path.read_text())
        except OSError as error:
            raise PlanDiffError(f"cannot read plan file {operand}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise PlanDiffError(f"{operand} is not a JSON plan: {error}") from None
        if not isinstance(plan, dict) or not isinstance(plan.get("resources"), list):
            raise PlanDiffError(
                f"{operand} is not a JSON plan (no 'resources' list; write one with make plan JSON=...)"
            )
        return plan
    stack, _, revision = operand.partition("@")
    if stack not in STACKS:
        raise PlanDiffError(f"{operand!r} is not a JSON plan, a stack {list(STACKS)} or stack@revision")
    if not revision:
        return build_plan(stack).as_json()
    if _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode != 0:
        raise PlanDiffError(f"{operand!r}: {revision!r} is not a git revision of this repository")
    with tempfile.TemporaryDirectory() as checkout:
        added = _git("worktree", "add", "--detach", checkout, revision)
        if added.returncode != 0:
            raise PlanDiffError(f"{operand!r}: cannot check out {revision}: {_first_line(added.stderr)}")
        try:
            output = Path(checkout) / "plan.json"
            planned = subprocess.run(
                [sys.executable, "-m", "tools.plan", stack, "--json", str(output)],
                cwd=checkout,
                capture_output=True,
                text=True,
                check=False,
            )
            if planned.returncode != 0:
                raise PlanDiffError(f"{operand!r}: the plan at {revision} failed: {_first_line(planned.stderr)}")
            return json.loads(output.read_text())
        finally:
            _git("worktree", "remove", "--force", checkout)


def _without_stack(urn: str) -> str:
    """A URN without its stack and project, so the same resource of two stacks matches."""
    prefix, _, rest = urn.partition("::")
    return rest.partition("::")[2] if prefix.startswith("urn:pulumi:") else urn


def _key(resource: Mapping[str, Any]) -> str:
    """The URN without its stack, so the same resource of two stacks matches."""
    return _without_stack(resource["urn"])


def _strip(value: Any) -> Any:
    """URNs inside a plan name their stack, at any depth; take it out so two stacks compare."""
    if isinstance(value, str) and value.startswith("urn:pulumi:"):
        return "(stack)" if value.split("::")[2] == "pulumi:pulumi:Stack" else _without_stack(value)
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items()}
    return value


def _parsed_json(value: Any) -> Any:
    """A JSON object held in a string (an IAM policy, a dashboard), parsed; anything else as it is."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def changed_paths(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path whose value differs, as (path, before, after); JSON in strings compares parsed (`key#...`)."""
    parsed_before, parsed_after = _parsed_json(before), _parsed_json(after)
    if (
        (parsed_before is not before or parsed_after is not after)
        and isinstance(parsed_before, dict)
        and isinstance(parsed_after, dict)
    ):
        yield from changed_paths(parsed_before, parsed_after, f"{path}#")
    elif isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            separator = "" if not path or path.endswith("#") else "."
            yield from changed_paths(before.get(key), after.get(key), f"{path}{separator}{key}")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(old, new, f"{path}[{index}]")
    elif before != after:
        yield path, before, after


@cache
def replacement_rules(path: Path = REPLACEMENT_RULES) -> dict[str, dict[str, Any]]:
    """The vendored force-new properties by Pulumi type (see data/upstream/replacement/README.md)."""
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise PlanDiffError(f"{path}: cannot read the replacement rules: {error.strerror}") from None


def _property(path: str) -> str | None:
    """`inputs.vpcConfig.subnetIds[1]` -> `vpcConfig.subnetIds`; None for options and other fields."""
    if not path.startswith("inputs."):
        return None
    return re.sub(r"\[\d+\]", "", path.removeprefix("inputs.").split("#", 1)[0])


def _matches(prop: str, rule: str) -> bool:
    return prop == rule or prop.startswith(f"{rule}.")


def forced_replacements(type_token: str, paths: list[tuple[str, Any, Any]]) -> tuple[list[str], list[str], bool]:
    """(properties that force replacement, that may force it, whether rules are vendored for the type)."""
    rules = replacement_rules()
    entries = [rules[type_token]] if type_token in rules else []
    if type_token.startswith("kubernetes:"):
        entries.append(rules[KUBERNETES_EVERY_KIND])
    always = [rule for entry in entries for rule in entry["always"]]
    conditional = [rule for entry in entries for rule in entry["conditional"]]
    properties = sorted({prop for path, _, _ in paths if (prop := _property(path)) is not None})
    forced = [prop for prop in properties if any(_matches(prop, rule) for rule in always)]
    maybe = [prop for prop in properties if prop not in forced and any(_matches(prop, rule) for rule in conditional)]
    return forced, maybe, bool(entries)


def _is_declared_by_a_provider(resource: Mapping[str, Any]) -> bool:
    """Custom resources of a provider package (not components, not the providers themselves)."""
    return bool(resource.get("custom")) and not resource["type"].startswith("pulumi:providers:")


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Added, removed, changed and replaced resources between two plans, protected ones, and changed outputs."""
    before = {_key(resource): resource for resource in old["resources"]}
    after = {_key(resource): resource for resource in new["resources"]}
    changed: dict[str, list[tuple[str, Any, Any]]] = {}
    replaced: dict[str, list[str]] = {}
    maybe_replaced: dict[str, list[str]] = {}
    no_rules: dict[str, str] = {}
    for key in sorted(set(before) & set(after)):
        fields = ("inputs", "options", "provider", "parent")
        paths = [
            change
            for name in fields
            for change in changed_paths(_strip(before[key].get(name)), _strip(after[key].get(name)), name)
        ]
        if not paths:
            continue
        changed[key] = paths
        if not _is_declared_by_a_provider(after[key]):
            continue
        forced, maybe, known = forced_replacements(after[key]["type"], paths)
        if forced:
            replaced[key] = forced
        elif maybe:
            maybe_replaced[key] = maybe
        elif not known and any(path.startswith("inputs.") for path, _, _ in paths):
            no_rules[key] = after[key]["type"]
    removed = sorted(set(before) - set(after))
    protected = sorted(
        key
        for key in [*removed, *replaced]
        if before[key].get("options", {}).get("protect") or (key in after and after[key]["options"].get("protect"))
    )
    return {
        "added": sorted(set(after) - set(before)),
        "removed": removed,
        "changed": changed,
        "replaced": replaced,
        "maybeReplaced": maybe_replaced,
        "noReplacementRules": no_rules,
        "protected": protected,
        "outputs": list(changed_paths(old.get("outputs", {}), new.get("outputs", {}))),
    }


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def render(diff: Mapping[str, Any], old_name: str, new_name: str) -> str:
    """The diff as text, in the order reviewers read: refusals, adds, removals, replacements, changes, outputs."""
    replaced = diff.get("replaced", {})
    maybe = diff.get("maybeReplaced", {})
    protected = set(diff.get("protected", []))
    updated = len(diff["changed"]) - len(replaced)
    lines = [
        f"plan diff {old_name} -> {new_name}: {len(diff['added'])} to add, {len(diff['removed'])} to remove, "
        f"{len(replaced)} to replace, {updated} to change"
    ]
    if protected:
        lines.append(
            f"! {len(protected)} protected resource(s) would be deleted or replaced: the engine refuses "
            "(unprotect first, deliberately, or undo the change)"
        )
    lines += [f"+ {key}" for key in diff["added"]]
    lines += [f"- {key}{'  ! protected' if key in protected else ''}" for key in diff["removed"]]
    for key, paths in diff["changed"].items():
        if key in replaced:
            mark = f"-/+ {key}  (replace: {', '.join(replaced[key])} forces a new resource)"
        elif key in maybe:
            mark = f"~? {key}  (may replace: {', '.join(maybe[key])})"
        else:
            mark = f"~ {key}"
        if key in diff.get("noReplacementRules", {}):
            mark += f"  (replacement rules not vendored for {diff['noReplacementRules'][key]})"
        lines.append(mark + ("  ! protected" if key in protected else ""))
        lines += [f"    {path}: {_show(old)} -> {_show(new)}" for path, old, new in paths]
    if diff["outputs"]:
        lines.append("outputs:")
        lines += [f"    {path}: {_show(old)} -> {_show(new)}" for path, old, new in diff["outputs"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the diff; exit 0 whether or not the plans differ, 2 on bad input."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args(argv)
    try:
        print(render(diff_plans(load_plan(args.old), load_plan(args.new)), args.old, args.new))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    run_main(main)

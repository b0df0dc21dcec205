"""Apply what was reviewed: compare a fresh preview with the preview reviewed on the pull request.

    python -m tools.reviewed_preview reviewed.json fresh.json

`up.yml` runs this between a fresh `pulumi preview --json` on `main` and the preview JSON the pull
request's job uploaded. It exits 1, printing every difference, when the two would change different
things, so that `pulumi up` never applies a change nobody saw (the base branch moved, the cloud
drifted, a rotation came due). Pulumi's saved plans (`--save-plan`/`--plan`) would do this inside the
engine, but they are experimental with open bugs; the workflow uses them only behind an opt-in.

What is compared: every step that changes something (`op` not same/read/refresh), by URN: its op,
its diff and replace reasons, its detailed diff, and the inputs of its new state. What is ignored,
because it changes between two runs of the same program on the same state: the preview's duration,
config and diagnostics, unchanged steps, outputs (a fresh preview knows different ones), ids, and
the states' `created`/`modified` timestamps. Unverified here: a real preview pair from the CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.preview_json import NO_CHANGE_OPS, PreviewFormatError, load_preview, steps

VOLATILE_STATE_FIELDS = frozenset({"created", "modified", "id", "outputs", "initErrors", "sourcePosition"})
"""Fields of a serialized resource state that differ between two previews of one change."""


def change_set(preview: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """URN -> what the step would change, with the volatile fields left out."""
    changes: dict[str, dict[str, Any]] = {}
    for step in steps(preview):
        if step["op"] in NO_CHANGE_OPS:
            continue
        new_state = step.get("newState") or {}
        changes[step["urn"]] = {
            "op": step["op"],
            "diffReasons": sorted(step.get("diffReasons") or []),
            "replaceReasons": sorted(step.get("replaceReasons") or []),
            "detailedDiff": step.get("detailedDiff") or {},
            "newState": {key: value for key, value in new_state.items() if key not in VOLATILE_STATE_FIELDS},
        }
    return changes


def differences(reviewed: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """One line per step the fresh preview plans differently from the reviewed one (empty: identical)."""
    old, new = change_set(reviewed), change_set(fresh)
    lines = [f"not reviewed: {new[urn]['op']} {urn}" for urn in sorted(new.keys() - old.keys())]
    lines += [f"reviewed but no longer planned: {old[urn]['op']} {urn}" for urn in sorted(old.keys() - new.keys())]
    for urn in sorted(old.keys() & new.keys()):
        changed = [field for field in old[urn] if old[urn][field] != new[urn][field]]
        if changed:
            detail = ", ".join(
                f"{field} {json.dumps(old[urn][field], sort_keys=True)[:80]} -> "
                f"{json.dumps(new[urn][field], sort_keys=True)[:80]}"
                for field in changed
            )
            lines.append(f"planned differently: {urn}: {detail}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 when the fresh preview is the reviewed one, 1 with the differences, 2 on a bad file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reviewed", type=Path, help="the preview JSON reviewed on the pull request")
    parser.add_argument("fresh", type=Path, help="`pulumi preview --json` run just now on main")
    args = parser.parse_args(argv)
    try:
        reviewed, fresh = load_preview(args.reviewed), load_preview(args.fresh)
    except PreviewFormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    lines = differences(reviewed, fresh)
    for line in lines:
        print(line)
    if lines:
        print("refused: the fresh preview differs from the reviewed one; open a pull request with the change")
        return 1
    print(f"the fresh preview plans what was reviewed ({len(change_set(fresh))} changes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

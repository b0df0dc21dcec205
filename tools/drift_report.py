"""The nightly drift check: which changes a refreshed preview found, and which of them are expected.

    python -m tools.drift_report STACK preview.json [--markdown drift.md]

`drift.yml` runs `pulumi preview --refresh --expect-no-changes --json` per stack and hands the JSON
here. Two kinds of change are expected and never open a drift issue: scheduled scaling (a node
group's desired size moved by its autoscaler or a schedule) and rotations that are due (a
`time.Rotating` past its period, and what it replaces: the random value, the Secrets Manager version,
the ExternalSecret's and Grafana's rotation annotations). Everything else is drift: exit 1, with a
Markdown report the workflow writes into the stack's drift issue.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.observability.monitoring import ROTATION_ANNOTATION
from components.secrets.service_secrets import SECRET_VERSIONS_ANNOTATION
from tools.preview_json import NO_CHANGE_OPS, PreviewFormatError, load_preview, step_type, steps

REPLACING_OPS = frozenset({"create", "replace", "create-replacement", "delete-replaced", "delete"})


def _changed_paths(step: Mapping[str, Any]) -> list[str]:
    """The property paths a step changes: the detailed diff's keys, else the top-level diff reasons."""
    detailed = step.get("detailedDiff") or {}
    return list(detailed) or list(step.get("diffReasons") or [])


def _only(*allowed: str) -> Callable[[Mapping[str, Any]], bool]:
    """A step whose every changed path starts with one of `allowed` (and that changes some path)."""

    def matches(step: Mapping[str, Any]) -> bool:
        paths = _changed_paths(step)
        return bool(paths) and all(any(path.startswith(prefix) for prefix in allowed) for path in paths)

    return matches


def _mentions(text: str) -> Callable[[Mapping[str, Any]], bool]:
    """A step whose every changed path names `text` (an annotation inside chart values)."""

    def matches(step: Mapping[str, Any]) -> bool:
        paths = _changed_paths(step)
        return bool(paths) and all(text in path for path in paths)

    return matches


def _always(step: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class ExpectedChange:
    """A change the drift check accepts: a type, the ops it may take, and which properties may move."""

    reason: str
    type_token: str
    ops: frozenset[str]
    matches: Callable[[Mapping[str, Any]], bool]

    def accepts(self, step: Mapping[str, Any]) -> bool:
        """Whether `step` is this expected change."""
        return step_type(step) == self.type_token and step["op"] in self.ops and self.matches(step)


EXPECTED_CHANGES: Sequence[ExpectedChange] = (
    ExpectedChange(
        "scheduled scaling", "aws:eks/nodeGroup:NodeGroup", frozenset({"update"}), _only("scalingConfig.desiredSize")
    ),
    ExpectedChange("scheduled scaling", "aws:autoscaling/group:Group", frozenset({"update"}), _only("desiredCapacity")),
    ExpectedChange("rotation due", "time:index/rotating:Rotating", REPLACING_OPS | {"update"}, _always),
    ExpectedChange("rotation due", "random:index/randomPassword:RandomPassword", REPLACING_OPS, _only("keepers")),
    ExpectedChange(
        "rotation due", "aws:secretsmanager/secretVersion:SecretVersion", REPLACING_OPS, _only("secretString")
    ),
    ExpectedChange(
        "rotation due",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        frozenset({"update"}),
        _mentions(SECRET_VERSIONS_ANNOTATION),
    ),
    ExpectedChange(
        "rotation due", "kubernetes:helm.sh/v3:Release", frozenset({"update"}), _mentions(ROTATION_ANNOTATION)
    ),
)
"""The tested exceptions (tests/delivery/test_drift_report.py proves each, and that a near miss is drift)."""


@dataclass(frozen=True)
class DriftReport:
    """A stack's changes, split into expected (with the reason) and drift."""

    stack: str
    expected: list[tuple[str, str, str]]
    drift: list[tuple[str, str, list[str]]]

    def markdown(self) -> str:
        """The body of the stack's drift issue."""
        lines = [f"## Drift in stack `{self.stack}`", ""]
        if self.drift:
            lines += ["Changes found by `pulumi preview --refresh` that no pull request made:", ""]
            lines += [f"- `{op}` `{urn}`: {', '.join(paths) or 'no property diff'}" for op, urn, paths in self.drift]
        else:
            lines.append("No drift.")
        if self.expected:
            lines += ["", "Expected, not drift:", ""]
            lines += [f"- `{op}` `{urn}` ({reason})" for reason, op, urn in self.expected]
        return "\n".join(lines) + "\n"


def classify(stack: str, preview: Mapping[str, Any]) -> DriftReport:
    """Split the preview's changing steps into expected changes and drift."""
    expected: list[tuple[str, str, str]] = []
    drift: list[tuple[str, str, list[str]]] = []
    for step in steps(preview):
        if step["op"] in NO_CHANGE_OPS:
            continue
        known = next((change for change in EXPECTED_CHANGES if change.accepts(step)), None)
        if known is not None:
            expected.append((known.reason, step["op"], step["urn"]))
        else:
            drift.append((step["op"], step["urn"], _changed_paths(step)))
    return DriftReport(stack, expected, drift)


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 without drift, 1 with drift (the report printed and optionally written)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", help="the stack the preview is of")
    parser.add_argument("preview", type=Path, help="the output of `pulumi preview --refresh --json`")
    parser.add_argument("--markdown", type=Path, help="also write the report here (the drift issue's body)")
    args = parser.parse_args(argv)
    try:
        report = classify(args.stack, load_preview(args.preview))
    except PreviewFormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = report.markdown()
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 1 if report.drift else 0


if __name__ == "__main__":
    sys.exit(main())

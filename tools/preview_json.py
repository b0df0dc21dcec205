"""Reading `pulumi preview --json`: the steps of a preview digest, in Pulumi's documented shape.

The CLI prints one JSON document (Go `display.PreviewDigest`, pkg/backend/display/json.go in
pulumi/pulumi): `{"config", "steps", "diagnostics", "duration", "changeSummary", "maybeCorrupt"}`.
Each step is `{"op", "urn", "provider", "oldState", "newState", "diffReasons", "replaceReasons",
"detailedDiff"}`; a state is a serialized resource (`urn`, `type`, `inputs`, `outputs`, `protect`,
`retainOnDelete`, `created`, `modified`, ...). Secret values read "[secret]".

Every tool that reads a preview (the deletion guard, the reviewed-preview comparison, the drift
report) reads it through here, so that a malformed file is one clear error, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DELETING_OPS = frozenset({"delete", "replace", "delete-replaced", "discard", "discard-replaced"})
"""Ops that remove a resource from the cloud or from state (a replace deletes the old one)."""

NO_CHANGE_OPS = frozenset({"same", "read", "refresh"})
"""Ops that change nothing in the cloud."""


class PreviewFormatError(ValueError):
    """The file is not the JSON digest `pulumi preview --json` prints."""


def load_preview(path: Path) -> dict[str, Any]:
    """The preview digest in `path`; raises `PreviewFormatError` naming the file and what is wrong."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise PreviewFormatError(f"{path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise PreviewFormatError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    return check_preview(document, str(path))


def check_preview(document: Any, source: str = "preview") -> dict[str, Any]:
    """The digest itself, after checking that it has a `steps` list of objects with `op` and `urn`."""
    if not isinstance(document, dict) or not isinstance(document.get("steps", []), list | None):
        raise PreviewFormatError(f"{source}: expected the object `pulumi preview --json` prints, with a `steps` list")
    for index, step in enumerate(document.get("steps") or []):
        if not isinstance(step, dict) or not isinstance(step.get("op"), str) or not isinstance(step.get("urn"), str):
            raise PreviewFormatError(f"{source}: step {index} has no `op` and `urn`")
    return document


def steps(document: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The steps of a checked digest (an empty preview has none, or `null`)."""
    return document.get("steps") or []


def step_type(step: Mapping[str, Any]) -> str:
    """The resource type of a step: from its state, else the last type in the URN."""
    for state in (step.get("newState"), step.get("oldState")):
        if isinstance(state, dict) and state.get("type"):
            return str(state["type"])
    # urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>
    parts = step["urn"].split("::")
    return parts[2].split("$")[-1] if len(parts) >= 4 else ""


def step_name(step: Mapping[str, Any]) -> str:
    """The logical name of a step's resource (the last URN segment)."""
    return step["urn"].split("::")[-1]

"""The vendored upstream data under data/upstream/ (charts' values and Chart.yaml, IAM policies), for tests.

Unlike tests/reference.py this reads only files inside the repository.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml

from components.shared.controllers import HelmChart
from components.shared.paths import DATA_DIR
from tests.schemas import OpenValues, unknown_value_paths

UPSTREAM = DATA_DIR / "upstream"
# Maps whose children are Kubernetes objects or annotations passed through by every chart.
OPEN_VALUES = OpenValues(
    keys=frozenset({"resources", "annotations", "additionalLabels", "selector", "extraArgs"}), empty_default_maps=True
)


@cache
def upstream_yaml(relative_path: str) -> Any:
    """A vendored YAML file, e.g. `external-dns/values.yaml` (parsed once; do not mutate)."""
    return yaml.safe_load((UPSTREAM / relative_path).read_text())


def upstream_json(relative_path: str) -> Any:
    """A vendored JSON file, e.g. `aws-load-balancer-controller/iam_policy.json`."""
    return json.loads((UPSTREAM / relative_path).read_text())


def unknown_chart_values(chart: HelmChart, values: dict[str, Any]) -> list[str]:
    """Key paths of `values` that the chart's vendored values.yaml does not have (Helm would ignore them)."""
    return unknown_value_paths(values, [upstream_yaml(f"{chart.name}/values.yaml")], OPEN_VALUES)


def release_inputs(plan: Any, name: str) -> dict[str, Any]:
    """The inputs of one Helm release of a plan, by its logical name."""
    return plan.one("kubernetes:helm.sh/v3:Release", name)["inputs"]

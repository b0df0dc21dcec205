"""Where the upstream reference data lives: `data/upstream/`, inside the repository (see its README).

Every file there is derived from an upstream file at a pinned commit by `make refresh-upstream`
(tools/refresh_upstream.py); no test reads anything outside the repository.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from components.shared.paths import DATA_DIR

UPSTREAM_DIR = DATA_DIR / "upstream"


def reference_root() -> Path:
    """The vendored upstream data folder."""
    return UPSTREAM_DIR


@cache
def upstream_json(relative_path: str) -> Any:
    """One derived file, e.g. `grafana/values.json` (parsed once; do not mutate)."""
    path = UPSTREAM_DIR / relative_path
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is not vendored: add it to tools/refresh_upstream.py and run make refresh-upstream"
        )
    return json.loads(path.read_text())


def chart_values(chart: str) -> Any:
    """A chart's default values (its values.yaml, parsed), e.g. `chart_values("grafana")`."""
    return upstream_json(f"{chart}/values.json")


def chart_metadata(chart: str) -> dict[str, Any]:
    """A chart's Chart.yaml essentials: name, version, appVersion, kubeVersion, dependencies."""
    return upstream_json(f"{chart}/chart.json")


def commented_out_keys(chart: str) -> list[str]:
    """Top-level keys a chart's values.yaml documents only as a comment (the chart still reads them)."""
    return upstream_json(f"{chart}/commented-keys.json")


def values_schema(chart: str) -> Any:
    """A chart's values.schema.json."""
    return upstream_json(f"{chart}/values.schema.json")

"""Write a refreshed price table: the fresh figures merged over data/prices.yaml, validated, then written.

Only the figures `make prices` read are replaced; everything else of the table (the GitHub section,
regions it did not read, figures no offer file carries) stays as it is, with its own source and date.
The header comment of the file is kept; every leaf figure is written on one line as before.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from components.cost.prices import parse_prices
from tools.prices.build import PricedFigure, Refresh, SpotSaving

SPOT_NOTES = (
    "Spot Instance Advisor, Linux: average saving over on-demand in the last 30 days; interruption "
    "frequency {interruption}. Moves daily: override per stack with spotSavingsPercent."
)


def _number(value: Decimal) -> float | int:
    normalized = value.normalize()
    return int(normalized) if normalized == normalized.to_integral_value() else float(normalized)


def _figure(figure: PricedFigure) -> dict[str, Any]:
    data: dict[str, Any] = {
        "usd": _number(figure.usd),
        "unit": figure.unit,
        "source": figure.source,
        "asOf": figure.as_of,
    }
    if figure.notes:
        data["notes"] = figure.notes
    return data


def _spot(saving: SpotSaving) -> dict[str, Any]:
    return {
        "percent": saving.percent,
        "source": saving.source,
        "asOf": saving.as_of,
        "notes": SPOT_NOTES.format(interruption=saving.interruption),
    }


def _place(region: dict[str, Any], key: str, figure: dict[str, Any]) -> None:
    """Put a figure at its place: the EC2 and EKS sections, or `rates.<name>[.<variant>]`."""
    section, _, rest = key.partition(".")
    if section == "ec2OnDemand":
        region.setdefault("ec2OnDemand", {})[rest] = figure
    elif section == "eksControlPlane":
        region.setdefault("eksControlPlane", {})[rest] = figure
    elif rest:
        region.setdefault("rates", {}).setdefault(section, {})[rest] = figure
    else:
        region.setdefault("rates", {})[section] = figure


def merge(current: dict[str, Any], fresh: Refresh) -> dict[str, Any]:
    """The table data with every fresh figure in place (a new dict; `current` is left as it was)."""
    table = yaml.safe_load(yaml.safe_dump(current))
    for region_name, figures in fresh.regions.items():
        region = table["regions"].setdefault(region_name, {})
        for key, figure in figures.items():
            _place(region, key, _figure(figure))
        for key, figure in fresh.global_figures.items():
            _place(region, key, {**_figure(figure), "notes": f"{figure.notes} Global price.".strip()})
        for instance_type, saving in fresh.spot.get(region_name, {}).items():
            region.setdefault("spotSavingsPercent", {})[instance_type] = _spot(saving)
        for instance_type, terms in fresh.reserved.get(region_name, {}).items():
            reserved = region.setdefault("ec2Reserved", {}).setdefault(instance_type, {})
            for years, options in terms.items():
                reserved[years] = {option: _figure(figure) for option, figure in sorted(options.items())}
    return table


class _Dumper(yaml.SafeDumper):
    """Leaf figures on one line (`{usd: ..., unit: ..., source: ..., asOf: ...}`), sections in block style."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    leaf = "usd" in data or "percent" in data
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=leaf)


_Dumper.add_representer(dict, _represent_dict)


def render(table: dict[str, Any], header: str) -> str:
    """The file: the header comment, then the table."""
    return header + yaml.dump(table, Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)


def header_of(text: str) -> str:
    """The comment lines at the top of the current file."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def write_table(path: Path, fresh: Refresh) -> str:
    """Merge `fresh` into the table at `path`, validate the result as the program would, write it."""
    text = path.read_text()
    merged = merge(yaml.safe_load(text), fresh)
    rendered = render(merged, header_of(text))
    parse_prices(yaml.safe_load(rendered), str(path))  # refuse to write a table the program would refuse
    path.write_text(rendered)
    return rendered

"""Read the Spot Instance Advisor data: average saving of spot over on-demand per region and type.

`spot-advisor-data.json` (the file behind https://aws.amazon.com/ec2/spot/instance-advisor/) has
`ranges` (interruption-frequency buckets), `instance_types` and `spot_advisor`:
`{region: {"Linux"|"Windows": {instanceType: {"s": savings percent, "r": range index}}}}`. The
figures are rolling averages over the last 30 days; the file itself carries no date, so the table
dates them by the day they were read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import ijson


class SpotAdvisorFormatError(ValueError):
    """The file does not have the shape described above."""


@dataclass(frozen=True)
class SpotFigure:
    """One type's saving and interruption bucket in one region (Linux)."""

    savings_percent: int
    interruption: str
    """The interruption-frequency label of its range, e.g. `<5%` or `>20%`."""


def spot_figures(
    stream: BinaryIO, regions: Iterable[str], instance_types: Iterable[str]
) -> dict[str, dict[str, SpotFigure]]:
    """Region -> instance type -> Linux spot figure, for the regions and types asked (streaming)."""
    regions, types = set(regions), set(instance_types)
    labels: dict[int, str] = {}
    raw: dict[str, dict[str, dict[str, object]]] = {}
    for key, value in ijson.kvitems(stream, ""):
        if key == "ranges":
            labels = {int(bucket["index"]): str(bucket["label"]) for bucket in value}
        elif key == "spot_advisor":
            if not isinstance(value, dict):
                raise SpotAdvisorFormatError("spot_advisor is not an object of regions")
            raw = {region: value[region].get("Linux", {}) for region in regions & set(value)}
    if not labels:
        raise SpotAdvisorFormatError("no interruption ranges in the Spot Advisor data")
    try:
        return {
            region: {
                instance_type: SpotFigure(int(str(figure["s"])), labels.get(int(str(figure["r"])), str(figure["r"])))
                for instance_type, figure in linux.items()
                if instance_type in types
            }
            for region, linux in raw.items()
        }
    except (KeyError, ValueError) as error:
        raise SpotAdvisorFormatError(f"a spot figure lacks its saving (s) or range (r): {error}") from None

"""The Spot Advisor reader on a slice of the real spot-advisor-data.json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tools.prices.spot_advisor import SpotAdvisorFormatError, spot_figures

SLICE = Path(__file__).parent / "fixtures" / "spot-advisor-data.alexei-led-spotinfo.json"


def test_linux_savings_and_interruption_labels_per_region() -> None:
    raw = json.loads(SLICE.read_text())
    labels = {bucket["index"]: bucket["label"] for bucket in raw["ranges"]}
    with SLICE.open("rb") as stream:
        figures = spot_figures(stream, ["us-east-1", "us-west-2", "eu-north-1"], ["m6i.large", "t4g.nano"])
    assert set(figures) == {"us-east-1", "us-west-2"}  # no data for a region: nothing invented
    for region, by_type in figures.items():
        for instance_type, figure in by_type.items():
            expected = raw["spot_advisor"][region]["Linux"][instance_type]
            assert figure.savings_percent == expected["s"]
            assert figure.interruption == labels[expected["r"]]
    assert set(figures["us-east-1"]) == {"m6i.large", "t4g.nano"}


def test_a_file_without_ranges_is_refused() -> None:
    with pytest.raises(SpotAdvisorFormatError):
        spot_figures(io.BytesIO(b'{"spot_advisor": {}}'), ["us-east-1"], ["m6i.large"])

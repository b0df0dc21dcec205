"""`make prices`: download the offer files and Spot Advisor data, rebuild data/prices.yaml, report.

    python -m tools.prices                 # refresh data/prices.yaml (needs network, no credentials)
    python -m tools.prices --dry-run       # read and report, write nothing

Prints what changed (figure, old and new price) and what could not be found; a figure a stack uses
that the files do not have is listed, and the table keeps its old value for it.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import yaml

from components.cost.prices import PRICES_PATH
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.prices.build import in_use, load_sources, refresh
from tools.prices.download import DownloadError, download
from tools.prices.offers import OfferFormatError
from tools.prices.spot_advisor import SpotAdvisorFormatError
from tools.prices.table import merge, write_table

CACHE = PROJECT_ROOT / "build" / "prices-cache"


def _leaves(data: object, prefix: str = "") -> dict[str, object]:
    """`regions.us-east-1.rates.natGateway` -> its usd (or percent), for the change report."""
    if isinstance(data, dict):
        if "usd" in data or "percent" in data:
            return {prefix: data.get("usd", data.get("percent"))}
        found: dict[str, object] = {}
        for key, value in data.items():
            found |= _leaves(value, f"{prefix}.{key}" if prefix else str(key))
        return found
    return {}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="report the changes, write nothing")
    parser.add_argument("--table", type=Path, default=PRICES_PATH)
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the downloaded files are kept")
    args = parser.parse_args(argv)
    today = datetime.date.today()
    try:
        fresh = refresh(
            load_sources(), in_use(), lambda url, name: download(url, args.cache / name, today=today), today
        )
        before = _leaves(yaml.safe_load(args.table.read_text()))
        if args.dry_run:
            after = _leaves(merge(yaml.safe_load(args.table.read_text()), fresh))
        else:
            after = _leaves(yaml.safe_load(write_table(args.table, fresh)))
    except (DownloadError, OfferFormatError, SpotAdvisorFormatError, ConfigError) as error:
        print(f"error: {error} (data/prices.yaml is unchanged)", file=sys.stderr)
        return 2
    changed = [key for key in after if before.get(key) != after[key]]
    for key in changed:
        print(f"  {key}: {before.get(key, '(new)')} -> {after[key]}")
    for missing in fresh.missing:
        print(f"  not found: {missing} (kept as it was; a stack using it shows an unpriced line)")
    verb = "would change" if args.dry_run else "changed"
    print(f"{len(changed)} figures {verb}, {len(fresh.missing)} not found; {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

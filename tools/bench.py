"""`make bench`: how long the offline plan takes, against the floor of importing the SDKs alone.

Each figure is the median of a few runs, each in a fresh Python process (as `pulumi preview` starts
one), so imports are counted the same way everywhere:
- floor: importing the SDK modules the program uses (listed by planning every stack once) and nothing else;
- all stacks: `python -m tools.plan` (plans and prints org, dev, staging, prod);
- synthetic: the dev stack with a catalog of N deployable services (10, 50, 200), to show how the
  program scales with the catalog.
"""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import subprocess
import sys
import time

import yaml

from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.entry import run_main

ROOT = PROJECT_ROOT
SDK_PACKAGES = ("pulumi", "pulumi_", "pulumiverse_")
"""Top-level names of the SDKs (the Pulumi SDK, its providers' SDKs)."""
SYNTHETIC_SIZES = (10, 50, 200)


def synthetic_catalog(size: int) -> dict[str, object]:
    """The real catalog grown to `size` deployable services by cloning its deployable ones."""
    from components.shared.catalog import CATALOG_PATH  # noqa: PLC0415 (only the synthetic child process needs it)

    data = yaml.safe_load(CATALOG_PATH.read_text())
    deployable = [service for service in data["services"] if service.get("deploys")]
    clones = []
    for index in range(size - len(deployable)):
        clone = copy.deepcopy(deployable[index % len(deployable)])
        clone["name"] = f"{clone['name']}-{index}"
        clones.append(clone)
    return {**data, "services": data["services"] + clones}


def print_sdk_modules() -> int:
    """Plan every stack and print the SDK modules that loaded: the floor imports exactly these.

    The SDKs load their modules lazily, so a hand-kept list goes stale as components are added; the
    program itself says which modules it uses.
    """
    from components.config.common import STACKS  # noqa: PLC0415 (only the child process needs these)
    from tools.plan import build_plan  # noqa: PLC0415

    for stack in STACKS:
        build_plan(stack)
    top_level = {"pulumi", *(name.split(".")[0] for name in sys.modules if name.startswith(SDK_PACKAGES[1:]))}
    print("\n".join(sorted(name for name in sys.modules if name.split(".")[0] in top_level)))
    return 0


def plan_with_synthetic_catalog(size: int) -> int:
    """Plan dev with a synthetic catalog and print how many resources it declared (exit 2 on bad config)."""
    from components.shared.catalog import parse_catalog  # noqa: PLC0415 (only the child process needs these)
    from tools.plan import build_plan  # noqa: PLC0415

    try:
        catalog = parse_catalog(synthetic_catalog(size), f"synthetic catalog of {size}")
        print(f"{len(build_plan('dev', catalog=catalog).resources)} resources")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


class BenchError(Exception):
    """A measured command failed; its own one-line error says why."""


def timed(label: str, command: list[str], runs: int) -> tuple[float, str]:
    """Median wall time of `command` in fresh processes, and its output; progress goes to stderr."""
    times, output = [], ""
    for run in range(1, runs + 1):
        print(f"bench: {label}: run {run} of {runs}...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            lines = [line for line in result.stderr.strip().splitlines() if line.strip()] or ["failed"]
            raise BenchError(f"{label}: {lines[-1].removeprefix('error: ')}")
        output = result.stdout
    print(f"bench: {label}: {statistics.median(times):.2f} s (median of {runs})", file=sys.stderr, flush=True)
    return statistics.median(times), output


def resources_of(output: str) -> str:
    """The resources a plan declared, from `tools.plan`'s `== stack dev: 202 resources` lines or `N resources`."""
    counts = [int(count) for count in re.findall(r"^(?:== stack \S+: )?(\d+) resources$", output, re.MULTILINE)]
    return f"{sum(counts):,} resources" if counts else ""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of seconds and ratios to the floor."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--synthetic", type=int, help=argparse.SUPPRESS)  # the child process of one measurement
    parser.add_argument("--sdk-modules", action="store_true", help=argparse.SUPPRESS)  # likewise
    args = parser.parse_args(argv)
    if args.synthetic:
        return plan_with_synthetic_catalog(args.synthetic)
    if args.sdk_modules:
        return print_sdk_modules()
    python = sys.executable
    try:
        _, listed = timed("the SDK modules the program loads", [python, "-m", "tools.bench", "--sdk-modules"], 1)
        imports = f"import importlib; [importlib.import_module(m) for m in {listed.split()!r}]"
        floor, _ = timed("floor: import the SDKs", [python, "-c", imports], args.runs)
        rows = [("floor: import the SDKs", floor, "")]
        all_stacks, output = timed("plan org+dev+staging+prod", [python, "-m", "tools.plan"], args.runs)
        rows.append(("plan org+dev+staging+prod", all_stacks, resources_of(output)))
        for size in SYNTHETIC_SIZES:
            label = f"plan dev, {size} services"
            seconds, output = timed(label, [python, "-m", "tools.bench", "--synthetic", str(size)], args.runs)
            rows.append((label, seconds, resources_of(output)))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{'measurement':34} {'seconds':>8} {'x floor':>8}  notes")
    for label, seconds, note in rows:
        print(f"{label:34} {seconds:8.2f} {seconds / floor:8.1f}  {note}")
    return 0


if __name__ == "__main__":
    run_main(main)

"""Routine changes a maintainer makes every week, applied to a copy of the project.

`tests/test_routine_changes.py` applies them to a temporary copy, rewrites its snapshots and runs the
suite there: after any valid change to a stack file, the catalog or the price table,
`make snapshots && make test` must be green, so no test may hard-code today's figures or counts.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def _edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def one_more_dev_node(root: Path) -> str:
    """Raise dev's `nodes.desiredSize` by one (and `maxSize` with it when needed)."""

    def change(data: dict[str, Any]) -> None:
        nodes = data["config"]["pyairtable-infra:nodes"]
        nodes["desiredSize"] += 1
        nodes["maxSize"] = max(nodes["maxSize"], nodes["desiredSize"])

    _edit_yaml(root / "Pulumi.dev.yaml", change)
    return "dev: one more node"


def one_more_service(root: Path) -> str:
    """Add a deployable service to the catalog, shaped like the last deployable one."""

    def change(data: dict[str, Any]) -> None:
        services = data["services"]
        template = next(service for service in reversed(services) if service.get("deploys"))
        ports = [service["port"] for service in services if "port" in service]
        services.append({**template, "name": "search", "port": max(ports) + 1, "codeFrom": []})

    def record(data: dict[str, Any]) -> None:
        # The org stack's record of the repositories it creates and seeds (README, adopted repositories).
        data["config"]["pyairtable-infra:github"]["seededRepositories"].append("pyairtable-search")

    _edit_yaml(root / "data" / "services.yaml", change)
    _edit_yaml(root / "Pulumi.org.yaml", record)
    return "catalog: a new service `search` (recorded in the org stack's seededRepositories)"


def one_more_price(root: Path) -> str:
    """Price one more instance type in every region (a type no stack uses yet)."""

    def change(data: dict[str, Any]) -> None:
        for region in data["regions"].values():
            template = next(iter(region["ec2OnDemand"].values()))
            region["ec2OnDemand"]["m7a.large"] = {**template, "usd": 0.11592}

    _edit_yaml(root / "data" / "prices.yaml", change)
    return "prices: m7a.large on-demand in every region"


ROUTINE_CHANGES = (one_more_dev_node, one_more_service, one_more_price)


def copy_project(source: Path, target: Path) -> None:
    """The files git tracks (and untracked, unignored ones), as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        origin = source / relative
        if origin.is_file() and not origin.is_symlink():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination)

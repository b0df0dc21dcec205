"""Where the upstream reference data (CRDs, chart values and schemas) lives, read-only.

The env var PYAIRTABLE_REFERENCE wins; else `shared/reference` beside the repository (a fresh clone
in CI), else the shared folder of this workstation.
"""

from __future__ import annotations

import os
from pathlib import Path

from components.shared.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def reference_root() -> Path:
    """The reference folder; fails loudly (no silent skip) when none exists."""
    configured = os.environ.get("PYAIRTABLE_REFERENCE")
    if configured:
        return Path(configured)
    candidates = [ROOT.parent / "shared" / "reference", Path("/work/shared/reference")]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no reference data: set PYAIRTABLE_REFERENCE or provide one of {candidates}")

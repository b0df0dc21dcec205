"""`make help` lists every target: a target without its one-line description fails here."""

from __future__ import annotations

import re
import subprocess

from components.shared.paths import PROJECT_ROOT

TARGET = re.compile(r"^([a-z][a-z-]*):(?!=)(.*)$", re.M)


def test_every_target_has_a_one_line_description_and_make_help_lists_it() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = {name: rest for name, rest in TARGET.findall(makefile)}
    assert targets, "no targets found in the Makefile"
    undocumented = sorted(name for name, rest in targets.items() if "## " not in rest)
    assert not undocumented, f"targets without a '## description': {undocumented}"
    help_command = ["make", "--no-print-directory", "help"]
    listed = subprocess.run(help_command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    shown = {line.split()[1] for line in listed.stdout.splitlines() if line.strip().startswith("make ")}
    assert shown == set(targets)

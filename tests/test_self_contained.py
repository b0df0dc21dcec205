"""No test or tool reads outside the repository: CI runs on a fresh clone, with nothing beside it.

The scan looks at every string and path expression of tests/ and tools/: an absolute path into a
machine's own folders (/work, /home, /tmp, ...; container paths such as /etc/grafana are fine), a
`..` joined onto a path, or the project root's parent. Upstream data is vendored in data/upstream/
(tools/refresh_upstream.py) instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from components.shared.paths import PROJECT_ROOT

SCANNED = ("tests", "tools")
MACHINE_PATH = re.compile(r"^/(work|home|tmp|root|Users|mnt|srv|private)(/|$)")
PARENT_ESCAPE = re.compile(r"(^|/)\.\.(/|$)")
ROOT_NAMES = {"ROOT", "PROJECT_ROOT", "DATA_DIR", "UPSTREAM_DIR"}
PATH_CALLS = {"Path", "open", "PurePath"}


def outside_paths(source: str) -> list[str]:
    """Every string or expression of `source` that points outside the repository."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MACHINE_PATH.search(node.value):
            problems.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, (ast.BinOp, ast.Call)):
            # `..` as a path: joined with `/` or handed to Path()/open().
            if isinstance(node, ast.BinOp):
                operands = [node.right] if isinstance(node.op, ast.Div) else []
            else:
                called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                operands = list(node.args) if called in PATH_CALLS else []
            problems += [
                f"line {operand.lineno}: {operand.value!r}"
                for operand in operands
                if isinstance(operand, ast.Constant)
                and isinstance(operand.value, str)
                and PARENT_ESCAPE.search(operand.value)
            ]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in {"parent", "parents"}
            and isinstance(node.value, ast.Name)
            and node.value.id in ROOT_NAMES
        ):
            problems.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return sorted(problems, key=lambda problem: int(problem.split(":")[0].removeprefix("line ")))


def test_no_test_or_tool_points_outside_the_repository() -> None:
    found = {}
    for folder in SCANNED:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            if path == Path(__file__):
                continue  # this scanner plants violations in its own test
            problems = outside_paths(path.read_text())
            if problems:
                found[str(path.relative_to(PROJECT_ROOT))] = problems
    assert found == {}


def test_the_scan_finds_what_it_is_for() -> None:
    planted = (
        'REFERENCE = Path("/work/shared/reference")\n'
        'fallback = ROOT.parent / "shared" / "reference"\n'
        'up = DATA_DIR / "../../elsewhere"\n'
        'fine = ("/orgs/pyairtable/installations", "/etc/grafana/grafana.ini", "pyairtable/dev/../prod")\n'
    )
    assert outside_paths(planted) == [
        "line 1: '/work/shared/reference'",
        "line 2: ROOT.parent",
        "line 3: '../../elsewhere'",
    ]


def test_the_reference_data_is_in_the_repository() -> None:
    from tests.reference import reference_root  # noqa: PLC0415 (the module under test)

    assert reference_root().resolve().is_relative_to(PROJECT_ROOT.resolve())
    assert Path(reference_root(), "README.md").exists()

"""Source-level conventions: components register outputs last, and tests cannot pass vacuously."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from components.shared.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def component_classes() -> list[tuple[Path, ast.ClassDef]]:
    """Every ComponentResource subclass under components/."""
    found = []
    for path in sorted((ROOT / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith("ComponentResource") for base in node.bases
            ):
                found.append((path, node))
    return found


def test_every_component_ends_its_constructor_with_one_register_outputs() -> None:
    for path, cls in component_classes():
        init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        calls = [
            n for n in ast.walk(init) if isinstance(n, ast.Call) and ast.unparse(n.func) == "self.register_outputs"
        ]
        assert len(calls) == 1, f"{path.name}:{cls.name} calls register_outputs {len(calls)} times"
        last = init.body[-1]
        assert (
            isinstance(last, ast.Expr)
            and ast.unparse(last.value.func if isinstance(last.value, ast.Call) else last.value)
            == "self.register_outputs"
        ), f"{path.name}:{cls.name}: register_outputs must be the constructor's last statement"


def test_every_component_has_a_pyairtable_type_token_and_typed_args() -> None:
    for path, cls in component_classes():
        # ast.unparse writes strings in single quotes, so look for the token among the string constants.
        tokens = [
            node.value
            for node in ast.walk(cls)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"pyairtable:[a-z_]+:[A-Z][A-Za-z]*", node.value)
        ]
        assert tokens, f"{path.name}:{cls.name} needs a pyairtable:<module>:<Noun> type token"
        init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        names = [arg.arg for arg in init.args.args]
        assert names[:3] == ["self", "name", "args"], f"{path.name}:{cls.name} constructor is (name, args, opts)"
        assert init.args.args[2].annotation is not None, f"{path.name}:{cls.name}: args must be typed"


def test_no_test_returns_an_output_without_the_runtime_test_decorator() -> None:
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            decorated = any("runtime.test" in ast.unparse(d) for d in node.decorator_list)
            returns_value = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node))
            assert decorated or not returns_value, (
                f"{path.name}:{node.name} returns a value without @pulumi.runtime.test"
            )


def test_no_resource_is_created_inside_apply() -> None:
    """Resources created in an apply callback are invisible to preview; the program never does it."""
    for path in [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".apply"):
                for arg in node.args:
                    if isinstance(arg, ast.Lambda):
                        for call in ast.walk(arg.body):
                            if isinstance(call, ast.Call) and "opts" in {k.arg for k in call.keywords}:
                                raise AssertionError(f"{path.name}:{node.lineno} creates a resource inside apply")

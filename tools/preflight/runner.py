"""`make preflight STACK=<s>`: run every check of `tools/preflight/checks_*.py` for one stack.

    python -m tools.preflight dev             # every check; exit 1 if any fails
    python -m tools.preflight dev --offline   # only what needs no network; the rest say they did not run

A capability adds checks by adding a module `tools/preflight/checks_<capability>.py` with a `CHECKS`
list of functions `(PreflightContext) -> CheckResult` (the contract is `tools/preflight/core.py`);
the runner finds it, nothing else changes. Each check prints pass, fail or skip with the fix, and
the summary names every check that could not run here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType

import tools.preflight as preflight_package
from components.config.common import STACKS
from components.config.stack_file import parse_stack_config, stack_file_config
from components.shared.errors import ConfigError
from tools.preflight.core import Check, CheckResult, PreflightContext

CHECK_MODULE_PREFIX = "checks_"
FIRST_MODULE = "checks_base"
"""The base checks (CLIs, credentials, backend) run first: every later check needs them."""


def check_modules() -> list[ModuleType]:
    """Every `tools/preflight/checks_*.py` module, the base checks first, then by name."""
    names = sorted(
        (info.name for info in pkgutil.iter_modules(preflight_package.__path__)),
        key=lambda name: (name != FIRST_MODULE, name),
    )
    return [
        importlib.import_module(f"{preflight_package.__name__}.{name}")
        for name in names
        if name.startswith(CHECK_MODULE_PREFIX)
    ]


def discover_checks(modules: Iterable[ModuleType] | None = None) -> list[Check]:
    """The `CHECKS` of every check module, in order; a module without a `CHECKS` list is a mistake."""
    checks: list[Check] = []
    for module in check_modules() if modules is None else modules:
        listed = getattr(module, "CHECKS", None)
        if not isinstance(listed, (list, tuple)) or not all(callable(check) for check in listed):
            raise ConfigError(f"{module.__name__}: a preflight check module needs a CHECKS list of functions")
        checks.extend(listed)
    return checks


def run_checks(context: PreflightContext, checks: Sequence[Check]) -> list[CheckResult]:
    """Every check's result; a check that raises is reported as failed (a bug in the check), never a traceback."""
    results = []
    for check in checks:
        try:
            results.append(check(context))
        except Exception as error:
            name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", "-")
            results.append(
                CheckResult(
                    name, "fail", f"the check itself failed: {type(error).__name__}: {error}", "report this bug"
                )
            )
    return results


def render(stack: str, results: Sequence[CheckResult]) -> str:
    """One line per check (and its fix), then a summary that names what could not run here."""
    width = max((len(result.name) for result in results), default=0)
    lines = [f"preflight for stack {stack}:"]
    for result in results:
        lines.append(f"  {result.status.upper():4}  {result.name:{width}}  {result.detail}")
        if result.fix and result.status != "pass":
            lines.append(f"        {'':{width}}  fix: {result.fix}")
    counts = {status: sum(result.status == status for result in results) for status in ("pass", "fail", "skip")}
    lines.append(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    not_run_here = [result.name for result in results if result.detail.startswith("not run")]
    if not_run_here:
        lines.append(f"not run here (run again where they can run): {', '.join(not_run_here)}")
    other_skips = [result.name for result in results if result.status == "skip" and result.name not in not_run_here]
    if other_skips:
        lines.append(f"skipped for the reason shown above: {', '.join(other_skips)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: exit 0 when nothing failed, 1 when a check failed, 2 on bad input."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", choices=STACKS, help="the stack to check (make preflight STACK=<stack>)")
    parser.add_argument("--offline", action="store_true", help="run only the checks that need no network")
    args = parser.parse_args(argv)
    try:
        config = parse_stack_config(args.stack, stack_file_config(args.stack)[0])
        checks = discover_checks()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    context = PreflightContext(args.stack, config, dict(os.environ), offline=args.offline)
    results = run_checks(context, checks)
    print(render(args.stack, results))
    return 1 if any(result.status == "fail" for result in results) else 0

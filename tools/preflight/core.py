"""The contract of `make preflight`: checks of what only a real machine has, each pass, fail or skip with a fix.

A check is a plain function `(PreflightContext) -> CheckResult`. Checks live by capability in
`tools/preflight/checks_<capability>.py`, each listing its functions in `CHECKS`; the runner finds
every such module. A check never calls a program itself: it asks `context.run`, which tests replace
with a fake, so every check is tested without the tools it calls.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from components.config.stack_file import StackConfig

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it exited (`returncode` 127: the command is not installed)."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


def run_command(argv: Sequence[str], timeout: float = 30) -> CommandResult:
    """Run a command for real; a missing program or a timeout is a result, never an exception."""
    try:
        completed = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return CommandResult(127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"{argv[0]}: no answer within {timeout:g} s")
    return CommandResult(completed.returncode, completed.stdout, completed.stderr)


@dataclass(frozen=True)
class PreflightContext:
    """What a check may look at: the stack, its validated config, the environment, and a command runner.

    `offline` (make preflight OFFLINE=1) asks every check that needs the network to skip and say so.
    """

    stack: str
    config: StackConfig
    environ: Mapping[str, str] = field(default_factory=dict)
    run: Callable[[Sequence[str]], CommandResult] = run_command
    offline: bool = False


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: `skip` says plainly that it could not be run here, and why."""

    name: str
    status: Status
    detail: str
    fix: str = ""


Check = Callable[[PreflightContext], CheckResult]

# What the usual clients print when there is no network (curl, the AWS CLI, gh, the Pulumi CLI).
_UNREACHABLE = (
    "could not connect",
    "could not resolve",
    "name or service not known",
    "temporary failure in name resolution",
    "no such host",
    "network is unreachable",
    "connection refused",
    "connection timed out",
    "no answer within",
    "dial tcp",
)


def unreachable(result: CommandResult) -> bool:
    """Whether a command failed for want of a network rather than for a reason the user must fix."""
    text = f"{result.stdout}\n{result.stderr}".lower()
    return result.returncode != 0 and (result.returncode == 124 or any(marker in text for marker in _UNREACHABLE))


def not_run(name: str, context: PreflightContext, what: str, result: CommandResult | None = None) -> CheckResult | None:
    """A `skip` that says plainly what could not be run here: offline, or the network did not answer."""
    if context.offline:
        return CheckResult(name, "skip", f"not run (offline): {what}")
    if result is not None and unreachable(result):
        first_line = (result.stderr or result.stdout).strip().splitlines()[:1]
        return CheckResult(
            name, "skip", f"not run (no network): {what}; {first_line[0] if first_line else ''}".rstrip("; ")
        )
    return None


def first_line(result: CommandResult) -> str:
    """The first line a failed command printed, for a one-line detail."""
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[0] if lines else f"exit status {result.returncode}"

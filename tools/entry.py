"""How every tool's command line ends: its exit code, and never a traceback for a closed pipe."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn


def run_main(main: Callable[[], int]) -> NoReturn:
    """Exit with `main()`'s code; when the reader goes away (`make plan-diff dev prod | head`), end quietly.

    Python raises BrokenPipeError on the next write to a closed pipe and again when it flushes stdout
    at exit; pointing stdout at /dev/null stops the second one (the recipe of the `signal` docs).
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # When stdout is no file (a test's capture) there is nothing left to flush into the pipe.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)

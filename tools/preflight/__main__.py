"""`python -m tools.preflight <stack>`: see tools/preflight/runner.py."""

from tools.entry import run_main
from tools.preflight.runner import main

run_main(main)

"""`python -m tools.preflight <stack>`: see tools/preflight/runner.py."""

import sys

from tools.preflight.runner import main

sys.exit(main())

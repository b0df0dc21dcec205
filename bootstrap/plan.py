"""The bootstrap's offline plan: its `__main__.py` under the same mocks as the main program's.

python -m bootstrap.plan [ACCOUNT]      # readable tree of one account's bootstrap (default: every)
"""

from __future__ import annotations

import argparse
import sys
from functools import cache

from bootstrap.settings import PROJECT
from components.shared.catalog import ENVIRONMENTS
from components.shared.errors import ConfigError
from components.shared.paths import PROJECT_ROOT
from tools.plan import Plan, build_plan, render_tree

BOOTSTRAP_ROOT = PROJECT_ROOT / "bootstrap"
ACCOUNTS = ENVIRONMENTS
"""One bootstrap stack per AWS account, named after the account's environment."""


@cache
def bootstrap_plan(account: str) -> Plan:
    """The offline plan of one account's bootstrap stack (cached: the program is deterministic)."""
    return build_plan(account, root=BOOTSTRAP_ROOT, project=PROJECT)


def main(argv: list[str] | None = None) -> int:
    """Print the plan of one account's bootstrap, or of every account's."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("account", nargs="?", choices=ACCOUNTS)
    args = parser.parse_args(argv)
    for account in [args.account] if args.account else list(ACCOUNTS):
        try:
            print(render_tree(bootstrap_plan(account)))
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a workflow job needs to know about one stack, derived from the repository (never typed in YAML).

    python -m tools.ci_stack dev >> "$GITHUB_OUTPUT"
    python -m tools.ci_stack --matrix [--stacks org,dev] >> "$GITHUB_OUTPUT"   # matrix={"include": [...]}

Prints `key=value` lines: the backend URL (`PULUMI_BACKEND_URL`), the AWS region and account that keep
the stack's state, the up, preview and drift roles the bootstrap created there, `runs_on`, the
runner label of a job that must reach the cluster (the CodeBuild runner inside the VPC on the
`codebuild` delivery path once it is ready, a GitHub-hosted runner otherwise), and the catalog's
repositories (what the org stack's GitHub App token is limited to). `--matrix` prints all of it as
one job matrix, so a workflow reads `matrix.<key>` and never indexes a JSON object by a variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bootstrap.settings import host_account
from components.config.common import STACKS
from components.config.environment import EnvironmentConfig
from components.config.stack_file import environment_configs
from components.delivery.names import backend_url, drift_role_name, preview_role_name, runner_project_name, up_role_name
from components.shared.catalog import load_catalog
from components.shared.errors import ConfigError
from components.shared.naming import role_arn

GITHUB_HOSTED = "ubuntu-latest"


def runs_on(stack: str, config: EnvironmentConfig | None, run_id: str, run_attempt: str) -> str:
    """The runner of a job that talks to the stack's cluster: the CodeBuild runner inside the VPC
    (`codebuild-<project>-<run id>-<attempt>`) once `delivery.runnerReady`, GitHub-hosted otherwise."""
    if config is not None and config.delivery.path == "codebuild" and config.delivery.runner_ready:
        return f"codebuild-{runner_project_name(stack)}-{run_id}-{run_attempt}"
    return GITHUB_HOSTED


def coordinates(stack: str, run_id: str = "0", run_attempt: str = "1") -> dict[str, str]:
    """The job outputs of one stack (`run_id`, `run_attempt`: the workflow run's, for `runs_on`)."""
    configs = environment_configs()
    host = configs[host_account(stack)]
    account, region = host.aws_account_id, host.aws_region
    return {
        "backend_url": backend_url(account, region),
        "aws_region": region,
        "aws_account_id": account,
        "up_role": role_arn(account, up_role_name(stack)),
        "preview_role": role_arn(account, preview_role_name(stack)),
        "drift_role": role_arn(account, drift_role_name(stack)),
        "runs_on": runs_on(stack, configs.get(stack), run_id, run_attempt),
        # The GitHub App token of the org stack is limited to the repositories it manages.
        "repositories": ",".join(service.repository for service in load_catalog().services),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the stack's coordinates as `key=value` lines."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", choices=STACKS, help="one stack's `key=value` lines")
    parser.add_argument("--matrix", action="store_true", help="one line `matrix=<JSON>`: a job matrix of the stacks")
    parser.add_argument("--stacks", default=",".join(STACKS), help="comma-separated stacks of the matrix, in order")
    args = parser.parse_args(argv)
    run = (os.environ.get("GITHUB_RUN_ID", "0"), os.environ.get("GITHUB_RUN_ATTEMPT", "1"))
    try:
        if args.matrix:
            stacks = [stack for stack in args.stacks.split(",") if stack]
            if unknown := sorted(set(stacks) - set(STACKS)):
                parser.error(f"--stacks: unknown {unknown}; stacks: {list(STACKS)}")
            print("matrix=" + json.dumps({"include": [{"stack": s, **coordinates(s, *run)} for s in stacks]}))
            return 0
        if not args.stack:
            parser.error("name a STACK or use --matrix")
        values = coordinates(args.stack, *run)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, value in values.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
